//! The seam between the pull request comment and preview deployment logic and GitHub's
//! REST API: [`GitHubApi`], the calls that logic makes, in plain types. [`Octocrab`]
//! implements it; an in-memory fake (`super::fake`, in tests and under the `fake`
//! feature) implements it with what the sticky-comment and deployment rules depend on
//! (comment authors, the token's identity, paging, deployments per environment and their
//! statuses, refusals), so those rules are unit-tested without a server.

use std::future::Future;

use octocrab::{Octocrab, Page};
use serde::{Deserialize, Serialize};

/// A GitHub call that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitHubError {
    /// 403 or 404: the token may not do this.
    #[error(
        "GitHub answered {status} ({message}) to {what}: the token cannot write here; a pull request from a fork gets a read-only token, and the job needs `permissions: pull-requests: write` and `deployments: write`"
    )]
    Denied {
        what: &'static str,
        status: u16,
        message: String,
    },
    /// Any other answer.
    #[error("GitHub answered {status} ({message}) to {what}")]
    Api {
        what: &'static str,
        status: u16,
        message: String,
    },
    /// No answer, or one that could not be read.
    #[error("{what} failed: {message}")]
    Client { what: &'static str, message: String },
}

impl GitHubError {
    /// Classifies an octocrab error (whose `Display` says only "GitHub").
    pub(crate) fn from_octocrab(what: &'static str, e: octocrab::Error) -> Self {
        match e {
            octocrab::Error::GitHub { source, .. } => {
                let status = source.status_code.as_u16();
                let message = source.message.clone();
                if status == 403 || status == 404 {
                    Self::Denied {
                        what,
                        status,
                        message,
                    }
                } else {
                    Self::Api {
                        what,
                        status,
                        message,
                    }
                }
            }
            other => Self::Client {
                what,
                message: other.to_string(),
            },
        }
    }
}

/// The author of every comment `GITHUB_TOKEN` (an installation token of the GitHub Actions
/// app) writes.
pub(crate) const ACTIONS_BOT: &str = "github-actions[bot]";

/// An issue or pull request comment, as much of it as is read here.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Comment {
    pub id: u64,
    #[serde(default)]
    pub body: Option<String>,
    pub html_url: String,
    #[serde(default)]
    pub user: Option<Author>,
}

/// A comment's author, or the authenticated user.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Author {
    pub login: String,
}

/// Where a pull request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PullState {
    Open,
    Closed,
    Merged,
}

impl PullState {
    /// `open`, `closed` or `merged`.
    pub fn word(self) -> &'static str {
        match self {
            PullState::Open => "open",
            PullState::Closed => "closed",
            PullState::Merged => "merged",
        }
    }
}

/// As much of a pull request as is read here (`GET /repos/{owner}/{repo}/pulls/{number}`).
#[derive(Deserialize)]
struct Pull {
    state: String,
    #[serde(default)]
    merged: Option<bool>,
    #[serde(default)]
    merged_at: Option<String>,
}

impl Pull {
    fn state(&self) -> PullState {
        if self.state == "open" {
            PullState::Open
        } else if self.merged == Some(true) || self.merged_at.is_some() {
            PullState::Merged
        } else {
            PullState::Closed
        }
    }
}

/// What a pull request comment, a preview's deployment, and the prune of closed pull
/// requests' previews need from GitHub.
pub trait GitHubApi: Send + Sync {
    /// The login of the user behind the token (`GET /user`); an installation token may
    /// not read it and gets an error.
    fn token_login(&self) -> impl Future<Output = Result<String, GitHubError>>;
    /// The comments of issue `number` in pages of 100, in order; stops after the first
    /// page holding a comment `stop` accepts.
    fn list_comments(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        stop: &(dyn Fn(&Comment) -> bool + Sync),
    ) -> impl Future<Output = Result<Vec<Comment>, GitHubError>>;
    /// Adds a comment to issue `number`.
    fn create_comment(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        body: &str,
    ) -> impl Future<Output = Result<Comment, GitHubError>>;
    /// Replaces the body of comment `id`.
    fn update_comment(
        &self,
        owner: &str,
        repo: &str,
        id: u64,
        body: &str,
    ) -> impl Future<Output = Result<Comment, GitHubError>>;
    /// Whether pull request `number` is open, closed or merged.
    fn pull_state(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> impl Future<Output = Result<PullState, GitHubError>>;
    /// Creates a deployment; returns its id.
    fn create_deployment(
        &self,
        owner: &str,
        repo: &str,
        deployment: &NewDeployment,
    ) -> impl Future<Output = Result<u64, GitHubError>>;
    /// Adds a status to deployment `id`.
    fn create_deployment_status(
        &self,
        owner: &str,
        repo: &str,
        id: u64,
        status: &DeploymentStatus,
    ) -> impl Future<Output = Result<(), GitHubError>>;
    /// The ids of every deployment of `environment`, newest first, all pages.
    fn list_deployments(
        &self,
        owner: &str,
        repo: &str,
        environment: &str,
    ) -> impl Future<Output = Result<Vec<u64>, GitHubError>>;
}

#[derive(Serialize)]
struct ListQuery {
    per_page: u8,
}

#[derive(Serialize)]
struct CommentBody<'a> {
    body: &'a str,
}

impl GitHubApi for Octocrab {
    async fn token_login(&self) -> Result<String, GitHubError> {
        self.get::<Author, _, ()>("/user", None)
            .await
            .map(|me| me.login)
            .map_err(|e| GitHubError::from_octocrab("reading the token's user", e))
    }

    async fn list_comments(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        stop: &(dyn Fn(&Comment) -> bool + Sync),
    ) -> Result<Vec<Comment>, GitHubError> {
        let list = format!("/repos/{owner}/{repo}/issues/{number}/comments");
        let err = |e| GitHubError::from_octocrab("listing the pull request's comments", e);
        let mut page: Page<Comment> = self
            .get(&list, Some(&ListQuery { per_page: 100 }))
            .await
            .map_err(err)?;
        let mut all = Vec::new();
        loop {
            let found = page.items.iter().any(stop);
            all.append(&mut page.items);
            if found {
                return Ok(all);
            }
            match self.get_page::<Comment>(&page.next).await.map_err(err)? {
                Some(next) => page = next,
                None => return Ok(all),
            }
        }
    }

    async fn create_comment(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        body: &str,
    ) -> Result<Comment, GitHubError> {
        self.post(
            format!("/repos/{owner}/{repo}/issues/{number}/comments"),
            Some(&CommentBody { body }),
        )
        .await
        .map_err(|e| GitHubError::from_octocrab("creating the pull request comment", e))
    }

    async fn update_comment(
        &self,
        owner: &str,
        repo: &str,
        id: u64,
        body: &str,
    ) -> Result<Comment, GitHubError> {
        self.patch(
            format!("/repos/{owner}/{repo}/issues/comments/{id}"),
            Some(&CommentBody { body }),
        )
        .await
        .map_err(|e| GitHubError::from_octocrab("updating the pull request comment", e))
    }

    async fn pull_state(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
    ) -> Result<PullState, GitHubError> {
        self.get::<Pull, _, ()>(format!("/repos/{owner}/{repo}/pulls/{number}"), None)
            .await
            .map(|p| p.state())
            .map_err(|e| GitHubError::from_octocrab("reading the pull request's state", e))
    }

    async fn create_deployment(
        &self,
        owner: &str,
        repo: &str,
        deployment: &NewDeployment,
    ) -> Result<u64, GitHubError> {
        let path = format!("/repos/{owner}/{repo}/deployments");
        self.post::<_, DeploymentId>(path, Some(deployment))
            .await
            .map(|d| d.id)
            .map_err(|e| GitHubError::from_octocrab("creating the deployment", e))
    }

    async fn create_deployment_status(
        &self,
        owner: &str,
        repo: &str,
        id: u64,
        status: &DeploymentStatus,
    ) -> Result<(), GitHubError> {
        let path = format!("/repos/{owner}/{repo}/deployments/{id}/statuses");
        self.post::<_, serde_json::Value>(path, Some(status))
            .await
            .map(drop)
            .map_err(|e| GitHubError::from_octocrab(status.what(), e))
    }

    async fn list_deployments(
        &self,
        owner: &str,
        repo: &str,
        environment: &str,
    ) -> Result<Vec<u64>, GitHubError> {
        let err = |e| GitHubError::from_octocrab("listing the preview's deployments", e);
        let query = DeploymentQuery {
            environment,
            per_page: 100,
        };
        let first: Page<DeploymentId> = self
            .get(format!("/repos/{owner}/{repo}/deployments"), Some(&query))
            .await
            .map_err(err)?;
        let all = self.all_pages(first).await.map_err(err)?;
        Ok(all.into_iter().map(|d| d.id).collect())
    }
}

/// A deployment to create, as `POST /repos/{owner}/{repo}/deployments` takes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewDeployment {
    /// The commit deployed.
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub environment: String,
    pub description: String,
    pub transient_environment: bool,
    pub production_environment: bool,
    pub auto_merge: bool,
    pub required_contexts: Vec<String>,
    pub payload: serde_json::Value,
}

/// The state a deployment status sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeploymentState {
    Success,
    Inactive,
}

/// A deployment status, as `POST .../deployments/{id}/statuses` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeploymentStatus {
    pub state: DeploymentState,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_url: Option<String>,
    /// GitHub marks the environment's earlier deployments inactive (on `success`).
    pub auto_inactive: bool,
}

impl DeploymentStatus {
    /// What the call that sets it does, for errors.
    pub fn what(&self) -> &'static str {
        match self.state {
            DeploymentState::Success => "setting the deployment status",
            DeploymentState::Inactive => "marking the deployment inactive",
        }
    }
}

/// A deployment, as much of it as is read here.
#[derive(Debug, Deserialize)]
struct DeploymentId {
    id: u64,
}

#[derive(Serialize)]
struct DeploymentQuery<'a> {
    environment: &'a str,
    per_page: u8,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pull_request_is_open_closed_or_merged_as_github_reports_it() {
        let state = |json: &str| {
            serde_json::from_str::<Pull>(json)
                .expect("a pull request")
                .state()
        };
        assert_eq!(state(r#"{"state":"open","merged":false}"#), PullState::Open);
        assert_eq!(
            state(r#"{"state":"closed","merged":false,"merged_at":null}"#),
            PullState::Closed
        );
        assert_eq!(
            state(r#"{"state":"closed","merged":true}"#),
            PullState::Merged
        );
        assert_eq!(
            state(r#"{"state":"closed","merged_at":"2025-03-16T08:00:00Z"}"#),
            PullState::Merged
        );
    }
}
