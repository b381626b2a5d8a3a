//! `lambda-deploy init` writes deploy.yml and preview.yml that actionlint accepts, prints
//! every guess, takes flags over guesses, and overwrites nothing without `--force`.

use std::path::Path;
use std::process::{Command, Output};

fn init(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lambda-deploy"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(root)
        .arg("init")
        .args(args)
        .output()
        .expect("run lambda-deploy init")
}

fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("orders-api")
        .tempdir()
        .expect("temp dir");
    for (f, text) in files {
        let p = dir.path().join(f);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    dir
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// Runs the project's actionlint (installed from PyPI by scripts/check-workflows.sh).
#[track_caller]
fn actionlint(files: &[&Path]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check-workflows.sh");
    let out = Command::new("bash")
        .arg(script)
        .args(files)
        .output()
        .expect("run check-workflows.sh");
    assert!(
        out.status.success(),
        "actionlint found problems:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn init_writes_workflows_that_pass_actionlint_and_prints_its_guesses() {
    let root = repo(&[
        ("src/requirements.txt", "requests\n"),
        ("src/app.py", "def handler(event, context):\n    return 1\n"),
    ]);
    let out = init(root.path(), &["--region", "eu-west-1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in [
        "source-dir: src (src/ holds the function's code; change with --source-dir)",
        "runtime: python3.13 (found requirements.txt; change with --runtime)",
        "handler: app.handler (found requirements.txt; change with --handler)",
        "region: eu-west-1 (given; change with --region)",
    ] {
        assert!(stdout.contains(line), "{line}\n{stdout}");
    }
    let wf = root.path().join(".github/workflows");
    let (deploy, preview) = (wf.join("deploy.yml"), wf.join("preview.yml"));
    actionlint(&[&deploy, &preview]);

    let d: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&read(&deploy)).expect("deploy.yml is YAML");
    assert_eq!(d["on"]["push"]["branches"][0], "main");
    assert_eq!(d["on"]["push"]["tags"][0], "v*");
    let steps = &d["jobs"]["deploy"]["steps"];
    assert_eq!(
        steps[1]["with"]["role-to-assume"],
        "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    );
    assert_eq!(steps[1]["with"]["aws-region"], "eu-west-1");
    let with = &steps[2]["with"];
    assert_eq!(with["source-dir"], "src");
    assert_eq!(with["runtime"], "python3.13");
    assert_eq!(with["handler"], "app.handler");
    assert_eq!(with["role"], "${{ vars.LAMBDA_EXECUTION_ROLE_ARN }}");
    assert!(
        with["function-name"]
            .as_str()
            .is_some_and(|n| n.starts_with("orders-api"))
    );

    let p: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&read(&preview)).expect("preview.yml is YAML");
    assert!(p["on"].get("pull_request").is_some());
    assert!(p["on"].get("pull_request_target").is_none());
    assert_eq!(
        p["jobs"]["preview"]["if"],
        "${{ !github.event.pull_request.head.repo.fork }}"
    );
    assert_eq!(
        p["jobs"]["preview"]["steps"][1]["with"]["role-to-assume"],
        "${{ vars.AWS_PREVIEW_ROLE_ARN }}"
    );
    assert_eq!(p["jobs"]["preview"]["steps"][2]["with"]["preview"], "auto");
}

#[test]
fn flags_win_over_guesses_and_nothing_is_overwritten_without_force() {
    let root = repo(&[
        ("package.json", "{}"),
        ("index.mjs", "export const handler = async () => 1;\n"),
    ]);
    let out = init(
        root.path(),
        &["--function-name", "web", "--handler", "index.main"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deploy = root.path().join(".github/workflows/deploy.yml");
    let text = read(&deploy);
    assert!(text.contains("function-name: web\n"), "{text}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("lambda-deploy bootstrap --repository OWNER/NAME --function-name web`"),
        "{stdout}"
    );
    assert!(text.contains("runtime: nodejs22.x\n"), "{text}");
    assert!(text.contains("handler: index.main\n"), "{text}");
    actionlint(&[&deploy]);

    std::fs::write(&deploy, "mine\n").expect("write");
    let again = init(root.path(), &[]);
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("deploy.yml exists; nothing was written"),
        "{err}"
    );
    assert_eq!(read(&deploy), "mine\n");

    let forced = init(root.path(), &["--force", "--function-name", "web"]);
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    assert!(read(&deploy).contains("function-name: web\n"));
}

#[test]
fn a_rust_tree_gets_provided_al2023_and_passes_actionlint() {
    let root = repo(&[("Cargo.toml", "[package]\nname = \"x\"\n")]);
    let out = init(root.path(), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("runtime: provided.al2023 (found Cargo.toml"),
        "{stdout}"
    );
    let wf = root.path().join(".github/workflows");
    actionlint(&[&wf.join("deploy.yml"), &wf.join("preview.yml")]);
}
