//! Byte-reproducible, parallel zip writer for Lambda deployment packages.
//!
//! Format choices (so the same tree always gives the same bytes, and so the
//! same `CodeSha256` in Lambda):
//! - entries are sorted bytewise by their name ('/' separators); every
//!   directory gets its own entry with a trailing '/' (like `zip -r`), so
//!   empty directories survive;
//! - every entry has the fixed DOS timestamp 1980-01-01 00:00, no extra fields
//!   (except a ZIP64 field when a size or offset needs it), no uid/gid, and
//!   "version made by" = Unix with a normalised mode: files 0o100644, or
//!   0o100755 when any execute bit is set on disk; directories 0o040755;
//!   symlinks 0o120777 with the link text, stored, as content;
//! - file data is raw deflate (method 8) from libdeflate level 4 (zlib level 6,
//!   in pieces, for files of 16 MiB and up), or stored
//!   (method 0) when deflate does not make it smaller (files of 1 MiB or more
//!   are first sampled: three 64 KiB slices that do not shrink at all mean
//!   random or already-compressed data, stored without compressing it whole);
//! - ZIP64 end records are written when there are 65535 entries or more, or
//!   when an offset or size does not fit in 32 bits.
//!
//! Files are compressed in parallel by one worker per core and written in
//! order by a single writer. A reorder window (count and bytes) bounds how
//! much is held in memory at once. A file under 16 MiB is compressed whole
//! with libdeflate; a bigger one is cut into 4 MiB pieces that the workers
//! deflate side by side and the writer joins into one deflate stream, so
//! neither memory nor the wall time grows with the largest file.
//!
//! Symlinks are never followed while walking. A link whose target (resolved
//! through chains and `..`) stays inside the source directory is stored as a
//! link; one that leaves it, dangles or is absolute is an error.

mod digest;
mod exclude;
mod inspect;
// The walker (excludes, symlink checks, sorted entries) is shared with the image layer.
pub(crate) mod walk;
mod writer;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub use crate::domain::package::PackageInfo;
pub(crate) use digest::{TreeDigest, tree_digest};
pub use exclude::ExcludeSet;
pub use inspect::inspect_zip;

/// Everything that can go wrong while packaging or inspecting a zip.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The source directory is missing, unreadable or not a directory.
    #[error("source-dir '{path}' cannot be used: {reason}; check the source-dir input")]
    SourceDir {
        /// The source directory as given.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// A file or directory inside the source directory could not be read.
    #[error("cannot read '{path}' in source-dir: {source}; check that it exists and is readable")]
    Read {
        /// Path relative to the source directory.
        path: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The output zip could not be created or written.
    #[error(
        "cannot write package '{path}': {source}; check that its directory exists and is writable"
    )]
    Write {
        /// The output path as given.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// An exclude pattern is not a valid glob.
    #[error(
        "invalid exclude pattern '{pattern}': {reason}; fix the glob (patterns are relative to source-dir, '**' matches any depth)"
    )]
    Pattern {
        /// The offending pattern.
        pattern: String,
        /// What globset said about it.
        reason: String,
    },
    /// A symlink resolves to a place outside the source directory.
    #[error(
        "symlink '{link}' points to '{target}', outside source-dir; copy the file into source-dir or remove the link"
    )]
    SymlinkOutside {
        /// Path of the link relative to the source directory.
        link: String,
        /// The link text as on disk.
        target: String,
    },
    /// A symlink (or a link in its chain) points to nothing.
    #[error(
        "symlink '{link}' points to '{target}', which does not exist; fix the link or remove it"
    )]
    SymlinkDangling {
        /// Path of the link relative to the source directory.
        link: String,
        /// The link text as on disk.
        target: String,
    },
    /// A symlink has an absolute target inside the source directory, which
    /// would not resolve once unpacked in `/var/task`.
    #[error(
        "symlink '{link}' has the absolute target '{target}', which will not resolve once deployed; make it a relative link"
    )]
    SymlinkAbsolute {
        /// Path of the link relative to the source directory.
        link: String,
        /// The link text as on disk.
        target: String,
    },
    /// A symlink chain loops or is too deep to resolve.
    #[error(
        "symlink '{link}' points to '{target}', which loops or nests too deeply; fix or remove the link"
    )]
    SymlinkLoop {
        /// Path of the link relative to the source directory.
        link: String,
        /// The link text as on disk.
        target: String,
    },
    /// A device file, FIFO or socket was found.
    #[error(
        "'{path}' is a {kind}, which cannot be packaged; remove it from source-dir or exclude it"
    )]
    SpecialFile {
        /// Path relative to the source directory.
        path: String,
        /// What kind of special file it is.
        kind: &'static str,
    },
    /// A file name cannot be stored portably in a zip.
    #[error(
        "'{path}' has a name that cannot be stored in the package ({reason}); rename it or exclude it"
    )]
    BadName {
        /// Path relative to the source directory (lossy if not UTF-8).
        path: String,
        /// Why the name is refused.
        reason: &'static str,
    },
    /// A file changed while it was being packaged.
    #[error(
        "'{path}' changed while it was being packaged ({what}); re-run once nothing writes to source-dir"
    )]
    Changed {
        /// Path relative to the source directory.
        path: String,
        /// What changed.
        what: &'static str,
    },
    /// The prebuilt zip could not be read at all.
    #[error(
        "source-dir holds more than {} of files (counted up to '{at}'), over Lambda's limit for unzipped code; nothing was read: leave files out with exclude, move dependencies to layers, or use package-type: image (up to 10 GB)",
        crate::domain::bytes(*limit)
    )]
    TooLarge { limit: u64, at: String },
    #[error("cannot read zip-file '{path}': {source}; check the zip-file input")]
    ZipRead {
        /// The zip path as given.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The prebuilt zip is not a valid zip archive.
    #[error(
        "'{path}' is not a valid zip archive ({reason}); point zip-file at a .zip file or rebuild it"
    )]
    NotAZip {
        /// The zip path as given.
        path: PathBuf,
        /// What the zip reader said.
        reason: String,
    },
}

/// Package `source_dir` into a zip at `output` (created or truncated).
///
/// Deterministic: the same tree (names, contents, executable bits, symlink
/// texts) gives the same bytes, whatever the timestamps, owners or walk order.
/// The zip is written to a temporary file beside `output` and renamed into
/// place once complete, so a failed run never leaves a half-written package
/// under the final name. If `output` lies inside `source_dir` it is skipped.
///
/// # Errors
/// A [`PackageError`] naming the path (relative to `source_dir`) for an
/// unreadable entry, a symlink that leaves `source_dir`, dangles or is
/// absolute, a device file/FIFO/socket, an unstorable name, or when the
/// output cannot be written.
pub fn write_zip(
    source_dir: &Path,
    exclude: &ExcludeSet,
    output: &Path,
) -> Result<PackageInfo, PackageError> {
    write_zip_with(source_dir, exclude, output, writer::Options::default())
}

fn write_zip_with(
    source_dir: &Path,
    exclude: &ExcludeSet,
    output: &Path,
    opts: writer::Options,
) -> Result<PackageInfo, PackageError> {
    let write_err = |source: io::Error| PackageError::Write {
        path: output.to_path_buf(),
        source,
    };
    let root = walk::canonical_root(source_dir)?;
    let file_name = output
        .file_name()
        .ok_or_else(|| write_err(io::Error::other("the output path has no file name")))?;
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let parent = fs::canonicalize(parent).map_err(write_err)?;
    let final_path = parent.join(file_name);
    let mut tmp_name = file_name.to_os_string();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp_path = parent.join(tmp_name);

    let skip = [final_path.clone(), tmp_path.clone()];
    let entries = walk::walk_within(&root, exclude, &skip, opts.max_unzipped)?;

    let file = fs::File::create(&tmp_path).map_err(write_err)?;
    let result = writer::write_entries(&root, &entries, file, opts);
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            let _ = fs::remove_file(&tmp_path);
            return Err(match e {
                writer::WriteError::Package(p) => p,
                writer::WriteError::Io(io) => write_err(io),
            });
        }
    };
    if let Err(e) = fs::rename(&tmp_path, &final_path) {
        let _ = fs::remove_file(&tmp_path);
        return Err(write_err(e));
    }
    // Uncompressed sizes are the ones actually read, in entry order.
    let sizes: Vec<(&str, u64)> = entries
        .iter()
        .zip(summary.sizes.iter().copied())
        .filter(|(e, _)| !matches!(e.kind, walk::Kind::Dir))
        .map(|(e, s)| (e.name.as_str(), s))
        .collect();
    tracing::debug!(
        entries = entries.len(),
        size = summary.size,
        "package written to {}",
        final_path.display()
    );
    Ok(PackageInfo {
        code_sha256: base64_digest(&summary.sha256),
        sha256_hex: hex_digest(&summary.sha256),
        size: summary.size,
        unzipped_size: sizes.iter().map(|(_, s)| s).sum(),
        entries: entries.len(),
        largest: largest(sizes.into_iter()),
    })
}

/// Standard base64 (with padding) of a digest, as Lambda shows `CodeSha256`.
fn base64_digest(digest: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// Lowercase hex of a digest.
fn hex_digest(digest: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(digest.len() * 2);
    for b in digest {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 0xf)] as char);
    }
    s
}

/// The ten biggest paths: every file on its own and every folder with the
/// sum of everything below it (folder names end with '/').
fn largest<'a>(files: impl Iterator<Item = (&'a str, u64)>) -> Vec<(String, u64)> {
    let mut totals: HashMap<&'a str, u64> = HashMap::new();
    for (name, size) in files {
        let name = name.trim_end_matches('/');
        *totals.entry(name).or_default() += size;
        for (i, _) in name.match_indices('/') {
            // key "a/b/" for folder "a/b": slice includes the separator.
            *totals.entry(&name[..=i]).or_default() += size;
        }
    }
    let mut all: Vec<(&str, u64)> = totals.into_iter().collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    all.truncate(10);
    all.into_iter().map(|(n, s)| (n.to_string(), s)).collect()
}
