//! Multipart uploads: parts read from the file and sent in parallel, each with its
//! SHA-256; completed with every part's checksum, or aborted on any failure so no parts
//! stay behind.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use sha2::{Digest, Sha256};

use super::{LocalFile, S3, S3Error, S3Object, UploadOptions, b64, composite_checksum, read_part};
use crate::aws::{AwsError, ErrorKind};

impl S3 {
    pub(super) async fn put_multipart(
        &self,
        obj: &S3Object,
        file: &LocalFile<'_>,
        metadata: &BTreeMap<String, String>,
        opts: UploadOptions,
    ) -> Result<(u64, String), S3Error> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&obj.bucket)
            .set_expected_bucket_owner(self.owner())
            .key(&obj.key)
            .content_type("application/zip")
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .set_metadata(Some(metadata.clone().into_iter().collect()))
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk("CreateMultipartUpload", &obj.uri(), e, |_| ErrorKind::Other)
            })?;
        let upload_id = created.upload_id().unwrap_or_default().to_string();
        // A cancelled run aborts the upload, so no parts stay behind (and are billed).
        let _undo = {
            let (client, obj, id) = (self.client.clone(), obj.clone(), upload_id.clone());
            crate::cancel::on_cancel(move || async move {
                client
                    .abort_multipart_upload()
                    .bucket(&obj.bucket)
                    .key(&obj.key)
                    .upload_id(&id)
                    .send()
                    .await
                    .map(|_| format!("aborted the multipart upload to {}", obj.uri()))
                    .map_err(|e| {
                        AwsError::from_sdk("AbortMultipartUpload", &obj.uri(), e, |_| {
                            ErrorKind::Other
                        })
                        .to_string()
                    })
            })
        };
        let parts = file.size.div_ceil(opts.part_size);
        tracing::info!(uri = %obj.uri(), size = file.size, parts, concurrency = opts.concurrency, "uploading package to S3 in parts");
        match self.send_parts(obj, file, &upload_id, parts, opts).await {
            Ok((done, sent)) => {
                let completed = self
                    .client
                    .complete_multipart_upload()
                    .bucket(&obj.bucket)
                    .set_expected_bucket_owner(self.owner())
                    .key(&obj.key)
                    .upload_id(&upload_id)
                    .multipart_upload(
                        CompletedMultipartUpload::builder()
                            .set_parts(Some(done))
                            .build(),
                    )
                    .send()
                    .await;
                match completed {
                    Ok(_) => Ok((parts, sent)),
                    Err(e) => {
                        let err =
                            AwsError::from_sdk("CompleteMultipartUpload", &obj.uri(), e, |_| {
                                ErrorKind::Other
                            });
                        self.abort(obj, &upload_id).await;
                        Err(err.into())
                    }
                }
            }
            Err(e) => {
                self.abort(obj, &upload_id).await;
                Err(e)
            }
        }
    }

    /// Sends every part, `opts.concurrency` at a time; on the first failure the others
    /// are stopped and the error returned (the caller aborts the upload). Returns the
    /// parts in order, and the composite checksum of what was sent: the SHA-256 of the
    /// parts' SHA-256 digests, then `-<parts>`, as S3 reports it.
    async fn send_parts(
        &self,
        obj: &S3Object,
        file: &LocalFile<'_>,
        upload_id: &str,
        parts: u64,
        opts: UploadOptions,
    ) -> Result<(Vec<CompletedPart>, String), S3Error> {
        let next = Arc::new(AtomicU64::new(1));
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..opts.concurrency.max(1).min(parts as usize) {
            let (client, next) = (self.client.clone(), next.clone());
            let (obj, upload_id, owner) = (obj.clone(), upload_id.to_string(), self.owner());
            let (path, size) = (file.path.to_path_buf(), file.size);
            workers.spawn(async move {
                let mut done = Vec::new();
                loop {
                    let number = next.fetch_add(1, Ordering::Relaxed);
                    if number > parts {
                        return Ok::<_, S3Error>(done);
                    }
                    let p = path.clone();
                    let body =
                        tokio::task::spawn_blocking(move || read_part(&p, number, opts, size))
                            .await
                            .map_err(|e| std::io::Error::other(e.to_string()))
                            .and_then(|r| r)
                            .map_err(|source| S3Error::Read {
                                path: path.clone(),
                                source,
                            })?;
                    let part = Part {
                        upload_id: &upload_id,
                        owner: owner.clone(),
                        number,
                    };
                    done.push(send_part(&client, &obj, part, body).await?);
                }
            });
        }
        let mut all = Vec::with_capacity(parts as usize);
        while let Some(joined) = workers.join_next().await {
            let result = joined.map_err(|e| S3Error::Read {
                path: file.path.to_path_buf(),
                source: std::io::Error::other(e.to_string()),
            });
            match result.and_then(|r| r) {
                Ok(done) => all.extend(done),
                Err(e) => {
                    workers.abort_all();
                    while workers.join_next().await.is_some() {}
                    return Err(e);
                }
            }
        }
        all.sort_by_key(|(p, _)| p.part_number());
        let sent = composite_checksum(all.iter().map(|(_, digest)| digest));
        Ok((all.into_iter().map(|(p, _)| p).collect(), sent))
    }

    /// Aborts a multipart upload so its parts are deleted; a failure is logged, since
    /// the upload's own error is the one to report.
    async fn abort(&self, obj: &S3Object, upload_id: &str) {
        tracing::warn!(uri = %obj.uri(), "aborting the multipart upload");
        if let Err(e) = self
            .client
            .abort_multipart_upload()
            .bucket(&obj.bucket)
            .set_expected_bucket_owner(self.owner())
            .key(&obj.key)
            .upload_id(upload_id)
            .send()
            .await
        {
            let e = AwsError::from_sdk("AbortMultipartUpload", &obj.uri(), e, |_| ErrorKind::Other);
            tracing::error!(
                "{e}; delete the upload's parts with a lifecycle rule (AbortIncompleteMultipartUpload)"
            );
        }
    }
}

/// Which part of which upload [`send_part`] sends.
struct Part<'a> {
    upload_id: &'a str,
    owner: Option<String>,
    number: u64,
}

/// Sends one part with its SHA-256 checksum; returns the completed part and the digest.
async fn send_part(
    client: &aws_sdk_s3::Client,
    obj: &S3Object,
    part: Part<'_>,
    body: Vec<u8>,
) -> Result<(CompletedPart, Vec<u8>), S3Error> {
    let digest = Sha256::digest(&body).to_vec();
    let checksum = b64(&digest);
    let out = client
        .upload_part()
        .bucket(&obj.bucket)
        .set_expected_bucket_owner(part.owner)
        .key(&obj.key)
        .upload_id(part.upload_id)
        .part_number(part.number as i32)
        .content_length(body.len() as i64)
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .checksum_sha256(&checksum)
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("UploadPart", &obj.uri(), e, |_| ErrorKind::Other))?;
    tracing::debug!(part = part.number, "part uploaded");
    let completed = CompletedPart::builder()
        .part_number(part.number as i32)
        .set_e_tag(out.e_tag().map(str::to_string))
        .checksum_sha256(out.checksum_sha256().unwrap_or(&checksum))
        .build();
    Ok((completed, digest))
}
