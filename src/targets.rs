//! Which aliases a run moves, decided from the inputs and the GitHub context alone.
//!
//! - A release tag (`refs/tags/v1.2.3`) moves every `alias` and, unless `semver-aliases`
//!   is false, the semver aliases of [`tags::semver_aliases`]. A tag that is not semver
//!   gives a warning and no semver aliases.
//! - A pull request with `preview: auto` moves only `pr-<N>`: stable aliases (`live`,
//!   semver aliases) are never touched by a preview. Closing the pull request removes the
//!   preview instead of deploying.
//! - Every other run moves `alias`.
//!
//! The function URL (`function-url`) goes on the preview alias, or on the first `alias`.
//! Everything here is pure; whether a semver alias may move (never backwards) also needs
//! the version it serves now, which the version-description codec ([`crate::domain::description`]) reads from that version's
//! description.

use semver::Version;
use serde::Serialize;

use crate::config::{Config, FunctionUrl, PackageRule};
use crate::context::{GitHubContext, PrAction, Trigger};
use crate::tags;
use crate::types::AliasName;

/// What kind of run this is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Mode {
    /// Deploy and move the targets.
    Deploy,
    /// Deploy pull request `number` to its preview alias.
    Preview { number: u64 },
    /// Pull request `number` closed: remove its preview; nothing is deployed.
    RemovePreview { number: u64 },
}

/// Why an alias is a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum TargetKind {
    /// Named in `alias`: moves on every deploy.
    Stable,
    /// A semver alias of this release: never moved backwards.
    Release { version: String },
    /// The pull request's preview alias.
    Preview,
}

/// One alias the run moves to the deployed version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub alias: AliasName,
    pub kind: TargetKind,
}

impl Target {
    /// The release this alias is moved for, when it is a semver alias.
    pub fn release(&self) -> Option<Version> {
        match &self.kind {
            TargetKind::Release { version } => Version::parse(version).ok(),
            _ => None,
        }
    }
}

/// Everything [`compute`] decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Targets {
    pub mode: Mode,
    /// Aliases to move, stable ones first, without duplicates.
    pub moves: Vec<Target>,
    /// The alias that carries the function URL, when `function-url` asks for one.
    pub url_alias: Option<AliasName>,
    /// Things people should know (e.g. a tag that is not semver).
    pub warnings: Vec<String>,
}

impl Targets {
    /// The names of the aliases to move.
    pub fn names(&self) -> Vec<AliasName> {
        self.moves.iter().map(|t| t.alias.clone()).collect()
    }
}

/// The inputs the decision depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub aliases: Vec<AliasName>,
    pub semver_aliases: bool,
    pub preview: bool,
    pub publish: bool,
    pub function_url: FunctionUrl,
}

impl From<&Config> for Rules {
    fn from(c: &Config) -> Self {
        Self {
            aliases: c.aliases.clone(),
            semver_aliases: c.semver_aliases,
            preview: c.preview,
            publish: c.publish,
            function_url: c.function_url,
        }
    }
}

/// Why no targets can be decided.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error(
        "input preview: a pull request preview needs a published version for alias pr-{number}, but publish is false; set publish: true, or preview: false to deploy pull requests like any other run"
    )]
    PreviewNeedsPublish { number: u64 },
    #[error(
        "input allow-forks: pull request #{number} comes from a fork (head branch {head}), and this is a pull_request_target run, which has the base repository's secrets and AWS role; deploying the fork's code with them would let anyone who opens a pull request run code with that role. Use the pull_request event for forks, or set allow-forks: true only in a workflow that gates the run on a label or an approval"
    )]
    ForkUnderTarget { number: u64, head: String },
}

/// Whether this event's run needs a package: a closed pull request only removes its preview.
pub fn package_rule(ctx: &GitHubContext) -> PackageRule {
    match &ctx.trigger {
        Trigger::PullRequest {
            action: PrAction::Closed { .. },
            ..
        } => PackageRule::ClosingPullRequest,
        _ => PackageRule::Required,
    }
}

/// Refuses a `pull_request_target` run that would deploy a fork's head, unless
/// `allow_forks`: such a run holds the base repository's role and secrets. Removing a
/// preview runs no code from the fork and is always allowed.
pub(crate) fn check_fork(
    allow_forks: bool,
    ctx: &GitHubContext,
    mode: &Mode,
) -> Result<(), TargetError> {
    let Trigger::PullRequest {
        number,
        from_fork: true,
        head_ref,
        ..
    } = &ctx.trigger
    else {
        return Ok(());
    };
    if allow_forks
        || ctx.event_name.as_deref() != Some("pull_request_target")
        || matches!(mode, Mode::RemovePreview { .. })
    {
        return Ok(());
    }
    Err(TargetError::ForkUnderTarget {
        number: *number,
        head: head_ref.clone(),
    })
}

/// Decides the targets of one run.
pub(crate) fn compute(rules: &Rules, ctx: &GitHubContext) -> Result<Targets, TargetError> {
    let mut warnings = Vec::new();
    let stable = || {
        rules.aliases.iter().map(|a| Target {
            alias: a.clone(),
            kind: TargetKind::Stable,
        })
    };
    let (mode, mut moves): (Mode, Vec<Target>) = match &ctx.trigger {
        Trigger::PullRequest { number, action, .. } if rules.preview => {
            let number = *number;
            if matches!(action, PrAction::Closed { .. }) {
                (Mode::RemovePreview { number }, Vec::new())
            } else {
                if !rules.publish {
                    return Err(TargetError::PreviewNeedsPublish { number });
                }
                let preview = Target {
                    alias: tags::preview_alias(number),
                    kind: TargetKind::Preview,
                };
                (Mode::Preview { number }, vec![preview])
            }
        }
        Trigger::Release { tag } => {
            let mut moves: Vec<Target> = stable().collect();
            if rules.semver_aliases && rules.publish {
                match tags::release_version(tag) {
                    Some(v) => moves.extend(tags::semver_aliases(&v).into_iter().map(|a| {
                        Target {
                            alias: a,
                            kind: TargetKind::Release {
                                version: v.to_string(),
                            },
                        }
                    })),
                    None => warnings.push(format!(
                        "tag '{tag}' is not a semver version (v1.2.3 or 1.2.3, optionally with -prerelease or +build); no semver aliases were moved"
                    )),
                }
            }
            (Mode::Deploy, moves)
        }
        _ => (Mode::Deploy, stable().collect()),
    };

    // One alias, one move: a semver alias also named in `alias` keeps the release guard.
    let mut unique: Vec<Target> = Vec::new();
    for t in moves.drain(..) {
        match unique.iter_mut().find(|u| u.alias == t.alias) {
            Some(u) if matches!(t.kind, TargetKind::Release { .. }) => *u = t,
            Some(_) => {}
            None => unique.push(t),
        }
    }

    let url_alias = match (&rules.function_url, &mode) {
        (FunctionUrl::None, _) | (_, Mode::RemovePreview { .. }) => None,
        (_, Mode::Preview { number }) => Some(tags::preview_alias(*number)),
        (_, Mode::Deploy) => {
            let first = rules.aliases.first().cloned();
            if first.is_none() {
                warnings.push(
                    "function-url is set but this run moves no alias from the alias input; no function URL was created"
                        .to_string(),
                );
            }
            first
        }
    };

    Ok(Targets {
        mode,
        moves: unique,
        url_alias,
        warnings,
    })
}

/// Why a semver alias is left where it is: it serves a newer release than this run's.
/// `None` when the move is allowed (no release known, an older one, or the same one).
pub(crate) fn backwards_reason(
    alias: &str,
    candidate: &Version,
    served: &Version,
) -> Option<String> {
    tags::is_newer_release(served, candidate).then(|| {
        format!(
            "{alias} serves v{served}, which is newer than v{candidate}; a release never moves an alias backwards"
        )
    })
}

#[cfg(test)]
mod tests;
