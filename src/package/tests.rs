//! Tests: every format rule is checked by reading the bytes back.

use std::fs;
use std::io::Read;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use tempfile::TempDir;

use super::writer::Options;
use super::*;

fn put(root: &Path, rel: &str, data: &[u8], mode: u32) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    fs::write(&p, data).expect("write");
    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A small tree with the usual suspects.
fn sample_tree() -> TempDir {
    let t = TempDir::new().expect("tempdir");
    let r = t.path();
    put(r, "bootstrap", b"#!/bin/sh\nexec ./app\n", 0o755);
    put(
        r,
        "index.js",
        "exports.handler = async () => 'hi';\n"
            .repeat(50)
            .as_bytes(),
        0o644,
    );
    put(r, "lib/util.js", b"module.exports = 1;\n", 0o600);
    put(r, "lib/tool.sh", b"echo tool\n", 0o744);
    put(r, "lib/group-exec", b"x", 0o610);
    put(r, "lib/a-b.txt", b"sorted before lib/ subdir?", 0o644);
    put(r, "empty.txt", b"", 0o644);
    fs::create_dir_all(r.join("empty-dir")).expect("mkdir");
    put(r, "z/\u{e9}t\u{e9}.txt", b"utf8 name", 0o644);
    t
}

fn pack_opts(src: &Path, ex: &ExcludeSet, opts: Options) -> (TempDir, PathBuf, PackageInfo) {
    let out_dir = TempDir::new().expect("tempdir");
    let out = out_dir.path().join("pkg.zip");
    let info = write_zip_with(src, ex, &out, opts).expect("write_zip");
    (out_dir, out, info)
}

fn pack(src: &Path) -> (TempDir, PathBuf, PackageInfo) {
    let out_dir = TempDir::new().expect("tempdir");
    let out = out_dir.path().join("pkg.zip");
    let info = write_zip(src, &ExcludeSet::default(), &out).expect("write_zip");
    (out_dir, out, info)
}

#[derive(Debug)]
struct ZEntry {
    name: String,
    mode: u32,
    method: zip::CompressionMethod,
    data: Vec<u8>,
    symlink: bool,
}

/// Read every entry back with the zip crate (checks CRCs as it reads).
fn read_back(zip_path: &Path) -> Vec<ZEntry> {
    let mut a = zip::ZipArchive::new(fs::File::open(zip_path).expect("open")).expect("zip");
    let mut v = Vec::new();
    for i in 0..a.len() {
        let mut f = a.by_index(i).expect("entry");
        let mut data = Vec::new();
        f.read_to_end(&mut data).expect("read entry");
        v.push(ZEntry {
            name: f.name().expect("name").to_string(),
            mode: f.unix_mode().expect("unix mode"),
            method: f.compression(),
            data,
            symlink: f.is_symlink(),
        });
    }
    v
}

/// Raw central-directory fields, parsed by hand (non-ZIP64 archives).
#[derive(Debug)]
struct Raw {
    made_by: u16,
    flags: u16,
    time: u16,
    date: u16,
    extra_len: u16,
    local_extra_len: u16,
    external: u32,
    name: String,
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}
fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

fn raw_central(bytes: &[u8]) -> Vec<Raw> {
    let eocd = bytes.len() - 22;
    assert_eq!(
        u32_at(bytes, eocd),
        0x0605_4b50,
        "eocd at the very end, no comment"
    );
    let count = u16_at(bytes, eocd + 10) as usize;
    let mut p = u32_at(bytes, eocd + 16) as usize;
    let mut v = Vec::new();
    for _ in 0..count {
        assert_eq!(u32_at(bytes, p), 0x0201_4b50);
        let name_len = u16_at(bytes, p + 28) as usize;
        let extra_len = u16_at(bytes, p + 30);
        let comment_len = u16_at(bytes, p + 32) as usize;
        let local = u32_at(bytes, p + 42) as usize;
        assert_eq!(u32_at(bytes, local), 0x0403_4b50);
        v.push(Raw {
            made_by: u16_at(bytes, p + 4),
            flags: u16_at(bytes, p + 8),
            time: u16_at(bytes, p + 12),
            date: u16_at(bytes, p + 14),
            extra_len,
            local_extra_len: u16_at(bytes, local + 28),
            external: u32_at(bytes, p + 38),
            name: String::from_utf8(bytes[p + 46..p + 46 + name_len].to_vec()).expect("utf8"),
        });
        p += 46 + name_len + extra_len as usize + comment_len;
    }
    v
}

fn installed(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Whether the `CI` variable says this is a CI run (CI services set `CI=true`).
fn in_ci(ci: Option<&str>) -> bool {
    ci.is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Whether `tool` is there for a check that needs it. Missing, the check is skipped with a
/// printed reason on a workstation, and fails under CI, where a skipped check would pass
/// without proving anything.
#[track_caller]
fn have(tool: &str, check: &str) -> bool {
    if installed(tool) {
        return true;
    }
    assert!(
        !in_ci(std::env::var("CI").ok().as_deref()),
        "{tool} is not installed, and CI is set: {check} cannot be skipped there; install {tool}"
    );
    eprintln!("{tool} is not installed: skipping {check} (it fails instead when CI is set)");
    false
}

#[test]
fn ci_is_recognised_from_its_variable() {
    assert!(in_ci(Some("true")));
    assert!(in_ci(Some("1")));
    assert!(!in_ci(None));
    assert!(!in_ci(Some("")));
    assert!(!in_ci(Some("false")));
}

/// `unzip -t` when installed.
fn unzip_ok(zip_path: &Path) {
    if !have("unzip", "the unzip -t check") {
        return;
    }
    let o = Command::new("unzip")
        .arg("-t")
        .arg(zip_path)
        .output()
        .expect("unzip");
    assert!(
        o.status.success(),
        "unzip -t failed: {}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// Python's zipfile, when installed: CRCs good; returns (count, name->mode).
fn python_ok(zip_path: &Path) -> Option<usize> {
    if !have("python3", "the check with Python's zipfile") {
        return None;
    }
    let script = "import sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(len(z.infolist()))";
    let o = Command::new("python3")
        .args(["-c", script])
        .arg(zip_path)
        .output()
        .expect("python3");
    assert!(
        o.status.success(),
        "python zipfile failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().parse().ok()
}

fn touch_all(root: &Path, when: SystemTime) {
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            let md = fs::symlink_metadata(&p).expect("meta");
            if md.is_dir() {
                stack.push(p.clone());
            }
            if !md.file_type().is_symlink() {
                fs::File::open(&p)
                    .expect("open")
                    .set_modified(when)
                    .expect("set mtime");
            }
        }
    }
}

#[test]
fn same_tree_same_bytes_across_runs_mtimes_and_permissions() {
    let t = sample_tree();
    let (_d1, out1, info1) = pack(t.path());
    let (_d2, out2, info2) = pack(t.path());
    let b1 = fs::read(&out1).expect("read");
    assert_eq!(b1, fs::read(&out2).expect("read"));
    assert_eq!(info1, info2);

    touch_all(
        t.path(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_234_567_890),
    );
    // Non-exec permission changes do not matter either.
    fs::set_permissions(t.path().join("index.js"), fs::Permissions::from_mode(0o600))
        .expect("chmod");
    let (_d3, out3, info3) = pack(t.path());
    assert_eq!(
        b1,
        fs::read(&out3).expect("read"),
        "mtime/permission change changed bytes"
    );
    assert_eq!(info1.code_sha256, info3.code_sha256);

    // Different thread counts and a tiny reorder window: same bytes.
    let opts = Options {
        threads: Some(3),
        window_bytes: 1,
        window_entries: 2,
        ..Options::default()
    };
    let (_d4, out4, _) = pack_opts(t.path(), &ExcludeSet::default(), opts);
    assert_eq!(b1, fs::read(&out4).expect("read"));
    let one = Options {
        threads: Some(1),
        ..Options::default()
    };
    let (_d5, out5, _) = pack_opts(t.path(), &ExcludeSet::default(), one);
    assert_eq!(b1, fs::read(&out5).expect("read"));
}

/// xorshift noise: deflate cannot shrink it.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Deterministic word salad: text deflate shrinks, where its levels give different
/// bytes (so a level that depends on the worker shows).
fn words(len: usize, seed: u64) -> Vec<u8> {
    const WORDS: [&str; 16] = [
        "def ", "return ", "self", ".value", " = ", "(x)", ":\n    ", "import ", "lambda", " if ",
        " else ", "None", "[0]", ", ", "handler", "\n",
    ];
    let mut out = Vec::with_capacity(len + 16);
    let bytes = noise(len, seed);
    let mut i = 0;
    while out.len() < len {
        out.extend_from_slice(WORDS[usize::from(bytes[i] & 15)].as_bytes());
        out.extend_from_slice(format!("{}", bytes[i] >> 4).as_bytes());
        i += 1;
    }
    out.truncate(len);
    out
}

/// A tree with every path through the writer: hundreds of small files (batched), a
/// big incompressible file (sampled, stored), a big text file (cut into pieces when the
/// options say so), a gzip file, a symlink, an empty file and an empty folder.
fn mixed_tree() -> TempDir {
    let t = TempDir::new().expect("tempdir");
    let r = t.path();
    for i in 0..400u64 {
        let len = 100 + (i as usize * 997) % 20_000;
        put(
            r,
            &format!("pkg{}/mod{i:03}.py", i % 7),
            &words(len, i),
            0o644,
        );
    }
    put(r, "native/lib.so", &noise(1_500_000, 7), 0o755);
    put(r, "data/big.jsonl", &words(1_200_000, 9), 0o644);
    put(r, "data/small.gz", &noise(5_000, 11), 0o644);
    put(r, "empty.txt", b"", 0o644);
    fs::create_dir_all(r.join("empty-dir")).expect("mkdir");
    symlink("pkg0/mod000.py", r.join("link.py")).expect("symlink");
    t
}

// Regression: the package is the same bytes whatever the number of workers and the
// reorder window, so CodeSha256 does not depend on the machine that built it.
#[test]
fn same_bytes_with_1_2_4_8_workers_and_any_window() {
    let t = mixed_tree();
    let (_d, first, info) = pack(t.path());
    let default_bytes = fs::read(&first).expect("read");
    // (window bytes, window entries, big from, piece size): the last three cut big.jsonl
    // and lib.so into pieces (one each, then 12 and 15 pieces, then 4 and 5).
    for (window_bytes, window_entries, pieces_from, piece_size) in [
        (64 << 20, 512, 16 << 20, 4 << 20),
        (1, 1, 16 << 20, 4 << 20),
        (200_000, 3, 16 << 20, 4 << 20),
        (1, 2, 1 << 20, 4 << 20),
        (1, 2, 1 << 20, 100_000),
        (1_000_000, 40, 1 << 20, 300_000),
    ] {
        let mut expected = (pieces_from == 16 << 20).then(|| default_bytes.clone());
        for threads in [1, 2, 4, 8] {
            let opts = Options {
                threads: Some(threads),
                window_bytes,
                window_entries,
                pieces_from,
                piece_size,
                ..Options::default()
            };
            let (_d, out, _) = pack_opts(t.path(), &ExcludeSet::default(), opts);
            let bytes = fs::read(&out).expect("read");
            let want = expected.get_or_insert_with(|| bytes.clone());
            assert!(
                bytes == *want,
                "{threads} workers, window {window_bytes} B / {window_entries} entries, \
                 pieces of {piece_size} B from {pieces_from} B: other bytes"
            );
            let e = read_back(&out);
            assert_eq!(e.len(), info.entries);
            let find = |name: &str| e.iter().find(|e| e.name == name).expect(name);
            let so = find("native/lib.so");
            assert_eq!(so.data, noise(1_500_000, 7));
            assert_eq!(so.method, zip::CompressionMethod::Stored);
            let text = find("data/big.jsonl");
            assert!(
                text.data == words(1_200_000, 9),
                "big.jsonl read back differs"
            );
            assert_eq!(text.method, zip::CompressionMethod::Deflated);
        }
    }
}

// The pieces of a big file are deflated side by side and joined into one stream; primed
// with the bytes before them, they cost next to nothing against deflating it whole.
#[test]
fn a_file_cut_into_pieces_is_as_small_as_one_deflated_whole() {
    let t = TempDir::new().expect("tempdir");
    put(t.path(), "big.txt", &words(3_000_000, 5), 0o644);
    let size = |piece_size| {
        let opts = Options {
            pieces_from: 1 << 20,
            piece_size,
            ..Options::default()
        };
        let (_d, out, info) = pack_opts(t.path(), &ExcludeSet::default(), opts);
        assert_eq!(read_back(&out)[0].data, words(3_000_000, 5));
        info.size
    };
    let (whole, pieces) = (size(4 << 20), size(64 << 10));
    assert!(
        pieces as f64 <= whole as f64 * 1.005,
        "47 pieces: {pieces} B, one piece: {whole} B"
    );
}

// Regression: a faster deflate level must not cost size. Real source text is where a
// lower level loses most against zlib's level 6 (Info-ZIP's default); this crate's own
// sources stand in for a function's code.
#[test]
fn package_of_source_text_is_within_2_percent_of_info_zip() {
    if !have("zip", "the size comparison with Info-ZIP") {
        return;
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let (_d, _out, info) = pack(&src);
    let iz_dir = TempDir::new().expect("tempdir");
    let iz = iz_dir.path().join("iz.zip");
    let status = Command::new("zip")
        .args(["-r", "-q", "-X"])
        .arg(&iz)
        .arg(".")
        .current_dir(&src)
        .status()
        .expect("zip");
    assert!(status.success(), "zip failed");
    let iz_size = fs::metadata(&iz).expect("stat").len();
    let ratio = info.size as f64 / iz_size as f64;
    assert!(
        ratio <= 1.02,
        "package is {} bytes, Info-ZIP's {iz_size}: {ratio:.4}x, over 1.02x",
        info.size
    );
}

#[test]
fn readable_by_zip_crate_unzip_and_python_with_contents() {
    let t = sample_tree();
    let (_d, out, info) = pack(t.path());
    let entries = read_back(&out);
    assert_eq!(entries.len(), info.entries);
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "bootstrap",
            "empty-dir/",
            "empty.txt",
            "index.js",
            "lib/",
            "lib/a-b.txt",
            "lib/group-exec",
            "lib/tool.sh",
            "lib/util.js",
            "z/",
            "z/\u{e9}t\u{e9}.txt",
        ]
    );
    for e in &entries {
        if !e.name.ends_with('/') {
            let disk = fs::read(t.path().join(&e.name)).expect("read");
            assert_eq!(e.data, disk, "{}", e.name);
        }
    }
    let index = entries
        .iter()
        .find(|e| e.name == "index.js")
        .expect("index.js");
    assert_eq!(index.method, zip::CompressionMethod::Deflated);
    let empty = entries
        .iter()
        .find(|e| e.name == "empty.txt")
        .expect("empty");
    assert_eq!(empty.method, zip::CompressionMethod::Stored);
    assert!(empty.data.is_empty());
    assert_eq!(
        info.unzipped_size,
        entries.iter().map(|e| e.data.len() as u64).sum::<u64>()
    );
    unzip_ok(&out);
    assert_eq!(python_ok(&out).unwrap_or(entries.len()), entries.len());
}

#[test]
fn modes_normalised_exec_bit_kept_and_headers_fixed() {
    let t = sample_tree();
    fs::set_permissions(t.path().join("lib"), fs::Permissions::from_mode(0o700)).expect("chmod");
    let (_d, out, _) = pack(t.path());
    let modes: Vec<(String, u32)> = read_back(&out)
        .into_iter()
        .map(|e| (e.name, e.mode))
        .collect();
    let mode = |n: &str| {
        modes
            .iter()
            .find(|(m, _)| m == n)
            .map(|(_, m)| *m)
            .expect(n)
    };
    assert_eq!(mode("bootstrap"), 0o100755);
    assert_eq!(mode("lib/tool.sh"), 0o100755);
    assert_eq!(mode("lib/group-exec"), 0o100755);
    assert_eq!(mode("lib/util.js"), 0o100644);
    assert_eq!(mode("index.js"), 0o100644);
    assert_eq!(mode("lib/"), 0o040755);
    assert_eq!(mode("empty-dir/"), 0o040755);

    let bytes = fs::read(&out).expect("read");
    let raw = raw_central(&bytes);
    let mut sorted: Vec<&str> = raw.iter().map(|r| r.name.as_str()).collect();
    sorted.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    assert_eq!(
        sorted,
        raw.iter().map(|r| r.name.as_str()).collect::<Vec<_>>()
    );
    for r in &raw {
        assert_eq!(r.made_by >> 8, 3, "made by unix: {}", r.name);
        assert_eq!(
            (r.time, r.date),
            (0, (1 << 5) | 1),
            "1980-01-01 00:00: {}",
            r.name
        );
        assert_eq!(
            (r.extra_len, r.local_extra_len),
            (0, 0),
            "no extra fields: {}",
            r.name
        );
        assert_eq!(
            r.flags & 0x0800 != 0,
            !r.name.is_ascii(),
            "utf-8 flag: {}",
            r.name
        );
        assert!(!r.name.starts_with('/') && !r.name.split('/').any(|c| c == ".."));
        if r.name.ends_with('/') {
            assert_eq!(r.external, (0o040755 << 16) | 0x10);
        }
    }
}

#[test]
fn code_sha256_is_base64_of_file_digest_and_inspect_agrees() {
    use base64::Engine as _;
    let t = sample_tree();
    put(t.path(), "big/blob.bin", &vec![7u8; 300_000], 0o644);
    let (_d, out, info) = pack(t.path());
    let bytes = fs::read(&out).expect("read");
    let digest = Sha256::digest(&bytes);
    assert_eq!(
        info.code_sha256,
        base64::engine::general_purpose::STANDARD.encode(digest)
    );
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(info.sha256_hex, hex);
    assert_eq!(info.size, bytes.len() as u64);
    assert_eq!(inspect_zip(&out).expect("inspect"), info);
    assert_eq!(
        fs::read(&out).expect("read"),
        bytes,
        "inspect never modifies"
    );
    assert_eq!(info.largest[0], ("big/".to_string(), 300_000));
    assert_eq!(info.largest[1], ("big/blob.bin".to_string(), 300_000));
}

#[test]
fn largest_aggregates_folders_biggest_first() {
    let files = [
        ("a/b/x", 10u64),
        ("a/b/y", 5),
        ("a/z", 1),
        ("top", 12),
        ("c/d", 3),
    ];
    let l = largest(files.into_iter());
    assert_eq!(
        l[..5],
        [
            ("a/".to_string(), 16),
            ("a/b/".to_string(), 15),
            ("top".to_string(), 12),
            ("a/b/x".to_string(), 10),
            ("a/b/y".to_string(), 5),
        ]
    );
    assert_eq!(l.len(), 8);
}

#[test]
fn incompressible_files_are_stored() {
    let t = TempDir::new().expect("tempdir");
    // xorshift noise: deflate cannot shrink it.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let noise: Vec<u8> = (0..200_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    put(t.path(), "lib.so", &noise, 0o755);
    put(t.path(), "text.txt", &b"abc".repeat(10_000), 0o644);
    let (_d, out, _) = pack(t.path());
    let e = read_back(&out);
    assert_eq!(e[0].method, zip::CompressionMethod::Stored);
    assert_eq!(e[0].data, noise);
    assert_eq!(e[1].method, zip::CompressionMethod::Deflated);
}

#[test]
fn inspect_rejects_non_zip_and_missing_files() {
    let t = TempDir::new().expect("tempdir");
    let p = t.path().join("not.zip");
    fs::write(&p, b"definitely not a zip archive").expect("write");
    let err = inspect_zip(&p).expect_err("not a zip");
    assert!(matches!(err, PackageError::NotAZip { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("not a valid zip archive") && msg.contains("not.zip"),
        "{msg}"
    );
    let err = inspect_zip(&t.path().join("missing.zip")).expect_err("missing");
    assert!(err.to_string().contains("missing.zip"), "{err}");
}

/// Checks that the archive ends with ZIP64 end records.
fn has_zip64_end(bytes: &[u8]) -> bool {
    let n = bytes.len();
    n >= 22 + 20 && u32_at(bytes, n - 22 - 20) == 0x0706_4b50
}

#[test]
fn forced_zip64_fields_are_readable_everywhere() {
    let t = sample_tree();
    let opts = Options {
        force_zip64: true,
        ..Options::default()
    };
    let (_d, out, info) = pack_opts(t.path(), &ExcludeSet::default(), opts);
    assert!(has_zip64_end(&fs::read(&out).expect("read")));
    let entries = read_back(&out);
    assert_eq!(entries.len(), info.entries);
    let boot = entries
        .iter()
        .find(|e| e.name == "bootstrap")
        .expect("bootstrap");
    assert_eq!(boot.data, b"#!/bin/sh\nexec ./app\n");
    assert_eq!(
        inspect_zip(&out).expect("inspect").unzipped_size,
        info.unzipped_size
    );
    unzip_ok(&out);
    assert_eq!(python_ok(&out).unwrap_or(info.entries), info.entries);
}

// The ZIP64 entry-count and large-file tests are in tests/package_scale.rs.
mod links;
mod swaps;
