//! Narrow adapters over the AWS SDK. They translate between SDK types and the plain
//! data in [`crate::state`] and [`crate::domain`], and turn SDK errors into [`AwsError`]s
//! that name the operation and say what to do. [`api::LambdaApi`] is the seam the logic
//! above calls through, so it runs against an in-memory fake in unit tests.

pub mod api;
pub mod cloudwatch;
pub mod ecr;
#[cfg(any(test, feature = "fake"))]
pub mod fake;
pub mod history;
pub mod iam;
pub mod invoke;
pub(crate) mod kind;
pub mod lambda;
pub mod layer;
pub mod lock;
pub mod published;
pub mod retry;
pub mod routing;
pub mod s3;
pub mod url;
pub mod versions;

use std::fmt;

use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

pub use retry::Bounds;

/// Loads region, credentials and endpoints the standard way (environment, profile,
/// web identity, IMDS), so OIDC credentials from configure-aws-credentials work as
/// they are. `AWS_ENDPOINT_URL` and its per-service variants are honoured by the SDK.
///
/// Every call retries throttling, 5xx answers, dropped connections and slow answers with
/// jittered exponential backoff, within the [`Bounds`] read from the environment.
pub async fn load_config() -> aws_config::SdkConfig {
    let bounds = Bounds::from_env(|k| std::env::var(k).ok());
    retry::remember(bounds);
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(bounds.retry_config())
        .timeout_config(bounds.timeout_config())
        .load()
        .await
}

/// Resolves credentials once, before the first call, so a job without any gets one
/// clear error instead of a provider chain dump on the first request. The SDK caches
/// what this resolves.
pub(crate) async fn check_credentials(config: &aws_config::SdkConfig) -> Result<(), NoCredentials> {
    use aws_sdk_lambda::config::ProvideCredentials;
    let Some(provider) = config.credentials_provider() else {
        return Err(NoCredentials {
            reason: "no credential provider is configured".into(),
        });
    };
    provider
        .provide_credentials()
        .await
        .map(|_| ())
        .map_err(|e| NoCredentials {
            reason: e.to_string(),
        })
}

/// No credentials could be found.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "no AWS credentials found ({reason}); add aws-actions/configure-aws-credentials before this step (OIDC, no stored keys), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)]
pub struct NoCredentials {
    pub reason: String,
}

/// `Ok(None)` when the call failed because the resource does not exist (as `not_found`
/// tells from the modelled error): for optional reads, and for deletes that a re-run
/// repeats, where "already gone" is success.
pub(crate) fn or_absent<T, E, R>(
    result: Result<T, SdkError<E, R>>,
    not_found: impl FnOnce(&E) -> bool,
) -> Result<Option<T>, SdkError<E, R>> {
    match result {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.as_service_error().is_some_and(not_found) => Ok(None),
        Err(e) => Err(e),
    }
}

/// What kind of failure an AWS call met, matched on modelled error variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    Conflict,
    PreconditionFailed,
    AccessDenied,
    Invalid,
    /// CodeStorageExceededException: the region's code storage of the account is full.
    CodeStorageFull,
    Timeout,
    /// Still throttled (HTTP 429) when the retry bound was reached.
    Throttled,
    /// 5xx answers or dropped connections until the retry bound was reached.
    Unavailable,
    /// No answer within the per-attempt timeout, on every attempt.
    NoAnswer,
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
            ErrorKind::CodeStorageFull => crate::domain::CODE_STORAGE_HINT,
            ErrorKind::Timeout => {
                "; raise wait-timeout, or look at the function's LastUpdateStatusReason in the Lambda console"
            }
            ErrorKind::Throttled | ErrorKind::Unavailable | ErrorKind::NoAnswer => {
                return write!(
                    f,
                    "{} on {} failed: {}; {}",
                    self.operation,
                    self.resource,
                    self.message,
                    retry::exhausted_hint(self.kind)
                );
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
    pub(crate) fn from_sdk<E>(
        operation: &'static str,
        resource: &str,
        err: SdkError<E, HttpResponse>,
        kind: impl FnOnce(&E) -> ErrorKind,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let kind = match &err {
            SdkError::ServiceError(se) => {
                let k = kind(se.err());
                let status = se.raw().status().as_u16();
                if k != ErrorKind::Other {
                    k
                } else if matches!(
                    se.err().code(),
                    Some("AccessDeniedException" | "AccessDenied")
                ) {
                    ErrorKind::AccessDenied
                } else if status == 409 {
                    ErrorKind::Conflict
                } else if status == 429 {
                    ErrorKind::Throttled
                } else if status >= 500 {
                    ErrorKind::Unavailable
                } else {
                    k
                }
            }
            SdkError::TimeoutError(_) => ErrorKind::NoAnswer,
            SdkError::DispatchFailure(d) if d.is_timeout() => ErrorKind::NoAnswer,
            SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => ErrorKind::Unavailable,
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
