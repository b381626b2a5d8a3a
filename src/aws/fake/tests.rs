//! The fake holds Lambda's rules the logic above it depends on.

use super::*;
use crate::state::LastUpdateStatus;

#[tokio::test]
async fn a_write_with_a_stale_revision_id_fails_as_a_precondition() {
    let lambda = FakeLambda::new("app").with_function("sha-1", &[]);
    let seen = lambda.get_function().await.ok().flatten();
    let rev = seen.and_then(|f| f.revision_id);
    lambda.world().start_update(0);
    let out = lambda
        .update_config(&ConfigUpdate::default(), rev.as_deref())
        .await;
    assert_eq!(out.map_err(|e| e.kind), Err(ErrorKind::PreconditionFailed));
}

#[tokio::test]
async fn a_write_while_an_update_runs_conflicts_until_the_update_finishes() {
    let lambda = FakeLambda::new("app").with_function("sha-1", &[]);
    let code = CodeSource::Zip(b"new".to_vec());
    let first = lambda.update_code(code.clone(), None, None).await;
    assert_eq!(first.map(|w| w.code_sha256).ok(), Some(code_sha256(b"new")));
    let second = lambda.update_code(code.clone(), None, None).await;
    assert_eq!(second.map_err(|e| e.kind).err(), Some(ErrorKind::Conflict));
    let seen = lambda.get_function().await.ok().flatten();
    assert_eq!(
        seen.and_then(|f| f.last_update_status),
        Some(LastUpdateStatus::InProgress)
    );
    assert!(lambda.wait_updated(Duration::from_secs(5)).await.is_ok());
    assert!(lambda.update_code(code, None, None).await.is_ok());
}

#[tokio::test]
async fn publishing_checks_the_code_and_reuses_an_unchanged_version() {
    let lambda = FakeLambda::new("app").with_function("sha-1", &[]);
    let wrong = lambda.publish("sha-2", "d", None).await;
    assert_eq!(
        wrong.map_err(|e| e.kind).err(),
        Some(ErrorKind::PreconditionFailed)
    );
    let v1 = lambda
        .publish("sha-1", "first", None)
        .await
        .map(|w| w.version);
    let again = lambda
        .publish("sha-1", "second", None)
        .await
        .map(|w| w.version);
    assert_eq!((v1.ok(), again.ok()), (Some("1".into()), Some("1".into())));
    let v = lambda.get_version("1").await.ok().flatten();
    assert_eq!(v.and_then(|v| v.description).as_deref(), Some("first"));
}

#[tokio::test]
async fn aliases_are_created_once_and_updated_under_their_revision() {
    let lambda = FakeLambda::new("app").with_function("sha-1", &[]);
    lambda.world().publish_as("v");
    assert!(
        lambda
            .point_alias("live", "1", "a", false, None)
            .await
            .is_ok()
    );
    let again = lambda.point_alias("live", "1", "a", false, None).await;
    assert_eq!(again.map_err(|e| e.kind).err(), Some(ErrorKind::Conflict));
    let stale = lambda
        .point_alias("live", "1", "b", true, Some("rev-0"))
        .await;
    assert_eq!(
        stale.map_err(|e| e.kind).err(),
        Some(ErrorKind::PreconditionFailed)
    );
    let missing = lambda.point_alias("live", "9", "b", true, None).await;
    assert_eq!(missing.map_err(|e| e.kind).err(), Some(ErrorKind::NotFound));
}

#[tokio::test]
async fn a_hook_runs_before_exactly_the_nth_call_and_can_fail_it() {
    let lambda = FakeLambda::new("app").with_function("sha-1", &[]);
    lambda.fail("GetAlias", 2, ErrorKind::Throttled);
    assert!(lambda.get_alias("x").await.is_ok());
    let second = lambda.get_alias("x").await;
    assert_eq!(second.map_err(|e| e.kind).err(), Some(ErrorKind::Throttled));
    assert!(lambda.get_alias("x").await.is_ok());
}
