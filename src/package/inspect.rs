//! Inspect a prebuilt zip: digests, sizes, largest entries. Read-only.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{PackageError, PackageInfo, base64_digest, hex_digest, largest};

/// Inspect a prebuilt zip (the `zip-file` input): check that its central
/// directory can be read, then compute the digests, the sizes and the largest
/// entries. The file is only read, never modified.
///
/// # Errors
/// [`PackageError::NotAZip`] when the file is not a valid zip archive,
/// [`PackageError::ZipRead`] when it cannot be read at all.
pub fn inspect_zip(path: &Path) -> Result<PackageInfo, PackageError> {
    let read_err = |source: io::Error| PackageError::ZipRead {
        path: path.to_path_buf(),
        source,
    };
    let not_zip = |reason: String| PackageError::NotAZip {
        path: path.to_path_buf(),
        reason,
    };
    let file = File::open(path).map_err(read_err)?;
    if !file.metadata().map_err(read_err)?.is_file() {
        return Err(not_zip("it is not a regular file".to_string()));
    }
    let mut archive = zip::ZipArchive::new(file).map_err(|e| not_zip(e.to_string()))?;
    let mut files: Vec<(String, u64)> = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|e| not_zip(e.to_string()))?;
        if entry.is_dir() {
            continue;
        }
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        files.push((name, entry.size()));
    }
    let entries = archive.len();
    drop(archive);

    let mut file = File::open(path).map_err(read_err)?;
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_err(e)),
        };
        sha.update(&buf[..n]);
        size += n as u64;
    }
    let digest = sha.finalize();
    Ok(PackageInfo {
        code_sha256: base64_digest(&digest),
        sha256_hex: hex_digest(&digest),
        size,
        unzipped_size: files.iter().map(|(_, s)| s).sum(),
        entries,
        largest: largest(files.iter().map(|(n, s)| (n.as_str(), *s))),
    })
}
