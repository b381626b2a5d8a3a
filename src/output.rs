//! Where a report goes: `$GITHUB_OUTPUT`, `$GITHUB_STEP_SUMMARY` and stdout. Secrets are
//! masked before anything is printed.

use std::path::PathBuf;

use crate::cli::Format;
use crate::config::{Config, RawInputs};
use crate::context::GitHubContext;
use crate::deploy::DeployError;
use crate::error::Error;
use crate::gha;
use crate::markdown;
use crate::report::{Report, SUMMARY_PAYLOAD, Status};
use crate::smoke::SmokeError;

/// Environment variables whose values are credentials.
const SECRET_VARS: &[&str] = &[
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ACTIONS_RUNTIME_TOKEN",
];

/// Asks the runner to mask the GitHub token and AWS credentials before anything could
/// print them. Outside Actions there is no runner to ask, and nothing prints them.
pub fn mask_secrets(in_actions: bool, raw: &RawInputs) {
    if !in_actions {
        return;
    }
    if let Some(token) = raw.github_token.as_deref() {
        gha::add_mask(token);
    }
    if let Some(env) = raw.environment.as_deref() {
        for value in environment_values(env) {
            gha::add_mask(&value);
        }
    }
    for var in SECRET_VARS {
        if let Ok(v) = std::env::var(var) {
            gha::add_mask(&v);
        }
    }
}

/// The values in an `environment` input, read leniently (a JSON object's scalar values,
/// or what follows the first `=` of each line), so that even input the validation later
/// refuses is masked before its error could be printed.
fn environment_values(text: &str) -> Vec<String> {
    let trimmed = text.trim();
    if trimmed.starts_with('{')
        && let Ok(serde_json::Value::Object(obj)) = serde_json::from_str(trimmed)
    {
        return obj
            .into_iter()
            .map(|(_, v)| match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            })
            .collect();
    }
    text.lines()
        .filter_map(|l| l.split_once('=').map(|(_, v)| v.to_string()))
        .collect()
}

fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Appends `outputs` to `$GITHUB_OUTPUT`, when the runner gives one.
pub(crate) fn write_outputs(outputs: &[(String, String)]) -> Result<(), Error> {
    let Some(path) = env_path("GITHUB_OUTPUT") else {
        return Ok(());
    };
    gha::append(&path, &gha::render_outputs(outputs)).map_err(|source| Error::Write {
        what: "outputs",
        path: path.display().to_string(),
        source,
    })
}

/// Appends `markdown` to the job summary, unless `summary: false` or there is none.
pub(crate) fn write_summary(config: &Config, markdown: &str) -> Result<(), Error> {
    let Some(path) = env_path("GITHUB_STEP_SUMMARY").filter(|_| config.summary) else {
        return Ok(());
    };
    gha::append(&path, markdown).map_err(|source| Error::Write {
        what: "the job summary",
        path: path.display().to_string(),
        source,
    })
}

/// Writes outputs and the summary where the runner reads them, and prints the result.
pub fn publish(
    report: &Report,
    config: &Config,
    _ctx: &GitHubContext,
    format: Format,
) -> Result<(), Error> {
    write_outputs(&report.outputs())?;
    write_summary(config, &report.summary_markdown())?;
    match format {
        Format::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&report.json()).unwrap_or_default()
            );
        }
        Format::Text => {
            // A real run's plan is in the log; a dry run prints it as its result.
            if let Some(plan) = report
                .plan
                .as_ref()
                .filter(|_| report.outcome.status == Status::Planned)
            {
                print!("{plan}");
            }
            let version = report.outcome.version.as_deref().unwrap_or("(new)");
            let aliases = if report.outcome.aliases.is_empty() {
                String::new()
            } else {
                format!(", aliases {}", report.outcome.aliases.join(", "))
            };
            println!(
                "{}: {} version {version}{aliases}",
                report.outcome.status.as_str(),
                report.function_name
            );
        }
    }
    Ok(())
}

/// Writes a short job summary for a run that failed after its inputs were accepted, so
/// the reason (a smoke test's error payload, the AWS call that gave up) is on the run's
/// page, not only in its log.
pub fn failure_summary(config: &Config, err: &Error) {
    if !config.summary {
        return;
    }
    let Some(path) = env_path("GITHUB_STEP_SUMMARY") else {
        return;
    };
    let text = match err {
        Error::Cancelled(c) => cancelled_summary(config.function_name.short_name(), c),
        _ => failure_markdown(
            config.function_name.short_name(),
            &err.title(),
            &summary_error_text(err),
        ),
    };
    if let Err(e) = gha::append(&path, &text) {
        tracing::warn!(path = %path.display(), error = %e, "cannot write the job summary");
    }
}

/// The job summary of a cancelled run: its status, each phase and whether it finished,
/// and what the cleanup undid.
fn cancelled_summary(function: &str, c: &crate::cancel::Cancelled) -> String {
    let mut text = format!(
        "### λ {} deploy cancelled\n\n**Status: cancelled** by {}. lambda-deploy stopped before its next AWS write; no alias moved after the signal.\n\n| step | state |\n|---|---|\n",
        markdown::code(function),
        c.signal.name()
    );
    for (title, finished) in &c.steps {
        let state = if *finished { "done" } else { "stopped" };
        text.push_str(&format!("| {} | {state} |\n", markdown::text(title)));
    }
    if !c.undone.is_empty() {
        text.push_str("\nCleanup:\n");
        for u in &c.undone {
            match u {
                Ok(what) => text.push_str(&format!("- {}\n", markdown::text(what))),
                Err(why) => text.push_str(&format!("- not undone: {}\n", markdown::text(why))),
            }
        }
    }
    text
}

/// The error text as the summary shows it: a smoke test's payload cut to
/// [`SUMMARY_PAYLOAD`] characters (the step's log keeps the longer excerpt).
fn summary_error_text(err: &Error) -> String {
    if let Error::Deploy(DeployError::Smoke(SmokeError::FunctionError {
        version,
        kind,
        payload,
    })) = err
    {
        let (shown, cut) = markdown::capped(payload, SUMMARY_PAYLOAD);
        let payload = if cut {
            format!("{shown}… (first {SUMMARY_PAYLOAD} characters; the step's log has more)")
        } else {
            shown.to_string()
        };
        return SmokeError::FunctionError {
            version: version.clone(),
            kind: kind.clone(),
            payload,
        }
        .to_string();
    }
    err.to_string()
}

/// The job summary of a failed run: the function, the error's title and its text in a
/// code block that no line of the text can close.
pub fn failure_markdown(function: &str, title: &str, error: &str) -> String {
    format!(
        "### λ {} deploy failed\n\n**{}**\n\n{}",
        markdown::code(function),
        markdown::text(title),
        markdown::block(error, "")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_values_are_found_in_both_input_forms() {
        assert_eq!(
            environment_values("A=one\n# note\nB=two=2\n"),
            vec!["one".to_string(), "two=2".to_string()]
        );
        assert_eq!(
            environment_values(r#"{"A": "x\ny", "N": 5}"#),
            vec!["x\ny".to_string(), "5".to_string()]
        );
    }
}
