//! Narrow adapters over the AWS SDK. They translate between SDK types and the plain
//! data in [`crate::state`] and [`crate::plan`], and turn SDK errors into [`AwsError`]s
//! that name the operation and say what to do.

pub mod lambda;
pub mod layer;
pub mod s3;

use std::fmt;

use aws_sdk_lambda::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Loads region, credentials and endpoints the standard way (environment, profile,
/// web identity, IMDS), so OIDC credentials from configure-aws-credentials work as
/// they are. `AWS_ENDPOINT_URL` and its per-service variants are honoured by the SDK.
pub async fn load_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

/// What kind of failure an AWS call met, matched on modelled error variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    Conflict,
    PreconditionFailed,
    AccessDenied,
    Invalid,
    Timeout,
    Other,
}

/// A failed AWS call.
#[derive(Debug, Clone, thiserror::Error)]
pub struct AwsError {
    pub operation: &'static str,
    pub resource: String,
    pub kind: ErrorKind,
    pub message: String,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hint = match self.kind {
            ErrorKind::AccessDenied => {
                "; grant the permission in the role lambda-deploy runs with (see the README's IAM policy)"
            }
            ErrorKind::Conflict => {
                "; another deploy or update is running on this function: run again when it has finished"
            }
            ErrorKind::PreconditionFailed => {
                "; the function changed while this deploy ran: run again to deploy on top of the new state"
            }
            ErrorKind::Timeout => {
                "; raise wait-timeout, or look at the function's LastUpdateStatusReason in the Lambda console"
            }
            _ => "",
        };
        write!(
            f,
            "{} on {} failed: {}{hint}",
            self.operation, self.resource, self.message
        )
    }
}

impl AwsError {
    /// Builds an error from an SDK error; `kind` comes from the modelled variant.
    pub fn from_sdk<E, R>(
        operation: &'static str,
        resource: &str,
        err: SdkError<E, R>,
        kind: impl FnOnce(&E) -> ErrorKind,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        let kind = match &err {
            SdkError::ServiceError(se) => {
                let k = kind(se.err());
                if k == ErrorKind::Other
                    && matches!(
                        se.err().code(),
                        Some("AccessDeniedException" | "AccessDenied")
                    )
                {
                    ErrorKind::AccessDenied
                } else {
                    k
                }
            }
            SdkError::TimeoutError(_) => ErrorKind::Timeout,
            _ => ErrorKind::Other,
        };
        let message = match err.as_service_error() {
            Some(se) => format!(
                "{}: {}",
                se.code().unwrap_or("error"),
                se.message().unwrap_or("no message")
            ),
            None => DisplayErrorContext(&err).to_string(),
        };
        Self {
            operation,
            resource: resource.to_string(),
            kind,
            message,
        }
    }
}
