//! What is sent to Lambda for a function, as plain data: the plan decides it, the Lambda
//! adapter sends it.

use std::collections::BTreeMap;

use serde::Serialize;

/// What UpdateFunctionConfiguration (or CreateFunction) sends: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConfigUpdate {
    pub role: Option<String>,
    pub runtime: Option<String>,
    pub handler: Option<String>,
    pub memory_size: Option<i32>,
    pub timeout: Option<i32>,
    pub description: Option<String>,
    /// Serialised as its key names only: values are often secrets.
    #[serde(serialize_with = "key_names")]
    pub environment: Option<BTreeMap<String, String>>,
    pub layers: Option<Vec<String>>,
    /// `CMD` override of an image function (ImageConfig).
    pub image_command: Option<Vec<String>>,
}

/// Serialises an environment as the sorted list of its key names, never its values.
fn key_names<S: serde::Serializer>(
    env: &Option<BTreeMap<String, String>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match env {
        Some(vars) => s.collect_seq(vars.keys()),
        None => s.serialize_none(),
    }
}

impl ConfigUpdate {
    /// True when nothing would be sent.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}
