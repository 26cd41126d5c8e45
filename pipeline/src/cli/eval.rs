//! `tria eval` and `tria train-small`: the model runtime over token shards.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use tria_runtime::{
    EvalDoc, EvalOptions, EvalReport, Llama, LlamaConfig, TrainOptions, TrainReport, WindowMode,
    evaluate, train_small,
};

use crate::config::ConfigError;
use crate::eval::{
    CacheKey, CachedShard, Shard, cache_path, empty_report, is_heldout, load_cached,
    model_fingerprint, shard_prefix,
};
use crate::write::write_atomic;

const CLI: &str = "<command line>";

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Model directory: config.json with model.safetensors or model.safetensors.index.json.
    #[arg(long)]
    pub model: PathBuf,
    /// Token shard prefixes (PREFIX.bin/.idx/.json); the shard files themselves are accepted too.
    #[arg(long, num_args = 1.., required = true)]
    pub shards: Vec<PathBuf>,
    /// Window length in tokens, BOS included (default: 2048 on CPU, the model's maximum on GPU;
    /// never above the model's max_position_embeddings).
    #[arg(long)]
    pub context: Option<usize>,
    /// Windows per forward pass.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// llama.cpp's perplexity: concatenate each shard, score the second half of each chunk.
    #[arg(long)]
    pub second_half: bool,
    /// The JSON report; per-shard results are kept in JSON.shards/ so a rerun skips them.
    #[arg(long, default_value = "eval.json")]
    pub json: PathBuf,
    /// Worker threads (default: one per core). The figures are the same whatever the number.
    #[arg(short = 'j', long = "threads", default_value_t = 0)]
    pub threads: usize,
    /// Evaluate every shard again, even those with a saved result.
    #[arg(long)]
    pub force: bool,
    /// Run on the CPU even when built with CUDA and a GPU is present.
    #[arg(long)]
    pub cpu: bool,
    /// BOS token prefixed to each document (default: the model config's bos_token_id).
    #[arg(long, conflicts_with = "no_bos")]
    pub bos: Option<u32>,
    /// No BOS: the first token of each document is context only.
    #[arg(long)]
    pub no_bos: bool,
    /// Also score the end-of-document token the shards append (lm-eval scores the text only).
    #[arg(long)]
    pub keep_eod: bool,
    /// No progress bar and no summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// The JSON `tria eval` writes: the settings and the merged report (byte-identical for the same
/// model, shards and settings, whether shards were evaluated now or reused).
#[derive(Debug, Serialize, Deserialize)]
pub struct EvalOutput {
    pub model: String,
    pub mode: WindowMode,
    pub context: usize,
    pub bos: Option<u32>,
    pub strip_eod: bool,
    /// The shards in the order given.
    pub shards: Vec<String>,
    /// Shards that could not be evaluated, with the reason.
    pub failed: Vec<FailedShard>,
    pub report: EvalReport,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct FailedShard {
    pub shard: String,
    pub error: String,
}

fn thread_pool(threads: usize) -> anyhow::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start the worker threads")
}

fn progress_bar(enabled: bool, total: u64, template: &str) -> Option<ProgressBar> {
    if !enabled {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(ProgressStyle::with_template(template).expect("template is valid"));
    Some(bar)
}

fn load_model(dir: &Path, cpu: bool) -> anyhow::Result<Llama> {
    let device = tria_runtime::device(cpu)?;
    if !dir.join("config.json").is_file() {
        return Err(ConfigError::new(
            dir.display().to_string(),
            "not a model directory (no config.json)",
        )
        .into());
    }
    Llama::load(dir, &device).map_err(|e| ConfigError::new(CLI, format!("--model: {e}")).into())
}

pub fn cmd_eval(args: EvalArgs) -> anyhow::Result<i32> {
    if args.batch == 0 {
        return Err(ConfigError::new(CLI, "--batch must be at least 1").into());
    }
    let model = load_model(&args.model, args.cpu)?;
    let max_pos = model.config().max_position_embeddings;
    let context = args.context.unwrap_or(if model.device().is_cpu() {
        max_pos.min(2048)
    } else {
        max_pos
    });
    let base = EvalOptions::for_model(&model);
    let opts = EvalOptions {
        context,
        batch: args.batch,
        mode: if args.second_half {
            WindowMode::SecondHalf
        } else {
            WindowMode::Rolling
        },
        bos: if args.no_bos {
            None
        } else {
            args.bos.or(base.bos)
        },
        ..base
    };
    // Check the options against the model before any work (an empty run validates them).
    evaluate(&model, std::iter::empty(), &opts, |_| {})
        .map_err(|e| ConfigError::new(CLI, e.to_string()))?;
    let strip_eod = !args.keep_eod;
    let model_fp = model_fingerprint(&args.model)?;

    let mut prefixes: Vec<PathBuf> = Vec::new();
    for s in &args.shards {
        let p = shard_prefix(s);
        if !prefixes.contains(&p) {
            prefixes.push(p);
        }
    }

    // Plan: open every shard; reuse saved results that match.
    enum Plan {
        Reused(EvalReport),
        Todo(Box<Shard>, CacheKey, PathBuf),
        Failed(String),
    }
    let mut plans = Vec::with_capacity(prefixes.len());
    for prefix in &prefixes {
        let label = prefix.to_string_lossy().into_owned();
        let opened = Shard::open(prefix).and_then(|s| {
            let fp = s.fingerprint()?;
            Ok((s, fp))
        });
        let (shard, fp) = match opened {
            Ok(x) => x,
            Err(e) => {
                plans.push(Plan::Failed(e.to_string()));
                continue;
            }
        };
        let key = CacheKey {
            model: model_fp.clone(),
            shard: fp,
            mode: opts.mode,
            context: opts.context,
            bos: opts.bos,
            strip_eod,
        };
        let path = cache_path(&args.json, prefix);
        match load_cached(&path, &key, &label) {
            Some(r) if !args.force => plans.push(Plan::Reused(r)),
            _ => plans.push(Plan::Todo(Box::new(shard), key, path)),
        }
    }

    let total_docs: u64 = plans
        .iter()
        .map(|p| match p {
            Plan::Todo(s, _, _) => s.documents() as u64,
            _ => 0,
        })
        .sum();
    let bar = progress_bar(
        !args.quiet && std::io::stderr().is_terminal(),
        total_docs,
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} docs {msg}",
    );
    let pool = thread_pool(args.threads)?;
    let started = Instant::now();
    let mut tokens_now = 0u64;
    let (mut evaluated, mut reused) = (0usize, 0usize);
    let mut report = empty_report(opts.mode, opts.context, opts.bos);
    let mut failed = Vec::new();
    let mut docs_before = 0u64;
    for (prefix, plan) in prefixes.iter().zip(plans) {
        let label = prefix.to_string_lossy().into_owned();
        let shard_report = match plan {
            Plan::Reused(r) => {
                reused += 1;
                r
            }
            Plan::Failed(error) => {
                eprintln!("tria eval: {error}");
                failed.push(FailedShard {
                    shard: label,
                    error,
                });
                continue;
            }
            Plan::Todo(shard, key, path) => {
                let result = pool.install(|| {
                    evaluate(&model, shard.eval_docs(strip_eod), &opts, |p| {
                        if let Some(bar) = &bar {
                            bar.set_position(docs_before + p.documents);
                            let secs = started.elapsed().as_secs_f64().max(1e-3);
                            bar.set_message(format!(
                                "{:.0} tokens/s",
                                (tokens_now + p.tokens) as f64 / secs
                            ));
                        }
                    })
                });
                docs_before += shard.documents() as u64;
                let r = match result {
                    Ok(r) => r,
                    Err(e) => {
                        let error = format!("shard {label}: {e}");
                        eprintln!("tria eval: {error}");
                        failed.push(FailedShard {
                            shard: label,
                            error,
                        });
                        continue;
                    }
                };
                tokens_now += r.total.tokens;
                let cached = CachedShard::new(key, r.clone());
                let bytes = serde_json::to_vec_pretty(&cached).expect("reports serialize");
                write_atomic(&path, &bytes)
                    .with_context(|| format!("cannot save {}", path.display()))?;
                evaluated += 1;
                r
            }
        };
        report.merge(&shard_report)?;
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }

    let out = EvalOutput {
        model: args.model.to_string_lossy().into_owned(),
        mode: opts.mode,
        context: opts.context,
        bos: opts.bos,
        strip_eod,
        shards: prefixes
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect(),
        failed,
        report,
    };
    let mut bytes = serde_json::to_vec_pretty(&out).expect("reports serialize");
    bytes.push(b'\n');
    write_atomic(&args.json, &bytes)
        .with_context(|| format!("cannot write {}", args.json.display()))?;
    print!("{}", out.report.to_table());
    if !args.quiet {
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "tria eval: {} shards: {evaluated} evaluated, {reused} reused, {} failed; {tokens_now} tokens scored in {secs:.1} s ({:.0} tokens/s)",
            out.shards.len(),
            out.failed.len(),
            tokens_now as f64 / secs.max(1e-9)
        );
        eprintln!("  report: {}", args.json.display());
    }
    Ok(if out.failed.is_empty() { 0 } else { 1 })
}

#[derive(Args, Debug)]
pub struct TrainSmallArgs {
    /// Token shard prefixes to train on (a fraction of their documents is held out).
    #[arg(long, num_args = 1.., required = true)]
    pub shards: Vec<PathBuf>,
    /// Output directory: checkpoints (step-NNNNNN/, final/) and train-report.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Optimisation steps.
    #[arg(long)]
    pub steps: usize,
    /// Seeds the initialisation and the order of training windows.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Fraction of documents held out for evaluation (chosen by a hash of shard file name and
    /// document number, the same whatever the seed).
    #[arg(long, default_value_t = 0.05)]
    pub heldout_fraction: f64,
    /// Sequences per step.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Tokens per sequence (also the model's context).
    #[arg(long, default_value_t = 256)]
    pub seq_len: usize,
    /// Peak learning rate (after the warm-up; cosine decay to --min-lr).
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Final learning rate (default: --lr / 10).
    #[arg(long)]
    pub min_lr: Option<f64>,
    /// Warm-up steps (default: a tenth of --steps, at most 100).
    #[arg(long)]
    pub warmup: Option<usize>,
    /// Hidden size.
    #[arg(long, default_value_t = 256)]
    pub hidden: usize,
    /// Decoder layers.
    #[arg(long, default_value_t = 4)]
    pub layers: usize,
    /// Attention heads.
    #[arg(long, default_value_t = 4)]
    pub heads: usize,
    /// Key/value heads (default: half the heads when even, else all: GQA).
    #[arg(long)]
    pub kv_heads: Option<usize>,
    /// SwiGLU width (default: 8/3 of hidden, rounded up to a multiple of 8).
    #[arg(long)]
    pub intermediate: Option<usize>,
    /// Vocabulary size (default: the shards' sidecar vocab_size, else the largest token + 1).
    #[arg(long)]
    pub vocab: Option<usize>,
    /// Save a checkpoint every N steps (0: only the final model).
    #[arg(long, default_value_t = 0)]
    pub checkpoint_every: usize,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long = "threads", default_value_t = 0)]
    pub threads: usize,
    /// Run on the CPU even when built with CUDA and a GPU is present.
    #[arg(long)]
    pub cpu: bool,
    /// Train again even when OUT holds a finished run with the same settings and data.
    #[arg(long)]
    pub force: bool,
    /// No progress bar and no summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// `OUT/train-report.json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct TrainOutput {
    /// Hash of the options and the shards' fingerprints: a rerun with the same key is skipped.
    pub key: String,
    pub shards: Vec<String>,
    pub heldout_fraction: f64,
    pub train_documents: u64,
    pub train_tokens: u64,
    pub heldout_documents: u64,
    pub report: TrainReport,
}

fn train_config(args: &TrainSmallArgs, vocab: usize) -> LlamaConfig {
    let mut cfg = TrainOptions::tiny_config(vocab, args.seq_len);
    cfg.hidden_size = args.hidden;
    cfg.num_hidden_layers = args.layers;
    cfg.num_attention_heads = args.heads;
    cfg.num_key_value_heads = Some(args.kv_heads.unwrap_or(if args.heads % 2 == 0 {
        args.heads / 2
    } else {
        args.heads
    }));
    cfg.intermediate_size = args
        .intermediate
        .unwrap_or((args.hidden * 8).div_ceil(3).div_ceil(8) * 8);
    cfg
}

pub fn cmd_train_small(args: TrainSmallArgs) -> anyhow::Result<i32> {
    if !(0.0..1.0).contains(&args.heldout_fraction) {
        return Err(ConfigError::new(CLI, "--heldout-fraction must lie in [0, 1)").into());
    }
    if args.steps == 0 || args.batch == 0 || args.seq_len == 0 {
        return Err(
            ConfigError::new(CLI, "--steps, --batch and --seq-len must be positive").into(),
        );
    }
    let mut shards = Vec::new();
    for s in &args.shards {
        let prefix = shard_prefix(s);
        shards.push(Shard::open(&prefix)?);
    }
    let mut train: Vec<Vec<u32>> = Vec::new();
    let mut heldout: Vec<EvalDoc> = Vec::new();
    let mut max_token = 0u32;
    for shard in &shards {
        for d in 0..shard.documents() {
            if is_heldout(&shard.label, d, args.heldout_fraction) {
                heldout.push(shard.eval_doc(d, true));
            } else {
                // Training documents keep their end-of-document token: it separates them.
                let t = shard.tokens(d, false);
                max_token = max_token.max(t.iter().copied().max().unwrap_or(0));
                train.push(t);
            }
        }
    }
    let vocab = match args.vocab {
        Some(v) => v,
        None => shards
            .iter()
            .filter_map(|s| s.sidecar.as_ref().map(|c| c.vocab_size as usize))
            .max()
            .unwrap_or(max_token as usize + 1),
    };
    let cfg = train_config(&args, vocab);
    cfg.validate()
        .map_err(|e| ConfigError::new(CLI, format!("model size: {e}")))?;
    let mut opts = TrainOptions::new(cfg);
    opts.steps = args.steps;
    opts.batch = args.batch;
    opts.seq_len = args.seq_len;
    opts.lr = args.lr;
    opts.min_lr = args.min_lr.unwrap_or(args.lr / 10.0);
    opts.warmup = args.warmup.unwrap_or((args.steps / 10).min(100));
    opts.seed = args.seed;
    opts.checkpoint_every = args.checkpoint_every;
    opts.out_dir = Some(args.out.clone());

    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(
        serde_json::to_string(&opts)
            .expect("options serialize")
            .as_bytes(),
    );
    h.update(&args.heldout_fraction.to_le_bytes());
    for s in &shards {
        h.update(s.fingerprint()?.as_bytes());
    }
    let key = format!("{:016x}", h.digest());
    let report_path = args.out.join("train-report.json");
    if !args.force
        && let Ok(bytes) = std::fs::read(&report_path)
        && let Ok(old) = serde_json::from_slice::<TrainOutput>(&bytes)
        && old.key == key
    {
        print!("{}", old.report.heldout.to_table());
        if !args.quiet {
            eprintln!(
                "tria train-small: {} already holds this run (same settings and data); --force to train again",
                args.out.display()
            );
            eprintln!("  report: {}", report_path.display());
        }
        return Ok(0);
    }

    let train_tokens: u64 = train.iter().map(|t| t.len() as u64).sum();
    let heldout_documents = heldout.len() as u64;
    let bar = progress_bar(
        !args.quiet && std::io::stderr().is_terminal(),
        args.steps as u64,
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} steps {msg}",
    );
    let pool = thread_pool(args.threads)?;
    let device = tria_runtime::device(args.cpu)?;
    let started = Instant::now();
    let (_model, report) = pool
        .install(|| {
            train_small(&opts, &train, heldout, &device, |s| {
                if let Some(bar) = &bar {
                    bar.set_position(s.step as u64);
                    bar.set_message(format!("loss {:.4} lr {:.2e}", s.loss, s.lr));
                }
            })
        })
        .map_err(|e| match e {
            tria_runtime::RuntimeError::Options(m) => anyhow::Error::from(ConfigError::new(CLI, m)),
            e => anyhow::Error::from(e),
        })?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let out = TrainOutput {
        key,
        shards: shards.iter().map(|s| s.label.clone()).collect(),
        heldout_fraction: args.heldout_fraction,
        train_documents: train.len() as u64,
        train_tokens,
        heldout_documents,
        report,
    };
    let mut bytes = serde_json::to_vec_pretty(&out).expect("reports serialize");
    bytes.push(b'\n');
    write_atomic(&report_path, &bytes)
        .with_context(|| format!("cannot write {}", report_path.display()))?;
    print!("{}", out.report.heldout.to_table());
    if !args.quiet {
        let h = &out.report.heldout.total;
        let last = out.report.steps.last().map_or(f64::NAN, |s| s.loss);
        let bpb = h
            .bits_per_byte
            .map_or_else(|| "-".to_string(), |b| format!("{b:.4}"));
        eprintln!(
            "tria train-small: {} parameters, {} steps on {} documents ({} tokens) in {:.1} s; final train loss {last:.4}",
            out.report.parameters,
            out.report.steps.len(),
            out.train_documents,
            out.train_tokens,
            started.elapsed().as_secs_f64()
        );
        eprintln!(
            "  held-out: {} documents, {} tokens, loss {:.4}, perplexity {:.3}, bits per byte {bpb}",
            h.documents, h.tokens, h.loss, h.perplexity
        );
        eprintln!("  model: {}", args.out.join("final").display());
        eprintln!("  report: {}", report_path.display());
    }
    Ok(0)
}
