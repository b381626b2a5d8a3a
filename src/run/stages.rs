//! The stages [`super::deploy`] runs in order, each small enough to read on its own:
//! packaging, the size checks that need AWS, reading aliases, publishing layers, choosing
//! where Lambda reads the code from, and recording what the apply step did.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::prepare;
use crate::aws::lambda::Lambda;
use crate::aws::layer::Layers;
use crate::aws::s3::S3;
use crate::config::{Artifact, Config, S3Target};
use crate::deploy::{Outcome, PackageAt};
use crate::domain::kind::PackageType;
use crate::domain::limits;
use crate::domain::package::{TREE_TAG, TreeRecord, hex_of};
use crate::error::Error;
use crate::gha::{self, Group, Level};
use crate::layers::{self, BuiltLayer, LayerAction, LayerOutcome, LayerPlan, LayerSource};
use crate::package::{self, ExcludeSet, PackageError, PackageInfo, TreeDigest};
use crate::plan::{Live, Plan};
use crate::report::Report;
use crate::state::LiveFunction;
use crate::targets::Targets;

/// What the package stage made: the zip (with its facts) and the layer zips. Images
/// have neither here: they are built once the function's architecture is known.
pub(super) struct Packaged {
    pub zip: PathBuf,
    pub info: Option<PackageInfo>,
    pub layers: Vec<BuiltLayer>,
    /// The source tree's digest (`source-dir` runs), recorded on the function after
    /// the deploy.
    pub digest: Option<TreeDigest>,
}

/// What is known before anything is compressed: the live function, the digest of the
/// source tree and, for each `layer-dirs` directory, its digest and the layer's latest
/// version, read at the same time.
pub(super) struct Early {
    pub function: Option<LiveFunction>,
    pub digest: Option<TreeDigest>,
    pub layers: Vec<LayerSource>,
}

/// Reads the live function and the layers' latest versions while the source tree and
/// the layer directories are hashed (zip runs only). A tree that cannot be packaged is
/// reported before any read error.
pub(super) async fn read_early(
    lambda: &Lambda,
    layer_client: &Layers,
    config: &Config,
    artifact: &Artifact,
    scratch_dir: &Path,
) -> Result<Early, Error> {
    if artifact.is_image() {
        return Ok(Early {
            function: lambda.get_function().await?,
            digest: None,
            layers: Vec::new(),
        });
    }
    let code = match artifact {
        Artifact::SourceDir { dir, exclude } => Some((dir.clone(), ExcludeSet::new(exclude)?)),
        _ => None,
    };
    let dirs: Vec<PathBuf> = config.layer_dirs.iter().map(|(_, d)| d.clone()).collect();
    let skip = vec![scratch_dir.to_path_buf()];
    let hashing = tokio::task::spawn_blocking(move || hash_trees(code, &dirs, &skip));
    let function = lambda.get_function().await;
    let mut latest = Vec::with_capacity(config.layer_dirs.len());
    for (name, _) in &config.layer_dirs {
        latest.push(layer_client.latest(name).await);
    }
    let (digest, layer_digests) = hashing.await.map_err(|e| PackageError::Read {
        path: ".".into(),
        source: std::io::Error::other(e),
    })??;
    let function = function?;
    let mut layers = Vec::with_capacity(latest.len());
    for (digest, latest) in layer_digests.into_iter().zip(latest) {
        layers.push(LayerSource {
            digest,
            latest: latest?,
        });
    }
    Ok(Early {
        function,
        digest,
        layers,
    })
}

/// The digests of the source tree (when packaged from one) and of each layer directory.
fn hash_trees(
    code: Option<(PathBuf, ExcludeSet)>,
    layer_dirs: &[PathBuf],
    skip: &[PathBuf],
) -> Result<(Option<TreeDigest>, Vec<TreeDigest>), PackageError> {
    let code = code
        .map(|(dir, exclude)| package::tree_digest(&dir, &exclude, skip))
        .transpose()?;
    let none = ExcludeSet::default();
    let layers = layer_dirs
        .iter()
        .map(|dir| package::tree_digest(dir, &none, skip))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((code, layers))
}

/// The package the function already holds, when its tree record vouches for this tree
/// and nothing else would make the run send code (a new architecture is set through
/// the code update). `None`: build the zip.
fn already_deployed(config: &Config, early: &Early) -> Option<PackageInfo> {
    let (Some(f), Some(digest)) = (&early.function, &early.digest) else {
        return None;
    };
    let record = f.tags.get(TREE_TAG).and_then(|v| TreeRecord::parse(v))?;
    let same_arch = config
        .settings
        .architecture
        .is_none_or(|a| Some(a) == f.architecture);
    let zip = f.package_type == PackageType::Zip;
    if !(zip && same_arch && record.vouches_for(&digest.hex, &f.code_sha256)) {
        return None;
    }
    digest.package_info(&f.code_sha256, u64::try_from(f.code_size).ok()?)
}

/// Builds the zip and the `layer-dirs` layers, and checks Lambda's size limits on them.
pub(super) fn package(
    config: &Config,
    artifact: &Artifact,
    actions: bool,
    scratch: &Path,
    layer_dir: &Path,
    early: Early,
) -> Result<Packaged, Error> {
    if artifact.is_image() {
        return Ok(Packaged {
            zip: scratch.to_path_buf(),
            info: None,
            layers: Vec::new(),
            digest: None,
        });
    }
    let _g = Group::start(actions, "lambda-deploy: package");
    let (zip, info) = match already_deployed(config, &early) {
        Some(info) => {
            tracing::info!(digest = %early.digest.as_ref().map_or("", |d| d.hex.as_str()), sha256 = %info.code_sha256, "the function already holds this tree's package: nothing to compress");
            (scratch.to_path_buf(), info)
        }
        None => prepare(artifact, scratch)?,
    };
    tracing::info!(size = info.size, unzipped = info.unzipped_size, entries = info.entries, sha256 = %info.code_sha256, "package ready");
    let built = layers::build(&config.layer_dirs, layer_dir, &early.layers)?;
    let sizes: Vec<_> = built
        .iter()
        .map(|b| limits::LayerSize {
            name: &b.name,
            info: &b.info,
        })
        .collect();
    limits::check_all(&info, &sizes, config.s3.is_some())?;
    Ok(Packaged {
        zip,
        info: Some(info),
        layers: built,
        digest: early.digest,
    })
}

/// Counts the `layers` ARNs toward the 250 MB limit too (by their zipped size, read
/// from Lambda), next to the zip and the `layer-dirs` layers.
pub(super) async fn check_given_layers(
    layer_client: &Layers,
    config: &Config,
    packaged: &Packaged,
) -> Result<(), Error> {
    let (Some(info), Some(arns)) = (
        &packaged.info,
        config.settings.layers.as_deref().filter(|a| !a.is_empty()),
    ) else {
        return Ok(());
    };
    let given = layers::given_sizes(layer_client, arns).await?;
    let sizes: Vec<_> = packaged
        .layers
        .iter()
        .map(|b| (b.name.as_str(), &b.info))
        .chain(given.iter().map(|(n, i)| (n.as_str(), i)))
        .map(|(name, info)| limits::LayerSize { name, info })
        .collect();
    limits::check_all(info, &sizes, config.s3.is_some())?;
    Ok(())
}

/// Reads the aliases this run may move and, when `$LATEST` already holds this code, the
/// latest published version (the only case in which a version can be reused).
pub(super) async fn read_aliases(
    lambda: &Lambda,
    config: &Config,
    targets: &Targets,
    live: &mut Live,
    code_sha256: &str,
) -> Result<(), Error> {
    let Some(function) = &live.function else {
        return Ok(());
    };
    let unchanged = function.code_sha256 == code_sha256;
    let aliases = async {
        let mut found = Vec::new();
        for name in targets.names() {
            found.extend(lambda.get_alias(name.as_str()).await?);
        }
        Ok(found)
    };
    // The version that may be reused is read beside the aliases.
    let latest = async {
        if config.publish && unchanged {
            lambda.latest_version().await
        } else {
            Ok(None)
        }
    };
    let (aliases, latest) = tokio::try_join!(aliases, latest)?;
    live.aliases.extend(aliases);
    live.latest_version = latest;
    Ok(())
}

/// The layers as the report shows them before anything is published.
pub(super) fn planned_layers(plans: &[LayerPlan]) -> Vec<LayerOutcome> {
    plans
        .iter()
        .map(|p| LayerOutcome {
            name: p.name.clone(),
            arn: p.target(),
            published: p.action == LayerAction::Publish,
        })
        .collect()
}

/// Where Lambda reads new code from: the S3 object (uploaded now) when `s3-bucket` is
/// set and code changes, else the local zip. Records the S3 URI in the report.
pub(super) async fn code_location(
    s3: Option<&(S3, &S3Target)>,
    plan: &Plan,
    packaged: &Packaged,
    function: &str,
    metadata: &BTreeMap<String, String>,
    report: &mut Report,
) -> Result<PackageAt, Error> {
    match (s3, &packaged.info) {
        (Some((s3, target)), Some(info)) if plan.sends_code() => {
            let object = s3
                .put_package(target, function, &packaged.zip, info, metadata)
                .await?;
            report.s3_uri = Some(object.uri());
            let previous = match plan.previous_code_sha256.as_deref().and_then(hex_of) {
                Some(hex) if hex != info.sha256_hex => {
                    s3.earlier_package(target, function, &hex).await?
                }
                _ => None,
            };
            Ok(PackageAt::S3 { object, previous })
        }
        _ => Ok(PackageAt::File(packaged.zip.clone())),
    }
}

/// Records on the function which tree its code came from ([`TREE_TAG`]), so the next
/// run with the same tree knows it unchanged without compressing it. Only after a run
/// that left the function holding this package, and only when no file was written
/// since it was hashed. A failure costs the next run a compression, nothing more: it is
/// a warning.
pub(super) async fn record_tree(
    lambda: &Lambda,
    live: &Live,
    packaged: &Packaged,
    report: &mut Report,
) {
    use crate::report::Status;
    let (Some(digest), Some(info), Some(arn)) =
        (&packaged.digest, &packaged.info, &report.function_arn)
    else {
        return;
    };
    if !matches!(
        report.outcome.status,
        Status::Deployed | Status::Unchanged | Status::Superseded
    ) {
        return;
    }
    let record = TreeRecord {
        digest: digest.hex.clone(),
        code_sha256: info.code_sha256.clone(),
    }
    .tag_value();
    let recorded = live.function.as_ref().and_then(|f| f.tags.get(TREE_TAG));
    if recorded == Some(&record) || !digest.still_current() {
        return;
    }
    let tags = BTreeMap::from([(TREE_TAG.to_string(), record)]);
    if let Err(e) = lambda.tag(arn, &tags).await {
        let w = format!(
            "could not record the source tree on the function ({e}); the next run packages it again to find out whether it changed"
        );
        tracing::warn!("{w}");
        report.outcome.warnings.push(w);
    }
}

/// Puts what the apply step did into the report; aliases it held back become warnings.
pub(super) fn record(report: &mut Report, plan: &Plan, outcome: Outcome, actions: bool) {
    report.outcome.status = crate::report::Status::Deployed;
    report.function_arn = Some(outcome.function_arn.clone());
    report.outcome.version = Some(outcome.version.clone()).filter(|v| !v.is_empty());
    for h in &outcome.held {
        gha::annotate(
            actions,
            Level::Warning,
            "lambda-deploy: alias not moved",
            &h.warning(),
        );
        report.outcome.warnings.push(h.warning());
    }
    report.smoke = outcome.smoke.clone();
    for w in &outcome.rollout.warnings {
        gha::annotate(
            actions,
            Level::Warning,
            "lambda-deploy: leftover routing",
            w,
        );
        report.outcome.warnings.push(w.clone());
    }
    if let Some(s) = &outcome.rollout.shifted
        && !s.completed
    {
        report.outcome.status = crate::report::Status::Superseded;
    }
    report.extra.shift = outcome.rollout.shifted.clone();
    report.outcome.published = outcome.published;
    report.outcome.aliases = plan
        .aliases_in_place
        .iter()
        .cloned()
        .chain(outcome.moved.iter().map(|m| m.name.clone()))
        .collect();
    report.outcome.moved = outcome.moved;
}
