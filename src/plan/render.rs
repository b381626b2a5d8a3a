//! The plan for people and programs: text for `dry-run` and the log ([`fmt::Display`]),
//! markdown for the job summary and the pull request comment ([`markdown`]), and the JSON
//! of `--format json` ([`PlanJson`]). All three show the one [`Plan`] value.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use serde::Serialize;

use super::{
    AliasRow, CodeRoute, ConfigUpdate, FieldChange, FunctionAction, LayerStep, LocalCode, Plan,
    Publish, UrlAction, UrlStep, Verdict, bytes,
};
use crate::domain::kind::Architecture;
use crate::markdown::{code, text};

/// The JSON form of a [`Plan`]: its fields, with every alias listed once with its verdict.
#[derive(Debug, Clone, Serialize)]
pub struct PlanJson {
    function_name: String,
    action: FunctionAction,
    code: LocalCode,
    previous_code_sha256: Option<String>,
    code_changed: bool,
    architecture: Option<Architecture>,
    config: ConfigUpdate,
    changes: Vec<FieldChange>,
    tags: BTreeMap<String, String>,
    code_route: CodeRoute,
    layers: Vec<LayerStep>,
    publish: Publish,
    aliases: Vec<AliasRow>,
    function_url: Option<UrlStep>,
    #[serde(skip_serializing_if = "Option::is_none")]
    function_url_removed: Option<String>,
}

impl From<Plan> for PlanJson {
    fn from(p: Plan) -> Self {
        let aliases = p.alias_rows();
        PlanJson {
            function_name: p.function_name,
            action: p.action,
            code: p.code,
            previous_code_sha256: p.previous_code_sha256,
            code_changed: p.code_changed,
            architecture: p.architecture,
            config: p.config,
            changes: p.changes,
            tags: p.tags,
            code_route: p.code_route,
            layers: p.layers,
            publish: p.publish,
            aliases,
            function_url: p.function_url,
            function_url_removed: p.function_url_removed,
        }
    }
}

fn verb(action: FunctionAction) -> &'static str {
    match action {
        FunctionAction::Create => "create",
        FunctionAction::Update => "update",
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "plan for function {} ({})",
            self.function_name,
            verb(self.action)
        )?;
        self.code_lines(f)?;
        self.config_lines(f)?;
        self.version_lines(f)?;
        self.url_lines(f)?;
        if self.is_noop() {
            writeln!(f, "  nothing to do")?;
        }
        Ok(())
    }
}

impl Plan {
    /// The code, where it goes, and the image and layers.
    fn code_lines(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = if self.code_changed {
            format!(
                "upload {} (sha256 {})",
                bytes(self.code.size),
                self.code.code_sha256
            )
        } else {
            format!("unchanged (sha256 {})", self.code.code_sha256)
        };
        writeln!(f, "  code: {code}")?;
        if let Some(image) = &self.code.image {
            writeln!(f, "  image: {}", image.uri)?;
        }
        match &self.code_route {
            CodeRoute::S3 { bucket, key } => writeln!(f, "  code through: s3://{bucket}/{key}")?,
            CodeRoute::Image {
                push: Some(push), ..
            } => writeln!(
                f,
                "  image push: {} ({} layers), tags {}",
                push.repository,
                push.blobs.len(),
                push.tags.join(", ")
            )?,
            _ => {}
        }
        for l in &self.layers {
            match l {
                LayerStep::Publish { name, size, .. } => writeln!(
                    f,
                    "  layer {name}: publish a new version ({})",
                    bytes(*size)
                )?,
                LayerStep::Reuse { name, arn } => writeln!(f, "  layer {name}: reuse {arn}")?,
            }
        }
        Ok(())
    }

    /// The configuration fields that change, those a new function gets, and the tags.
    fn config_lines(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.changes {
            match &c.from {
                Some(from) => writeln!(f, "  {}: {} -> {}", c.field, from, c.to)?,
                None => writeln!(f, "  {}: {}", c.field, c.to)?,
            }
        }
        if self.action == FunctionAction::Create {
            for (k, v) in self.create_fields() {
                writeln!(f, "  {k}: {v}")?;
            }
        }
        for (k, v) in &self.tags {
            writeln!(f, "  tag {k}={v}")?;
        }
        Ok(())
    }

    /// The fields a new function is created with, beyond `changes`.
    fn create_fields(&self) -> Vec<(&'static str, String)> {
        let u = &self.config;
        [
            ("role", &u.role),
            ("runtime", &u.runtime),
            ("handler", &u.handler),
            ("architecture", &self.architecture.map(|a| a.to_string())),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
        .collect()
    }

    /// The version and every alias with its verdict.
    fn version_lines(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.publish {
            Publish::No => writeln!(f, "  version: none published (publish: false)")?,
            Publish::New { description } => writeln!(f, "  version: publish new ({description})")?,
            Publish::Reuse { version } => writeln!(f, "  version: {version} (unchanged)")?,
        }
        for a in self.alias_rows() {
            let to = a.to.clone().unwrap_or_else(|| "new version".into());
            match (&a.verdict, &a.from) {
                (Verdict::Move, Some(from)) => writeln!(f, "  alias {}: {from} -> {to}", a.name)?,
                (Verdict::Move, None) => writeln!(f, "  alias {}: create -> {to}", a.name)?,
                (Verdict::InPlace, _) => writeln!(f, "  alias {}: already there", a.name)?,
                (Verdict::Hold { reason }, _) => {
                    writeln!(f, "  alias {}: held on {to} ({reason})", a.name)?
                }
            }
        }
        Ok(())
    }

    /// The function URL and its grants.
    fn url_lines(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(u) = &self.function_url {
            writeln!(f, "  function URL on alias {}: {}", u.alias, url_summary(u))?;
        }
        if let Some(alias) = &self.function_url_removed {
            writeln!(
                f,
                "  function URL on alias {alias}: remove (no longer wanted), with its grants"
            )?;
        }
        Ok(())
    }
}

/// What happens to a function URL, in words.
fn url_summary(u: &UrlStep) -> String {
    let auth = match u.auth {
        crate::config::FunctionUrl::Iam => "IAM auth",
        _ => "public",
    };
    let action = match u.action {
        UrlAction::Create => "create",
        UrlAction::ChangeAuth => "change auth",
        UrlAction::Keep => "keep",
    };
    let mut s = format!("{action} ({auth})");
    if !u.grants_add.is_empty() {
        let _ = write!(s, "; grants to add: {}", u.grants_add.join(", "));
    }
    if !u.grants_remove.is_empty() {
        let _ = write!(s, "; grants to remove: {}", u.grants_remove.join(", "));
    }
    s
}

/// The plan as a collapsible markdown section for the job summary and the pull request
/// comment; tables show at most `max_rows` rows each.
pub fn markdown(plan: &Plan, max_rows: usize) -> String {
    let mut md = String::from("\n<details><summary>Plan</summary>\n\n| | |\n|---|---|\n");
    let _ = writeln!(
        md,
        "| Function | {}: {} |",
        code(&plan.function_name),
        verb(plan.action)
    );
    let _ = writeln!(md, "| Code | {} |", code_cell(plan));
    for l in plan.layers.iter().take(max_rows) {
        let what = match l {
            LayerStep::Publish { size, .. } => format!("publish a new version ({})", bytes(*size)),
            LayerStep::Reuse { arn, .. } => format!("reuse {}", code(arn)),
        };
        let _ = writeln!(md, "| Layer {} | {what} |", code(l.name()));
    }
    let version = match &plan.publish {
        Publish::No => "none published (publish: false)".to_string(),
        Publish::New { description } => format!("publish new: {}", code(description)),
        Publish::Reuse { version } => format!("{} (unchanged)", code(version)),
    };
    let _ = writeln!(md, "| Version | {version} |");
    if let Some(u) = &plan.function_url {
        let _ = writeln!(
            md,
            "| Function URL | alias {}: {} |",
            code(&u.alias),
            text(&url_summary(u))
        );
    }
    if let Some(alias) = &plan.function_url_removed {
        let _ = writeln!(
            md,
            "| Function URL | alias {}: remove, with its grants |",
            code(alias)
        );
    }
    field_table(plan, &mut md, max_rows);
    alias_table(plan, &mut md, max_rows);
    md.push_str("\n</details>\n");
    md
}

/// The code cell: what is sent and by which route.
fn code_cell(plan: &Plan) -> String {
    let sha = code(&plan.code.code_sha256);
    match &plan.code_route {
        CodeRoute::Unchanged => format!("unchanged, sha256 {sha}"),
        CodeRoute::Direct => format!("upload {}, sha256 {sha}", bytes(plan.code.size)),
        CodeRoute::S3 { bucket, key } => format!(
            "upload {} through {}, sha256 {sha}",
            bytes(plan.code.size),
            code(&format!("s3://{bucket}/{key}"))
        ),
        CodeRoute::Image { uri, push: None } => format!("image {}", code(uri)),
        CodeRoute::Image { uri, push: Some(p) } => format!(
            "image {}, pushed to {} ({} layers) with tags {}",
            code(uri),
            code(&p.repository),
            p.blobs.len(),
            p.tags
                .iter()
                .map(|t| code(t))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The configuration fields that change (or that a new function gets), and the tags.
fn field_table(plan: &Plan, md: &mut String, max_rows: usize) {
    let mut rows: Vec<(String, String, String)> = plan
        .changes
        .iter()
        .map(|c| {
            let from = c.from.as_deref().map(code).unwrap_or_else(|| "—".into());
            (text(c.field), from, code(&c.to))
        })
        .collect();
    if plan.action == FunctionAction::Create {
        rows.extend(
            plan.create_fields()
                .into_iter()
                .map(|(k, v)| (k.to_string(), "—".into(), code(&v))),
        );
    }
    rows.extend(
        plan.tags
            .iter()
            .map(|(k, v)| (format!("tag {}", code(k)), "—".into(), code(v))),
    );
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(md, "\n| Field | From | To |\n|---|---|---|");
    for (field, from, to) in rows.iter().take(max_rows) {
        let _ = writeln!(md, "| {field} | {from} | {to} |");
    }
    if rows.len() > max_rows {
        let _ = writeln!(md, "| … | {} more | |", rows.len() - max_rows);
    }
}

/// Every alias of the run with its verdict.
fn alias_table(plan: &Plan, md: &mut String, max_rows: usize) {
    let rows = plan.alias_rows();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(md, "\n| Alias | From | To | |\n|---|---|---|---|");
    for a in rows.iter().take(max_rows) {
        let from = a
            .from
            .as_deref()
            .map(code)
            .unwrap_or_else(|| "(created)".into());
        let to =
            a.to.as_deref()
                .map(code)
                .unwrap_or_else(|| "new version".into());
        let verdict = match &a.verdict {
            Verdict::Move => "move".to_string(),
            Verdict::InPlace => "already there".to_string(),
            Verdict::Hold { reason } => format!("held: {}", text(reason)),
        };
        let _ = writeln!(md, "| {} | {from} | {to} | {verdict} |", code(&a.name));
    }
}
