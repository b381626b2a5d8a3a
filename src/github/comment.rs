//! The sticky pull request comment: one per pull request and function, found again by a
//! hidden marker and updated in place on every push, so a pull request never collects a
//! trail of deploy comments. A manifest step writes one comment for all its functions
//! instead ([`many`]).
//!
//! Anyone can post a comment holding the marker, so only a comment written by the identity
//! behind the token counts ([`token_identity`]): otherwise a stranger's comment would be
//! edited into a deploy report that looks as if lambda-deploy wrote it.

use std::fmt::Write as _;

use super::GitHubError;
pub(crate) use super::api::ACTIONS_BOT;
use super::api::{Comment, GitHubApi};
use crate::markdown::{self, code};
use crate::plan::bytes;
use crate::report::{GITHUB_BODY_LIMIT, Report, invoke_lines};

/// The hidden line that identifies this function's comment.
pub fn marker(function: &str) -> String {
    format!("<!-- lambda-deploy:{function} -->")
}

/// The function a comment and a preview environment are named after: the production
/// function, also for a preview run deployed to `<name>-pr-<N>`.
pub(crate) fn sticky_name(report: &Report) -> &str {
    report
        .extra
        .preview_of
        .as_deref()
        .unwrap_or(&report.function_name)
}

/// Who the token writes comments as. A user's token (personal or fine-grained) can read
/// `GET /user`, which names its user; an installation token cannot (GitHub answers 403
/// "Resource not accessible by integration"), and the installation behind `GITHUB_TOKEN`
/// writes as [`ACTIONS_BOT`].
pub(crate) async fn token_identity(api: &impl GitHubApi) -> String {
    match api.token_login().await {
        Ok(login) => login,
        Err(e) => {
            tracing::debug!(error = %e, "taking the token for GITHUB_TOKEN, whose comments are {ACTIONS_BOT}'s");
            ACTIONS_BOT.to_string()
        }
    }
}

/// Creates the comment, or updates the one holding `marker` that the token's own identity
/// wrote ([`token_identity`]); a comment with the marker by anyone else is left alone.
/// Returns its URL and whether it was created.
pub(crate) async fn upsert(
    api: &impl GitHubApi,
    owner: &str,
    repo: &str,
    pr: u64,
    marker: &str,
    body: &str,
) -> Result<(String, bool), GitHubError> {
    let me = token_identity(api).await;
    let ours = |c: &Comment| {
        c.user.as_ref().is_some_and(|u| u.login == me)
            && c.body.as_deref().is_some_and(|b| b.contains(marker))
    };
    let comments = api.list_comments(owner, repo, pr, &ours).await?;
    match comments.iter().find(|c| ours(c)) {
        Some(c) => {
            let c = api.update_comment(owner, repo, c.id, body).await?;
            Ok((c.html_url, false))
        }
        None => {
            let c = api.create_comment(owner, repo, pr, body).await?;
            Ok((c.html_url, true))
        }
    }
}

/// The comment body for a pull request run, under GitHub's size cap.
pub fn render(report: &Report, pr: u64) -> String {
    markdown::fit(GITHUB_BODY_LIMIT, 5, "comment", |rows| {
        render_full(report, pr, rows)
    })
}

fn render_full(report: &Report, pr: u64, max_rows: usize) -> String {
    let mut md = marker(sticky_name(report));
    md.push('\n');
    md.push_str(&details(report, pr, max_rows));
    md.push_str(&markdown::footer(report.provenance.run_url.as_deref()));
    md
}

/// What the comment says about one function, without its marker and closing line: the
/// deploy (or removal) and its plan, long lists cut to `max_rows`. A manifest step's
/// comment folds this below its table for each function.
pub fn details(report: &Report, pr: u64, max_rows: usize) -> String {
    let mut md = String::new();
    let p = &report.provenance;
    let commit = p
        .short_sha
        .as_deref()
        .map(|sha| markdown::commit(sha, p.commit_url.as_deref()));
    let section = Section {
        report,
        pr,
        commit: commit.as_deref(),
        max_rows,
    };
    if report.extra.removal.is_some() {
        section.removal(&mut md);
    } else {
        section.deploy(&mut md);
        if let Some(plan) = &report.plan {
            md.push_str(&crate::plan::render::markdown(plan, max_rows));
        }
    }
    md
}

/// What the comment's main section is written from.
struct Section<'a> {
    report: &'a Report,
    pr: u64,
    /// The commit, linked when its URL is known.
    commit: Option<&'a str>,
    max_rows: usize,
}

impl Section<'_> {
    /// A removed preview: what was deleted and what was kept.
    fn removal(&self, md: &mut String) {
        let (report, pr, max_rows) = (self.report, self.pr, self.max_rows);
        let Some(r) = &report.extra.removal else {
            return;
        };
        let shown = sticky_name(report);
        let _ = writeln!(md, "### λ Preview of {} for #{pr}: removed\n", code(shown));
        let _ = writeln!(
            md,
            "The pull request was closed, so its preview was taken down.\n"
        );
        let _ = writeln!(md, "| | |\n|---|---|");
        let function_state = if r.function_deleted {
            format!("`{}` deleted", r.function)
        } else {
            format!("`{}`", report.function_name)
        };
        let _ = writeln!(md, "| Function | {function_state} |");
        let alias_state = match &r.alias_version {
            Some(v) => format!("`{}` deleted (served version `{v}`)", r.alias),
            None => format!("`{}` was already gone", r.alias),
        };
        let _ = writeln!(md, "| Alias | {alias_state} |");
        if let Some(url) = &r.url {
            let _ = writeln!(md, "| URL | {url} deleted |");
        }
        let deleted = if r.versions_deleted.is_empty() {
            "none".to_string()
        } else {
            r.versions_deleted
                .iter()
                .take(max_rows.max(20))
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(md, "| Versions deleted | {deleted} |");
        for (v, a) in r.versions_kept.iter().take(max_rows) {
            let _ = writeln!(md, "| Version `{v}` | kept: alias `{a}` serves it |");
        }
        if let Some(c) = self.commit {
            let _ = writeln!(md, "| Commit | {c} |");
        }
    }

    /// A deploy (or dry run): the function, its version and alias, how to invoke it.
    fn deploy(&self, md: &mut String) {
        let (report, pr) = (self.report, self.pr);
        let x = &report.extra;
        let alias = x
            .preview_alias
            .clone()
            .or_else(|| report.outcome.aliases.first().cloned());
        let state = report.outcome.status.as_str();
        let name = code(&report.function_name);
        let title = if x.preview_alias.is_some() {
            format!(
                "Preview of {} for #{pr}: {state}",
                code(sticky_name(report))
            )
        } else {
            format!("{name} {state}")
        };
        let _ = writeln!(md, "### λ {title}\n");
        let _ = writeln!(md, "| | |\n|---|---|");
        let _ = writeln!(md, "| Function | {name} |");
        let version = report.outcome.version.as_deref().unwrap_or("(none)");
        let _ = writeln!(md, "| Version | {} |", code(version));
        if let Some(a) = &alias {
            let _ = writeln!(md, "| Alias | {} |", code(a));
        }
        if let Some(url) = &report.function_url {
            let _ = writeln!(md, "| URL | {} |", markdown::url(url));
        }
        let _ = writeln!(
            md,
            "| Code | {}, sha256 {} |",
            bytes(report.code_size()),
            code(report.code_sha256())
        );
        if let Some(c) = self.commit {
            let _ = writeln!(md, "| Commit | {c} |");
        }
        if let Some(a) = &alias {
            let lines = invoke_lines(report, a).join("\n");
            let _ = write!(md, "\n**Invoke it**\n\n{}", markdown::block(&lines, "sh"));
        }
        markdown::warnings(md, &report.outcome.warnings, self.max_rows);
    }
}

pub mod many;

#[cfg(test)]
mod tests;
