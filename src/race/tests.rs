//! Two runs at once, the alias lock, the release guard and conflict waits, against the
//! in-memory Lambda: each "other run" acts at an exact call of the run under test, so
//! these interleavings are the same on every run of the tests.

use std::time::Duration;

use super::*;
use crate::aws::api::CodeSource;
use crate::aws::fake::{FakeLambda, code_sha256};
use crate::aws::lock::LOCK_ALIAS;
use crate::deploy::DeployError;
use crate::release;
use crate::targets::{Mode, Target, TargetKind, Targets};

fn key(run: u64) -> OrderKey {
    OrderKey {
        release: None,
        run_id: Some(run),
    }
}

fn release_key(version: &str, run: u64) -> OrderKey {
    OrderKey {
        release: semver::Version::parse(version).ok(),
        run_id: Some(run),
    }
}

/// A version description as a run of workflow run `run` writes it.
fn description(run: u64) -> String {
    format!("main @ abc1234 · https://github.com/o/r/actions/runs/{run}")
}

const WAIT: Duration = Duration::from_secs(5);

/// A function whose alias `live` serves version 1, deployed by run 100.
fn deployed() -> FakeLambda {
    let lambda = FakeLambda::new("app").with_function("sha-v1", &[]);
    {
        let mut w = lambda.world();
        let v = w.publish_as(&description(100));
        w.set_alias("live", &v, &key(100).alias_description());
    }
    lambda
}

/// What run `run` does once its code `sha` is in `$LATEST`: publish it, then move `live`.
async fn other_run_deploys(other: FakeLambda, sha: &str, run: u64) -> Option<AwsError> {
    let v = {
        let mut w = other.world();
        w.put_code(sha);
        w.start_update(0);
        w.publish_as(&description(run))
    };
    let names = ["live".to_string()];
    move_aliases(&other, &names, &v, &key(run), WAIT)
        .await
        .err()
}

fn spec<'a>(
    sha: &'a str,
    desc: &'a str,
    ours: &'a OrderKey,
    aliases: &'a [(String, Option<String>)],
) -> PublishSpec<'a> {
    PublishSpec {
        code_sha256: sha,
        description: desc,
        ours,
        aliases,
        wait: WAIT,
    }
}

async fn no_reupload() -> Result<Option<String>, DeployError> {
    panic!("this run must not upload again")
}

#[tokio::test]
async fn an_older_run_that_lost_latest_to_a_newer_one_stops_and_moves_nothing() {
    let old = deployed();
    old.world().put_code("sha-old");
    old.world().start_update(0);
    // Right before the older run checks `$LATEST` to publish, the newer run deploys.
    old.before("GetFunction", 1, |newer| async move {
        other_run_deploys(newer, "sha-new", 300).await
    });
    let ours = key(200);
    let desc = description(200);
    let aliases = [("live".to_string(), Some("1".to_string()))];
    let out = publish_own(
        &old,
        &spec("sha-old", &desc, &ours, &aliases),
        None,
        no_reupload,
    )
    .await
    .expect("publishing ends without error");

    let Published::Yielded(held) = out else {
        panic!("the older run must yield, got {out:?}");
    };
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].serving, "2");
    let w = old.world();
    assert_eq!(
        w.alias_version("live").as_deref(),
        Some("2"),
        "the newer run's version"
    );
    assert_eq!(w.count(old.handle(), "PublishVersion"), 0);
    assert!(
        w.alias_writes
            .iter()
            .all(|(_, _, by)| !by.contains("run 200")),
        "the older run moved no alias: {:?}",
        w.alias_writes
    );
}

#[tokio::test]
async fn an_older_run_never_moves_an_alias_back_from_a_newer_one() {
    let old = deployed();
    let names = ["live".to_string()];
    // The older run published version 2; right before it takes the alias lock, the newer
    // run publishes version 3 and moves `live` to it.
    old.world().put_code("sha-old");
    let own = old.world().publish_as(&description(200));
    old.before("CreateAlias", 1, |newer| async move {
        other_run_deploys(newer, "sha-new", 300).await
    });
    let results = move_aliases(&old, &names, &own, &key(200), WAIT)
        .await
        .expect("the moves end without error");

    assert!(
        matches!(&results[..], [AliasResult::Held(h)] if h.serving == "3"),
        "{results:?}"
    );
    let w = old.world();
    assert_eq!(w.alias_version("live").as_deref(), Some("3"));
    assert_eq!(
        w.count(old.handle(), "UpdateAlias"),
        0,
        "the older run wrote no alias"
    );
    assert!(!w.aliases.contains_key(LOCK_ALIAS), "the lock was released");
}

#[tokio::test]
async fn the_newer_run_moves_the_alias_over_an_older_one() {
    let lambda = deployed();
    let names = ["live".to_string()];
    let v = lambda.world().publish_as(&description(300));
    let results = move_aliases(&lambda, &names, &v, &key(300), WAIT).await;
    assert_eq!(
        results.ok(),
        Some(vec![AliasResult::Moved {
            from: Some("1".into())
        }])
    );
    let alias = lambda.alias("live").expect("live exists");
    assert_eq!(alias.version, "2");
    // The move records this run and what the alias served before it (for rollbacks).
    assert_eq!(
        alias.description,
        format!("{}, served 1", key(300).alias_description())
    );
}

#[tokio::test]
async fn a_run_that_lost_latest_to_an_older_run_uploads_again_and_publishes_its_own() {
    let lambda = deployed();
    let ours_sha = code_sha256(b"ours");
    lambda.world().put_code(&ours_sha);
    lambda.world().start_update(0);
    // An older run (100 < 200) replaces the code and moves `live` before this run
    // publishes: this run must upload its code again, never publish the other's.
    lambda.before("GetFunction", 1, |older| async move {
        other_run_deploys(older, "sha-older", 150).await
    });
    let ours = key(200);
    let desc = description(200);
    let aliases = [("live".to_string(), Some("1".to_string()))];
    let mut uploads = 0;
    let reupload = async || {
        uploads += 1;
        lambda
            .update_code(CodeSource::Zip(b"ours".to_vec()), None, None)
            .await?;
        Ok::<_, DeployError>(lambda.wait_updated(WAIT).await?)
    };
    let out = publish_own(
        &lambda,
        &spec(&ours_sha, &desc, &ours, &aliases),
        None,
        reupload,
    )
    .await
    .expect("the run publishes");

    assert_eq!(uploads, 1);
    let Published::Own(version) = out else {
        panic!("expected this run's own version, got {out:?}");
    };
    let v = lambda.get_version(&version).await.ok().flatten();
    let v = v.expect("the version exists");
    assert_eq!(v.code_sha256, ours_sha, "the version holds this run's code");
    assert_eq!(v.description.as_deref(), Some(desc.as_str()));
    let names = ["live".to_string()];
    let moved = move_aliases(&lambda, &names, &version, &ours, WAIT).await;
    assert!(matches!(moved.as_deref(), Ok([AliasResult::Moved { .. }])));
    assert_eq!(lambda.world().alias_version("live"), Some(version));
}

#[tokio::test]
async fn an_update_in_progress_is_waited_for_then_the_publish_succeeds() {
    let lambda = FakeLambda::new("app").with_function("sha-1", &[]);
    // Another update stays InProgress for three looks: the first read, then two polls of
    // the wait that the publish meeting it starts.
    lambda.world().start_update(3);
    let ours = key(1);
    let desc = description(1);
    let out = publish_own(
        &lambda,
        &spec("sha-1", &desc, &ours, &[]),
        None,
        no_reupload,
    )
    .await;
    assert!(
        matches!(out, Ok(Published::Own(ref v)) if v == "1"),
        "{out:?}"
    );
    let w = lambda.world();
    assert_eq!(
        w.count(lambda.handle(), "PublishVersion"),
        2,
        "tried again once"
    );
    assert_eq!(w.versions.len(), 1);
}

#[tokio::test]
async fn an_update_that_never_finishes_gives_up_after_the_wait_with_a_clear_error() {
    let lambda = FakeLambda::new("app").with_function("sha-1", &[]);
    lambda.world().start_update(1_000);
    let ours = key(1);
    let desc = description(1);
    let mut s = spec("sha-1", &desc, &ours, &[]);
    s.wait = Duration::from_secs(3);
    let out = publish_own(&lambda, &s, None, no_reupload).await;
    let Err(DeployError::Aws(e)) = out else {
        panic!("expected the wait to give up, got {out:?}");
    };
    assert_eq!(e.kind, ErrorKind::Timeout);
    let text = e.to_string();
    assert!(
        text.contains("did not finish within 3s") && text.contains("raise wait-timeout"),
        "{text}"
    );
    let w = lambda.world();
    assert!(w.versions.is_empty(), "nothing was published");
    assert_eq!(
        w.count(lambda.handle(), "GetFunction"),
        1 + 3,
        "one read, three polls"
    );
}

#[tokio::test]
async fn a_stale_revision_id_is_refused_then_read_again() {
    let lambda = FakeLambda::new("app").with_function("sha-1", &[]);
    let stale = lambda
        .world()
        .function
        .as_ref()
        .and_then(|f| f.live.revision_id.clone());
    // A configuration change (same code) lands between this run's read and its publish.
    lambda.world().start_update(0);
    let ours = key(1);
    let desc = description(1);
    let out = publish_own(
        &lambda,
        &spec("sha-1", &desc, &ours, &[]),
        stale,
        no_reupload,
    )
    .await;
    assert!(matches!(out, Ok(Published::Own(_))), "{out:?}");
    assert_eq!(lambda.world().count(lambda.handle(), "PublishVersion"), 2);
}

fn lock_description(owner: &str, secs: u64) -> String {
    format!("lambda-deploy lock {owner} {secs}")
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_lock_left_by_a_dead_run_is_broken() {
    let lambda = deployed();
    let left = lock_description("run 90 pid 1 ab", now_secs() - 3_600);
    lambda.world().set_alias(LOCK_ALIAS, "$LATEST", &left);
    let v = lambda.world().publish_as(&description(300));
    let names = ["live".to_string()];
    let out = move_aliases(&lambda, &names, &v, &key(300), WAIT).await;
    assert!(
        matches!(out.as_deref(), Ok([AliasResult::Moved { .. }])),
        "{out:?}"
    );
    let w = lambda.world();
    assert_eq!(w.alias_version("live"), Some(v));
    assert!(!w.aliases.contains_key(LOCK_ALIAS));
}

#[tokio::test]
async fn a_fresh_lock_is_waited_on_until_its_run_releases_it() {
    let lambda = deployed();
    let held = lock_description("run 250 pid 1 ab", now_secs());
    lambda.world().set_alias(LOCK_ALIAS, "$LATEST", &held);
    // The holder releases its lock right before this run's second try.
    lambda.before("CreateAlias", 2, |holder| async move {
        holder.delete_alias(LOCK_ALIAS).await.err()
    });
    let v = lambda.world().publish_as(&description(300));
    let names = ["live".to_string()];
    let out = move_aliases(&lambda, &names, &v, &key(300), WAIT).await;
    assert!(
        matches!(out.as_deref(), Ok([AliasResult::Moved { .. }])),
        "{out:?}"
    );
    let w = lambda.world();
    assert_eq!(w.alias_version("live"), Some(v));
    assert_eq!(
        w.count(lambda.handle(), "DeleteAlias"),
        1,
        "the run deleted only its own lock, never the fresh one it waited on"
    );
    assert!(!w.aliases.contains_key(LOCK_ALIAS));
}

#[tokio::test]
async fn a_fresh_lock_never_released_fails_the_moves_after_the_wait() {
    let lambda = deployed();
    let held = lock_description("run 250 pid 1 ab", now_secs());
    lambda.world().set_alias(LOCK_ALIAS, "$LATEST", &held);
    let v = lambda.world().publish_as(&description(300));
    let names = ["live".to_string()];
    let out = move_aliases(&lambda, &names, &v, &key(300), Duration::from_millis(250)).await;
    let e = out.expect_err("the lock is never released");
    assert_eq!(e.kind, ErrorKind::Conflict);
    assert!(
        e.message.contains("(run 250 pid 1 ab) held the alias lock"),
        "{e}"
    );
    let w = lambda.world();
    assert_eq!(
        w.alias_version("live").as_deref(),
        Some("1"),
        "nothing moved"
    );
    assert_eq!(
        w.aliases.get(LOCK_ALIAS).map(|a| a.description.as_str()),
        Some(held.as_str()),
        "the other run's lock is left alone"
    );
}

fn release_targets(version: &str, aliases: &[&str]) -> Targets {
    Targets {
        mode: Mode::Deploy,
        moves: aliases
            .iter()
            .map(|a| Target {
                alias: a.parse().expect("valid alias"),
                kind: TargetKind::Release {
                    version: version.into(),
                },
            })
            .collect(),
        url_alias: None,
        warnings: Vec::new(),
    }
}

#[tokio::test]
async fn the_release_guard_leaves_v1_on_a_newer_release() {
    let lambda = FakeLambda::new("app").with_function("sha-1", &[]);
    {
        let mut w = lambda.world();
        let v = w.publish_as("v1.3.0 @ abc1234 · https://github.com/o/r/actions/runs/500");
        let moved_by = release_key("1.3.0", 500).alias_description();
        w.set_alias("v1", &v, &moved_by);
        w.set_alias("v1-3", &v, &moved_by);
    }
    // Tag v1.2.4, pushed after v1.3.0, in a later workflow run.
    let targets = release_targets("1.2.4", &["v1-2-4", "v1-2", "v1"]);
    let mut live = Vec::new();
    for name in ["v1-2-4", "v1-2", "v1"] {
        live.extend(lambda.get_alias(name).await.ok().flatten());
    }
    let (allowed, skipped) = release::guard(&lambda, &targets, &live)
        .await
        .expect("the guard reads");
    let allowed: Vec<String> = allowed.iter().map(ToString::to_string).collect();
    assert_eq!(allowed, ["v1-2-4", "v1-2"]);
    assert_eq!(skipped.len(), 1);
    assert_eq!(
        (skipped[0].alias.as_str(), skipped[0].version.as_str()),
        ("v1", "1")
    );
    assert!(skipped[0].reason.contains("1.3.0"), "{}", skipped[0].reason);

    // The moves the guard allows, made by that run, leave `v1` where it was.
    let v = lambda
        .world()
        .publish_as("v1.2.4 @ def5678 · https://github.com/o/r/actions/runs/600");
    let names: Vec<String> = allowed.clone();
    let ours = release_key("1.2.4", 600);
    move_aliases(&lambda, &names, &v, &ours, WAIT)
        .await
        .expect("the allowed aliases move");
    let w = lambda.world();
    assert_eq!(w.alias_version("v1").as_deref(), Some("1"));
    assert_eq!(w.alias_version("v1-2").as_deref(), Some("2"));
}

#[tokio::test]
async fn the_release_guard_moves_v1_for_a_newer_release() {
    let lambda = FakeLambda::new("app").with_function("sha-1", &[]);
    {
        let mut w = lambda.world();
        let v = w.publish_as("v1.2.0 @ abc1234 · https://github.com/o/r/actions/runs/500");
        w.set_alias("v1", &v, &release_key("1.2.0", 500).alias_description());
    }
    let targets = release_targets("1.3.0", &["v1"]);
    let live: Vec<_> = lambda
        .get_alias("v1")
        .await
        .ok()
        .flatten()
        .into_iter()
        .collect();
    let (allowed, skipped) = release::guard(&lambda, &targets, &live)
        .await
        .expect("the guard reads");
    assert_eq!(allowed.len(), 1);
    assert!(skipped.is_empty(), "{skipped:?}");
}
