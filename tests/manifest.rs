//! Several functions in one step from a manifest: the real binary against the local AWS
//! emulator, asserting on what Lambda holds and on the `results` and `matrix` outputs.

mod support;

use std::fs;
use std::path::Path;

use support::{Run, deploy, example_copy, path_str, role, snapshot, unique};

/// A checkout with `functions/<n>` for each name (each a copy of the Python example
/// with its own greeting) and a manifest listing them, with `extra` lines after the
/// `functions:` entries' `source-dir`.
struct Repo {
    dir: tempfile::TempDir,
    names: Vec<String>,
}

impl Repo {
    fn new(prefix: &str, count: usize) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let names: Vec<String> = (0..count)
            .map(|i| unique(&format!("{prefix}{i}")))
            .collect();
        for (i, _) in names.iter().enumerate() {
            let src = example_copy("python-hello");
            let to = dir.path().join(format!("functions/f{i}"));
            fs::create_dir_all(&to).expect("mkdir");
            let code = fs::read_to_string(src.path().join("app.py")).expect("read");
            fs::write(
                to.join("app.py"),
                code.replace("hello,", &format!("hello {i},")),
            )
            .expect("write");
        }
        let repo = Self { dir, names };
        repo.write_manifest(&role(), "");
        repo
    }

    fn write_manifest(&self, role: &str, extra: &str) {
        let mut text = format!(
            "defaults:\n  runtime: python3.12\n  handler: app.handler\n  role: {role}\n  alias: live\nfunctions:\n"
        );
        for (i, n) in self.names.iter().enumerate() {
            text.push_str(&format!("  {n}:\n    source-dir: ../functions/f{i}\n"));
        }
        text.push_str(extra);
        self.write("deploy/manifest.yml", &text);
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.dir.path().join(rel);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(p, text).expect("write");
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs the step with the manifest and `inputs`.
    fn run(&self, inputs: &[(&str, &str)]) -> Run {
        self.run_args(inputs, &[])
    }

    fn run_args(&self, inputs: &[(&str, &str)], args: &[&str]) -> Run {
        let manifest = path_str(&self.path().join("deploy/manifest.yml"));
        let mut all = vec![("manifest", manifest.as_str())];
        all.extend_from_slice(inputs);
        let ws = path_str(self.path());
        deploy(&all, &[("GITHUB_WORKSPACE", ws.as_str())], args)
    }
}

fn results(run: &Run) -> serde_json::Value {
    serde_json::from_str(run.out("results")).unwrap_or_else(|e| {
        panic!(
            "results is not JSON ({e}): {:?}\n{}",
            run.out("results"),
            run.stderr()
        )
    })
}

#[test]
fn three_functions_deploy_then_only_the_changed_one_publishes() {
    let repo = Repo::new("many", 3);
    let run = repo.run(&[]);
    run.assert_ok();
    let r = results(&run);
    for n in &repo.names {
        let s = snapshot(n);
        assert!(s.exists, "{n} was not created");
        assert_eq!(s.aliases.get("live").map(String::as_str), Some("1"), "{n}");
        assert_eq!(r[n]["status"], "deployed", "{r}");
        assert_eq!(r[n]["version"], "1", "{r}");
        assert!(
            run.summary
                .contains(&format!("| `{n}` | deployed | `1` | `live` |")),
            "{}",
            run.summary
        );
    }
    for n in &repo.names {
        let folded = format!("<details><summary>{n} deployed</summary>");
        assert!(run.summary.contains(&folded), "{}", run.summary);
    }

    // Only the second function's code changes.
    let changed = &repo.names[1];
    repo.write("functions/f1/extra.py", "X = 1\n");

    let matrix = repo.run(&[("command", "matrix")]);
    matrix.assert_ok();
    let m: serde_json::Value = serde_json::from_str(matrix.out("matrix")).expect("matrix JSON");
    assert_eq!(
        m,
        serde_json::json!({"include": [{"function-name": changed}]})
    );
    assert_eq!(
        snapshot(changed).versions,
        snapshot(&repo.names[0]).versions,
        "matrix published a version"
    );

    // The command line's `matrix` subcommand gives the same list.
    let cli = repo.run_args(&[], &["matrix"]);
    cli.assert_ok();
    assert_eq!(cli.out("matrix"), matrix.out("matrix"));

    let again = repo.run(&[]);
    again.assert_ok();
    let r = results(&again);
    assert_eq!(r[changed]["status"], "deployed", "{r}");
    assert_eq!(r[changed]["version"], "2", "{r}");
    assert_eq!(
        snapshot(changed).aliases.get("live").map(String::as_str),
        Some("2")
    );
    for n in [&repo.names[0], &repo.names[2]] {
        assert_eq!(r[n]["status"], "unchanged", "{r}");
        assert_eq!(r[n]["code-changed"], "false", "{r}");
        let s = snapshot(n);
        assert!(
            !s.versions.contains(&"2".to_string()),
            "{n}: {:?}",
            s.versions
        );
    }
}

#[test]
fn function_name_with_manifest_deploys_that_entry_only() {
    let repo = Repo::new("one", 2);
    let only = repo.names[1].clone();
    let run = repo.run(&[("function-name", only.as_str())]);
    run.assert_ok();
    assert!(snapshot(&only).exists);
    assert!(
        !snapshot(&repo.names[0]).exists,
        "the other entry was deployed"
    );
    let r = results(&run);
    assert_eq!(r.as_object().map(|o| o.len()), Some(1), "{r}");
    // A matrix job reads the function's own outputs as a single-function step has them.
    assert_eq!(run.out("status"), "deployed");
    assert_eq!(run.out("version"), "1");
}

#[test]
fn a_failing_entry_leaves_the_others_deployed_and_fails_the_run() {
    let repo = Repo::new("fail", 3);
    let bad = repo.names[2].clone();
    let text = fs::read_to_string(repo.path().join("deploy/manifest.yml")).expect("read");
    repo.write(
        "deploy/manifest.yml",
        &text.replace(
            "source-dir: ../functions/f2\n",
            "source-dir: ../functions/f2\n    role: arn:aws:iam::123456789012:role/no-such-role-here\n",
        ),
    );
    let run = repo.run(&[]);
    assert!(!run.ok(), "the run should fail\n{}", run.stderr());
    let r = results(&run);
    assert_eq!(r[&bad]["status"], "failed", "{r}");
    assert!(!snapshot(&bad).exists);
    for n in &repo.names[..2] {
        assert_eq!(r[n]["status"], "deployed", "{r}");
        assert_eq!(
            snapshot(n).aliases.get("live").map(String::as_str),
            Some("1")
        );
    }
    assert!(
        run.summary.contains("3 functions, 1 failed"),
        "{}",
        run.summary
    );
    assert!(run.stderr().contains(&bad), "{}", run.stderr());
}

/// Each bad manifest: its text (NAMES replaced by the entries), and words the one error
/// must hold. Nothing is created.
const BAD: &[(&str, &str, &str)] = &[
    (
        "syntax",
        "functions:\n  A:\n    source-dir: [functions/f0\n",
        "manifest.yml:",
    ),
    (
        "unknown key",
        "functions:\n  A:\n    source-dir: ../functions/f0\n    runtme: python3.12\n",
        "manifest.yml:4:5: function 'A': unknown input 'runtme'; did you mean 'runtime'?",
    ),
    (
        "no source-dir",
        "functions:\n  A:\n    handler: app.handler\n",
        "manifest.yml:2:3: function 'A': input source-dir: is required",
    ),
    (
        "two entries with one name",
        "functions:\n  A:\n    source-dir: ../functions/f0\n  A:\n    source-dir: ../functions/f0\n",
        "duplicate entry with key \"A\"",
    ),
    (
        "outside the repository",
        "functions:\n  A:\n    source-dir: ../../outside\n",
        "manifest.yml:3:5: function 'A': input source-dir: '../../outside' is outside the repository",
    ),
];

#[test]
fn bad_manifests_give_one_clear_error_and_change_nothing() {
    for (what, text, want) in BAD {
        let repo = Repo::new("bad", 1);
        let name = &repo.names[0];
        repo.write("deploy/manifest.yml", &text.replace('A', name));
        let run = repo.run(&[
            ("role", &role()),
            ("runtime", "python3.12"),
            ("handler", "app.handler"),
        ]);
        assert!(!run.ok(), "{what}: the run should fail");
        let err = run.stderr();
        if *what == "syntax" {
            assert!(err.contains("not valid YAML"), "{err}");
        }
        let want = want
            .replace("'A'", &format!("'{name}'"))
            .replace("\"A\"", &format!("{name:?}"));
        assert!(err.contains(&want), "{what}: want {want:?} in\n{err}");
        let errors = err.matches("::error").count() + err.matches("error:").count();
        assert_eq!(errors, 1, "{what}: one error expected\n{err}");
        assert!(!snapshot(name).exists, "{what}: the function was created");
        assert!(run.out("results").is_empty(), "{what}");
    }
}

/// Environment values from a manifest are secrets like the step's own: masked before
/// anything is printed, and never in the summary or the outputs.
#[test]
fn manifest_environment_values_are_masked_and_never_printed() {
    let repo = Repo::new("mask", 1);
    let text = fs::read_to_string(repo.path().join("deploy/manifest.yml")).expect("read");
    repo.write(
        "deploy/manifest.yml",
        &text.replace(
            "  alias: live\n",
            "  alias: live\n  environment:\n    API_TOKEN: m4nifest-s3cret-value\n",
        ),
    );
    let manifest = path_str(&repo.path().join("deploy/manifest.yml"));
    let ws = path_str(repo.path());
    let run = deploy(
        &[("manifest", manifest.as_str()), ("dry-run", "true")],
        &[
            ("GITHUB_WORKSPACE", ws.as_str()),
            ("GITHUB_ACTIONS", "true"),
        ],
        &[],
    );
    run.assert_ok();
    let mask = "::add-mask::m4nifest-s3cret-value";
    let stdout = run.stdout();
    let first = stdout.find(mask).expect("the value is masked");
    assert!(
        !stdout[..first].contains("m4nifest-s3cret-value"),
        "printed before the mask"
    );
    let rest = run.everything().replace(mask, "");
    assert!(!rest.contains("m4nifest-s3cret-value"), "{rest}");
    assert_eq!(results(&run)[&repo.names[0]]["status"], "planned");
    assert!(
        !snapshot(&repo.names[0]).exists,
        "a dry run created the function"
    );
}

/// A manifest step on a pull request writes one comment for all its functions, found by
/// the manifest's marker: the first push creates it, the next updates it in place, and
/// no function gets a comment of its own. Each preview keeps its own GitHub deployment.
#[test]
#[allow(
    clippy::too_many_lines,
    reason = "two pushes of one pull request, each comment checked in order"
)]
fn a_pull_request_gets_one_comment_listing_every_preview() {
    use support::github::{FakeGitHub, OWNER_REPO, TOKEN, comment, fixture_env};

    let repo = Repo::new("sticky", 3);
    let text = fs::read_to_string(repo.path().join("deploy/manifest.yml")).expect("read");
    repo.write(
        "deploy/manifest.yml",
        &text.replace("  alias: live\n", "  alias: live\n  function-url: public\n"),
    );
    let github = FakeGitHub::start();
    let comments = format!("/repos/{OWNER_REPO}/issues/12/comments");
    let marker = "<!-- lambda-deploy:manifest:deploy/manifest.yml -->";
    let run_on = |event: &str| {
        let mut env = fixture_env(event);
        env.push(("GITHUB_API_URL".into(), github.uri()));
        env.push(("GITHUB_WORKSPACE".into(), path_str(repo.path())));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let manifest = path_str(&repo.path().join("deploy/manifest.yml"));
        deploy(
            &[("manifest", manifest.as_str()), ("github-token", TOKEN)],
            &env,
            &[],
        )
    };
    let writes = |github: &FakeGitHub| -> Vec<(String, serde_json::Value)> {
        github
            .received()
            .into_iter()
            .filter(|s| s.method != "GET" && !s.path.contains("/deployments"))
            .map(|s| (format!("{} {}", s.method, s.path), s.body))
            .collect()
    };

    github.comments_page(12, vec![comment(7, "LGTM")]);
    github.comment_writes(12, 1001);
    github.deployment_writes(501);
    let opened = run_on("pull-request-opened.json");
    opened.assert_ok();
    let seen = writes(&github);
    let calls: Vec<&str> = seen.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(calls, [format!("POST {comments}")], "one comment, once");
    let body = seen[0].1["body"].as_str().unwrap_or_default().to_string();
    assert!(body.starts_with(marker), "{body}");
    let r = results(&opened);
    for n in &repo.names {
        let preview = format!("{n}-pr-12");
        assert_eq!(
            snapshot(&preview).aliases.get("pr-12").map(String::as_str),
            Some("1"),
            "{preview}"
        );
        let url = r[n]["function-url"].as_str().unwrap_or_default();
        assert!(url.starts_with("http"), "{n}: {r}");
        let row = format!("| `{preview}` | deployed | `1` | `pr-12` | {url} |");
        assert!(body.contains(&row), "{row:?} not in\n{body}");
        assert!(
            body.contains(&format!("<details><summary>{n} deployed</summary>")),
            "{body}"
        );
    }
    let deployments = github
        .received()
        .iter()
        .filter(|s| s.method == "POST" && s.path.ends_with("/deployments"))
        .count();
    assert_eq!(deployments, 3, "each preview keeps its own deployment");
    assert!(
        opened.summary.contains(
            "Pull request comment created: https://github.com/octo-org/hello-lambda/pull/12#issuecomment-1001"
        ),
        "{}",
        opened.summary
    );

    // The next push: one function changed; the same comment is updated in place.
    github.reset();
    github.comments_page(12, vec![comment(7, "LGTM"), comment(1001, &body)]);
    github.comment_writes(12, 1001);
    github.deployment_writes(502);
    repo.write("functions/f1/extra.py", "X = 1\n");
    let sync = run_on("pull-request-synchronize.json");
    sync.assert_ok();
    let seen = writes(&github);
    let calls: Vec<&str> = seen.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(
        calls,
        [format!("PATCH /repos/{OWNER_REPO}/issues/comments/1001")],
        "the comment is updated, never repeated"
    );
    let updated = seen[0].1["body"].as_str().unwrap_or_default();
    assert!(updated.starts_with(marker), "{updated}");
    for (i, n) in repo.names.iter().enumerate() {
        let (status, version) = if i == 1 {
            ("deployed", "2")
        } else {
            ("unchanged", "1")
        };
        let row = format!("| `{n}-pr-12` | {status} | `{version}` | `pr-12` |");
        assert!(updated.contains(&row), "{row:?} not in\n{updated}");
    }
}
