//! What pruned versions leave behind besides their S3 packages: the ECR images and the
//! layer versions that only they used.
//!
//! An image goes when every version that ran it is deleted: no kept version and not
//! `$LATEST` runs the same digest, and no version of any other function of the account
//! runs it from the same repository (an image shared that way stays, and the prune says
//! which function keeps it). A layer version goes when no kept version and not
//! `$LATEST` attaches it, it is not among the newest `keep-versions` of its layer, and
//! lambda-deploy published it (its description says so). Only the layers of
//! `layer-dirs` and the layers the function's versions attach are looked at, and only
//! images and layers in the function's own account and region are ever deleted.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{DELETE_PARALLEL, Origin, bounded, bounded_until, collect};
use crate::aws::AwsError;
use crate::aws::history::{Account, History, Latest, Leftovers, VersionImage, VersionRow};
use crate::aws::layer::LayerVersionRow;
use crate::domain::package::layer_tree;

/// Where the function lives, read from its ARN (`arn:aws:lambda:<region>:<account>:…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    pub region: String,
    pub account: String,
}

impl Home {
    pub fn of(function_arn: &str) -> Option<Self> {
        let parts: Vec<&str> = function_arn.split(':').collect();
        match parts.as_slice() {
            ["arn", _, "lambda", region, account, ..] if !region.is_empty() => Some(Self {
                region: (*region).to_string(),
                account: (*account).to_string(),
            }),
            _ => None,
        }
    }
}

/// An image in an ECR repository, by digest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct EcrImage {
    /// The registry's account.
    pub registry_id: String,
    pub host: String,
    pub repository: String,
    /// `sha256:<64 hex>`.
    pub digest: String,
}

impl EcrImage {
    /// The image a version runs, when it is in an ECR registry of `home`: the repository
    /// from `ImageUri`, the digest from `ResolvedImageUri` (or `ImageUri`'s own).
    pub fn of(image: &VersionImage, home: &Home) -> Option<Self> {
        let digest = digest_of(image)?;
        let (host, rest) = image.uri.split_once('/')?;
        let path = rest.split('@').next().unwrap_or(rest);
        let repository = match path.rsplit_once('/') {
            Some((dir, last)) => format!("{dir}/{}", last.split(':').next().unwrap_or(last)),
            None => path.split(':').next().unwrap_or(path).to_string(),
        };
        let labels: Vec<&str> = host.split('.').collect();
        let in_home = match labels.as_slice() {
            [account, "dkr", "ecr", region, "amazonaws", "com", ..] => {
                *account == home.account && *region == home.region
            }
            _ => false,
        };
        (in_home && !repository.is_empty()).then(|| Self {
            registry_id: home.account.clone(),
            host: host.to_string(),
            repository,
            digest: digest.to_string(),
        })
    }

    /// `host/repository@sha256:…`.
    pub fn uri(&self) -> String {
        format!("{}/{}@{}", self.host, self.repository, self.digest)
    }
}

/// `sha256:<64 hex>` after the last `@` of a URI.
fn digest_in(uri: &str) -> Option<&str> {
    let (_, d) = uri.rsplit_once('@')?;
    let hex = d.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(d)
}

/// The digest of a version's image: the resolved one first.
fn digest_of(image: &VersionImage) -> Option<&str> {
    image
        .resolved
        .as_deref()
        .and_then(digest_in)
        .or_else(|| digest_in(&image.uri))
}

/// The images the deleted versions ran that no kept version (nor `$LATEST`) runs, in
/// ECR registries of `home`; each once.
pub(crate) fn orphan_images(
    deleted: &[VersionImage],
    kept: &[VersionImage],
    home: &Home,
) -> Vec<EcrImage> {
    let used: BTreeSet<&str> = kept.iter().filter_map(digest_of).collect();
    let orphans: BTreeSet<EcrImage> = deleted
        .iter()
        .filter(|i| digest_of(i).is_some_and(|d| !used.contains(d)))
        .filter_map(|i| {
            let found = EcrImage::of(i, home);
            if found.is_none() {
                tracing::info!(image = %i.uri, "left alone: not an image of this account's ECR in this region");
            }
            found
        })
        .collect();
    orphans.into_iter().collect()
}

/// An image only deleted versions of the function ran, kept because another function
/// of the account runs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct SharedImage {
    /// `host/repository@sha256:…`.
    pub image: String,
    /// The function version that runs it (`name:$LATEST`, `name:3`).
    pub kept_by: String,
}

/// Splits `orphans` into the images to delete and those a version of another function
/// runs (`users`: each qualified name with its image), which stay.
pub(crate) fn split_shared(
    orphans: Vec<EcrImage>,
    users: &[(String, VersionImage)],
    home: &Home,
) -> (Vec<EcrImage>, Vec<SharedImage>) {
    let mut running: BTreeMap<(String, String), &str> = BTreeMap::new();
    for (who, image) in users {
        if let Some(e) = EcrImage::of(image, home) {
            running.entry((e.repository, e.digest)).or_insert(who);
        }
    }
    let mut delete = Vec::new();
    let mut shared = Vec::new();
    for image in orphans {
        match running.get(&(image.repository.clone(), image.digest.clone())) {
            Some(who) => shared.push(SharedImage {
                image: image.uri(),
                kept_by: (*who).to_string(),
            }),
            None => delete.push(image),
        }
    }
    (delete, shared)
}

/// The versions (and `$LATEST`) of the account's other image functions, qualified
/// (`name:3`), with the image each runs; read [`DELETE_PARALLEL`] at a time, and no
/// further once every one of `orphans` is known to run elsewhere (or a read failed).
async fn other_users<A: Account>(
    a: &A,
    this: &str,
    orphans: &[EcrImage],
    home: &Home,
) -> Result<Vec<(String, VersionImage)>, AwsError> {
    let rows = collect(async |m| a.functions_page(true, m).await).await?;
    let calls = rows
        .iter()
        .filter(|r| r.image && r.name != this)
        .map(|r| async move {
            let image = a.function_image(&r.name, &r.version).await;
            (format!("{}:{}", r.name, r.version), image)
        })
        .collect();
    let mut unseen: BTreeSet<(&str, &str)> = orphans
        .iter()
        .map(|o| (o.repository.as_str(), o.digest.as_str()))
        .collect();
    let enough = |(_, image): &(String, Result<Option<VersionImage>, AwsError>)| match image {
        Ok(Some(i)) => {
            if let Some(e) = EcrImage::of(i, home) {
                unseen.retain(|&(r, d)| (r, d) != (e.repository.as_str(), e.digest.as_str()));
            }
            unseen.is_empty()
        }
        Ok(None) => false,
        Err(_) => true,
    };
    let mut out = Vec::new();
    for (who, image) in bounded_until(calls, DELETE_PARALLEL, enough).await {
        if let Some(i) = image? {
            out.push((who, i));
        }
    }
    Ok(out)
}

/// A layer version a prune deletes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LayerCut {
    pub layer: String,
    pub version: i64,
    pub arn: String,
}

/// The layer name and version of a layer version ARN in `home`
/// (`arn:aws:lambda:<region>:<account>:layer:<name>:<version>`).
fn layer_in(arn: &str, home: &Home) -> Option<(String, i64)> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "lambda", region, account, "layer", name, version]
            if *region == home.region && *account == home.account =>
        {
            Some(((*name).to_string(), version.parse().ok()?))
        }
        _ => None,
    }
}

/// The layers a prune looks at: the `layer-dirs` names, and the layers of `home` that
/// the function's versions attach (`attached`: layer version ARNs).
pub(crate) fn layer_names<'a>(
    dirs: &[String],
    attached: impl IntoIterator<Item = &'a String>,
    home: &Home,
) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = dirs.iter().cloned().collect();
    names.extend(
        attached
            .into_iter()
            .filter_map(|arn| layer_in(arn, home).map(|(n, _)| n)),
    );
    names
}

/// The versions of layer `name` to delete: beyond its newest `keep`, not in `used`
/// (name and version attached by a kept version or `$LATEST`), published by
/// lambda-deploy. Newest first.
pub(crate) fn orphan_layer_versions(
    name: &str,
    versions: &[LayerVersionRow],
    used: &BTreeSet<(String, i64)>,
    keep: usize,
) -> Vec<LayerCut> {
    let mut sorted: Vec<&LayerVersionRow> = versions.iter().collect();
    sorted.sort_by_key(|v| std::cmp::Reverse(v.version));
    sorted
        .into_iter()
        .skip(keep)
        .filter(|v| !used.contains(&(name.to_string(), v.version)))
        .filter(|v| published_by_us(&v.description))
        .map(|v| LayerCut {
            layer: name.to_string(),
            version: v.version,
            arn: v.arn.clone(),
        })
        .collect()
}

/// What a prune deletes besides versions and S3 packages, and the images it keeps
/// because another function runs them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cleanup {
    pub images: Vec<EcrImage>,
    pub layers: Vec<LayerCut>,
    pub shared: Vec<SharedImage>,
}

/// What the prune sees of the function, to plan the cleanup from.
pub struct Scope<'a> {
    /// The versions that stay.
    pub kept: &'a [String],
    /// The versions deleted.
    pub deleted: &'a [VersionRow],
    /// Every version.
    pub versions: &'a [VersionRow],
    pub latest: &'a Latest,
    /// The `layer-dirs` layer names.
    pub layer_dirs: &'a [String],
    pub keep: usize,
}

/// Reads what the deleted versions leave behind; deletes nothing.
pub async fn plan<H: History, L: Leftovers>(
    h: &H,
    l: &L,
    scope: &Scope<'_>,
) -> Result<Cleanup, AwsError> {
    let Some(home) = Home::of(&scope.latest.arn) else {
        return Ok(Cleanup::default());
    };
    let orphans = images(h, scope, &home).await?;
    let (images, shared) = if orphans.is_empty() {
        (orphans, Vec::new())
    } else {
        let this = scope.latest.arn.split(':').nth(6).unwrap_or_default();
        let users = other_users(l, this, &orphans, &home).await?;
        split_shared(orphans, &users, &home)
    };
    for s in &shared {
        tracing::info!(image = %s.image, kept_by = %s.kept_by, "image kept: another function runs it");
    }
    Ok(Cleanup {
        images,
        layers: layers(l, scope, &home).await?,
        shared,
    })
}

/// The images only deleted versions of the function ran (read only when a deleted
/// version is an image).
async fn images<H: History>(
    h: &H,
    scope: &Scope<'_>,
    home: &Home,
) -> Result<Vec<EcrImage>, AwsError> {
    let deleted: Vec<&str> = scope
        .deleted
        .iter()
        .filter(|v| v.image)
        .map(|v| v.version.as_str())
        .collect();
    if deleted.is_empty() {
        return Ok(Vec::new());
    }
    let kept: Vec<&str> = scope
        .kept
        .iter()
        .map(String::as_str)
        .chain(["$LATEST"])
        .collect();
    let deleted = images_of(h, &deleted).await?;
    let kept = images_of(h, &kept).await?;
    Ok(orphan_images(&deleted, &kept, home))
}

/// The images `qualifiers` run, read [`DELETE_PARALLEL`] at a time (zips have none).
async fn images_of<H: History>(h: &H, qualifiers: &[&str]) -> Result<Vec<VersionImage>, AwsError> {
    let calls = qualifiers.iter().map(|q| h.image_of(q)).collect();
    let mut out = Vec::new();
    for r in bounded(calls, DELETE_PARALLEL).await {
        out.extend(r?);
    }
    Ok(out)
}

/// The layer versions to delete, layer by layer.
async fn layers<L: Leftovers>(
    l: &L,
    scope: &Scope<'_>,
    home: &Home,
) -> Result<Vec<LayerCut>, AwsError> {
    let kept: BTreeSet<&str> = scope.kept.iter().map(String::as_str).collect();
    let used: BTreeSet<(String, i64)> = scope
        .versions
        .iter()
        .filter(|v| kept.contains(v.version.as_str()))
        .flat_map(|v| v.layers.iter())
        .chain(scope.latest.layers.iter())
        .filter_map(|arn| layer_in(arn, home))
        .collect();
    let attached = scope
        .versions
        .iter()
        .flat_map(|v| v.layers.iter())
        .chain(scope.latest.layers.iter());
    let mut out = Vec::new();
    for name in layer_names(scope.layer_dirs, attached, home) {
        let versions = collect(async |m| l.layer_versions_page(&name, m).await).await?;
        out.extend(orphan_layer_versions(&name, &versions, &used, scope.keep));
    }
    Ok(out)
}

/// Deletes the cleanup's images (one request per repository) and layer versions
/// ([`DELETE_PARALLEL`] at a time). Returns the image URIs and layer version ARNs that
/// are gone, and the first error once everything has been tried.
pub async fn delete<L: Leftovers>(
    l: &L,
    cleanup: &Cleanup,
) -> (Vec<String>, Vec<String>, Option<AwsError>) {
    let mut first = None;
    let mut by_repo: BTreeMap<(&str, &str, &str), Vec<String>> = BTreeMap::new();
    for i in &cleanup.images {
        by_repo
            .entry((&i.registry_id, &i.host, &i.repository))
            .or_default()
            .push(i.digest.clone());
    }
    let mut images = Vec::new();
    for ((registry, host, repo), digests) in by_repo {
        match l.delete_images(registry, repo, &digests).await {
            Ok(gone) => images.extend(gone.iter().map(|d| format!("{host}/{repo}@{d}"))),
            Err(e) => {
                tracing::warn!(repository = repo, error = %e, "could not delete images");
                first.get_or_insert(e);
            }
        }
    }
    let calls = cleanup
        .layers
        .iter()
        .map(|c| async move { (c, l.delete_layer_version(&c.layer, c.version).await) })
        .collect();
    let mut layers = Vec::new();
    for (c, r) in bounded(calls, DELETE_PARALLEL).await {
        match r {
            Ok(()) => layers.push(c.arn.clone()),
            Err(e) => {
                tracing::warn!(layer = %c.arn, error = %e, "could not delete a layer version");
                first.get_or_insert(e);
            }
        }
    }
    (images, layers, first)
}

/// Whether lambda-deploy published a layer version: its description names the tree it
/// was built from, or the run that published it.
fn published_by_us(description: &str) -> bool {
    layer_tree(description).is_some() || Origin::ours(description)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

    fn home() -> Home {
        Home::of("arn:aws:lambda:us-east-1:123456789012:function:orders").expect("arn")
    }

    fn digest(b: char) -> String {
        format!("sha256:{}", b.to_string().repeat(64))
    }

    /// As lambda-deploy deploys it: by digest, resolved to the same.
    fn by_digest(repo: &str, b: char) -> VersionImage {
        let uri = format!("{HOST}/{repo}@{}", digest(b));
        VersionImage {
            uri: uri.clone(),
            resolved: Some(uri),
        }
    }

    fn layer(name: &str, version: i64, description: &str) -> LayerVersionRow {
        LayerVersionRow {
            arn: format!("arn:aws:lambda:us-east-1:123456789012:layer:{name}:{version}"),
            version,
            description: description.into(),
        }
    }

    #[test]
    fn an_image_goes_only_when_no_kept_version_runs_it() {
        // Deployed by tag: only the resolved URI has the digest.
        let tagged = VersionImage {
            uri: format!("{HOST}/team/orders:v1"),
            resolved: Some(format!("{HOST}/team/orders@{}", digest('c'))),
        };
        let deleted = [
            by_digest("orders", 'a'),
            by_digest("orders", 'b'),
            by_digest("orders", 'a'),
            tagged,
            // Another account's registry, a public one, and no digest at all: left alone.
            VersionImage {
                uri: format!(
                    "210987654321.dkr.ecr.us-east-1.amazonaws.com/orders@{}",
                    digest('d')
                ),
                resolved: None,
            },
            VersionImage {
                uri: format!("public.ecr.aws/lambda/python@{}", digest('e')),
                resolved: None,
            },
            VersionImage {
                uri: format!("{HOST}/orders:latest"),
                resolved: None,
            },
        ];
        // A kept version runs b (moto's resolved URI shape: the digest after the last '@').
        let kept = [VersionImage {
            uri: format!("{HOST}/orders:v2"),
            resolved: Some(format!("{HOST}/orders@sha256@{}", digest('b'))),
        }];
        let uris: Vec<String> = orphan_images(&deleted, &kept, &home())
            .iter()
            .map(EcrImage::uri)
            .collect();
        assert_eq!(
            uris,
            [
                format!("{HOST}/orders@{}", digest('a')),
                format!("{HOST}/team/orders@{}", digest('c')),
            ]
        );
        assert!(orphan_images(&deleted[..2], &deleted[..2], &home()).is_empty());
    }

    #[test]
    fn layer_versions_go_beyond_the_newest_when_nothing_kept_attaches_them() {
        let ours = "main @ 0123456 · https://github.com/o/r/actions/runs/1";
        let mut versions: Vec<LayerVersionRow> = (1..=6).map(|v| layer("deps", v, ours)).collect();
        versions[2].description = "published by hand".into(); // version 3
        let used = BTreeSet::from([("deps".to_string(), 1)]);
        let cut: Vec<i64> = orphan_layer_versions("deps", &versions, &used, 2)
            .iter()
            .map(|c| c.version)
            .collect();
        assert_eq!(cut, [4, 2]);
        assert!(orphan_layer_versions("deps", &versions, &used, 6).is_empty());
    }

    #[test]
    fn only_layer_dirs_and_layers_of_the_functions_own_account_are_looked_at() {
        let attached = [
            "arn:aws:lambda:us-east-1:123456789012:layer:deps:4".to_string(),
            "arn:aws:lambda:us-east-1:123456789012:layer:shared:9".to_string(),
            "arn:aws:lambda:us-east-1:017000801446:layer:vendor-ext:12".to_string(),
            "arn:aws:lambda:eu-west-1:123456789012:layer:deps:2".to_string(),
        ];
        let names = layer_names(&["tools".to_string()], &attached, &home());
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            ["deps", "shared", "tools"]
        );
    }

    #[test]
    fn a_layer_version_naming_its_tree_is_ours() {
        let tree = format!("tree:{} lambda-deploy 0.1.0", "ab".repeat(32));
        assert!(published_by_us(&tree));
        assert!(published_by_us(&format!("tree:{}", "0".repeat(64))));
        assert!(!published_by_us("published by hand"));
        assert!(!published_by_us("tree:not-a-digest"));
    }
}
