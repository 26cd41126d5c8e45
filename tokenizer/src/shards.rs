//! Megatron indexed datasets (`PREFIX.bin` + `PREFIX.idx`), the format NeMo and Megatron-LM train
//! from, plus tria's sidecar `PREFIX.json`.
//!
//! Layout of `PREFIX.idx` (all integers little-endian), as megatron-core's `_IndexWriter` writes it:
//!
//! | bytes | content |
//! |---|---|
//! | 9 | magic `MMIDIDX\x00\x00` |
//! | 8 | version, u64 = 1 |
//! | 1 | dtype code, u8 (megatron-core `DType`: 1 u8, 2 i8, 3 i16, 4 i32, 5 i64, 6 f64, 7 f32, 8 u16) |
//! | 8 | sequence count S, u64 |
//! | 8 | document-index count D (= documents + 1), u64 |
//! | 4·S | sequence lengths in tokens, i32 |
//! | 8·S | sequence start offsets in `.bin`, bytes, i64 |
//! | 8·D | document indices: document `d` is sequences `[idx[d], idx[d+1])`, starting 0, i64 |
//!
//! `PREFIX.bin` holds the tokens of all sequences back to back in the dtype. tria writes one
//! sequence per document, with the end-of-document token appended, so D = S + 1.
//!
//! Files are written under `*.tmp` names and renamed once complete (`.bin`, then `.idx`, then the
//! sidecar), so a reader never sees a half-written shard under its final name.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::mmap::MappedFile;

/// The index file's magic bytes.
pub const IDX_MAGIC: &[u8; 9] = b"MMIDIDX\x00\x00";
/// The only index version megatron-core writes and reads.
pub const IDX_VERSION: u64 = 1;
/// Vocabularies below this size are stored as u16 (Megatron's own threshold in `preprocess_data`).
pub const U16_VOCAB_LIMIT: u32 = 65_500;
const HEADER_LEN: usize = 9 + 8 + 1 + 8 + 8;
const SIDECAR_FORMAT: &str = "tria-shard/1";

/// The token type stored in `.bin`. Only the two that tria writes are supported for reading too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    /// `numpy.uint16`, megatron-core code 8.
    Uint16,
    /// `numpy.int32`, megatron-core code 4.
    Int32,
}

impl DType {
    /// u16 when the vocabulary is below 65,500 tokens, else i32 (as Megatron's `preprocess_data`).
    pub fn for_vocab(vocab_size: u32) -> DType {
        if vocab_size < U16_VOCAB_LIMIT {
            DType::Uint16
        } else {
            DType::Int32
        }
    }
    /// megatron-core's `DType` code.
    pub fn code(self) -> u8 {
        match self {
            DType::Uint16 => 8,
            DType::Int32 => 4,
        }
    }
    /// The dtype for a megatron-core code, if tria supports it.
    pub fn from_code(code: u8) -> Option<DType> {
        match code {
            8 => Some(DType::Uint16),
            4 => Some(DType::Int32),
            _ => None,
        }
    }
    /// Bytes per token.
    pub fn size(self) -> usize {
        match self {
            DType::Uint16 => 2,
            DType::Int32 => 4,
        }
    }
    /// The numpy name.
    pub fn name(self) -> &'static str {
        match self {
            DType::Uint16 => "uint16",
            DType::Int32 => "int32",
        }
    }
    fn max_token(self) -> u32 {
        match self {
            DType::Uint16 => u16::MAX as u32,
            DType::Int32 => i32::MAX as u32,
        }
    }
}

/// The three file names of a shard prefix.
pub fn shard_paths(prefix: &Path) -> (PathBuf, PathBuf, PathBuf) {
    (
        with_suffix(prefix, ".bin"),
        with_suffix(prefix, ".idx"),
        with_suffix(prefix, ".json"),
    )
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Counts for one language in a shard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LangCounts {
    /// Documents.
    pub documents: u64,
    /// Tokens, end-of-document tokens included.
    pub tokens: u64,
    /// Original UTF-8 bytes of the documents' text.
    pub utf8_bytes: u64,
}

/// tria's sidecar `PREFIX.json`: what the shard was made with, and what bits-per-byte needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sidecar {
    /// `"tria-shard/1"`.
    pub format: String,
    /// xxh3-64 (hex) of the `tokenizer.json` bytes, see [`crate::tokenizer_hash`].
    pub tokenizer_hash: String,
    /// Vocabulary size of the tokenizer (added tokens included).
    pub vocab_size: u32,
    /// Token dtype in `.bin`.
    pub dtype: DType,
    /// The end-of-document token appended to each document, if any.
    pub eod_token: Option<u32>,
    /// Number of documents (= sequences).
    pub documents: u64,
    /// Number of tokens, EOD tokens included.
    pub tokens: u64,
    /// Total original UTF-8 bytes.
    pub utf8_bytes: u64,
    /// Per-language counts, keyed by language code (`""` when unknown).
    pub languages: BTreeMap<String, LangCounts>,
    /// The language codes that `doc_lang` indexes into, in order of first appearance.
    pub lang_table: Vec<String>,
    /// Each document's original UTF-8 byte count, in shard order.
    pub doc_utf8_bytes: Vec<u64>,
    /// Each document's language, as an index into `lang_table`.
    pub doc_lang: Vec<u32>,
}

impl Sidecar {
    /// Reads and checks a sidecar.
    pub fn read(path: &Path) -> Result<Sidecar> {
        let bytes = std::fs::read(path).map_err(Error::io(path))?;
        let s: Sidecar = serde_json::from_slice(&bytes).map_err(|e| Error::BadSidecar {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let bad = |reason: String| Error::BadSidecar {
            path: path.to_owned(),
            reason,
        };
        if s.format != SIDECAR_FORMAT {
            return Err(bad(format!("unknown format {:?}", s.format)));
        }
        if s.doc_utf8_bytes.len() as u64 != s.documents || s.doc_lang.len() as u64 != s.documents {
            return Err(bad(
                "per-document arrays do not match the document count".into()
            ));
        }
        if let Some(&l) = s
            .doc_lang
            .iter()
            .find(|&&l| l as usize >= s.lang_table.len())
        {
            return Err(bad(format!("language index {l} past the language table")));
        }
        Ok(s)
    }
}

/// What a finished shard holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardSummary {
    /// The prefix written.
    pub prefix: PathBuf,
    /// Token dtype.
    pub dtype: DType,
    /// Documents written.
    pub documents: u64,
    /// Tokens written, EOD included.
    pub tokens: u64,
    /// Bytes of `.bin`.
    pub bin_bytes: u64,
}

/// Options of a shard: which tokenizer made it.
#[derive(Debug, Clone)]
pub struct ShardMeta {
    /// See [`crate::tokenizer_hash`].
    pub tokenizer_hash: String,
    /// Vocabulary size; decides the dtype unless `dtype` is set.
    pub vocab_size: u32,
    /// The end-of-document token the caller appends (recorded in the sidecar only).
    pub eod_token: Option<u32>,
    /// Force a dtype (else [`DType::for_vocab`]).
    pub dtype: Option<DType>,
}

/// Writes one Megatron indexed dataset, one document at a time, in the order given.
///
/// Memory: 12 bytes per document for the index plus 12 for the sidecar arrays, and a 1 MiB
/// write buffer; tokens go straight to disk.
#[derive(Debug)]
pub struct ShardWriter {
    prefix: PathBuf,
    tmp: [PathBuf; 3],
    bin: BufWriter<File>,
    meta: ShardMeta,
    dtype: DType,
    lengths: Vec<i32>,
    bin_bytes: u64,
    tokens: u64,
    utf8_bytes: u64,
    languages: BTreeMap<String, LangCounts>,
    lang_ids: HashMap<String, u32>,
    lang_table: Vec<String>,
    doc_utf8_bytes: Vec<u64>,
    doc_lang: Vec<u32>,
    buf: Vec<u8>,
    finished: bool,
}

fn tmp_name(p: &Path) -> PathBuf {
    with_suffix(p, ".tmp")
}

impl ShardWriter {
    /// Creates `PREFIX.bin.tmp`; nothing appears under the final names until [`finish`](Self::finish).
    pub fn create(prefix: impl Into<PathBuf>, meta: ShardMeta) -> Result<ShardWriter> {
        let prefix = prefix.into();
        let (bin, idx, json) = shard_paths(&prefix);
        let tmp = [tmp_name(&bin), tmp_name(&idx), tmp_name(&json)];
        let file = File::create(&tmp[0]).map_err(Error::io(&tmp[0]))?;
        let dtype = meta.dtype.unwrap_or(DType::for_vocab(meta.vocab_size));
        if dtype == DType::Uint16 && meta.vocab_size > 65_536 {
            return Err(Error::Config(format!(
                "vocabulary of {} tokens does not fit uint16",
                meta.vocab_size
            )));
        }
        Ok(ShardWriter {
            prefix,
            tmp,
            bin: BufWriter::with_capacity(1 << 20, file),
            meta,
            dtype,
            lengths: Vec::new(),
            bin_bytes: 0,
            tokens: 0,
            utf8_bytes: 0,
            languages: BTreeMap::new(),
            lang_ids: HashMap::new(),
            lang_table: Vec::new(),
            doc_utf8_bytes: Vec::new(),
            doc_lang: Vec::new(),
            buf: Vec::new(),
            finished: false,
        })
    }

    /// The dtype tokens are written in.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Documents added so far.
    pub fn documents(&self) -> u64 {
        self.lengths.len() as u64
    }

    /// Appends one document as one sequence. `tokens` must already end with the EOD token if
    /// one is wanted; `utf8_bytes` is the length of the document's original text.
    pub fn add_document(&mut self, tokens: &[u32], lang: &str, utf8_bytes: u64) -> Result<()> {
        let len = i32::try_from(tokens.len()).map_err(|_| {
            Error::Config(format!("document of {} tokens exceeds i32", tokens.len()))
        })?;
        self.buf.clear();
        let max = self.dtype.max_token();
        for &t in tokens {
            if t > max {
                return Err(Error::TokenOutOfRange {
                    path: self.prefix.clone(),
                    doc: self.lengths.len() as u64,
                    token: t,
                    dtype: self.dtype.name(),
                });
            }
            match self.dtype {
                DType::Uint16 => self.buf.extend_from_slice(&(t as u16).to_le_bytes()),
                DType::Int32 => self.buf.extend_from_slice(&(t as i32).to_le_bytes()),
            }
        }
        self.bin
            .write_all(&self.buf)
            .map_err(Error::io(&self.tmp[0]))?;
        self.bin_bytes += self.buf.len() as u64;
        self.lengths.push(len);
        self.tokens += tokens.len() as u64;
        self.utf8_bytes += utf8_bytes;
        let id = match self.lang_ids.get(lang) {
            Some(&id) => id,
            None => {
                let id = self.lang_table.len() as u32;
                self.lang_table.push(lang.to_owned());
                self.lang_ids.insert(lang.to_owned(), id);
                id
            }
        };
        let c = self.languages.entry(lang.to_owned()).or_default();
        c.documents += 1;
        c.tokens += tokens.len() as u64;
        c.utf8_bytes += utf8_bytes;
        self.doc_utf8_bytes.push(utf8_bytes);
        self.doc_lang.push(id);
        Ok(())
    }

    /// Flushes `.bin`, writes `.idx` and the sidecar, and renames all three into place.
    pub fn finish(mut self) -> Result<ShardSummary> {
        self.bin.flush().map_err(Error::io(&self.tmp[0]))?;
        self.bin
            .get_ref()
            .sync_all()
            .map_err(Error::io(&self.tmp[0]))?;
        let doc_idx: Vec<i64> = (0..=self.lengths.len() as i64).collect();
        write_index(&self.tmp[1], self.dtype, &self.lengths, &doc_idx)?;
        let sidecar = Sidecar {
            format: SIDECAR_FORMAT.into(),
            tokenizer_hash: self.meta.tokenizer_hash.clone(),
            vocab_size: self.meta.vocab_size,
            dtype: self.dtype,
            eod_token: self.meta.eod_token,
            documents: self.lengths.len() as u64,
            tokens: self.tokens,
            utf8_bytes: self.utf8_bytes,
            languages: std::mem::take(&mut self.languages),
            lang_table: std::mem::take(&mut self.lang_table),
            doc_utf8_bytes: std::mem::take(&mut self.doc_utf8_bytes),
            doc_lang: std::mem::take(&mut self.doc_lang),
        };
        write_sidecar(&self.tmp[2], &sidecar)?;
        let (bin, idx, json) = shard_paths(&self.prefix);
        for (from, to) in self.tmp.iter().zip([&bin, &idx, &json]) {
            std::fs::rename(from, to).map_err(Error::io(to))?;
        }
        self.finished = true;
        Ok(ShardSummary {
            prefix: self.prefix.clone(),
            dtype: self.dtype,
            documents: self.lengths.len() as u64,
            tokens: self.tokens,
            bin_bytes: self.bin_bytes,
        })
    }
}

impl Drop for ShardWriter {
    /// An unfinished writer (error, panic) removes its temporary files.
    fn drop(&mut self) {
        if !self.finished {
            for t in &self.tmp {
                let _ = std::fs::remove_file(t);
            }
        }
    }
}

fn write_sidecar(path: &Path, s: &Sidecar) -> Result<()> {
    let f = File::create(path).map_err(Error::io(path))?;
    let mut w = BufWriter::new(f);
    serde_json::to_writer(&mut w, s).map_err(|e| Error::Io {
        path: path.to_owned(),
        source: e.into(),
    })?;
    w.write_all(b"\n").map_err(Error::io(path))?;
    w.flush().map_err(Error::io(path))
}

/// Writes an index file for sequences of `lengths` tokens stored back to back.
fn write_index(path: &Path, dtype: DType, lengths: &[i32], doc_idx: &[i64]) -> Result<()> {
    let f = File::create(path).map_err(Error::io(path))?;
    let mut w = BufWriter::with_capacity(1 << 20, f);
    let io = Error::io(path);
    let res = (|| -> std::io::Result<()> {
        w.write_all(IDX_MAGIC)?;
        w.write_all(&IDX_VERSION.to_le_bytes())?;
        w.write_all(&[dtype.code()])?;
        w.write_all(&(lengths.len() as u64).to_le_bytes())?;
        w.write_all(&(doc_idx.len() as u64).to_le_bytes())?;
        for l in lengths {
            w.write_all(&l.to_le_bytes())?;
        }
        let mut ptr: i64 = 0;
        for &l in lengths {
            w.write_all(&ptr.to_le_bytes())?;
            ptr += l as i64 * dtype.size() as i64;
        }
        for d in doc_idx {
            w.write_all(&d.to_le_bytes())?;
        }
        w.flush()?;
        w.get_ref().sync_all()
    })();
    res.map_err(io)
}

/// A read-only, memory-mapped Megatron indexed dataset. Opening validates the whole index
/// (bounds of every sequence against `.bin`, monotone document indices), so access afterwards
/// cannot fail except for an index past the end.
#[derive(Debug)]
pub struct IndexedDataset {
    prefix: PathBuf,
    idx: MappedFile,
    bin: MappedFile,
    dtype: DType,
    sequences: usize,
    doc_entries: usize,
}

/// One sequence's tokens, borrowed from the mapped `.bin` (possibly unaligned).
#[derive(Debug, Clone, Copy)]
pub struct Sequence<'a> {
    bytes: &'a [u8],
    dtype: DType,
}

impl<'a> Sequence<'a> {
    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.bytes.len() / self.dtype.size()
    }
    /// True when the sequence has no tokens.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
    /// The tokens, decoded from little-endian without any alignment requirement.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = u32> + 'a {
        let dtype = self.dtype;
        self.bytes
            .chunks_exact(dtype.size())
            .map(move |c| match dtype {
                DType::Uint16 => u16::from_le_bytes([c[0], c[1]]) as u32,
                DType::Int32 => i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as u32,
            })
    }
    /// The tokens as a vector.
    pub fn to_vec(&self) -> Vec<u32> {
        self.iter().collect()
    }
}

fn read_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("slice of 8"))
}
fn read_i64(b: &[u8], at: usize) -> i64 {
    i64::from_le_bytes(b[at..at + 8].try_into().expect("slice of 8"))
}
fn read_i32(b: &[u8], at: usize) -> i32 {
    i32::from_le_bytes(b[at..at + 4].try_into().expect("slice of 4"))
}

impl IndexedDataset {
    /// Maps `PREFIX.idx` and `PREFIX.bin` and validates the index.
    pub fn open(prefix: impl Into<PathBuf>) -> Result<IndexedDataset> {
        let prefix = prefix.into();
        let (bin_path, idx_path, _) = shard_paths(&prefix);
        let idx = MappedFile::open(&idx_path)?;
        let bin = MappedFile::open(&bin_path)?;
        let bad = |reason: String| Error::BadIndex {
            path: idx_path.clone(),
            reason,
        };
        if idx.len() < HEADER_LEN {
            return Err(bad(format!(
                "{} bytes is shorter than the header",
                idx.len()
            )));
        }
        if &idx[..9] != IDX_MAGIC {
            return Err(bad("wrong magic (expected MMIDIDX)".into()));
        }
        let version = read_u64(&idx, 9);
        if version != IDX_VERSION {
            return Err(bad(format!("unsupported version {version}")));
        }
        let code = idx[17];
        let dtype = DType::from_code(code).ok_or_else(|| {
            bad(format!(
                "unsupported dtype code {code} (tria reads 4 and 8)"
            ))
        })?;
        let sequences = read_u64(&idx, 18);
        let doc_entries = read_u64(&idx, 26);
        let need = (sequences as u128) * 12 + (doc_entries as u128) * 8 + HEADER_LEN as u128;
        if need > idx.len() as u128 {
            return Err(bad(format!(
                "{sequences} sequences and {doc_entries} document indices need {need} bytes, file has {}",
                idx.len()
            )));
        }
        let ds = IndexedDataset {
            prefix,
            idx,
            bin,
            dtype,
            sequences: sequences as usize,
            doc_entries: doc_entries as usize,
        };
        for i in 0..ds.sequences {
            let (len, ptr) = (ds.raw_len(i), ds.raw_ptr(i));
            if len < 0 || ptr < 0 {
                return Err(bad(format!("sequence {i}: negative length or offset")));
            }
            let end = ptr as u128 + len as u128 * dtype.size() as u128;
            if end > ds.bin.len() as u128 {
                return Err(Error::BadIndex {
                    path: bin_path,
                    reason: format!("sequence {i} ends at byte {end}, past the end of .bin"),
                });
            }
        }
        let mut prev = 0i64;
        for d in 0..ds.doc_entries {
            let v = ds.raw_doc(d);
            if v < prev || v as u64 > sequences || (d == 0 && v != 0) {
                return Err(bad(format!(
                    "document index {d} = {v} is not monotone from 0"
                )));
            }
            prev = v;
        }
        Ok(ds)
    }

    fn raw_len(&self, i: usize) -> i32 {
        read_i32(&self.idx, HEADER_LEN + 4 * i)
    }
    fn raw_ptr(&self, i: usize) -> i64 {
        read_i64(&self.idx, HEADER_LEN + 4 * self.sequences + 8 * i)
    }
    fn raw_doc(&self, d: usize) -> i64 {
        read_i64(&self.idx, HEADER_LEN + 12 * self.sequences + 8 * d)
    }

    /// The prefix this dataset was opened from.
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }
    /// Token dtype.
    pub fn dtype(&self) -> DType {
        self.dtype
    }
    /// Number of sequences.
    pub fn len(&self) -> usize {
        self.sequences
    }
    /// True when there are no sequences.
    pub fn is_empty(&self) -> bool {
        self.sequences == 0
    }
    /// Number of documents (document-index entries minus one).
    pub fn documents(&self) -> usize {
        self.doc_entries.saturating_sub(1)
    }
    /// Sequence `i`, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<Sequence<'_>> {
        if i >= self.sequences {
            return None;
        }
        let start = self.raw_ptr(i) as usize;
        let len = self.raw_len(i) as usize * self.dtype.size();
        Some(Sequence {
            bytes: &self.bin[start..start + len],
            dtype: self.dtype,
        })
    }
    /// Sequence `i` as a `Result` naming the file.
    pub fn sequence(&self, i: usize) -> Result<Sequence<'_>> {
        self.get(i).ok_or_else(|| Error::OutOfRange {
            path: self.prefix.clone(),
            index: i,
            len: self.sequences,
        })
    }
    /// The sequence range `[start, end)` of document `d`.
    pub fn document(&self, d: usize) -> Option<std::ops::Range<usize>> {
        if d + 1 >= self.doc_entries {
            return None;
        }
        Some(self.raw_doc(d) as usize..self.raw_doc(d + 1) as usize)
    }
    /// Length in tokens of every sequence.
    pub fn sequence_lengths(&self) -> impl ExactSizeIterator<Item = usize> + '_ {
        (0..self.sequences).map(|i| self.raw_len(i) as usize)
    }
    /// Total tokens.
    pub fn total_tokens(&self) -> u64 {
        self.sequence_lengths().map(|l| l as u64).sum()
    }
}

/// Concatenates several shards into `out` (documents in input order). All inputs must share the
/// dtype, and when they all have sidecars, the tokenizer hash; the merged sidecar is written only
/// when every input has one. Returns the summary and whether a sidecar was written.
pub fn merge(inputs: &[PathBuf], out: &Path) -> Result<(ShardSummary, bool)> {
    let first = inputs
        .first()
        .ok_or_else(|| Error::Config("merge needs at least one input prefix".into()))?;
    let datasets = inputs
        .iter()
        .map(IndexedDataset::open)
        .collect::<Result<Vec<_>>>()?;
    let dtype = datasets[0].dtype();
    let mut sidecars = Vec::new();
    for (p, ds) in inputs.iter().zip(&datasets) {
        if ds.dtype() != dtype {
            return Err(Error::Incompatible {
                path: p.clone(),
                reason: format!(
                    "dtype {} differs from {}'s {}",
                    ds.dtype().name(),
                    first.display(),
                    dtype.name()
                ),
            });
        }
        let json = shard_paths(p).2;
        if json.exists() {
            sidecars.push(Sidecar::read(&json)?);
        }
    }
    let with_sidecar = sidecars.len() == inputs.len();
    if with_sidecar {
        for (p, s) in inputs.iter().zip(&sidecars) {
            if s.tokenizer_hash != sidecars[0].tokenizer_hash {
                return Err(Error::Incompatible {
                    path: p.clone(),
                    reason: format!(
                        "tokenizer hash {} differs from {}'s {}",
                        s.tokenizer_hash,
                        first.display(),
                        sidecars[0].tokenizer_hash
                    ),
                });
            }
        }
    }
    let (bin, idx, json) = shard_paths(out);
    let tmp = [tmp_name(&bin), tmp_name(&idx), tmp_name(&json)];
    let cleanup = |e: Error| {
        for t in &tmp {
            let _ = std::fs::remove_file(t);
        }
        e
    };
    let mut lengths = Vec::new();
    let mut doc_idx = vec![0i64];
    let mut bin_bytes = 0u64;
    {
        let f = File::create(&tmp[0]).map_err(Error::io(&tmp[0]))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        for ds in &datasets {
            let base = lengths.len() as i64;
            for i in 0..ds.len() {
                let s = ds.get(i).expect("i < len");
                w.write_all(s.bytes)
                    .map_err(Error::io(&tmp[0]))
                    .map_err(cleanup)?;
                bin_bytes += s.bytes.len() as u64;
                lengths.push(s.len() as i32);
            }
            for d in 1..ds.doc_entries {
                doc_idx.push(base + ds.raw_doc(d));
            }
        }
        w.flush().map_err(Error::io(&tmp[0])).map_err(cleanup)?;
    }
    write_index(&tmp[1], dtype, &lengths, &doc_idx).map_err(cleanup)?;
    if with_sidecar {
        let mut m = sidecars[0].clone();
        m.documents = 0;
        m.tokens = 0;
        m.utf8_bytes = 0;
        m.languages.clear();
        m.lang_table.clear();
        m.doc_utf8_bytes.clear();
        m.doc_lang.clear();
        let mut ids: HashMap<String, u32> = HashMap::new();
        for s in &sidecars {
            m.documents += s.documents;
            m.tokens += s.tokens;
            m.utf8_bytes += s.utf8_bytes;
            for (k, v) in &s.languages {
                let c = m.languages.entry(k.clone()).or_default();
                c.documents += v.documents;
                c.tokens += v.tokens;
                c.utf8_bytes += v.utf8_bytes;
            }
            m.doc_utf8_bytes.extend_from_slice(&s.doc_utf8_bytes);
            for &l in &s.doc_lang {
                let name = &s.lang_table[l as usize];
                let id = *ids.entry(name.clone()).or_insert_with(|| {
                    m.lang_table.push(name.clone());
                    m.lang_table.len() as u32 - 1
                });
                m.doc_lang.push(id);
            }
        }
        write_sidecar(&tmp[2], &m).map_err(cleanup)?;
    }
    let _ = std::fs::remove_file(&json);
    for (from, to) in tmp
        .iter()
        .zip([&bin, &idx, &json])
        .take(if with_sidecar { 3 } else { 2 })
    {
        std::fs::rename(from, to)
            .map_err(Error::io(to))
            .map_err(cleanup)?;
    }
    Ok((
        ShardSummary {
            prefix: out.to_owned(),
            dtype,
            documents: (doc_idx.len() - 1) as u64,
            tokens: lengths.iter().map(|&l| l as u64).sum(),
            bin_bytes,
        },
        with_sidecar,
    ))
}

/// A summary for `tria shards inspect`.
#[derive(Debug, Clone)]
pub struct Inspection {
    /// The prefix inspected.
    pub prefix: PathBuf,
    /// Token dtype.
    pub dtype: DType,
    /// Sequences in the index.
    pub sequences: usize,
    /// Documents in the index.
    pub documents: usize,
    /// Total tokens.
    pub tokens: u64,
    /// Shortest and longest sequence, in tokens.
    pub min_len: usize,
    /// Longest sequence.
    pub max_len: usize,
    /// The sidecar, when present.
    pub sidecar: Option<Sidecar>,
    /// The first documents' tokens (one sequence each).
    pub first: Vec<Vec<u32>>,
    /// The same, decoded, when a tokenizer was given.
    pub first_text: Vec<String>,
}

/// Reads counts and the first `n_first` sequences; decodes them when `tokenizer` is given.
pub fn inspect(
    prefix: &Path,
    n_first: usize,
    tokenizer: Option<&tokenizers::Tokenizer>,
) -> Result<Inspection> {
    let ds = IndexedDataset::open(prefix)?;
    let json = shard_paths(prefix).2;
    let sidecar = if json.exists() {
        Some(Sidecar::read(&json)?)
    } else {
        None
    };
    let (mut min_len, mut max_len) = (usize::MAX, 0);
    for l in ds.sequence_lengths() {
        min_len = min_len.min(l);
        max_len = max_len.max(l);
    }
    let first: Vec<Vec<u32>> = (0..n_first.min(ds.len()))
        .map(|i| ds.get(i).expect("i < len").to_vec())
        .collect();
    let mut first_text = Vec::new();
    if let Some(tk) = tokenizer {
        for (i, t) in first.iter().enumerate() {
            first_text.push(tk.decode(t, false).map_err(|e| Error::Tokenizer {
                what: format!("{}: decoding sequence {i}", prefix.display()),
                message: e.to_string(),
            })?);
        }
    }
    Ok(Inspection {
        prefix: prefix.to_owned(),
        dtype: ds.dtype(),
        sequences: ds.len(),
        documents: ds.documents(),
        tokens: ds.total_tokens(),
        min_len: if ds.is_empty() { 0 } else { min_len },
        max_len,
        sidecar,
        first,
        first_text,
    })
}

impl std::fmt::Display for Inspection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "prefix     {}", self.prefix.display())?;
        writeln!(f, "dtype      {}", self.dtype.name())?;
        writeln!(f, "sequences  {}", self.sequences)?;
        writeln!(f, "documents  {}", self.documents)?;
        writeln!(f, "tokens     {}", self.tokens)?;
        writeln!(f, "seq len    min {} max {}", self.min_len, self.max_len)?;
        if let Some(s) = &self.sidecar {
            writeln!(
                f,
                "tokenizer  {} (vocab {})",
                s.tokenizer_hash, s.vocab_size
            )?;
            writeln!(f, "utf8 bytes {}", s.utf8_bytes)?;
            if s.tokens > 0 {
                writeln!(f, "bytes/tok  {:.3}", s.utf8_bytes as f64 / s.tokens as f64)?;
            }
            for (lang, c) in &s.languages {
                writeln!(
                    f,
                    "  lang {:<4} docs {:>10} tokens {:>12} bytes {:>14}",
                    if lang.is_empty() { "?" } else { lang },
                    c.documents,
                    c.tokens,
                    c.utf8_bytes
                )?;
            }
        }
        for (i, t) in self.first.iter().enumerate() {
            match self.first_text.get(i) {
                Some(text) => writeln!(f, "[{i}] {} tokens: {:?}", t.len(), text)?,
                None => {
                    let head: Vec<String> = t.iter().take(32).map(|x| x.to_string()).collect();
                    writeln!(f, "[{i}] {} tokens: {}", t.len(), head.join(" "))?
                }
            }
        }
        Ok(())
    }
}
