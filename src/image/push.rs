//! Pushes a built image to its ECR repository: blobs the repository already holds are
//! skipped (HEAD), base layers on the same registry are mounted, others are copied; the
//! code layer and config are uploaded; the manifest is put by digest, then under each tag.
//!
//! Tags follow the repository's rules: a tag that already names this digest is left as it
//! is; in an immutable repository a tag naming another digest is skipped with a warning
//! (the deploy goes on: Lambda is given the digest, never a tag).

use super::{ImageError, ImageReport, LayerReport, Prepared};
use crate::aws::ecr::Ecr;
use crate::registry::Mount;

/// What a push did, with warnings for tags left alone.
#[derive(Debug, Clone, Default)]
pub struct Pushed {
    pub report: ImageReport,
    pub warnings: Vec<String>,
}

impl Prepared {
    /// The report of an image that is not pushed (an existing image, or a dry run).
    pub fn report(&self) -> ImageReport {
        let layers = match &self.build {
            Some(b) => b
                .built
                .layers
                .iter()
                .map(|l| LayerReport {
                    digest: l.digest.clone(),
                    size: l.size,
                    state: "planned",
                })
                .collect(),
            None => Vec::new(),
        };
        ImageReport {
            uri: self.image_uri(),
            digest: self.digest.clone(),
            repository: self.repository.clone(),
            tags: Vec::new(),
            layers,
            bytes_uploaded: 0,
            built: self.build.is_some(),
        }
    }

    /// Pushes a built image with `tags`; an existing image is left as it is.
    pub async fn push(&self, ecr: &Ecr, tags: &[String]) -> Result<Pushed, ImageError> {
        let mut out = Pushed {
            report: self.report(),
            warnings: Vec::new(),
        };
        let Some(b) = &self.build else {
            return Ok(out);
        };
        let repo = &self.repository;
        let repository = ecr.ensure_repository(repo).await?;
        let target = &self.target;
        let base_repo = &b.base.reference.repository;
        let code_digest = &b.layer.digest;

        let mut layers = Vec::new();
        for l in &b.built.layers {
            let state = if target.blob_exists(repo, &l.digest).await? {
                "present"
            } else if &l.digest == code_digest {
                out.report.bytes_uploaded +=
                    target.upload_file(repo, &l.digest, &b.layer.path).await?;
                "uploaded"
            } else if b.base_registry.is_none()
                && target.mount(repo, base_repo, &l.digest).await? == Mount::Mounted
            {
                "mounted"
            } else {
                let from = b.base_registry.as_ref().unwrap_or(target);
                let tmp = b.scratch.path().join("base-layer");
                let mut file = std::fs::File::create(&tmp).map_err(ImageError::Scratch)?;
                from.download_blob(base_repo, &l.digest, l.size, &mut file)
                    .await?;
                drop(file);
                out.report.bytes_uploaded += target.upload_file(repo, &l.digest, &tmp).await?;
                let _ = std::fs::remove_file(&tmp);
                "copied"
            };
            tracing::info!(digest = %l.digest, size = l.size, state, "layer");
            layers.push(LayerReport {
                digest: l.digest.clone(),
                size: l.size,
                state,
            });
        }
        let config = &b.built.config_descriptor;
        if !target.blob_exists(repo, &config.digest).await? {
            out.report.bytes_uploaded += target
                .upload_bytes(repo, &config.digest, &b.built.config)
                .await?;
        }
        target
            .put_manifest(repo, &self.digest, &b.built.media_type, &b.built.manifest)
            .await?;
        out.report.layers = layers;

        for tag in tags {
            match target.tag_digest(repo, tag).await? {
                Some(d) if d == self.digest => out.report.tags.push(tag.clone()),
                Some(other) if repository.immutable => out.warnings.push(format!(
                    "image tag '{tag}' was not moved: repository '{repo}' has immutable tags and '{tag}' names {other}; the function is deployed by digest all the same"
                )),
                _ => match target
                    .put_manifest(repo, tag, &b.built.media_type, &b.built.manifest)
                    .await
                {
                    Ok(_) => out.report.tags.push(tag.clone()),
                    // Another run tagged it between the lookup and the push.
                    Err(e) if repository.immutable && e.status == Some(400) => {
                        out.warnings.push(format!(
                            "image tag '{tag}' was not moved: repository '{repo}' has immutable tags ({})",
                            e.message
                        ))
                    }
                    Err(e) => return Err(e.into()),
                },
            }
        }
        tracing::info!(digest = %self.digest, tags = ?out.report.tags, uploaded = out.report.bytes_uploaded, "image pushed");
        Ok(out)
    }
}
