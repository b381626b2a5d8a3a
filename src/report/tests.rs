//! Snapshots of the plan as people and programs read it: the JSON of `--dry-run --format
//! json` and the job summary, both rendered from the one [`Plan`] value. Values are fixed,
//! so the snapshots change only with the text.

use std::collections::BTreeMap;

use super::{Outcome, Provenance, Report, ReportExtra, Status};
use crate::config::{Config, RawInputs};
use crate::domain::function::LayerRef;
use crate::plan::{self, HeldAlias, Live, LocalCode, Plan, UrlLive, UrlStep};
use crate::state::{LiveAlias, LiveFunction};
use crate::types::AliasName;

const ROLE: &str = "arn:aws:iam::123456789012:role/app";
const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:orders";
const SHA: &str = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=";
const HEX: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// A validated config of `inputs` (plus `function-name` and a `source-dir` that exists).
fn config(inputs: &[(&str, &str)]) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("src")).expect("source dir");
    std::fs::create_dir_all(dir.path().join("tools")).expect("layer dir");
    let mut raw: serde_json::Map<String, serde_json::Value> = inputs
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
        .collect();
    raw.insert("function-name".into(), "orders".into());
    raw.insert("source-dir".into(), "src".into());
    let raw: RawInputs = serde_json::from_value(raw.into()).expect("raw inputs");
    let config = Config::from_raw(&raw, dir.path()).expect("valid inputs");
    (dir, config)
}

fn code() -> LocalCode {
    LocalCode {
        code_sha256: SHA.into(),
        size: 2048,
        unzipped_size: 8192,
        image: None,
    }
}

fn live_function() -> LiveFunction {
    LiveFunction {
        arn: ARN.into(),
        package_type: crate::domain::kind::PackageType::Zip,
        runtime: Some("python3.12".into()),
        role: Some(ROLE.into()),
        handler: Some("app.handler".into()),
        architecture: Some(crate::domain::kind::Architecture::X86_64),
        memory_size: Some(128),
        timeout: Some(3),
        environment: BTreeMap::from([
            ("DB_PASSWORD".to_string(), "old-s3cr3t".to_string()),
            ("STAGE".to_string(), "dev".to_string()),
        ]),
        code_sha256: "b2xkIGNvZGU=".into(),
        code_size: 1024,
        ..LiveFunction::default()
    }
}

fn alias(name: &str, version: &str) -> LiveAlias {
    LiveAlias {
        name: name.into(),
        version: version.into(),
        revision_id: Some(format!("rev-{name}")),
        description: None,
    }
}

fn names(list: &[&str]) -> Vec<AliasName> {
    list.iter()
        .map(|n| n.parse().expect("alias name"))
        .collect()
}

fn planned(config: &Config, aliases: &[&str], live: &Live) -> Plan {
    let layers = crate::layers::desired(config.settings.layers.as_ref(), &[]);
    planned_with(config, layers, aliases, live)
}

/// Like [`planned`], with the function's whole layer list.
fn planned_with(
    config: &Config,
    layers: Option<Vec<LayerRef>>,
    aliases: &[&str],
    live: &Live,
) -> Plan {
    plan::plan(
        config,
        layers,
        &names(aliases),
        code(),
        live,
        "main @ abc1234 run 42".into(),
    )
    .expect("plan")
}

/// The report of a dry run of `plan`, as the run builds it before anything is applied.
fn dry_run(plan: Plan) -> Report {
    Report {
        outcome: Outcome {
            status: Status::Planned,
            version: None,
            published: false,
            aliases: Vec::new(),
            moved: Vec::new(),
            warnings: Vec::new(),
            elapsed_ms: 1500,
        },
        function_name: "orders".into(),
        function_arn: (plan.action == plan::FunctionAction::Update).then(|| ARN.to_string()),
        s3_uri: None,
        layers: Vec::new(),
        layer_arns: None,
        function_url: None,
        provenance: Provenance {
            ref_label: Some("main".into()),
            short_sha: Some("abc1234".into()),
            commit_url: None,
            run_url: Some("https://github.com/octo-org/orders/actions/runs/42".into()),
        },
        image: None,
        plan: Some(plan),
        smoke: None,
        extra: ReportExtra::default(),
    }
}

fn json(report: &Report) -> String {
    serde_json::to_string_pretty(&report.json()).expect("json")
}

#[test]
fn create() {
    let (_dir, config) = config(&[
        ("role", ROLE),
        ("runtime", "python3.12"),
        ("handler", "app.handler"),
        ("alias", "live"),
        ("tags", "team=orders"),
    ]);
    let report = dry_run(planned(&config, &["live"], &Live::default()));
    let json = json(&report);
    assert!(json.contains(r#""action": "create""#), "{json}");
    insta::assert_snapshot!("create_json", json);
    insta::assert_snapshot!("create_summary", report.summary_markdown());
}

#[test]
fn update_with_config_changes_and_environment() {
    let (_dir, config) = config(&[
        ("memory-size", "512"),
        ("timeout", "10"),
        ("environment", "DB_PASSWORD=new-s3cr3t\nFEATURE=on"),
    ]);
    let live = Live {
        function: Some(live_function()),
        ..Live::default()
    };
    let report = dry_run(planned(&config, &[], &live));
    let (json, summary) = (json(&report), report.summary_markdown());
    for text in [&json, &summary] {
        assert!(!text.contains("s3cr3t"), "an environment value: {text}");
        assert!(!text.contains("\"dev\""), "an environment value: {text}");
    }
    let value = report.json();
    let changes = &value["plan"]["changes"];
    assert!(
        changes.as_array().is_some_and(|c| c
            .iter()
            .any(|c| c["field"] == "memory-size" && c["from"] == "128" && c["to"] == "512")),
        "{json}"
    );
    insta::assert_snapshot!("update_json", json);
    insta::assert_snapshot!("update_summary", summary);
}

#[test]
fn s3_route() {
    let (_dir, config) = config(&[
        ("s3-bucket", "deploy-artifacts"),
        ("s3-key-prefix", "builds/"),
    ]);
    let live = Live {
        function: Some(live_function()),
        ..Live::default()
    };
    let key = format!("builds/orders/{HEX}.zip");
    let plan = planned(&config, &[], &live).through_s3("deploy-artifacts", key.clone());
    let report = dry_run(plan);
    let value = report.json();
    assert_eq!(value["plan"]["code_route"]["kind"], "s3");
    assert_eq!(value["plan"]["code_route"]["bucket"], "deploy-artifacts");
    assert_eq!(value["plan"]["code_route"]["key"], key.as_str());
    insta::assert_snapshot!("s3_json", json(&report));
    insta::assert_snapshot!("s3_summary", report.summary_markdown());
}

#[test]
fn layer_publish() {
    let (_dir, config) = config(&[("layer-dirs", "tools=tools")]);
    let tools_3 = "arn:aws:lambda:us-east-1:123456789012:layer:tools:3";
    let live = Live {
        function: Some(LiveFunction {
            layers: vec![tools_3.into()],
            ..live_function()
        }),
        ..Live::default()
    };
    let layers = Some(vec![LayerRef::ToPublish("tools".into())]);
    let plan =
        planned_with(&config, layers, &[], &live).with_layers(vec![plan::LayerStep::Publish {
            name: "tools".into(),
            code_sha256: "dG9vbHMgbGF5ZXI=".into(),
            size: 4096,
            replaces: Some(tools_3.into()),
        }]);
    let report = dry_run(plan);
    let value = report.json();
    assert_eq!(value["plan"]["layers"][0]["action"], "publish");
    assert_eq!(value["plan"]["layers"][0]["name"], "tools");
    // The function's layer list names the version to publish, not a made-up ARN.
    assert_eq!(
        value["plan"]["config"]["layers"],
        serde_json::json!([{"layer": "tools", "publish": true}])
    );
    insta::assert_snapshot!("layer_json", json(&report));
    insta::assert_snapshot!("layer_summary", report.summary_markdown());
}

#[test]
fn two_aliases_one_held_by_the_release_guard() {
    let (_dir, config) = config(&[]);
    let live = Live {
        function: Some(live_function()),
        aliases: vec![alias("v1-2", "4"), alias("v1", "7")],
        ..Live::default()
    };
    let plan = planned(&config, &["v1-2"], &live).holding(vec![HeldAlias {
        name: "v1".into(),
        stays_on: "7".into(),
        reason: "v1 serves v1.3.0, newer than v1.2.5".into(),
    }]);
    let report = dry_run(plan);
    let value = report.json();
    let aliases = value["plan"]["aliases"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(aliases.len(), 2, "{value}");
    assert_eq!(aliases[0]["name"], "v1-2");
    assert_eq!(aliases[0]["verdict"], "move");
    assert_eq!(aliases[0]["from"], "4");
    assert_eq!(aliases[1]["name"], "v1");
    assert_eq!(aliases[1]["verdict"], "hold");
    assert_eq!(aliases[1]["from"], "7");
    insta::assert_snapshot!("held_json", json(&report));
    insta::assert_snapshot!("held_summary", report.summary_markdown());
}

#[test]
fn function_url_with_grants() {
    let (_dir, config) = config(&[("alias", "live"), ("function-url", "public")]);
    let live = Live {
        function: Some(live_function()),
        aliases: vec![alias("live", "2")],
        ..Live::default()
    };
    let ours = vec![
        "lambda-deploy-url-live".to_string(),
        "lambda-deploy-url-invoke-live".to_string(),
    ];
    let now = UrlLive {
        auth_type: Some("AWS_IAM".into()),
        statements: vec!["lambda-deploy-url-live".into()],
    };
    let url = UrlStep::new("live", config.function_url, &now, &ours);
    let plan = planned(&config, &["live"], &live).with_url(url, Some("old".into()));
    let report = dry_run(plan);
    let value = report.json();
    let url = &value["plan"]["function_url"];
    assert_eq!(url["alias"], "live");
    assert_eq!(url["action"], "change-auth");
    assert_eq!(
        url["grants_add"],
        serde_json::json!(["lambda-deploy-url-invoke-live"])
    );
    assert_eq!(value["plan"]["function_url_removed"], "old");
    insta::assert_snapshot!("url_json", json(&report));
    insta::assert_snapshot!("url_summary", report.summary_markdown());
}
