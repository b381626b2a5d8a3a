//! The GitHub context: what triggered this run, read once from `GITHUB_*` variables and,
//! for pull request events, from the webhook payload at `GITHUB_EVENT_PATH`.
//!
//! Outside GitHub Actions (plain CLI use) every field is unset and the trigger is
//! [`Trigger::Other`]; later stages treat that as "no provenance known", not as an error.

use std::path::Path;

use serde::Deserialize;
use thiserror::Error;

use crate::types::GitSha;

/// The server used when `GITHUB_SERVER_URL` is unset.
pub(crate) const DEFAULT_SERVER_URL: &str = "https://github.com";
/// The REST API root used when `GITHUB_API_URL` is unset.
pub(crate) const DEFAULT_API_URL: &str = "https://api.github.com";

/// Why the GitHub context could not be read.
#[derive(Debug, Error)]
pub enum ContextError {
    /// A pull request event without a payload file to read the PR from.
    #[error(
        "GITHUB_EVENT_NAME is '{event}' but GITHUB_EVENT_PATH is not set; the pull request number and head commit come from that file, so run inside GitHub Actions or unset GITHUB_EVENT_NAME"
    )]
    MissingEventPath {
        /// The event name.
        event: String,
    },
    /// The payload file could not be read.
    #[error(
        "cannot read the event payload at GITHUB_EVENT_PATH ({path}): {source}; point GITHUB_EVENT_PATH at the webhook payload JSON or unset it"
    )]
    ReadEvent {
        /// The path from `GITHUB_EVENT_PATH`.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The payload is not JSON or a field has the wrong type.
    #[error(
        "the event payload at GITHUB_EVENT_PATH ({path}) is not a valid '{event}' payload: {source}; point GITHUB_EVENT_PATH at the webhook payload GitHub wrote for this run"
    )]
    ParseEvent {
        /// The path from `GITHUB_EVENT_PATH`.
        path: String,
        /// The event name.
        event: String,
        /// The JSON error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A field the deploy needs is absent or empty.
    #[error(
        "the '{event}' payload at GITHUB_EVENT_PATH ({path}) has no {field}; point GITHUB_EVENT_PATH at the complete webhook payload GitHub wrote for this run"
    )]
    MissingField {
        /// The path from `GITHUB_EVENT_PATH`.
        path: String,
        /// The event name.
        event: String,
        /// The JSON path of the missing field, e.g. `pull_request.head.sha`.
        field: &'static str,
    },
    /// A field or variable holds a value that cannot be right.
    #[error("{name} is '{value}', which {problem}; {fix}")]
    Invalid {
        /// The variable or payload field.
        name: String,
        /// The value found.
        value: String,
        /// What is wrong with it.
        problem: String,
        /// What to do.
        fix: &'static str,
    },
}

/// What a pull request event reports happened to the pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrAction {
    /// The pull request was opened.
    Opened,
    /// New commits were pushed to its head branch.
    Synchronize,
    /// It was reopened after being closed.
    Reopened,
    /// It was closed; `merged` says whether it was merged.
    Closed {
        /// Whether the pull request was merged when it closed (`false` when the payload
        /// omits `pull_request.merged`).
        merged: bool,
    },
    /// Any other activity (`edited`, `labeled`, `ready_for_review`, ...), as GitHub spells it.
    Other(String),
}

impl PrAction {
    fn from_payload(action: &str, merged: bool) -> Self {
        match action {
            "opened" => Self::Opened,
            "synchronize" => Self::Synchronize,
            "reopened" => Self::Reopened,
            "closed" => Self::Closed { merged },
            other => Self::Other(other.to_string()),
        }
    }
}

/// What started the run, reduced to what the deploy plan cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// A run on `refs/tags/<tag>` (a tag push, a release, or a dispatch on a tag).
    Release {
        /// The tag name without `refs/tags/`.
        tag: String,
    },
    /// A run on `refs/heads/<name>` (a push, a dispatch or a schedule on a branch).
    Branch {
        /// The branch name without `refs/heads/`.
        name: String,
    },
    /// A `pull_request` or `pull_request_target` event.
    PullRequest {
        /// The pull request number.
        number: u64,
        /// What happened to it.
        action: PrAction,
        /// The head branch (in the fork, for a fork).
        head_ref: String,
        /// The branch it targets.
        base_ref: String,
        /// True when the head lives in another repository (or that repository was deleted).
        from_fork: bool,
    },
    /// Anything else, including runs outside GitHub Actions.
    Other,
}

/// The GitHub context of one run. Empty or absent variables are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubContext {
    /// `GITHUB_ACTIONS == "true"`.
    pub in_actions: bool,
    /// `GITHUB_EVENT_NAME`.
    pub event_name: Option<String>,
    /// The commit being deployed: the PR head for pull request events (where
    /// `GITHUB_SHA` is a merge commit GitHub made for the run), else `GITHUB_SHA`.
    pub sha: Option<GitSha>,
    /// `GITHUB_REF`, e.g. `refs/heads/main`.
    pub git_ref: Option<String>,
    /// `GITHUB_REPOSITORY`, `owner/name`.
    pub repository: Option<String>,
    /// `GITHUB_SERVER_URL` without a trailing `/`; [`DEFAULT_SERVER_URL`] when unset.
    pub server_url: String,
    /// `GITHUB_API_URL` without a trailing `/`; [`DEFAULT_API_URL`] when unset.
    pub api_url: String,
    /// `GITHUB_RUN_ID`.
    pub run_id: Option<String>,
    /// `GITHUB_RUN_ATTEMPT`.
    pub run_attempt: Option<String>,
    /// `GITHUB_ACTOR`.
    pub actor: Option<String>,
    /// What started the run.
    pub trigger: Trigger,
}

impl Default for GitHubContext {
    /// The context outside GitHub Actions: nothing known.
    fn default() -> Self {
        Self {
            in_actions: false,
            event_name: None,
            sha: None,
            git_ref: None,
            repository: None,
            server_url: DEFAULT_SERVER_URL.to_string(),
            api_url: DEFAULT_API_URL.to_string(),
            run_id: None,
            run_attempt: None,
            actor: None,
            trigger: Trigger::Other,
        }
    }
}

/// The parts of a pull request webhook payload this module reads.
#[derive(Deserialize)]
struct PrPayload {
    action: Option<String>,
    number: Option<u64>,
    pull_request: Option<PrBody>,
}

#[derive(Deserialize)]
struct PrBody {
    number: Option<u64>,
    merged: Option<bool>,
    head: Option<PrEnd>,
    base: Option<PrEnd>,
}

#[derive(Deserialize)]
struct PrEnd {
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    sha: Option<String>,
    // `null` when the head repository (a fork) has been deleted.
    repo: Option<PrRepo>,
}

#[derive(Deserialize)]
struct PrRepo {
    full_name: Option<String>,
}

/// The pull request facts taken from the payload.
struct PullRequestEvent {
    trigger: Trigger,
    head_sha: GitSha,
}

impl GitHubContext {
    /// Reads `GITHUB_*` through `var` (so tests pass a map) and, for `pull_request` and
    /// `pull_request_target` events, parses the payload at `GITHUB_EVENT_PATH`. Other
    /// events need only `GITHUB_REF` and `GITHUB_SHA`, so their payload is not read.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ContextError> {
        let get = |name: &str| {
            var(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };

        let event_name = get("GITHUB_EVENT_NAME");
        let git_ref = get("GITHUB_REF");
        let env_sha = match get("GITHUB_SHA") {
            Some(s) => Some(parse_sha(
                "GITHUB_SHA",
                &s,
                "unset GITHUB_SHA or set it to the full commit SHA",
            )?),
            None => None,
        };

        let (trigger, sha) = match event_name.as_deref() {
            Some(event @ ("pull_request" | "pull_request_target")) => {
                let path =
                    get("GITHUB_EVENT_PATH").ok_or_else(|| ContextError::MissingEventPath {
                        event: event.to_string(),
                    })?;
                let pr = read_pull_request(event, &path)?;
                (pr.trigger, Some(pr.head_sha))
            }
            _ => (trigger_from_ref(git_ref.as_deref()), env_sha),
        };

        Ok(Self {
            in_actions: get("GITHUB_ACTIONS").as_deref() == Some("true"),
            event_name,
            sha,
            git_ref,
            repository: get("GITHUB_REPOSITORY"),
            server_url: url_or(get("GITHUB_SERVER_URL"), DEFAULT_SERVER_URL),
            api_url: url_or(get("GITHUB_API_URL"), DEFAULT_API_URL),
            run_id: get("GITHUB_RUN_ID"),
            run_attempt: get("GITHUB_RUN_ATTEMPT"),
            actor: get("GITHUB_ACTOR"),
            trigger,
        })
    }

    /// The link to this workflow run: `{server}/{repo}/actions/runs/{id}`.
    pub fn run_url(&self) -> Option<String> {
        let repo = self.repository.as_deref()?;
        let id = self.run_id.as_deref()?;
        Some(format!("{}/{repo}/actions/runs/{id}", self.server_url))
    }

    /// The link to the deployed commit: `{server}/{repo}/commit/{sha}`.
    pub fn commit_url(&self) -> Option<String> {
        let repo = self.repository.as_deref()?;
        let sha = self.sha.as_ref()?;
        Some(format!("{}/{repo}/commit/{sha}", self.server_url))
    }

    /// A short human label for what is deployed: the tag (`v1.2.3`), the branch (`main`),
    /// `pull request #12`, or for other refs the ref without its `refs/` prefix.
    pub fn ref_label(&self) -> Option<String> {
        match &self.trigger {
            Trigger::Release { tag } => Some(tag.clone()),
            Trigger::Branch { name } => Some(name.clone()),
            Trigger::PullRequest { number, .. } => Some(format!("pull request #{number}")),
            Trigger::Other => self
                .git_ref
                .as_deref()
                .map(|r| r.strip_prefix("refs/").unwrap_or(r).to_string()),
        }
    }

    /// The seven-digit abbreviation of [`GitHubContext::sha`].
    pub fn short_sha(&self) -> Option<&str> {
        self.sha.as_ref().map(GitSha::short)
    }

    /// The pull request number when a pull request event started the run.
    pub(crate) fn pr_number(&self) -> Option<u64> {
        match self.trigger {
            Trigger::PullRequest { number, .. } => Some(number),
            _ => None,
        }
    }
}

fn url_or(value: Option<String>, default: &str) -> String {
    value
        .map(|v| v.trim_end_matches('/').to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

fn parse_sha(name: &str, value: &str, fix: &'static str) -> Result<GitSha, ContextError> {
    value.parse::<GitSha>().map_err(|_| ContextError::Invalid {
        name: name.to_string(),
        value: value.to_string(),
        problem: "is not a 40-hex-digit commit SHA".to_string(),
        fix,
    })
}

/// `refs/tags/x` -> Release, `refs/heads/x` -> Branch, anything else -> Other.
fn trigger_from_ref(git_ref: Option<&str>) -> Trigger {
    let Some(r) = git_ref else {
        return Trigger::Other;
    };
    if let Some(tag) = r.strip_prefix("refs/tags/").filter(|t| !t.is_empty()) {
        Trigger::Release {
            tag: tag.to_string(),
        }
    } else if let Some(name) = r.strip_prefix("refs/heads/").filter(|n| !n.is_empty()) {
        Trigger::Branch {
            name: name.to_string(),
        }
    } else {
        Trigger::Other
    }
}

fn read_pull_request(event: &str, path: &str) -> Result<PullRequestEvent, ContextError> {
    let text =
        std::fs::read_to_string(Path::new(path)).map_err(|source| ContextError::ReadEvent {
            path: path.to_string(),
            source,
        })?;
    parse_pull_request(event, path, &text)
}

/// Parses a pull request payload; `path` only labels errors.
fn parse_pull_request(
    event: &str,
    path: &str,
    text: &str,
) -> Result<PullRequestEvent, ContextError> {
    let payload: PrPayload =
        serde_json::from_str(text).map_err(|source| ContextError::ParseEvent {
            path: path.to_string(),
            event: event.to_string(),
            source,
        })?;
    let missing = |field: &'static str| ContextError::MissingField {
        path: path.to_string(),
        event: event.to_string(),
        field,
    };
    let non_empty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());

    let action = non_empty(payload.action).ok_or_else(|| missing("action"))?;
    let pr = payload
        .pull_request
        .ok_or_else(|| missing("pull_request"))?;
    let number = payload
        .number
        .or(pr.number)
        .ok_or_else(|| missing("number"))?;
    let head = pr.head.ok_or_else(|| missing("pull_request.head"))?;
    let base = pr.base.ok_or_else(|| missing("pull_request.base"))?;
    let head_sha = non_empty(head.sha).ok_or_else(|| missing("pull_request.head.sha"))?;
    let head_sha = parse_sha(
        "pull_request.head.sha in GITHUB_EVENT_PATH",
        &head_sha,
        "point GITHUB_EVENT_PATH at the webhook payload GitHub wrote for this run",
    )?;
    let head_ref = non_empty(head.git_ref).ok_or_else(|| missing("pull_request.head.ref"))?;
    let base_ref = non_empty(base.git_ref).ok_or_else(|| missing("pull_request.base.ref"))?;

    let head_repo = head.repo.and_then(|r| r.full_name);
    let base_repo = base.repo.and_then(|r| r.full_name);
    // A deleted head repository can only have been a fork: treat unknown as a fork.
    let from_fork = match (head_repo, base_repo) {
        (Some(h), Some(b)) => !h.eq_ignore_ascii_case(&b),
        _ => true,
    };

    Ok(PullRequestEvent {
        trigger: Trigger::PullRequest {
            number,
            action: PrAction::from_payload(&action, pr.merged.unwrap_or(false)),
            head_ref,
            base_ref,
            from_fork,
        },
        head_sha,
    })
}

#[cfg(test)]
mod tests;
