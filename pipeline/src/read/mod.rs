//! Readers: every supported input format as a stream of documents in constant memory.
//!
//! A reader yields `Result<Document, ReadError>`. [`ReadError::Record`] is a bad record: it was
//! skipped, counted under its reason, and the reader has already resynchronised at the next record.
//! [`ReadError::File`] means the file cannot go on (truncated gzip, I/O error): it names the file,
//! the byte offset and the reason, and the reader yields nothing after it. Repairs that keep the
//! record (lossy UTF-8, a wrong Content-Length) are counted in [`DocReader::counters`].

pub mod extract;
pub mod gzip;
pub mod html;
pub mod jsonl;
pub mod parquet;
pub mod warc;
pub mod wet;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::document::Document;

/// The input formats tria reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// CommonCrawl WET: `conversion` records become documents.
    Wet,
    /// WARC: `response` records with HTML become documents (HTML turned into text).
    Warc,
    /// One JSON object per line, plain, gzip or zstd.
    Jsonl,
    Parquet,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Wet => "wet",
            Format::Warc => "warc",
            Format::Jsonl => "jsonl",
            Format::Parquet => "parquet",
        }
    }

    /// The format a file name implies, and the length of the suffix that says so.
    pub fn from_path(path: &Path) -> Option<(Format, usize)> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        const SUFFIXES: &[(&str, Format)] = &[
            (".warc.wet.gz", Format::Wet),
            (".warc.wet.zst", Format::Wet),
            (".warc.wet", Format::Wet),
            (".wet.gz", Format::Wet),
            (".wet", Format::Wet),
            (".warc.gz", Format::Warc),
            (".warc.zst", Format::Warc),
            (".warc", Format::Warc),
            (".jsonl.gz", Format::Jsonl),
            (".jsonl.zst", Format::Jsonl),
            (".jsonl", Format::Jsonl),
            (".json.gz", Format::Jsonl),
            (".ndjson", Format::Jsonl),
            (".parquet", Format::Parquet),
        ];
        SUFFIXES
            .iter()
            .find(|(s, _)| name.ends_with(s))
            .map(|(s, f)| (*f, s.len()))
    }
}

/// How a file's bytes are compressed, from its magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// What the first bytes of a file say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sniffed {
    Empty,
    Gzip,
    Zstd,
    Parquet,
    Warc,
    Json,
    Other,
}

impl Sniffed {
    pub fn of(head: &[u8]) -> Sniffed {
        let h = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
        if head.is_empty() {
            Sniffed::Empty
        } else if h.starts_with(&[0x1f, 0x8b]) {
            Sniffed::Gzip
        } else if h.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Sniffed::Zstd
        } else if h.starts_with(b"PAR1") {
            Sniffed::Parquet
        } else if h.starts_with(b"WARC/") {
            Sniffed::Warc
        } else if h.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            Sniffed::Json
        } else {
            Sniffed::Other
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Sniffed::Empty => "empty",
            Sniffed::Gzip => "gzip data",
            Sniffed::Zstd => "zstd data",
            Sniffed::Parquet => "Parquet",
            Sniffed::Warc => "uncompressed WARC",
            Sniffed::Json => "uncompressed JSON",
            Sniffed::Other => "not a recognised format",
        }
    }
}

/// Reader options from the pipeline file's `[input]` table.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ReadOptions {
    /// JSONL / Parquet field holding the text.
    pub text_field: String,
    /// JSONL / Parquet field holding the id (`<file>#<record>` when absent).
    pub id_field: String,
    /// Rows per Parquet batch.
    pub parquet_batch: usize,
    /// Largest HTML payload turned into text, in bytes; larger responses are skipped and counted.
    pub max_html_bytes: usize,
    /// WARC HTML: main content or all text.
    pub extract: extract::ExtractMode,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            text_field: "text".into(),
            id_field: "id".into(),
            parquet_batch: 1024,
            max_html_bytes: 8 * 1024 * 1024,
            extract: extract::ExtractMode::default(),
        }
    }
}

/// Counts by reason, sorted for stable reports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Counters(pub BTreeMap<String, u64>);

impl Counters {
    pub fn add(&mut self, key: &str, n: u64) {
        if let Some(v) = self.0.get_mut(key) {
            *v += n;
        } else {
            self.0.insert(key.to_string(), n);
        }
    }

    pub fn get(&self, key: &str) -> u64 {
        self.0.get(key).copied().unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn merge(&mut self, other: &Counters) {
        for (k, v) in &other.0 {
            self.add(k, *v);
        }
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }
}

/// A failure while reading.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A bad record: skipped and counted under `read:<reason>`; the reader goes on.
    #[error("{file}: record {record} at byte {offset}: {reason}: {detail}")]
    Record {
        file: Arc<str>,
        record: u64,
        offset: u64,
        reason: &'static str,
        detail: String,
    },
    /// The file cannot be read any further.
    #[error("{file}: at byte {offset}: {reason}: {detail}")]
    File {
        file: Arc<str>,
        offset: u64,
        reason: &'static str,
        detail: String,
    },
}

impl ReadError {
    pub fn reason(&self) -> &'static str {
        match self {
            ReadError::Record { reason, .. } | ReadError::File { reason, .. } => reason,
        }
    }

    pub fn is_fatal(&self) -> bool {
        matches!(self, ReadError::File { .. })
    }
}

/// A stream of documents from one file.
pub trait DocReader: Iterator<Item = Result<Document, ReadError>> + Send {
    /// Records repaired or skipped without failing, by reason (`invalid_utf8`, `skipped:request`, ...).
    fn counters(&self) -> &Counters;
    /// Input bytes consumed so far (compressed, as on disk), for progress.
    fn bytes_read(&self) -> u64;
}

/// A `Read` that counts the bytes it hands out, shared with the reader for progress.
pub struct Counting<R> {
    inner: R,
    count: Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Counting<R> {
    pub fn new(inner: R) -> (Self, Arc<std::sync::atomic::AtomicU64>) {
        let count = Arc::new(std::sync::atomic::AtomicU64::new(0));
        (
            Counting {
                inner,
                count: count.clone(),
            },
            count,
        )
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// Reads the first bytes of a file without consuming them.
pub fn sniff(path: &Path) -> io::Result<Sniffed> {
    let mut f = File::open(path)?;
    let mut head = [0u8; 16];
    let mut n = 0;
    while n < head.len() {
        let got = f.read(&mut head[n..])?;
        if got == 0 {
            break;
        }
        n += got;
    }
    Ok(Sniffed::of(&head[..n]))
}

/// Opens `path` as `format` (or the format its name implies), checking that its bytes agree.
pub fn open(
    path: &Path,
    format: Option<Format>,
    opts: &ReadOptions,
) -> Result<Box<dyn DocReader>, ReadError> {
    let file: Arc<str> = Arc::from(path.display().to_string());
    let fail = |reason: &'static str, detail: String| ReadError::File {
        file: file.clone(),
        offset: 0,
        reason,
        detail,
    };
    let format = match format.or_else(|| Format::from_path(path).map(|(f, _)| f)) {
        Some(f) => f,
        None => {
            return Err(fail(
                "unknown_format",
                "cannot tell the format from the name; set [input] format".into(),
            ));
        }
    };
    let sniffed = sniff(path).map_err(|e| fail("open", e.to_string()))?;
    let name = path.to_string_lossy().to_ascii_lowercase();
    let says_gz = name.ends_with(".gz");
    let says_zst = name.ends_with(".zst");
    let expected_ok = match (format, sniffed) {
        (_, Sniffed::Empty) => {
            return Err(fail("empty_file", "the file is empty (0 bytes)".into()));
        }
        (Format::Parquet, s) => s == Sniffed::Parquet,
        (_, Sniffed::Gzip) => says_gz,
        (_, Sniffed::Zstd) => says_zst,
        (Format::Wet | Format::Warc, Sniffed::Warc) => !says_gz && !says_zst,
        (Format::Jsonl, Sniffed::Json) => !says_gz && !says_zst,
        _ => false,
    };
    if !expected_ok {
        let expected = match format {
            Format::Parquet => "Parquet".to_string(),
            f if says_gz => format!("gzip-compressed {}", f.name().to_uppercase()),
            f if says_zst => format!("zstd-compressed {}", f.name().to_uppercase()),
            f => format!("uncompressed {}", f.name().to_uppercase()),
        };
        return Err(fail(
            "wrong_format",
            format!(
                "the name says {expected} but the content is {}; rename it or set [input] format",
                sniffed.describe()
            ),
        ));
    }
    let compression = match sniffed {
        Sniffed::Gzip => Compression::Gzip,
        Sniffed::Zstd => Compression::Zstd,
        _ => Compression::None,
    };
    let f = File::open(path).map_err(|e| fail("open", e.to_string()))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let (counting, count) = Counting::new(f);
    Ok(match format {
        Format::Wet | Format::Warc => {
            let decoded = Decoded::new(counting, compression).map_err(|e| fail("open", e))?;
            Box::new(wet::WarcDocs::new(
                file,
                format,
                decoded,
                count,
                opts.clone(),
            ))
        }
        Format::Jsonl => {
            let decoded = Decoded::new(counting, compression).map_err(|e| fail("open", e))?;
            Box::new(jsonl::JsonlDocs::new(file, decoded, count, opts.clone()))
        }
        Format::Parquet => {
            drop(counting);
            Box::new(parquet::ParquetDocs::open(file, path, size, opts)?)
        }
    })
}

/// A decompressed byte stream: gzip keeps its member offsets for provenance.
pub enum Decoded {
    Plain(BufReader<Counting<File>>),
    Gzip(gzip::GzMembers<Counting<File>>),
    Zstd(BufReader<zstd::stream::read::Decoder<'static, BufReader<Counting<File>>>>),
}

impl Decoded {
    pub fn new(f: Counting<File>, compression: Compression) -> Result<Decoded, String> {
        Ok(match compression {
            Compression::None => Decoded::Plain(BufReader::with_capacity(256 * 1024, f)),
            Compression::Gzip => Decoded::Gzip(gzip::GzMembers::new(f)),
            Compression::Zstd => Decoded::Zstd(BufReader::with_capacity(
                256 * 1024,
                zstd::stream::read::Decoder::new(f).map_err(|e| e.to_string())?,
            )),
        })
    }

    /// The on-disk offset for a record starting at uncompressed offset `pos`: the compressed
    /// member offset for gzip when the record starts a member, else `pos`.
    pub fn disk_offset(&self, pos: u64) -> u64 {
        match self {
            Decoded::Gzip(g) => g.member_at(pos).unwrap_or(pos),
            _ => pos,
        }
    }
}

impl warc::RecordStarts for Decoded {
    fn record_start_between(&self, lo: u64, hi: u64) -> Option<u64> {
        match self {
            Decoded::Gzip(g) => g.member_between(lo, hi),
            _ => None,
        }
    }

    fn is_record_start(&self, pos: u64) -> bool {
        match self {
            Decoded::Gzip(g) => g.member_at(pos).is_some(),
            _ => false,
        }
    }
}

impl Read for Decoded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoded::Plain(r) => r.read(buf),
            Decoded::Gzip(r) => r.read(buf),
            Decoded::Zstd(r) => r.read(buf),
        }
    }
}

impl BufRead for Decoded {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self {
            Decoded::Plain(r) => r.fill_buf(),
            Decoded::Gzip(r) => r.fill_buf(),
            Decoded::Zstd(r) => r.fill_buf(),
        }
    }

    fn consume(&mut self, amt: usize) {
        match self {
            Decoded::Plain(r) => r.consume(amt),
            Decoded::Gzip(r) => r.consume(amt),
            Decoded::Zstd(r) => r.consume(amt),
        }
    }
}

/// A document id from an id field's value (string or number), else `<file>#<record>`.
pub(crate) fn doc_id(value: Option<serde_json::Value>, file: &str, record: u64) -> String {
    match value {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => format!("{file}#{record}"),
    }
}

/// Restores the numeric measurements of tria's own `attrs` object into a document.
/// The origin tria recorded on a document of its own output (`file`, `record`, `offset`), so that a
/// document re-read by a later step keeps pointing at the raw input it came from. `last` caches the
/// previous file name: consecutive documents share one allocation.
pub(crate) fn recorded_origin(
    file: Option<&serde_json::Value>,
    record: Option<&serde_json::Value>,
    offset: Option<&serde_json::Value>,
    last: &mut Option<Arc<str>>,
) -> Option<crate::document::Origin> {
    let file = file?.as_str()?;
    let record = record?.as_u64()?;
    let offset = match offset {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(v.as_u64()?),
    };
    let file = match last {
        Some(f) if &**f == file => f.clone(),
        _ => {
            let f: Arc<str> = Arc::from(file);
            *last = Some(f.clone());
            f
        }
    };
    Some(crate::document::Origin {
        file,
        record,
        offset,
    })
}

pub(crate) fn restore_attrs(doc: &mut Document, attrs: serde_json::Map<String, serde_json::Value>) {
    for (k, v) in attrs {
        if let Some(x) = v.as_f64() {
            doc.attrs.insert(k, x);
        }
    }
}

/// Turns bytes into a `String`, replacing invalid UTF-8 and counting when it had to.
///
/// Validation uses `simdutf8` (SIMD, several times faster than the standard library's check on
/// non-ASCII text, which is most of what tria reads); see `bench/read` in `bench/RESULTS.md`.
#[allow(unsafe_code)]
pub fn utf8_lossy(bytes: Vec<u8>, counters: &mut Counters) -> String {
    if simdutf8::basic::from_utf8(&bytes).is_ok() {
        // SAFETY: `bytes` was just validated as UTF-8 and is not changed before the conversion.
        return unsafe { String::from_utf8_unchecked(bytes) };
    }
    counters.add("repaired:invalid_utf8", 1);
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_names() {
        let f = |s: &str| Format::from_path(Path::new(s)).map(|(f, _)| f);
        assert_eq!(f("CC-MAIN-x-00000.warc.wet.gz"), Some(Format::Wet));
        assert_eq!(f("a.warc.gz"), Some(Format::Warc));
        assert_eq!(f("x/y.jsonl.zst"), Some(Format::Jsonl));
        assert_eq!(f("y.JSONL"), Some(Format::Jsonl));
        assert_eq!(f("t.parquet"), Some(Format::Parquet));
        assert_eq!(f("notes.txt"), None);
    }

    #[test]
    fn sniffing() {
        assert_eq!(Sniffed::of(b""), Sniffed::Empty);
        assert_eq!(Sniffed::of(&[0x1f, 0x8b, 8]), Sniffed::Gzip);
        assert_eq!(Sniffed::of(b"WARC/1.0\r\n"), Sniffed::Warc);
        assert_eq!(Sniffed::of(b"  {\"text\""), Sniffed::Json);
        assert_eq!(Sniffed::of(b"PAR1...."), Sniffed::Parquet);
        assert_eq!(Sniffed::of(b"<html>"), Sniffed::Other);
    }
}
