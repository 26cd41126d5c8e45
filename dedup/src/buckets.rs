//! Bucket entries, their sorted run files, k-way merging, candidate pairs and verification.
//!
//! Shared by both forms: the one-machine form writes run files when it spills, the sharded form writes
//! one run file per (band, input file). All files are little-endian, start with an 8-byte magic and a
//! count, and are written to a temporary name then renamed, so a reader never sees half a file.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::DocKey;
use crate::error::{DedupError, Result};
use crate::minhash::jaccard;

/// One document in one band: the band's bucket id and the document key. 24 bytes in memory,
/// 20 bytes on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct BucketEntry {
    pub hash: u64,
    pub key: DocKey,
}

pub(crate) const RUN_MAGIC: &[u8; 8] = b"TRIABK01";
pub(crate) const PAIRS_MAGIC: &[u8; 8] = b"TRIAPR01";
pub(crate) const SHINGLE_INDEX_MAGIC: &[u8; 8] = b"TRIASX01";
const ENTRY_BYTES: u64 = 20;
const PAIR_BYTES: u64 = 24;
const INDEX_BYTES: u64 = 24;

/// Writes `bytes` produced by `fill` to `path` atomically (temporary name in the same directory,
/// then rename).
pub(crate) fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = tmp_name(path);
    let run = || -> std::io::Result<()> {
        let f = File::create(&tmp)?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        fill(&mut w)?;
        // No fsync: the rename protects against a killed task (the case schedulers produce); a
        // machine crash is handled by re-running the task, which is idempotent.
        drop(w.into_inner().map_err(|e| e.into_error())?);
        std::fs::rename(&tmp, path)
    };
    run().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        DedupError::io(path, e)
    })
}

fn tmp_name(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".tmp{}", std::process::id()));
    path.with_file_name(name)
}

pub(crate) fn put_key(w: &mut impl Write, k: DocKey) -> std::io::Result<()> {
    w.write_all(&k.file.to_le_bytes())?;
    w.write_all(&k.record.to_le_bytes())
}

fn get_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes(b[..4].try_into().expect("slice of 4 bytes"))
}
fn get_u64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().expect("slice of 8 bytes"))
}
fn get_key(b: &[u8]) -> DocKey {
    DocKey {
        file: get_u32(b),
        record: get_u64(&b[4..]),
    }
}

/// Opens `path`, checks its magic and that its length matches `count × item` bytes; returns the
/// reader positioned after the header and the count.
pub(crate) fn open_checked(
    path: &Path,
    magic: &[u8; 8],
    item: u64,
) -> Result<(BufReader<File>, u64)> {
    open_checked_with(path, magic, item, 1 << 18)
}

fn open_checked_with(
    path: &Path,
    magic: &[u8; 8],
    item: u64,
    buffer: usize,
) -> Result<(BufReader<File>, u64)> {
    let f = File::open(path).map_err(|e| DedupError::io(path, e))?;
    let len = f.metadata().map_err(|e| DedupError::io(path, e))?.len();
    let mut r = BufReader::with_capacity(buffer, f);
    let mut head = [0u8; 16];
    r.read_exact(&mut head)
        .map_err(|_| DedupError::corrupt(path, "shorter than its header"))?;
    if &head[..8] != magic {
        return Err(DedupError::corrupt(path, "wrong magic"));
    }
    let count = get_u64(&head[8..]);
    if count.checked_mul(item).and_then(|b| b.checked_add(16)) != Some(len) {
        return Err(DedupError::corrupt(
            path,
            format!("header says {count} items, file has {len} bytes"),
        ));
    }
    Ok((r, count))
}

/// Writes sorted entries as a run file.
pub(crate) fn write_run(path: &Path, entries: &[BucketEntry]) -> Result<()> {
    debug_assert!(entries.windows(2).all(|w| w[0] <= w[1]));
    write_atomic(path, |w| {
        w.write_all(RUN_MAGIC)?;
        w.write_all(&(entries.len() as u64).to_le_bytes())?;
        for e in entries {
            w.write_all(&e.hash.to_le_bytes())?;
            put_key(w, e.key)?;
        }
        Ok(())
    })
}

/// Streams the entries of a run file.
pub(crate) struct RunReader {
    path: PathBuf,
    r: BufReader<File>,
    left: u64,
}

impl RunReader {
    /// Opens one of `siblings` run files merged together: the read buffers of a merge share
    /// 16 MiB (between 8 KiB and 256 KiB each), so merging thousands of files stays small.
    pub fn open(path: &Path, siblings: usize) -> Result<Self> {
        let buffer = ((16usize << 20) / siblings.max(1)).clamp(8 << 10, 256 << 10);
        let (r, left) = open_checked_with(path, RUN_MAGIC, ENTRY_BYTES, buffer)?;
        Ok(RunReader {
            path: path.to_owned(),
            r,
            left,
        })
    }

    fn next_entry(&mut self) -> Result<Option<BucketEntry>> {
        if self.left == 0 {
            return Ok(None);
        }
        let mut b = [0u8; ENTRY_BYTES as usize];
        self.r
            .read_exact(&mut b)
            .map_err(|e| DedupError::io(&self.path, e))?;
        self.left -= 1;
        Ok(Some(BucketEntry {
            hash: get_u64(&b),
            key: get_key(&b[8..]),
        }))
    }
}

/// Merges sorted sources (run files and one sorted in-memory vector) into one sorted stream.
pub(crate) struct Merger {
    readers: Vec<RunReader>,
    mem: Vec<BucketEntry>,
    mem_pos: usize,
    /// (entry, source): source `readers.len()` is the in-memory vector.
    heap: BinaryHeap<Reverse<(BucketEntry, usize)>>,
}

impl Merger {
    pub fn new(readers: Vec<RunReader>, mem: Vec<BucketEntry>) -> Result<Self> {
        let mut m = Merger {
            readers,
            mem,
            mem_pos: 0,
            heap: BinaryHeap::new(),
        };
        for i in 0..=m.readers.len() {
            m.refill(i)?;
        }
        Ok(m)
    }

    fn refill(&mut self, src: usize) -> Result<()> {
        let next = if src == self.readers.len() {
            let e = self.mem.get(self.mem_pos).copied();
            self.mem_pos += 1;
            e
        } else {
            self.readers[src].next_entry()?
        };
        if let Some(e) = next {
            self.heap.push(Reverse((e, src)));
        }
        Ok(())
    }

    pub fn next_entry(&mut self) -> Result<Option<BucketEntry>> {
        match self.heap.pop() {
            None => Ok(None),
            Some(Reverse((e, src))) => {
                self.refill(src)?;
                Ok(Some(e))
            }
        }
    }
}

/// Most earlier members a document is verified against before giving up: bounds the work in
/// buckets crowded with documents that are not mutually similar.
const VERIFY_CAP: usize = 16;

/// Reads the sorted stream and emits the candidate pairs of every bucket: each member is linked to the
/// first (smallest) member; with `verify`, to the first earlier member whose exact Jaccard similarity
/// reaches the threshold, if any.
pub(crate) fn pairs_from_stream(
    merger: &mut Merger,
    verify: Option<(f64, &ShingleStore)>,
) -> Result<Vec<(DocKey, DocKey)>> {
    let mut pairs = Vec::new();
    let mut run: Vec<DocKey> = Vec::new();
    let mut cur: Option<u64> = None;
    loop {
        let next = merger.next_entry()?;
        if next.map(|e| e.hash) != cur {
            emit_run(&mut run, verify, &mut pairs)?;
            run.clear();
        }
        match next {
            None => break,
            Some(e) => {
                cur = Some(e.hash);
                if run.last() != Some(&e.key) {
                    run.push(e.key);
                }
            }
        }
    }
    Ok(pairs)
}

fn emit_run(
    run: &mut [DocKey],
    verify: Option<(f64, &ShingleStore)>,
    pairs: &mut Vec<(DocKey, DocKey)>,
) -> Result<()> {
    if run.len() < 2 {
        return Ok(());
    }
    match verify {
        None => pairs.extend(run[1..].iter().map(|&k| (run[0], k))),
        Some((threshold, store)) => {
            let mut sets: Vec<Option<Vec<u64>>> = vec![None; run.len().min(VERIFY_CAP)];
            for j in 1..run.len() {
                let sj = store.get(run[j])?;
                for i in 0..j.min(VERIFY_CAP) {
                    if sets[i].is_none() {
                        sets[i] = Some(store.get(run[i])?);
                    }
                    let si = sets[i].as_deref().expect("filled just above");
                    if jaccard(si, &sj) >= threshold {
                        pairs.push((run[i], run[j]));
                        break;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Writes pairs to a pairs file.
pub(crate) fn write_pairs(path: &Path, pairs: &[(DocKey, DocKey)]) -> Result<()> {
    write_atomic(path, |w| {
        w.write_all(PAIRS_MAGIC)?;
        w.write_all(&(pairs.len() as u64).to_le_bytes())?;
        for &(a, b) in pairs {
            put_key(w, a)?;
            put_key(w, b)?;
        }
        Ok(())
    })
}

/// Reads a pairs file.
pub(crate) fn read_pairs(path: &Path) -> Result<Vec<(DocKey, DocKey)>> {
    let (mut r, count) = open_checked(path, PAIRS_MAGIC, PAIR_BYTES)?;
    let mut out = Vec::with_capacity(count as usize);
    let mut b = [0u8; PAIR_BYTES as usize];
    for _ in 0..count {
        r.read_exact(&mut b).map_err(|e| DedupError::io(path, e))?;
        out.push((get_key(&b), get_key(&b[12..])));
    }
    Ok(out)
}

/// Shingle sets kept on disk for verification: data files of raw little-endian u64 values and an
/// in-memory index of 32 bytes per document.
#[derive(Debug, Default)]
pub(crate) struct ShingleStore {
    files: Vec<(PathBuf, File)>,
    /// (key, file slot, byte offset, number of shingles), sorted by key.
    index: Vec<(DocKey, u32, u64, u32)>,
}

/// Where each document's shingle set lies in a data file: (key, byte offset, number of shingles).
pub(crate) type ShingleIndex = Vec<(DocKey, u64, u32)>;

/// Appends shingle sets to one data file, recording where each one lies.
pub(crate) struct ShingleWriter {
    path: PathBuf,
    w: BufWriter<File>,
    offset: u64,
    pub index: Vec<(DocKey, u64, u32)>,
}

impl ShingleWriter {
    pub fn create(path: &Path) -> Result<Self> {
        let f = File::create(path).map_err(|e| DedupError::io(path, e))?;
        Ok(ShingleWriter {
            path: path.to_owned(),
            w: BufWriter::with_capacity(1 << 20, f),
            offset: 0,
            index: Vec::new(),
        })
    }

    pub fn push(&mut self, key: DocKey, shingles: &[u64]) -> Result<()> {
        for s in shingles {
            self.w
                .write_all(&s.to_le_bytes())
                .map_err(|e| DedupError::io(&self.path, e))?;
        }
        self.index.push((key, self.offset, shingles.len() as u32));
        self.offset += 8 * shingles.len() as u64;
        Ok(())
    }

    /// Flushes the data and returns it with its index.
    pub fn finish(self) -> Result<(PathBuf, ShingleIndex)> {
        let path = self.path;
        drop(
            self.w
                .into_inner()
                .map_err(|e| DedupError::io(&path, e.into_error()))?,
        );
        Ok((path, self.index))
    }
}

/// Writes a shingle index file next to its data file.
pub(crate) fn write_shingle_index(path: &Path, index: &[(DocKey, u64, u32)]) -> Result<()> {
    write_atomic(path, |w| {
        w.write_all(SHINGLE_INDEX_MAGIC)?;
        w.write_all(&(index.len() as u64).to_le_bytes())?;
        for &(k, off, len) in index {
            put_key(w, k)?;
            w.write_all(&off.to_le_bytes())?;
            w.write_all(&len.to_le_bytes())?;
        }
        Ok(())
    })
}

/// Reads a shingle index file.
pub(crate) fn read_shingle_index(path: &Path) -> Result<Vec<(DocKey, u64, u32)>> {
    let (mut r, count) = open_checked(path, SHINGLE_INDEX_MAGIC, INDEX_BYTES)?;
    let mut out = Vec::with_capacity(count as usize);
    let mut b = [0u8; INDEX_BYTES as usize];
    for _ in 0..count {
        r.read_exact(&mut b).map_err(|e| DedupError::io(path, e))?;
        out.push((get_key(&b), get_u64(&b[12..]), get_u32(&b[20..])));
    }
    Ok(out)
}

impl ShingleStore {
    /// Adds a data file and its index.
    pub fn add_file(&mut self, path: &Path, index: Vec<(DocKey, u64, u32)>) -> Result<()> {
        let f = File::open(path).map_err(|e| DedupError::io(path, e))?;
        let slot = self.files.len() as u32;
        self.files.push((path.to_owned(), f));
        self.index
            .extend(index.into_iter().map(|(k, o, l)| (k, slot, o, l)));
        Ok(())
    }

    /// Sorts the index; call once after the last [`add_file`](Self::add_file).
    pub fn seal(&mut self) {
        self.index.sort_unstable();
    }

    /// The shingle set of `key` (empty when the document was not stored).
    pub fn get(&self, key: DocKey) -> Result<Vec<u64>> {
        let Ok(i) = self.index.binary_search_by_key(&key, |e| e.0) else {
            return Ok(Vec::new());
        };
        let (_, slot, off, len) = self.index[i];
        let (path, f) = &self.files[slot as usize];
        let mut bytes = vec![0u8; 8 * len as usize];
        read_at(f, &mut bytes, off).map_err(|e| DedupError::io(path, e))?;
        Ok(bytes.chunks_exact(8).map(get_u64).collect())
    }
}

#[cfg(unix)]
fn read_at(f: &File, buf: &mut [u8], off: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    f.read_exact_at(buf, off)
}

#[cfg(windows)]
fn read_at(f: &File, mut buf: &mut [u8], mut off: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        let n = f.seek_read(buf, off)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf = &mut buf[n..];
        off += n as u64;
    }
    Ok(())
}
