//! An in-memory S3 behind [`ObjectStore`], for unit tests of the package logic above the
//! seam. It models what that logic depends on:
//!
//! - buckets with a region and an owning account; a handle bound to an account
//!   ([`FakeS3::owned_by`]) is refused (AccessDenied) on a bucket of another account;
//! - objects with their bytes, metadata and the ChecksumSHA256 S3 reports: the digest of
//!   the bytes for a PutObject (which must match the checksum sent, as S3 checks), the
//!   digest of the parts' digests with `-<parts>` for a multipart upload;
//! - object versions in buckets that keep them (`v1`, `v2`, … per bucket; only the
//!   current version of a key is held);
//! - faults: a call that fails ([`FakeS3::fail`]) and another writer that replaces or
//!   deletes an object right after an upload ([`FakeS3::after_put`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use sha2::{Digest, Sha256};

use super::store::{Listed, ObjectStore};
use super::{Head, LocalFile, S3Error, S3Object, UploadOptions, b64};
use crate::aws::{AwsError, ErrorKind};

/// An object as the fake holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeObject {
    pub bytes: Vec<u8>,
    pub checksum_sha256: String,
    pub metadata: BTreeMap<String, String>,
    pub version_id: Option<String>,
}

/// A bucket as the fake holds it.
#[derive(Debug, Clone, Default)]
pub struct FakeBucket {
    pub region: String,
    pub owner: String,
    pub versioned: bool,
    pub objects: BTreeMap<String, FakeObject>,
    next_version: u64,
}

/// What a fault does.
enum Fault {
    /// The `nth` call (1-based) of an operation fails with this kind.
    Fail {
        operation: &'static str,
        nth: usize,
        kind: ErrorKind,
    },
    /// Right after the next upload to this key, the object holds these bytes (or is gone).
    AfterPut { key: String, bytes: Option<Vec<u8>> },
}

/// Everything the fake holds, shared by every handle.
#[derive(Default)]
pub struct Buckets {
    pub buckets: BTreeMap<String, FakeBucket>,
    /// Every call made, in order.
    pub calls: Vec<&'static str>,
    faults: Vec<Fault>,
}

/// A handle on the in-memory S3, bound to an account or to none.
#[derive(Clone, Default)]
pub struct FakeS3 {
    world: Arc<Mutex<Buckets>>,
    owner: Option<String>,
}

/// The base64 SHA-256 S3 reports for these bytes put in one PutObject.
pub fn checksum(bytes: &[u8]) -> String {
    b64(&Sha256::digest(bytes))
}

fn err(operation: &'static str, resource: &str, kind: ErrorKind, message: &str) -> AwsError {
    AwsError {
        operation,
        resource: resource.to_string(),
        kind,
        message: message.to_string(),
    }
}

impl FakeS3 {
    /// An S3 without buckets.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a bucket in `region` owned by `account`.
    pub(crate) fn with_bucket(self, name: &str, region: &str, account: &str) -> Self {
        self.world().buckets.insert(
            name.to_string(),
            FakeBucket {
                region: region.to_string(),
                owner: account.to_string(),
                ..FakeBucket::default()
            },
        );
        self
    }

    /// Makes the bucket keep object versions.
    pub fn versioned(self, bucket: &str) -> Self {
        if let Some(b) = self.world().buckets.get_mut(bucket) {
            b.versioned = true;
        }
        self
    }

    /// Another handle on the same buckets, requiring every bucket to belong to `account`.
    pub(crate) fn owned_by(&self, account: Option<&str>) -> Self {
        Self {
            world: self.world.clone(),
            owner: account.map(str::to_string),
        }
    }

    /// Everything the fake holds, locked.
    pub fn world(&self) -> MutexGuard<'_, Buckets> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The object at `bucket/key`, if any.
    pub fn object(&self, bucket: &str, key: &str) -> Option<FakeObject> {
        self.world().buckets.get(bucket)?.objects.get(key).cloned()
    }

    /// Puts `bytes` at `bucket/key` as another writer would (no checks, no call recorded).
    pub(crate) fn put_bytes(&self, bucket: &str, key: &str, bytes: &[u8], meta: &[(&str, &str)]) {
        let metadata = meta
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if let Some(b) = self.world().buckets.get_mut(bucket) {
            b.store(key, bytes.to_vec(), checksum(bytes), metadata);
        }
    }

    /// The calls made so far.
    pub fn calls(&self) -> Vec<&'static str> {
        self.world().calls.clone()
    }

    /// How many times `operation` was called.
    pub fn count(&self, operation: &str) -> usize {
        self.world()
            .calls
            .iter()
            .filter(|c| **c == operation)
            .count()
    }

    /// Makes the `nth` call (1-based) of `operation` fail with `kind`.
    pub fn fail(&self, operation: &'static str, nth: usize, kind: ErrorKind) {
        self.world().faults.push(Fault::Fail {
            operation,
            nth,
            kind,
        });
    }

    /// Right after the next upload to `key`, another writer replaces the object with
    /// `bytes` (`None`: deletes it).
    pub(crate) fn after_put(&self, key: &str, bytes: Option<&[u8]>) {
        self.world().faults.push(Fault::AfterPut {
            key: key.to_string(),
            bytes: bytes.map(<[u8]>::to_vec),
        });
    }

    /// Records the call; fails it when a fault says so, or when the bucket belongs to
    /// another account than the one this handle is bound to.
    fn enter(
        &self,
        operation: &'static str,
        bucket: &str,
        resource: &str,
    ) -> Result<MutexGuard<'_, Buckets>, AwsError> {
        let mut w = self.world();
        w.calls.push(operation);
        let n = w.calls.iter().filter(|c| **c == operation).count();
        let fault = w.faults.iter().position(
            |f| matches!(f, Fault::Fail { operation: o, nth, .. } if *o == operation && *nth == n),
        );
        if let Some(i) = fault
            && let Fault::Fail { kind, .. } = w.faults.remove(i)
        {
            return Err(err(operation, resource, kind, "injected fault"));
        }
        let owner = w.buckets.get(bucket).map(|b| b.owner.clone());
        if let (Some(expected), Some(owner)) = (&self.owner, owner)
            && *expected != owner
        {
            return Err(err(
                operation,
                resource,
                ErrorKind::AccessDenied,
                "AccessDenied: the bucket belongs to another account",
            ));
        }
        Ok(w)
    }

    /// Stores an upload, then lets a waiting [`FakeS3::after_put`] writer act.
    fn finish_put(
        &self,
        mut w: MutexGuard<'_, Buckets>,
        obj: &S3Object,
        (bytes, checksum_sha256): (Vec<u8>, String),
        metadata: &BTreeMap<String, String>,
    ) -> Result<(), S3Error> {
        let Some(bucket) = w.buckets.get_mut(&obj.bucket) else {
            let e = err("PutObject", &obj.uri(), ErrorKind::NotFound, "NoSuchBucket");
            return Err(e.into());
        };
        bucket.store(&obj.key, bytes, checksum_sha256, metadata.clone());
        let after = w
            .faults
            .iter()
            .position(|f| matches!(f, Fault::AfterPut { key, .. } if *key == obj.key));
        if let Some(i) = after
            && let Fault::AfterPut { bytes, .. } = w.faults.remove(i)
            && let Some(bucket) = w.buckets.get_mut(&obj.bucket)
        {
            match bytes {
                Some(b) => {
                    let sum = checksum(&b);
                    bucket.store(&obj.key, b, sum, BTreeMap::new());
                }
                None => {
                    bucket.objects.remove(&obj.key);
                }
            }
        }
        Ok(())
    }
}

impl FakeBucket {
    fn store(
        &mut self,
        key: &str,
        bytes: Vec<u8>,
        checksum_sha256: String,
        metadata: BTreeMap<String, String>,
    ) {
        let version_id = self.versioned.then(|| {
            self.next_version += 1;
            format!("v{}", self.next_version)
        });
        self.objects.insert(
            key.to_string(),
            FakeObject {
                bytes,
                checksum_sha256,
                metadata,
                version_id,
            },
        );
    }
}

fn read(file: &LocalFile<'_>) -> Result<Vec<u8>, S3Error> {
    std::fs::read(file.path).map_err(|source| S3Error::Read {
        path: file.path.to_path_buf(),
        source,
    })
}

impl ObjectStore for FakeS3 {
    async fn bucket_region(&self, bucket: &str) -> Result<Option<String>, AwsError> {
        let resource = format!("s3-bucket '{bucket}'");
        let w = self.enter("GetBucketLocation", bucket, &resource)?;
        Ok(w.buckets.get(bucket).map(|b| b.region.clone()))
    }

    async fn head_object(&self, obj: &S3Object) -> Result<Option<Head>, AwsError> {
        let w = self.enter("HeadObject", &obj.bucket, &obj.uri())?;
        let found = w
            .buckets
            .get(&obj.bucket)
            .and_then(|b| b.objects.get(&obj.key));
        Ok(found.map(|o| Head {
            size: o.bytes.len() as u64,
            checksum_sha256: Some(o.checksum_sha256.clone()),
            metadata: o.metadata.clone(),
            version_id: o.version_id.clone(),
        }))
    }

    async fn put_object(
        &self,
        obj: &S3Object,
        file: &LocalFile<'_>,
        metadata: &BTreeMap<String, String>,
    ) -> Result<(), S3Error> {
        let bytes = read(file)?;
        let w = self.enter("PutObject", &obj.bucket, &obj.uri())?;
        let sum = checksum(&bytes);
        if sum != file.sha256_base64 {
            let message = "BadDigest: the body does not match the ChecksumSHA256 sent";
            return Err(err("PutObject", &obj.uri(), ErrorKind::Invalid, message).into());
        }
        self.finish_put(w, obj, (bytes, sum), metadata)
    }

    async fn put_parts(
        &self,
        obj: &S3Object,
        file: &LocalFile<'_>,
        metadata: &BTreeMap<String, String>,
        opts: UploadOptions,
    ) -> Result<(u64, String), S3Error> {
        let bytes = read(file)?;
        let w = self.enter("CompleteMultipartUpload", &obj.bucket, &obj.uri())?;
        let mut whole = Sha256::new();
        let mut parts = 0u64;
        for part in bytes.chunks(opts.part_size.max(1) as usize) {
            whole.update(Sha256::digest(part));
            parts += 1;
        }
        let sum = format!("{}-{parts}", b64(&whole.finalize()));
        self.finish_put(w, obj, (bytes, sum.clone()), metadata)?;
        Ok((parts, sum))
    }

    async fn delete_object(&self, obj: &S3Object) -> Result<(), AwsError> {
        let mut w = self.enter("DeleteObject", &obj.bucket, &obj.uri())?;
        if let Some(b) = w.buckets.get_mut(&obj.bucket) {
            let current = b.objects.get(&obj.key).map(|o| o.version_id.clone());
            if obj.version.is_none() || current == Some(obj.version.clone()) {
                b.objects.remove(&obj.key);
            }
        }
        Ok(())
    }

    async fn list_objects(&self, bucket: &str, prefix: &str) -> Result<Vec<Listed>, AwsError> {
        let w = self.enter("ListObjectsV2", bucket, &format!("s3://{bucket}/{prefix}"))?;
        let Some(b) = w.buckets.get(bucket) else {
            return Err(err(
                "ListObjectsV2",
                bucket,
                ErrorKind::NotFound,
                "NoSuchBucket",
            ));
        };
        Ok(b.objects
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, o)| Listed {
                key: k.clone(),
                size: o.bytes.len() as u64,
            })
            .collect())
    }
}
