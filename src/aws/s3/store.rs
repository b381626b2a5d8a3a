//! The seam between the package logic and S3: [`ObjectStore`], the calls that logic makes
//! on a bucket, in plain types. [`S3`] implements it over the SDK; an in-memory fake
//! (`super::fake`, in tests and under the `fake` feature) implements it with S3's rules
//! that matter here (bucket regions and owners, checksums, object versions).
//!
//! The decisions are written once, generic over the trait: whether a bucket can be used
//! ([`check_bucket`]), whether an upload can be skipped and whether what was uploaded is
//! what the object now holds ([`put_file`]), and which earlier package may be put back
//! ([`earlier_package`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;

use aws_sdk_s3::types::ChecksumMode;

use super::{
    Head, LocalFile, S3, S3Error, S3Object, UploadOptions, Uploaded, digest_part, expected_checksum,
};
use crate::aws::{AwsError, ErrorKind};
use crate::domain::package::{PackageInfo, S3Target};

/// One object found under a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub size: u64,
}

/// The S3 calls the package logic makes. Reads that find nothing return `None`; a
/// delete of an object already gone succeeds. Every call is made on behalf of the
/// account the store is bound to, when it is: a bucket of another account is refused
/// (AccessDenied) before anything is read or written.
pub trait ObjectStore: Clone + Send + Sync + 'static {
    /// The region `bucket` is in; `None` when the bucket does not exist.
    fn bucket_region(
        &self,
        bucket: &str,
    ) -> impl Future<Output = Result<Option<String>, AwsError>> + Send;
    /// The object's size, SHA-256 checksum, metadata and version; `None` when absent.
    fn head_object(
        &self,
        obj: &S3Object,
    ) -> impl Future<Output = Result<Option<Head>, AwsError>> + Send;
    /// One PutObject of the whole file, with its SHA-256 for the server to check.
    fn put_object(
        &self,
        obj: &S3Object,
        file: &LocalFile<'_>,
        metadata: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), S3Error>> + Send;
    /// A multipart upload in parts of `opts.part_size`; returns the number of parts and
    /// the composite checksum of the parts as sent (see [`expected_checksum`]). A failed
    /// upload is aborted.
    fn put_parts(
        &self,
        obj: &S3Object,
        file: &LocalFile<'_>,
        metadata: &BTreeMap<String, String>,
        opts: UploadOptions,
    ) -> impl Future<Output = Result<(u64, String), S3Error>> + Send;
    /// Deletes the object (the version given, else the key's current one).
    fn delete_object(&self, obj: &S3Object) -> impl Future<Output = Result<(), AwsError>> + Send;
    /// Every object whose key starts with `prefix`, in key order.
    fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<Listed>, AwsError>> + Send;
}

/// Checks that `bucket` exists and is in `region` (read-only; before any change).
pub(crate) async fn check_bucket(
    store: &impl ObjectStore,
    bucket: &str,
    region: &str,
) -> Result<(), S3Error> {
    let Some(bucket_region) = store.bucket_region(bucket).await? else {
        return Err(S3Error::NoBucket {
            bucket: bucket.to_string(),
            region: region.to_string(),
        });
    };
    if bucket_region != region {
        return Err(S3Error::WrongRegion {
            bucket: bucket.to_string(),
            bucket_region,
            region: region.to_string(),
        });
    }
    Ok(())
}

/// The checksum S3 will report for `file` uploaded with `opts`, computed off the runtime.
async fn checksum_of(file: &LocalFile<'_>, opts: UploadOptions) -> Result<String, S3Error> {
    let read_err = |source| S3Error::Read {
        path: file.path.to_path_buf(),
        source,
    };
    let owned = (
        file.path.to_path_buf(),
        file.size,
        file.sha256_base64.to_string(),
    );
    tokio::task::spawn_blocking(move || {
        let f = LocalFile {
            path: &owned.0,
            size: owned.1,
            sha256_base64: &owned.2,
        };
        expected_checksum(&f, opts)
    })
    .await
    .map_err(|e| read_err(std::io::Error::other(e.to_string())))?
    .map_err(read_err)
}

/// Makes `obj` hold `file`: skips the upload when it is already there with the same
/// size and checksum, else uploads it; then reads the object back and refuses to go on
/// unless its size and checksum are those of what was sent. Returns the object version
/// read back. The file is read for its checksum only when an object of its size is
/// already there; an upload computes the checksum from the parts it sends.
pub async fn put_file(
    store: &impl ObjectStore,
    obj: &S3Object,
    file: &LocalFile<'_>,
    metadata: &BTreeMap<String, String>,
    opts: UploadOptions,
) -> Result<(Uploaded, Option<String>), S3Error> {
    let matches = |h: &Head, expected: &str| {
        h.size == file.size
            && h.checksum_sha256
                .as_deref()
                .is_some_and(|c| digest_part(c) == digest_part(expected))
    };
    if let Some(h) = store.head_object(obj).await?
        && h.size == file.size
        && matches(&h, &checksum_of(file, opts).await?)
    {
        tracing::info!(uri = %obj.uri(), "package already in S3 with the same checksum; not uploading");
        return Ok((Uploaded::AlreadyThere, h.version_id));
    }
    let (how, expected) = if file.size <= opts.part_size {
        store.put_object(obj, file, metadata).await?;
        (Uploaded::Single, file.sha256_base64.to_string())
    } else {
        let (parts, sent) = store.put_parts(obj, file, metadata, opts).await?;
        (Uploaded::Multipart { parts }, sent)
    };
    match store.head_object(obj).await? {
        Some(h) if matches(&h, &expected) => Ok((how, h.version_id)),
        Some(h) => Err(S3Error::Verify {
            uri: obj.uri(),
            reason: format!(
                "size {} and checksum {} instead of {} and {expected}",
                h.size,
                h.checksum_sha256.as_deref().unwrap_or("none"),
                file.size
            ),
        }),
        None => Err(S3Error::Verify {
            uri: obj.uri(),
            reason: "the object is missing".into(),
        }),
    }
}

/// Puts a function or layer package at its content-addressed key under `target`
/// (`<prefix><name>/<sha256 hex>.zip`) with [`put_file`] and `opts`, recording the
/// zip's `sha256` in the object's metadata.
pub(crate) async fn put_package(
    store: &impl ObjectStore,
    target: &S3Target,
    name: &str,
    (zip, info): (&Path, &PackageInfo),
    metadata: &BTreeMap<String, String>,
    opts: UploadOptions,
) -> Result<S3Object, S3Error> {
    let mut obj =
        S3Object::content_addressed(&target.bucket, &target.prefix, name, &info.sha256_hex);
    let file = LocalFile {
        path: zip,
        size: info.size,
        sha256_base64: &info.code_sha256,
    };
    let mut metadata = metadata.clone();
    metadata.insert("sha256".to_string(), info.sha256_hex.clone());
    let (how, version) = put_file(store, &obj, &file, &metadata, opts).await?;
    obj.version = version;
    tracing::info!(uri = %obj.uri(), ?how, version = ?obj.version, "package in S3");
    Ok(obj)
}

/// The package with this SHA-256 (hex) from an earlier deploy, when it is still at its
/// content-addressed key and its recorded digest is that one: the code to put back when
/// a deploy must be undone.
pub(crate) async fn earlier_package(
    store: &impl ObjectStore,
    target: &S3Target,
    name: &str,
    sha256_hex: &str,
) -> Result<Option<S3Object>, AwsError> {
    let mut obj = S3Object::content_addressed(&target.bucket, &target.prefix, name, sha256_hex);
    match store.head_object(&obj).await? {
        Some(h) if h.metadata.get("sha256").map(String::as_str) == Some(sha256_hex) => {
            obj.version = h.version_id;
            Ok(Some(obj))
        }
        _ => Ok(None),
    }
}

impl ObjectStore for S3 {
    async fn bucket_region(&self, bucket: &str) -> Result<Option<String>, AwsError> {
        let out = match self
            .client
            .get_bucket_location()
            .bucket(bucket)
            .set_expected_bucket_owner(self.owner())
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {
                return Ok(None);
            }
            Err(e) => {
                return Err(AwsError::from_sdk(
                    "GetBucketLocation",
                    &format!("s3-bucket '{bucket}'"),
                    e,
                    |_| ErrorKind::Other,
                ));
            }
        };
        // An empty constraint means us-east-1; "EU" is the old name of eu-west-1.
        Ok(Some(match out.location_constraint().map(|c| c.as_str()) {
            None | Some("") => "us-east-1".to_string(),
            Some("EU") => "eu-west-1".to_string(),
            Some(r) => r.to_string(),
        }))
    }

    async fn head_object(&self, obj: &S3Object) -> Result<Option<Head>, AwsError> {
        match self
            .client
            .head_object()
            .bucket(&obj.bucket)
            .key(&obj.key)
            .set_expected_bucket_owner(self.owner())
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
        {
            Ok(h) => Ok(Some(Head {
                size: h.content_length().unwrap_or(0).max(0) as u64,
                checksum_sha256: h.checksum_sha256().map(str::to_string),
                metadata: h
                    .metadata()
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default(),
                version_id: h.version_id().map(str::to_string),
            })),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(AwsError::from_sdk("HeadObject", &obj.uri(), e, |_| {
                ErrorKind::Other
            })),
        }
    }

    async fn put_object(
        &self,
        obj: &S3Object,
        file: &LocalFile<'_>,
        metadata: &BTreeMap<String, String>,
    ) -> Result<(), S3Error> {
        self.put_single(obj, file, metadata).await
    }

    async fn put_parts(
        &self,
        obj: &S3Object,
        file: &LocalFile<'_>,
        metadata: &BTreeMap<String, String>,
        opts: UploadOptions,
    ) -> Result<(u64, String), S3Error> {
        self.put_multipart(obj, file, metadata, opts).await
    }

    async fn delete_object(&self, obj: &S3Object) -> Result<(), AwsError> {
        let out = self
            .client
            .delete_object()
            .bucket(&obj.bucket)
            .key(&obj.key)
            .set_version_id(obj.version.clone())
            .set_expected_bucket_owner(self.owner())
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(()),
            Err(e) => Err(AwsError::from_sdk("DeleteObject", &obj.uri(), e, |_| {
                ErrorKind::Other
            })),
        }
    }

    async fn list_objects(&self, bucket: &str, prefix: &str) -> Result<Vec<Listed>, AwsError> {
        let resource = format!("s3://{bucket}/{prefix}");
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_expected_bucket_owner(self.owner())
            .into_paginator()
            .send();
        let mut all = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                AwsError::from_sdk("ListObjectsV2", &resource, e, |_| ErrorKind::Other)
            })?;
            all.extend(page.contents().iter().filter_map(|o| {
                Some(Listed {
                    key: o.key()?.to_string(),
                    size: o.size().unwrap_or(0).max(0) as u64,
                })
            }));
        }
        all.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(all)
    }
}

#[cfg(test)]
mod tests;
