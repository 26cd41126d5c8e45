//! Reads JSONL documents (`{"id", "text", "lang"?, "url"?}`) on stdin, runs quality filters, and prints
//! one JSON line per document with each filter's decision: `{"id": .., "gopher_quality": "keep" | reason}`.
//! Used by `bench/filters/parity.py` and `bench/filters/speed.sh`.
//!
//! ```text
//! cargo run --release -p tria-filters --example quality_decisions -- [options] < docs.jsonl
//!   --filters a,b,..   kinds to run (default: normalize,length,pii,c4,gopher_repetition,gopher_quality,fineweb)
//!   --settings S       builtin (default) | published | DIR
//!   --datatrove-c4     C4 with datatrove's values (3 words per line, 5 sentences, `'` as an end mark)
//!   --no-lang          ignore the documents' language (generic word rules, fallback thresholds)
//!   --blocklist FILE   add the url_blocklist filter with this list
//!   --chain            run the filters one after another on the same text, stopping at the first drop
//!                      (a pipeline); default: each filter sees the original text (for parity)
//!   --repeat N         run N times (timing); decisions are printed for the first run only
//!   --quiet            print no decisions
//!   --stats            also print every statistic
//! ```
//! Prints to stderr the documents, bytes and seconds spent inside `QualityFilter::apply`.
use std::io::{BufRead, Write};
use std::time::Instant;

use tria_filters::quality::{DocContext, FilterKind, QualityFilter, Stats, UrlBlocklist};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut kinds = "normalize,length,pii,c4,gopher_repetition,gopher_quality,fineweb".to_string();
    let (mut settings, mut datatrove_c4, mut no_lang, mut chain, mut quiet) =
        ("builtin".to_string(), false, false, false, false);
    let mut with_stats = false;
    let mut blocklist: Option<String> = None;
    let mut repeat = 1usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--filters" => kinds = args.next().ok_or("--filters needs a value")?,
            "--settings" => settings = args.next().ok_or("--settings needs a value")?,
            "--datatrove-c4" => datatrove_c4 = true,
            "--no-lang" => no_lang = true,
            "--chain" => chain = true,
            "--quiet" => quiet = true,
            "--stats" => with_stats = true,
            "--blocklist" => blocklist = Some(args.next().ok_or("--blocklist needs a file")?),
            "--repeat" => repeat = args.next().ok_or("--repeat needs a number")?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let mut filters = Vec::new();
    if let Some(path) = &blocklist {
        filters.push(QualityFilter::blocklist(
            UrlBlocklist::from_file(std::path::Path::new(path))?,
            false,
            false,
        ));
    }
    for k in kinds.split(',').filter(|k| !k.is_empty()) {
        let kind = FilterKind::from_name(k).ok_or_else(|| format!("unknown filter {k}"))?;
        let mut t = toml::Table::new();
        if matches!(
            kind,
            FilterKind::GopherQuality
                | FilterKind::GopherRepetition
                | FilterKind::C4
                | FilterKind::FineWeb
        ) {
            t.insert("settings".into(), toml::Value::String(settings.clone()));
        }
        if kind == FilterKind::C4 && datatrove_c4 {
            let extra: toml::Table = "min_words_per_line = 3\nmin_num_sentences = 5\nend_marks = ['.', '?', '!', '\"', \"'\"]".parse()?;
            t.extend(extra);
        }
        filters.push(QualityFilter::from_table(k, &t)?);
    }
    let mut docs: Vec<(String, String, Option<String>, Option<String>)> = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line)?;
        let get = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        docs.push((
            get("id").unwrap_or_default(),
            get("text").unwrap_or_default(),
            get("lang"),
            get("url"),
        ));
    }
    let bytes: usize = docs.iter().map(|d| d.1.len()).sum();
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    let mut spent = 0.0f64;
    let mut stats = Stats::new();
    let mut text = String::new();
    for run in 0..repeat {
        for (id, original, lang, url) in &docs {
            let ctx = DocContext {
                lang: if no_lang { None } else { lang.as_deref() },
                url: url.as_deref(),
            };
            let mut row = serde_json::Map::new();
            row.insert("id".into(), id.clone().into());
            text.clear();
            text.push_str(original);
            let t0 = Instant::now();
            let mut dropped = false;
            for f in &filters {
                if !chain {
                    text.clear();
                    text.push_str(original);
                } else if dropped {
                    break;
                }
                stats.clear();
                let d = f.apply(&mut text, &ctx, &mut stats);
                let label = match d {
                    tria_filters::quality::Decision::Keep => "keep",
                    tria_filters::quality::Decision::Drop(r) => {
                        dropped = true;
                        r
                    }
                };
                if run == 0 && !quiet {
                    row.insert(f.kind().name().into(), label.into());
                    if with_stats {
                        for (k, v) in &stats {
                            row.insert((*k).into(), (*v).into());
                        }
                    }
                }
            }
            spent += t0.elapsed().as_secs_f64();
            if run == 0 && !quiet {
                writeln!(out, "{}", serde_json::Value::Object(row))?;
            }
        }
    }
    out.flush()?;
    eprintln!(
        "tria: {} docs x {repeat}, {bytes} bytes each run, {spent:.3} s in filters, {:.1} docs/s, {:.2} MB/s",
        docs.len(),
        (docs.len() * repeat) as f64 / spent,
        (bytes * repeat) as f64 / spent / 1e6
    );
    Ok(())
}
