//! A step with a `manifest`: every function it lists, deployed (or, with
//! `command: matrix`, listed when it would change) in one process, then reported once:
//! the `results` or `matrix` output, one job summary, on a pull request one sticky
//! comment, and a failure annotation per function that failed.

use std::path::Path;

use crate::cli::Format;
use crate::config::manifest::{self, Entry, Source, StepOptions};
use crate::config::{PackageRule, RawInputs};
use crate::context::GitHubContext;
use crate::error::Error;
use crate::gha::{self, Level};
use crate::markdown::code;
use crate::report::GitHubNotes;
use crate::report::many::{self as render, EntryResult, Failure};
use crate::{github, run};

/// Whether the step runs from a manifest.
pub fn wanted(raw: &RawInputs) -> bool {
    raw.manifest.is_some()
        || raw
            .command
            .as_deref()
            .is_some_and(|c| c.trim().eq_ignore_ascii_case("matrix"))
}

/// A manifest step, validated: nothing has talked to AWS yet.
pub struct Step {
    pub entries: Vec<Entry>,
    pub options: StepOptions,
    /// Whether the job summary is written (`summary`, a run-wide input).
    pub summary: bool,
    /// The manifest's path in the repository, which names the step's pull request comment.
    pub manifest: String,
    /// Whether the step writes one pull request comment for all its functions: not when
    /// `function-name` picks one entry (a matrix job), which reports as a single-function
    /// step does.
    pub one_comment: bool,
}

/// Validates the step's run-wide inputs and every entry of the manifest.
pub fn load(raw: &RawInputs, base: &Path, root: &Path, rule: PackageRule) -> Result<Step, Error> {
    let options = manifest::step_options(raw)?;
    let input = raw.manifest.as_deref().unwrap_or_default();
    let entries = manifest::load(&Source {
        input,
        step: raw,
        base,
        root,
        rule,
    })?;
    let summary = entries.first().is_none_or(|e| e.config.summary);
    Ok(Step {
        entries,
        options,
        summary,
        manifest: repository_path(input, base, root),
        one_comment: raw.function_name.is_none(),
    })
}

/// `input` (a path relative to `base`) as a path inside the checkout at `root`, with `/`
/// separators, so it is the same on every runner; as written when it cannot be resolved.
fn repository_path(input: &str, base: &Path, root: &Path) -> String {
    let written = input.trim();
    let inside = std::fs::canonicalize(base.join(written))
        .ok()
        .zip(std::fs::canonicalize(root).ok())
        .and_then(|(path, root)| {
            let rel = path.strip_prefix(&root).ok()?;
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            Some(parts.join("/"))
        });
    inside.unwrap_or_else(|| written.to_string())
}

/// Asks the runner to mask the environment values every entry sets, as the step's own
/// `environment` is masked, before anything could print them.
pub fn mask_environment(step: &Step, in_actions: bool) {
    if !in_actions {
        return;
    }
    for entry in &step.entries {
        for value in entry
            .config
            .settings
            .environment
            .iter()
            .flat_map(|e| e.values())
        {
            gha::add_mask(value);
        }
    }
}

/// How a manifest step ended.
pub enum Finished {
    Deployed {
        results: Vec<EntryResult>,
        /// What the pull request was told, on a pull request run.
        github: Option<GitHubNotes>,
    },
    Matrix(Vec<(String, Result<bool, Failure>)>),
}

/// Runs the step: deploys (or plans) every entry, or lists the changed ones. On a pull
/// request, one comment lists every function once they have all finished, in place of
/// one comment per function.
pub async fn run(step: Step, ctx: &GitHubContext) -> Result<Finished, Error> {
    gha::disable_groups();
    let n = step.options.max_parallel;
    if step.options.matrix {
        return Ok(Finished::Matrix(run::matrix(step.entries, ctx, n).await?));
    }
    let mut entries = step.entries;
    // The run-wide inputs (`comment`, `github-token`, `dry-run`) are the same in every entry.
    let reporter = entries
        .first()
        .filter(|_| step.one_comment)
        .map(|e| e.config.clone());
    if reporter.is_some() {
        for e in &mut entries {
            e.config.comment = false;
        }
    }
    let results = run::deploy_all(entries, ctx, n).await?;
    let github = match &reporter {
        Some(config) if !config.dry_run => {
            github::publish_step(config, ctx, &step.manifest, &results).await
        }
        _ => None,
    };
    Ok(Finished::Deployed { results, github })
}

/// Writes the outputs once, the job summary and the annotations; `Ok(false)` when a
/// function failed.
pub fn publish(
    finished: &Finished,
    summary: bool,
    in_actions: bool,
    format: Format,
) -> Result<bool, Error> {
    let (outputs, markdown, ok, json) = match finished {
        Finished::Deployed { results, github } => deployed(results, github.as_ref(), in_actions),
        Finished::Matrix(entries) => listed(entries, in_actions),
    };
    if let Some(path) = env_path("GITHUB_OUTPUT") {
        gha::append(&path, &gha::render_outputs(&outputs)).map_err(|source| Error::Write {
            what: "outputs",
            path: path.display().to_string(),
            source,
        })?;
    }
    if summary && let Some(path) = env_path("GITHUB_STEP_SUMMARY") {
        gha::append(&path, &markdown).map_err(|source| Error::Write {
            what: "the job summary",
            path: path.display().to_string(),
            source,
        })?;
    }
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        ),
        Format::Text => {
            for (name, value) in &outputs {
                println!("{name}: {value}");
            }
        }
    }
    Ok(ok)
}

type Rendered = (Vec<(String, String)>, String, bool, serde_json::Value);

fn deployed(results: &[EntryResult], github: Option<&GitHubNotes>, in_actions: bool) -> Rendered {
    let json = render::results_json(results);
    let mut outputs = vec![("results".to_string(), json.to_string())];
    // One entry (`function-name` with `manifest`, as a matrix job runs it): its own
    // outputs too, as a single-function step has them.
    if let [one] = results
        && let Ok(report) = &one.result
    {
        outputs.extend(report.outputs());
    }
    let mut ok = true;
    for r in results {
        if let Err(f) = &r.result {
            ok = false;
            gha::annotate(
                in_actions,
                Level::Error,
                &format!("{} ({})", f.title, r.name),
                &f.message,
            );
        }
    }
    let all = serde_json::json!({ "results": json });
    (outputs, render::summary_markdown(results, github), ok, all)
}

fn listed(entries: &[(String, Result<bool, Failure>)], in_actions: bool) -> Rendered {
    let mut names = Vec::new();
    let mut md = String::from("### λ functions to deploy\n\n| function | package |\n|---|---|\n");
    for (name, changed) in entries {
        let word = match changed {
            Ok(true) => "changed",
            Ok(false) => "unchanged",
            Err(f) => {
                gha::annotate(
                    in_actions,
                    Level::Warning,
                    &format!("lambda-deploy: cannot plan {name}"),
                    &format!(
                        "{}; it is in the matrix so its deploy job reports the error",
                        f.message
                    ),
                );
                "cannot plan"
            }
        };
        if !matches!(changed, Ok(false)) {
            names.push(name.clone());
        }
        md.push_str(&format!("| {} | {word} |\n", code(name)));
    }
    let matrix = render::matrix_json(&names);
    let outputs = vec![("matrix".to_string(), matrix.to_string())];
    (outputs, md, true, serde_json::json!({ "matrix": matrix }))
}

fn env_path(var: &str) -> Option<std::path::PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
}
