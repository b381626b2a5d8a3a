//! Five minutes to the first deploy, on an empty emulated account: `bootstrap`, then
//! `init`, then the generated workflow's lambda-deploy step, run as the runner runs it
//! (`INPUT_*` from its `with:` with the repository variables bootstrap printed, and
//! action.yml's defaults) with the deploy role's credentials from
//! AssumeRoleWithWebIdentity, deploys the function with the execution role and moves
//! `live`.
//!
//! What the emulator does not enforce: moto 5.2.5's IAM enforcement (`/moto-api/reset-auth`,
//! as INITIAL_NO_AUTH_ACTION_COUNT) checks IAM and STS calls, but it rejects every Lambda
//! request with SignatureDoesNotMatch, even an allow-all user's (it signs an empty body
//! as form data), and it matches non-S3 actions against Resource `*` only. So the role's
//! Lambda permissions cannot be proven sufficient here; tests/iam_readme.rs instead checks
//! that every AWS SDK operation the code calls is granted by the permission table, and
//! tests/bootstrap.rs checks the resource scoping and trust conditions on the documents.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use support::github::fixture_env;
use support::{block, sdk_config, services, unique};

const REPO: &str = support::github::OWNER_REPO;

/// The test's AWS configuration for this emulator, loaded by aws-config so every client
/// (STS's included, whose crate has no HTTP client of its own here) gets one.
fn sdk(endpoint: &str) -> aws_config::SdkConfig {
    let base = sdk_config();
    block(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(base.region().cloned())
            .credentials_provider(base.credentials_provider().expect("test credentials"))
            .endpoint_url(endpoint)
            .load(),
    )
}

fn bin(endpoint: &str, cwd: &Path, env: &[(String, String)], args: &[&str]) -> Output {
    let home = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lambda-deploy"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", endpoint)
        .current_dir(cwd)
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run lambda-deploy")
}

#[track_caller]
fn assert_ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The `with:` of the lambda-deploy step in `workflow`, with `${{ vars.NAME }}` taken
/// from `vars`, and action.yml's defaults for the inputs it does not give: the
/// `INPUT_<NAME>` variables the runner sets.
fn step_env(workflow: &Path, vars: &BTreeMap<&str, String>) -> Vec<(String, String)> {
    let wf: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(workflow).expect("read workflow"))
            .expect("workflow is YAML");
    let steps = wf["jobs"]["deploy"]["steps"].as_sequence().expect("steps");
    let step = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("lambda-deploy/"))
        })
        .expect("a lambda-deploy step");
    let action: serde_yaml_ng::Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml"))
            .expect("read action.yml"),
    )
    .expect("action.yml is YAML");
    let mut inputs = BTreeMap::new();
    for (name, spec) in action["inputs"].as_mapping().expect("inputs") {
        if let (Some(n), Some(d)) = (name.as_str(), spec["default"].as_str()) {
            let d = if d.contains("${{") {
                "ghs_testToken"
            } else {
                d
            };
            inputs.insert(n.to_string(), d.to_string());
        }
    }
    for (k, v) in step["with"].as_mapping().expect("with") {
        let mut v = v.as_str().unwrap_or_default().to_string();
        for (var, value) in vars {
            v = v.replace(&format!("${{{{ vars.{var} }}}}"), value);
        }
        assert!(!v.contains("${{"), "unresolved expression in {v}");
        inputs.insert(k.as_str().unwrap_or_default().to_string(), v);
    }
    inputs
        .into_iter()
        .map(|(k, v)| (format!("INPUT_{}", k.to_ascii_uppercase()), v))
        .collect()
}

/// The deploy role's credentials, as configure-aws-credentials gets them
/// (AssumeRoleWithWebIdentity), and its region from the workflow.
fn role_env(endpoint: &str, role_arn: &str, region: &str) -> Vec<(String, String)> {
    let sts = aws_sdk_sts::Client::new(&sdk(endpoint));
    let creds = block(async {
        sts.assume_role_with_web_identity()
            .role_arn(role_arn)
            .role_session_name("GitHubActions")
            .web_identity_token("a-github-oidc-token")
            .send()
            .await
            .expect("AssumeRoleWithWebIdentity")
            .credentials
            .expect("credentials")
    });
    vec![
        ("AWS_ACCESS_KEY_ID".into(), creds.access_key_id),
        ("AWS_SECRET_ACCESS_KEY".into(), creds.secret_access_key),
        ("AWS_SESSION_TOKEN".into(), creds.session_token),
        ("AWS_REGION".into(), region.into()),
    ]
}

fn live_code(endpoint: &str, function: &str) -> Option<(String, String)> {
    let lambda = aws_sdk_lambda::Client::new(&sdk(endpoint));
    block(async {
        let f = lambda
            .get_function()
            .function_name(function)
            .send()
            .await
            .ok()?;
        let c = f.configuration?;
        Some((
            c.code_sha256.unwrap_or_default(),
            c.role.unwrap_or_default(),
        ))
    })
}

#[test]
fn bootstrap_init_and_the_generated_step_deploy_with_the_deploy_role() {
    let endpoint = services()["AWS_ENDPOINT_URL"].clone();
    let name = unique("first");
    let repo = tempfile::Builder::new()
        .prefix("hello")
        .tempdir()
        .expect("temp dir");
    let src = repo.path().join("src");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::write(src.join("requirements.txt"), "").expect("write");
    std::fs::write(
        src.join("app.py"),
        "def handler(event, context):\n    return {\"v\": 1}\n",
    )
    .expect("write");
    let admin: Vec<(String, String)> = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"]
        .iter()
        .map(|k| (k.to_string(), services()[*k].clone()))
        .collect();

    let out = bin(
        &endpoint,
        repo.path(),
        &admin,
        &[
            "bootstrap",
            "--repository",
            REPO,
            "--function-name",
            &name,
            "--format",
            "json",
        ],
    );
    let arns: Value = serde_json::from_str(&assert_ok(&out)).expect("JSON");
    let region = services()["AWS_REGION"].clone();
    let out = bin(
        &endpoint,
        repo.path(),
        &[],
        &["init", "--function-name", &name, "--region", &region],
    );
    assert_ok(&out);
    let var = |k: &str| arns[k].as_str().unwrap_or_default().to_string();
    let vars = BTreeMap::from([
        ("AWS_DEPLOY_ROLE_ARN", var("deploy-role-arn")),
        ("LAMBDA_EXECUTION_ROLE_ARN", var("execution-role-arn")),
    ]);
    let workflow = repo.path().join(".github/workflows/deploy.yml");
    let summary = tempfile::NamedTempFile::new().expect("temp file");
    let mut env = step_env(&workflow, &vars);
    env.extend(role_env(&endpoint, &vars["AWS_DEPLOY_ROLE_ARN"], &region));
    env.extend(fixture_env("push-branch.json"));
    env.push((
        "GITHUB_STEP_SUMMARY".into(),
        summary.path().display().to_string(),
    ));
    let out = bin(&endpoint, repo.path(), &env, &[]);
    assert_ok(&out);

    let (_, role) = live_code(&endpoint, &name).expect("the function was created");
    assert_eq!(role, vars["LAMBDA_EXECUTION_ROLE_ARN"]);
    let lambda = aws_sdk_lambda::Client::new(&sdk(&endpoint));
    let live = block(async {
        lambda
            .get_alias()
            .function_name(&name)
            .name("live")
            .send()
            .await
            .expect("alias live")
    });
    assert_eq!(live.function_version(), Some("1"));
}
