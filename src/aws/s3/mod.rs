//! The S3 adapter: packages too large for a direct upload go through a bucket in the
//! function's region, under a content-addressed key, so the same bytes are uploaded once.
//!
//! Small objects are one PutObject; larger ones a multipart upload whose parts are read
//! from the file and sent in parallel, each with its SHA-256. Memory stays bounded by
//! part size × concurrency, whatever the package size. A failed multipart upload is
//! aborted, so no parts stay behind (and keep costing storage).

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumAlgorithm;
use sha2::{Digest, Sha256};

use super::{AwsError, ErrorKind};
use crate::domain::package::{PackageInfo, S3Target};

mod delete;
#[cfg(any(test, feature = "fake"))]
pub mod fake;
mod multipart;
pub mod store;

pub use store::ObjectStore;

/// Default size of one multipart part.
pub(crate) const PART_SIZE: u64 = 16 * 1024 * 1024;
/// Default number of parts in flight at once.
pub(crate) const CONCURRENCY: usize = 4;

/// How objects are uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadOptions {
    /// Objects up to this size are one PutObject; larger ones go in parts of this size.
    pub part_size: u64,
    /// Parts sent at once.
    pub concurrency: usize,
}

impl Default for UploadOptions {
    fn default() -> Self {
        Self {
            part_size: PART_SIZE,
            concurrency: CONCURRENCY,
        }
    }
}

/// A bucket and key, and the object version when the bucket keeps versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Object {
    pub bucket: String,
    pub key: String,
    /// The version that was uploaded and checked (versioned buckets only): Lambda is
    /// pointed at it, so a later write to the key cannot change what is deployed.
    pub version: Option<String>,
}

impl S3Object {
    /// The content-addressed location of a package: `<prefix><name>/<sha256 hex>.zip`.
    pub fn content_addressed(bucket: &str, prefix: &str, name: &str, sha256_hex: &str) -> Self {
        Self {
            bucket: bucket.to_string(),
            key: format!("{prefix}{name}/{sha256_hex}.zip"),
            version: None,
        }
    }

    /// `s3://bucket/key`.
    pub fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

/// The local file to upload, with the digest it is addressed by.
#[derive(Debug, Clone)]
pub struct LocalFile<'a> {
    pub path: &'a Path,
    pub size: u64,
    /// `base64(sha256(file))`, as S3 reports a single-part object's ChecksumSHA256.
    pub sha256_base64: &'a str,
}

/// What [`S3::put_file`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uploaded {
    /// The object was already there with the same checksum: nothing was sent.
    AlreadyThere,
    /// One PutObject.
    Single,
    /// A multipart upload of this many parts.
    Multipart { parts: u64 },
}

/// Why an S3 step failed.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(
        "cannot read the package '{path}' to upload it: {source}; check the file is still there"
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "s3-bucket '{bucket}' is in region {bucket_region}, but the function is in {region}; Lambda reads code only from a bucket in the function's region: give a bucket in {region}"
    )]
    WrongRegion {
        bucket: String,
        bucket_region: String,
        region: String,
    },
    #[error("s3-bucket '{bucket}' does not exist; create it in {region} or give another bucket")]
    NoBucket { bucket: String, region: String },
    #[error(
        "{uri} does not hold the package after the upload ({reason}); nothing was deployed from it: run the deploy again"
    )]
    Verify { uri: String, reason: String },
}

/// What HeadObject reports.
#[derive(Debug, Clone, Default)]
pub struct Head {
    pub size: u64,
    pub checksum_sha256: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub version_id: Option<String>,
}

/// An S3 client.
#[derive(Debug, Clone)]
pub struct S3 {
    client: Client,
    /// The account every bucket must belong to (ExpectedBucketOwner on every call), so
    /// a bucket name taken over by another account is refused, not written to or read.
    owner: Option<String>,
}

/// The account id in an ARN (`arn:aws:<service>:<region>:<account>:…`).
pub(crate) fn account_of(arn: &str) -> Option<String> {
    let account = arn.split(':').nth(4)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
        .then(|| account.to_string())
}

fn custom_endpoint() -> bool {
    let set = |k: &str| std::env::var(k).is_ok_and(|v| !v.trim().is_empty());
    let ignored = std::env::var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_ok_and(|v| v == "true");
    !ignored && (set("AWS_ENDPOINT_URL_S3") || set("AWS_ENDPOINT_URL"))
}

fn b64(digest: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// The ChecksumSHA256 S3 reports for `file` uploaded with `opts`: the plain digest for a
/// single PutObject, else the digest of the parts' digests followed by `-<parts>`.
pub(crate) fn expected_checksum(
    file: &LocalFile<'_>,
    opts: UploadOptions,
) -> std::io::Result<String> {
    if file.size <= opts.part_size {
        return Ok(file.sha256_base64.to_string());
    }
    let mut f = std::fs::File::open(file.path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut digests = Vec::new();
    let mut left = file.size;
    while left > 0 {
        let mut part = Sha256::new();
        let mut in_part = opts.part_size.min(left);
        left -= in_part;
        while in_part > 0 {
            let n = (in_part as usize).min(buf.len());
            f.read_exact(&mut buf[..n])?;
            part.update(&buf[..n]);
            in_part -= n as u64;
        }
        digests.push(part.finalize());
    }
    Ok(composite_checksum(&digests))
}

/// The checksum S3 reports for a multipart object whose parts have these SHA-256
/// digests, in order: the SHA-256 of the digests, then `-<parts>`.
pub(crate) fn composite_checksum<D: AsRef<[u8]>>(digests: impl IntoIterator<Item = D>) -> String {
    let mut whole = Sha256::new();
    let mut parts = 0u64;
    for d in digests {
        whole.update(d.as_ref());
        parts += 1;
    }
    format!("{}-{parts}", b64(&whole.finalize()))
}

/// The digest of a checksum, without the `-<parts>` suffix of a composite one (S3
/// reports it; some S3 implementations leave it out).
fn digest_part(checksum: &str) -> &str {
    match checksum.rsplit_once('-') {
        Some((digest, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => digest,
        _ => checksum,
    }
}

/// Reads part `number` (1-based) of `path` into memory.
fn read_part(path: &Path, number: u64, opts: UploadOptions, size: u64) -> std::io::Result<Vec<u8>> {
    let start = (number - 1) * opts.part_size;
    let len = opts.part_size.min(size - start) as usize;
    let mut f = std::fs::File::open(path)?;
    f.seek(SeekFrom::Start(start))?;
    let mut buf = vec![0u8; len];
    f.read_exact(&mut buf)?;
    Ok(buf)
}

impl S3 {
    /// A client from the shared config. Custom endpoints (a local S3) get path-style
    /// addressing, which they need; AWS keeps virtual-hosted style.
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        let conf = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(custom_endpoint())
            .interceptor(crate::cancel::Gate)
            .build();
        Self {
            client: Client::from_conf(conf),
            owner: None,
        }
    }

    /// The same client, requiring every bucket to belong to `account`.
    pub(crate) fn owned_by(mut self, account: Option<String>) -> Self {
        self.owner = account;
        self
    }

    pub(super) fn owner(&self) -> Option<String> {
        self.owner.clone()
    }

    /// Checks that `bucket` exists and is in `region` (read-only; before any change).
    pub(crate) async fn check_bucket(&self, bucket: &str, region: &str) -> Result<(), S3Error> {
        store::check_bucket(self, bucket, region).await
    }

    /// The object's size, SHA-256 checksum and metadata; `None` when it does not exist.
    pub async fn head(&self, obj: &S3Object) -> Result<Option<Head>, AwsError> {
        self.head_object(obj).await
    }

    /// Makes `obj` hold `file` ([`store::put_file`]): skips the upload when it is
    /// already there with the same size and checksum, and reads the object back after.
    pub async fn put_file(
        &self,
        obj: &S3Object,
        file: &LocalFile<'_>,
        metadata: &BTreeMap<String, String>,
        opts: UploadOptions,
    ) -> Result<(Uploaded, Option<String>), S3Error> {
        store::put_file(self, obj, file, metadata, opts).await
    }

    /// Puts a function or layer package at its content-addressed key under `target`
    /// (`<prefix><name>/<sha256 hex>.zip`) with [`S3::put_file`] and default options.
    pub(crate) async fn put_package(
        &self,
        target: &S3Target,
        name: &str,
        zip: &Path,
        info: &PackageInfo,
        metadata: &BTreeMap<String, String>,
    ) -> Result<S3Object, S3Error> {
        let opts = UploadOptions::default();
        store::put_package(self, target, name, (zip, info), metadata, opts).await
    }

    /// The package with this SHA-256 (hex) from an earlier deploy, when it is still at
    /// its content-addressed key and its recorded digest is that one: the code to put
    /// back when a deploy must be undone.
    pub(crate) async fn earlier_package(
        &self,
        target: &S3Target,
        name: &str,
        sha256_hex: &str,
    ) -> Result<Option<S3Object>, AwsError> {
        store::earlier_package(self, target, name, sha256_hex).await
    }

    async fn put_single(
        &self,
        obj: &S3Object,
        file: &LocalFile<'_>,
        metadata: &BTreeMap<String, String>,
    ) -> Result<(), S3Error> {
        let path = file.path.to_path_buf();
        let size = file.size;
        let body = tokio::task::spawn_blocking(move || {
            read_part(
                &path,
                1,
                UploadOptions {
                    part_size: size.max(1),
                    concurrency: 1,
                },
                size,
            )
        })
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))
        .and_then(|r| r)
        .map_err(|source| S3Error::Read {
            path: file.path.to_path_buf(),
            source,
        })?;
        tracing::info!(uri = %obj.uri(), size, "uploading package to S3");
        self.client
            .put_object()
            .bucket(&obj.bucket)
            .key(&obj.key)
            .set_expected_bucket_owner(self.owner())
            .content_type("application/zip")
            .content_length(size as i64)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(file.sha256_base64)
            .set_metadata(Some(metadata.clone().into_iter().collect()))
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("PutObject", &obj.uri(), e, |_| ErrorKind::Other))?;
        Ok(())
    }
}

/// Object metadata: where the package comes from ([`S3::put_package`] adds the zip's
/// `sha256`). Values are ASCII, as HTTP headers
/// need; anything else is replaced by `_`.
pub fn provenance_metadata(
    commit_sha: Option<&str>,
    git_ref: Option<&str>,
) -> BTreeMap<String, String> {
    let clean = |v: &str| {
        v.chars()
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    '_'
                }
            })
            .collect::<String>()
    };
    let mut m = BTreeMap::new();
    if let Some(sha) = commit_sha {
        m.insert("commit-sha".to_string(), clean(sha));
    }
    if let Some(r) = git_ref {
        m.insert("git-ref".to_string(), clean(r));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composite_checksum_is_the_digest_of_part_digests() {
        let dir = std::env::temp_dir().join(format!("ld-s3-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let data: Vec<u8> = (0..10u32).flat_map(|i| i.to_le_bytes()).collect();
        std::fs::write(&path, &data).unwrap();
        let full = b64(&Sha256::digest(&data));
        let file = LocalFile {
            path: &path,
            size: data.len() as u64,
            sha256_base64: &full,
        };
        let single = UploadOptions {
            part_size: 64,
            concurrency: 2,
        };
        assert_eq!(expected_checksum(&file, single).unwrap(), full);
        let parts = UploadOptions {
            part_size: 16,
            concurrency: 2,
        };
        let mut whole = Sha256::new();
        for chunk in data.chunks(16) {
            whole.update(Sha256::digest(chunk));
        }
        assert_eq!(
            expected_checksum(&file, parts).unwrap(),
            format!("{}-3", b64(&whole.finalize()))
        );
        assert_eq!(
            read_part(&path, 3, parts, 40).unwrap(),
            data[32..40].to_vec()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn composite_suffix_is_ignored_when_comparing() {
        assert_eq!(digest_part("abc=-4"), "abc=");
        assert_eq!(digest_part("abc="), "abc=");
    }

    #[test]
    fn keys_are_content_addressed() {
        let o = S3Object::content_addressed("b", "lambda-deploy/", "fn", "abc");
        assert_eq!(o.uri(), "s3://b/lambda-deploy/fn/abc.zip");
    }

    #[test]
    fn accounts_come_from_arns() {
        let f = "arn:aws:lambda:eu-west-1:123456789012:function:hello";
        assert_eq!(account_of(f).as_deref(), Some("123456789012"));
        let r = "arn:aws:iam::210987654321:role/app";
        assert_eq!(account_of(r).as_deref(), Some("210987654321"));
        assert_eq!(account_of("hello"), None);
        assert_eq!(account_of("arn:aws:iam::12ab:role/x"), None);
    }
}
