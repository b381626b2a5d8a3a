//! Carries out a [`Plan`] against Lambda, in the order Lambda's rules require: each
//! write waits for the previous update to finish, each guarded write carries the
//! RevisionId the last one returned, and aliases move only once the version exists.

use std::path::PathBuf;

use serde::Serialize;

use crate::aws::AwsError;
use crate::aws::lambda::{CodeSource, Lambda, Written};
use crate::config::Config;
use crate::plan::{FunctionAction, Plan, Publish};
use crate::state::LiveFunction;

/// An alias that moved, with both ends known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moved {
    pub name: String,
    pub from: Option<String>,
    pub to: String,
}

/// What the run did.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub function_arn: String,
    /// The version the aliases serve (`$LATEST` with `publish: false`).
    pub version: String,
    pub published: bool,
    pub code_sha256: String,
    pub code_size: i64,
    pub moved: Vec<Moved>,
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
        "Lambda reports CodeSha256 {actual} after the upload, but the package built here has {expected}; the upload was changed on the way: run the deploy again"
    )]
    ShaMismatch { expected: String, actual: String },
}

/// Where the package is: a local zip sent in the request, or an S3 object already
/// uploaded and verified.
#[derive(Debug, Clone)]
pub enum PackageAt {
    File(PathBuf),
    S3 { bucket: String, key: String },
}

fn code_source(code: &PackageAt) -> Result<CodeSource, DeployError> {
    match code {
        PackageAt::File(zip) => {
            std::fs::read(zip)
                .map(CodeSource::Zip)
                .map_err(|source| DeployError::ReadPackage {
                    path: zip.display().to_string(),
                    source,
                })
        }
        PackageAt::S3 { bucket, key } => Ok(CodeSource::S3 {
            bucket: bucket.clone(),
            key: key.clone(),
        }),
    }
}

/// Applies `plan`. `live` is the state the plan was made from; `code` is the package.
pub async fn apply(
    lambda: &Lambda,
    config: &Config,
    plan: &Plan,
    live: Option<&LiveFunction>,
    code: &PackageAt,
) -> Result<Outcome, DeployError> {
    let wait = config.wait_timeout;
    let mut written: Written;
    match (plan.action, live) {
        (FunctionAction::Create, _) | (_, None) => {
            let arch = plan.architecture.as_deref().unwrap_or("x86_64");
            tracing::info!(function = %plan.function_name, "creating function");
            written = lambda
                .create(code_source(code)?, arch, &plan.config, &plan.tags)
                .await?;
            written.revision_id = lambda.wait_active(wait).await?.or(written.revision_id);
        }
        (FunctionAction::Update, Some(f)) => {
            written = Lambda::from_live(f);
            // An update still running (from another run or the console) must finish first.
            if f.last_update_status.as_deref() == Some("InProgress")
                || f.state.as_deref() == Some("Pending")
            {
                tracing::info!("waiting for an update in progress to finish");
                written.revision_id = lambda.wait_updated(wait).await?.or(written.revision_id);
            }
            if plan.code_changed || plan.architecture.is_some() {
                tracing::info!(size = plan.code.size, "uploading code");
                let rev = written.revision_id.clone();
                written = lambda
                    .update_code(
                        code_source(code)?,
                        plan.architecture.as_deref(),
                        rev.as_deref(),
                    )
                    .await?;
                written.revision_id = lambda.wait_updated(wait).await?.or(written.revision_id);
            }
            if !plan.config.is_empty() {
                tracing::info!(fields = plan.changes.len(), "updating configuration");
                let rev = written.revision_id.clone();
                let code = (written.code_sha256.clone(), written.code_size);
                written = lambda.update_config(&plan.config, rev.as_deref()).await?;
                (written.code_sha256, written.code_size) = code;
                written.revision_id = lambda.wait_updated(wait).await?.or(written.revision_id);
            }
            if !plan.tags.is_empty() {
                lambda.tag(&written.arn, &plan.tags).await?;
            }
        }
    }
    // Lambda reads an S3 object itself: an empty CodeSha256 there means it found nothing.
    let from_s3 = matches!(code, PackageAt::S3 { .. });
    if written.code_sha256 != plan.code.code_sha256 && (from_s3 || !written.code_sha256.is_empty())
    {
        return Err(DeployError::ShaMismatch {
            expected: plan.code.code_sha256.clone(),
            actual: written.code_sha256,
        });
    }

    let (version, published) = match &plan.publish {
        Publish::No => ("$LATEST".to_string(), false),
        Publish::Reuse { version } => (version.clone(), false),
        Publish::New { description } => {
            tracing::info!("publishing a version");
            let v = lambda
                .publish(
                    &plan.code.code_sha256,
                    description,
                    written.revision_id.as_deref(),
                )
                .await?;
            (v.version, true)
        }
    };

    let mut moved = Vec::new();
    for a in &plan.aliases {
        if a.from.as_deref() == Some(version.as_str()) {
            continue;
        }
        tracing::info!(alias = %a.name, to = %version, "moving alias");
        lambda
            .point_alias(
                &a.name,
                &version,
                a.from.is_some(),
                a.revision_id.as_deref(),
            )
            .await?;
        moved.push(Moved {
            name: a.name.clone(),
            from: a.from.clone(),
            to: version.clone(),
        });
    }

    Ok(Outcome {
        function_arn: written.arn,
        version,
        published,
        code_sha256: plan.code.code_sha256.clone(),
        code_size: plan.code.size as i64,
        moved,
    })
}
