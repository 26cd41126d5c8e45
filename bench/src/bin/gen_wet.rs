//! Generates CommonCrawl-style WET files (one gzip member per record).
//!
//! `gen-wet --texts DIR --out FILE`: every paragraph (blank-line separated) of every `<lang>.txt`
//! in DIR becomes one `conversion` record, in file-name order (the shipped example is made so).
//!
//! `gen-wet --lines DIR --docs N --files F --out-dir OUT [--seed S] [--doc-lines MIN-MAX]`: F files
//! of N documents each, every document MIN-MAX (default 5-40) random lines of one `<lang>.txt` in
//! DIR (e.g. `../shared/data/lid`), for benchmarks and scaling tables.

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use tria::fixtures::{Rng, wet_conversion, wet_warcinfo, write_gz_members};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn lang_files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "txt") {
            let lang = p
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            out.push((lang, p));
        }
    }
    out.sort();
    Ok(out)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(texts) = arg(&args, "--texts") {
        let out = arg(&args, "--out").context("--out FILE")?;
        let mut records = vec![wet_warcinfo(
            Path::new(&out)
                .file_name()
                .unwrap_or_default()
                .to_str()
                .unwrap_or("x"),
        )];
        let mut n = 0u64;
        for (lang, path) in lang_files(Path::new(&texts))? {
            let text = fs::read_to_string(&path)?;
            for para in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
                let url = format!("https://example.{lang}/page/{n}");
                records.push(wet_conversion(n, &url, "", &format!("{para}\n")));
                n += 1;
            }
        }
        write_gz_members(BufWriter::new(File::create(&out)?), &records)?;
        eprintln!("wrote {n} documents to {out}");
        return Ok(());
    }
    let Some(lines_dir) = arg(&args, "--lines") else {
        bail!(
            "usage: gen-wet --texts DIR --out FILE | --lines DIR --docs N --files F --out-dir OUT [--seed S] [--doc-lines MIN-MAX]"
        );
    };
    let docs: usize = arg(&args, "--docs").context("--docs N")?.parse()?;
    let files: usize = arg(&args, "--files")
        .unwrap_or_else(|| "1".into())
        .parse()?;
    let out_dir = PathBuf::from(arg(&args, "--out-dir").context("--out-dir OUT")?);
    let seed: u64 = arg(&args, "--seed").unwrap_or_else(|| "1".into()).parse()?;
    let range = arg(&args, "--doc-lines").unwrap_or_else(|| "5-40".into());
    let (lo, hi) = range
        .split_once('-')
        .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)))
        .filter(|(a, b)| 0 < *a && a <= b)
        .context("--doc-lines MIN-MAX, 0 < MIN <= MAX")?;
    fs::create_dir_all(&out_dir)?;
    let mut corpora = Vec::new();
    for (lang, path) in lang_files(Path::new(&lines_dir))? {
        let text = fs::read_to_string(&path)?;
        let lines: Vec<String> = text
            .lines()
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
        if !lines.is_empty() {
            corpora.push((lang, lines));
        }
    }
    if corpora.is_empty() {
        bail!("no <lang>.txt files in {lines_dir}");
    }
    let mut rng = Rng(seed);
    let mut n = 0u64;
    for f in 0..files {
        let name = format!("CC-MAIN-20261126000000-20261126010000-{f:05}.warc.wet.gz");
        let mut records = vec![wet_warcinfo(&name)];
        for _ in 0..docs {
            let (lang, lines) = &corpora[rng.below(corpora.len())];
            let k = lo + rng.below(hi - lo + 1);
            let text: String = (0..k)
                .map(|_| format!("{}\n", lines[rng.below(lines.len())]))
                .collect();
            records.push(wet_conversion(
                n,
                &format!("https://site{}.example/{lang}/{n}", rng.below(1000)),
                "",
                &text,
            ));
            n += 1;
        }
        write_gz_members(BufWriter::new(File::create(out_dir.join(&name))?), &records)?;
    }
    eprintln!(
        "wrote {files} files of {docs} documents to {}",
        out_dir.display()
    );
    Ok(())
}
