//! A lenient, streaming WARC record parser (WARC 1.0/1.1 and ClueWeb's 0.18).
//!
//! It trusts `Content-Length` when the bytes after the block look like a record boundary (an
//! empty line, then the next version line or the end), and otherwise repairs the record by
//! resynchronising on the next `WARC/x.y` version line: a too-long length gives back the bytes of
//! the next record it swallowed, a too-short one takes the lines up to the next record. Each repair
//! or skip is counted by reason in [`WarcCounters`].
//!
//! Where the stream itself marks record starts ([`RecordStarts`]: CommonCrawl writes every record
//! as its own gzip member), a member start that begins with `WARC/` is a boundary whatever the bytes
//! before it say, so a junk member or a wrong length damages one record only, never its neighbour.

use std::io::{self, BufRead};

use super::Counters;

/// Largest block we hold in memory; bigger records are skipped (and counted), not loaded.
pub const MAX_BLOCK: u64 = 256 * 1024 * 1024;
/// Longest header line we accept before calling the header malformed.
const MAX_HEADER_LINE: usize = 64 * 1024;

/// The header fields readers ask for on every record: where the first of each is, is noted as the
/// header is parsed, so looking one up costs no search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Type,
    ContentLength,
    RecordId,
    TargetUri,
    Date,
    IdentifiedContentLanguage,
    RefersTo,
}

impl Field {
    const COUNT: usize = 7;

    pub fn name(self) -> &'static str {
        match self {
            Field::Type => "WARC-Type",
            Field::ContentLength => "Content-Length",
            Field::RecordId => "WARC-Record-ID",
            Field::TargetUri => "WARC-Target-URI",
            Field::Date => "WARC-Date",
            Field::IdentifiedContentLanguage => "WARC-Identified-Content-Language",
            Field::RefersTo => "WARC-Refers-To",
        }
    }

    const ALL: [Field; Field::COUNT] = [
        Field::Type,
        Field::ContentLength,
        Field::RecordId,
        Field::TargetUri,
        Field::Date,
        Field::IdentifiedContentLanguage,
        Field::RefersTo,
    ];

    /// The field `name` is (without case), if one of these.
    fn of(name: &[u8]) -> Option<Field> {
        // The length and one byte leave one name it can be in its exact spelling (CommonCrawl's),
        // checked with one comparison to a constant; other spellings of these lengths are
        // compared without case.
        let exact = match (name.len(), name.get(5), name.get(7)) {
            (9, Some(b'T'), _) if name == b"WARC-Type" => Some(Field::Type),
            (9, Some(b'D'), _) if name == b"WARC-Date" => Some(Field::Date),
            (14, _, Some(b'-')) if name == b"Content-Length" => Some(Field::ContentLength),
            (14, _, Some(b'c')) if name == b"WARC-Record-ID" => Some(Field::RecordId),
            (14, _, Some(b'f')) if name == b"WARC-Refers-To" => Some(Field::RefersTo),
            (15, _, _) if name == b"WARC-Target-URI" => Some(Field::TargetUri),
            (32, _, _) if name == b"WARC-Identified-Content-Language" => {
                Some(Field::IdentifiedContentLanguage)
            }
            (9 | 14 | 15 | 32, _, _) => None,
            _ => return None,
        };
        exact.or_else(|| {
            Field::ALL
                .into_iter()
                .find(|f| name.eq_ignore_ascii_case(f.name().as_bytes()))
        })
    }
}

/// One WARC record: the version line, the header fields in file order and the block.
///
/// The version and the fields live in one string (`head`), addressed by byte ranges, so a record
/// costs three allocations however many fields it has.
#[derive(Debug, Clone)]
pub struct WarcRecord {
    /// Uncompressed offset of the version line.
    pub offset: u64,
    head: String,
    version_end: usize,
    /// `(name start, name end, value start, value end)` in `head`.
    fields: Vec<(usize, usize, usize, usize)>,
    /// Index in `fields` of the first field of each [`Field`] kind.
    known: [Option<usize>; Field::COUNT],
    block: Vec<u8>,
    /// Whether `block` is known to be valid UTF-8: set only by the fast path, which checks the
    /// header and the block in one pass, for a block it hands on unchanged.
    block_utf8: bool,
}

impl WarcRecord {
    /// A record at `offset` with this version line, reusing `spare`'s buffers when given.
    fn new(offset: u64, version: &[u8], spare: Option<WarcRecord>) -> WarcRecord {
        let mut record = WarcRecord::empty(offset, spare);
        push_field(&mut record.head, version);
        record.version_end = record.head.len();
        record
    }

    /// A record at `offset` with nothing in it yet, reusing `spare`'s buffers when given.
    fn empty(offset: u64, spare: Option<WarcRecord>) -> WarcRecord {
        let (mut head, mut fields) = match spare {
            Some(r) => (r.head, r.fields),
            None => (String::with_capacity(512), Vec::with_capacity(12)),
        };
        head.clear();
        fields.clear();
        WarcRecord {
            offset,
            version_end: 0,
            head,
            fields,
            known: [None; Field::COUNT],
            block: Vec::new(),
            block_utf8: false,
        }
    }

    /// The version line without its line end (`WARC/1.0`).
    pub fn version(&self) -> &str {
        &self.head[..self.version_end]
    }

    /// The header fields in file order: trimmed names and values, decoded lossily where they are
    /// not UTF-8, folded continuation lines joined with a space.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields
            .iter()
            .map(|&(n, ne, v, ve)| (&self.head[n..ne], &self.head[v..ve]))
    }

    /// A header value by case-insensitive name (the first one, as WARC names are unique).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers()
            .find(|(k, _)| k.len() == name.len() && (*k == name || k.eq_ignore_ascii_case(name)))
            .map(|(_, v)| v)
    }

    /// The record's block (its payload), as the record says or as repaired.
    pub fn block(&self) -> &[u8] {
        &self.block
    }

    /// Takes the block as text: bytes that are not UTF-8 are replaced (and counted under
    /// `repaired:invalid_utf8`). A block the parser has already checked is not checked again.
    #[allow(unsafe_code)]
    pub fn take_text(&mut self, counters: &mut Counters) -> String {
        let block = std::mem::take(&mut self.block);
        if std::mem::take(&mut self.block_utf8) {
            // SAFETY: `block_utf8` is only set (in `clean_record`) for a block whose bytes were
            // checked as UTF-8 and then handed on unchanged; `block` is private to this module,
            // and every other place that sets it leaves the flag false.
            return unsafe { String::from_utf8_unchecked(block) };
        }
        super::utf8_lossy(block, counters)
    }

    pub fn warc_type(&self) -> &str {
        self.field(Field::Type).unwrap_or("")
    }

    /// The value of the first `f` field, as [`WarcRecord::header`] gives it.
    pub fn field(&self, f: Field) -> Option<&str> {
        let (_, _, v, ve) = *self.fields.get(self.known[f as usize]?)?;
        Some(&self.head[v..ve])
    }

    /// The value of the first `f` field whose value is not empty.
    pub fn nonempty_field(&self, f: Field) -> Option<&str> {
        match self.field(f)? {
            "" => self
                .headers()
                .find(|(k, v)| !v.is_empty() && k.eq_ignore_ascii_case(f.name()))
                .map(|(_, v)| v),
            v => Some(v),
        }
    }

    /// Adds the field whose name (`name`: the bytes of `head[n..ne]`, or those about to be
    /// copied there) and value are at these ranges of `head`.
    fn add_field(&mut self, name: &[u8], (n, ne): (usize, usize), (v, ve): (usize, usize)) {
        if let Some(f) = Field::of(name) {
            self.known[f as usize].get_or_insert(self.fields.len());
        }
        self.fields.push((n, ne, v, ve));
    }

    fn push_header(&mut self, name: &[u8], value: &[u8]) {
        let n = self.head.len();
        push_field(&mut self.head, name);
        let v = self.head.len();
        push_field(&mut self.head, value);
        let e = self.head.len();
        if let Some(f) = Field::of(&self.head.as_bytes()[n..v]) {
            self.known[f as usize].get_or_insert(self.fields.len());
        }
        self.fields.push((n, v, v, e));
    }

    fn clear_headers(&mut self) {
        self.head.truncate(self.version_end);
        self.fields.clear();
        self.known = [None; Field::COUNT];
    }

    /// Appends a folded continuation line to the last field's value (the last bytes of `head`).
    /// Returns false when there is no field yet.
    fn continue_header(&mut self, more: &[u8]) -> bool {
        if self.fields.is_empty() {
            return false;
        }
        self.head.push(' ');
        push_field(&mut self.head, more);
        let end = self.head.len();
        if let Some(last) = self.fields.last_mut() {
            // The last value ends `head` (only this line-by-line path folds), so it stays whole.
            last.3 = end;
        }
        true
    }
}

/// Appends `bytes` trimmed of white space, decoded lossily only when it is not UTF-8.
fn push_field(out: &mut String, bytes: &[u8]) {
    let bytes = bytes.trim_ascii();
    match std::str::from_utf8(bytes) {
        Ok(s) => out.push_str(s),
        Err(_) => out.push_str(String::from_utf8_lossy(bytes).trim()),
    }
}

/// Record starts the container knows about, as uncompressed offsets: the starts of gzip members.
/// Only a start whose bytes begin with `WARC/` is trusted (a recompressed file could put members
/// anywhere).
pub trait RecordStarts {
    /// The first known start strictly between `lo` and `hi`.
    fn record_start_between(&self, _lo: u64, _hi: u64) -> Option<u64> {
        None
    }
    /// Whether a start is known at exactly `pos`.
    fn is_record_start(&self, _pos: u64) -> bool {
        false
    }
}

/// Plain bytes and generic readers mark nothing.
impl RecordStarts for &[u8] {}
impl<R> RecordStarts for std::io::BufReader<R> {}

impl<R: std::io::Read> RecordStarts for super::gzip::GzMembers<R> {
    fn record_start_between(&self, lo: u64, hi: u64) -> Option<u64> {
        self.member_between(lo, hi)
    }
    fn is_record_start(&self, pos: u64) -> bool {
        self.member_at(pos).is_some()
    }
}

/// Whether `bytes` can be the start of a record: `WARC/`, or a prefix of it when shorter.
fn starts_like_record(bytes: &[u8]) -> bool {
    let n = bytes.len().min(5);
    n > 0 && bytes[..n] == b"WARC/"[..n]
}

/// A byte source with push-back and a running position, over any `BufRead`.
pub struct Input<R> {
    inner: R,
    pending: Vec<u8>,
    pending_pos: usize,
    pos: u64,
}

impl<R: BufRead> Input<R> {
    pub fn new(inner: R) -> Self {
        Input {
            inner,
            pending: Vec::new(),
            pending_pos: 0,
            pos: 0,
        }
    }

    pub fn inner(&self) -> &R {
        &self.inner
    }

    /// Uncompressed offset of the next byte to be read.
    pub fn pos(&self) -> u64 {
        self.pos
    }

    /// Puts bytes back in front of the stream.
    pub fn unread(&mut self, bytes: &[u8]) {
        let mut v = Vec::with_capacity(bytes.len() + self.pending.len() - self.pending_pos);
        v.extend_from_slice(bytes);
        v.extend_from_slice(&self.pending[self.pending_pos..]);
        self.pending = v;
        self.pending_pos = 0;
        self.pos -= bytes.len() as u64;
    }

    /// Appends the next line (with its `\n`, if any) to `out`; returns its length, 0 at the end.
    /// Stops after `limit` bytes even without a newline.
    pub fn read_line(&mut self, out: &mut Vec<u8>, limit: usize) -> io::Result<usize> {
        let start = out.len();
        if self.pending_pos < self.pending.len() {
            let rest = &self.pending[self.pending_pos..];
            let take = match memchr::memchr(b'\n', rest) {
                Some(i) => (i + 1).min(limit),
                None => rest.len().min(limit),
            };
            out.extend_from_slice(&rest[..take]);
            self.pending_pos += take;
            if self.pending_pos == self.pending.len() {
                self.pending.clear();
                self.pending_pos = 0;
            }
            if out.last() == Some(&b'\n') || out.len() - start >= limit {
                self.pos += (out.len() - start) as u64;
                return Ok(out.len() - start);
            }
        }
        loop {
            let buf = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.pos += (out.len() - start) as u64;
                    return Err(e);
                }
            };
            if buf.is_empty() {
                break;
            }
            let room = limit - (out.len() - start);
            let (take, done) = match memchr::memchr(b'\n', buf) {
                Some(i) if i < room => (i + 1, true),
                _ if buf.len() >= room => (room, true),
                _ => (buf.len(), false),
            };
            out.extend_from_slice(&buf[..take]);
            self.inner.consume(take);
            if done {
                break;
            }
        }
        self.pos += (out.len() - start) as u64;
        Ok(out.len() - start)
    }

    /// The bytes available without consuming them (empty at the end of the stream).
    pub fn peek(&mut self) -> io::Result<&[u8]> {
        if self.pending_pos < self.pending.len() {
            return Ok(&self.pending[self.pending_pos..]);
        }
        loop {
            match self.inner.fill_buf() {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                _ => break,
            }
        }
        self.inner.fill_buf()
    }

    /// Consumes `n` bytes of what [`Input::peek`] returned.
    pub fn consume(&mut self, n: usize) {
        if self.pending_pos < self.pending.len() {
            self.pending_pos += n;
            if self.pending_pos >= self.pending.len() {
                self.pending.clear();
                self.pending_pos = 0;
            }
        } else {
            self.inner.consume(n);
        }
        self.pos += n as u64;
    }

    /// Appends up to `n` bytes to `out`; returns how many, fewer only at the end of the stream.
    pub fn read_n(&mut self, n: u64, out: &mut Vec<u8>) -> io::Result<u64> {
        let mut left = n;
        if self.pending_pos < self.pending.len() {
            let rest = &self.pending[self.pending_pos..];
            let take = (rest.len() as u64).min(left) as usize;
            out.extend_from_slice(&rest[..take]);
            self.pending_pos += take;
            left -= take as u64;
            if self.pending_pos == self.pending.len() {
                self.pending.clear();
                self.pending_pos = 0;
            }
        }
        while left > 0 {
            let buf = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.pos += n - left;
                    return Err(e);
                }
            };
            if buf.is_empty() {
                break;
            }
            let take = (buf.len() as u64).min(left) as usize;
            out.extend_from_slice(&buf[..take]);
            self.inner.consume(take);
            left -= take as u64;
        }
        self.pos += n - left;
        Ok(n - left)
    }

    /// Discards up to `n` bytes; returns how many.
    pub fn skip_n(&mut self, n: u64) -> io::Result<u64> {
        let mut left = n;
        let mut scratch = Vec::new();
        while left > 0 {
            scratch.clear();
            let got = self.read_n(left.min(1 << 20), &mut scratch)?;
            if got == 0 {
                break;
            }
            left -= got;
        }
        Ok(n - left)
    }
}

/// Is this line a WARC version line (`WARC/1.0`, `WARC/0.18`, ...), with CRLF or LF?
pub fn is_version_line(line: &[u8]) -> bool {
    let l = trim_eol(line);
    l.len() >= 8
        && l.len() <= 12
        && l.starts_with(b"WARC/")
        && l[5].is_ascii_digit()
        && l[5..].iter().all(|b| b.is_ascii_digit() || *b == b'.')
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let l = line.strip_suffix(b"\n").unwrap_or(line);
    l.strip_suffix(b"\r").unwrap_or(l)
}

fn is_blank(line: &[u8]) -> bool {
    trim_eol(line).is_empty()
}

/// Outcome of one step of the parser.
pub enum Next {
    Record(WarcRecord),
    /// A record that could not be used: counted, and the parser has resynchronised.
    Skipped {
        offset: u64,
        reason: &'static str,
        detail: String,
    },
    /// The stream failed and cannot go on (truncated gzip, I/O error, a truncated last record).
    Fatal {
        offset: u64,
        reason: &'static str,
        detail: String,
    },
    End,
}

/// Streams records out of a decompressed WARC byte stream.
pub struct WarcParser<R> {
    input: Input<R>,
    line: Vec<u8>,
    failed: bool,
    /// A used record whose header buffers the next record reuses ([`WarcParser::recycle`]).
    spare: Option<WarcRecord>,
}

impl<R: BufRead + RecordStarts> WarcParser<R> {
    pub fn new(inner: R) -> Self {
        WarcParser {
            input: Input::new(inner),
            line: Vec::new(),
            failed: false,
            spare: None,
        }
    }

    pub fn input(&self) -> &Input<R> {
        &self.input
    }

    /// Hands back a record the caller is done with, so the next one reuses its header buffers.
    pub fn recycle(&mut self, record: WarcRecord) {
        self.spare = Some(record);
    }

    fn fatal(&mut self, offset: u64, e: io::Error) -> Next {
        self.failed = true;
        let reason = if e.kind() == io::ErrorKind::UnexpectedEof {
            "truncated"
        } else {
            "io"
        };
        Next::Fatal {
            offset,
            reason,
            detail: e.to_string(),
        }
    }

    /// Skips forward to the next version line and puts it back; used after a malformed record.
    fn resync(&mut self) -> io::Result<()> {
        loop {
            self.line.clear();
            let at = self.input.pos();
            if self.input.read_line(&mut self.line, MAX_HEADER_LINE)? == 0 {
                return Ok(());
            }
            if is_version_line(&self.line) || self.input.inner().is_record_start(at) {
                // The next record, or the next member (which the caller skips on its own if it
                // is junk too: one skip per bad member).
                let l = std::mem::take(&mut self.line);
                self.input.unread(&l);
                return Ok(());
            }
            if self.give_back_from_record_start(at) {
                return Ok(());
            }
        }
    }

    /// When a known record start (a member start) falls inside `self.line`, read from offset `at`,
    /// gives back the line from there and returns true: whatever the member holds, a record or
    /// more junk, it is read on its own.
    fn give_back_from_record_start(&mut self, at: u64) -> bool {
        let end = at + self.line.len() as u64;
        let Some(p) = self.input.inner().record_start_between(at, end) else {
            return false;
        };
        let rest = self.line.split_off((p - at) as usize);
        self.input.unread(&rest);
        true
    }

    /// Reads the next record, repairing what can be repaired. `counters` receives repair counts.
    pub fn next(&mut self, counters: &mut Counters) -> Next {
        if self.failed {
            return Next::End;
        }
        if let Some(next) = self.clean_record(counters) {
            return next;
        }
        // Find the version line, skipping blank lines left between records.
        let offset;
        loop {
            let at = self.input.pos();
            self.line.clear();
            match self.input.read_line(&mut self.line, MAX_HEADER_LINE) {
                Ok(0) => return Next::End,
                Ok(_) => {}
                Err(e) => return self.fatal(at, e),
            }
            if is_blank(&self.line) {
                continue;
            }
            if is_version_line(&self.line) {
                offset = at;
                break;
            }
            // Junk where a record should start: skip to the next record start (inside this line,
            // where the container marks one) or the next version line.
            if !self.give_back_from_record_start(at) {
                if let Err(e) = self.resync() {
                    return self.fatal(at, e);
                }
            }
            return Next::Skipped {
                offset: at,
                reason: "malformed_header",
                detail: "expected a WARC version line".into(),
            };
        }
        let mut record = WarcRecord::new(offset, trim_eol(&self.line), self.spare.take());

        let mut lf_only = false;
        let clean = match self.clean_header(&mut record) {
            Ok(c) => c,
            Err(e) => return self.fatal(offset, e),
        };
        if !clean {
            // Header fields up to the empty line, line by line: LF-only ends, folding, junk.
            loop {
                self.line.clear();
                let at = self.input.pos();
                match self.input.read_line(&mut self.line, MAX_HEADER_LINE) {
                    Ok(0) => {
                        self.failed = true;
                        return Next::Fatal {
                            offset,
                            reason: "truncated",
                            detail: "stream ends inside a WARC header".into(),
                        };
                    }
                    Ok(_) => {}
                    Err(e) => return self.fatal(offset, e),
                }
                if !self.line.ends_with(b"\r\n") {
                    lf_only = true;
                }
                if is_blank(&self.line) {
                    break;
                }
                if is_version_line(&self.line) {
                    // A new record starts before this one's header ended.
                    let l = std::mem::take(&mut self.line);
                    self.input.unread(&l);
                    return Next::Skipped {
                        offset,
                        reason: "malformed_header",
                        detail: format!("header interrupted by a version line at offset {at}"),
                    };
                }
                let l = trim_eol(&self.line);
                // A folded continuation line (leading white space) extends the last field.
                if (l[0] == b' ' || l[0] == b'\t') && record.continue_header(l) {
                    continue;
                }
                let Some(colon) = memchr::memchr(b':', l) else {
                    let _ = self.resync();
                    return Next::Skipped {
                        offset,
                        reason: "malformed_header",
                        detail: format!("header line without ':' at offset {at}"),
                    };
                };
                record.push_header(&l[..colon], &l[colon + 1..]);
            }
        }
        if lf_only {
            counters.add("repaired:lf_line_endings", 1);
        }

        let length = match record
            .field(Field::ContentLength)
            .map(|v| v.trim().parse::<u64>())
        {
            Some(Ok(n)) => n,
            Some(Err(_)) | None => {
                if let Err(e) = self.resync() {
                    return self.fatal(offset, e);
                }
                return Next::Skipped {
                    offset,
                    reason: "malformed_header",
                    detail: "missing or non-numeric Content-Length".into(),
                };
            }
        };
        if length > MAX_BLOCK {
            return match self.input.skip_n(length) {
                Ok(_) => Next::Skipped {
                    offset,
                    reason: "record_too_large",
                    detail: format!("Content-Length {length} exceeds {MAX_BLOCK}"),
                },
                Err(e) => self.fatal(offset, e),
            };
        }
        self.read_block(record, length, counters)
    }

    fn read_block(&mut self, mut record: WarcRecord, length: u64, counters: &mut Counters) -> Next {
        let offset = record.offset;
        let block_start = self.input.pos();
        let mut block = Vec::with_capacity(length as usize);
        let got = match self.input.read_n(length, &mut block) {
            Ok(g) => g,
            Err(e) => return self.fatal(offset, e),
        };
        if got < length {
            // The stream ended inside the block. If the short block ends at a line end this may be a
            // hand-made file whose Content-Length counts characters: keep it as repaired.
            if got > 0 && block.ends_with(b"\n") && !block.ends_with(b"\r\n") {
                counters.add("repaired:wrong_content_length", 1);
                trim_trailing_blank_lines(&mut block);
                record.block = block;
                return Next::Record(record);
            }
            self.failed = true;
            return Next::Fatal {
                offset,
                reason: "truncated",
                detail: format!("record declares {length} bytes but only {got} are present"),
            };
        }
        self.finish_block(record, block, false, block_start, counters)
    }

    /// Checks what follows a whole block that starts at `block_start` and ends the record there
    /// (repairing a wrong Content-Length where the bytes show one). `utf8` says the block was
    /// checked as UTF-8; the record keeps that only when the block is handed on unchanged.
    fn finish_block(
        &mut self,
        mut record: WarcRecord,
        mut block: Vec<u8>,
        utf8: bool,
        block_start: u64,
        counters: &mut Counters,
    ) -> Next {
        let offset = record.offset;
        let got = block.len() as u64;
        // A record start inside the block: the length is too long and swallowed the next record's
        // first bytes (perhaps only part of its version line).
        if let Some(p) = self
            .input
            .inner()
            .record_start_between(block_start, block_start + got)
        {
            let cut = (p - block_start) as usize;
            if starts_like_record(&block[cut..]) {
                counters.add("repaired:wrong_content_length", 1);
                let rest = block.split_off(cut);
                self.input.unread(&rest);
                trim_trailing_blank_lines(&mut block);
                record.block = block;
                return Next::Record(record);
            }
        }

        match self.clean_boundary() {
            Ok(true) => {
                record.block = block;
                record.block_utf8 = utf8;
                return Next::Record(record);
            }
            Ok(false) => {}
            Err(e) => return self.fatal(offset, e),
        }
        // Check the boundary line by line: blank line(s), then a version line or the end.
        let mut tail = Vec::new();
        let mut blanks = 0;
        let boundary_ok = loop {
            let before = tail.len();
            let line_at = self.input.pos();
            match self.input.read_line(&mut tail, MAX_HEADER_LINE) {
                Ok(0) => break blanks > 0 || tail.is_empty(),
                Ok(_) => {}
                Err(e) => return self.fatal(offset, e),
            }
            let line = &tail[before..];
            if is_blank(line) {
                blanks += 1;
                if blanks > 2 {
                    // More blank lines than a separator: keep scanning, but it's not clean.
                    continue;
                }
                continue;
            }
            // The next member starts here: this record ended with its member, whatever follows.
            let ok = (is_version_line(line) && blanks > 0)
                || self.input.inner().is_record_start(line_at);
            // Give the non-blank line back: it belongs to whatever comes next.
            let l = tail.split_off(before);
            self.input.unread(&l);
            break ok;
        };
        if boundary_ok {
            record.block = block;
            record.block_utf8 = utf8;
            return Next::Record(record);
        }

        // Content-Length is wrong. Too long: the block swallowed the next record's version line.
        counters.add("repaired:wrong_content_length", 1);
        if let Some(cut) = find_version_line(&block) {
            let rest = block.split_off(cut);
            self.input.unread(&tail);
            self.input.unread(&rest);
            trim_trailing_blank_lines(&mut block);
            record.block = block;
            return Next::Record(record);
        }
        // Too short: the rest of the body runs up to the next version line.
        block.extend_from_slice(&tail);
        loop {
            self.line.clear();
            let at = self.input.pos();
            match self.input.read_line(&mut self.line, MAX_HEADER_LINE) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return self.fatal(offset, e),
            }
            if is_version_line(&self.line) || self.input.inner().is_record_start(at) {
                // The next record, or the next member: this record ends here.
                let l = std::mem::take(&mut self.line);
                self.input.unread(&l);
                break;
            }
            if self.give_back_from_record_start(at) {
                block.extend_from_slice(&self.line);
                break;
            }
            if block.len() as u64 + self.line.len() as u64 > MAX_BLOCK {
                return Next::Skipped {
                    offset,
                    reason: "record_too_large",
                    detail: "no record boundary found within the size limit".into(),
                };
            }
            block.extend_from_slice(&self.line);
        }
        trim_trailing_blank_lines(&mut block);
        record.block = block;
        Next::Record(record)
    }
}

impl<R: BufRead + RecordStarts> WarcParser<R> {
    /// The fast path for a whole record: when the buffered bytes start with a CRLF version line
    /// and a clean header (see [`WarcParser::clean_header`]) and hold the whole block, the record
    /// is taken straight from them and its end checked as on the general path. Returns `None`,
    /// having consumed nothing, when they do not (then the general path reads the record).
    fn clean_record(&mut self, counters: &mut Counters) -> Option<Next> {
        let offset = self.input.pos();
        let spare = self.spare.take();
        let buf = match self.input.peek() {
            Ok(b) => b,
            Err(e) => return Some(self.fatal(offset, e)),
        };
        match clean_record_in(buf, offset, spare) {
            Ok((record, start, end, utf8)) => {
                let block = buf[start..end].to_vec();
                self.input.consume(end);
                Some(self.finish_block(record, block, utf8, offset + start as u64, counters))
            }
            Err(spare) => {
                self.spare = spare;
                None
            }
        }
    }

    /// The fast path for a header: when the buffered bytes hold the whole header, it is valid
    /// UTF-8, every line ends in CRLF and is `name: value` (no folding, no stray version line),
    /// parses it from the buffer in one go, consumes it with its blank line and returns true.
    /// Otherwise consumes nothing, leaves `record` as it was and returns false.
    fn clean_header(&mut self, record: &mut WarcRecord) -> io::Result<bool> {
        let buf = self.input.peek()?;
        let Some(end) = clean_header_in(buf, 0, 0, record) else {
            return Ok(false);
        };
        // The header without its last line end; valid UTF-8 makes every field range a `str` (the
        // cuts are at ASCII bytes).
        let Ok(head) = simdutf8::basic::from_utf8(&buf[..end - 2]) else {
            record.clear_headers();
            return Ok(false);
        };
        record.head.push_str(head);
        self.input.consume(end + 2);
        Ok(true)
    }

    /// The fast path after a block: consumes the separator when the bytes are exactly what a
    /// well-formed file has (`\r\n\r\n` or `\n\n`, then `WARC/` or the end) and returns true;
    /// otherwise consumes nothing and returns false, leaving the slow path to decide.
    fn clean_boundary(&mut self) -> io::Result<bool> {
        let mut sep = [0u8; 4];
        let mut n = 0;
        if self.input.peek()?.starts_with(b"\r\n\r\n") {
            sep = *b"\r\n\r\n";
            n = 4;
            self.input.consume(4);
        }
        while n < 4 {
            let buf = self.input.peek()?;
            match buf.first() {
                Some(&b) if b == b'\r' || b == b'\n' => {
                    sep[n] = b;
                    n += 1;
                    self.input.consume(1);
                }
                _ => break,
            }
        }
        let sep_ok = matches!(&sep[..n], b"\r\n\r\n" | b"\n\n");
        let next = self.input.peek()?;
        let next_ok = next.is_empty()
            || (next.len() > 5 && next.starts_with(b"WARC/") && next[5].is_ascii_digit());
        if (sep_ok || (n == 0 && next.is_empty())) && next_ok {
            return Ok(true);
        }
        self.input.unread(&sep[..n]);
        Ok(false)
    }
}

/// A whole, clean record at the start of `buf` (the stream's bytes from uncompressed `offset`): its
/// version line ends in CRLF, its header is clean ([`clean_header_in`]) and valid UTF-8, its
/// Content-Length is a number and its block is in `buf`. Returns the record with its header, where
/// its block lies in `buf` and whether the block is valid UTF-8 (checked in the same pass as the
/// header); otherwise gives back the spare record for the general path.
// The error gives the record back (its buffers are reused): a move per record, like `Next`'s.
#[allow(clippy::type_complexity, clippy::result_large_err)]
fn clean_record_in(
    buf: &[u8],
    offset: u64,
    spare: Option<WarcRecord>,
) -> Result<(WarcRecord, usize, usize, bool), Option<WarcRecord>> {
    if !buf.starts_with(b"WARC/") {
        return Err(spare);
    }
    // A version line is at most 12 bytes before its CRLF.
    let Some(nl) = buf.iter().take(16).position(|&b| b == b'\n') else {
        return Err(spare);
    };
    if nl == 0 || buf[nl - 1] != b'\r' || !is_version_line(&buf[..=nl]) {
        return Err(spare);
    }
    // The version line and the header are copied into `head` together once checked as UTF-8:
    // field ranges in `head` are then their offsets in `buf`.
    let mut record = WarcRecord::empty(offset, spare);
    let Some(end) = clean_header_in(buf, nl + 1, 0, &mut record) else {
        return Err(Some(record));
    };
    let length = record.known[Field::ContentLength as usize]
        .map(|i| record.fields[i])
        .and_then(|(_, _, v, ve)| parse_length(&buf[v..ve]))
        .filter(|n| *n <= MAX_BLOCK);
    let start = end + 2;
    let Some(block_end) = length.and_then(|n| start.checked_add(n as usize)) else {
        return Err(Some(record));
    };
    if block_end > buf.len() {
        return Err(Some(record));
    }
    // One UTF-8 check for the header and the block; when the block fails it, the header alone.
    let (head, utf8) = match simdutf8::basic::from_utf8(&buf[..block_end]) {
        // The header ends before `\r\n` (ASCII): a character boundary.
        Ok(all) => (&all[..end - 2], true),
        Err(_) => match simdutf8::basic::from_utf8(&buf[..end - 2]) {
            Ok(head) => (head, false),
            Err(_) => {
                record.clear_headers();
                return Err(Some(record));
            }
        },
    };
    record.head.push_str(head);
    // The version line without its CRLF (`is_version_line`: no white space to trim).
    record.version_end = nl - 1;
    Ok((record, start, block_end, utf8))
}

/// A Content-Length value as the general path reads it (`str::trim`, then `u64` parsing): plain
/// digits are read directly, anything else goes through the same `str` parsing.
fn parse_length(value: &[u8]) -> Option<u64> {
    if !value.is_empty() && value.iter().all(u8::is_ascii_digit) {
        return value.iter().try_fold(0u64, |n, &d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        });
    }
    std::str::from_utf8(value).ok()?.trim().parse().ok()
}

/// Parses the fields of the clean header that starts at `buf[from]` (every line `name: value`
/// ending in CRLF, no folding, the empty line in `buf`) into `record`, as ranges of `head` once the
/// caller has checked `buf[copy_from..end - 2]` as UTF-8 and appended it there, and returns `end`,
/// the offset of the empty line; otherwise clears `record`'s fields and returns `None`.
///
/// One pass finds the line ends (the empty line ends the header) and the field ranges.
fn clean_header_in(
    buf: &[u8],
    from: usize,
    copy_from: usize,
    record: &mut WarcRecord,
) -> Option<usize> {
    if buf[from..].starts_with(b"\r\n") {
        return None;
    }
    // `buf[copy_from..]` is copied to the end of `head`: `buf[x]` lands at `shift(x)` there.
    let record_end = record.head.len();
    let shift = |x: usize| record_end + (x - copy_from);
    let mut marks = Marks::new(buf, from);
    let mut at = from;
    let end = loop {
        // The first colon or line end of the line.
        let Some((p, is_colon)) = marks.next(at, true) else {
            break None;
        };
        if !is_colon {
            // No colon: the empty line that ends the header, or not a clean field line.
            break (p == at + 1 && buf[at] == b'\r').then_some(at);
        }
        // A line with a colon is never a version line (`WARC/` then digits and dots). Its end is
        // the first line end after the colon; an LF-only end goes to the general path.
        let Some((eol, _)) = marks.next(p + 1, false) else {
            break None;
        };
        let line_end = eol - 1;
        if buf[line_end] != b'\r'
            || buf[at] == b' '
            || buf[at] == b'\t'
            || line_end - at > MAX_HEADER_LINE
        {
            break None;
        }
        let (n, ne) = trimmed(buf, at, p);
        let (v, ve) = trimmed(buf, p + 1, line_end);
        record.add_field(&buf[n..ne], (shift(n), shift(ne)), (shift(v), shift(ve)));
        at = eol + 1;
    };
    if end.is_none() {
        record.clear_headers();
    }
    end
}

/// A forward scan for line ends and colons, 64 bytes at a time: bit `i` of `nl` (`colon`) is set
/// when `buf[base + i]` is `\n` (`:`). Header lines are short, and a search call per line costs
/// more in set-up than in search.
struct Marks<'a> {
    buf: &'a [u8],
    base: usize,
    nl: u64,
    colon: u64,
}

impl<'a> Marks<'a> {
    fn new(buf: &'a [u8], from: usize) -> Self {
        let (nl, colon) = marks64(buf, from);
        Marks {
            buf,
            base: from,
            nl,
            colon,
        }
    }

    /// The first `\n` (or `:` too, when `colon`) at or after `at`, and whether it is a colon.
    /// `at` never goes back before the start of the 64 bytes scanned last.
    fn next(&mut self, at: usize, colon: bool) -> Option<(usize, bool)> {
        loop {
            // `at` is before the block when the search has moved on from the block it was in.
            let skip = at.saturating_sub(self.base);
            if skip < 64 {
                let keep = u64::MAX << skip;
                let nl = self.nl & keep;
                let co = if colon { self.colon & keep } else { 0 };
                let any = nl | co;
                if any != 0 {
                    let i = any.trailing_zeros();
                    return Some((self.base + i as usize, (co >> i) & 1 == 1));
                }
            }
            self.base += 64;
            if self.base >= self.buf.len() {
                return None;
            }
            (self.nl, self.colon) = marks64(self.buf, self.base);
        }
    }
}

/// Bit masks of the `\n` and `:` bytes among the 64 bytes of `buf` from `base` (bytes past the
/// end are neither).
fn marks64(buf: &[u8], base: usize) -> (u64, u64) {
    #[cfg(target_arch = "x86_64")]
    if let Some(block) = buf.get(base..base + 64) {
        return marks64_sse2(block);
    }
    let mut nl = 0u64;
    let mut colon = 0u64;
    for (i, &b) in buf.get(base..).unwrap_or(&[]).iter().take(64).enumerate() {
        nl |= u64::from(b == b'\n') << i;
        colon |= u64::from(b == b':') << i;
    }
    (nl, colon)
}

/// [`marks64`] for 64 bytes with SSE2 (part of every x86-64 processor).
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn marks64_sse2(block: &[u8]) -> (u64, u64) {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    assert!(block.len() >= 64, "marks64_sse2 needs 64 bytes");
    let mut nl = 0u64;
    let mut co = 0u64;
    // SAFETY: SSE2 is in the x86-64 baseline (every x86-64 processor has it, and the target
    // enables it), so these instructions exist wherever this code runs. Each load reads bytes
    // `16 k .. 16 k + 16` of `block`, which exist (asserted above); an unaligned load has no
    // alignment requirement.
    unsafe {
        let newline = _mm_set1_epi8(b'\n' as i8);
        let colon = _mm_set1_epi8(b':' as i8);
        for k in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast::<__m128i>());
            nl |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, newline)) as u16) << (16 * k);
            co |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, colon)) as u16) << (16 * k);
        }
    }
    (nl, co)
}

/// The range `start..end` of `buf` without ASCII white space at either end.
fn trimmed(buf: &[u8], mut start: usize, mut end: usize) -> (usize, usize) {
    while start < end && buf[start].is_ascii_whitespace() {
        start += 1;
    }
    while end > start && buf[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    (start, end)
}

/// Position of a version line that starts a line inside `block` (not at 0), if any.
fn find_version_line(block: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = memchr::memmem::find(&block[from..], b"\nWARC/") {
        let start = from + i + 1;
        let end = memchr::memchr(b'\n', &block[start..]).map_or(block.len(), |e| start + e + 1);
        if is_version_line(&block[start..end]) {
            return Some(start);
        }
        from = start;
    }
    None
}

/// Drops the empty lines that separate records, keeping the body's own final newline.
fn trim_trailing_blank_lines(block: &mut Vec<u8>) {
    loop {
        if block.ends_with(b"\n\r\n") {
            block.truncate(block.len() - 2);
        } else if block.ends_with(b"\n\n") {
            block.truncate(block.len() - 1);
        } else {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 64-byte mark scan finds the same line ends and colons as a plain scan, from every
    /// start, across block edges and at the end of the buffer.
    #[test]
    fn marks_agree_with_a_scan() {
        // Marks close together, then far apart (whole blocks without any).
        let pattern = b"ab:\r\nxyz\x80\xff:::\n";
        let mut hay: Vec<u8> = (0..200).map(|i| pattern[i * 7 % pattern.len()]).collect();
        for gap in [1, 63, 64, 65, 130, 200] {
            hay.extend(std::iter::repeat_n(b'x', gap));
            hay.push(if gap % 2 == 0 { b'\n' } else { b':' });
        }
        for len in [0, 1, 63, 64, 65, 127, 128, 150, 200, 400, 600, hay.len()] {
            let hay = &hay[..len];
            for from in 0..len {
                let mut marks = Marks::new(hay, from);
                let mut at = from;
                while at < len {
                    let with_colon = at % 3 != 0;
                    let want = hay[at..]
                        .iter()
                        .position(|&b| b == b'\n' || (with_colon && b == b':'))
                        .map(|p| (at + p, hay[at + p] == b':'));
                    assert_eq!(
                        marks.next(at, with_colon),
                        want,
                        "len {len} from {from} at {at}"
                    );
                    match want {
                        Some((p, _)) => at = p + 1 + (p % 5),
                        None => break,
                    }
                }
            }
        }
    }

    /// A clean record whose header spans several 64-byte blocks (as every CommonCrawl header
    /// does) is read by the fast path, with its block where Content-Length puts it.
    #[test]
    fn clean_records_take_the_fast_path() {
        let long = "x".repeat(150);
        let data = format!(
            "WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Target-URI: https://a.example/{long}\r\nWARC-Record-ID: <urn:uuid:1>\r\nContent-Length: 5\r\n\r\nhello\r\n\r\n"
        );
        let Ok((r, start, end, utf8)) = clean_record_in(data.as_bytes(), 7, None) else {
            panic!("the fast path refused a clean record");
        };
        assert!(utf8);
        assert_eq!(&data[start..end], "hello");
        assert_eq!(r.offset, 7);
        assert_eq!(r.version(), "WARC/1.0");
        assert_eq!(r.field(Field::RecordId), Some("<urn:uuid:1>"));
        assert_eq!(r.field(Field::TargetUri).map(str::len), Some(18 + 150));
        // Not whole in the buffer, or not clean: the general path's.
        assert!(clean_record_in(&data.as_bytes()[..end - 1], 0, None).is_err());
        let lf = data.replacen("conversion\r\n", "conversion\n", 1);
        assert!(clean_record_in(lf.as_bytes(), 0, None).is_err());
    }

    /// The fast path checks header and block as UTF-8 in one pass; the text of a block it did not
    /// find valid, or that a repair changed after the check, is still checked, repaired and counted.
    #[test]
    fn block_text_is_checked_once_and_always() {
        let good = rec("conversion", "ok ü\n");
        // Invalid bytes in a clean record: the header is fine, the block is not.
        let bad = b"WARC/1.0\r\nWARC-Type: conversion\r\nContent-Length: 4\r\n\r\nab\xff\n\r\n\r\n";
        // A valid block followed by invalid bytes that the repair (Content-Length too short) adds.
        let short =
            b"WARC/1.0\r\nWARC-Type: conversion\r\nContent-Length: 3\r\n\r\nabc\xfe\xff\n\r\n\r\n";
        for (data, want) in [
            (
                [good.as_bytes(), bad].concat(),
                vec!["ok ü\n", "ab\u{fffd}\n"],
            ),
            (
                [&short[..], good.as_bytes()].concat(),
                vec!["abc\u{fffd}\u{fffd}\n", "ok ü\n"],
            ),
        ] {
            for fast in [true, false] {
                let (mut recs, skipped, mut c) = if fast {
                    records(&data)
                } else {
                    drain(WarcParser::new(std::io::BufReader::with_capacity(
                        1,
                        &data[..],
                    )))
                };
                assert!(skipped.is_empty(), "{skipped:?}");
                let texts: Vec<String> = recs.iter_mut().map(|r| r.take_text(&mut c)).collect();
                assert_eq!(texts, want, "fast path: {fast}");
                assert_eq!(c.get("repaired:invalid_utf8"), 1, "fast path: {fast}");
            }
        }
    }

    /// Field names are recognised in any case and nothing else is.
    #[test]
    fn field_names() {
        for f in Field::ALL {
            let name = f.name();
            for spelling in [name.to_string(), name.to_lowercase(), name.to_uppercase()] {
                assert_eq!(Field::of(spelling.as_bytes()), Some(f), "{spelling}");
            }
            // Same length, one byte changed anywhere: not this field (nor another).
            for i in 0..name.len() {
                let mut other = name.as_bytes().to_vec();
                other[i] = b'_';
                assert_eq!(
                    Field::of(&other),
                    None,
                    "{}",
                    String::from_utf8_lossy(&other)
                );
            }
        }
        for other in [
            "",
            "WARC",
            "Content-Type",
            "WARC-Block-Digest",
            "WARC-Typ",
            "WARC-Types",
        ] {
            assert_eq!(Field::of(other.as_bytes()), None, "{other}");
        }
    }

    /// Content-Length values read from bytes as the general path reads them from a `str`.
    #[test]
    fn lengths_parse_like_str_parse() {
        for v in [
            "0",
            "007",
            "1656",
            "+5",
            "",
            " ",
            "-1",
            "1 2",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999999",
            "12\u{a0}",
            "x",
        ] {
            assert_eq!(
                parse_length(v.as_bytes()),
                v.trim().parse::<u64>().ok(),
                "{v:?}"
            );
        }
        assert_eq!(parse_length(b"1\xff"), None);
    }

    /// The whole-record fast path (everything in one buffer) and the general path (a reader that
    /// hands out one byte at a time, so no fast path applies) read the same records, skips and
    /// repairs from the same bytes, well-formed or not.
    #[test]
    fn fast_and_general_paths_read_the_same() {
        let good = rec("conversion", "hello\nworld\n");
        let inputs: Vec<Vec<u8>> = vec![
            (rec("warcinfo", "a: b\r\n") + &good + &rec("conversion", "")).into_bytes(),
            // Content-Length too short, too long, not a number, missing.
            format!("WARC/1.0\r\nWARC-Type: conversion\r\nContent-Length: 5\r\n\r\nfirst line\nsecond\n\r\n\r\n{good}").into_bytes(),
            format!("WARC/1.0\r\nWARC-Type: conversion\r\nContent-Length: 40\r\n\r\nshort\r\n\r\n{good}").into_bytes(),
            format!("WARC/1.0\r\nContent-Length: x\r\n\r\nabc\r\n\r\n{good}").into_bytes(),
            format!("WARC/1.0\r\nWARC-Type: conversion\r\n\r\nabc\r\n\r\n{good}").into_bytes(),
            // LF-only version line, a header without fields, junk before a record, a header
            // line without a colon, folding, a stray version line in a header.
            format!("WARC/1.0\nWARC-Type: conversion\r\nContent-Length: 2\r\n\r\nhi\r\n\r\n{good}").into_bytes(),
            format!("WARC/1.0\r\n\r\nhi\r\n\r\n{good}").into_bytes(),
            format!("junk line\r\n{good}").into_bytes(),
            format!("\r\n\r\n{good}{good}").into_bytes(),
            format!("WARC/1.0\r\nWARC-Type conversion\r\nContent-Length: 2\r\n\r\nhi\r\n\r\n{good}").into_bytes(),
            format!("WARC/1.0\r\nWARC-Type: conversion\r\n  folded\r\nContent-Length: 2\r\n\r\nhi\r\n\r\n{good}").into_bytes(),
            format!("WARC/1.0\r\nWARC-Type: conversion\r\nWARC/1.0\r\n{good}").into_bytes(),
            // Invalid UTF-8 in a header value; a separator that is not clean; a truncated block.
            b"WARC/1.0\r\nWARC-Type: conv\xffersion\r\nContent-Length: 2\r\n\r\nhi\r\n\r\n".to_vec(),
            format!("WARC/1.0\r\nWARC-Type: conversion\r\nContent-Length: 2\r\n\r\nhi\r\nX\r\n{good}").into_bytes(),
            format!("{good}WARC/1.0\r\nWARC-Type: conversion\r\nContent-Length: 50\r\n\r\nhi\r\n").into_bytes(),
        ];
        for data in &inputs {
            let fast = drain(WarcParser::new(&data[..]));
            let slow = drain(WarcParser::new(std::io::BufReader::with_capacity(
                1,
                &data[..],
            )));
            let view = |(r, s, c): &(Vec<WarcRecord>, Vec<&'static str>, Counters)| {
                let recs: Vec<_> = r
                    .iter()
                    .map(|r| {
                        let h: Vec<(String, String)> =
                            r.headers().map(|(k, v)| (k.into(), v.into())).collect();
                        (r.offset, r.version().to_string(), h, r.block.clone())
                    })
                    .collect();
                (recs, s.clone(), c.clone())
            };
            assert_eq!(
                view(&fast),
                view(&slow),
                "{}",
                String::from_utf8_lossy(data)
            );
        }
    }

    /// The one-pass header parser and the line-by-line one give the same fields: names and values
    /// trimmed, file order kept, the first of each known field found by any spelling, and the
    /// first non-empty value for the fields a document keeps.
    #[test]
    fn fast_and_line_by_line_headers_agree() {
        let fields = "WARC-Type :  conversion \r\nwarc-target-uri:\thttp://a.example/x?y=1:2 \r\nWARC-Date:\r\nWARC-DATE: 2026-01-01\r\nX-Thing:\r\ncontent-length: 2\r\nWARC-Refers-To: <urn:a>\r\nWARC-Refers-To: <urn:b>\r\n";
        let crlf = format!("WARC/1.0\r\n{fields}\r\nhi\r\n\r\n");
        // An LF-only last field sends the same header down the line-by-line path.
        let lf = crlf.replacen("<urn:b>\r\n", "<urn:b>\n", 1);
        let (fast, s1, c1) = records(crlf.as_bytes());
        let (slow, s2, c2) = records(lf.as_bytes());
        assert!(s1.is_empty() && s2.is_empty(), "{s1:?} {s2:?}");
        assert!(c1.is_empty());
        assert_eq!(c2.get("repaired:lf_line_endings"), 1);
        for r in [&fast[0], &slow[0]] {
            let h: Vec<(&str, &str)> = r.headers().collect();
            assert_eq!(
                h,
                [
                    ("WARC-Type", "conversion"),
                    ("warc-target-uri", "http://a.example/x?y=1:2"),
                    ("WARC-Date", ""),
                    ("WARC-DATE", "2026-01-01"),
                    ("X-Thing", ""),
                    ("content-length", "2"),
                    ("WARC-Refers-To", "<urn:a>"),
                    ("WARC-Refers-To", "<urn:b>"),
                ]
            );
            assert_eq!(r.warc_type(), "conversion");
            assert_eq!(r.field(Field::TargetUri), Some("http://a.example/x?y=1:2"));
            assert_eq!(r.field(Field::Date), Some(""));
            assert_eq!(r.nonempty_field(Field::Date), Some("2026-01-01"));
            assert_eq!(r.field(Field::RefersTo), Some("<urn:a>"));
            assert_eq!(r.field(Field::RecordId), None);
            assert_eq!(r.header("Content-Length"), Some("2"));
            assert_eq!(r.block, b"hi");
        }
        // A folded value completes an empty first field: the lookup sees the whole value.
        let folded = "WARC/1.0\nWARC-Type: conversion\nWARC-Date:\n  2026-02-02\nContent-Length: 2\n\nhi\n\n";
        let (r, _, _) = records(folded.as_bytes());
        assert_eq!(r[0].nonempty_field(Field::Date), Some(" 2026-02-02"));
    }

    /// Headers the fast path must leave to the line-by-line path, with the line-by-line answer:
    /// an LF-only empty line first (the header ends there, without a Content-Length), an LF-only
    /// field, a folded field, a version line inside the header.
    #[test]
    fn unusual_headers_take_the_general_path() {
        let (r, skipped, _) =
            records(b"WARC/1.0\r\n\nWARC-Type: conversion\r\nContent-Length: 2\r\n\r\nhi\r\n\r\n");
        assert!(r.is_empty(), "{r:?}");
        assert_eq!(skipped.first(), Some(&"malformed_header"));

        let (r, _, c) =
            records(b"WARC/1.0\r\nWARC-Type: conversion\nContent-Length: 2\r\n\r\nhi\r\n\r\n");
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].block, b"hi");
        assert_eq!(c.get("repaired:lf_line_endings"), 1);

        let (r, _, _) = records(
            b"WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Target-URI: http://a/\r\n  b\r\nContent-Length: 2\r\n\r\nhi\r\n\r\n",
        );
        assert_eq!(r[0].header("WARC-Target-URI"), Some("http://a/ b"));
        assert_eq!(r[0].header("content-length"), Some("2"));

        let (r, skipped, _) = records(
            b"WARC/1.0\r\nWARC-Type: conversion\r\nWARC/1.0\r\nWARC-Type: conversion\r\nContent-Length: 2\r\n\r\nhi\r\n\r\n",
        );
        assert_eq!(skipped, vec!["malformed_header"]);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].block, b"hi");
    }

    fn records(data: &[u8]) -> (Vec<WarcRecord>, Vec<&'static str>, Counters) {
        drain(WarcParser::new(data))
    }

    fn drain<R: BufRead + RecordStarts>(
        mut p: WarcParser<R>,
    ) -> (Vec<WarcRecord>, Vec<&'static str>, Counters) {
        let mut c = Counters::default();
        let mut out = Vec::new();
        let mut skipped = Vec::new();
        loop {
            match p.next(&mut c) {
                Next::Record(r) => out.push(r),
                Next::Skipped { reason, .. } => skipped.push(reason),
                Next::Fatal { reason, .. } => {
                    skipped.push(reason);
                    break;
                }
                Next::End => break,
            }
        }
        (out, skipped, c)
    }

    fn rec(kind: &str, body: &str) -> String {
        format!(
            "WARC/1.0\r\nWARC-Type: {kind}\r\nContent-Length: {}\r\n\r\n{body}\r\n\r\n",
            body.len()
        )
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// One gzip member per record, as CommonCrawl writes: damage stays inside its own member.
    #[test]
    fn member_starts_confine_junk_and_wrong_lengths_to_one_record() {
        let a = rec("conversion", "first body\nline two");
        // Binary junk without a final newline: its last line runs into the next member's bytes.
        let junk: Vec<u8> = (0..700u32).map(|i| (i * 37 % 251) as u8 | 1).collect();
        let b = rec("conversion", "second body");
        // Content-Length 7 bytes too long: it swallows the separator and `WARC/` of the next one.
        let c = "WARC/1.0\r\nWARC-Type: conversion\r\nContent-Length: 18\r\n\r\nthird body\r\n\r\n";
        let d = rec("conversion", "fourth body");
        let mut file = Vec::new();
        // Two junk members in a row: one skip each, and the record after them is intact.
        for m in [
            a.as_bytes(),
            &junk,
            &junk[..300],
            b.as_bytes(),
            c.as_bytes(),
            d.as_bytes(),
        ] {
            file.extend_from_slice(&gz(m));
        }
        let members = crate::read::gzip::GzMembers::new(&file[..]);
        let (recs, skipped, counters) = drain(WarcParser::new(members));
        let bodies: Vec<String> = recs
            .iter()
            .map(|r| String::from_utf8_lossy(&r.block).into_owned())
            .collect();
        assert_eq!(
            bodies,
            [
                "first body\nline two",
                "second body",
                "third body\r\n",
                "fourth body"
            ]
        );
        assert_eq!(skipped, ["malformed_header", "malformed_header"]);
        assert_eq!(counters.0.get("repaired:wrong_content_length"), Some(&1));
        // The same bytes without member boundaries lose the record after the junk.
        let plain: Vec<u8> = [
            a.as_bytes(),
            &junk,
            b.as_bytes(),
            c.as_bytes(),
            d.as_bytes(),
        ]
        .concat();
        let (recs, _, _) = records(&plain);
        assert!(recs.len() < 4);
    }

    #[test]
    fn well_formed_records() {
        let data = rec("warcinfo", "a: b\r\n") + &rec("conversion", "hello\nworld\n");
        let (r, s, c) = records(data.as_bytes());
        assert!(s.is_empty());
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].warc_type(), "conversion");
        assert_eq!(r[1].block, b"hello\nworld\n");
        assert_eq!(r[1].offset, rec("warcinfo", "a: b\r\n").len() as u64);
        assert!(c.is_empty());
    }

    #[test]
    fn content_length_too_short_and_too_long_are_repaired() {
        let good = "first line\nsecond line\n";
        let short =
            format!("WARC/1.0\r\nWARC-Type: conversion\r\nContent-Length: 5\r\n\r\n{good}\r\n\r\n");
        let long = format!(
            "WARC/1.0\r\nWARC-Type: conversion\r\nContent-Length: {}\r\n\r\n{good}\r\n\r\n",
            good.len() + 30
        );
        let data = short + &long + &rec("conversion", "last\n");
        let (r, s, c) = records(data.as_bytes());
        assert!(s.is_empty(), "{s:?}");
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].block, good.as_bytes());
        assert_eq!(r[1].block, good.as_bytes());
        assert_eq!(r[2].block, b"last\n");
        assert_eq!(c.get("repaired:wrong_content_length"), 2);
    }

    #[test]
    fn malformed_header_is_skipped_and_parser_resyncs() {
        let bad = "WARC/1.0\r\nWARC-Type conversion\r\nContent-Length: 3\r\n\r\nabc\r\n\r\n";
        let nolen = "WARC/1.0\r\nWARC-Type: conversion\r\nContent-Length: many\r\n\r\nabc\r\n\r\n";
        let data = rec("conversion", "one\n") + bad + nolen + &rec("conversion", "two\n");
        let (r, s, _) = records(data.as_bytes());
        assert_eq!(s, vec!["malformed_header", "malformed_header"]);
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].block, b"two\n");
    }

    #[test]
    fn lf_only_headers_are_accepted_and_counted() {
        let data = "WARC/0.18\nWARC-Type: response\nContent-Length: 4\n\nbody\n\n";
        let (r, s, c) = records(data.as_bytes());
        assert!(s.is_empty());
        assert_eq!(r[0].version(), "WARC/0.18");
        assert_eq!(r[0].block, b"body");
        assert_eq!(c.get("repaired:lf_line_endings"), 1);
    }

    #[test]
    fn truncated_block_is_fatal() {
        let data = "WARC/1.0\r\nWARC-Type: response\r\nContent-Length: 100\r\n\r\nshort\r\n";
        let (r, s, _) = records(data.as_bytes());
        assert!(r.is_empty());
        assert_eq!(s, vec!["truncated"]);
    }

    #[test]
    fn version_lines() {
        assert!(is_version_line(b"WARC/1.0\r\n"));
        assert!(is_version_line(b"WARC/0.18\n"));
        assert!(!is_version_line(b"WARC/abc\n"));
        assert!(!is_version_line(b"WARC-Type: x\n"));
    }
}
