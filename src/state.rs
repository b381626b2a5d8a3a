//! What AWS holds now, as plain data: the adapters read it, the plan compares against it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::kind::{Architecture, PackageType};

/// The function's `$LATEST` configuration and tags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LiveFunction {
    pub arn: String,
    pub package_type: PackageType,
    pub runtime: Option<String>,
    pub role: Option<String>,
    pub handler: Option<String>,
    pub architecture: Option<Architecture>,
    pub memory_size: Option<i32>,
    pub timeout: Option<i32>,
    pub description: Option<String>,
    pub environment: BTreeMap<String, String>,
    pub layers: Vec<String>,
    pub code_sha256: String,
    pub code_size: i64,
    /// `CMD` override of an image function (ImageConfig), when set.
    pub image_command: Option<Vec<String>>,
    pub revision_id: Option<String>,
    pub state: Option<FunctionState>,
    pub last_update_status: Option<LastUpdateStatus>,
    pub tags: BTreeMap<String, String>,
}

/// Where a function is in its life (Lambda's `State`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FunctionState {
    /// Just created: no write is accepted until it is active.
    Pending,
    Active,
    Inactive,
    Failed,
}

/// How the last update of `$LATEST` went (Lambda's `LastUpdateStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LastUpdateStatus {
    /// Still being applied: the next write must wait for it.
    InProgress,
    Successful,
    Failed,
}

/// A published version's snapshot (the fields that decide whether `$LATEST` differs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LiveVersion {
    pub version: String,
    pub code_sha256: String,
    pub description: Option<String>,
    pub fingerprint: ConfigFingerprint,
}

/// The configuration a version freezes: equal fingerprints and code mean Lambda would
/// not publish a new version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConfigFingerprint {
    pub runtime: Option<String>,
    pub role: Option<String>,
    pub handler: Option<String>,
    pub architecture: Option<Architecture>,
    pub memory_size: Option<i32>,
    pub timeout: Option<i32>,
    pub description: Option<String>,
    pub environment: BTreeMap<String, String>,
    pub layers: Vec<String>,
}

impl LiveFunction {
    /// The fingerprint of `$LATEST` as it is now.
    pub(crate) fn fingerprint(&self) -> ConfigFingerprint {
        ConfigFingerprint {
            runtime: self.runtime.clone(),
            role: self.role.clone(),
            handler: self.handler.clone(),
            architecture: self.architecture,
            memory_size: self.memory_size,
            timeout: self.timeout,
            description: self.description.clone(),
            environment: self.environment.clone(),
            layers: self.layers.clone(),
        }
    }
}

/// An alias and the version it serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveAlias {
    pub name: String,
    pub version: String,
    pub revision_id: Option<String>,
    /// The alias's own description: what moved it last (see [`crate::order`]).
    pub description: Option<String>,
}
