//! Snapshots of what people read on the pull request and in the job summary, for the
//! release and preview runs. Values are fixed, so the snapshots only change with the text.

use std::collections::BTreeMap;

use crate::config::FunctionUrl;
use crate::deploy::Moved;
use crate::plan::{
    AliasMove, CodeRoute, ConfigUpdate, FunctionAction, HeldAlias, LocalCode, Plan, Publish,
};
use crate::preview::Removal;
use crate::release::SkippedMove;
use crate::report::{GitHubNotes, Outcome, Provenance, Report, ReportExtra, Status};

/// The plan of the preview deploy: new code for `hello-pr-12`, its alias moved.
fn preview_plan() -> Plan {
    Plan {
        function_name: "hello-pr-12".into(),
        action: FunctionAction::Update,
        code: LocalCode {
            code_sha256: "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=".into(),
            size: 1536,
            unzipped_size: 4096,
            image: None,
        },
        previous_code_sha256: Some("b2xkIGNvZGU=".into()),
        code_changed: true,
        architecture: None,
        config: ConfigUpdate::default(),
        changes: Vec::new(),
        tags: BTreeMap::new(),
        publish: Publish::New {
            description: "pull request #12 @ e5f6071".into(),
        },
        aliases: vec![AliasMove {
            name: "pr-12".into(),
            from: Some("6".into()),
            to: None,
            revision_id: None,
        }],
        aliases_in_place: Vec::new(),
        code_route: CodeRoute::Direct,
        layers: Vec::new(),
        aliases_held: Vec::new(),
        function_url: None,
        function_url_removed: None,
    }
}

fn base() -> Report {
    Report {
        outcome: Outcome {
            status: Status::Deployed,
            version: Some("7".into()),
            published: true,
            aliases: vec!["pr-12".into()],
            moved: vec![Moved {
                name: "pr-12".into(),
                from: Some("6".into()),
                to: "7".into(),
            }],
            warnings: Vec::new(),
            elapsed_ms: 2500,
        },
        function_name: "hello-pr-12".into(),
        function_arn: Some("arn:aws:lambda:eu-west-1:123456789012:function:hello-pr-12".into()),
        s3_uri: None,
        function_url: Some("https://abcdefghij.lambda-url.eu-west-1.on.aws/".into()),
        provenance: Provenance {
            ref_label: Some("pull request #12".into()),
            short_sha: Some("e5f6071".into()),
            commit_url: Some(
                "https://github.com/octo-org/hello-lambda/commit/e5f60718293a4b5c6d7e8f9012345678a1b2c3d4"
                    .into(),
            ),
            run_url: Some("https://github.com/octo-org/hello-lambda/actions/runs/8123456704".into()),
        },
        layers: Vec::new(),
        layer_arns: None,
        image: None,
        plan: Some(preview_plan()),
        smoke: None,
        extra: ReportExtra {
            pull_request: Some(12),
            preview_alias: Some("pr-12".into()),
            preview_of: Some("hello".into()),
            release: None,
            url_auth: Some(FunctionUrl::Public),
            skipped: Vec::new(),
            removal: None,
            github: Some(GitHubNotes {
                comment: Some((
                    "https://github.com/octo-org/hello-lambda/pull/12#issuecomment-1".into(),
                    "updated",
                )),
                comment_skipped: None,
                deployment: Some(("preview-pr-12-hello".into(), "success".into())),
                deployment_skipped: None,
            }),
            shift: None,
        },
    }
}

fn removed() -> Report {
    let mut r = base();
    r.outcome.status = Status::Removed;
    r.outcome.version = None;
    r.outcome.published = false;
    r.outcome.aliases = Vec::new();
    r.outcome.moved = Vec::new();
    r.function_url = None;
    r.plan = None;
    r.extra.removal = Some(Removal {
        function: "hello-pr-12".into(),
        function_deleted: true,
        alias: "pr-12".into(),
        alias_version: Some("7".into()),
        url: Some("https://abcdefghij.lambda-url.eu-west-1.on.aws/".into()),
        versions_deleted: vec!["1".into(), "2".into()],
        versions_kept: Vec::new(),
        kept_because: None,
    });
    r.extra.github = Some(GitHubNotes {
        comment: None,
        comment_skipped: Some("GitHub answered 403 (Resource not accessible by integration) to updating the pull request comment".into()),
        deployment: Some(("preview-pr-12-hello".into(), "inactive (2 deployment(s))".into())),
        deployment_skipped: None,
    });
    r.outcome.warnings = vec!["version `5` is still served by alias `live`; it was kept".into()];
    r
}

fn release() -> Report {
    let mut r = base();
    r.function_name = "hello".into();
    r.function_arn = Some("arn:aws:lambda:eu-west-1:123456789012:function:hello".into());
    r.outcome.aliases = vec!["live".into(), "v1-2-4".into(), "v1-2".into()];
    r.outcome.moved = vec![
        Moved {
            name: "live".into(),
            from: Some("3".into()),
            to: "4".into(),
        },
        Moved {
            name: "v1-2-4".into(),
            from: None,
            to: "4".into(),
        },
        Moved {
            name: "v1-2".into(),
            from: Some("2".into()),
            to: "4".into(),
        },
    ];
    r.outcome.version = Some("4".into());
    r.function_url = None;
    r.plan = Some(release_plan());
    r.provenance.ref_label = Some("v1.2.4".into());
    r.extra = ReportExtra {
        release: Some("v1.2.4".into()),
        skipped: vec![SkippedMove {
            alias: "v1".into(),
            version: "3".into(),
            reason: "v1 serves v1.3.0, which is newer than v1.2.4; a release never moves an alias backwards".into(),
        }],
        ..ReportExtra::default()
    };
    r
}

/// The plan of the release run: `live` and two semver aliases move, `v1` is held back.
fn release_plan() -> Plan {
    let from = |name: &str, v: Option<&str>| AliasMove {
        name: name.into(),
        from: v.map(str::to_string),
        to: None,
        revision_id: None,
    };
    Plan {
        function_name: "hello".into(),
        publish: Publish::New {
            description: "v1.2.4 @ e5f6071".into(),
        },
        aliases: vec![
            from("live", Some("3")),
            from("v1-2-4", None),
            from("v1-2", Some("2")),
        ],
        aliases_held: vec![HeldAlias {
            name: "v1".into(),
            stays_on: "3".into(),
            reason: "v1 serves v1.3.0, which is newer than v1.2.4; a release never moves an alias backwards".into(),
        }],
        ..preview_plan()
    }
}

/// The text with this crate's version fixed, so a release does not change the snapshots.
fn pinned(text: String) -> String {
    text.replace(
        &format!("lambda-deploy {}", env!("CARGO_PKG_VERSION")),
        "lambda-deploy [version]",
    )
}

#[test]
fn preview_comment() {
    insta::assert_snapshot!(pinned(super::render(&base(), 12)));
}

#[test]
fn preview_comment_with_an_iam_url() {
    let mut r = base();
    r.extra.url_auth = Some(FunctionUrl::Iam);
    let body = super::render(&r, 12);
    assert!(
        body.contains("curl --aws-sigv4 \"aws:amz:eu-west-1:lambda\""),
        "{body}"
    );
}

#[test]
fn removed_preview_comment() {
    insta::assert_snapshot!(pinned(super::render(&removed(), 12)));
}

#[test]
fn preview_summary() {
    insta::assert_snapshot!(pinned(base().summary_markdown()));
}

#[test]
fn removed_preview_summary() {
    insta::assert_snapshot!(pinned(removed().summary_markdown()));
}

#[test]
fn release_summary() {
    insta::assert_snapshot!(pinned(release().summary_markdown()));
}

#[test]
fn comment_starts_with_its_marker_and_stays_under_the_limit() {
    let mut r = base();
    r.outcome.warnings = vec!["w".repeat(1000); 200];
    let body = super::render(&r, 12);
    assert!(body.starts_with("<!-- lambda-deploy:hello -->\n"));
    assert!(
        body.len() <= crate::report::GITHUB_BODY_LIMIT,
        "{}",
        body.len()
    );
}

/// Which comment is "ours": only one its token's identity wrote, never one anybody can
/// post with the marker in it.
mod sticky_author {
    use serde_json::{Value, json};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};

    use super::super::upsert;
    use crate::github::client;

    const LIST: &str = "/repos/o/r/issues/12/comments";
    const MARK: &str = "<!-- lambda-deploy:hello -->";

    fn comment(id: u64, login: &str, kind: &str, body: &str) -> Value {
        json!({
            "id": id, "body": body, "user": {"login": login, "id": id, "type": kind},
            "html_url": format!("https://github.com/o/r/pull/12#issuecomment-{id}")
        })
    }

    async fn github(user: ResponseTemplate, comments: Vec<Value>) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/user"))
            .respond_with(user)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(LIST))
            .respond_with(ResponseTemplate::new(200).set_body_json(Value::Array(comments)))
            .mount(&server)
            .await;
        let echo = |id: u64| {
            move |req: &Request| {
                let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
                let text = body["body"].as_str().unwrap_or_default();
                ResponseTemplate::new(200).set_body_json(comment(id, "x", "Bot", text))
            }
        };
        Mock::given(method("POST"))
            .and(path(LIST))
            .respond_with(echo(9000))
            .mount(&server)
            .await;
        Mock::given(method("PATCH"))
            .respond_with(echo(1))
            .mount(&server)
            .await;
        server
    }

    async fn writes(server: &MockServer) -> Vec<String> {
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.method.as_str() != "GET")
            .map(|r| format!("{} {}", r.method, r.url.path()))
            .collect()
    }

    fn installation_token() -> ResponseTemplate {
        ResponseTemplate::new(403).set_body_json(json!({
            "message": "Resource not accessible by integration",
            "documentation_url": "https://docs.github.com/rest/users/users#get-the-authenticated-user",
            "status": "403"
        }))
    }

    #[tokio::test]
    async fn a_marker_comment_by_someone_else_is_not_edited() {
        let planted = format!("{MARK}\nplanted by someone else");
        let server = github(
            installation_token(),
            vec![comment(5, "mallory", "User", &planted)],
        )
        .await;
        let crab = client(&server.uri(), &"ghs_x".to_string().into()).expect("client");
        let (_, created) = upsert(&crab, "o", "r", 12, MARK, &format!("{MARK}\nours"))
            .await
            .expect("upsert");
        assert!(created);
        assert_eq!(writes(&server).await, vec![format!("POST {LIST}")]);
    }

    #[tokio::test]
    async fn the_token_identity_finds_its_own_comment() {
        // GITHUB_TOKEN: `GET /user` is refused; its comments are github-actions[bot]'s.
        let server = github(
            installation_token(),
            vec![
                comment(5, "mallory", "User", MARK),
                comment(6, "github-actions[bot]", "Bot", MARK),
            ],
        )
        .await;
        let crab = client(&server.uri(), &"ghs_x".to_string().into()).expect("client");
        let (_, created) = upsert(&crab, "o", "r", 12, MARK, MARK)
            .await
            .expect("upsert");
        assert!(!created);
        assert_eq!(
            writes(&server).await,
            vec!["PATCH /repos/o/r/issues/comments/6".to_string()]
        );

        // A personal token: the authenticated user, and not github-actions[bot].
        let server = github(
            ResponseTemplate::new(200)
                .set_body_json(json!({"login": "deploy-bot", "id": 77, "type": "User"})),
            vec![
                comment(6, "github-actions[bot]", "Bot", MARK),
                comment(7, "deploy-bot", "User", MARK),
            ],
        )
        .await;
        let crab = client(&server.uri(), &"ghp_x".to_string().into()).expect("client");
        let (_, created) = upsert(&crab, "o", "r", 12, MARK, MARK)
            .await
            .expect("upsert");
        assert!(!created);
        assert_eq!(
            writes(&server).await,
            vec!["PATCH /repos/o/r/issues/comments/7".to_string()]
        );
    }
}

/// The one comment of a manifest step: every function in one table, written once and
/// then updated in place, through the in-memory GitHub.
mod manifest_comment {
    use super::*;
    use crate::github::comment::many::{self, Step};
    use crate::github::comment::{ACTIONS_BOT, marker};
    use crate::github::fake::FakeGitHub;
    use crate::github::step_comment;
    use crate::report::many::{EntryResult, Failure};

    const PR: u64 = 12;
    const RUN: &str = "https://github.com/octo-org/hello-lambda/actions/runs/8123456704";

    /// A preview of `name` deployed as `<name>-pr-12`, on `version`.
    fn preview(name: &str, version: &str) -> EntryResult {
        let mut r = base();
        r.function_name = format!("{name}-pr-12");
        r.extra.preview_of = Some(name.into());
        r.outcome.version = Some(version.into());
        r.function_url = Some(format!("https://{name}.lambda-url.eu-west-1.on.aws/"));
        EntryResult {
            name: name.into(),
            result: Ok(r),
        }
    }

    fn failed(name: &str) -> EntryResult {
        EntryResult {
            name: name.into(),
            result: Err(Failure {
                title: "lambda-deploy: AWS refused the request".into(),
                message: "the role cannot be assumed by Lambda; check role".into(),
            }),
        }
    }

    fn step(marker: &str) -> Step<'_> {
        Step {
            marker,
            pr: PR,
            run_url: Some(RUN),
        }
    }

    #[tokio::test]
    async fn one_comment_lists_every_function_and_the_next_run_updates_it() {
        let gh = FakeGitHub::installation();
        // A comment an earlier version wrote for one function stays as it is.
        let old = gh.add_comment(PR, ACTIONS_BOT, &format!("{}\nold", marker("orders")));
        let mark = many::marker("deploy/lambda-deploy.yml");
        let at = ("o", "r", PR);

        let first = [
            preview("orders", "1"),
            preview("thumbs", "1"),
            failed("mailer"),
        ];
        let mut notes = GitHubNotes::default();
        step_comment(&gh, false, at, &step(&mark), &first, &mut notes).await;
        let created = gh.comments(PR).last().map(|c| c.id).unwrap_or_default();
        assert_eq!(
            notes.comment.as_ref().map(|c| c.1),
            Some("created"),
            "{notes:?}"
        );

        let second = [
            preview("orders", "2"),
            preview("thumbs", "1"),
            preview("mailer", "1"),
        ];
        let mut notes = GitHubNotes::default();
        step_comment(&gh, false, at, &step(&mark), &second, &mut notes).await;
        assert_eq!(notes.comment.as_ref().map(|c| c.1), Some("updated"));
        assert_eq!(
            gh.writes(),
            [
                "POST /repos/o/r/issues/12/comments".to_string(),
                format!("PATCH /repos/o/r/issues/comments/{created}"),
            ]
        );
        let comments = gh.comments(PR);
        assert_eq!(comments.len(), 2, "{comments:?}");
        let text = |id| {
            comments
                .iter()
                .find(|c| c.id == id)
                .and_then(|c| c.body.clone())
                .unwrap_or_default()
        };
        assert_eq!(text(old), format!("{}\nold", marker("orders")));
        let body = text(created);
        assert!(body.starts_with(&format!("{mark}\n")), "{body}");
        for want in [
            "| `orders-pr-12` | deployed | `2` | `pr-12` | https://orders.lambda-url.eu-west-1.on.aws/ |",
            "| `thumbs-pr-12` | deployed | `1` | `pr-12` |",
            "| `mailer-pr-12` | deployed | `1` | `pr-12` |",
            "<details><summary>orders deployed</summary>",
            RUN,
        ] {
            assert!(body.contains(want), "{want:?} not in\n{body}");
        }
        // A single-function step must never take this comment for its own.
        for name in ["orders", "thumbs", "mailer", "hello"] {
            assert!(!body.contains(&marker(name)), "{name}'s marker in\n{body}");
        }
    }

    #[test]
    fn manifest_comment() {
        let mark = many::marker("deploy/lambda-deploy.yml");
        let results = [preview("orders", "3"), failed("mailer")];
        insta::assert_snapshot!(pinned(many::render(&step(&mark), &results)));
    }

    #[test]
    fn a_huge_step_drops_details_before_it_truncates() {
        let mark = many::marker("deploy/lambda-deploy.yml");
        let mut results: Vec<EntryResult> =
            (0..40).map(|i| preview(&format!("fn{i}"), "1")).collect();
        for r in &mut results {
            if let Ok(rep) = &mut r.result {
                rep.outcome.warnings = vec!["w".repeat(400); 10];
            }
        }
        let body = many::render(&step(&mark), &results);
        assert!(
            body.len() <= crate::report::GITHUB_BODY_LIMIT,
            "{}",
            body.len()
        );
        assert!(body.starts_with(&mark), "{body}");
        assert!(!body.contains("<details>"), "details should go first");
        assert!(body.contains("| `fn39-pr-12` |"), "every row stays");
    }

    #[test]
    fn the_marker_cannot_end_its_html_comment() {
        assert_eq!(
            many::marker("ci/many fns-->.yml"),
            "<!-- lambda-deploy:manifest:ci/many_fns--_.yml -->"
        );
    }
}
