//! An in-memory registry behind [`RegistryApi`], for unit tests of the push logic. It
//! models what that logic depends on: blobs and manifests stored under the digest of
//! their content (content that does not hash to its digest is refused, as a registry
//! answers `DIGEST_INVALID`), tags naming manifest digests, repositories with immutable
//! tags (moving one is refused with HTTP 400, as ECR does), mounts between repositories
//! of the registry, and calls that fail ([`FakeRegistry::fail`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use super::api::RegistryApi;
use super::{Fetched, Mount, RegistryError};
use crate::domain::oci;

/// A repository as the fake holds it.
#[derive(Debug, Clone, Default)]
pub struct FakeRepo {
    pub blobs: BTreeMap<String, Vec<u8>>,
    /// Manifests by digest, with their media type.
    pub manifests: BTreeMap<String, (String, Vec<u8>)>,
    /// Tag -> manifest digest.
    pub tags: BTreeMap<String, String>,
    pub immutable: bool,
}

/// Everything the fake holds, shared by every handle.
#[derive(Debug, Default)]
pub struct Repos {
    pub repos: BTreeMap<String, FakeRepo>,
    /// Every call as `<operation> <repo> <digest or tag>`, in order.
    pub calls: Vec<String>,
    /// `(operation, nth, status)`: the nth call of the operation fails with the status.
    faults: Vec<(&'static str, usize, u16)>,
}

/// A handle on the in-memory registry.
#[derive(Debug, Clone, Default)]
pub struct FakeRegistry {
    world: Arc<Mutex<Repos>>,
}

impl FakeRegistry {
    /// A registry without repositories (pushing creates them).
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything the fake holds, locked.
    pub fn world(&self) -> MutexGuard<'_, Repos> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The repository `repo` (empty when nothing was pushed to it).
    pub fn repo(&self, repo: &str) -> FakeRepo {
        self.world().repos.get(repo).cloned().unwrap_or_default()
    }

    /// Makes the tags of `repo` immutable.
    pub fn immutable(&self, repo: &str) {
        self.world()
            .repos
            .entry(repo.to_string())
            .or_default()
            .immutable = true;
    }

    /// Puts a blob into `repo` under the digest of `bytes`; returns the digest.
    pub(crate) fn add_blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = oci::sha256_digest(bytes);
        let mut w = self.world();
        let r = w.repos.entry(repo.to_string()).or_default();
        r.blobs.insert(digest.clone(), bytes.to_vec());
        digest
    }

    /// Points `tag` of `repo` at `digest` (as another pusher would).
    pub(crate) fn add_tag(&self, repo: &str, tag: &str, digest: &str) {
        let mut w = self.world();
        let r = w.repos.entry(repo.to_string()).or_default();
        r.tags.insert(tag.to_string(), digest.to_string());
    }

    /// The calls made so far.
    pub fn calls(&self) -> Vec<String> {
        self.world().calls.clone()
    }

    /// Makes the `nth` call (1-based) of `operation` fail with HTTP `status`.
    pub fn fail(&self, operation: &'static str, nth: usize, status: u16) {
        self.world().faults.push((operation, nth, status));
    }

    /// Records the call and fails it when a fault says so.
    fn enter(
        &self,
        op: &'static str,
        repo: &str,
        what: &str,
    ) -> Result<MutexGuard<'_, Repos>, RegistryError> {
        let mut w = self.world();
        w.calls.push(format!("{op} {repo} {what}"));
        let prefix = format!("{op} ");
        let n = w.calls.iter().filter(|c| c.starts_with(&prefix)).count();
        if let Some(i) = w.faults.iter().position(|f| f.0 == op && f.1 == n) {
            let (_, _, status) = w.faults.remove(i);
            return Err(fail(op, repo, Some(status), "injected fault"));
        }
        Ok(w)
    }
}

fn fail(op: &str, repo: &str, status: Option<u16>, message: &str) -> RegistryError {
    RegistryError {
        operation: format!("{op} in {repo}"),
        registry: "fake.registry".into(),
        status,
        message: message.to_string(),
    }
}

/// Stores a blob if its content hashes to `digest`.
fn store_blob(w: &mut Repos, repo: &str, digest: &str, data: &[u8]) -> Result<u64, RegistryError> {
    if oci::sha256_digest(data) != digest {
        let message = "DIGEST_INVALID: the content does not match the digest";
        return Err(fail("upload", repo, Some(400), message));
    }
    let r = w.repos.entry(repo.to_string()).or_default();
    r.blobs.insert(digest.to_string(), data.to_vec());
    Ok(data.len() as u64)
}

impl RegistryApi for FakeRegistry {
    async fn has_blob(&self, repo: &str, digest: &str) -> Result<bool, RegistryError> {
        let w = self.enter("HEAD blob", repo, digest)?;
        Ok(w.repos
            .get(repo)
            .is_some_and(|r| r.blobs.contains_key(digest)))
    }

    async fn put_blob(&self, repo: &str, digest: &str, data: &[u8]) -> Result<u64, RegistryError> {
        let mut w = self.enter("PUT blob", repo, digest)?;
        store_blob(&mut w, repo, digest, data)
    }

    async fn put_blob_file(
        &self,
        repo: &str,
        digest: &str,
        path: &Path,
    ) -> Result<u64, RegistryError> {
        let data = std::fs::read(path).map_err(|e| {
            fail(
                "upload",
                repo,
                None,
                &format!("reading {}: {e}", path.display()),
            )
        })?;
        let mut w = self.enter("PUT blob", repo, digest)?;
        store_blob(&mut w, repo, digest, &data)
    }

    async fn mount_blob(
        &self,
        repo: &str,
        from: &str,
        digest: &str,
    ) -> Result<Mount, RegistryError> {
        let mut w = self.enter("POST mount", repo, digest)?;
        let Some(bytes) = w.repos.get(from).and_then(|r| r.blobs.get(digest)).cloned() else {
            return Ok(Mount::Declined);
        };
        let r = w.repos.entry(repo.to_string()).or_default();
        r.blobs.insert(digest.to_string(), bytes);
        Ok(Mount::Mounted)
    }

    async fn get_blob_file(
        &self,
        repo: &str,
        digest: &str,
        declared: u64,
        path: &Path,
    ) -> Result<u64, RegistryError> {
        let w = self.enter("GET blob", repo, digest)?;
        let Some(bytes) = w.repos.get(repo).and_then(|r| r.blobs.get(digest)) else {
            return Err(fail("GET blob", repo, Some(404), "BLOB_UNKNOWN"));
        };
        if bytes.len() as u64 > declared {
            return Err(fail(
                "GET blob",
                repo,
                None,
                "larger than its descriptor declares",
            ));
        }
        std::fs::write(path, bytes).map_err(|e| {
            fail(
                "GET blob",
                repo,
                None,
                &format!("writing {}: {e}", path.display()),
            )
        })?;
        Ok(bytes.len() as u64)
    }

    async fn get_manifest(&self, repo: &str, reference: &str) -> Result<Fetched, RegistryError> {
        let w = self.enter("GET manifest", repo, reference)?;
        let r = w.repos.get(repo);
        let digest = r
            .and_then(|r| r.tags.get(reference).cloned())
            .unwrap_or_else(|| reference.to_string());
        let Some((media_type, bytes)) = r.and_then(|r| r.manifests.get(&digest)) else {
            return Err(fail("GET manifest", repo, Some(404), "MANIFEST_UNKNOWN"));
        };
        Ok(Fetched {
            media_type: media_type.clone(),
            digest,
            bytes: Bytes::copy_from_slice(bytes),
        })
    }

    async fn tag_of(&self, repo: &str, tag: &str) -> Result<Option<String>, RegistryError> {
        let w = self.enter("HEAD manifest", repo, tag)?;
        Ok(w.repos.get(repo).and_then(|r| r.tags.get(tag).cloned()))
    }

    async fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<String, RegistryError> {
        let mut w = self.enter("PUT manifest", repo, reference)?;
        let digest = oci::sha256_digest(bytes);
        let by_digest = reference.starts_with("sha256:");
        if by_digest && reference != digest {
            let message = "DIGEST_INVALID: the manifest does not match the digest";
            return Err(fail("PUT manifest", repo, Some(400), message));
        }
        let r = w.repos.entry(repo.to_string()).or_default();
        if !by_digest {
            if r.immutable && r.tags.get(reference).is_some_and(|d| *d != digest) {
                let message = "ImageTagAlreadyExistsException: the tag is immutable";
                return Err(fail("PUT manifest", repo, Some(400), message));
            }
            r.tags.insert(reference.to_string(), digest.clone());
        }
        r.manifests
            .insert(digest.clone(), (media_type.to_string(), bytes.to_vec()));
        Ok(digest)
    }
}
