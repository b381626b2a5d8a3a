//! Removing a pull request's preview when the pull request closes: its function URL and
//! the public grants it needed, the alias `pr-<N>`, and the versions only the preview
//! used. A version is the preview's when its description names the pull request
//! (`pull request #12 @ …`, see [`crate::tags::version_description`]); it is deleted only
//! when no other alias routes to it. Each step tolerates what is already gone, so a run
//! that stopped half-way is finished by the next one.

use serde::Serialize;

use crate::aws::AwsError;
use crate::aws::lambda::Lambda;
use crate::{function_url, tags, targets};

/// What closing the preview removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Removal {
    pub alias: String,
    /// The version the alias served, when it existed.
    pub alias_version: Option<String>,
    pub url: Option<String>,
    pub versions_deleted: Vec<String>,
    /// Preview versions kept because another alias routes to them: (version, alias).
    pub versions_kept: Vec<(String, String)>,
}

/// Removes the preview of pull request `number`. `label` is the description label of
/// versions this pull request published. With `dry_run`, only reads and reports what would
/// be removed.
pub async fn remove(
    lambda: &Lambda,
    number: u64,
    label: &str,
    dry_run: bool,
) -> Result<Removal, AwsError> {
    let alias = tags::preview_alias(number).to_string();
    let mut removal = Removal {
        alias: alias.clone(),
        ..Removal::default()
    };
    let aliases = lambda.list_aliases().await?;
    removal.alias_version = aliases
        .iter()
        .find(|a| a.name == alias)
        .map(|a| a.version.clone());

    if dry_run {
        removal.url = lambda.get_url(&alias).await?.map(|c| c.url);
    } else {
        removal.url = function_url::remove(lambda, &alias).await?;
    }
    if removal.alias_version.is_some() && !dry_run {
        tracing::info!(alias = %alias, "deleting preview alias");
        lambda.delete_alias(&alias).await?;
    }

    let others: Vec<_> = aliases.iter().filter(|a| a.name != alias).collect();
    let mut versions = lambda.list_versions().await?;
    versions.sort_by_key(|v| v.version.parse::<u64>().unwrap_or(u64::MAX));
    for v in versions {
        if targets::description_label(&v.description) != Some(label) {
            continue;
        }
        let user = others
            .iter()
            .find(|a| a.version == v.version || a.additional.contains(&v.version));
        match user {
            Some(a) => removal
                .versions_kept
                .push((v.version.clone(), a.name.clone())),
            None => {
                if !dry_run {
                    tracing::info!(version = %v.version, "deleting preview version");
                    lambda.delete_version(&v.version).await?;
                }
                removal.versions_deleted.push(v.version);
            }
        }
    }
    Ok(removal)
}
