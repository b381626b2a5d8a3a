//! Blobs: existence checks, downloads, cross-repository mounts and uploads.

use std::io::{Read, Write};
use std::path::Path;

use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};

use super::{CHUNK, Registry, RegistryError, with_query};
use crate::domain::oci::digest_string;

/// What a mount request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mount {
    /// The blob is now in the target repository.
    Mounted,
    /// The registry declined (no such blob it may share); upload it instead.
    Declined,
}

fn push_scope(repo: &str) -> String {
    format!("repository:{repo}:pull,push")
}

impl Registry {
    /// Whether `repo` already holds the blob (HEAD).
    pub(crate) async fn blob_exists(
        &self,
        repo: &str,
        digest: &str,
    ) -> Result<bool, RegistryError> {
        let op = format!("checking blob {digest} in {repo}");
        self.check_digest(&op, digest)?;
        let resp = self
            .send(
                &op,
                Method::HEAD,
                &self.url(repo, &format!("blobs/{digest}")),
                &[],
                Bytes::new(),
                &push_scope(repo),
            )
            .await?;
        let (status, _, _) = self.read(&op, resp).await?;
        match status {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            s => self.check(&op, s, b"").map(|_| false),
        }
    }

    /// Streams a blob to `out`, following redirects (without credentials off the registry),
    /// and checks its digest; returns its size. The blob may not be larger than
    /// `declared`, the size its descriptor gives: the download stops as soon as it is.
    pub(crate) async fn download_blob(
        &self,
        repo: &str,
        digest: &str,
        declared: u64,
        out: &mut dyn Write,
    ) -> Result<u64, RegistryError> {
        let op = format!("downloading blob {digest} from {repo}");
        self.check_digest(&op, digest)?;
        let resp = self.get_following(&op, repo, digest).await?;
        if !resp.status().is_success() {
            let (status, _, body) = self.read(&op, resp).await?;
            self.check(&op, status, &body)?;
            return Err(self.err(&op, Some(status.as_u16()), format!("HTTP {status}")));
        }
        let too_big = || {
            self.err(
                &op,
                None,
                format!("the registry sent more than the {declared} bytes its descriptor declares; the image is damaged or the registry is not trustworthy"),
            )
        };
        let announced = resp
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if announced.is_some_and(|n| n > declared) {
            return Err(too_big());
        }
        let mut body = resp.into_body();
        let mut hash = Sha256::new();
        let mut size = 0u64;
        let wait = self.bounds.attempt_timeout;
        loop {
            let frame = tokio::time::timeout(wait, body.frame())
                .await
                .map_err(|_| {
                    let secs = wait.as_secs();
                    self.err(
                        &op,
                        None,
                        format!("no answer within {secs}s while reading the blob"),
                    )
                })?;
            let Some(frame) = frame else { break };
            let frame = frame.map_err(|e| self.err(&op, None, e.to_string()))?;
            if let Ok(data) = frame.into_data() {
                size += data.len() as u64;
                if size > declared {
                    return Err(too_big());
                }
                hash.update(&data);
                out.write_all(&data)
                    .map_err(|e| self.err(&op, None, format!("writing it locally: {e}")))?;
            }
        }
        let got = digest_string(hash);
        if got != digest {
            return Err(self.err(&op, None, format!("the content has digest {got}")));
        }
        Ok(size)
    }

    /// GETs a blob, following up to five redirects.
    async fn get_following(
        &self,
        op: &str,
        repo: &str,
        digest: &str,
    ) -> Result<http::Response<hyper::body::Incoming>, RegistryError> {
        let mut url = self.url(repo, &format!("blobs/{digest}"));
        let mut hops = 0;
        loop {
            let resp = self
                .send(
                    op,
                    Method::GET,
                    &url,
                    &[],
                    Bytes::new(),
                    &format!("repository:{repo}:pull"),
                )
                .await?;
            if resp.status().is_redirection() && hops < 5 {
                hops += 1;
                url = self.location(op, resp.headers())?;
                continue;
            }
            return Ok(resp);
        }
    }

    /// Reads a small blob (an image config) into memory, digest checked, at most
    /// `declared` bytes (its descriptor's size), which may not pass the document cap.
    pub(crate) async fn blob_bytes(
        &self,
        repo: &str,
        digest: &str,
        declared: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        if declared > super::MAX_DOCUMENT as u64 {
            return Err(self.err(
                &format!("downloading blob {digest} from {repo}"),
                None,
                format!(
                    "its descriptor declares {declared} bytes, more than the {} an image config may have",
                    super::MAX_DOCUMENT
                ),
            ));
        }
        let mut buf = Vec::new();
        self.download_blob(repo, digest, declared, &mut buf).await?;
        Ok(buf)
    }

    /// Asks the registry to mount a blob from another repository of the same registry.
    pub async fn mount(
        &self,
        repo: &str,
        from: &str,
        digest: &str,
    ) -> Result<Mount, RegistryError> {
        let op = format!("mounting blob {digest} from {from} into {repo}");
        self.check_digest(&op, digest)?;
        let url = with_query(&self.url(repo, "blobs/uploads/"), "mount", digest);
        let url = with_query(&url, "from", from);
        let scope = format!("{} repository:{from}:pull", push_scope(repo));
        let resp = self
            .send(
                &op,
                Method::POST,
                &url,
                &[("content-length", "0".into())],
                Bytes::new(),
                &scope,
            )
            .await?;
        let (status, headers, body) = self.read(&op, resp).await?;
        match status {
            StatusCode::CREATED => Ok(Mount::Mounted),
            StatusCode::ACCEPTED => {
                // An upload session was opened instead; close it, the caller uploads.
                if let Ok(loc) = self.location(&op, &headers) {
                    let _ = self
                        .send(
                            &op,
                            Method::DELETE,
                            &loc,
                            &[],
                            Bytes::new(),
                            &push_scope(repo),
                        )
                        .await;
                }
                Ok(Mount::Declined)
            }
            s => self.check(&op, s, &body).map(|_| Mount::Declined),
        }
    }

    /// Opens an upload session; returns its location.
    async fn start_upload(&self, op: &str, repo: &str) -> Result<String, RegistryError> {
        let resp = self
            .send(
                op,
                Method::POST,
                &self.url(repo, "blobs/uploads/"),
                &[("content-length", "0".into())],
                Bytes::new(),
                &push_scope(repo),
            )
            .await?;
        let (status, headers, body) = self.read(op, resp).await?;
        self.check(op, status, &body)?;
        self.location(op, &headers)
    }

    /// Closes an upload with its digest (and the last bytes, when any).
    async fn finish_upload(
        &self,
        op: &str,
        repo: &str,
        location: &str,
        digest: &str,
        body: Bytes,
    ) -> Result<(), RegistryError> {
        let url = with_query(location, "digest", digest);
        let resp = self
            .send(
                op,
                Method::PUT,
                &url,
                &[
                    ("content-type", "application/octet-stream".into()),
                    ("content-length", body.len().to_string()),
                ],
                body,
                &push_scope(repo),
            )
            .await?;
        let (status, _, body) = self.read(op, resp).await?;
        self.check(op, status, &body)
    }

    /// Uploads bytes held in memory in one PUT; returns the bytes sent.
    pub(crate) async fn upload_bytes(
        &self,
        repo: &str,
        digest: &str,
        data: &[u8],
    ) -> Result<u64, RegistryError> {
        let op = format!("uploading blob {digest} to {repo}");
        self.check_digest(&op, digest)?;
        let location = self.start_upload(&op, repo).await?;
        self.finish_upload(&op, repo, &location, digest, Bytes::copy_from_slice(data))
            .await?;
        Ok(data.len() as u64)
    }

    /// Uploads a file: one PUT up to [`CHUNK`] bytes, PATCH parts of [`CHUNK`] above it
    /// (each at least 5 MiB but the last, as ECR requires). Returns the bytes sent.
    pub(crate) async fn upload_file(
        &self,
        repo: &str,
        digest: &str,
        path: &Path,
    ) -> Result<u64, RegistryError> {
        let op = format!("uploading blob {digest} to {repo}");
        self.check_digest(&op, digest)?;
        let io =
            |e: std::io::Error| self.err(&op, None, format!("reading {}: {e}", path.display()));
        let mut file = std::fs::File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        let mut location = self.start_upload(&op, repo).await?;
        if size <= CHUNK as u64 {
            let mut data = Vec::with_capacity(size as usize);
            file.read_to_end(&mut data).map_err(io)?;
            self.finish_upload(&op, repo, &location, digest, Bytes::from(data))
                .await?;
            return Ok(size);
        }
        let mut sent = 0u64;
        loop {
            let mut part = Vec::with_capacity(CHUNK);
            (&mut file)
                .take(CHUNK as u64)
                .read_to_end(&mut part)
                .map_err(io)?;
            if part.is_empty() {
                break;
            }
            let end = sent + part.len() as u64 - 1;
            let resp = self
                .send(
                    &op,
                    Method::PATCH,
                    &location,
                    &[
                        ("content-type", "application/octet-stream".into()),
                        ("content-range", format!("{sent}-{end}")),
                        ("content-length", part.len().to_string()),
                    ],
                    Bytes::from(part),
                    &push_scope(repo),
                )
                .await?;
            let (status, headers, body) = self.read(&op, resp).await?;
            // The spec says 202; ECR answers 201. Both carry the next location.
            self.check(&op, status, &body)?;
            if let Ok(next) = self.location(&op, &headers) {
                location = next;
            }
            sent = end + 1;
        }
        self.finish_upload(&op, repo, &location, digest, Bytes::new())
            .await?;
        Ok(sent)
    }
}
