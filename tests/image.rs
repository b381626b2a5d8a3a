//! Container image deploys end to end: the real binary builds images on base images the
//! tests write, pushes them to the local registry (ECR in moto behind it) and points moto's
//! Lambda at them by digest. Assertions read the registry and Lambda back.

mod support;

use std::io::Read;

use serde_json::Value;
use support::faults::FaultProxy;
use support::image::*;
use support::registry::{self as reg, ECR_HOST};
use support::{block, deploy, example_copy, lambda, path_str, role, snapshot, unique};

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "one build checked from the registry's blobs to Lambda's function"
)]
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

/// An image function is never given a zip: a zip deploy to it is refused before any write,
/// and the function keeps its image.
#[test]
fn a_zip_is_never_given_to_an_image_function() {
    let (name, dir, _, _) = first_build("zipimg");
    let before = snapshot(&name);
    let image_before = function_image(&name);
    let proxy = FaultProxy::for_lambda();
    let role = role();
    let d = path_str(dir.path());
    let run = deploy(
        &[
            ("function-name", &name),
            ("source-dir", &d),
            ("runtime", "python3.12"),
            ("handler", "app.handler"),
            ("role", &role),
            ("alias", "live"),
        ],
        &[("AWS_ENDPOINT_URL_LAMBDA", &proxy.url)],
        &[],
    );
    assert!(!run.ok());
    assert!(
        run.stderr().contains(&format!(
            "function '{name}' is deployed as a container image; Lambda cannot switch it to a zip package"
        )),
        "{}",
        run.stderr()
    );
    let writes: Vec<(String, String)> = proxy
        .requests()
        .into_iter()
        .filter(|(m, _)| m != "GET" && m != "HEAD")
        .collect();
    assert!(writes.is_empty(), "nothing may be written: {writes:?}");
    assert_eq!(snapshot(&name), before);
    assert_eq!(function_image(&name), image_before);
}

/// With `architecture: arm64`, a multi-platform base (an index of amd64 and arm64
/// images) is narrowed to its arm64 image: the pushed image is arm64 and starts from the
/// arm64 base layer, and the function runs on arm64.
#[test]
fn a_multi_platform_base_is_narrowed_to_arm64() {
    let name = unique("imgarm");
    let dir = example_copy("python-hello");
    let (base_repo, _) = base_index();
    let endpoint = format!("http://{}", reg::addr());
    let base = base_ref(&endpoint, &base_repo, "al2023");
    let role = role();
    let d = path_str(dir.path());
    let mut inputs = build_inputs(&name, &d, &role, &base, &endpoint);
    inputs.push(("architecture", "arm64"));
    let run = deploy(&inputs, &[("GITHUB_SHA", SHA_A)], &[]);
    run.assert_ok();
    let digest = run.out("image-digest").to_string();
    let manifest_bytes = reg::get(&name, "manifests", &digest);
    let manifest: Value = serde_json::from_slice(&manifest_bytes).expect("manifest");
    let config: Value = serde_json::from_slice(&reg::get(
        &name,
        "blobs",
        manifest["config"]["digest"]
            .as_str()
            .expect("config digest"),
    ))
    .expect("config");
    assert_eq!(config["architecture"], "arm64");
    let layers = manifest["layers"].as_array().expect("layers");
    let base_layer = reg::get(
        &name,
        "blobs",
        layers[0]["digest"].as_str().expect("digest"),
    );
    let mut text = String::new();
    tar::Archive::new(flate2::read::GzDecoder::new(&base_layer[..]))
        .entries()
        .expect("entries")
        .next()
        .expect("one entry")
        .expect("entry")
        .read_to_string(&mut text)
        .expect("read");
    assert!(text.contains("arm64"), "the arm64 base was picked: {text}");
    let arch = block(async {
        lambda()
            .get_function_configuration()
            .function_name(&name)
            .send()
            .await
            .expect("configuration")
            .architectures()
            .iter()
            .map(|a| a.as_str().to_string())
            .collect::<Vec<_>>()
    });
    assert_eq!(arch, vec!["arm64"]);
}

/// The registry password ECR hands out is masked before anything is printed and never
/// appears in logs (even at debug level), outputs or the summary of an image deploy.
#[test]
fn registry_password_is_masked_first_and_never_printed() {
    let password = support::services()
        .get("REGISTRY_PASSWORD")
        .cloned()
        .expect("the harness exports REGISTRY_PASSWORD");
    let name = unique("imgsecret");
    let dir = example_copy("python-hello");
    let (base_repo, _) = base_index();
    let endpoint = format!("http://{}", reg::addr());
    let base = base_ref(&endpoint, &base_repo, "al2023");
    let role = role();
    let d = path_str(dir.path());
    let run = deploy(
        &build_inputs(&name, &d, &role, &base, &endpoint),
        &[
            ("GITHUB_SHA", SHA_A),
            ("GITHUB_ACTIONS", "true"),
            ("RUNNER_DEBUG", "1"),
            ("LAMBDA_DEPLOY_LOG", "debug"),
        ],
        &[],
    );
    run.assert_ok();
    let stdout = run.stdout();
    let mask = format!("::add-mask::{password}");
    assert!(
        stdout.contains(&mask),
        "the registry password was not masked:\n{stdout}"
    );
    let before = stdout.split(&mask).next().unwrap_or_default();
    assert!(
        before.lines().all(|l| l.starts_with("::add-mask::")
            || l.starts_with("::group::")
            || l == "::endgroup::"),
        "output came before the registry password's mask:\n{before}"
    );
    let outputs: Vec<String> = run
        .outputs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let everything = format!(
        "{}\n{}\n{}\n{}",
        stdout.replace(&mask, ""),
        run.stderr(),
        outputs.join("\n"),
        run.summary
    );
    assert!(
        !everything.contains(&password),
        "the registry password leaked"
    );
    assert!(run.stderr().contains("DEBUG"), "debug logging was on");
}
