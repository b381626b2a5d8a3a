//! The GitHub deployment of a preview: one per push, in a transient environment per pull
//! request and function, with a `success` status that carries the function URL; closing
//! the pull request marks the environment's deployments `inactive`.

use octocrab::{Octocrab, Page};
use serde::{Deserialize, Serialize};

use super::GitHubError;
use crate::context::GitHubContext;
use crate::report::Report;

/// The environment of pull request `pr`'s preview of `function`.
pub fn environment(function: &str, pr: u64) -> String {
    format!("preview-pr-{pr}-{function}")
}

#[derive(Serialize)]
struct NewDeployment<'a> {
    #[serde(rename = "ref")]
    git_ref: &'a str,
    environment: &'a str,
    description: String,
    transient_environment: bool,
    production_environment: bool,
    auto_merge: bool,
    required_contexts: Vec<String>,
    payload: serde_json::Value,
}

#[derive(Serialize)]
struct NewStatus<'a> {
    state: &'a str,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_url: Option<String>,
    auto_inactive: bool,
}

/// A deployment, as much of it as is read here.
#[derive(Debug, Deserialize)]
struct Deployment {
    id: u64,
}

#[derive(Serialize)]
struct ListQuery<'a> {
    environment: &'a str,
    per_page: u8,
}

/// Records this run's preview as a deployment with a `success` status; returns its id.
pub async fn record(
    crab: &Octocrab,
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
    let body = NewDeployment {
        git_ref: &sha,
        environment: env,
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
    let d: Deployment = crab
        .post(format!("/repos/{owner}/{repo}/deployments"), Some(&body))
        .await
        .map_err(|e| GitHubError::from_octocrab("creating the deployment", e))?;
    let status = NewStatus {
        state: "success",
        description: format!("{alias} serves version {version}"),
        environment_url: report.function_url.as_deref(),
        log_url: ctx.run_url(),
        auto_inactive: true,
    };
    let _: serde_json::Value = crab
        .post(
            format!("/repos/{owner}/{repo}/deployments/{}/statuses", d.id),
            Some(&status),
        )
        .await
        .map_err(|e| GitHubError::from_octocrab("setting the deployment status", e))?;
    Ok(d.id)
}

/// Marks every deployment of `env` inactive; returns how many there were.
pub async fn deactivate(
    crab: &Octocrab,
    owner: &str,
    repo: &str,
    env: &str,
) -> Result<usize, GitHubError> {
    let err = |what| move |e| GitHubError::from_octocrab(what, e);
    let first: Page<Deployment> = crab
        .get(
            format!("/repos/{owner}/{repo}/deployments"),
            Some(&ListQuery {
                environment: env,
                per_page: 100,
            }),
        )
        .await
        .map_err(err("listing the preview's deployments"))?;
    let all = crab
        .all_pages(first)
        .await
        .map_err(err("listing the preview's deployments"))?;
    for d in &all {
        let status = NewStatus {
            state: "inactive",
            description: "the pull request was closed and its preview removed".into(),
            environment_url: None,
            log_url: None,
            auto_inactive: false,
        };
        let _: serde_json::Value = crab
            .post(
                format!("/repos/{owner}/{repo}/deployments/{}/statuses", d.id),
                Some(&status),
            )
            .await
            .map_err(err("marking the deployment inactive"))?;
    }
    Ok(all.len())
}
