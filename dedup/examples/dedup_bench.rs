//! Benchmark driver for tria-dedup (see `bench/dedup/run.sh`).
//!
//! ```text
//! dedup_bench gen <out_dir> <docs> <files> <min_words> [lid_dir]   write JSONL input with planted duplicates
//! dedup_bench signatures <in_dir>                                   read + shingles + signatures only
//! dedup_bench local <in_dir> <out_dir> [budget_mb]                  whole dedup on one machine + filter
//! dedup_bench sharded <in_dir> <work_dir> <out_dir>                 the four sharded stages in sequence
//! dedup_bench quality <per_level> [lid_dir]                         recall per similarity vs the LSH curve
//! ```
//! Threads: `RAYON_NUM_THREADS`. Timings go to stdout as `key=value` lines.

#[path = "../tests/common/gen.rs"]
mod r#gen;

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use r#gen::{Rng, Source};
use tria_dedup::sharded;
use tria_dedup::{
    DocKey, DocText, LocalDedup, MinHashConfig, MinHasher, RemovalList, WordSplit,
    collision_probability, jaccard,
};
use tria_filters::words::{TokenKind, WordSplitter};

type BoxError = Box<dyn std::error::Error>;

#[derive(serde::Deserialize)]
struct InDoc<'a> {
    #[serde(borrow)]
    text: Cow<'a, str>,
}

/// A document with its id, whose prefix is the language (`ca-0-12`), for `TRIA_DEDUP_WORDS=lang`.
#[derive(serde::Deserialize)]
struct InLangDoc<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    text: Cow<'a, str>,
}

/// A text and its language, borrowed.
struct LangRef<'a> {
    text: &'a str,
    lang: &'a str,
}

impl DocText for LangRef<'_> {
    fn text(&self) -> &str {
        self.text
    }
    fn lang(&self) -> Option<&str> {
        Some(self.lang)
    }
}

/// `tria dedup`'s word splitting: the filters crate's splitter for the document's language on the
/// raw text, each word normalised on its own.
fn language_words() -> WordSplit {
    WordSplit::Raw(std::sync::Arc::new(
        |text: &str, lang: Option<&str>, sink: &mut dyn FnMut(&str)| {
            WordSplitter::new(lang.unwrap_or("")).for_each_token(text, |t, kind| {
                if kind == TokenKind::Word {
                    sink(t)
                }
            })
        },
    ))
}

fn input_files(dir: &Path) -> Result<Vec<PathBuf>, BoxError> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    v.sort();
    Ok(v)
}

/// CPU seconds (user + system, all threads) used by this process so far, from `/proc/self/stat`
/// (clock ticks of 1/100 s); 0 where that file does not exist.
fn cpu_s() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |r| r.1);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

/// Reads one JSONL file whole (one UTF-8 check for the file, one allocation).
fn read_file(path: &Path) -> Result<String, BoxError> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()).into())
}

/// The `text` of each line of a JSONL file read by [`read_file`]: only that field is parsed, and it
/// is borrowed from the file's text unless it holds escapes.
fn texts_of<'a>(path: &Path, content: &'a str) -> Result<Vec<Cow<'a, str>>, BoxError> {
    content
        .lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str::<InDoc>(line)
                .map(|d| d.text)
                .map_err(|e| format!("{}: line {}: {e}", path.display(), i + 1).into())
        })
        .collect()
}

fn languages(lid: Option<&str>) -> Vec<(String, Source)> {
    let codes = ["ca", "eu", "gl", "es", "en", "fr", "pt", "de", "it", "pl"];
    if let Some(dir) = lid {
        let mut v = Vec::new();
        for c in codes {
            match std::fs::read_to_string(Path::new(dir).join(format!("{c}.txt"))) {
                Ok(t) => v.push((c.to_string(), Source::from_lines(&t))),
                Err(e) => eprintln!("SKIP: {dir}/{c}.txt: {e}"),
            }
        }
        if !v.is_empty() {
            return v;
        }
    }
    eprintln!("SKIP: no sentence files, using synthetic languages");
    (0..4)
        .map(|i| {
            (
                format!("syn{i}"),
                Source::synthetic(3000 + 2000 * i, 40 + i as u64),
            )
        })
        .collect()
}

/// Writes `docs` documents over `files` JSONL files. 70 % are fresh documents; 30 % are copies of a
/// recent fresh document of the same language with a random share (0 to 15 %) of words replaced.
fn generate(
    out: &Path,
    docs: u64,
    files: u64,
    min_words: usize,
    lid: Option<&str>,
) -> Result<(), BoxError> {
    std::fs::create_dir_all(out)?;
    let langs = languages(lid);
    let mut rng = Rng(2026);
    let mut recent: Vec<Vec<String>> = vec![Vec::new(); langs.len()];
    let per_file = docs.div_ceil(files);
    let mut written = 0u64;
    for f in 0..files {
        let mut w = BufWriter::new(File::create(out.join(format!("part-{f:05}.jsonl")))?);
        for r in 0..per_file.min(docs - written) {
            let li = rng.below(langs.len());
            let (code, src) = &langs[li];
            let text = if rng.below(10) < 3 && !recent[li].is_empty() {
                let base = &recent[li][rng.below(recent[li].len())];
                let mut words: Vec<&str> = base.split_whitespace().collect();
                let edits = rng.below(words.len() * 15 / 100 + 1);
                for _ in 0..edits {
                    let pos = rng.below(words.len());
                    words[pos] = src.words[rng.below(src.words.len())].as_str();
                }
                words.join(" ")
            } else {
                let t = src.document(&mut rng, min_words);
                if recent[li].len() < 1000 {
                    recent[li].push(t.clone());
                } else {
                    let slot = rng.below(1000);
                    recent[li][slot] = t.clone();
                }
                t
            };
            let id = format!("{code}-{f}-{r}");
            writeln!(w, "{}", serde_json::json!({"id": id, "text": text}))?;
        }
        written += per_file.min(docs - written);
        w.flush()?;
    }
    println!("generated={written} files={files}");
    Ok(())
}

fn signatures(input: &Path) -> Result<(), BoxError> {
    let t0 = Instant::now();
    let c0 = cpu_s();
    let mh = MinHasher::new(MinHashConfig::default())?;
    let mut n = 0u64;
    let mut check = 0u64;
    for p in input_files(input)? {
        let content = read_file(&p)?;
        let texts = texts_of(&p, &content)?;
        use rayon::prelude::*;
        let ids: Vec<Option<Vec<u64>>> = texts.par_iter().map(|t| mh.text_band_ids(t)).collect();
        n += ids.len() as u64;
        check ^= ids.iter().flatten().map(|v| v[0]).fold(0, |a, b| a ^ b);
    }
    println!(
        "docs={n} signatures_s={:.3} signatures_cpu={:.2} checksum={check:x}",
        t0.elapsed().as_secs_f64(),
        cpu_s() - c0
    );
    Ok(())
}

/// Splits the signature time into its parts, on one thread.
fn profile(input: &Path) -> Result<(), BoxError> {
    let mh = MinHasher::new(MinHashConfig::default())?;
    let files = input_files(input)?;
    let first = files.first().ok_or("no input")?;
    let content = read_file(first)?;
    let texts = texts_of(first, &content)?;
    let t0 = Instant::now();
    let mut norm = String::new();
    let mut bytes = 0;
    for t in &texts {
        norm.clear();
        tria_dedup::normalize_fineweb(t, &mut norm);
        bytes += norm.len();
    }
    let t1 = Instant::now();
    let sh: Vec<Vec<u64>> = texts.iter().map(|t| mh.shingles(t)).collect();
    let t2 = Instant::now();
    let sigs: Vec<Vec<u64>> = sh.iter().filter_map(|s| mh.signature(s)).collect();
    let t3 = Instant::now();
    let n_sh: usize = sh.iter().map(Vec::len).sum();
    println!(
        "docs={} bytes={bytes} shingles={n_sh} normalise_s={:.3} shingles_s={:.3} signature_s={:.3} ns_per_perm={:.2} check={}",
        texts.len(),
        (t1 - t0).as_secs_f64(),
        (t2 - t1).as_secs_f64(),
        (t3 - t2).as_secs_f64(),
        (t3 - t2).as_nanos() as f64 / (n_sh * mh.num_hashes()) as f64,
        sigs.len()
    );
    Ok(())
}

/// Writes the kept documents of one input file (the filter stage), with the cluster size. Lines
/// pass through as bytes; only the documents of a cluster are parsed, to add the size.
fn filter_file(input: &Path, out: &Path, list: &RemovalList) -> Result<u64, BoxError> {
    let content = std::fs::read(input)?;
    let mut w = BufWriter::with_capacity(
        1 << 20,
        File::create(out.join(input.file_name().ok_or("no file name")?))?,
    );
    let mut kept = 0;
    let body = content.strip_suffix(b"\n").unwrap_or(&content);
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        if list.is_removed(i as u64) {
            continue;
        }
        kept += 1;
        match list.cluster_size(i as u64) {
            None => {
                w.write_all(line)?;
                w.write_all(b"\n")?;
            }
            Some(s) => {
                let mut v: serde_json::Value = serde_json::from_slice(line)?;
                v["minhash_cluster_size"] = s.into();
                writeln!(w, "{v}")?;
            }
        }
    }
    w.flush()?;
    Ok(kept)
}

fn local(input: &Path, out: &Path, budget_mb: Option<usize>) -> Result<(), BoxError> {
    std::fs::create_dir_all(out)?;
    let t0 = Instant::now();
    let c0 = cpu_s();
    let mut d = LocalDedup::new(MinHashConfig::default())?;
    if let Some(mb) = budget_mb {
        d = d.with_memory_budget(mb << 20);
    }
    let files = input_files(input)?;
    for (f, p) in files.iter().enumerate() {
        let content = read_file(p)?;
        let texts = texts_of(p, &content)?;
        let batch: Vec<(DocKey, Cow<str>)> = texts
            .into_iter()
            .enumerate()
            .map(|(r, t)| (DocKey::new(f as u32, r as u64), t))
            .collect();
        d.add_batch(&batch)?;
    }
    let t_sig = t0.elapsed().as_secs_f64();
    let (removals, stats) = d.finish()?;
    let t_clusters = t0.elapsed().as_secs_f64();
    let mut kept = 0;
    for (f, p) in files.iter().enumerate() {
        kept += filter_file(p, out, &removals.for_file(f as u32))?;
    }
    let total = t0.elapsed().as_secs_f64();
    println!("cpu: total_cpu={:.2}", cpu_s() - c0);
    println!(
        "docs={} removed={} kept={kept} clusters={} spills={} signatures_s={t_sig:.3} clusters_s={:.3} filter_s={:.3} total_s={total:.3}",
        stats.documents,
        removals.removed().len(),
        removals.kept_clusters().len(),
        stats.spills,
        t_clusters - t_sig,
        total - t_clusters
    );
    Ok(())
}

fn sharded_run(input: &Path, work: &Path, out: &Path) -> Result<(), BoxError> {
    std::fs::create_dir_all(out)?;
    // TRIA_DEDUP_SEED changes the permutations: two seeds show how much of a disagreement between
    // two MinHash implementations is just the randomness of MinHash.
    let seed = std::env::var("TRIA_DEDUP_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    // TRIA_DEDUP_WORDS=lang: words as `tria dedup` cuts them (language of each document from its
    // id); default: FineWeb-normalised text split at spaces, as datatrove does.
    let by_lang = std::env::var("TRIA_DEDUP_WORDS").is_ok_and(|v| v == "lang");
    let mut config = MinHashConfig {
        seed,
        ..MinHashConfig::default()
    };
    if by_lang {
        config.splitter = language_words();
        config.splitter_name = "tria-words:meta.lang".into();
    }
    let t0 = Instant::now();
    let c0 = cpu_s();
    sharded::prepare(work, &config)?;
    let files = input_files(input)?;
    let n = files.len() as u32;
    for (f, p) in files.iter().enumerate() {
        let content = read_file(p)?;
        if by_lang {
            let docs: Vec<InLangDoc> = content
                .lines()
                .map(serde_json::from_str)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("{}: {e}", p.display()))?;
            let docs = docs.iter().enumerate().map(|(r, d)| {
                let lang = d.id.split('-').next().unwrap_or("");
                (
                    r as u64,
                    LangRef {
                        text: &d.text,
                        lang,
                    },
                )
            });
            sharded::signatures_task(work, &config, f as u32, docs)?;
            continue;
        }
        let texts = texts_of(p, &content)?;
        sharded::signatures_task(
            work,
            &config,
            f as u32,
            texts
                .iter()
                .enumerate()
                .map(|(r, t)| (r as u64, t.as_ref())),
        )?;
    }
    let (t1, c1) = (t0.elapsed().as_secs_f64(), cpu_s());
    let pairs = sharded::pairs_task(work, &config, n, 0, 1)?;
    let (t2, c2) = (t0.elapsed().as_secs_f64(), cpu_s());
    let cs = sharded::clusters_task(work, &config, n)?;
    let (t3, c3) = (t0.elapsed().as_secs_f64(), cpu_s());
    let mut kept = 0;
    for (f, p) in files.iter().enumerate() {
        kept += filter_file(p, out, &sharded::load_removals(work, f as u32)?)?;
    }
    let (total, c4) = (t0.elapsed().as_secs_f64(), cpu_s());
    println!(
        "pairs={pairs} removed={} kept={kept} clusters={} signatures_s={t1:.3} buckets_s={:.3} clusters_s={:.3} filter_s={:.3} total_s={total:.3}",
        cs.removed,
        cs.clusters,
        t2 - t1,
        t3 - t2,
        total - t3
    );
    println!(
        "cpu: signatures_cpu={:.2} buckets_cpu={:.2} clusters_cpu={:.2} filter_cpu={:.2} total_cpu={:.2}",
        c1 - c0,
        c2 - c1,
        c3 - c2,
        c4 - c3,
        c4 - c0
    );
    Ok(())
}

fn quality(per_level: usize, lid: Option<&str>) -> Result<(), BoxError> {
    let config = MinHashConfig::default();
    let mh = MinHasher::new(config.clone())?;
    let levels = [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95];
    let threshold = 0.75;
    println!("| lang | s (measured) | recall | curve 1-(1-s^8)^14 | gap |");
    println!("|---|---|---|---|---|");
    let mut summary = Vec::new();
    for (code, src) in languages(lid).into_iter().take(4) {
        let mut rng = Rng(7);
        let mut docs = Vec::new();
        let mut variants = Vec::new();
        for (li, &t) in levels.iter().enumerate() {
            for i in 0..per_level {
                let key = (li * per_level + i) as u64;
                let base = src.document(&mut rng, 150);
                let (v, j) = src.variant(&mh, &base, t, &mut rng);
                docs.push((DocKey::new(0, key), base));
                docs.push((DocKey::new(1, key), v));
                variants.push((DocKey::new(1, key), j));
            }
        }
        for r in 0..per_level * 4 {
            docs.push((DocKey::new(2, r as u64), src.document(&mut rng, 150)));
        }
        let run = |verify| -> Result<tria_dedup::Removals, BoxError> {
            let mut d = LocalDedup::new(MinHashConfig {
                verify,
                ..config.clone()
            })?;
            d.add_batch(&docs)?;
            Ok(d.finish()?.0)
        };
        let plain = run(None)?;
        let verified = run(Some(threshold))?;
        for (li, _) in levels.iter().enumerate() {
            let g = &variants[li * per_level..(li + 1) * per_level];
            let mean: f64 = g.iter().map(|v| v.1).sum::<f64>() / g.len() as f64;
            let curve: f64 = g
                .iter()
                .map(|v| collision_probability(v.1, 14, 8))
                .sum::<f64>()
                / g.len() as f64;
            let rec = g.iter().filter(|v| plain.is_removed(v.0)).count() as f64 / g.len() as f64;
            println!(
                "| {code} | {mean:.3} | {rec:.3} | {curve:.3} | {:+.3} |",
                rec - curve
            );
        }
        // Precision with verification: removed documents whose best similarity reaches the threshold.
        let shingles: Vec<Vec<u64>> = docs.iter().map(|(_, t)| mh.shingles(t)).collect();
        let good = verified
            .removed()
            .iter()
            .filter(|k| {
                if variants.iter().any(|v| v.0 == **k && v.1 >= threshold) {
                    return true;
                }
                let i = docs.iter().position(|d| d.0 == **k).expect("fed");
                (0..docs.len()).any(|o| o != i && jaccard(&shingles[i], &shingles[o]) >= threshold)
            })
            .count();
        let plain_good = plain
            .removed()
            .iter()
            .filter(|k| variants.iter().any(|v| v.0 == **k && v.1 >= threshold))
            .count();
        summary.push(format!(
            "{code}: precision with verification (t={threshold}) {good}/{} = {:.4}; without {:.4}",
            verified.removed().len(),
            good as f64 / verified.removed().len() as f64,
            plain_good as f64 / plain.removed().len() as f64
        ));
    }
    for s in summary {
        println!("{s}");
    }
    Ok(())
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a = |i: usize| args.get(i).map(String::as_str).ok_or("missing argument");
    match a(0)? {
        "gen" => generate(
            Path::new(a(1)?),
            a(2)?.parse()?,
            a(3)?.parse()?,
            a(4)?.parse()?,
            args.get(5).map(String::as_str),
        ),
        "signatures" => signatures(Path::new(a(1)?)),
        "profile" => profile(Path::new(a(1)?)),
        "local" => local(
            Path::new(a(1)?),
            Path::new(a(2)?),
            args.get(3).map(|s| s.parse()).transpose()?,
        ),
        "sharded" => sharded_run(Path::new(a(1)?), Path::new(a(2)?), Path::new(a(3)?)),
        "quality" => quality(a(1)?.parse()?, args.get(2).map(String::as_str)),
        other => Err(format!("unknown command {other}").into()),
    }
}
