use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use super::*;
use crate::package::write_zip;

fn tree(root: &Path) {
    fs::create_dir_all(root.join("lib/empty")).unwrap();
    fs::write(root.join("index.js"), b"exports.handler = async () => 1;\n").unwrap();
    fs::write(root.join("lib/util.js"), vec![b'a'; 300_000]).unwrap();
    fs::write(root.join("run.sh"), b"#!/bin/sh\necho hi\n").unwrap();
    fs::set_permissions(root.join("run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    symlink("util.js", root.join("lib/alias.js")).unwrap();
}

fn digest(root: &Path) -> TreeDigest {
    tree_digest(root, &ExcludeSet::default(), &[]).unwrap()
}

#[test]
fn the_same_tree_anywhere_and_at_any_thread_count_has_one_digest() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    tree(a.path());
    tree(b.path());
    // Other timestamps and a group-writable mode bit: neither reaches the package.
    fs::set_permissions(b.path().join("index.js"), fs::Permissions::from_mode(0o664)).unwrap();
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    fs::File::options()
        .write(true)
        .open(b.path().join("lib/util.js"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let none = ExcludeSet::default();
    let one = digest_with(a.path(), &none, &[], 1).unwrap();
    for threads in [2, 3, 8] {
        assert_eq!(
            digest_with(b.path(), &none, &[], threads).unwrap().hex,
            one.hex
        );
    }
    assert_eq!(one.hex.len(), 64);
    assert_eq!(one.entries, 6, "3 files, 1 link, 2 folders");
    assert_eq!(one.unzipped_size, 33 + 300_000 + 18 + 7);
    // And the packages of both trees are the same bytes.
    let za = a.path().join("../a.zip");
    let zb = b.path().join("../b.zip");
    let pa = write_zip(a.path(), &none, &za).unwrap();
    let pb = write_zip(b.path(), &none, &zb).unwrap();
    assert_eq!(pa.code_sha256, pb.code_sha256);
    assert_eq!(pa.unzipped_size, one.unzipped_size);
    assert_eq!(pa.entries, one.entries);
    assert_eq!(pa.largest, one.largest);
    fs::remove_file(za).unwrap();
    fs::remove_file(zb).unwrap();
}

#[test]
fn every_change_a_package_would_show_changes_the_digest() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree(root);
    let mut seen = vec![digest(root).hex];
    let mut check = |what: &str| {
        let now = digest(root).hex;
        assert!(!seen.contains(&now), "{what} did not change the digest");
        seen.push(now);
    };
    fs::write(root.join("lib/util.js"), {
        let mut v = vec![b'a'; 300_000];
        v[150_000] = b'b';
        v
    })
    .unwrap();
    check("one byte in the middle of a file");
    fs::set_permissions(root.join("index.js"), fs::Permissions::from_mode(0o744)).unwrap();
    check("an execute bit");
    fs::remove_file(root.join("lib/alias.js")).unwrap();
    symlink("../index.js", root.join("lib/alias.js")).unwrap();
    check("a link's text");
    fs::rename(root.join("run.sh"), root.join("run2.sh")).unwrap();
    check("a rename");
    fs::create_dir(root.join("lib/empty/more")).unwrap();
    check("an empty folder");
    fs::write(root.join("lib/empty/more/x"), b"").unwrap();
    check("an empty file");
    let rules = ExcludeSet::new(&["*.nothing"]).unwrap();
    let with_rule = tree_digest(root, &rules, &[]).unwrap().hex;
    assert!(
        !seen.contains(&with_rule),
        "an exclude rule, even one that matches nothing, is part of the digest"
    );
}

#[test]
fn excluded_and_skipped_paths_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree(root);
    let rules = ExcludeSet::new(&["lib/"]).unwrap();
    let before = tree_digest(root, &rules, &[]).unwrap();
    fs::write(root.join("lib/util.js"), b"changed").unwrap();
    fs::create_dir(root.join("scratch")).unwrap();
    fs::write(root.join("scratch/function.zip"), b"PK").unwrap();
    let after = tree_digest(root, &rules, &[root.join("scratch")]).unwrap();
    assert_eq!(before.hex, after.hex);
    assert_eq!(after.entries, 2, "index.js and run.sh");
}

#[test]
fn a_file_written_after_hashing_makes_the_digest_stale() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree(root);
    let d = digest(root);
    assert!(d.still_current());
    // Same size, same content even: the write itself is what counts. File times have
    // the kernel's clock-tick granularity, so the write comes a few ticks later.
    std::thread::sleep(std::time::Duration::from_millis(50));
    fs::write(root.join("index.js"), b"exports.handler = async () => 1;\n").unwrap();
    assert!(!d.still_current());
    let d = digest(root);
    fs::remove_file(root.join("run.sh")).unwrap();
    assert!(!d.still_current());
}

#[test]
fn the_packagers_errors_come_first() {
    let dir = tempfile::tempdir().unwrap();
    symlink("/etc/passwd", dir.path().join("out")).unwrap();
    let err = tree_digest(dir.path(), &ExcludeSet::default(), &[]).unwrap_err();
    assert!(matches!(err, PackageError::SymlinkOutside { .. }), "{err}");
}
