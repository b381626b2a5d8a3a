//! The fault-injecting proxy (`scripts/fault_proxy.py`) as a test fixture: started in
//! front of an upstream, configured per scenario, stopped when dropped.

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
