//! Evaluates a model directory on token documents from a JSONL file and prints the report as JSON,
//! with the wall time of the evaluation. Used by `bench/runtime/compare_torch.py`.
//!
//! ```text
//! cargo run --release -p tria-runtime --example eval_tokens -- MODEL_DIR DOCS.jsonl \
//!     [--context N] [--batch B] [--second-half] [--no-bos]
//! ```
//! Each JSONL line: `{"tokens": [..], "bytes": N, "lang": "ca", "shard": "s0"}` (lang, shard optional).

use std::io::BufRead;
use std::path::PathBuf;
use std::time::Instant;

use tria_runtime::{EvalDoc, EvalOptions, Llama, WindowMode, evaluate};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: eval_tokens MODEL_DIR DOCS.jsonl [--context N] [--batch B] [--second-half] [--no-bos]";
    let model_dir = PathBuf::from(args.next().ok_or(usage)?);
    let docs_path = PathBuf::from(args.next().ok_or(usage)?);
    let (mut context, mut batch, mut second_half, mut no_bos) = (None, 1usize, false, false);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--context" => context = Some(args.next().ok_or(usage)?.parse()?),
            "--batch" => batch = args.next().ok_or(usage)?.parse()?,
            "--second-half" => second_half = true,
            "--no-bos" => no_bos = true,
            other => return Err(format!("unknown argument {other}\n{usage}").into()),
        }
    }
    let t0 = Instant::now();
    let model = Llama::load(&model_dir, &tria_runtime::device(false)?)?;
    let load_s = t0.elapsed().as_secs_f64();

    let file = std::fs::File::open(&docs_path)?;
    let mut docs = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(&line?)?;
        let tokens = v["tokens"]
            .as_array()
            .ok_or_else(|| format!("{}:{}: no tokens", docs_path.display(), i + 1))?
            .iter()
            .map(|t| t.as_u64().map(|t| t as u32))
            .collect::<Option<Vec<u32>>>()
            .ok_or_else(|| format!("{}:{}: bad token", docs_path.display(), i + 1))?;
        docs.push(EvalDoc {
            tokens,
            bytes: v["bytes"].as_u64().unwrap_or(0),
            lang: v["lang"].as_str().map(str::to_string),
            shard: v["shard"].as_str().unwrap_or("all").to_string(),
        });
    }

    let mut opts = EvalOptions::for_model(&model);
    opts.batch = batch;
    if let Some(c) = context {
        opts.context = c;
    }
    if second_half {
        opts.mode = WindowMode::SecondHalf;
    }
    if no_bos {
        opts.bos = None;
    }
    let t1 = Instant::now();
    let report = evaluate(&model, docs, &opts, |_| {})?;
    let eval_s = t1.elapsed().as_secs_f64();
    let out = serde_json::json!({
        "load_seconds": load_s,
        "eval_seconds": eval_s,
        "tokens_per_second": report.total.tokens as f64 / eval_s,
        "report": report,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
