//! Table tests: event fixture + inputs -> the aliases a run moves.

use super::*;
use crate::domain::description::VersionDescription;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events")
}

fn fixture(name: &str) -> GitHubContext {
    let text = std::fs::read_to_string(events_dir().join("env.json")).unwrap();
    let all: HashMap<String, HashMap<String, String>> = serde_json::from_str(&text).unwrap();
    let mut env = all[name].clone();
    env.insert(
        "GITHUB_EVENT_PATH".into(),
        events_dir().join(name).display().to_string(),
    );
    GitHubContext::from_env(|k| env.get(k).cloned()).unwrap()
}

fn with_tag(tag: &str) -> GitHubContext {
    GitHubContext {
        trigger: Trigger::Release { tag: tag.into() },
        ..fixture("push-tag.json")
    }
}

fn rules(aliases: &[&str]) -> Rules {
    Rules {
        aliases: aliases.iter().map(|a| a.parse().unwrap()).collect(),
        semver_aliases: true,
        preview: true,
        publish: true,
        function_url: FunctionUrl::None,
    }
}

fn names(t: &Targets) -> Vec<String> {
    t.moves.iter().map(|m| m.alias.to_string()).collect()
}

#[test]
fn fixtures_give_the_expected_moves() {
    let no_semver = Rules {
        semver_aliases: false,
        ..rules(&["live"])
    };
    let no_preview = Rules {
        preview: false,
        ..rules(&["live"])
    };
    // (fixture, rules, mode, aliases moved)
    let rows: Vec<(&str, Rules, Mode, &[&str])> = vec![
        (
            "push-tag.json",
            rules(&["live"]),
            Mode::Deploy,
            &["live", "v1-2-3", "v1-2", "v1"],
        ),
        (
            "push-tag.json",
            rules(&[]),
            Mode::Deploy,
            &["v1-2-3", "v1-2", "v1"],
        ),
        ("push-tag.json", no_semver, Mode::Deploy, &["live"]),
        (
            "push-prerelease-tag.json",
            rules(&[]),
            Mode::Deploy,
            &["v2-0-0-rc-1"],
        ),
        (
            "push-branch.json",
            rules(&["live"]),
            Mode::Deploy,
            &["live"],
        ),
        (
            "workflow-dispatch.json",
            rules(&["live", "stable"]),
            Mode::Deploy,
            &["live", "stable"],
        ),
        (
            "pull-request-opened.json",
            rules(&["live"]),
            Mode::Preview { number: 12 },
            &["pr-12"],
        ),
        (
            "pull-request-synchronize.json",
            rules(&["live", "v1"]),
            Mode::Preview { number: 12 },
            &["pr-12"],
        ),
        (
            "pull-request-fork.json",
            rules(&["live"]),
            Mode::Preview { number: 34 },
            &["pr-34"],
        ),
        (
            "pull-request-closed.json",
            rules(&["live"]),
            Mode::RemovePreview { number: 12 },
            &[],
        ),
        (
            "pull-request-opened.json",
            no_preview,
            Mode::Deploy,
            &["live"],
        ),
    ];
    for (name, rules, mode, expected) in rows {
        let t = compute(&rules, &fixture(name)).unwrap();
        assert_eq!(t.mode, mode, "{name}");
        assert_eq!(names(&t), expected, "{name}");
        assert!(t.warnings.is_empty(), "{name}: {:?}", t.warnings);
    }
}

// Every pull request activity but `closed` keeps the preview current: a workflow that
// also runs on `labeled` or `ready_for_review` deploys the preview then too.
#[test]
fn any_pull_request_activity_but_closed_deploys_the_preview() {
    let base = fixture("pull-request-opened.json");
    for action in [
        PrAction::Reopened,
        PrAction::Other("labeled".into()),
        PrAction::Other("ready_for_review".into()),
    ] {
        let mut ctx = base.clone();
        let Trigger::PullRequest { action: a, .. } = &mut ctx.trigger else {
            panic!("the fixture is a pull request event")
        };
        *a = action.clone();
        let t = compute(&rules(&["live"]), &ctx).unwrap();
        assert_eq!(t.mode, Mode::Preview { number: 12 }, "{action:?}");
        assert_eq!(names(&t), ["pr-12"], "{action:?}");
    }
}

#[test]
fn semver_targets_carry_their_release_and_stable_ones_do_not() {
    let t = compute(&rules(&["live", "v1"]), &fixture("push-tag.json")).unwrap();
    let kinds: Vec<(String, Option<String>)> = t
        .moves
        .iter()
        .map(|m| (m.alias.to_string(), m.release().map(|v| v.to_string())))
        .collect();
    // `v1` is named in `alias` too: it keeps the release guard, once.
    assert_eq!(
        kinds,
        vec![
            ("live".into(), None),
            ("v1".into(), Some("1.2.3".into())),
            ("v1-2-3".into(), Some("1.2.3".into())),
            ("v1-2".into(), Some("1.2.3".into())),
        ]
    );
}

#[test]
fn tags_give_semver_aliases_or_a_warning() {
    let rows: [(&str, &[&str], bool); 7] = [
        ("v1.2.3", &["v1-2-3", "v1-2", "v1"], false),
        ("1.2.3", &["v1-2-3", "v1-2", "v1"], false),
        ("v2.0.0-rc.1", &["v2-0-0-rc-1"], false),
        ("v1.2.3+build.5", &["v1-2-3", "v1-2", "v1"], false),
        ("release-2024", &[], true),
        ("v1.2", &[], true),
        ("nightly", &[], true),
    ];
    for (tag, expected, warns) in rows {
        let t = compute(&rules(&[]), &with_tag(tag)).unwrap();
        assert_eq!(names(&t), expected, "{tag}");
        assert_eq!(!t.warnings.is_empty(), warns, "{tag}: {:?}", t.warnings);
        if warns {
            assert!(t.warnings[0].contains("is not a semver version"), "{tag}");
        }
    }
}

#[test]
fn function_url_goes_on_the_preview_or_the_first_alias() {
    let public = |aliases: &[&str]| Rules {
        function_url: FunctionUrl::Public,
        ..rules(aliases)
    };
    let url = |r: &Rules, f: &str| {
        compute(r, &fixture(f))
            .unwrap()
            .url_alias
            .map(|a| a.to_string())
    };
    assert_eq!(
        url(&public(&["live"]), "pull-request-opened.json").as_deref(),
        Some("pr-12")
    );
    assert_eq!(
        url(&public(&["live", "b"]), "push-branch.json").as_deref(),
        Some("live")
    );
    assert_eq!(url(&public(&["live"]), "pull-request-closed.json"), None);
    assert_eq!(url(&rules(&["live"]), "pull-request-opened.json"), None);
    let t = compute(&public(&[]), &fixture("push-branch.json")).unwrap();
    assert_eq!(t.url_alias, None);
    assert!(t.warnings[0].contains("no function URL was created"));
}

#[test]
fn a_preview_needs_a_published_version() {
    let r = Rules {
        publish: false,
        ..rules(&[])
    };
    let err = compute(&r, &fixture("pull-request-opened.json")).unwrap_err();
    assert!(err.to_string().starts_with("input preview: "), "{err}");
    // Closing needs no version.
    assert!(compute(&r, &fixture("pull-request-closed.json")).is_ok());
}

#[test]
fn only_a_closed_pull_request_may_omit_the_package() {
    for (name, rule) in [
        ("pull-request-closed.json", PackageRule::ClosingPullRequest),
        ("pull-request-opened.json", PackageRule::Required),
        ("push-tag.json", PackageRule::Required),
        ("push-branch.json", PackageRule::Required),
    ] {
        assert_eq!(package_rule(&fixture(name)), rule, "{name}");
    }
}

#[test]
fn releases_are_read_back_from_descriptions() {
    let rows = [
        (
            "v1.3.0 @ 0123456 · https://github.com/o/r/actions/runs/1",
            Some("1.3.0"),
        ),
        ("v2.0.0-rc.1 @ 0123456", Some("2.0.0-rc.1")),
        ("1.2.3", Some("1.2.3")),
        (
            "v1.2.3 · https://github.com/o/r/actions/runs/1",
            Some("1.2.3"),
        ),
        ("main @ 0123456 · https://x", None),
        ("pull request #12 @ 0123456", None),
        ("@ 0123456 · https://x", None),
        ("", None),
        ("lambda-deploy 0.1.0", None),
    ];
    for (desc, expected) in rows {
        assert_eq!(
            VersionDescription::parse(desc)
                .release()
                .map(|v| v.to_string())
                .as_deref(),
            expected,
            "{desc}"
        );
    }
}

#[test]
fn a_release_never_moves_an_alias_backwards() {
    let v = |s: &str| Version::parse(s).unwrap();
    // (alias, this run's release, the release it serves, blocked)
    let rows = [
        ("v1", "1.2.4", "1.3.0", true),
        ("v1", "1.3.1", "1.3.0", false),
        ("v1", "1.3.0", "1.3.0", false),
        ("v1-3", "1.3.0", "1.3.0-rc.1", false),
        ("v2-0-0-rc-2", "2.0.0-rc.2", "2.0.0-rc.10", true),
        ("v1", "1.3.0+build.2", "1.3.0+build.1", false),
    ];
    for (alias, candidate, served, blocked) in rows {
        let reason = backwards_reason(alias, &v(candidate), &v(served));
        assert_eq!(
            reason.is_some(),
            blocked,
            "{alias} {candidate} over {served}"
        );
        if let Some(r) = reason {
            assert!(r.contains(&format!("serves v{served}")), "{r}");
        }
    }
}
