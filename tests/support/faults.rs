//! The fault-injecting proxy (`scripts/fault_proxy.py`) as a test fixture: started in
//! front of an upstream, configured per scenario, stopped when dropped.
//!
//! One proxy per test, in front of one service: Lambda (`FaultProxy::for_lambda()`, then
//! `AWS_ENDPOINT_URL_LAMBDA=<url>` for the binary), S3 (the same upstream, with
//! `AWS_ENDPOINT_URL_S3=<url>`), ECR (`AWS_ENDPOINT_URL_ECR`) or the registry
//! (`FaultProxy::start("http://<REGISTRY>")` and `registry-endpoint: <url>`). Rules match on
//! method, path regex, body regex and headers; see the script's header for every fault.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

pub struct FaultProxy {
    pub url: String,
    port: u16,
    child: Child,
    /// Kept open so the proxy never writes into a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

/// The port in the proxy's first line, `fault proxy 127.0.0.1:PORT -> UPSTREAM`.
fn announced_port(line: &str) -> Option<u16> {
    let addr = line.strip_prefix("fault proxy 127.0.0.1:")?;
    addr.split_whitespace().next()?.parse().ok()
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (an `http://127.0.0.1:PORT` URL). The proxy
    /// binds a port the system picks and names it on its first line, so the port is its
    /// own from the start: no other test's proxy can be listening there.
    pub fn start(upstream: &str) -> Self {
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fault_proxy.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg("0")
            .arg(upstream)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start fault proxy");
        let mut stdout = BufReader::new(child.stdout.take().expect("proxy stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read the proxy's port");
        let Some(port) = announced_port(&line) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("fault proxy did not start: {line:?}");
        };
        Self {
            url: format!("http://127.0.0.1:{port}"),
            port,
            child,
            _stdout: stdout,
        }
    }

    /// The port the proxy listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    fn request(&self, method: &str, path: &str, body: &str) -> std::io::Result<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
        let mut text = String::new();
        s.read_to_string(&mut text)?;
        Ok(text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default())
    }

    /// Adds rules (a JSON list; see the script's header for the format).
    pub fn add(&self, rules: serde_json::Value) {
        self.request("POST", "/__faults__/rules", &rules.to_string())
            .expect("add rules");
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.request("DELETE", "/__faults__/rules", "")
            .expect("clear rules");
    }

    /// Forgets the requests seen so far.
    pub fn clear_log(&self) {
        self.request("DELETE", "/__faults__/log", "")
            .expect("clear log");
    }

    /// Lets the requests a `{"hold": name}` fault keeps waiting go on (and later ones).
    pub fn release(&self, name: &str) {
        self.request(
            "POST",
            "/__faults__/release",
            &serde_json::json!({ "name": name }).to_string(),
        )
        .expect("release");
    }

    /// Waits (at most `limit`) until a logged request satisfies `pred`, and returns it.
    #[track_caller]
    pub fn wait_for(
        &self,
        what: &str,
        limit: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(r) = self.log().into_iter().find(|r| pred(r)) {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "{what} did not happen within {limit:?}: {:?}",
                self.requests()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The logged requests with `method` and a path (without its query) ending in
    /// `path_ends`, in order: each with its "status", "body" and "fault".
    pub fn matching(&self, method: &str, path_ends: &str) -> Vec<serde_json::Value> {
        self.log()
            .into_iter()
            .filter(|r| {
                r["method"] == method
                    && r["path"]
                        .as_str()
                        .and_then(|p| p.split('?').next())
                        .is_some_and(|p| p.ends_with(path_ends))
            })
            .collect()
    }

    /// Every request the proxy saw: `{"method", "path", "fault", "time", "status", "body"}`
    /// objects (see the script's header).
    pub fn log(&self) -> Vec<serde_json::Value> {
        let text = self
            .request("GET", "/__faults__/log", "")
            .expect("read log");
        serde_json::from_str(&text).unwrap_or_default()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl FaultProxy {
    /// Starts a proxy in front of the local emulator.
    pub fn for_lambda() -> Self {
        Self::start(&super::services()["AWS_ENDPOINT_URL"])
    }

    /// How many requests had `method` and a path (without its query) ending in `path_ends`.
    pub fn count(&self, method: &str, path_ends: &str) -> usize {
        self.requests()
            .iter()
            .filter(|(m, p)| m == method && p.ends_with(path_ends))
            .count()
    }

    /// `(method, path without query)` of every request, in order.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.log()
            .iter()
            .map(|r| {
                let path = r["path"].as_str().unwrap_or_default();
                (
                    r["method"].as_str().unwrap_or_default().to_string(),
                    path.split('?').next().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// The requests that met a fault.
    pub fn faulted(&self) -> usize {
        self.log().iter().filter(|r| !r["fault"].is_null()).count()
    }
}

/// An emulator of the scenario's own (`scripts/local-aws.sh` with its own state folder),
/// for scenarios that run with short timeouts: the shared emulator is loaded by the rest
/// of the suite (large uploads, many deploys at once), which would make any call slow
/// enough to time out, not only the faulted one. Stopped when dropped.
pub struct Emulator {
    pub endpoint: String,
    state: tempfile::TempDir,
}

impl Emulator {
    pub fn start() -> Self {
        let state = tempfile::tempdir().expect("state dir");
        let out = Self::script(&state, "start")
            .output()
            .expect("run scripts/local-aws.sh");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let endpoint = stdout
            .lines()
            .find_map(|l| l.strip_prefix("export AWS_ENDPOINT_URL="))
            .map(|v| v.trim_matches('"').to_string());
        let emulator = Self {
            endpoint: endpoint.unwrap_or_default(),
            state,
        };
        assert!(
            out.status.success() && !emulator.endpoint.is_empty(),
            "an emulator of its own did not start:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        emulator
    }

    fn script(state: &tempfile::TempDir, command: &str) -> Command {
        let mut cmd = Command::new("bash");
        cmd.arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/local-aws.sh"))
            .arg(command)
            .env("LAMBDA_DEPLOY_HARNESS_DIR", state.path())
            // Only Lambda is needed; the shared run installed everything already.
            .env("LAMBDA_DEPLOY_ECR_SYNC", "0")
            .env("LAMBDA_DEPLOY_INSTALL", "0")
            .env_remove("LAMBDA_DEPLOY_MOTO_PORT")
            .env_remove("LAMBDA_DEPLOY_REGISTRY_PORT")
            .env_remove("LAMBDA_DEPLOY_PROXY_PORT")
            .stdin(Stdio::null());
        cmd
    }

    /// A Lambda client for this emulator.
    pub fn lambda(&self) -> aws_sdk_lambda::Client {
        let conf = aws_sdk_lambda::config::Builder::from(&super::sdk_config())
            .endpoint_url(&self.endpoint)
            .build();
        aws_sdk_lambda::Client::from_conf(conf)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = Self::script(&self.state, "stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A function deployed once, straight to the emulator (no proxy): version 1 behind alias
/// `live`; the scenario then changes its code and deploys again through a proxy.
pub struct Deployed {
    pub name: String,
    pub dir: tempfile::TempDir,
    pub first_sha: String,
    /// The emulator it lives in, when not the shared one.
    endpoint: Option<String>,
}

/// What the assertions of [`Deployed`] compare: `$LATEST`'s code, the versions and where
/// each alias points.
pub struct State {
    pub code_sha256: String,
    pub versions: Vec<String>,
    pub aliases: std::collections::BTreeMap<String, String>,
}

/// The Lambda REST path of `name` (`/2015-03-31/functions/<name>`), for rules and counts.
pub fn fpath(name: &str) -> String {
    format!("/2015-03-31/functions/{name}")
}

impl Deployed {
    pub fn new(prefix: &str) -> Self {
        Self::create(prefix, None)
    }

    /// The same, in `emulator` instead of the shared one.
    pub fn on(prefix: &str, emulator: &Emulator) -> Self {
        Self::create(prefix, Some(emulator.endpoint.clone()))
    }

    fn create(prefix: &str, endpoint: Option<String>) -> Self {
        let name = super::unique(prefix);
        let dir = super::example_copy("python-hello");
        let d = Self {
            name,
            dir,
            first_sha: String::new(),
            endpoint,
        };
        let run = d.deploy(None, &[], &[]);
        run.assert_ok();
        let first_sha = run.out("code-sha256").to_string();
        assert_eq!(run.out("version"), "1");
        Self { first_sha, ..d }
    }

    /// Writes a file so the next package differs.
    pub fn change_code(&self, marker: &str) {
        std::fs::write(self.dir.path().join("marker.txt"), marker).expect("write marker");
    }

    /// Deploys the directory with alias `live`, through `proxy` when given, with extra
    /// inputs (which win) and environment.
    pub fn deploy(
        &self,
        proxy: Option<&FaultProxy>,
        inputs: &[(&str, &str)],
        env: &[(&str, &str)],
    ) -> super::Run {
        let d = super::path_str(self.dir.path());
        let role = super::role();
        let mut all: Vec<(&str, &str)> = vec![
            ("function-name", &self.name),
            ("source-dir", &d),
            ("runtime", "python3.12"),
            ("handler", "app.handler"),
            ("role", &role),
            ("alias", "live"),
        ];
        for (k, v) in inputs {
            all.retain(|(n, _)| n != k);
            all.push((k, v));
        }
        let mut env: Vec<(&str, &str)> = env.to_vec();
        if let Some(e) = &self.endpoint {
            env.push(("AWS_ENDPOINT_URL", e));
        }
        if let Some(p) = proxy {
            env.push(("AWS_ENDPOINT_URL_LAMBDA", &p.url));
        }
        super::deploy(&all, &env, &[])
    }

    /// Asserts that Lambda holds exactly what the first deploy left: its code, version 1
    /// only, and `live` on 1.
    /// A Lambda client for the emulator the function lives in.
    pub fn lambda(&self) -> aws_sdk_lambda::Client {
        match &self.endpoint {
            Some(e) => aws_sdk_lambda::Client::from_conf(
                aws_sdk_lambda::config::Builder::from(&super::sdk_config())
                    .endpoint_url(e)
                    .build(),
            ),
            None => super::lambda(),
        }
    }

    /// What Lambda holds for the function now.
    pub fn state(&self) -> State {
        let s = super::snapshot_with(&self.lambda(), &self.name);
        assert!(s.exists, "function {} is gone", self.name);
        State {
            code_sha256: s.code_sha256,
            versions: s.versions,
            aliases: s.aliases,
        }
    }

    #[track_caller]
    pub fn assert_untouched(&self) {
        let s = self.state();
        assert_eq!(s.code_sha256, self.first_sha, "the code of $LATEST changed");
        assert_eq!(s.versions, vec!["$LATEST", "1"], "a version was published");
        assert_eq!(s.aliases.get("live").map(String::as_str), Some("1"));
    }

    /// Asserts that the second deploy completed: `$LATEST` and version 2 hold `sha`, and
    /// `live` serves 2.
    #[track_caller]
    pub fn assert_deployed(&self, sha: &str) {
        let s = self.state();
        assert_eq!(s.code_sha256, sha);
        assert_eq!(s.versions, vec!["$LATEST", "1", "2"]);
        assert_eq!(s.aliases.get("live").map(String::as_str), Some("2"));
        assert!(
            !s.aliases.contains_key("lambda-deploy-lock"),
            "the alias lock was left"
        );
        let c = self.lambda();
        let v2 = super::block(async {
            c.get_function_configuration()
                .function_name(&self.name)
                .qualifier("2")
                .send()
                .await
                .expect("version 2")
        });
        assert_eq!(v2.code_sha256(), Some(sha), "version 2 holds other code");
    }
}
