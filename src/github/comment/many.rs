//! The one sticky comment of a manifest step on a pull request: a table of every function
//! the step deployed (its preview, on a preview run), then each function's own details
//! folded below it. It has its own marker, named after the manifest, so every push of the
//! pull request finds and updates the same comment; the markers of single-function
//! comments never appear in it, so a single-function step never takes it for its own.

use std::fmt::Write as _;

use crate::markdown::{self, code, text};
use crate::report::many::{EntryResult, aliases_cell, version_cell};
use crate::report::{GITHUB_BODY_LIMIT, SUMMARY_PAYLOAD};

/// The hidden line that identifies the comment of the step deploying `manifest` (its
/// path in the repository). Characters that could end the HTML comment are replaced.
pub fn marker(manifest: &str) -> String {
    let safe: String = manifest
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._/-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("<!-- lambda-deploy:manifest:{safe} -->")
}

/// Where the comment goes and what it links to.
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    /// From [`marker`].
    pub marker: &'a str,
    pub pr: u64,
    /// The workflow run, linked in the closing line.
    pub run_url: Option<&'a str>,
}

/// The comment body under GitHub's size cap: in full when it fits, then with each
/// function's long lists cut, then without the folded details, and only then truncated.
pub fn render(step: &Step<'_>, results: &[EntryResult]) -> String {
    let full = render_full(step, results, usize::MAX, true);
    if full.len() <= GITHUB_BODY_LIMIT {
        return full;
    }
    let short = render_full(step, results, 5, true);
    if short.len() <= GITHUB_BODY_LIMIT {
        return short;
    }
    markdown::fit(GITHUB_BODY_LIMIT, 5, "comment", |rows| {
        render_full(step, results, rows, false)
    })
}

fn render_full(step: &Step<'_>, results: &[EntryResult], rows: usize, folded: bool) -> String {
    let mut md = format!("{}\n", step.marker);
    heading(&mut md, step, results);
    md.push_str("| function | status | version | aliases | URL |\n|---|---|---|---|---|\n");
    for r in results {
        row(&mut md, r);
    }
    if folded {
        for r in results {
            let body = match &r.result {
                Ok(report) => super::details(report, step.pr, rows),
                Err(f) => failure(&f.title, &f.message),
            };
            let _ = write!(
                md,
                "\n<details><summary>{} {}</summary>\n\n{body}\n</details>\n",
                text(&r.name),
                r.status()
            );
        }
    } else {
        md.push_str(
            "\n_Each function's details were left out to stay under GitHub's size limit; the workflow run's job summary has them._\n",
        );
    }
    md.push_str(&markdown::footer(step.run_url));
    md
}

fn heading(md: &mut String, step: &Step<'_>, results: &[EntryResult]) {
    let previews = results.iter().any(|r| {
        r.result
            .as_ref()
            .is_ok_and(|rep| rep.extra.preview_alias.is_some())
    });
    let what = if previews { "Previews of" } else { "Deploy of" };
    let failed = results.iter().filter(|r| r.result.is_err()).count();
    let failed = if failed == 0 {
        String::new()
    } else {
        format!(", {failed} failed")
    };
    let _ = writeln!(
        md,
        "### λ {what} {} functions for #{}{failed}\n",
        results.len(),
        step.pr
    );
}

/// One function's line: the function deployed (the preview's own function on a preview
/// run), how it ended, its version, aliases and URL.
fn row(md: &mut String, r: &EntryResult) {
    let (function, version, aliases, url) = match &r.result {
        Ok(rep) => (
            code(&rep.function_name),
            version_cell(rep),
            aliases_cell(rep),
            rep.function_url
                .as_deref()
                .map(markdown::url)
                .unwrap_or_default(),
        ),
        Err(_) => (code(&r.name), String::new(), String::new(), String::new()),
    };
    let _ = writeln!(
        md,
        "| {function} | {} | {version} | {aliases} | {url} |",
        r.status()
    );
}

/// A failed function: the error's title and the start of its text (a smoke test's answer
/// is in it, and the comment shows no more of it than the job summary does).
fn failure(title: &str, message: &str) -> String {
    let (shown, cut) = markdown::capped(message, SUMMARY_PAYLOAD);
    let more = if cut {
        "… (the workflow run has the whole error)"
    } else {
        ""
    };
    format!(
        "**{}**\n\n{}",
        text(title),
        markdown::block(&format!("{shown}{more}"), "")
    )
}
