//! Reporting back to GitHub with octocrab: one sticky comment per pull request and
//! function ([`comment`]), or one for a whole manifest step ([`publish_step`]), and a
//! deployment of each preview environment ([`deployment`]).
//!
//! GitHub is told after AWS holds the result, so nothing here can fail a deploy: a token
//! that may not write (a pull request from a fork, a job without `pull-requests: write`)
//! gives a warning, and the summary says why no comment was posted. The token is kept in a
//! `SecretString` and only octocrab's Authorization header ever sees it.

pub mod api;
pub mod comment;
pub mod deployment;
#[cfg(any(test, feature = "fake"))]
pub mod fake;

use octocrab::Octocrab;
use secrecy::SecretString;

use self::api::GitHubApi;
pub use self::api::GitHubError;
use crate::config::Config;
use crate::context::GitHubContext;
use crate::gha::{self, Level};
use crate::report::many::EntryResult;
use crate::report::{GitHubNotes, Report};
use crate::targets::Mode;

/// The repository as `(owner, name)` from `GITHUB_REPOSITORY`.
fn owner_repo(ctx: &GitHubContext) -> Option<(String, String)> {
    let (o, r) = ctx.repository.as_deref()?.split_once('/')?;
    Some((o.to_string(), r.to_string()))
}

/// An octocrab client for `GITHUB_API_URL` with the token.
pub fn client(api_url: &str, token: &SecretString) -> Result<Octocrab, GitHubError> {
    let client_error = |e: octocrab::Error| GitHubError::Client {
        what: "setting up the GitHub client",
        message: e.to_string(),
    };
    Octocrab::builder()
        .base_uri(api_url)
        .map_err(client_error)?
        .personal_token(token.clone())
        .build()
        .map_err(client_error)
}

/// Tells GitHub about a pull request run: the sticky comment (unless `comment: false`) and,
/// for previews, the deployment. Runs that are not pull requests report nothing here.
pub async fn publish(
    config: &Config,
    ctx: &GitHubContext,
    mode: &Mode,
    report: &Report,
) -> Option<GitHubNotes> {
    let pr = ctx.pr_number()?;
    let preview = matches!(mode, Mode::Preview { .. } | Mode::RemovePreview { .. });
    if !config.comment && !preview {
        return None;
    }
    let mut notes = GitHubNotes::default();
    let (crab, (owner, repo)) = match connect(config, ctx) {
        Ok(s) => s,
        Err(why) => {
            warn(ctx, &format!("{why}; the deploy itself succeeded"));
            if config.comment {
                notes.comment_skipped = Some(why.clone());
            }
            if preview {
                notes.deployment_skipped = Some(why);
            }
            return Some(notes);
        }
    };
    let to = Target {
        api: &crab,
        owner: &owner,
        repo: &repo,
        pr,
    };
    if config.comment {
        to.comment(ctx, report, &mut notes).await;
    } else {
        tracing::info!("comment: false, no pull request comment");
    }
    if preview {
        to.deployment(ctx, mode, report, &mut notes).await;
    }
    Some(notes)
}

/// A client with the token, and the repository; why not, when either is missing.
pub(crate) fn connect(
    config: &Config,
    ctx: &GitHubContext,
) -> Result<(Octocrab, (String, String)), String> {
    match (&config.github_token, owner_repo(ctx)) {
        (None, _) => Err("no github-token was given".to_string()),
        (_, None) => Err("GITHUB_REPOSITORY is not set to owner/name".to_string()),
        (Some(token), Some(repo)) => client(&ctx.api_url, token)
            .map(|c| (c, repo))
            .map_err(|e| e.to_string()),
    }
}

/// Tells a pull request about a manifest step, once every function has finished (some
/// may have failed): one sticky comment listing them all, found by the manifest's marker
/// (unless `comment: false`). `config` carries the step's run-wide inputs (`comment`,
/// `github-token`); `manifest` is the manifest's path in the repository. Each preview's
/// deployment was recorded by its own deploy.
pub(crate) async fn publish_step(
    config: &Config,
    ctx: &GitHubContext,
    manifest: &str,
    results: &[EntryResult],
) -> Option<GitHubNotes> {
    let pr = ctx.pr_number()?;
    if !config.comment {
        tracing::info!("comment: false, no pull request comment");
        return None;
    }
    let mut notes = GitHubNotes::default();
    match connect(config, ctx) {
        Ok((crab, (owner, repo))) => {
            let run_url = ctx.run_url();
            let marker = comment::many::marker(manifest);
            let step = comment::many::Step {
                marker: &marker,
                pr,
                run_url: run_url.as_deref(),
            };
            let at = (owner.as_str(), repo.as_str(), pr);
            step_comment(&crab, ctx.in_actions, at, &step, results, &mut notes).await;
        }
        Err(why) => {
            warn(ctx, &format!("{why}; the deploy itself succeeded"));
            notes.comment_skipped = Some(why);
        }
    }
    Some(notes)
}

/// Creates or updates the comment of a manifest step ([`publish_step`]) through `api`.
pub(crate) async fn step_comment(
    api: &impl GitHubApi,
    in_actions: bool,
    at: (&str, &str, u64),
    step: &comment::many::Step<'_>,
    results: &[EntryResult],
    notes: &mut GitHubNotes,
) {
    let body = comment::many::render(step, results);
    sticky(api, in_actions, at, (step.marker, &body), notes).await;
}

/// Warns that GitHub was not updated.
fn warn(ctx: &GitHubContext, msg: &str) {
    warn_in(ctx.in_actions, msg)
}

fn warn_in(in_actions: bool, msg: &str) {
    gha::annotate(
        in_actions,
        Level::Warning,
        "lambda-deploy: GitHub not updated",
        msg,
    )
}

/// Creates or updates the sticky comment `(marker, body)` on pull request `pr` of
/// `owner/repo` and notes what happened. A failure, a refusal of a read-only token
/// included, is a warning and a note, never an error: the deploy itself succeeded.
async fn sticky(
    api: &impl GitHubApi,
    in_actions: bool,
    (owner, repo, pr): (&str, &str, u64),
    (marker, body): (&str, &str),
    notes: &mut GitHubNotes,
) {
    match comment::upsert(api, owner, repo, pr, marker, body).await {
        Ok((url, created)) => {
            let done = if created { "created" } else { "updated" };
            tracing::info!(%url, "pull request comment {done}");
            notes.comment = Some((url, done));
        }
        Err(e) => {
            let msg = format!("no pull request comment: {e}; the deploy itself succeeded");
            warn_in(in_actions, &msg);
            notes.comment_skipped = Some(e.to_string());
        }
    }
}

/// The pull request a run reports to, with the client that writes there.
struct Target<'a, A> {
    api: &'a A,
    owner: &'a str,
    repo: &'a str,
    pr: u64,
}

impl<A: GitHubApi> Target<'_, A> {
    /// Creates or updates the sticky comment. A preview's comment and environment are
    /// named after the production function, so every push of the pull request finds the
    /// same ones.
    async fn comment(&self, ctx: &GitHubContext, report: &Report, notes: &mut GitHubNotes) {
        let function = comment::sticky_name(report);
        let body = comment::render(report, self.pr);
        let at = (self.owner, self.repo, self.pr);
        let marker = comment::marker(function);
        sticky(self.api, ctx.in_actions, at, (&marker, &body), notes).await;
    }

    /// Records the preview's deployment, or marks it inactive once the preview is removed.
    async fn deployment(
        &self,
        ctx: &GitHubContext,
        mode: &Mode,
        report: &Report,
        notes: &mut GitHubNotes,
    ) {
        let (api, owner, repo) = (self.api, self.owner, self.repo);
        let env = deployment::environment(comment::sticky_name(report), self.pr);
        let result = match mode {
            Mode::RemovePreview { .. } => deployment::deactivate(api, owner, repo, &env)
                .await
                .map(|n| format!("inactive ({n} deployment(s))")),
            _ => deployment::record(api, owner, repo, &env, report, ctx)
                .await
                .map(|_| "success".to_string()),
        };
        match result {
            Ok(state) => notes.deployment = Some((env, state)),
            Err(e) => {
                warn(
                    ctx,
                    &format!("no GitHub deployment: {e}; the deploy itself succeeded"),
                );
                notes.deployment_skipped = Some(e.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests;
