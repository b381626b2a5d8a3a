//! The release history of a function: `rollback` moves aliases back through the versions
//! they served, `prune` deletes what `keep-versions` does not keep (after a deploy, or
//! alone), and `status` lists the versions with their provenance and the aliases that
//! serve them.
//!
//! Where the history lives: every alias move lambda-deploy makes records the versions the
//! alias served before in the alias's own description ([`crate::domain::history`]), after
//! the mark of the run that moved it ([`crate::order`]). An alias with no such record (never
//! moved by lambda-deploy since) cannot be rolled back one step; `to-version` still moves it.
//! What a version is (ref, commit, run) comes from the version's own description.

#[cfg(test)]
mod fake;
pub mod leftovers;
mod parallel;
pub mod previews;
pub mod prune;
pub mod render;
pub mod rollback;
pub mod status;
pub mod storage;

use serde::Serialize;

use crate::aws::AwsError;
use crate::aws::history::Page;

pub use parallel::{bounded, bounded_until};

/// Deletes made at the same time while pruning.
pub(crate) const DELETE_PARALLEL: usize = 8;

/// Why a history command stopped before changing anything (or, for AWS errors, where).
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error(
        "input function-name: function '{function}' does not exist, so it has no versions to {command}; check function-name and the region"
    )]
    NoFunction {
        function: String,
        command: &'static str,
    },
    #[error(
        "input function-name: function '{function}' has no version published by lambda-deploy, so there is nothing to {command}; deploy it with lambda-deploy first"
    )]
    NotDeployed {
        function: String,
        command: &'static str,
    },
    #[error(
        "input alias: alias '{alias}' does not exist on function '{function}', so there is nothing to roll back; check the alias name"
    )]
    NoAlias { alias: String, function: String },
    #[error(
        "input to-version: version {version} of function '{function}' does not exist; pick one that does (lambda-deploy status lists them)"
    )]
    NoVersion { version: String, function: String },
    #[error(
        "input to-version: alias '{alias}' has no earlier version on record (lambda-deploy records what an alias served each time it moves it, and the recorded versions may have been pruned); give to-version to choose the version"
    )]
    NoHistory { alias: String },
    #[error(
        "the package does not fit: {usage}; nothing was changed: free room first, e.g. {advice}"
    )]
    StorageFull { usage: String, advice: String },
    #[error("{0}")]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Smoke(#[from] crate::smoke::SmokeError),
}

/// Every item of a paginated listing.
pub async fn collect<T>(
    mut page: impl AsyncFnMut(Option<String>) -> Result<Page<T>, AwsError>,
) -> Result<Vec<T>, AwsError> {
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let p = page(marker).await?;
        out.extend(p.items);
        match p.next {
            Some(m) if !m.is_empty() => marker = Some(m),
            _ => return Ok(out),
        }
    }
}

/// Where a version came from, read from its description
/// (`<ref> @ <short sha> · <run url>`, see [`crate::tags::version_description`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Origin {
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub ref_label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}

impl Origin {
    /// Reads a version description; fields lambda-deploy did not write stay `None`.
    pub fn parse(description: &str) -> Self {
        let (head, run) = match description.rsplit_once(" · ") {
            Some((h, u)) if u.starts_with("http") => (h, Some(u.trim().to_string())),
            _ if description.starts_with("http") => ("", Some(description.trim().to_string())),
            _ => (description, None),
        };
        let (label, commit) = match head.rsplit_once("@ ") {
            Some((l, sha)) if !sha.is_empty() && sha.bytes().all(|b| b.is_ascii_hexdigit()) => {
                (l.trim(), Some(sha.to_string()))
            }
            _ => (head.trim(), None),
        };
        let ref_label =
            (!label.is_empty() && (commit.is_some() || run.is_some())).then(|| label.to_string());
        Self {
            ref_label,
            commit,
            run,
        }
    }

    /// Whether lambda-deploy published the version with this description: one with
    /// provenance, or one from a run outside GitHub Actions (`lambda-deploy <version>`).
    pub(crate) fn ours(description: &str) -> bool {
        description.starts_with("lambda-deploy ") || Self::parse(description).known()
    }

    /// Whether the description names a commit or a run.
    pub fn known(&self) -> bool {
        self.commit.is_some() || self.run.is_some()
    }

    /// `v1.2.0 @ 0123456 (run …)`, for logs and text output.
    pub fn line(&self) -> String {
        let mut s = String::new();
        if let Some(r) = &self.ref_label {
            s.push_str(r);
        }
        if let Some(c) = &self.commit {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str("@ ");
            s.push_str(c);
        }
        if let Some(u) = &self.run {
            s.push_str(&format!(" ({u})"));
        }
        if s.is_empty() {
            "(no provenance)".into()
        } else {
            s.trim().to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_read_from_every_description_shape() {
        let o = Origin::parse("v1.2.3 @ 0123456 · https://github.com/o/r/actions/runs/42");
        assert_eq!(o.ref_label.as_deref(), Some("v1.2.3"));
        assert_eq!(o.commit.as_deref(), Some("0123456"));
        assert_eq!(
            o.run.as_deref(),
            Some("https://github.com/o/r/actions/runs/42")
        );
        let no_label = Origin::parse("@ 0123456 · https://x/actions/runs/9");
        assert_eq!(
            (no_label.ref_label, no_label.commit.as_deref()),
            (None, Some("0123456"))
        );
        let no_url = Origin::parse("main @ abcdef0");
        assert_eq!(no_url.run, None);
        assert_eq!(no_url.ref_label.as_deref(), Some("main"));
        assert!(!Origin::parse("hand written").known());
        assert!(!Origin::parse("").known());
        assert_eq!(
            Origin::parse("lambda-deploy 0.1.0").line(),
            "(no provenance)"
        );
    }
}
