//! A short lock around alias moves, made of an alias: CreateAlias fails when the alias
//! exists, so creating `lambda-deploy-lock` is an atomic test-and-set that every
//! Lambda-compatible API offers, even one that does not enforce RevisionId preconditions.
//! The lock alias points at `$LATEST`, carries its owner and creation time in its
//! description, and is deleted when the moves are done.
//!
//! A lock older than the stale age ([`stale_after`]) was left by a run that died; it is
//! broken. A lock whose time cannot be trusted (in the future: a runner with a fast clock;
//! or a description that cannot be read) ages from when this run first saw it unchanged.
//! Lambda has no conditional DeleteAlias, so a lock is deleted (broken or released) only
//! after reading it again and finding the very lock that was read: same description and
//! same RevisionId. A lock another run took in between is left alone.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::api::LambdaApi;
use super::{AwsError, ErrorKind};

/// The alias name used as the lock.
pub use crate::domain::LOCK_ALIAS;
/// Age after which a lock counts as left behind by a run that died.
pub(crate) const LOCK_STALE: Duration = Duration::from_secs(120);
const PREFIX: &str = "lambda-deploy lock ";

/// The stale age in force: [`LOCK_STALE`], or `LAMBDA_DEPLOY_LOCK_STALE` seconds (1 to
/// 3600) for setups whose runs move aliases faster or slower than that.
pub(crate) fn stale_after() -> Duration {
    std::env::var("LAMBDA_DEPLOY_LOCK_STALE")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|n| (1..=3600).contains(n))
        .map_or(LOCK_STALE, Duration::from_secs)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Who holds a lock, read from its description: `lambda-deploy lock <owner> <unix secs>`.
fn parse_owner(desc: &str) -> Option<(&str, u64)> {
    let rest = desc.strip_prefix(PREFIX)?;
    let (owner, secs) = rest.rsplit_once(' ')?;
    Some((owner, secs.parse().ok()?))
}

/// Whether taking the lock worked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    Yes,
    /// Another run holds it (its owner string).
    Busy(String),
}

/// A lock as read: what decides whether it is still the same one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Held {
    description: String,
    revision_id: Option<String>,
}

/// What one waiting run has seen of the lock: the same lock seen again keeps its first
/// sighting, so a lock without a trustworthy time still goes stale.
#[derive(Debug, Default)]
pub struct LockWatch {
    seen: Option<(Held, Instant)>,
}

impl LockWatch {
    /// How long `held` has been seen unchanged (zero when it is new to this run).
    fn age_of(&mut self, held: &Held) -> Duration {
        match &self.seen {
            Some((h, since)) if h == held => since.elapsed(),
            _ => {
                self.seen = Some((held.clone(), Instant::now()));
                Duration::ZERO
            }
        }
    }
}

/// How old a lock is: by its own time when that is in the past, and never less than
/// how long this run has watched it.
fn lock_age(desc: &str, watched: Duration, now: u64) -> Duration {
    let own = match parse_owner(desc) {
        Some((_, at)) if at <= now => Duration::from_secs(now - at),
        _ => Duration::ZERO,
    };
    own.max(watched)
}

/// Tries once to take the lock for `owner`; breaks a stale one (see the module docs).
pub(crate) async fn try_lock<L: LambdaApi>(
    lambda: &L,
    owner: &str,
    watch: &mut LockWatch,
) -> Result<Taken, AwsError> {
    let description = format!("{PREFIX}{owner} {}", now_secs());
    let err = match lambda
        .point_alias(LOCK_ALIAS, "$LATEST", &description, false, None)
        .await
    {
        Ok(()) => return Ok(Taken::Yes),
        Err(e) => e,
    };
    if err.kind != ErrorKind::Conflict {
        return Err(err);
    }
    // Released between the two calls: try again.
    let Some(held) = read_lock(lambda).await? else {
        return Ok(Taken::Busy(String::new()));
    };
    let holder = match parse_owner(&held.description) {
        // An earlier attempt of this very call went through, its answer was lost.
        Some((o, _)) if o == owner => return Ok(Taken::Yes),
        Some((o, _)) => o.to_string(),
        None => held.description.clone(),
    };
    let age = lock_age(&held.description, watch.age_of(&held), now_secs());
    if age > stale_after() {
        tracing::warn!(
            holder = %holder,
            "breaking an alias lock left by a run that stopped"
        );
        delete_lock_if(lambda, &held).await?;
    }
    Ok(Taken::Busy(holder))
}

/// Reads the lock: `None` when there is none.
async fn read_lock<L: LambdaApi>(lambda: &L) -> Result<Option<Held>, AwsError> {
    Ok(lambda.get_alias(LOCK_ALIAS).await?.map(|a| Held {
        description: a.description.unwrap_or_default(),
        revision_id: a.revision_id,
    }))
}

/// Deletes the lock only when it is still `expected` (read again right before, since
/// DeleteAlias takes no RevisionId). Returns whether it was deleted.
async fn delete_lock_if<L: LambdaApi>(lambda: &L, expected: &Held) -> Result<bool, AwsError> {
    match read_lock(lambda).await? {
        Some(now) if &now == expected => {}
        Some(now) => {
            tracing::info!(
                holder = %now.description,
                "the alias lock changed hands since it was read; leaving it"
            );
            return Ok(false);
        }
        None => return Ok(false),
    }
    lambda.delete_alias(LOCK_ALIAS).await.map(|()| true)
}

/// Releases the lock `owner` holds; a lock that is gone, or that another run holds now
/// (this one was broken as stale), is left as it is. Returns whether it was released.
pub async fn unlock<L: LambdaApi>(lambda: &L, owner: &str) -> Result<bool, AwsError> {
    let Some(held) = read_lock(lambda).await? else {
        return Ok(false);
    };
    match parse_owner(&held.description) {
        Some((o, _)) if o == owner => delete_lock_if(lambda, &held).await,
        _ => {
            tracing::warn!(
                holder = %held.description,
                "the alias lock is held by another run now; leaving it"
            );
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_are_read_back_from_the_description() {
        assert_eq!(
            parse_owner("lambda-deploy lock run-42 pid 7 1700000000"),
            Some(("run-42 pid 7", 1_700_000_000))
        );
        assert_eq!(parse_owner("lambda-deploy lock x"), None);
        assert_eq!(parse_owner("hand made"), None);
    }

    #[test]
    fn locks_without_a_trustworthy_time_age_from_their_first_sighting() {
        let now = 1_700_000_000;
        let past = format!("{PREFIX}run 1 {}", now - 300);
        let future = format!("{PREFIX}run 1 {}", now + 3600);
        let watched = Duration::from_secs(5);
        assert_eq!(lock_age(&past, watched, now), Duration::from_secs(300));
        assert_eq!(lock_age(&future, watched, now), watched);
        assert_eq!(lock_age("hand made", watched, now), watched);

        let held = Held {
            description: future,
            revision_id: Some("r1".into()),
        };
        let mut watch = LockWatch::default();
        assert_eq!(watch.age_of(&held), Duration::ZERO);
        let first = watch.seen.as_ref().map(|(_, t)| *t);
        watch.age_of(&held);
        assert_eq!(
            watch.seen.as_ref().map(|(_, t)| *t),
            first,
            "same lock, same sighting"
        );
        let taken_again = Held {
            revision_id: Some("r2".into()),
            ..held
        };
        assert_eq!(
            watch.age_of(&taken_again),
            Duration::ZERO,
            "a new lock starts over"
        );
    }
}
