//! Unit tests of the GitHub context, driven by the webhook fixtures in `tests/fixtures/events`.

use super::*;
use std::collections::HashMap;
use std::path::PathBuf;

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events")
}

/// The env for one fixture from `env.json`, with `GITHUB_EVENT_PATH` pointing at it.
fn fixture_env(name: &str) -> HashMap<String, String> {
    let text = std::fs::read_to_string(events_dir().join("env.json")).unwrap();
    let all: HashMap<String, HashMap<String, String>> = serde_json::from_str(&text).unwrap();
    let mut env = all
        .get(name)
        .unwrap_or_else(|| panic!("{name} missing from env.json"))
        .clone();
    env.insert(
        "GITHUB_EVENT_PATH".into(),
        events_dir().join(name).display().to_string(),
    );
    env
}

fn context(env: &HashMap<String, String>) -> Result<GitHubContext, ContextError> {
    GitHubContext::from_env(|k| env.get(k).cloned())
}

fn branch(name: &str) -> Trigger {
    Trigger::Branch { name: name.into() }
}

fn pr(number: u64, action: PrAction, head_ref: &str, from_fork: bool) -> Trigger {
    Trigger::PullRequest {
        number,
        action,
        head_ref: head_ref.into(),
        base_ref: "main".into(),
        from_fork,
    }
}

#[test]
fn every_fixture_has_an_env_row() {
    let text = std::fs::read_to_string(events_dir().join("env.json")).unwrap();
    let all: HashMap<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
    for entry in std::fs::read_dir(events_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name != "env.json" {
            assert!(all.contains_key(&name), "{name} has no row in env.json");
        }
    }
    assert_eq!(all.len(), 8);
}

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "one table row per event fixture, read top to bottom"
)]
fn fixtures_give_the_expected_context() {
    // (fixture, event, deployed sha, trigger, ref label)
    let rows = [
        (
            "push-branch.json",
            "push",
            "0123456789abcdef0123456789abcdef01234567",
            branch("main"),
            "main",
        ),
        (
            "push-tag.json",
            "push",
            "89abcdef0123456789abcdef0123456789abcdef",
            Trigger::Release {
                tag: "v1.2.3".into(),
            },
            "v1.2.3",
        ),
        (
            "push-prerelease-tag.json",
            "push",
            "fedcba9876543210fedcba9876543210fedcba98",
            Trigger::Release {
                tag: "v2.0.0-rc.1".into(),
            },
            "v2.0.0-rc.1",
        ),
        (
            "pull-request-opened.json",
            "pull_request",
            "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
            pr(12, PrAction::Opened, "feature/health-route", false),
            "pull request #12",
        ),
        (
            "pull-request-synchronize.json",
            "pull_request",
            "b2c3d4e5f60718293a4b5c6d7e8f9012345678a1",
            pr(12, PrAction::Synchronize, "feature/health-route", false),
            "pull request #12",
        ),
        (
            "pull-request-closed.json",
            "pull_request",
            "b2c3d4e5f60718293a4b5c6d7e8f9012345678a1",
            pr(
                12,
                PrAction::Closed { merged: true },
                "feature/health-route",
                false,
            ),
            "pull request #12",
        ),
        (
            "pull-request-fork.json",
            "pull_request",
            "d4e5f60718293a4b5c6d7e8f9012345678a1b2c3",
            pr(34, PrAction::Opened, "patch-1", true),
            "pull request #34",
        ),
        (
            "workflow-dispatch.json",
            "workflow_dispatch",
            "0123456789abcdef0123456789abcdef01234567",
            branch("main"),
            "main",
        ),
    ];
    for (fixture, event, sha, trigger, label) in rows {
        let env = fixture_env(fixture);
        let ctx = context(&env).unwrap_or_else(|e| panic!("{fixture}: {e}"));
        assert!(ctx.in_actions, "{fixture}");
        assert_eq!(ctx.event_name.as_deref(), Some(event), "{fixture}");
        assert_eq!(ctx.sha.as_ref().map(GitSha::as_str), Some(sha), "{fixture}");
        assert_eq!(ctx.trigger, trigger, "{fixture}");
        assert_eq!(ctx.ref_label().as_deref(), Some(label), "{fixture}");
        assert_eq!(
            ctx.git_ref.as_deref(),
            env.get("GITHUB_REF").map(String::as_str),
            "{fixture}"
        );
        assert_eq!(
            ctx.repository.as_deref(),
            Some("octo-org/hello-lambda"),
            "{fixture}"
        );
        assert_eq!(ctx.server_url, "https://github.com", "{fixture}");
        assert_eq!(ctx.api_url, "https://api.github.com", "{fixture}");
        let run_id = &env["GITHUB_RUN_ID"];
        assert_eq!(ctx.run_id.as_deref(), Some(run_id.as_str()), "{fixture}");
        assert_eq!(
            ctx.run_url(),
            Some(format!(
                "https://github.com/octo-org/hello-lambda/actions/runs/{run_id}"
            )),
            "{fixture}"
        );
        assert_eq!(
            ctx.commit_url(),
            Some(format!(
                "https://github.com/octo-org/hello-lambda/commit/{sha}"
            )),
            "{fixture}"
        );
        assert_eq!(ctx.short_sha(), Some(&sha[..7]), "{fixture}");
    }
}

#[test]
fn pull_request_sha_is_the_head_not_the_merge_commit() {
    let env = fixture_env("pull-request-opened.json");
    let ctx = context(&env).unwrap();
    assert_ne!(
        ctx.sha.as_ref().map(GitSha::as_str),
        Some(env["GITHUB_SHA"].as_str())
    );
    assert_eq!(ctx.pr_number(), Some(12));
    assert_eq!(ctx.run_attempt.as_deref(), Some("1"));
    assert_eq!(ctx.actor.as_deref(), Some("mona"));
}

#[test]
fn pull_request_target_reads_the_same_payload() {
    let mut env = fixture_env("pull-request-fork.json");
    env.insert("GITHUB_EVENT_NAME".into(), "pull_request_target".into());
    env.insert("GITHUB_REF".into(), "refs/heads/main".into());
    let ctx = context(&env).unwrap();
    assert_eq!(ctx.trigger, pr(34, PrAction::Opened, "patch-1", true));
    assert_eq!(ctx.short_sha(), Some("d4e5f60"));
}

#[test]
fn outside_actions_nothing_is_known() {
    let ctx = context(&HashMap::new()).unwrap();
    assert_eq!(ctx, GitHubContext::default());
    assert_eq!(
        (
            ctx.run_url(),
            ctx.commit_url(),
            ctx.ref_label(),
            ctx.pr_number()
        ),
        (None, None, None, None)
    );
}

#[test]
fn empty_strings_count_as_unset() {
    let env: HashMap<String, String> = [
        "GITHUB_ACTIONS",
        "GITHUB_EVENT_NAME",
        "GITHUB_EVENT_PATH",
        "GITHUB_SHA",
        "GITHUB_REF",
        "GITHUB_REPOSITORY",
        "GITHUB_SERVER_URL",
        "GITHUB_API_URL",
        "GITHUB_RUN_ID",
        "GITHUB_ACTOR",
    ]
    .into_iter()
    .map(|k| (k.to_string(), "  ".to_string()))
    .collect();
    assert_eq!(context(&env).unwrap(), GitHubContext::default());
}

#[test]
fn refs_map_to_triggers() {
    let rows = [
        ("refs/heads/main", branch("main"), Some("main")),
        (
            "refs/heads/release/2.x",
            branch("release/2.x"),
            Some("release/2.x"),
        ),
        (
            "refs/tags/v1.2.3",
            Trigger::Release {
                tag: "v1.2.3".into(),
            },
            Some("v1.2.3"),
        ),
        (
            "refs/tags/release-2024",
            Trigger::Release {
                tag: "release-2024".into(),
            },
            Some("release-2024"),
        ),
        ("refs/pull/7/merge", Trigger::Other, Some("pull/7/merge")),
        ("refs/heads/", Trigger::Other, Some("heads/")),
    ];
    for (git_ref, trigger, label) in rows {
        let env = HashMap::from([
            ("GITHUB_EVENT_NAME".to_string(), "schedule".to_string()),
            ("GITHUB_REF".to_string(), git_ref.to_string()),
        ]);
        let ctx = context(&env).unwrap();
        assert_eq!(ctx.trigger, trigger, "{git_ref}");
        assert_eq!(ctx.ref_label().as_deref(), label, "{git_ref}");
    }
}

#[test]
fn enterprise_urls_lose_their_trailing_slash() {
    let env = HashMap::from([
        (
            "GITHUB_SERVER_URL".to_string(),
            "https://ghe.example.com/".to_string(),
        ),
        (
            "GITHUB_API_URL".to_string(),
            "https://ghe.example.com/api/v3/".to_string(),
        ),
        ("GITHUB_REPOSITORY".to_string(), "o/r".to_string()),
        ("GITHUB_RUN_ID".to_string(), "5".to_string()),
    ]);
    let ctx = context(&env).unwrap();
    assert_eq!(ctx.api_url, "https://ghe.example.com/api/v3");
    assert_eq!(
        ctx.run_url().as_deref(),
        Some("https://ghe.example.com/o/r/actions/runs/5")
    );
}

#[test]
fn a_bad_github_sha_is_refused() {
    let env = HashMap::from([("GITHUB_SHA".to_string(), "abc123".to_string())]);
    let msg = context(&env).unwrap_err().to_string();
    assert!(msg.starts_with("GITHUB_SHA is 'abc123'"), "{msg}");
    assert!(msg.contains("unset GITHUB_SHA"), "{msg}");
}

#[test]
fn pull_request_without_event_path_says_what_to_do() {
    let env = HashMap::from([("GITHUB_EVENT_NAME".to_string(), "pull_request".to_string())]);
    let msg = context(&env).unwrap_err().to_string();
    assert!(msg.contains("GITHUB_EVENT_PATH is not set"), "{msg}");
}

#[test]
fn unreadable_payload_names_the_path() {
    let env = HashMap::from([
        ("GITHUB_EVENT_NAME".to_string(), "pull_request".to_string()),
        (
            "GITHUB_EVENT_PATH".to_string(),
            "/nonexistent/event.json".to_string(),
        ),
    ]);
    let msg = context(&env).unwrap_err().to_string();
    assert!(
        msg.contains("GITHUB_EVENT_PATH (/nonexistent/event.json)"),
        "{msg}"
    );
}

#[test]
fn malformed_pull_request_payloads_name_the_field() {
    let full = std::fs::read_to_string(events_dir().join("pull-request-opened.json")).unwrap();
    let full: serde_json::Value = serde_json::from_str(&full).unwrap();
    // (JSON pointer to remove, field named in the error)
    let rows = [
        ("/action", "action"),
        ("/pull_request", "pull_request"),
        ("/pull_request/head", "pull_request.head"),
        ("/pull_request/base", "pull_request.base"),
        ("/pull_request/head/sha", "pull_request.head.sha"),
        ("/pull_request/head/ref", "pull_request.head.ref"),
        ("/pull_request/base/ref", "pull_request.base.ref"),
    ];
    for (pointer, field) in rows {
        let mut v = full.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        v.pointer_mut(parent)
            .and_then(|p| p.as_object_mut())
            .unwrap()
            .remove(key);
        let err = parse_pull_request("pull_request", "ev.json", &v.to_string())
            .err()
            .unwrap();
        let msg = err.to_string();
        assert!(
            matches!(err, ContextError::MissingField { .. }),
            "{pointer}: {msg}"
        );
        assert!(msg.contains("GITHUB_EVENT_PATH (ev.json)"), "{msg}");
        assert!(msg.contains(&format!("has no {field};")), "{msg}");
    }
    // The number may come from either place; only both missing is an error.
    let mut v = full.clone();
    v.as_object_mut().unwrap().remove("number");
    assert!(parse_pull_request("pull_request", "ev.json", &v.to_string()).is_ok());
    v["pull_request"].as_object_mut().unwrap().remove("number");
    let msg = parse_pull_request("pull_request", "ev.json", &v.to_string())
        .err()
        .unwrap()
        .to_string();
    assert!(msg.contains("has no number;"), "{msg}");
}

#[test]
fn wrong_types_and_bad_json_are_parse_errors() {
    for text in ["{", r#"{"action": "opened", "number": "twelve"}"#, "[]"] {
        let err = parse_pull_request("pull_request", "ev.json", text)
            .err()
            .unwrap();
        assert!(
            matches!(err, ContextError::ParseEvent { .. }),
            "{text}: {err}"
        );
        assert!(
            err.to_string().contains("GITHUB_EVENT_PATH (ev.json)"),
            "{err}"
        );
    }
    let bad_sha = r#"{"action":"opened","number":1,"pull_request":{"head":{"ref":"a","sha":"zz"},"base":{"ref":"main"}}}"#;
    let msg = parse_pull_request("pull_request", "ev.json", bad_sha)
        .err()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("pull_request.head.sha in GITHUB_EVENT_PATH is 'zz'"),
        "{msg}"
    );
}

#[test]
fn deleted_head_repository_counts_as_a_fork_and_actions_map() {
    // (action, merged, expected)
    let rows = [
        ("opened", false, PrAction::Opened),
        ("synchronize", false, PrAction::Synchronize),
        ("reopened", false, PrAction::Reopened),
        ("closed", false, PrAction::Closed { merged: false }),
        ("closed", true, PrAction::Closed { merged: true }),
        ("labeled", false, PrAction::Other("labeled".into())),
    ];
    for (action, merged, expected) in rows {
        let text = format!(
            r#"{{"action":"{action}","number":3,"pull_request":{{"merged":{merged},"head":{{"ref":"x","sha":"{}","repo":null}},"base":{{"ref":"main","repo":{{"full_name":"o/r"}}}}}}}}"#,
            "a".repeat(40)
        );
        let ev = parse_pull_request("pull_request", "ev.json", &text)
            .ok()
            .unwrap();
        let Trigger::PullRequest {
            action: got,
            from_fork,
            ..
        } = ev.trigger
        else {
            panic!("{action}")
        };
        assert_eq!(got, expected, "{action}");
        assert!(from_fork, "{action}");
    }
}
