//! The ECR adapter: the registry login (GetAuthorizationToken), the repository built
//! images go to (created when missing with scan on push), and deleting images a prune
//! leaves unused.

use aws_sdk_ecr::Client;
use aws_sdk_ecr::types::{
    ImageFailureCode, ImageIdentifier, ImageScanningConfiguration, ImageTagMutability,
};
use base64::Engine as _;
use secrecy::SecretString;

use super::{AwsError, ErrorKind};

/// A registry login from ECR.
#[derive(Debug, Clone)]
pub struct EcrLogin {
    /// The registry host, e.g. `123456789012.dkr.ecr.us-east-1.amazonaws.com`.
    pub host: String,
    pub user: String,
    pub password: SecretString,
}

/// The repository pushes go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub name: String,
    /// Tags cannot move once set (IMMUTABLE, or IMMUTABLE_WITH_EXCLUSION).
    pub immutable: bool,
    pub created: bool,
}

/// An ECR client.
#[derive(Debug, Clone)]
pub struct Ecr {
    client: Client,
}

impl Ecr {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            client: Client::from_conf(
                aws_sdk_ecr::config::Builder::from(config)
                    .interceptor(crate::cancel::Gate)
                    .build(),
            ),
        }
    }

    /// Logs in: the token is base64 `AWS:<password>`; the host comes from the proxy endpoint.
    pub async fn login(&self) -> Result<EcrLogin, AwsError> {
        let resource = "the ECR registry";
        let out = self
            .client
            .get_authorization_token()
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk("GetAuthorizationToken", resource, e, |_| ErrorKind::Other)
            })?;
        let invalid = |what: &str| AwsError {
            operation: "GetAuthorizationToken",
            resource: resource.to_string(),
            kind: ErrorKind::Invalid,
            message: format!("the answer has {what}"),
        };
        let data = out
            .authorization_data()
            .first()
            .ok_or_else(|| invalid("no authorization data"))?;
        let decoded = data
            .authorization_token()
            .and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| invalid("no readable token"))?;
        let (user, password) = decoded
            .split_once(':')
            .ok_or_else(|| invalid("a token without ':'"))?;
        let host = data
            .proxy_endpoint()
            .map(|p| {
                p.trim_start_matches("https://")
                    .trim_start_matches("http://")
                    .trim_end_matches('/')
                    .to_string()
            })
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid("no proxy endpoint"))?;
        Ok(EcrLogin {
            host,
            user: user.to_string(),
            password: SecretString::from(password.to_string()),
        })
    }

    /// The repository `name`, created (scan on push, mutable tags) when missing.
    pub(crate) async fn ensure_repository(&self, name: &str) -> Result<Repository, AwsError> {
        let resource = format!("ECR repository '{name}'");
        match self
            .client
            .describe_repositories()
            .repository_names(name)
            .send()
            .await
        {
            Ok(out) => {
                let immutable = out
                    .repositories()
                    .first()
                    .and_then(|r| r.image_tag_mutability())
                    .is_some_and(|m| m.as_str().starts_with("IMMUTABLE"));
                return Ok(Repository {
                    name: name.to_string(),
                    immutable,
                    created: false,
                });
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_repository_not_found_exception()) => {}
            Err(e) => {
                return Err(AwsError::from_sdk(
                    "DescribeRepositories",
                    &resource,
                    e,
                    |_| ErrorKind::Other,
                ));
            }
        }
        tracing::info!(repository = name, "creating ECR repository");
        self.client
            .create_repository()
            .repository_name(name)
            .image_tag_mutability(ImageTagMutability::Mutable)
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(true)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk("CreateRepository", &resource, e, |s| {
                    if s.is_repository_already_exists_exception() {
                        ErrorKind::Conflict
                    } else if s.is_invalid_parameter_exception() {
                        ErrorKind::Invalid
                    } else {
                        ErrorKind::Other
                    }
                })
            })?;
        Ok(Repository {
            name: name.to_string(),
            immutable: false,
            created: true,
        })
    }

    /// Deletes images of `repository` (in the registry of account `registry_id`) by
    /// digest, 100 per request, and returns the digests that are gone: deleted now, or
    /// already missing (a re-run after a partial prune).
    pub(crate) async fn delete_images(
        &self,
        registry_id: &str,
        repository: &str,
        digests: &[String],
    ) -> Result<Vec<String>, AwsError> {
        let resource = format!("ECR repository '{repository}'");
        let mut gone = Vec::new();
        for chunk in digests.chunks(100) {
            let ids = chunk
                .iter()
                .map(|d| ImageIdentifier::builder().image_digest(d).build())
                .collect();
            let out = match self
                .client
                .batch_delete_image()
                .registry_id(registry_id)
                .repository_name(repository)
                .set_image_ids(Some(ids))
                .send()
                .await
            {
                Ok(out) => out,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_repository_not_found_exception()) =>
                {
                    gone.extend(chunk.iter().cloned());
                    continue;
                }
                Err(e) => {
                    return Err(AwsError::from_sdk("BatchDeleteImage", &resource, e, |_| {
                        ErrorKind::Other
                    }));
                }
            };
            if let Some(f) = out
                .failures()
                .iter()
                .find(|f| f.failure_code() != Some(&ImageFailureCode::ImageNotFound))
            {
                return Err(AwsError {
                    operation: "BatchDeleteImage",
                    resource,
                    kind: ErrorKind::Other,
                    message: format!(
                        "image {} was not deleted: {}",
                        f.image_id()
                            .and_then(|i| i.image_digest())
                            .unwrap_or("(no digest)"),
                        f.failure_reason().unwrap_or("no reason given")
                    ),
                });
            }
            gone.extend(chunk.iter().cloned());
        }
        Ok(gone)
    }
}
