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

use std::collections::BTreeMap;

use crate::aws::AwsError;
use crate::aws::api::{AliasTargets, LambdaApi, VersionInfo};
use crate::state::LiveFunction;
use crate::{function_url, tags};

pub use crate::domain::outcome::Removal;

/// The tag that marks a preview function, with the production function's name as value.
pub(crate) const PREVIEW_TAG: &str = "lambda-deploy:preview-of";

/// What the preview function holds now, as read before anything is removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreviewState {
    /// The function's tags; `None` when there is no preview function.
    pub tags: Option<BTreeMap<String, String>>,
    pub aliases: Vec<AliasTargets>,
    pub versions: Vec<VersionInfo>,
    /// The URL of the preview alias, when it has one.
    pub url: Option<String>,
}

/// Reads what [`decide`] needs about the preview function behind `lambda`, changing
/// nothing. A function that is not the preview of `production` is not read further.
pub async fn read<L: LambdaApi>(
    lambda: &L,
    production: &str,
    number: u64,
) -> Result<PreviewState, AwsError> {
    match lambda.get_function().await? {
        Some(live) => read_found(lambda, live, production, number).await,
        None => Ok(PreviewState::default()),
    }
}

/// [`read`] for a preview function already read as `live`.
async fn read_found<L: LambdaApi>(
    lambda: &L,
    live: LiveFunction,
    production: &str,
    number: u64,
) -> Result<PreviewState, AwsError> {
    let mut state = PreviewState {
        tags: Some(live.tags),
        ..PreviewState::default()
    };
    if !is_preview_of(&state, production) {
        return Ok(state);
    }
    state.aliases = lambda.list_aliases().await?;
    state.versions = lambda.list_versions().await?;
    state.url = lambda
        .get_url(tags::preview_alias(number).as_str())
        .await?
        .map(|c| c.url);
    Ok(state)
}

fn is_preview_of(state: &PreviewState, production: &str) -> bool {
    state
        .tags
        .as_ref()
        .is_some_and(|t| tagged_preview_of(t, production))
}

/// Whether `tags` mark a function as a preview of `production`.
pub(crate) fn tagged_preview_of(tags: &BTreeMap<String, String>, production: &str) -> bool {
    tags.get(PREVIEW_TAG).map(String::as_str) == Some(production)
}

/// What closing pull request `number` removes from its preview function `function`, and
/// what it keeps and why: the whole function (its URL and grants first) when lambda-deploy
/// created it as the preview of `production`; nothing otherwise. Every version goes with
/// the function, since a preview's versions are all its own.
pub(crate) fn decide(
    function: &str,
    production: &str,
    number: u64,
    state: &PreviewState,
) -> Removal {
    let alias = tags::preview_alias(number).to_string();
    let mut removal = Removal {
        function: function.to_string(),
        alias: alias.clone(),
        ..Removal::default()
    };
    if state.tags.is_none() {
        return removal;
    }
    if !is_preview_of(state, production) {
        removal.kept_because = Some(format!(
            "function '{function}' exists but was not created by lambda-deploy as the preview of '{production}' (it has no tag {PREVIEW_TAG}={production}); it was left in place"
        ));
        return removal;
    }
    removal.alias_version = state
        .aliases
        .iter()
        .find(|a| a.name == alias)
        .map(|a| a.version.clone());
    let mut versions: Vec<String> = state.versions.iter().map(|v| v.version.clone()).collect();
    versions.sort_by_key(|v| v.parse::<u64>().unwrap_or(u64::MAX));
    removal.versions_deleted = versions;
    removal.url = state.url.clone();
    removal.function_deleted = true;
    removal
}

/// Reads the preview function of pull request `number` behind `lambda` and decides what
/// closing the pull request removes ([`decide`]); changes nothing.
pub(crate) async fn plan_removal<L: LambdaApi>(
    lambda: &L,
    production: &str,
    number: u64,
) -> Result<Removal, AwsError> {
    let state = read(lambda, production, number).await?;
    Ok(decided(lambda, production, number, &state))
}

/// [`plan_removal`] for a preview function already read as `live`.
pub(crate) async fn plan_removal_of<L: LambdaApi>(
    lambda: &L,
    live: LiveFunction,
    production: &str,
    number: u64,
) -> Result<Removal, AwsError> {
    let state = read_found(lambda, live, production, number).await?;
    Ok(decided(lambda, production, number, &state))
}

/// [`decide`], with what the decision means logged.
fn decided<L: LambdaApi>(
    lambda: &L,
    production: &str,
    number: u64,
    state: &PreviewState,
) -> Removal {
    let removal = decide(lambda.function(), production, number, state);
    match &removal.kept_because {
        Some(why) => tracing::warn!("{why}"),
        None if !removal.function_deleted => {
            tracing::info!(function = %removal.function, "no preview function to remove");
        }
        None => {}
    }
    removal
}

/// Carries out `removal`: the preview alias's URL and the grants lambda-deploy added,
/// then the function with its versions and aliases. Records the URL that was removed.
pub async fn execute<L: LambdaApi>(lambda: &L, removal: &mut Removal) -> Result<(), AwsError> {
    if !removal.function_deleted {
        return Ok(());
    }
    removal.url = function_url::remove(lambda, &removal.alias).await?;
    tracing::info!(function = %removal.function, "deleting the preview function");
    lambda.delete_function().await
}

#[cfg(test)]
mod tests;
