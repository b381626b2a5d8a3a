//! The first run of a new user: a job without a region or without credentials gets one
//! error line and nothing else; no SDK warning, and no package is built before it.

use std::path::Path;
use std::process::{Command, Output};

/// A source tree that cannot be packaged: a named pipe is refused by the packager, so a
/// run that packaged before checking region and credentials fails on it instead.
fn unpackable_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("app.py"),
        "def handler(e, c):\n    return 1\n",
    )
    .expect("write app.py");
    let fifo = dir.path().join("pipe");
    let status = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(status.success());
    dir
}

/// Runs a deploy as a job would that forgot configure-aws-credentials: the standard
/// credential chain, with the instance metadata service probed on a closed loopback port
/// (so the SDK meets, and would log, the probe failures a runner sees), no debug logging.
fn first_run(source: &Path, env: &[(&str, &str)]) -> (Output, tempfile::TempDir) {
    let scratch = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lambda-deploy"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", scratch.path())
        .env("TMPDIR", scratch.path())
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9")
        .env("INPUT_FUNCTION-NAME", "first-contact")
        .env("INPUT_SOURCE-DIR", source)
        .env("INPUT_RUNTIME", "python3.12")
        .env("INPUT_HANDLER", "app.handler")
        .env(
            "INPUT_ROLE",
            "arn:aws:iam::123456789012:role/first-contact-execution",
        );
    for (k, v) in env {
        cmd.env(k, v);
    }
    (cmd.output().expect("run lambda-deploy"), scratch)
}

#[track_caller]
fn assert_one_line(out: &Output, expected: &str) {
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one error line expected:\n{stderr}");
    assert!(lines[0].starts_with(expected), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).trim().is_empty());
}

/// Nothing was written to the temporary directory: no zip was built.
#[track_caller]
fn assert_nothing_packaged(scratch: &Path) {
    let left: Vec<_> = std::fs::read_dir(scratch)
        .expect("read scratch")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "files written: {left:?}");
}

#[test]
fn no_region_is_one_error_line_before_packaging() {
    let tree = unpackable_tree();
    let (out, scratch) = first_run(
        tree.path(),
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDFIRSTCONTACT"),
            ("AWS_SECRET_ACCESS_KEY", "first-contact-secret"),
        ],
    );
    assert_one_line(&out, "error: no AWS region is set; set AWS_REGION");
    assert_nothing_packaged(scratch.path());
}

#[test]
fn no_credentials_is_one_error_line_before_packaging() {
    let tree = unpackable_tree();
    let (out, scratch) = first_run(tree.path(), &[("AWS_REGION", "eu-west-1")]);
    assert_one_line(&out, "error: no AWS credentials found");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("configure-aws-credentials"), "{stderr}");
    assert_nothing_packaged(scratch.path());
}

#[test]
fn debug_logging_still_shows_the_sdk_probes() {
    let tree = unpackable_tree();
    let (out, _scratch) = first_run(
        tree.path(),
        &[("AWS_REGION", "eu-west-1"), ("LAMBDA_DEPLOY_LOG", "debug")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.lines().count() > 1, "{stderr}");
}
