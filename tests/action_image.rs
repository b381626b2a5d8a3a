//! The action image's runtime filesystem (what the Dockerfile's `FROM scratch` stage
//! holds, assembled by scripts/assemble-runtime.sh) is enough to start lambda-deploy and
//! plan a deploy against the local emulator. Needs root for chroot, as CI has.

mod support;

use std::process::Command;

#[test]
fn runtime_filesystem_runs_help_and_a_dry_run() {
    let env = support::services();
    let root = tempfile::tempdir().expect("temp dir");
    let rootfs = root.path().join("rootfs");
    let out = Command::new("bash")
        .arg(support::manifest_dir().join("scripts/assemble-runtime.sh"))
        .arg("--check")
        .arg(env!("CARGO_BIN_EXE_lambda-deploy"))
        .arg(&rootfs)
        .envs(env.iter())
        .output()
        .expect("run assemble-runtime.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("/lambda-deploy --help: ok"), "{stdout}");
    assert!(stdout.contains("dry-run against"), "{stdout}");
    // Only the binary, the loader and libraries, the CA bundle and two name-service files.
    let files: Vec<String> = walk(&rootfs)
        .into_iter()
        .filter(|p| !p.starts_with("github/"))
        .collect();
    assert!(
        files
            .iter()
            .all(|f| f == "lambda-deploy" || f.starts_with("lib") || f.starts_with("etc/")),
        "{files:?}"
    );
    assert!(
        files.contains(&"etc/ssl/certs/ca-certificates.crt".to_string()),
        "{files:?}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(
                    p.strip_prefix(dir)
                        .expect("prefix")
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    out
}
