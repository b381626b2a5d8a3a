//! What rollback, prune and status read and delete, behind narrow traits: [`History`]
//! (pages of versions, aliases with their weighted routing, provisioned concurrency and
//! event source mappings, a version's image, and deleting one version),
//! [`Account`] (the account's other functions: their names, and the images their
//! versions run) and [`Leftovers`] (layer versions and ECR images a prune may delete).
//! [`Lambda`], [`AwsAccount`] and [`AwsLeftovers`] are the real ones; the use cases'
//! tests also run them against an in-memory fake.

use super::ecr::Ecr;
use super::lambda::Lambda;
use super::layer::{LayerVersionRow, Layers};
use super::{AwsError, ErrorKind};

/// One page of a listing and the marker of the next (`None`: the last page).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// A published version, with what status and prune need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionRow {
    pub version: String,
    pub description: String,
    pub code_sha256: String,
    pub code_size: i64,
    pub last_modified: String,
    /// Layer version ARNs the version attaches.
    pub layers: Vec<String>,
    /// A container image function's version (package type `Image`).
    pub image: bool,
}

/// An alias: its primary version, its weighted versions and its own description.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AliasRow {
    pub name: String,
    pub version: String,
    /// Versions that get a share of the traffic through routing, with their weights.
    pub weights: Vec<(String, f64)>,
    pub description: Option<String>,
    pub revision_id: Option<String>,
}

/// The version an ARN qualifies (`arn:…:function:name:3` -> `3`), when it names this
/// function and is qualified with a version number.
pub(crate) fn qualified_version(arn: &str, function: &str) -> Option<String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let name = function.rsplit(':').next().unwrap_or(function);
    match parts.as_slice() {
        [.., "function", n, q] if *n == name && q.bytes().all(|b| b.is_ascii_digit()) => {
            Some((*q).to_string())
        }
        _ => None,
    }
}

/// The function's `$LATEST`: its ARN and code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Latest {
    pub arn: String,
    pub code_sha256: String,
    /// Layer version ARNs `$LATEST` attaches.
    pub layers: Vec<String>,
}

/// The image a version runs, as Lambda reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionImage {
    /// `ImageUri`: what the deploy gave (lambda-deploy gives it by digest).
    pub uri: String,
    /// `ResolvedImageUri`: the same image by digest, as Lambda resolved it.
    pub resolved: Option<String>,
}

/// What the release-history commands need from Lambda.
#[allow(async_fn_in_trait)] // used in one task at a time; no caller needs a Send future
pub trait History {
    /// The function's `$LATEST`; `None` when the function does not exist.
    async fn latest(&self) -> Result<Option<Latest>, AwsError>;
    /// One page of the published versions (not `$LATEST`).
    async fn versions_page(&self, marker: Option<String>) -> Result<Page<VersionRow>, AwsError>;
    /// One page of the aliases.
    async fn aliases_page(&self, marker: Option<String>) -> Result<Page<AliasRow>, AwsError>;
    /// One page of the versions with provisioned concurrency.
    async fn provisioned_page(&self, marker: Option<String>) -> Result<Page<String>, AwsError>;
    /// One page of the versions event source mappings invoke by qualified ARN.
    async fn mapped_page(&self, marker: Option<String>) -> Result<Page<String>, AwsError>;
    /// Deletes one published version; one already gone is fine.
    async fn delete_version(&self, version: &str) -> Result<(), AwsError>;
    /// The image version `qualifier` (a number or `$LATEST`) runs; `None` for a zip.
    async fn image_of(&self, qualifier: &str) -> Result<Option<VersionImage>, AwsError>;
}

/// A function, or one version of it, as ListFunctions lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionRow {
    pub name: String,
    /// `$LATEST` or a version number.
    pub version: String,
    /// A container image function (package type `Image`).
    pub image: bool,
}

/// What a prune reads of the account's other functions.
#[allow(async_fn_in_trait)] // used in one task at a time; no caller needs a Send future
pub trait Account {
    /// One page of the account's functions in the region: `$LATEST` of each, or with
    /// `every_version` each published version too.
    async fn functions_page(
        &self,
        every_version: bool,
        marker: Option<String>,
    ) -> Result<Page<FunctionRow>, AwsError>;
    /// The image version `qualifier` of `function` runs; `None` for a zip or a function
    /// gone meanwhile.
    async fn function_image(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Option<VersionImage>, AwsError>;
}

/// The real [`Account`]: Lambda's ListFunctions and GetFunction, over one client.
pub struct AwsAccount {
    lambda: Lambda,
}

impl AwsAccount {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            lambda: Lambda::new(sdk, ""),
        }
    }

    /// A client bound to function `name` of the account, sharing this one's connections.
    pub fn function(&self, name: &str) -> Lambda {
        self.lambda.bound_to(name)
    }
}

fn function_row(f: &aws_sdk_lambda::types::FunctionConfiguration) -> FunctionRow {
    FunctionRow {
        name: f.function_name().unwrap_or_default().to_string(),
        version: f.version().unwrap_or("$LATEST").to_string(),
        image: f.package_type() == Some(&aws_sdk_lambda::types::PackageType::Image),
    }
}

impl Account for AwsAccount {
    async fn functions_page(
        &self,
        every_version: bool,
        marker: Option<String>,
    ) -> Result<Page<FunctionRow>, AwsError> {
        let out = self
            .lambda
            .client()
            .list_functions()
            .set_function_version(
                every_version.then_some(aws_sdk_lambda::types::FunctionVersion::All),
            )
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk("ListFunctions", "the account's functions", e, |_| {
                    ErrorKind::Other
                })
            })?;
        Ok(Page {
            items: out.functions().iter().map(function_row).collect(),
            next: out.next_marker().map(str::to_string),
        })
    }

    async fn function_image(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Option<VersionImage>, AwsError> {
        match self.function(function).image_of(qualifier).await {
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            other => other,
        }
    }
}

/// What a prune deletes besides versions: layer versions and ECR images, which are kept
/// while another function of the [`Account`] runs them.
#[allow(async_fn_in_trait)] // used in one task at a time; no caller needs a Send future
pub trait Leftovers: Account {
    /// One page of the versions of layer `name` (none when the layer does not exist).
    async fn layer_versions_page(
        &self,
        name: &str,
        marker: Option<String>,
    ) -> Result<Page<LayerVersionRow>, AwsError>;
    /// Deletes one layer version; one already gone is fine.
    async fn delete_layer_version(&self, name: &str, version: i64) -> Result<(), AwsError>;
    /// Deletes images of `repository` in account `registry_id`'s registry by digest;
    /// returns the digests that are gone.
    async fn delete_images(
        &self,
        registry_id: &str,
        repository: &str,
        digests: &[String],
    ) -> Result<Vec<String>, AwsError>;
}

/// The real [`Leftovers`]: Lambda layers and ECR.
pub struct AwsLeftovers {
    pub layers: Layers,
    pub ecr: Ecr,
    pub account: AwsAccount,
}

impl Account for AwsLeftovers {
    async fn functions_page(
        &self,
        every_version: bool,
        marker: Option<String>,
    ) -> Result<Page<FunctionRow>, AwsError> {
        self.account.functions_page(every_version, marker).await
    }

    async fn function_image(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Option<VersionImage>, AwsError> {
        self.account.function_image(function, qualifier).await
    }
}

impl Leftovers for AwsLeftovers {
    async fn layer_versions_page(
        &self,
        name: &str,
        marker: Option<String>,
    ) -> Result<Page<LayerVersionRow>, AwsError> {
        let (items, next) = self.layers.versions_page(name, marker).await?;
        Ok(Page { items, next })
    }

    async fn delete_layer_version(&self, name: &str, version: i64) -> Result<(), AwsError> {
        self.layers.delete_version(name, version).await
    }

    async fn delete_images(
        &self,
        registry_id: &str,
        repository: &str,
        digests: &[String],
    ) -> Result<Vec<String>, AwsError> {
        self.ecr
            .delete_images(registry_id, repository, digests)
            .await
    }
}

fn version_row(v: &aws_sdk_lambda::types::FunctionConfiguration) -> VersionRow {
    VersionRow {
        version: v.version().unwrap_or_default().to_string(),
        description: v.description().unwrap_or_default().to_string(),
        code_sha256: v.code_sha256().unwrap_or_default().to_string(),
        code_size: v.code_size(),
        last_modified: v.last_modified().unwrap_or_default().to_string(),
        layers: v
            .layers()
            .iter()
            .filter_map(|l| l.arn().map(str::to_string))
            .collect(),
        image: v.package_type() == Some(&aws_sdk_lambda::types::PackageType::Image),
    }
}

fn alias_row(a: &aws_sdk_lambda::types::AliasConfiguration) -> AliasRow {
    let mut weights: Vec<(String, f64)> = a
        .routing_config()
        .and_then(|r| r.additional_version_weights())
        .map(|w| w.iter().map(|(k, v)| (k.clone(), *v)).collect())
        .unwrap_or_default();
    weights.sort_by(|x, y| x.0.cmp(&y.0));
    AliasRow {
        name: a.name().unwrap_or_default().to_string(),
        version: a.function_version().unwrap_or_default().to_string(),
        weights,
        description: a.description().map(str::to_string),
        revision_id: a.revision_id().map(str::to_string),
    }
}

impl History for Lambda {
    async fn latest(&self) -> Result<Option<Latest>, AwsError> {
        Ok(self.get_function().await?.map(|f| Latest {
            arn: f.arn,
            code_sha256: f.code_sha256,
            layers: f.layers,
        }))
    }

    async fn versions_page(&self, marker: Option<String>) -> Result<Page<VersionRow>, AwsError> {
        let out = self
            .client()
            .list_versions_by_function()
            .function_name(self.function())
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk("ListVersionsByFunction", &self.resource(), e, |s| {
                    if s.is_resource_not_found_exception() {
                        ErrorKind::NotFound
                    } else {
                        ErrorKind::Other
                    }
                })
            })?;
        Ok(Page {
            items: out
                .versions()
                .iter()
                .filter(|v| v.version().is_some_and(|n| n != "$LATEST"))
                .map(version_row)
                .collect(),
            next: out.next_marker().map(str::to_string),
        })
    }

    async fn aliases_page(&self, marker: Option<String>) -> Result<Page<AliasRow>, AwsError> {
        let out = self
            .client()
            .list_aliases()
            .function_name(self.function())
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk("ListAliases", &self.resource(), e, |_| ErrorKind::Other)
            })?;
        Ok(Page {
            items: out.aliases().iter().map(alias_row).collect(),
            next: out.next_marker().map(str::to_string),
        })
    }

    async fn provisioned_page(&self, marker: Option<String>) -> Result<Page<String>, AwsError> {
        let out = self
            .client()
            .list_provisioned_concurrency_configs()
            .function_name(self.function())
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(
                    "ListProvisionedConcurrencyConfigs",
                    &self.resource(),
                    e,
                    |_| ErrorKind::Other,
                )
            })?;
        Ok(Page {
            items: out
                .provisioned_concurrency_configs()
                .iter()
                .filter_map(|c| qualified_version(c.function_arn()?, self.function()))
                .collect(),
            next: out.next_marker().map(str::to_string),
        })
    }

    async fn mapped_page(&self, marker: Option<String>) -> Result<Page<String>, AwsError> {
        // Every mapping of the account: a filter on the function name would leave out
        // the mappings that name one of its versions.
        let out = self
            .client()
            .list_event_source_mappings()
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk("ListEventSourceMappings", &self.resource(), e, |_| {
                    ErrorKind::Other
                })
            })?;
        Ok(Page {
            items: out
                .event_source_mappings()
                .iter()
                .filter_map(|m| qualified_version(m.function_arn()?, self.function()))
                .collect(),
            next: out.next_marker().map(str::to_string),
        })
    }

    async fn delete_version(&self, version: &str) -> Result<(), AwsError> {
        Lambda::delete_version(self, version).await
    }

    async fn image_of(&self, qualifier: &str) -> Result<Option<VersionImage>, AwsError> {
        let out = self
            .client()
            .get_function()
            .function_name(self.function())
            .qualifier(qualifier)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk(
                    "GetFunction",
                    &format!("version {qualifier} of {}", self.resource()),
                    e,
                    |s| {
                        if s.is_resource_not_found_exception() {
                            ErrorKind::NotFound
                        } else {
                            ErrorKind::Other
                        }
                    },
                )
            })?;
        Ok(out.code().and_then(|c| {
            Some(VersionImage {
                uri: c.image_uri()?.to_string(),
                resolved: c.resolved_image_uri().map(str::to_string),
            })
        }))
    }
}

impl Lambda {
    /// Points an existing alias at `version` alone (any weighted routing is removed) and
    /// sets its description, guarded by its revision: what a rollback writes.
    pub(crate) async fn point_alias_alone(
        &self,
        name: &str,
        version: &str,
        description: &str,
        revision_id: Option<&str>,
    ) -> Result<(), AwsError> {
        let no_weights = aws_sdk_lambda::types::AliasRoutingConfiguration::builder()
            .set_additional_version_weights(Some(std::collections::HashMap::new()))
            .build();
        self.client()
            .update_alias()
            .function_name(self.function())
            .name(name)
            .function_version(version)
            .description(description)
            .routing_config(no_weights)
            .set_revision_id(revision_id.map(str::to_string))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                AwsError::from_sdk(
                    "UpdateAlias",
                    &format!("alias '{name}' of {}", self.resource()),
                    e,
                    |s| {
                        if s.is_precondition_failed_exception() {
                            ErrorKind::PreconditionFailed
                        } else {
                            ErrorKind::Other
                        }
                    },
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_functions_numbered_versions_are_read_from_arns() {
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:orders:7";
        assert_eq!(qualified_version(arn, "orders").as_deref(), Some("7"));
        assert_eq!(
            qualified_version(arn, "arn:aws:lambda:us-east-1:123456789012:function:orders")
                .as_deref(),
            Some("7")
        );
        assert_eq!(qualified_version(arn, "other"), None);
        assert_eq!(
            qualified_version("arn:aws:lambda:r:1:function:orders:live", "orders"),
            None
        );
        assert_eq!(
            qualified_version("arn:aws:lambda:r:1:function:orders", "orders"),
            None
        );
    }
}
