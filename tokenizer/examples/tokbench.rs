//! A small driver for `bench/tokenizer/`: train, measure bytes per token, encode to shards.
//! Input files hold one document per line; the language is the file stem (`eu.txt` -> `eu`).
//! Every `--holdout-every K`-th line (line numbers 0, K, 2K, ...) is held out of training and is
//! what `bpt` measures. Prints one JSON object with the figures (peak RSS from /proc).
//!
//! ```text
//! tokbench train  --model byte|sp --vocab N [--budget BYTES] [--repeat R] [--holdout-every K] --out T.json FILES...
//! tokbench bpt    --tokenizer T.json [--holdout-every K] FILES...
//! tokbench encode --tokenizer T.json --out PREFIX [--repeat R] FILES...
//! tokbench write  --vocab N --tokens MILLIONS --out PREFIX  (shard writing alone, synthetic ids)
//! ```

use std::io::BufRead;
use std::path::PathBuf;
use std::time::Instant;

use tria_tokenizer::{Encoder, ShardWriter, TrainOptions, Trainer, tokenize_docs};

struct Args {
    cmd: String,
    model: String,
    vocab: u32,
    budget: Option<u64>,
    repeat: usize,
    holdout: usize,
    out: PathBuf,
    tokenizer: PathBuf,
    files: Vec<PathBuf>,
}

fn parse() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let cmd = it.next().ok_or("missing command")?;
    let mut a = Args {
        cmd,
        model: "byte".into(),
        vocab: 32_000,
        budget: None,
        repeat: 1,
        holdout: 0,
        out: PathBuf::new(),
        tokenizer: PathBuf::new(),
        files: Vec::new(),
    };
    while let Some(x) = it.next() {
        let mut val = || it.next().ok_or(format!("{x} needs a value"));
        match x.as_str() {
            "--model" => a.model = val()?,
            "--vocab" => a.vocab = val()?.parse().map_err(|e| format!("--vocab: {e}"))?,
            "--budget" => a.budget = Some(val()?.parse().map_err(|e| format!("--budget: {e}"))?),
            "--repeat" | "--tokens" => {
                a.repeat = val()?.parse().map_err(|e| format!("--repeat: {e}"))?
            }
            "--holdout-every" => {
                a.holdout = val()?
                    .parse()
                    .map_err(|e| format!("--holdout-every: {e}"))?
            }
            "--out" => a.out = val()?.into(),
            "--tokenizer" => a.tokenizer = val()?.into(),
            f if !f.starts_with("--") => a.files.push(f.into()),
            f => return Err(format!("unknown flag {f}")),
        }
    }
    Ok(a)
}

/// Streams `(line, lang)` documents: training lines (`held == false`) or held-out ones.
fn docs(
    files: &[PathBuf],
    repeat: usize,
    holdout: usize,
    held: bool,
) -> impl Iterator<Item = (String, String)> + '_ {
    (0..repeat).flat_map(move |_| {
        files.iter().flat_map(move |f| {
            let lang = f
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let file = std::fs::File::open(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            std::io::BufReader::with_capacity(1 << 20, file)
                .lines()
                .enumerate()
                .filter(move |(i, _)| (holdout > 0 && i % holdout == 0) == held)
                .map(move |(i, l)| {
                    (
                        l.unwrap_or_else(|e| panic!("{}:{i}: {e}", f.display())),
                        lang.clone(),
                    )
                })
        })
    })
}

fn peak_rss_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let a = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("tokbench: {e}");
            std::process::exit(2);
        }
    };
    let t0 = Instant::now();
    match a.cmd.as_str() {
        "train" => {
            let mut opts = match a.model.as_str() {
                "sp" => TrainOptions::sentencepiece(a.vocab),
                _ => TrainOptions::byte_level(a.vocab),
            };
            opts.memory_budget = a.budget;
            let mut t = Trainer::new(opts).expect("valid options");
            t.feed(docs(&a.files, a.repeat, a.holdout, false));
            let fed = t0.elapsed().as_secs_f64();
            let st = t.stats();
            let trained = t.train().expect("training");
            trained.save(&a.out).expect("write tokenizer");
            println!(
                "{{\"cmd\":\"train\",\"bytes\":{},\"docs\":{},\"distinct_words\":{},\"prunes\":{},\"pruned_words\":{},\"merges\":{},\"feed_s\":{fed:.3},\"total_s\":{:.3},\"peak_rss_mib\":{:.1}}}",
                st.bytes,
                st.documents,
                st.distinct_words,
                st.prunes,
                st.pruned_words,
                trained.merges,
                t0.elapsed().as_secs_f64(),
                peak_rss_mib()
            );
        }
        "bpt" => {
            let enc = Encoder::from_file(&a.tokenizer)
                .expect("tokenizer")
                .with_eod(None);
            let (mut bytes, mut tokens) = (0u64, 0u64);
            for (text, _) in docs(&a.files, 1, a.holdout, true) {
                bytes += text.len() as u64;
                tokens += enc.encode(&text).expect("encode").len() as u64;
            }
            println!(
                "{{\"cmd\":\"bpt\",\"bytes\":{bytes},\"tokens\":{tokens},\"bytes_per_token\":{:.5}}}",
                bytes as f64 / tokens as f64
            );
        }
        "encode" => {
            let enc = Encoder::from_file(&a.tokenizer).expect("tokenizer");
            let mut w = ShardWriter::create(&a.out, enc.shard_meta()).expect("create shard");
            let st =
                tokenize_docs(&enc, docs(&a.files, a.repeat, 0, false), &mut w).expect("encode");
            let sum = w.finish().expect("finish shard");
            let s = t0.elapsed().as_secs_f64();
            println!(
                "{{\"cmd\":\"encode\",\"bytes\":{},\"docs\":{},\"tokens\":{},\"bin_bytes\":{},\"s\":{s:.3},\"mb_per_s\":{:.2},\"peak_rss_mib\":{:.1}}}",
                st.utf8_bytes,
                st.documents,
                st.tokens,
                sum.bin_bytes,
                st.utf8_bytes as f64 / s / 1e6,
                peak_rss_mib()
            );
        }
        "write" => {
            let total: u64 = a.repeat as u64 * 1_000_000;
            let meta = tria_tokenizer::ShardMeta {
                tokenizer_hash: "synthetic".into(),
                vocab_size: a.vocab,
                eod_token: Some(0),
                dtype: None,
            };
            let mut w = ShardWriter::create(&a.out, meta).expect("create shard");
            let mut state = 0x2545_f491_4f6c_dd1du64;
            let mut doc = Vec::new();
            let mut written = 0u64;
            let t1 = Instant::now();
            while written < total {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let len = 100 + (state % 1900) as usize;
                doc.clear();
                doc.extend(
                    (0..len as u64)
                        .map(|i| ((state >> 3).wrapping_add(i * 7919) % a.vocab as u64) as u32),
                );
                w.add_document(&doc, "xx", len as u64 * 4).expect("write");
                written += len as u64;
            }
            let sum = w.finish().expect("finish");
            let s = t1.elapsed().as_secs_f64();
            println!(
                "{{\"cmd\":\"write\",\"tokens\":{written},\"bin_bytes\":{},\"s\":{s:.3},\"mb_per_s\":{:.1}}}",
                sum.bin_bytes,
                sum.bin_bytes as f64 / s / 1e6
            );
        }
        c => {
            eprintln!("tokbench: unknown command {c}");
            std::process::exit(2);
        }
    }
}
