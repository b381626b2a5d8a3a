//! An in-memory Lambda behind [`LambdaApi`], for unit tests of the logic above the seam
//! (races, the alias lock, the release guard, conflict waits, preview removal). It models
//! what that logic depends on, deterministically:
//!
//! - RevisionId: every write to `$LATEST` or an alias gets a new one, and a write that
//!   carries a stale one fails as PreconditionFailedException does;
//! - update states: a new function is `Pending` and an updated one `InProgress` for
//!   [`World::settle_after`] reads (GetFunction calls or waiter polls, one simulated
//!   second each); a write meanwhile fails as ResourceConflictException does, and a wait
//!   longer than its timeout fails as the SDK waiter does;
//! - PublishVersion's CodeSha256 precondition, and its reuse of the latest version when
//!   nothing changed since (keeping that version's description);
//! - versions and aliases with descriptions, alias routing weights, tags, function URLs
//!   and their policy statements, deletes.
//!
//! Several handles ([`FakeLambda::other_run`]) share one [`World`]: each stands for one
//! run. [`FakeLambda::before`] runs a hook right before the Nth call of an operation made
//! through one handle, so a test makes "another run" act at exactly that point, or makes
//! the call fail ([`FakeLambda::fail`]).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::api::{CodeSource, LambdaApi, UrlConfig, UrlGrant, Written};
use super::{AwsError, ErrorKind};
use crate::domain::function::ConfigUpdate;
use crate::domain::kind::{Architecture, PackageType};
use crate::state::{FunctionState, LastUpdateStatus, LiveFunction, LiveVersion};

type HookFuture = Pin<Box<dyn Future<Output = Option<AwsError>> + Send>>;
type Hook = Box<dyn FnOnce(FakeLambda) -> HookFuture + Send>;

/// The base64 SHA-256 Lambda reports for these bytes (its CodeSha256).
pub fn code_sha256(bytes: &[u8]) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(bytes))
}

/// The CodeSha256 the fake gives a code source: of the zip's bytes, or of the image URI
/// or `bucket/key` (the fake holds no registry or bucket).
pub(crate) fn sha_of(code: &CodeSource) -> (String, i64) {
    match code {
        CodeSource::Zip(bytes) => (code_sha256(bytes), bytes.len() as i64),
        CodeSource::Image { uri } => (code_sha256(uri.as_bytes()), 0),
        CodeSource::S3 { bucket, key, .. } => {
            (code_sha256(format!("{bucket}/{key}").as_bytes()), 0)
        }
    }
}

/// `$LATEST` as the fake holds it.
#[derive(Debug, Clone, Default)]
pub struct FakeFunction {
    pub live: LiveFunction,
    /// Reads left before a running update finishes.
    pub busy: u32,
    /// Reads left before a new function becomes Active.
    pub pending: u32,
}

/// An alias as the fake holds it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FakeAlias {
    pub version: String,
    pub description: String,
    pub revision_id: String,
    /// Routing weights of additional versions.
    pub weights: BTreeMap<String, f64>,
}

/// Everything the fake Lambda holds, shared by every handle.
#[derive(Default)]
pub struct World {
    pub function: Option<FakeFunction>,
    pub versions: BTreeMap<u64, LiveVersion>,
    pub aliases: BTreeMap<String, FakeAlias>,
    pub urls: BTreeMap<String, UrlConfig>,
    /// Policy statement ids by qualifier.
    pub policies: BTreeMap<String, Vec<(String, UrlGrant)>>,
    /// Reads an update stays InProgress (and a new function Pending) for.
    pub settle_after: u32,
    /// What Invoke reports as the function error, when set.
    pub invoke_error: Option<String>,
    /// Every call, in order: the handle that made it and the operation's name.
    pub calls: Vec<(usize, &'static str)>,
    /// Every alias write, in order: alias, version, description.
    pub alias_writes: Vec<(String, String, String)>,
    revisions: u64,
    hooks: Vec<(usize, &'static str, usize, Hook)>,
    counts: HashMap<(usize, &'static str), usize>,
}

fn err(operation: &'static str, resource: &str, kind: ErrorKind, message: &str) -> AwsError {
    AwsError {
        operation,
        resource: resource.to_string(),
        kind,
        message: message.to_string(),
    }
}

fn not_found(operation: &'static str, resource: &str) -> AwsError {
    err(
        operation,
        resource,
        ErrorKind::NotFound,
        "ResourceNotFoundException: not found",
    )
}

fn stale(operation: &'static str, resource: &str) -> AwsError {
    err(
        operation,
        resource,
        ErrorKind::PreconditionFailed,
        "PreconditionFailedException: The Revision Id provided does not match the latest Revision Id",
    )
}

fn in_progress(operation: &'static str, resource: &str) -> AwsError {
    err(
        operation,
        resource,
        ErrorKind::Conflict,
        "ResourceConflictException: The operation cannot be performed at this time. An update is in progress for resource",
    )
}

impl World {
    fn revision(&mut self) -> String {
        self.revisions += 1;
        format!("rev-{}", self.revisions)
    }

    /// One look at `$LATEST` (GetFunction or a waiter poll): what it shows, after which a
    /// running update or creation comes one step nearer its end.
    fn observe(&mut self) -> Option<LiveFunction> {
        let f = self.function.as_mut()?;
        f.live.state = Some(if f.pending > 0 {
            FunctionState::Pending
        } else {
            FunctionState::Active
        });
        f.live.last_update_status = Some(if f.busy > 0 {
            LastUpdateStatus::InProgress
        } else {
            LastUpdateStatus::Successful
        });
        f.pending = f.pending.saturating_sub(1);
        f.busy = f.busy.saturating_sub(1);
        Some(f.live.clone())
    }

    /// The function ready for a write: it exists, no update is running, and the
    /// RevisionId (when given) is current.
    fn writable(
        &mut self,
        operation: &'static str,
        resource: &str,
        revision_id: Option<&str>,
    ) -> Result<&mut FakeFunction, AwsError> {
        let f = self
            .function
            .as_mut()
            .ok_or_else(|| not_found(operation, resource))?;
        if f.busy > 0 || f.pending > 0 {
            return Err(in_progress(operation, resource));
        }
        if revision_id.is_some_and(|r| f.live.revision_id.as_deref() != Some(r)) {
            return Err(stale(operation, resource));
        }
        Ok(f)
    }

    /// Another run (or the console) puts code `sha` into `$LATEST`: a new RevisionId and
    /// an update InProgress for [`World::settle_after`] reads.
    pub(crate) fn put_code(&mut self, sha: &str) {
        let rev = self.revision();
        let settle = self.settle_after;
        if let Some(f) = self.function.as_mut() {
            f.live.code_sha256 = sha.to_string();
            f.live.revision_id = Some(rev);
            f.busy = settle;
        }
    }

    /// Starts an update that stays InProgress for `reads` reads.
    pub(crate) fn start_update(&mut self, reads: u32) {
        let rev = self.revision();
        if let Some(f) = self.function.as_mut() {
            f.live.revision_id = Some(rev);
            f.busy = reads;
        }
    }

    /// Publishes `$LATEST` as a new version with `description`, as another run would.
    pub(crate) fn publish_as(&mut self, description: &str) -> String {
        let n = self.versions.keys().next_back().copied().unwrap_or(0) + 1;
        if let Some(f) = &self.function {
            self.versions.insert(
                n,
                LiveVersion {
                    version: n.to_string(),
                    code_sha256: f.live.code_sha256.clone(),
                    description: Some(description.to_string()),
                    fingerprint: f.live.fingerprint(),
                },
            );
        }
        n.to_string()
    }

    /// Points alias `name` at `version` with `description`, as another run would.
    pub(crate) fn set_alias(&mut self, name: &str, version: &str, description: &str) {
        let revision_id = self.revision();
        let weights = self
            .aliases
            .get(name)
            .map(|a| a.weights.clone())
            .unwrap_or_default();
        self.aliases.insert(
            name.to_string(),
            FakeAlias {
                version: version.to_string(),
                description: description.to_string(),
                revision_id,
                weights,
            },
        );
        self.alias_writes
            .push((name.into(), version.into(), description.into()));
    }

    /// The version alias `name` serves, if it exists.
    pub(crate) fn alias_version(&self, name: &str) -> Option<String> {
        self.aliases.get(name).map(|a| a.version.clone())
    }

    /// How often handle `handle` made `operation`.
    pub fn count(&self, handle: usize, operation: &str) -> usize {
        self.calls
            .iter()
            .filter(|(h, op)| *h == handle && *op == operation)
            .count()
    }
}

/// A handle on the fake Lambda, bound to one function: one run.
#[derive(Clone)]
pub struct FakeLambda {
    function: String,
    handle: usize,
    world: Arc<Mutex<World>>,
}

static HANDLES: AtomicUsize = AtomicUsize::new(0);

impl FakeLambda {
    /// An empty fake (no function yet) for `function`; updates settle after one read.
    pub fn new(function: &str) -> Self {
        let world = World {
            settle_after: 1,
            ..World::default()
        };
        Self {
            function: function.to_string(),
            handle: HANDLES.fetch_add(1, Ordering::Relaxed),
            world: Arc::new(Mutex::new(world)),
        }
    }

    /// Another run on the same function: a new handle on the same world.
    pub(crate) fn other_run(&self) -> Self {
        Self {
            function: self.function.clone(),
            handle: HANDLES.fetch_add(1, Ordering::Relaxed),
            world: Arc::clone(&self.world),
        }
    }

    /// This handle's id, as [`World::calls`] records it.
    pub fn handle(&self) -> usize {
        self.handle
    }

    /// The shared state, to set up or inspect.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A deployed function with code `sha`, Active and Successful.
    pub(crate) fn with_function(self, sha: &str, tags: &[(&str, &str)]) -> Self {
        {
            let mut w = self.world();
            let revision_id = Some(w.revision());
            w.function = Some(FakeFunction {
                live: LiveFunction {
                    arn: format!(
                        "arn:aws:lambda:us-east-1:123456789012:function:{}",
                        self.function
                    ),
                    package_type: PackageType::Zip,
                    runtime: Some("python3.12".into()),
                    architecture: Some(Architecture::X86_64),
                    code_sha256: sha.to_string(),
                    revision_id,
                    state: Some(FunctionState::Active),
                    last_update_status: Some(LastUpdateStatus::Successful),
                    tags: tags
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    ..LiveFunction::default()
                },
                busy: 0,
                pending: 0,
            });
        }
        self
    }

    /// Runs `hook` (with a handle of its own, as another run) right before the `nth`
    /// call (1 for the first) of `operation` through this handle; when it returns an
    /// error, that call fails with it.
    pub fn before<F, Fut>(&self, operation: &'static str, nth: usize, hook: F)
    where
        F: FnOnce(FakeLambda) -> Fut + Send + 'static,
        Fut: Future<Output = Option<AwsError>> + Send + 'static,
    {
        let boxed: Hook = Box::new(move |l| Box::pin(hook(l)));
        self.world()
            .hooks
            .push((self.handle, operation, nth, boxed));
    }

    /// Makes the `nth` call of `operation` through this handle fail with `kind`.
    pub fn fail(&self, operation: &'static str, nth: usize, kind: ErrorKind) {
        let resource = LambdaApi::resource(self);
        self.before(operation, nth, move |_| async move {
            Some(err(operation, &resource, kind, "injected fault"))
        });
    }

    /// Records the call and runs the hook waiting for it, outside the lock.
    async fn enter(&self, operation: &'static str) -> Result<(), AwsError> {
        let hook = {
            let mut w = self.world();
            w.calls.push((self.handle, operation));
            let n = {
                let c = w.counts.entry((self.handle, operation)).or_insert(0);
                *c += 1;
                *c
            };
            let at = w
                .hooks
                .iter()
                .position(|(h, op, nth, _)| *h == self.handle && *op == operation && *nth == n);
            at.map(|i| w.hooks.remove(i).3)
        };
        if let Some(hook) = hook
            && let Some(e) = hook(self.other_run()).await
        {
            return Err(e);
        }
        Ok(())
    }

    fn alias_resource(&self, name: &str) -> String {
        format!("alias '{name}' of {}", LambdaApi::resource(self))
    }

    /// Polls like the SDK waiter: one read per simulated second, at most `timeout`.
    async fn wait_until(
        &self,
        operation: &'static str,
        timeout: Duration,
        done: fn(&LiveFunction) -> bool,
    ) -> Result<Option<String>, AwsError> {
        let polls = timeout.as_secs().max(1);
        for _ in 0..polls {
            self.enter("GetFunction").await?;
            let seen = self.world().observe();
            match seen {
                None => {
                    return Err(err(
                        operation,
                        &LambdaApi::resource(self),
                        ErrorKind::Other,
                        "polling GetFunction failed: ResourceNotFoundException",
                    ));
                }
                Some(f) if done(&f) => return Ok(f.revision_id),
                Some(_) => {}
            }
        }
        Err(err(
            operation,
            &LambdaApi::resource(self),
            ErrorKind::Timeout,
            &format!("the update did not finish within {}s", timeout.as_secs()),
        ))
    }
}

fn apply_config(f: &mut LiveFunction, cfg: &ConfigUpdate) {
    let set = |field: &mut Option<String>, v: &Option<String>| {
        if v.is_some() {
            field.clone_from(v);
        }
    };
    set(&mut f.role, &cfg.role);
    set(&mut f.runtime, &cfg.runtime);
    set(&mut f.handler, &cfg.handler);
    set(&mut f.description, &cfg.description);
    f.memory_size = cfg.memory_size.or(f.memory_size);
    f.timeout = cfg.timeout.or(f.timeout);
    if let Some(l) = cfg.layer_arns() {
        f.layers = l;
    }
    if let Some(e) = &cfg.environment {
        f.environment.clone_from(e);
    }
    if cfg.image_command.is_some() {
        f.image_command.clone_from(&cfg.image_command);
    }
}

fn written(f: &LiveFunction, version: &str) -> Written {
    Written {
        arn: f.arn.clone(),
        revision_id: f.revision_id.clone(),
        code_sha256: f.code_sha256.clone(),
        code_size: f.code_size,
        version: version.to_string(),
    }
}

mod api_impl;

#[cfg(test)]
mod tests;
