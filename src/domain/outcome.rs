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
