//! How built images reach ECR: nothing is uploaded for an unchanged tree, only the code
//! layer for a changed one, large layers in parts, a declined mount falls back to a copy,
//! immutable tags stay, and a dry run writes nothing. A logging proxy in front of the
//! registry counts the requests.

mod support;

use std::io::Read;

use serde_json::Value;
use support::faults::FaultProxy;
use support::image::*;
use support::registry as reg;
use support::{deploy, example_copy, path_str, role, snapshot, touch_all, unique};

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
    proxy.clear_log();
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

/// Throttling, server errors and a dropped connection on registry calls are retried
/// within bounds, and the image still deploys by digest.
#[test]
fn registry_throttling_server_errors_and_resets_are_retried() {
    let name = unique("imgretry");
    let dir = example_copy("python-hello");
    let (base_repo, _) = base_index();
    let proxy = FaultProxy::start(&format!("http://{}", reg::addr()));
    proxy.add(serde_json::json!([
        {"match": {"method": "GET", "path": format!("/v2/{base_repo}/manifests/")},
         "times": 1, "fault": {"status": 429, "body": "slow down"}},
        {"match": {"method": "POST", "path": "/blobs/uploads/$"},
         "times": 2, "fault": {"status": 503, "body": "unavailable"}},
        {"match": {"method": "PUT", "path": format!("/v2/{name}/manifests/")},
         "times": 1, "fault": {"reset": true}},
    ]));
    let base = base_ref(&proxy.url, &base_repo, "al2023");
    let role = role();
    let d = path_str(dir.path());
    let run = deploy(
        &build_inputs(&name, &d, &role, &base, &proxy.url),
        &[("GITHUB_SHA", SHA_A)],
        &[],
    );
    run.assert_ok();
    let faults: Vec<Value> = proxy
        .log()
        .into_iter()
        .filter(|r| !r["fault"].is_null())
        .collect();
    assert_eq!(faults.len(), 4, "every injected fault was met: {faults:?}");
    let (_, code_sha, _) = function_image(&name);
    assert_eq!(
        code_sha,
        run.out("image-digest").trim_start_matches("sha256:"),
        "Lambda serves the pushed image"
    );
    assert_eq!(
        reg::tag_digest(&name, "sha-0123456").as_deref(),
        Some(run.out("image-digest"))
    );
}

/// A registry that keeps failing stops the deploy with an error that names the call and
/// the bound, before Lambda is touched.
#[test]
fn a_registry_that_keeps_failing_stops_before_lambda_changes() {
    let name = unique("imgdown");
    let dir = example_copy("python-hello");
    let (base_repo, _) = base_index();
    let proxy = FaultProxy::start(&format!("http://{}", reg::addr()));
    proxy.add(serde_json::json!([
        {"match": {"method": "PUT", "path": format!("/v2/{name}/manifests/")},
         "times": -1, "fault": {"status": 502, "body": "bad gateway"}},
    ]));
    let base = base_ref(&proxy.url, &base_repo, "al2023");
    let role = role();
    let d = path_str(dir.path());
    let run = deploy(
        &build_inputs(&name, &d, &role, &base, &proxy.url),
        &[("AWS_MAX_ATTEMPTS", "2")],
        &[],
    );
    assert!(!run.ok());
    let err = run.stderr();
    assert!(
        err.contains(
            "failed: HTTP 502 Bad Gateway: bad gateway, on each of 2 attempts; the registry kept failing"
        ),
        "{err}"
    );
    let puts = proxy
        .log()
        .iter()
        .filter(|r| {
            r["method"] == "PUT"
                && r["path"]
                    .as_str()
                    .is_some_and(|p| p.contains("/manifests/"))
        })
        .count();
    assert_eq!(puts, 2, "two attempts, then it stopped");
    assert!(!snapshot(&name).exists, "no function was created");
}
