//! Main-content extraction over a folder of HTML pages, on one thread, timed.
//!
//! `extract-bench run IN_DIR OUT_DIR [--mode main|all] [--repeat N]`: extracts every `*.html` of
//! `IN_DIR` (UTF-8) and writes `OUT_DIR/<name>.txt` (empty when the page gave no text), then prints
//! one JSON line with pages, bytes, seconds (extraction only, files already in memory) and pages/s.
//!
//! `extract-bench dump-warc WARC OUT_DIR`: writes the decoded HTML of every HTML `response` record
//! of a WARC file as `OUT_DIR/<record>.html` (UTF-8, charset detected as the reader does) and an
//! `OUT_DIR/urls.tsv`, so that tria and its peers read the very same pages.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use tria::read::extract::{self, ExtractMode};
use tria::read::warc::{Next, WarcParser};
use tria::read::{Counters, html};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("run") if args.len() >= 3 => run(&args[1..]),
        Some("dump-warc") if args.len() == 3 => dump_warc(Path::new(&args[1]), Path::new(&args[2])),
        Some("blocks") if args.len() == 2 => blocks(Path::new(&args[1])),
        _ => bail!(
            "usage: extract-bench run IN_DIR OUT_DIR [--mode main|all] [--repeat N]\n       extract-bench dump-warc WARC OUT_DIR"
        ),
    }
}

fn run(args: &[String]) -> Result<()> {
    let (input, output) = (PathBuf::from(&args[0]), PathBuf::from(&args[1]));
    let mut mode = ExtractMode::Main;
    let mut repeat = 1usize;
    let mut i = 2;
    while i < args.len() {
        match (args[i].as_str(), args.get(i + 1)) {
            ("--mode", Some(m)) => {
                mode = match m.as_str() {
                    "main" => ExtractMode::Main,
                    "all" => ExtractMode::All,
                    _ => bail!("--mode main|all"),
                }
            }
            ("--repeat", Some(n)) => repeat = n.parse().context("--repeat N")?,
            (a, _) => bail!("unknown argument {a}"),
        }
        i += 2;
    }
    let mut names: Vec<PathBuf> = fs::read_dir(&input)
        .with_context(|| format!("reading {}", input.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .collect();
    names.sort();
    let pages: Vec<(PathBuf, String)> = names
        .into_iter()
        .map(|p| {
            let bytes = fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
            Ok((p, String::from_utf8_lossy(&bytes).into_owned()))
        })
        .collect::<Result<_>>()?;
    let bytes: usize = pages.iter().map(|(_, h)| h.len()).sum();
    let limits = extract::Limits::default();
    let mut texts = vec![String::new(); pages.len()];
    let mut skipped = Counters::default();
    let start = Instant::now();
    for round in 0..repeat {
        for (k, (_, html)) in pages.iter().enumerate() {
            let text = match mode {
                ExtractMode::Main => match extract::extract(html, &limits) {
                    Ok(p) => p.text,
                    Err(e) => {
                        if round == 0 {
                            skipped.add(e.reason(), 1);
                        }
                        String::new()
                    }
                },
                ExtractMode::All => html::html_to_text(html).unwrap_or_default(),
            };
            if round == 0 {
                texts[k] = text;
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    fs::create_dir_all(&output)?;
    for ((p, _), text) in pages.iter().zip(&texts) {
        let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("page");
        fs::write(output.join(format!("{stem}.txt")), text)?;
    }
    let n = (pages.len() * repeat) as f64;
    println!(
        "{}",
        serde_json::json!({
            "tool": "tria",
            "mode": format!("{mode:?}").to_lowercase(),
            "pages": pages.len(),
            "repeat": repeat,
            "bytes": bytes,
            "seconds": secs,
            "pages_per_s": n / secs,
            "mb_per_s": (bytes * repeat) as f64 / secs / 1e6,
            "skipped": skipped,
        })
    );
    Ok(())
}

/// Prints every block the scanner found with what the extractor judges it by (for tuning).
fn blocks(path: &Path) -> Result<()> {
    let html = String::from_utf8_lossy(&fs::read(path)?).into_owned();
    let scan = extract::parse::scan(&html, extract::ScanLimits::default())
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    for b in &scan.blocks {
        let node = scan.nodes[b.node as usize];
        let text: String = b.text.chars().take(70).collect();
        println!(
            "node {:>4} depth {:>3} flags {:>4} {:?} chars {} links {} boiler {} | {}",
            b.node,
            node.depth,
            b.flags,
            b.kind,
            b.chars,
            b.link_chars,
            b.boiler_chars,
            text.replace('\n', " / ")
        );
    }
    Ok(())
}

fn dump_warc(warc: &Path, out: &Path) -> Result<()> {
    let file = fs::File::open(warc).with_context(|| format!("opening {}", warc.display()))?;
    let mut parser = WarcParser::new(std::io::BufReader::new(flate2::read::MultiGzDecoder::new(
        file,
    )));
    let mut counters = Counters::default();
    fs::create_dir_all(out)?;
    let stem = warc
        .file_name()
        .and_then(|s| s.to_str())
        .unwrap_or("warc")
        .split('.')
        .next()
        .unwrap_or("warc")
        .to_string();
    let mut urls = String::new();
    let mut index = 0u64;
    loop {
        match parser.next(&mut counters) {
            Next::Record(rec) => {
                index += 1;
                if !rec.warc_type().eq_ignore_ascii_case("response") {
                    continue;
                }
                if let Ok((page, _)) = html::response_html(rec.block(), 8 << 20, &mut counters) {
                    let name = format!("{stem}-{index:03}");
                    fs::write(out.join(format!("{name}.html")), page)?;
                    let url = rec.header("WARC-Target-URI").unwrap_or("");
                    urls.push_str(&format!("{name}\t{url}\n"));
                }
            }
            Next::Skipped { .. } => index += 1,
            Next::Fatal { reason, detail, .. } => {
                eprintln!("{}: stopped: {reason}: {detail}", warc.display());
                break;
            }
            Next::End => break,
        }
    }
    fs::write(out.join(format!("{stem}-urls.tsv")), urls)?;
    Ok(())
}
