//! Release history end to end against the local emulator: rollback walks an alias back
//! through what it served, prune deletes what keep-versions does not keep (with the S3
//! packages only those versions used), status lists it all.

mod support;

use std::collections::BTreeMap;
use std::fs;

use serde_json::json;
use support::faults::FaultProxy;
use support::{Run, block, deploy, example_copy, path_str, role, snapshot, unique};

/// The GitHub context of a push run of commit `n`, run id `run`.
fn push(n: u64, run: u64) -> Vec<(&'static str, String)> {
    vec![
        ("GITHUB_ACTIONS", "true".into()),
        ("GITHUB_EVENT_NAME", "push".into()),
        ("GITHUB_REF", "refs/heads/main".into()),
        ("GITHUB_SHA", format!("{:0<40}", format!("{n:x}"))),
        ("GITHUB_REPOSITORY", "octo/app".into()),
        ("GITHUB_SERVER_URL", "https://github.com".into()),
        ("GITHUB_RUN_ID", run.to_string()),
    ]
}

fn refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// A function of its own with a source folder whose code each deploy can change.
struct Fixture {
    name: String,
    dir: tempfile::TempDir,
    role: String,
}

impl Fixture {
    fn new(prefix: &str) -> Self {
        Self {
            name: unique(prefix),
            dir: example_copy("python-hello"),
            role: role(),
        }
    }

    /// Deploys commit `n` as run `run` (its code differs from every other commit's).
    fn deploy(&self, n: u64, run: u64, more: &[(&str, &str)]) -> Run {
        fs::write(self.dir.path().join("commit.txt"), n.to_string()).expect("write");
        let d = path_str(self.dir.path());
        let mut inputs = vec![
            ("function-name", self.name.as_str()),
            ("source-dir", d.as_str()),
            ("runtime", "python3.12"),
            ("handler", "app.handler"),
            ("role", self.role.as_str()),
            ("alias", "live"),
        ];
        inputs.extend_from_slice(more);
        let env = push(n, run);
        let r = deploy(&inputs, &refs(&env), &[]);
        r.assert_ok();
        r
    }

    /// Runs `command` on the function as run `run`.
    fn command(&self, command: &str, run: u64, more: &[(&str, &str)], env: &[(&str, &str)]) -> Run {
        let mut inputs = vec![("function-name", self.name.as_str()), ("command", command)];
        inputs.extend_from_slice(more);
        let ctx = push(999, run);
        let mut all = refs(&ctx);
        all.extend_from_slice(env);
        deploy(&inputs, &all, &[])
    }

    fn live(&self) -> String {
        snapshot(&self.name)
            .aliases
            .get("live")
            .cloned()
            .unwrap_or_default()
    }

    fn versions(&self) -> Vec<String> {
        let mut v: Vec<String> = snapshot(&self.name)
            .versions
            .into_iter()
            .filter(|v| v != "$LATEST")
            .collect();
        v.sort_by_key(|v| v.parse::<u64>().unwrap_or(0));
        v
    }
}

#[test]
fn three_deploys_then_two_rollbacks_leave_live_on_version_one_and_publish_nothing() {
    let f = Fixture::new("rollback");
    for n in 1..=3 {
        f.deploy(n, 100 + n, &[]);
    }
    assert_eq!(f.live(), "3");

    let first = f.command("rollback", 110, &[("alias", "live")], &[]);
    first.assert_ok();
    assert_eq!(f.live(), "2");
    assert_eq!(first.out("status"), "rolled-back");
    assert_eq!(first.out("version"), "2");
    assert_eq!(first.out("aliases"), "live");
    assert!(
        first.summary.contains("rolled back")
            && first.summary.contains("| `live` | `3` (main, `3000000`, [run](https://github.com/octo/app/actions/runs/103)) | `2` (main, `2000000`, [run](https://github.com/octo/app/actions/runs/102)) |"),
        "{}",
        first.summary
    );

    f.command("rollback", 111, &[("alias", "live")], &[])
        .assert_ok();
    assert_eq!(f.live(), "1");
    assert_eq!(
        f.versions(),
        ["1", "2", "3"],
        "a rollback publishes nothing"
    );

    // Nothing further back on record: a clear error naming to-version, nothing moved.
    let none = f.command("rollback", 112, &[("alias", "live")], &[]);
    assert!(!none.ok());
    assert!(
        none.everything()
            .contains("input to-version: alias 'live' has no earlier version on record"),
        "{}",
        none.everything()
    );
    assert_eq!(f.live(), "1");

    // to-version moves it anywhere, forward too; the CLI subcommand does the same.
    f.command(
        "rollback",
        113,
        &[("alias", "live"), ("to-version", "3")],
        &[],
    )
    .assert_ok();
    assert_eq!(f.live(), "3");
    let env = push(999, 114);
    let cli = deploy(
        &[("function-name", f.name.as_str()), ("alias", "live")],
        &refs(&env),
        &["rollback", "--to-version", "2"],
    );
    cli.assert_ok();
    assert_eq!(cli.out("status"), "rolled-back");
    assert_eq!(f.live(), "2");
    // One step back from there: what live served before the CLI moved it.
    f.command("rollback", 115, &[("alias", "live")], &[])
        .assert_ok();
    assert_eq!(f.live(), "3");
    assert_eq!(f.versions(), ["1", "2", "3"]);
}

/// The alias's weighted routing: version -> weight.
fn weights(name: &str, alias: &str) -> BTreeMap<String, f64> {
    block(async {
        let a = support::lambda()
            .get_alias()
            .function_name(name)
            .name(alias)
            .send()
            .await
            .expect("alias");
        a.routing_config()
            .and_then(|r| r.additional_version_weights())
            .map(|w| w.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default()
    })
}

#[test]
fn a_rollback_sends_all_traffic_to_the_target() {
    let f = Fixture::new("rbweights");
    for n in 1..=3 {
        f.deploy(n, 250 + n, &[]);
    }
    // Mid-canary: live serves 3, with 30 % still on 2, and 3 turns out bad.
    block(async {
        let w: std::collections::HashMap<String, f64> = [("2".to_string(), 0.3)].into();
        support::lambda()
            .update_alias()
            .function_name(&f.name)
            .name("live")
            .routing_config(
                aws_sdk_lambda::types::AliasRoutingConfiguration::builder()
                    .set_additional_version_weights(Some(w))
                    .build(),
            )
            .send()
            .await
            .expect("route");
    });
    assert_eq!(weights(&f.name, "live").len(), 1);
    f.command("rollback", 260, &[("alias", "live")], &[])
        .assert_ok();
    assert_eq!(f.live(), "2");
    assert!(
        weights(&f.name, "live").is_empty(),
        "{:?}",
        weights(&f.name, "live")
    );
}

#[test]
fn an_older_run_in_flight_never_undoes_a_rollback_but_a_newer_one_moves_on() {
    let f = Fixture::new("rbrace");
    f.deploy(1, 200, &[]);
    f.deploy(2, 210, &[]);
    f.command("rollback", 220, &[("alias", "live")], &[])
        .assert_ok();
    assert_eq!(f.live(), "1");
    // Run 215 started before the rollback (commit 3): it publishes, but live stays put.
    let old = f.deploy(3, 215, &[]);
    assert_eq!(f.live(), "1", "{}", old.everything());
    // A run started after the rollback moves live forward as usual.
    f.deploy(4, 230, &[]);
    assert_eq!(f.live(), "4");
}

#[test]
fn rollback_of_an_unknown_version_or_alias_changes_nothing() {
    let f = Fixture::new("rbbad");
    f.deploy(1, 300, &[]);
    f.deploy(2, 301, &[]);
    let run = f.command(
        "rollback",
        302,
        &[("alias", "live"), ("to-version", "9")],
        &[],
    );
    assert!(!run.ok());
    assert!(
        run.everything().contains(&format!(
            "input to-version: version 9 of function '{}' does not exist",
            f.name
        )),
        "{}",
        run.everything()
    );
    let run = f.command("rollback", 303, &[("alias", "nope")], &[]);
    assert!(
        run.everything()
            .contains("input alias: alias 'nope' does not exist"),
        "{}",
        run.everything()
    );
    assert_eq!(f.live(), "2");
    assert_eq!(f.versions(), ["1", "2"]);
}

#[test]
fn bad_history_inputs_are_refused_before_any_aws_call() {
    let name = unique("histbad");
    let cases: [(&[(&str, &str)], &str); 6] = [
        (
            &[("command", "prune"), ("keep-versions", "0")],
            "input keep-versions: 0 would keep no version",
        ),
        (
            &[("command", "prune"), ("keep-versions", "two")],
            "input keep-versions: 'two' is not a count",
        ),
        (
            &[("command", "prune")],
            "input keep-versions: is required for command: prune",
        ),
        (
            &[
                ("command", "rollback"),
                ("alias", "live"),
                ("to-version", "$LATEST"),
            ],
            "input to-version: '$LATEST' is not a published version",
        ),
        (
            &[
                ("command", "rollback"),
                ("alias", "live"),
                ("to-version", "v2"),
            ],
            "input to-version: 'v2' is not a version number",
        ),
        (
            &[("command", "matrix")],
            "input command: 'matrix' needs manifest",
        ),
    ];
    for (inputs, want) in cases {
        let mut all = vec![("function-name", name.as_str())];
        all.extend_from_slice(inputs);
        // No endpoint: any AWS call would fail with another error.
        let run = deploy(&all, &[("AWS_ENDPOINT_URL", "http://127.0.0.1:9")], &[]);
        assert!(!run.ok(), "{inputs:?}");
        assert!(
            run.everything().contains(want),
            "{inputs:?}: {}",
            run.everything()
        );
    }
    let run = deploy(
        &[("function-name", name.as_str()), ("command", "rollback")],
        &[("AWS_ENDPOINT_URL", "http://127.0.0.1:9")],
        &[],
    );
    assert!(
        run.everything()
            .contains("input alias: is required for command: rollback"),
        "{}",
        run.everything()
    );
    assert!(!snapshot(&name).exists);
}

fn s3() -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(&support::sdk_config())
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

fn s3_keys(bucket: &str) -> Vec<String> {
    block(async {
        let mut keys: Vec<String> = s3()
            .list_objects_v2()
            .bucket(bucket)
            .send()
            .await
            .expect("list objects")
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect();
        keys.sort();
        keys
    })
}

/// The S3 key of each version's package, read from its CodeSha256.
fn package_keys(name: &str, versions: &[&str]) -> BTreeMap<String, String> {
    use base64::Engine as _;
    block(async {
        let c = support::lambda();
        let mut out = BTreeMap::new();
        for v in versions {
            let conf = c
                .get_function_configuration()
                .function_name(name)
                .qualifier(*v)
                .send()
                .await
                .expect("version");
            let raw = base64::engine::general_purpose::STANDARD
                .decode(conf.code_sha256().unwrap_or_default())
                .expect("base64");
            let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
            out.insert(v.to_string(), format!("builds/{name}/{hex}.zip"));
        }
        out
    })
}

/// The emulator has no provisioned concurrency: the proxy answers the listing with
/// `versions` pinned.
fn provisioned(proxy: &FaultProxy, name: &str, versions: &[&str]) {
    let configs: Vec<_> = versions
        .iter()
        .map(|v| json!({"FunctionArn": format!("arn:aws:lambda:us-east-1:123456789012:function:{name}:{v}"), "Status": "READY"}))
        .collect();
    proxy.add(json!([{
        "match": {"method": "GET", "path": "/provisioned-concurrency"},
        "times": -1,
        "fault": {"status": 200, "body": json!({"ProvisionedConcurrencyConfigs": configs}).to_string(),
                  "headers": {"Content-Type": "application/json"}}
    }]));
}

fn route(name: &str, alias: &str, version: &str, weights: &[(&str, f64)]) {
    block(async {
        let mut req = support::lambda()
            .create_alias()
            .function_name(name)
            .name(alias)
            .function_version(version);
        if !weights.is_empty() {
            let w: std::collections::HashMap<String, f64> =
                weights.iter().map(|(v, w)| (v.to_string(), *w)).collect();
            req = req.routing_config(
                aws_sdk_lambda::types::AliasRoutingConfiguration::builder()
                    .set_additional_version_weights(Some(w))
                    .build(),
            );
        }
        req.send().await.expect("create alias");
    });
}

#[test]
fn keep_versions_keeps_the_newest_pinned_and_routed_versions_and_their_packages_only() {
    let f = Fixture::new("prune");
    let bucket = unique("ld-prune").to_ascii_lowercase();
    block(async {
        s3().create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("bucket")
    });
    let proxy = FaultProxy::for_lambda();
    provisioned(&proxy, &f.name, &[]);
    let s3_inputs = [("s3-bucket", bucket.as_str()), ("s3-key-prefix", "builds/")];
    for n in 1..=5 {
        f.deploy(n, 400 + n, &s3_inputs);
    }
    let packages = package_keys(&f.name, &["1", "2", "3", "4", "5"]);
    // Version 1 pinned by another alias, 2 and 3 by weighted routing.
    route(&f.name, "stable", "1", &[]);
    route(&f.name, "canary", "3", &[("2", 0.2)]);

    let mut inputs = s3_inputs.to_vec();
    inputs.push(("keep-versions", "2"));
    let env = push(6, 406);
    let mut all_env = refs(&env);
    all_env.push(("AWS_ENDPOINT_URL_LAMBDA", proxy.url.as_str()));
    fs::write(f.dir.path().join("commit.txt"), "6").expect("write");
    let d = path_str(f.dir.path());
    inputs.extend([
        ("function-name", f.name.as_str()),
        ("source-dir", d.as_str()),
        ("alias", "live"),
    ]);
    let sixth = deploy(&inputs, &all_env, &[]);
    sixth.assert_ok();
    assert_eq!(sixth.out("status"), "deployed");
    assert_eq!(f.versions(), ["1", "2", "3", "5", "6"]);
    let keys = s3_keys(&bucket);
    assert!(!keys.contains(&packages["4"]), "{keys:?}");
    for v in ["1", "2", "3", "5"] {
        assert!(
            keys.contains(&packages[v]),
            "version {v}'s package is gone: {keys:?}"
        );
    }
    assert!(sixth.summary.contains("pruned"), "{}", sixth.summary);

    // command: prune, with provisioned concurrency on 5: a dry run lists, then it deletes.
    proxy.clear();
    provisioned(&proxy, &f.name, &["5"]);
    let lambda_env = [("AWS_ENDPOINT_URL_LAMBDA", proxy.url.as_str())];
    let mut prune_inputs = s3_inputs.to_vec();
    prune_inputs.extend([("keep-versions", "1"), ("dry-run", "true")]);
    let dry = f.command("prune", 407, &prune_inputs, &lambda_env);
    dry.assert_ok();
    assert_eq!(dry.out("status"), "planned");
    assert!(
        dry.stdout().contains("would delete 0 version(s)"),
        "{}",
        dry.stdout()
    );
    proxy.clear();
    provisioned(&proxy, &f.name, &[]);
    let dry = f.command("prune", 408, &prune_inputs, &lambda_env);
    assert!(
        dry.stdout().contains("would delete 1 version(s)"),
        "{}",
        dry.stdout()
    );
    assert_eq!(f.versions(), ["1", "2", "3", "5", "6"]);
    prune_inputs.pop();
    let real = f.command("prune", 409, &prune_inputs, &lambda_env);
    real.assert_ok();
    assert_eq!(real.out("status"), "pruned");
    assert_eq!(f.versions(), ["1", "2", "3", "6"]);
    assert!(!s3_keys(&bucket).contains(&packages["5"]));
}

#[test]
fn prune_of_a_function_lambda_deploy_never_deployed_deletes_nothing() {
    let name = unique("hand");
    block(async {
        let c = support::lambda();
        let zip = std::fs::read(support::manifest_dir().join("tests/fixtures/hello.zip"))
            .unwrap_or_else(|_| b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0".to_vec());
        c.create_function()
            .function_name(&name)
            .runtime(aws_sdk_lambda::types::Runtime::Python312)
            .handler("app.handler")
            .role(role())
            .code(
                aws_sdk_lambda::types::FunctionCode::builder()
                    .zip_file(zip.into())
                    .build(),
            )
            .publish(true)
            .description("by hand")
            .send()
            .await
            .expect("create");
    });
    let proxy = FaultProxy::for_lambda();
    provisioned(&proxy, &name, &[]);
    let run = deploy(
        &[
            ("function-name", name.as_str()),
            ("command", "prune"),
            ("keep-versions", "1"),
        ],
        &[("AWS_ENDPOINT_URL_LAMBDA", proxy.url.as_str())],
        &[],
    );
    assert!(!run.ok());
    assert!(
        run.everything()
            .contains("has no version published by lambda-deploy"),
        "{}",
        run.everything()
    );
    assert!(snapshot(&name).versions.contains(&"1".to_string()));
}

#[test]
fn status_lists_versions_newest_first_with_provenance_and_weights() {
    let f = Fixture::new("status");
    f.deploy(1, 500, &[]);
    f.deploy(2, 501, &[]);
    route(&f.name, "canary", "2", &[("1", 0.25)]);
    let env = push(999, 502);
    let run = deploy(
        &[("function-name", f.name.as_str())],
        &refs(&env),
        &["status", "--format", "json"],
    );
    run.assert_ok();
    let stdout = run.stdout();
    let json_start = stdout.find("\n{").map_or(0, |i| i + 1);
    let v: serde_json::Value = serde_json::from_str(&stdout[json_start..])
        .unwrap_or_else(|e| panic!("{e}: {}", run.everything()));
    let versions = v["versions"].as_array().expect("versions");
    assert_eq!(versions[0]["version"], "2");
    assert_eq!(versions[0]["ref"], "main");
    assert_eq!(versions[0]["commit"], "2000000");
    assert_eq!(
        versions[0]["run"],
        "https://github.com/octo/app/actions/runs/501"
    );
    let serving = versions[1]["aliases"].as_array().expect("aliases");
    assert!(
        serving.contains(&json!({"alias": "canary", "weight": 25.0})),
        "{serving:?}"
    );
    assert!(
        versions[0]["aliases"]
            .as_array()
            .expect("a")
            .contains(&json!({"alias": "live", "weight": 100.0}))
    );
    assert!(
        run.summary.contains("| `2` | main | `2000000` |"),
        "{}",
        run.summary
    );
    let text = deploy(
        &[("function-name", f.name.as_str()), ("command", "status")],
        &refs(&env),
        &[],
    );
    text.assert_ok();
    assert!(
        text.stdout().contains("main @ 1000000"),
        "{}",
        text.stdout()
    );
}

/// The emulator has no GetAccountSettings: the proxy answers it with `used` of `limit`.
fn account_storage(proxy: &FaultProxy, used: u64, limit: u64) {
    let body = json!({
        "AccountLimit": {"TotalCodeSize": limit, "CodeSizeUnzipped": 262144000, "CodeSizeZipped": 52428800, "ConcurrentExecutions": 1000},
        "AccountUsage": {"TotalCodeSize": used, "FunctionCount": 1}
    });
    proxy.add(json!([{
        "match": {"method": "GET", "path": "/account-settings"},
        "times": -1,
        "fault": {"status": 200, "body": body.to_string(), "headers": {"Content-Type": "application/json"}}
    }]));
}

#[test]
fn a_package_that_does_not_fit_in_code_storage_fails_before_any_change() {
    let f = Fixture::new("storage");
    f.deploy(1, 600, &[]);
    f.deploy(2, 601, &[]);
    let before = snapshot(&f.name);
    let proxy = FaultProxy::for_lambda();
    account_storage(&proxy, 75_000_000_000 - 100, 75_000_000_000);
    let lambda_env = [("AWS_ENDPOINT_URL_LAMBDA", proxy.url.as_str())];
    fs::write(f.dir.path().join("commit.txt"), "3").expect("write");
    let d = path_str(f.dir.path());
    let inputs = [
        ("function-name", f.name.as_str()),
        ("source-dir", d.as_str()),
        ("alias", "live"),
        ("keep-versions", "1"),
    ];
    let run = deploy(&inputs, &lambda_env, &[]);
    assert!(!run.ok());
    let text = run.everything();
    assert!(text.contains("the package does not fit: the account's Lambda code storage in this region holds 69.8 GiB of 69.8 GiB"), "{text}");
    assert!(text.contains("keep-versions: 1 would free "), "{text}");
    assert_eq!(snapshot(&f.name), before, "nothing may change");
    assert_eq!(proxy.count("PUT", "/code"), 0);

    // At 85 % it deploys, with a warning.
    proxy.clear();
    account_storage(&proxy, 8_500_000, 10_000_000);
    let run = deploy(&inputs[..3], &lambda_env, &[]);
    run.assert_ok();
    assert!(
        run.everything().contains("holds 8.1 MiB of 9.5 MiB (85%)"),
        "{}",
        run.everything()
    );
    assert_eq!(f.live(), "3");
}

#[test]
fn code_storage_exceeded_says_how_to_free_room() {
    let f = Fixture::new("storagex");
    f.deploy(1, 700, &[]);
    let proxy = FaultProxy::for_lambda();
    proxy.add(json!([{
        "match": {"method": "PUT", "path": "/code"},
        "times": -1,
        "fault": {"status": 400, "error": "CodeStorageExceededException", "message": "Code storage limit exceeded."}
    }]));
    fs::write(f.dir.path().join("commit.txt"), "2").expect("write");
    let d = path_str(f.dir.path());
    let run = deploy(
        &[
            ("function-name", f.name.as_str()),
            ("source-dir", d.as_str()),
            ("alias", "live"),
        ],
        &[("AWS_ENDPOINT_URL_LAMBDA", proxy.url.as_str())],
        &[],
    );
    assert!(!run.ok());
    assert!(
        run.everything().contains("code storage in this region is full (75 GB by default, shared by every function): delete old versions with keep-versions"),
        "{}",
        run.everything()
    );
    assert_eq!(f.live(), "1");
}

/// The digests moto's ECR holds in `repository`, sorted.
fn ecr_digests(repository: &str) -> Vec<String> {
    block(async {
        let mut d: Vec<String> = support::registry::ecr()
            .list_images()
            .repository_name(repository)
            .send()
            .await
            .expect("list images")
            .image_ids()
            .iter()
            .filter_map(|i| i.image_digest().map(str::to_string))
            .collect();
        d.sort();
        d.dedup();
        d
    })
}

/// The digest of the image version `qualifier` runs, read from its ResolvedImageUri (the
/// emulator answers every version with `$LATEST`'s ImageUri, but resolves each one's own).
fn image_digest(name: &str, qualifier: &str) -> String {
    block(async {
        let f = support::lambda()
            .get_function()
            .function_name(name)
            .qualifier(qualifier)
            .send()
            .await
            .expect("get function");
        let uri = f
            .code()
            .and_then(|c| c.resolved_image_uri())
            .unwrap_or_default();
        uri.rsplit_once('@')
            .map(|(_, d)| d.to_string())
            .unwrap_or_default()
    })
}

#[test]
fn keep_versions_deletes_the_images_only_deleted_versions_ran() {
    use support::image::{base_index, base_ref, build_inputs};
    let name = unique("pruneimg");
    let dir = example_copy("python-hello");
    let (base_repo, _) = base_index();
    let endpoint = format!("http://{}", support::registry::addr());
    let base = base_ref(&endpoint, &base_repo, "al2023");
    let role = role();
    let d = path_str(dir.path());
    let inputs = build_inputs(&name, &d, &role, &base, &endpoint);
    let image_deploy = |n: u64, more: &[(&str, &str)], lambda: &[(&'static str, &str)]| {
        fs::write(dir.path().join("commit.txt"), n.to_string()).expect("write");
        let env = push(n, 900 + n);
        let mut all_env = refs(&env);
        all_env.extend_from_slice(lambda);
        let mut all = inputs.clone();
        all.extend_from_slice(more);
        let run = deploy(&all, &all_env, &[]);
        run.assert_ok();
        run
    };
    for n in 1..=3 {
        image_deploy(n, &[], &[]);
    }
    let digests: Vec<String> = ["1", "2", "3"]
        .iter()
        .map(|v| image_digest(&name, v))
        .collect();
    let mut distinct = digests.clone();
    distinct.sort();
    assert_eq!(ecr_digests(&name), distinct, "one image per deploy");
    let base_images = ecr_digests(&base_repo);
    route(&name, "stable", "1", &[]);

    // The fourth deploy keeps the newest version and the one `stable` pins.
    let proxy = FaultProxy::for_lambda();
    provisioned(&proxy, &name, &[]);
    let fourth = image_deploy(
        4,
        &[("keep-versions", "1")],
        &[("AWS_ENDPOINT_URL_LAMBDA", proxy.url.as_str())],
    );
    assert_eq!(fourth.out("status"), "deployed");
    let versions: Vec<String> = {
        let mut v: Vec<String> = snapshot(&name)
            .versions
            .into_iter()
            .filter(|v| v != "$LATEST")
            .collect();
        v.sort();
        v
    };
    assert_eq!(versions, ["1", "4"]);
    let mut left = vec![digests[0].clone(), image_digest(&name, "4")];
    left.sort();
    assert_eq!(ecr_digests(&name), left, "only 2's and 3's images go");
    assert_eq!(ecr_digests(&base_repo), base_images, "another repository");
    assert!(
        fourth.summary.contains("ECR images deleted:")
            && fourth.summary.contains(&digests[1])
            && fourth.summary.contains(&digests[2]),
        "{}",
        fourth.summary
    );
}

/// The versions of layer `name` the emulator holds, oldest first.
fn layer_versions(name: &str) -> Vec<i64> {
    block(async {
        let mut v: Vec<i64> = support::lambda()
            .list_layer_versions()
            .layer_name(name)
            .send()
            .await
            .expect("list layer versions")
            .layer_versions()
            .iter()
            .map(|l| l.version())
            .collect();
        v.sort();
        v
    })
}

/// Publishes a version of layer `name` by hand (not through lambda-deploy).
fn publish_by_hand(name: &str) {
    let zip = fs::read(support::manifest_dir().join("tests/fixtures/hello.zip"))
        .unwrap_or_else(|_| b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0".to_vec());
    block(async {
        support::lambda()
            .publish_layer_version()
            .layer_name(name)
            .description("published by hand")
            .content(
                aws_sdk_lambda::types::LayerVersionContentInput::builder()
                    .zip_file(zip.into())
                    .build(),
            )
            .send()
            .await
            .expect("publish layer version");
    });
}

#[test]
fn prune_deletes_the_layer_versions_nothing_kept_attaches_beyond_the_newest() {
    let f = Fixture::new("prunelayer");
    let layer = unique("deps");
    let unrelated = unique("shared");
    for _ in 0..3 {
        publish_by_hand(&unrelated);
    }
    let layer_dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(layer_dir.path().join("python")).expect("mkdir");
    let dirs = format!("{layer}={}", path_str(layer_dir.path()));
    for n in 1..=4 {
        fs::write(layer_dir.path().join("python/v.txt"), n.to_string()).expect("write");
        f.deploy(n, 800 + n, &[("layer-dirs", dirs.as_str())]);
    }
    assert_eq!(layer_versions(&layer), [1, 2, 3, 4]);
    // Version 1 (with layer version 1) stays through an alias; 5 is published by hand.
    route(&f.name, "stable", "1", &[]);
    publish_by_hand(&layer);

    let proxy = FaultProxy::for_lambda();
    provisioned(&proxy, &f.name, &[]);
    let lambda_env = [("AWS_ENDPOINT_URL_LAMBDA", proxy.url.as_str())];
    let mut inputs = vec![("keep-versions", "2"), ("layer-dirs", dirs.as_str())];
    inputs.push(("dry-run", "true"));
    let dry = f.command("prune", 810, &inputs, &lambda_env);
    dry.assert_ok();
    let two = format!("arn:aws:lambda:us-east-1:123456789012:layer:{layer}:2");
    assert!(
        dry.stdout()
            .contains(&format!("would delete layer version {two}")),
        "{}",
        dry.stdout()
    );
    assert_eq!(
        layer_versions(&layer),
        [1, 2, 3, 4, 5],
        "a dry run deletes nothing"
    );
    inputs.pop();
    let real = f.command("prune", 811, &inputs, &lambda_env);
    real.assert_ok();
    assert_eq!(f.versions(), ["1", "3", "4"]);
    // 5 and 4 are the newest two, 3 and 1 are attached by kept versions.
    assert_eq!(layer_versions(&layer), [1, 3, 4, 5]);
    assert_eq!(layer_versions(&unrelated), [1, 2, 3]);
    assert!(
        real.summary.contains("Layer versions deleted:") && real.summary.contains(&two),
        "{}",
        real.summary
    );
}

/// A function of its own, created outside lambda-deploy, running `image` (by digest).
fn create_image_function(name: &str, image: &str) {
    block(async {
        support::lambda()
            .create_function()
            .function_name(name)
            .role(role())
            .package_type(aws_sdk_lambda::types::PackageType::Image)
            .code(
                aws_sdk_lambda::types::FunctionCode::builder()
                    .image_uri(image)
                    .build(),
            )
            .publish(true)
            .send()
            .await
            .expect("create function");
    });
}

/// Deleting an image another function runs would break that function's next cold start:
/// it stays in ECR, and the dry run and the summary name the function that keeps it.
#[test]
fn an_image_another_function_runs_survives_pruning_of_the_one_that_pushed_it() {
    use support::image::{base_index, base_ref, build_inputs, function_image};
    let name = unique("shareimg");
    let twin = unique("twinimg");
    let dir = example_copy("python-hello");
    let (base_repo, _) = base_index();
    let endpoint = format!("http://{}", support::registry::addr());
    let base = base_ref(&endpoint, &base_repo, "al2023");
    let role = role();
    let d = path_str(dir.path());
    let inputs = build_inputs(&name, &d, &role, &base, &endpoint);
    for n in 1..=3 {
        fs::write(dir.path().join("commit.txt"), n.to_string()).expect("write");
        let env = push(n, 950 + n);
        deploy(&inputs, &refs(&env), &[]).assert_ok();
    }
    let digests: Vec<String> = ["1", "2", "3"]
        .iter()
        .map(|v| image_digest(&name, v))
        .collect();
    let (_, _, uri) = function_image(&name);
    let repository = uri.split('@').next().unwrap_or_default();
    create_image_function(&twin, &format!("{repository}@{}", digests[0]));
    assert_eq!(
        image_digest(&twin, "1"),
        digests[0],
        "the twin runs 1's image"
    );

    let proxy = FaultProxy::for_lambda();
    provisioned(&proxy, &name, &[]);
    let lambda_env = [("AWS_ENDPOINT_URL_LAMBDA", proxy.url.as_str())];
    let prune = |dry_run: &str| {
        let ctx = push(999, 990);
        let mut env = refs(&ctx);
        env.extend_from_slice(&lambda_env);
        let inputs = [
            ("function-name", name.as_str()),
            ("command", "prune"),
            ("keep-versions", "1"),
            ("dry-run", dry_run),
        ];
        let run = deploy(&inputs, &env, &[]);
        run.assert_ok();
        run
    };
    let all = ecr_digests(&name);
    let dry = prune("true");
    assert_eq!(ecr_digests(&name), all, "a dry run deletes nothing");
    let kept_line = format!("(run by `{twin}:");
    assert!(dry.summary.contains(&kept_line), "{}", dry.summary);

    let run = prune("false");
    assert_eq!(run.out("status"), "pruned");
    let mut left = vec![digests[0].clone(), digests[2].clone()];
    left.sort();
    assert_eq!(
        ecr_digests(&name),
        left,
        "only 2's image goes; 1's is the twin's"
    );
    assert!(
        run.summary
            .contains("ECR images kept, another function runs them:")
            && run.summary.contains(&digests[0])
            && run.summary.contains(&kept_line),
        "{}",
        run.summary
    );
    assert_eq!(image_digest(&twin, "1"), digests[0]);
}

/// A pull request as `GET /repos/{owner}/{repo}/pulls/{number}` answers (trimmed to the
/// documented fields around its state).
fn pull_request(number: u64, state: &str, merged: bool) -> serde_json::Value {
    use support::github::OWNER_REPO;
    json!({
        "url": format!("https://api.github.com/repos/{OWNER_REPO}/pulls/{number}"),
        "id": 1000 + number, "node_id": format!("PR_kwDOA{number}"),
        "html_url": format!("https://github.com/{OWNER_REPO}/pull/{number}"),
        "number": number, "state": state, "locked": false, "title": "Change",
        "user": support::github::user(), "body": null,
        "created_at": "2025-03-15T08:00:00Z", "updated_at": "2025-03-16T08:00:00Z",
        "closed_at": if state == "closed" { json!("2025-03-16T08:00:00Z") } else { json!(null) },
        "merged_at": if merged { json!("2025-03-16T08:00:00Z") } else { json!(null) },
        "merged": merged, "draft": false,
        "head": {"ref": format!("feature-{number}"), "sha": "0123456789abcdef0123456789abcdef01234567"},
        "base": {"ref": "main", "sha": "89abcdef0123456789abcdef0123456789abcdef"}
    })
}

fn exists(function: &str) -> bool {
    block(async {
        support::lambda()
            .get_function()
            .function_name(function)
            .send()
            .await
            .is_ok()
    })
}

/// Three functions named as `f`'s previews 1 to 3; the first two tagged as its previews,
/// the third not (a function of the same name that lambda-deploy did not create).
fn previews_of(f: &Fixture) -> Vec<String> {
    let tag = format!("lambda-deploy:preview-of={}", f.name);
    let previews: Vec<String> = (1..=3).map(|n| format!("{}-pr-{n}", f.name)).collect();
    for (preview, tags) in previews
        .iter()
        .zip([tag.as_str(), tag.as_str(), "team=web"])
    {
        let d = path_str(f.dir.path());
        let inputs = [
            ("function-name", preview.as_str()),
            ("source-dir", d.as_str()),
            ("runtime", "python3.12"),
            ("handler", "app.handler"),
            ("role", f.role.as_str()),
            ("tags", tags),
        ];
        deploy(&inputs, &refs(&push(2, 802)), &[]).assert_ok();
    }
    previews
}

/// GitHub with pull request 1 closed, 2 open and 3 merged.
fn github_with_pulls() -> support::github::FakeGitHub {
    use support::github::OWNER_REPO;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let github = support::github::FakeGitHub::start();
    for (n, state, merged) in [
        (1, "closed", false),
        (2, "open", false),
        (3, "closed", true),
    ] {
        github.mount(
            Mock::given(method("GET"))
                .and(path(format!("/repos/{OWNER_REPO}/pulls/{n}")))
                .respond_with(
                    ResponseTemplate::new(200).set_body_json(pull_request(n, state, merged)),
                ),
        );
    }
    github
}

/// `::add-mask::` is the one line allowed to hold the token: it tells the runner to hide it.
fn assert_no_token(runs: &[&Run]) {
    for r in runs {
        let text = r.everything();
        let leaked = text
            .lines()
            .any(|l| !l.starts_with("::add-mask::") && l.contains(support::github::TOKEN));
        assert!(!leaked, "the token leaked:\n{text}");
    }
}

/// GitHub was asked, with the token, about pull requests 1 and 2 only: 3's function is
/// not tagged as a preview.
fn assert_asked_once_per_tagged_preview(github: &support::github::FakeGitHub) {
    use support::github::{OWNER_REPO, TOKEN};
    let seen = github.received();
    let asked: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
    let expected = [1, 2].map(|n| format!("/repos/{OWNER_REPO}/pulls/{n}"));
    assert_eq!(asked, expected, "only the tagged previews' pull requests");
    let bearer = format!("Bearer {TOKEN}");
    assert!(
        seen.iter()
            .all(|s| s.authorization.as_deref() == Some(bearer.as_str())),
        "the token authenticates every request"
    );
}

/// A close whose run failed or never ran leaves the preview behind: prune asks GitHub
/// for each preview's pull request and removes those of closed ones, never a function
/// that is not tagged as this function's preview.
#[test]
fn prune_deletes_the_previews_of_closed_pull_requests_and_keeps_open_ones() {
    use support::github::{OWNER_REPO, TOKEN};
    let f = Fixture::new("prunepr");
    f.deploy(1, 801, &[]);
    let previews = previews_of(&f);
    let github = github_with_pulls();
    let proxy = FaultProxy::for_lambda();
    provisioned(&proxy, &f.name, &[]);
    let uri = github.uri();
    let env = [
        ("AWS_ENDPOINT_URL_LAMBDA", proxy.url.as_str()),
        ("GITHUB_API_URL", uri.as_str()),
        ("GITHUB_REPOSITORY", OWNER_REPO),
    ];
    let everything = |p: &[String]| p.iter().map(|n| exists(n)).collect::<Vec<bool>>();

    let no_token = f.command("prune", 803, &[("keep-versions", "5")], &env);
    no_token.assert_ok();
    assert!(
        no_token.everything().contains(
            "preview functions were not checked for closed pull requests: no github-token was given"
        ),
        "{}",
        no_token.everything()
    );
    assert_eq!(everything(&previews), [true, true, true]);
    assert!(github.received().is_empty());

    let token = [("keep-versions", "5"), ("github-token", TOKEN)];
    let dry = f.command(
        "prune",
        804,
        &[token[0], token[1], ("dry-run", "true")],
        &env,
    );
    dry.assert_ok();
    assert_eq!(
        everything(&previews),
        [true, true, true],
        "a dry run deletes nothing"
    );
    assert!(
        dry.summary.contains(&format!(
            "Preview functions to delete: `{}` (#1 closed)",
            previews[0]
        )),
        "{}",
        dry.summary
    );
    assert_asked_once_per_tagged_preview(&github);

    let run = f.command("prune", 805, &token, &env);
    run.assert_ok();
    assert_eq!(run.out("status"), "pruned");
    assert_eq!(everything(&previews), [false, true, true]);
    assert!(exists(&f.name), "the production function stays");
    assert!(
        run.summary.contains(&format!(
            "Preview functions deleted: `{}` (#1 closed)",
            previews[0]
        )) && run.summary.contains(&format!(
            "Preview functions kept (pull request open): `{}` (#2 open)",
            previews[1]
        )),
        "{}",
        run.summary
    );
    assert_no_token(&[&no_token, &dry, &run]);
}
