//! Prints tria's word tokens.
//!
//! `tokenize LANG < text` prints one token per line (kind, tab, token).
//! `tokenize --jsonl < docs.jsonl` reads `{"id", "text", "lang"}` lines and prints `{"id", "tokens": [..]}`
//! lines, using each document's language (used by `bench/filters/parity.py`).
use std::io::{BufRead, Read, Write};

use tria_filters::words::WordSplitter;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arg = std::env::args().nth(1).unwrap_or_default();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if arg == "--jsonl" {
        for line in std::io::stdin().lock().lines() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(&line)?;
            let text = v.get("text").and_then(|t| t.as_str()).unwrap_or("");
            let lang = v.get("lang").and_then(|t| t.as_str()).unwrap_or("");
            let tokens: Vec<&str> = WordSplitter::new(lang)
                .tokens(text)
                .into_iter()
                .map(|t| t.0)
                .collect();
            let row = serde_json::json!({ "id": v.get("id"), "tokens": tokens });
            writeln!(out, "{row}")?;
        }
    } else {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        for (tok, kind) in WordSplitter::new(&arg).tokens(&text) {
            writeln!(out, "{kind:?}\t{tok}")?;
        }
    }
    out.flush()?;
    Ok(())
}
