//! Aliases and published versions as a set: listing them, reading a version's
//! description, and deleting what a closed preview leaves behind.

pub use super::api::{AliasTargets, VersionInfo};
use super::lambda::Lambda;
use super::or_absent;
use super::{AwsError, ErrorKind};

impl Lambda {
    /// Every alias of the function, following pagination.
    pub async fn list_aliases(&self) -> Result<Vec<AliasTargets>, AwsError> {
        let mut pages = self
            .client()
            .list_aliases()
            .function_name(self.function())
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                AwsError::from_sdk("ListAliases", &self.resource(), e, |_| ErrorKind::Other)
            })?;
            for a in page.aliases() {
                out.push(AliasTargets {
                    name: a.name().unwrap_or_default().to_string(),
                    version: a.function_version().unwrap_or_default().to_string(),
                    additional: a
                        .routing_config()
                        .and_then(|r| r.additional_version_weights())
                        .map(|w| w.keys().cloned().collect())
                        .unwrap_or_default(),
                });
            }
        }
        Ok(out)
    }

    /// Every published version (not `$LATEST`), following pagination.
    pub(crate) async fn list_versions(&self) -> Result<Vec<VersionInfo>, AwsError> {
        let mut pages = self
            .client()
            .list_versions_by_function()
            .function_name(self.function())
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                AwsError::from_sdk("ListVersionsByFunction", &self.resource(), e, |_| {
                    ErrorKind::Other
                })
            })?;
            for v in page.versions() {
                let version = v.version().unwrap_or_default();
                if version.is_empty() || version == "$LATEST" {
                    continue;
                }
                out.push(VersionInfo {
                    version: version.to_string(),
                    description: v.description().unwrap_or_default().to_string(),
                });
            }
        }
        Ok(out)
    }

    /// The description of one published version.
    pub async fn version_description(&self, version: &str) -> Result<String, AwsError> {
        self.client()
            .get_function_configuration()
            .function_name(self.function())
            .qualifier(version)
            .send()
            .await
            .map(|c| c.description().unwrap_or_default().to_string())
            .map_err(|e| {
                AwsError::from_sdk(
                    "GetFunctionConfiguration",
                    &format!("version {version} of {}", self.resource()),
                    e,
                    |s| {
                        if s.is_resource_not_found_exception() {
                            ErrorKind::NotFound
                        } else {
                            ErrorKind::Other
                        }
                    },
                )
            })
    }

    /// Deletes an alias; one that is already gone is fine.
    pub async fn delete_alias(&self, name: &str) -> Result<(), AwsError> {
        let result = self
            .client()
            .delete_alias()
            .function_name(self.function())
            .name(name)
            .send()
            .await;
        or_absent(result, |s| s.is_resource_not_found_exception())
            .map(|_| ())
            .map_err(|e| {
                AwsError::from_sdk(
                    "DeleteAlias",
                    &format!("alias '{name}' of {}", self.resource()),
                    e,
                    |s| {
                        if s.is_resource_conflict_exception() {
                            ErrorKind::Conflict
                        } else {
                            ErrorKind::Other
                        }
                    },
                )
            })
    }

    /// Deletes the whole function (every version, alias, URL and policy with it); one that
    /// is already gone is fine.
    pub(crate) async fn delete_function(&self) -> Result<(), AwsError> {
        let result = self
            .client()
            .delete_function()
            .function_name(self.function())
            .send()
            .await;
        or_absent(result, |s| s.is_resource_not_found_exception())
            .map(|_| ())
            .map_err(|e| {
                AwsError::from_sdk("DeleteFunction", &self.resource(), e, |s| {
                    if s.is_resource_conflict_exception() {
                        ErrorKind::Conflict
                    } else {
                        ErrorKind::Other
                    }
                })
            })
    }

    /// Deletes one published version; one that is already gone is fine.
    pub(crate) async fn delete_version(&self, version: &str) -> Result<(), AwsError> {
        let result = self
            .client()
            .delete_function()
            .function_name(self.function())
            .qualifier(version)
            .send()
            .await;
        or_absent(result, |s| s.is_resource_not_found_exception())
            .map(|_| ())
            .map_err(|e| {
                AwsError::from_sdk(
                    "DeleteFunction",
                    &format!("version {version} of {}", self.resource()),
                    e,
                    |s| {
                        if s.is_resource_conflict_exception() {
                            ErrorKind::Conflict
                        } else {
                            ErrorKind::Other
                        }
                    },
                )
            })
    }
}
