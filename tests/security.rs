//! Hostile input and secrets: property tests of every input parser (bounded here; run
//! longer with `PROPTEST_CASES=100000 cargo test --test security`), packaging that never
//! leaves source-dir, broken event payloads, and secrets that never reach any output.

mod support;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use lambda_deploy::config::{Config, RawInputs};
use lambda_deploy::context::GitHubContext;
use lambda_deploy::order::OrderKey;
use lambda_deploy::package::{self, ExcludeSet, PackageError};
use lambda_deploy::tags;
use lambda_deploy::types::{AliasName, FunctionName};
use proptest::prelude::*;
use support::faults::{Deployed, FaultProxy};

use support::cases;

/// Text an attacker or a typo could put in an input: any Unicode, or the characters the
/// parsers split and quote on, in dense mixes.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9=_ .,:/#@+*?!{}\\[\\]\"'\\\\\\n\\r\\t$-]{0,120}",
        "([A-Z_]{1,8}=[^\\n]{0,20}\\n){0,60}",
        "(v?[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}(-[a-z0-9.]{0,12})?(\\+[a-z0-9.]{0,8})?)",
    ]
}

fn alias_ok(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !s.chars().all(|c| c.is_ascii_digit())
}

/// The inputs the parser property varies, in the order of [`Fields`].
const FIELDS: [&str; 8] = [
    "function-name",
    "environment",
    "tags",
    "exclude",
    "alias",
    "layers",
    "smoke-test",
    "memory-size",
];

type Fields = [String; 8];

/// A value of each of [`FIELDS`] that the parsers must accept.
fn valid_fields() -> impl Strategy<Value = Fields> {
    (
        "[a-z][a-z0-9-]{0,30}",
        prop::collection::btree_map("APP_[A-Z0-9_]{0,10}", "[a-z0-9 .:/-]{0,20}", 0..8),
        prop::collection::btree_map("team[0-9]{0,3}", "[a-z0-9 ._-]{0,10}", 0..5),
        prop::collection::vec(
            prop_oneof!["[a-z]{1,8}/\\*\\*", "\\*\\.pyc", "[a-z]{1,8}\\.txt"],
            0..4,
        ),
        prop::collection::vec("live[a-z0-9_-]{0,20}", 0..3),
        prop::collection::vec(
            "arn:aws:lambda:us-east-1:123456789012:layer:[a-z][a-z0-9_-]{0,10}:[1-9][0-9]{0,3}",
            0..3,
        ),
        ("[a-z]{1,8}", 0u32..1000),
        128u32..=10240,
    )
        .prop_map(
            |(name, env, tags, exclude, alias, layers, (key, n), memory)| {
                let lines = |m: BTreeMap<String, String>| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                [
                    name,
                    lines(env),
                    lines(tags),
                    exclude.join("\n"),
                    alias.join("\n"),
                    layers.join("\n"),
                    format!("{{\"{key}\": {n}}}"),
                    memory.to_string(),
                ]
            },
        )
}

fn raw_inputs(f: &Fields) -> RawInputs {
    RawInputs {
        function_name: Some(f[0].clone()),
        source_dir: Some("examples/python-hello".into()),
        environment: Some(f[1].clone()),
        tags: Some(f[2].clone()),
        exclude: Some(f[3].clone()),
        alias: Some(f[4].clone()),
        layers: Some(f[5].clone()),
        smoke_test: Some(f[6].clone()),
        memory_size: Some(f[7].clone()),
        ..RawInputs::default()
    }
}

/// What a parsed configuration must hold, whatever the inputs were.
fn check_accepted(c: Config) -> Result<(), TestCaseError> {
    let vars = c.settings.environment.unwrap_or_default();
    for k in vars.keys() {
        prop_assert!(
            k.chars().next().is_some_and(|c| c.is_ascii_alphabetic()),
            "{k}"
        );
        prop_assert!(
            k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{k}"
        );
    }
    prop_assert!(vars.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() <= 4096);
    prop_assert!(c.settings.tags.len() <= 50);
    for k in c.settings.tags.keys() {
        prop_assert!(!k.to_ascii_lowercase().starts_with("aws:"));
    }
    for a in &c.aliases {
        prop_assert!(alias_ok(a.as_str()), "{a}");
    }
    let m = c.settings.memory_size.unwrap_or(128);
    prop_assert!((128..=10240).contains(&m));
    Ok(())
}

/// Each case starts from valid inputs, then makes one of them hostile (`mode` 0 to 7),
/// several at random (`mode` 8), or none (`mode` 9 to 11). Valid inputs must be accepted;
/// a refusal must name only inputs that were made hostile; an accepted configuration must
/// hold only valid values. Since that last check only means something when the `Ok` arm
/// runs, the test also asserts that it ran in a good share of the cases.
#[test]
fn input_parsers_never_panic_and_accept_only_valid_values() {
    let config = cases(256);
    let total = config.cases;
    let accepted = std::sync::atomic::AtomicU32::new(0);
    let hostile_ok = std::sync::atomic::AtomicU32::new(0);
    let strategy = (
        valid_fields(),
        0usize..12,
        prop::collection::vec(hostile(), 8),
        prop::collection::vec(prop::bool::weighted(0.3), 8),
    );
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let result = runner.run(&strategy, |(valid, mode, bad, mix)| {
        let mut fields = valid.clone();
        let mut changed = [false; 8];
        for i in 0..8 {
            if mode == i || (mode == 8 && mix[i]) {
                fields[i] = bad[i].clone();
                changed[i] = fields[i] != valid[i];
            }
        }
        match Config::from_raw(&raw_inputs(&fields), &support::manifest_dir()) {
            Ok(c) => {
                accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if changed.contains(&true) {
                    hostile_ok.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                check_accepted(c)?;
            }
            Err(errors) => {
                prop_assert!(
                    changed.contains(&true),
                    "valid inputs were refused: {errors}\n{fields:?}"
                );
                for e in &errors.0 {
                    prop_assert!(!e.message.trim().is_empty());
                    prop_assert!(
                        !e.message.starts_with(|c: char| c.is_ascii_uppercase()),
                        "not lowercase: {}",
                        e.message
                    );
                    let named = FIELDS.iter().position(|f| *f == e.input);
                    prop_assert!(
                        named.is_some_and(|i| changed[i]),
                        "the error names {}, which was valid: {e}\n{fields:?}",
                        e.input
                    );
                }
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let accepted = accepted.into_inner();
    eprintln!(
        "{accepted} of {total} cases accepted ({} with a hostile value)",
        hostile_ok.into_inner()
    );
    // A quarter of the cases are all valid, so about a third are accepted.
    assert!(
        accepted * 5 >= total,
        "only {accepted} of {total} cases reached the Ok arm"
    );
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn names_and_tags_derived_from_any_ref_are_valid(raw in hostile()) {
        let _ = raw.parse::<FunctionName>();
        if let Ok(a) = raw.parse::<AliasName>() {
            prop_assert!(alias_ok(a.as_str()), "{a}");
        }
        if let Some(a) = tags::alias_name(&raw) {
            prop_assert!(alias_ok(a.as_str()), "{a}");
        }
        prop_assert!(tags::is_valid_image_tag(&tags::oci_tag(&raw)));
        if let Some(v) = tags::release_version(&raw) {
            for a in tags::semver_aliases(&v) {
                prop_assert!(alias_ok(a.as_str()), "{a}");
            }
            for t in tags::version_image_tags(&v) {
                prop_assert!(tags::is_valid_image_tag(&t), "{t}");
            }
        }
        let _ = OrderKey::from_description(&raw);
        let _ = tags::parse_description_sha(&raw);
    }

    #[test]
    fn descriptions_keep_their_order_key_and_sha_whatever_the_ref(
        label in hostile(), run in 1u64..u64::MAX / 2, sha in "[0-9a-f]{40}",
        tag in prop::bool::ANY,
    ) {
        let label = label.replace(['\n', '\r'], " ");
        let git_ref = if tag { format!("refs/tags/{label}") } else { format!("refs/heads/{label}") };
        let env: BTreeMap<&str, String> = [
            ("GITHUB_REF", git_ref),
            ("GITHUB_SHA", sha.clone()),
            ("GITHUB_REPOSITORY", "octo/app".to_string()),
            ("GITHUB_RUN_ID", run.to_string()),
        ]
        .into_iter()
        .collect();
        let ctx = GitHubContext::from_env(|k| env.get(k).cloned()).expect("context");
        let desc = tags::version_description(&ctx);
        prop_assert!(desc.len() <= tags::MAX_DESCRIPTION_LEN);
        prop_assert_eq!(tags::parse_description_sha(&desc), Some(sha[..7].to_string()));
        prop_assert_eq!(OrderKey::from_description(&desc).run_id, Some(run));
    }
}

/// Builds a tree of `paths` (files; parents made as needed) under `root`.
fn build_tree(root: &Path, paths: &[Vec<String>]) -> Vec<String> {
    let mut files = Vec::new();
    for p in paths {
        let rel = p.join("/");
        let target = root.join(&rel);
        if target.exists() || target.ancestors().any(|a| a.is_file()) {
            continue;
        }
        if std::fs::create_dir_all(target.parent().expect("parent")).is_err() {
            continue;
        }
        if std::fs::write(&target, rel.as_bytes()).is_ok() {
            files.push(rel);
        }
    }
    files
}

/// What the packager must say about one entry of a tree, worked out here from the rules
/// the README states, independently of the packager's code.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Verdict {
    /// A name with a backslash (`path` is the first such component's path).
    BadName(String),
    /// A link whose target climbs out of source-dir, or is absolute.
    Outside(String),
    /// A link whose target does not exist.
    Dangling(String),
}

/// Resolves `target` as the link at `link` would, one component at a time over a tree of
/// `files` and their folders: `..` above the root is outside; a missing component is
/// dangling, even when a later `..` would step back over it.
fn link_verdict(files: &[String], link: &str, target: &str) -> Option<Verdict> {
    if target.starts_with('/') {
        return Some(Verdict::Outside(link.to_string()));
    }
    let exists = |p: &[&str]| {
        let joined = p.join("/");
        files
            .iter()
            .any(|f| *f == joined || f.starts_with(&format!("{joined}/")))
    };
    let mut stack: Vec<&str> = link.split('/').collect();
    stack.pop();
    for comp in target.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                if stack.pop().is_none() {
                    return Some(Verdict::Outside(link.to_string()));
                }
            }
            name => {
                stack.push(name);
                if !exists(&stack) {
                    return Some(Verdict::Dangling(link.to_string()));
                }
            }
        }
    }
    None
}

/// A name component: mostly from a small alphabet, so link targets often hit it, some
/// longer names with dots, and some with a backslash.
fn component() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[abc]",
        2 => "[a-z0-9._~-]{1,6}|[é日🙂]",
        1 => "[a-c.]{0,3}\\\\[a-c.]{0,3}",
    ]
    .prop_filter("not . or ..", |c| c != "." && c != "..")
}

/// A link target: `..` chains, `.`, names of the tree, missing names; sometimes absolute.
fn link_target() -> impl Strategy<Value = String> {
    (
        prop::bool::weighted(0.1),
        prop::collection::vec(
            prop_oneof![
                3 => Just("..".to_string()),
                1 => Just(".".to_string()),
                4 => "[abc]",
                1 => Just("missing".to_string()),
            ],
            1..6,
        ),
    )
        .prop_map(|(absolute, parts)| {
            format!("{}{}", if absolute { "/" } else { "" }, parts.join("/"))
        })
}

fn unix_mode_of(archive: &mut zip::ZipArchive<std::fs::File>, i: usize) -> u32 {
    archive.by_index(i).expect("entry").unix_mode().unwrap_or(0)
}

proptest! {
    #![proptest_config(cases(64))]

    /// Trees with backslashes in names and links whose targets climb with `..`, stay put
    /// with `.`, name missing entries or are absolute: the packager refuses exactly the
    /// trees the rules refuse (with one of the entries the rules name), and every zip it
    /// writes holds exactly the tree, with relative, clean names and links kept as links.
    #[test]
    fn every_zip_entry_name_is_relative_and_clean(
        paths in prop::collection::vec(prop::collection::vec(component(), 1..4), 1..10),
        links in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), link_target()), 0..4),
    ) {
        let src = tempfile::tempdir().expect("src");
        let files = build_tree(src.path(), &paths);
        prop_assume!(!files.is_empty());
        // Each link goes into a folder of the tree (or its root).
        let mut made_links = Vec::new();
        for (n, (file, depth, target)) in links.iter().enumerate() {
            let f = file.get(&files);
            let parts: Vec<&str> = f.split('/').collect();
            let parent = parts[..depth.index(parts.len())].join("/");
            let link = if parent.is_empty() { format!("lnk{n}") } else { format!("{parent}/lnk{n}") };
            // A file of the tree may already have the name.
            if std::os::unix::fs::symlink(target, src.path().join(&link)).is_ok() {
                made_links.push((link, target.clone()));
            }
        }
        let mut expected = std::collections::BTreeSet::new();
        for f in &files {
            let parts: Vec<&str> = f.split('/').collect();
            if let Some(i) = parts.iter().position(|c| c.contains('\\')) {
                expected.insert(Verdict::BadName(parts[..=i].join("/")));
            }
        }
        for (link, target) in &made_links {
            if !link.contains('\\') {
                expected.extend(link_verdict(&files, link, target));
            }
        }
        let out = tempfile::tempdir().expect("out");
        let zip_path = out.path().join("p.zip");
        let none = ExcludeSet::new::<&str>(&[]).expect("set");
        let result = package::write_zip(src.path(), &none, &zip_path);
        let info = match result {
            Err(e) => {
                let got = match &e {
                    PackageError::BadName { path, .. } => Verdict::BadName(path.clone()),
                    PackageError::SymlinkOutside { link, .. } => Verdict::Outside(link.clone()),
                    PackageError::SymlinkDangling { link, .. } => Verdict::Dangling(link.clone()),
                    other => return Err(TestCaseError::fail(format!("unexpected error {other:?}"))),
                };
                prop_assert!(expected.contains(&got), "refused for {got:?}, the rules say {expected:?}");
                prop_assert!(!zip_path.exists(), "no partial zip is left");
                return Ok(());
            }
            Ok(info) => info,
        };
        prop_assert!(expected.is_empty(), "accepted a tree the rules refuse: {expected:?}");
        let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip_path).expect("zip")).expect("read");
        let mut names = std::collections::BTreeSet::new();
        for i in 0..archive.len() {
            let name = archive.by_index(i).expect("entry").name().expect("utf-8 name").to_string();
            let body = name.strip_suffix('/').unwrap_or(&name);
            prop_assert!(!name.starts_with('/') && !name.contains('\\'), "{name}");
            prop_assert!(body.split('/').all(|c| !c.is_empty() && c != "." && c != ".."), "{name}");
            if let Some((_, target)) = made_links.iter().find(|(l, _)| *l == name) {
                prop_assert_eq!(unix_mode_of(&mut archive, i) & 0o170000, 0o120000, "{} is not a link", name);
                let mut text = String::new();
                archive.by_index(i).expect("entry").read_to_string(&mut text).expect("target");
                prop_assert_eq!(&text, target);
            }
            names.insert(name);
        }
        let mut want = std::collections::BTreeSet::new();
        for f in &files {
            let parts: Vec<&str> = f.split('/').collect();
            for i in 1..parts.len() {
                want.insert(format!("{}/", parts[..i].join("/")));
            }
            want.insert(f.clone());
        }
        want.extend(made_links.iter().map(|(l, _)| l.clone()));
        prop_assert_eq!(names, want);
        prop_assert_eq!(info.entries as usize, archive.len());
    }
}

#[test]
fn sockets_and_links_out_of_source_dir_are_refused() {
    let src = tempfile::tempdir().expect("src");
    std::fs::write(src.path().join("app.py"), "x").expect("write");
    let _sock =
        std::os::unix::net::UnixListener::bind(src.path().join("agent.sock")).expect("bind");
    let out = tempfile::tempdir().expect("out");
    let none = ExcludeSet::new::<&str>(&[]).expect("set");
    let err = package::write_zip(src.path(), &none, &out.path().join("a.zip")).expect_err("socket");
    assert!(matches!(err, PackageError::SpecialFile { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with("'agent.sock' is a socket"),
        "{err}"
    );

    let src = tempfile::tempdir().expect("src");
    std::os::unix::fs::symlink("/dev/null", src.path().join("null")).expect("link");
    let err = package::write_zip(src.path(), &none, &out.path().join("b.zip")).expect_err("device");
    assert!(err.to_string().contains("outside source-dir"), "{err}");

    // A name that a Windows unzip would read as `..\evil`, stepping out of the folder.
    let src = tempfile::tempdir().expect("src");
    std::fs::write(src.path().join("..\\evil"), "x").expect("write");
    let err =
        package::write_zip(src.path(), &none, &out.path().join("c.zip")).expect_err("backslash");
    assert!(err.to_string().contains('\\'), "{err}");
    assert!(!out.path().join("c.zip").exists(), "no partial zip is left");
}

#[test]
#[allow(clippy::too_many_lines, reason = "one table row per broken payload")]
fn broken_event_payloads_fail_clearly_before_any_aws_call() {
    let proxy = FaultProxy::for_lambda();
    let dir = tempfile::tempdir().expect("dir");
    let head = r#""head": {"ref": "f", "sha": "0123456789abcdef0123456789abcdef01234567", "repo": {"full_name": "o/r"}}"#;
    let base = r#""base": {"ref": "main", "repo": {"full_name": "o/r"}}"#;
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "truncated",
            r#"{"action": "opened", "pull_re"#.into(),
            "is not a valid 'pull_request' payload",
        ),
        (
            "not an object",
            "[1, 2]".into(),
            "is not a valid 'pull_request' payload",
        ),
        ("empty object", "{}".into(), "has no action"),
        (
            "no pull_request",
            r#"{"action": "opened", "number": 1}"#.into(),
            "has no pull_request;",
        ),
        (
            "no head sha",
            format!(
                r#"{{"action": "opened", "number": 1, "pull_request": {{"head": {{"ref": "f"}}, {base}}}}}"#
            ),
            "has no pull_request.head.sha",
        ),
        (
            "bad sha",
            format!(
                r#"{{"action": "opened", "number": 1, "pull_request": {{"head": {{"ref": "f", "sha": "$(reboot)"}}, {base}}}}}"#
            ),
            "is not a 40-hex-digit commit SHA",
        ),
        (
            "number as text",
            format!(r#"{{"action": "opened", "number": "7", "pull_request": {{{head}, {base}}}}}"#),
            "invalid type",
        ),
        (
            "binary",
            "\u{0}\u{1}\u{2}".into(),
            "is not a valid 'pull_request' payload",
        ),
    ];
    for (what, body, expected) in cases {
        let path = dir.path().join(format!("{}.json", what.replace(' ', "-")));
        std::fs::write(&path, body).expect("write payload");
        let p = support::path_str(&path);
        let run = support::deploy(
            &[
                ("function-name", "payload-test"),
                ("source-dir", "examples/python-hello"),
            ],
            &[
                ("GITHUB_EVENT_NAME", "pull_request"),
                ("GITHUB_EVENT_PATH", &p),
                ("AWS_ENDPOINT_URL", &proxy.url),
            ],
            &[],
        );
        assert!(!run.ok(), "{what}: accepted");
        let err = run.stderr();
        assert!(
            err.contains(expected) && err.contains("GITHUB_EVENT_PATH"),
            "{what}: {err}"
        );
    }
    let run = support::deploy(
        &[
            ("function-name", "payload-test"),
            ("source-dir", "examples/python-hello"),
        ],
        &[
            ("GITHUB_EVENT_NAME", "pull_request_target"),
            ("GITHUB_EVENT_PATH", "/nonexistent/event.json"),
            ("AWS_ENDPOINT_URL", &proxy.url),
        ],
        &[],
    );
    assert!(
        run.stderr().contains(
            "cannot read the event payload at GITHUB_EVENT_PATH (/nonexistent/event.json)"
        ),
        "{}",
        run.stderr()
    );
    let run = support::deploy(
        &[
            ("function-name", "payload-test"),
            ("source-dir", "examples/python-hello"),
        ],
        &[
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("AWS_ENDPOINT_URL", &proxy.url),
        ],
        &[],
    );
    assert!(
        run.stderr().contains("GITHUB_EVENT_PATH is not set"),
        "{}",
        run.stderr()
    );
    assert!(
        proxy.log().is_empty(),
        "no AWS call was made: {:?}",
        proxy.log()
    );
}

const TOKEN: &str = "ghs_FAKEtokenQ7x1Z9sEcReT0000000000000";
const SECRET_KEY: &str = "wJalrFAKEsecretKEYk7MDENGbPxRfiCYZZZ9";
const SESSION: &str = "IQoJFAKEsessionTOKENb3JpZ2luX2VjEJr1";

#[track_caller]
fn assert_no_secret(run: &support::Run, what: &str) {
    let stdout = run.stdout();
    for secret in [TOKEN, SECRET_KEY, SESSION] {
        let mask = format!("::add-mask::{secret}");
        assert!(stdout.contains(&mask), "{what}: {secret} was not masked");
        let before = stdout.split(&mask).next().unwrap_or_default();
        assert!(
            before.lines().all(|l| l.starts_with("::add-mask::")),
            "{what}: output came before the masks:\n{before}"
        );
        let rest = run.everything().replace(&mask, "");
        assert!(!rest.contains(secret), "{what}: {secret} leaked");
    }
}

#[test]
fn secrets_are_masked_first_and_never_printed_even_with_debug_logs() {
    let f = Deployed::new("secrets");
    let proxy = FaultProxy::for_lambda();
    let env = |log: &'static str| -> Vec<(&'static str, &'static str)> {
        vec![
            ("GITHUB_ACTIONS", "true"),
            ("RUNNER_DEBUG", "1"),
            ("LAMBDA_DEPLOY_LOG", log),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
            ("AWS_SESSION_TOKEN", SESSION),
        ]
    };
    // RUNNER_DEBUG=1 alone (the filter the runner's debug mode gives), then every crate,
    // the AWS SDK included, at debug.
    for (i, log) in ["", "debug"].into_iter().enumerate() {
        f.change_code(&format!("secrets {i}"));
        let run = f.deploy(Some(&proxy), &[("github-token", TOKEN)], &env(log));
        run.assert_ok();
        assert_no_secret(&run, &format!("deploy with LAMBDA_DEPLOY_LOG='{log}'"));
        if log == "debug" {
            assert!(run.stderr().contains("DEBUG"), "debug logging was on");
        }
    }
    // A failure: the error text, its annotation and the failure summary.
    f.change_code("secrets failing");
    proxy.add(
        serde_json::json!([{"match": {"method": "PUT", "path": "/code$"}, "times": -1,
        "fault": {"status": 403, "error": "AccessDeniedException", "message": "denied"}}]),
    );
    let run = f.deploy(Some(&proxy), &[("github-token", TOKEN)], &env("debug"));
    assert!(!run.ok());
    assert!(run.summary.contains("deploy failed"), "{}", run.summary);
    assert_no_secret(&run, "failed deploy");
}
