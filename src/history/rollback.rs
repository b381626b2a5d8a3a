//! `command: rollback`: each `alias` goes back one step through the versions it served
//! (or to `to-version`), after the smoke test on the target; nothing is published.
//!
//! The target gets all of the alias's traffic: weighted routing is removed.
//!
//! Every check happens before the first change: the function, each alias, and the target
//! of each. The moves are made under the alias lock ([`crate::aws::lock`]) and recorded on
//! the alias with a key at least as new as the deploy being rolled back, so a run of an
//! older commit still in flight sees the rollback as newer and leaves the alias alone,
//! while a later run moves it forward as usual ([`crate::order`]).

use std::time::Duration;

use serde::Serialize;

use super::{HistoryError, Origin};
use crate::aws::lambda::Lambda;
use crate::aws::lock;
use crate::aws::{AwsError, ErrorKind};
use crate::config::Config;
use crate::domain::history;
use crate::order::OrderKey;
use crate::race;
use crate::smoke::{self, SmokePassed};
use crate::state::LiveAlias;

/// One alias moved back (or, in a dry run, to be moved).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Step {
    pub alias: String,
    pub from: String,
    pub to: String,
    pub from_origin: Origin,
    pub to_origin: Origin,
}

/// What a rollback did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct RollbackOutcome {
    pub function_name: String,
    pub function_arn: String,
    pub steps: Vec<Step>,
    pub smoke: Vec<SmokePassed>,
    pub dry_run: bool,
}

/// An alias as read, and the version it goes back to.
struct Target {
    alias: LiveAlias,
    to: String,
}

/// Rolls back `config.aliases` of the function.
pub async fn run(
    lambda: &Lambda,
    config: &Config,
    ours: &OrderKey,
) -> Result<RollbackOutcome, HistoryError> {
    let function = config.function_name.short_name().to_string();
    let arn =
        lambda
            .get_function()
            .await?
            .map(|f| f.arn)
            .ok_or_else(|| HistoryError::NoFunction {
                function: function.clone(),
                command: "roll back",
            })?;
    let mut targets = Vec::new();
    for name in &config.aliases {
        targets.push(target(lambda, config, &function, name.as_str()).await?);
    }
    let mut steps = Vec::new();
    for t in &targets {
        steps.push(Step {
            alias: t.alias.name.clone(),
            from: t.alias.version.clone(),
            to: t.to.clone(),
            from_origin: origin(lambda, &t.alias.version).await?,
            to_origin: origin(lambda, &t.to).await?,
        });
    }
    let mut outcome = RollbackOutcome {
        function_name: function,
        function_arn: arn,
        steps,
        smoke: Vec::new(),
        dry_run: config.dry_run,
    };
    if config.dry_run {
        return Ok(outcome);
    }
    if let Some(payload) = &config.smoke_test {
        let mut tested: Vec<&str> = targets.iter().map(|t| t.to.as_str()).collect();
        tested.sort_unstable();
        tested.dedup();
        for version in tested {
            outcome
                .smoke
                .push(smoke::run(lambda, version, payload, config.wait_timeout).await?);
        }
    }
    move_all(lambda, &targets, ours, config.wait_timeout).await?;
    Ok(outcome)
}

/// The version `alias` goes back to: `to-version`, or the newest still published of the
/// versions it served before the current one.
async fn target(
    lambda: &Lambda,
    config: &Config,
    function: &str,
    name: &str,
) -> Result<Target, HistoryError> {
    let alias = lambda
        .get_alias(name)
        .await?
        .ok_or_else(|| HistoryError::NoAlias {
            alias: name.to_string(),
            function: function.to_string(),
        })?;
    if let Some(v) = &config.history.to_version {
        if lambda.get_version(v).await?.is_none() {
            return Err(HistoryError::NoVersion {
                version: v.clone(),
                function: function.to_string(),
            });
        }
        return Ok(Target {
            alias,
            to: v.clone(),
        });
    }
    let served = history::served_before(alias.description.as_deref().unwrap_or(""));
    for v in served {
        if v != alias.version && lambda.get_version(&v).await?.is_some() {
            return Ok(Target { alias, to: v });
        }
        tracing::info!(alias = name, version = %v, "a version the alias served is gone; looking further back");
    }
    Err(HistoryError::NoHistory {
        alias: name.to_string(),
    })
}

async fn origin(lambda: &Lambda, version: &str) -> Result<Origin, AwsError> {
    Ok(lambda
        .get_version(version)
        .await?
        .and_then(|v| v.description)
        .map(|d| Origin::parse(&d))
        .unwrap_or_default())
}

/// The key a rollback records: never older than the deploy it replaces, and without a
/// release, so a re-run of that release's workflow (an older run) does not undo it.
fn rollback_key(ours: &OrderKey, replaced: &OrderKey) -> OrderKey {
    OrderKey {
        release: None,
        run_id: ours.run_id.max(replaced.run_id),
    }
}

/// Takes the alias lock (waiting at most `wait`), moves every alias, releases the lock.
async fn move_all(
    lambda: &Lambda,
    targets: &[Target],
    ours: &OrderKey,
    wait: Duration,
) -> Result<(), HistoryError> {
    let run = ours.run_id.map_or("-".to_string(), |r| r.to_string());
    let owner = format!("rollback run {run} pid {}", std::process::id());
    race::take_lock(lambda, &owner, wait).await?;
    let mut result = Ok(());
    for t in targets {
        result = move_one(lambda, t, ours).await;
        if result.is_err() {
            break;
        }
    }
    if let Err(e) = lock::unlock(lambda, &owner).await {
        tracing::warn!(error = %e, "could not release the alias lock; the next run breaks it when it is stale");
    }
    result
}

/// Points one alias at its target, recording the rollback's key and the shortened list
/// of what it served; the write is guarded by the alias's revision.
async fn move_one(lambda: &Lambda, t: &Target, ours: &OrderKey) -> Result<(), HistoryError> {
    let name = t.alias.name.as_str();
    let now = lambda.get_alias(name).await?;
    let Some(now) = now.filter(|a| a.version == t.alias.version) else {
        return Err(AwsError {
            operation: "UpdateAlias",
            resource: format!("alias '{name}' of {}", lambda.resource()),
            kind: ErrorKind::Conflict,
            message: format!(
                "another deploy moved or deleted it (it served version {}) while this rollback ran",
                t.alias.version
            ),
        }
        .into());
    };
    let replaced = race::mover(lambda, &now).await?;
    let before = history::served_before(now.description.as_deref().unwrap_or(""));
    let served = history::after_rollback(&before, &now.version, &t.to);
    let mark = history::with_served(rollback_key(ours, &replaced).alias_description(), &served);
    tracing::info!(alias = name, from = %now.version, to = %t.to, "rolling back alias");
    // All of the traffic goes to the target: a weighted share left on the version
    // rolled back from would keep serving it.
    lambda
        .point_alias_alone(name, &t.to, &mark, now.revision_id.as_deref())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::{Verdict, verdict};

    #[test]
    fn an_older_run_in_flight_never_undoes_a_rollback_and_a_newer_one_moves_on() {
        let run = |n: u64| OrderKey {
            release: None,
            run_id: Some(n),
        };
        // The bad deploy was run 50; the rollback's own run is 60.
        let key = rollback_key(&run(60), &run(50));
        assert!(matches!(verdict(&run(55), &key), Verdict::Older(_)));
        assert_eq!(verdict(&run(61), &key), Verdict::Move);
        // Outside Actions (no run id) the rollback is as new as the deploy it replaced.
        let key = rollback_key(&OrderKey::default(), &run(50));
        assert!(matches!(verdict(&run(49), &key), Verdict::Older(_)));
        // A re-run of the bad release keeps its old run id: it stays held back.
        let release = OrderKey {
            release: crate::tags::release_version("v1.3.0"),
            run_id: Some(50),
        };
        let key = rollback_key(&run(60), &release);
        assert_eq!(key.release, None);
        assert!(matches!(verdict(&release, &key), Verdict::Older(_)));
    }
}
