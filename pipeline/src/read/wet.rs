//! Documents out of WET (`conversion` records) and WARC (`response` records with HTML) files.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use super::warc::{Field, Next, WarcParser, WarcRecord};
use super::{Counters, Decoded, DocReader, Format, ReadError, ReadOptions, html};
use crate::document::{Document, Origin};

pub struct WarcDocs {
    file: Arc<str>,
    format: Format,
    parser: WarcParser<Decoded>,
    counters: Counters,
    bytes: Arc<AtomicU64>,
    opts: ReadOptions,
    record: u64,
    done: bool,
}

impl WarcDocs {
    pub fn new(
        file: Arc<str>,
        format: Format,
        decoded: Decoded,
        bytes: Arc<AtomicU64>,
        opts: ReadOptions,
    ) -> Self {
        WarcDocs {
            file,
            format,
            parser: WarcParser::new(decoded),
            counters: Counters::default(),
            bytes,
            opts,
            record: 0,
            done: false,
        }
    }

    fn document(
        &mut self,
        rec: &mut WarcRecord,
        index: u64,
    ) -> Result<Option<Document>, ReadError> {
        let wanted = match self.format {
            Format::Wet => "conversion",
            _ => "response",
        };
        if !rec.warc_type().eq_ignore_ascii_case(wanted) {
            let kind = rec.warc_type().to_ascii_lowercase();
            let key = format!(
                "skipped_type:{}",
                if kind.is_empty() { "none" } else { &kind }
            );
            self.counters.add(&key, 1);
            return Ok(None);
        }
        let offset = self.parser.input().inner().disk_offset(rec.offset);
        let origin = Origin {
            file: self.file.clone(),
            record: index,
            offset: Some(offset),
        };
        // The first non-empty value of each field the document keeps (noted while parsing).
        let [record_id, url, date, cc_lang, refers_to] = [
            Field::RecordId,
            Field::TargetUri,
            Field::Date,
            Field::IdentifiedContentLanguage,
            Field::RefersTo,
        ]
        .map(|f| rec.nonempty_field(f));
        let id = match record_id {
            Some(id) => id.to_string(),
            None => format!("{}#{index}", self.file),
        };
        let mut meta = serde_json::Map::new();
        for (key, value) in [
            ("url", url),
            ("date", date),
            ("cc_lang", cc_lang),
            ("refers_to", refers_to),
        ] {
            if let Some(v) = value {
                meta.insert(key.to_string(), Value::String(v.to_string()));
            }
        }
        let text = match self.format {
            // The block is exactly the extracted text; the record separator is not in it.
            Format::Wet => rec.take_text(&mut self.counters),
            _ => {
                match html::response_text(
                    rec.block(),
                    self.opts.max_html_bytes,
                    self.opts.extract,
                    &mut self.counters,
                ) {
                    Ok(page) => {
                        if let Some(cs) = page.charset {
                            meta.insert("charset".into(), Value::String(cs.to_string()));
                        }
                        if let Some(t) = page.title {
                            meta.insert("title".into(), Value::String(t));
                        }
                        page.text
                    }
                    Err(reason) => {
                        self.counters.add(&format!("skipped:{reason}"), 1);
                        return Ok(None);
                    }
                }
            }
        };
        let mut doc = Document::new(id, text, origin);
        doc.meta = meta;
        Ok(Some(doc))
    }
}

impl Iterator for WarcDocs {
    type Item = Result<Document, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let index = self.record;
            match self.parser.next(&mut self.counters) {
                Next::End => self.done = true,
                Next::Record(mut rec) => {
                    self.record += 1;
                    let doc = self.document(&mut rec, index);
                    self.parser.recycle(rec);
                    match doc {
                        Ok(Some(doc)) => return Some(Ok(doc)),
                        Ok(None) => continue,
                        Err(e) => return Some(Err(e)),
                    }
                }
                Next::Skipped {
                    offset,
                    reason,
                    detail,
                } => {
                    self.record += 1;
                    let offset = self.parser.input().inner().disk_offset(offset);
                    return Some(Err(ReadError::Record {
                        file: self.file.clone(),
                        record: index,
                        offset,
                        reason,
                        detail,
                    }));
                }
                Next::Fatal {
                    offset,
                    reason,
                    detail,
                } => {
                    self.done = true;
                    let offset = self.parser.input().inner().disk_offset(offset);
                    return Some(Err(ReadError::File {
                        file: self.file.clone(),
                        offset,
                        reason,
                        detail: format!("record {index}: {detail}"),
                    }));
                }
            }
        }
        None
    }
}

impl DocReader for WarcDocs {
    fn counters(&self) -> &Counters {
        &self.counters
    }

    fn bytes_read(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}
