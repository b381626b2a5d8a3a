//! The action image builds from the repository as Docker sees it: the build context is
//! the tracked files minus what `.dockerignore` drops (Docker's rules: patterns in order,
//! `!` re-includes, `**` spans folders, a matched folder drops everything below it), and
//! the builder stage's commands after `COPY . .` must run in a copy of exactly that.
//!
//! Guards against a context that lacks a file the build reads (a script, a manifest): the
//! image then fails to build for every user, while every other test passes.
//!
//! The one stand-in is the compile itself: a `cargo` first on PATH checks that the
//! context holds the same crate sources this test binary was built from, then puts the
//! already built binary where `cargo build --release` would. Every other command (the
//! runtime assembly included) runs as written.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One `.dockerignore` line, compiled.
struct Rule {
    negate: bool,
    parts: Vec<String>,
}

fn parse_dockerignore(text: &str) -> Vec<Rule> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (negate, pat) = match l.strip_prefix('!') {
                Some(p) => (true, p.trim()),
                None => (false, l),
            };
            let parts = pat
                .split('/')
                .filter(|p| !p.is_empty() && *p != ".")
                .map(str::to_string)
                .collect();
            Rule { negate, parts }
        })
        .collect()
}

/// Matches one path segment against one pattern segment (`*`, `?`, `[...]`).
fn segment_matches(pat: &[u8], name: &[u8]) -> bool {
    match (pat.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            segment_matches(&pat[1..], name)
                || (!name.is_empty() && segment_matches(pat, &name[1..]))
        }
        (Some(b'?'), Some(_)) => segment_matches(&pat[1..], &name[1..]),
        (Some(b'['), Some(&c)) => match pat.iter().position(|&b| b == b']') {
            Some(end) => {
                let class = &pat[1..end];
                let (negated, class) = match class.first() {
                    Some(b'^') | Some(b'!') => (true, &class[1..]),
                    _ => (false, class),
                };
                let mut hit = false;
                let mut i = 0;
                while i < class.len() {
                    if i + 2 < class.len() && class[i + 1] == b'-' {
                        hit |= class[i] <= c && c <= class[i + 2];
                        i += 3;
                    } else {
                        hit |= class[i] == c;
                        i += 1;
                    }
                }
                hit != negated && segment_matches(&pat[end + 1..], &name[1..])
            }
            None => false,
        },
        (Some(p), Some(n)) if p == n => segment_matches(&pat[1..], &name[1..]),
        _ => false,
    }
}

/// Matches a whole path (split in segments) against a pattern; `**` spans any number.
fn path_matches(pat: &[String], path: &[&str]) -> bool {
    match pat.first() {
        None => path.is_empty(),
        Some(p) if p == "**" => (0..=path.len()).any(|skip| path_matches(&pat[1..], &path[skip..])),
        Some(p) => {
            !path.is_empty()
                && segment_matches(p.as_bytes(), path[0].as_bytes())
                && path_matches(&pat[1..], &path[1..])
        }
    }
}

/// Docker's verdict on one file: the last rule that matches the file or any folder above
/// it decides.
fn excluded(rules: &[Rule], file: &str) -> bool {
    let segs: Vec<&str> = file.split('/').collect();
    let mut out = false;
    for rule in rules {
        if (1..=segs.len()).any(|n| path_matches(&rule.parts, &segs[..n])) {
            out = !rule.negate;
        }
    }
    out
}

fn tracked_files(repo: &Path) -> Vec<String> {
    let out = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(repo)
        .output()
        .expect("git ls-files (the build-context test needs a git checkout)");
    assert!(out.status.success(), "git ls-files failed");
    String::from_utf8_lossy(&out.stdout)
        .split('\0')
        .filter(|f| !f.is_empty() && repo.join(f).exists())
        .map(str::to_string)
        .collect()
}

/// The context Docker would send: tracked files that `.dockerignore` keeps.
fn build_context(repo: &Path) -> BTreeSet<String> {
    let ignore = std::fs::read_to_string(repo.join(".dockerignore")).unwrap_or_default();
    let rules = parse_dockerignore(&ignore);
    tracked_files(repo)
        .into_iter()
        .filter(|f| !excluded(&rules, f))
        .collect()
}

/// The builder stage as the Dockerfile writes it.
#[derive(Debug, Default)]
struct Builder {
    workdir: String,
    /// RUN commands after `COPY . .`, with `--mount` flags removed.
    runs: Vec<String>,
    /// ARG defaults seen in the stage (and globally), as `NAME=value`.
    args: Vec<(String, String)>,
}

fn instructions(dockerfile: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in dockerfile.lines() {
        let t = line.trim();
        if cur.is_empty() && (t.is_empty() || t.starts_with('#')) {
            continue;
        }
        if t.starts_with('#') {
            continue;
        }
        match t.strip_suffix('\\') {
            Some(head) => {
                cur.push_str(head);
                cur.push(' ');
            }
            None => {
                cur.push_str(t);
                let (op, rest) = cur.split_once(char::is_whitespace).unwrap_or((&cur, ""));
                out.push((op.to_ascii_uppercase(), rest.trim().to_string()));
                cur.clear();
            }
        }
    }
    out
}

fn builder_stage(dockerfile: &str) -> Builder {
    let mut stage = Builder::default();
    let mut global_args = Vec::new();
    let mut in_builder = false;
    let mut copied = false;
    for (op, rest) in instructions(dockerfile) {
        match op.as_str() {
            "FROM" => {
                in_builder = rest.to_ascii_lowercase().ends_with(" as builder");
                if in_builder {
                    stage.args = global_args.clone();
                }
            }
            "ARG" => {
                let (name, value) = rest.split_once('=').unwrap_or((&rest, ""));
                let pair = (
                    name.trim().to_string(),
                    value.trim().trim_matches('"').to_string(),
                );
                if in_builder {
                    stage.args.push(pair);
                } else {
                    global_args.push(pair);
                }
            }
            "WORKDIR" if in_builder => stage.workdir = rest,
            "COPY" if in_builder && !rest.starts_with("--from") => {
                copied |= rest.split_whitespace().next() == Some(".");
            }
            "RUN" if in_builder && copied => {
                let cmd: Vec<&str> = rest
                    .split(' ')
                    .filter(|w| !w.starts_with("--mount="))
                    .collect();
                stage.runs.push(cmd.join(" ").trim().to_string());
            }
            _ => {}
        }
    }
    stage
}

/// A `cargo` that checks the context's crate sources are those this test was built from
/// and puts the built binary where `cargo build --release` would leave it.
fn cargo_stand_in(dir: &Path, repo: &Path) -> PathBuf {
    let bin = dir.join("cargo");
    // What cargo reads to build the binary: the manifest, the lockfile, the build script
    // and every tracked source file (an untracked file is not in a clone, so not needed).
    let crate_files: Vec<String> = tracked_files(repo)
        .into_iter()
        .filter(|f| {
            f.starts_with("src/") || ["Cargo.toml", "Cargo.lock", "build.rs"].contains(&f.as_str())
        })
        .collect();
    let list = dir.join("crate-files");
    std::fs::write(&list, crate_files.join("\n") + "\n").expect("write the crate file list");
    let script = format!(
        r#"#!/usr/bin/env bash
set -euo pipefail
[ "${{1:-}}" = build ] || {{ echo "cargo stand-in: only 'build' is expected, got: $*" >&2; exit 2; }}
while IFS= read -r f; do
  cmp -s "$f" '{repo}'/"$f" || {{ echo "cargo stand-in: $f, which the build reads, is missing from the build context or different" >&2; exit 1; }}
done < '{list}'
target=""; prev=""
for a in "$@"; do [ "$prev" = --target ] && target="$a"; prev="$a"; done
out="target/${{target:+$target/}}release"
mkdir -p "$out"
cp '{exe}' "$out/lambda-deploy"
"#,
        repo = repo.display(),
        list = list.display(),
        exe = env!("CARGO_BIN_EXE_lambda-deploy"),
    );
    std::fs::write(&bin, script).expect("write the cargo stand-in");
    let mut perm = std::fs::metadata(&bin).expect("stat").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&bin, perm).expect("chmod");
    bin
}

/// Docker's name for this machine's architecture, which BuildKit passes as TARGETARCH.
fn target_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn copy_context(repo: &Path, files: &BTreeSet<String>, to: &Path) {
    for f in files {
        let dst = to.join(f);
        std::fs::create_dir_all(dst.parent().expect("parent")).expect("mkdir");
        std::fs::copy(repo.join(f), &dst).unwrap_or_else(|e| panic!("copy {f}: {e}"));
    }
}

#[test]
fn dockerignore_rules_follow_docker() {
    let rules = parse_dockerignore("target/\n**/*.zip\nscripts/*\n!scripts/keep.sh\n# c\n/docs\n");
    assert!(excluded(&rules, "target/debug/x"));
    assert!(excluded(&rules, "a/b/c.zip") && excluded(&rules, "c.zip"));
    assert!(excluded(&rules, "scripts/test.sh"));
    assert!(
        !excluded(&rules, "scripts/keep.sh"),
        "a later ! re-includes"
    );
    assert!(
        excluded(&rules, "docs/readme.md"),
        "a matched folder drops what is below"
    );
    assert!(!excluded(&rules, "src/main.rs"));
    let order = parse_dockerignore("!scripts/keep.sh\nscripts/\n");
    assert!(
        excluded(&order, "scripts/keep.sh"),
        "the last matching rule wins"
    );
    let class = parse_dockerignore("file[0-9].txt\n");
    assert!(excluded(&class, "file3.txt") && !excluded(&class, "filex.txt"));
}

#[test]
fn builder_stage_runs_in_exactly_the_build_context() {
    let repo = support::manifest_dir();
    let dockerfile = std::fs::read_to_string(repo.join("Dockerfile")).expect("read Dockerfile");
    let stage = builder_stage(&dockerfile);
    assert!(
        !stage.runs.is_empty(),
        "no RUN after COPY . . in the builder stage: {stage:?}"
    );
    let files = build_context(&repo);
    assert!(
        files.contains("Cargo.toml") && files.contains("Cargo.lock"),
        "{files:?}"
    );

    let tmp = tempfile::tempdir().expect("temp dir");
    let work = tmp.path().join(stage.workdir.trim_start_matches('/'));
    copy_context(&repo, &files, &work);
    let shims = tmp.path().join("bin");
    std::fs::create_dir_all(&shims).expect("mkdir");
    cargo_stand_in(&shims, &repo);
    let path = format!(
        "{}:{}",
        shims.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for run in &stage.runs {
        let out = Command::new("bash")
            .args(["-euo", "pipefail", "-c", run])
            .current_dir(&work)
            .env("PATH", &path)
            .env("TARGETARCH", target_arch())
            .envs(
                stage
                    .args
                    .iter()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .output()
            .expect("run a builder command");
        assert!(
            out.status.success(),
            "the Dockerfile's `RUN {run}` fails in the build context .dockerignore leaves:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let rootfs = work.join("rootfs");
    assert!(
        rootfs.join("lambda-deploy").is_file(),
        "the builder stage left no {}/rootfs/lambda-deploy for the runtime stage to copy",
        stage.workdir
    );
    assert!(
        dockerfile.contains(&format!("COPY --from=builder {}/rootfs/ /", stage.workdir)),
        "the runtime stage must copy the folder the builder assembled"
    );
}
