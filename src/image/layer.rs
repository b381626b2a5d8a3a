//! The code layer: `source-dir` as one reproducible gzip tar under `/var/task`.
//!
//! The same walk as the zip package (`package::walk`: excludes, sorted entries,
//! symlinks checked to stay inside source-dir), so one tree gives the same layer bytes
//! whatever its timestamps, owners or walk order:
//! - entries `var/`, `var/task/`, then the tree in bytewise name order;
//! - GNU headers (long names through GNU long-name records), owner 0:0 with no user or
//!   group names, mtime 0; modes: directories 0755, files 0644 or 0755 when any execute
//!   bit is set on disk, symlinks 0777 with their link text;
//! - gzip at level 6 with a fixed header: mtime 0, no file name, OS byte 255 (unknown).
//!
//! The layer is written to a file while two SHA-256 digests run: over the gzip bytes (the
//! layer digest in the manifest) and over the tar bytes (the `diff_id` in the config).

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use flate2::{Compression, GzBuilder};
use sha2::{Digest, Sha256};

use crate::domain::oci::digest_string;
use crate::package::walk::{self, Entry, FileId, Kind};
use crate::package::{ExcludeSet, PackageError};

/// Where the code lives in a Lambda image.
pub(crate) const TASK_ROOT: &str = "var/task/";

/// A written layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    pub path: PathBuf,
    /// `sha256:<hex>` of the gzip bytes.
    pub digest: String,
    /// `sha256:<hex>` of the uncompressed tar.
    pub diff_id: String,
    /// Size of the gzip bytes.
    pub size: u64,
    /// Size of the uncompressed tar.
    pub uncompressed_size: u64,
    /// Files, links and directories from source-dir.
    pub entries: usize,
}

/// Hashes and counts what passes through to `inner`.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    count: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_size(size);
    h
}

/// Writes the layer of `source_dir` to `output`.
///
/// # Errors
/// The same [`PackageError`]s as the zip package for the tree; `Write` when `output`
/// cannot be written; `Changed` when a file's size changes while it is read.
pub(crate) fn write_layer(
    source_dir: &Path,
    exclude: &ExcludeSet,
    output: &Path,
) -> Result<LayerInfo, PackageError> {
    let write_err = |source: io::Error| PackageError::Write {
        path: output.to_path_buf(),
        source,
    };
    let root = walk::canonical_root(source_dir)?;
    let entries = walk::walk(&root, exclude, &[output.to_path_buf()])?;
    let file = File::create(output).map_err(write_err)?;
    let compressed = Hashing {
        inner: BufWriter::with_capacity(1 << 20, file),
        hash: Sha256::new(),
        count: 0,
    };
    let gz = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(compressed, Compression::new(6));
    let tar_bytes = Hashing {
        inner: gz,
        hash: Sha256::new(),
        count: 0,
    };
    let mut tar = tar::Builder::new(tar_bytes);
    for dir in ["var/", TASK_ROOT] {
        let mut h = header(tar::EntryType::Directory, 0o755, 0);
        tar.append_data(&mut h, dir, io::empty())
            .map_err(write_err)?;
    }
    for e in &entries {
        let name = format!("{TASK_ROOT}{}", e.name);
        match &e.kind {
            Kind::Dir => {
                let mut h = header(tar::EntryType::Directory, 0o755, 0);
                tar.append_data(&mut h, &name, io::empty())
                    .map_err(write_err)?;
            }
            Kind::File {
                size,
                executable,
                id,
            } => {
                let file = WalkedFile {
                    root: &root,
                    entry: e,
                    size: *size,
                    executable: *executable,
                    id: *id,
                };
                append_file(&mut tar, &name, &file, write_err)?;
            }
            Kind::Symlink { target } => {
                let mut h = header(tar::EntryType::Symlink, 0o777, 0);
                let text = String::from_utf8_lossy(target).into_owned();
                tar.append_link(&mut h, &name, &text).map_err(write_err)?;
            }
        }
    }
    let tar_bytes = tar.into_inner().map_err(write_err)?;
    let (uncompressed_size, diff_hash) = (tar_bytes.count, tar_bytes.hash);
    let compressed = tar_bytes.inner.finish().map_err(write_err)?;
    let (size, hash) = (compressed.count, compressed.hash);
    let mut file = compressed
        .inner
        .into_inner()
        .map_err(|e| write_err(e.into_error()))?;
    file.flush().map_err(write_err)?;
    Ok(LayerInfo {
        path: output.to_path_buf(),
        digest: digest_string(hash),
        diff_id: digest_string(diff_hash),
        size,
        uncompressed_size,
        entries: entries.len(),
    })
}

/// A regular file found by the walk.
struct WalkedFile<'a> {
    root: &'a Path,
    entry: &'a Entry,
    size: u64,
    executable: bool,
    id: FileId,
}

/// Appends one file as `name`, with exactly the size the walk saw: a file that grew or
/// shrank meanwhile is reported as changed, never stored mixed.
fn append_file<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    file: &WalkedFile<'_>,
    write_err: impl Fn(io::Error) -> PackageError,
) -> Result<(), PackageError> {
    let e = file.entry;
    let mode = if file.executable { 0o755 } else { 0o644 };
    let mut h = header(tar::EntryType::Regular, mode, file.size);
    let f = walk::open_walked(file.root, e.rel(), file.id)?;
    // Exactly `size` bytes: a file that grew or shrank is reported, not mixed.
    let mut reader = ExactReader {
        inner: f.take(file.size),
        left: file.size,
    };
    tar.append_data(&mut h, name, &mut reader)
        .map_err(|err| match reader.left {
            0 => write_err(err),
            _ => PackageError::Changed {
                path: e.rel().to_string(),
                what: "its size",
            },
        })?;
    let mut probe = [0u8; 1];
    if reader.inner.into_inner().read(&mut probe).unwrap_or(0) != 0 {
        return Err(PackageError::Changed {
            path: e.rel().to_string(),
            what: "its size",
        });
    }
    Ok(())
}

/// A reader that tracks how many of the expected bytes are still missing; reading past
/// the end of a shrunk file gives an error instead of a short entry.
struct ExactReader<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for ExactReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.left > 0 && !buf.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file shrank while being read",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("lib")).unwrap();
        std::fs::write(
            d.path().join("app.py"),
            "def handler(e, c):\n    return 1\n",
        )
        .unwrap();
        std::fs::write(d.path().join("lib/util.py"), "X = 1\n").unwrap();
        std::fs::write(d.path().join("skip.pyc"), "junk").unwrap();
        std::os::unix::fs::symlink("lib/util.py", d.path().join("link.py")).unwrap();
        d
    }

    #[test]
    fn same_tree_same_layer_and_listing() {
        let d = tree();
        let out = tempfile::tempdir().unwrap();
        let ex = ExcludeSet::new(&["*.pyc"]).unwrap();
        let a = write_layer(d.path(), &ex, &out.path().join("a.tgz")).unwrap();
        let f = File::options()
            .write(true)
            .open(d.path().join("app.py"))
            .unwrap();
        f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(99))
            .unwrap();
        let b = write_layer(d.path(), &ex, &out.path().join("b.tgz")).unwrap();
        assert_eq!((a.digest.clone(), a.diff_id.clone()), (b.digest, b.diff_id));
        let bytes = std::fs::read(&a.path).unwrap();
        assert_eq!(&bytes[4..8], &[0, 0, 0, 0], "gzip mtime");
        let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
        let listing: Vec<(String, u32, u64, u64)> = ar
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                    h.mtime().unwrap(),
                )
            })
            .collect();
        let names: Vec<&str> = listing.iter().map(|l| l.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "var/",
                "var/task/",
                "var/task/app.py",
                "var/task/lib/",
                "var/task/lib/util.py",
                "var/task/link.py"
            ]
        );
        assert!(listing.iter().all(|l| l.2 == 0 && l.3 == 0));
        assert_eq!(listing[2].1, 0o644);
    }
}
