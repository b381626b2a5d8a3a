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
    /// The function's whole layer list, in order.
    pub layers: Option<Vec<LayerRef>>,
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

    /// The layer version ARNs to send. A layer still to be published has none yet: the
    /// run fills the plan in with its ARN before anything is sent
    /// ([`ConfigUpdate::layer_to_publish`] names one it did not).
    pub fn layer_arns(&self) -> Option<Vec<String>> {
        self.layers.as_ref().map(|l| {
            l.iter()
                .filter_map(|r| r.arn().map(str::to_string))
                .collect()
        })
    }

    /// The first layer in the list whose version is still to be published.
    pub(crate) fn layer_to_publish(&self) -> Option<&str> {
        self.layers.iter().flatten().find_map(|r| match r {
            LayerRef::Version(_) => None,
            LayerRef::ToPublish(name) => Some(name.as_str()),
        })
    }
}

/// One entry of a function's layer list: a version that exists, or the version the run
/// publishes of one of its `layer-dirs` layers, whose ARN is known only once it is
/// published.
///
/// JSON: the ARN as a string, or `{"layer": <name>, "publish": true}`. Text: the ARN,
/// or `<name> (new version)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerRef {
    /// A layer version, by ARN.
    Version(String),
    /// The new version of the layer with this name.
    ToPublish(String),
}

impl LayerRef {
    /// The version's ARN; `None` while it is still to be published.
    pub fn arn(&self) -> Option<&str> {
        match self {
            LayerRef::Version(arn) => Some(arn),
            LayerRef::ToPublish(_) => None,
        }
    }
}

impl std::fmt::Display for LayerRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LayerRef::Version(arn) => f.write_str(arn),
            LayerRef::ToPublish(name) => write!(f, "{name} (new version)"),
        }
    }
}

impl Serialize for LayerRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            LayerRef::Version(arn) => s.serialize_str(arn),
            LayerRef::ToPublish(name) => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("layer", name)?;
                m.serialize_entry("publish", &true)?;
                m.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layer_version_to_publish_is_structured_in_json_and_readable_in_text() {
        let arn = "arn:aws:lambda:us-east-1:123456789012:layer:ext:3";
        let list = vec![
            LayerRef::Version(arn.into()),
            LayerRef::ToPublish("tools".into()),
        ];
        assert_eq!(
            serde_json::to_value(&list).expect("json"),
            serde_json::json!([arn, {"layer": "tools", "publish": true}])
        );
        let text: Vec<String> = list.iter().map(ToString::to_string).collect();
        assert_eq!(text, vec![arn.to_string(), "tools (new version)".into()]);
        let update = ConfigUpdate {
            layers: Some(list),
            ..ConfigUpdate::default()
        };
        assert_eq!(update.layer_to_publish(), Some("tools"));
        assert_eq!(update.layer_arns(), Some(vec![arn.to_string()]));
    }
}
