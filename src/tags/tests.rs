//! Unit tests of the tag rules: tables of (input, expected) rows.

use super::*;
use crate::context::PrAction;
use std::collections::HashMap;
use std::path::Path;

const SHA: &str = "860c1904a1ce19322e91ac35af1ab07466440c37";

fn v(s: &str) -> Version {
    Version::parse(s).unwrap()
}

fn ctx(trigger: Trigger, sha: Option<&str>) -> GitHubContext {
    GitHubContext {
        sha: sha.map(|s| s.parse().unwrap()),
        repository: Some("o/r".into()),
        run_id: Some("42".into()),
        trigger,
        ..GitHubContext::default()
    }
}

fn release(tag: &str) -> Trigger {
    Trigger::Release { tag: tag.into() }
}

fn pull_request(number: u64) -> Trigger {
    Trigger::PullRequest {
        number,
        action: PrAction::Opened,
        head_ref: "feature".into(),
        base_ref: "main".into(),
        from_fork: false,
    }
}

#[test]
fn release_versions_from_tags() {
    let rows = [
        ("v1.2.3", Some("1.2.3")),
        ("1.2.3", Some("1.2.3")),
        ("v1.1.1", Some("1.1.1")),
        ("v0.4.0", Some("0.4.0")),
        ("v1.2.3-rc.1", Some("1.2.3-rc.1")),
        ("v2.0.8-beta.67", Some("2.0.8-beta.67")),
        ("v1.2.3+build.5", Some("1.2.3+build.5")),
        (
            "v9.5.7-alpha.2+fork.3.1.8",
            Some("9.5.7-alpha.2+fork.3.1.8"),
        ),
        ("v101.12.13", Some("101.12.13")),
        ("v1", None),
        ("v1.2", None),
        ("1.2.3.4", None),
        ("release-2024", None),
        ("release1", None),
        ("sometag", None),
        ("20200110-RC2", None),
        ("p1/v1.0.0", None),
        ("v01.2.3", None),
        ("V1.2.3", None),
        ("vv1.2.3", None),
        ("v", None),
        ("", None),
    ];
    for (tag, expected) in rows {
        assert_eq!(
            release_version(tag).map(|v| v.to_string()).as_deref(),
            expected,
            "{tag}"
        );
    }
}

#[test]
fn semver_aliases_per_version() {
    let rows: [(&str, &[&str]); 8] = [
        ("1.2.3", &["v1-2-3", "v1-2", "v1"]),
        ("1.1.1", &["v1-1-1", "v1-1", "v1"]),
        ("0.4.0", &["v0-4-0", "v0-4", "v0"]),
        ("10.20.30", &["v10-20-30", "v10-20", "v10"]),
        ("1.2.3-rc.1", &["v1-2-3-rc-1"]),
        ("2.0.8-beta.67", &["v2-0-8-beta-67"]),
        ("1.2.3+build.5", &["v1-2-3", "v1-2", "v1"]),
        ("9.5.7-alpha.2+fork.3.1.8", &["v9-5-7-alpha-2"]),
    ];
    for (version, expected) in rows {
        let got: Vec<String> = semver_aliases(&v(version))
            .iter()
            .map(|a| a.to_string())
            .collect();
        assert_eq!(got, expected, "{version}");
    }
    let long = v(&format!("1.2.3-{}", "x".repeat(200)));
    let aliases = semver_aliases(&long);
    assert_eq!(aliases.len(), 1);
    assert_eq!(aliases[0].as_str().len(), MAX_ALIAS_LEN);
}

#[test]
fn alias_names_are_sanitised() {
    let rows = [
        ("v1.2.3", Some("v1-2-3")),
        ("feature/x+y", Some("feature-x-y")),
        ("pr_7", Some("pr_7")),
        ("123", None),
        ("", None),
    ];
    for (raw, expected) in rows {
        assert_eq!(
            alias_name(raw).as_ref().map(AliasName::as_str),
            expected,
            "{raw}"
        );
    }
}

#[test]
fn preview_aliases() {
    for (n, expected) in [
        (2, "pr-2"),
        (12, "pr-12"),
        (0, "pr-0"),
        (u64::MAX, "pr-18446744073709551615"),
    ] {
        assert_eq!(preview_alias(n).as_str(), expected);
    }
}

#[test]
fn image_tags_per_trigger() {
    // (trigger, sha, expected tags)
    let rows: Vec<(Trigger, Option<&str>, &[&str])> = vec![
        (
            release("v1.2.3"),
            Some(SHA),
            &["sha-860c190", "1.2.3", "1.2", "1", "latest"],
        ),
        (release("v1.1.1"), None, &["1.1.1", "1.1", "1", "latest"]),
        (release("1.2.3"), None, &["1.2.3", "1.2", "1", "latest"]),
        (release("v0.4.0"), None, &["0.4.0", "0.4", "0", "latest"]),
        (
            release("v2.0.8-beta.67"),
            Some(SHA),
            &["sha-860c190", "2.0.8-beta.67"],
        ),
        (release("v1.2.3-rc.1"), None, &["1.2.3-rc.1"]),
        (
            release("v1.2.3+build.5"),
            None,
            &["1.2.3_build.5", "1.2", "1", "latest"],
        ),
        (
            release("v9.5.7-alpha.2+fork.3.1.8"),
            None,
            &["9.5.7-alpha.2_fork.3.1.8"],
        ),
        (release("release-2024"), Some(SHA), &["sha-860c190"]),
        (release("v1.2"), None, &[]),
        (
            Trigger::Branch {
                name: "main".into(),
            },
            Some("90dd6032fac8bda1b6c4436a2e65de27961ed071"),
            &["sha-90dd603"],
        ),
        (
            pull_request(2),
            Some("1e9249f05bfc090e0688b8fb9c1b347586add504"),
            &["sha-1e9249f", "pr-2"],
        ),
        (pull_request(2), None, &["pr-2"]),
        (Trigger::Other, None, &[]),
    ];
    for (trigger, sha, expected) in rows {
        let label = format!("{trigger:?}");
        let tags = image_tags(&ctx(trigger, sha));
        assert_eq!(tags, expected, "{label}");
        assert!(
            tags.iter().all(|t| is_valid_image_tag(t)),
            "{label}: {tags:?}"
        );
    }
}

#[test]
fn oci_tags_are_sanitised() {
    let rows = [
        ("1.2.3", "1.2.3"),
        ("feature/x", "feature-x"),
        (".hidden", "_hidden"),
        ("-dash", "_dash"),
        ("a+b", "a-b"),
        ("", "_"),
    ];
    for (raw, expected) in rows {
        assert_eq!(oci_tag(raw), expected, "{raw}");
        assert!(is_valid_image_tag(&oci_tag(raw)), "{raw}");
    }
    assert_eq!(oci_tag(&"a".repeat(300)).len(), MAX_IMAGE_TAG_LEN);
    for bad in ["", ".a", "-a", "a+b", "a/b", &"a".repeat(129)] {
        assert!(!is_valid_image_tag(bad), "{bad}");
    }
}

#[test]
fn newer_release_follows_semver_precedence() {
    let rows = [
        ("1.2.4", "1.2.3", true),
        ("1.2.3", "1.2.4", false),
        ("1.2.3", "1.2.3", false),
        ("1.10.0", "1.9.0", true),
        ("2.0.0", "1.99.99", true),
        ("1.2.3", "1.2.3-rc.1", true),
        ("1.2.3-rc.1", "1.2.3", false),
        ("1.2.3-rc.2", "1.2.3-rc.1", true),
        ("1.0.0-rc.1", "1.0.0-beta.11", true),
        ("1.0.0-beta.11", "1.0.0-beta.2", true),
        ("1.0.0-alpha.beta", "1.0.0-alpha.1", true),
        ("1.0.0-alpha.1", "1.0.0-alpha", true),
        ("2.0.0-alpha", "1.9.9", true),
        ("1.2.3+build.9", "1.2.3+build.1", false),
        ("1.2.3+build.1", "1.2.3", false),
    ];
    for (candidate, current, expected) in rows {
        assert_eq!(
            is_newer_release(&v(candidate), &v(current)),
            expected,
            "{candidate} > {current}"
        );
    }
}

#[test]
fn descriptions_carry_provenance() {
    let url = "https://github.com/o/r/actions/runs/42";
    let mut no_run = ctx(release("v1.2.3"), Some(SHA));
    no_run.run_id = None;
    let rows = [
        (
            ctx(release("v1.2.3"), Some(SHA)),
            format!("v1.2.3 @ 860c190 · {url}"),
        ),
        (
            ctx(
                Trigger::Branch {
                    name: "main".into(),
                },
                Some(SHA),
            ),
            format!("main @ 860c190 · {url}"),
        ),
        (
            ctx(pull_request(12), Some(SHA)),
            format!("pull request #12 @ 860c190 · {url}"),
        ),
        (ctx(release("v1.2.3"), None), format!("v1.2.3 · {url}")),
        (ctx(Trigger::Other, Some(SHA)), format!("@ 860c190 · {url}")),
        (no_run, "v1.2.3 @ 860c190".to_string()),
        (GitHubContext::default(), String::new()),
    ];
    for (c, expected) in rows {
        assert_eq!(version_description(&c), expected);
        let parsed = parse_description_sha(&expected);
        assert_eq!(parsed.as_deref(), c.short_sha(), "{expected}");
    }
}

#[test]
fn long_descriptions_are_cut_safely() {
    let host = |n: usize| format!("https://{}.example.com", "h".repeat(n));
    // (label, server url, run URL kept, label cut with an ellipsis, label dropped)
    let rows = [
        (
            "x".repeat(300),
            "https://github.com".to_string(),
            true,
            true,
            false,
        ),
        (
            "é".repeat(200),
            "https://github.com".to_string(),
            true,
            true,
            false,
        ),
        (
            "日本".repeat(100),
            "https://github.com".to_string(),
            true,
            true,
            false,
        ),
        (
            "x".repeat(200),
            "https://github.com".to_string(),
            true,
            false,
            false,
        ),
        ("main".to_string(), host(300), false, false, false),
        ("ü".repeat(150), host(200), true, false, true),
    ];
    for (label, server, url_kept, cut, dropped) in rows {
        let mut c = ctx(
            Trigger::Branch {
                name: label.clone(),
            },
            Some(SHA),
        );
        c.server_url = server;
        let d = version_description(&c);
        let url = c.run_url().unwrap();
        assert!(d.len() <= MAX_DESCRIPTION_LEN, "{} bytes: {d}", d.len());
        assert_eq!(parse_description_sha(&d).as_deref(), Some("860c190"), "{d}");
        assert_eq!(d.ends_with(&url), url_kept, "{d}");
        assert_eq!(d.contains('…'), cut, "{d}");
        assert_eq!(d.starts_with("@ "), dropped, "{d}");
        if !cut && !dropped {
            assert!(d.starts_with(&label), "{d}");
        }
    }
}

#[test]
fn description_sha_parsing() {
    let rows = [
        (
            "v1.2.3 @ 0123456 · https://github.com/o/r/actions/runs/42",
            Some("0123456"),
        ),
        ("main @ abcdef0", Some("abcdef0")),
        ("@ 0123456 · https://x", Some("0123456")),
        ("pull request #3 @ 89abcde · https://x", Some("89abcde")),
        ("deployed by hand", None),
        ("", None),
        ("v1 @ 01234", None),
        ("v1 @ 0123456789", None),
        ("v1 @ ABCDEF0", None),
        ("v1 @ 012345g", None),
        ("user@example.com", None),
        ("v1 @ 01234é6", None),
        // A label that itself starts with the mark (found by the property tests).
        ("@ @ 0a00aa0 · https://x", Some("0a00aa0")),
        ("a @ b @ 0123456", Some("0123456")),
        (" @ @ a00a00a · https://x", Some("a00a00a")),
    ];
    for (desc, expected) in rows {
        assert_eq!(parse_description_sha(desc).as_deref(), expected, "{desc}");
    }
}

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "one table row per event fixture, read top to bottom"
)]
fn fixtures_give_the_expected_tags() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events");
    let text = std::fs::read_to_string(dir.join("env.json")).unwrap();
    let all: HashMap<String, HashMap<String, String>> = serde_json::from_str(&text).unwrap();
    // (fixture, image tags, semver aliases, preview alias, description)
    type Row<'a> = (
        &'a str,
        &'a [&'a str],
        &'a [&'a str],
        Option<&'a str>,
        &'a str,
    );
    let rows: [Row; 8] = [
        (
            "push-branch.json",
            &["sha-0123456"],
            &[],
            None,
            "main @ 0123456 · https://github.com/octo-org/hello-lambda/actions/runs/8123456701",
        ),
        (
            "push-tag.json",
            &["sha-89abcde", "1.2.3", "1.2", "1", "latest"],
            &["v1-2-3", "v1-2", "v1"],
            None,
            "v1.2.3 @ 89abcde · https://github.com/octo-org/hello-lambda/actions/runs/8123456702",
        ),
        (
            "push-prerelease-tag.json",
            &["sha-fedcba9", "2.0.0-rc.1"],
            &["v2-0-0-rc-1"],
            None,
            "v2.0.0-rc.1 @ fedcba9 · https://github.com/octo-org/hello-lambda/actions/runs/8123456703",
        ),
        (
            "pull-request-opened.json",
            &["sha-a1b2c3d", "pr-12"],
            &[],
            Some("pr-12"),
            "pull request #12 @ a1b2c3d · https://github.com/octo-org/hello-lambda/actions/runs/8123456704",
        ),
        (
            "pull-request-synchronize.json",
            &["sha-b2c3d4e", "pr-12"],
            &[],
            Some("pr-12"),
            "pull request #12 @ b2c3d4e · https://github.com/octo-org/hello-lambda/actions/runs/8123456705",
        ),
        (
            "pull-request-closed.json",
            &["sha-b2c3d4e", "pr-12"],
            &[],
            Some("pr-12"),
            "pull request #12 @ b2c3d4e · https://github.com/octo-org/hello-lambda/actions/runs/8123456706",
        ),
        (
            "pull-request-fork.json",
            &["sha-d4e5f60", "pr-34"],
            &[],
            Some("pr-34"),
            "pull request #34 @ d4e5f60 · https://github.com/octo-org/hello-lambda/actions/runs/8123456707",
        ),
        (
            "workflow-dispatch.json",
            &["sha-0123456"],
            &[],
            None,
            "main @ 0123456 · https://github.com/octo-org/hello-lambda/actions/runs/8123456708",
        ),
    ];
    for (fixture, tags, aliases, preview, description) in rows {
        let mut env = all[fixture].clone();
        env.insert(
            "GITHUB_EVENT_PATH".into(),
            dir.join(fixture).display().to_string(),
        );
        let c = GitHubContext::from_env(|k| env.get(k).cloned()).unwrap();
        assert_eq!(image_tags(&c), tags, "{fixture}");
        let got_aliases: Vec<String> = match &c.trigger {
            Trigger::Release { tag } => release_version(tag)
                .map(|v| semver_aliases(&v))
                .unwrap_or_default(),
            _ => Vec::new(),
        }
        .iter()
        .map(|a| a.to_string())
        .collect();
        assert_eq!(got_aliases, aliases, "{fixture}");
        assert_eq!(
            c.pr_number()
                .map(preview_alias)
                .as_ref()
                .map(AliasName::as_str),
            preview,
            "{fixture}"
        );
        assert_eq!(version_description(&c), description, "{fixture}");
    }
}
