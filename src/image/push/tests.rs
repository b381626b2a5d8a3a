//! The push decisions on the in-memory registry: what is uploaded, in which order, and
//! what is refused.

use super::*;
use crate::domain::oci::sha256_digest;
use crate::registry::fake::FakeRegistry;

const REPO: &str = "app";
const BASE: &str = "base/python";
const MEDIA: &str = "application/vnd.oci.image.manifest.v1+json";

fn descriptor(digest: &str, size: u64) -> Descriptor {
    Descriptor {
        media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
        digest: digest.into(),
        size,
        platform: None,
        annotations: None,
    }
}

/// An image: one base layer in `BASE`, the code layer on disk, a config and a manifest.
struct Image {
    dir: tempfile::TempDir,
    code: std::path::PathBuf,
    layers: Vec<Descriptor>,
    config: (Descriptor, Vec<u8>),
    manifest: Vec<u8>,
    digest: String,
}

fn image(registry: &FakeRegistry) -> Image {
    let dir = tempfile::tempdir().unwrap();
    let base = registry.add_blob(BASE, b"base layer");
    let code = dir.path().join("code.tar.gz");
    std::fs::write(&code, b"code layer").unwrap();
    let code_digest = sha256_digest(b"code layer");
    let config = b"{\"architecture\":\"amd64\"}".to_vec();
    let manifest = format!("{{\"layers\":[\"{base}\",\"{code_digest}\"]}}").into_bytes();
    Image {
        code,
        layers: vec![descriptor(&base, 10), descriptor(&code_digest, 10)],
        config: (descriptor(&sha256_digest(&config), 25), config),
        digest: sha256_digest(&manifest),
        manifest,
        dir,
    }
}

fn job<'a>(i: &'a Image, immutable: bool) -> Job<'a> {
    Job {
        repo: REPO,
        digest: &i.digest,
        base_repo: BASE,
        base_elsewhere: false,
        layers: &i.layers,
        code_layer: (&i.layers[1].digest, &i.code),
        config: (&i.config.0, &i.config.1),
        manifest: (MEDIA, &i.manifest),
        scratch: i.dir.path(),
        immutable,
    }
}

async fn push(r: &FakeRegistry, job: &Job<'_>, tags: &[&str]) -> Result<Pushed, ImageError> {
    let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
    let mut out = Pushed::default();
    push_image(r, r, job, &tags, &mut out).await.map(|()| out)
}

fn puts(r: &FakeRegistry) -> Vec<String> {
    r.calls()
        .into_iter()
        .filter(|c| c.starts_with("PUT") || c.starts_with("POST"))
        .collect()
}

#[tokio::test]
async fn blobs_go_first_the_manifest_by_digest_next_and_tags_last() {
    let r = FakeRegistry::new();
    let i = image(&r);
    let out = push(&r, &job(&i, false), &["v1", "sha-abc"]).await.unwrap();
    let expected = vec![
        format!("POST mount {REPO} {}", i.layers[0].digest),
        format!("PUT blob {REPO} {}", i.layers[1].digest),
        format!("PUT blob {REPO} {}", i.config.0.digest),
        format!("PUT manifest {REPO} {}", i.digest),
        format!("PUT manifest {REPO} v1"),
        format!("PUT manifest {REPO} sha-abc"),
    ];
    assert_eq!(puts(&r), expected);
    let repo = r.repo(REPO);
    assert_eq!(repo.tags.get("v1"), Some(&i.digest));
    assert_eq!(repo.tags.get("sha-abc"), Some(&i.digest));
    assert_eq!(repo.blobs.len(), 3);
    let states: Vec<_> = out.report.layers.iter().map(|l| l.state).collect();
    assert_eq!(states, ["mounted", "uploaded"]);
    assert_eq!(out.report.tags, ["v1", "sha-abc"]);
}

#[tokio::test]
async fn only_blobs_the_repository_lacks_are_uploaded() {
    let r = FakeRegistry::new();
    let i = image(&r);
    push(&r, &job(&i, false), &["v1"]).await.unwrap();
    let before = puts(&r).len();
    let out = push(&r, &job(&i, false), &["v1"]).await.unwrap();
    let again: Vec<_> = puts(&r).split_off(before);
    assert_eq!(again, [format!("PUT manifest {REPO} {}", i.digest)]);
    assert_eq!(out.report.bytes_uploaded, 0);
    let states: Vec<_> = out.report.layers.iter().map(|l| l.state).collect();
    assert_eq!(states, ["present", "present"]);
}

#[tokio::test]
async fn a_base_layer_on_another_registry_is_copied() {
    let target = FakeRegistry::new();
    let base = FakeRegistry::new();
    let i = image(&base);
    let mut j = job(&i, false);
    j.base_elsewhere = true;
    let mut out = Pushed::default();
    push_image(&target, &base, &j, &[], &mut out).await.unwrap();
    assert_eq!(out.report.layers[0].state, "copied");
    let held = target.repo(REPO).blobs.get(&i.layers[0].digest).cloned();
    assert_eq!(held.as_deref(), Some(&b"base layer"[..]));
}

#[tokio::test]
async fn a_layer_whose_content_differs_from_its_digest_is_refused_before_the_manifest() {
    let r = FakeRegistry::new();
    let i = image(&r);
    std::fs::write(&i.code, b"changed after the build").unwrap();
    let err = push(&r, &job(&i, false), &["v1"]).await.unwrap_err();
    assert!(err.to_string().contains("DIGEST_INVALID"), "{err}");
    let repo = r.repo(REPO);
    assert!(repo.manifests.is_empty(), "{:?}", r.calls());
    assert!(repo.tags.is_empty());
}

#[tokio::test]
async fn a_manifest_stored_under_another_digest_moves_no_tag() {
    let r = FakeRegistry::new();
    let i = image(&r);
    let wrong = sha256_digest(b"another manifest");
    let mut j = job(&i, false);
    j.digest = &wrong;
    let err = push(&r, &j, &["v1"]).await.unwrap_err();
    assert!(err.to_string().contains("DIGEST_INVALID"), "{err}");
    assert!(r.repo(REPO).tags.is_empty(), "{:?}", r.calls());
}

#[tokio::test]
async fn an_immutable_tag_naming_another_digest_is_left_with_a_warning() {
    let r = FakeRegistry::new();
    let i = image(&r);
    r.immutable(REPO);
    let other = sha256_digest(b"older image");
    r.add_tag(REPO, "v1", &other);
    let out = push(&r, &job(&i, true), &["v1", "v2"]).await.unwrap();
    assert_eq!(out.report.tags, ["v2"]);
    assert_eq!(out.warnings.len(), 1);
    assert!(
        out.warnings[0].contains("image tag 'v1' was not moved"),
        "{:?}",
        out.warnings
    );
    assert_eq!(r.repo(REPO).tags.get("v1"), Some(&other));
}

#[tokio::test]
async fn an_immutable_tag_taken_between_lookup_and_push_is_a_warning() {
    let r = FakeRegistry::new();
    let i = image(&r);
    r.immutable(REPO);
    r.fail("PUT manifest", 2, 400);
    let out = push(&r, &job(&i, true), &["v1"]).await.unwrap();
    assert!(out.report.tags.is_empty());
    assert!(
        out.warnings[0].contains("has immutable tags"),
        "{:?}",
        out.warnings
    );
}

#[tokio::test]
async fn a_tag_that_already_names_the_digest_is_not_pushed_again() {
    let r = FakeRegistry::new();
    let i = image(&r);
    push(&r, &job(&i, false), &["v1"]).await.unwrap();
    let before = puts(&r).len();
    let out = push(&r, &job(&i, false), &["v1"]).await.unwrap();
    assert_eq!(out.report.tags, ["v1"]);
    assert!(!puts(&r)[before..].iter().any(|c| c.ends_with(" v1")));
}
