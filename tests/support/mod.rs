//! Shared by the integration tests: the local AWS services, the real binary, and the
//! SDK client the tests read AWS state with.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_lambda::config::{Credentials, Region};

/// The environment of the local services (`scripts/local-aws.sh`): taken from this
/// process when `scripts/test.sh` exported it, else the harness is started (or reused).
pub fn services() -> &'static BTreeMap<String, String> {
    static ENV: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let keys = [
            "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_REGION",
            "LAMBDA_DEPLOY_TEST_ROLE",
        ];
        // The registry's address and login, for image tests, when exported too.
        let optional = ["REGISTRY", "REGISTRY_USERNAME", "REGISTRY_PASSWORD"];
        if keys.iter().all(|k| std::env::var(k).is_ok()) {
            return keys
                .iter()
                .chain(optional.iter())
                .filter_map(|k| Some((k.to_string(), std::env::var(k).ok()?)))
                .collect();
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/local-aws.sh");
        let out = Command::new("bash")
            .arg(&script)
            .arg("start")
            .output()
            .expect("run scripts/local-aws.sh");
        assert!(
            out.status.success(),
            "scripts/local-aws.sh start failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
            .collect()
    })
}

pub fn role() -> String {
    services()
        .get("LAMBDA_DEPLOY_TEST_ROLE")
        .cloned()
        .unwrap_or_else(|| "arn:aws:iam::123456789012:role/lambda-deploy-test".into())
}

/// A function name no other test (or earlier run against the same emulator) uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{:x}-{}",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The AWS configuration the tests read state with: the local services' endpoint,
/// region and test credentials. Each service's client is built from it.
pub fn sdk_config() -> aws_config::SdkConfig {
    let env = services();
    let region = env
        .get("AWS_REGION")
        .cloned()
        .unwrap_or_else(|| "us-east-1".into());
    let credentials = Credentials::new(
        env["AWS_ACCESS_KEY_ID"].clone(),
        env["AWS_SECRET_ACCESS_KEY"].clone(),
        None,
        None,
        "tests",
    );
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(Region::new(region))
        .endpoint_url(env["AWS_ENDPOINT_URL"].clone())
        .credentials_provider(aws_sdk_lambda::config::SharedCredentialsProvider::new(
            credentials,
        ))
        .build()
}

/// The Lambda client the tests read state with.
pub fn lambda() -> aws_sdk_lambda::Client {
    aws_sdk_lambda::Client::new(&sdk_config())
}

/// A run of the real binary, with its outputs and summary files read back.
pub struct Run {
    pub output: Output,
    pub outputs: BTreeMap<String, String>,
    pub summary: String,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.output.status.success()
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    pub fn out(&self, name: &str) -> &str {
        self.outputs.get(name).map(String::as_str).unwrap_or("")
    }
    /// Every byte the run wrote where people or other steps can read it: stdout, stderr,
    /// the outputs and the job summary.
    pub fn everything(&self) -> String {
        let outputs: Vec<String> = self
            .outputs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!(
            "{}\n{}\n{}\n{}",
            self.stdout(),
            self.stderr(),
            outputs.join("\n"),
            self.summary
        )
    }
    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert!(
            self.ok(),
            "lambda-deploy failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}

/// Parses the runner's output file format (`k=v` lines and `k<<DELIM` heredocs).
pub fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((k, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                value.push(l);
            }
            map.insert(k.to_string(), value.join("\n"));
        } else if let Some((k, v)) = line.split_once('=') {
            map.insert(k.to_string(), v.to_string());
        }
    }
    map
}

/// Runs `lambda-deploy` with `inputs` as GitHub passes them (`INPUT_<NAME>`), plus
/// extra environment, in a clean environment that holds only the services' settings.
pub fn deploy(inputs: &[(&str, &str)], extra_env: &[(&str, &str)], args: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let out_file = dir.path().join("output");
    let summary_file = dir.path().join("summary");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lambda-deploy"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::var("HOME").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("GITHUB_OUTPUT", &out_file)
        .env("GITHUB_STEP_SUMMARY", &summary_file)
        .env("LAMBDA_DEPLOY_LOG", "info")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    for (k, v) in services() {
        cmd.env(k, v);
    }
    for (k, v) in inputs {
        cmd.env(format!("INPUT_{}", k.to_ascii_uppercase()), v);
    }
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd.args(args);
    let output = cmd.output().expect("run lambda-deploy");
    Run {
        output,
        outputs: parse_outputs(&std::fs::read_to_string(&out_file).unwrap_or_default()),
        summary: std::fs::read_to_string(&summary_file).unwrap_or_default(),
    }
}

/// A copy of an example function in a temporary directory the test may change.
pub fn example_copy(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name);
    copy_tree(&src, dir.path());
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read example") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Sets every mtime under `dir` to `secs` after the epoch.
pub fn touch_all(dir: &Path, secs: u64) {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let entry = entry.expect("entry");
        if entry.file_type().expect("type").is_dir() {
            touch_all(&entry.path(), secs);
        }
        let f = std::fs::File::options()
            .read(true)
            .open(entry.path())
            .expect("open");
        f.set_modified(t).expect("set mtime");
    }
}

pub fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs a future to completion on a small runtime (the tests themselves are sync).
pub fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// What a function looks like in the emulator, reduced to what tests compare.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub exists: bool,
    pub code_sha256: String,
    pub runtime: Option<String>,
    pub handler: Option<String>,
    pub memory_size: Option<i32>,
    pub timeout: Option<i32>,
    pub environment: BTreeMap<String, String>,
    pub versions: Vec<String>,
    pub aliases: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

pub fn snapshot(function: &str) -> Snapshot {
    snapshot_with(&lambda(), function)
}

/// [`snapshot`] through `c` (an emulator of a test's own, for instance). Only "not found"
/// reads as a missing function; any other error fails the test.
pub fn snapshot_with(c: &aws_sdk_lambda::Client, function: &str) -> Snapshot {
    block(async {
        let got = c.get_function().function_name(function).send().await;
        let f = match got {
            Ok(f) => f,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Snapshot {
                    exists: false,
                    code_sha256: String::new(),
                    runtime: None,
                    handler: None,
                    memory_size: None,
                    timeout: None,
                    environment: BTreeMap::new(),
                    versions: vec![],
                    aliases: BTreeMap::new(),
                    tags: BTreeMap::new(),
                };
            }
            Err(e) => panic!(
                "GetFunction {function}: {}",
                aws_sdk_lambda::error::DisplayErrorContext(&e)
            ),
        };
        let conf = f.configuration().expect("configuration");
        let versions = c
            .list_versions_by_function()
            .function_name(function)
            .send()
            .await
            .expect("list versions");
        let aliases = c
            .list_aliases()
            .function_name(function)
            .send()
            .await
            .expect("list aliases");
        Snapshot {
            exists: true,
            code_sha256: conf.code_sha256().unwrap_or_default().to_string(),
            runtime: conf.runtime().map(|r| r.as_str().to_string()),
            handler: conf.handler().map(str::to_string),
            memory_size: conf.memory_size(),
            timeout: conf.timeout(),
            environment: conf
                .environment()
                .and_then(|e| e.variables())
                .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            versions: versions
                .versions()
                .iter()
                .filter_map(|v| v.version().map(str::to_string))
                .collect(),
            aliases: aliases
                .aliases()
                .iter()
                .map(|a| {
                    (
                        a.name().unwrap_or_default().to_string(),
                        a.function_version().unwrap_or_default().to_string(),
                    )
                })
                .collect(),
            tags: f
                .tags()
                .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
        }
    })
}

/// Description of a published version.
pub fn version_description(function: &str, version: &str) -> String {
    block(async {
        lambda()
            .get_function_configuration()
            .function_name(function)
            .qualifier(version)
            .send()
            .await
            .expect("get version")
            .description()
            .unwrap_or_default()
            .to_string()
    })
}

pub mod faults;
pub mod github;
pub mod image;
pub mod registry;

/// The property tests' settings: `default` cases, or `PROPTEST_CASES` for a longer hunt;
/// no failure files are written into the tree.
pub fn cases(default: u32) -> proptest::test_runner::Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}
