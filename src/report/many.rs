//! The report of a step that deploys several functions (a manifest): the `results`
//! output, the `matrix` output and one job summary for them all. Rendering is pure.

use std::fmt::Write as _;

use super::{GITHUB_BODY_LIMIT, GitHubNotes, Report};
use crate::markdown::{self, code, text};
use crate::plan::bytes;

/// Why one function's deploy failed, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub title: String,
    pub message: String,
}

/// One function of the step and how its deploy ended.
#[derive(Debug, Clone)]
pub struct EntryResult {
    /// The function's name as the manifest gives it.
    pub name: String,
    pub result: Result<Report, Failure>,
}

impl EntryResult {
    /// `failed`, or the status its report gives.
    pub fn status(&self) -> &'static str {
        match &self.result {
            Ok(r) => r.outcome.status.as_str(),
            Err(_) => "failed",
        }
    }
}

/// The `results` output: each function's outputs under its name; a failed one has
/// `status: failed` and its error.
pub(crate) fn results_json(results: &[EntryResult]) -> serde_json::Value {
    let mut all = serde_json::Map::new();
    for r in results {
        let value = match &r.result {
            Ok(report) => report.outputs_json(),
            Err(f) => serde_json::json!({ "status": "failed", "error": f.message }),
        };
        all.insert(r.name.clone(), value);
    }
    serde_json::Value::Object(all)
}

/// The `matrix` output: a GitHub Actions matrix with one `function-name` per entry.
pub(crate) fn matrix_json(names: &[String]) -> serde_json::Value {
    let include: Vec<serde_json::Value> = names
        .iter()
        .map(|n| serde_json::json!({ "function-name": n }))
        .collect();
    serde_json::json!({ "include": include })
}

/// One job summary for the step: a table of every function and what the pull request
/// was told (`github`), then each function's own summary folded below it, under GitHub's
/// size cap (details are dropped first).
pub fn summary_markdown(results: &[EntryResult], github: Option<&GitHubNotes>) -> String {
    let mut table = summary_table(results);
    if let Some(g) = github {
        super::extra::github(g, &mut table);
    }
    let mut full = table.clone();
    for r in results {
        let body = match &r.result {
            Ok(report) => report.summary_markdown(),
            Err(f) => format!(
                "**{}**\n\n{}",
                text(&f.title),
                markdown::block(&f.message, "")
            ),
        };
        let _ = write!(
            full,
            "\n<details><summary>{} {}</summary>\n\n{body}\n\n</details>\n",
            text(&r.name),
            r.status()
        );
    }
    if full.len() <= GITHUB_BODY_LIMIT {
        full
    } else {
        table
    }
}

fn summary_table(results: &[EntryResult]) -> String {
    let failed = results.iter().filter(|r| r.result.is_err()).count();
    let mut out = if failed == 0 {
        format!("### λ {} functions\n\n", results.len())
    } else {
        format!("### λ {} functions, {failed} failed\n\n", results.len())
    };
    out.push_str(
        "| function | status | version | aliases | size | time |\n|---|---|---|---|---|---|\n",
    );
    for r in results {
        let (version, aliases, size, time) = match &r.result {
            Ok(rep) => (
                version_cell(rep),
                aliases_cell(rep),
                bytes(rep.code_size()),
                format!("{:.1} s", rep.outcome.elapsed_ms as f64 / 1000.0),
            ),
            Err(_) => Default::default(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {version} | {aliases} | {size} | {time} |",
            code(&r.name),
            r.status()
        );
    }
    out
}
/// A deployed entry's version, as a table cell.
pub(crate) fn version_cell(rep: &Report) -> String {
    rep.outcome.version.as_deref().map(code).unwrap_or_default()
}

/// The aliases serving a deployed entry's version, as a table cell.
pub(crate) fn aliases_cell(rep: &Report) -> String {
    rep.outcome
        .aliases
        .iter()
        .map(|a| code(a))
        .collect::<Vec<_>>()
        .join(", ")
}
