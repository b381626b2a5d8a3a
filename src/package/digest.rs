//! The tree digest: what a package would hold, known by reading the tree once, without
//! compressing it.
//!
//! The digest covers everything that decides the package's contents: every entry's name
//! and kind, a file's executable bit, size and SHA-256 of its bytes, a link's text, the
//! packager's format and version, and the `exclude` rules. Two trees with the same digest
//! give packages with the same contents. A deploy records the digest next to the
//! `CodeSha256` it produced ([`crate::domain::package::TreeRecord`]); the next run with
//! the same digest, and a function still holding that code, knows nothing changed
//! without building the zip.
//!
//! Files are hashed in parallel, one worker per core; the digest itself is computed in
//! entry order, so it is the same at any thread count.

use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};

use super::walk::{self, Entry, Kind};
use super::{ExcludeSet, PackageError};

/// Changes whenever the same tree would give a package with other contents (entry
/// names, modes, what a link becomes); the crate version is hashed too, so a new
/// release of the packager packages once before it trusts a recorded digest.
const FORMAT: &str = "lambda-deploy zip format 1";

/// Read size per `read` call while hashing: small enough that the bytes the kernel copies
/// in are still in the core's cache when SHA-256 reads them (1 MiB reads measured ~10%
/// slower on a Python tree of 9,800 files).
const CHUNK: usize = 128 << 10;

/// The digest of a source tree, with the facts a package of it would report.
#[derive(Debug, Clone)]
pub struct TreeDigest {
    /// Lowercase hex SHA-256 over the tree, the format and the exclude rules.
    pub hex: String,
    /// Sum of the files' sizes (what the package unzips to, without folders).
    pub unzipped_size: u64,
    /// Files, links and folders, as the package would count them.
    pub entries: usize,
    /// The ten largest paths, as [`super::PackageInfo::largest`] has them.
    pub largest: Vec<(String, u64)>,
    root: PathBuf,
    stamps: Vec<(String, Stamp)>,
}

/// What a file looked like when it was hashed: a write to it changes `ctime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Stamp {
    fn of(meta: &fs::Metadata) -> Self {
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        Self {
            ino: meta.ino(),
            size: meta.len(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        }
    }
}

impl TreeDigest {
    /// The facts of a package of this tree already stored elsewhere (a function's code,
    /// a layer version), whose `CodeSha256` and zipped size are known.
    pub(crate) fn package_info(&self, code_sha256: &str, size: u64) -> Option<super::PackageInfo> {
        Some(super::PackageInfo {
            code_sha256: code_sha256.to_string(),
            sha256_hex: crate::domain::package::hex_of(code_sha256)?,
            size,
            unzipped_size: self.unzipped_size,
            entries: self.entries,
            largest: self.largest.clone(),
        })
    }

    /// Whether every file hashed is still as it was (same inode, size, mtime and
    /// ctime), so a package built since then holds the bytes the digest covers.
    /// A file written in between makes this false, and the digest is not recorded.
    pub(crate) fn still_current(&self) -> bool {
        self.stamps.iter().all(|(rel, stamp)| {
            fs::symlink_metadata(self.root.join(rel)).is_ok_and(|m| Stamp::of(&m) == *stamp)
        })
    }
}

/// Walks `source_dir` as the packager does (same excludes, same checks, `skip` left out)
/// and hashes it. Nothing is compressed and nothing is written.
///
/// # Errors
/// The packager's own errors for the same tree: an unreadable entry, a link that leaves
/// the source directory, a special file, an unstorable name, more than Lambda's unzipped
/// limit of files, or a file that changed while it was read.
pub(crate) fn tree_digest(
    source_dir: &Path,
    exclude: &ExcludeSet,
    skip: &[PathBuf],
) -> Result<TreeDigest, PackageError> {
    digest_with(source_dir, exclude, skip, threads())
}

/// [`tree_digest`] with a given number of hashing threads.
fn digest_with(
    source_dir: &Path,
    exclude: &ExcludeSet,
    skip: &[PathBuf],
    threads: usize,
) -> Result<TreeDigest, PackageError> {
    let root = walk::canonical_root(source_dir)?;
    let entries = walk::walk_within(&root, exclude, skip, crate::domain::limits::UNZIPPED_MAX)?;
    let files = hash_files(&root, &entries, threads)?;
    let mut tree = Sha256::new();
    tree.update(FORMAT.as_bytes());
    tree.update([0]);
    tree.update(env!("CARGO_PKG_VERSION").as_bytes());
    tree.update([0]);
    for rule in exclude.rules() {
        tree.update(rule.as_bytes());
        tree.update([0]);
    }
    tree.update([0]);
    let mut sizes = Vec::new();
    let mut stamps = Vec::with_capacity(files.len());
    let mut hashed = files.into_iter();
    for entry in &entries {
        tree.update(entry.name.as_bytes());
        tree.update([0]);
        match &entry.kind {
            Kind::Dir => tree.update(b"d"),
            Kind::Symlink { target } => {
                tree.update(b"l");
                tree.update((target.len() as u64).to_le_bytes());
                tree.update(target);
                sizes.push((entry.name.as_str(), target.len() as u64));
            }
            Kind::File { executable, .. } => {
                let Some(file) = hashed.next() else {
                    return Err(PackageError::Changed {
                        path: entry.rel().to_string(),
                        what: "it was not read",
                    });
                };
                tree.update(if *executable { b"x" } else { b"f" });
                tree.update(file.stamp.size.to_le_bytes());
                tree.update(file.sha256);
                sizes.push((entry.name.as_str(), file.stamp.size));
                stamps.push((entry.rel().to_string(), file.stamp));
            }
        }
    }
    Ok(TreeDigest {
        hex: super::hex_digest(&tree.finalize()),
        unzipped_size: sizes.iter().map(|(_, s)| s).sum(),
        entries: entries.len(),
        largest: super::largest(sizes.into_iter()),
        root,
        stamps,
    })
}

/// Worker threads for hashing: one per core, at most eight.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}

/// One file's hash and what it looked like when it was read.
struct Hashed {
    sha256: [u8; 32],
    stamp: Stamp,
}

/// Hashes the regular files of `entries`, in parallel; the result is in entry order.
fn hash_files(root: &Path, entries: &[Entry], threads: usize) -> Result<Vec<Hashed>, PackageError> {
    let files: Vec<&Entry> = entries
        .iter()
        .filter(|e| matches!(e.kind, Kind::File { .. }))
        .collect();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Hashed>>> = Mutex::new((0..files.len()).map(|_| None).collect());
    let first_error: Mutex<Option<(usize, PackageError)>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, files.len().max(1)) {
            s.spawn(|| {
                let mut buf = vec![0u8; CHUNK];
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(entry) = files.get(i) else { break };
                    match hash_file(root, entry, &mut buf) {
                        Ok(h) => lock(&results)[i] = Some(h),
                        Err(e) => {
                            let mut slot = lock(&first_error);
                            // The first failing file in entry order, whatever the timing.
                            if slot.as_ref().is_none_or(|(j, _)| i < *j) {
                                *slot = Some((i, e));
                            }
                            next.store(files.len(), Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    if let Some((_, e)) = into_inner(first_error) {
        return Err(e);
    }
    Ok(into_inner(results).into_iter().flatten().collect())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn into_inner<T>(m: Mutex<T>) -> T {
    m.into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reads one walked file whole and hashes it; it must still be the file the walk
/// listed, with the size the walk saw.
fn hash_file(root: &Path, entry: &Entry, buf: &mut [u8]) -> Result<Hashed, PackageError> {
    let Kind::File { size, id, .. } = entry.kind else {
        return Err(PackageError::Changed {
            path: entry.rel().to_string(),
            what: "it is no longer a regular file",
        });
    };
    let read_err = |source| PackageError::Read {
        path: entry.rel().to_string(),
        source,
    };
    let mut file = walk::open_walked(root, entry.rel(), id)?;
    let stamp = Stamp::of(&file.metadata().map_err(read_err)?);
    let mut sha = Sha256::new();
    let mut read = 0u64;
    loop {
        let n = file.read(buf).map_err(read_err)?;
        if n == 0 {
            break;
        }
        read += n as u64;
        sha.update(&buf[..n]);
    }
    if read != size || stamp.size != size {
        return Err(PackageError::Changed {
            path: entry.rel().to_string(),
            what: "its size changed after it was listed",
        });
    }
    Ok(Hashed {
        sha256: sha.finalize().into(),
        stamp,
    })
}

#[cfg(test)]
mod tests;
