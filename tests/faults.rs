//! Faults the emulator cannot produce, injected by a proxy between lambda-deploy and
//! the emulator; assertions are on the final state Lambda holds, and on nothing left
//! half done.

mod support;

use serde_json::json;
use support::faults::{Deployed, Emulator, FaultProxy, fpath};
use support::{deploy, example_copy, path_str, role, services, snapshot, unique};

fn aws_error(status: u16, error: &str) -> serde_json::Value {
    json!({"status": status, "error": error, "message": format!("injected {error}")})
}

#[test]
fn throttled_publish_is_retried_and_the_deploy_completes() {
    let proxy = FaultProxy::start(&services()["AWS_ENDPOINT_URL"]);
    let name = unique("throttle");
    let dir = example_copy("python-hello");
    let d = path_str(dir.path());
    let role = role();
    proxy.add(json!([{
        "match": {"method": "POST", "path": format!("/functions/{name}/versions")},
        "times": 2,
        "fault": {"status": 429, "error": "TooManyRequestsException", "message": "Rate exceeded"}
    }]));
    let run = deploy(
        &[
            ("function-name", &name),
            ("source-dir", &d),
            ("runtime", "python3.12"),
            ("handler", "app.handler"),
            ("role", &role),
            ("alias", "live"),
        ],
        &[("AWS_ENDPOINT_URL_LAMBDA", &proxy.url)],
        &[],
    );
    run.assert_ok();
    let publishes = proxy
        .log()
        .iter()
        .filter(|r| {
            r["method"] == "POST" && r["path"].as_str().is_some_and(|p| p.ends_with("/versions"))
        })
        .count();
    assert_eq!(
        publishes, 3,
        "two throttled attempts, then one that went through"
    );
    assert_eq!(
        snapshot(&name).aliases.get("live").map(String::as_str),
        Some("1")
    );
}

#[test]
fn throttling_past_the_retry_bound_fails_naming_the_call_and_changes_nothing() {
    let f = Deployed::new("throttle-forever");
    f.change_code("b");
    let proxy = FaultProxy::for_lambda();
    proxy.add(
        json!([{"match": {"method": "PUT", "path": format!("{}/code$", fpath(&f.name))},
        "times": -1, "fault": aws_error(429, "TooManyRequestsException")}]),
    );
    let run = f.deploy(Some(&proxy), &[], &[("AWS_MAX_ATTEMPTS", "3")]);
    assert!(!run.ok());
    let err = run.stderr();
    assert!(err.contains("UpdateFunctionCode on function"), "{err}");
    assert!(
        err.contains("still throttling after 3 attempts") && err.contains("AWS_MAX_ATTEMPTS"),
        "{err}"
    );
    assert_eq!(
        proxy.count("PUT", "/code"),
        3,
        "bounded: exactly 3 attempts"
    );
    f.assert_untouched();
}

/// Four server errors, then an answer: five attempts (the default bound), and the pauses
/// between them are the SDK's backoff (full jitter under a cap that doubles from 500 ms),
/// not back-to-back retries.
#[test]
fn server_errors_are_retried_with_backoff() {
    let f = Deployed::new("5xx");
    f.change_code("b");
    let proxy = FaultProxy::for_lambda();
    let code = format!("{}/code$", fpath(&f.name));
    proxy.add(json!([
        {"match": {"method": "PUT", "path": code}, "times": 2,
         "fault": aws_error(500, "ServiceException")},
        {"match": {"method": "PUT", "path": code}, "times": 2,
         "fault": {"status": 503, "body": "Service Unavailable"}},
    ]));
    let run = f.deploy(Some(&proxy), &[], &[]);
    run.assert_ok();
    let attempts = proxy.matching("PUT", "/code");
    let statuses: Vec<&serde_json::Value> = attempts.iter().map(|r| &r["status"]).collect();
    assert_eq!(statuses, [500, 500, 503, 503, 200], "{attempts:?}");
    let times: Vec<f64> = attempts
        .iter()
        .map(|r| r["time"].as_f64().expect("time"))
        .collect();
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    // Retry n waits a random time below 0.5 s x 2^(n-1). Without backoff the four gaps
    // are a few milliseconds each; with it, all four under 0.3 s together has a chance
    // below 1 in 10,000.
    let total: f64 = gaps.iter().sum();
    assert!(total >= 0.3, "the retries did not back off: gaps {gaps:?}");
    for (n, gap) in gaps.iter().enumerate() {
        let cap = 0.5 * f64::from(1u32 << n);
        // A loaded machine adds its own delay on top of the cap.
        assert!(*gap < cap + 5.0, "retry {} waited {gap} s: {gaps:?}", n + 1);
    }
    f.assert_deployed(run.out("code-sha256"));
}

#[test]
fn an_update_in_progress_conflict_waits_then_retries() {
    let f = Deployed::new("conflict");
    f.change_code("b");
    let proxy = FaultProxy::for_lambda();
    let base = fpath(&f.name);
    proxy.add(json!([
        {"match": {"method": "PUT", "path": format!("{base}/code$")}, "times": 1,
         "fault": aws_error(409, "ResourceConflictException")},
        {"match": {"method": "PUT", "path": format!("{base}/configuration$")}, "times": 2,
         "fault": aws_error(409, "ResourceConflictException")},
    ]));
    let run = f.deploy(Some(&proxy), &[("memory-size", "256")], &[]);
    run.assert_ok();
    let reqs = proxy.requests();
    let first_put = reqs
        .iter()
        .position(|(m, p)| m == "PUT" && p.ends_with("/code"));
    let second_put = reqs
        .iter()
        .rposition(|(m, p)| m == "PUT" && p.ends_with("/code"));
    let (a, b) = (first_put.expect("put"), second_put.expect("put"));
    assert!(b > a, "the upload was tried again");
    assert!(
        reqs[a..b].iter().any(|(m, p)| m == "GET" && *p == base),
        "the LastUpdateStatus wait ran between the conflict and the retry: {reqs:?}"
    );
    assert_eq!(proxy.count("PUT", "/configuration"), 3);
    f.assert_deployed(run.out("code-sha256"));
    assert_eq!(snapshot(&f.name).memory_size, Some(256));
}

#[test]
fn in_progress_and_pending_states_are_waited_for_before_the_upload() {
    for (i, patch) in [
        json!({"Configuration": {"LastUpdateStatus": "InProgress"}}),
        json!({"Configuration": {"State": "Pending"}}),
    ]
    .into_iter()
    .enumerate()
    {
        let f = Deployed::new(&format!("inprogress{i}"));
        f.change_code("b");
        let proxy = FaultProxy::for_lambda();
        let base = fpath(&f.name);
        proxy.add(
            json!([{"match": {"method": "GET", "path": format!("{base}$")},
            "times": 3, "fault": {"patch": patch}}]),
        );
        let run = f.deploy(Some(&proxy), &[], &[]);
        run.assert_ok();
        let reqs = proxy.requests();
        let put = reqs
            .iter()
            .position(|(m, p)| m == "PUT" && p.ends_with("/code"))
            .expect("upload");
        let gets_before = reqs[..put]
            .iter()
            .filter(|(m, p)| m == "GET" && *p == base)
            .count();
        assert!(
            gets_before >= 4,
            "3 answers said busy, so the upload waited for a 4th: {reqs:?}"
        );
        f.assert_deployed(run.out("code-sha256"));
    }
}

#[test]
fn an_update_that_never_finishes_fails_within_wait_timeout_and_writes_nothing() {
    // Short timeouts: an emulator of its own, which no other test loads.
    let emu = Emulator::start();
    let f = Deployed::on("stuck", &emu);
    f.change_code("b");
    let proxy = FaultProxy::start(&emu.endpoint);
    proxy.add(
        json!([{"match": {"method": "GET", "path": format!("{}$", fpath(&f.name))},
        "times": -1, "fault": {"patch": {"Configuration": {"LastUpdateStatus": "InProgress"}}}}]),
    );
    let started = std::time::Instant::now();
    let run = f.deploy(Some(&proxy), &[("wait-timeout", "3")], &[]);
    assert!(!run.ok());
    assert!(started.elapsed().as_secs() < 30);
    let err = run.stderr();
    assert!(err.contains("did not finish within 3s"), "{err}");
    assert!(err.contains("raise wait-timeout"), "{err}");
    assert_eq!(proxy.count("PUT", "/code"), 0);
    f.assert_untouched();
}

/// Lambda can finish an update as Failed (a bad layer, a role it cannot assume): the run
/// stops with Lambda's own reason, and no version is published or served.
#[test]
fn an_update_lambda_reports_as_failed_stops_with_its_reason_and_moves_nothing() {
    let f = Deployed::new("failed-update");
    f.change_code("b");
    let proxy = FaultProxy::for_lambda();
    proxy.add(json!([{"match": {"method": "GET", "path": format!("{}$", fpath(&f.name))},
        "skip": 1, "times": -1,
        "fault": {"patch": {"Configuration": {"LastUpdateStatus": "Failed",
            "LastUpdateStatusReason": "Lambda was unable to decrypt the environment variables"}}}}]));
    let run = f.deploy(Some(&proxy), &[], &[]);
    assert!(!run.ok());
    let err = run.stderr();
    assert!(
        err.contains("Lambda reports the update as Failed: Lambda was unable to decrypt the environment variables"),
        "{err}"
    );
    let s = support::snapshot(&f.name);
    assert_eq!(s.versions, vec!["$LATEST", "1"], "no version was published");
    assert_eq!(s.aliases.get("live").map(String::as_str), Some("1"));
}

#[test]
fn a_stale_revision_on_the_alias_or_publish_is_read_again_and_the_deploy_completes() {
    let f = Deployed::new("stale");
    f.change_code("b");
    let proxy = FaultProxy::for_lambda();
    let base = fpath(&f.name);
    proxy.add(json!([
        {"match": {"method": "POST", "path": format!("{base}/versions$")}, "times": 1,
         "fault": aws_error(412, "PreconditionFailedException")},
        {"match": {"method": "PUT", "path": format!("{base}/aliases/live$")}, "times": 1,
         "fault": aws_error(412, "PreconditionFailedException")},
    ]));
    let run = f.deploy(Some(&proxy), &[], &[]);
    run.assert_ok();
    assert_eq!(proxy.count("POST", "/versions"), 2);
    assert_eq!(proxy.count("PUT", "/aliases/live"), 2);
    assert!(
        proxy.count("GET", "/aliases/live") >= 3,
        "the alias was read again"
    );
    f.assert_deployed(run.out("code-sha256"));
}

#[test]
fn a_stale_revision_on_the_upload_fails_clearly_and_changes_nothing() {
    let f = Deployed::new("stale-code");
    f.change_code("b");
    let proxy = FaultProxy::for_lambda();
    proxy.add(
        json!([{"match": {"method": "PUT", "path": format!("{}/code$", fpath(&f.name))},
        "times": -1, "fault": aws_error(412, "PreconditionFailedException")}]),
    );
    let run = f.deploy(Some(&proxy), &[], &[]);
    assert!(!run.ok());
    let err = run.stderr();
    assert!(
        err.contains("UpdateFunctionCode on function")
            && err.contains("the function changed while this deploy ran: run again"),
        "{err}"
    );
    assert_eq!(
        proxy.count("PUT", "/code"),
        1,
        "a precondition is not retried blindly"
    );
    f.assert_untouched();
}

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "one scenario, each step checked against the emulator's state"
)]
fn a_slow_answer_past_the_attempt_timeout_is_retried() {
    // Short timeouts: an emulator of its own, which no other test loads.
    let emu = Emulator::start();
    let f = Deployed::on("slow", &emu);
    f.change_code("b");
    let proxy = FaultProxy::start(&emu.endpoint);
    let base = fpath(&f.name);
    proxy.add(json!([
        // Held before it reaches Lambda: the retry is the first that acts.
        {"match": {"method": "PUT", "path": format!("{base}/code$")}, "times": 1,
         "fault": {"delay": 4}},
        // Acted on, but the answer comes too late: the retry must cope with the
        // alias already being there.
        {"match": {"method": "POST", "path": format!("{base}/aliases$"), "body": "staging"},
         "times": 1, "fault": {"delay_after": 4}},
        // The alias lock's own creation answered late: the retry finds the lock is its own.
        {"match": {"method": "POST", "path": format!("{base}/aliases$"), "body": "lambda-deploy-lock"},
         "times": 1, "fault": {"delay_after": 4}},
    ]));
    let run = f.deploy(
        Some(&proxy),
        &[("alias", "live\nstaging")],
        &[("LAMBDA_DEPLOY_ATTEMPT_TIMEOUT", "2")],
    );
    run.assert_ok();
    let log = proxy.log();
    let aliases = format!("{base}/aliases");
    let is_to = |r: &serde_json::Value, method: &str, path: &str| {
        r["method"] == method
            && r["path"]
                .as_str()
                .is_some_and(|p| p.split('?').next() == Some(path))
    };
    let names = |r: &serde_json::Value, alias: &str| {
        r["body"]
            .as_str()
            .is_some_and(|b| b.contains(&format!("\"{alias}\"")))
    };
    // Every configured fault fired, each once.
    let faulted: Vec<usize> = (0..log.len())
        .filter(|&i| !log[i]["fault"].is_null())
        .collect();
    assert_eq!(faulted.len(), 3, "{log:?}");
    let code_at = faulted
        .iter()
        .copied()
        .find(|&i| is_to(&log[i], "PUT", &format!("{base}/code")))
        .expect("the upload was held");
    let staging_at = faulted
        .iter()
        .copied()
        .find(|&i| is_to(&log[i], "POST", &aliases) && names(&log[i], "staging"))
        .expect("creating staging answered late");
    let lock_at = faulted
        .iter()
        .copied()
        .find(|&i| is_to(&log[i], "POST", &aliases) && names(&log[i], "lambda-deploy-lock"))
        .expect("taking the lock answered late");
    // The upload was sent again, and that attempt went through.
    let retry = log[code_at + 1..]
        .iter()
        .find(|r| is_to(r, "PUT", &format!("{base}/code")))
        .expect("the upload was tried again");
    assert_eq!(retry["status"], 200, "{retry:?}");
    // The lock was asked for again, found taken (by this run's late attempt), read, and
    // recognised as this run's own: no wait for another deploy.
    let after_lock = &log[lock_at + 1..];
    let again = after_lock
        .iter()
        .position(|r| is_to(r, "POST", &aliases) && names(r, "lambda-deploy-lock"))
        .expect("the lock was asked for again");
    assert_eq!(after_lock[again]["status"], 409, "{:?}", after_lock[again]);
    assert!(
        after_lock[again..].iter().any(|r| is_to(
            r,
            "GET",
            &format!("{aliases}/lambda-deploy-lock")
        ) && r["status"]
            .as_u64()
            .is_some_and(|s| (200..300).contains(&s))),
        "the lock's owner was read: {log:?}"
    );
    assert!(
        !run.stderr().contains("another deploy is moving aliases"),
        "the run waited for its own lock:\n{}",
        run.stderr()
    );
    // Creating staging was sent again, found it made by the late attempt, and the run read
    // it instead of failing.
    let after_staging = &log[staging_at + 1..];
    let again = after_staging
        .iter()
        .position(|r| is_to(r, "POST", &aliases) && names(r, "staging"))
        .expect("creating staging was tried again");
    assert_eq!(
        after_staging[again]["status"], 409,
        "{:?}",
        after_staging[again]
    );
    assert!(
        after_staging[again..]
            .iter()
            .any(|r| is_to(r, "GET", &format!("{aliases}/staging"))),
        "staging was read again: {log:?}"
    );
    f.assert_deployed(run.out("code-sha256"));
    assert_eq!(
        f.state().aliases.get("staging").map(String::as_str),
        Some("2")
    );
}

#[test]
fn answers_that_never_come_fail_within_the_bound_naming_the_call() {
    // Short timeouts: an emulator of its own, which no other test loads.
    let emu = Emulator::start();
    let f = Deployed::on("silent", &emu);
    f.change_code("b");
    let proxy = FaultProxy::start(&emu.endpoint);
    proxy.add(
        json!([{"match": {"method": "PUT", "path": format!("{}/code$", fpath(&f.name))},
        "times": -1, "fault": {"delay": 5}}]),
    );
    let started = std::time::Instant::now();
    let run = f.deploy(
        Some(&proxy),
        &[],
        &[
            ("LAMBDA_DEPLOY_ATTEMPT_TIMEOUT", "1"),
            ("AWS_MAX_ATTEMPTS", "2"),
        ],
    );
    assert!(!run.ok());
    assert!(started.elapsed().as_secs() < 40, "bounded in time");
    let err = run.stderr();
    assert!(
        err.contains("UpdateFunctionCode on function")
            && err.contains("no answer within 1s on each of 2 attempts"),
        "{err}"
    );
    f.assert_untouched();
}

#[test]
fn a_connection_reset_in_the_middle_of_the_upload_is_retried() {
    let f = Deployed::new("reset");
    f.change_code("b");
    let proxy = FaultProxy::for_lambda();
    proxy.add(
        json!([{"match": {"method": "PUT", "path": format!("{}/code$", fpath(&f.name))},
        "times": 1, "fault": {"reset_mid_upload": 0.5}}]),
    );
    let run = f.deploy(Some(&proxy), &[], &[]);
    run.assert_ok();
    let broken = proxy
        .log()
        .into_iter()
        .find(|r| !r["fault"].is_null())
        .expect("the reset happened");
    assert!(broken["read"].as_u64() < broken["length"].as_u64());
    assert_eq!(proxy.count("PUT", "/code"), 2);
    f.assert_deployed(run.out("code-sha256"));
}

#[test]
fn resets_on_every_attempt_fail_clearly_and_change_nothing() {
    let f = Deployed::new("reset-forever");
    f.change_code("b");
    let proxy = FaultProxy::for_lambda();
    proxy.add(
        json!([{"match": {"method": "PUT", "path": format!("{}/code$", fpath(&f.name))},
        "times": -1, "fault": {"reset_mid_upload": 0.3}}]),
    );
    let run = f.deploy(Some(&proxy), &[], &[("AWS_MAX_ATTEMPTS", "2")]);
    assert!(!run.ok());
    let err = run.stderr();
    assert!(
        err.contains("UpdateFunctionCode on function") && err.contains("on each of 2 attempts"),
        "{err}"
    );
    f.assert_untouched();
}

#[test]
fn a_passing_smoke_test_runs_before_the_alias_moves() {
    let f = Deployed::new("smoke-ok");
    f.change_code("b");
    let proxy = FaultProxy::for_lambda();
    let run = f.deploy(
        Some(&proxy),
        &[("smoke-test", r#"{"ping": "smoke-42"}"#)],
        &[],
    );
    run.assert_ok();
    let reqs = proxy.requests();
    let invoke = reqs
        .iter()
        .position(|(m, p)| m == "POST" && p.ends_with("/invocations"))
        .expect("invoked");
    let alias = reqs
        .iter()
        .position(|(m, p)| m == "PUT" && p.ends_with("/aliases/live"))
        .expect("alias moved");
    assert!(invoke < alias, "the smoke test ran before the alias moved");
    let qualifier = proxy
        .log()
        .into_iter()
        .find(|r| {
            r["path"]
                .as_str()
                .is_some_and(|p| p.contains("/invocations"))
        })
        .and_then(|r| r["path"].as_str().map(str::to_string))
        .unwrap_or_default();
    assert!(
        qualifier.ends_with("Qualifier=2"),
        "the new version was invoked: {qualifier}"
    );
    // moto's simple backend echoes the payload.
    assert!(
        run.summary
            .contains("| Smoke test | passed on `2`: `{\"ping\":\"smoke-42\"}` |"),
        "{}",
        run.summary
    );
    f.assert_deployed(run.out("code-sha256"));
}

#[test]
fn a_function_error_in_the_smoke_test_fails_the_deploy_and_moves_nothing() {
    let f = Deployed::new("smoke-error");
    f.change_code("b");
    let proxy = FaultProxy::for_lambda();
    let error = r#"{"errorMessage": "table orders not found", "errorType": "KeyError"}"#;
    proxy.add(
        json!([{"match": {"method": "POST", "path": "/invocations"}, "times": 1,
        "fault": {"set_headers": {"X-Amz-Function-Error": "Unhandled"}, "set_body": error}}]),
    );
    let run = f.deploy(Some(&proxy), &[("smoke-test", r#"{"ping": true}"#)], &[]);
    assert!(!run.ok());
    let err = run.stderr();
    assert!(
        err.contains("smoke test: version 2 returned a function error (Unhandled)")
            && err.contains("table orders not found")
            && err.contains("no alias was moved"),
        "{err}"
    );
    assert!(run.summary.contains("smoke test failed"), "{}", run.summary);
    assert!(
        run.summary.contains("table orders not found"),
        "{}",
        run.summary
    );
    assert_eq!(proxy.count("PUT", "/aliases/live"), 0);
    let s = snapshot(&f.name);
    assert_eq!(
        s.aliases.get("live").map(String::as_str),
        Some("1"),
        "live stays on 1"
    );
    assert_eq!(
        s.versions,
        vec!["$LATEST", "1", "2"],
        "2 is published, unserved"
    );
}

#[test]
fn a_smoke_test_that_does_not_answer_in_time_fails_and_moves_nothing() {
    // Short timeouts: an emulator of its own, which no other test loads.
    let emu = Emulator::start();
    let f = Deployed::on("smoke-slow", &emu);
    f.change_code("b");
    let proxy = FaultProxy::start(&emu.endpoint);
    proxy.add(
        json!([{"match": {"method": "POST", "path": "/invocations"}, "times": 1,
        "fault": {"delay_after": 6}}]),
    );
    let started = std::time::Instant::now();
    let run = f.deploy(
        Some(&proxy),
        &[("smoke-test", "{}"), ("wait-timeout", "2")],
        &[],
    );
    assert!(!run.ok());
    assert!(started.elapsed().as_secs() < 20);
    let err = run.stderr();
    assert!(
        err.contains("smoke test: version 2 gave no answer within 2s"),
        "{err}"
    );
    assert_eq!(
        proxy.count("POST", "/invocations"),
        1,
        "an invoke is never retried"
    );
    assert_eq!(f.state().aliases.get("live").map(String::as_str), Some("1"));
}

/// Creates the alias lock by hand, as a run that died `age_secs` ago would have left it.
fn leave_lock(function: &str, owner: &str, age_secs: u64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    support::block(async {
        support::lambda()
            .create_alias()
            .function_name(function)
            .name("lambda-deploy-lock")
            .function_version("$LATEST")
            .description(format!("lambda-deploy lock {owner} {}", now - age_secs))
            .send()
            .await
            .expect("create the lock")
    });
}

/// A lock left by a run that died over two minutes ago is broken and the deploy goes on;
/// a younger one is respected: that run waits for it, then fails without moving anything.
#[test]
fn a_lock_older_than_two_minutes_is_broken_and_a_younger_one_is_waited_for() {
    let f = Deployed::new("stale-lock");
    f.change_code("b");
    leave_lock(&f.name, "run 7 pid 1 gone", 100);
    let proxy = FaultProxy::for_lambda();
    let run = f.deploy(Some(&proxy), &[("wait-timeout", "8")], &[]);
    assert!(!run.ok(), "a lock 100 s old was not respected");
    let err = run.stderr();
    assert!(
        err.contains("another deploy (run 7 pid 1 gone) held the alias lock for over 8s"),
        "{err}"
    );
    assert_eq!(proxy.count("DELETE", "/aliases/lambda-deploy-lock"), 0);
    assert_eq!(proxy.count("PUT", "/aliases/live"), 0);
    let s = snapshot(&f.name);
    assert!(
        s.aliases.contains_key("lambda-deploy-lock"),
        "the lock stays"
    );
    assert_eq!(s.aliases.get("live").map(String::as_str), Some("1"));

    // The same lock, now past two minutes.
    support::block(async {
        support::lambda()
            .delete_alias()
            .function_name(&f.name)
            .name("lambda-deploy-lock")
            .send()
            .await
            .expect("delete the lock")
    });
    leave_lock(&f.name, "run 7 pid 1 gone", 121);
    proxy.clear_log();
    let run = f.deploy(Some(&proxy), &[("wait-timeout", "60")], &[]);
    run.assert_ok();
    let err = run.stderr();
    assert!(
        err.contains("breaking an alias lock left by a run that stopped")
            && err.contains("run 7 pid 1 gone"),
        "{err}"
    );
    let takes: Vec<serde_json::Value> = proxy
        .matching("POST", "/aliases")
        .into_iter()
        .filter(|r| {
            r["body"]
                .as_str()
                .is_some_and(|b| b.contains("lambda-deploy-lock"))
        })
        .collect();
    assert_eq!(takes.first().map(|r| r["status"].clone()), Some(json!(409)));
    assert_eq!(takes.last().map(|r| r["status"].clone()), Some(json!(201)));
    assert!(
        proxy.count("DELETE", "/aliases/lambda-deploy-lock") >= 2,
        "broken, then released after the moves"
    );
    f.assert_deployed(run.out("code-sha256"));
}

/// Lambda's optimistic-concurrency preconditions reach the wire: every write to the
/// function carries the RevisionId Lambda last answered, PublishVersion carries this run's
/// CodeSha256, and the alias move carries the alias's RevisionId. The emulator has no
/// function RevisionId, so the proxy adds one to its answers.
#[test]
fn revision_id_and_code_sha256_preconditions_are_sent() {
    let f = Deployed::new("preconditions");
    f.change_code("b");
    let proxy = FaultProxy::for_lambda();
    let base = fpath(&f.name);
    let rev = "0f1e2d3c-rev-from-lambda";
    proxy.add(json!([
        {"match": {"method": "GET", "path": format!("{base}$")}, "times": -1,
         "fault": {"patch": {"Configuration": {"RevisionId": rev}}}},
        {"match": {"method": "GET", "path": format!("{base}/configuration$")}, "times": -1,
         "fault": {"patch": {"RevisionId": rev}}},
        {"match": {"method": "PUT", "path": format!("{base}/(code|configuration)$")}, "times": -1,
         "fault": {"patch": {"RevisionId": rev}}},
    ]));
    let run = f.deploy(Some(&proxy), &[("memory-size", "256")], &[]);
    run.assert_ok();
    let body = |method: &str, path: &str| -> serde_json::Value {
        let r = proxy
            .matching(method, path)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no {method} {path}: {:?}", proxy.requests()));
        serde_json::from_str(r["body"].as_str().expect("body logged")).expect("JSON body")
    };
    assert_eq!(body("PUT", "/code")["RevisionId"], rev);
    assert_eq!(body("PUT", "/configuration")["RevisionId"], rev);
    let publish = body("POST", "/versions");
    assert_eq!(publish["RevisionId"], rev);
    assert_eq!(publish["CodeSha256"], run.out("code-sha256"));
    let alias_rev = support::block(async {
        support::lambda()
            .get_alias()
            .function_name(&f.name)
            .name("live")
            .send()
            .await
            .expect("live")
    });
    let sent = body("PUT", "/aliases/live");
    assert!(
        sent["RevisionId"].as_str().is_some_and(|r| !r.is_empty()),
        "{sent}"
    );
    assert_ne!(
        alias_rev.revision_id(),
        None,
        "the emulator gives aliases a RevisionId"
    );
    f.assert_deployed(run.out("code-sha256"));
}

/// A run stopped at a bound (PublishVersion throttled on every attempt) leaves its code in
/// `$LATEST`; the next run does not upload it again and publishes and moves from there.
#[test]
fn a_run_after_a_failure_at_a_bound_continues_from_where_it_stopped() {
    let f = Deployed::new("resume");
    f.change_code("b");
    let proxy = FaultProxy::for_lambda();
    proxy.add(
        json!([{"match": {"method": "POST", "path": format!("{}/versions$", fpath(&f.name))},
        "times": -1, "fault": aws_error(429, "TooManyRequestsException")}]),
    );
    let failed = f.deploy(Some(&proxy), &[], &[("AWS_MAX_ATTEMPTS", "2")]);
    assert!(!failed.ok());
    let err = failed.stderr();
    assert!(err.contains("still throttling after 2 attempts"), "{err}");
    assert_eq!(proxy.count("PUT", "/code"), 1);
    let s = snapshot(&f.name);
    assert_ne!(s.code_sha256, f.first_sha, "the upload went through");
    assert_eq!(s.versions, vec!["$LATEST", "1"]);
    assert_eq!(s.aliases.get("live").map(String::as_str), Some("1"));

    proxy.clear();
    proxy.clear_log();
    let again = f.deploy(Some(&proxy), &[], &[]);
    again.assert_ok();
    assert_eq!(
        proxy.count("PUT", "/code"),
        0,
        "the code already in $LATEST is not uploaded again"
    );
    assert_eq!(proxy.count("POST", "/versions"), 1);
    assert_eq!(again.out("code-sha256"), s.code_sha256);
    assert_eq!(again.out("version"), "2");
    f.assert_deployed(&s.code_sha256);
}
