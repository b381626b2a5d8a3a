//! Release tags and pull request previews end to end: the real binary against the local
//! AWS emulator and a local fake of GitHub's REST API, asserting on what Lambda holds and
//! on the exact requests GitHub received.

mod support;

use std::fs;

use serde_json::Value;
use support::github::{FakeGitHub, OWNER_REPO, Seen, TOKEN, comment, fixture_env};
use support::{Run, deploy, example_copy, lambda, path_str, role, snapshot, unique};

fn env_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Runs the binary as the fixture's event, talking to `github` (if any).
fn run_as(
    fixture: &str,
    inputs: &[(&str, &str)],
    github: Option<&FakeGitHub>,
    overrides: &[(&str, &str)],
) -> Run {
    let mut env = fixture_env(fixture);
    if let Some(g) = github {
        env.push(("GITHUB_API_URL".into(), g.uri()));
    }
    for (k, v) in overrides {
        env.retain(|(key, _)| key != k);
        env.push((k.to_string(), v.to_string()));
    }
    deploy(inputs, &env_refs(&env), &[])
}

fn write_code(dir: &std::path::Path, text: &str) {
    fs::write(
        dir.join("app.py"),
        format!("def handler(event, context):\n    return {text:?}\n"),
    )
    .expect("write");
}

fn assert_no_secret(run: &Run) {
    // `::add-mask::` is the one line allowed to hold it: it tells the runner to hide it.
    for text in [run.stdout(), run.stderr(), run.summary.clone()] {
        for line in text.lines().filter(|l| !l.starts_with("::add-mask::")) {
            assert!(!line.contains(TOKEN), "the token leaked:\n{text}");
        }
    }
}

fn authorized(seen: &[Seen]) {
    for s in seen {
        assert_eq!(
            s.authorization.as_deref(),
            Some(format!("Bearer {TOKEN}").as_str()),
            "{} {} without the token",
            s.method,
            s.path
        );
    }
}

fn calls(seen: &[Seen]) -> Vec<String> {
    seen.iter()
        .map(|s| format!("{} {}", s.method, s.path))
        .collect()
}

fn aliases(name: &str) -> Vec<(String, String)> {
    snapshot(name).aliases.into_iter().collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn base_inputs<'a>(name: &'a str, dir: &'a str, role: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("function-name", name),
        ("source-dir", dir),
        ("runtime", "python3.12"),
        ("handler", "app.handler"),
        ("role", role),
    ]
}

#[test]
fn release_tag_moves_live_and_the_semver_aliases_and_records_the_tag() {
    let github = FakeGitHub::start();
    let name = unique("release");
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    let mut inputs = base_inputs(&name, &d, &role);
    inputs.extend([("alias", "live"), ("github-token", TOKEN)]);
    let run = run_as("push-tag.json", &inputs, Some(&github), &[]);
    run.assert_ok();
    assert_eq!(
        aliases(&name),
        pairs(&[("live", "1"), ("v1", "1"), ("v1-2", "1"), ("v1-2-3", "1")])
    );
    assert_eq!(run.out("aliases"), "live,v1-2-3,v1-2,v1");
    let desc = support::version_description(&name, "1");
    assert!(
        desc.starts_with(
            "v1.2.3 @ 89abcde · https://github.com/octo-org/hello-lambda/actions/runs/8123456702"
        ),
        "{desc}"
    );
    assert!(
        run.summary.contains("**Release `v1.2.3`** → version `1`"),
        "{}",
        run.summary
    );
    assert!(
        run.summary.contains("| `v1` | (created) | `1` |"),
        "{}",
        run.summary
    );
    assert!(
        github.received().is_empty(),
        "a release run is no pull request"
    );
}

#[test]
fn prerelease_tag_moves_only_its_own_alias() {
    let name = unique("prerelease");
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    let inputs = base_inputs(&name, &d, &role);
    run_as("push-tag.json", &inputs, None, &[]).assert_ok();
    write_code(dir.path(), "rc");
    let run = run_as("push-prerelease-tag.json", &inputs, None, &[]);
    run.assert_ok();
    assert_eq!(
        aliases(&name),
        pairs(&[
            ("v1", "1"),
            ("v1-2", "1"),
            ("v1-2-3", "1"),
            ("v2-0-0-rc-1", "2")
        ])
    );
    assert_eq!(run.out("aliases"), "v2-0-0-rc-1");
}

#[test]
fn older_tag_after_a_newer_one_does_not_move_v1_backwards() {
    let name = unique("older");
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    let inputs = base_inputs(&name, &d, &role);
    run_as(
        "push-tag.json",
        &inputs,
        None,
        &[("GITHUB_REF", "refs/tags/v1.3.0")],
    )
    .assert_ok();
    write_code(dir.path(), "patch for 1.2");
    let run = run_as(
        "push-tag.json",
        &inputs,
        None,
        &[("GITHUB_REF", "refs/tags/v1.2.4")],
    );
    run.assert_ok();
    assert_eq!(
        aliases(&name),
        pairs(&[
            ("v1", "1"),
            ("v1-2", "2"),
            ("v1-2-4", "2"),
            ("v1-3", "1"),
            ("v1-3-0", "1"),
        ])
    );
    assert_eq!(run.out("aliases"), "v1-2-4,v1-2");
    let why = "v1 serves v1.3.0, which is newer than v1.2.4";
    assert!(
        run.summary.contains(&format!("| `v1` | `1` | {why}")),
        "{}",
        run.summary
    );
    assert!(run.stderr().contains(why), "{}", run.stderr());
}

/// Whether an SDK error is Lambda's "not found": the only error a helper may read as
/// "nothing there"; any other error fails the test instead of passing as empty.
fn not_found<E, R>(e: &aws_sdk_lambda::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_lambda::error::ProvideErrorMetadata,
{
    e.as_service_error()
        .is_some_and(|s| s.code() == Some("ResourceNotFoundException"))
}

/// The function's resource policy (unqualified); `Null` only when it has none.
fn policy(name: &str) -> Value {
    support::block(async {
        match lambda().get_policy().function_name(name).send().await {
            Ok(p) => serde_json::from_str(p.policy().expect("policy text")).expect("policy JSON"),
            Err(e) if not_found(&e) => Value::Null,
            Err(e) => panic!("GetPolicy {name}: {e:?}"),
        }
    })
}

fn url_statements(name: &str) -> Vec<String> {
    let doc = policy(name);
    if doc.is_null() {
        return Vec::new();
    }
    doc["Statement"]
        .as_array()
        .expect("a policy has statements")
        .iter()
        .map(|s| format!("{} {}", s["Sid"].as_str().expect("sid"), s["Action"]))
        .collect()
}

fn url_config(name: &str, qualifier: &str) -> Option<(String, String)> {
    support::block(async {
        match lambda()
            .get_function_url_config()
            .function_name(name)
            .qualifier(qualifier)
            .send()
            .await
        {
            Ok(c) => Some((
                c.function_url().to_string(),
                c.auth_type().as_str().to_string(),
            )),
            Err(e) if not_found(&e) => None,
            Err(e) => panic!("GetFunctionUrlConfig {name}:{qualifier}: {e:?}"),
        }
    })
}

fn url_of(name: &str, qualifier: &str) -> Option<String> {
    url_config(name, qualifier).map(|(url, _)| url)
}

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "the whole life of one preview, each step checked in order"
)]
fn pull_request_preview_lifecycle_with_one_sticky_comment_and_a_deployment() {
    let github = FakeGitHub::start();
    let name = unique("preview");
    let preview = format!("{name}-pr-12");
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    let marker = format!("<!-- lambda-deploy:{name} -->");
    let env_name = format!("preview-pr-12-{name}");
    let deployments = format!("/repos/{OWNER_REPO}/deployments");
    let comments = format!("/repos/{OWNER_REPO}/issues/12/comments");

    // main is live on version 1.
    let mut inputs = base_inputs(&name, &d, &role);
    inputs.extend([
        ("alias", "live"),
        ("function-url", "public"),
        ("github-token", TOKEN),
    ]);
    run_as("push-branch.json", &inputs, Some(&github), &[]).assert_ok();
    assert_eq!(aliases(&name), pairs(&[("live", "1")]));
    assert!(github.received().is_empty(), "a push is no pull request");
    let live_statements = url_statements(&name);

    // Opened: the preview function's version 1 on pr-12 with a public URL; one comment,
    // one deployment; production keeps what it had.
    github.reset();
    github.comments_page(12, vec![comment(7, "LGTM")]);
    github.comment_writes(12, 1001);
    github.deployment_writes(501);
    write_code(dir.path(), "preview one");
    let opened = run_as("pull-request-opened.json", &inputs, Some(&github), &[]);
    opened.assert_ok();
    assert_no_secret(&opened);
    assert_eq!(aliases(&name), pairs(&[("live", "1")]));
    assert_eq!(aliases(&preview), pairs(&[("pr-12", "1")]));
    assert_eq!(opened.out("status"), "deployed");
    assert_eq!(opened.out("aliases"), "pr-12");
    let url = opened.out("function-url").to_string();
    assert!(url.starts_with("http"), "function-url output: {url:?}");
    assert_eq!(url_of(&preview, "pr-12").as_deref(), Some(url.as_str()));
    assert_eq!(url_statements(&name), live_statements);
    let statements = url_statements(&preview);
    for want in [
        "lambda-deploy-url-pr-12 \"lambda:InvokeFunctionUrl\"".to_string(),
        "lambda-deploy-url-invoke-pr-12 \"lambda:InvokeFunction\"".to_string(),
    ] {
        assert!(statements.contains(&want), "{want} not in {statements:?}");
    }
    let seen = github.received();
    authorized(&seen);
    assert_eq!(
        calls(&seen),
        vec![
            "GET /user".to_string(),
            format!("GET {comments}"),
            format!("POST {comments}"),
            format!("POST {deployments}"),
            format!("POST {deployments}/501/statuses"),
        ]
    );
    let body = seen[2].body["body"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for want in [
        marker.as_str(),
        "Preview of",
        "| Version | `1` |",
        "| Alias | `pr-12` |",
        &format!("| Function | `{preview}` |"),
        &format!("| URL | {url} |"),
        &format!("aws lambda invoke --function-name {preview}:pr-12"),
        &format!("curl -sS {url}"),
        "[`a1b2c3d`](https://github.com/octo-org/hello-lambda/commit/a1b2c3d4e5f60718293a4b5c6d7e8f9012345678)",
        opened.out("code-sha256"),
    ] {
        assert!(body.contains(want), "comment lacks {want:?}:\n{body}");
    }
    let dep = &seen[3].body;
    assert_eq!(dep["ref"], "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678");
    assert_eq!(dep["environment"], env_name.as_str());
    assert_eq!(dep["transient_environment"], true);
    assert_eq!(dep["production_environment"], false);
    assert_eq!(dep["auto_merge"], false);
    assert_eq!(dep["required_contexts"], serde_json::json!([]));
    assert_eq!(seen[4].body["state"], "success");
    assert_eq!(seen[4].body["environment_url"], url.as_str());
    assert!(
        opened.summary.contains("Pull request comment created: https://github.com/octo-org/hello-lambda/pull/12#issuecomment-1001"),
        "{}",
        opened.summary
    );

    // Synchronize: version 2; the comment (found on page 2) is updated, not repeated.
    github.reset();
    github.comments_two_pages(12, vec![comment(7, "LGTM")], vec![comment(1001, &body)]);
    github.comment_writes(12, 1001);
    github.deployment_writes(502);
    write_code(dir.path(), "preview two");
    let sync = run_as("pull-request-synchronize.json", &inputs, Some(&github), &[]);
    sync.assert_ok();
    assert_no_secret(&sync);
    assert_eq!(aliases(&preview), pairs(&[("pr-12", "2")]));
    assert_eq!(aliases(&name), pairs(&[("live", "1")]));
    let seen = github.received();
    authorized(&seen);
    assert_eq!(
        calls(&seen),
        vec![
            "GET /user".to_string(),
            format!("GET {comments}"),
            format!("GET {comments}"),
            format!("PATCH /repos/{OWNER_REPO}/issues/comments/1001"),
            format!("POST {deployments}"),
            format!("POST {deployments}/502/statuses"),
        ]
    );
    assert_eq!(seen[2].query, "per_page=100&page=2");
    let updated = seen[3].body["body"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        updated.contains("| Version | `2` |") && updated.starts_with(&marker),
        "{updated}"
    );
    assert_eq!(sync.out("function-url"), url, "the URL stays the same");

    // The same push again: nothing changes, and no second URL is created.
    let proxy = support::faults::FaultProxy::for_lambda();
    let before_again = (policy(&preview), url_config(&preview, "pr-12"));
    let again = run_as(
        "pull-request-synchronize.json",
        &inputs,
        Some(&github),
        &[("AWS_ENDPOINT_URL_LAMBDA", proxy.url.as_str())],
    );
    again.assert_ok();
    assert_eq!(again.out("status"), "unchanged");
    assert_eq!(again.out("function-url"), url);
    assert_eq!(
        (policy(&preview), url_config(&preview, "pr-12")),
        before_again
    );
    let writes: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|(m, _)| m != "GET")
        .collect();
    assert!(
        writes.is_empty(),
        "a re-run writes nothing to Lambda (no AddPermission, no UpdateFunctionUrlConfig): {writes:?}"
    );

    // A dry run of the close says what would go and changes nothing, on AWS or GitHub.
    let before = (snapshot(&name), snapshot(&preview), github.received().len());
    let dry = run_as(
        "pull-request-closed.json",
        &[
            ("function-name", name.as_str()),
            ("github-token", TOKEN),
            ("dry-run", "true"),
        ],
        Some(&github),
        &[],
    );
    dry.assert_ok();
    assert_eq!(dry.out("status"), "planned");
    assert_eq!(
        (snapshot(&name), snapshot(&preview), github.received().len()),
        before
    );
    assert!(
        dry.summary.contains("to remove (dry run, nothing changed)")
            && dry
                .summary
                .contains(&format!("function `{preview}`: to delete"))
            && dry.summary.contains("versions to delete: `1`, `2`"),
        "{}",
        dry.summary
    );

    // Closed: no package needed; the preview function goes with its alias, URL, grants
    // and versions; production stays as it was.
    let production = snapshot(&name);
    github.reset();
    github.comments_page(12, vec![comment(7, "LGTM"), comment(1001, &updated)]);
    github.comment_writes(12, 1001);
    github.mount(
        wiremock::Mock::given(wiremock::matchers::method("GET"))
            .and(wiremock::matchers::path(deployments.clone()))
            .and(wiremock::matchers::query_param(
                "environment",
                env_name.as_str(),
            ))
            .respond_with(
                wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!([
                    support::github::deployment(
                        502,
                        "b2c3d4e5f60718293a4b5c6d7e8f9012345678a1",
                        &env_name
                    ),
                    support::github::deployment(
                        501,
                        "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
                        &env_name
                    ),
                ])),
            ),
    );
    github.statuses();
    let close_inputs = [
        ("function-name", name.as_str()),
        // No checkout on close: a package input that points nowhere is ignored.
        ("source-dir", "no/checkout/here"),
        ("alias", "live"),
        ("function-url", "public"),
        ("github-token", TOKEN),
    ];
    let closed = run_as(
        "pull-request-closed.json",
        &close_inputs,
        Some(&github),
        &[],
    );
    closed.assert_ok();
    assert_no_secret(&closed);
    assert_eq!(closed.out("status"), "removed");
    assert!(!snapshot(&preview).exists, "the preview function is gone");
    assert_eq!(snapshot(&name), production, "production is untouched");
    assert_eq!(url_statements(&name), live_statements);
    let seen = github.received();
    authorized(&seen);
    assert_eq!(
        calls(&seen),
        vec![
            "GET /user".to_string(),
            format!("GET {comments}"),
            format!("PATCH /repos/{OWNER_REPO}/issues/comments/1001"),
            format!("GET {deployments}"),
            format!("POST {deployments}/502/statuses"),
            format!("POST {deployments}/501/statuses"),
        ]
    );
    let last = seen[2].body["body"].as_str().unwrap_or_default();
    assert!(
        last.contains("removed") && last.contains("`1`, `2`") && last.contains(&preview),
        "{last}"
    );
    assert_eq!(seen[4].body["state"], "inactive");
    assert_eq!(seen[5].body["state"], "inactive");
    assert!(
        closed
            .summary
            .contains("Preview of pull request #12 removed")
            && closed.summary.contains("versions deleted: `1`, `2`"),
        "{}",
        closed.summary
    );
}

#[test]
fn forbidden_github_gives_a_warning_and_the_preview_still_deploys() {
    let github = FakeGitHub::start();
    github.forbid_everything();
    let name = unique("forbidden");
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    let mut inputs = base_inputs(&name, &d, &role);
    inputs.push(("github-token", TOKEN));
    let run = run_as("pull-request-fork.json", &inputs, Some(&github), &[]);
    run.assert_ok();
    assert_no_secret(&run);
    assert_eq!(aliases(&format!("{name}-pr-34")), pairs(&[("pr-34", "1")]));
    let stdout = run.stdout();
    assert!(
        stdout.lines().any(|l| l
            .starts_with("::warning title=lambda-deploy%3A GitHub not updated::")
            && l.contains("403")),
        "{stdout}"
    );
    assert!(
        run.summary.contains("No pull request comment was posted: GitHub answered 403 (Resource not accessible by integration)"),
        "{}",
        run.summary
    );
    // Every write was attempted once and refused: none went anywhere else.
    let writes: Vec<String> = github
        .received()
        .iter()
        .filter(|s| s.method != "GET")
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    assert_eq!(
        writes,
        vec![format!("POST /repos/{OWNER_REPO}/deployments")],
        "nothing was written but the refused deployment"
    );
}

#[test]
fn not_found_from_github_is_a_warning_too() {
    let github = FakeGitHub::start();
    github.answer_everything(404, "Not Found");
    let name = unique("notfound");
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    let mut inputs = base_inputs(&name, &d, &role);
    inputs.push(("github-token", TOKEN));
    let run = run_as("pull-request-opened.json", &inputs, Some(&github), &[]);
    run.assert_ok();
    assert_eq!(aliases(&format!("{name}-pr-12")), pairs(&[("pr-12", "1")]));
    assert!(
        run.summary
            .contains("No pull request comment was posted: GitHub answered 404 (Not Found)"),
        "{}",
        run.summary
    );
    assert!(
        run.summary
            .contains("No GitHub deployment was recorded: GitHub answered 404 (Not Found)"),
        "{}",
        run.summary
    );
}

#[test]
fn comment_false_posts_no_comment_but_records_the_deployment() {
    let github = FakeGitHub::start();
    github.deployment_writes(77);
    let name = unique("nocomment");
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    let mut inputs = base_inputs(&name, &d, &role);
    inputs.extend([("github-token", TOKEN), ("comment", "false")]);
    let run = run_as("pull-request-opened.json", &inputs, Some(&github), &[]);
    run.assert_ok();
    assert_eq!(
        calls(&github.received()),
        vec![
            format!("POST /repos/{OWNER_REPO}/deployments"),
            format!("POST /repos/{OWNER_REPO}/deployments/77/statuses"),
        ]
    );
}

fn url_auth(name: &str, qualifier: &str) -> Option<String> {
    url_config(name, qualifier).map(|(_, auth)| auth)
}

#[test]
fn function_url_on_the_alias_switches_between_iam_and_public_without_stale_grants() {
    let name = unique("url");
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    let mut inputs = base_inputs(&name, &d, &role);
    inputs.extend([("alias", "live"), ("function-url", "iam")]);
    let iam = run_as("push-branch.json", &inputs, None, &[]);
    iam.assert_ok();
    assert_eq!(url_auth(&name, "live").as_deref(), Some("AWS_IAM"));
    assert_eq!(
        iam.out("function-url"),
        url_of(&name, "live").unwrap_or_default()
    );
    assert!(
        url_statements(&name).is_empty(),
        "an IAM URL grants nothing to everyone"
    );

    let public_inputs: Vec<(&str, &str)> = inputs
        .iter()
        .map(|(k, v)| {
            if *k == "function-url" {
                (*k, "public")
            } else {
                (*k, *v)
            }
        })
        .collect();
    let public = run_as("push-branch.json", &public_inputs, None, &[]);
    public.assert_ok();
    assert_eq!(public.out("status"), "unchanged");
    assert_eq!(url_auth(&name, "live").as_deref(), Some("NONE"));
    assert_eq!(
        public.out("function-url"),
        iam.out("function-url"),
        "same URL, new auth"
    );
    let doc = policy(&name);
    let url_grant = doc["Statement"]
        .as_array()
        .and_then(|s| s.iter().find(|st| st["Sid"] == "lambda-deploy-url-live"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(url_grant["Principal"], "*", "{doc}");
    assert_eq!(url_grant["Action"], "lambda:InvokeFunctionUrl", "{doc}");
    // Lambda renders the auth type as a Condition; moto keeps the request's field as it is.
    assert_eq!(url_grant["FunctionUrlAuthType"], "NONE", "{doc}");
    assert!(
        url_grant["Resource"]
            .as_str()
            .is_some_and(|r| r.ends_with(":live")),
        "the grant is on the alias: {doc}"
    );
    let invoke_grant = doc["Statement"]
        .as_array()
        .and_then(|s| {
            s.iter()
                .find(|st| st["Sid"] == "lambda-deploy-url-invoke-live")
        })
        .cloned()
        .unwrap_or_default();
    assert_eq!(invoke_grant["Action"], "lambda:InvokeFunction", "{doc}");
    assert_eq!(invoke_grant["InvokedViaFunctionUrl"], true, "{doc}");
    assert_eq!(url_statements(&name).len(), 2, "{doc}");

    let back = run_as("push-branch.json", &inputs, None, &[]);
    back.assert_ok();
    assert_eq!(url_auth(&name, "live").as_deref(), Some("AWS_IAM"));
    assert!(
        url_statements(&name).is_empty(),
        "the public grants are gone: {}",
        policy(&name)
    );
}

#[test]
fn a_tag_that_is_not_semver_warns_and_moves_only_alias() {
    let name = unique("nonsemver");
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    let mut inputs = base_inputs(&name, &d, &role);
    inputs.push(("alias", "live"));
    let run = run_as(
        "push-tag.json",
        &inputs,
        None,
        &[("GITHUB_REF", "refs/tags/release-2024")],
    );
    run.assert_ok();
    assert_eq!(aliases(&name), pairs(&[("live", "1")]));
    assert!(
        run.stdout().lines().any(|l| l.starts_with(
            "::warning title=lambda-deploy::tag 'release-2024' is not a semver version"
        )),
        "{}",
        run.stdout()
    );
    assert!(
        run.summary.contains("is not a semver version"),
        "{}",
        run.summary
    );
}

#[test]
fn a_preview_with_publish_false_fails_before_any_change() {
    let name = unique("nopublish");
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    let mut inputs = base_inputs(&name, &d, &role);
    inputs.push(("publish", "false"));
    let run = run_as("pull-request-opened.json", &inputs, None, &[]);
    assert!(!run.ok());
    assert!(
        run.stdout()
            .contains("input preview: a pull request preview needs a published version for alias pr-12, but publish is false"),
        "{}",
        run.stdout()
    );
    assert!(!snapshot(&name).exists, "nothing was created");
}

// ---------------------------------------------------------------------------------------
// Hardening: previews in their own function, forks, the sticky comment's author, the
// release guard and stale function URLs.

/// Whether a logged request path names function `name` itself (not `<name>-pr-12`).
fn touches(path: &str, name: &str) -> bool {
    let path = path
        .split('?')
        .next()
        .unwrap_or_default()
        .replace("%3A", ":");
    path.split('/')
        .any(|seg| seg == name || seg.ends_with(&format!(":function:{name}")))
}

fn production_state(name: &str) -> (support::Snapshot, Value, Option<String>) {
    (snapshot(name), policy(name), url_of(name, "live"))
}

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "one scenario, production checked untouched after every step"
)]
fn a_preview_deploys_to_its_own_function_and_never_touches_production() {
    let github = FakeGitHub::start();
    let name = unique("isolated");
    let preview = format!("{name}-pr-12");
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    let mut inputs = base_inputs(&name, &d, &role);
    inputs.extend([
        ("alias", "live"),
        ("function-url", "public"),
        ("memory-size", "256"),
        ("environment", "STAGE=main"),
    ]);
    run_as("push-branch.json", &inputs, None, &[]).assert_ok();
    let before = production_state(&name);

    // The pull request changes code, memory and environment; the preview role would have
    // no right on the production function, and the proxy records every Lambda call.
    let proxy = support::faults::FaultProxy::for_lambda();
    write_code(dir.path(), "from the pull request");
    let mut pr_inputs = base_inputs(&name, &d, &role);
    pr_inputs.extend([
        ("alias", "live"),
        ("function-url", "public"),
        ("memory-size", "512"),
        ("environment", "STAGE=pr"),
        ("github-token", TOKEN),
        ("comment", "false"),
    ]);
    github.deployment_writes(601);
    let opened = run_as(
        "pull-request-opened.json",
        &pr_inputs,
        Some(&github),
        &[("AWS_ENDPOINT_URL_LAMBDA", proxy.url.as_str())],
    );
    opened.assert_ok();
    let requests = proxy.requests();
    let on_production: Vec<_> = requests.iter().filter(|(_, p)| touches(p, &name)).collect();
    assert!(
        on_production.is_empty(),
        "the preview called the production function: {on_production:?}"
    );
    assert!(!requests.is_empty(), "the preview went through the proxy");
    assert_eq!(production_state(&name), before, "production is untouched");

    let p = snapshot(&preview);
    assert!(p.exists, "the preview function {preview} was created");
    assert_eq!(p.memory_size, Some(512));
    assert_eq!(p.environment.get("STAGE").map(String::as_str), Some("pr"));
    assert_eq!(aliases(&preview), pairs(&[("pr-12", "1")]));
    assert!(
        opened
            .out("function-arn")
            .ends_with(&format!(":function:{preview}")),
        "function-arn is the preview's: {}",
        opened.out("function-arn")
    );
    let url = opened.out("function-url").to_string();
    assert_eq!(url_of(&preview, "pr-12").as_deref(), Some(url.as_str()));
    let seen = github.received();
    assert_eq!(seen[1].body["environment_url"], url.as_str());

    // Closing deletes the preview function (URL and grants with it); production stays.
    github.reset();
    github.mount(
        wiremock::Mock::given(wiremock::matchers::method("GET"))
            .and(wiremock::matchers::path(format!(
                "/repos/{OWNER_REPO}/deployments"
            )))
            .respond_with(
                wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!([
                    support::github::deployment(
                        601,
                        "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
                        &format!("preview-pr-12-{name}")
                    )
                ])),
            ),
    );
    github.statuses();
    proxy.clear_log();
    let closed = run_as(
        "pull-request-closed.json",
        &[
            ("function-name", name.as_str()),
            ("github-token", TOKEN),
            ("comment", "false"),
        ],
        Some(&github),
        &[("AWS_ENDPOINT_URL_LAMBDA", proxy.url.as_str())],
    );
    closed.assert_ok();
    assert_eq!(closed.out("status"), "removed");
    assert!(!snapshot(&preview).exists, "the preview function is gone");
    let on_production: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|(_, p)| touches(p, &name))
        .collect();
    assert!(on_production.is_empty(), "{on_production:?}");
    assert_eq!(production_state(&name), before, "production is untouched");
    let seen = github.received();
    assert_eq!(
        seen.last().map(|s| s.body["state"].clone()),
        Some(Value::from("inactive"))
    );
}

#[test]
fn closing_a_pull_request_never_deletes_a_function_lambda_deploy_did_not_create() {
    // Someone's own function happens to have the preview's name: it has no preview tag.
    let name = unique("notmine");
    let theirs = format!("{name}-pr-12");
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    run_as(
        "push-branch.json",
        &base_inputs(&theirs, &d, &role),
        None,
        &[],
    )
    .assert_ok();
    let before = snapshot(&theirs);
    let closed = run_as(
        "pull-request-closed.json",
        &[("function-name", name.as_str()), ("comment", "false")],
        None,
        &[],
    );
    closed.assert_ok();
    assert_eq!(snapshot(&theirs), before, "their function is untouched");
    assert!(
        closed.stdout().lines().any(|l| l.starts_with("::warning")
            && l.contains("was not created by lambda-deploy as the preview of")),
        "{}",
        closed.stdout()
    );
}

#[test]
fn a_fork_under_pull_request_target_is_refused_before_any_aws_call() {
    let name = unique("fork");
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    let inputs = base_inputs(&name, &d, &role);
    let proxy = support::faults::FaultProxy::for_lambda();
    let target = [
        ("GITHUB_EVENT_NAME", "pull_request_target"),
        ("AWS_ENDPOINT_URL", proxy.url.as_str()),
    ];
    let run = run_as("pull-request-fork.json", &inputs, None, &target);
    assert!(!run.ok(), "a fork's code under the base repository's role");
    let stdout = run.stdout();
    assert!(
        stdout.lines().any(|l| l.starts_with("::error")
            && l.contains("pull_request_target")
            && l.contains("fork")
            && l.contains("allow-forks")),
        "{stdout}"
    );
    assert!(
        proxy.log().is_empty(),
        "no AWS call: {:?}",
        proxy.requests()
    );
    assert!(!snapshot(&name).exists);
    assert!(!snapshot(&format!("{name}-pr-34")).exists);

    // A workflow that gates on a label or an approval opts in.
    let mut allowed = inputs.clone();
    allowed.push(("allow-forks", "true"));
    run_as("pull-request-fork.json", &allowed, None, &target).assert_ok();
    assert!(snapshot(&format!("{name}-pr-34")).exists);
}

#[test]
fn a_branch_release_on_unchanged_code_still_guards_v1_against_a_lower_backport() {
    let name = unique("relguard");
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    let mut inputs = base_inputs(&name, &d, &role);
    inputs.push(("alias", "live"));
    // main publishes version 1; the v1.3.0 tag on the same code reuses it.
    run_as("push-branch.json", &inputs, None, &[]).assert_ok();
    let tag = |t: &str| format!("refs/tags/{t}");
    let v130 = tag("v1.3.0");
    run_as(
        "push-tag.json",
        &inputs,
        None,
        &[("GITHUB_REF", v130.as_str())],
    )
    .assert_ok();
    assert_eq!(
        aliases(&name)
            .iter()
            .find(|a| a.0 == "v1")
            .map(|a| a.1.as_str()),
        Some("1")
    );
    // A lower backport must not move v1 back.
    write_code(dir.path(), "backport");
    let v125 = tag("v1.2.5");
    let backport = run_as(
        "push-tag.json",
        &inputs,
        None,
        &[
            ("GITHUB_REF", v125.as_str()),
            ("GITHUB_RUN_ID", "8123456799"),
        ],
    );
    backport.assert_ok();
    let now: std::collections::BTreeMap<_, _> = aliases(&name).into_iter().collect();
    assert_eq!(now.get("v1").map(String::as_str), Some("1"), "{now:?}");
    assert_eq!(now.get("v1-2").map(String::as_str), Some("2"), "{now:?}");
}

#[test]
fn a_branch_named_like_a_version_is_not_a_release() {
    let name = unique("v99branch");
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    let mut inputs = base_inputs(&name, &d, &role);
    inputs.push(("alias", "live"));
    run_as(
        "push-branch.json",
        &inputs,
        None,
        &[("GITHUB_REF", "refs/heads/v99.0.0")],
    )
    .assert_ok();
    // v1.2.0 on the same code reuses the branch's version 1.
    run_as(
        "push-tag.json",
        &inputs,
        None,
        &[("GITHUB_REF", "refs/tags/v1.2.0")],
    )
    .assert_ok();
    write_code(dir.path(), "1.3");
    let run = run_as(
        "push-tag.json",
        &inputs,
        None,
        &[
            ("GITHUB_REF", "refs/tags/v1.3.0"),
            ("GITHUB_RUN_ID", "8123456798"),
        ],
    );
    run.assert_ok();
    let now: std::collections::BTreeMap<_, _> = aliases(&name).into_iter().collect();
    assert_eq!(
        now.get("v1").map(String::as_str),
        Some("2"),
        "the branch v99.0.0 is no release v99: {now:?}\n{}",
        run.summary
    );
}

#[test]
fn function_url_none_removes_the_url_lambda_deploy_created() {
    let name = unique("urlnone");
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    let mut inputs = base_inputs(&name, &d, &role);
    inputs.extend([("alias", "live"), ("function-url", "public")]);
    run_as("push-branch.json", &inputs, None, &[]).assert_ok();
    assert!(url_of(&name, "live").is_some());
    assert_eq!(alias_statements(&name, "live").len(), 2);

    let mut none = base_inputs(&name, &d, &role);
    none.extend([("alias", "live"), ("function-url", "none")]);
    let run = run_as("push-branch.json", &none, None, &[]);
    run.assert_ok();
    assert_eq!(url_of(&name, "live"), None, "the URL is no longer wanted");
    assert!(
        alias_statements(&name, "live").is_empty(),
        "{:?}",
        alias_statements(&name, "live")
    );
    assert!(
        run.summary.contains("the function URL of alias 'live'"),
        "{}",
        run.summary
    );

    // A URL lambda-deploy did not create is never removed.
    support::block(async {
        lambda()
            .create_function_url_config()
            .function_name(&name)
            .qualifier("live")
            .auth_type(aws_sdk_lambda::types::FunctionUrlAuthType::AwsIam)
            .send()
            .await
            .expect("url");
    });
    run_as("push-branch.json", &none, None, &[]).assert_ok();
    assert!(url_of(&name, "live").is_some(), "not lambda-deploy's");
}

#[test]
fn moving_the_url_to_another_alias_removes_the_old_url_and_grants() {
    let name = unique("urlmove");
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    let mut inputs = base_inputs(&name, &d, &role);
    inputs.extend([("alias", "live"), ("function-url", "public")]);
    run_as("push-branch.json", &inputs, None, &[]).assert_ok();
    assert!(url_of(&name, "live").is_some());

    // The emulator keeps one URL per function whatever the qualifier, so which alias's URL
    // was deleted is read on the wire.
    let proxy = support::faults::FaultProxy::for_lambda();
    let mut moved = base_inputs(&name, &d, &role);
    moved.extend([("alias", "prod\nlive"), ("function-url", "public")]);
    let run = run_as(
        "push-branch.json",
        &moved,
        None,
        &[("AWS_ENDPOINT_URL_LAMBDA", proxy.url.as_str())],
    );
    run.assert_ok();
    let url_calls: Vec<String> = proxy
        .log()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap_or_default(),
                r["path"].as_str().unwrap_or_default()
            )
        })
        .filter(|c| c.contains("/url?") && !c.starts_with("GET"))
        .collect();
    assert_eq!(
        url_calls,
        vec![
            format!("DELETE /2021-10-31/functions/{name}/url?Qualifier=live"),
            format!("POST /2021-10-31/functions/{name}/url?Qualifier=prod"),
        ],
        "the old alias's URL is deleted, the new one created"
    );
    assert_eq!(
        url_of(&name, "prod").as_deref(),
        Some(run.out("function-url"))
    );
    assert!(
        alias_statements(&name, "live").is_empty(),
        "{:?}",
        alias_statements(&name, "live")
    );
    assert_eq!(alias_statements(&name, "prod").len(), 2);
    assert_eq!(
        snapshot(&name)
            .tags
            .get("lambda-deploy:function-url")
            .map(String::as_str),
        Some("prod")
    );
}

/// The statement ids in the resource policy of `name:qualifier`; no policy is empty, any
/// other error fails the test.
fn alias_statements(name: &str, qualifier: &str) -> Vec<String> {
    support::block(async {
        match lambda()
            .get_policy()
            .function_name(name)
            .qualifier(qualifier)
            .send()
            .await
        {
            Ok(p) => {
                let doc: Value =
                    serde_json::from_str(p.policy().expect("policy text")).expect("policy is JSON");
                // Lambda keeps one policy per qualifier; the emulator may keep one per
                // function, so only the statements on this alias count.
                let on_alias = format!(":{qualifier}");
                doc["Statement"]
                    .as_array()
                    .expect("statements")
                    .iter()
                    .filter(|s| {
                        s["Resource"]
                            .as_str()
                            .is_some_and(|r| r.ends_with(&on_alias))
                    })
                    .map(|s| s["Sid"].as_str().expect("sid").to_string())
                    .collect()
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Vec::new()
            }
            Err(e) => panic!("GetPolicy {name}:{qualifier}: {e:?}"),
        }
    })
}
