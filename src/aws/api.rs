//! The seam between what a run decides and Lambda's API: [`LambdaApi`], the calls the
//! deploy, race, lock, release-guard, preview-removal and function-URL logic make on one
//! function, in the crate's own types ([`crate::state`], [`crate::domain`]).
//!
//! [`super::lambda::Lambda`] implements it over the AWS SDK; an in-memory fake
//! (`super::fake`, in tests and under the `fake` feature) implements it with Lambda's
//! RevisionId and CodeSha256 preconditions, update states and alias routing, so that
//! logic is unit-tested without a server.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use super::AwsError;
use crate::domain::function::ConfigUpdate;
use crate::domain::kind::Architecture;
use crate::state::{LiveAlias, LiveFunction, LiveVersion};

/// Where new code comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeSource {
    /// The zip's bytes, uploaded in the request (up to 50 MB).
    Zip(Vec<u8>),
    /// A container image in ECR, by digest.
    Image { uri: String },
    /// An object in a bucket in the function's region (larger packages), pinned to the
    /// object version that was uploaded and checked when the bucket keeps versions.
    S3 {
        bucket: String,
        key: String,
        version: Option<String>,
    },
}

/// After a write: what Lambda reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    pub arn: String,
    pub revision_id: Option<String>,
    pub code_sha256: String,
    pub code_size: i64,
    pub version: String,
}

impl Written {
    /// The written state of `$LATEST`, for outputs after a no-op run.
    pub(crate) fn from_live(f: &LiveFunction) -> Self {
        Self {
            arn: f.arn.clone(),
            revision_id: f.revision_id.clone(),
            code_sha256: f.code_sha256.clone(),
            code_size: f.code_size,
            version: "$LATEST".into(),
        }
    }
}

/// An alias with every version it routes traffic to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasTargets {
    pub name: String,
    pub version: String,
    /// Versions that receive weighted traffic through the alias's routing configuration.
    pub additional: Vec<String>,
}

/// A published version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    pub version: String,
    pub description: String,
}

/// A function URL as Lambda reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlConfig {
    pub url: String,
    pub auth_type: String,
}

/// Who may call a function URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlAuth {
    /// Anyone (`AuthType NONE`).
    None,
    /// SigV4-signed calls (`AuthType AWS_IAM`).
    AwsIam,
}

impl UrlAuth {
    /// Lambda's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            UrlAuth::None => "NONE",
            UrlAuth::AwsIam => "AWS_IAM",
        }
    }
}

/// One statement of the function's resource policy that lambda-deploy adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlGrant {
    /// `lambda:InvokeFunctionUrl` for everyone, only through an `AuthType NONE` URL.
    InvokeFunctionUrl,
    /// `lambda:InvokeFunction` for everyone, only when invoked through the function URL
    /// (required of URLs created since October 2025).
    InvokeViaUrl,
}

/// What one invocation returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoked {
    /// The HTTP status Lambda gave (200 for a synchronous call that ran).
    pub status_code: i32,
    /// `Unhandled` or `Handled` when the function failed (the `X-Amz-Function-Error` header).
    pub function_error: Option<String>,
    /// What the function returned: its result, or its error object.
    pub payload: Vec<u8>,
}

/// An alias as a traffic shift reads it: the version it serves and, when routed, the
/// second version with the share of requests (0 to 1) it gets.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutedAlias {
    pub version: String,
    /// The second version and the share of requests it gets (0 to 1), when routed.
    pub weight: Option<(String, f64)>,
    pub description: Option<String>,
    pub revision_id: Option<String>,
}

/// The Lambda calls on one function that a run makes. Reads that find nothing return
/// `None`; deletes of something already gone succeed. Errors carry an
/// [`super::ErrorKind`] matched from the modelled error (Conflict for
/// ResourceConflictException, PreconditionFailed for a stale RevisionId or CodeSha256).
pub trait LambdaApi: Clone + Send + Sync + 'static {
    /// The function name or ARN this client is bound to.
    fn function(&self) -> &str;

    /// How errors name the function.
    fn resource(&self) -> String {
        format!("function '{}'", self.function())
    }

    /// `$LATEST` and the function's tags; `None` when the function does not exist.
    fn get_function(&self) -> impl Future<Output = Result<Option<LiveFunction>, AwsError>> + Send;
    /// A published version's code, description and configuration.
    fn get_version(
        &self,
        version: &str,
    ) -> impl Future<Output = Result<Option<LiveVersion>, AwsError>> + Send;
    /// The highest-numbered published version.
    fn latest_version(&self) -> impl Future<Output = Result<Option<LiveVersion>, AwsError>> + Send;
    /// Every published version (not `$LATEST`).
    fn list_versions(&self) -> impl Future<Output = Result<Vec<VersionInfo>, AwsError>> + Send;
    /// Waits until the last update finished (Successful); returns the RevisionId seen.
    fn wait_updated(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<Option<String>, AwsError>> + Send;
    /// Waits until a new function leaves the Pending state; returns its RevisionId.
    fn wait_active(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<Option<String>, AwsError>> + Send;
    /// Creates the function (unpublished) with code, configuration and tags.
    fn create(
        &self,
        code: CodeSource,
        architecture: Architecture,
        cfg: &ConfigUpdate,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<Written, AwsError>> + Send;
    /// Uploads new code (and architecture), guarded by `revision_id` when given.
    fn update_code(
        &self,
        code: CodeSource,
        architecture: Option<Architecture>,
        revision_id: Option<&str>,
    ) -> impl Future<Output = Result<Written, AwsError>> + Send;
    /// Sends the configuration fields that change, guarded by `revision_id` when given.
    fn update_config(
        &self,
        cfg: &ConfigUpdate,
        revision_id: Option<&str>,
    ) -> impl Future<Output = Result<Written, AwsError>> + Send;
    /// Adds or overwrites tags on `arn` (tags not given are left alone).
    fn tag(
        &self,
        arn: &str,
        tags: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
    /// Removes one tag; one not there is fine.
    fn untag(&self, arn: &str, key: &str) -> impl Future<Output = Result<(), AwsError>> + Send;
    /// Publishes `$LATEST` as a version, only if it still holds `code_sha256` (and, when
    /// given, `revision_id`).
    fn publish(
        &self,
        code_sha256: &str,
        description: &str,
        revision_id: Option<&str>,
    ) -> impl Future<Output = Result<Written, AwsError>> + Send;
    /// Deletes the whole function; one already gone is fine.
    fn delete_function(&self) -> impl Future<Output = Result<(), AwsError>> + Send;
    /// Invokes `qualifier` with `payload`, at most `timeout`; never retried.
    fn invoke(
        &self,
        qualifier: &str,
        payload: &[u8],
        timeout: Duration,
    ) -> impl Future<Output = Result<Invoked, AwsError>> + Send;

    /// The alias, or `None` when it does not exist.
    fn get_alias(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<LiveAlias>, AwsError>> + Send;
    /// Every alias with the versions it routes to.
    fn list_aliases(&self) -> impl Future<Output = Result<Vec<AliasTargets>, AwsError>> + Send;
    /// Points `name` at `version` with `description`: creates it (a Conflict when it
    /// exists), or updates it guarded by `revision_id`.
    fn point_alias(
        &self,
        name: &str,
        version: &str,
        description: &str,
        exists: bool,
        revision_id: Option<&str>,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
    /// `name` with its weighted routing; `None` when the alias does not exist.
    fn get_routed_alias(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<RoutedAlias>, AwsError>> + Send;
    /// Points `name` at `version`, sending `weight` of the requests to a second version
    /// (or none: the routing is removed), guarded by the alias's `revision_id`.
    fn route_alias(
        &self,
        name: &str,
        version: &str,
        weight: Option<(&str, f64)>,
        description: &str,
        revision_id: Option<&str>,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
    /// Deletes an alias; one already gone is fine.
    fn delete_alias(&self, name: &str) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// The URL of `qualifier`, or `None`.
    fn get_url(
        &self,
        qualifier: &str,
    ) -> impl Future<Output = Result<Option<UrlConfig>, AwsError>> + Send;
    /// Creates the URL of `qualifier`.
    fn create_url(
        &self,
        qualifier: &str,
        auth: UrlAuth,
    ) -> impl Future<Output = Result<UrlConfig, AwsError>> + Send;
    /// Changes the auth type of the URL of `qualifier`.
    fn update_url_auth(
        &self,
        qualifier: &str,
        auth: UrlAuth,
    ) -> impl Future<Output = Result<UrlConfig, AwsError>> + Send;
    /// Deletes the URL of `qualifier`; none there is fine.
    fn delete_url(&self, qualifier: &str) -> impl Future<Output = Result<(), AwsError>> + Send;
    /// The statement ids in the resource policy of `qualifier` (empty without a policy).
    fn policy_statement_ids(
        &self,
        qualifier: &str,
    ) -> impl Future<Output = Result<Vec<String>, AwsError>> + Send;
    /// Adds one public statement for the URL of `qualifier`.
    fn add_url_permission(
        &self,
        statement_id: &str,
        qualifier: &str,
        grant: UrlGrant,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
    /// Removes one statement from the policy of `qualifier`; one not there is fine.
    fn remove_permission(
        &self,
        statement_id: &str,
        qualifier: &str,
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
}
