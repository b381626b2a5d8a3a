//! What a hostile or unlucky run must not get through, end to end against the local
//! services (the real binary, moto, and the fault proxy where moto cannot misbehave).

mod support;

use support::faults::{Deployed, FaultProxy, fpath};

/// Values no output may hold: one the live function already has, two given as inputs
/// (one of them spread over lines of a JSON object's string).
const LIVE_VALUE: &str = "liveSECRETvalue7Qz";
const INPUT_VALUE: &str = "inputSECRETvalue3Kd";
const JSON_VALUE: &str = "jsonSECRETvalue9Wm";

#[track_caller]
fn assert_values_hidden(run: &support::Run, masked: &[&str], what: &str) {
    let stdout = run.stdout();
    for value in masked {
        let mask = format!("::add-mask::{value}");
        assert!(stdout.contains(&mask), "{what}: {value} was not masked");
        let before = stdout.split(&mask).next().unwrap_or_default();
        assert!(
            before.lines().all(|l| l.starts_with("::add-mask::")),
            "{what}: output came before the mask of {value}:\n{before}"
        );
    }
    let mut rest = run.everything();
    for value in masked {
        rest = rest.replace(&format!("::add-mask::{value}"), "");
    }
    for value in [LIVE_VALUE, INPUT_VALUE, JSON_VALUE] {
        assert!(!rest.contains(value), "{what}: {value} leaked:\n{rest}");
    }
}

/// Regression: `--format json` serialised the planned `environment` map, values and all,
/// both the live function's and the inputs'.
#[test]
fn environment_values_never_reach_any_output_in_any_format() {
    let f = Deployed::new("envsecret");
    let live = format!("DB_PASSWORD={LIVE_VALUE}");
    f.change_code("with env");
    f.deploy(None, &[("environment", &live)], &[]).assert_ok();

    let actions = [("GITHUB_ACTIONS", "true"), ("LAMBDA_DEPLOY_LOG", "debug")];
    let lines = format!("API_KEY={INPUT_VALUE}\nMODE=plain");
    let json = format!("{{\"TOKEN\": \"{JSON_VALUE}\", \"MODE\": \"plain\"}}");
    for (i, env) in [lines.as_str(), json.as_str()].into_iter().enumerate() {
        let masked: &[&str] = if i == 0 {
            &[INPUT_VALUE]
        } else {
            &[JSON_VALUE]
        };
        for args in [
            &["--format", "json", "--dry-run", "true"][..],
            &["--format", "json"][..],
            &["--dry-run", "true"][..],
        ] {
            f.change_code(&format!("env {i} {args:?}"));
            let run = support::deploy(
                &[
                    ("function-name", f.name.as_str()),
                    ("source-dir", &support::path_str(f.dir.path())),
                    ("environment", env),
                    ("alias", "live"),
                ],
                &actions,
                args,
            );
            run.assert_ok();
            let what = format!("environment #{i} with {args:?}");
            // The first run of each input plans the change: it names the keys.
            let first = args.len() == 4;
            assert!(
                !first || run.stdout().contains("API_KEY") || run.stdout().contains("TOKEN"),
                "{what}: the key names are still shown:\n{}",
                run.stdout()
            );
            assert_values_hidden(&run, masked, &what);
        }
    }
    // The values did reach Lambda: hiding them is about output, not about deploying.
    let s = support::snapshot(&f.name);
    assert_eq!(
        s.environment.get("DB_PASSWORD").map(String::as_str),
        Some(LIVE_VALUE)
    );
    assert_eq!(
        s.environment.get("TOKEN").map(String::as_str),
        Some(JSON_VALUE)
    );
}

const LOCK: &str = "lambda-deploy-lock";

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Creates the lock alias the way another run (or a person) would.
fn plant_lock(function: &str, description: &str) {
    support::block(async {
        support::lambda()
            .create_alias()
            .function_name(function)
            .name(LOCK)
            .function_version("$LATEST")
            .description(description)
            .send()
            .await
            .expect("plant the lock")
    });
}

/// The lock's description, or `None` when there is no lock.
fn lock_description(function: &str) -> Option<String> {
    support::block(async {
        support::lambda()
            .get_alias()
            .function_name(function)
            .name(LOCK)
            .send()
            .await
            .ok()
            .map(|a| a.description().unwrap_or_default().to_string())
    })
}

/// Regression: a lock stamped in the future (a runner with a fast clock) or with a
/// description that cannot be read was never broken, so every later deploy waited for it
/// and failed.
#[test]
fn locks_without_a_trustworthy_time_go_stale_and_the_deploy_proceeds() {
    for (i, planted) in [
        format!("lambda-deploy lock run 9 pid 1 {}", now_secs() + 86_400),
        "moved by hand".to_string(),
    ]
    .into_iter()
    .enumerate()
    {
        let f = Deployed::new("lockstale");
        plant_lock(&f.name, &planted);
        f.change_code(&format!("stale lock {i}"));
        let run = f.deploy(
            None,
            &[("wait-timeout", "20")],
            &[("LAMBDA_DEPLOY_LOCK_STALE", "3")],
        );
        run.assert_ok();
        f.assert_deployed(run.out("code-sha256"));
    }
}

/// Regression: breaking a stale lock was an unconditional delete, so a lock another run
/// took between the read and the delete was deleted, and two runs moved aliases at once.
#[test]
fn a_lock_taken_by_another_run_after_the_read_is_not_broken() {
    let f = Deployed::new("locktaken");
    let other = format!("lambda-deploy lock run 77 pid 2 {}", now_secs());
    plant_lock(&f.name, &other);
    let proxy = FaultProxy::for_lambda();
    // The first read of the lock shows the stale lock that was there before the other
    // run broke it and took its own.
    proxy.add(serde_json::json!([{
        "match": {"method": "GET", "path": format!("{}/aliases/{LOCK}$", fpath(&f.name))},
        "times": 1,
        "fault": {"patch": {"Description": "lambda-deploy lock run 5 pid 3 1000"}}
    }]));
    f.change_code("taken lock");
    let run = f.deploy(Some(&proxy), &[("wait-timeout", "6")], &[]);
    assert!(!run.ok(), "the other run's lock holds the aliases");
    assert!(run.stderr().contains("run 77"), "{}", run.stderr());
    assert_eq!(lock_description(&f.name).as_deref(), Some(other.as_str()));
    assert_eq!(proxy.count("DELETE", &format!("/aliases/{LOCK}")), 0);
    let s = support::snapshot(&f.name);
    assert_eq!(s.aliases.get("live").map(String::as_str), Some("1"));
}

/// Regression: releasing the lock deleted whatever lock was there, also one another run
/// took after this run's was broken as stale.
#[test]
fn a_run_releases_only_its_own_lock() {
    let f = Deployed::new("lockown");
    let proxy = FaultProxy::for_lambda();
    let other = format!("lambda-deploy lock run 88 pid 4 {}", now_secs());
    // The read before the release finds another run's lock.
    proxy.add(serde_json::json!([{
        "match": {"method": "GET", "path": format!("{}/aliases/{LOCK}$", fpath(&f.name))},
        "times": -1,
        "fault": {"patch": {"Description": other}}
    }]));
    f.change_code("own lock");
    let run = f.deploy(Some(&proxy), &[], &[]);
    run.assert_ok();
    assert_eq!(
        proxy.count("DELETE", &format!("/aliases/{LOCK}")),
        0,
        "another run's lock was deleted"
    );
    assert!(lock_description(&f.name).is_some(), "the lock was deleted");
    let s = support::snapshot(&f.name);
    assert_eq!(s.aliases.get("live").map(String::as_str), Some("2"));
}

fn s3() -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(&support::sdk_config())
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// A new bucket, with versioning on when asked.
fn bucket(versioned: bool) -> String {
    let name = support::unique("ld-pin").to_ascii_lowercase();
    support::block(async {
        s3().create_bucket()
            .bucket(&name)
            .send()
            .await
            .expect("create bucket");
        if versioned {
            s3().put_bucket_versioning()
                .bucket(&name)
                .versioning_configuration(
                    aws_sdk_s3::types::VersioningConfiguration::builder()
                        .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
                .expect("enable versioning");
        }
    });
    name
}

/// Regression: Lambda was pointed at a key, not at the version that was uploaded and
/// checked, and S3 calls did not say which account must own the bucket.
#[test]
fn code_in_a_versioned_bucket_is_pinned_and_every_s3_call_names_the_owner() {
    let f = Deployed::new("s3pin");
    let b = bucket(true);
    let lambda_proxy = FaultProxy::for_lambda();
    let s3_proxy = FaultProxy::for_lambda();
    // Harmless rules that only mark what they match in the log.
    lambda_proxy.add(serde_json::json!([{
        "match": {"method": "PUT", "path": "/code$", "body": "\"S3ObjectVersion\":\"[^\"]+\""},
        "times": -1, "fault": {"delay": 0}
    }]));
    s3_proxy.add(serde_json::json!([{
        "match": {"header": {"x-amz-expected-bucket-owner": "^$"}},
        "times": -1, "fault": {"delay": 0}
    }]));
    f.change_code("pinned");
    let run = f.deploy(
        Some(&lambda_proxy),
        &[("s3-bucket", b.as_str())],
        &[("AWS_ENDPOINT_URL_S3", s3_proxy.url.as_str())],
    );
    run.assert_ok();
    f.assert_deployed(run.out("code-sha256"));
    assert!(run.out("s3-uri").starts_with(&format!("s3://{b}/")));
    assert!(
        lambda_proxy.count("PUT", "/code") >= 1 && lambda_proxy.faulted() >= 1,
        "UpdateFunctionCode carried no S3ObjectVersion: {:?}",
        lambda_proxy.log()
    );
    assert!(!s3_proxy.log().is_empty(), "S3 was used");
    assert_eq!(
        s3_proxy.faulted(),
        0,
        "S3 calls without ExpectedBucketOwner: {:?}",
        s3_proxy.log()
    );
}

/// Regression: when Lambda reported another CodeSha256 than the package's after the
/// update, the run failed but left that code on `$LATEST`.
#[test]
fn code_lambda_reports_wrongly_is_replaced_by_the_previous_code() {
    let f = Deployed::new("s3sha");
    let b = bucket(false);
    f.change_code("previous");
    let prev = f.deploy(None, &[("s3-bucket", b.as_str())], &[]);
    prev.assert_ok();
    let previous = prev.out("code-sha256").to_string();
    let proxy = FaultProxy::for_lambda();
    proxy.add(serde_json::json!([{
        "match": {"method": "PUT", "path": "/code$"},
        "times": 1,
        "fault": {"patch": {"CodeSha256": "bm90IHRoZSBwYWNrYWdlJ3MgZGlnZXN0IGF0IGFsbCE="}}
    }]));
    f.change_code("swapped on the way");
    let run = f.deploy(Some(&proxy), &[("s3-bucket", b.as_str())], &[]);
    assert!(!run.ok(), "the run must fail");
    assert!(run.stderr().contains("CodeSha256"), "{}", run.stderr());
    let s = support::snapshot(&f.name);
    assert_eq!(s.code_sha256, previous, "the previous code is back");
    assert_eq!(s.aliases.get("live").map(String::as_str), Some("2"));
    assert_eq!(
        s.versions,
        vec!["$LATEST", "1", "2"],
        "nothing was published"
    );
}
