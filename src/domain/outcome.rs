//! What a run did, as plain records: the modules that carry the plan out fill them in,
//! and the report renders them without importing those modules.

use serde::Serialize;

use super::function::LayerRef;

/// An alias that moved, with both ends known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moved {
    pub name: String,
    pub from: Option<String>,
    pub to: String,
}

/// A smoke test that passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmokePassed {
    pub version: String,
    /// The start of what the function returned.
    pub response: String,
}

/// An alias the run would have moved but left where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedMove {
    pub alias: String,
    /// The version it keeps serving.
    pub version: String,
    pub reason: String,
}

/// One layer as the run left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerOutcome {
    pub name: String,
    /// The version the function uses; for a dry run, possibly the one to publish.
    pub arn: LayerRef,
    pub published: bool,
}

/// One layer of the pushed image, for the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerReport {
    pub digest: String,
    pub size: u64,
    /// `uploaded`, `mounted`, `copied` or `present`.
    pub state: &'static str,
}

/// What the image part of a run did, for outputs and the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImageReport {
    pub uri: String,
    pub digest: String,
    pub repository: String,
    pub tags: Vec<String>,
    pub layers: Vec<LayerReport>,
    pub bytes_uploaded: u64,
    pub built: bool,
}

/// What closing the preview removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Removal {
    /// The preview function (`<function-name>-pr-<N>`).
    pub function: String,
    /// Whether the preview function was (in a dry run: would be) deleted; false when it
    /// did not exist or was kept.
    pub function_deleted: bool,
    pub alias: String,
    /// The version the alias served, when it existed.
    pub alias_version: Option<String>,
    pub url: Option<String>,
    pub versions_deleted: Vec<String>,
    /// Kept for the shape of earlier reports: a preview function's versions are all its
    /// own, so none is kept.
    pub versions_kept: Vec<(String, String)>,
    /// Why the function was left in place, when it was.
    pub kept_because: Option<String>,
}

/// One step of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// UTC time of day, `HH:MM:SS`.
    pub at: String,
    /// Percent of the requests on the new version.
    pub weight: u8,
    /// Each alarm's state right after the step: (name, state).
    pub alarms: Vec<(String, String)>,
}

/// How a shift went, for the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shifted {
    /// The input, as written back (`canary 10% 5m`).
    pub shift: String,
    pub aliases: Vec<String>,
    pub from: Vec<String>,
    pub to: String,
    pub timeline: Vec<Step>,
    /// All the traffic reached the new version.
    pub completed: bool,
    /// Aliases a newer deploy took over mid-shift (this run stopped shifting).
    pub overtaken: Vec<Held>,
}

/// An alias left where it was, because it serves a newer deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Held {
    pub name: String,
    /// The version it keeps serving.
    pub serving: String,
    /// Why that deploy counts as newer.
    pub why: String,
}

impl Held {
    /// The warning people read.
    pub fn warning(&self) -> String {
        format!(
            "alias '{}' was not moved: {}; it keeps serving version {} (this run is older, so moving it would roll it back)",
            self.name, self.why, self.serving
        )
    }
}
