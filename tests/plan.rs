//! The plan of a dry run names every change the run would make, read from the real
//! emulator: the real binary with `--dry-run --format json`, then AWS read back unchanged.

mod support;

use support::{block, deploy, example_copy, lambda, path_str, role, snapshot, unique};

fn s3() -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(&support::sdk_config())
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

fn new_bucket() -> String {
    let name = unique("ld-plan").to_ascii_lowercase();
    block(async {
        s3().create_bucket()
            .bucket(&name)
            .send()
            .await
            .expect("create bucket");
    });
    name
}

fn object_count(bucket: &str) -> usize {
    block(async {
        s3().list_objects_v2()
            .bucket(bucket)
            .send()
            .await
            .expect("list objects")
            .contents()
            .len()
    })
}

fn layer_version_count(layer: &str) -> usize {
    block(async {
        lambda()
            .list_layer_versions()
            .layer_name(layer)
            .send()
            .await
            .map(|r| r.layer_versions().len())
            .unwrap_or(0)
    })
}

fn has_url(function: &str, alias: &str) -> bool {
    block(async {
        lambda()
            .get_function_url_config()
            .function_name(function)
            .qualifier(alias)
            .send()
            .await
            .is_ok()
    })
}

/// The JSON of a dry run lists both aliases and their moves, the layer to publish, the S3
/// bucket and key, the configuration fields with old and new values (environment: key
/// names only), the function URL and its grants; and nothing in AWS changes.
#[test]
// Long on purpose: one dry run, and every part of its JSON checked in the order it is listed.
#[allow(clippy::too_many_lines)]
fn dry_run_json_names_every_change_and_aws_stays_as_it_was() {
    let name = unique("plan-all");
    let layer = unique("plan-tools");
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    let first = [
        ("function-name", name.as_str()),
        ("source-dir", d.as_str()),
        ("runtime", "python3.12"),
        ("handler", "app.handler"),
        ("role", role.as_str()),
        ("alias", "live\nstaging"),
        ("environment", "TOKEN=first-s3cr3t\nSTAGE=dev"),
    ];
    deploy(&first, &[], &[]).assert_ok();
    let before = snapshot(&name);

    std::fs::write(dir.path().join("extra.py"), "X = 1\n").expect("write");
    let layer_dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(layer_dir.path().join("python")).expect("mkdir");
    std::fs::write(layer_dir.path().join("python/shared.py"), "V = 1\n").expect("write");
    let layer_dirs = format!("{layer}={}", path_str(layer_dir.path()));
    let bucket = new_bucket();
    let mut inputs = first.to_vec();
    inputs.retain(|(k, _)| *k != "environment");
    inputs.extend([
        ("environment", "TOKEN=second-s3cr3t\nNEW=1"),
        ("memory-size", "512"),
        ("s3-bucket", bucket.as_str()),
        ("layer-dirs", layer_dirs.as_str()),
        ("function-url", "public"),
    ]);
    let run = deploy(&inputs, &[], &["--dry-run", "true", "--format", "json"]);
    run.assert_ok();
    let out = run.stdout();
    assert!(
        !run.everything().contains("s3cr3t"),
        "an environment value leaked:\n{out}"
    );
    let json: serde_json::Value = serde_json::from_str(&out).expect("json on stdout");
    let plan = &json["plan"];

    let aliases = plan["aliases"].as_array().cloned().unwrap_or_default();
    let moves: Vec<(String, String, String)> = aliases
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap_or("").to_string(),
                a["from"].as_str().unwrap_or("").to_string(),
                a["verdict"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for alias in ["live", "staging"] {
        assert!(
            moves.contains(&(alias.to_string(), "1".to_string(), "move".to_string())),
            "{alias} should move from version 1: {aliases:?}"
        );
    }

    assert_eq!(plan["layers"][0]["action"], "publish", "{plan}");
    assert_eq!(plan["layers"][0]["name"], layer.as_str(), "{plan}");

    assert_eq!(plan["code_route"]["kind"], "s3", "{plan}");
    assert_eq!(plan["code_route"]["bucket"], bucket.as_str(), "{plan}");
    let key = plan["code_route"]["key"].as_str().unwrap_or("");
    assert!(
        key.starts_with(&format!("lambda-deploy/{name}/")) && key.ends_with(".zip"),
        "{key}"
    );

    let changes = plan["changes"].as_array().cloned().unwrap_or_default();
    let change = |field: &str| {
        changes
            .iter()
            .find(|c| c["field"] == field)
            .cloned()
            .unwrap_or_else(|| panic!("no {field} change in {changes:?}"))
    };
    let memory = change("memory-size");
    assert_eq!(
        (memory["from"].as_str(), memory["to"].as_str()),
        (Some("128"), Some("512"))
    );
    let env = change("environment");
    assert_eq!(env["from"], "STAGE, TOKEN", "{env}");
    assert!(
        env["to"]
            .as_str()
            .is_some_and(|t| t.starts_with("NEW, STAGE, TOKEN")),
        "{env}"
    );

    let url = &plan["function_url"];
    assert_eq!(url["alias"], "live", "{plan}");
    assert_eq!(url["auth"], "public", "{plan}");
    assert_eq!(url["action"], "create", "{plan}");
    assert_eq!(
        url["grants_add"].as_array().map(Vec::len),
        Some(2),
        "{plan}"
    );

    assert_eq!(
        snapshot(&name),
        before,
        "a dry run must not change the function"
    );
    assert_eq!(
        layer_version_count(&layer),
        0,
        "a dry run publishes no layer"
    );
    assert_eq!(object_count(&bucket), 0, "a dry run uploads nothing to S3");
    assert!(!has_url(&name, "live"), "a dry run creates no function URL");
    assert!(
        run.summary.contains("<details><summary>Plan</summary>"),
        "{}",
        run.summary
    );
}
