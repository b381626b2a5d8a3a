//! Reads an image from its registry: the manifest (by digest when pinned, else by tag),
//! the platform's manifest when it is an index, and the config.

use super::ImageError;
use super::build::{BaseImage, config_architecture};
use crate::domain::image_ref::ImageRef;
use crate::domain::oci::{self, Index, Manifest};
use crate::registry::Registry;

fn unusable(image: &ImageRef, reason: impl Into<String>) -> ImageError {
    ImageError::Unusable {
        image: image.to_string(),
        reason: reason.into(),
    }
}

/// Resolves `image` to one single-platform manifest for `arch` (Lambda's spelling) and
/// reads its config.
pub(crate) async fn resolve(
    registry: &Registry,
    image: &ImageRef,
    arch: &str,
) -> Result<BaseImage, ImageError> {
    let reference = image
        .digest
        .clone()
        .or_else(|| image.tag.clone())
        .unwrap_or_else(|| "latest".into());
    let mut fetched = registry.manifest(&image.repository, &reference).await?;
    if oci::is_index(&fetched.media_type) {
        let index: Index = serde_json::from_slice(&fetched.bytes)
            .map_err(|e| unusable(image, format!("its index is not valid JSON ({e})")))?;
        let Some(entry) = oci::pick_platform(&index, arch) else {
            return Err(ImageError::NoPlatform {
                image: image.to_string(),
                arch: arch.to_string(),
                offered: oci::platforms(&index).join(", "),
            });
        };
        fetched = registry.manifest(&image.repository, &entry.digest).await?;
        if oci::is_index(&fetched.media_type) {
            return Err(unusable(image, "its index points at another index"));
        }
    }
    if fetched.media_type != oci::OCI_MANIFEST && fetched.media_type != oci::DOCKER_MANIFEST {
        return Err(unusable(
            image,
            format!(
                "its manifest has the media type '{}'; Lambda takes OCI or Docker v2 schema 2 images",
                fetched.media_type
            ),
        ));
    }
    let manifest: Manifest = serde_json::from_slice(&fetched.bytes)
        .map_err(|e| unusable(image, format!("its manifest is not valid ({e})")))?;
    let config_bytes = registry
        .blob_bytes(
            &image.repository,
            &manifest.config.digest,
            manifest.config.size,
        )
        .await?;
    let config: serde_json::Value = serde_json::from_slice(&config_bytes)
        .map_err(|e| unusable(image, format!("its config is not valid JSON ({e})")))?;
    Ok(BaseImage {
        reference: image.clone(),
        manifest_digest: fetched.digest,
        architecture: config_architecture(&config),
        manifest,
        media_type: fetched.media_type,
        config,
    })
}
