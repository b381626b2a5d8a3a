//! The release guard: a semver alias is never moved backwards. Before a release run moves
//! `v1`, what last moved `v1` is read back ([`crate::race::mover`]: the alias's own
//! description, which every move records, else the description of the version it serves);
//! when that was a newer release (an older tag pushed after a newer one), `v1` stays. The
//! alias's record matters because a release on unchanged code reuses a version whose own
//! description names the branch run that published it.

use crate::aws::AwsError;
use crate::aws::api::LambdaApi;
use crate::race;
use crate::state::LiveAlias;
use crate::targets::{self, Targets};
use crate::types::AliasName;

pub use crate::domain::outcome::SkippedMove;

/// Splits the targets into the aliases that may move and the ones left alone.
pub async fn guard<L: LambdaApi>(
    lambda: &L,
    targets: &Targets,
    live: &[LiveAlias],
) -> Result<(Vec<AliasName>, Vec<SkippedMove>), AwsError> {
    let mut allowed = Vec::new();
    let mut skipped = Vec::new();
    for t in &targets.moves {
        let current = live.iter().find(|a| a.name == t.alias.as_str());
        let (Some(candidate), Some(current)) = (t.release(), current) else {
            allowed.push(t.alias.clone());
            continue;
        };
        let served = race::mover(lambda, current).await?.release;
        match served.and_then(|s| targets::backwards_reason(t.alias.as_str(), &candidate, &s)) {
            Some(reason) => {
                tracing::warn!(alias = %t.alias, version = %current.version, "{reason}");
                skipped.push(SkippedMove {
                    alias: t.alias.to_string(),
                    version: current.version.clone(),
                    reason,
                });
            }
            None => allowed.push(t.alias.clone()),
        }
    }
    Ok((allowed, skipped))
}
