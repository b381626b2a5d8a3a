//! The fault-injecting proxy (`scripts/fault_proxy.py`) as a test fixture: started in
//! front of an upstream, configured per scenario, stopped when dropped.
//!
//! One proxy per test, in front of one service: Lambda (`FaultProxy::for_lambda()`, then
//! `AWS_ENDPOINT_URL_LAMBDA=<url>` for the binary), S3 (the same upstream, with
//! `AWS_ENDPOINT_URL_S3=<url>`), ECR (`AWS_ENDPOINT_URL_ECR`) or the registry
//! (`FaultProxy::start("http://<REGISTRY>")` and `registry-endpoint: <url>`). Rules match on
//! method, path regex, body regex and headers; see the script's header for every fault.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct FaultProxy {
    pub url: String,
    port: u16,
    child: Child,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (an `http://127.0.0.1:PORT` URL).
    pub fn start(upstream: &str) -> Self {
        let port = free_port();
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fault_proxy.py");
        let child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(upstream)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start fault proxy");
        let proxy = Self {
            url: format!("http://127.0.0.1:{port}"),
            port,
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while proxy.request("GET", "/__faults__/log", "").is_err() {
            assert!(Instant::now() < deadline, "fault proxy did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        proxy
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

    /// Every request the proxy saw: `{"method", "path", "fault"}` objects.
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

/// A function deployed once, straight to the emulator (no proxy): version 1 behind alias
/// `live`; the scenario then changes its code and deploys again through a proxy.
pub struct Deployed {
    pub name: String,
    pub dir: tempfile::TempDir,
    pub first_sha: String,
}

/// The Lambda REST path of `name` (`/2015-03-31/functions/<name>`), for rules and counts.
pub fn fpath(name: &str) -> String {
    format!("/2015-03-31/functions/{name}")
}

impl Deployed {
    pub fn new(prefix: &str) -> Self {
        let name = super::unique(prefix);
        let dir = super::example_copy("python-hello");
        let d = Self {
            name,
            dir,
            first_sha: String::new(),
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
        if let Some(p) = proxy {
            env.push(("AWS_ENDPOINT_URL_LAMBDA", &p.url));
        }
        super::deploy(&all, &env, &[])
    }

    /// Asserts that Lambda holds exactly what the first deploy left: its code, version 1
    /// only, and `live` on 1.
    #[track_caller]
    pub fn assert_untouched(&self) {
        let s = super::snapshot(&self.name);
        assert_eq!(s.code_sha256, self.first_sha, "the code of $LATEST changed");
        assert_eq!(s.versions, vec!["$LATEST", "1"], "a version was published");
        assert_eq!(s.aliases.get("live").map(String::as_str), Some("1"));
    }

    /// Asserts that the second deploy completed: `$LATEST` and version 2 hold `sha`, and
    /// `live` serves 2.
    #[track_caller]
    pub fn assert_deployed(&self, sha: &str) {
        let s = super::snapshot(&self.name);
        assert_eq!(s.code_sha256, sha);
        assert_eq!(s.versions, vec!["$LATEST", "1", "2"]);
        assert_eq!(s.aliases.get("live").map(String::as_str), Some("2"));
        assert!(
            !s.aliases.contains_key("lambda-deploy-lock"),
            "the alias lock was left"
        );
        let v2 = super::block(async {
            super::lambda()
                .get_function_configuration()
                .function_name(&self.name)
                .qualifier("2")
                .send()
                .await
                .expect("version 2")
        });
        assert_eq!(v2.code_sha256(), Some(sha), "version 2 holds other code");
    }
}
