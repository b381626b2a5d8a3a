//! Uploads a zip to S3 exactly as a deploy with `s3-bucket` does (same client setup,
//! content-addressed key, skip check, multipart upload and read-back), and prints how
//! long it took. Used by `scripts/bench-s3.sh`.
//!
//!   cargo run --release --example s3_upload -- ZIP BUCKET PREFIX NAME
//!
//! AWS settings (region, credentials, AWS_ENDPOINT_URL[_S3]) come from the environment.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use lambda_deploy::aws::s3::{LocalFile, S3, S3Object, UploadOptions, provenance_metadata};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [zip, bucket, prefix, name] = args.as_slice() else {
        eprintln!("usage: s3_upload ZIP BUCKET PREFIX NAME");
        return ExitCode::FAILURE;
    };
    let zip = PathBuf::from(zip);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let started = Instant::now();
        // The deploy knows the digest from packaging; here the zip is read once for it.
        let info = match lambda_deploy::package::inspect_zip(&zip) {
            Ok(i) => i,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        let digest_secs = started.elapsed().as_secs_f64();
        let sdk = lambda_deploy::aws::load_config().await;
        let s3 = S3::new(&sdk);
        let obj = S3Object::content_addressed(bucket, prefix, name, &info.sha256_hex);
        let file = LocalFile {
            path: &zip,
            size: info.size,
            sha256_base64: &info.code_sha256,
        };
        let mut meta = provenance_metadata(None, None);
        meta.insert("sha256".to_string(), info.sha256_hex.clone());
        let t = Instant::now();
        match s3
            .put_file(&obj, &file, &meta, UploadOptions::default())
            .await
        {
            Ok(how) => {
                let secs = t.elapsed().as_secs_f64();
                println!(
                    "{} {how:?} bytes={} upload_secs={secs:.3} digest_secs={digest_secs:.3}",
                    obj.uri(),
                    info.size
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
