//! The zip format: local headers, data descriptors, the central directory and the end
//! records, with ZIP64 fields where a count, size or offset needs them.

use std::io::{self, BufWriter, Write};

use sha2::{Digest, Sha256};

use super::compress::Prepared;
use super::{Options, Piece, WriteError};
use crate::package::PackageError;
use crate::package::walk::{Entry, Kind};

const LOCAL_SIG: u32 = 0x0403_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const EOCD_SIG: u32 = 0x0605_4b50;
const EOCD64_SIG: u32 = 0x0606_4b50;
const EOCD64_LOCATOR_SIG: u32 = 0x0706_4b50;
const DESCRIPTOR_SIG: u32 = 0x0807_4b50;
/// Unix in the high byte of "version made by".
const MADE_BY_UNIX: u16 = 3 << 8;
const VERSION_DEFAULT: u16 = 20;
const VERSION_ZIP64: u16 = 45;
/// Bit 11: the name is UTF-8 (set only for non-ASCII names).
const FLAG_UTF8: u16 = 0x0800;
/// Bit 3: CRC and sizes follow the data (big files, written piece by piece).
const FLAG_DESCRIPTOR: u16 = 0x0008;
/// 1980-01-01 in DOS date format; the DOS time is 00:00:00 = 0.
const DOS_DATE: u16 = (1 << 5) | 1;
const MAX32: u64 = 0xFFFF_FFFF;
const ZIP64_EXTRA_ID: u16 = 0x0001;

const MODE_FILE: u32 = 0o100644;
const MODE_EXEC: u32 = 0o100755;
const MODE_DIR: u32 = 0o040755;
const MODE_SYMLINK: u32 = 0o120777;
/// MS-DOS directory attribute, set alongside the Unix mode for directories.
const DOS_DIR_ATTR: u32 = 0x10;

/// Central directory record kept until the end.
pub(super) struct Central {
    pub(super) flags: u16,
    pub(super) method: u16,
    pub(super) crc: u32,
    pub(super) compressed: u64,
    pub(super) uncompressed: u64,
    pub(super) offset: u64,
    pub(super) external: u32,
}

/// Output wrapper that hashes and counts everything written.
pub(super) struct HashWriter<W: Write> {
    pub(super) inner: BufWriter<W>,
    pub(super) sha: Sha256,
    pub(super) pos: u64,
}

impl<W: Write> HashWriter<W> {
    fn put(&mut self, buf: &[u8]) -> io::Result<()> {
        self.sha.update(buf);
        self.inner.write_all(buf)?;
        self.pos += buf.len() as u64;
        Ok(())
    }
}

/// Writes one entry's local header and data; returns its central directory record.
pub(super) fn write_entry<W: Write>(
    entry: &Entry,
    p: Prepared,
    force64: bool,
    w: &mut HashWriter<W>,
    header: &mut Vec<u8>,
) -> Result<Central, WriteError> {
    let offset = w.pos;
    let fields = Local {
        method: p.method,
        crc: p.crc,
        compressed: p.data.len() as u64,
        uncompressed: p.uncompressed,
        sizes_after: false,
    };
    header.clear();
    local_header(header, entry, &fields, force64)?;
    w.put(header)?;
    w.put(&p.data)?;
    Ok(Central {
        flags: flags(&entry.name),
        method: fields.method,
        crc: fields.crc,
        compressed: fields.compressed,
        uncompressed: fields.uncompressed,
        offset,
        external: external_attrs(entry),
    })
}

/// A big file whose pieces are being written: its header is out, its CRC and sizes
/// follow the last piece in a data descriptor.
pub(super) struct Pieced {
    offset: u64,
    zip64: bool,
    method: u16,
    crc: crc32fast::Hasher,
    compressed: u64,
    uncompressed: u64,
}

/// Writes one piece of a big file (after the local header, for the first); returns the
/// central directory record once the last piece and the data descriptor are out.
pub(super) fn write_piece<W: Write>(
    entry: &Entry,
    piece: Piece,
    p: Prepared,
    force64: bool,
    w: &mut HashWriter<W>,
    open: &mut Option<Pieced>,
) -> Result<Option<Central>, WriteError> {
    if piece.index == 0 {
        let size = match &entry.kind {
            Kind::File { size, .. } => *size,
            Kind::Dir | Kind::Symlink { .. } => 0,
        };
        // Sizes only decide the ZIP64 form here: the real ones follow the data.
        let fields = Local {
            method: p.method,
            crc: 0,
            compressed: size,
            uncompressed: size,
            sizes_after: true,
        };
        let mut header = Vec::with_capacity(128);
        let zip64 = local_header(&mut header, entry, &fields, force64)?;
        *open = Some(Pieced {
            offset: w.pos,
            zip64,
            method: p.method,
            crc: crc32fast::Hasher::new(),
            compressed: 0,
            uncompressed: 0,
        });
        w.put(&header)?;
    }
    let Some(f) = open.as_mut() else {
        unreachable!("piece 0 comes first")
    };
    w.put(&p.data)?;
    f.crc.combine(&crc32fast::Hasher::new_with_initial_len(
        p.crc,
        p.uncompressed,
    ));
    f.compressed += p.data.len() as u64;
    f.uncompressed += p.uncompressed;
    if !piece.is_last() {
        return Ok(None);
    }
    let Some(f) = open.take() else {
        unreachable!("checked above")
    };
    let crc = f.crc.finalize();
    let mut d = Vec::with_capacity(24);
    put32(&mut d, DESCRIPTOR_SIG);
    put32(&mut d, crc);
    if f.zip64 {
        put64(&mut d, f.compressed);
        put64(&mut d, f.uncompressed);
    } else {
        put32(&mut d, clamp32(f.compressed, false));
        put32(&mut d, clamp32(f.uncompressed, false));
    }
    w.put(&d)?;
    Ok(Some(Central {
        flags: flags(&entry.name) | FLAG_DESCRIPTOR,
        method: f.method,
        crc,
        compressed: f.compressed,
        uncompressed: f.uncompressed,
        offset: f.offset,
        external: external_attrs(entry),
    }))
}

/// What a local header says about its entry.
struct Local {
    method: u16,
    crc: u32,
    compressed: u64,
    uncompressed: u64,
    /// CRC and sizes follow the data in a data descriptor; the header holds zeros.
    sizes_after: bool,
}

fn external_attrs(entry: &Entry) -> u32 {
    match &entry.kind {
        Kind::Dir => (MODE_DIR << 16) | DOS_DIR_ATTR,
        Kind::File {
            executable: true, ..
        } => MODE_EXEC << 16,
        Kind::File { .. } => MODE_FILE << 16,
        Kind::Symlink { .. } => MODE_SYMLINK << 16,
    }
}

fn flags(name: &str) -> u16 {
    if name.is_ascii() { 0 } else { FLAG_UTF8 }
}

fn name_len(entry: &Entry) -> Result<u16, WriteError> {
    u16::try_from(entry.name.len()).map_err(|_| {
        WriteError::Package(PackageError::BadName {
            path: entry.rel().to_string(),
            reason: "it is longer than 65535 bytes",
        })
    })
}

fn put16(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn put64(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_le_bytes());
}
/// A 32-bit field, or the ZIP64 marker when the value does not fit.
fn clamp32(v: u64, zip64: bool) -> u32 {
    if zip64 || v >= MAX32 {
        u32::MAX
    } else {
        v as u32
    }
}

/// Writes a local header; returns whether it has the ZIP64 form.
fn local_header(
    b: &mut Vec<u8>,
    entry: &Entry,
    p: &Local,
    force64: bool,
) -> Result<bool, WriteError> {
    let zip64 = force64 || p.compressed >= MAX32 || p.uncompressed >= MAX32;
    // A header whose sizes come after the data carries zeros; the data descriptor has the values.
    let (crc, compressed, uncompressed) = if p.sizes_after {
        (0, 0, 0)
    } else {
        (p.crc, p.compressed, p.uncompressed)
    };
    put32(b, LOCAL_SIG);
    put16(
        b,
        if zip64 {
            VERSION_ZIP64
        } else {
            VERSION_DEFAULT
        },
    );
    let descriptor = if p.sizes_after { FLAG_DESCRIPTOR } else { 0 };
    put16(b, flags(&entry.name) | descriptor);
    put16(b, p.method);
    put16(b, 0);
    put16(b, DOS_DATE);
    put32(b, crc);
    put32(b, clamp32(compressed, zip64));
    put32(b, clamp32(uncompressed, zip64));
    put16(b, name_len(entry)?);
    put16(b, if zip64 { 20 } else { 0 });
    b.extend_from_slice(entry.name.as_bytes());
    if zip64 {
        // The local ZIP64 field always carries both sizes.
        put16(b, ZIP64_EXTRA_ID);
        put16(b, 16);
        put64(b, uncompressed);
        put64(b, compressed);
    }
    Ok(zip64)
}

/// Writes the central directory and the end records after the entries.
pub(super) fn write_central<W: Write>(
    entries: &[Entry],
    central: &[Central],
    opts: &Options,
    w: &mut HashWriter<W>,
) -> Result<(), WriteError> {
    let force = opts.force_zip64;
    let cd_start = w.pos;
    let mut b = Vec::with_capacity(512);
    for (entry, c) in entries.iter().zip(central) {
        b.clear();
        central_header(&mut b, entry, c, force)?;
        w.put(&b)?;
    }
    let cd_end = w.pos;
    b.clear();
    end_records(&mut b, central.len() as u64, cd_start, cd_end, force);
    w.put(&b)?;
    Ok(())
}

/// One central directory header, with a ZIP64 field for the values that need it.
fn central_header(
    b: &mut Vec<u8>,
    entry: &Entry,
    c: &Central,
    force: bool,
) -> Result<(), WriteError> {
    let big = |v: u64| force || v >= MAX32;
    let mut extra = Vec::new();
    if big(c.uncompressed) {
        put64(&mut extra, c.uncompressed);
    }
    if big(c.compressed) {
        put64(&mut extra, c.compressed);
    }
    if big(c.offset) {
        put64(&mut extra, c.offset);
    }
    let zip64 = !extra.is_empty();
    let version = if zip64 {
        VERSION_ZIP64
    } else {
        VERSION_DEFAULT
    };
    put32(b, CENTRAL_SIG);
    put16(b, MADE_BY_UNIX | version);
    put16(b, version);
    put16(b, c.flags);
    put16(b, c.method);
    put16(b, 0);
    put16(b, DOS_DATE);
    put32(b, c.crc);
    put32(b, clamp32(c.compressed, force));
    put32(b, clamp32(c.uncompressed, force));
    put16(b, name_len(entry)?);
    put16(b, if zip64 { extra.len() as u16 + 4 } else { 0 });
    put16(b, 0); // comment length
    put16(b, 0); // disk number start
    put16(b, 0); // internal attributes
    put32(b, c.external);
    put32(b, clamp32(c.offset, force));
    b.extend_from_slice(entry.name.as_bytes());
    if zip64 {
        put16(b, ZIP64_EXTRA_ID);
        put16(b, extra.len() as u16);
        b.extend_from_slice(&extra);
    }
    Ok(())
}

/// The end of central directory record, preceded by the ZIP64 end record and locator
/// when the count, the offset or the size needs them.
fn end_records(b: &mut Vec<u8>, count: u64, cd_start: u64, cd_end: u64, force: bool) {
    let cd_size = cd_end - cd_start;
    let zip64 = force || count >= 0xFFFF || cd_start >= MAX32 || cd_size >= MAX32;
    if zip64 {
        put32(b, EOCD64_SIG);
        put64(b, 44); // size of the rest of this record
        put16(b, MADE_BY_UNIX | VERSION_ZIP64);
        put16(b, VERSION_ZIP64);
        put32(b, 0); // this disk
        put32(b, 0); // disk with the central directory
        put64(b, count);
        put64(b, count);
        put64(b, cd_size);
        put64(b, cd_start);
        put32(b, EOCD64_LOCATOR_SIG);
        put32(b, 0);
        put64(b, cd_end);
        put32(b, 1); // total disks
    }
    let count16 = if zip64 { 0xFFFF } else { count as u16 };
    put32(b, EOCD_SIG);
    put16(b, 0);
    put16(b, 0);
    put16(b, count16);
    put16(b, count16);
    put32(b, clamp32(cd_size, zip64));
    put32(b, clamp32(cd_start, zip64));
    put16(b, 0); // comment length
}
