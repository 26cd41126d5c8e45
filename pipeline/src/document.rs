//! The unit of text that moves through a pipeline, and the verdict a stage gives on it.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Where a document came from: enough to find it again in its input file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The input file, as given on the command line or matched by the pipeline's globs. For a
    /// document read back from tria's own output (a later step, a second pipeline), the origin
    /// recorded there: provenance always reaches the raw file the text was first read from.
    pub file: Arc<str>,
    /// 0-based index of the record (WARC record, JSONL line, Parquet row) in that file.
    pub record: u64,
    /// Byte offset of the record in the file: for gzip files the compressed offset of the member the
    /// record starts in (what CommonCrawl's index calls `offset`), else the plain byte offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

/// One document: text plus what we know about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// WARC-Record-ID when there is one, else the input's id field, else `<file>#<record>`.
    pub id: String,
    pub text: String,
    pub origin: Origin,
    /// Source fields passed through untouched (url, date, CommonCrawl's language guess, ...).
    pub meta: serde_json::Map<String, serde_json::Value>,
    /// Measurements made by stages (`lang.score`, `gopher.words`, ...), sorted so output is stable.
    pub attrs: BTreeMap<String, f64>,
}

impl Document {
    pub fn new(id: String, text: String, origin: Origin) -> Document {
        Document {
            id,
            text,
            origin,
            meta: serde_json::Map::new(),
            attrs: BTreeMap::new(),
        }
    }

    /// A string field of `meta`, if present.
    pub fn meta_str(&self, key: &str) -> Option<&str> {
        self.meta.get(key).and_then(|v| v.as_str())
    }

    /// The document's language when a stage (or the input) has set one.
    pub fn lang(&self) -> Option<&str> {
        self.meta_str("lang")
    }
}

/// What a stage decided about a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    /// Drop with a stable, low-cardinality reason (it becomes a key in the report).
    Drop(&'static str),
}

/// A per-document step of a pipeline.
///
/// Contract: `process` does no I/O and touches no shared mutable state, and its verdict depends
/// only on the document and the stage's configuration. The runner calls it from many threads at
/// once (one input file per thread), which is why a run is byte-identical whatever `-j` is.
/// A stage may rewrite `doc.text` (redaction, line removal) and add `meta`/`attrs`.
pub trait Stage: Send + Sync {
    /// The name used in reports and rejects paths (the `kind` of its `[[stage]]`, or its `name`).
    fn name(&self) -> &str;
    fn process(&self, doc: &mut Document) -> Verdict;
}
