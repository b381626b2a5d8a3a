//! The tree changing between the walk and the read: what is packaged is exactly what the
//! walk listed, or the run fails; nothing outside source-dir is read, nothing blocks.

use std::error::Error;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use super::*;

/// What a test's setup can fail with; `?` reports it as a test failure.
type Setup = Result<(), Box<dyn Error>>;

/// Packs `entries` (a walk's result) after the tree changed under them, in a thread, so a
/// read that blocks fails the test instead of hanging it.
fn pack_walked(
    root: &Path,
    entries: Vec<walk::Entry>,
) -> Result<Result<Vec<u8>, PackageError>, Box<dyn Error>> {
    pack_walked_with(root, entries, Options::default())
}

fn pack_walked_with(
    root: &Path,
    entries: Vec<walk::Entry>,
    opts: Options,
) -> Result<Result<Vec<u8>, PackageError>, Box<dyn Error>> {
    let root = root.to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let r = writer::write_entries(&root, &entries, &mut out, opts)
            .map(|_| out)
            .map_err(|e| match e {
                writer::WriteError::Package(p) => p,
                writer::WriteError::Io(io) => PackageError::Read {
                    path: "output".into(),
                    source: io,
                },
            });
        let _ = tx.send(r);
    });
    rx.recv_timeout(Duration::from_secs(20))
        .map_err(|_| "packaging blocked on what was swapped in".into())
}

/// Regression: files were opened by path after the walk, following links, so a file
/// swapped for a link to a file outside source-dir (say /proc/self/environ) was packaged.
#[test]
fn a_file_swapped_for_a_link_after_the_walk_is_refused() -> Setup {
    let t = sample_tree();
    let outside = TempDir::new()?;
    let secret = outside.path().join("environ");
    fs::write(&secret, b"AWS_SECRET_ACCESS_KEY=swapped-in-secret")?;
    let entries = walk::walk(t.path(), &ExcludeSet::default(), &[])?;
    fs::remove_file(t.path().join("lib/util.js"))?;
    symlink(&secret, t.path().join("lib/util.js"))?;
    let err = pack_walked(t.path(), entries)?.expect_err("a swapped file is refused");
    assert!(matches!(err, PackageError::Changed { .. }), "{err:?}");
    assert!(err.to_string().contains("lib/util.js"), "{err}");
    Ok(())
}

/// A big file, read in pieces, that grows or shrinks after the walk is refused by name:
/// the package holds exactly the bytes the walk measured, or nothing.
#[test]
fn a_big_file_that_grows_or_shrinks_after_the_walk_is_refused() -> Setup {
    for (what, new_len) in [("grew", 1_300_000), ("shrank", 1_100_000)] {
        let t = TempDir::new()?;
        fs::write(t.path().join("big.txt"), words(1_200_000, 3))?;
        let entries = walk::walk(t.path(), &ExcludeSet::default(), &[])?;
        fs::write(t.path().join("big.txt"), words(new_len, 3))?;
        let opts = Options {
            pieces_from: 1 << 20,
            piece_size: 256 << 10,
            ..Options::default()
        };
        let err = pack_walked_with(t.path(), entries, opts)?.expect_err(what);
        assert!(
            matches!(err, PackageError::Changed { .. }),
            "{what}: {err:?}"
        );
        assert!(err.to_string().contains("big.txt"), "{what}: {err}");
        assert!(err.to_string().contains(what), "{what}: {err}");
    }
    Ok(())
}

/// The same through a folder: `lib` swapped for a link to a folder outside.
#[test]
fn a_folder_swapped_for_a_link_after_the_walk_is_refused() -> Setup {
    let t = sample_tree();
    let outside = TempDir::new()?;
    let entries = walk::walk(t.path(), &ExcludeSet::default(), &[])?;
    // Same names and contents, other files: only their identity tells them apart.
    for item in fs::read_dir(t.path().join("lib"))? {
        let item = item?;
        fs::copy(item.path(), outside.path().join(item.file_name()))?;
    }
    fs::rename(t.path().join("lib"), t.path().join("lib.old"))?;
    symlink(outside.path(), t.path().join("lib"))?;
    let err = pack_walked(t.path(), entries)?.expect_err("a swapped folder is refused");
    assert!(matches!(err, PackageError::Changed { .. }), "{err:?}");
    Ok(())
}

/// Regression: a FIFO swapped in after the walk blocked the run forever on open.
#[test]
fn a_fifo_swapped_in_after_the_walk_does_not_hang() -> Setup {
    if !have("mkfifo", "the fifo swap test") {
        return Ok(());
    }
    let t = sample_tree();
    let entries = walk::walk(t.path(), &ExcludeSet::default(), &[])?;
    fs::remove_file(t.path().join("index.js"))?;
    let ok = Command::new("mkfifo")
        .arg(t.path().join("index.js"))
        .status()?;
    assert!(ok.success());
    let err = pack_walked(t.path(), entries)?.expect_err("a fifo is refused");
    assert!(matches!(err, PackageError::Changed { .. }), "{err:?}");
    Ok(())
}

/// Regression: the 250 MB unzipped limit was checked only after every file was read and
/// compressed; a tree over it now stops at the walk, before any file is read.
#[test]
fn a_tree_over_the_unzipped_limit_stops_before_reading() -> Setup {
    let t = sample_tree();
    let big = fs::File::create(t.path().join("huge.bin"))?;
    big.set_len(260 * 1024 * 1024)?;
    drop(big);
    let out = TempDir::new()?;
    let err = write_zip(t.path(), &ExcludeSet::default(), &out.path().join("o.zip"))
        .expect_err("over the limit");
    let text = err.to_string();
    assert!(text.contains("250"), "{text}");
    assert!(text.contains("exclude"), "says what to do: {text}");
    assert!(!out.path().join("o.zip").exists());
    Ok(())
}
