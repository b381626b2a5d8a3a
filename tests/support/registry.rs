//! The local registry as the image tests see it: images written by the test code (a tar.gz
//! layer, a config, a manifest or an index) pushed with curl, and pulled back the same way,
//! independently of lambda-deploy's own registry client.

use std::io::Write;
use std::process::Command;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{block, services};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// The ECR registry host moto hands out for the test account.
pub const ECR_HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

pub fn sha256(bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(bytes);
    h.finalize()
        .iter()
        .fold("sha256:".to_string(), |s, b| s + &format!("{b:02x}"))
}

/// `host:port` of the registry (behind the ECR-sync proxy).
pub fn addr() -> String {
    services()
        .get("REGISTRY")
        .cloned()
        .expect("REGISTRY in the services' environment")
}

fn login() -> String {
    let env = services();
    format!(
        "{}:{}",
        env.get("REGISTRY_USERNAME").map_or("AWS", String::as_str),
        env.get("REGISTRY_PASSWORD").map_or("", String::as_str)
    )
}

/// One HTTP exchange with the registry: status, response headers and body.
pub fn curl(
    method: &str,
    url: &str,
    headers: &[&str],
    body: Option<&[u8]>,
) -> (u16, String, Vec<u8>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (hfile, bfile, infile) = (
        dir.path().join("h"),
        dir.path().join("b"),
        dir.path().join("in"),
    );
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-u", &login(), "-X", method, "-D"])
        .arg(&hfile)
        .arg("-o")
        .arg(&bfile)
        .args(["-w", "%{http_code}"]);
    if method == "HEAD" {
        cmd.arg("-I");
    }
    for h in headers {
        cmd.args(["-H", h]);
    }
    if let Some(b) = body {
        std::fs::File::create(&infile)
            .and_then(|mut f| f.write_all(b))
            .expect("write body");
        cmd.arg("--data-binary")
            .arg(format!("@{}", infile.display()));
    }
    let out = cmd.arg(url).output().expect("run curl");
    let status = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    (
        status,
        std::fs::read_to_string(&hfile).unwrap_or_default(),
        std::fs::read(&bfile).unwrap_or_default(),
    )
}

fn location(headers: &str) -> String {
    let loc = headers
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("location"))
                .map(|(_, v)| v)
        })
        .expect("a Location header")
        .trim()
        .to_string();
    if loc.starts_with("http") {
        loc
    } else {
        format!("http://{}{loc}", addr())
    }
}

pub fn push_blob(repo: &str, data: &[u8]) -> String {
    let digest = sha256(data);
    let base = format!("http://{}/v2/{repo}", addr());
    let (status, headers, _) = curl("POST", &format!("{base}/blobs/uploads/"), &[], None);
    assert_eq!(status, 202, "start upload to {repo}");
    let url = location(&headers);
    let sep = if url.contains('?') { '&' } else { '?' };
    let (status, _, body) = curl(
        "PUT",
        &format!("{url}{sep}digest={}", digest.replace(':', "%3A")),
        &["Content-Type: application/octet-stream"],
        Some(data),
    );
    assert_eq!(
        status,
        201,
        "finish upload: {}",
        String::from_utf8_lossy(&body)
    );
    digest
}

pub fn put_manifest(repo: &str, reference: &str, media_type: &str, data: &[u8]) {
    let (status, _, body) = curl(
        "PUT",
        &format!("http://{}/v2/{repo}/manifests/{reference}", addr()),
        &[&format!("Content-Type: {media_type}")],
        Some(data),
    );
    assert_eq!(
        status,
        201,
        "put manifest {repo}:{reference}: {}",
        String::from_utf8_lossy(&body)
    );
}

/// A manifest or blob from the registry.
pub fn get(repo: &str, kind: &str, reference: &str) -> Vec<u8> {
    let (status, _, body) = curl(
        "GET",
        &format!("http://{}/v2/{repo}/{kind}/{reference}", addr()),
        &[&format!(
            "Accept: {OCI_MANIFEST}, {OCI_INDEX}, application/vnd.docker.distribution.manifest.v2+json"
        )],
        None,
    );
    assert_eq!(status, 200, "GET {repo}/{kind}/{reference}");
    body
}

/// The digest a tag names, if any.
pub fn tag_digest(repo: &str, tag: &str) -> Option<String> {
    let (status, _, body) = curl(
        "GET",
        &format!("http://{}/v2/{repo}/manifests/{tag}", addr()),
        &[&format!("Accept: {OCI_MANIFEST}, {OCI_INDEX}")],
        None,
    );
    (status == 200).then(|| sha256(&body))
}

/// A gzip tar of `files` (path, contents), owner root, for test images.
pub fn tar_gz(files: &[(&str, &[u8])]) -> (Vec<u8>, String) {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o755);
        h.set_cksum();
        tar.append_data(&mut h, path, *data).expect("tar entry");
    }
    let raw = tar.into_inner().expect("tar");
    let diff_id = sha256(&raw);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&raw).expect("gzip");
    (gz.finish().expect("gzip"), diff_id)
}

/// An image pushed by the tests.
#[derive(Debug, Clone)]
pub struct TestImage {
    pub digest: String,
    pub size: u64,
    pub layer: String,
}

/// Writes and pushes a one-layer OCI image for `arch` (OCI spelling: amd64, arm64).
pub fn push_image(repo: &str, tag: Option<&str>, arch: &str, files: &[(&str, &[u8])]) -> TestImage {
    let (layer, diff_id) = tar_gz(files);
    let layer_digest = push_blob(repo, &layer);
    let config = json!({
        "architecture": arch,
        "os": "linux",
        "config": {
            "Entrypoint": ["/lambda-entrypoint.sh"],
            "Env": ["PATH=/usr/bin:/bin", "LAMBDA_TASK_ROOT=/var/task"],
            "WorkingDir": "/var/task",
            "Cmd": ["base.handler"]
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "test base layer"}]
    });
    let config = serde_json::to_vec(&config).expect("config");
    let config_digest = push_blob(repo, &config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": layer.len()}]
    }))
    .expect("manifest");
    let digest = sha256(&manifest);
    put_manifest(repo, tag.unwrap_or(&digest), OCI_MANIFEST, &manifest);
    TestImage {
        digest,
        size: manifest.len() as u64,
        layer: layer_digest,
    }
}

/// Pushes an index of `entries` (image, arch) plus an attestation entry, under `tag`.
pub fn push_index(repo: &str, tag: &str, entries: &[(&TestImage, &str)]) -> String {
    let mut manifests: Vec<Value> = entries
        .iter()
        .map(|(img, arch)| {
            json!({"mediaType": OCI_MANIFEST, "digest": img.digest, "size": img.size,
                   "platform": {"architecture": arch, "os": "linux"}})
        })
        .collect();
    // An attestation entry, as BuildKit adds: it must never be picked.
    manifests.insert(
        0,
        json!({"mediaType": OCI_MANIFEST, "digest": entries[0].0.digest, "size": entries[0].0.size,
        "platform": {"architecture": "unknown", "os": "unknown"},
        "annotations": {"vnd.docker.reference.type": "attestation-manifest"}}),
    );
    let index = serde_json::to_vec(
        &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}),
    )
    .expect("index");
    put_manifest(repo, tag, OCI_INDEX, &index);
    sha256(&index)
}

pub fn ecr() -> aws_sdk_ecr::Client {
    aws_sdk_ecr::Client::new(&super::sdk_config())
}

/// Creates an ECR repository in the emulator (immutable tags when asked).
pub fn create_repository(name: &str, immutable: bool) {
    block(async {
        let mutability = if immutable {
            aws_sdk_ecr::types::ImageTagMutability::Immutable
        } else {
            aws_sdk_ecr::types::ImageTagMutability::Mutable
        };
        ecr()
            .create_repository()
            .repository_name(name)
            .image_tag_mutability(mutability)
            .send()
            .await
            .expect("create ECR repository");
    });
}

/// Whether the emulator's ECR has the repository.
pub fn repository_exists(name: &str) -> bool {
    block(async {
        ecr()
            .describe_repositories()
            .repository_names(name)
            .send()
            .await
            .is_ok()
    })
}
