//! The top-level error: every failure a run can end with, each already carrying a
//! message that says what to do.

use crate::aws::AwsError;
use crate::aws::s3::S3Error;
use crate::config::ConfigErrors;
use crate::context::ContextError;
use crate::deploy::DeployError;
use crate::domain::limits::LimitError;
use crate::history::HistoryError;
use crate::image::ImageError;
use crate::layers::LayerError;
use crate::package::PackageError;
use crate::plan::PlanError;
use crate::targets::TargetError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    #[error("{0}")]
    Manifest(#[from] crate::config::manifest::ManifestErrors),
    #[error(transparent)]
    Context(#[from] ContextError),
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error(transparent)]
    Limit(#[from] LimitError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Deploy(#[from] DeployError),
    #[error(transparent)]
    NoCredentials(#[from] crate::aws::NoCredentials),
    #[error(transparent)]
    Targets(#[from] TargetError),
    #[error(
        "no package to deploy; give source-dir (a folder to package) or zip-file (a prebuilt zip)"
    )]
    NoPackage,
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    S3(#[from] S3Error),
    #[error(transparent)]
    Layer(#[from] LayerError),
    #[error(
        "no AWS region is set; set AWS_REGION (aws-actions/configure-aws-credentials sets it for you)"
    )]
    NoRegion,
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error("{0}")]
    Cancelled(crate::cancel::Cancelled),
    #[error("cannot write {what} to '{path}': {source}")]
    Write {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
}

impl Error {
    /// The process exit code: 130/143 for a run cancelled by SIGINT/SIGTERM, else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Cancelled(c) => c.signal.exit_code(),
            _ => 1,
        }
    }

    /// A short title for the annotation GitHub shows.
    pub fn title(&self) -> String {
        match self {
            Error::Config(_) => "lambda-deploy: invalid input".into(),
            Error::Manifest(_) => "lambda-deploy: invalid manifest".into(),
            Error::Package(_) => "lambda-deploy: packaging failed".into(),
            Error::Limit(_) => "lambda-deploy: package too large".into(),
            Error::Plan(_) | Error::NoPackage => "lambda-deploy: cannot deploy".into(),
            Error::Targets(_) => "lambda-deploy: invalid input".into(),
            Error::Image(_) => "lambda-deploy: image deploy failed".into(),
            Error::Aws(e) => format!("lambda-deploy: {} failed", e.operation),
            Error::Deploy(DeployError::Aws(e)) => format!("lambda-deploy: {} failed", e.operation),
            Error::Deploy(DeployError::Smoke(_)) => "lambda-deploy: smoke test failed".into(),
            Error::Deploy(DeployError::Shift(_)) => "lambda-deploy: traffic shift failed".into(),
            Error::Deploy(DeployError::Overtaken { .. }) => {
                "lambda-deploy: overtaken by another deploy".into()
            }
            Error::S3(S3Error::Aws(e)) => format!("lambda-deploy: {} failed", e.operation),
            Error::S3(_) => "lambda-deploy: S3 upload failed".into(),
            Error::Layer(_) => "lambda-deploy: layer publish failed".into(),
            Error::Cancelled(c) => format!("lambda-deploy: cancelled ({})", c.signal.name()),
            Error::History(HistoryError::Aws(e)) => {
                format!("lambda-deploy: {} failed", e.operation)
            }
            Error::History(HistoryError::Smoke(_)) => "lambda-deploy: smoke test failed".into(),
            Error::History(HistoryError::StorageFull { .. }) => {
                "lambda-deploy: code storage full".into()
            }
            Error::History(_) => "lambda-deploy: invalid input".into(),
            _ => "lambda-deploy failed".into(),
        }
    }
}
