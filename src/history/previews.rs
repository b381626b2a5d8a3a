//! Preview functions whose pull request is closed: `command: prune` (and `keep-versions`
//! after a deploy) deletes them, which catches the closes whose run failed or never ran.
//!
//! A preview is found by its name, `<function>-pr-<N>` ([`FunctionName::preview`]), and
//! by its tag [`PREVIEW_TAG`] naming the production function; any other function is never
//! touched. GitHub says whether pull request N is still open; the preview of a closed or
//! merged one is removed the way closing the pull request removes it
//! ([`crate::preview::plan_removal`], [`crate::preview::execute`]). Without a GitHub token
//! or repository no preview is checked and the prune says why; a pull request whose state
//! GitHub does not give keeps its preview, with a warning naming it.

use serde::Serialize;

use super::collect;
use crate::aws::AwsError;
use crate::aws::api::LambdaApi;
use crate::aws::history::Account;
use crate::github::api::{GitHubApi, GitHubError, PullState};
use crate::preview::{self, PREVIEW_TAG, tagged_preview_of};
use crate::state::LiveFunction;
use crate::types::FunctionName;

/// A preview function and where its pull request stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PreviewFunction {
    pub function: String,
    pub pull_request: u64,
    pub state: PullState,
}

/// What a prune did with the production function's previews.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PreviewPrune {
    /// Previews of closed or merged pull requests, deleted (to delete, in a dry run).
    pub previews_deleted: Vec<PreviewFunction>,
    /// Previews of open pull requests, kept.
    pub previews_open: Vec<PreviewFunction>,
    /// Why the previews were not checked, when they were not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previews_not_checked: Option<String>,
    /// Pull requests whose state GitHub did not give; their previews are kept.
    pub preview_warnings: Vec<String>,
}

/// The repository whose pull requests the previews belong to.
pub struct Pulls<'a, G> {
    pub api: &'a G,
    pub owner: &'a str,
    pub repo: &'a str,
}

/// The pull request number of `name` when it is the name of `production`'s preview.
pub(crate) fn preview_number(name: &str, production: &FunctionName) -> Option<u64> {
    let (_, digits) = name.rsplit_once("-pr-")?;
    let number: u64 = digits.parse().ok()?;
    (production.preview(number).short_name() == name).then_some(number)
}

/// Deletes (in a dry run: lists) the previews of `production` whose pull request is
/// closed or merged. `open` gives a client bound to a function; `pulls` is where to ask
/// GitHub, or why that cannot be done (then nothing is checked).
pub async fn prune<A: Account, F: LambdaApi, G: GitHubApi>(
    account: &A,
    open: impl Fn(&str) -> F,
    pulls: Result<Pulls<'_, G>, String>,
    production: &FunctionName,
    dry_run: bool,
) -> Result<PreviewPrune, AwsError> {
    let mut out = PreviewPrune::default();
    let pulls = match pulls {
        Ok(p) => p,
        Err(why) => {
            tracing::warn!("preview functions were not checked for closed pull requests: {why}");
            out.previews_not_checked = Some(why);
            return Ok(out);
        }
    };
    for (number, f, live) in previews_of(account, &open, production).await? {
        let state = match pulls.api.pull_state(pulls.owner, pulls.repo, number).await {
            Ok(s) => s,
            Err(e) => {
                let why = format!(
                    "pull request #{number}: its state could not be read ({}), so its preview function '{}' was kept",
                    answer(&e),
                    f.function()
                );
                tracing::warn!("{why}");
                out.preview_warnings.push(why);
                continue;
            }
        };
        let entry = PreviewFunction {
            function: f.function().to_string(),
            pull_request: number,
            state,
        };
        if state == PullState::Open {
            out.previews_open.push(entry);
            continue;
        }
        let mut removal =
            preview::plan_removal_of(&f, live, production.short_name(), number).await?;
        if !removal.function_deleted {
            continue;
        }
        if !dry_run {
            preview::execute(&f, &mut removal).await?;
        }
        out.previews_deleted.push(entry);
    }
    Ok(out)
}

/// What GitHub answered, without the advice about writes a refusal carries elsewhere.
fn answer(e: &GitHubError) -> String {
    match e {
        GitHubError::Denied {
            status, message, ..
        }
        | GitHubError::Api {
            status, message, ..
        } => format!("GitHub answered {status} {message}"),
        GitHubError::Client { message, .. } => message.clone(),
    }
}

/// The preview functions of `production`: named as its previews and tagged as such,
/// each with its pull request number and the function as read, by number.
async fn previews_of<A: Account, F: LambdaApi>(
    account: &A,
    open: &impl Fn(&str) -> F,
    production: &FunctionName,
) -> Result<Vec<(u64, F, LiveFunction)>, AwsError> {
    let rows = collect(async |m| account.functions_page(false, m).await).await?;
    let mut numbers: Vec<u64> = rows
        .iter()
        .filter_map(|r| preview_number(&r.name, production))
        .collect();
    numbers.sort_unstable();
    let mut out = Vec::new();
    for number in numbers {
        let f = open(production.preview(number).as_str());
        let live = f.get_function().await?;
        if let Some(live) = live.filter(|l| tagged_preview_of(&l.tags, production.short_name())) {
            out.push((number, f, live));
        } else {
            tracing::info!(
                function = f.function(),
                "left alone: not tagged {PREVIEW_TAG}={}",
                production.short_name()
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
