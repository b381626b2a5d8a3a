//! Assembles the new image from the base image and the code layer, without a Docker
//! engine: the base's layers, then the code layer; the base's config with `Cmd` replaced,
//! the layer's `diff_id` appended and a history entry added. Documents are serialised with
//! sorted keys and no whitespace, so one base and one tree always give one digest.

use serde_json::{Value, json};

use super::layer::LayerInfo;
use crate::domain::image_ref::ImageRef;
use crate::domain::oci::sha256_digest;
use crate::domain::oci::{self, Descriptor, Manifest};

/// The base image as read from its registry (one platform).
#[derive(Debug, Clone)]
pub struct BaseImage {
    pub reference: ImageRef,
    /// Digest of the single-platform manifest.
    pub manifest_digest: String,
    pub manifest: Manifest,
    /// The manifest's media type (OCI or Docker schema 2).
    pub media_type: String,
    pub config: Value,
    /// Lambda's name for the config's architecture (`x86_64`, `arm64`).
    pub architecture: String,
}

/// The new image, ready to push.
#[derive(Debug, Clone)]
pub struct Built {
    pub config: Vec<u8>,
    pub config_descriptor: Descriptor,
    pub manifest: Vec<u8>,
    pub manifest_digest: String,
    pub media_type: String,
    /// Base layers first, the code layer last.
    pub layers: Vec<Descriptor>,
}

/// The architecture of an image config, in Lambda's spelling.
pub(crate) fn config_architecture(config: &Value) -> String {
    oci::lambda_arch(config["architecture"].as_str().unwrap_or("unknown"))
}

/// Builds config and manifest. `cmd` becomes the config's `Cmd`.
///
/// # Errors
/// A message when the base config is not an image config (no `rootfs.diff_ids`).
pub fn assemble(base: &BaseImage, layer: &LayerInfo, cmd: &[String]) -> Result<Built, String> {
    let mut config = base.config.clone();
    let Some(obj) = config.as_object_mut() else {
        return Err("its config is not a JSON object".into());
    };
    let diff_ids = obj
        .get_mut("rootfs")
        .and_then(|r| r.get_mut("diff_ids"))
        .and_then(Value::as_array_mut)
        .ok_or("its config has no rootfs.diff_ids")?;
    diff_ids.push(Value::String(layer.diff_id.clone()));
    let settings = obj.entry("config").or_insert_with(|| json!({}));
    if !settings.is_object() {
        *settings = json!({});
    }
    settings["Cmd"] = json!(cmd);
    if let Some(history) = obj.get_mut("history").and_then(Value::as_array_mut) {
        history.push(json!({
            "created": "1970-01-01T00:00:00Z",
            "created_by": "lambda-deploy: source-dir -> /var/task",
        }));
    }
    let config_bytes = serde_json::to_vec(&config).map_err(|e| e.to_string())?;

    let docker = base.media_type == oci::DOCKER_MANIFEST;
    let (manifest_type, config_type, layer_type) = if docker {
        (
            oci::DOCKER_MANIFEST,
            oci::DOCKER_CONFIG,
            oci::DOCKER_LAYER_GZIP,
        )
    } else {
        (oci::OCI_MANIFEST, oci::OCI_CONFIG, oci::OCI_LAYER_GZIP)
    };
    let config_descriptor = Descriptor {
        media_type: config_type.into(),
        digest: sha256_digest(&config_bytes),
        size: config_bytes.len() as u64,
        platform: None,
        annotations: None,
    };
    let mut layers = base.manifest.layers.clone();
    layers.push(Descriptor {
        media_type: layer_type.into(),
        digest: layer.digest.clone(),
        size: layer.size,
        platform: None,
        annotations: None,
    });
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(manifest_type.into()),
        config: config_descriptor.clone(),
        layers: layers.clone(),
    };
    let manifest_bytes = serde_json::to_vec(&manifest).map_err(|e| e.to_string())?;
    Ok(Built {
        manifest_digest: sha256_digest(&manifest_bytes),
        config: config_bytes,
        config_descriptor,
        manifest: manifest_bytes,
        media_type: manifest_type.into(),
        layers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(media_type: &str) -> BaseImage {
        let config = json!({
            "architecture": "amd64", "os": "linux",
            "config": {"Entrypoint": ["/lambda-entrypoint.sh"], "Env": ["A=1"], "Cmd": ["old"]},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:00"]},
            "history": [{"created_by": "base"}]
        });
        BaseImage {
            reference: "127.0.0.1:5000/base:1".parse().unwrap(),
            manifest_digest: "sha256:m".into(),
            manifest: Manifest {
                schema_version: 2,
                media_type: Some(media_type.into()),
                config: Descriptor {
                    media_type: oci::OCI_CONFIG.into(),
                    digest: "sha256:c".into(),
                    size: 1,
                    platform: None,
                    annotations: None,
                },
                layers: vec![Descriptor {
                    media_type: oci::OCI_LAYER_GZIP.into(),
                    digest: "sha256:l".into(),
                    size: 10,
                    platform: None,
                    annotations: None,
                }],
            },
            media_type: media_type.into(),
            config,
            architecture: "x86_64".into(),
        }
    }

    #[test]
    fn config_keeps_base_settings_and_sets_cmd() {
        let layer = LayerInfo {
            path: "x".into(),
            digest: "sha256:new".into(),
            diff_id: "sha256:diff".into(),
            size: 5,
            uncompressed_size: 9,
            entries: 1,
        };
        let b = assemble(&base(oci::OCI_MANIFEST), &layer, &["app.handler".into()]).unwrap();
        let c: Value = serde_json::from_slice(&b.config).unwrap();
        assert_eq!(c["config"]["Cmd"], json!(["app.handler"]));
        assert_eq!(c["config"]["Entrypoint"], json!(["/lambda-entrypoint.sh"]));
        assert_eq!(c["rootfs"]["diff_ids"], json!(["sha256:00", "sha256:diff"]));
        assert_eq!(c["history"].as_array().unwrap().len(), 2);
        assert_eq!(b.layers.len(), 2);
        assert_eq!(b.manifest_digest, sha256_digest(&b.manifest));
        let again = assemble(&base(oci::OCI_MANIFEST), &layer, &["app.handler".into()]).unwrap();
        assert_eq!(again.manifest_digest, b.manifest_digest);
        let docker = assemble(&base(oci::DOCKER_MANIFEST), &layer, &["x".into()]).unwrap();
        assert_eq!(docker.media_type, oci::DOCKER_MANIFEST);
        assert_eq!(docker.layers[1].media_type, oci::DOCKER_LAYER_GZIP);
    }
}
