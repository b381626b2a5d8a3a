//! The zip writer: parallel compression, in-order output, ZIP64 when needed.
//!
//! Entries are cut into batches of consecutive entries (up to 32 entries or
//! 128 KiB of input; a bigger file is a batch alone). Workers claim batch
//! indexes from an atomic counter, read and compress its files, and park the
//! results in a shared map; the calling thread writes them strictly in entry
//! (= sorted) order. A worker only starts a batch when its first entry is
//! inside the reorder window (a count and a byte budget past the last written
//! entry), so memory is bounded by the window, not by the tree. The batch the
//! writer waits for is always admitted, whatever its size, so a single file
//! bigger than the byte budget still goes through (alone). How entries are
//! batched and which worker takes which changes nothing in the output.
//!
//! A big file is cut into pieces of a fixed size, each a batch of its own, so the
//! workers compress it side by side instead of one thread holding up the rest. Each
//! piece is deflated alone (primed with the 32 KiB before it) and ends on a byte
//! boundary; the writer puts them one after another, which makes one deflate stream,
//! and joins the pieces' CRCs. The cut depends only on the file's size, so the bytes
//! are the same at any thread count.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;

use libdeflater::{CompressionLvl, Compressor};
use sha2::{Digest, Sha256};

use super::PackageError;
use super::walk::{self, Entry, FileId, Kind};

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
const METHOD_STORED: u16 = 0;
const METHOD_DEFLATED: u16 = 8;
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

/// libdeflate level for files compressed in memory. Level 4 (greedy parsing) comes
/// within 1.5% of Info-ZIP's default (zlib level 6) size on real Python trees, and
/// within 0.1% on node_modules-like ones, at about 20% less CPU than level 6.
const LEVEL: i32 = 4;
/// zlib level for the pieces of big files: zip's default. libdeflate cannot end a
/// piece without ending the stream, so big files go through zlib.
const PIECE_LEVEL: u32 = 6;
/// Default size from which files are cut into pieces rather than held in memory whole.
const PIECES_FROM: u64 = 16 << 20;
/// Default size of a piece.
const PIECE_SIZE: u64 = 4 << 20;
/// What deflate may look back at: a piece is primed with this much of the file before it.
const DICTIONARY: u64 = 32 << 10;

/// Tuning knobs (tests shrink the window and force ZIP64).
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Write ZIP64 fields and end records even when nothing needs them.
    pub force_zip64: bool,
    /// Worker threads; `None` = available parallelism.
    pub threads: Option<usize>,
    /// Bytes of input admitted past the last written entry.
    pub window_bytes: u64,
    /// Entries admitted past the last written entry.
    pub window_entries: usize,
    /// Files from this size on are cut into pieces of `piece_size` bytes, compressed in
    /// parallel, instead of being read and compressed whole in memory.
    pub pieces_from: u64,
    /// Size of each piece of a big file (the last one may be shorter).
    pub piece_size: u64,
    /// Largest total of file sizes packaged (Lambda's unzipped limit).
    pub max_unzipped: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            force_zip64: false,
            threads: None,
            window_bytes: 64 << 20,
            window_entries: 512,
            pieces_from: PIECES_FROM,
            piece_size: PIECE_SIZE,
            max_unzipped: crate::domain::limits::UNZIPPED_MAX,
        }
    }
}

/// What the writer reports back.
pub(crate) struct Summary {
    pub sha256: Vec<u8>,
    pub size: u64,
    /// Uncompressed size of each entry, in entry order (0 for directories).
    pub sizes: Vec<u64>,
}

/// Errors from the writer: about an entry, or about the output file.
pub(crate) enum WriteError {
    Package(PackageError),
    Io(io::Error),
}

impl From<io::Error> for WriteError {
    fn from(e: io::Error) -> Self {
        WriteError::Io(e)
    }
}

/// One entry, ready to be written.
struct Prepared {
    crc: u32,
    uncompressed: u64,
    method: u16,
    data: Vec<u8>,
}

/// Central directory record kept until the end.
struct Central {
    flags: u16,
    method: u16,
    crc: u32,
    compressed: u64,
    uncompressed: u64,
    offset: u64,
    external: u32,
}

/// Output wrapper that hashes and counts everything written.
struct HashWriter<W: Write> {
    inner: BufWriter<W>,
    sha: Sha256,
    pos: u64,
}

impl<W: Write> HashWriter<W> {
    fn put(&mut self, buf: &[u8]) -> io::Result<()> {
        self.sha.update(buf);
        self.inner.write_all(buf)?;
        self.pos += buf.len() as u64;
        Ok(())
    }
}

/// What a worker hands the writer for one batch: its entries in order, stopping at
/// the first that failed.
type Done = Vec<Result<Prepared, PackageError>>;

struct State {
    /// Finished batches by batch index.
    done: HashMap<usize, Done>,
    /// Entries written so far.
    written: usize,
    /// The batch the writer waits for: always admitted, whatever its size.
    next_batch: usize,
    inflight: u64,
    abort: bool,
}

struct Shared {
    state: Mutex<State>,
    cv: Condvar,
    next: AtomicUsize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
    fn wait<'a>(&self, g: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.cv.wait(g).unwrap_or_else(PoisonError::into_inner)
    }
    fn abort(&self) {
        self.lock().abort = true;
        self.cv.notify_all();
    }
}

/// Sets `abort` if a worker unwinds, so the writer never waits forever.
struct PanicGuard<'a>(&'a Shared);
impl Drop for PanicGuard<'_> {
    fn drop(&mut self) {
        if thread::panicking() {
            self.0.abort();
        }
    }
}

/// Write `entries` (sorted) from `root` as a zip to `out`.
pub(crate) fn write_entries<W: Write + Send>(
    root: &std::path::Path,
    entries: &[Entry],
    out: W,
    opts: Options,
) -> Result<Summary, WriteError> {
    let batches = batches(entries, &opts);
    let threads = opts
        .threads
        .unwrap_or_else(|| thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
        .min(batches.len().max(1));
    let shared = Shared {
        state: Mutex::new(State {
            done: HashMap::new(),
            written: 0,
            next_batch: 0,
            inflight: 0,
            abort: false,
        }),
        cv: Condvar::new(),
        next: AtomicUsize::new(0),
    };
    let mut w = HashWriter {
        inner: BufWriter::with_capacity(1 << 20, out),
        sha: Sha256::new(),
        pos: 0,
    };
    let mut central = Vec::with_capacity(entries.len());
    let mut sizes = Vec::with_capacity(entries.len());
    let methods = piece_methods(&batches);

    let result = thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| worker(root, entries, &batches, &methods, &shared, &opts));
        }
        let r = write_in_order(
            entries,
            &batches,
            &shared,
            &opts,
            &mut w,
            &mut central,
            &mut sizes,
        );
        if r.is_err() {
            shared.abort();
        }
        r
    });
    result?;

    write_central(entries, &central, &opts, &mut w)?;
    let HashWriter { inner, sha, pos } = w;
    inner.into_inner().map_err(|e| e.into_error())?;
    Ok(Summary {
        sha256: sha.finalize().to_vec(),
        size: pos,
        sizes,
    })
}

/// A run of consecutive entries that one worker reads and compresses in one go, so a
/// worker is not woken, and the writer not signalled, once per 200-byte file.
struct Batch {
    start: usize,
    end: usize,
    /// Bytes charged against the reorder window while the batch is held.
    cost: u64,
    /// Set when the batch is one piece of a big file (then `end == start + 1`).
    piece: Option<Piece>,
}

/// Which piece of a big file a batch is: bytes `index * piece_size` on.
#[derive(Debug, Clone, Copy)]
struct Piece {
    index: u64,
    count: u64,
}

impl Piece {
    fn is_last(self) -> bool {
        self.index + 1 == self.count
    }
}

/// Small entries are grouped until their input reaches this many bytes...
const BATCH_BYTES: u64 = 128 << 10;
/// ... or this many entries.
const BATCH_ENTRIES: usize = 32;

/// Cuts `entries` into batches: a file of `BATCH_BYTES` or more is alone in its batch,
/// and a big file is one batch per piece.
fn batches(entries: &[Entry], opts: &Options) -> Vec<Batch> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut cost = 0;
    let piece_size = opts.piece_size.max(1);
    for (i, entry) in entries.iter().enumerate() {
        let big = match &entry.kind {
            Kind::File { size, .. } if cut_into_pieces(*size, opts) => Some(*size),
            _ => None,
        };
        if i > start
            && (big.is_some()
                || cost + window_cost(entry) > BATCH_BYTES
                || i - start >= BATCH_ENTRIES)
        {
            out.push(Batch::of(start, i, cost));
            (start, cost) = (i, 0);
        }
        if let Some(size) = big {
            let count = size.div_ceil(piece_size);
            out.extend((0..count).map(|index| Batch {
                start: i,
                end: i + 1,
                cost: piece_size.min(size - index * piece_size),
                piece: Some(Piece { index, count }),
            }));
            (start, cost) = (i + 1, 0);
            continue;
        }
        cost += window_cost(entry);
    }
    if start < entries.len() {
        out.push(Batch::of(start, entries.len(), cost));
    }
    out
}

impl Batch {
    fn of(start: usize, end: usize, cost: u64) -> Self {
        Self {
            start,
            end,
            cost,
            piece: None,
        }
    }
}

/// Bytes an entry held whole holds in memory between being read and being written.
fn window_cost(entry: &Entry) -> u64 {
    match &entry.kind {
        Kind::File { size, .. } => *size,
        Kind::Dir | Kind::Symlink { .. } => 0,
    }
}

/// How each big file is stored, decided by the first of its pieces a worker reaches.
type Methods = HashMap<usize, Mutex<Option<u16>>>;

fn piece_methods(batches: &[Batch]) -> Methods {
    batches
        .iter()
        .filter(|b| b.piece.is_some_and(|p| p.index == 0))
        .map(|b| (b.start, Mutex::new(None)))
        .collect()
}

fn worker(
    root: &std::path::Path,
    entries: &[Entry],
    batches: &[Batch],
    methods: &Methods,
    shared: &Shared,
    opts: &Options,
) {
    let _guard = PanicGuard(shared);
    let mut compressor = Compressor::new(CompressionLvl::new(LEVEL).unwrap_or_default());
    loop {
        let j = shared.next.fetch_add(1, Ordering::Relaxed);
        let Some(b) = batches.get(j) else { return };
        {
            let mut st = shared.lock();
            loop {
                if st.abort {
                    return;
                }
                // The batch the writer waits for is always admitted.
                let in_window = j == st.next_batch
                    || (b.start < st.written + opts.window_entries
                        && st.inflight + b.cost <= opts.window_bytes);
                if in_window {
                    break;
                }
                st = shared.wait(st);
            }
            st.inflight += b.cost;
        }
        let mut done = Vec::with_capacity(b.end - b.start);
        if let Some(piece) = b.piece {
            let method = &methods[&b.start];
            let entry = &entries[b.start];
            done.push(prepare_piece(
                root,
                entry,
                piece,
                method,
                opts,
                &mut compressor,
            ));
            shared.lock().done.insert(j, done);
            shared.cv.notify_all();
            continue;
        }
        for entry in &entries[b.start..b.end] {
            let prepared = prepare(root, entry, &mut compressor);
            let failed = prepared.is_err();
            done.push(prepared);
            if failed {
                break;
            }
        }
        shared.lock().done.insert(j, done);
        shared.cv.notify_all();
    }
}

/// Read and compress one entry.
fn prepare(
    root: &std::path::Path,
    entry: &Entry,
    compressor: &mut Compressor,
) -> Result<Prepared, PackageError> {
    let data = match &entry.kind {
        Kind::Dir => Vec::new(),
        Kind::Symlink { target } => target.clone(),
        Kind::File { size, id, .. } => read_file(root, entry, *size, *id)?,
    };
    let crc = libdeflater::crc32(&data);
    let uncompressed = data.len() as u64;
    if data.is_empty() || !matches!(entry.kind, Kind::File { .. }) {
        return Ok(stored(crc, data));
    }
    if looks_incompressible(&data, compressor) {
        return Ok(stored(crc, data));
    }
    let mut out = vec![0u8; compressor.deflate_compress_bound(data.len())];
    match compressor.deflate_compress(&data, &mut out) {
        Ok(n) if n < data.len() => {
            out.truncate(n);
            Ok(Prepared {
                crc,
                uncompressed,
                method: METHOD_DEFLATED,
                data: out,
            })
        }
        _ => Ok(stored(crc, data)),
    }
}

/// Files at least this big are sampled before being compressed whole.
const SAMPLE_FROM: usize = 1 << 20;
/// Size of each of the three sampled slices (start, middle, end).
const SAMPLE_SLICE: usize = 64 << 10;

/// For big files, deflate three 64 KiB slices first: when even they do not
/// shrink at all (random, encrypted or already compressed data such as `.so`
/// payloads, `.zip`, `.png`), the whole file would not either, so it is stored
/// without spending the time. Deterministic: it depends only on the content.
fn looks_incompressible(data: &[u8], compressor: &mut Compressor) -> bool {
    if data.len() < SAMPLE_FROM {
        return false;
    }
    let mid = data.len() / 2 - SAMPLE_SLICE / 2;
    let mut sample = Vec::with_capacity(3 * SAMPLE_SLICE);
    sample.extend_from_slice(&data[..SAMPLE_SLICE]);
    sample.extend_from_slice(&data[mid..mid + SAMPLE_SLICE]);
    sample.extend_from_slice(&data[data.len() - SAMPLE_SLICE..]);
    let mut out = vec![0u8; compressor.deflate_compress_bound(sample.len())];
    match compressor.deflate_compress(&sample, &mut out) {
        Ok(n) => n >= sample.len(),
        Err(_) => true,
    }
}

fn stored(crc: u32, data: Vec<u8>) -> Prepared {
    Prepared {
        crc,
        uncompressed: data.len() as u64,
        method: METHOD_STORED,
        data,
    }
}

/// Whether a file of `size` bytes is cut into pieces (never below the sampling size,
/// so the three sampled slices always fit in it).
fn cut_into_pieces(size: u64, opts: &Options) -> bool {
    size >= opts.pieces_from.max(SAMPLE_FROM as u64)
}

/// Reads and compresses one piece of a big file. The first worker to reach the file
/// picks its method from three sampled slices (as [`looks_incompressible`] does for
/// files read whole); the other pieces use the same.
fn prepare_piece(
    root: &std::path::Path,
    entry: &Entry,
    piece: Piece,
    method: &Mutex<Option<u16>>,
    opts: &Options,
    compressor: &mut Compressor,
) -> Result<Prepared, PackageError> {
    let Kind::File { size, id, .. } = &entry.kind else {
        unreachable!("only files are cut into pieces")
    };
    let size = *size;
    let file = walk::open_walked(root, entry.rel(), *id)?;
    let read_err = |source: io::Error| match source.kind() {
        io::ErrorKind::UnexpectedEof => PackageError::Changed {
            path: entry.rel().to_string(),
            what: "it shrank after it was listed",
        },
        _ => PackageError::Read {
            path: entry.rel().to_string(),
            source,
        },
    };
    let method = {
        let mut m = method.lock().unwrap_or_else(PoisonError::into_inner);
        match *m {
            Some(m) => m,
            None => *m.insert(sampled_method(&file, size, compressor).map_err(read_err)?),
        }
    };
    let start = piece.index * opts.piece_size.max(1);
    let end = (start + opts.piece_size.max(1)).min(size);
    let from = if method == METHOD_DEFLATED {
        start.saturating_sub(DICTIONARY)
    } else {
        start
    };
    let mut buf = vec![
        0u8;
        usize::try_from(end - from)
            .map_err(io::Error::other)
            .map_err(read_err)?
    ];
    file.read_exact_at(&mut buf, from).map_err(read_err)?;
    if piece.is_last() && file.read_at(&mut [0u8], size).map_err(read_err)? > 0 {
        return Err(grew(entry));
    }
    let (dictionary, raw) = buf.split_at((start - from) as usize);
    let crc = libdeflater::crc32(raw);
    let data = if method == METHOD_DEFLATED {
        deflate_piece(dictionary, raw, piece.is_last()).map_err(read_err)?
    } else {
        raw.to_vec()
    };
    Ok(Prepared {
        crc,
        uncompressed: raw.len() as u64,
        method,
        data,
    })
}

/// Deflates or stores a big file, as three sampled slices (start, middle, end) say.
fn sampled_method(file: &File, size: u64, compressor: &mut Compressor) -> io::Result<u16> {
    let slice = SAMPLE_SLICE as u64;
    let mut sample = vec![0u8; 3 * SAMPLE_SLICE];
    for (i, at) in [0, size / 2 - slice / 2, size - slice]
        .into_iter()
        .enumerate()
    {
        file.read_exact_at(&mut sample[i * SAMPLE_SLICE..(i + 1) * SAMPLE_SLICE], at)?;
    }
    let mut out = vec![0u8; compressor.deflate_compress_bound(sample.len())];
    let shrinks =
        matches!(compressor.deflate_compress(&sample, &mut out), Ok(n) if n < sample.len());
    Ok(if shrinks {
        METHOD_DEFLATED
    } else {
        METHOD_STORED
    })
}

/// Deflates one piece, primed with `dictionary` (the bytes before it). Every piece but
/// the last ends with a sync flush: on a byte boundary, with the stream left open, so
/// the next piece's blocks follow it directly.
fn deflate_piece(dictionary: &[u8], input: &[u8], last: bool) -> io::Result<Vec<u8>> {
    use flate2::{Compress, Compression, FlushCompress, Status};
    let mut c = Compress::new(Compression::new(PIECE_LEVEL), false);
    if !dictionary.is_empty() {
        c.set_dictionary(dictionary).map_err(io::Error::other)?;
    }
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(input.len() / 2 + (64 << 10));
    loop {
        let consumed = usize::try_from(c.total_in()).map_err(io::Error::other)?;
        let status = c
            .compress_vec(&input[consumed..], &mut out, flush)
            .map_err(io::Error::other)?;
        let all_in = c.total_in() == input.len() as u64;
        // A flush is complete once it returns with room left in the output.
        let flushed = if last {
            status == Status::StreamEnd
        } else {
            out.len() < out.capacity()
        };
        if all_in && flushed {
            return Ok(out);
        }
        out.reserve(out.capacity().max(64 << 10));
    }
}

/// Reads a file the walk listed, checked to be that file, and at most its listed size:
/// a file that grew since is refused (it could carry the package past the size limit).
fn read_file(
    root: &std::path::Path,
    entry: &Entry,
    size: u64,
    id: FileId,
) -> Result<Vec<u8>, PackageError> {
    let read_err = |source: io::Error| PackageError::Read {
        path: entry.rel().to_string(),
        source,
    };
    let f = walk::open_walked(root, entry.rel(), id)?;
    let cap = usize::try_from(size)
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    let mut data = Vec::with_capacity(cap);
    f.take(size.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(read_err)?;
    if data.len() as u64 > size {
        return Err(grew(entry));
    }
    Ok(data)
}

fn grew(entry: &Entry) -> PackageError {
    PackageError::Changed {
        path: entry.rel().to_string(),
        what: "it grew after it was listed",
    }
}

fn write_in_order<W: Write>(
    entries: &[Entry],
    batches: &[Batch],
    shared: &Shared,
    opts: &Options,
    w: &mut HashWriter<W>,
    central: &mut Vec<Central>,
    sizes: &mut Vec<u64>,
) -> Result<(), WriteError> {
    let mut header = Vec::with_capacity(512);
    let mut open = None;
    for (j, b) in batches.iter().enumerate() {
        let done = {
            let mut st = shared.lock();
            loop {
                if let Some(r) = st.done.remove(&j) {
                    break r;
                }
                if st.abort {
                    return Err(WriteError::Io(io::Error::other(
                        "a compression worker stopped unexpectedly",
                    )));
                }
                st = shared.wait(st);
            }
        };
        for (entry, prepared) in entries[b.start..b.end].iter().zip(done) {
            let p = prepared.map_err(WriteError::Package)?;
            let finished = match b.piece {
                Some(piece) => write_piece(entry, piece, p, opts.force_zip64, w, &mut open)?,
                None => Some(write_entry(entry, p, opts.force_zip64, w, &mut header)?),
            };
            if let Some(c) = finished {
                sizes.push(c.uncompressed);
                central.push(c);
            }
        }
        {
            let mut st = shared.lock();
            st.written = b.end;
            st.next_batch = j + 1;
            st.inflight = st.inflight.saturating_sub(b.cost);
        }
        shared.cv.notify_all();
    }
    Ok(())
}

/// Writes one entry's local header and data; returns its central directory record.
fn write_entry<W: Write>(
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
struct Pieced {
    offset: u64,
    zip64: bool,
    method: u16,
    crc: crc32fast::Hasher,
    compressed: u64,
    uncompressed: u64,
}

/// Writes one piece of a big file (after the local header, for the first); returns the
/// central directory record once the last piece and the data descriptor are out.
fn write_piece<W: Write>(
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
fn write_central<W: Write>(
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
