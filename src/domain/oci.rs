//! The OCI and Docker v2 schema 2 documents lambda-deploy reads and writes: single-platform
//! manifests, image indexes (manifest lists) and descriptors. Image configs stay
//! `serde_json::Value`, so fields this crate does not know survive a rebuild untouched.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(crate) const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub(crate) const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub(crate) const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub(crate) const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub(crate) const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub(crate) const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// Every manifest type a GET may answer with, for the `Accept` header.
pub(crate) const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// `sha256:<hex>` of some bytes.
pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(bytes);
    digest_string(h)
}

/// `sha256:<hex>` of a finished hash.
pub(crate) fn digest_string(hash: Sha256) -> String {
    let bytes = hash.finalize();
    let mut s = String::with_capacity(71);
    s.push_str("sha256:");
    for b in bytes.iter() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Whether a media type is an index / manifest list.
pub(crate) fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_LIST
}

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The platform of one index entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// A single-platform image manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

/// An image index / manifest list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Index {
    pub manifests: Vec<Descriptor>,
}

/// Lambda's architecture name for an OCI one (`amd64` -> `x86_64`).
pub(crate) fn lambda_arch(oci: &str) -> String {
    match oci {
        "amd64" => "x86_64".into(),
        other => other.to_string(),
    }
}

/// The OCI architecture name for a Lambda one (`x86_64` -> `amd64`).
pub(crate) fn oci_arch(lambda: &str) -> &str {
    match lambda {
        "x86_64" => "amd64",
        other => other,
    }
}

/// The entry of an index for `linux/<arch>`; attestation manifests (platform
/// `unknown/unknown` or the `vnd.docker.reference.type` annotation) are never picked.
pub(crate) fn pick_platform<'a>(
    index: &'a Index,
    lambda_architecture: &str,
) -> Option<&'a Descriptor> {
    let want = oci_arch(lambda_architecture);
    index.manifests.iter().find(|d| {
        let attestation = d
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key("vnd.docker.reference.type"));
        !attestation
            && d.platform
                .as_ref()
                .is_some_and(|p| p.os == "linux" && p.architecture == want)
    })
}

/// The platforms an index offers, for error messages.
pub(crate) fn platforms(index: &Index) -> Vec<String> {
    index
        .manifests
        .iter()
        .filter_map(|d| d.platform.as_ref())
        .filter(|p| p.os != "unknown")
        .map(|p| format!("{}/{}", p.os, p.architecture))
        .collect()
}
