//! Deploys of one function that run at the same time.
//!
//! Lambda's own guards (RevisionId on every write, CodeSha256 on PublishVersion) catch a
//! write made on top of state another run changed; lambda-deploy adds the checks that do
//! not depend on them, so they hold where the guards are not enforced too:
//!
//! - before publishing, `$LATEST` must still hold this run's code, and after publishing the
//!   version must hold this run's code and description; otherwise the run lost a race for
//!   `$LATEST`: it uploads its code again (at most [`RACE_ROUNDS`] times) unless every alias
//!   it would move already serves a newer deploy, in which case it stops there;
//! - right before an alias moves, it is read again; if it serves a deploy newer than this
//!   run ([`crate::order`]) it stays where it is, and the run says so. The read, the check
//!   and the write happen under a lock ([`crate::aws::lock`]), so an older run's write can
//!   never land after a newer run's.

use std::time::Duration;

use crate::aws::api::LambdaApi;
use crate::aws::lock::{self, LOCK_ALIAS, LOCK_STALE, LockWatch, Taken};
use crate::aws::retry::after_conflicts;
use crate::aws::{AwsError, ErrorKind};
use crate::backoff::Backoff;
use crate::domain::history;
use crate::order::{OrderKey, Verdict, verdict};
use crate::state::LiveAlias;

pub use crate::domain::outcome::Held;

/// Times a run tries to publish its own version while other runs replace `$LATEST`.
pub(crate) const RACE_ROUNDS: u32 = 3;
/// Times an alias move is tried when the alias changed under it.
pub(crate) const ALIAS_TRIES: u32 = 3;

/// What happened to one alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AliasResult {
    /// Moved (or created, when `from` is `None`).
    Moved { from: Option<String> },
    /// Already on the version.
    Already,
    /// Left on a newer deploy.
    Held(Held),
}

/// The key of the run that last moved `alias`: recorded in the alias's own description, or
/// for an alias no lambda-deploy run has moved since that was recorded, read from the
/// description of the version it serves.
pub(crate) async fn mover<L: LambdaApi>(
    lambda: &L,
    alias: &LiveAlias,
) -> Result<OrderKey, AwsError> {
    if let Some(key) = alias
        .description
        .as_deref()
        .and_then(OrderKey::from_alias_description)
    {
        return Ok(key);
    }
    if alias.version.parse::<u64>().is_err() {
        return Ok(OrderKey::default());
    }
    Ok(match lambda.get_version(&alias.version).await? {
        Some(v) => OrderKey::from_description(v.description.as_deref().unwrap_or("")),
        None => OrderKey::default(),
    })
}

/// This run's mark for an alias it moves to `version`, followed by the versions the
/// alias served before ([`crate::domain::history`]), so a rollback can step back.
fn mark_for(ours: &OrderKey, current: Option<&LiveAlias>, version: &str) -> String {
    let before = current
        .and_then(|c| c.description.as_deref())
        .map(history::served_before)
        .unwrap_or_default();
    let served = history::after_move(&before, current.map(|c| c.version.as_str()), version);
    history::with_served(ours.alias_description(), &served)
}

/// Reads `name` and decides whether this run may move it, or record itself on it.
async fn check_alias<L: LambdaApi>(
    lambda: &L,
    name: &str,
    ours: &OrderKey,
) -> Result<(Option<LiveAlias>, Option<Held>), AwsError> {
    let current = lambda.get_alias(name).await?;
    if let Some(c) = &current {
        let theirs = mover(lambda, c).await?;
        if let Verdict::Older(why) = verdict(ours, &theirs) {
            let held = Held {
                name: name.to_string(),
                serving: c.version.clone(),
                why,
            };
            return Ok((current, Some(held)));
        }
    }
    Ok((current, None))
}

/// Points `name` at `version` unless it serves a newer deploy; re-reads and tries again
/// when the alias changed between the read and the write.
pub(crate) async fn move_alias<L: LambdaApi>(
    lambda: &L,
    name: &str,
    version: &str,
    ours: &OrderKey,
) -> Result<AliasResult, AwsError> {
    let mut tries = 0;
    loop {
        tries += 1;
        let (current, held) = check_alias(lambda, name, ours).await?;
        let already = current.as_ref().is_some_and(|c| c.version == version);
        if let Some(h) = held {
            if already {
                // It serves this version already, for a newer run: leave its record.
                return Ok(AliasResult::Already);
            }
            tracing::warn!("{}", h.warning());
            return Ok(AliasResult::Held(h));
        }
        let mark = mark_for(ours, current.as_ref(), version);
        if already && current.as_ref().and_then(|c| c.description.as_deref()) == Some(&mark) {
            return Ok(AliasResult::Already);
        }
        let rev = current.as_ref().and_then(|c| c.revision_id.as_deref());
        if already {
            tracing::info!(alias = name, "recording this run on the alias");
        } else {
            tracing::info!(alias = name, to = version, "moving alias");
        }
        match lambda
            .point_alias(name, version, &mark, current.is_some(), rev)
            .await
        {
            Ok(()) if already => return Ok(AliasResult::Already),
            Ok(()) => {
                return Ok(AliasResult::Moved {
                    from: current.map(|c| c.version),
                });
            }
            Err(e)
                if matches!(e.kind, ErrorKind::PreconditionFailed | ErrorKind::Conflict)
                    && tries < ALIAS_TRIES =>
            {
                tracing::warn!(alias = name, error = %e, "the alias changed while this run moved it; reading it again");
            }
            Err(e) => return Err(e),
        }
    }
}

/// Moves every alias in `names` to `version` ([`move_alias`]) while holding the alias
/// lock ([`crate::aws::lock`]), so two runs never interleave their read-check-write of
/// an alias; waits at most `wait` for the lock.
pub(crate) async fn move_aliases<L: LambdaApi>(
    lambda: &L,
    names: &[String],
    version: &str,
    ours: &OrderKey,
    wait: Duration,
) -> Result<Vec<AliasResult>, AwsError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let run = ours.run_id.map_or("-".to_string(), |r| r.to_string());
    let owner = format!("run {run} pid {} {nanos:x}", std::process::id());
    // A cancelled run releases the lock if it holds it, even when the signal came while
    // the answer to taking it was on its way; another run's lock is never touched.
    let _release = {
        let (lambda, owner) = (lambda.clone(), owner.clone());
        crate::cancel::on_cancel(move || async move {
            match lock::unlock(&lambda, &owner).await {
                Ok(true) => Ok(format!("released the alias lock '{LOCK_ALIAS}'")),
                Ok(false) => Ok(format!(
                    "the alias lock '{LOCK_ALIAS}' was not held by this run"
                )),
                Err(e) => Err(e.to_string()),
            }
        })
    };
    take_lock(lambda, &owner, wait).await?;
    let mut results = Vec::new();
    let mut failed = None;
    for name in names {
        match move_alias(lambda, name, version, ours).await {
            Ok(r) => results.push(r),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    if let Err(e) = lock::unlock(lambda, &owner).await {
        tracing::warn!(error = %e, "could not release the alias lock; the next run breaks it after {}s", LOCK_STALE.as_secs());
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(results),
    }
}

/// Takes the alias lock for `owner`, waiting (at most `wait`) while another run holds it;
/// a lock left by a dead run is broken once it is stale ([`crate::aws::lock`]).
pub(crate) async fn take_lock<L: LambdaApi>(
    lambda: &L,
    owner: &str,
    wait: Duration,
) -> Result<(), AwsError> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut pause = POLLS;
    let mut watch = LockWatch::default();
    loop {
        match lock::try_lock(lambda, owner, &mut watch).await? {
            Taken::Yes => break,
            Taken::Busy(other) => {
                if !pause.fits_before(deadline) {
                    return Err(AwsError {
                        operation: "CreateAlias",
                        resource: format!("alias '{LOCK_ALIAS}' of {}", lambda.resource()),
                        kind: ErrorKind::Conflict,
                        message: format!(
                            "another deploy ({other}) held the alias lock for over {}s",
                            wait.as_secs()
                        ),
                    });
                }
                tracing::info!(holder = %other, "another deploy is moving aliases; waiting for it");
                pause.sleep().await;
            }
        }
    }
    Ok(())
}

/// Publishing gave up: another deploy replaced the code in each of `rounds` rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overtaken {
    pub rounds: u32,
}

/// How publishing ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// This run's own version: its code and its description.
    Own(String),
    /// Another run took `$LATEST`, and every alias already serves a newer deploy.
    Yielded(Vec<Held>),
}

/// What publishing needs to know.
pub struct PublishSpec<'a> {
    pub code_sha256: &'a str,
    pub description: &'a str,
    pub ours: &'a OrderKey,
    /// The aliases this run moves, with the version each served when the run planned.
    pub aliases: &'a [(String, Option<String>)],
    /// Longest wait for an update, and for another run to finish.
    pub wait: Duration,
}

/// How one publish attempt was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lost {
    /// `$LATEST` (or the version published from it) holds another run's code: that run
    /// is still going.
    Code,
    /// The version holds this run's code under another run's description.
    Label,
    /// The RevisionId this run held is stale, but `$LATEST` may still hold its code: read
    /// it again and publish with the new RevisionId.
    Stale,
}

/// Pauses between two looks at the lock or the aliases while another run finishes: from
/// 100 ms, doubling, at most 2 s.
const POLLS: Backoff = Backoff::doubling(Duration::from_millis(100), Duration::from_secs(2));

/// After losing `$LATEST` to another run: waits (at most `spec.wait`) until that run moved
/// an alias, then says whether every alias now serves a newer deploy (this run yields) or
/// not (this run uploads again). There is no SDK waiter for an alias, so this polls, with
/// a growing pause.
async fn wait_for_other_run<L: LambdaApi>(
    lambda: &L,
    spec: &PublishSpec<'_>,
) -> Result<Option<Vec<Held>>, AwsError> {
    let deadline = tokio::time::Instant::now() + spec.wait;
    let mut pause = POLLS;
    loop {
        let mut changed = false;
        let mut held = Vec::new();
        for (name, from) in spec.aliases {
            let (current, h) = check_alias(lambda, name, spec.ours).await?;
            changed |= current.map(|c| c.version) != *from;
            held.extend(h);
        }
        if held.len() == spec.aliases.len() {
            return Ok(Some(held));
        }
        if changed || !pause.fits_before(deadline) {
            return Ok(None);
        }
        tracing::info!(
            "another deploy of this function is running; waiting for it to move its aliases"
        );
        pause.sleep().await;
    }
}

/// Publishes `$LATEST` as this run's version; when another run replaced the code, waits
/// for it to finish and uploads again through `reupload` (which returns the new
/// RevisionId), within [`RACE_ROUNDS`]; stops when every alias serves a newer deploy.
pub async fn publish_own<L: LambdaApi, E: From<AwsError> + From<Overtaken>>(
    lambda: &L,
    spec: &PublishSpec<'_>,
    mut revision: Option<String>,
    mut reupload: impl AsyncFnMut() -> Result<Option<String>, E>,
) -> Result<Published, E> {
    let mut lost = None;
    for round in 1..=RACE_ROUNDS {
        // The CodeSha256 precondition, checked here too.
        let latest = lambda.get_function().await?;
        if lost == Some(Lost::Stale) {
            revision = latest.as_ref().and_then(|f| f.revision_id.clone());
        }
        lost = Some(
            if latest
                .as_ref()
                .is_some_and(|f| f.code_sha256 == spec.code_sha256)
            {
                tracing::info!("publishing a version");
                let rev = revision.clone();
                let out = after_conflicts(
                    || lambda.publish(spec.code_sha256, spec.description, rev.as_deref()),
                    || lambda.wait_updated(spec.wait),
                )
                .await;
                match out {
                    Ok(v) => {
                        let got = lambda.get_version(&v.version).await?;
                        let code_ours = got
                            .as_ref()
                            .is_some_and(|g| g.code_sha256 == spec.code_sha256);
                        let label_ours = got
                            .as_ref()
                            .is_some_and(|g| g.description.as_deref() == Some(spec.description));
                        if code_ours && label_ours {
                            return Ok(Published::Own(v.version));
                        }
                        tracing::warn!(version = %v.version, "the published version holds another run's code or description: another deploy of this function is running");
                        if code_ours { Lost::Label } else { Lost::Code }
                    }
                    Err(e) if e.kind == ErrorKind::PreconditionFailed => {
                        tracing::warn!(error = %e, "the function changed before the version was published; reading it again");
                        Lost::Stale
                    }
                    Err(e) => return Err(e.into()),
                }
            } else {
                tracing::warn!(
                    "another deploy replaced the function's code before this run published it"
                );
                Lost::Code
            },
        );
        if lost == Some(Lost::Stale) {
            continue;
        }
        if lost == Some(Lost::Code)
            && !spec.aliases.is_empty()
            && let Some(held) = wait_for_other_run(lambda, spec).await?
        {
            for h in &held {
                tracing::warn!("{}", h.warning());
            }
            return Ok(Published::Yielded(held));
        }
        if round == RACE_ROUNDS {
            break;
        }
        tracing::info!(round = round + 1, "uploading this run's code again");
        revision = reupload().await?;
    }
    Err(Overtaken {
        rounds: RACE_ROUNDS,
    }
    .into())
}

#[cfg(test)]
mod tests;
