//! How the history commands report: outputs, the job summary, text and JSON. Pure.

use std::fmt::Write as _;

use serde::Serialize;

use super::Origin;
use super::previews::{PreviewFunction, PreviewPrune};
use super::prune::PruneOutcome;
use super::rollback::RollbackOutcome;
use super::status::StatusReport;
use crate::domain::bytes;
use crate::markdown::{code, text, url};

/// How a history command ended.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Finished {
    Rollback(RollbackOutcome),
    Prune(Box<PruneOutcome>),
    Status(StatusReport),
}

fn pair(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_string(), v.into())
}

/// A version with its provenance, for the summary.
fn version_md(version: &str, o: &Origin) -> String {
    let mut s = code(version);
    let mut parts = Vec::new();
    if let Some(r) = &o.ref_label {
        parts.push(text(r));
    }
    if let Some(c) = &o.commit {
        parts.push(code(c));
    }
    if let Some(u) = &o.run {
        parts.push(format!("[run]({})", url(u)));
    }
    if !parts.is_empty() {
        let _ = write!(s, " ({})", parts.join(", "));
    }
    s
}

impl Finished {
    /// The contract's outputs that apply.
    pub fn outputs(&self) -> Vec<(String, String)> {
        match self {
            Finished::Rollback(r) => {
                let status = if r.dry_run { "planned" } else { "rolled-back" };
                let mut out = vec![
                    pair("status", status),
                    pair("function-arn", &r.function_arn),
                ];
                if let Some(s) = r.steps.first() {
                    out.push(pair("version", &s.to));
                }
                let aliases: Vec<&str> = r.steps.iter().map(|s| s.alias.as_str()).collect();
                out.push(pair("aliases", aliases.join(",")));
                out
            }
            Finished::Prune(p) => {
                let status = if p.dry_run { "planned" } else { "pruned" };
                vec![
                    pair("status", status),
                    pair("function-arn", &p.function_arn),
                ]
            }
            Finished::Status(s) => {
                let mut out = vec![pair("function-arn", &s.function_arn)];
                if let Some(v) = s.versions.first() {
                    out.push(pair("version", &v.version));
                }
                out
            }
        }
    }

    /// The outputs and the details, as one JSON object (`--format json`).
    pub fn json(&self) -> serde_json::Value {
        let mut obj: serde_json::Map<String, serde_json::Value> = self
            .outputs()
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect();
        if let Ok(serde_json::Value::Object(detail)) = serde_json::to_value(self) {
            for (k, v) in detail {
                obj.entry(k).or_insert(v);
            }
        }
        serde_json::Value::Object(obj)
    }

    /// The job summary.
    pub fn summary(&self) -> String {
        let mut md = String::new();
        match self {
            Finished::Rollback(r) => rollback_md(r, &mut md),
            Finished::Prune(p) => prune_md(p, &mut md),
            Finished::Status(s) => status_md(s, &mut md),
        }
        md
    }

    /// What the CLI prints as text.
    pub fn text(&self) -> String {
        let mut t = String::new();
        match self {
            Finished::Rollback(r) => {
                let verb = if r.dry_run { "would move" } else { "moved" };
                for s in &r.steps {
                    let _ = writeln!(
                        t,
                        "alias {} {verb} back: {} [{}] -> {} [{}]",
                        s.alias,
                        s.from,
                        s.from_origin.line(),
                        s.to,
                        s.to_origin.line()
                    );
                }
            }
            Finished::Prune(p) => prune_text(p, &mut t),
            Finished::Status(s) => {
                for v in &s.versions {
                    let serving: Vec<String> = v
                        .aliases
                        .iter()
                        .map(|a| format!("{} {}%", a.alias, a.weight))
                        .collect();
                    let _ = writeln!(
                        t,
                        "{:>6}  {}  {}  {}  {}",
                        v.version,
                        v.date,
                        bytes(v.code_size.max(0) as u64),
                        v.origin.line(),
                        serving.join(", ")
                    );
                }
            }
        }
        t
    }
}

fn rollback_md(r: &RollbackOutcome, md: &mut String) {
    let headline = if r.dry_run {
        "rollback planned (dry run, nothing changed)"
    } else {
        "rolled back"
    };
    let _ = writeln!(md, "### λ {} {headline}\n", code(&r.function_name));
    let _ = writeln!(md, "| Alias | From | To |\n|---|---|---|");
    for s in &r.steps {
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            code(&s.alias),
            version_md(&s.from, &s.from_origin),
            version_md(&s.to, &s.to_origin)
        );
    }
    for s in &r.smoke {
        let _ = writeln!(md, "\nSmoke test passed on {}.", code(&s.version));
    }
    let _ = writeln!(md, "\nNo version was published.");
}

fn prune_md(p: &PruneOutcome, md: &mut String) {
    let headline = if p.dry_run {
        "prune planned (dry run, nothing deleted)"
    } else {
        "pruned"
    };
    let _ = writeln!(md, "### λ {} {headline}\n", code(&p.function_name));
    let verb = if p.dry_run { "To delete" } else { "Deleted" };
    let listed: Vec<String> = p.deleted.iter().map(|v| code(v)).collect();
    let _ = writeln!(
        md,
        "{verb}: {} version(s) ({} of code){}{}\n",
        p.deleted.len(),
        bytes(p.freed),
        if listed.is_empty() { "" } else { ": " },
        listed.join(", ")
    );
    let _ = writeln!(md, "| Kept | Why |\n|---|---|");
    for k in &p.kept {
        let _ = writeln!(md, "| {} | {} |", code(&k.version), text(&k.why.join(", ")));
    }
    let others = [
        ("S3 packages", &p.s3_deleted),
        ("ECR images", &p.images_deleted),
        ("Layer versions", &p.layer_versions_deleted),
    ];
    for (what, list) in others.into_iter().filter(|(_, l)| !l.is_empty()) {
        let listed: Vec<String> = list.iter().map(|o| code(o)).collect();
        let _ = writeln!(
            md,
            "\n{what} {}: {}",
            verb.to_lowercase(),
            listed.join(", ")
        );
    }
    if !p.images_kept.is_empty() {
        let listed: Vec<String> = p
            .images_kept
            .iter()
            .map(|s| format!("{} (run by {})", code(&s.image), code(&s.kept_by)))
            .collect();
        let _ = writeln!(
            md,
            "\nECR images kept, another function runs them: {}",
            listed.join(", ")
        );
    }
    previews_md(&p.previews, verb, md);
}

/// A preview function with its pull request, for the summary.
fn preview_md(p: &PreviewFunction) -> String {
    format!(
        "{} (#{} {})",
        code(&p.function),
        p.pull_request,
        p.state.word()
    )
}

fn previews_md(p: &PreviewPrune, verb: &str, md: &mut String) {
    if let Some(why) = &p.previews_not_checked {
        let _ = writeln!(
            md,
            "\nPreview functions were not checked for closed pull requests: {}",
            text(why)
        );
    }
    let lists = [
        (
            format!("Preview functions {}", verb.to_lowercase()),
            &p.previews_deleted,
        ),
        (
            "Preview functions kept (pull request open)".to_string(),
            &p.previews_open,
        ),
    ];
    for (what, list) in lists.into_iter().filter(|(_, l)| !l.is_empty()) {
        let listed: Vec<String> = list.iter().map(preview_md).collect();
        let _ = writeln!(md, "\n{what}: {}", listed.join(", "));
    }
    for w in &p.preview_warnings {
        let _ = writeln!(md, "\n> [!WARNING]\n> {}", text(w));
    }
}

fn prune_text(p: &PruneOutcome, t: &mut String) {
    let verb = if p.dry_run { "would delete" } else { "deleted" };
    let _ = writeln!(
        t,
        "{verb} {} version(s) of {} ({}): {}",
        p.deleted.len(),
        p.function_name,
        bytes(p.freed),
        p.deleted.join(", ")
    );
    for k in &p.kept {
        let _ = writeln!(t, "kept {}: {}", k.version, k.why.join(", "));
    }
    for o in &p.s3_deleted {
        let _ = writeln!(t, "{verb} {o}");
    }
    for i in &p.images_deleted {
        let _ = writeln!(t, "{verb} image {i}");
    }
    for l in &p.layer_versions_deleted {
        let _ = writeln!(t, "{verb} layer version {l}");
    }
    for s in &p.images_kept {
        let _ = writeln!(t, "kept image {} (run by {})", s.image, s.kept_by);
    }
    let v = &p.previews;
    if let Some(why) = &v.previews_not_checked {
        let _ = writeln!(
            t,
            "preview functions were not checked for closed pull requests: {why}"
        );
    }
    for f in &v.previews_deleted {
        let (n, state) = (f.pull_request, f.state.word());
        let _ = writeln!(t, "{verb} preview function {} (#{n} {state})", f.function);
    }
    for f in &v.previews_open {
        let n = f.pull_request;
        let _ = writeln!(t, "kept preview function {} (#{n} open)", f.function);
    }
    for w in &v.preview_warnings {
        let _ = writeln!(t, "warning: {w}");
    }
}

fn status_md(s: &StatusReport, md: &mut String) {
    let _ = writeln!(md, "### λ {} versions\n", code(&s.function_name));
    let _ = writeln!(
        md,
        "| Version | Ref | Commit | Run | Date | Size | Aliases |\n|---|---|---|---|---|---|---|"
    );
    for v in &s.versions {
        let o = &v.origin;
        let serving: Vec<String> = v
            .aliases
            .iter()
            .map(|a| format!("{} {}%", code(&a.alias), a.weight))
            .collect();
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            code(&v.version),
            o.ref_label.as_deref().map(text).unwrap_or_default(),
            o.commit.as_deref().map(code).unwrap_or_default(),
            o.run
                .as_deref()
                .map(|u| format!("[run]({})", url(u)))
                .unwrap_or_default(),
            text(&v.date),
            bytes(v.code_size.max(0) as u64),
            serving.join(", ")
        );
    }
}
