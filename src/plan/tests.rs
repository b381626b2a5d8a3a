//! The plan's own decisions that come from reads outside the function: the function URL
//! and its grants, the S3 route, and what a second plan (after layers are published)
//! keeps from the first.

use super::{
    CodeRoute, FunctionAction, LayerStep, LocalCode, Plan, Publish, UrlAction, UrlLive, UrlStep,
};
use crate::config::FunctionUrl;

fn ours() -> Vec<String> {
    vec!["grant-a".to_string(), "grant-b".to_string()]
}

fn plan(code_changed: bool) -> Plan {
    Plan {
        function_name: "orders".into(),
        action: FunctionAction::Update,
        code: LocalCode {
            code_sha256: "c2hh".into(),
            size: 10,
            unzipped_size: 20,
            image: None,
        },
        previous_code_sha256: Some("b2xk".into()),
        code_changed,
        architecture: None,
        config: Default::default(),
        changes: Vec::new(),
        tags: Default::default(),
        publish: Publish::No,
        aliases: Vec::new(),
        aliases_in_place: Vec::new(),
        code_route: if code_changed {
            CodeRoute::Direct
        } else {
            CodeRoute::Unchanged
        },
        layers: Vec::new(),
        aliases_held: Vec::new(),
        function_url: None,
        function_url_removed: None,
    }
}

#[test]
fn a_public_url_adds_only_the_grants_that_are_missing() {
    let now = UrlLive {
        auth_type: Some("NONE".into()),
        statements: vec!["grant-a".into(), "someone-elses".into()],
    };
    let step = UrlStep::new("live", FunctionUrl::Public, &now, &ours()).expect("a step");
    assert_eq!(step.action, UrlAction::Keep);
    assert_eq!(step.grants_add, vec!["grant-b".to_string()]);
    assert!(step.grants_remove.is_empty());
}

#[test]
fn an_iam_url_removes_the_public_grants_and_changes_the_auth() {
    let now = UrlLive {
        auth_type: Some("NONE".into()),
        statements: ours(),
    };
    let step = UrlStep::new("live", FunctionUrl::Iam, &now, &ours()).expect("a step");
    assert_eq!(step.action, UrlAction::ChangeAuth);
    assert!(step.grants_add.is_empty());
    assert_eq!(step.grants_remove, ours());
}

#[test]
fn a_missing_url_is_created_and_none_asks_for_no_step() {
    let step = UrlStep::new("live", FunctionUrl::Public, &UrlLive::default(), &ours());
    assert_eq!(
        step.map(|s| (s.action, s.grants_add)),
        Some((UrlAction::Create, ours()))
    );
    assert_eq!(
        UrlStep::new("live", FunctionUrl::None, &UrlLive::default(), &ours()),
        None
    );
}

#[test]
fn unchanged_code_does_not_go_through_s3() {
    let p = plan(false).through_s3("bucket", "key.zip".into());
    assert_eq!(p.code_route, CodeRoute::Unchanged);
    let p = plan(true).through_s3("bucket", "key.zip".into());
    assert_eq!(
        p.code_route,
        CodeRoute::S3 {
            bucket: "bucket".into(),
            key: "key.zip".into()
        }
    );
}

#[test]
fn the_second_plan_keeps_what_the_first_learnt() {
    let first = plan(true)
        .through_s3("bucket", "key.zip".into())
        .with_layers(vec![LayerStep::Publish {
            name: "tools".into(),
            code_sha256: "dG9vbHM=".into(),
            size: 5,
            replaces: None,
        }]);
    let second = plan(true).carry_over(&first);
    assert_eq!(second.code_route, first.code_route);
    assert_eq!(second.layers, first.layers);
}
