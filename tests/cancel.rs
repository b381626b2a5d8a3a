//! A cancelled workflow sends SIGTERM to the action's container, where lambda-deploy is
//! PID 1. These tests run the binary the same way (PID 1 of its own PID namespace, through
//! `unshare`, as root), hold one AWS call in the fault proxy, send SIGTERM, and check what
//! AWS holds afterwards: nothing half done is served, nothing is left open.

mod support;

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::faults::{Deployed, FaultProxy};

/// The deploy process, started as PID 1 of a new PID namespace.
struct Pid1 {
    unshare: Child,
    summary: std::path::PathBuf,
    /// The process's temporary folder (TMPDIR), where its scratch folders go.
    tmp: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Pid1 {
    fn start(inputs: &[(&str, &str)], env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let summary = dir.path().join("summary");
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).expect("tmp dir");
        let mut cmd = Command::new("unshare");
        cmd.args(["--pid", "--fork", "--kill-child"])
            .arg(env!("CARGO_BIN_EXE_lambda-deploy"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("GITHUB_OUTPUT", dir.path().join("output"))
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("LAMBDA_DEPLOY_LOG", "info")
            .env("TMPDIR", &tmp)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in support::services() {
            cmd.env(k, v);
        }
        for (k, v) in inputs {
            cmd.env(format!("INPUT_{}", k.to_ascii_uppercase()), v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let unshare = cmd
            .spawn()
            .expect("unshare --pid (the cancel tests run as root, as CI does)");
        Self {
            unshare,
            summary,
            tmp,
            _dir: dir,
        }
    }

    /// What the process left in its temporary folder.
    fn left_in_tmp(&self) -> Vec<String> {
        std::fs::read_dir(&self.tmp)
            .expect("read tmp dir")
            .map(|e| {
                e.expect("tmp entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    }

    /// Deploys `f`'s directory with alias `live`, as `Deployed::deploy` does, plus `extra`.
    fn deploy(f: &Deployed, extra: &[(&str, &str)], env: &[(&str, &str)]) -> Self {
        let dir = support::path_str(f.dir.path());
        let role = support::role();
        let mut inputs: Vec<(&str, &str)> = vec![
            ("function-name", &f.name),
            ("source-dir", &dir),
            ("runtime", "python3.12"),
            ("handler", "app.handler"),
            ("role", &role),
            ("alias", "live"),
        ];
        inputs.extend_from_slice(extra);
        Self::start(&inputs, env)
    }

    /// The PID (in this namespace) of lambda-deploy: the child of `unshare`.
    fn deployer(&self) -> u32 {
        let pid = self.unshare.id();
        let children = format!("/proc/{pid}/task/{pid}/children");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(&children).unwrap_or_default();
            if let Some(p) = text.split_whitespace().next() {
                return p.parse().expect("pid");
            }
            assert!(Instant::now() < deadline, "lambda-deploy did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.deployer().to_string())
            .status()
            .expect("kill");
        assert!(st.success());
    }

    /// Waits for the end; returns (exit code, seconds taken, stdout + stderr, summary).
    fn wait(&mut self, limit: Duration) -> (Option<i32>, f64, String, String) {
        let t0 = Instant::now();
        loop {
            if let Some(status) = self.unshare.try_wait().expect("wait") {
                let mut text = String::new();
                if let Some(mut o) = self.unshare.stdout.take() {
                    let _ = o.read_to_string(&mut text);
                }
                if let Some(mut e) = self.unshare.stderr.take() {
                    let _ = e.read_to_string(&mut text);
                }
                let summary = std::fs::read_to_string(&self.summary).unwrap_or_default();
                return (status.code(), t0.elapsed().as_secs_f64(), text, summary);
            }
            if t0.elapsed() > limit {
                let _ = self.unshare.kill();
                panic!("lambda-deploy did not exit within {limit:?} of the signal");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Waits until the proxy has seen a request matching `method` and `path_has`.
fn wait_for_request(proxy: &FaultProxy, method: &str, path_has: &str, run: &mut Pid1) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let seen = proxy.log().iter().any(|r| {
            r["method"] == method && r["path"].as_str().is_some_and(|p| p.contains(path_has))
        });
        if seen {
            return;
        }
        if let Some(st) = run.unshare.try_wait().expect("wait") {
            panic!("lambda-deploy ended ({st}) before it sent {method} {path_has}");
        }
        assert!(
            Instant::now() < deadline,
            "no {method} {path_has} within 60 s"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn s3() -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(&support::sdk_config())
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

fn incompressible(path: &Path, bytes: usize) {
    // xorshift: the same bytes every run, and deflate cannot shrink them.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut data = Vec::with_capacity(bytes);
    while data.len() < bytes {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    std::fs::write(path, &data[..bytes]).expect("write data");
}

#[test]
fn sigterm_during_a_multipart_upload_aborts_it_and_publishes_nothing() {
    let f = Deployed::new("cancel-upload");
    let bucket = support::unique("cancel-bucket").to_lowercase();
    support::block(async { s3().create_bucket().bucket(&bucket).send().await })
        .expect("create bucket");
    // Two 16 MiB parts' worth of code that does not compress.
    incompressible(&f.dir.path().join("blob.bin"), 20 << 20);
    let proxy = FaultProxy::for_lambda();
    proxy.add(serde_json::json!([{
        "match": {"method": "PUT", "path": "[?&]partNumber="},
        "times": -1,
        "fault": {"delay": 120}
    }]));
    let mut run = Pid1::deploy(
        &f,
        &[("s3-bucket", &bucket)],
        &[("AWS_ENDPOINT_URL_S3", &proxy.url)],
    );
    wait_for_request(&proxy, "PUT", "partNumber=", &mut run);
    run.signal("TERM");
    let (code, secs, text, summary) = run.wait(Duration::from_secs(20));

    assert_eq!(code, Some(143), "{text}");
    assert!(secs < 10.0, "took {secs:.1}s to stop");
    assert!(text.contains("cancelled by SIGTERM"), "{text}");
    assert!(
        text.contains("aborted the multipart upload"),
        "the cleanup did not abort the upload: {text}"
    );
    assert!(summary.contains("**Status: cancelled**"), "{summary}");
    assert!(summary.contains("| package | done |"), "{summary}");
    // The 20 MiB package is not left behind on the runner.
    assert_eq!(
        run.left_in_tmp(),
        Vec::<String>::new(),
        "scratch folders left"
    );
    let open = support::block(async { s3().list_multipart_uploads().bucket(&bucket).send().await })
        .expect("list uploads");
    assert!(
        open.uploads().is_empty(),
        "multipart uploads left open: {:?}",
        open.uploads()
    );
    f.assert_untouched();
}

#[test]
fn sigterm_while_holding_the_alias_lock_releases_it_and_moves_nothing() {
    let f = Deployed::new("cancel-lock");
    f.change_code("v2");
    let proxy = FaultProxy::for_lambda();
    // The lock is created in Lambda, then its answer is held: the run holds the lock.
    proxy.add(serde_json::json!([{
        "match": {"method": "POST", "path": "/aliases$", "body": "lambda-deploy-lock"},
        "times": -1,
        "fault": {"delay_after": 120}
    }]));
    let mut run = Pid1::deploy(&f, &[], &[("AWS_ENDPOINT_URL_LAMBDA", &proxy.url)]);
    wait_for_request(&proxy, "POST", "/aliases", &mut run);
    // Lambda holds the lock now (the proxy forwarded the CreateAlias first).
    let deadline = Instant::now() + Duration::from_secs(10);
    while !support::snapshot(&f.name)
        .aliases
        .contains_key("lambda-deploy-lock")
    {
        assert!(Instant::now() < deadline, "the lock never appeared");
        std::thread::sleep(Duration::from_millis(25));
    }
    run.signal("TERM");
    let (code, secs, text, summary) = run.wait(Duration::from_secs(20));

    assert_eq!(code, Some(143), "{text}");
    assert!(secs < 10.0, "took {secs:.1}s to stop");
    assert!(text.contains("released the alias lock"), "{text}");
    assert!(summary.contains("**Status: cancelled**"), "{summary}");
    let s = support::snapshot(&f.name);
    assert!(
        !s.aliases.contains_key("lambda-deploy-lock"),
        "the alias lock was left: {:?}",
        s.aliases
    );
    assert_eq!(
        s.aliases.get("live").map(String::as_str),
        Some("1"),
        "an alias moved after the signal"
    );
    // After the signal the run made no call but its cleanup's: GetAlias and DeleteAlias
    // of the lock.
    let after: Vec<(String, String)> = proxy
        .requests()
        .into_iter()
        .skip_while(|(m, p)| !(m == "POST" && p.ends_with("/aliases")))
        .skip(1)
        .collect();
    assert!(
        after
            .iter()
            .all(|(_, p)| p.ends_with("/aliases/lambda-deploy-lock")),
        "calls after the signal: {after:?}"
    );
}

/// `live`'s version and the weights of its routing.
fn live_routing(function: &str) -> (String, Vec<(String, f64)>) {
    let c = support::lambda();
    let a = support::block(async {
        c.get_alias()
            .function_name(function)
            .name("live")
            .send()
            .await
    })
    .expect("GetAlias");
    let weights = a
        .routing_config()
        .and_then(|r| r.additional_version_weights())
        .map(|w| w.iter().map(|(k, v)| (k.clone(), *v)).collect())
        .unwrap_or_default();
    (
        a.function_version().unwrap_or_default().to_string(),
        weights,
    )
}

#[test]
fn sigterm_during_a_traffic_shift_sends_the_traffic_back_before_exiting() {
    let f = Deployed::new("cancel-shift");
    f.change_code("v2");
    let mut run = Pid1::deploy(&f, &[("traffic-shift", "canary 25% 60s")], &[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while live_routing(&f.name) != ("1".to_string(), vec![("2".to_string(), 0.25)]) {
        if let Some(st) = run.unshare.try_wait().expect("wait") {
            panic!("lambda-deploy ended ({st}) before the shift began");
        }
        assert!(
            Instant::now() < deadline,
            "the alias was never seen routed 25%"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    run.signal("TERM");
    let (code, secs, text, summary) = run.wait(Duration::from_secs(20));

    assert_eq!(code, Some(143), "{text}");
    assert!(secs < 10.0, "took {secs:.1}s to stop");
    assert!(
        text.contains("traffic shift undone: alias 'live' is back on version 1"),
        "{text}"
    );
    assert!(summary.contains("**Status: cancelled**"), "{summary}");
    assert_eq!(live_routing(&f.name), ("1".to_string(), Vec::new()));
}
