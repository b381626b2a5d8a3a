//! Large packages through S3, layers from `layer-dirs`, and Lambda's size limits checked
//! before upload: the real binary against the local emulator (S3 behind the fault proxy
//! where the requests themselves are the evidence).

mod support;

use std::io::Write;
use std::path::Path;

use serde_json::json;
use support::faults::FaultProxy;
use support::{
    Run, block, deploy, example_copy, lambda, path_str, role, services, snapshot, unique,
};

const MB: usize = 1024 * 1024;
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

fn s3() -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(&support::sdk_config())
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// A new bucket, in the services' region unless `region` says otherwise.
fn bucket(region: Option<&str>) -> String {
    let name = unique("ld-bucket").to_ascii_lowercase();
    block(async {
        let mut req = s3().create_bucket().bucket(&name);
        if let Some(r) = region {
            req = req.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(r))
                    .build(),
            );
        }
        req.send().await.expect("create bucket");
    });
    name
}

fn keys(bucket: &str) -> Vec<String> {
    block(async {
        s3().list_objects_v2()
            .bucket(bucket)
            .send()
            .await
            .expect("list objects")
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect()
    })
}

fn open_uploads(bucket: &str) -> usize {
    block(async {
        s3().list_multipart_uploads()
            .bucket(bucket)
            .send()
            .await
            .expect("list multipart uploads")
            .uploads()
            .len()
    })
}

/// `len` bytes that no compressor shrinks (xorshift), the same for the same `seed`.
fn write_random(path: &Path, len: usize, seed: u64) {
    let mut x = seed | 1;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut buf = vec![0u8; MB];
    let mut left = len;
    while left > 0 {
        for chunk in buf.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
        }
        let n = left.min(MB);
        f.write_all(&buf[..n]).expect("write");
        left -= n;
    }
}

/// A file of `len` zero bytes that takes no disk space.
fn sparse(path: &Path, len: u64) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::File::create(path)
        .and_then(|f| f.set_len(len))
        .expect("sparse file");
}

fn base_inputs<'a>(name: &'a str, dir: &'a str, role: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("function-name", name),
        ("source-dir", dir),
        ("runtime", "python3.12"),
        ("handler", "app.handler"),
        ("role", role),
        ("alias", "live"),
    ]
}

fn s3_requests(proxy: &FaultProxy) -> Vec<(String, String)> {
    proxy
        .log()
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap_or_default().to_string(),
                r["path"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn writes(requests: &[(String, String)]) -> Vec<&(String, String)> {
    requests
        .iter()
        .filter(|(m, _)| m != "GET" && m != "HEAD")
        .collect()
}

fn layer_arns_of(function: &str) -> Vec<String> {
    block(async {
        lambda()
            .get_function_configuration()
            .function_name(function)
            .send()
            .await
            .expect("get configuration")
            .layers()
            .iter()
            .filter_map(|l| l.arn().map(str::to_string))
            .collect()
    })
}

/// The versions of layer `name`; none when the layer does not exist. Any other error
/// fails the test, so an empty list always means "nothing published".
fn layer_versions(name: &str) -> Vec<aws_sdk_lambda::types::LayerVersionsListItem> {
    block(async {
        match lambda().list_layer_versions().layer_name(name).send().await {
            Ok(o) => o.layer_versions().to_vec(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Vec::new()
            }
            Err(e) => panic!(
                "list versions of layer {name}: {}",
                aws_sdk_lambda::error::DisplayErrorContext(&e)
            ),
        }
    })
}

/// A small layer zip, built with the crate's own packager.
fn ext_zip() -> Vec<u8> {
    let src = tempfile::tempdir().expect("temp");
    std::fs::create_dir_all(src.path().join("bin")).expect("mkdir");
    std::fs::write(src.path().join("bin/tool"), "#!/bin/sh\n").expect("write");
    let out = tempfile::tempdir().expect("temp");
    let zip = out.path().join("ext.zip");
    let none = lambda_deploy::package::ExcludeSet::new::<&str>(&[]).expect("excludes");
    lambda_deploy::package::write_zip(src.path(), &none, &zip).expect("zip");
    std::fs::read(zip).expect("read zip")
}

fn error_text(run: &Run) -> String {
    format!("{}{}", run.stdout(), run.stderr())
}

#[test]
fn large_package_goes_through_s3_and_identical_bytes_are_uploaded_once() {
    let name = unique("big");
    let bucket = bucket(None);
    let proxy = FaultProxy::start(&services()["AWS_ENDPOINT_URL"]);
    let dir = example_copy("python-hello");
    let blob = dir.path().join("blob.bin");
    write_random(&blob, 60 * MB, 7);
    let (d, role) = (path_str(dir.path()), role());
    let mut inputs = base_inputs(&name, &d, &role);
    inputs.extend([("s3-bucket", bucket.as_str()), ("s3-key-prefix", "builds/")]);
    let env = [
        ("AWS_ENDPOINT_URL_S3", proxy.url.as_str()),
        ("GITHUB_SHA", COMMIT),
        ("GITHUB_REF", "refs/heads/main"),
    ];

    let first = deploy(&inputs, &env, &[]);
    first.assert_ok();
    let uri = first.out("s3-uri").to_string();
    let prefix = format!("s3://{bucket}/builds/{name}/");
    assert!(uri.starts_with(&prefix) && uri.ends_with(".zip"), "{uri}");
    let key = uri
        .trim_start_matches(&format!("s3://{bucket}/"))
        .to_string();
    assert_eq!(keys(&bucket), vec![key.clone()]);
    let s = snapshot(&name);
    assert_eq!(s.code_sha256, first.out("code-sha256"));
    assert!(first.out("code-size").parse::<usize>().unwrap() > 60 * MB);
    assert_eq!(s.aliases.get("live").map(String::as_str), Some("1"));
    let requests = s3_requests(&proxy);
    let parts = requests
        .iter()
        .filter(|(m, p)| m == "PUT" && p.contains("partNumber="))
        .count();
    assert_eq!(parts, 4, "60 MB in 16 MiB parts: {requests:?}");
    let head = block(async {
        s3().head_object()
            .bucket(&bucket)
            .key(&key)
            .send()
            .await
            .expect("head")
    });
    let meta = head.metadata().cloned().unwrap_or_default();
    assert_eq!(meta.get("commit-sha").map(String::as_str), Some(COMMIT));
    assert_eq!(
        meta.get("git-ref").map(String::as_str),
        Some("refs/heads/main")
    );
    assert_eq!(
        meta.get("sha256").map(String::as_str),
        key.rsplit('/').next().map(|k| k.trim_end_matches(".zip"))
    );
    assert!(first.summary.contains(&uri), "{}", first.summary);

    // The same tree again: nothing to upload, nothing written anywhere.
    proxy.clear_log();
    let again = deploy(&inputs, &env, &[]);
    again.assert_ok();
    assert_eq!(again.out("status"), "unchanged");
    assert!(
        writes(&s3_requests(&proxy)).is_empty(),
        "{:?}",
        s3_requests(&proxy)
    );

    // A small package goes up in one PutObject...
    std::fs::remove_file(&blob).expect("rm");
    let small = deploy(&inputs, &env, &[]);
    small.assert_ok();
    assert_ne!(small.out("s3-uri"), uri);
    assert_eq!(keys(&bucket).len(), 2);

    // ...and going back to the large one finds its object already there: the function
    // is updated from S3 without sending the bytes again.
    write_random(&blob, 60 * MB, 7);
    proxy.clear_log();
    let back = deploy(&inputs, &env, &[]);
    back.assert_ok();
    assert_eq!(back.out("s3-uri"), uri);
    assert_eq!(back.out("code-changed"), "true");
    let requests = s3_requests(&proxy);
    assert!(
        writes(&requests).is_empty(),
        "nothing may be uploaded: {requests:?}"
    );
    assert!(requests.iter().any(|(m, _)| m == "HEAD"), "{requests:?}");
    assert_eq!(snapshot(&name).code_sha256, first.out("code-sha256"));
    assert_eq!(keys(&bucket).len(), 2);
}

#[test]
fn large_package_without_s3_bucket_is_refused_before_any_change() {
    let name = unique("big-direct");
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    deploy(&base_inputs(&name, &d, &role), &[], &[]).assert_ok();
    let before = snapshot(&name);
    write_random(&dir.path().join("blob.bin"), 60 * MB, 11);
    let run = deploy(&base_inputs(&name, &d, &role), &[], &[]);
    assert!(!run.ok());
    let text = error_text(&run);
    assert!(
        text.contains("over Lambda's 50.0 MiB limit for direct uploads; set s3-bucket"),
        "{text}"
    );
    assert_eq!(snapshot(&name), before);
}

#[test]
fn failed_multipart_upload_is_aborted_and_leaves_no_parts() {
    let name = unique("abort");
    let bucket = bucket(None);
    let proxy = FaultProxy::start(&services()["AWS_ENDPOINT_URL"]);
    proxy.add(json!([{
        "match": {"method": "PUT", "path": "[?&]partNumber=2(&|$)"},
        "times": -1,
        "fault": {"status": 500, "body": "<Error><Code>InternalError</Code><Message>injected</Message></Error>"}
    }]));
    let dir = example_copy("python-hello");
    write_random(&dir.path().join("blob.bin"), 40 * MB, 3);
    let (d, role) = (path_str(dir.path()), role());
    let mut inputs = base_inputs(&name, &d, &role);
    inputs.push(("s3-bucket", bucket.as_str()));
    let run = deploy(&inputs, &[("AWS_ENDPOINT_URL_S3", proxy.url.as_str())], &[]);
    assert!(!run.ok(), "{}", run.stdout());
    assert!(
        error_text(&run).contains("UploadPart"),
        "{}",
        error_text(&run)
    );
    assert_eq!(
        open_uploads(&bucket),
        0,
        "no multipart upload may stay open"
    );
    let requests = s3_requests(&proxy);
    assert!(
        requests
            .iter()
            .any(|(m, p)| m == "POST" && p.contains("uploads")),
        "a multipart upload was started: {requests:?}"
    );
    assert!(
        requests
            .iter()
            .any(|(m, p)| m == "DELETE" && p.contains("uploadId=")),
        "the upload was aborted: {requests:?}"
    );
    assert!(keys(&bucket).is_empty());
    assert!(!snapshot(&name).exists);
}

#[test]
fn unzipped_size_of_code_and_layers_is_checked_before_any_change() {
    let name = unique("huge");
    let layer = unique("huge-deps");
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    deploy(&base_inputs(&name, &d, &role), &[], &[]).assert_ok();
    let before = snapshot(&name);
    for i in 0..5 {
        sparse(
            &dir.path().join(format!("vendor/lib{i}.so")),
            30 * MB as u64,
        );
    }
    sparse(&dir.path().join("model.bin"), 40 * MB as u64);
    let layer_dir = tempfile::tempdir().expect("temp");
    sparse(&layer_dir.path().join("python/a.so"), 35 * MB as u64);
    sparse(&layer_dir.path().join("python/b.so"), 35 * MB as u64);
    let layer_dirs = format!("{layer}={}", path_str(layer_dir.path()));
    let mut inputs = base_inputs(&name, &d, &role);
    inputs.push(("layer-dirs", layer_dirs.as_str()));
    let run = deploy(&inputs, &[], &[]);
    assert!(!run.ok());
    let text = error_text(&run);
    for words in [
        "the package with its layers unzips to 260.0 MiB, over Lambda's 250.0 MiB limit",
        "largest entries: vendor/ (150.0 MiB), ",
        &format!("layer {layer}: python/ (70.0 MiB)"),
        "model.bin (40.0 MiB)",
        "leave files out with exclude, move dependencies to layers, or use package-type: image",
    ] {
        assert!(text.contains(words), "'{words}' missing from:\n{text}");
    }
    assert_eq!(snapshot(&name), before);
    assert!(layer_versions(&layer).is_empty());
}

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "three deploys of one function, each checked in order"
)]
fn layer_is_published_once_reused_next_time_and_attached_after_given_layers() {
    let name = unique("layered");
    let layer = unique("deps");
    let ext = block(async {
        lambda()
            .publish_layer_version()
            .layer_name(unique("ext"))
            .content(
                aws_sdk_lambda::types::LayerVersionContentInput::builder()
                    .zip_file(aws_sdk_lambda::primitives::Blob::new(ext_zip()))
                    .build(),
            )
            .send()
            .await
            .expect("publish ext layer")
            .layer_version_arn()
            .unwrap_or_default()
            .to_string()
    });
    let dir = example_copy("python-hello");
    let layer_dir = tempfile::tempdir().expect("temp");
    std::fs::create_dir_all(layer_dir.path().join("python")).expect("mkdir");
    std::fs::write(layer_dir.path().join("python/shared.py"), "VALUE = 1\n").expect("write");
    let (d, role) = (path_str(dir.path()), role());
    let layer_dirs = format!("{layer}={}", path_str(layer_dir.path()));
    let mut inputs = base_inputs(&name, &d, &role);
    inputs.extend([
        ("layers", ext.as_str()),
        ("layer-dirs", layer_dirs.as_str()),
    ]);

    let dry = deploy(&inputs, &[], &["--dry-run", "true"]);
    dry.assert_ok();
    assert!(
        layer_versions(&layer).is_empty(),
        "a dry run publishes nothing"
    );
    assert!(
        dry.summary.contains(&format!(
            "| `{layer}` | `{layer} (new version)` | to publish |"
        )),
        "{}",
        dry.summary
    );

    let first = deploy(&inputs, &[], &[]);
    first.assert_ok();
    let versions = layer_versions(&layer);
    assert_eq!(versions.len(), 1);
    let deps1 = versions[0]
        .layer_version_arn()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        versions[0]
            .compatible_runtimes()
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>(),
        vec!["python3.12"]
    );
    assert_eq!(layer_arns_of(&name), vec![ext.clone(), deps1.clone()]);
    assert_eq!(first.out("layer-arns"), format!("{ext},{deps1}"));
    assert!(
        first
            .summary
            .contains(&format!("| `{layer}` | `{deps1}` | published |")),
        "{}",
        first.summary
    );

    let second = deploy(&inputs, &[], &[]);
    second.assert_ok();
    assert_eq!(second.out("status"), "unchanged");
    assert_eq!(
        layer_versions(&layer).len(),
        1,
        "unchanged content publishes nothing"
    );
    assert_eq!(second.out("layer-arns"), format!("{ext},{deps1}"));
    assert!(
        second
            .summary
            .contains(&format!("| `{layer}` | `{deps1}` | reused (unchanged) |")),
        "{}",
        second.summary
    );

    std::fs::write(layer_dir.path().join("python/shared.py"), "VALUE = 2\n").expect("write");
    let third = deploy(&inputs, &[], &[]);
    third.assert_ok();
    let versions = layer_versions(&layer);
    assert_eq!(versions.len(), 2);
    let deps2 = layer_arns_of(&name)[1].clone();
    assert!(deps2.ends_with(":2"), "{deps2}");
    assert_eq!(
        snapshot(&name).aliases.get("live").map(String::as_str),
        Some("2")
    );
}

#[test]
fn six_layers_in_total_are_refused_before_any_change() {
    let name = unique("six");
    let layer = unique("six-deps");
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    let layers: Vec<String> = (1..=4)
        .map(|i| format!("arn:aws:lambda:us-east-1:123456789012:layer:ext{i}:1"))
        .collect();
    let layers = layers.join("\n");
    let a = tempfile::tempdir().expect("temp");
    let b = tempfile::tempdir().expect("temp");
    let layer_dirs = format!(
        "{layer}={}\n{layer}-b={}",
        path_str(a.path()),
        path_str(b.path())
    );
    let mut inputs = base_inputs(&name, &d, &role);
    inputs.extend([
        ("layers", layers.as_str()),
        ("layer-dirs", layer_dirs.as_str()),
    ]);
    let run = deploy(&inputs, &[("GITHUB_ACTIONS", "true")], &[]);
    assert!(!run.ok());
    assert!(
        run.stdout().contains(
            "input layers: 6 layers in total (layers and layer-dirs); Lambda allows at most 5"
        ),
        "{}",
        run.stdout()
    );
    assert!(!snapshot(&name).exists);
    assert!(layer_versions(&layer).is_empty());
}

#[test]
fn bucket_in_another_region_is_refused_before_any_change() {
    let name = unique("region");
    let bucket = bucket(Some("eu-west-1"));
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    let mut inputs = base_inputs(&name, &d, &role);
    inputs.push(("s3-bucket", bucket.as_str()));
    let run = deploy(&inputs, &[], &[]);
    assert!(!run.ok());
    let text = error_text(&run);
    assert!(
        text.contains(&format!(
            "s3-bucket '{bucket}' is in region eu-west-1, but the function is in us-east-1"
        )),
        "{text}"
    );
    assert!(!snapshot(&name).exists);
    assert!(keys(&bucket).is_empty());
}

#[test]
fn given_layers_count_toward_the_unzipped_limit_by_their_zipped_size() {
    let name = unique("huge-given");
    let src = tempfile::tempdir().expect("temp");
    std::fs::create_dir_all(src.path().join("python")).expect("mkdir");
    write_random(&src.path().join("python/data.bin"), 60 * MB, 5);
    let out = tempfile::tempdir().expect("temp");
    let zip = out.path().join("layer.zip");
    let none = lambda_deploy::package::ExcludeSet::new::<&str>(&[]).expect("excludes");
    lambda_deploy::package::write_zip(src.path(), &none, &zip).expect("zip");
    let ext = block(async {
        lambda()
            .publish_layer_version()
            .layer_name(unique("big-ext"))
            .content(
                aws_sdk_lambda::types::LayerVersionContentInput::builder()
                    .zip_file(aws_sdk_lambda::primitives::Blob::new(
                        std::fs::read(&zip).expect("read"),
                    ))
                    .build(),
            )
            .send()
            .await
            .expect("publish")
            .layer_version_arn()
            .unwrap_or_default()
            .to_string()
    });
    let dir = example_copy("python-hello");
    for i in 0..4 {
        sparse(
            &dir.path().join(format!("vendor/lib{i}.so")),
            50 * MB as u64,
        );
    }
    let (d, role) = (path_str(dir.path()), role());
    let mut inputs = base_inputs(&name, &d, &role);
    inputs.push(("layers", ext.as_str()));
    let run = deploy(&inputs, &[], &[]);
    assert!(!run.ok(), "{}", run.stderr());
    let text = error_text(&run);
    let short = ext.splitn(7, ':').nth(6).unwrap_or_default().to_string();
    for words in [
        "with its layers unzips to 260.0 MiB",
        "largest entries: vendor/ (200.0 MiB), ",
        &format!("layer {short}: (whole layer, zipped size) (60.0 MiB)"),
    ] {
        assert!(text.contains(words), "'{words}' missing from:\n{text}");
    }
    assert!(!snapshot(&name).exists);
}

#[test]
fn layer_zips_go_through_s3_when_s3_bucket_is_set() {
    let name = unique("s3-layer");
    let layer = unique("s3-deps");
    let bucket = bucket(None);
    let dir = example_copy("python-hello");
    let layer_dir = tempfile::tempdir().expect("temp");
    std::fs::create_dir_all(layer_dir.path().join("python")).expect("mkdir");
    std::fs::write(layer_dir.path().join("python/shared.py"), "VALUE = 1\n").expect("write");
    let (d, role) = (path_str(dir.path()), role());
    let layer_dirs = format!("{layer}={}", path_str(layer_dir.path()));
    let mut inputs = base_inputs(&name, &d, &role);
    inputs.extend([
        ("layer-dirs", layer_dirs.as_str()),
        ("s3-bucket", bucket.as_str()),
    ]);
    let run = deploy(&inputs, &[], &[]);
    run.assert_ok();
    let keys = keys(&bucket);
    let layer_key = keys
        .iter()
        .find(|k| k.starts_with(&format!("lambda-deploy/layers/{layer}/")))
        .unwrap_or_else(|| panic!("no layer object in {keys:?}"));
    assert!(
        keys.iter()
            .any(|k| k.starts_with(&format!("lambda-deploy/{name}/"))),
        "{keys:?}"
    );
    let hex = layer_key
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .trim_end_matches(".zip");
    let published = block(async {
        lambda()
            .get_layer_version()
            .layer_name(&layer)
            .version_number(1)
            .send()
            .await
            .expect("layer version")
    });
    let sha = published
        .content()
        .and_then(|c| c.code_sha256())
        .unwrap_or_default();
    use base64::Engine as _;
    let digest = base64::engine::general_purpose::STANDARD
        .decode(sha)
        .expect("base64");
    let digest_hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        digest_hex, hex,
        "the layer was published from the uploaded object"
    );
    assert_eq!(
        layer_arns_of(&name),
        vec![
            published
                .layer_version_arn()
                .unwrap_or_default()
                .to_string()
        ]
    );
}

/// The read-back after the upload (HeadObject) reports another checksum than the zip's:
/// the run stops there, and Lambda is never pointed at the object.
#[test]
fn an_s3_object_that_reads_back_different_fails_the_run_and_changes_nothing() {
    let name = unique("s3-verify");
    let bucket = bucket(None);
    let proxy = FaultProxy::start(&services()["AWS_ENDPOINT_URL"]);
    // The first HeadObject (is the object already there?) goes through; every later one,
    // the read-back included, says the object holds other bytes.
    let other = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    proxy.add(
        json!([{"match": {"method": "HEAD", "path": format!("^/{bucket}/.*\\.zip$")},
        "skip": 1, "times": -1,
        "fault": {"set_headers": {"x-amz-checksum-sha256": other}}}]),
    );
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    let mut inputs = base_inputs(&name, &d, &role);
    inputs.push(("s3-bucket", bucket.as_str()));
    let run = deploy(&inputs, &[("AWS_ENDPOINT_URL_S3", proxy.url.as_str())], &[]);
    assert!(!run.ok(), "{}", run.stderr());
    let text = error_text(&run);
    assert!(
        text.contains(&format!("s3://{bucket}/"))
            && text.contains(&format!("and checksum {other} instead of"))
            && text.contains("does not hold the package after the upload"),
        "{text}"
    );
    let requests = s3_requests(&proxy);
    assert!(
        requests
            .iter()
            .any(|(m, p)| m == "PUT" && p.split('?').next().is_some_and(|p| p.ends_with(".zip"))),
        "the object was uploaded, so the read-back is what stopped the run: {requests:?}"
    );
    assert_eq!(proxy.faulted(), 1, "one read-back, no retry of it");
    assert!(!snapshot(&name).exists, "no function was created from it");
}

/// A `layers` ARN whose size GetLayerVersion does not give (access denied) is left out of
/// the size check with a warning; the deploy goes on and attaches it.
#[test]
fn a_given_layer_whose_size_cannot_be_read_is_left_out_with_a_warning() {
    let name = unique("unreadable-layer");
    let ext = block(async {
        lambda()
            .publish_layer_version()
            .layer_name(unique("ext"))
            .content(
                aws_sdk_lambda::types::LayerVersionContentInput::builder()
                    .zip_file(aws_sdk_lambda::primitives::Blob::new(ext_zip()))
                    .build(),
            )
            .send()
            .await
            .expect("publish ext layer")
            .layer_version_arn()
            .unwrap_or_default()
            .to_string()
    });
    let proxy = FaultProxy::for_lambda();
    proxy.add(
        json!([{"match": {"method": "GET", "path": "/layers/.*/versions/[0-9]+$"},
        "times": -1,
        "fault": {"status": 403, "error": "AccessDeniedException",
                  "message": "not authorized to perform: lambda:GetLayerVersion"}}]),
    );
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    let mut inputs = base_inputs(&name, &d, &role);
    inputs.push(("layers", ext.as_str()));
    let run = deploy(
        &inputs,
        &[("AWS_ENDPOINT_URL_LAMBDA", proxy.url.as_str())],
        &[],
    );
    run.assert_ok();
    assert!(
        proxy.faulted() >= 1,
        "the size was asked for: {:?}",
        proxy.requests()
    );
    let err = run.stderr();
    assert!(
        err.contains("GetLayerVersion")
            && err.contains(&ext)
            && err.contains("its size is left out of the 250 MB check"),
        "{err}"
    );
    assert_eq!(layer_arns_of(&name), vec![ext]);
}

/// `layers` replaces the function's layers: the ones it had and no longer lists are gone.
#[test]
fn layers_replace_the_functions_layers() {
    let name = unique("replace-layers");
    let publish = |n: &str| {
        block(async {
            lambda()
                .publish_layer_version()
                .layer_name(unique(n))
                .content(
                    aws_sdk_lambda::types::LayerVersionContentInput::builder()
                        .zip_file(aws_sdk_lambda::primitives::Blob::new(ext_zip()))
                        .build(),
                )
                .send()
                .await
                .expect("publish layer")
                .layer_version_arn()
                .unwrap_or_default()
                .to_string()
        })
    };
    let (a, b, c) = (publish("la"), publish("lb"), publish("lc"));
    let dir = example_copy("python-hello");
    let (d, role) = (path_str(dir.path()), role());
    let two = format!("{a}\n{b}");
    let mut inputs = base_inputs(&name, &d, &role);
    inputs.push(("layers", two.as_str()));
    deploy(&inputs, &[], &[]).assert_ok();
    assert_eq!(layer_arns_of(&name), vec![a.clone(), b.clone()]);

    let mut inputs = base_inputs(&name, &d, &role);
    inputs.push(("layers", c.as_str()));
    let run = deploy(&inputs, &[], &[]);
    run.assert_ok();
    assert_eq!(layer_arns_of(&name), vec![c.clone()], "{}", run.summary);
    assert_eq!(run.out("layer-arns"), c);
}

/// The scratch space of a run (the function's zip and the layer zips) is gone when the run
/// ends, whether it planned its changes or was refused after packaging.
#[test]
fn scratch_space_is_removed_after_a_run_and_after_a_refusal() {
    let name = unique("scratch");
    let dir = example_copy("python-hello");
    let layer_dir = tempfile::tempdir().expect("temp");
    std::fs::write(layer_dir.path().join("shared.py"), "VALUE = 1\n").expect("write");
    let (d, role) = (path_str(dir.path()), role());
    let layer_dirs = format!("{}={}", unique("scratch-layer"), path_str(layer_dir.path()));
    let tmp = tempfile::tempdir().expect("temp");
    let tmp_dir = path_str(tmp.path());
    let left = || {
        std::fs::read_dir(tmp.path())
            .expect("read TMPDIR")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
    };
    let mut inputs = base_inputs(&name, &d, &role);
    inputs.push(("layer-dirs", layer_dirs.as_str()));

    let dry = deploy(
        &inputs,
        &[("TMPDIR", tmp_dir.as_str())],
        &["--dry-run", "true"],
    );
    dry.assert_ok();
    assert_eq!(left(), Vec::<String>::new(), "after a dry run");

    // A new function needs a role: the plan refuses it once everything is packaged.
    inputs.retain(|(k, _)| *k != "role");
    let refused = deploy(&inputs, &[("TMPDIR", tmp_dir.as_str())], &[]);
    assert!(!refused.ok(), "{}", refused.everything());
    assert!(
        refused.everything().contains("role"),
        "{}",
        refused.everything()
    );
    assert_eq!(left(), Vec::<String>::new(), "after a refusal");
}
