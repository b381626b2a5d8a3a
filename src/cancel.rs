//! Stopping cleanly when the workflow is cancelled.
//!
//! In the action's container lambda-deploy is PID 1, and the kernel delivers no signal to
//! PID 1 that it does not handle: without handlers a cancelled workflow's SIGTERM would be
//! ignored until SIGKILL, leaving an open multipart upload or a held alias lock behind.
//! [`listen`] turns SIGTERM and SIGINT into, on a task of their own (so a deploy busy
//! compressing is no obstacle):
//!
//! 1. the [`Gate`] on every AWS client refuses from then on any call that is not cleanup:
//!    no step of the deploy writes to AWS after the signal, and no alias moves;
//! 2. the [`Pending`] undo actions that half-done steps registered run (abort a multipart
//!    upload, release the alias lock), each within a deadline;
//! 3. the scratch folders of the run ([`ScratchDir`]: packages, layer zips, image layers)
//!    are removed, since the process ends without running their destructors;
//! 4. the caller's handler reports which steps were done and ends the process with 130
//!    (SIGINT) or 143 (SIGTERM), whatever the deploy was doing.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use tokio::sync::watch;

/// The signal that cancelled the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
}

impl Signal {
    /// The shell's exit code for a process ended by this signal (128 + its number).
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }
}

fn channel() -> &'static watch::Sender<Option<Signal>> {
    static CHANNEL: OnceLock<watch::Sender<Option<Signal>>> = OnceLock::new();
    CHANNEL.get_or_init(|| watch::channel(None).0)
}

/// Installs the SIGTERM and SIGINT handlers (inside the runtime; without them PID 1
/// ignores both). On a signal the run is cancelled, the undo actions run, and `ended`
/// gets the account of it; `ended` is expected to end the process.
pub fn listen<F>(ended: F) -> std::io::Result<()>
where
    F: FnOnce(Cancelled) + Send + 'static,
{
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        let got = tokio::select! {
            _ = term.recv() => Signal::Terminate,
            _ = int.recv() => Signal::Interrupt,
        };
        tracing::warn!(
            signal = got.name(),
            "cancelled: stopping before the next AWS write"
        );
        cancel(got);
        ended(finish(got).await);
    });
    Ok(())
}

/// Marks the run cancelled (the first signal counts).
pub fn cancel(signal: Signal) {
    channel().send_if_modified(|s| {
        if s.is_none() {
            *s = Some(signal);
            true
        } else {
            false
        }
    });
}

/// The signal received, if any.
pub fn received() -> Option<Signal> {
    *channel().borrow()
}

tokio::task_local! {
    static CLEANING: ();
}

/// Refuses every AWS call after a signal, except the cleanup's own.
#[derive(Debug, Clone, Copy)]
pub struct Gate;

fn refuse_after_signal() -> Result<(), BoxError> {
    match received() {
        Some(s) if CLEANING.try_with(|_| ()).is_err() => Err(format!(
            "lambda-deploy was cancelled ({}); no further AWS calls are made",
            s.name()
        )
        .into()),
        _ => Ok(()),
    }
}

impl Intercept for Gate {
    fn name(&self) -> &'static str {
        "lambda-deploy cancellation gate"
    }

    fn read_before_execution(
        &self,
        _ctx: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        refuse_after_signal()
    }

    fn read_before_attempt(
        &self,
        _ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // A retry after the signal is a new call too.
        refuse_after_signal()
    }
}

type Undo = Pin<Box<dyn Future<Output = Result<String, String>> + Send>>;
type MakeUndo = Box<dyn FnOnce() -> Undo + Send>;

fn pending() -> &'static Mutex<BTreeMap<u64, MakeUndo>> {
    static PENDING: OnceLock<Mutex<BTreeMap<u64, MakeUndo>>> = OnceLock::new();
    PENDING.get_or_init(Default::default)
}

/// An undo action registered by a step that is half done (an open multipart upload, a
/// held lock). Dropping it (the step finished, or failed and cleaned up itself) forgets
/// the action, unless the run was cancelled: then the step was cut short, and
/// [`undo_pending`] runs the action.
#[must_use = "the undo action is forgotten when this is dropped"]
pub struct Pending(u64);

/// Registers `undo`, which says what it undid (`Ok`) or why it could not (`Err`).
pub(crate) fn on_cancel<F, Fut>(undo: F) -> Pending
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<String, String>> + Send + 'static,
{
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    let make: MakeUndo = Box::new(move || Box::pin(undo()));
    if let Ok(mut p) = pending().lock() {
        p.insert(id, make);
    }
    Pending(id)
}

impl Drop for Pending {
    fn drop(&mut self) {
        if received().is_none()
            && let Ok(mut p) = pending().lock()
        {
            p.remove(&self.0);
        }
    }
}

/// Runs every undo action left by steps the cancellation cut short, newest first, each
/// within `deadline`; returns what each one said.
pub(crate) async fn undo_pending(deadline: Duration) -> Vec<Result<String, String>> {
    let actions: Vec<MakeUndo> = match pending().lock() {
        Ok(mut p) => std::mem::take(&mut *p).into_values().rev().collect(),
        Err(_) => Vec::new(),
    };
    let mut said = Vec::new();
    for make in actions {
        let run = CLEANING.scope((), make());
        said.push(match tokio::time::timeout(deadline, run).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "an undo step did not finish within {}s",
                deadline.as_secs()
            )),
        });
    }
    said
}

/// The phases of the run (the `::group::` titles), in order, and whether each finished.
fn steps() -> &'static Mutex<Vec<(String, bool)>> {
    static STEPS: OnceLock<Mutex<Vec<(String, bool)>>> = OnceLock::new();
    STEPS.get_or_init(Default::default)
}

/// Records that a phase started; returns its index for [`step_finished`].
pub(crate) fn step_started(title: &str) -> usize {
    match steps().lock() {
        Ok(mut s) => {
            s.push((title.to_string(), false));
            s.len() - 1
        }
        Err(_) => usize::MAX,
    }
}

/// Records that a phase finished, unless the run was cancelled in it.
pub(crate) fn step_finished(index: usize) {
    if received().is_some() {
        return;
    }
    if let Ok(mut s) = steps().lock()
        && let Some(step) = s.get_mut(index)
    {
        step.1 = true;
    }
}

/// The phases so far: (title, finished).
pub(crate) fn steps_so_far() -> Vec<(String, bool)> {
    steps().lock().map(|s| s.clone()).unwrap_or_default()
}

/// How a cancelled run ended, for the summary and the error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancelled {
    pub signal: Signal,
    /// The phases: (title, finished before the signal).
    pub steps: Vec<(String, bool)>,
    /// What the cleanup undid, or could not.
    pub undone: Vec<Result<String, String>>,
}

impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cancelled by {}: stopped before the next AWS write; no alias moved after the signal",
            self.signal.name()
        )?;
        let done: Vec<&str> = self
            .steps
            .iter()
            .filter(|s| s.1)
            .map(|s| s.0.as_str())
            .collect();
        if !done.is_empty() {
            write!(f, "; steps done: {}", done.join(", "))?;
        }
        if let Some((cut, _)) = self.steps.iter().rev().find(|s| !s.1) {
            write!(f, "; stopped during: {cut}")?;
        }
        for u in &self.undone {
            match u {
                Ok(what) => write!(f, "; {what}")?,
                Err(why) => write!(f, "; not undone: {why}")?,
            }
        }
        Ok(())
    }
}

fn scratch_dirs() -> &'static Mutex<BTreeSet<PathBuf>> {
    static DIRS: OnceLock<Mutex<BTreeSet<PathBuf>>> = OnceLock::new();
    DIRS.get_or_init(Default::default)
}

/// A scratch folder that is removed when dropped, and also when the run is cancelled: the
/// process then exits without running destructors, and on a self-hosted runner every
/// cancelled run would leave its package behind in the temporary folder.
#[derive(Debug)]
pub struct ScratchDir(tempfile::TempDir);

impl ScratchDir {
    /// Creates `<temp dir>/<prefix><random>`.
    pub fn new(prefix: &str) -> std::io::Result<Self> {
        let dir = tempfile::Builder::new().prefix(prefix).tempdir()?;
        if let Ok(mut d) = scratch_dirs().lock() {
            d.insert(dir.path().to_path_buf());
        }
        Ok(Self(dir))
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        // After a signal, `finish` owns the removal (the TempDir's own drop then finds
        // nothing, or races it harmlessly).
        if received().is_none()
            && let Ok(mut d) = scratch_dirs().lock()
        {
            d.remove(self.0.path());
        }
    }
}

/// Removes the scratch folders of a cancelled run.
fn remove_scratch_dirs() {
    let dirs = match scratch_dirs().lock() {
        Ok(mut d) => std::mem::take(&mut *d),
        Err(_) => return,
    };
    for dir in dirs {
        if let Err(e) = std::fs::remove_dir_all(&dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %dir.display(), error = %e, "could not remove a scratch folder");
        }
    }
}

/// Ends a cancelled run: runs the undo actions, removes the scratch folders and says
/// what was done.
pub async fn finish(signal: Signal) -> Cancelled {
    let undone = undo_pending(Duration::from_secs(5)).await;
    remove_scratch_dirs();
    Cancelled {
        signal,
        steps: steps_so_far(),
        undone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(Signal::Interrupt.exit_code(), 130);
        assert_eq!(Signal::Terminate.exit_code(), 143);
    }

    #[test]
    fn the_report_names_finished_and_cut_steps_and_what_was_undone() {
        let c = Cancelled {
            signal: Signal::Terminate,
            steps: vec![("package".into(), true), ("deploy".into(), false)],
            undone: vec![Ok("aborted the multipart upload s3://b/k".into())],
        };
        assert_eq!(
            c.to_string(),
            "cancelled by SIGTERM: stopped before the next AWS write; no alias moved after the signal; steps done: package; stopped during: deploy; aborted the multipart upload s3://b/k"
        );
    }
}
