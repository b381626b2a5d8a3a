//! Pushes a built image to its ECR repository: blobs the repository already holds are
//! skipped (HEAD), base layers on the same registry are mounted, others are copied; the
//! code layer and config are uploaded; the manifest is put by digest, then under each tag.
//!
//! Tags follow the repository's rules: a tag that already names this digest is left as it
//! is; in an immutable repository a tag naming another digest is skipped with a warning
//! (the deploy goes on: Lambda is given the digest, never a tag).

use std::path::Path;

use super::{ImageError, ImageReport, LayerReport, Prepared};
use crate::aws::ecr::Ecr;
use crate::domain::oci::Descriptor;
use crate::registry::Mount;
use crate::registry::api::RegistryApi;

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
        let repository = ecr.ensure_repository(&self.repository).await?;
        let job = Job {
            repo: &self.repository,
            digest: &self.digest,
            base_repo: &b.base.reference.repository,
            base_elsewhere: b.base_registry.is_some(),
            layers: &b.built.layers,
            code_layer: (&b.layer.digest, &b.layer.path),
            config: (&b.built.config_descriptor, &b.built.config),
            manifest: (&b.built.media_type, &b.built.manifest),
            scratch: b.scratch.path(),
            immutable: repository.immutable,
        };
        let base = b.base_registry.as_ref().unwrap_or(&self.target);
        push_image(&self.target, base, &job, tags, &mut out).await?;
        Ok(out)
    }
}

/// What to push, borrowed from a built image.
pub struct Job<'a> {
    pub repo: &'a str,
    /// `sha256:<hex>` of the manifest.
    pub digest: &'a str,
    /// The repository of the base image (on the target registry, or on another one).
    pub base_repo: &'a str,
    /// The base image is on another registry (its layers are copied, not mounted).
    pub base_elsewhere: bool,
    /// Every layer, base layers first.
    pub layers: &'a [Descriptor],
    /// The code layer's digest and file.
    pub code_layer: (&'a str, &'a Path),
    pub config: (&'a Descriptor, &'a [u8]),
    /// Media type and bytes of the manifest.
    pub manifest: (&'a str, &'a [u8]),
    /// Where a copied base layer is written on its way.
    pub scratch: &'a Path,
    /// The repository has immutable tags.
    pub immutable: bool,
}

/// Pushes `job` to `target`: blobs the repository holds are skipped, the code layer
/// uploaded, base layers mounted or copied from `base`, then the config, then the
/// manifest by digest and last the tags, each naming that digest.
pub async fn push_image<R: RegistryApi>(
    target: &R,
    base: &R,
    job: &Job<'_>,
    tags: &[String],
    out: &mut Pushed,
) -> Result<(), ImageError> {
    let repo = job.repo;
    let mut layers = Vec::new();
    for l in job.layers {
        let state = push_layer(target, base, job, l, out).await?;
        tracing::info!(digest = %l.digest, size = l.size, state, "layer");
        layers.push(LayerReport {
            digest: l.digest.clone(),
            size: l.size,
            state,
        });
    }
    let (config, config_bytes) = job.config;
    if !target.has_blob(repo, &config.digest).await? {
        out.report.bytes_uploaded += target.put_blob(repo, &config.digest, config_bytes).await?;
    }
    let (media_type, manifest) = job.manifest;
    let pushed = target
        .push_manifest(repo, job.digest, media_type, manifest)
        .await?;
    if pushed != job.digest {
        return Err(ImageError::Unusable {
            image: format!("{repo}@{}", job.digest),
            reason: format!("the registry stored its manifest as {pushed}; no tag was moved"),
        });
    }
    out.report.layers = layers;
    for tag in tags {
        push_tag(target, job, tag, out).await?;
    }
    tracing::info!(digest = %job.digest, tags = ?out.report.tags, uploaded = out.report.bytes_uploaded, "image pushed");
    Ok(())
}

/// Makes `repo` hold one layer; returns how: `present`, `uploaded`, `mounted`, `copied`.
async fn push_layer<R: RegistryApi>(
    target: &R,
    base: &R,
    job: &Job<'_>,
    l: &Descriptor,
    out: &mut Pushed,
) -> Result<&'static str, ImageError> {
    let repo = job.repo;
    let (code_digest, code_path) = job.code_layer;
    if target.has_blob(repo, &l.digest).await? {
        return Ok("present");
    }
    if l.digest == code_digest {
        out.report.bytes_uploaded += target.put_blob_file(repo, &l.digest, code_path).await?;
        return Ok("uploaded");
    }
    if !job.base_elsewhere
        && target.mount_blob(repo, job.base_repo, &l.digest).await? == Mount::Mounted
    {
        return Ok("mounted");
    }
    let tmp = job.scratch.join("base-layer");
    std::fs::File::create(&tmp).map_err(ImageError::Scratch)?;
    base.get_blob_file(job.base_repo, &l.digest, l.size, &tmp)
        .await?;
    out.report.bytes_uploaded += target.put_blob_file(repo, &l.digest, &tmp).await?;
    let _ = std::fs::remove_file(&tmp);
    Ok("copied")
}

/// Points `tag` at the pushed digest, unless it already does, or it names another
/// digest in a repository with immutable tags (a warning then).
async fn push_tag<R: RegistryApi>(
    target: &R,
    job: &Job<'_>,
    tag: &str,
    out: &mut Pushed,
) -> Result<(), ImageError> {
    let repo = job.repo;
    let (media_type, manifest) = job.manifest;
    match target.tag_of(repo, tag).await? {
        Some(d) if d == job.digest => out.report.tags.push(tag.to_string()),
        Some(other) if job.immutable => out.warnings.push(format!(
            "image tag '{tag}' was not moved: repository '{repo}' has immutable tags and '{tag}' names {other}; the function is deployed by digest all the same"
        )),
        _ => match target.push_manifest(repo, tag, media_type, manifest).await {
            Ok(_) => out.report.tags.push(tag.to_string()),
            // Another run tagged it between the lookup and the push.
            Err(e) if job.immutable && e.status == Some(400) => out.warnings.push(format!(
                "image tag '{tag}' was not moved: repository '{repo}' has immutable tags ({})",
                e.message
            )),
            Err(e) => return Err(e.into()),
        },
    }
    Ok(())
}

#[cfg(test)]
mod tests;
