//! `tria inspect FILE`: print documents from any file tria reads or writes.

use std::io::Write;
use std::path::Path;

use crate::read::{self, Format, ReadOptions};

/// How to print.
#[derive(Clone, Debug)]
pub struct InspectOptions {
    pub limit: usize,
    pub format: Option<Format>,
    /// Print JSON lines (tria's output form) instead of a readable listing.
    pub json: bool,
    /// Characters of text shown per document in the listing (0: all).
    pub chars: usize,
    pub read: ReadOptions,
}

/// Prints up to `limit` documents; returns how many were printed and the reader's problems.
pub fn inspect(path: &Path, opts: &InspectOptions, out: &mut dyn Write) -> anyhow::Result<usize> {
    let mut reader = read::open(path, opts.format, &opts.read)?;
    let mut n = 0;
    let mut line = Vec::new();
    while n < opts.limit {
        let Some(item) = reader.next() else { break };
        let doc = match item {
            Ok(d) => d,
            Err(e) if e.is_fatal() => return Err(e.into()),
            Err(e) => {
                eprintln!("skipped: {e}");
                continue;
            }
        };
        n += 1;
        if opts.json {
            line.clear();
            crate::write::json_line(&doc, None, &mut line);
            out.write_all(&line)?;
            continue;
        }
        writeln!(
            out,
            "=== #{} {} ({} chars)",
            doc.origin.record,
            doc.id,
            doc.text.chars().count()
        )?;
        for (k, v) in &doc.meta {
            writeln!(
                out,
                "  {k}: {}",
                v.as_str().map_or_else(|| v.to_string(), str::to_string)
            )?;
        }
        for (k, v) in &doc.attrs {
            writeln!(out, "  @{k}: {v}")?;
        }
        let text: String = if opts.chars > 0 && doc.text.chars().count() > opts.chars {
            doc.text
                .chars()
                .take(opts.chars)
                .chain("…".chars())
                .collect()
        } else {
            doc.text.clone()
        };
        writeln!(out, "{}", text.trim_end())?;
    }
    let counters = reader.counters();
    if !counters.is_empty() {
        eprintln!("reader: {}", serde_json::to_string(counters)?);
    }
    Ok(n)
}
