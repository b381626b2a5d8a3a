//! A thin client for the OCI distribution API: what an image deploy needs and no more.
//!
//! Why not `oci-client`: it would bring reqwest 0.13 and a second HTTP/TLS client (with
//! rustls-platform-verifier) next to the hyper 1 / hyper-rustls / rustls stack the AWS SDK
//! and octocrab already build, and its chunked push uses fixed 4 MiB parts that ECR refuses
//! (`LayerPartTooSmallException`: parts must be at least 5 MiB except the last). This client
//! uses the stack already compiled, with the same features, and owns the ECR quirks: parts of
//! [`CHUNK`] bytes, PATCH answered with 201 as well as 202, a relative or absolute
//! `Location`, a declined mount (202) treated as "not mounted".
//!
//! What it does: Basic auth (ECR: the pair from GetAuthorizationToken) or the Bearer token
//! flow (anonymous or with the Basic pair) after a 401 challenge; manifests by tag or digest
//! (HEAD and GET); blob HEAD, GET (following redirects to storage without credentials),
//! cross-repository mount, and uploads: one PUT up to [`CHUNK`], PATCH parts above it.
//! Credentials are sent only to the registry's own address and never logged.

pub mod api;
mod auth;
mod blobs;
#[cfg(any(test, feature = "fake"))]
pub mod fake;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use secrecy::SecretString;

use crate::aws::retry;
use crate::domain::image_ref::RegistryEndpoint;
use crate::domain::oci;

pub use blobs::Mount;

/// Upload part size: above ECR's 5 MiB minimum, small enough to hold in memory.
pub(crate) const CHUNK: usize = 8 * 1024 * 1024;
/// Largest manifest or config read into memory.
const MAX_DOCUMENT: usize = 8 * 1024 * 1024;

/// Whether `digest` is `sha256:` and 64 lowercase hex digits: the only form that goes
/// into a URL, so a digest a registry sent cannot add path segments or a query.
pub(crate) fn valid_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// Whether `tag` is a tag as the distribution spec writes them.
fn valid_tag(tag: &str) -> bool {
    let mut bytes = tag.bytes();
    tag.len() <= 128
        && bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// A value from outside shown in an error: quoted and cut short.
fn shown(value: &str) -> String {
    let cut: String = value.chars().take(80).collect();
    format!("{cut:?}")
}

/// How to log in to a registry.
#[derive(Debug, Clone)]
pub enum Credentials {
    Anonymous,
    Basic {
        user: String,
        password: SecretString,
    },
}

/// Throttled or a server error: worth another attempt.
fn retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// A failed registry call.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation} at {registry} failed: {message}{}", hint(*status))]
pub struct RegistryError {
    pub operation: String,
    pub registry: String,
    pub status: Option<u16>,
    pub message: String,
}

fn hint(status: Option<u16>) -> &'static str {
    match status {
        Some(401 | 403) => {
            "; the registry refused the credentials: the role needs ecr:GetAuthorizationToken and push/pull rights on the repository"
        }
        Some(404) => "; check the image name, tag and registry",
        Some(429 | 500..=599) => {
            "; the registry kept failing: check its status and the network, then run again (AWS_MAX_ATTEMPTS raises the number of attempts)"
        }
        None => "; check registry-endpoint and that the registry is reachable",
        _ => "",
    }
}

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// A registry client bound to one registry address and login.
pub struct Registry {
    endpoint: RegistryEndpoint,
    http: Client<Https, Full<Bytes>>,
    auth: auth::Auth,
    /// Attempts and the time each may take: sending, the token request and every read
    /// of a body (so a registry that stops sending mid-stream cannot hold the run).
    bounds: retry::Bounds,
}

/// A manifest as fetched.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub media_type: String,
    pub digest: String,
    pub bytes: Bytes,
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Registry {
    /// A client for `endpoint`.
    ///
    /// # Errors
    /// When the system's CA certificates cannot be loaded.
    pub fn new(endpoint: RegistryEndpoint, creds: Credentials) -> Result<Self, RegistryError> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| RegistryError {
                operation: "loading CA certificates".into(),
                registry: endpoint.authority.clone(),
                status: None,
                message: e.to_string(),
            })?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            http: Client::builder(TokioExecutor::new()).build(https),
            auth: auth::Auth::new(creds),
            endpoint,
            bounds: retry::current(),
        })
    }

    /// The same client with another per-attempt timeout.
    #[cfg(test)]
    pub(crate) fn with_attempt_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.bounds.attempt_timeout = timeout;
        self
    }

    /// Fails unless `digest` may go into a URL ([`valid_digest`]).
    fn check_digest(&self, operation: &str, digest: &str) -> Result<(), RegistryError> {
        if valid_digest(digest) {
            return Ok(());
        }
        Err(self.err(
            operation,
            None,
            format!(
                "{} is not a sha256 digest (sha256: and 64 lowercase hex digits); the image's manifest is damaged or the registry is not trustworthy",
                shown(digest)
            ),
        ))
    }

    /// The address requests go to.
    pub fn endpoint(&self) -> &RegistryEndpoint {
        &self.endpoint
    }

    fn err(
        &self,
        operation: &str,
        status: Option<u16>,
        message: impl Into<String>,
    ) -> RegistryError {
        RegistryError {
            operation: operation.to_string(),
            registry: self.endpoint.authority.clone(),
            status,
            message: message.into(),
        }
    }

    /// `<base>/v2/<repo>/<rest>`.
    fn url(&self, repo: &str, rest: &str) -> String {
        format!("{}/v2/{repo}/{rest}", self.endpoint.base_url())
    }

    /// Sends one request; on a 401 the challenge is answered once and the request retried.
    /// `scope` is the token scope a Bearer registry needs (`repository:app:pull,push`).
    ///
    /// A dropped connection, no answer within the attempt timeout, a 429 or a 5xx is
    /// retried with jittered backoff within the same bounds as AWS calls
    /// (`AWS_MAX_ATTEMPTS`, `LAMBDA_DEPLOY_ATTEMPT_TIMEOUT`). Every request the client
    /// sends may be repeated: reads, manifest PUTs and mounts are idempotent, a new upload
    /// session is harmless, and a part the registry already took is refused, not doubled.
    async fn send(
        &self,
        operation: &str,
        method: Method,
        url: &str,
        headers: &[(&str, String)],
        body: Bytes,
        scope: &str,
    ) -> Result<Response<hyper::body::Incoming>, RegistryError> {
        let bounds = self.bounds;
        let mut answered = false;
        let mut attempt = 1;
        loop {
            let mut req = Request::builder().method(method.clone()).uri(url);
            for (k, v) in headers {
                req = req.header(*k, v);
            }
            let own = url.starts_with(&format!("{}/", self.endpoint.base_url()));
            if own && let Some(value) = self.auth.header(scope) {
                req = req.header(http::header::AUTHORIZATION, value);
            }
            let req = req
                .body(Full::new(body.clone()))
                .map_err(|e| self.err(operation, None, format!("bad request: {e}")))?;
            let sent = tokio::time::timeout(bounds.attempt_timeout, self.http.request(req)).await;
            let last = attempt >= bounds.max_attempts;
            let why = match sent {
                // Out of attempts on a throttled or failing registry: its own error text,
                // and how often it was tried.
                Ok(Ok(resp)) if last && retryable(resp.status()) => {
                    let (status, _, body) = self.read(operation, resp).await?;
                    let mut e = match self.check(operation, status, &body) {
                        Err(e) => e,
                        Ok(()) => {
                            self.err(operation, Some(status.as_u16()), format!("HTTP {status}"))
                        }
                    };
                    e.message = format!("{}, on each of {attempt} attempts", e.message);
                    return Err(e);
                }
                Ok(Ok(resp)) if !retryable(resp.status()) => {
                    if resp.status() == StatusCode::UNAUTHORIZED && own && !answered {
                        answered = true;
                        let challenge = resp
                            .headers()
                            .get(http::header::WWW_AUTHENTICATE)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string();
                        self.auth
                            .answer(self, &challenge, scope)
                            .await
                            .map_err(|m| self.err(operation, Some(401), m))?;
                        continue;
                    }
                    return Ok(resp);
                }
                Ok(Ok(resp)) => format!("HTTP {}", resp.status()),
                Ok(Err(e)) => format!("{e}"),
                Err(_) => format!("no answer within {}s", bounds.attempt_timeout.as_secs()),
            };
            if last {
                return Err(self.err(
                    operation,
                    None,
                    format!("{why} on each of {attempt} attempts; check the registry and the network, then run again (AWS_MAX_ATTEMPTS raises the bound)"),
                ));
            }
            tracing::debug!(operation, attempt, why = %why, "registry request failed, retrying");
            tokio::time::sleep(retry::backoff(attempt)).await;
            attempt += 1;
        }
    }

    /// Reads a whole (small) body.
    async fn read(
        &self,
        operation: &str,
        resp: Response<hyper::body::Incoming>,
    ) -> Result<(StatusCode, HeaderMap, Bytes), RegistryError> {
        let (parts, body) = resp.into_parts();
        let limited = http_body_util::Limited::new(body, MAX_DOCUMENT);
        let secs = self.bounds.attempt_timeout.as_secs();
        let bytes = tokio::time::timeout(self.bounds.attempt_timeout, limited.collect())
            .await
            .map_err(|_| {
                self.err(
                    operation,
                    Some(parts.status.as_u16()),
                    format!("no answer within {secs}s while reading the answer"),
                )
            })?
            .map_err(|e| {
                self.err(
                    operation,
                    Some(parts.status.as_u16()),
                    format!("reading the answer: {e}"),
                )
            })?
            .to_bytes();
        Ok((parts.status, parts.headers, bytes))
    }

    /// Fails with the registry's own error text for a non-success status.
    fn check(&self, operation: &str, status: StatusCode, body: &[u8]) -> Result<(), RegistryError> {
        if status.is_success() {
            return Ok(());
        }
        let text = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| {
                v["errors"].as_array().map(|errs| {
                    errs.iter()
                        .map(|e| {
                            format!(
                                "{}: {}",
                                e["code"].as_str().unwrap_or("ERROR"),
                                e["message"].as_str().unwrap_or("")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                })
            })
            .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned());
        Err(self.err(
            operation,
            Some(status.as_u16()),
            format!("HTTP {status}: {text}"),
        ))
    }

    /// GETs a manifest or index by tag or digest; the digest is checked when pinned.
    pub async fn manifest(&self, repo: &str, reference: &str) -> Result<Fetched, RegistryError> {
        let shown_ref = if valid_tag(reference) || valid_digest(reference) {
            reference.to_string()
        } else {
            shown(reference)
        };
        let op = format!("reading manifest {repo}:{shown_ref}");
        if !valid_tag(reference) {
            self.check_digest(&op, reference)?;
        }
        let resp = self
            .send(
                &op,
                Method::GET,
                &self.url(repo, &format!("manifests/{reference}")),
                &[("accept", oci::ACCEPT_MANIFESTS.to_string())],
                Bytes::new(),
                &format!("repository:{repo}:pull"),
            )
            .await?;
        let (status, headers, bytes) = self.read(&op, resp).await?;
        self.check(&op, status, &bytes)?;
        let digest = oci::sha256_digest(&bytes);
        if reference.starts_with("sha256:") && reference != digest {
            return Err(self.err(
                &op,
                None,
                format!("the registry sent content with digest {digest}"),
            ));
        }
        let media_type = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_string())
            .filter(|t| t.starts_with("application/vnd."))
            .or_else(|| {
                serde_json::from_slice::<serde_json::Value>(&bytes)
                    .ok()
                    .and_then(|v| v["mediaType"].as_str().map(str::to_string))
            })
            .unwrap_or_else(|| oci::OCI_MANIFEST.to_string());
        Ok(Fetched {
            media_type,
            digest,
            bytes,
        })
    }

    /// The digest a tag names now, or `None` when the tag does not exist.
    pub async fn tag_digest(&self, repo: &str, tag: &str) -> Result<Option<String>, RegistryError> {
        let op = format!("looking up tag {repo}:{tag}");
        if !valid_tag(tag) {
            return Err(self.err(&op, None, format!("{} is not a tag", shown(tag))));
        }
        let resp = self
            .send(
                &op,
                Method::HEAD,
                &self.url(repo, &format!("manifests/{tag}")),
                &[("accept", oci::ACCEPT_MANIFESTS.to_string())],
                Bytes::new(),
                &format!("repository:{repo}:pull"),
            )
            .await?;
        let (status, headers, _) = self.read(&op, resp).await?;
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        self.check(&op, status, b"")?;
        match headers
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
        {
            Some(d) => Ok(Some(d.to_string())),
            None => Ok(Some(self.manifest(repo, tag).await?.digest)),
        }
    }

    /// PUTs a manifest under `reference` (a tag or its digest); returns the digest.
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<String, RegistryError> {
        let op = format!("pushing manifest {repo}:{reference}");
        if !valid_tag(reference) {
            self.check_digest(&op, reference)?;
        }
        let resp = self
            .send(
                &op,
                Method::PUT,
                &self.url(repo, &format!("manifests/{reference}")),
                &[("content-type", media_type.to_string())],
                Bytes::copy_from_slice(bytes),
                &format!("repository:{repo}:pull,push"),
            )
            .await?;
        let (status, _, body) = self.read(&op, resp).await?;
        self.check(&op, status, &body)?;
        Ok(oci::sha256_digest(bytes))
    }

    /// Resolves a `Location` header against the registry address.
    fn location(&self, op: &str, headers: &HeaderMap) -> Result<String, RegistryError> {
        let loc = headers
            .get(http::header::LOCATION)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .ok_or_else(|| self.err(op, None, "the registry sent no Location for the upload"))?;
        Ok(
            if loc.starts_with("http://") || loc.starts_with("https://") {
                loc.to_string()
            } else {
                format!("{}{loc}", self.endpoint.base_url())
            },
        )
    }
}

/// `url` with `key=value` appended to its query.
fn with_query(url: &str, key: &str, value: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{key}={}", enc(value))
}

#[cfg(test)]
mod tests;
