//! The plan: a pure function of the validated config, the local package and the live
//! function state. It says everything a run will do: whether the function is created or
//! updated and which configuration fields change, where Lambda reads the code from (the
//! zip itself, an S3 object, an image and what is pushed for it), which layers are
//! published or reused, whether a version is published or reused, which aliases move,
//! stay or are held back (and why), and the function URL with its grants.
//!
//! `dry-run` prints it ([`render`]: text), `--format json` serialises it, and the job
//! summary and the pull request comment render it as markdown ([`render::markdown`]).
//! [`plan()`] computes it (in `build.rs`); nothing here does I/O.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::FunctionUrl;
pub use crate::domain::bytes;
pub use crate::domain::function::ConfigUpdate;
use crate::domain::kind::Architecture;
use crate::state::{LiveAlias, LiveFunction, LiveVersion};

mod build;
pub mod render;

pub use build::{UrlLive, plan};

/// The package that will be deployed, as built or inspected locally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalCode {
    pub code_sha256: String,
    pub size: u64,
    pub unzipped_size: u64,
    /// Set for container images: Lambda gets the image instead of a zip.
    pub image: Option<ImageCode>,
}

/// The image a function is pointed at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageCode {
    /// `<registry>/<repository>@sha256:<hex>`: always by digest.
    pub uri: String,
    /// `CMD` override sent as ImageConfig (existing images with `image-command`).
    pub command: Option<Vec<String>>,
}

/// Whether the function is created or updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FunctionAction {
    Create,
    Update,
}

/// One configuration field that changes, for people to read. Environment values are
/// never shown, only key names: they are often secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: &'static str,
    pub from: Option<String>,
    pub to: String,
}

/// Which version the aliases end on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Publish {
    /// `publish: false`: `$LATEST` is updated and nothing is published.
    No,
    /// Publish a new version with this description.
    New { description: String },
    /// Nothing changed since this version was published: reuse it.
    Reuse { version: String },
}

/// An alias that moves (or is created) to the deployed version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AliasMove {
    pub name: String,
    /// The version it serves now; `None` when the alias is created.
    pub from: Option<String>,
    /// The version it will serve; `None` while that version is still to be published.
    pub to: Option<String>,
    #[serde(skip)]
    pub revision_id: Option<String>,
}

/// Where Lambda reads the function's code from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum CodeRoute {
    /// Lambda holds this code already: nothing is sent.
    Unchanged,
    /// The zip goes with the request itself.
    Direct,
    /// The zip is put in S3 under its content-addressed key, and Lambda reads it there.
    S3 { bucket: String, key: String },
    /// A container image, by digest; pushed first when it was built here.
    Image {
        uri: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        push: Option<ImagePush>,
    },
}

/// What is pushed for an image built here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImagePush {
    pub repository: String,
    pub tags: Vec<String>,
    /// The layer blobs the manifest names (base layers first, the code layer last); the
    /// registry's own copies are kept, missing ones uploaded.
    pub blobs: Vec<Blob>,
}

/// One blob of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blob {
    pub digest: String,
    pub size: u64,
}

/// A layer from `layer-dirs`: a new version to publish, or the latest one reused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "action")]
pub enum LayerStep {
    /// Its content changed (or it has no version yet): a version is published, and its
    /// ARN is known only then.
    Publish {
        name: String,
        code_sha256: String,
        size: u64,
        /// The latest version's ARN, which the new one follows.
        replaces: Option<String>,
    },
    /// Its latest version holds this content already.
    Reuse { name: String, arn: String },
}

impl LayerStep {
    /// The layer's name.
    pub fn name(&self) -> &str {
        match self {
            LayerStep::Publish { name, .. } | LayerStep::Reuse { name, .. } => name,
        }
    }
}

/// An alias this run would have moved but leaves where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldAlias {
    pub name: String,
    /// The version it keeps serving.
    pub stays_on: String,
    pub reason: String,
}

/// What happens to an alias named in the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "verdict")]
pub enum Verdict {
    /// It moves (or is created).
    Move,
    /// It stays where it is, for `reason`.
    Hold { reason: String },
    /// It serves the version already.
    InPlace,
}

/// One alias of the run with its verdict, as every rendering shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AliasRow {
    pub name: String,
    /// The version it serves now; `None` when it does not exist yet.
    pub from: Option<String>,
    /// The version it ends on; `None` while that version is still to be published.
    pub to: Option<String>,
    #[serde(flatten)]
    pub verdict: Verdict,
}

/// What happens to the URL of the alias `function-url` puts one on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UrlAction {
    Create,
    ChangeAuth,
    Keep,
}

/// The function URL `function-url` asks for, and the resource policy statements that
/// change with it (a public URL needs two; an IAM one must not keep them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UrlStep {
    pub alias: String,
    pub auth: FunctionUrl,
    pub action: UrlAction,
    /// Statement ids added to the function's policy.
    pub grants_add: Vec<String>,
    /// Statement ids removed from it.
    pub grants_remove: Vec<String>,
}

/// Everything a run will do. Its JSON lists every alias once, with its verdict
/// ([`Plan::alias_rows`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "render::PlanJson")]
pub struct Plan {
    pub function_name: String,
    pub action: FunctionAction,
    pub code: LocalCode,
    /// The CodeSha256 Lambda holds now (`None` for a new function).
    pub previous_code_sha256: Option<String>,
    pub code_changed: bool,
    /// Architecture sent with the code (`Some` on create, or when it changes).
    pub architecture: Option<Architecture>,
    pub config: ConfigUpdate,
    pub changes: Vec<FieldChange>,
    pub tags: BTreeMap<String, String>,
    pub publish: Publish,
    pub aliases: Vec<AliasMove>,
    /// Aliases already on the reused version.
    pub aliases_in_place: Vec<String>,
    /// Where Lambda reads the code from.
    pub code_route: CodeRoute,
    /// The `layer-dirs` layers, in the order they are attached.
    pub layers: Vec<LayerStep>,
    /// Aliases the release guard holds back: a newer release serves them.
    pub aliases_held: Vec<HeldAlias>,
    /// The function URL `function-url` asks for.
    pub function_url: Option<UrlStep>,
    /// The alias whose URL lambda-deploy created and `function-url` no longer wants: its
    /// URL and grants are removed.
    pub function_url_removed: Option<String>,
}

impl Plan {
    /// Every alias of the run with its verdict: the moves, those already in place, then
    /// those held back.
    pub(crate) fn alias_rows(&self) -> Vec<AliasRow> {
        let target = match &self.publish {
            Publish::Reuse { version } => Some(version.clone()),
            _ => None,
        };
        let moves = self.aliases.iter().map(|a| AliasRow {
            name: a.name.clone(),
            from: a.from.clone(),
            to: a.to.clone(),
            verdict: Verdict::Move,
        });
        let in_place = self.aliases_in_place.iter().map(|n| AliasRow {
            name: n.clone(),
            from: target.clone(),
            to: target.clone(),
            verdict: Verdict::InPlace,
        });
        let held = self.aliases_held.iter().map(|h| AliasRow {
            name: h.name.clone(),
            from: Some(h.stays_on.clone()),
            to: Some(h.stays_on.clone()),
            verdict: Verdict::Hold {
                reason: h.reason.clone(),
            },
        });
        moves.chain(in_place).chain(held).collect()
    }

    /// True when the run would change nothing at all.
    pub(crate) fn is_noop(&self) -> bool {
        self.action == FunctionAction::Update
            && !self.code_changed
            && self.architecture.is_none()
            && self.config.is_empty()
            && self.tags.is_empty()
            && !matches!(self.publish, Publish::New { .. })
            && self.aliases.is_empty()
    }
}

/// Why no plan can be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("function '{function}' does not exist; to create it, also give: {}", missing.join(", "))]
    MissingForCreate {
        function: String,
        missing: Vec<&'static str>,
    },
    #[error(
        "function '{function}' is deployed as a container image; Lambda cannot switch it to a zip package: deploy to a new function name or set package-type: image"
    )]
    PackageTypeMismatch { function: String },
    #[error(
        "function '{function}' is deployed as a zip package; Lambda cannot switch it to a container image: deploy to a new function name or set package-type: zip"
    )]
    ImageToZipFunction { function: String },
}

/// Inputs to [`plan`] that come from the live function.
#[derive(Debug, Clone, Default)]
pub struct Live {
    pub function: Option<LiveFunction>,
    /// The current target of each alias named in the config (missing ones are absent).
    pub aliases: Vec<LiveAlias>,
    /// The highest published version, looked up only when `$LATEST` is unchanged.
    pub latest_version: Option<LiveVersion>,
}

#[cfg(test)]
mod tests;
