//! The Lambda layer adapter: reads a layer's latest version, publishes new ones, and lists
//! and deletes versions for a prune.

use aws_sdk_lambda::Client;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{LayerVersionContentInput, Runtime};

use super::{AwsError, ErrorKind, kind};
use crate::domain::kind::Architecture;

/// Where a layer version's zip comes from (layers are always zips).
#[derive(Debug, Clone)]
pub enum LayerCode {
    /// The zip's bytes, in the request.
    Zip(Vec<u8>),
    /// An object already uploaded to S3.
    S3 {
        bucket: String,
        key: String,
        version: Option<String>,
    },
}

/// A published layer version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerVersion {
    pub arn: String,
    pub version: i64,
    /// `base64(sha256(zip))`, as Lambda reports it.
    pub code_sha256: String,
    /// The zip's size in bytes.
    pub code_size: u64,
    /// What the version was published with (it can say which tree it holds).
    pub description: String,
}

/// One version of a layer, as a listing shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerVersionRow {
    pub arn: String,
    pub version: i64,
    pub description: String,
}

/// What a new layer version is published with.
#[derive(Debug, Clone, Default)]
pub struct LayerMeta {
    pub description: String,
    pub runtimes: Vec<String>,
    pub architectures: Vec<Architecture>,
}

/// A Lambda client for layers.
#[derive(Debug, Clone)]
pub struct Layers {
    client: Client,
}

impl Layers {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            client: Client::from_conf(
                aws_sdk_lambda::config::Builder::from(config)
                    .interceptor(crate::cancel::Gate)
                    .build(),
            ),
        }
    }

    /// The highest-numbered version of layer `name`; `None` when it has none.
    pub async fn latest(&self, name: &str) -> Result<Option<LayerVersion>, AwsError> {
        let resource = format!("layer '{name}'");
        let mut pages = self
            .client
            .list_layer_versions()
            .layer_name(name)
            .into_paginator()
            .send();
        let mut best: Option<(i64, String)> = None;
        while let Some(page) = pages.next().await {
            let page = match page {
                Ok(p) => p,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    return Ok(None);
                }
                Err(e) => {
                    return Err(AwsError::from_sdk(
                        "ListLayerVersions",
                        &resource,
                        e,
                        |_| ErrorKind::Other,
                    ));
                }
            };
            for v in page.layer_versions() {
                let n = v.version();
                if best.as_ref().is_none_or(|(b, _)| n > *b) {
                    best = Some((n, v.layer_version_arn().unwrap_or_default().to_string()));
                }
            }
        }
        let Some((version, arn)) = best else {
            return Ok(None);
        };
        let out = self
            .client
            .get_layer_version()
            .layer_name(name)
            .version_number(version)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk("GetLayerVersion", &resource, e, |s| {
                    if s.is_resource_not_found_exception() {
                        ErrorKind::NotFound
                    } else {
                        ErrorKind::Other
                    }
                })
            })?;
        Ok(Some(LayerVersion {
            arn: out.layer_version_arn().map(str::to_string).unwrap_or(arn),
            version,
            code_sha256: out
                .content()
                .and_then(|c| c.code_sha256())
                .unwrap_or_default()
                .to_string(),
            code_size: out
                .content()
                .map_or(0, |c| u64::try_from(c.code_size()).unwrap_or(0)),
            description: out.description().unwrap_or_default().to_string(),
        }))
    }

    /// The zipped size of the layer version `arn`. `Ok(None)` when it cannot be read for
    /// another reason than its absence (a public layer whose policy does not allow
    /// GetLayerVersion): the size checks then skip it.
    pub(crate) async fn code_size(&self, arn: &str) -> Result<Option<u64>, AwsError> {
        // GetLayerVersion takes the unversioned layer ARN and the number (the same
        // permission as GetLayerVersionByArn, and more widely implemented).
        let Some((layer, version)) = arn
            .rsplit_once(':')
            .and_then(|(l, v)| Some((l, v.parse::<i64>().ok()?)))
        else {
            return Ok(None);
        };
        match self
            .client
            .get_layer_version()
            .layer_name(layer)
            .version_number(version)
            .send()
            .await
        {
            Ok(out) => Ok(out.content().map(|c| c.code_size().max(0) as u64)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Err(AwsError::from_sdk(
                    "GetLayerVersion",
                    &format!("layer version '{arn}' (from layers)"),
                    e,
                    |_| ErrorKind::NotFound,
                ))
            }
            Err(e) => {
                let e = AwsError::from_sdk("GetLayerVersion", arn, e, |_| ErrorKind::Other);
                tracing::warn!("{e}; its size is left out of the 250 MB check");
                Ok(None)
            }
        }
    }

    /// Publishes a new version of layer `name` from a zip or an S3 object.
    pub async fn publish(
        &self,
        name: &str,
        code: LayerCode,
        meta: &LayerMeta,
    ) -> Result<LayerVersion, AwsError> {
        let content = match code {
            LayerCode::Zip(bytes) => LayerVersionContentInput::builder()
                .zip_file(Blob::new(bytes))
                .build(),
            LayerCode::S3 {
                bucket,
                key,
                version,
            } => LayerVersionContentInput::builder()
                .s3_bucket(bucket)
                .s3_key(key)
                .set_s3_object_version(version)
                .build(),
        };
        let out = self
            .client
            .publish_layer_version()
            .layer_name(name)
            .content(content)
            .description(&meta.description)
            .set_compatible_runtimes((!meta.runtimes.is_empty()).then(|| {
                meta.runtimes
                    .iter()
                    .map(|r| Runtime::from(r.as_str()))
                    .collect()
            }))
            .set_compatible_architectures((!meta.architectures.is_empty()).then(|| {
                meta.architectures
                    .iter()
                    .map(|&a| kind::to_sdk_arch(a))
                    .collect()
            }))
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk("PublishLayerVersion", &format!("layer '{name}'"), e, |s| {
                    if s.is_code_storage_exceeded_exception()
                        || s.is_invalid_parameter_value_exception()
                    {
                        ErrorKind::Invalid
                    } else {
                        ErrorKind::Other
                    }
                })
            })?;
        Ok(LayerVersion {
            arn: out.layer_version_arn().unwrap_or_default().to_string(),
            version: out.version(),
            code_sha256: out
                .content()
                .and_then(|c| c.code_sha256())
                .unwrap_or_default()
                .to_string(),
            code_size: out
                .content()
                .map_or(0, |c| u64::try_from(c.code_size()).unwrap_or(0)),
            description: out.description().unwrap_or_default().to_string(),
        })
    }

    /// One page of the versions of layer `name` and the marker of the next; a layer that
    /// does not exist has none.
    pub(crate) async fn versions_page(
        &self,
        name: &str,
        marker: Option<String>,
    ) -> Result<(Vec<LayerVersionRow>, Option<String>), AwsError> {
        let out = match self
            .client
            .list_layer_versions()
            .layer_name(name)
            .set_marker(marker)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Ok((Vec::new(), None));
            }
            Err(e) => {
                return Err(AwsError::from_sdk(
                    "ListLayerVersions",
                    &format!("layer '{name}'"),
                    e,
                    |_| ErrorKind::Other,
                ));
            }
        };
        let rows = out
            .layer_versions()
            .iter()
            .map(|v| LayerVersionRow {
                arn: v.layer_version_arn().unwrap_or_default().to_string(),
                version: v.version(),
                description: v.description().unwrap_or_default().to_string(),
            })
            .collect();
        Ok((rows, out.next_marker().map(str::to_string)))
    }

    /// Deletes version `version` of layer `name`; functions that attach it keep their
    /// copy, and one already gone is fine (Lambda answers both the same way).
    pub(crate) async fn delete_version(&self, name: &str, version: i64) -> Result<(), AwsError> {
        self.client
            .delete_layer_version()
            .layer_name(name)
            .version_number(version)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                AwsError::from_sdk(
                    "DeleteLayerVersion",
                    &format!("version {version} of layer '{name}'"),
                    e,
                    |_| ErrorKind::Other,
                )
            })
    }
}
