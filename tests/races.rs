//! Deploys that run at the same time, and runs that are older than what an alias
//! serves: an alias only ever moves forward, to a complete version of one commit.

mod support;

use support::faults::Deployed;
use support::{snapshot, version_description};

/// The GitHub context of a push run: commit `n` (as a 40-digit SHA), run id `run`.
fn push_env(sha: &str, run: &str, git_ref: &str) -> Vec<(&'static str, String)> {
    vec![
        ("GITHUB_ACTIONS", "true".into()),
        ("GITHUB_EVENT_NAME", "push".into()),
        ("GITHUB_REF", git_ref.into()),
        ("GITHUB_SHA", sha.into()),
        ("GITHUB_REPOSITORY", "octo/app".into()),
        ("GITHUB_SERVER_URL", "https://github.com".into()),
        ("GITHUB_RUN_ID", run.into()),
    ]
}

fn sha(n: u64) -> String {
    format!("{:0<40}", format!("{n:x}"))
}

fn as_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[test]
fn an_older_run_publishes_but_does_not_move_the_alias_back() {
    let f = Deployed::new("older");
    f.change_code("newer");
    let newer = push_env(&sha(0xb), "200", "refs/heads/main");
    let run = f.deploy(None, &[], &as_refs(&newer));
    run.assert_ok();
    assert_eq!(run.out("version"), "2");

    f.change_code("older");
    let older = push_env(&sha(0xa), "199", "refs/heads/main");
    let run = f.deploy(None, &[], &as_refs(&older));
    run.assert_ok();
    let s = snapshot(&f.name);
    assert_eq!(s.versions, vec!["$LATEST", "1", "2", "3"]);
    assert_eq!(s.aliases.get("live").map(String::as_str), Some("2"));
    assert!(version_description(&f.name, "2").contains("runs/200"));
    let warning = "alias 'live' was not moved: it serves a version deployed by workflow run 200, newer than this run (199)";
    assert!(
        run.stdout()
            .contains("::warning title=lambda-deploy%3A alias not moved::")
    );
    assert!(run.stdout().contains(warning), "{}", run.stdout());
    assert!(run.summary.contains(warning), "{}", run.summary);
    assert_eq!(
        run.out("aliases"),
        "",
        "live is not reported as serving this run"
    );
}

#[test]
fn an_older_release_moves_no_alias_back_even_from_a_newer_run() {
    let f = Deployed::new("semver");
    f.change_code("1.3.0");
    let newer = push_env(&sha(0x13), "10", "refs/tags/v1.3.0");
    f.deploy(None, &[], &as_refs(&newer)).assert_ok();
    // A re-run of the v1.2.4 release's workflow: a larger run id, an older release.
    f.change_code("1.2.4");
    let older = push_env(&sha(0x124), "11", "refs/tags/v1.2.4");
    let run = f.deploy(None, &[], &as_refs(&older));
    run.assert_ok();
    let s = snapshot(&f.name);
    // `live` is held at move time by semver precedence (the run id alone says newer);
    // `v1` by the release guard before the plan.
    assert_eq!(s.aliases.get("live").map(String::as_str), Some("2"));
    assert_eq!(s.aliases.get("v1").map(String::as_str), Some("2"));
    assert_eq!(s.aliases.get("v1-2-4").map(String::as_str), Some("3"));
    assert!(
        run.summary.contains(
            "alias 'live' was not moved: it serves release 1.3.0, newer than this run's 1.2.4"
        ),
        "{}",
        run.summary
    );
}

#[test]
fn concurrent_deploys_of_two_commits_end_on_a_complete_version_of_the_newer() {
    let f = Deployed::new("race");
    let dirs = [
        support::example_copy("python-hello"),
        support::example_copy("python-hello"),
    ];
    for round in 0..10u64 {
        let older_run = 1000 + 2 * round;
        let newer_run = older_run + 1;
        let mut handles = Vec::new();
        for (side, run_id) in [(0usize, older_run), (1, newer_run)] {
            let dir = dirs[side].path().to_path_buf();
            std::fs::write(
                dir.join("marker.txt"),
                format!("round {round} run {run_id}"),
            )
            .expect("marker");
            let name = f.name.clone();
            handles.push(std::thread::spawn(move || {
                let env = push_env(&sha(run_id), &run_id.to_string(), "refs/heads/main");
                let d = support::path_str(&dir);
                let role = support::role();
                let inputs = [
                    ("function-name", name.as_str()),
                    ("source-dir", d.as_str()),
                    ("runtime", "python3.12"),
                    ("handler", "app.handler"),
                    ("role", role.as_str()),
                    ("alias", "live"),
                ];
                support::deploy(&inputs, &as_refs(&env), &[])
            }));
        }
        let runs: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect();
        let (older, newer) = (&runs[0], &runs[1]);
        newer.assert_ok();
        let said = |run: &support::Run, what: &str| {
            run.stderr().contains(what) || run.stdout().contains(what)
        };
        eprintln!(
            "round {round}: older {} (held: {}, lost $LATEST: {}), newer lost $LATEST: {}",
            if older.ok() { "ok" } else { "failed" },
            said(older, "was not moved"),
            said(older, "another deploy"),
            said(newer, "another deploy"),
        );
        assert!(
            older.ok()
                || older
                    .stderr()
                    .contains("another deploy of this function replaced its code"),
            "round {round}: the older run failed for another reason:\n{}",
            older.stderr()
        );
        let s = snapshot(&f.name);
        assert!(
            !s.aliases.contains_key("lambda-deploy-lock"),
            "round {round}: lock left"
        );
        let live = s.aliases.get("live").expect("live").clone();
        let v = support::block(async {
            support::lambda()
                .get_function_configuration()
                .function_name(&f.name)
                .qualifier(&live)
                .send()
                .await
                .expect("live version")
        });
        let desc = v.description().unwrap_or_default();
        assert_eq!(
            v.code_sha256().unwrap_or_default(),
            newer.out("code-sha256"),
            "round {round}: live ({live}) holds other code than the newer run's; {desc}"
        );
        assert!(
            desc.contains(&sha(newer_run)[..7]) && desc.contains(&format!("runs/{newer_run}")),
            "round {round}: live ({live}) is described as another run's: {desc}"
        );
    }
}

#[test]
fn concurrent_first_deploys_create_the_function_once_and_serve_the_newer() {
    let dirs = [
        support::example_copy("python-hello"),
        support::example_copy("python-hello"),
    ];
    for round in 0..5u64 {
        let name = support::unique("race-create");
        let runs: Vec<_> = [(0usize, 500 + 2 * round), (1, 501 + 2 * round)]
            .into_iter()
            .map(|(side, run_id)| {
                let dir = dirs[side].path().to_path_buf();
                std::fs::write(dir.join("marker.txt"), format!("create {round} {run_id}"))
                    .expect("marker");
                let name = name.clone();
                std::thread::spawn(move || {
                    let env = push_env(&sha(run_id), &run_id.to_string(), "refs/heads/main");
                    let d = support::path_str(&dir);
                    let role = support::role();
                    let inputs = [
                        ("function-name", name.as_str()),
                        ("source-dir", d.as_str()),
                        ("runtime", "python3.12"),
                        ("handler", "app.handler"),
                        ("role", role.as_str()),
                        ("alias", "live"),
                    ];
                    support::deploy(&inputs, &as_refs(&env), &[])
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect();
        let (older, newer) = (&runs[0], &runs[1]);
        newer.assert_ok();
        assert!(
            older.ok()
                || older
                    .stderr()
                    .contains("another deploy of this function replaced its code"),
            "round {round}: {}",
            older.stderr()
        );
        let live = snapshot(&name).aliases.get("live").expect("live").clone();
        let v = support::block(async {
            support::lambda()
                .get_function_configuration()
                .function_name(&name)
                .qualifier(&live)
                .send()
                .await
                .expect("live version")
        });
        assert_eq!(
            v.code_sha256().unwrap_or_default(),
            newer.out("code-sha256"),
            "round {round}"
        );
        assert!(
            v.description()
                .unwrap_or_default()
                .contains(&format!("runs/{}", 501 + 2 * round)),
            "round {round}: {:?}",
            v.description()
        );
    }
}
