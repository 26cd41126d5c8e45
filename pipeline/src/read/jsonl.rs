//! JSON Lines (plain, gzip, zstd): one object per line; the text and id fields are configurable and
//! every other field is kept in `meta`. tria's own output (`meta` and `attrs` objects) reads back
//! into the same document.

use std::io::{BufRead, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use super::{
    Counters, Decoded, DocReader, ReadError, ReadOptions, doc_id, recorded_origin, restore_attrs,
};
use crate::document::{Document, Origin};

/// Longest line we accept (a document of 512 MiB is not a web page).
const MAX_LINE: usize = 512 * 1024 * 1024;

pub struct JsonlDocs {
    file: Arc<str>,
    input: Decoded,
    counters: Counters,
    bytes: Arc<AtomicU64>,
    opts: ReadOptions,
    line: Vec<u8>,
    record: u64,
    pos: u64,
    done: bool,
    /// The last recorded origin's file name (see [`recorded_origin`]).
    last_origin: Option<Arc<str>>,
}

impl JsonlDocs {
    pub fn new(file: Arc<str>, input: Decoded, bytes: Arc<AtomicU64>, opts: ReadOptions) -> Self {
        JsonlDocs {
            file,
            input,
            counters: Counters::default(),
            bytes,
            opts,
            line: Vec::new(),
            record: 0,
            pos: 0,
            done: false,
            last_origin: None,
        }
    }

    fn bad(&self, record: u64, offset: u64, reason: &'static str, detail: String) -> ReadError {
        ReadError::Record {
            file: self.file.clone(),
            record,
            offset,
            reason,
            detail,
        }
    }

    fn parse(&mut self, record: u64, offset: u64) -> Result<Document, ReadError> {
        let value: Value = match serde_json::from_slice(&self.line) {
            Ok(v) => v,
            Err(e) if e.is_syntax() || e.is_eof() || e.is_data() => {
                // Invalid UTF-8 inside strings is an error for serde_json; repair and retry.
                let lossy = String::from_utf8_lossy(&self.line);
                match (&lossy, serde_json::from_str::<Value>(&lossy)) {
                    (std::borrow::Cow::Owned(_), Ok(v)) => {
                        self.counters.add("repaired:invalid_utf8", 1);
                        v
                    }
                    _ => return Err(self.bad(record, offset, "bad_json", e.to_string())),
                }
            }
            Err(e) => return Err(self.bad(record, offset, "bad_json", e.to_string())),
        };
        let Value::Object(mut obj) = value else {
            return Err(self.bad(
                record,
                offset,
                "bad_json",
                "line is not a JSON object".into(),
            ));
        };
        let text = match obj.remove(&self.opts.text_field) {
            Some(Value::String(s)) => s,
            Some(_) => {
                let detail = format!("field `{}` is not a string", self.opts.text_field);
                return Err(self.bad(record, offset, "bad_text_field", detail));
            }
            None => {
                let detail = format!("no field `{}`", self.opts.text_field);
                return Err(self.bad(record, offset, "missing_text", detail));
            }
        };
        let id = doc_id(obj.remove(&self.opts.id_field), &self.file, record);
        let origin = Origin {
            file: self.file.clone(),
            record,
            offset: Some(offset),
        };
        let mut doc = Document::new(id, text, origin);
        // tria's own output nests source fields under `meta` and measurements under `attrs`.
        if let Some(Value::Object(meta)) = obj.remove("meta") {
            doc.meta = meta;
        }
        if let Some(Value::Object(attrs)) = obj.remove("attrs") {
            restore_attrs(&mut doc, attrs);
        }
        // tria's own output records where each document came from: keep pointing there.
        if let Some(Value::Object(o)) = obj.get("origin") {
            if let Some(origin) = recorded_origin(
                o.get("file"),
                o.get("record"),
                o.get("offset"),
                &mut self.last_origin,
            ) {
                doc.origin = origin;
                obj.remove("origin");
            }
        }
        for (k, v) in obj {
            if !doc.meta.contains_key(&k) {
                doc.meta.insert(k, v);
            }
        }
        Ok(doc)
    }
}

impl Iterator for JsonlDocs {
    type Item = Result<Document, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.line.clear();
            let offset = self.pos;
            let n = match Read::take(&mut self.input, MAX_LINE as u64)
                .read_until(b'\n', &mut self.line)
            {
                Ok(n) => n,
                Err(e) => {
                    self.done = true;
                    let reason = if e.kind() == std::io::ErrorKind::UnexpectedEof {
                        "truncated"
                    } else {
                        "io"
                    };
                    return Some(Err(ReadError::File {
                        file: self.file.clone(),
                        offset,
                        reason,
                        detail: format!("line {}: {e}", self.record),
                    }));
                }
            };
            if n == 0 {
                self.done = true;
                break;
            }
            self.pos += n as u64;
            let record = self.record;
            self.record += 1;
            if n >= MAX_LINE && self.line.last() != Some(&b'\n') {
                // Skip the rest of the overlong line.
                let mut sink = Vec::new();
                while let Ok(k) = Read::take(&mut self.input, 1 << 20).read_until(b'\n', &mut sink)
                {
                    self.pos += k as u64;
                    if k == 0 || sink.last() == Some(&b'\n') {
                        break;
                    }
                    sink.clear();
                }
                return Some(Err(self.bad(
                    record,
                    offset,
                    "line_too_long",
                    "over 512 MiB".into(),
                )));
            }
            if self.line.iter().all(|b| b.is_ascii_whitespace()) {
                self.counters.add("empty_line", 1);
                continue;
            }
            return Some(self.parse(record, offset));
        }
        None
    }
}

impl DocReader for JsonlDocs {
    fn counters(&self) -> &Counters {
        &self.counters
    }

    fn bytes_read(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}
