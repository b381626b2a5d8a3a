//! The package decisions on the in-memory S3: skip, upload, read-back check, bucket checks.

use super::*;
use crate::aws::s3::fake::{FakeS3, checksum};

const ACCOUNT: &str = "123456789012";
const BUCKET: &str = "artifacts";

fn s3() -> FakeS3 {
    FakeS3::new()
        .with_bucket(BUCKET, "eu-west-1", ACCOUNT)
        .owned_by(Some(ACCOUNT))
}

fn target() -> S3Target {
    S3Target {
        bucket: BUCKET.into(),
        prefix: "lambda-deploy/".into(),
    }
}

/// A package file on disk with its digests.
struct Package {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    info: PackageInfo,
}

fn package(bytes: &[u8]) -> Package {
    use sha2::Digest as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.zip");
    std::fs::write(&path, bytes).unwrap();
    let hex: String = sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let info = PackageInfo {
        code_sha256: checksum(bytes),
        sha256_hex: hex,
        size: bytes.len() as u64,
        unzipped_size: 0,
        entries: 1,
        largest: Vec::new(),
    };
    Package {
        _dir: dir,
        path,
        info,
    }
}

async fn put(s3: &FakeS3, p: &Package, opts: UploadOptions) -> Result<S3Object, S3Error> {
    let meta = BTreeMap::from([("commit-sha".to_string(), "abc".to_string())]);
    put_package(s3, &target(), "app", (&p.path, &p.info), &meta, opts).await
}

fn key(p: &Package) -> String {
    format!("lambda-deploy/app/{}.zip", p.info.sha256_hex)
}

#[tokio::test]
async fn a_package_goes_to_its_content_addressed_key_with_its_digest() {
    let s3 = s3();
    let p = package(b"zip bytes");
    let obj = put(&s3, &p, UploadOptions::default()).await.unwrap();
    assert_eq!(obj.key, key(&p));
    let held = s3.object(BUCKET, &key(&p)).unwrap();
    assert_eq!(held.bytes, b"zip bytes");
    assert_eq!(held.metadata.get("sha256"), Some(&p.info.sha256_hex));
    assert_eq!(
        held.metadata.get("commit-sha").map(String::as_str),
        Some("abc")
    );
    assert_eq!(s3.count("PutObject"), 1);
}

#[tokio::test]
async fn the_same_key_with_the_same_checksum_is_not_uploaded_again() {
    let s3 = s3();
    let p = package(b"zip bytes");
    put(&s3, &p, UploadOptions::default()).await.unwrap();
    let (how, _) = put_file(
        &s3,
        &S3Object::content_addressed(BUCKET, "lambda-deploy/", "app", &p.info.sha256_hex),
        &LocalFile {
            path: &p.path,
            size: p.info.size,
            sha256_base64: &p.info.code_sha256,
        },
        &BTreeMap::new(),
        UploadOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(how, Uploaded::AlreadyThere);
    assert_eq!(s3.count("PutObject"), 1, "calls: {:?}", s3.calls());
}

// Other bytes of another size, and of the same size (then the checksums differ).
#[tokio::test]
async fn the_same_key_holding_other_bytes_is_overwritten() {
    for other in [&b"something else"[..], b"zip bytez"] {
        let s3 = s3();
        let p = package(b"zip bytes");
        s3.put_bytes(BUCKET, &key(&p), other, &[]);
        put(&s3, &p, UploadOptions::default()).await.unwrap();
        assert_eq!(s3.count("PutObject"), 1);
        assert_eq!(s3.object(BUCKET, &key(&p)).unwrap().bytes, b"zip bytes");
    }
}

#[tokio::test]
async fn an_object_that_differs_after_the_upload_fails_the_run() {
    let s3 = s3();
    let p = package(b"zip bytes");
    s3.after_put(&key(&p), Some(b"tampered"));
    let err = put(&s3, &p, UploadOptions::default()).await.unwrap_err();
    assert!(matches!(err, S3Error::Verify { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("s3://{BUCKET}/{}", key(&p))),
        "{text}"
    );
    assert!(text.contains(&p.info.code_sha256), "{text}");
    assert!(text.contains("run the deploy again"), "{text}");
}

#[tokio::test]
async fn an_object_gone_after_the_upload_fails_the_run() {
    let s3 = s3();
    let p = package(b"zip bytes");
    s3.after_put(&key(&p), None);
    let err = put(&s3, &p, UploadOptions::default()).await.unwrap_err();
    assert!(err.to_string().contains("the object is missing"), "{err}");
}

/// A 40-byte package, and options that send it in three parts.
fn in_three_parts() -> (Vec<u8>, Package, UploadOptions) {
    let bytes: Vec<u8> = (0..40u8).collect();
    let p = package(&bytes);
    let opts = UploadOptions {
        part_size: 16,
        concurrency: 2,
    };
    (bytes, p, opts)
}

#[tokio::test]
async fn a_large_package_goes_in_parts_and_its_composite_checksum_is_accepted() {
    let s3 = s3();
    let (bytes, p, opts) = in_three_parts();
    put(&s3, &p, opts).await.unwrap();
    let held = s3.object(BUCKET, &key(&p)).unwrap();
    assert!(held.checksum_sha256.ends_with("-3"), "{held:?}");
    assert_eq!(held.bytes, bytes);
    put(&s3, &p, opts).await.unwrap();
    assert_eq!(s3.count("CompleteMultipartUpload"), 1, "{:?}", s3.calls());
    assert_eq!(s3.count("PutObject"), 0);
}

// The read-back check of a multipart upload compares S3's composite checksum with the
// one of the parts as they were sent.
#[tokio::test]
async fn a_multipart_object_that_differs_after_the_upload_fails_the_run() {
    let s3 = s3();
    let (bytes, p, opts) = in_three_parts();
    s3.after_put(&key(&p), Some(&bytes[..39]));
    let err = put(&s3, &p, opts).await.unwrap_err();
    assert!(matches!(err, S3Error::Verify { .. }), "{err:?}");
    assert!(err.to_string().contains("-3"), "{err}");
}

#[tokio::test]
async fn a_versioned_bucket_pins_the_version_that_was_checked() {
    let s3 = s3().versioned(BUCKET);
    let p = package(b"zip bytes");
    s3.put_bytes(BUCKET, &key(&p), b"old", &[]);
    let obj = put(&s3, &p, UploadOptions::default()).await.unwrap();
    assert_eq!(obj.version.as_deref(), Some("v2"));
    let again = put(&s3, &p, UploadOptions::default()).await.unwrap();
    assert_eq!(again.version.as_deref(), Some("v2"));
}

#[tokio::test]
async fn a_failed_upload_leaves_nothing_and_names_the_object() {
    let s3 = s3();
    let p = package(b"zip bytes");
    s3.fail("PutObject", 1, ErrorKind::Unavailable);
    let err = put(&s3, &p, UploadOptions::default()).await.unwrap_err();
    assert!(err.to_string().contains("PutObject on s3://"), "{err}");
    assert_eq!(s3.object(BUCKET, &key(&p)), None);
}

#[tokio::test]
async fn a_bucket_is_checked_for_existence_and_region_before_any_write() {
    let s3 = s3();
    let missing = check_bucket(&s3, "nope", "eu-west-1").await.unwrap_err();
    assert!(matches!(missing, S3Error::NoBucket { .. }), "{missing:?}");
    assert!(
        missing
            .to_string()
            .contains("s3-bucket 'nope' does not exist")
    );
    let wrong = check_bucket(&s3, BUCKET, "us-east-1").await.unwrap_err();
    assert!(
        wrong
            .to_string()
            .contains("is in region eu-west-1, but the function is in us-east-1"),
        "{wrong}"
    );
    assert!(check_bucket(&s3, BUCKET, "eu-west-1").await.is_ok());
    assert_eq!(s3.count("PutObject") + s3.count("HeadObject"), 0);
}

#[tokio::test]
async fn a_bucket_of_another_account_is_neither_read_nor_written() {
    let s3 = FakeS3::new()
        .with_bucket(BUCKET, "eu-west-1", "999999999999")
        .owned_by(Some(ACCOUNT));
    let denied = check_bucket(&s3, BUCKET, "eu-west-1").await.unwrap_err();
    assert!(
        matches!(&denied, S3Error::Aws(e) if e.kind == ErrorKind::AccessDenied),
        "{denied:?}"
    );
    let p = package(b"zip bytes");
    assert!(put(&s3, &p, UploadOptions::default()).await.is_err());
    assert_eq!(s3.count("PutObject"), 0, "{:?}", s3.calls());
    assert_eq!(s3.object(BUCKET, &key(&p)), None);
}

#[tokio::test]
async fn an_earlier_package_is_found_only_under_its_recorded_digest() {
    let s3 = s3().versioned(BUCKET);
    let p = package(b"zip bytes");
    put(&s3, &p, UploadOptions::default()).await.unwrap();
    let hex = &p.info.sha256_hex;
    let found = earlier_package(&s3, &target(), "app", hex).await.unwrap();
    assert_eq!(
        found.map(|o| (o.key, o.version)),
        Some((key(&p), Some("v1".into())))
    );
    s3.put_bytes(BUCKET, &key(&p), b"zip bytes", &[("sha256", "other")]);
    let relabelled = earlier_package(&s3, &target(), "app", hex).await.unwrap();
    assert_eq!(relabelled, None);
    let absent = earlier_package(&s3, &target(), "other", hex).await.unwrap();
    assert_eq!(absent, None);
}

#[tokio::test]
async fn objects_are_listed_under_a_prefix_and_deleted() {
    let s3 = s3();
    s3.put_bytes(BUCKET, "lambda-deploy/app/a.zip", b"a", &[]);
    s3.put_bytes(BUCKET, "lambda-deploy/app/b.zip", b"bb", &[]);
    s3.put_bytes(BUCKET, "other/c.zip", b"c", &[]);
    let listed = s3.list_objects(BUCKET, "lambda-deploy/").await.unwrap();
    let keys: Vec<_> = listed.iter().map(|l| (l.key.as_str(), l.size)).collect();
    assert_eq!(
        keys,
        [
            ("lambda-deploy/app/a.zip", 1),
            ("lambda-deploy/app/b.zip", 2)
        ]
    );
    let a = S3Object {
        bucket: BUCKET.into(),
        key: "lambda-deploy/app/a.zip".into(),
        version: None,
    };
    s3.delete_object(&a).await.unwrap();
    s3.delete_object(&a).await.unwrap();
    assert_eq!(s3.object(BUCKET, &a.key), None);
    assert!(s3.object(BUCKET, "other/c.zip").is_some());
}
