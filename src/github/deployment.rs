//! The GitHub deployment of a preview: one per push, in a transient environment per pull
//! request and function, with a `success` status that carries the function URL; closing
//! the pull request marks the environment's deployments `inactive`.

use super::GitHubError;
use super::api::{DeploymentState, DeploymentStatus, GitHubApi, NewDeployment};
use crate::context::GitHubContext;
use crate::report::Report;

/// The environment of pull request `pr`'s preview of `function`.
pub fn environment(function: &str, pr: u64) -> String {
    format!("preview-pr-{pr}-{function}")
}

/// Records this run's preview as a deployment with a `success` status; returns its id.
pub async fn record(
    api: &impl GitHubApi,
    owner: &str,
    repo: &str,
    env: &str,
    report: &Report,
    ctx: &GitHubContext,
) -> Result<u64, GitHubError> {
    let Some(sha) = ctx.sha.as_ref().map(|s| s.to_string()) else {
        return Err(GitHubError::Client {
            what: "creating the deployment",
            message: "the commit is unknown (no GITHUB_SHA or pull request head)".into(),
        });
    };
    let version = report.outcome.version.clone().unwrap_or_default();
    let alias = report.extra.preview_alias.clone().unwrap_or_default();
    let deployment = NewDeployment {
        git_ref: sha,
        environment: env.to_string(),
        description: format!("lambda-deploy preview of {}", report.function_name),
        transient_environment: true,
        production_environment: false,
        auto_merge: false,
        required_contexts: Vec::new(),
        payload: serde_json::json!({
            "function": report.function_name,
            "alias": alias,
            "version": version,
        }),
    };
    let id = api.create_deployment(owner, repo, &deployment).await?;
    let status = DeploymentStatus {
        state: DeploymentState::Success,
        description: format!("{alias} serves version {version}"),
        environment_url: report.function_url.clone(),
        log_url: ctx.run_url(),
        auto_inactive: true,
    };
    api.create_deployment_status(owner, repo, id, &status)
        .await?;
    Ok(id)
}

/// Marks every deployment of `env` inactive; returns how many there were.
pub(crate) async fn deactivate(
    api: &impl GitHubApi,
    owner: &str,
    repo: &str,
    env: &str,
) -> Result<usize, GitHubError> {
    let all = api.list_deployments(owner, repo, env).await?;
    let status = DeploymentStatus {
        state: DeploymentState::Inactive,
        description: "the pull request was closed and its preview removed".into(),
        environment_url: None,
        log_url: None,
        auto_inactive: false,
    };
    for id in &all {
        api.create_deployment_status(owner, repo, *id, &status)
            .await?;
    }
    Ok(all.len())
}

#[cfg(test)]
mod tests;
