//! Names the commit lambda-deploy was built from, for `lambda-deploy --version`:
//! `LAMBDA_DEPLOY_COMMIT` when the build sets it (the Dockerfile does: its context has no
//! .git), else `git rev-parse HEAD` of the checkout, else "unknown".

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-env-changed=LAMBDA_DEPLOY_COMMIT");
    let given = std::env::var("LAMBDA_DEPLOY_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty() && c != "unknown");
    let commit = match given {
        Some(c) => c.trim().to_string(),
        None => {
            // Rebuild when HEAD moves, so the version never names an older commit.
            for path in ["HEAD", "refs", "packed-refs"] {
                if let Some(p) = git(&["rev-parse", "--git-path", path]) {
                    println!("cargo:rerun-if-changed={p}");
                }
            }
            git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into())
        }
    };
    let short: String = commit.chars().take(12).collect();
    println!("cargo:rustc-env=LAMBDA_DEPLOY_COMMIT={short}");
}
