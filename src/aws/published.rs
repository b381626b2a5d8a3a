//! Reads one published version in full: what a run checks before it moves an alias
//! (whose deploy the alias serves) and after it publishes (that the version holds its
//! own code and description).

use super::lambda::{Lambda, fingerprint};
use super::{AwsError, ErrorKind};
use crate::state::LiveVersion;

impl Lambda {
    /// A published version's code, description and configuration; `None` when the
    /// version does not exist.
    pub(crate) async fn get_version(&self, version: &str) -> Result<Option<LiveVersion>, AwsError> {
        match self
            .client()
            .get_function_configuration()
            .function_name(self.function())
            .qualifier(version)
            .send()
            .await
        {
            Ok(c) => Ok(Some(LiveVersion {
                version: c.version().unwrap_or(version).to_string(),
                code_sha256: c.code_sha256().unwrap_or_default().to_string(),
                description: c.description().map(str::to_string),
                fingerprint: fingerprint_of(&c),
            })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(AwsError::from_sdk(
                "GetFunctionConfiguration",
                &format!("version {version} of {}", self.resource()),
                e,
                |_| ErrorKind::Other,
            )),
        }
    }
}

fn fingerprint_of(
    c: &aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput,
) -> crate::state::ConfigFingerprint {
    let conf = aws_sdk_lambda::types::FunctionConfiguration::builder()
        .set_runtime(c.runtime().cloned())
        .set_role(c.role().map(str::to_string))
        .set_handler(c.handler().map(str::to_string))
        .set_architectures(Some(c.architectures().to_vec()))
        .set_memory_size(c.memory_size())
        .set_timeout(c.timeout())
        .set_description(c.description().map(str::to_string))
        .set_environment(c.environment().cloned())
        .set_layers(Some(c.layers().to_vec()))
        .build();
    fingerprint(&conf)
}
