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
use std::io::{self, BufWriter, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;

use sha2::{Digest, Sha256};

use super::PackageError;
use super::walk::{Entry, Kind};

mod compress;
mod format;

use compress::{Prepared, cut_into_pieces, prepare, prepare_piece};
use format::{Central, HashWriter, write_central, write_entry, write_piece};

/// Default size from which files are cut into pieces rather than held in memory whole.
const PIECES_FROM: u64 = 16 << 20;
/// Default size of a piece.
const PIECE_SIZE: u64 = 4 << 20;

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
    let mut compressor = compress::compressor();
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
