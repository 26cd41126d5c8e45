//! Generates a CommonCrawl-style WET corpus with a known truth, for the end-to-end quality and
//! speed measurements (`bench/e2e`).
//!
//! ```text
//! gen-corpus --lid DIR --out-dir OUT [--docs N | --size BYTES] [--files F | --file-size BYTES]
//!            [--seed S] [--no-corrupt]
//! ```
//!
//! Documents are paragraphs of real sentences of one language, taken from `DIR/<lang>.txt` (the
//! language-ID data, `../shared/data/lid`), and only from the lines the built-in language-ID model
//! never saw in training: the trainer's held-out split (`is_validation_line(line, 50)`, 5 % of each
//! file chosen by a hash of the line). Planted among them, and recorded one JSON line per record in
//! `OUT/truth.jsonl`:
//!
//! - `good`: 80-1000 words, 2-12 paragraphs of 2-8 sentences, no sentence repeated;
//! - `exact-dup`: the same text as an earlier good document (`of`), another URL and record id;
//! - `near-dup`: an earlier good document with a few words replaced or a sentence dropped, until the
//!   word 5-shingle Jaccard similarity (lower-cased, split on anything not alphanumeric) falls in
//!   0.80-0.95; the true value is recorded (`jaccard`);
//! - `low-quality` (`sub`): `menu` (bullet lists of one to three words), `symbols` (symbol soup),
//!   `repeated` (one line many times), `short` (one or two sentences);
//! - `corrupted` (`sub`): `wrong_content_length`, `malformed_header`, `invalid_utf8`,
//!   `binary_junk` (a gzip member of random bytes), and one file whose last gzip member is
//!   truncated (`truncated_gzip`; the documents before it in that file are `in-truncated-file`).
//!
//! `--size` stops when the compressed files reach that many bytes (for memory tests); `--docs`
//! stops after that many records. Output is deterministic for a seed.

use std::collections::HashSet;
use std::fs::{self, File};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use flate2::Compression;
use flate2::write::GzEncoder;
use tria::fixtures::{Rng, record_id, warc_record, wet_conversion, wet_warcinfo};
use tria_filters::lang::train::is_validation_line;

/// Languages and their weights among generated documents: the targets, their confusers, others.
const LANGS: &[(&str, u32)] = &[
    ("ca", 20),
    ("eu", 10),
    ("gl", 15),
    ("es", 12),
    ("pt", 8),
    ("fr", 8),
    ("oc", 5),
    ("it", 7),
    ("en", 8),
    ("de", 2),
    ("nl", 2),
    ("ro", 2),
    ("pl", 1),
];

/// Sources kept for duplicates (the most recent good documents).
const DUP_POOL: usize = 4000;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn parse_size(s: &str) -> Result<u64> {
    let s = s.trim();
    let (num, mult) = match s.chars().last() {
        Some('K' | 'k') => (&s[..s.len() - 1], 1u64 << 10),
        Some('M' | 'm') => (&s[..s.len() - 1], 1 << 20),
        Some('G' | 'g') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let n: f64 = num.parse().with_context(|| format!("bad size {s:?}"))?;
    Ok((n * mult as f64) as u64)
}

struct Pool {
    lang: String,
    sentences: Vec<String>,
    words: Vec<String>,
}

fn load_pools(dir: &Path) -> Result<Vec<(Pool, u32)>> {
    let mut out = Vec::new();
    for (lang, weight) in LANGS {
        let path = dir.join(format!("{lang}.txt"));
        let text =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let sentences: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && is_validation_line(l, 50))
            .map(String::from)
            .collect();
        if sentences.len() < 50 {
            bail!(
                "{}: only {} held-out lines",
                path.display(),
                sentences.len()
            );
        }
        let words: Vec<String> = sentences
            .iter()
            .flat_map(|s| s.split_whitespace())
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
            .filter(|w| w.chars().count() >= 2)
            .map(String::from)
            .collect();
        out.push((
            Pool {
                lang: lang.to_string(),
                sentences,
                words,
            },
            *weight,
        ));
    }
    Ok(out)
}

/// Word 5-shingles of lower-cased text split on anything not alphanumeric, hashed.
fn shingles(text: &str) -> HashSet<u64> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut set = HashSet::new();
    if words.len() < 5 {
        let mut h = DefaultHasher::new();
        words.hash(&mut h);
        set.insert(h.finish());
        return set;
    }
    for w in words.windows(5) {
        let mut h = DefaultHasher::new();
        w.hash(&mut h);
        set.insert(h.finish());
    }
    set
}

fn jaccard(a: &HashSet<u64>, b: &HashSet<u64>) -> f64 {
    let inter = a.intersection(b).count();
    let union = a.len() + b.len() - inter;
    if union == 0 {
        1.0
    } else {
        inter as f64 / union as f64
    }
}

fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

/// A good document: paragraphs (one line each) of distinct sentences, `target` words or so.
fn good_text(pool: &Pool, rng: &mut Rng) -> String {
    let avail: usize = pool.sentences.len();
    // Small pools (Basque, Occitan) cannot fill 1000 words without repeating sentences.
    let pool_words = pool.words.len();
    let max_words = 1000.min(pool_words / 3).max(100);
    let target = 80 + rng.below(max_words - 79);
    let mut used = HashSet::new();
    let mut paras = Vec::new();
    let mut words = 0;
    while words < target && used.len() < avail {
        let n = 2 + rng.below(7);
        let mut para = Vec::new();
        for _ in 0..n {
            let mut i = rng.below(avail);
            while !used.insert(i) {
                i = (i + 1) % avail;
            }
            let s = &pool.sentences[i];
            words += word_count(s);
            para.push(s.as_str());
            if words >= target || used.len() == avail {
                break;
            }
        }
        paras.push(para.join(" "));
    }
    let mut text = paras.join("\n");
    text.push('\n');
    text
}

/// An edited copy of `src` whose 5-shingle Jaccard with it is in 0.80-0.95, and that value.
fn near_dup(src: &str, pool: &Pool, rng: &mut Rng) -> Option<(String, f64)> {
    let base = shingles(src);
    let target = 0.80 + 0.15 * (rng.below(1000) as f64 / 1000.0);
    for _attempt in 0..40 {
        let mut lines: Vec<Vec<String>> = src
            .lines()
            .map(|l| l.split(' ').map(String::from).collect())
            .collect();
        let mut j = 1.0;
        for _edit in 0..200 {
            let li = rng.below(lines.len());
            if lines[li].len() < 2 {
                continue;
            }
            let wi = rng.below(lines[li].len());
            lines[li][wi] = pool.words[rng.below(pool.words.len())].clone();
            let text: String = lines.iter().map(|l| l.join(" ") + "\n").collect();
            j = jaccard(&base, &shingles(&text));
            if j <= target {
                if j >= 0.80 {
                    return Some((text, j));
                }
                break;
            }
        }
        let _ = j;
    }
    None
}

fn low_quality(sub: &str, pool: &Pool, rng: &mut Rng) -> String {
    let word = |rng: &mut Rng| pool.words[rng.below(pool.words.len())].clone();
    match sub {
        "menu" => {
            let n = 25 + rng.below(40);
            let mut t = String::new();
            for _ in 0..n {
                let k = 1 + rng.below(3);
                let item: Vec<String> = (0..k).map(|_| word(rng)).collect();
                t.push_str(&format!("• {}\n", item.join(" ")));
            }
            t
        }
        "symbols" => {
            const SYM: &[&str] = &["#", "###", "$$", "@", "|", "{}", "&&", "%%", "~", "^^", "*"];
            let n = 150 + rng.below(300);
            let mut t = String::new();
            for i in 0..n {
                if rng.below(4) == 0 {
                    t.push_str(&word(rng));
                } else {
                    t.push_str(SYM[rng.below(SYM.len())]);
                    t.push_str(&format!("{}", rng.below(10_000)));
                }
                t.push(if i % 12 == 11 { '\n' } else { ' ' });
            }
            t.push('\n');
            t
        }
        "repeated" => {
            let s = &pool.sentences[rng.below(pool.sentences.len())];
            let other = &pool.sentences[rng.below(pool.sentences.len())];
            let n = 20 + rng.below(30);
            let mut t = format!("{other}\n");
            for _ in 0..n {
                t.push_str(s);
                t.push('\n');
            }
            t
        }
        _ => {
            // short
            let k = 1 + rng.below(2);
            let mut t = String::new();
            for _ in 0..k {
                t.push_str(&pool.sentences[rng.below(pool.sentences.len())]);
                t.push(' ');
            }
            t.truncate(t.trim_end().len());
            t.push('\n');
            t
        }
    }
}

fn gz_member(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut e = GzEncoder::new(Vec::with_capacity(bytes.len() / 3), Compression::new(6));
    e.write_all(bytes)?;
    Ok(e.finish()?)
}

/// A conversion record whose `Content-Length` is off by `delta` bytes.
fn with_content_length(record: &[u8], delta: i64) -> Vec<u8> {
    let s = String::from_utf8_lossy(record).into_owned();
    let key = "Content-Length: ";
    let at = s.find(key).expect("record has a Content-Length") + key.len();
    let end = at + s[at..].find("\r\n").expect("header line ends");
    let n: i64 = s[at..end].parse().expect("numeric length");
    format!("{}{}{}", &s[..at], n + delta, &s[end..]).into_bytes()
}

/// The truth about one record.
struct Truth {
    id: String,
    file: String,
    lang: String,
    kind: &'static str,
    sub: String,
    of: String,
    jaccard: f64,
    words: usize,
}

impl Truth {
    fn json(&self) -> String {
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let mut out = format!(
            "{{\"id\":\"{}\",\"file\":\"{}\",\"lang\":\"{}\",\"kind\":\"{}\",\"words\":{}",
            esc(&self.id),
            esc(&self.file),
            self.lang,
            self.kind,
            self.words
        );
        if !self.sub.is_empty() {
            out.push_str(&format!(",\"sub\":\"{}\"", self.sub));
        }
        if !self.of.is_empty() {
            out.push_str(&format!(",\"of\":\"{}\"", esc(&self.of)));
        }
        if self.kind == "near-dup" {
            out.push_str(&format!(",\"jaccard\":{:.4}", self.jaccard));
        }
        out.push('}');
        out
    }
}

fn pick_lang(pools: &[(Pool, u32)], rng: &mut Rng) -> usize {
    let total: u32 = pools.iter().map(|p| p.1).sum();
    let mut x = rng.below(total as usize) as u32;
    for (i, (_, w)) in pools.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    pools.len() - 1
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: gen-corpus --lid DIR --out-dir OUT [--docs N | --size BYTES] \
                 [--files F | --file-size BYTES] [--seed S] [--no-corrupt]";
    let lid = PathBuf::from(arg(&args, "--lid").context(usage)?);
    let out_dir = PathBuf::from(arg(&args, "--out-dir").context(usage)?);
    let docs: Option<u64> = arg(&args, "--docs").map(|s| s.parse()).transpose()?;
    let size: Option<u64> = arg(&args, "--size").map(|s| parse_size(&s)).transpose()?;
    if docs.is_none() == size.is_none() {
        bail!("give exactly one of --docs and --size\n{usage}");
    }
    let files: Option<u64> = arg(&args, "--files").map(|s| s.parse()).transpose()?;
    let file_size: u64 = arg(&args, "--file-size")
        .map(|s| parse_size(&s))
        .transpose()?
        .unwrap_or(64 << 20);
    let seed: u64 = arg(&args, "--seed").unwrap_or_else(|| "1".into()).parse()?;
    let corrupt = !args.iter().any(|a| a == "--no-corrupt");

    let pools = load_pools(&lid)?;
    fs::create_dir_all(&out_dir)?;
    let mut truth = BufWriter::new(File::create(out_dir.join("truth.jsonl.tmp"))?);
    let mut rng = Rng(seed);
    let mut n: u64 = 0; // record number (ids)
    let mut written: u64 = 0; // compressed bytes
    let mut file_no: u64 = 0;
    let per_file_docs = match (docs, files) {
        (Some(d), Some(f)) => Some(d.div_ceil(f.max(1))),
        _ => None,
    };
    // Sources for duplicates: (id, lang index, text).
    let mut sources: Vec<(String, usize, String)> = Vec::new();
    let mut counts = std::collections::BTreeMap::<String, u64>::new();
    let done = |n: u64, written: u64| match (docs, size) {
        (Some(d), _) => n >= d,
        (_, Some(s)) => written >= s,
        _ => true,
    };
    while !done(n, written) {
        let name = format!("CC-MAIN-20261126000000-20261126010000-{file_no:05}.warc.wet.gz");
        let tmp = out_dir.join(format!("{name}.tmp"));
        let mut out = BufWriter::new(File::create(&tmp)?);
        let mut file_bytes = 0u64;
        let member = gz_member(&wet_warcinfo(&name))?;
        out.write_all(&member)?;
        file_bytes += member.len() as u64;
        let mut in_file = 0u64;
        loop {
            let full = match per_file_docs {
                Some(k) => in_file >= k,
                None => file_bytes >= file_size,
            };
            if full || done(n, written + file_bytes) {
                break;
            }
            let li = pick_lang(&pools, &mut rng);
            let url = format!(
                "https://site{}.example/{}/{n}",
                rng.below(5000),
                pools[li].0.lang
            );
            let roll = rng.below(1000);
            // The last record of a file is never corrupted: a wrong length there would truncate it.
            let last_soon = match per_file_docs {
                Some(k) => in_file + 2 >= k,
                None => file_bytes + 64 * 1024 >= file_size,
            };
            let mut t = Truth {
                id: record_id(n),
                file: name.clone(),
                lang: pools[li].0.lang.clone(),
                kind: "good",
                sub: String::new(),
                of: String::new(),
                jaccard: 0.0,
                words: 0,
            };
            let bytes: Vec<u8>;
            if corrupt && roll < 40 && !last_soon {
                let sub = [
                    "wrong_content_length",
                    "malformed_header",
                    "invalid_utf8",
                    "binary_junk",
                ][roll as usize % 4];
                t.kind = "corrupted";
                t.sub = sub.to_string();
                let text = good_text(&pools[li].0, &mut rng);
                t.words = word_count(&text);
                let rec = wet_conversion(n, &url, "", &text);
                bytes = match sub {
                    "wrong_content_length" => {
                        let d = 5 + rng.below(40) as i64;
                        with_content_length(&rec, if rng.below(2) == 0 { d } else { -d })
                    }
                    "malformed_header" => {
                        let s = String::from_utf8_lossy(&rec).into_owned();
                        s.replacen(
                            "WARC-Date: 2026-11-26T01:02:03Z",
                            "WARC-Date 2026-11-26T010203Z",
                            1,
                        )
                        .into_bytes()
                    }
                    "invalid_utf8" => {
                        let mut block = text.into_bytes();
                        let at = block.len() / 2;
                        let at = (at..block.len()).find(|&i| block[i] == b' ').unwrap_or(at);
                        block.splice(at..at, [0xffu8, 0xfe, 0xc3]);
                        let id = record_id(n);
                        warc_record(
                            &[
                                ("WARC-Type", "conversion"),
                                ("WARC-Target-URI", &url),
                                ("WARC-Date", "2026-11-26T01:02:03Z"),
                                ("WARC-Record-ID", &id),
                                ("Content-Type", "text/plain"),
                            ],
                            &block,
                        )
                    }
                    _ => {
                        t.lang = "none".into();
                        t.words = 0;
                        let len = 200 + rng.below(2000);
                        let mut junk: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
                        // Not a version line, whatever the random bytes are.
                        junk[0] = 0x01;
                        junk
                    }
                };
            } else if roll < 140 {
                let sub = ["menu", "symbols", "repeated", "short"][roll as usize % 4];
                t.kind = "low-quality";
                t.sub = sub.to_string();
                let text = low_quality(sub, &pools[li].0, &mut rng);
                t.words = word_count(&text);
                bytes = wet_conversion(n, &url, "", &text);
            } else if roll < 200 && !sources.is_empty() {
                let (id, sl, text) = &sources[rng.below(sources.len())];
                t.kind = "exact-dup";
                t.of = id.clone();
                t.lang = pools[*sl].0.lang.clone();
                t.words = word_count(text);
                bytes = wet_conversion(n, &url, "", text);
            } else if roll < 300 && !sources.is_empty() {
                let k = rng.below(sources.len());
                let (id, sl, text) = &sources[k];
                match near_dup(text, &pools[*sl].0, &mut rng) {
                    Some((edited, j)) => {
                        t.kind = "near-dup";
                        t.of = id.clone();
                        t.jaccard = j;
                        t.lang = pools[*sl].0.lang.clone();
                        t.words = word_count(&edited);
                        bytes = wet_conversion(n, &url, "", &edited);
                    }
                    None => {
                        let text = good_text(&pools[li].0, &mut rng);
                        t.words = word_count(&text);
                        bytes = wet_conversion(n, &url, "", &text);
                        if sources.len() >= DUP_POOL {
                            let k = rng.below(DUP_POOL);
                            sources[k] = (t.id.clone(), li, text);
                        } else {
                            sources.push((t.id.clone(), li, text));
                        }
                    }
                }
            } else {
                let text = good_text(&pools[li].0, &mut rng);
                t.words = word_count(&text);
                bytes = wet_conversion(n, &url, "", &text);
                if sources.len() >= DUP_POOL {
                    let k = rng.below(DUP_POOL);
                    sources[k] = (t.id.clone(), li, text);
                } else {
                    sources.push((t.id.clone(), li, text));
                }
            }
            let member = gz_member(&bytes)?;
            out.write_all(&member)?;
            file_bytes += member.len() as u64;
            let key = if t.sub.is_empty() {
                t.kind.to_string()
            } else {
                format!("{}:{}", t.kind, t.sub)
            };
            *counts.entry(key).or_default() += 1;
            writeln!(truth, "{}", t.json())?;
            n += 1;
            in_file += 1;
        }
        out.flush()?;
        drop(out);
        fs::rename(&tmp, out_dir.join(&name))?;
        written += file_bytes;
        file_no += 1;
    }
    if corrupt {
        // One more file, cut short inside its last gzip member (an interrupted download).
        let name = format!("CC-MAIN-20261126000000-20261126010000-{file_no:05}.warc.wet.gz");
        let mut out = BufWriter::new(File::create(out_dir.join(&name))?);
        out.write_all(&gz_member(&wet_warcinfo(&name))?)?;
        for k in 0..4 {
            let li = pick_lang(&pools, &mut rng);
            let text = good_text(&pools[li].0, &mut rng);
            let rec = wet_conversion(n, &format!("https://cut.example/{n}"), "", &text);
            let mut member = gz_member(&rec)?;
            let t = Truth {
                id: record_id(n),
                file: name.clone(),
                lang: pools[li].0.lang.clone(),
                kind: if k == 3 {
                    "corrupted"
                } else {
                    "in-truncated-file"
                },
                sub: if k == 3 {
                    "truncated_gzip".into()
                } else {
                    String::new()
                },
                of: String::new(),
                jaccard: 0.0,
                words: word_count(&text),
            };
            if k == 3 {
                member.truncate(member.len() / 2);
            }
            out.write_all(&member)?;
            let key = if t.sub.is_empty() {
                t.kind.to_string()
            } else {
                format!("{}:{}", t.kind, t.sub)
            };
            *counts.entry(key).or_default() += 1;
            writeln!(truth, "{}", t.json())?;
            n += 1;
        }
        out.flush()?;
        file_no += 1;
    }
    truth.flush()?;
    drop(truth);
    fs::rename(out_dir.join("truth.jsonl.tmp"), out_dir.join("truth.jsonl"))?;
    eprintln!(
        "wrote {n} records in {file_no} files ({:.1} MB compressed) to {}",
        written as f64 / 1e6,
        out_dir.display()
    );
    for (k, v) in &counts {
        eprintln!("  {k}: {v}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> Pool {
        let sentences: Vec<String> = (0..200)
            .map(|i| {
                format!(
                    "Frase numero {i} amb paraules diverses com casa{} riu{} i muntanya{}.",
                    i % 7,
                    i % 11,
                    i % 13
                )
            })
            .collect();
        let words = sentences
            .iter()
            .flat_map(|s| s.split_whitespace())
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_string())
            .filter(|w| w.chars().count() >= 2)
            .collect();
        Pool {
            lang: "ca".into(),
            sentences,
            words,
        }
    }

    #[test]
    fn jaccard_of_shingles() {
        let a = shingles("one two three four five six");
        let b = shingles("one two three four five seven");
        // {1-5, 2-6} vs {1-5, 2-7}: one shared of three.
        assert!((jaccard(&a, &b) - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(jaccard(&a, &shingles("ONE two, three four five six!")), 1.0);
    }

    #[test]
    fn near_duplicates_land_in_range_with_the_recorded_similarity() {
        let p = pool();
        let mut rng = Rng(7);
        let mut made = 0;
        for _ in 0..20 {
            let src = good_text(&p, &mut rng);
            let words = word_count(&src);
            assert!(words >= 80, "{words} words");
            if let Some((dup, j)) = near_dup(&src, &p, &mut rng) {
                assert!((0.80..=0.95).contains(&j), "{j}");
                assert!((jaccard(&shingles(&src), &shingles(&dup)) - j).abs() < 1e-12);
                assert_ne!(src, dup);
                made += 1;
            }
        }
        assert!(made >= 15, "only {made} of 20 near duplicates made");
    }

    #[test]
    fn wrong_content_length_changes_only_the_header() {
        let rec = wet_conversion(3, "https://x.example/", "", "hello world\n");
        let bad = with_content_length(&rec, 7);
        let s = String::from_utf8(bad).expect("utf-8");
        assert!(s.contains("Content-Length: 19\r\n"), "{s}");
        assert!(s.ends_with("hello world\n\r\n\r\n"));
    }
}
