//! The smoke test: the new version is invoked with the `smoke-test` payload before any
//! alias moves. A function error or no answer in time fails the deploy with the error the
//! function returned, and no alias moves; the version stays published, unserved.

use std::time::Duration;

use crate::aws::AwsError;
use crate::aws::api::LambdaApi;

pub use crate::domain::outcome::SmokePassed;

/// Longest part of a returned payload kept in logs, errors and the summary.
pub(crate) const PAYLOAD_EXCERPT: usize = 2000;

/// Why the smoke test failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SmokeError {
    #[error(
        "smoke test: version {version} returned a function error ({kind}): {payload}; no alias was moved: fix the function (its logs are in CloudWatch Logs) and deploy again"
    )]
    FunctionError {
        version: String,
        kind: String,
        payload: String,
    },
    #[error(
        "smoke test: version {version} gave no answer within {secs}s (wait-timeout); no alias was moved: make the function answer the smoke-test payload faster, or raise wait-timeout"
    )]
    Timeout { version: String, secs: u64 },
    #[error("smoke test: {0}; no alias was moved")]
    Aws(AwsError),
}

/// The start of `bytes` as text, at most [`PAYLOAD_EXCERPT`] bytes, cut on a character.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.len() <= PAYLOAD_EXCERPT {
        return text.into_owned();
    }
    let mut cut = PAYLOAD_EXCERPT;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..cut], bytes.len())
}

/// Invokes `version` with `payload`, within `timeout`.
pub async fn run<L: LambdaApi>(
    lambda: &L,
    version: &str,
    payload: &serde_json::Value,
    timeout: Duration,
) -> Result<SmokePassed, SmokeError> {
    tracing::info!(version, "smoke test: invoking the new version");
    let body = payload.to_string();
    let call = lambda.invoke(version, body.as_bytes(), timeout);
    let out = match tokio::time::timeout(timeout, call).await {
        Err(_) => {
            return Err(SmokeError::Timeout {
                version: version.to_string(),
                secs: timeout.as_secs(),
            });
        }
        Ok(Err(e)) if e.kind == crate::aws::ErrorKind::NoAnswer => {
            return Err(SmokeError::Timeout {
                version: version.to_string(),
                secs: timeout.as_secs(),
            });
        }
        Ok(Err(e)) => return Err(SmokeError::Aws(e)),
        Ok(Ok(out)) => out,
    };
    let response = excerpt(&out.payload);
    if let Some(kind) = out.function_error {
        tracing::error!(version, kind = %kind, payload = %response, "smoke test failed");
        return Err(SmokeError::FunctionError {
            version: version.to_string(),
            kind,
            payload: response,
        });
    }
    tracing::info!(version, status = out.status_code, response = %response, "smoke test passed");
    Ok(SmokePassed {
        version: version.to_string(),
        response,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_payloads_are_cut_on_a_character() {
        assert_eq!(excerpt(b"{\"ok\":true}"), "{\"ok\":true}");
        let long = "é".repeat(PAYLOAD_EXCERPT);
        let cut = excerpt(long.as_bytes());
        assert!(cut.len() < PAYLOAD_EXCERPT + 40, "{}", cut.len());
        assert!(cut.ends_with(&format!("… ({} bytes in all)", long.len())));
    }
}
