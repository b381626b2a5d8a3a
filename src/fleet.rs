//! A step with a `manifest`: every function it lists, deployed (or, with
//! `command: matrix`, listed when it would change) in one process, then reported once:
//! the `results` or `matrix` output, one job summary, and a failure annotation per
//! function that failed.

use std::path::Path;

use crate::cli::Format;
use crate::config::manifest::{self, Entry, Source, StepOptions};
use crate::config::{PackageRule, RawInputs};
use crate::context::GitHubContext;
use crate::error::Error;
use crate::gha::{self, Level};
use crate::markdown::code;
use crate::report::many::{self as render, EntryResult, Failure};
use crate::run;

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
    })
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
    Deployed(Vec<EntryResult>),
    Matrix(Vec<(String, Result<bool, Failure>)>),
}

/// Runs the step: deploys (or plans) every entry, or lists the changed ones.
pub async fn run(step: Step, ctx: &GitHubContext) -> Result<Finished, Error> {
    gha::disable_groups();
    let n = step.options.max_parallel;
    if step.options.matrix {
        Ok(Finished::Matrix(run::matrix(step.entries, ctx, n).await?))
    } else {
        Ok(Finished::Deployed(
            run::deploy_all(step.entries, ctx, n).await?,
        ))
    }
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
        Finished::Deployed(results) => deployed(results, in_actions),
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

fn deployed(results: &[EntryResult], in_actions: bool) -> Rendered {
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
    (outputs, render::summary_markdown(results), ok, all)
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
