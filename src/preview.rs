//! A pull request's preview lives in its own function, `<function-name>-pr-<N>`
//! ([`crate::types::FunctionName::preview`]), created from the step's inputs and tagged
//! [`PREVIEW_TAG`] with the production function's name. Nothing of a preview is read from
//! or written to the production function, so the role previews run with needs rights on
//! `function:<name>-pr-*` only.
//!
//! Closing the pull request deletes that function: first its function URL and the public
//! grants lambda-deploy added, then the function with its versions and aliases. Each step
//! tolerates what is already gone, so a run that stopped half-way is finished by the next
//! one. A function of that name that lambda-deploy did not create as this preview (no
//! [`PREVIEW_TAG`], or another production name in it) is never deleted.

use serde::Serialize;

use crate::aws::AwsError;
use crate::aws::api::LambdaApi;
use crate::{function_url, tags};

/// The tag that marks a preview function, with the production function's name as value.
pub const PREVIEW_TAG: &str = "lambda-deploy:preview-of";

/// What closing the preview removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Removal {
    /// The preview function (`<function-name>-pr-<N>`).
    pub function: String,
    /// Whether the preview function was (in a dry run: would be) deleted; false when it
    /// did not exist or was kept.
    pub function_deleted: bool,
    pub alias: String,
    /// The version the alias served, when it existed.
    pub alias_version: Option<String>,
    pub url: Option<String>,
    pub versions_deleted: Vec<String>,
    /// Kept for the shape of earlier reports: a preview function's versions are all its
    /// own, so none is kept.
    pub versions_kept: Vec<(String, String)>,
    /// Why the function was left in place, when it was.
    pub kept_because: Option<String>,
}

/// Removes the preview function of pull request `number` behind `lambda` (bound to the
/// preview function), when it is the preview of `production`. With `dry_run`, only reads
/// and reports what would be removed.
pub async fn remove<L: LambdaApi>(
    lambda: &L,
    production: &str,
    number: u64,
    dry_run: bool,
) -> Result<Removal, AwsError> {
    let alias = tags::preview_alias(number).to_string();
    let mut removal = Removal {
        function: lambda.function().to_string(),
        alias: alias.clone(),
        ..Removal::default()
    };
    let Some(live) = lambda.get_function().await? else {
        tracing::info!(function = %removal.function, "no preview function to remove");
        return Ok(removal);
    };
    if live.tags.get(PREVIEW_TAG).map(String::as_str) != Some(production) {
        let why = format!(
            "function '{}' exists but was not created by lambda-deploy as the preview of '{production}' (it has no tag {PREVIEW_TAG}={production}); it was left in place",
            removal.function
        );
        tracing::warn!("{why}");
        removal.kept_because = Some(why);
        return Ok(removal);
    }
    let aliases = lambda.list_aliases().await?;
    removal.alias_version = aliases
        .iter()
        .find(|a| a.name == alias)
        .map(|a| a.version.clone());
    let mut versions: Vec<String> = lambda
        .list_versions()
        .await?
        .into_iter()
        .map(|v| v.version)
        .collect();
    versions.sort_by_key(|v| v.parse::<u64>().unwrap_or(u64::MAX));
    removal.versions_deleted = versions;
    removal.function_deleted = true;

    if dry_run {
        removal.url = lambda.get_url(&alias).await?.map(|c| c.url);
        return Ok(removal);
    }
    removal.url = function_url::remove(lambda, &alias).await?;
    tracing::info!(function = %removal.function, "deleting the preview function");
    lambda.delete_function().await?;
    Ok(removal)
}
