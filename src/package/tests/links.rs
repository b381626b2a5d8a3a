//! What the walk lets into a package: links that stay inside, excludes, and the
//! errors for links that leave, special files and a missing source-dir.

use super::*;

#[test]
fn symlink_inside_is_stored_as_symlink() {
    let t = sample_tree();
    let r = t.path();
    symlink("util.js", r.join("lib/alias.js")).expect("symlink");
    symlink("../lib", r.join("z/libdir")).expect("symlink");
    symlink("z/libdir/../index.js", r.join("via-chain")).expect("symlink");
    let (_d, out, _) = pack(r);
    let entries = read_back(&out);
    for (name, text) in [
        ("lib/alias.js", "util.js"),
        ("z/libdir", "../lib"),
        ("via-chain", "z/libdir/../index.js"),
    ] {
        let e = entries.iter().find(|e| e.name == name).expect(name);
        assert!(e.symlink, "{name} stored as symlink");
        assert_eq!(e.mode, 0o120777);
        assert_eq!(e.data, text.as_bytes());
        assert_eq!(e.method, zip::CompressionMethod::Stored);
    }
    // Nothing was followed: no entries under the linked directory.
    assert!(!entries.iter().any(|e| e.name.starts_with("z/libdir/")));
    unzip_ok(&out);
    python_ok(&out);
}

fn pack_err(src: &Path) -> PackageError {
    let out_dir = TempDir::new().expect("tempdir");
    let out = out_dir.path().join("pkg.zip");
    let err = write_zip(src, &ExcludeSet::default(), &out).expect_err("must fail");
    assert!(!out.exists(), "no package left behind on error");
    assert_eq!(
        fs::read_dir(out_dir.path()).expect("ls").count(),
        0,
        "no temp file left"
    );
    err
}

#[test]
fn symlink_outside_is_an_error_naming_it() {
    let t = sample_tree();
    symlink("/etc/passwd", t.path().join("lib/x")).expect("symlink");
    let err = pack_err(t.path());
    assert!(
        matches!(err, PackageError::SymlinkOutside { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "symlink 'lib/x' points to '/etc/passwd', outside source-dir; copy the file into source-dir or remove the link"
    );

    let t = sample_tree();
    symlink("../../outside.txt", t.path().join("lib/up")).expect("symlink");
    let msg = pack_err(t.path()).to_string();
    assert!(
        msg.contains("'lib/up'") && msg.contains("'../../outside.txt'"),
        "{msg}"
    );
}

#[test]
fn symlink_chain_escape_is_an_error() {
    // `sub/up` -> `..` is the root itself (fine), but `sub/up/..` is the
    // root's parent: a purely textual resolution would miss that.
    let t = sample_tree();
    let r = t.path();
    fs::create_dir(r.join("sub")).expect("mkdir");
    symlink("..", r.join("sub/up")).expect("symlink");
    symlink("up/../..", r.join("sub/escape")).expect("symlink");
    let err = pack_err(r);
    assert!(
        matches!(err, PackageError::SymlinkOutside { ref link, .. } if link == "sub/escape"),
        "{err:?}"
    );

    // a -> b -> c -> /etc: the chain ends outside.
    let t = sample_tree();
    let r = t.path();
    symlink("b", r.join("a")).expect("symlink");
    symlink("c", r.join("b")).expect("symlink");
    symlink("/etc", r.join("c")).expect("symlink");
    let err = pack_err(r);
    assert!(
        matches!(err, PackageError::SymlinkOutside { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("outside source-dir"));
}

#[test]
fn dangling_looping_and_absolute_symlinks_are_errors() {
    let t = sample_tree();
    symlink("missing.js", t.path().join("lib/gone")).expect("symlink");
    let err = pack_err(t.path());
    assert!(
        matches!(err, PackageError::SymlinkDangling { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("'lib/gone'") && err.to_string().contains("'missing.js'"));

    let t = sample_tree();
    symlink("loop2", t.path().join("loop1")).expect("symlink");
    symlink("loop1", t.path().join("loop2")).expect("symlink");
    let err = pack_err(t.path());
    assert!(matches!(err, PackageError::SymlinkLoop { .. }), "{err:?}");

    let t = sample_tree();
    let abs = fs::canonicalize(t.path()).expect("canon").join("index.js");
    symlink(&abs, t.path().join("abs")).expect("symlink");
    let err = pack_err(t.path());
    assert!(
        matches!(err, PackageError::SymlinkAbsolute { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("make it a relative link"));
}

#[test]
fn fifo_is_an_error_naming_it() {
    if !have("mkfifo", "the fifo test") {
        return;
    }
    let t = sample_tree();
    let ok = Command::new("mkfifo")
        .arg(t.path().join("lib/pipe"))
        .status()
        .expect("mkfifo");
    assert!(ok.success());
    let err = pack_err(t.path());
    assert!(matches!(err, PackageError::SpecialFile { .. }), "{err:?}");
    assert!(err.to_string().starts_with("'lib/pipe' is a fifo"), "{err}");
}

#[test]
fn excludes_prune_directories_and_support_double_star() {
    let t = sample_tree();
    let r = t.path();
    put(r, "README.md", b"top", 0o644);
    put(r, "docs/guide.md", b"nested md stays", 0o644);
    put(r, "pkg/__pycache__/m.pyc", b"x", 0o644);
    put(r, "pkg/deep/__pycache__/n.pyc", b"x", 0o644);
    put(r, "pkg/mod.py", b"x", 0o644);
    put(r, "pkg/stray.pyc", b"x", 0o644);
    put(r, "node_modules/.bin/tsc", b"x", 0o755);
    put(r, "node_modules/left-pad/index.js", b"x", 0o644);
    put(r, "tests/a_test.py", b"x", 0o644);
    let ex = ExcludeSet::new(&[
        "# comment\n\n*.md\n**/__pycache__",
        "**/*.pyc",
        "./node_modules/.bin",
        "tests/",
        "",
    ])
    .expect("patterns");
    assert!(!ex.is_empty());
    let (_d, out, _) = pack_opts(r, &ex, Options::default());
    let names: Vec<String> = read_back(&out).into_iter().map(|e| e.name).collect();
    for gone in [
        "README.md",
        "pkg/__pycache__/",
        "pkg/deep/__pycache__/",
        "pkg/stray.pyc",
        "node_modules/.bin/",
        "tests/",
    ] {
        assert!(
            !names.iter().any(|n| n.starts_with(gone)),
            "{gone} should be excluded: {names:?}"
        );
    }
    for kept in [
        "docs/guide.md",
        "pkg/mod.py",
        "pkg/deep/",
        "node_modules/left-pad/index.js",
        "index.js",
    ] {
        assert!(
            names.iter().any(|n| n == kept),
            "{kept} should be kept: {names:?}"
        );
    }

    assert!(
        ExcludeSet::new(&["", "# only a comment"])
            .expect("ok")
            .is_empty()
    );
    let err = ExcludeSet::new(&["a/[b"]).expect_err("bad glob");
    assert!(
        err.to_string()
            .starts_with("invalid exclude pattern 'a/[b'"),
        "{err}"
    );
}

#[test]
fn output_inside_source_dir_is_not_packaged() {
    let t = sample_tree();
    let (_d, _, before) = pack(t.path());
    let out = t.path().join("dist.zip");
    let a = write_zip(t.path(), &ExcludeSet::default(), &out).expect("first");
    let b = write_zip(t.path(), &ExcludeSet::default(), &out).expect("second");
    assert_eq!(
        a.code_sha256, b.code_sha256,
        "old output must not be packaged"
    );
    let names: Vec<String> = read_back(&out).into_iter().map(|e| e.name).collect();
    assert!(
        !names.iter().any(|n| n.starts_with("dist.zip")),
        "{names:?}"
    );
    assert_eq!(
        a.code_sha256, before.code_sha256,
        "same as packaging to elsewhere"
    );
    let leftovers = fs::read_dir(t.path()).expect("ls").filter(|e| {
        e.as_ref()
            .map(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .unwrap_or(false)
    });
    assert_eq!(leftovers.count(), 0);
}

#[test]
fn bad_source_dir_is_an_error() {
    let t = TempDir::new().expect("tempdir");
    let missing = t.path().join("nope");
    let err =
        write_zip(&missing, &ExcludeSet::default(), &t.path().join("o.zip")).expect_err("missing");
    assert!(err.to_string().starts_with("source-dir '"), "{err}");
    assert!(err.to_string().contains("nope"));
}
