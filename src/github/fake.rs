//! An in-memory GitHub behind [`GitHubApi`], for unit tests of the sticky-comment and
//! preview deployment rules. It models what they depend on: comments with their authors,
//! listed in pages (so a comment past the first page is found only by paging), the
//! identity behind the token (an installation token may not read `GET /user`), the state
//! of each pull request (for the prune of closed pull requests' previews), deployments per
//! repository and environment with the statuses given to them (listed newest first, in
//! pages), and refusals of a call (403 for a read-only token, or any status)
//! ([`FakeGitHub::refuse`]). GitHub's own side effects of a status (`auto_inactive`) are
//! not modelled: the fake holds the statuses it was sent.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::api::{
    ACTIONS_BOT, Author, Comment, DeploymentState, DeploymentStatus, GitHubApi, GitHubError,
    NewDeployment, PullState,
};

/// Everything the fake holds.
#[derive(Debug, Default)]
pub struct Issues {
    /// Comments by issue number, oldest first.
    pub comments: BTreeMap<u64, Vec<Comment>>,
    /// The login of a user token; `None` for an installation token (`GET /user` is 403).
    pub user: Option<String>,
    /// Who a write is recorded as (`github-actions[bot]` for an installation token).
    pub writer: String,
    /// Comments per page when listing.
    pub page_size: usize,
    /// The state of each pull request; one not here is answered 404.
    pub pulls: BTreeMap<u64, PullState>,
    /// Deployments, oldest first.
    pub deployments: Vec<FakeDeployment>,
    /// Every call as `<method> <what>`, in order.
    pub calls: Vec<String>,
    /// `(method, status)`: every call of the method is refused with the status.
    refusals: Vec<(&'static str, u16)>,
    next_id: u64,
}

/// A deployment the fake holds.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeDeployment {
    pub id: u64,
    /// `owner/repo`.
    pub repo: String,
    pub deployment: NewDeployment,
    /// The statuses it was given, oldest first.
    pub statuses: Vec<DeploymentStatus>,
}

impl FakeDeployment {
    /// The state of its latest status; `None` before the first.
    pub fn state(&self) -> Option<DeploymentState> {
        self.statuses.last().map(|s| s.state)
    }
}

/// A handle on the in-memory GitHub.
#[derive(Debug, Clone)]
pub struct FakeGitHub {
    world: Arc<Mutex<Issues>>,
}

impl FakeGitHub {
    /// GitHub as `GITHUB_TOKEN` sees it: an installation that writes as
    /// `github-actions[bot]`, pages of 100.
    pub(crate) fn installation() -> Self {
        Self {
            world: Arc::new(Mutex::new(Issues {
                writer: ACTIONS_BOT.to_string(),
                page_size: 100,
                next_id: 1000,
                ..Issues::default()
            })),
        }
    }

    /// GitHub as a user's token sees it: `GET /user` names `login`, who writes.
    pub fn user(login: &str) -> Self {
        let g = Self::installation();
        {
            let mut w = g.world();
            w.user = Some(login.to_string());
            w.writer = login.to_string();
        }
        g
    }

    /// Everything the fake holds, locked.
    pub fn world(&self) -> MutexGuard<'_, Issues> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a comment by `login` to issue `number`; returns its id.
    pub(crate) fn add_comment(&self, number: u64, login: &str, body: &str) -> u64 {
        let mut w = self.world();
        w.next_id += 1;
        let c = comment(w.next_id, number, login, body);
        w.comments.entry(number).or_default().push(c);
        w.next_id
    }

    /// The comments of issue `number`.
    pub fn comments(&self, number: u64) -> Vec<Comment> {
        self.world()
            .comments
            .get(&number)
            .cloned()
            .unwrap_or_default()
    }

    /// Adds a deployment of `environment` to `owner/repo` with a `success` status, as an
    /// earlier run would have; returns its id.
    pub(crate) fn add_deployment(&self, owner_repo: &str, environment: &str) -> u64 {
        let mut w = self.world();
        w.next_id += 1;
        let id = w.next_id;
        let d = FakeDeployment {
            id,
            repo: owner_repo.to_string(),
            deployment: NewDeployment {
                git_ref: "0123456789abcdef0123456789abcdef01234567".into(),
                environment: environment.to_string(),
                description: "an earlier push".into(),
                transient_environment: true,
                production_environment: false,
                auto_merge: false,
                required_contexts: Vec::new(),
                payload: serde_json::Value::Null,
            },
            statuses: vec![DeploymentStatus {
                state: DeploymentState::Success,
                description: "an earlier push".into(),
                environment_url: None,
                log_url: None,
                auto_inactive: true,
            }],
        };
        w.deployments.push(d);
        id
    }

    /// The deployments, oldest first.
    pub fn deployments(&self) -> Vec<FakeDeployment> {
        self.world().deployments.clone()
    }

    /// The writes made so far (`POST` and `PATCH`).
    pub fn writes(&self) -> Vec<String> {
        let w = self.world();
        w.calls
            .iter()
            .filter(|c| !c.starts_with("GET"))
            .cloned()
            .collect()
    }

    /// Refuses every `method` call (`GET`, `POST`, `PATCH`) with HTTP `status`.
    pub fn refuse(&self, method: &'static str, status: u16) {
        self.world().refusals.push((method, status));
    }

    fn enter(
        &self,
        method: &'static str,
        what: &'static str,
        path: String,
    ) -> Result<MutexGuard<'_, Issues>, GitHubError> {
        let mut w = self.world();
        w.calls.push(format!("{method} {path}"));
        match w.refusals.iter().find(|r| r.0 == method) {
            Some(&(_, status)) if status == 403 || status == 404 => Err(GitHubError::Denied {
                what,
                status,
                message: "Resource not accessible by integration".into(),
            }),
            Some(&(_, status)) => Err(GitHubError::Api {
                what,
                status,
                message: "refused".into(),
            }),
            None => Ok(w),
        }
    }
}

fn comment(id: u64, number: u64, login: &str, body: &str) -> Comment {
    Comment {
        id,
        body: Some(body.to_string()),
        html_url: format!("https://github.com/o/r/pull/{number}#issuecomment-{id}"),
        user: Some(Author {
            login: login.to_string(),
        }),
    }
}

impl GitHubApi for FakeGitHub {
    async fn token_login(&self) -> Result<String, GitHubError> {
        let w = self.enter("GET", "reading the token's user", "/user".into())?;
        w.user.clone().ok_or(GitHubError::Denied {
            what: "reading the token's user",
            status: 403,
            message: "Resource not accessible by integration".into(),
        })
    }

    async fn list_comments(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        stop: &(dyn Fn(&Comment) -> bool + Sync),
    ) -> Result<Vec<Comment>, GitHubError> {
        let what = "listing the pull request's comments";
        let all = self.comments(number);
        let size = self.world().page_size.max(1);
        let mut seen = Vec::new();
        for (n, page) in all.chunks(size).enumerate() {
            let path = format!(
                "/repos/{owner}/{repo}/issues/{number}/comments?page={}",
                n + 1
            );
            drop(self.enter("GET", what, path)?);
            seen.extend_from_slice(page);
            if page.iter().any(stop) {
                break;
            }
        }
        Ok(seen)
    }

    async fn create_comment(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        body: &str,
    ) -> Result<Comment, GitHubError> {
        let path = format!("/repos/{owner}/{repo}/issues/{number}/comments");
        let mut w = self.enter("POST", "creating the pull request comment", path)?;
        w.next_id += 1;
        let c = comment(w.next_id, number, &w.writer, body);
        w.comments.entry(number).or_default().push(c.clone());
        Ok(c)
    }

    async fn update_comment(
        &self,
        owner: &str,
        repo: &str,
        id: u64,
        body: &str,
    ) -> Result<Comment, GitHubError> {
        let what = "updating the pull request comment";
        let path = format!("/repos/{owner}/{repo}/issues/comments/{id}");
        let mut w = self.enter("PATCH", what, path)?;
        let found = w.comments.values_mut().flatten().find(|c| c.id == id);
        let Some(c) = found else {
            return Err(GitHubError::Denied {
                what,
                status: 404,
                message: "Not Found".into(),
            });
        };
        c.body = Some(body.to_string());
        Ok(c.clone())
    }

    async fn pull_state(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> Result<PullState, GitHubError> {
        let what = "reading the pull request's state";
        let w = self.enter("GET", what, format!("/repos/{owner}/{repo}/pulls/{number}"))?;
        w.pulls.get(&number).copied().ok_or(GitHubError::Denied {
            what,
            status: 404,
            message: "Not Found".into(),
        })
    }

    async fn create_deployment(
        &self,
        owner: &str,
        repo: &str,
        deployment: &NewDeployment,
    ) -> Result<u64, GitHubError> {
        let path = format!("/repos/{owner}/{repo}/deployments");
        let mut w = self.enter("POST", "creating the deployment", path)?;
        w.next_id += 1;
        let id = w.next_id;
        w.deployments.push(FakeDeployment {
            id,
            repo: format!("{owner}/{repo}"),
            deployment: deployment.clone(),
            statuses: Vec::new(),
        });
        Ok(id)
    }

    async fn create_deployment_status(
        &self,
        owner: &str,
        repo: &str,
        id: u64,
        status: &DeploymentStatus,
    ) -> Result<(), GitHubError> {
        let path = format!("/repos/{owner}/{repo}/deployments/{id}/statuses");
        let mut w = self.enter("POST", status.what(), path)?;
        let full = format!("{owner}/{repo}");
        let found = w
            .deployments
            .iter_mut()
            .find(|d| d.id == id && d.repo == full);
        let Some(d) = found else {
            return Err(GitHubError::Denied {
                what: status.what(),
                status: 404,
                message: "Not Found".into(),
            });
        };
        d.statuses.push(status.clone());
        Ok(())
    }

    async fn list_deployments(
        &self,
        owner: &str,
        repo: &str,
        environment: &str,
    ) -> Result<Vec<u64>, GitHubError> {
        let full = format!("{owner}/{repo}");
        let (ids, size): (Vec<u64>, usize) = {
            let w = self.world();
            let ids = w.deployments.iter().rev();
            let ids = ids.filter(|d| d.repo == full && d.deployment.environment == environment);
            (ids.map(|d| d.id).collect(), w.page_size.max(1))
        };
        // One request per page, and one for an empty list.
        for n in 1..=ids.len().div_ceil(size).max(1) {
            let path =
                format!("/repos/{owner}/{repo}/deployments?environment={environment}&page={n}");
            drop(self.enter("GET", "listing the preview's deployments", path)?);
        }
        Ok(ids)
    }
}
