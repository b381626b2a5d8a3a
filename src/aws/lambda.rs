//! The Lambda adapter: reads the live function, and carries out the writes a plan asks
//! for, each followed by the SDK waiter that Lambda's update rules require.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use aws_sdk_lambda::Client;
use aws_sdk_lambda::client::Waiters;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Environment, FunctionCode, FunctionConfiguration, ImageConfig, PackageType, Runtime,
};

use super::api::{
    AliasTargets, Invoked, LambdaApi, RoutedAlias, UrlAuth, UrlConfig, UrlGrant, VersionInfo,
};
pub use super::api::{CodeSource, Written};
use super::{AwsError, ErrorKind, kind, or_absent};
use crate::domain::function::ConfigUpdate;
use crate::domain::kind::Architecture;
use crate::state::{ConfigFingerprint, LiveAlias, LiveFunction, LiveVersion};
use aws_sdk_lambda::error::DisplayErrorContext;
use aws_sdk_lambda::operation::get_function::{GetFunctionError, GetFunctionOutput};
use aws_smithy_runtime_api::client::waiters::error::WaiterError;

fn package_type(code: &CodeSource) -> PackageType {
    match code {
        CodeSource::Zip(_) | CodeSource::S3 { .. } => PackageType::Zip,
        CodeSource::Image { .. } => PackageType::Image,
    }
}

fn function_code(code: CodeSource) -> FunctionCode {
    match code {
        CodeSource::Zip(bytes) => FunctionCode::builder().zip_file(Blob::new(bytes)).build(),
        CodeSource::Image { uri } => FunctionCode::builder().image_uri(uri).build(),
        CodeSource::S3 {
            bucket,
            key,
            version,
        } => FunctionCode::builder()
            .s3_bucket(bucket)
            .s3_key(key)
            .set_s3_object_version(version)
            .build(),
    }
}

fn image_config(command: &Option<Vec<String>>) -> Option<ImageConfig> {
    command.as_ref().map(|cmd| {
        ImageConfig::builder()
            .set_command(Some(cmd.clone()))
            .build()
    })
}

/// A Lambda client bound to one function.
#[derive(Debug, Clone)]
pub struct Lambda {
    client: Client,
    function: String,
}

fn arch(c: &FunctionConfiguration) -> Option<Architecture> {
    c.architectures().first().and_then(kind::from_sdk_arch)
}

pub(crate) fn fingerprint(c: &FunctionConfiguration) -> ConfigFingerprint {
    ConfigFingerprint {
        runtime: c.runtime().map(|r| r.as_str().to_string()),
        role: c.role().map(str::to_string),
        handler: c.handler().map(str::to_string),
        architecture: arch(c),
        memory_size: c.memory_size(),
        timeout: c.timeout(),
        description: c
            .description()
            .map(str::to_string)
            .filter(|d| !d.is_empty()),
        environment: c
            .environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        layers: c
            .layers()
            .iter()
            .filter_map(|l| l.arn().map(str::to_string))
            .collect(),
    }
}

fn env(vars: &BTreeMap<String, String>) -> Environment {
    Environment::builder()
        .set_variables(Some(vars.clone().into_iter().collect()))
        .build()
}

/// Turns a failed GetFunction waiter into an error that says what happened: the wait
/// ran out, Lambda reported the update (or the function) as Failed with its reason, or
/// polling itself failed.
fn waiter_error(
    operation: &'static str,
    resource: &str,
    timeout: Duration,
    err: WaiterError<GetFunctionOutput, GetFunctionError>,
) -> AwsError {
    let (kind, message) = match err {
        WaiterError::ExceededMaxWait(_) => (
            ErrorKind::Timeout,
            format!("the update did not finish within {}s", timeout.as_secs()),
        ),
        WaiterError::FailureState(failure) => {
            let config = failure
                .final_poll()
                .as_result()
                .ok()
                .and_then(|o| o.configuration());
            let reason = config
                .and_then(|c| c.last_update_status_reason().or(c.state_reason()))
                .unwrap_or("no reason given");
            (
                ErrorKind::Other,
                format!("Lambda reports the update as Failed: {reason}"),
            )
        }
        WaiterError::OperationFailed(failed) => (
            ErrorKind::Other,
            format!(
                "polling GetFunction failed: {}",
                DisplayErrorContext(failed.error())
            ),
        ),
        other => (
            ErrorKind::Other,
            format!("the wait could not start: {}", DisplayErrorContext(&other)),
        ),
    };
    AwsError {
        operation,
        resource: resource.to_string(),
        kind,
        message,
    }
}

impl Lambda {
    pub fn new(config: &aws_config::SdkConfig, function: &str) -> Self {
        Self {
            client: Client::from_conf(
                aws_sdk_lambda::config::Builder::from(config)
                    .interceptor(crate::cancel::Gate)
                    .build(),
            ),
            function: function.to_string(),
        }
    }

    /// The same client (connections, credentials) bound to function `function`.
    pub(crate) fn bound_to(&self, function: &str) -> Self {
        Self {
            client: self.client.clone(),
            function: function.to_string(),
        }
    }

    pub(crate) fn resource(&self) -> String {
        format!("function '{}'", self.function)
    }

    /// The SDK client, for the adapters of other Lambda resources (URLs, versions).
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// The function name or ARN this client is bound to.
    pub(crate) fn function(&self) -> &str {
        &self.function
    }

    /// `$LATEST` and the function's tags; `None` when the function does not exist.
    pub async fn get_function(&self) -> Result<Option<LiveFunction>, AwsError> {
        let result = self
            .client
            .get_function()
            .function_name(&self.function)
            .send()
            .await;
        let found = or_absent(result, |s| s.is_resource_not_found_exception()).map_err(|e| {
            AwsError::from_sdk("GetFunction", &self.resource(), e, |_| ErrorKind::Other)
        })?;
        let Some(out) = found else {
            return Ok(None);
        };
        let Some(c) = out.configuration() else {
            return Ok(None);
        };
        let fp = fingerprint(c);
        Ok(Some(LiveFunction {
            arn: c.function_arn().unwrap_or_default().to_string(),
            package_type: kind::from_sdk_package_type(c.package_type()),
            runtime: fp.runtime,
            role: fp.role,
            handler: fp.handler,
            architecture: fp.architecture,
            memory_size: fp.memory_size,
            timeout: fp.timeout,
            description: fp.description,
            environment: fp.environment,
            layers: fp.layers,
            code_sha256: c.code_sha256().unwrap_or_default().to_string(),
            code_size: c.code_size(),
            image_command: c
                .image_config_response()
                .and_then(|r| r.image_config())
                .map(|i| i.command().to_vec())
                .filter(|v| !v.is_empty()),
            revision_id: c.revision_id().map(str::to_string),
            state: c.state().and_then(kind::from_sdk_state),
            last_update_status: c
                .last_update_status()
                .and_then(kind::from_sdk_update_status),
            tags: out
                .tags()
                .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
        }))
    }

    /// The alias's current version, or `None` when it does not exist.
    pub async fn get_alias(&self, name: &str) -> Result<Option<LiveAlias>, AwsError> {
        let result = self
            .client
            .get_alias()
            .function_name(&self.function)
            .name(name)
            .send()
            .await;
        let found = or_absent(result, |s| s.is_resource_not_found_exception()).map_err(|e| {
            AwsError::from_sdk(
                "GetAlias",
                &format!("alias '{name}' of {}", self.resource()),
                e,
                |_| ErrorKind::Other,
            )
        })?;
        Ok(found.map(|a| LiveAlias {
            name: name.to_string(),
            version: a.function_version().unwrap_or_default().to_string(),
            revision_id: a.revision_id().map(str::to_string),
            description: a.description().map(str::to_string),
        }))
    }

    /// The highest-numbered published version.
    pub(crate) async fn latest_version(&self) -> Result<Option<LiveVersion>, AwsError> {
        let mut pages = self
            .client
            .list_versions_by_function()
            .function_name(&self.function)
            .max_items(1000)
            .into_paginator()
            .send();
        let mut best: Option<(u64, LiveVersion)> = None;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                AwsError::from_sdk("ListVersionsByFunction", &self.resource(), e, |_| {
                    ErrorKind::Other
                })
            })?;
            for v in page.versions() {
                let Some(n) = v.version().and_then(|s| s.parse::<u64>().ok()) else {
                    continue;
                };
                if best.as_ref().is_none_or(|(b, _)| n > *b) {
                    let version = LiveVersion {
                        version: n.to_string(),
                        code_sha256: v.code_sha256().unwrap_or_default().to_string(),
                        description: v.description().map(str::to_string),
                        fingerprint: fingerprint(v),
                    };
                    best = Some((n, version));
                }
            }
        }
        Ok(best.map(|(_, v)| v))
    }

    /// Waits until the function is Active and its last update finished (Successful);
    /// returns the RevisionId the final poll saw, for the next guarded write.
    pub(crate) async fn wait_updated(&self, timeout: Duration) -> Result<Option<String>, AwsError> {
        let poll = self
            .client
            .wait_until_function_updated_v2()
            .function_name(&self.function)
            .wait(timeout)
            .await
            .map_err(|e| {
                waiter_error("waiting for LastUpdateStatus", &self.resource(), timeout, e)
            })?;
        Ok(poll
            .as_result()
            .ok()
            .and_then(|o| o.configuration())
            .and_then(|c| c.revision_id())
            .map(str::to_string))
    }

    /// Waits until a new function leaves the Pending state; returns its RevisionId.
    pub(crate) async fn wait_active(&self, timeout: Duration) -> Result<Option<String>, AwsError> {
        let poll = self
            .client
            .wait_until_function_active_v2()
            .function_name(&self.function)
            .wait(timeout)
            .await
            .map_err(|e| waiter_error("waiting for State Active", &self.resource(), timeout, e))?;
        Ok(poll
            .as_result()
            .ok()
            .and_then(|o| o.configuration())
            .and_then(|c| c.revision_id())
            .map(str::to_string))
    }

    /// Creates the function (unpublished) with code, configuration and tags.
    pub async fn create(
        &self,
        code: CodeSource,
        architecture: Architecture,
        cfg: &ConfigUpdate,
        tags: &BTreeMap<String, String>,
    ) -> Result<Written, AwsError> {
        let mut req = self
            .client
            .create_function()
            .function_name(&self.function)
            .package_type(package_type(&code))
            .set_image_config(image_config(&cfg.image_command))
            .code(function_code(code))
            .architectures(kind::to_sdk_arch(architecture))
            .set_role(cfg.role.clone())
            .set_runtime(cfg.runtime.as_deref().map(Runtime::from))
            .set_handler(cfg.handler.clone())
            .set_memory_size(cfg.memory_size)
            .set_timeout(cfg.timeout)
            .set_description(cfg.description.clone())
            .set_layers(cfg.layer_arns())
            .publish(false);
        if let Some(vars) = &cfg.environment {
            req = req.environment(env(vars));
        }
        if !tags.is_empty() {
            req = req.set_tags(Some(tags.clone().into_iter().collect()));
        }
        let out = req.send().await.map_err(|e| {
            AwsError::from_sdk("CreateFunction", &self.resource(), e, |s| {
                if s.is_resource_conflict_exception() {
                    ErrorKind::Conflict
                } else if s.is_code_storage_exceeded_exception() {
                    ErrorKind::CodeStorageFull
                } else if s.is_invalid_parameter_value_exception() {
                    ErrorKind::Invalid
                } else {
                    ErrorKind::Other
                }
            })
        })?;
        Ok(Written {
            arn: out.function_arn().unwrap_or_default().to_string(),
            revision_id: out.revision_id().map(str::to_string),
            code_sha256: out.code_sha256().unwrap_or_default().to_string(),
            code_size: out.code_size(),
            version: "$LATEST".into(),
        })
    }

    /// Uploads new code (and architecture), guarded by the revision the plan was made on.
    pub(crate) async fn update_code(
        &self,
        code: CodeSource,
        architecture: Option<Architecture>,
        revision_id: Option<&str>,
    ) -> Result<Written, AwsError> {
        let req = self
            .client
            .update_function_code()
            .function_name(&self.function);
        let req = match code {
            CodeSource::Zip(bytes) => req.zip_file(Blob::new(bytes)),
            CodeSource::Image { uri } => req.image_uri(uri),
            CodeSource::S3 {
                bucket,
                key,
                version,
            } => req
                .s3_bucket(bucket)
                .s3_key(key)
                .set_s3_object_version(version),
        };
        let out = req
            .set_architectures(architecture.map(|a| vec![kind::to_sdk_arch(a)]))
            .set_revision_id(revision_id.map(str::to_string))
            .publish(false)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk("UpdateFunctionCode", &self.resource(), e, update_code_kind)
            })?;
        Ok(Written {
            arn: out.function_arn().unwrap_or_default().to_string(),
            revision_id: out.revision_id().map(str::to_string),
            code_sha256: out.code_sha256().unwrap_or_default().to_string(),
            code_size: out.code_size(),
            version: "$LATEST".into(),
        })
    }

    /// Sends the configuration fields that change.
    pub(crate) async fn update_config(
        &self,
        cfg: &ConfigUpdate,
        revision_id: Option<&str>,
    ) -> Result<Written, AwsError> {
        let mut req = self
            .client
            .update_function_configuration()
            .function_name(&self.function)
            .set_role(cfg.role.clone())
            .set_runtime(cfg.runtime.as_deref().map(Runtime::from))
            .set_handler(cfg.handler.clone())
            .set_memory_size(cfg.memory_size)
            .set_timeout(cfg.timeout)
            .set_description(cfg.description.clone())
            .set_layers(cfg.layer_arns())
            .set_image_config(image_config(&cfg.image_command))
            .set_revision_id(revision_id.map(str::to_string));
        if let Some(vars) = &cfg.environment {
            req = req.environment(env(vars));
        }
        let out = req.send().await.map_err(|e| {
            AwsError::from_sdk("UpdateFunctionConfiguration", &self.resource(), e, |s| {
                if s.is_resource_conflict_exception() {
                    ErrorKind::Conflict
                } else if s.is_precondition_failed_exception() {
                    ErrorKind::PreconditionFailed
                } else if s.is_invalid_parameter_value_exception() {
                    ErrorKind::Invalid
                } else {
                    ErrorKind::Other
                }
            })
        })?;
        Ok(Written {
            arn: out.function_arn().unwrap_or_default().to_string(),
            revision_id: out.revision_id().map(str::to_string),
            code_sha256: out.code_sha256().unwrap_or_default().to_string(),
            code_size: out.code_size(),
            version: "$LATEST".into(),
        })
    }

    /// Adds or overwrites tags (tags not given are left alone).
    pub async fn tag(&self, arn: &str, tags: &BTreeMap<String, String>) -> Result<(), AwsError> {
        self.client
            .tag_resource()
            .resource(arn)
            .set_tags(Some(tags.clone().into_iter().collect()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                AwsError::from_sdk("TagResource", &self.resource(), e, |_| ErrorKind::Other)
            })
    }

    /// Removes one tag; one not there is fine.
    pub(crate) async fn untag(&self, arn: &str, key: &str) -> Result<(), AwsError> {
        self.client
            .untag_resource()
            .resource(arn)
            .tag_keys(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                AwsError::from_sdk("UntagResource", &self.resource(), e, |_| ErrorKind::Other)
            })
    }

    /// Publishes `$LATEST` as a version, only if it still holds `code_sha256` (and, when
    /// given, the revision this run last wrote).
    pub async fn publish(
        &self,
        code_sha256: &str,
        description: &str,
        revision_id: Option<&str>,
    ) -> Result<Written, AwsError> {
        let out = self
            .client
            .publish_version()
            .function_name(&self.function)
            .code_sha256(code_sha256)
            .description(description)
            .set_revision_id(revision_id.map(str::to_string))
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk("PublishVersion", &self.resource(), e, |s| {
                    if s.is_resource_conflict_exception() {
                        ErrorKind::Conflict
                    } else if s.is_code_storage_exceeded_exception() {
                        ErrorKind::CodeStorageFull
                    } else if s.is_precondition_failed_exception()
                        || s.is_invalid_parameter_value_exception()
                    {
                        ErrorKind::PreconditionFailed
                    } else {
                        ErrorKind::Other
                    }
                })
            })?;
        Ok(Written {
            arn: out.function_arn().unwrap_or_default().to_string(),
            revision_id: out.revision_id().map(str::to_string),
            code_sha256: out.code_sha256().unwrap_or_default().to_string(),
            code_size: out.code_size(),
            version: out.version().unwrap_or_default().to_string(),
        })
    }

    /// Points `name` at `version` and sets its `description` (what moved it): creates the
    /// alias, or updates it guarded by its revision.
    pub(crate) async fn point_alias(
        &self,
        name: &str,
        version: &str,
        description: &str,
        exists: bool,
        revision_id: Option<&str>,
    ) -> Result<(), AwsError> {
        let resource = format!("alias '{name}' of {}", self.resource());
        if exists {
            self.client
                .update_alias()
                .function_name(&self.function)
                .name(name)
                .function_version(version)
                .description(description)
                .set_revision_id(revision_id.map(str::to_string))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    AwsError::from_sdk("UpdateAlias", &resource, e, |s| {
                        if s.is_precondition_failed_exception() {
                            ErrorKind::PreconditionFailed
                        } else {
                            ErrorKind::Other
                        }
                    })
                })
        } else {
            self.client
                .create_alias()
                .function_name(&self.function)
                .name(name)
                .function_version(version)
                .description(description)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    AwsError::from_sdk("CreateAlias", &resource, e, |s| {
                        if s.is_resource_conflict_exception() {
                            ErrorKind::Conflict
                        } else {
                            ErrorKind::Other
                        }
                    })
                })
        }
    }
}

fn update_code_kind(
    s: &aws_sdk_lambda::operation::update_function_code::UpdateFunctionCodeError,
) -> ErrorKind {
    if s.is_resource_conflict_exception() {
        ErrorKind::Conflict
    } else if s.is_precondition_failed_exception() {
        ErrorKind::PreconditionFailed
    } else if s.is_code_storage_exceeded_exception() {
        ErrorKind::CodeStorageFull
    } else if s.is_invalid_parameter_value_exception() {
        ErrorKind::Invalid
    } else {
        ErrorKind::Other
    }
}

/// The SDK calls behind the seam: each delegates to the adapter method of the same name.
impl LambdaApi for Lambda {
    fn function(&self) -> &str {
        &self.function
    }
    fn resource(&self) -> String {
        Lambda::resource(self)
    }
    fn get_function(&self) -> impl Future<Output = Result<Option<LiveFunction>, AwsError>> + Send {
        Lambda::get_function(self)
    }
    fn get_version(
        &self,
        version: &str,
    ) -> impl Future<Output = Result<Option<LiveVersion>, AwsError>> + Send {
        Lambda::get_version(self, version)
    }
    fn latest_version(&self) -> impl Future<Output = Result<Option<LiveVersion>, AwsError>> + Send {
        Lambda::latest_version(self)
    }
    fn list_versions(&self) -> impl Future<Output = Result<Vec<VersionInfo>, AwsError>> + Send {
        Lambda::list_versions(self)
    }
    fn wait_updated(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<Option<String>, AwsError>> + Send {
        Lambda::wait_updated(self, timeout)
    }
    fn wait_active(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<Option<String>, AwsError>> + Send {
        Lambda::wait_active(self, timeout)
    }
    fn create(
        &self,
        code: CodeSource,
        architecture: Architecture,
        cfg: &ConfigUpdate,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<Written, AwsError>> + Send {
        Lambda::create(self, code, architecture, cfg, tags)
    }
    fn update_code(
        &self,
        code: CodeSource,
        architecture: Option<Architecture>,
        revision_id: Option<&str>,
    ) -> impl Future<Output = Result<Written, AwsError>> + Send {
        Lambda::update_code(self, code, architecture, revision_id)
    }
    fn update_config(
        &self,
        cfg: &ConfigUpdate,
        revision_id: Option<&str>,
    ) -> impl Future<Output = Result<Written, AwsError>> + Send {
        Lambda::update_config(self, cfg, revision_id)
    }
    fn tag(
        &self,
        arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), AwsError>> + Send {
        Lambda::tag(self, arn, tags)
    }
    fn untag(&self, arn: &str, key: &str) -> impl Future<Output = Result<(), AwsError>> + Send {
        Lambda::untag(self, arn, key)
    }
    fn publish(
        &self,
        code_sha256: &str,
        description: &str,
        revision_id: Option<&str>,
    ) -> impl Future<Output = Result<Written, AwsError>> + Send {
        Lambda::publish(self, code_sha256, description, revision_id)
    }
    fn delete_function(&self) -> impl Future<Output = Result<(), AwsError>> + Send {
        Lambda::delete_function(self)
    }
    fn invoke(
        &self,
        qualifier: &str,
        payload: &[u8],
        timeout: Duration,
    ) -> impl Future<Output = Result<Invoked, AwsError>> + Send {
        Lambda::invoke(self, qualifier, payload, timeout)
    }
    fn get_alias(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<LiveAlias>, AwsError>> + Send {
        Lambda::get_alias(self, name)
    }
    fn list_aliases(&self) -> impl Future<Output = Result<Vec<AliasTargets>, AwsError>> + Send {
        Lambda::list_aliases(self)
    }
    fn get_routed_alias(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<RoutedAlias>, AwsError>> + Send {
        Lambda::get_routed_alias(self, name)
    }
    fn route_alias(
        &self,
        name: &str,
        version: &str,
        weight: Option<(&str, f64)>,
        description: &str,
        revision_id: Option<&str>,
    ) -> impl Future<Output = Result<(), AwsError>> + Send {
        Lambda::route_alias(self, name, version, weight, description, revision_id)
    }
    fn point_alias(
        &self,
        name: &str,
        version: &str,
        description: &str,
        exists: bool,
        revision_id: Option<&str>,
    ) -> impl Future<Output = Result<(), AwsError>> + Send {
        Lambda::point_alias(self, name, version, description, exists, revision_id)
    }
    fn delete_alias(&self, name: &str) -> impl Future<Output = Result<(), AwsError>> + Send {
        Lambda::delete_alias(self, name)
    }
    fn get_url(
        &self,
        qualifier: &str,
    ) -> impl Future<Output = Result<Option<UrlConfig>, AwsError>> + Send {
        Lambda::get_url(self, qualifier)
    }
    fn create_url(
        &self,
        qualifier: &str,
        auth: UrlAuth,
    ) -> impl Future<Output = Result<UrlConfig, AwsError>> + Send {
        Lambda::create_url(self, qualifier, auth)
    }
    fn update_url_auth(
        &self,
        qualifier: &str,
        auth: UrlAuth,
    ) -> impl Future<Output = Result<UrlConfig, AwsError>> + Send {
        Lambda::update_url_auth(self, qualifier, auth)
    }
    fn delete_url(&self, qualifier: &str) -> impl Future<Output = Result<(), AwsError>> + Send {
        Lambda::delete_url(self, qualifier)
    }
    fn policy_statement_ids(
        &self,
        qualifier: &str,
    ) -> impl Future<Output = Result<Vec<String>, AwsError>> + Send {
        Lambda::policy_statement_ids(self, qualifier)
    }
    fn add_url_permission(
        &self,
        statement_id: &str,
        qualifier: &str,
        grant: UrlGrant,
    ) -> impl Future<Output = Result<(), AwsError>> + Send {
        Lambda::add_url_permission(self, statement_id, qualifier, grant)
    }
    fn remove_permission(
        &self,
        statement_id: &str,
        qualifier: &str,
    ) -> impl Future<Output = Result<(), AwsError>> + Send {
        Lambda::remove_permission(self, statement_id, qualifier)
    }
}
