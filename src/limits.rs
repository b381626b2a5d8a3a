//! Lambda's size limits, checked on the local package before anything is uploaded.

use crate::package::PackageInfo;
use crate::plan::bytes;

/// Largest zip Lambda accepts in the request itself (CreateFunction/UpdateFunctionCode).
pub const DIRECT_UPLOAD_MAX: u64 = 50 * 1024 * 1024;
/// Largest unzipped size of function code plus its layers.
pub const UNZIPPED_MAX: u64 = 250 * 1024 * 1024;

/// A limit the package breaks, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error(
        "the package is {}, over Lambda's {} limit for direct uploads; set s3-bucket to upload it through S3, or make it smaller with exclude or layers",
        bytes(*size), bytes(DIRECT_UPLOAD_MAX)
    )]
    DirectUpload { size: u64 },
    #[error(
        "the package unzips to {}, over Lambda's {} limit for code and layers; largest entries: {}; leave files out with exclude, move dependencies to layers, or use package-type: image (up to 10 GB)",
        bytes(*unzipped), bytes(UNZIPPED_MAX), largest
    )]
    Unzipped { unzipped: u64, largest: String },
}

/// Checks a zip that will be uploaded directly.
pub fn check(info: &PackageInfo) -> Result<(), LimitError> {
    if info.unzipped_size > UNZIPPED_MAX {
        let largest = info
            .largest
            .iter()
            .map(|(p, n)| format!("{p} ({})", bytes(*n)))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(LimitError::Unzipped {
            unzipped: info.unzipped_size,
            largest,
        });
    }
    if info.size > DIRECT_UPLOAD_MAX {
        return Err(LimitError::DirectUpload { size: info.size });
    }
    Ok(())
}
