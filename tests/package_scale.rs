//! The packager at the sizes where zip's limits and memory bounds start to matter: more
//! entries than a plain zip can count (ZIP64), and files large enough that they are cut
//! into pieces. Kept out of the unit tests so `cargo test --lib` stays fast; the format rules
//! themselves are unit-tested in `src/package/tests.rs`.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use lambda_deploy::package::{ExcludeSet, PackageInfo, inspect_zip, write_zip};
use tempfile::TempDir;

fn pack(src: &Path, out_dir: &TempDir) -> (std::path::PathBuf, PackageInfo) {
    let out = out_dir.path().join("pkg.zip");
    let info = write_zip(src, &ExcludeSet::default(), &out).expect("write_zip");
    (out, info)
}

/// The archive as `unzip -t` and Python's zipfile see it: both must accept it, and
/// Python's entry count is returned.
fn external_readers_count(zip: &Path) -> usize {
    let unzip = Command::new("unzip")
        .arg("-tqq")
        .arg(zip)
        .output()
        .expect("run unzip (scripts/test.sh installs it)");
    assert!(
        unzip.status.success(),
        "unzip -t: {}",
        String::from_utf8_lossy(&unzip.stdout)
    );
    let py = "import sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(len(z.infolist()))";
    let out = Command::new("python3")
        .args(["-c", py])
        .arg(zip)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "zipfile: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("entry count")
}

/// Whether the archive ends with a ZIP64 end-of-central-directory locator.
fn ends_with_zip64_locator(bytes: &[u8]) -> bool {
    let at = bytes.len().saturating_sub(22 + 20);
    bytes.get(at..at + 4) == Some(&[0x50, 0x4b, 0x06, 0x07][..])
}

#[test]
fn more_than_65535_entries_use_zip64() {
    let t = TempDir::new().expect("tempdir");
    let (dirs, per_dir) = (70, 950); // 70 dirs + 66_500 files = 66_570 entries
    for d in 0..dirs {
        let dir = t.path().join(format!("d{d:02}"));
        fs::create_dir(&dir).expect("mkdir");
        // Hard links: creating 66k inodes is slow on some filesystems.
        let first = dir.join("0000");
        fs::write(&first, b"").expect("write");
        for f in 1..per_dir {
            fs::hard_link(&first, dir.join(format!("{f:04}"))).expect("link");
        }
    }
    let out_dir = TempDir::new().expect("tempdir");
    let (out, info) = pack(t.path(), &out_dir);
    let expected = dirs + dirs * per_dir;
    assert!(expected > 65_535);
    assert_eq!(info.entries, expected);
    assert!(ends_with_zip64_locator(&fs::read(&out).expect("read")));
    let a = zip::ZipArchive::new(fs::File::open(&out).expect("open")).expect("zip crate reads it");
    assert_eq!(a.len(), expected);
    assert_eq!(inspect_zip(&out).expect("inspect").entries, expected);
    assert_eq!(external_readers_count(&out), expected);
}

/// Large files are cut into pieces, not read whole, and still give the same bytes every
/// time and read back exactly: text is deflated, noise is stored, modes survive.
#[test]
fn large_files_are_streamed_and_read_back_exactly() {
    let t = TempDir::new().expect("tempdir");
    let text: Vec<u8> = (0..(20u32 << 20) / 16)
        .flat_map(|i| format!("{i:015}\n").into_bytes())
        .collect();
    let mut noise = vec![0u8; 18 << 20];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for b in noise.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    fs::create_dir(t.path().join("big")).expect("mkdir");
    fs::write(t.path().join("big/text.txt"), &text).expect("write");
    fs::write(t.path().join("big/noise.bin"), &noise).expect("write");
    fs::set_permissions(
        t.path().join("big/noise.bin"),
        fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");

    let (d1, d2) = (
        TempDir::new().expect("tempdir"),
        TempDir::new().expect("tempdir"),
    );
    let ((z1, i1), (z2, i2)) = (pack(t.path(), &d1), pack(t.path(), &d2));
    assert_eq!(i1.code_sha256, i2.code_sha256);
    assert_eq!(fs::read(&z1).expect("z1"), fs::read(&z2).expect("z2"));

    let mut a = zip::ZipArchive::new(fs::File::open(&z1).expect("open")).expect("zip");
    for (name, data, method, mode) in [
        (
            "big/text.txt",
            &text,
            zip::CompressionMethod::Deflated,
            0o644,
        ),
        (
            "big/noise.bin",
            &noise,
            zip::CompressionMethod::Stored,
            0o755,
        ),
    ] {
        let mut f = a.by_name(name).expect(name);
        let mut back = Vec::new();
        f.read_to_end(&mut back).expect("read entry");
        assert!(back == *data, "{name} read back differs");
        assert_eq!(f.compression(), method, "{name}");
        assert_eq!(f.unix_mode().expect("mode") & 0o777, mode, "{name}");
    }
    assert_eq!(external_readers_count(&z1), a.len());
}
