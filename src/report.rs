//! One [`Report`] per run, rendered three ways: `$GITHUB_OUTPUT` pairs, the job summary
//! markdown, and JSON for `--format json`. Rendering is pure.

mod extra;
pub mod many;

use std::fmt::Write as _;

use serde::Serialize;

pub use extra::ReportExtra;
pub(crate) use extra::{GitHubNotes, invoke_lines};

use crate::domain::function::LayerRef;
use crate::domain::outcome::ImageReport;
use crate::domain::outcome::{LayerOutcome, Moved, SmokePassed};
use crate::markdown::{self, code, text};
use crate::plan::{self, FunctionAction, LocalCode, Plan, bytes};

/// GitHub's cap on a job summary or comment body.
pub(crate) const GITHUB_BODY_LIMIT: usize = 65_536;
/// Characters of a smoke-test answer shown in the summary, which a public repository's
/// readers see; the step's log keeps a longer excerpt.
pub(crate) const SUMMARY_PAYLOAD: usize = 120;

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Deployed,
    Unchanged,
    Planned,
    Removed,
    /// A newer deploy took the aliases over during this run's traffic shift.
    Superseded,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Deployed => "deployed",
            Status::Unchanged => "unchanged",
            Status::Planned => "planned",
            Status::Removed => "removed",
            Status::Superseded => "superseded",
        }
    }
}

/// Where the code came from, for people.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Provenance {
    pub ref_label: Option<String>,
    pub short_sha: Option<String>,
    pub commit_url: Option<String>,
    pub run_url: Option<String>,
}

/// What applying the plan did (or, for a dry run, what is known without applying it).
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub status: Status,
    /// The version the aliases serve; `None` for a dry run that would publish.
    pub version: Option<String>,
    pub published: bool,
    /// Every alias named in the run that now serves `version`.
    pub aliases: Vec<String>,
    pub moved: Vec<Moved>,
    pub warnings: Vec<String>,
    pub elapsed_ms: u128,
}

/// Everything a run reports: what it was to do ([`Report::plan`]), what it did
/// ([`Report::outcome`]) and where it came from ([`Report::provenance`]); every renderer
/// reads each part from its place.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub outcome: Outcome,
    pub function_name: String,
    pub function_arn: Option<String>,
    pub s3_uri: Option<String>,
    /// Layers from `layer-dirs`: published or reused (planned, for a dry run).
    pub layers: Vec<LayerOutcome>,
    /// Every layer version ARN on the function, when `layers` or `layer-dirs` is given.
    /// For a dry run, a version still to publish shows as `<name> (new version)`.
    pub layer_arns: Option<Vec<LayerRef>>,
    pub function_url: Option<String>,
    pub provenance: Provenance,
    /// The container image deployed (image runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageReport>,
    /// What the run does (or would do): the code and its route, configuration changes,
    /// tags, layers, version, aliases and function URL. Every deploy has one; a run that
    /// removes a preview has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    /// The smoke test, when one ran and passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smoke: Option<SmokePassed>,
    /// Release and preview details.
    pub extra: ReportExtra,
}

impl Report {
    /// The code deployed (or to deploy), from the plan.
    fn code(&self) -> Option<&LocalCode> {
        self.plan.as_ref().map(|p| &p.code)
    }

    /// The CodeSha256 of the code; empty when the run deploys none.
    pub fn code_sha256(&self) -> &str {
        self.code().map_or("", |c| c.code_sha256.as_str())
    }

    /// The size of the code (the zip, or the image's layers); 0 when the run deploys none.
    pub(crate) fn code_size(&self) -> u64 {
        self.code().map_or(0, |c| c.size)
    }

    /// Whether the code differs from what Lambda held.
    pub fn code_changed(&self) -> bool {
        self.plan.as_ref().is_some_and(|p| p.code_changed)
    }

    /// Whether the run creates the function.
    pub fn created(&self) -> bool {
        self.plan
            .as_ref()
            .is_some_and(|p| p.action == FunctionAction::Create)
    }

    /// The outputs of the contract that apply to this run, in contract order.
    pub fn outputs(&self) -> Vec<(String, String)> {
        let mut out: Vec<(&str, String)> =
            vec![("status", self.outcome.status.as_str().to_string())];
        if let Some(arn) = &self.function_arn {
            out.push(("function-arn", arn.clone()));
        }
        if let Some(v) = &self.outcome.version {
            out.push(("version", v.clone()));
        }
        out.push(("aliases", self.outcome.aliases.join(",")));
        if let Some(u) = &self.function_url {
            out.push(("function-url", u.clone()));
        }
        out.push(("code-sha256", self.code_sha256().to_string()));
        out.push(("code-size", self.code_size().to_string()));
        out.push(("code-changed", self.code_changed().to_string()));
        if let Some(image) = &self.image {
            out.push(("image-uri", image.uri.clone()));
            out.push(("image-digest", image.digest.clone()));
            out.push(("image-tags", image.tags.join(",")));
        }
        if let Some(s3) = &self.s3_uri {
            out.push(("s3-uri", s3.clone()));
        }
        if let Some(arns) = &self.layer_arns {
            let arns: Vec<String> = arns.iter().map(ToString::to_string).collect();
            out.push(("layer-arns", arns.join(",")));
        }
        out.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    /// The outputs as one JSON object (`--format json`).
    pub(crate) fn outputs_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.outputs()
                .into_iter()
                .map(|(k, v)| (k, serde_json::Value::String(v)))
                .collect(),
        )
    }

    /// What `--format json` prints: the outputs, and the plan under `plan`.
    pub fn json(&self) -> serde_json::Value {
        let mut value = self.outputs_json();
        if let (Some(plan), Some(obj)) = (&self.plan, value.as_object_mut()) {
            obj.insert(
                "plan".into(),
                serde_json::to_value(plan).unwrap_or_default(),
            );
        }
        value
    }

    /// The job summary, in GitHub-flavoured markdown, under GitHub's size cap.
    pub fn summary_markdown(&self) -> String {
        // Drop detail first: long change and warning lists are cut to a count.
        markdown::fit(GITHUB_BODY_LIMIT, 20, "summary", |rows| {
            self.render_summary(rows)
        })
    }

    fn render_summary(&self, max_rows: usize) -> String {
        let mut md = String::new();
        self.title(&mut md);
        if self.extra.removal.is_some() {
            extra::sections(self, &mut md);
            self.footer(&mut md, max_rows);
            return md;
        }
        self.code_rows(&mut md);
        self.run_rows(&mut md);
        self.alias_table(&mut md, max_rows);
        extra::sections(self, &mut md);
        self.layer_tables(&mut md, max_rows);
        self.change_table(&mut md, max_rows);
        self.footer(&mut md, max_rows);
        md
    }

    /// The headline and the first row of the facts table: the function.
    fn title(&self, md: &mut String) {
        let headline = match self.outcome.status {
            Status::Deployed if self.created() => "created and deployed",
            Status::Deployed => "deployed",
            Status::Unchanged => "unchanged: nothing to deploy",
            Status::Planned => "planned (dry run, nothing changed)",
            Status::Removed => "removed",
            Status::Superseded => "superseded by a newer deploy during its traffic shift",
        };
        let _ = writeln!(md, "### λ {} {headline}\n", code(&self.function_name));
        let _ = writeln!(md, "| | |\n|---|---|");
        if let Some(arn) = &self.function_arn {
            let _ = writeln!(md, "| Function | {} |", code(arn));
        }
    }

    /// The version, the code (zip or image) and where it went.
    fn code_rows(&self, md: &mut String) {
        let version = match (&self.outcome.version, self.outcome.published) {
            (Some(v), true) => format!("{} (new)", code(v)),
            (Some(v), false) => code(v),
            (None, _) => "new version to publish".into(),
        };
        let _ = writeln!(md, "| Version | {version} |");
        let uploaded = if self.code_changed() {
            "uploaded"
        } else {
            "unchanged"
        };
        match &self.image {
            Some(image) => image_rows(md, uploaded, image),
            None => {
                let _ = writeln!(
                    md,
                    "| Code | {uploaded}: {} zipped, {} unzipped, sha256 {} |",
                    bytes(self.code_size()),
                    bytes(self.code().map_or(0, |c| c.unzipped_size)),
                    markdown::code(self.code_sha256())
                );
            }
        }
        if let Some(s3) = &self.s3_uri {
            let _ = writeln!(md, "| Uploaded through | {} |", code(s3));
        }
        if let Some(url) = &self.function_url {
            let _ = writeln!(md, "| Function URL | {} |", markdown::url(url));
        }
    }

    /// The commit, the smoke test and the time the run took.
    fn run_rows(&self, md: &mut String) {
        let p = &self.provenance;
        if let Some(sha) = &p.short_sha {
            let commit = markdown::commit(sha, p.commit_url.as_deref());
            let label = p
                .ref_label
                .as_deref()
                .map(|r| format!("{} @ ", text(r)))
                .unwrap_or_default();
            let _ = writeln!(md, "| Commit | {label}{commit} |");
        }
        if let Some(s) = &self.smoke {
            let (shown, cut) = markdown::capped(&s.response, SUMMARY_PAYLOAD);
            let note = if cut {
                format!(" (first {SUMMARY_PAYLOAD} characters; the step's log has more)")
            } else {
                String::new()
            };
            let _ = writeln!(
                md,
                "| Smoke test | passed on {}: {}{note} |",
                code(&s.version),
                code(shown)
            );
        }
        let _ = writeln!(
            md,
            "| Time | {:.1} s |",
            self.outcome.elapsed_ms as f64 / 1000.0
        );
    }

    /// The aliases moved, and those already on the version.
    fn alias_table(&self, md: &mut String, max_rows: usize) {
        if self.outcome.moved.is_empty() && self.outcome.aliases.is_empty() {
            return;
        }
        let _ = writeln!(md, "\n**Aliases**\n\n| Alias | From | To |\n|---|---|---|");
        for m in self.outcome.moved.iter().take(max_rows) {
            let from = m
                .from
                .as_deref()
                .map(code)
                .unwrap_or_else(|| "(created)".into());
            let _ = writeln!(md, "| {} | {from} | {} |", code(&m.name), code(&m.to));
        }
        for a in self
            .outcome
            .aliases
            .iter()
            .filter(|a| !self.outcome.moved.iter().any(|m| &m.name == *a))
            .take(max_rows)
        {
            let v = code(self.outcome.version.as_deref().unwrap_or("new"));
            let _ = writeln!(md, "| {} | {v} | {v} (already there) |", code(a));
        }
    }

    /// The image's layers (image runs) and the Lambda layers.
    fn layer_tables(&self, md: &mut String, max_rows: usize) {
        if let Some(image) = self.image.as_ref().filter(|i| !i.layers.is_empty()) {
            let _ = writeln!(
                md,
                "\n**Image layers**\n\n| Layer | Size | |\n|---|---|---|"
            );
            for l in image.layers.iter().take(max_rows) {
                let short = l.digest.get(..19).unwrap_or(&l.digest);
                let _ = writeln!(md, "| {} | {} | {} |", code(short), bytes(l.size), l.state);
            }
            if image.layers.len() > max_rows {
                let _ = writeln!(md, "| … | {} more | |", image.layers.len() - max_rows);
            }
        }
        if !self.layers.is_empty() {
            let _ = writeln!(md, "\n**Layers**\n\n| Layer | Version | |\n|---|---|---|");
            for l in self.layers.iter().take(max_rows) {
                let what = match (self.outcome.status, l.published) {
                    (Status::Planned, true) => "to publish",
                    (_, true) => "published",
                    (_, false) => "reused (unchanged)",
                };
                let _ = writeln!(
                    md,
                    "| {} | {} | {what} |",
                    code(&l.name),
                    code(&l.arn.to_string())
                );
            }
        }
    }

    /// The configuration fields that changed, and the tags set.
    fn change_table(&self, md: &mut String, max_rows: usize) {
        let Some(plan) = &self.plan else {
            return;
        };
        if !plan.changes.is_empty() {
            let _ = writeln!(
                md,
                "\n**Configuration changed**\n\n| Field | From | To |\n|---|---|---|"
            );
            for c in plan.changes.iter().take(max_rows) {
                let from = c.from.as_deref().map(code).unwrap_or_else(|| "—".into());
                let _ = writeln!(md, "| {} | {from} | {} |", text(c.field), code(&c.to));
            }
            if plan.changes.len() > max_rows {
                let _ = writeln!(md, "| … | {} more | |", plan.changes.len() - max_rows);
            }
        }
        if !plan.tags.is_empty() {
            let _ = writeln!(
                md,
                "\nTags set: {}",
                plan.tags
                    .iter()
                    .map(|(k, v)| code(&format!("{k}={v}")))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }

    /// What ends every summary: the warnings, the plan and the link to the run.
    fn footer(&self, md: &mut String, max_rows: usize) {
        markdown::warnings(md, &self.outcome.warnings, max_rows);
        if let Some(plan) = &self.plan {
            md.push_str(&plan::render::markdown(plan, max_rows));
        }
        if let Some(run) = &self.provenance.run_url {
            md.push_str(&markdown::footer(Some(run)));
        }
    }
}

/// The summary rows of an image deploy: where it is, its tags and what was uploaded.
fn image_rows(md: &mut String, code: &str, image: &ImageReport) {
    let _ = writeln!(md, "| Image | {code}: {} |", markdown::code(&image.uri));
    let tags = if image.tags.is_empty() {
        "none".to_string()
    } else {
        image
            .tags
            .iter()
            .map(|t| markdown::code(t))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(md, "| Image tags | {tags} |");
    if image.built {
        let count = |state: &str| image.layers.iter().filter(|l| l.state == state).count();
        let _ = writeln!(
            md,
            "| Pushed | {} uploaded; layers: {} uploaded, {} mounted, {} copied, {} already there |",
            bytes(image.bytes_uploaded),
            count("uploaded"),
            count("mounted"),
            count("copied"),
            count("present")
        );
    }
}

#[cfg(test)]
mod tests;
