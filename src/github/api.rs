//! The seam between the pull request comment logic and GitHub's REST API: [`GitHubApi`],
//! the calls that logic makes, in plain types. [`Octocrab`] implements it; an in-memory
//! fake (`super::fake`, in tests and under the `fake` feature) implements it with what
//! the sticky-comment rules depend on (comment authors, the token's identity, paging,
//! refusals), so those rules are unit-tested without a server.

use std::future::Future;

use octocrab::{Octocrab, Page};
use serde::{Deserialize, Serialize};

use super::GitHubError;

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

/// What a pull request comment needs from GitHub.
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
}
