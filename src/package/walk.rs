//! Walk the source directory without following symlinks, apply excludes,
//! check symlink targets and produce the sorted entry list.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use super::{ExcludeSet, PackageError};

/// Symlink hops allowed while resolving one link (Linux uses 40 too).
const MAX_LINK_HOPS: usize = 40;

/// One thing to put in the zip.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Entry name: relative, '/' separators, trailing '/' for directories.
    pub name: String,
    /// What it is.
    pub kind: Kind,
}

impl Entry {
    /// The name without a trailing '/', as used in messages and on disk.
    pub fn rel(&self) -> &str {
        self.name.trim_end_matches('/')
    }
}

/// The kinds of entries a package holds.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Dir,
    File {
        size: u64,
        executable: bool,
        /// Which file the walk saw, so the one opened later can be checked to be it.
        id: FileId,
    },
    Symlink {
        target: Vec<u8>,
    },
}

/// A file's identity on its filesystem: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileId {
    pub dev: u64,
    pub ino: u64,
}

/// Opens the file the walk listed at `rel`, for reading, and checks it is still that
/// file: a link swapped in for it is not followed (`O_NOFOLLOW`), a FIFO swapped in does
/// not block the open (`O_NONBLOCK`), and what was opened must be a regular file with the
/// walked device and inode (which also catches a folder on the way swapped for a link).
pub(crate) fn open_walked(root: &Path, rel: &str, id: FileId) -> Result<fs::File, PackageError> {
    let changed = |what| PackageError::Changed {
        path: rel.to_string(),
        what,
    };
    let opened = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(root.join(rel));
    let file = match opened {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(changed("it was replaced by a symbolic link"));
        }
        Err(source) => {
            return Err(PackageError::Read {
                path: rel.to_string(),
                source,
            });
        }
    };
    let meta = file.metadata().map_err(|source| PackageError::Read {
        path: rel.to_string(),
        source,
    })?;
    if !meta.file_type().is_file() {
        return Err(changed("it is no longer a regular file"));
    }
    if (FileId {
        dev: meta.dev(),
        ino: meta.ino(),
    }) != id
    {
        return Err(changed(
            "it is another file than the one listed (it, or a folder on its path, was replaced)",
        ));
    }
    Ok(file)
}

/// Canonical form of the source directory, checked to be a directory.
pub(crate) fn canonical_root(source_dir: &Path) -> Result<PathBuf, PackageError> {
    let err = |reason: String| PackageError::SourceDir {
        path: source_dir.to_path_buf(),
        reason,
    };
    let root = fs::canonicalize(source_dir).map_err(|e| err(e.to_string()))?;
    let meta = fs::metadata(&root).map_err(|e| err(e.to_string()))?;
    if !meta.is_dir() {
        return Err(err("it is not a directory".to_string()));
    }
    Ok(root)
}

/// List everything under `root` (canonical) that goes in the package, sorted
/// bytewise by entry name. Absolute paths in `skip` (the output and its temp
/// file) are left out.
pub(crate) fn walk(
    root: &Path,
    exclude: &ExcludeSet,
    skip: &[PathBuf],
) -> Result<Vec<Entry>, PackageError> {
    walk_within(root, exclude, skip, u64::MAX)
}

/// [`walk`], stopping as soon as the files listed so far add up to more than
/// `max_total` bytes (nothing has been read by then).
pub(crate) fn walk_within(
    root: &Path,
    exclude: &ExcludeSet,
    skip: &[PathBuf],
    max_total: u64,
) -> Result<Vec<Entry>, PackageError> {
    let mut entries = Vec::new();
    let mut total = 0u64;
    // Directories still to read, as relative names without trailing '/'.
    let mut pending: Vec<String> = vec![String::new()];
    while let Some(dir_rel) = pending.pop() {
        let dir_abs = if dir_rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(&dir_rel)
        };
        let read_err = |source: io::Error| PackageError::Read {
            path: if dir_rel.is_empty() {
                ".".to_string()
            } else {
                dir_rel.clone()
            },
            source,
        };
        for item in fs::read_dir(&dir_abs).map_err(read_err)? {
            let item = item.map_err(read_err)?;
            let file_name = item.file_name();
            let rel = join_rel(&dir_rel, &file_name)?;
            let abs = dir_abs.join(&file_name);
            if skip.iter().any(|s| s == &abs) {
                continue;
            }
            let meta = fs::symlink_metadata(&abs).map_err(|source| PackageError::Read {
                path: rel.clone(),
                source,
            })?;
            let ft = meta.file_type();
            if exclude.is_excluded(&rel, ft.is_dir()) {
                continue;
            }
            if ft.is_dir() {
                entries.push(Entry {
                    name: format!("{rel}/"),
                    kind: Kind::Dir,
                });
                pending.push(rel);
            } else if ft.is_file() {
                total = total.saturating_add(meta.len());
                if total > max_total {
                    return Err(PackageError::TooLarge {
                        limit: max_total,
                        at: rel,
                    });
                }
                entries.push(file_entry(rel, &meta));
            } else if ft.is_symlink() {
                let target = check_symlink(root, &rel)?;
                entries.push(Entry {
                    name: rel,
                    kind: Kind::Symlink { target },
                });
            } else {
                let kind = special_kind(&ft);
                return Err(PackageError::SpecialFile { path: rel, kind });
            }
        }
    }
    entries.sort_unstable_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    Ok(entries)
}

/// A regular file's entry: its size, whether any execute bit is set, and its identity
/// (to check it is the same file when it is opened).
fn file_entry(rel: String, meta: &fs::Metadata) -> Entry {
    Entry {
        name: rel,
        kind: Kind::File {
            size: meta.len(),
            executable: meta.permissions().mode() & 0o111 != 0,
            id: FileId {
                dev: meta.dev(),
                ino: meta.ino(),
            },
        },
    }
}

/// What a file that is neither a directory, a regular file nor a symlink is, for people.
fn special_kind(ft: &fs::FileType) -> &'static str {
    if ft.is_fifo() {
        "fifo (named pipe)"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_block_device() || ft.is_char_device() {
        "device file"
    } else {
        "special file"
    }
}

/// `dir/name` checked to be storable: UTF-8, no backslash.
fn join_rel(dir_rel: &str, name: &std::ffi::OsStr) -> Result<String, PackageError> {
    let lossy = || {
        if dir_rel.is_empty() {
            name.to_string_lossy().into_owned()
        } else {
            format!("{dir_rel}/{}", name.to_string_lossy())
        }
    };
    let Some(name) = name.to_str() else {
        return Err(PackageError::BadName {
            path: lossy(),
            reason: "it is not valid UTF-8",
        });
    };
    if name.contains('\\') {
        return Err(PackageError::BadName {
            path: lossy(),
            reason: "it contains a backslash, which unzip tools on Windows read as a separator",
        });
    }
    Ok(if dir_rel.is_empty() {
        name.to_string()
    } else {
        format!("{dir_rel}/{name}")
    })
}

/// Resolve the symlink at `rel` (relative to `root`) through chains and `..`
/// and return its link text if the result stays inside `root`.
pub(crate) fn check_symlink(root: &Path, rel: &str) -> Result<Vec<u8>, PackageError> {
    let abs = root.join(rel);
    let text = fs::read_link(&abs).map_err(|source| PackageError::Read {
        path: rel.to_string(),
        source,
    })?;
    let target = text.to_string_lossy().into_owned();
    let outside = || PackageError::SymlinkOutside {
        link: rel.to_string(),
        target: target.clone(),
    };
    let dangling = || PackageError::SymlinkDangling {
        link: rel.to_string(),
        target: target.clone(),
    };
    if text.as_os_str().is_empty() {
        return Err(dangling());
    }
    if text.is_absolute() {
        return Err(match fs::canonicalize(&text) {
            Ok(p) if p.starts_with(root) => PackageError::SymlinkAbsolute {
                link: rel.to_string(),
                target: target.clone(),
            },
            Ok(_) => outside(),
            Err(_) if !Path::new(&text).starts_with(root) => outside(),
            Err(_) => dangling(),
        });
    }
    // Start in the link's folder, as components relative to root.
    let mut stack: Vec<OsString> = Path::new(rel)
        .components()
        .map(|c| c.as_os_str().to_os_string())
        .collect();
    stack.pop();
    let mut hops = 0;
    match resolve(root, &mut stack, &text, &mut hops) {
        Ok(()) => Ok(text.as_os_str().as_bytes().to_vec()),
        Err(Resolve::Outside) => Err(outside()),
        Err(Resolve::Dangling) => Err(dangling()),
        Err(Resolve::Loop) => Err(PackageError::SymlinkLoop {
            link: rel.to_string(),
            target,
        }),
    }
}

enum Resolve {
    Outside,
    Dangling,
    Loop,
}

/// Walk `text` (a relative link text) from the folder `stack`, following
/// every symlink met on the way, never leaving `root`.
fn resolve(
    root: &Path,
    stack: &mut Vec<OsString>,
    text: &Path,
    hops: &mut usize,
) -> Result<(), Resolve> {
    if text.is_absolute() {
        return Err(Resolve::Outside);
    }
    for comp in text.components() {
        match comp {
            Component::CurDir => {}
            Component::ParentDir => {
                if stack.pop().is_none() {
                    return Err(Resolve::Outside);
                }
            }
            Component::Normal(c) => {
                stack.push(c.to_os_string());
                let here: PathBuf = stack.iter().fold(root.to_path_buf(), |p, c| p.join(c));
                let meta = fs::symlink_metadata(&here).map_err(|_| Resolve::Dangling)?;
                if meta.file_type().is_symlink() {
                    *hops += 1;
                    if *hops > MAX_LINK_HOPS {
                        return Err(Resolve::Loop);
                    }
                    let next = fs::read_link(&here).map_err(|_| Resolve::Dangling)?;
                    stack.pop();
                    resolve(root, stack, &next, hops)?;
                }
                // A file is fine as the last component; a later one fails to stat.
            }
            Component::RootDir | Component::Prefix(_) => return Err(Resolve::Outside),
        }
    }
    Ok(())
}
