//! A local stand-in for GitHub's REST API (wiremock), answering with the shapes GitHub
//! documents, and the event fixtures that make the binary believe it runs in Actions.

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub const OWNER_REPO: &str = "octo-org/hello-lambda";
pub const TOKEN: &str = "ghs_lambdaDeployTestToken0123456789";

/// The recorded `GITHUB_*` env of one fixture, with `GITHUB_EVENT_PATH` pointing at it.
pub fn fixture_env(name: &str) -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events");
    let text = std::fs::read_to_string(dir.join("env.json")).expect("env.json");
    let all: HashMap<String, HashMap<String, String>> =
        serde_json::from_str(&text).expect("env.json is JSON");
    let mut env: Vec<(String, String)> = all[name].clone().into_iter().collect();
    env.push((
        "GITHUB_EVENT_PATH".into(),
        dir.join(name).display().to_string(),
    ));
    env
}

/// The fake API, on a runtime that lives as long as it does (the binary runs meanwhile).
pub struct FakeGitHub {
    pub rt: tokio::runtime::Runtime,
    pub server: MockServer,
}

pub fn user() -> Value {
    json!({
        "login": "github-actions[bot]", "id": 41898282, "node_id": "MDM6Qm90NDE4OTgyODI=",
        "avatar_url": "https://avatars.githubusercontent.com/in/15368?v=4", "gravatar_id": "",
        "url": "https://api.github.com/users/github-actions%5Bbot%5D",
        "html_url": "https://github.com/apps/github-actions",
        "followers_url": "https://api.github.com/users/github-actions%5Bbot%5D/followers",
        "following_url": "https://api.github.com/users/github-actions%5Bbot%5D/following{/other_user}",
        "gists_url": "https://api.github.com/users/github-actions%5Bbot%5D/gists{/gist_id}",
        "starred_url": "https://api.github.com/users/github-actions%5Bbot%5D/starred{/owner}{/repo}",
        "subscriptions_url": "https://api.github.com/users/github-actions%5Bbot%5D/subscriptions",
        "organizations_url": "https://api.github.com/users/github-actions%5Bbot%5D/orgs",
        "repos_url": "https://api.github.com/users/github-actions%5Bbot%5D/repos",
        "events_url": "https://api.github.com/users/github-actions%5Bbot%5D/events{/privacy}",
        "received_events_url": "https://api.github.com/users/github-actions%5Bbot%5D/received_events",
        "type": "Bot", "site_admin": false
    })
}

/// An issue comment as GitHub returns it.
pub fn comment(id: u64, body: &str) -> Value {
    json!({
        "id": id, "node_id": format!("IC_kwDOA{id}"),
        "url": format!("https://api.github.com/repos/{OWNER_REPO}/issues/comments/{id}"),
        "html_url": format!("https://github.com/{OWNER_REPO}/pull/12#issuecomment-{id}"),
        "body": body, "user": user(),
        "created_at": "2025-03-15T08:05:00Z", "updated_at": "2025-03-15T08:05:00Z",
        "issue_url": format!("https://api.github.com/repos/{OWNER_REPO}/issues/12"),
        "author_association": "NONE"
    })
}

/// A deployment as GitHub returns it.
pub fn deployment(id: u64, sha: &str, environment: &str) -> Value {
    json!({
        "url": format!("https://api.github.com/repos/{OWNER_REPO}/deployments/{id}"),
        "id": id, "node_id": format!("DE_kwDOA{id}"), "sha": sha, "ref": sha,
        "task": "deploy", "payload": {}, "original_environment": environment,
        "environment": environment, "description": "lambda-deploy preview", "creator": user(),
        "created_at": "2025-03-15T08:05:00Z", "updated_at": "2025-03-15T08:05:00Z",
        "statuses_url": format!("https://api.github.com/repos/{OWNER_REPO}/deployments/{id}/statuses"),
        "repository_url": format!("https://api.github.com/repos/{OWNER_REPO}"),
        "transient_environment": true, "production_environment": false
    })
}

/// A deployment status as GitHub returns it, echoing the request.
pub fn status(deployment: u64, req: &Request) -> Value {
    let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
    json!({
        "url": format!("https://api.github.com/repos/{OWNER_REPO}/deployments/{deployment}/statuses/1"),
        "id": 1, "node_id": "MDE2OkRlcGxveW1lbnRTdGF0dXMx", "state": body["state"],
        "creator": user(), "description": body["description"], "environment": "preview",
        "target_url": "", "log_url": body["log_url"], "environment_url": body["environment_url"],
        "created_at": "2025-03-15T08:05:00Z", "updated_at": "2025-03-15T08:05:00Z",
        "deployment_url": format!("https://api.github.com/repos/{OWNER_REPO}/deployments/{deployment}"),
        "repository_url": format!("https://api.github.com/repos/{OWNER_REPO}")
    })
}

/// A request the fake received, reduced to what tests assert on.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    pub body: Value,
}

impl FakeGitHub {
    pub fn start() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let server = rt.block_on(MockServer::start());
        Self { rt, server }
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    pub fn mount(&self, mock: Mock) {
        self.rt.block_on(mock.mount(&self.server));
    }

    pub fn reset(&self) {
        self.rt.block_on(self.server.reset());
    }

    pub fn received(&self) -> Vec<Seen> {
        self.rt
            .block_on(self.server.received_requests())
            .unwrap_or_default()
            .into_iter()
            .map(|r| Seen {
                method: r.method.to_string(),
                path: r.url.path().to_string(),
                query: r.url.query().unwrap_or_default().to_string(),
                authorization: r
                    .headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
                body: serde_json::from_slice(&r.body).unwrap_or(Value::Null),
            })
            .collect()
    }

    /// `GET` of the comments list: one page with `comments`.
    pub fn comments_page(&self, pr: u64, comments: Vec<Value>) {
        self.mount(
            Mock::given(method("GET"))
                .and(path(format!("/repos/{OWNER_REPO}/issues/{pr}/comments")))
                .respond_with(ResponseTemplate::new(200).set_body_json(Value::Array(comments))),
        );
    }

    /// `GET` of the comments list in two pages, linked as GitHub links them.
    pub fn comments_two_pages(&self, pr: u64, first: Vec<Value>, second: Vec<Value>) {
        let route = format!("/repos/{OWNER_REPO}/issues/{pr}/comments");
        let next = format!("{}{route}?per_page=100&page=2", self.uri());
        self.mount(
            Mock::given(method("GET"))
                .and(path(route.clone()))
                .and(query_param_is_missing("page"))
                .respond_with(
                    ResponseTemplate::new(200)
                        .insert_header(
                            "link",
                            format!("<{next}>; rel=\"next\", <{next}>; rel=\"last\"").as_str(),
                        )
                        .set_body_json(Value::Array(first)),
                ),
        );
        self.mount(
            Mock::given(method("GET"))
                .and(path(route))
                .and(query_param("page", "2"))
                .respond_with(ResponseTemplate::new(200).set_body_json(Value::Array(second))),
        );
    }

    /// `POST` of a new comment (201, id `id`) and `PATCH` of comment `id` (200).
    pub fn comment_writes(&self, pr: u64, id: u64) {
        self.mount(
            Mock::given(method("POST"))
                .and(path(format!("/repos/{OWNER_REPO}/issues/{pr}/comments")))
                .respond_with(move |req: &Request| {
                    let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
                    ResponseTemplate::new(201)
                        .set_body_json(comment(id, body["body"].as_str().unwrap_or_default()))
                }),
        );
        self.mount(
            Mock::given(method("PATCH"))
                .and(path(format!("/repos/{OWNER_REPO}/issues/comments/{id}")))
                .respond_with(move |req: &Request| {
                    let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
                    ResponseTemplate::new(200)
                        .set_body_json(comment(id, body["body"].as_str().unwrap_or_default()))
                }),
        );
    }

    /// `POST` of a deployment (201, id `id`) and of its statuses (201).
    pub fn deployment_writes(&self, id: u64) {
        self.mount(
            Mock::given(method("POST"))
                .and(path(format!("/repos/{OWNER_REPO}/deployments")))
                .respond_with(move |req: &Request| {
                    let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
                    ResponseTemplate::new(201).set_body_json(deployment(
                        id,
                        body["ref"].as_str().unwrap_or_default(),
                        body["environment"].as_str().unwrap_or_default(),
                    ))
                }),
        );
        self.statuses();
    }

    /// `POST` of a status on any deployment (201).
    pub fn statuses(&self) {
        self.mount(
            Mock::given(method("POST"))
                .and(wiremock::matchers::path_regex(format!(
                    r"^/repos/{OWNER_REPO}/deployments/\d+/statuses$"
                )))
                .respond_with(|req: &Request| {
                    let id: u64 = req
                        .url
                        .path()
                        .split('/')
                        .nth(5)
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    ResponseTemplate::new(201).set_body_json(status(id, req))
                }),
        );
    }

    /// Every request answered with GitHub's 403 for a token that may not write.
    pub fn forbid_everything(&self) {
        self.answer_everything(403, "Resource not accessible by integration");
    }

    /// Every request answered with `status` and GitHub's error body.
    pub fn answer_everything(&self, status: u16, message: &str) {
        self.mount(Mock::given(wiremock::matchers::any()).respond_with(
            ResponseTemplate::new(status).set_body_json(json!({
                "message": message,
                "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
                "status": status.to_string()
            })),
        ));
    }
}
