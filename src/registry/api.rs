//! The seam between the image push and a registry: [`RegistryApi`], the distribution-API
//! calls the push logic makes. [`Registry`] implements it over HTTP; an in-memory fake
//! (`super::fake`, in tests and under the `fake` feature) implements it with the
//! registry's rules that matter here (content addressed by digest, tags naming digests,
//! immutable tags).

use std::future::Future;
use std::path::Path;

use super::{Fetched, Mount, Registry, RegistryError};

/// What a push calls on a registry. Every digest is `sha256:<hex>`, checked before it
/// goes into a URL; a blob or manifest whose content does not hash to the digest it is
/// pushed under is refused by the registry.
pub trait RegistryApi: Send + Sync {
    /// Whether `repo` already holds the blob.
    fn has_blob(
        &self,
        repo: &str,
        digest: &str,
    ) -> impl Future<Output = Result<bool, RegistryError>>;
    /// Uploads bytes held in memory; returns the bytes sent.
    fn put_blob(
        &self,
        repo: &str,
        digest: &str,
        data: &[u8],
    ) -> impl Future<Output = Result<u64, RegistryError>>;
    /// Uploads a file; returns the bytes sent.
    fn put_blob_file(
        &self,
        repo: &str,
        digest: &str,
        path: &Path,
    ) -> impl Future<Output = Result<u64, RegistryError>>;
    /// Asks the registry to mount a blob of another repository into `repo`.
    fn mount_blob(
        &self,
        repo: &str,
        from: &str,
        digest: &str,
    ) -> impl Future<Output = Result<Mount, RegistryError>>;
    /// Downloads a blob no larger than `declared` into the file at `path` (created or
    /// truncated), checking its digest; returns its size.
    fn get_blob_file(
        &self,
        repo: &str,
        digest: &str,
        declared: u64,
        path: &Path,
    ) -> impl Future<Output = Result<u64, RegistryError>>;
    /// A manifest by tag or digest.
    fn get_manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> impl Future<Output = Result<Fetched, RegistryError>>;
    /// The digest a tag names now; `None` when the tag does not exist.
    fn tag_of(
        &self,
        repo: &str,
        tag: &str,
    ) -> impl Future<Output = Result<Option<String>, RegistryError>>;
    /// Puts a manifest under `reference` (a tag or its digest); returns its digest.
    fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> impl Future<Output = Result<String, RegistryError>>;
}

impl RegistryApi for Registry {
    async fn has_blob(&self, repo: &str, digest: &str) -> Result<bool, RegistryError> {
        self.blob_exists(repo, digest).await
    }

    async fn put_blob(&self, repo: &str, digest: &str, data: &[u8]) -> Result<u64, RegistryError> {
        self.upload_bytes(repo, digest, data).await
    }

    async fn put_blob_file(
        &self,
        repo: &str,
        digest: &str,
        path: &Path,
    ) -> Result<u64, RegistryError> {
        self.upload_file(repo, digest, path).await
    }

    async fn mount_blob(
        &self,
        repo: &str,
        from: &str,
        digest: &str,
    ) -> Result<Mount, RegistryError> {
        self.mount(repo, from, digest).await
    }

    async fn get_blob_file(
        &self,
        repo: &str,
        digest: &str,
        declared: u64,
        path: &Path,
    ) -> Result<u64, RegistryError> {
        let mut file = std::fs::File::create(path).map_err(|e| {
            let op = format!("downloading blob {digest} from {repo}");
            self.err(&op, None, format!("cannot write {}: {e}", path.display()))
        })?;
        self.download_blob(repo, digest, declared, &mut file).await
    }

    async fn get_manifest(&self, repo: &str, reference: &str) -> Result<Fetched, RegistryError> {
        self.manifest(repo, reference).await
    }

    async fn tag_of(&self, repo: &str, tag: &str) -> Result<Option<String>, RegistryError> {
        self.tag_digest(repo, tag).await
    }

    async fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<String, RegistryError> {
        self.put_manifest(repo, reference, media_type, bytes).await
    }
}
