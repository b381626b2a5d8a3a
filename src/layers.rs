//! Layers from `layer-dirs`: each directory becomes a reproducible zip, compared with
//! the layer's latest version (CodeSha256), and published as a new version only when its
//! content changed.
//!
//! Order on the function: the `layers` ARNs first, in the order given, then the
//! `layer-dirs` layers in the order given. Lambda extracts layers into `/opt` in that
//! order, so where paths collide a later layer's files win.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::aws::AwsError;
use crate::aws::layer::LayerCode;
use crate::aws::layer::{LayerMeta, LayerVersion, Layers};
use crate::aws::s3::{S3, S3Error};
use crate::config::S3Target;
use crate::domain::function::LayerRef;
use crate::domain::package::{layer_description, layer_tree};
use crate::package::{self, ExcludeSet, PackageError, PackageInfo, TreeDigest};

pub use crate::domain::outcome::LayerOutcome;

/// A layer directory packaged locally.
#[derive(Debug, Clone)]
pub struct BuiltLayer {
    pub name: String,
    /// The zip; not written when the latest version already holds this tree.
    pub zip: PathBuf,
    pub info: PackageInfo,
    /// The directory's tree digest, recorded in the description of a version published
    /// from it.
    pub digest: Option<TreeDigest>,
}

/// A `layer-dirs` directory as known before it is packaged: its tree digest and the
/// layer's latest version.
#[derive(Debug, Clone)]
pub struct LayerSource {
    pub digest: TreeDigest,
    pub latest: Option<LayerVersion>,
}

/// The package `latest` holds, when its description names `digest`'s tree (a layer
/// version never changes, so that record cannot go stale).
fn already_published(source: &LayerSource) -> Option<PackageInfo> {
    let v = source.latest.as_ref()?;
    let digest = &source.digest;
    if layer_tree(&v.description) != Some(digest.hex.as_str()) || v.code_size == 0 {
        return None;
    }
    digest.package_info(&v.code_sha256, v.code_size)
}

/// Packages every `layer-dirs` directory into `scratch`, with the same reproducible
/// writer as the function's code, except those whose latest version already holds the
/// same tree (`sources`, in the same order, when they were read).
pub fn build(
    dirs: &[(String, PathBuf)],
    scratch: &Path,
    sources: &[LayerSource],
) -> Result<Vec<BuiltLayer>, PackageError> {
    let none = ExcludeSet::new::<&str>(&[])?;
    dirs.iter()
        .enumerate()
        .map(|(i, (name, dir))| {
            let zip = scratch.join(format!("layer-{name}.zip"));
            let source = sources.get(i);
            let info = match source.and_then(already_published) {
                Some(info) => {
                    tracing::info!(layer = %name, sha256 = %info.code_sha256, "the layer's latest version already holds this tree: nothing to compress");
                    info
                }
                None => package::write_zip(dir, &none, &zip)?,
            };
            tracing::info!(layer = %name, size = info.size, unzipped = info.unzipped_size, sha256 = %info.code_sha256, "layer package ready");
            Ok(BuiltLayer {
                name: name.clone(),
                zip,
                info,
                digest: source.map(|s| s.digest.clone()),
            })
        })
        .collect()
}

/// The layers given as ARNs (`layers`), as the size checks see them: their unzipped size
/// is not known before deploy, so their zipped size stands in for it (a lower bound).
pub(crate) async fn given_sizes(
    layers: &Layers,
    arns: &[String],
) -> Result<Vec<(String, PackageInfo)>, AwsError> {
    let mut out = Vec::new();
    for arn in arns {
        let Some(size) = layers.code_size(arn).await? else {
            continue;
        };
        let name = arn.splitn(7, ':').nth(6).unwrap_or(arn).to_string();
        out.push((
            name,
            PackageInfo {
                code_sha256: String::new(),
                sha256_hex: String::new(),
                size: 0,
                unzipped_size: size,
                entries: 1,
                largest: vec![("(whole layer, zipped size)".to_string(), size)],
            },
        ));
    }
    Ok(out)
}

/// Whether a layer's latest version is reused or a new one published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayerAction {
    Reuse,
    Publish,
}

/// The plan for one layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerPlan {
    pub name: String,
    pub code_sha256: String,
    pub size: u64,
    /// The latest version's ARN, when the layer has one.
    pub latest: Option<String>,
    pub action: LayerAction,
}

impl LayerPlan {
    /// The version the function will use: the reused one, or the one still to be
    /// published.
    pub fn target(&self) -> LayerRef {
        match (&self.action, &self.latest) {
            (LayerAction::Reuse, Some(arn)) => LayerRef::Version(arn.clone()),
            _ => LayerRef::ToPublish(self.name.clone()),
        }
    }
}

/// Compares each built layer with its latest published version (read-only).
pub async fn plan(layers: &Layers, built: &[BuiltLayer]) -> Result<Vec<LayerPlan>, AwsError> {
    let mut plans = Vec::with_capacity(built.len());
    for b in built {
        let latest = layers.latest(&b.name).await?;
        let action = match &latest {
            Some(v) if v.code_sha256 == b.info.code_sha256 => LayerAction::Reuse,
            _ => LayerAction::Publish,
        };
        plans.push(LayerPlan {
            name: b.name.clone(),
            code_sha256: b.info.code_sha256.clone(),
            size: b.info.size,
            latest: latest.map(|v| v.arn),
            action,
        });
    }
    Ok(plans)
}

/// The function's full layer list: `given` (the `layers` input) then the `layer-dirs`
/// layers. `None` when neither input was given (the function's layers stay as they are).
pub(crate) fn desired(given: Option<&Vec<String>>, targets: &[LayerRef]) -> Option<Vec<LayerRef>> {
    if given.is_none() && targets.is_empty() {
        return None;
    }
    let mut all: Vec<LayerRef> = given
        .into_iter()
        .flatten()
        .map(|arn| LayerRef::Version(arn.clone()))
        .collect();
    all.extend(targets.iter().cloned());
    Some(all)
}

/// Why publishing layers failed.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    S3(#[from] S3Error),
    #[error("cannot read layer package '{path}': {source}; check the file is still there")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

/// Where layer zips go when `s3-bucket` is set.
pub struct LayerUpload<'a> {
    pub s3: &'a S3,
    pub target: &'a S3Target,
    pub metadata: &'a BTreeMap<String, String>,
}

/// Publishes the layers the plan marks for publishing (through S3 when `upload` is
/// given) and returns every layer's version ARN, in plan order.
pub async fn publish(
    layers: &Layers,
    built: &[BuiltLayer],
    plans: &[LayerPlan],
    meta: &LayerMeta,
    upload: Option<&LayerUpload<'_>>,
) -> Result<Vec<LayerOutcome>, LayerError> {
    let mut out = Vec::with_capacity(plans.len());
    for (p, b) in plans.iter().zip(built) {
        if let (LayerAction::Reuse, Some(arn)) = (p.action, &p.latest) {
            out.push(LayerOutcome {
                name: p.name.clone(),
                arn: LayerRef::Version(arn.clone()),
                published: false,
            });
            continue;
        }
        let code = match upload {
            Some(u) => {
                let name = format!("layers/{}", b.name);
                let obj =
                    u.s3.put_package(u.target, &name, &b.zip, &b.info, u.metadata)
                        .await?;
                LayerCode::S3 {
                    bucket: obj.bucket,
                    key: obj.key,
                    version: obj.version,
                }
            }
            None => LayerCode::Zip(std::fs::read(&b.zip).map_err(|source| LayerError::Read {
                path: b.zip.display().to_string(),
                source,
            })?),
        };
        tracing::info!(layer = %b.name, "publishing a layer version");
        // The tree is named only when no file was written since it was hashed, so a
        // later run can trust the record.
        let tree = b.digest.as_ref().filter(|d| d.still_current());
        let meta = LayerMeta {
            description: layer_description(&meta.description, tree.map(|d| d.hex.as_str())),
            ..meta.clone()
        };
        let v = layers.publish(&b.name, code, &meta).await?;
        out.push(LayerOutcome {
            name: p.name.clone(),
            arn: LayerRef::Version(v.arn),
            published: true,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_layers_come_first_then_layer_dirs() {
        let given = vec!["arn:aws:lambda:us-east-1:123456789012:layer:ext:3".to_string()];
        let plans = [
            LayerPlan {
                name: "deps".into(),
                code_sha256: "x".into(),
                size: 1,
                latest: Some("arn:aws:lambda:us-east-1:123456789012:layer:deps:2".into()),
                action: LayerAction::Reuse,
            },
            LayerPlan {
                name: "tools".into(),
                code_sha256: "y".into(),
                size: 1,
                latest: Some("arn:aws:lambda:us-east-1:123456789012:layer:tools:1".into()),
                action: LayerAction::Publish,
            },
        ];
        let targets: Vec<LayerRef> = plans.iter().map(LayerPlan::target).collect();
        assert_eq!(
            desired(Some(&given), &targets),
            Some(vec![
                LayerRef::Version(given[0].clone()),
                LayerRef::Version("arn:aws:lambda:us-east-1:123456789012:layer:deps:2".into()),
                LayerRef::ToPublish("tools".into()),
            ])
        );
        assert_eq!(desired(None, &[]), None);
        assert_eq!(desired(Some(&vec![]), &[]), Some(vec![]));
    }
}
