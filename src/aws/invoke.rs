//! Invoke, for the smoke test: one synchronous call of a published version, not retried
//! once it may have run (a retry would run the function twice), bounded in time.

use std::time::Duration;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

pub use super::api::Invoked;
use super::lambda::Lambda;
use super::{AwsError, ErrorKind};

impl Lambda {
    /// Invokes `qualifier` (a version) with `payload` and waits for the result, at most
    /// `timeout`. Never retried: a retry could run the function twice.
    pub async fn invoke(
        &self,
        qualifier: &str,
        payload: &[u8],
        timeout: Duration,
    ) -> Result<Invoked, AwsError> {
        let out = self
            .client()
            .invoke()
            .function_name(self.function())
            .qualifier(qualifier)
            .invocation_type(InvocationType::RequestResponse)
            .payload(Blob::new(payload.to_vec()))
            .customize()
            .config_override(
                aws_sdk_lambda::config::Builder::default()
                    .retry_config(RetryConfig::standard().with_max_attempts(1))
                    .timeout_config(
                        TimeoutConfig::builder()
                            .operation_attempt_timeout(timeout)
                            .operation_timeout(timeout)
                            .build(),
                    ),
            )
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(
                    "Invoke",
                    &format!("version {qualifier} of {}", self.resource()),
                    e,
                    |s| {
                        if s.is_resource_conflict_exception() || s.is_resource_not_ready_exception()
                        {
                            ErrorKind::Conflict
                        } else if s.is_invalid_request_content_exception() {
                            ErrorKind::Invalid
                        } else {
                            ErrorKind::Other
                        }
                    },
                )
            })?;
        Ok(Invoked {
            status_code: out.status_code(),
            function_error: out.function_error().map(str::to_string),
            payload: out
                .payload()
                .map(|b| b.as_ref().to_vec())
                .unwrap_or_default(),
        })
    }
}
