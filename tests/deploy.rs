//! Zip deploys end to end: the real binary against the local AWS emulator, asserting on
//! what Lambda holds afterwards.

mod support;

use std::fs;

use support::{Run, deploy, example_copy, path_str, role, snapshot, touch_all, unique};

fn create_inputs<'a>(name: &'a str, dir: &'a str, role: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("function-name", name),
        ("source-dir", dir),
        ("runtime", "python3.12"),
        ("handler", "app.handler"),
        ("role", role),
        ("alias", "live"),
    ]
}

fn first_deploy(prefix: &str) -> (String, tempfile::TempDir, Run) {
    let name = unique(prefix);
    let dir = example_copy("python-hello");
    let role = role();
    let run = deploy(
        &create_inputs(&name, &path_str(dir.path()), &role),
        &[],
        &[],
    );
    run.assert_ok();
    (name, dir, run)
}

#[test]
fn create_makes_function_version_alias_outputs_and_summary() {
    let name = unique("create");
    let dir = example_copy("python-hello");
    let role = role();
    let d = path_str(dir.path());
    let mut inputs = create_inputs(&name, &d, &role);
    inputs.extend([
        ("tags", "team=platform\nservice=hello"),
        ("memory-size", "256"),
        ("environment", "GREETING=hi"),
    ]);
    let run = deploy(&inputs, &[], &[]);
    run.assert_ok();

    let s = snapshot(&name);
    assert!(s.exists);
    assert_eq!(s.runtime.as_deref(), Some("python3.12"));
    assert_eq!(s.handler.as_deref(), Some("app.handler"));
    assert_eq!(s.memory_size, Some(256));
    assert_eq!(
        s.environment.get("GREETING").map(String::as_str),
        Some("hi")
    );
    assert_eq!(s.tags.get("team").map(String::as_str), Some("platform"));
    assert_eq!(s.aliases.get("live").map(String::as_str), Some("1"));
    assert!(s.versions.contains(&"1".to_string()), "{:?}", s.versions);

    assert_eq!(run.out("status"), "deployed");
    assert_eq!(run.out("version"), "1");
    assert_eq!(run.out("aliases"), "live");
    assert_eq!(run.out("code-changed"), "true");
    assert_eq!(run.out("code-sha256"), s.code_sha256);
    assert!(
        run.out("function-arn")
            .ends_with(&format!(":function:{name}")),
        "{}",
        run.out("function-arn")
    );
    assert!(
        run.summary
            .contains(&format!("`{name}` created and deployed")),
        "{}",
        run.summary
    );
    assert!(
        run.summary.contains("| `live` | (created) | `1` |"),
        "{}",
        run.summary
    );
}

#[test]
fn untouched_tree_with_new_mtimes_is_unchanged_and_publishes_nothing() {
    let (name, dir, first) = first_deploy("unchanged");
    let before = snapshot(&name);
    touch_all(dir.path(), 1_000_000_000);
    let role = role();
    let run = deploy(
        &create_inputs(&name, &path_str(dir.path()), &role),
        &[],
        &[],
    );
    run.assert_ok();
    assert_eq!(run.out("status"), "unchanged");
    assert_eq!(run.out("code-changed"), "false");
    assert_eq!(run.out("version"), first.out("version"));
    assert_eq!(run.out("code-sha256"), first.out("code-sha256"));
    assert_eq!(
        snapshot(&name),
        before,
        "an unchanged deploy must not change anything"
    );
    assert!(run.summary.contains("unchanged"), "{}", run.summary);
}

#[test]
fn changed_file_publishes_a_new_version_and_moves_the_alias() {
    let (name, dir, first) = first_deploy("changed");
    fs::write(
        dir.path().join("app.py"),
        "def handler(event, context):\n    return 'v2'\n",
    )
    .expect("write");
    let role = role();
    let run = deploy(
        &create_inputs(&name, &path_str(dir.path()), &role),
        &[],
        &[],
    );
    run.assert_ok();
    let s = snapshot(&name);
    assert_eq!(run.out("status"), "deployed");
    assert_eq!(run.out("code-changed"), "true");
    assert_ne!(run.out("code-sha256"), first.out("code-sha256"));
    assert_eq!(s.code_sha256, run.out("code-sha256"));
    assert_eq!(run.out("version"), "2");
    assert_eq!(s.aliases.get("live").map(String::as_str), Some("2"));
    assert!(
        run.summary.contains("| `live` | `1` | `2` |"),
        "{}",
        run.summary
    );
}

#[test]
fn config_only_change_updates_fields_given_and_keeps_the_rest() {
    let name = unique("config");
    let dir = example_copy("python-hello");
    let role = role();
    let d = path_str(dir.path());
    let mut inputs = create_inputs(&name, &d, &role);
    inputs.extend([("environment", "KEEP=1\nCHANGE=old"), ("timeout", "10")]);
    deploy(&inputs, &[], &[]).assert_ok();
    let before = snapshot(&name);

    // Only function-name and source-dir, plus the changes: no runtime, handler or role.
    let run = deploy(
        &[
            ("function-name", &name),
            ("source-dir", &d),
            ("memory-size", "512"),
            ("environment", "CHANGE=s3cr3t-value\nADD=2"),
            ("alias", "live"),
        ],
        &[],
        &[],
    );
    run.assert_ok();
    let s = snapshot(&name);
    assert_eq!(run.out("code-changed"), "false");
    assert_eq!(run.out("status"), "deployed");
    assert_eq!(s.code_sha256, before.code_sha256);
    assert_eq!(s.memory_size, Some(512));
    assert_eq!(s.timeout, Some(10), "a field not given must stay as it is");
    assert_eq!(
        s.runtime.as_deref(),
        Some("python3.12"),
        "no default runtime may reach an existing function"
    );
    assert_eq!(s.handler.as_deref(), Some("app.handler"));
    let env: Vec<(&str, &str)> = s
        .environment
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        env,
        vec![("ADD", "2"), ("CHANGE", "s3cr3t-value"), ("KEEP", "1")],
        "environment merges by default"
    );
    assert_eq!(s.aliases.get("live").map(String::as_str), Some("2"));
    assert!(
        run.summary.contains("| memory-size | `128` | `512` |"),
        "{}",
        run.summary
    );
    let outputs: Vec<String> = run
        .outputs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for (place, text) in [
        ("stdout", run.stdout()),
        ("stderr", run.stderr()),
        ("outputs", outputs.join("\n")),
        ("summary", run.summary.clone()),
    ] {
        assert!(
            !text.contains("s3cr3t-value"),
            "environment values must not reach the {place}:\n{text}"
        );
    }

    let run = deploy(
        &[
            ("function-name", &name),
            ("source-dir", &d),
            ("environment", "ONLY=1"),
            ("environment-mode", "replace"),
        ],
        &[],
        &[],
    );
    run.assert_ok();
    let s = snapshot(&name);
    assert_eq!(
        s.environment.keys().cloned().collect::<Vec<_>>(),
        vec!["ONLY".to_string()]
    );
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let name = unique("dry");
    let dir = example_copy("python-hello");
    let role = role();
    let d = path_str(dir.path());
    let run = deploy(
        &create_inputs(&name, &d, &role),
        &[],
        &["--dry-run", "true", "--format", "json"],
    );
    run.assert_ok();
    assert!(
        !snapshot(&name).exists,
        "a dry run must not create the function"
    );
    let json: serde_json::Value = serde_json::from_str(&run.stdout()).expect("json on stdout");
    assert_eq!(json["status"], "planned");
    assert_eq!(json["plan"]["action"], "create");
    assert_eq!(run.out("status"), "planned");

    deploy(&create_inputs(&name, &d, &role), &[], &[]).assert_ok();
    let before = snapshot(&name);
    fs::write(dir.path().join("extra.txt"), "more").expect("write");
    let run = deploy(
        &create_inputs(&name, &d, &role),
        &[("INPUT_DRY-RUN", "true")],
        &["--memory-size", "1024"],
    );
    run.assert_ok();
    assert!(
        run.stdout().contains("memory-size: 128 -> 1024"),
        "{}",
        run.stdout()
    );
    assert!(
        run.stdout().contains("alias live: 1 -> new version"),
        "{}",
        run.stdout()
    );
    assert_eq!(
        snapshot(&name),
        before,
        "a dry run must not change the function"
    );
}

/// `publish: false` on a function that has versions and an alias: the new code reaches
/// `$LATEST` only; no version is published and no alias moves.
/// The plan in the log is one event a line: the log writer keeps every event on one line
/// (so no text can start a workflow command), which made a multi-line plan one long line
/// with `\n` in it.
#[test]
fn the_plan_in_the_log_reads_line_by_line() {
    let name = unique("plan-log");
    let dir = example_copy("python-hello");
    let role = role();
    let d = path_str(dir.path());
    let run = deploy(
        &create_inputs(&name, &d, &role),
        &[],
        &["--dry-run", "true"],
    );
    run.assert_ok();
    let log = run.stderr();
    assert!(
        !log.contains("\\n"),
        "an event with an escaped line break: {log}"
    );
    let plan_lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(&format!("plan for function {name}")) || l.contains("  runtime: "))
        .collect();
    assert_eq!(plan_lines.len(), 2, "{log}");
    assert!(
        plan_lines
            .iter()
            .all(|l| l.trim_start().starts_with("INFO")),
        "{log}"
    );
}

#[test]
fn publish_false_updates_latest_without_a_version() {
    let (name, dir, first) = first_deploy("nopublish");
    let before = snapshot(&name);
    fs::write(
        dir.path().join("app.py"),
        "def handler(event, context):\n    return 'unpublished'\n",
    )
    .expect("write");
    let role = role();
    let d = path_str(dir.path());
    let mut inputs = create_inputs(&name, &d, &role);
    // An alias needs a published version: the run names none.
    inputs.retain(|(k, _)| *k != "alias");
    inputs.push(("publish", "false"));
    let run = deploy(&inputs, &[], &[]);
    run.assert_ok();
    assert_eq!(run.out("version"), "$LATEST");
    assert_eq!(run.out("code-changed"), "true");
    let s = snapshot(&name);
    assert_ne!(run.out("code-sha256"), first.out("code-sha256"));
    assert_eq!(
        s.code_sha256,
        run.out("code-sha256"),
        "$LATEST holds the new code"
    );
    assert_eq!(s.versions, before.versions, "no version was published");
    assert_eq!(s.versions, vec!["$LATEST", "1"]);
    assert_eq!(s.aliases, before.aliases, "no alias moved");
    let v1 = support::block(async {
        support::lambda()
            .get_function_configuration()
            .function_name(&name)
            .qualifier("1")
            .send()
            .await
            .expect("version 1")
    });
    assert_eq!(
        v1.code_sha256(),
        Some(first.out("code-sha256")),
        "version 1 keeps its code"
    );
}

#[test]
fn package_once_and_deploy_the_same_bytes_with_zip_file() {
    let dir = example_copy("python-hello");
    let out = tempfile::tempdir().expect("tmp");
    let zip = out.path().join("fn.zip");
    let pkg = std::process::Command::new(env!("CARGO_BIN_EXE_lambda-deploy"))
        .args([
            "package",
            "--source-dir",
            &path_str(dir.path()),
            "--output",
            &path_str(&zip),
            "--format",
            "json",
        ])
        .output()
        .expect("run package");
    assert!(
        pkg.status.success(),
        "{}",
        String::from_utf8_lossy(&pkg.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&pkg.stdout).expect("json");
    let bytes = fs::read(&zip).expect("zip written");
    assert_eq!(printed["size"].as_u64(), Some(bytes.len() as u64));

    let (name, _src, first) = first_deploy("zipfile");
    assert_eq!(
        printed["code_sha256"].as_str(),
        Some(first.out("code-sha256")),
        "package writes the bytes a deploy uploads"
    );
    let z = path_str(&zip);
    let run = deploy(
        &[
            ("function-name", &name),
            ("zip-file", &z),
            ("alias", "live"),
        ],
        &[],
        &[],
    );
    run.assert_ok();
    assert_eq!(
        run.out("status"),
        "unchanged",
        "the same bytes deployed from zip-file change nothing"
    );
}

#[test]
fn creating_without_role_runtime_handler_names_all_three_and_creates_nothing() {
    let name = unique("missing");
    let dir = example_copy("python-hello");
    let d = path_str(dir.path());
    let run = deploy(
        &[("function-name", &name), ("source-dir", &d)],
        &[("GITHUB_ACTIONS", "true")],
        &[],
    );
    assert!(!run.ok());
    assert!(
        run.stdout().contains(&format!(
            "function '{name}' does not exist; to create it, also give: role, runtime, handler"
        )),
        "{}",
        run.stdout()
    );
    assert!(
        run.stdout()
            .contains("::error title=lambda-deploy%3A cannot deploy::function"),
        "an annotation in Actions: {}",
        run.stdout()
    );
    assert!(!snapshot(&name).exists);
}

#[test]
fn release_tag_context_is_recorded_in_the_version_description() {
    let name = unique("provenance");
    let dir = example_copy("python-hello");
    let role = role();
    let fixtures = support::manifest_dir().join("tests/fixtures/events");
    let env_json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(fixtures.join("env.json")).expect("env.json"))
            .expect("json");
    let vars: Vec<(String, String)> = env_json["push-branch.json"]
        .as_object()
        .expect("push-branch entry")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect();
    let event = path_str(&fixtures.join("push-branch.json"));
    let mut extra: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    extra.push(("GITHUB_EVENT_PATH", &event));
    let run = deploy(
        &create_inputs(&name, &path_str(dir.path()), &role),
        &extra,
        &[],
    );
    run.assert_ok();
    let sha = vars
        .iter()
        .find(|(k, _)| k == "GITHUB_SHA")
        .map(|(_, v)| v.clone())
        .expect("sha");
    let desc = support::version_description(&name, run.out("version"));
    assert!(desc.contains(&sha[..7]), "{desc}");
    assert!(desc.contains("/actions/runs/"), "{desc}");
    assert!(run.summary.contains(&sha[..7]), "{}", run.summary);
}
