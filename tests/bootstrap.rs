//! `lambda-deploy bootstrap` against the emulator's IAM: the OIDC provider, the roles with
//! their exact trust conditions and policies, a second run that changes nothing, a role
//! with other trust conditions left alone without `--force`, and a dry run that creates
//! nothing.

mod support;

use std::process::{Command, Output};

use serde_json::Value;
use support::{block, sdk_config, services, unique};

const HOST: &str = "token.actions.githubusercontent.com";

fn bootstrap(args: &[&str]) -> Output {
    let home = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lambda-deploy"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .arg("bootstrap")
        .args(args);
    for (k, v) in services() {
        cmd.env(k, v);
    }
    cmd.output().expect("run lambda-deploy bootstrap")
}

#[track_caller]
fn ok_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "bootstrap failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn iam() -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&sdk_config())
}

fn decode(doc: &str) -> Value {
    lambda_deploy::aws::iam::decode_document(doc)
}

/// The trust policy and the `lambda-deploy` inline policy of a role, as IAM holds them.
fn role_documents(name: &str) -> Option<(String, Value, Value)> {
    block(async {
        let c = iam();
        let role = c.get_role().role_name(name).send().await.ok()?.role?;
        let policy = c
            .get_role_policy()
            .role_name(name)
            .policy_name("lambda-deploy")
            .send()
            .await
            .expect("GetRolePolicy");
        Some((
            role.arn.clone(),
            decode(role.assume_role_policy_document().unwrap_or("")),
            decode(&policy.policy_document),
        ))
    })
}

fn condition<'a>(trust: &'a Value, op: &str, key: &str) -> &'a Value {
    &trust["Statement"][0]["Condition"][op][format!("{HOST}:{key}")]
}

/// Every Resource string of a policy that names a Lambda function.
fn function_resources(policy: &Value) -> Vec<String> {
    policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["Resource"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r.as_str().map(str::to_string))
        .filter(|r| r.contains(":function:"))
        .collect()
}

fn actions(policy: &Value) -> Vec<String> {
    policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["Action"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect()
}

#[test]
// One scenario read top to bottom: what the first run creates, checked document by
// document, then that a second run changes none of it.
#[allow(clippy::too_many_lines)]
fn bootstrap_twice_creates_exactly_the_roles_then_changes_nothing() {
    let name = unique("boot");
    let repo = format!("octo/{name}");
    let args = [
        "--repository",
        &repo,
        "--function-name",
        &name,
        "--features",
        "image,smoke-test,prune",
        "--format",
        "json",
    ];
    let first = ok_json(&bootstrap(&args));
    assert!(!first["changes"].as_array().expect("changes").is_empty());

    // The provider, with GitHub's audience.
    let provider = first["oidc-provider-arn"].as_str().expect("provider arn");
    assert!(
        provider.ends_with(&format!(":oidc-provider/{HOST}")),
        "{provider}"
    );
    let audiences = block(async {
        iam()
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(provider)
            .send()
            .await
            .expect("provider exists")
            .client_id_list
            .unwrap_or_default()
    });
    assert!(
        audiences.iter().any(|a| a == "sts.amazonaws.com"),
        "{audiences:?}"
    );

    // The deploy role: the default branch and release tags of this repository only.
    let (arn, trust, policy) = role_documents(&format!("{name}-deploy")).expect("deploy role");
    assert_eq!(first["deploy-role-arn"], arn.as_str());
    assert_eq!(trust["Statement"][0]["Principal"]["Federated"], provider);
    assert_eq!(
        trust["Statement"][0]["Action"],
        "sts:AssumeRoleWithWebIdentity"
    );
    assert_eq!(
        condition(&trust, "StringEquals", "aud"),
        "sts.amazonaws.com"
    );
    assert_eq!(
        condition(&trust, "StringLike", "sub"),
        &serde_json::json!([
            format!("repo:{repo}:ref:refs/heads/main"),
            format!("repo:{repo}:ref:refs/tags/v*")
        ])
    );
    let granted = actions(&policy);
    for a in [
        "lambda:UpdateFunctionCode",
        "ecr:PutImage",
        "lambda:InvokeFunction",
        "ecr:BatchDeleteImage",
        "iam:PassRole",
    ] {
        assert!(granted.iter().any(|g| g == a), "{a} missing: {granted:?}");
    }
    for a in [
        "cloudwatch:DescribeAlarms",
        "s3:PutObject",
        "lambda:PublishLayerVersion",
    ] {
        assert!(
            !granted.iter().any(|g| g == a),
            "{a} not asked for: {granted:?}"
        );
    }
    // The function itself, and its previews (prune deletes those of closed pull
    // requests); the one statement on every function only reads which image each runs.
    let own = [
        format!(":function:{name}"),
        format!(":function:{name}:*"),
        format!(":function:{name}-pr-*"),
        format!(":function:{name}-pr-*:*"),
    ];
    for s in policy["Statement"].as_array().into_iter().flatten() {
        let resources: Vec<&str> = s["Resource"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|r| r.contains(":function:"))
            .collect();
        let anywhere = resources
            .iter()
            .any(|r| !own.iter().any(|o| r.ends_with(o.as_str())));
        if anywhere {
            assert_eq!(s["Sid"], "ReadSharedImages", "{s}");
            assert_eq!(
                s["Action"],
                serde_json::json!(["lambda:GetFunction"]),
                "{s}"
            );
        }
    }
    assert!(!function_resources(&policy).is_empty());

    // The preview role: pull requests only, preview functions only, no pruning.
    let (arn, trust, policy) = role_documents(&format!("{name}-preview")).expect("preview role");
    assert_eq!(first["preview-role-arn"], arn.as_str());
    assert_eq!(
        condition(&trust, "StringEquals", "sub"),
        &serde_json::json!([format!("repo:{repo}:pull_request")])
    );
    assert!(
        trust["Statement"][0]["Condition"]
            .get("StringLike")
            .is_none()
    );
    let resources = function_resources(&policy);
    assert!(!resources.is_empty());
    assert!(
        resources
            .iter()
            .all(|r| r.contains(&format!(":function:{name}-pr-*"))),
        "{resources:?}"
    );
    assert!(
        actions(&policy)
            .iter()
            .any(|a| a == "lambda:DeleteFunction")
    );
    assert!(!actions(&policy).iter().any(|a| a == "ecr:BatchDeleteImage"));

    // The execution role: Lambda may assume it; it may write its logs.
    let (arn, trust, policy) =
        role_documents(&format!("{name}-execution")).expect("execution role");
    assert_eq!(first["execution-role-arn"], arn.as_str());
    assert_eq!(
        trust["Statement"][0]["Principal"]["Service"],
        "lambda.amazonaws.com"
    );
    assert_eq!(
        actions(&policy),
        [
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents"
        ]
    );

    // Second run: nothing to change, same ARNs, same documents.
    let before: Vec<_> = ["deploy", "preview", "execution"]
        .iter()
        .map(|r| role_documents(&format!("{name}-{r}")))
        .collect();
    let second = ok_json(&bootstrap(&args));
    assert_eq!(second["changes"], serde_json::json!([]));
    for k in [
        "oidc-provider-arn",
        "deploy-role-arn",
        "preview-role-arn",
        "execution-role-arn",
    ] {
        assert_eq!(first[k], second[k], "{k}");
    }
    let after: Vec<_> = ["deploy", "preview", "execution"]
        .iter()
        .map(|r| role_documents(&format!("{name}-{r}")))
        .collect();
    assert_eq!(before, after);
    let text = bootstrap(&args[..6]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("nothing to change"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "gh variable set AWS_DEPLOY_ROLE_ARN --body {}",
            first["deploy-role-arn"].as_str().unwrap_or_default()
        )),
        "{stdout}"
    );
}

#[test]
fn a_role_with_other_trust_is_reported_and_kept_unless_forced() {
    let name = unique("bootconf");
    let repo = format!("octo/{name}");
    let args = [
        "--repository",
        repo.as_str(),
        "--function-name",
        name.as_str(),
        "--format",
        "json",
    ];
    ok_json(&bootstrap(&args));
    let role = format!("{name}-deploy");
    let (_, mut trust, _) = role_documents(&role).expect("deploy role");
    trust["Statement"][0]["Condition"]["StringLike"][format!("{HOST}:sub")] =
        serde_json::json!(["repo:octo/other:*"]);
    block(async {
        iam()
            .update_assume_role_policy()
            .role_name(&role)
            .policy_document(trust.to_string())
            .send()
            .await
            .expect("UpdateAssumeRolePolicy")
    });

    let refused = bootstrap(&args);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("role {role} exists with other trust conditions")),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    let (_, kept, _) = role_documents(&role).expect("deploy role");
    assert_eq!(kept, trust, "the trust policy was changed without --force");

    let mut forced: Vec<&str> = args.to_vec();
    forced.push("--force");
    let out = ok_json(&bootstrap(&forced));
    assert!(
        out["changes"]
            .to_string()
            .contains("replace the trust policy"),
        "{out}"
    );
    let (_, restored, _) = role_documents(&role).expect("deploy role");
    assert_eq!(
        condition(&restored, "StringLike", "sub"),
        &serde_json::json!([
            format!("repo:{repo}:ref:refs/heads/main"),
            format!("repo:{repo}:ref:refs/tags/v*")
        ])
    );
}

#[test]
fn dry_run_prints_every_document_and_creates_nothing() {
    let name = unique("bootdry");
    let repo = format!("octo/{name}");
    let out = bootstrap(&[
        "--repository",
        &repo,
        "--function-name",
        &name,
        "--features",
        "traffic-shift",
        "--dry-run",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    for r in ["deploy", "preview", "execution"] {
        assert!(
            stdout.contains(&format!("role {name}-{r}: trust policy")),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!("would: create role {name}-{r}")),
            "{stdout}"
        );
        assert!(
            role_documents(&format!("{name}-{r}")).is_none(),
            "{r} role was created"
        );
    }
    assert!(stdout.contains("cloudwatch:DescribeAlarms"), "{stdout}");

    let json = ok_json(&bootstrap(&[
        "--repository",
        &repo,
        "--function-name",
        &name,
        "--dry-run",
        "--format",
        "json",
    ]));
    let documents = json["documents"]
        .as_array()
        .expect("documents on a dry run");
    assert_eq!(documents.len(), 3);
    assert_eq!(documents[1]["name"], format!("{name}-deploy"));
    assert_eq!(
        documents[1]["trust"]["Statement"][0]["Action"],
        "sts:AssumeRoleWithWebIdentity"
    );
    assert!(role_documents(&format!("{name}-deploy")).is_none());
}

#[test]
fn bad_flags_are_one_error_before_any_aws_call() {
    let out = Command::new(env!("CARGO_BIN_EXE_lambda-deploy"))
        .env_clear()
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .args([
            "bootstrap",
            "--repository",
            "octo/x",
            "--function-name",
            "x",
            "--features",
            "s3,ftp",
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim(),
        "error: --features: 'ftp' is not a feature; use any of: deploy, s3, image, layers, function-url, smoke-test, preview, traffic-shift, prune"
    );
}
