//! A short lock around alias moves, made of an alias: CreateAlias fails when the alias
//! exists, so creating `lambda-deploy-lock` is an atomic test-and-set that every
//! Lambda-compatible API offers, even one that does not enforce RevisionId preconditions.
//! The lock alias points at `$LATEST`, carries its owner and creation time in its
//! description, and is deleted when the moves are done. A lock older than [`LOCK_STALE`]
//! was left by a run that died; it is broken.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::lambda::Lambda;
use super::{AwsError, ErrorKind};

/// The alias name used as the lock.
pub const LOCK_ALIAS: &str = "lambda-deploy-lock";
/// Age after which a lock counts as left behind by a run that died.
pub const LOCK_STALE: Duration = Duration::from_secs(120);
const PREFIX: &str = "lambda-deploy lock ";

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

impl Lambda {
    /// Tries once to take the lock for `owner`; breaks a stale one.
    pub async fn try_lock(&self, owner: &str) -> Result<Taken, AwsError> {
        let resource = format!("alias '{LOCK_ALIAS}' of {}", self.resource());
        let created = self
            .client()
            .create_alias()
            .function_name(self.function())
            .name(LOCK_ALIAS)
            .function_version("$LATEST")
            .description(format!("{PREFIX}{owner} {}", now_secs()))
            .send()
            .await;
        let err = match created {
            Ok(_) => return Ok(Taken::Yes),
            Err(e) => AwsError::from_sdk("CreateAlias", &resource, e, |s| {
                if s.is_resource_conflict_exception() {
                    ErrorKind::Conflict
                } else {
                    ErrorKind::Other
                }
            }),
        };
        if err.kind != ErrorKind::Conflict {
            return Err(err);
        }
        let held = self
            .client()
            .get_alias()
            .function_name(self.function())
            .name(LOCK_ALIAS)
            .send()
            .await;
        let desc = match held {
            Ok(a) => a.description().unwrap_or_default().to_string(),
            // Released between the two calls: try again.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Ok(Taken::Busy(String::new()));
            }
            Err(e) => {
                return Err(AwsError::from_sdk("GetAlias", &resource, e, |_| {
                    ErrorKind::Other
                }));
            }
        };
        match parse_owner(&desc) {
            // An earlier attempt of this very call went through, its answer was lost.
            Some((o, _)) if o == owner => Ok(Taken::Yes),
            Some((o, at)) if now_secs().saturating_sub(at) > LOCK_STALE.as_secs() => {
                tracing::warn!(
                    owner = o,
                    "breaking an alias lock left by a run that stopped"
                );
                self.unlock().await?;
                Ok(Taken::Busy(o.to_string()))
            }
            Some((o, _)) => Ok(Taken::Busy(o.to_string())),
            None => Ok(Taken::Busy(desc)),
        }
    }

    /// Releases the lock only when `owner` still holds it (the cleanup of a cancelled
    /// run); `false` when it is gone or another run holds it.
    pub async fn release_if_held_by(&self, owner: &str) -> Result<bool, AwsError> {
        let held = self
            .client()
            .get_alias()
            .function_name(self.function())
            .name(LOCK_ALIAS)
            .send()
            .await;
        let desc = match held {
            Ok(a) => a.description().unwrap_or_default().to_string(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Ok(false);
            }
            Err(e) => {
                return Err(AwsError::from_sdk(
                    "GetAlias",
                    &format!("alias '{LOCK_ALIAS}' of {}", self.resource()),
                    e,
                    |_| ErrorKind::Other,
                ));
            }
        };
        if parse_owner(&desc).is_some_and(|(o, _)| o == owner) {
            self.unlock().await?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Releases the lock (deleting a missing alias succeeds).
    pub async fn unlock(&self) -> Result<(), AwsError> {
        self.client()
            .delete_alias()
            .function_name(self.function())
            .name(LOCK_ALIAS)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                AwsError::from_sdk(
                    "DeleteAlias",
                    &format!("alias '{LOCK_ALIAS}' of {}", self.resource()),
                    e,
                    |_| ErrorKind::Other,
                )
            })
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
}
