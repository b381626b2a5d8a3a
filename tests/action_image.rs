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

/// `--version` names the release and the commit the binary was built from, so a user can
/// tell which build an action image runs.
#[test]
fn version_names_the_commit_it_was_built_from() {
    let out = Command::new(env!("CARGO_BIN_EXE_lambda-deploy"))
        .arg("--version")
        .output()
        .expect("run --version");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(support::manifest_dir())
        .output()
        .expect("git rev-parse HEAD");
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    assert_eq!(head.len(), 40, "not a git checkout: {head}");
    assert_eq!(
        text.trim(),
        format!(
            "lambda-deploy {} (commit {})",
            env!("CARGO_PKG_VERSION"),
            &head[..12]
        )
    );
}

/// The runtime assembly for an arm64 image, as the release's cross-compiling builder runs
/// it: a binary built with Debian's aarch64 cross toolchain gets its interpreter and
/// libraries from the cross sysroot, and runs (under qemu) in a chroot of nothing else.
#[test]
fn arm64_runtime_filesystem_runs_a_cross_compiled_binary() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let src = tmp.path().join("probe.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\n#include <math.h>\nint main(int c, char **v) { printf(\"probe %d %.1f\\n\", c, sqrt(16.0 * c)); return 0; }\n",
    )
    .expect("write probe.c");
    let bin = tmp.path().join("probe");
    let cc = Command::new("aarch64-linux-gnu-gcc")
        .arg("-O2")
        .arg("-o")
        .arg(&bin)
        .arg(&src)
        .arg("-lm")
        .status()
        .expect("aarch64-linux-gnu-gcc (scripts/test.sh installs gcc-aarch64-linux-gnu)");
    assert!(cc.success());
    let rootfs = tmp.path().join("rootfs");
    let out = Command::new("bash")
        .arg(support::manifest_dir().join("scripts/assemble-runtime.sh"))
        .args(["--check", "--arch", "arm64"])
        .arg(&bin)
        .arg(&rootfs)
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .expect("run assemble-runtime.sh");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut files = walk(&rootfs);
    files.sort();
    assert_eq!(
        files,
        [
            "etc/hosts",
            "etc/nsswitch.conf",
            "etc/ssl/certs/ca-certificates.crt",
            "lambda-deploy",
            "lib/aarch64-linux-gnu/libc.so.6",
            "lib/aarch64-linux-gnu/libm.so.6",
            "lib/ld-linux-aarch64.so.1",
        ]
    );
    let qemu = Command::new("sh")
        .args(["-c", "command -v qemu-aarch64-static"])
        .output()
        .expect("find qemu");
    let qemu = String::from_utf8_lossy(&qemu.stdout).trim().to_string();
    std::fs::copy(&qemu, rootfs.join("qemu")).expect("copy qemu");
    let run = Command::new("chroot")
        .arg(&rootfs)
        .args(["/qemu", "/lambda-deploy", "x"])
        .output()
        .expect("chroot");
    assert_eq!(String::from_utf8_lossy(&run.stdout), "probe 2 5.7\n");
}
