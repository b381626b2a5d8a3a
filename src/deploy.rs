//! Carries out a [`Plan`] against Lambda, in the order Lambda's rules require: each
//! write waits for the previous update to finish, each guarded write carries the
//! RevisionId the last one returned, and aliases move only once the version exists.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::aws::api::{CodeSource, LambdaApi, Written};
use crate::aws::retry::after_conflicts;
use crate::aws::s3::S3Object;
use crate::aws::{AwsError, ErrorKind};
use crate::config::Config;
use crate::domain::function::ConfigUpdate;
use crate::domain::kind::Architecture;
use crate::order::OrderKey;
use crate::plan::{FunctionAction, Plan, Publish};
use crate::race::{
    AliasResult, Held, Overtaken, PublishSpec, Published, move_aliases, publish_own,
};
use crate::shift::{Rollout, ShiftError};
use crate::smoke::{self, SmokeError, SmokePassed};
use crate::state::{FunctionState, LastUpdateStatus, LiveFunction};

pub use crate::domain::outcome::Moved;

/// What the run did.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub function_arn: String,
    /// The version the aliases serve (`$LATEST` with `publish: false`; empty when the run
    /// lost a race to a newer deploy and published nothing).
    pub version: String,
    pub published: bool,
    pub code_sha256: String,
    pub code_size: i64,
    pub moved: Vec<Moved>,
    /// Aliases left on a newer deploy (this run is older).
    pub held: Vec<Held>,
    /// The smoke test's result, when one ran.
    pub smoke: Option<SmokePassed>,
    /// Leftover routing cleared, and the gradual traffic shift (`traffic-shift`).
    pub rollout: Rollout,
}

/// Why applying a plan stopped.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("cannot read the package '{path}': {source}; check the file is still there")]
    ReadPackage {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "Lambda reports CodeSha256 {actual} after the upload, but the package built here has {expected}; the upload was changed on the way; {undo}; nothing was published and no alias was moved: run the deploy again"
    )]
    ShaMismatch {
        expected: String,
        actual: String,
        /// What became of the earlier code.
        undo: String,
    },
    #[error(
        "another deploy of this function replaced its code {rounds} times while this run tried to publish its own version; no alias was moved: let one deploy finish before the next starts (a `concurrency:` group in the workflow), then run again"
    )]
    Overtaken { rounds: u32 },
    #[error(
        "the plan names a version of layer '{layer}' (layer-dirs) that was not published; nothing was changed: this is a bug in lambda-deploy, please report it"
    )]
    LayerNotPublished { layer: String },
    #[error(transparent)]
    Smoke(#[from] SmokeError),
    #[error(transparent)]
    Shift(Box<ShiftError>),
}

impl From<ShiftError> for DeployError {
    fn from(e: ShiftError) -> Self {
        Self::Shift(Box::new(e))
    }
}

impl From<Overtaken> for DeployError {
    fn from(o: Overtaken) -> Self {
        Self::Overtaken { rounds: o.rounds }
    }
}

/// Where the package is: a local zip sent in the request, or an S3 object already
/// uploaded and verified (with the earlier code's object, when it is in the bucket, to
/// put back if Lambda ends up with other code). Image deploys carry their image in the
/// plan instead.
#[derive(Debug, Clone)]
pub enum PackageAt {
    File(PathBuf),
    S3 {
        object: S3Object,
        previous: Option<S3Object>,
    },
}

fn s3_source(obj: &S3Object) -> CodeSource {
    CodeSource::S3 {
        bucket: obj.bucket.clone(),
        key: obj.key.clone(),
        version: obj.version.clone(),
    }
}

/// Puts back the code `$LATEST` held before this run, after Lambda reported other code
/// than the package's; says what happened, for the error.
async fn put_back<L: LambdaApi>(
    lambda: &L,
    plan: &Plan,
    code: &PackageAt,
    wait: Duration,
) -> String {
    let Some(previous) = &plan.previous_code_sha256 else {
        return "the function is new, so there is no earlier code to put back".into();
    };
    let PackageAt::S3 {
        previous: Some(obj),
        ..
    } = code
    else {
        return format!(
            "the earlier code (CodeSha256 {previous}) is not in s3-bucket, so it could not be put back: deploy a known commit again"
        );
    };
    tracing::warn!(code_sha256 = %previous, "putting the earlier code back");
    let restored = async {
        lambda.update_code(s3_source(obj), None, None).await?;
        lambda.wait_updated(wait).await?;
        lambda.get_function().await
    };
    match restored.await {
        Ok(Some(f)) if &f.code_sha256 == previous => {
            format!("the earlier code (CodeSha256 {previous}) was put back")
        }
        Ok(f) => format!(
            "putting the earlier code back left CodeSha256 {}: deploy a known commit again",
            f.map(|f| f.code_sha256).unwrap_or_default()
        ),
        Err(e) => {
            format!("putting the earlier code back failed ({e}): deploy a known commit again")
        }
    }
}

fn code_source(plan: &Plan, code: &PackageAt) -> Result<CodeSource, DeployError> {
    if let Some(image) = &plan.code.image {
        return Ok(CodeSource::Image {
            uri: image.uri.clone(),
        });
    }
    match code {
        PackageAt::File(zip) => {
            std::fs::read(zip)
                .map(CodeSource::Zip)
                .map_err(|source| DeployError::ReadPackage {
                    path: zip.display().to_string(),
                    source,
                })
        }
        PackageAt::S3 { object, .. } => Ok(s3_source(object)),
    }
}

/// Uploads the package as `$LATEST`'s code, after any update in progress, and waits
/// for the update to finish; returns what Lambda reports.
async fn upload<L: LambdaApi>(
    lambda: &L,
    plan: &Plan,
    code: &PackageAt,
    architecture: Option<Architecture>,
    revision: Option<&str>,
    wait: Duration,
) -> Result<Written, DeployError> {
    let source = code_source(plan, code)?;
    let mut written = after_conflicts(
        || lambda.update_code(source.clone(), architecture, revision),
        || lambda.wait_updated(wait),
    )
    .await?;
    written.revision_id = lambda.wait_updated(wait).await?.or(written.revision_id);
    Ok(written)
}

/// Applies `plan`. `live` is the state the plan was made from; `code` is the package;
/// `ours` orders this run against the deploys aliases serve ([`crate::order`]).
pub(crate) async fn apply<L: LambdaApi>(
    lambda: &L,
    config: &Config,
    plan: &Plan,
    live: Option<&LiveFunction>,
    code: &PackageAt,
    ours: &OrderKey,
) -> Result<Outcome, DeployError> {
    // The layer list is sent as ARNs: a version still to publish would be left out.
    if let Some(layer) = plan.config.layer_to_publish() {
        return Err(DeployError::LayerNotPublished {
            layer: layer.to_string(),
        });
    }
    let wait = config.wait_timeout;
    let (mut written, existing) = create_or_find(lambda, plan, live, code, wait).await?;
    if let Some(f) = existing {
        written = update_function(lambda, plan, &f, code, wait).await?;
    }
    check_code(lambda, plan, code, &written, wait).await?;
    let (version, published) = match version(lambda, plan, code, &written, ours, wait).await? {
        Serves::Version { version, published } => (version, published),
        Serves::Yielded(held) => {
            return Ok(Outcome {
                function_arn: written.arn,
                version: String::new(),
                published: false,
                code_sha256: plan.code.code_sha256.clone(),
                code_size: plan.code.size as i64,
                moved: Vec::new(),
                held,
                smoke: None,
                rollout: Rollout::default(),
            });
        }
    };
    let smoke = match &config.smoke_test {
        Some(payload) => Some(smoke::run(lambda, &version, payload, wait).await?),
        None => None,
    };
    let rollout = crate::shift::before_moves(lambda, config, plan, &version, ours).await?;
    let (moved, held) = match &rollout.shifted {
        Some(s) if !s.overtaken.is_empty() => (Vec::new(), s.overtaken.clone()),
        shifted => {
            let (mut moved, held) = move_all(lambda, plan, &version, ours, wait).await?;
            // The shifted aliases were already on the version when the plain moves came.
            for s in shifted.iter().filter(|s| s.completed) {
                for (name, from) in s.aliases.iter().zip(&s.from) {
                    moved.push(Moved {
                        name: name.clone(),
                        from: Some(from.clone()),
                        to: version.clone(),
                    });
                }
            }
            (moved, held)
        }
    };
    Ok(Outcome {
        function_arn: written.arn,
        version,
        published,
        code_sha256: plan.code.code_sha256.clone(),
        code_size: plan.code.size as i64,
        moved,
        held,
        smoke,
        rollout,
    })
}

/// Creates the function when the plan says so. Returns what was written, and the
/// function to update when it exists already (or another run created it first).
async fn create_or_find<L: LambdaApi>(
    lambda: &L,
    plan: &Plan,
    live: Option<&LiveFunction>,
    code: &PackageAt,
    wait: Duration,
) -> Result<(Written, Option<LiveFunction>), DeployError> {
    if let (FunctionAction::Update, Some(f)) = (plan.action, live) {
        return Ok((Written::default(), Some(f.clone())));
    }
    let arch = plan.architecture.unwrap_or_default();
    tracing::info!(function = %plan.function_name, "creating function");
    match lambda
        .create(code_source(plan, code)?, arch, &plan.config, &plan.tags)
        .await
    {
        Ok(mut written) => {
            written.revision_id = lambda.wait_active(wait).await?.or(written.revision_id);
            Ok((written, None))
        }
        // Another run created it first: update it to this run's code and settings.
        Err(e) if e.kind == ErrorKind::Conflict => {
            tracing::warn!(
                "the function was created by another run meanwhile; updating it instead"
            );
            let f = lambda.get_function().await?.ok_or(e)?;
            Ok((Written::default(), Some(f)))
        }
        Err(e) => Err(e.into()),
    }
}

/// Brings an existing function to the plan: waits for it to be ready, then uploads the
/// code, updates the configuration and sets the tags, as far as each changes.
async fn update_function<L: LambdaApi>(
    lambda: &L,
    plan: &Plan,
    f: &LiveFunction,
    code: &PackageAt,
    wait: Duration,
) -> Result<Written, DeployError> {
    let first_update = plan.action == FunctionAction::Create;
    let mut written = Written::from_live(f);
    // An update still running (from another run or the console) must finish first.
    if f.state == Some(FunctionState::Pending) {
        tracing::info!("waiting for the function to become Active");
        written.revision_id = lambda.wait_active(wait).await?.or(written.revision_id);
    }
    if f.last_update_status == Some(LastUpdateStatus::InProgress) {
        tracing::info!("waiting for an update in progress to finish");
        written.revision_id = lambda.wait_updated(wait).await?.or(written.revision_id);
    }
    if first_update || plan.code_changed || plan.architecture.is_some() {
        tracing::info!(size = plan.code.size, "uploading code");
        let rev = written.revision_id.clone();
        written = upload(lambda, plan, code, plan.architecture, rev.as_deref(), wait).await?;
    }
    let mut update_config = plan.config.clone();
    if first_update {
        update_config.layers = update_config.layers.filter(|l| !l.is_empty());
    }
    if !update_config.is_empty() {
        written = update_configuration(lambda, plan, &update_config, written, wait).await?;
    }
    if !plan.tags.is_empty() {
        lambda.tag(&written.arn, &plan.tags).await?;
    }
    Ok(written)
}

/// Sends the configuration fields that change, after any update in progress; the code
/// facts of `written` are kept (UpdateFunctionConfiguration does not change them).
async fn update_configuration<L: LambdaApi>(
    lambda: &L,
    plan: &Plan,
    update_config: &ConfigUpdate,
    mut written: Written,
    wait: Duration,
) -> Result<Written, DeployError> {
    tracing::info!(fields = plan.changes.len(), "updating configuration");
    let rev = written.revision_id.clone();
    let kept = (written.code_sha256.clone(), written.code_size);
    written = after_conflicts(
        || lambda.update_config(update_config, rev.as_deref()),
        || lambda.wait_updated(wait),
    )
    .await?;
    (written.code_sha256, written.code_size) = kept;
    written.revision_id = lambda.wait_updated(wait).await?.or(written.revision_id);
    Ok(written)
}

/// Fails, after putting the earlier code back, when Lambda holds other code than the
/// package's.
async fn check_code<L: LambdaApi>(
    lambda: &L,
    plan: &Plan,
    code: &PackageAt,
    written: &Written,
    wait: Duration,
) -> Result<(), DeployError> {
    // Lambda reads an S3 object itself: an empty CodeSha256 there means it found nothing.
    let from_s3 = matches!(code, PackageAt::S3 { .. });
    if written.code_sha256 != plan.code.code_sha256 && (from_s3 || !written.code_sha256.is_empty())
    {
        let undo = put_back(lambda, plan, code, wait).await;
        return Err(DeployError::ShaMismatch {
            expected: plan.code.code_sha256.clone(),
            actual: written.code_sha256.clone(),
            undo,
        });
    }
    Ok(())
}

/// Which version the aliases will serve.
enum Serves {
    /// This version; `published` when this run published it.
    Version { version: String, published: bool },
    /// None: another run took `$LATEST`, and every alias already serves a newer deploy.
    Yielded(Vec<Held>),
}

/// Publishes this run's version, or reuses one, as the plan says.
async fn version<L: LambdaApi>(
    lambda: &L,
    plan: &Plan,
    code: &PackageAt,
    written: &Written,
    ours: &OrderKey,
    wait: Duration,
) -> Result<Serves, DeployError> {
    let description = match &plan.publish {
        Publish::No => {
            return Ok(Serves::Version {
                version: "$LATEST".to_string(),
                published: false,
            });
        }
        Publish::Reuse { version } => {
            return Ok(Serves::Version {
                version: version.clone(),
                published: false,
            });
        }
        Publish::New { description } => description,
    };
    let alias_names: Vec<(String, Option<String>)> = plan
        .aliases
        .iter()
        .map(|a| (a.name.clone(), a.from.clone()))
        .collect();
    let spec = PublishSpec {
        code_sha256: &plan.code.code_sha256,
        description,
        ours,
        aliases: &alias_names,
        wait,
    };
    let arch = plan.architecture;
    let reupload = async || {
        upload(lambda, plan, code, arch, None, wait)
            .await
            .map(|w| w.revision_id)
    };
    Ok(
        match publish_own(lambda, &spec, written.revision_id.clone(), reupload).await? {
            Published::Own(version) => Serves::Version {
                version,
                published: true,
            },
            Published::Yielded(held) => Serves::Yielded(held),
        },
    )
}

/// Moves the aliases to `version`, each only when no newer deploy serves it. Aliases
/// already on the version are passed too: each records this run as its mover when this
/// run is newer than the one recorded (see `crate::order`).
async fn move_all<L: LambdaApi>(
    lambda: &L,
    plan: &Plan,
    version: &str,
    ours: &OrderKey,
    wait: Duration,
) -> Result<(Vec<Moved>, Vec<Held>), DeployError> {
    let names: Vec<String> = plan
        .aliases
        .iter()
        .map(|a| a.name.clone())
        .chain(plan.aliases_in_place.iter().cloned())
        .collect();
    let mut moved = Vec::new();
    let mut held = Vec::new();
    let results = move_aliases(lambda, &names, version, ours, wait).await?;
    for (name, result) in names.into_iter().zip(results) {
        match result {
            AliasResult::Moved { from } => moved.push(Moved {
                name,
                from,
                to: version.to_string(),
            }),
            AliasResult::Already => {}
            AliasResult::Held(h) => held.push(h),
        }
    }
    Ok((moved, held))
}

#[cfg(test)]
mod tests;
