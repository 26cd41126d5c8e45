//! `tria tokenizer train`, `tria tokenize`, `tria shards inspect|merge`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use tria_tokenizer::{ModelKind, TrainOptions};

use super::parse_format;
use crate::config::ConfigError;
use crate::read::{Format, ReadOptions};
use crate::tokens::{self, TokenizeJob, TrainJob};

#[derive(Subcommand, Debug)]
pub enum TokenizerCommand {
    /// Train a BPE tokenizer (HF tokenizer.json) on documents from any input tria reads.
    Train(TrainArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelArg {
    /// Byte-level BPE with the GPT-4 pre-tokenizer regex.
    ByteLevel,
    /// SentencePiece-style BPE (Llama / Salamandra): NFC, byte fallback, digits split.
    Sentencepiece,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Input files or globs (WET, WARC, JSONL, Parquet, or a pipeline's output).
    #[arg(long = "input", short = 'i', num_args = 1.., required = true)]
    pub input: Vec<String>,
    /// Target vocabulary size, special and byte tokens included.
    #[arg(long)]
    pub vocab_size: u32,
    /// The tokenizer.json to write (its report goes next to it: NAME.report.json).
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value = "sentencepiece")]
    pub model: ModelArg,
    /// Bound on the word-count table (e.g. 4G, 512MiB): rare words are pruned past it.
    #[arg(long, value_parser = tokens::parse_bytes)]
    pub memory_budget: Option<u64>,
    /// Per-language weights on word counts, e.g. `eu=3,gl=2,en=0.5` (language from meta.lang).
    #[arg(long, value_parser = tokens::parse_lang_weights)]
    pub lang_weights: Option<BTreeMap<String, f64>>,
    /// Special tokens in id order, comma-separated (default: `<unk>,<s>,</s>,<pad>` for
    /// sentencepiece, `<|endoftext|>` for byte-level).
    #[arg(long, value_delimiter = ',')]
    pub special_tokens: Option<Vec<String>>,
    /// Stop merging when the best pair occurs fewer times.
    #[arg(long, default_value_t = 0)]
    pub min_frequency: u64,
    /// SentencePiece-style: fraction of character occurrences the alphabet covers.
    #[arg(long)]
    pub character_coverage: Option<f64>,
    /// Input format when the names do not say it.
    #[arg(long, value_parser = parse_format)]
    pub format: Option<Format>,
    /// JSONL/Parquet field holding the text.
    #[arg(long, default_value = "text")]
    pub text_field: String,
    /// Worker threads (default: one per core). The tokenizer is the same whatever the number.
    #[arg(short = 'j', long = "threads", default_value_t = 0)]
    pub threads: usize,
    /// Train again even if the report says the same inputs and options made this tokenizer.
    #[arg(long)]
    pub force: bool,
    /// When an input cannot be read to the end, train on what was read (exit code still 1).
    #[arg(long)]
    pub keep_going: bool,
    /// No progress bar and no summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct TokenizeArgs {
    /// Any HF tokenizer.json (byte-level, Llama/SentencePiece-style with byte fallback, ...).
    #[arg(long, short = 't')]
    pub tokenizer: PathBuf,
    /// Input files or globs; documents go into the shard in sorted path order.
    #[arg(long = "input", short = 'i', num_args = 1.., required = true)]
    pub input: Vec<String>,
    /// Shard prefix: writes PREFIX.bin, PREFIX.idx, PREFIX.json (sidecar), PREFIX.report.json.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    #[arg(long, value_parser = parse_format)]
    pub format: Option<Format>,
    /// JSONL/Parquet field holding the text.
    #[arg(long, default_value = "text")]
    pub text_field: String,
    /// Worker threads (default: one per core). The shard is byte-identical whatever the number.
    #[arg(short = 'j', long = "threads", default_value_t = 0)]
    pub threads: usize,
    /// Rewrite the shard even if it is complete for this tokenizer and these inputs.
    #[arg(long)]
    pub force: bool,
    /// When an input cannot be read to the end, keep what was read (exit code still 1).
    #[arg(long)]
    pub keep_going: bool,
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Subcommand, Debug)]
pub enum ShardsCommand {
    /// Counts, per-language statistics and the first documents of a shard.
    Inspect(ShardsInspectArgs),
    /// Concatenate shards (same dtype and tokenizer) into one.
    Merge(ShardsMergeArgs),
}

#[derive(Args, Debug)]
pub struct ShardsInspectArgs {
    /// Shard prefix (PREFIX.bin / PREFIX.idx); a path ending in .bin, .idx or .json also works.
    pub prefix: PathBuf,
    /// Documents to show.
    #[arg(short = 'n', default_value_t = 3)]
    pub n: usize,
    /// Decode the documents shown with this tokenizer.json.
    #[arg(long, short = 't')]
    pub tokenizer: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ShardsMergeArgs {
    /// The merged shard's prefix.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
    /// Shards to concatenate, in this order.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
}

fn progress(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

pub fn cmd_tokenizer(cmd: TokenizerCommand) -> anyhow::Result<i32> {
    match cmd {
        TokenizerCommand::Train(args) => cmd_train(args),
    }
}

fn cmd_train(args: TrainArgs) -> anyhow::Result<i32> {
    let mut options = match args.model {
        ModelArg::ByteLevel => TrainOptions::byte_level(args.vocab_size),
        ModelArg::Sentencepiece => TrainOptions::sentencepiece(args.vocab_size),
    };
    if let Some(w) = args.lang_weights {
        options.lang_weights = w;
    }
    if let Some(s) = args.special_tokens {
        options.special_tokens = s.into_iter().filter(|t| !t.is_empty()).collect();
    }
    if let Some(c) = args.character_coverage {
        if options.model != ModelKind::SentencePiece {
            return Err(ConfigError::new(
                "<command line>",
                "--character-coverage applies to --model sentencepiece only",
            )
            .into());
        }
        options.character_coverage = c;
    }
    options.memory_budget = args.memory_budget;
    options.min_frequency = args.min_frequency;
    let job = TrainJob {
        inputs: tokens::expand_inputs(&args.input, args.format)?,
        format: args.format,
        read: ReadOptions {
            text_field: args.text_field,
            ..ReadOptions::default()
        },
        out: args.out,
        options,
        threads: args.threads,
        force: args.force,
        keep_going: args.keep_going,
        progress: progress(args.quiet),
    };
    let (report, skipped) = tokens::train(&job)?;
    if !args.quiet {
        eprint!("{}", report.summary(skipped));
        eprintln!(
            "  report: {}",
            tokens::train_report_path(&job.out).display()
        );
    }
    Ok(if report.failures.is_empty() { 0 } else { 1 })
}

pub fn cmd_tokenize(args: TokenizeArgs) -> anyhow::Result<i32> {
    let job = TokenizeJob {
        tokenizer: args.tokenizer,
        inputs: tokens::expand_inputs(&args.input, args.format)?,
        format: args.format,
        read: ReadOptions {
            text_field: args.text_field,
            ..ReadOptions::default()
        },
        out: args.out,
        threads: args.threads,
        force: args.force,
        keep_going: args.keep_going,
        progress: progress(args.quiet),
    };
    let (report, skipped) = tokens::tokenize(&job)?;
    if !args.quiet {
        eprint!("{}", report.summary(skipped));
        eprintln!("  report: {}", tokens::report_path(&job.out).display());
    }
    Ok(if report.failures.is_empty() { 0 } else { 1 })
}

/// Accepts `x`, `x.bin`, `x.idx` or `x.json` for the prefix `x`.
fn prefix_of(p: &Path) -> PathBuf {
    let s = p.to_string_lossy();
    for ext in [".bin", ".idx", ".json"] {
        if let Some(stem) = s.strip_suffix(ext) {
            if Path::new(&format!("{stem}.idx")).is_file() {
                return PathBuf::from(stem);
            }
        }
    }
    p.to_path_buf()
}

pub fn cmd_shards(cmd: ShardsCommand) -> anyhow::Result<i32> {
    match cmd {
        ShardsCommand::Inspect(args) => {
            let prefix = prefix_of(&args.prefix);
            let tk = match &args.tokenizer {
                Some(t) => Some(tria_tokenizer::Encoder::from_file(t).map_err(|e| {
                    ConfigError::new("<command line>", format!("--tokenizer: {e}"))
                })?),
                None => None,
            };
            let ins = tria_tokenizer::inspect(&prefix, args.n, tk.as_ref().map(|e| e.tokenizer()))?;
            print!("{ins}");
            if let (Some(tk), Some(s)) = (&tk, &ins.sidecar) {
                if s.tokenizer_hash != tk.hash() {
                    eprintln!(
                        "tria: warning: the shard was made with tokenizer {} but {} is {}; the text shown may be wrong",
                        s.tokenizer_hash,
                        args.tokenizer.as_deref().unwrap_or(Path::new("")).display(),
                        tk.hash()
                    );
                }
            }
            Ok(0)
        }
        ShardsCommand::Merge(args) => {
            let inputs: Vec<PathBuf> = args.inputs.iter().map(|p| prefix_of(p)).collect();
            if let Some(p) = inputs.iter().find(|p| **p == args.out) {
                return Err(ConfigError::new(
                    "<command line>",
                    format!("--out `{}` is also an input", p.display()),
                )
                .into());
            }
            if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let (summary, sidecar) = tria_tokenizer::merge(&inputs, &args.out)?;
            eprintln!(
                "tria shards merge: {} shards -> {} ({} documents, {} tokens, {}, {} bytes{})",
                inputs.len(),
                summary.prefix.display(),
                summary.documents,
                summary.tokens,
                summary.dtype.name(),
                summary.bin_bytes,
                if sidecar {
                    ", sidecar merged"
                } else {
                    ", no sidecar (an input has none)"
                }
            );
            Ok(0)
        }
    }
}
