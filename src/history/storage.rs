//! The code-storage preflight: before a zip is uploaded, the account's code storage in
//! the region (GetAccountSettings) must have room for it. A package that would not fit
//! fails the run before any change, saying how much `keep-versions` would free; from
//! [`WARN_SHARE`] of the limit on, the run warns.

use super::prune::{Pins, select};
use super::{HistoryError, collect};
use crate::aws::AwsError;
use crate::aws::history::History;
use crate::aws::lambda::Lambda;
use crate::domain::bytes;

/// Share of the limit from which a deploy warns.
pub(crate) const WARN_SHARE: f64 = 0.8;
/// The `keep-versions` suggested when the input is not given.
pub(crate) const SUGGESTED_KEEP: usize = 10;

/// The account's code storage in the region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Storage {
    pub used: u64,
    pub limit: u64,
}

/// What the preflight decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Room {
    Fits,
    /// Fits, over [`WARN_SHARE`] of the limit afterwards.
    Tight,
    Full,
}

/// Whether `package` more bytes fit (pure).
pub(crate) fn room(s: Storage, package: u64) -> Room {
    let after = s.used.saturating_add(package);
    if after > s.limit {
        Room::Full
    } else if (after as f64) >= WARN_SHARE * s.limit as f64 {
        Room::Tight
    } else {
        Room::Fits
    }
}

impl Lambda {
    /// GetAccountSettings: the code storage used and allowed in the region.
    pub(crate) async fn code_storage(&self) -> Result<Storage, AwsError> {
        let out = self
            .client()
            .get_account_settings()
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk("GetAccountSettings", "the account", e, |_| {
                    crate::aws::ErrorKind::Other
                })
            })?;
        let used = out.account_usage().map_or(0, |u| u.total_code_size());
        let limit = out.account_limit().map_or(0, |l| l.total_code_size());
        Ok(Storage {
            used: used.max(0) as u64,
            limit: limit.max(0) as u64,
        })
    }
}

/// Code bytes the function's versions beyond the newest `keep` (and those its aliases
/// route to) hold: what `keep-versions: keep` would free.
async fn freeable<H: History>(h: &H, keep: usize) -> Result<u64, AwsError> {
    let versions = collect(async |m| h.versions_page(m).await).await?;
    let aliases = collect(async |m| h.aliases_page(m).await).await?;
    let pins = Pins {
        aliases,
        ..Pins::default()
    };
    Ok(select(&versions, &pins, keep)
        .deleted
        .iter()
        .map(|v| v.code_size.max(0) as u64)
        .sum())
}

/// Checks that a package of `package` bytes fits; returns the warning to show when
/// storage is tight. When GetAccountSettings cannot be read (no permission, or a
/// service that lacks it), the deploy goes on without the check.
pub(crate) async fn preflight(
    lambda: &Lambda,
    function: &str,
    keep: Option<usize>,
    package: u64,
) -> Result<Option<String>, HistoryError> {
    let storage = match lambda.code_storage().await {
        Ok(s) if s.limit > 0 => s,
        Ok(_) => return Ok(None),
        Err(e) => {
            tracing::info!(error = %e, "cannot read the account's code storage; deploying without the check");
            return Ok(None);
        }
    };
    let verdict = room(storage, package);
    if verdict == Room::Fits {
        return Ok(None);
    }
    let keep = keep.unwrap_or(SUGGESTED_KEEP);
    let freed = freeable(lambda, keep).await?;
    let usage = format!(
        "the account's Lambda code storage in this region holds {} of {} ({:.0}%), and this package adds {}",
        bytes(storage.used),
        bytes(storage.limit),
        100.0 * storage.used as f64 / storage.limit as f64,
        bytes(package)
    );
    let advice = format!(
        "keep-versions: {keep} would free {} of {function}'s old versions (command: prune deletes them alone; command: status lists them)",
        bytes(freed)
    );
    match verdict {
        Room::Full => Err(HistoryError::StorageFull { usage, advice }),
        _ => Ok(Some(format!("{usage}; {advice}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_full_past_the_limit_and_tight_from_eighty_percent() {
        let s = |used| Storage { used, limit: 100 };
        assert_eq!(room(s(10), 10), Room::Fits);
        assert_eq!(room(s(70), 10), Room::Tight);
        assert_eq!(room(s(90), 10), Room::Tight);
        assert_eq!(room(s(91), 10), Room::Full);
        assert_eq!(
            room(
                Storage {
                    used: u64::MAX,
                    limit: 100
                },
                1
            ),
            Room::Full
        );
    }
}
