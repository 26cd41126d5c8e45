//! Derives the stop-word lists in `filters/stopwords/` from reference text.
//!
//! ```text
//! cargo run --release -p tria-filters --example derive_stopwords -- ../shared/data/lid filters/stopwords
//! ```
//!
//! For each language, every line of `<data>/<code>.txt` is split with that language's
//! [`WordSplitter`]; a word's document frequency is the number of lines it occurs in (lowercased, apostrophes
//! unified). Kept: words of letters (and an elision apostrophe) that are lowercase in at least 60 % of their
//! occurrences (this removes names such as Tatoeba's ubiquitous "Tom") and occur in at least 1 % of lines;
//! the 40 most frequent are written, most frequent first, ties alphabetical. English keeps Gopher's eight.
use std::collections::HashMap;
use std::io::Write;

use tria_filters::quality::LANGUAGES;
use tria_filters::words::{TokenKind, WordSplitter, normalize_for_lookup};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (data, out) = match args.as_slice() {
        [_, d, o] => (d.clone(), o.clone()),
        _ => return Err("usage: derive_stopwords DATA_DIR OUT_DIR".into()),
    };
    for code in LANGUAGES {
        let path = format!("{data}/{code}.txt");
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        let sp = WordSplitter::new(code);
        // word -> (lines containing it, occurrences, lowercase occurrences)
        let mut df: HashMap<String, (u32, u32, u32)> = HashMap::new();
        let mut lines = 0u32;
        let mut buf = String::new();
        let mut seen: Vec<String> = Vec::new();
        for line in text.lines() {
            lines += 1;
            seen.clear();
            sp.for_each_token(line, |tok, kind| {
                if kind != TokenKind::Word
                    || !tok.chars().all(|c| c.is_alphabetic() || "'’ʼ".contains(c))
                {
                    return;
                }
                normalize_for_lookup(tok, &mut buf);
                let e = df.entry(buf.clone()).or_insert((0, 0, 0));
                e.1 += 1;
                if !tok.chars().any(char::is_uppercase) {
                    e.2 += 1;
                }
                if !seen.contains(&buf) {
                    seen.push(buf.clone());
                    e.0 += 1;
                }
            });
        }
        let mut words: Vec<(&String, u32)> = df
            .iter()
            .filter(|&(_, &(d, occ, low))| {
                f64::from(low) >= 0.6 * f64::from(occ) && f64::from(d) >= 0.01 * f64::from(lines)
            })
            .map(|(w, &(d, _, _))| (w, d))
            .collect();
        words.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        words.truncate(40);
        let mut f = std::fs::File::create(format!("{out}/{code}.txt"))?;
        writeln!(
            f,
            "# Stop words for `{code}`, derived by filters/examples/derive_stopwords.rs from"
        )?;
        writeln!(
            f,
            "# ../shared/data/lid/{code}.txt ({lines} lines): the most frequent lowercase words by line frequency."
        )?;
        if code == "en" {
            writeln!(
                f,
                "# English uses Gopher's list (arXiv:2112.11446, A.1.1) in code; this list is for reference only."
            )?;
        }
        for (w, d) in &words {
            writeln!(
                f,
                "{w}\t# {:.1} % of lines",
                100.0 * f64::from(*d) / f64::from(lines)
            )?;
        }
        eprintln!("{code}: {} words from {lines} lines", words.len());
    }
    Ok(())
}
