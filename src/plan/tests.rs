//! The plan's own decisions that come from reads outside the function: the function URL
//! and its grants, the S3 route, and the layer versions filled in once they are published.

use super::{
    CodeRoute, FieldChange, FunctionAction, LayerStep, LocalCode, Plan, Publish, UrlAction,
    UrlLive, UrlStep,
};
use crate::config::FunctionUrl;
use crate::domain::function::LayerRef;

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

const EXT: &str = "arn:aws:lambda:us-east-1:123456789012:layer:ext:3";
const TOOLS_4: &str = "arn:aws:lambda:us-east-1:123456789012:layer:tools:4";

/// A plan that attaches `ext` and a new version of `tools`, as the run makes it before
/// anything is published.
fn plan_publishing_tools() -> Plan {
    let mut p = plan(true).with_layers(vec![LayerStep::Publish {
        name: "tools".into(),
        code_sha256: "dG9vbHM=".into(),
        size: 5,
        replaces: None,
    }]);
    p.config.layers = Some(vec![
        LayerRef::Version(EXT.into()),
        LayerRef::ToPublish("tools".into()),
    ]);
    p.changes.push(FieldChange {
        field: "layers",
        from: Some(String::new()),
        to: format!("{EXT}, tools (new version)"),
    });
    p
}

#[test]
fn a_layer_still_to_publish_is_named_as_such_in_json_and_text() {
    let p = plan_publishing_tools();
    let json = serde_json::to_value(&p).expect("json");
    assert_eq!(
        json["config"]["layers"],
        serde_json::json!([EXT, {"layer": "tools", "publish": true}])
    );
    assert!(
        p.to_string()
            .contains(&format!("layers:  -> {EXT}, tools (new version)")),
        "{p}"
    );
    assert_eq!(p.config.layer_to_publish(), Some("tools"));
    assert_eq!(p.config.layer_arns(), Some(vec![EXT.to_string()]));
}

#[test]
fn a_published_layer_version_is_filled_in_the_same_plan() {
    let mut p = plan_publishing_tools();
    let before = p.clone();
    p.layer_published("tools", TOOLS_4);
    assert_eq!(
        p.config.layers,
        Some(vec![
            LayerRef::Version(EXT.into()),
            LayerRef::Version(TOOLS_4.into())
        ])
    );
    assert_eq!(p.config.layer_to_publish(), None);
    let change = p.changes.iter().find(|c| c.field == "layers");
    assert_eq!(
        change.map(|c| c.to.as_str()),
        Some(format!("{EXT}, {TOOLS_4}").as_str())
    );
    // Everything else stays as planned: the layer step, the route, the version.
    assert_eq!(p.layers, before.layers);
    assert_eq!(p.code_route, before.code_route);
    assert_eq!(p.publish, before.publish);
}
