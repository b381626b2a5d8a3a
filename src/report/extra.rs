//! What release and preview runs add to a [`Report`], and the summary sections that show
//! it: semver aliases left where they were (and why), the preview with its URL and how to
//! call it, what closing a pull request removed, and what was reported to GitHub.

use std::fmt::Write as _;

use serde::Serialize;

use super::{Report, Status};
use crate::config::FunctionUrl;
use crate::domain::outcome::Removal;
use crate::domain::outcome::Shifted;
use crate::domain::outcome::SkippedMove;
use crate::markdown::{code, text};

/// What GitHub was told, or why not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GitHubNotes {
    /// The sticky comment, with `created` or `updated`.
    pub comment: Option<(String, &'static str)>,
    /// Why no comment was posted, for people.
    pub comment_skipped: Option<String>,
    /// The deployment environment and what happened to it (`success`, `inactive`).
    pub deployment: Option<(String, String)>,
    /// Why the deployment could not be recorded.
    pub deployment_skipped: Option<String>,
}

/// Release and preview details of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReportExtra {
    /// The pull request a preview run deployed or removed.
    pub pull_request: Option<u64>,
    /// The preview alias (`pr-<N>`).
    pub preview_alias: Option<String>,
    /// The production function a preview run's own function (`<name>-pr-<N>`) belongs to.
    pub preview_of: Option<String>,
    /// The release tag of a tag run.
    pub release: Option<String>,
    /// How the function URL is protected, when there is one.
    pub url_auth: Option<FunctionUrl>,
    /// Semver aliases that were not moved.
    pub skipped: Vec<SkippedMove>,
    /// What closing the pull request removed.
    pub removal: Option<Removal>,
    pub github: Option<GitHubNotes>,
    /// The gradual traffic shift, when one ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shift: Option<Shifted>,
}

/// The region in a function ARN (`arn:aws:lambda:<region>:…`).
fn region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

/// Shell lines that call the deployed alias: `aws lambda invoke` always, `curl` for a URL.
pub(crate) fn invoke_lines(report: &Report, alias: &str) -> Vec<String> {
    let mut lines = vec![format!(
        "aws lambda invoke --function-name {}:{alias} --cli-binary-format raw-in-base64-out --payload '{{}}' response.json",
        report.function_name
    )];
    if let Some(url) = &report.function_url {
        match report.extra.url_auth {
            Some(FunctionUrl::Iam) => {
                let region = report
                    .function_arn
                    .as_deref()
                    .and_then(region)
                    .unwrap_or("REGION");
                lines.push(format!(
                    "curl --aws-sigv4 \"aws:amz:{region}:lambda\" --user \"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY\" -H \"x-amz-security-token: $AWS_SESSION_TOKEN\" {url}"
                ));
            }
            _ => lines.push(format!("curl -sS {url}")),
        }
    }
    lines
}

/// Sections shown after the main table for release and preview runs.
pub(super) fn sections(report: &Report, md: &mut String) {
    let x = &report.extra;
    if let Some(tag) = &x.release {
        let version = report.outcome.version.as_deref().unwrap_or("new");
        let _ = writeln!(
            md,
            "\n**Release {}** → version {}",
            code(tag),
            code(version)
        );
    }
    if !x.skipped.is_empty() {
        let _ = writeln!(
            md,
            "\n**Not moved**\n\n| Alias | Stays on | Why |\n|---|---|---|"
        );
        for s in &x.skipped {
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                code(&s.alias),
                code(&s.version),
                text(&s.reason)
            );
        }
    }
    if let (Some(pr), Some(alias)) = (x.pull_request, &x.preview_alias)
        && x.removal.is_none()
    {
        let _ = writeln!(
            md,
            "\n**Preview of pull request #{pr}** on alias {}\n",
            code(alias)
        );
        let lines = invoke_lines(report, alias).join("\n");
        let _ = write!(md, "{}", crate::markdown::block(&lines, "sh"));
    }
    if let Some(r) = &x.removal {
        removal(
            r,
            x.pull_request,
            report.outcome.status == Status::Planned,
            md,
        );
    }
    if let Some(s) = &x.shift {
        shift(s, md);
    }
    if let Some(g) = &x.github {
        github(g, md);
    }
}

/// The traffic shift: what moved from where, then each step with its time, weight and
/// the alarms' states.
fn shift(s: &Shifted, md: &mut String) {
    let ended = if s.completed {
        "completed".to_string()
    } else {
        let names: Vec<String> = s.overtaken.iter().map(|h| code(&h.name)).collect();
        format!("stopped: a newer deploy took over {}", names.join(", "))
    };
    let from: Vec<String> = s.from.iter().map(|v| code(v)).collect();
    let aliases: Vec<String> = s.aliases.iter().map(|a| code(a)).collect();
    let _ = writeln!(
        md,
        "\n**Traffic shift** {} of {} from version {} to {}: {ended}\n\n| Time (UTC) | On the new version | Alarms |\n|---|---|---|",
        code(&s.shift),
        aliases.join(", "),
        from.join(", "),
        code(&s.to)
    );
    for step in &s.timeline {
        let alarms: Vec<String> = step
            .alarms
            .iter()
            .map(|(n, st)| format!("{} {}", code(n), text(st)))
            .collect();
        let alarms = if alarms.is_empty() {
            "none".to_string()
        } else {
            alarms.join(", ")
        };
        let _ = writeln!(md, "| {} | {}% | {alarms} |", step.at, step.weight);
    }
}

fn removal(r: &Removal, pr: Option<u64>, planned: bool, md: &mut String) {
    let pr = pr
        .map(|n| format!(" of pull request #{n}"))
        .unwrap_or_default();
    let (title, done) = if planned {
        ("to remove (dry run, nothing changed)", "to delete")
    } else {
        ("removed", "deleted")
    };
    let _ = writeln!(md, "\n**Preview{pr} {title}**\n");
    if r.function_deleted {
        let _ = writeln!(md, "- function `{}`: {done}", r.function);
    } else if let Some(why) = &r.kept_because {
        let _ = writeln!(md, "- {why}");
    }
    match &r.alias_version {
        Some(v) => {
            let _ = writeln!(md, "- alias `{}` (served `{v}`): {done}", r.alias);
        }
        None => {
            let _ = writeln!(md, "- alias `{}`: already gone", r.alias);
        }
    }
    if let Some(url) = &r.url {
        let _ = writeln!(md, "- function URL {url}: {done}, with its public grants");
    }
    if r.versions_deleted.is_empty() {
        let _ = writeln!(md, "- versions: none only the preview used");
    } else {
        let list: Vec<String> = r
            .versions_deleted
            .iter()
            .map(|v| format!("`{v}`"))
            .collect();
        let _ = writeln!(md, "- versions {done}: {}", list.join(", "));
    }
    for (v, alias) in &r.versions_kept {
        let _ = writeln!(md, "- version `{v}` kept: alias `{alias}` serves it");
    }
    let _ = writeln!(md, "- the production function: untouched");
}

/// What GitHub was told, or why not, one line each.
pub(super) fn github(g: &GitHubNotes, md: &mut String) {
    let _ = writeln!(md);
    if let Some((url, what)) = &g.comment {
        let _ = writeln!(md, "Pull request comment {what}: {url}  ");
    }
    if let Some(why) = &g.comment_skipped {
        let _ = writeln!(md, "No pull request comment was posted: {}  ", text(why));
    }
    if let Some((env, state)) = &g.deployment {
        let _ = writeln!(md, "GitHub deployment `{env}`: {state}  ");
    }
    if let Some(why) = &g.deployment_skipped {
        let _ = writeln!(md, "No GitHub deployment was recorded: {}  ", text(why));
    }
}
