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
use crate::domain::limits;
use crate::error::Error;
use crate::gha::{self, Group, Level};
use crate::layers::{self, BuiltLayer, LayerAction, LayerOutcome, LayerPlan};
use crate::package::PackageInfo;
use crate::plan::{Live, Plan};
use crate::report::Report;
use crate::targets::Targets;

/// What the package stage made: the zip (with its facts) and the layer zips. Images
/// have neither here: they are built once the function's architecture is known.
pub(super) struct Packaged {
    pub zip: PathBuf,
    pub info: Option<PackageInfo>,
    pub layers: Vec<BuiltLayer>,
}

/// Builds the zip and the `layer-dirs` layers, and checks Lambda's size limits on them.
pub(super) fn package(
    config: &Config,
    artifact: &Artifact,
    actions: bool,
    scratch: &Path,
    layer_dir: &Path,
) -> Result<Packaged, Error> {
    if artifact.is_image() {
        return Ok(Packaged {
            zip: scratch.to_path_buf(),
            info: None,
            layers: Vec::new(),
        });
    }
    let _g = Group::start(actions, "lambda-deploy: package");
    let (zip, info) = prepare(artifact, scratch)?;
    tracing::info!(size = info.size, unzipped = info.unzipped_size, entries = info.entries, sha256 = %info.code_sha256, "package ready");
    let built = layers::build(&config.layer_dirs, layer_dir)?;
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
    for name in targets.names() {
        if let Some(a) = lambda.get_alias(name.as_str()).await? {
            live.aliases.push(a);
        }
    }
    if config.publish && unchanged {
        live.latest_version = lambda.latest_version().await?;
    }
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

/// The hex form of a base64 SHA-256 (Lambda's CodeSha256), as package keys use it.
fn hex_of(code_sha256: &str) -> Option<String> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(code_sha256)
        .ok()
        .filter(|d| d.len() == 32)?;
    Some(raw.iter().map(|b| format!("{b:02x}")).collect())
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
