//! A built package and the S3 location packages go through, as plain data: the packager
//! writes the first, the inputs give the second, the S3 adapter uses both.

use serde::Serialize;

/// What a package looks like once written (or inspected).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageInfo {
    /// `base64(sha256(zip bytes))`: exactly what Lambda reports as `CodeSha256`.
    pub code_sha256: String,
    /// Lowercase hex of the same SHA-256 digest.
    pub sha256_hex: String,
    /// Size of the zip file in bytes.
    pub size: u64,
    /// Sum of the uncompressed sizes of all entries.
    pub unzipped_size: u64,
    /// Number of entries: files, symlinks and directories.
    pub entries: usize,
    /// The ten largest paths by uncompressed size, biggest first. Folders are
    /// aggregated (and end with '/'), files appear on their own; ties are
    /// ordered by path. Meant for "package too big" messages.
    pub largest: Vec<(String, u64)>,
}

/// An S3 location zips are uploaded through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct S3Target {
    pub bucket: String,
    pub prefix: String,
}
