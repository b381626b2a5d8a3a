//! Fixtures of the image tests: base images written by the test code, the inputs of a
//! build, and what Lambda and a logging proxy saw.

use super::faults::FaultProxy;
use super::registry::{self as reg, TestImage};
use super::{Run, block, deploy, example_copy, lambda, path_str, role, unique};

pub const SHA_A: &str = "0123456789abcdef0123456789abcdef01234567";
pub const SHA_B: &str = "89abcdef0123456789abcdef0123456789abcdef";

/// A base repository holding an index of amd64 and arm64 images (plus an attestation
/// entry); returns the repository and the amd64 image.
pub fn base_index() -> (String, TestImage) {
    let repo = unique("base");
    reg::create_repository(&repo, false);
    let amd = reg::push_image(
        &repo,
        None,
        "amd64",
        &[("lambda-entrypoint.sh", b"#!/bin/sh\necho amd64\n")],
    );
    let arm = reg::push_image(
        &repo,
        None,
        "arm64",
        &[("lambda-entrypoint.sh", b"#!/bin/sh\necho arm64\n")],
    );
    reg::push_index(&repo, "al2023", &[(&amd, "amd64"), (&arm, "arm64")]);
    (repo, amd)
}

pub fn build_inputs<'a>(
    name: &'a str,
    dir: &'a str,
    role: &'a str,
    base: &'a str,
    endpoint: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("function-name", name),
        ("package-type", "image"),
        ("source-dir", dir),
        ("handler", "app.handler"),
        ("role", role),
        ("base-image", base),
        ("registry-endpoint", endpoint),
        ("alias", "live"),
    ]
}

pub fn function_image(name: &str) -> (String, String, String) {
    block(async {
        let f = lambda()
            .get_function()
            .function_name(name)
            .send()
            .await
            .expect("get function");
        let c = f.configuration().expect("configuration");
        (
            c.package_type()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default(),
            c.code_sha256().unwrap_or_default().to_string(),
            f.code()
                .and_then(|c| c.image_uri())
                .unwrap_or_default()
                .to_string(),
        )
    })
}

/// Requests that write blobs (upload sessions, parts, mounts) in a proxy's log.
pub fn blob_writes(proxy: &FaultProxy) -> Vec<String> {
    proxy
        .log()
        .iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .is_some_and(|p| p.contains("/blobs/uploads"))
        })
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap_or(""),
                r["path"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// The base image as seen through `endpoint` (the registry, or a proxy in front of it), so
/// base and target share a registry and base layers are mounted.
pub fn base_ref(endpoint: &str, repo: &str, tag: &str) -> String {
    format!("{}/{repo}:{tag}", endpoint.trim_start_matches("http://"))
}

pub fn first_build(prefix: &str) -> (String, tempfile::TempDir, String, Run) {
    let name = unique(prefix);
    let dir = example_copy("python-hello");
    let (base_repo, _) = base_index();
    let endpoint = format!("http://{}", reg::addr());
    let base = base_ref(&endpoint, &base_repo, "al2023");
    let role = role();
    let d = path_str(dir.path());
    let run = deploy(
        &build_inputs(&name, &d, &role, &base, &endpoint),
        &[("GITHUB_SHA", SHA_A)],
        &[],
    );
    run.assert_ok();
    (name, dir, base_repo, run)
}

/// `n` bytes that gzip cannot shrink, the same on every run.
pub fn incompressible(n: usize) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut out = Vec::with_capacity(n + 32);
    let mut block = Sha256::digest(b"lambda-deploy").to_vec();
    while out.len() < n {
        block = Sha256::digest(&block).to_vec();
        out.extend_from_slice(&block);
    }
    out.truncate(n);
    out
}
