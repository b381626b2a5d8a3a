//! Applying a plan against the in-memory Lambda: the whole sequence (upload, waits,
//! publish, alias moves) when another update gets in the way.

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::aws::fake::{FakeLambda, code_sha256};
use crate::config::RawInputs;
use crate::plan::{Live, LocalCode};
use crate::state::LastUpdateStatus;

const CODE: &[u8] = b"this run's package";

/// The config of a run deploying `zip` to `app` and moving `live`; waits up to 5 s.
fn config(zip: &Path) -> Config {
    let raw = RawInputs {
        function_name: Some("app".into()),
        zip_file: Some(zip.display().to_string()),
        alias: Some("live".into()),
        wait_timeout: Some("5".into()),
        ..RawInputs::default()
    };
    Config::from_raw(&raw, Path::new("/")).expect("valid inputs")
}

/// Reads what a run reads, then plans, as the run does.
async fn planned(lambda: &FakeLambda, config: &Config) -> (Plan, Live) {
    let mut live = Live {
        function: lambda.get_function().await.expect("reads"),
        ..Live::default()
    };
    live.aliases
        .extend(lambda.get_alias("live").await.expect("reads"));
    let code = LocalCode {
        code_sha256: code_sha256(CODE),
        size: CODE.len() as u64,
        unzipped_size: CODE.len() as u64,
        image: None,
    };
    let plan = crate::plan::plan(
        config,
        crate::layers::desired(config.settings.layers.as_ref(), &[]),
        &config.aliases,
        code,
        &live,
        "main @ abc1234 · https://github.com/o/r/actions/runs/7".into(),
    )
    .expect("plans");
    (plan, live)
}

/// Applies `plan` with the zip file as the package, as run 7.
async fn apply_zip(
    lambda: &FakeLambda,
    config: &Config,
    plan: &Plan,
    live: &Live,
    zip: &tempfile::NamedTempFile,
) -> Result<Outcome, DeployError> {
    let at = PackageAt::File(zip.path().to_path_buf());
    apply(lambda, config, plan, live.function.as_ref(), &at, &run_7()).await
}

fn zip_file() -> tempfile::NamedTempFile {
    let f = tempfile::Builder::new()
        .suffix(".zip")
        .tempfile()
        .expect("temp file");
    std::fs::write(f.path(), CODE).expect("write");
    f
}

fn run_7() -> OrderKey {
    OrderKey {
        release: None,
        run_id: Some(7),
    }
}

#[tokio::test]
async fn an_update_in_progress_when_the_run_starts_is_waited_for_then_the_deploy_completes() {
    let zip = zip_file();
    let config = config(zip.path());
    let lambda = FakeLambda::new("app").with_function("sha-old", &[]);
    // Someone (the console, another tool) is updating the function: the run reads it as
    // InProgress, then it stays so for two more looks.
    lambda.world().start_update(3);
    let (plan, live) = planned(&lambda, &config).await;
    let seen = live.function.as_ref().and_then(|f| f.last_update_status);
    assert_eq!(seen, Some(LastUpdateStatus::InProgress));
    let out = apply_zip(&lambda, &config, &plan, &live, &zip)
        .await
        .expect("the deploy completes");

    assert_eq!((out.version.as_str(), out.published), ("1", true));
    let w = lambda.world();
    assert_eq!(w.count(lambda.handle(), "UpdateFunctionCode"), 1);
    let f = w.function.as_ref().map(|f| f.live.code_sha256.clone());
    assert_eq!(f, Some(code_sha256(CODE)));
    assert_eq!(w.alias_version("live").as_deref(), Some("1"));
}

#[tokio::test]
async fn a_change_made_between_the_read_and_the_upload_stops_the_run_with_a_clear_error() {
    let zip = zip_file();
    let config = config(zip.path());
    let lambda = FakeLambda::new("app").with_function("sha-old", &[]);
    let (plan, live) = planned(&lambda, &config).await;
    // The change lands right before the upload: the upload meets the update in progress,
    // waits for it, and is refused, since the function is no longer the one planned on.
    lambda.before("UpdateFunctionCode", 1, |other| async move {
        other.world().start_update(2);
        None
    });
    let out = apply_zip(&lambda, &config, &plan, &live, &zip).await;
    let Err(DeployError::Aws(e)) = out else {
        panic!("expected the stale RevisionId to be refused, got {out:?}");
    };
    assert_eq!(e.kind, ErrorKind::PreconditionFailed);
    assert!(e.to_string().contains("run again"), "{e}");
    let w = lambda.world();
    assert_eq!(
        w.count(lambda.handle(), "UpdateFunctionCode"),
        2,
        "waited, then tried again"
    );
    assert!(
        w.versions.is_empty() && w.aliases.is_empty(),
        "nothing published or moved"
    );
}

#[tokio::test]
async fn an_update_that_never_finishes_stops_the_deploy_before_any_publish() {
    let zip = zip_file();
    let config = config(zip.path());
    let lambda = FakeLambda::new("app").with_function("sha-old", &[]);
    let (plan, live) = planned(&lambda, &config).await;
    lambda.before("UpdateFunctionCode", 1, |other| async move {
        other.world().start_update(1_000);
        None
    });
    let out = apply_zip(&lambda, &config, &plan, &live, &zip).await;
    let Err(DeployError::Aws(e)) = out else {
        panic!("expected the wait to give up, got {out:?}");
    };
    assert_eq!(e.kind, ErrorKind::Timeout);
    assert!(e.to_string().contains("raise wait-timeout"), "{e}");
    let w = lambda.world();
    assert!(
        w.versions.is_empty() && w.aliases.is_empty(),
        "nothing published or moved"
    );
    assert_eq!(config.wait_timeout, Duration::from_secs(5));
}

#[tokio::test]
async fn a_plan_that_still_names_a_layer_to_publish_is_refused_before_any_write() {
    let zip = zip_file();
    let config = config(zip.path());
    let lambda = FakeLambda::new("app").with_function("sha-old", &[]);
    let (mut plan, live) = planned(&lambda, &config).await;
    plan.config.layers = Some(vec![crate::domain::function::LayerRef::ToPublish(
        "tools".into(),
    )]);
    let out = apply_zip(&lambda, &config, &plan, &live, &zip).await;
    let Err(DeployError::LayerNotPublished { layer }) = out else {
        panic!("expected the unpublished layer to be refused, got {out:?}");
    };
    assert_eq!(layer, "tools");
    let w = lambda.world();
    let writes = ["UpdateFunctionCode", "UpdateFunctionConfiguration"];
    for op in writes {
        assert_eq!(w.count(lambda.handle(), op), 0, "{op}");
    }
    assert!(w.versions.is_empty() && w.aliases.is_empty());
}
