//! Deploys that run at the same time, and runs that are older than what an alias
//! serves: an alias only ever moves forward, to a complete version of one commit.

mod support;

use std::path::Path;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};
use support::faults::{Deployed, FaultProxy, fpath};
use support::{Run, snapshot, version_description};

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

/// How long a scenario waits for a run to reach the request the proxy holds.
const REACH: Duration = Duration::from_secs(180);

/// Starts a deploy of `name` from `dir` (alias `live`) as push run `run_id` of commit
/// `sha(run_id)`, through `proxy` when given, on its own thread.
fn start(name: &str, dir: &Path, run_id: u64, proxy: Option<&FaultProxy>) -> JoinHandle<Run> {
    let (name, dir) = (name.to_string(), support::path_str(dir));
    let endpoint = proxy.map(|p| p.url.clone());
    std::thread::spawn(move || {
        let mut env = push_env(&sha(run_id), &run_id.to_string(), "refs/heads/main");
        if let Some(url) = endpoint {
            env.push(("AWS_ENDPOINT_URL_LAMBDA", url));
        }
        let role = support::role();
        let inputs = [
            ("function-name", name.as_str()),
            ("source-dir", dir.as_str()),
            ("runtime", "python3.12"),
            ("handler", "app.handler"),
            ("role", role.as_str()),
            ("alias", "live"),
        ];
        support::deploy(&inputs, &as_refs(&env), &[])
    })
}

/// A copy of the example whose package differs from every other run's.
fn tree(marker: &str) -> tempfile::TempDir {
    let dir = support::example_copy("python-hello");
    std::fs::write(dir.path().join("marker.txt"), marker).expect("marker");
    dir
}

fn said(run: &Run, what: &str) -> bool {
    run.stderr().contains(what) || run.stdout().contains(what)
}

fn is(r: &Value, method: &str, path_ends: &str) -> bool {
    r["method"] == method
        && r["path"]
            .as_str()
            .and_then(|p| p.split('?').next())
            .is_some_and(|p| p.ends_with(path_ends))
}

/// Asserts that `live` serves a version holding `run`'s code and described as its deploy,
/// and that no lock was left.
#[track_caller]
fn assert_live_is(function: &str, run: &Run, run_id: u64) -> String {
    let s = snapshot(function);
    assert!(!s.aliases.contains_key("lambda-deploy-lock"), "lock left");
    let live = s.aliases.get("live").expect("live").clone();
    let v = support::block(async {
        support::lambda()
            .get_function_configuration()
            .function_name(function)
            .qualifier(&live)
            .send()
            .await
            .expect("live version")
    });
    let desc = v.description().unwrap_or_default();
    assert_eq!(
        v.code_sha256().unwrap_or_default(),
        run.out("code-sha256"),
        "live ({live}) holds other code than run {run_id}'s; {desc}"
    );
    assert!(
        desc.contains(&sha(run_id)[..7]) && desc.contains(&format!("runs/{run_id}")),
        "live ({live}) is described as another run's: {desc}"
    );
    live
}

/// The older run's PublishVersion is held until the newer run has deployed: `$LATEST` no
/// longer holds the older run's code, so it must not serve it; it finds `live` on the
/// newer deploy and stops without uploading again.
#[test]
fn an_older_run_that_lost_latest_to_a_newer_one_yields_and_serves_nothing() {
    let f = Deployed::new("race-latest");
    let (older_dir, newer_dir) = (tree("older 1000"), tree("newer 1001"));
    let proxy = FaultProxy::for_lambda();
    let versions = format!("{}/versions$", fpath(&f.name));
    proxy.add(
        json!([{"match": {"method": "POST", "path": versions}, "times": 1,
        "fault": {"hold": "publish"}}]),
    );
    let older = start(&f.name, older_dir.path(), 1000, Some(&proxy));
    proxy.wait_for("the older run's PublishVersion", REACH, |r| {
        is(r, "POST", "/versions")
    });
    let newer = start(&f.name, newer_dir.path(), 1001, None)
        .join()
        .expect("thread");
    newer.assert_ok();
    assert_eq!(newer.out("version"), "2");
    proxy.release("publish");
    let older = older.join().expect("thread");
    older.assert_ok();

    assert!(
        said(&older, "another deploy replaced the function's code")
            || said(&older, "the published version holds another run's code"),
        "the older run did not notice it lost $LATEST:\n{}",
        older.stderr()
    );
    assert!(
        said(&older, "alias 'live' was not moved"),
        "{}",
        older.stderr()
    );
    assert_eq!(older.out("version"), "", "the older run serves no version");
    assert_eq!(
        proxy.count("PUT", "/code"),
        1,
        "a run that yields does not upload again"
    );
    assert_eq!(proxy.count("PUT", "/aliases/live"), 0);
    assert_eq!(assert_live_is(&f.name, &newer, 1001), "2");
}

/// The older run published, then is held before it takes the alias lock until the newer
/// run has moved `live`: once it gets the lock it reads `live` again and leaves it.
#[test]
fn an_older_run_held_before_its_alias_move_leaves_the_alias_on_the_newer_deploy() {
    let f = Deployed::new("race-held");
    let (older_dir, newer_dir) = (tree("older 1000"), tree("newer 1001"));
    let proxy = FaultProxy::for_lambda();
    let aliases = format!("{}/aliases$", fpath(&f.name));
    proxy.add(
        json!([{"match": {"method": "POST", "path": aliases, "body": "lambda-deploy-lock"},
        "times": 1, "fault": {"hold": "lock"}}]),
    );
    let older = start(&f.name, older_dir.path(), 1000, Some(&proxy));
    proxy.wait_for("the older run's lock request", REACH, |r| {
        !r["fault"].is_null()
    });
    let newer = start(&f.name, newer_dir.path(), 1001, None)
        .join()
        .expect("thread");
    newer.assert_ok();
    assert_eq!(newer.out("version"), "3", "the older run published 2 first");
    proxy.release("lock");
    let older = older.join().expect("thread");
    older.assert_ok();

    assert_eq!(older.out("version"), "2");
    let warning = "alias 'live' was not moved: it serves a version deployed by workflow run 1001, newer than this run (1000)";
    assert!(older.stdout().contains(warning), "{}", older.stdout());
    assert!(older.summary.contains(warning), "{}", older.summary);
    assert_eq!(
        proxy.count("PUT", "/aliases/live"),
        0,
        "the older run wrote nothing to live"
    );
    assert_eq!(assert_live_is(&f.name, &newer, 1001), "3");
    assert_eq!(snapshot(&f.name).versions, vec!["$LATEST", "1", "2", "3"]);
}

/// The older run holds the alias lock (its release is held) while the newer run wants it:
/// the newer run waits for the lock instead of writing, then moves `live` after it.
#[test]
fn a_run_that_finds_the_alias_lock_taken_waits_for_it_then_moves_the_alias() {
    let f = Deployed::new("race-lock");
    let (older_dir, newer_dir) = (tree("older 1000"), tree("newer 1001"));
    let (older_proxy, newer_proxy) = (FaultProxy::for_lambda(), FaultProxy::for_lambda());
    let lock = format!("{}/aliases/lambda-deploy-lock$", fpath(&f.name));
    older_proxy.add(
        json!([{"match": {"method": "DELETE", "path": lock}, "times": 1,
        "fault": {"hold": "unlock"}}]),
    );
    let older = start(&f.name, older_dir.path(), 1000, Some(&older_proxy));
    older_proxy.wait_for("the older run's unlock", REACH, |r| !r["fault"].is_null());
    let newer = start(&f.name, newer_dir.path(), 1001, Some(&newer_proxy));
    newer_proxy.wait_for("the newer run finding the lock taken", REACH, |r| {
        is(r, "POST", "/aliases")
            && r["status"] == 409
            && r["body"]
                .as_str()
                .is_some_and(|b| b.contains("lambda-deploy-lock"))
    });
    assert_eq!(
        newer_proxy.count("PUT", "/aliases/live"),
        0,
        "no alias write while another run holds the lock"
    );
    older_proxy.release("unlock");
    let (older, newer) = (older.join().expect("thread"), newer.join().expect("thread"));
    older.assert_ok();
    newer.assert_ok();

    assert!(
        said(&newer, "another deploy is moving aliases; waiting for it"),
        "{}",
        newer.stderr()
    );
    let takes: Vec<Value> = newer_proxy
        .matching("POST", "/aliases")
        .into_iter()
        .filter(|r| {
            r["body"]
                .as_str()
                .is_some_and(|b| b.contains("lambda-deploy-lock"))
        })
        .collect();
    assert!(takes.len() >= 2, "{takes:?}");
    assert_eq!(takes[0]["status"], 409, "{takes:?}");
    assert_eq!(takes[takes.len() - 1]["status"], 201, "{takes:?}");
    assert_eq!(older.out("version"), "2");
    assert_eq!(
        older.out("aliases"),
        "live",
        "the older run moved live first"
    );
    assert_eq!(newer.out("version"), "3");
    assert_eq!(assert_live_is(&f.name, &newer, 1001), "3");
}

/// Two first deploys of one function: the older run's CreateFunction is held until the
/// newer run created and deployed it. The function is created once; the older run
/// updates it instead, publishes its own version and leaves `live` on the newer one.
#[test]
fn concurrent_first_deploys_create_the_function_once_and_serve_the_newer() {
    let name = support::unique("race-create");
    let (older_dir, newer_dir) = (tree("older 500"), tree("newer 501"));
    let (older_proxy, newer_proxy) = (FaultProxy::for_lambda(), FaultProxy::for_lambda());
    older_proxy.add(
        json!([{"match": {"method": "POST", "path": "/2015-03-31/functions$"},
        "times": 1, "fault": {"hold": "create"}}]),
    );
    let older = start(&name, older_dir.path(), 500, Some(&older_proxy));
    older_proxy.wait_for("the older run's CreateFunction", REACH, |r| {
        !r["fault"].is_null()
    });
    let newer = start(&name, newer_dir.path(), 501, Some(&newer_proxy))
        .join()
        .expect("thread");
    newer.assert_ok();
    older_proxy.release("create");
    let older = older.join().expect("thread");
    older.assert_ok();

    let creates: Vec<Value> = [&older_proxy, &newer_proxy]
        .iter()
        .flat_map(|p| p.matching("POST", "/2015-03-31/functions"))
        .collect();
    let statuses: Vec<&Value> = creates.iter().map(|r| &r["status"]).collect();
    assert_eq!(statuses.len(), 2, "{creates:?}");
    assert_eq!(
        newer_proxy.matching("POST", "/2015-03-31/functions")[0]["status"],
        201
    );
    assert_eq!(
        older_proxy.matching("POST", "/2015-03-31/functions")[0]["status"],
        409,
        "the function was created once"
    );
    assert!(
        said(&older, "the function was created by another run meanwhile"),
        "{}",
        older.stderr()
    );
    assert_eq!(newer.out("version"), "1");
    assert_eq!(older.out("version"), "2", "the older run published its own");
    assert!(
        said(&older, "alias 'live' was not moved"),
        "{}",
        older.stdout()
    );
    assert_eq!(assert_live_is(&name, &newer, 501), "1");
    assert_eq!(snapshot(&name).versions, vec!["$LATEST", "1", "2"]);
}
