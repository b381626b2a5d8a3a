//! Container image deploys end to end: the real binary builds images on base images the
//! tests write, pushes them to the local registry (ECR in moto behind it) and points moto's
//! Lambda at them by digest. Assertions read the registry and Lambda back.

mod support;

use std::io::Read;

use serde_json::Value;
use support::faults::FaultProxy;
use support::registry::{self as reg, ECR_HOST, TestImage};
use support::{
    Run, block, deploy, example_copy, lambda, path_str, role, snapshot, touch_all, unique,
};

const SHA_A: &str = "0123456789abcdef0123456789abcdef01234567";
const SHA_B: &str = "89abcdef0123456789abcdef0123456789abcdef";

/// A base repository holding an index of amd64 and arm64 images (plus an attestation
/// entry); returns the repository and the amd64 image.
fn base_index() -> (String, TestImage) {
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

fn build_inputs<'a>(
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

fn function_image(name: &str) -> (String, String, String) {
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
fn blob_writes(proxy: &FaultProxy) -> Vec<String> {
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
fn base_ref(endpoint: &str, repo: &str, tag: &str) -> String {
    format!("{}/{repo}:{tag}", endpoint.trim_start_matches("http://"))
}

fn first_build(prefix: &str) -> (String, tempfile::TempDir, String, Run) {
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

#[test]
fn build_pushes_by_digest_and_the_image_holds_the_code_and_cmd() {
    let (name, dir, _, run) = first_build("imgbuild");
    let digest = run.out("image-digest").to_string();
    assert!(digest.starts_with("sha256:"), "{:?}", run.outputs);
    assert_eq!(run.out("status"), "deployed");
    assert_eq!(run.out("image-uri"), format!("{ECR_HOST}/{name}@{digest}"));
    assert_eq!(run.out("image-tags"), "sha-0123456");
    assert_eq!(run.out("version"), "1");

    let (package_type, code_sha, uri) = function_image(&name);
    assert_eq!(package_type, "Image");
    assert_eq!(
        code_sha,
        digest.trim_start_matches("sha256:"),
        "CodeSha256 is the pushed digest"
    );
    assert_eq!(uri, run.out("image-uri"));
    assert_eq!(
        snapshot(&name).aliases.get("live").map(String::as_str),
        Some("1")
    );
    assert!(
        reg::repository_exists(&name),
        "the ECR repository was created"
    );
    assert_eq!(
        reg::tag_digest(&name, "sha-0123456").as_deref(),
        Some(digest.as_str())
    );

    // Pulled back: the amd64 base, then the code under /var/task; Cmd is the handler.
    let manifest: Value = serde_json::from_slice(&reg::get(&name, "manifests", &digest)).unwrap();
    assert_eq!(reg::sha256(&reg::get(&name, "manifests", &digest)), digest);
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    let config: Value = serde_json::from_slice(&reg::get(
        &name,
        "blobs",
        manifest["config"]["digest"].as_str().unwrap(),
    ))
    .unwrap();
    assert_eq!(config["architecture"], "amd64");
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["app.handler"]));
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/lambda-entrypoint.sh"])
    );
    assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
    let base_layer = reg::get(&name, "blobs", layers[0]["digest"].as_str().unwrap());
    let mut text = String::new();
    tar::Archive::new(flate2::read::GzDecoder::new(&base_layer[..]))
        .entries()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert!(text.contains("amd64"), "the amd64 base was picked: {text}");
    let code_layer = reg::get(&name, "blobs", layers[1]["digest"].as_str().unwrap());
    let mut found = Vec::new();
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(&code_layer[..]));
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            (e.header().uid().unwrap(), e.header().mtime().unwrap()),
            (0, 0),
            "{path}"
        );
        if path == "var/task/app.py" {
            let mut body = Vec::new();
            e.read_to_end(&mut body).unwrap();
            assert_eq!(body, std::fs::read(dir.path().join("app.py")).unwrap());
        }
        found.push(path);
    }
    assert!(found.contains(&"var/task/app.py".to_string()), "{found:?}");
    assert!(run.summary.contains("**Image layers**"), "{}", run.summary);
    assert!(
        run.summary.contains("| Image tags | `sha-0123456` |"),
        "{}",
        run.summary
    );
    assert!(
        run.summary
            .contains("layers: 1 uploaded, 1 mounted, 0 copied, 0 already there |"),
        "{}",
        run.summary
    );
}

#[test]
fn same_tree_again_uploads_no_blob_and_publishes_no_version_then_one_change_uploads_only_code() {
    let (name, dir, base_repo, first) = first_build("imgsame");
    let before = snapshot(&name);
    touch_all(dir.path(), 1_000_000_000);
    let proxy = FaultProxy::start(&format!("http://{}", reg::addr()));
    let base = base_ref(&proxy.url, &base_repo, "al2023");
    let role = role();
    let d = path_str(dir.path());
    let run = deploy(
        &build_inputs(&name, &d, &role, &base, &proxy.url),
        &[("GITHUB_SHA", SHA_A)],
        &[],
    );
    run.assert_ok();
    assert_eq!(run.out("status"), "unchanged");
    assert_eq!(run.out("image-digest"), first.out("image-digest"));
    assert_eq!(run.out("version"), "1");
    assert!(
        blob_writes(&proxy).is_empty(),
        "no blob may be uploaded: {:?}",
        blob_writes(&proxy)
    );
    assert!(
        !proxy.log().is_empty(),
        "the run went through the logging proxy"
    );
    assert_eq!(snapshot(&name), before, "nothing changed in Lambda");

    std::fs::write(
        dir.path().join("app.py"),
        "def handler(e, c):\n    return 'v2'\n",
    )
    .unwrap();
    let _ = proxy.log();
    let run = deploy(
        &build_inputs(&name, &d, &role, &base, &proxy.url),
        &[("GITHUB_SHA", SHA_B)],
        &[],
    );
    run.assert_ok();
    assert_eq!(run.out("status"), "deployed");
    assert_eq!(run.out("version"), "2");
    assert_ne!(run.out("image-digest"), first.out("image-digest"));
    // Exactly two uploads (the code layer and the config); the base layer stays.
    let writes: Vec<String> = blob_writes(&proxy)
        .into_iter()
        .filter(|w| w.starts_with("POST"))
        .collect();
    assert_eq!(writes.len(), 2, "{writes:?}");
    let (_, code_sha, _) = function_image(&name);
    assert_eq!(
        code_sha,
        run.out("image-digest").trim_start_matches("sha256:")
    );
}

#[test]
fn existing_image_uri_by_tag_is_deployed_by_digest() {
    let repo = unique("existing");
    reg::create_repository(&repo, false);
    let img = reg::push_image(
        &repo,
        Some("v1"),
        "amd64",
        &[("var/task/app.py", b"x = 1\n")],
    );
    let name = unique("imguri");
    let role = role();
    let uri = format!("{ECR_HOST}/{repo}:v1");
    let endpoint = format!("http://{}", reg::addr());
    let run = deploy(
        &[
            ("function-name", &name),
            ("package-type", "image"),
            ("image-uri", &uri),
            ("image-command", "app.handler"),
            ("registry-endpoint", &endpoint),
            ("role", &role),
        ],
        &[],
        &[],
    );
    run.assert_ok();
    assert_eq!(run.out("image-digest"), img.digest);
    assert_eq!(
        run.out("image-uri"),
        format!("{ECR_HOST}/{repo}@{}", img.digest)
    );
    assert_eq!(run.out("image-tags"), "");
    let (package_type, code_sha, deployed_uri) = function_image(&name);
    assert_eq!(package_type, "Image");
    assert_eq!(code_sha, img.digest.trim_start_matches("sha256:"));
    assert_eq!(
        deployed_uri,
        run.out("image-uri"),
        "Lambda is given the digest, not the tag"
    );
    let command = block(async {
        let f = lambda()
            .get_function()
            .function_name(&name)
            .send()
            .await
            .expect("get function");
        f.configuration()
            .and_then(|c| c.image_config_response())
            .and_then(|r| r.image_config())
            .map(|i| i.command().to_vec())
            .unwrap_or_default()
    });
    assert_eq!(
        command,
        ["app.handler"],
        "image-command becomes the ImageConfig command"
    );
}

#[test]
fn architecture_mismatch_is_refused_before_any_push() {
    let base_repo = unique("armbase");
    reg::create_repository(&base_repo, false);
    reg::push_image(
        &base_repo,
        Some("1"),
        "arm64",
        &[("lambda-entrypoint.sh", b"arm")],
    );
    let name = unique("imgarch");
    let dir = example_copy("python-hello");
    let proxy = FaultProxy::start(&format!("http://{}", reg::addr()));
    let role = role();
    let d = path_str(dir.path());
    let base = base_ref(&proxy.url, &base_repo, "1");
    let run = deploy(&build_inputs(&name, &d, &role, &base, &proxy.url), &[], &[]);
    assert!(!run.ok());
    assert!(
        run.stderr()
            .contains("is for arm64 but the function runs on x86_64"),
        "{}",
        run.stderr()
    );
    let writes: Vec<Value> = proxy
        .log()
        .into_iter()
        .filter(|r| r["method"] != "GET" && r["method"] != "HEAD")
        .collect();
    assert!(writes.is_empty(), "nothing may be written: {writes:?}");
    assert!(!reg::repository_exists(&name), "no repository is created");
    assert!(!snapshot(&name).exists);
}

#[test]
fn immutable_repository_keeps_its_tags_and_the_deploy_goes_on() {
    let name = unique("imgimmut");
    reg::create_repository(&name, true);
    let dir = example_copy("python-hello");
    let (base_repo, _) = base_index();
    let endpoint = format!("http://{}", reg::addr());
    let base = base_ref(&endpoint, &base_repo, "al2023");
    let role = role();
    let d = path_str(dir.path());
    let first = deploy(
        &build_inputs(&name, &d, &role, &base, &endpoint),
        &[("GITHUB_SHA", SHA_A)],
        &[],
    );
    first.assert_ok();
    let old = first.out("image-digest").to_string();
    assert_eq!(
        reg::tag_digest(&name, "sha-0123456").as_deref(),
        Some(old.as_str())
    );

    // The same tree again: the tag already names this digest, which is fine.
    let again = deploy(
        &build_inputs(&name, &d, &role, &base, &endpoint),
        &[("GITHUB_SHA", SHA_A)],
        &[],
    );
    again.assert_ok();
    assert_eq!(again.out("image-tags"), "sha-0123456");
    assert!(
        !again.summary.contains("was not moved"),
        "{}",
        again.summary
    );

    // New code under the same commit tag: the tag stays, the deploy goes on by digest.
    std::fs::write(
        dir.path().join("app.py"),
        "def handler(e, c):\n    return 3\n",
    )
    .unwrap();
    let run = deploy(
        &build_inputs(&name, &d, &role, &base, &endpoint),
        &[("GITHUB_SHA", SHA_A)],
        &[],
    );
    run.assert_ok();
    let new = run.out("image-digest").to_string();
    assert_ne!(new, old);
    assert_eq!(run.out("status"), "deployed");
    assert_eq!(run.out("image-tags"), "");
    assert!(
        run.summary
            .contains("image tag 'sha-0123456' was not moved"),
        "{}",
        run.summary
    );
    assert_eq!(
        reg::tag_digest(&name, "sha-0123456").as_deref(),
        Some(old.as_str())
    );
    let (_, code_sha, _) = function_image(&name);
    assert_eq!(code_sha, new.trim_start_matches("sha256:"));
}

#[test]
fn an_image_is_never_given_to_a_zip_function() {
    let name = unique("imgzip");
    let dir = example_copy("python-hello");
    let role = role();
    let d = path_str(dir.path());
    deploy(
        &[
            ("function-name", &name),
            ("source-dir", &d),
            ("runtime", "python3.12"),
            ("handler", "app.handler"),
            ("role", &role),
        ],
        &[],
        &[],
    )
    .assert_ok();
    let before = snapshot(&name);
    let (base_repo, _) = base_index();
    let endpoint = format!("http://{}", reg::addr());
    let base = base_ref(&endpoint, &base_repo, "al2023");
    let run = deploy(&build_inputs(&name, &d, &role, &base, &endpoint), &[], &[]);
    assert!(!run.ok());
    assert!(
        run.stderr().contains("is deployed as a zip package"),
        "{}",
        run.stderr()
    );
    assert_eq!(snapshot(&name), before);
    assert!(!reg::repository_exists(&name), "nothing was pushed");
}

/// `n` bytes that gzip cannot shrink, the same on every run.
fn incompressible(n: usize) -> Vec<u8> {
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

#[test]
fn dry_run_pushes_nothing_and_a_large_layer_goes_up_in_parts() {
    let name = unique("imgbig");
    let dir = example_copy("python-hello");
    let big = incompressible(12 * 1024 * 1024);
    std::fs::write(dir.path().join("model.bin"), &big).unwrap();
    let (base_repo, _) = base_index();
    let proxy = FaultProxy::start(&format!("http://{}", reg::addr()));
    let base = base_ref(&proxy.url, &base_repo, "al2023");
    let role = role();
    let d = path_str(dir.path());
    let mut inputs = build_inputs(&name, &d, &role, &base, &proxy.url);

    inputs.push(("dry-run", "true"));
    let dry = deploy(&inputs, &[("GITHUB_SHA", SHA_A)], &[]);
    dry.assert_ok();
    assert_eq!(dry.out("status"), "planned");
    let planned = dry.out("image-digest").to_string();
    assert!(planned.starts_with("sha256:"), "{:?}", dry.outputs);
    let writes: Vec<Value> = proxy
        .log()
        .into_iter()
        .filter(|r| r["method"] != "GET" && r["method"] != "HEAD")
        .collect();
    assert!(writes.is_empty(), "a dry run writes nothing: {writes:?}");
    assert!(!reg::repository_exists(&name));
    assert!(!snapshot(&name).exists);

    inputs.pop();
    let run = deploy(&inputs, &[("GITHUB_SHA", SHA_A)], &[]);
    run.assert_ok();
    assert_eq!(
        run.out("image-digest"),
        planned,
        "the dry run planned this very image"
    );
    let patches = proxy
        .log()
        .iter()
        .filter(|r| r["method"] == "PATCH")
        .count();
    assert_eq!(
        patches, 2,
        "a 12 MiB layer goes up in two parts of at most 8 MiB"
    );
    let manifest: Value = serde_json::from_slice(&reg::get(&name, "manifests", &planned)).unwrap();
    let code = manifest["layers"][1]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let layer = reg::get(&name, "blobs", &code);
    assert_eq!(reg::sha256(&layer), code, "the parts add up to the layer");
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(&layer[..]));
    let mut model = None;
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_string_lossy() == "var/task/model.bin" {
            let mut body = Vec::new();
            e.read_to_end(&mut body).unwrap();
            model = Some(body);
        }
    }
    assert!(
        model == Some(big),
        "model.bin is in the layer, byte for byte"
    );
}

#[test]
fn a_declined_mount_copies_the_base_layer() {
    let name = unique("imgcopy");
    let dir = example_copy("python-hello");
    let (base_repo, amd) = base_index();
    let proxy = FaultProxy::start(&format!("http://{}", reg::addr()));
    // The registry answers the mount with a plain upload session, as registries may.
    proxy.add(serde_json::json!([{
        "match": {"method": "POST", "path": "mount="},
        "times": -1,
        "fault": {"status": 202, "body": ""}
    }]));
    let base = base_ref(&proxy.url, &base_repo, "al2023");
    let role = role();
    let d = path_str(dir.path());
    let run = deploy(&build_inputs(&name, &d, &role, &base, &proxy.url), &[], &[]);
    run.assert_ok();
    assert!(
        run.summary
            .contains("layers: 1 uploaded, 0 mounted, 1 copied, 0 already there |"),
        "{}",
        run.summary
    );
    let layer = reg::get(&name, "blobs", &amd.layer);
    assert_eq!(
        reg::sha256(&layer),
        amd.layer,
        "the base layer is in the function's repository"
    );
    let (_, code_sha, _) = function_image(&name);
    assert_eq!(
        code_sha,
        run.out("image-digest").trim_start_matches("sha256:")
    );
}
