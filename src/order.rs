//! Which of two deploys is newer, so a run never moves an alias back to an older commit.
//!
//! The order comes from what Lambda keeps per version: the description
//! [`crate::tags::version_description`] writes through the one codec,
//! [`crate::domain::description`]: `<ref label> @ <short sha> · <run url>`.
//! Two keys are read from it:
//!
//! - the release, when the label is a semver tag (`v1.2.3`): between two releases, semver
//!   precedence decides, so re-running an old tag's workflow never moves `v1` back;
//! - the workflow run id, the number at the end of `.../actions/runs/<id>`: GitHub numbers
//!   runs in the order they are created, so the run of a later push has a larger id, and a
//!   re-run of an old run keeps its old id.
//!
//! A description without either key (written by hand, by another tool, or by a run outside
//! GitHub Actions) gives no order: the alias moves, as it always did.
//!
//! A version's description says which run published it, not which runs later moved an
//! alias to it: a release tag on unchanged code reuses a version a branch run published.
//! So every alias move also records this run's key in the alias's own description
//! ([`OrderKey::alias_description`]), and the guards read that first
//! ([`OrderKey::from_alias_description`]); the version's description is only the fallback
//! for an alias no lambda-deploy run has moved since. This run's own key comes from the
//! GitHub context ([`OrderKey::of_run`]): only a tag run is a release, never a branch
//! named like a version (`v99.0.0`).

use std::fmt;

use semver::Version;

use crate::context::{GitHubContext, Trigger};
use crate::domain::description::VersionDescription;
use crate::tags;

/// What orders one deploy against another.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderKey {
    /// The release the version was deployed from, when its ref is a semver tag.
    pub release: Option<Version>,
    /// The GitHub Actions run that deployed it.
    pub run_id: Option<u64>,
}

/// How every alias description lambda-deploy writes starts.
const MOVED_BY: &str = "lambda-deploy: moved by ";
/// Longest Lambda alias description.
const MAX_ALIAS_DESCRIPTION: usize = 256;

impl OrderKey {
    /// This run's key: the release only when a tag started it, and the run id.
    pub(crate) fn of_run(ctx: &GitHubContext) -> Self {
        let release = match &ctx.trigger {
            Trigger::Release { tag } => tags::release_version(tag),
            _ => None,
        };
        let run_id = ctx.run_id.as_deref().and_then(|r| r.parse().ok());
        Self { release, run_id }
    }

    /// The description an alias gets when this run moves it:
    /// `lambda-deploy: moved by release v1.3.0, run 42`, `… moved by run 42`, or
    /// `… moved by a run without order` (never over Lambda's 256 characters; build
    /// metadata, which does not order releases, is dropped first).
    pub(crate) fn alias_description(&self) -> String {
        let mut parts = Vec::new();
        if let Some(v) = &self.release {
            let mut v = v.clone();
            if MOVED_BY.len() + v.to_string().len() + 40 > MAX_ALIAS_DESCRIPTION {
                v.build = semver::BuildMetadata::EMPTY;
            }
            if MOVED_BY.len() + v.to_string().len() + 40 <= MAX_ALIAS_DESCRIPTION {
                parts.push(format!("release v{v}"));
            }
        }
        if let Some(r) = self.run_id {
            parts.push(format!("run {r}"));
        }
        if parts.is_empty() {
            return format!("{MOVED_BY}a run without order");
        }
        format!("{MOVED_BY}{}", parts.join(", "))
    }

    /// Reads [`OrderKey::alias_description`] back; `None` for a description lambda-deploy
    /// did not write (the caller falls back to the version's description).
    pub(crate) fn from_alias_description(desc: &str) -> Option<Self> {
        let rest = desc.strip_prefix(MOVED_BY)?;
        let mut key = Self::default();
        for part in rest.split(", ") {
            if let Some(v) = part.strip_prefix("release v") {
                key.release = Some(Version::parse(v).ok()?);
            } else if let Some(r) = part.strip_prefix("run ") {
                key.run_id = Some(r.parse().ok()?);
            }
        }
        Some(key)
    }

    /// Reads the key from a version description (see the module docs).
    pub fn from_description(desc: &str) -> Self {
        let parsed = VersionDescription::parse(desc);
        Self {
            release: parsed.release(),
            run_id: parsed.run_id(),
        }
    }
}

/// Whether this run may move an alias that serves a version deployed by another run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// This run is as new or newer, or no order is known.
    Move,
    /// The alias serves a newer deploy; the reason says why it counts as newer.
    Older(String),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Move => write!(f, "move"),
            Verdict::Older(why) => write!(f, "{why}"),
        }
    }
}

/// Compares this run (`ours`) with the deploy an alias serves (`theirs`).
pub fn verdict(ours: &OrderKey, theirs: &OrderKey) -> Verdict {
    if let (Some(o), Some(t)) = (&ours.release, &theirs.release) {
        return if tags::is_newer_release(t, o) {
            Verdict::Older(format!("it serves release {t}, newer than this run's {o}"))
        } else {
            Verdict::Move
        };
    }
    match (ours.run_id, theirs.run_id) {
        (Some(o), Some(t)) if t > o => Verdict::Older(format!(
            "it serves a version deployed by workflow run {t}, newer than this run ({o})"
        )),
        _ => Verdict::Move,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(desc: &str) -> OrderKey {
        OrderKey::from_description(desc)
    }

    #[test]
    fn keys_are_read_from_every_description_shape() {
        let full = key("v1.2.3 @ 0123456 · https://github.com/o/r/actions/runs/42");
        assert_eq!(full.release, Some(Version::new(1, 2, 3)));
        assert_eq!(full.run_id, Some(42));
        let branch = key("main @ 0123456 · https://github.com/o/r/actions/runs/7");
        assert_eq!((branch.release, branch.run_id), (None, Some(7)));
        let no_label = key("@ 0123456 · https://ghe.example/o/r/actions/runs/9");
        assert_eq!((no_label.release, no_label.run_id), (None, Some(9)));
        let no_url = key("v2.0.0 @ 0123456");
        assert_eq!(
            (no_url.release, no_url.run_id),
            (Some(Version::new(2, 0, 0)), None)
        );
        let no_sha = key("v2.0.0 · https://github.com/o/r/actions/runs/5");
        assert_eq!(no_sha.release, Some(Version::new(2, 0, 0)));
        assert_eq!(no_sha.run_id, Some(5));
        assert_eq!(key(""), OrderKey::default());
        assert_eq!(key("hand written"), OrderKey::default());
        assert_eq!(key("lambda-deploy 0.1.0"), OrderKey::default());
    }

    #[test]
    fn alias_descriptions_round_trip_and_are_told_apart() {
        let keys = [
            OrderKey {
                release: tags::release_version("v1.3.0-rc.1+b.7"),
                run_id: Some(8123456702),
            },
            OrderKey {
                release: None,
                run_id: Some(7),
            },
            OrderKey {
                release: tags::release_version("v2.0.0"),
                run_id: None,
            },
            OrderKey::default(),
        ];
        for k in keys {
            let d = k.alias_description();
            assert!(d.len() <= MAX_ALIAS_DESCRIPTION, "{d}");
            assert_eq!(OrderKey::from_alias_description(&d), Some(k), "{d}");
        }
        assert_eq!(
            OrderKey {
                release: tags::release_version("v1.3.0"),
                run_id: Some(42)
            }
            .alias_description(),
            "lambda-deploy: moved by release v1.3.0, run 42"
        );
        // Not ours: a hand-written description, or a version's provenance line.
        assert_eq!(OrderKey::from_alias_description(""), None);
        assert_eq!(
            OrderKey::from_alias_description("v9.0.0 @ 0123456 · https://x/actions/runs/1"),
            None
        );
        let long = OrderKey {
            release: tags::release_version(&format!("v1.0.0+{}", "b".repeat(300))),
            run_id: Some(1),
        };
        let d = long.alias_description();
        assert!(d.len() <= MAX_ALIAS_DESCRIPTION, "{d}");
        assert_eq!(
            OrderKey::from_alias_description(&d).and_then(|k| k.release),
            tags::release_version("v1.0.0")
        );
    }

    #[test]
    fn a_branch_named_like_a_version_is_no_release() {
        use crate::context::GitHubContext;
        let ctx = |trigger| GitHubContext {
            trigger,
            run_id: Some("9".into()),
            ..GitHubContext::default()
        };
        let branch = OrderKey::of_run(&ctx(Trigger::Branch {
            name: "v99.0.0".into(),
        }));
        assert_eq!((branch.release, branch.run_id), (None, Some(9)));
        let tag = OrderKey::of_run(&ctx(Trigger::Release {
            tag: "v1.2.3".into(),
        }));
        assert_eq!(tag.release, Some(Version::new(1, 2, 3)));
    }

    #[test]
    fn an_older_run_never_moves_an_alias_back() {
        let run = |n: u64| OrderKey {
            release: None,
            run_id: Some(n),
        };
        assert_eq!(verdict(&run(5), &run(4)), Verdict::Move);
        assert_eq!(verdict(&run(5), &run(5)), Verdict::Move);
        assert!(matches!(verdict(&run(4), &run(5)), Verdict::Older(_)));
        assert_eq!(verdict(&OrderKey::default(), &run(5)), Verdict::Move);
        assert_eq!(verdict(&run(5), &OrderKey::default()), Verdict::Move);
    }

    #[test]
    fn releases_compare_by_semver_not_by_run() {
        let rel = |v: &str, n: u64| OrderKey {
            release: tags::release_version(v),
            run_id: Some(n),
        };
        // A re-run of the v1.2.3 workflow (a newer run id) must not move v1 back from v1.3.0.
        let v = verdict(&rel("v1.2.3", 90), &rel("v1.3.0", 80));
        assert_eq!(
            v,
            Verdict::Older("it serves release 1.3.0, newer than this run's 1.2.3".into())
        );
        assert_eq!(
            verdict(&rel("v1.3.0", 80), &rel("v1.2.3", 90)),
            Verdict::Move
        );
        assert!(matches!(
            verdict(&rel("v1.3.0-rc.1", 95), &rel("v1.3.0", 90)),
            Verdict::Older(_)
        ));
        assert_eq!(
            verdict(&rel("v1.3.0+b.2", 91), &rel("v1.3.0+b.1", 90)),
            Verdict::Move
        );
    }
}
