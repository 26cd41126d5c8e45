//! The `tria` command line. Flags become a validated configuration before anything runs; exit
//! codes: 0 success, 1 some input files failed (the others are complete), 2 bad configuration or
//! usage.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod dedup;
mod tokens;

use crate::config::{ConfigError, PipelineConfig};
use crate::read::{Format, ReadOptions};
use crate::run::{self, RunError, RunOptions};
use crate::write::OutputFormat;

pub(crate) mod eval;
mod filters;
mod lid;
mod slurm;

#[derive(Parser, Debug)]
#[command(
    name = "tria",
    version,
    about = "CommonCrawl to clean, deduplicated, tokenized training data for the 35 ALIA/Salamandra languages",
    long_about = None
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a pipeline over input files (resumable: completed files are skipped on rerun).
    Run(RunArgs),
    /// Print documents from any file tria reads or writes.
    Inspect(InspectArgs),
    /// Quality filters: calibrate per-language thresholds, summarise a tag-only run.
    Filters(filters::FiltersArgs),
    /// Language identification: predict, eval, train (35 languages and `other`).
    #[command(after_help = tria_filters::lang::BUILTIN_ATTRIBUTION)]
    Lid(lid::LidArgs),
    /// Train a tokenizer (BPE, HF tokenizer.json).
    #[command(subcommand)]
    Tokenizer(tokens::TokenizerCommand),
    /// Encode documents into a Megatron token shard (PREFIX.bin/.idx + sidecar).
    Tokenize(tokens::TokenizeArgs),
    /// Inspect or merge Megatron token shards.
    #[command(subcommand)]
    Shards(tokens::ShardsCommand),
    /// Score token shards with a model: loss, perplexity, bits per byte per shard and language.
    Eval(eval::EvalArgs),
    /// Train a tiny Llama on token shards and report its held-out loss (data ablations).
    TrainSmall(eval::TrainSmallArgs),
    /// Remove exact, URL and near duplicates and boilerplate lines across a corpus (one machine, or
    /// sharded with the subcommands).
    Dedup(dedup::DedupArgs),
    /// Per step, the ranks done, failed, running and pending (from markers and logs).
    Status(slurm::StatusArgs),
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The pipeline file (TOML). Without it, --input and --output describe a one-off run.
    pub pipeline: Option<PathBuf>,
    /// Worker threads (default: one per core). The output is the same whatever the number.
    #[arg(short = 'j', long = "threads", default_value_t = 0)]
    pub threads: usize,
    /// Redo every file, even those already complete.
    #[arg(long)]
    pub force: bool,
    /// Check the configuration, list what would run, and stop.
    #[arg(long)]
    pub dry_run: bool,
    /// Input files or globs (replace the pipeline file's [input] paths).
    #[arg(long = "input", short = 'i', num_args = 1..)]
    pub input: Vec<String>,
    /// Output directory (replaces [output] dir).
    #[arg(long = "output", short = 'o')]
    pub output: Option<String>,
    /// Input format when the names do not say it.
    #[arg(long, value_parser = parse_format)]
    pub format: Option<Format>,
    /// Output format: jsonl.zst (default), jsonl or parquet.
    #[arg(long, value_parser = parse_output_format)]
    pub output_format: Option<OutputFormat>,
    /// Run only rank I of R (files i with i mod R == I), e.g. from a job array.
    #[arg(long, requires = "ranks")]
    pub rank: Option<usize>,
    /// Number of ranks the input files are split over.
    #[arg(long)]
    pub ranks: Option<usize>,
    /// Run one step of a multi-step pipeline (filter, dedup-signatures, dedup-pairs,
    /// dedup-clusters, dedup-filter, tokenizer-train, tokenize, eval, report), with --ranks/--rank
    /// one task of it: what a job array element runs. `--dry-run` lists the steps.
    #[arg(long)]
    pub step: Option<String>,
    /// No progress bar and no summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Measure only: every quality stage runs with `tag_only = true` (statistics into `attrs`,
    /// nothing dropped); summarise the output with `tria filters stats`.
    #[arg(long)]
    pub tag_only: bool,
    #[command(flatten)]
    pub exec: slurm::ExecArgs,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    pub file: PathBuf,
    /// Number of documents to print.
    #[arg(short = 'n', default_value_t = 5)]
    pub n: usize,
    /// Print JSON lines instead of a listing.
    #[arg(long)]
    pub json: bool,
    /// Characters of text shown per document (0: all).
    #[arg(long, default_value_t = 600)]
    pub chars: usize,
    #[arg(long, value_parser = parse_format)]
    pub format: Option<Format>,
    /// JSONL/Parquet field holding the text.
    #[arg(long, default_value = "text")]
    pub text_field: String,
}

fn parse_format(s: &str) -> Result<Format, String> {
    match s {
        "wet" => Ok(Format::Wet),
        "warc" => Ok(Format::Warc),
        "jsonl" => Ok(Format::Jsonl),
        "parquet" => Ok(Format::Parquet),
        _ => Err(format!("unknown format `{s}` (wet, warc, jsonl, parquet)")),
    }
}

fn parse_output_format(s: &str) -> Result<OutputFormat, String> {
    match s {
        "jsonl.zst" => Ok(OutputFormat::JsonlZst),
        "jsonl" => Ok(OutputFormat::Jsonl),
        "parquet" => Ok(OutputFormat::Parquet),
        _ => Err(format!(
            "unknown output format `{s}` (jsonl.zst, jsonl, parquet)"
        )),
    }
}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => cmd_run(args),
        Command::Inspect(args) => cmd_inspect(args),
        Command::Filters(args) => filters::main(args),
        Command::Lid(args) => lid::cmd_lid(args),
        Command::Tokenizer(cmd) => tokens::cmd_tokenizer(cmd),
        Command::Tokenize(args) => tokens::cmd_tokenize(args),
        Command::Shards(cmd) => tokens::cmd_shards(cmd),
        Command::Eval(args) => eval::cmd_eval(args),
        Command::TrainSmall(args) => eval::cmd_train_small(args),
        Command::Dedup(args) => dedup::cmd_dedup(args),
        Command::Status(args) => slurm::cmd_status(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if let Some(c) = e.downcast_ref::<ConfigError>() {
                eprintln!("tria: configuration error: {c}");
                return 2;
            }
            eprintln!("tria: error: {e:#}");
            1
        }
    }
}

/// Builds the run's configuration from the pipeline file and the flags.
pub fn run_config(args: &RunArgs) -> Result<PipelineConfig, ConfigError> {
    let mut config = match &args.pipeline {
        Some(p) => PipelineConfig::load(p)?,
        None => {
            if args.input.is_empty() || args.output.is_none() {
                return Err(ConfigError::new(
                    "<command line>",
                    "give a pipeline file, or both --input and --output",
                ));
            }
            PipelineConfig::parse("", "<command line>", PathBuf::new())?
        }
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    // Paths given on the command line are relative to the working directory, not the pipeline file.
    let abs = |s: &str| {
        let p = PathBuf::from(s);
        if p.is_absolute() {
            s.to_string()
        } else {
            cwd.join(p).to_string_lossy().to_string()
        }
    };
    if !args.input.is_empty() {
        config.input.paths = args.input.iter().map(|s| abs(s)).collect();
        config.input.list = None;
    }
    if let Some(o) = &args.output {
        config.output.dir = abs(o);
    }
    if let Some(f) = args.format {
        config.input.format = Some(f);
    }
    if let Some(f) = args.output_format {
        config.output.format = f;
    }
    if args.tag_only {
        filters::set_tag_only(&mut config)?;
    }
    Ok(config)
}

fn cmd_run(args: RunArgs) -> anyhow::Result<i32> {
    if args.exec.executor == slurm::Executor::Slurm {
        return slurm::cmd_submit(&args);
    }
    if args.ranks.is_some() && args.rank.is_none() && !args.dry_run {
        return Err(ConfigError::new(
            "<command line>",
            "--ranks without --rank: add --rank I to run one task here, or --executor slurm to submit them all",
        )
        .into());
    }
    let config = run_config(&args)?;
    let rank = match (args.rank, args.ranks) {
        (Some(r), Some(n)) if n == 0 || r >= n => {
            return Err(ConfigError::new(
                "<command line>",
                format!("--rank {r} is not below --ranks {n}"),
            )
            .into());
        }
        (Some(r), Some(n)) => Some((r, n)),
        _ => None,
    };
    if config.has_steps() || args.step.is_some() {
        return cmd_run_steps(&args, config, rank);
    }
    let plan = run::plan(config)?;
    if args.dry_run {
        let mine = plan.rank_inputs(rank);
        let done = mine.iter().filter(|(_, f)| plan.is_done(f)).count();
        println!("pipeline: {}", plan.config.source);
        println!(
            "output:   {} ({})",
            plan.out_dir.display(),
            plan.config.output.format.extension()
        );
        println!(
            "stages:   {}",
            plan.config
                .stages
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(" -> ")
        );
        println!(
            "inputs:   {} files, {} complete, {} to run",
            mine.len(),
            done,
            if args.force {
                mine.len()
            } else {
                mine.len() - done
            }
        );
        for (_, f) in &mine {
            let state = if plan.is_done(f) && !args.force {
                "done"
            } else {
                "todo"
            };
            println!("  [{state}] {} ({})", f.path.display(), f.format.name());
        }
        return Ok(0);
    }
    let opts = RunOptions {
        threads: args.threads,
        force: args.force,
        progress: !args.quiet && std::io::stderr().is_terminal(),
        rank,
    };
    let report = match run::execute(&plan, &opts) {
        Ok(r) => r,
        Err(RunError::Config(c)) => return Err(c.into()),
        Err(e) => return Err(e.into()),
    };
    if rank.is_none() {
        crate::report::html::write_run_report(
            &plan.config,
            &crate::steps::Layout::of(&plan.config),
        )?;
    }
    if !args.quiet {
        eprint!("{}", report.summary());
        eprintln!("  report: {}", plan.out_dir.join("report.json").display());
    }
    Ok(if report.files.failed > 0 { 1 } else { 0 })
}

/// `tria run` of a multi-step pipeline, or of one step (task) of it.
fn cmd_run_steps(
    args: &RunArgs,
    config: PipelineConfig,
    rank: Option<(usize, usize)>,
) -> anyhow::Result<i32> {
    use crate::steps;
    let opts = steps::TaskOptions {
        threads: args.threads,
        force: args.force,
        progress: !args.quiet && std::io::stderr().is_terminal(),
        quiet: args.quiet,
    };
    steps::check(&config)?;
    let ranks = rank.map_or(args.ranks.unwrap_or(1), |(_, n)| n);
    if args.dry_run {
        let out = steps::Layout::of(&config).out;
        println!("pipeline: {}", config.source);
        println!("output:   {}", out.display());
        println!("steps for {ranks} rank(s):");
        for s in steps::plan(&config, ranks) {
            let done = (0..s.tasks)
                .filter(|r| steps::is_task_done(&out, s.name, *r, s.tasks))
                .count();
            println!(
                "  {:<17} {:>4} task(s), {done} done{}",
                s.name,
                s.tasks,
                s.after.map(|a| format!(", after {a}")).unwrap_or_default()
            );
        }
        return Ok(0);
    }
    match (&args.step, rank) {
        (Some(step), Some((r, n))) => steps::run_task(&config, step, r, n, &opts),
        (Some(step), None) => {
            let spec = steps::plan(&config, 1)
                .into_iter()
                .find(|s| s.name == step.as_str())
                .ok_or_else(|| {
                    ConfigError::new(
                        config.source.clone(),
                        format!("no step `{step}` in this pipeline"),
                    )
                })?;
            steps::run_task(&config, spec.name, 0, 1, &opts)
        }
        (None, Some(_)) => Err(ConfigError::new(
            "<command line>",
            "this pipeline has several steps: with --ranks/--rank, name one with --step \
             (`tria run FILE --dry-run` lists them)",
        )
        .into()),
        (None, None) => steps::run_all(&config, &opts),
    }
}

fn cmd_inspect(args: InspectArgs) -> anyhow::Result<i32> {
    let opts = crate::inspect::InspectOptions {
        limit: args.n,
        format: args.format,
        json: args.json,
        chars: args.chars,
        read: ReadOptions {
            text_field: args.text_field,
            ..ReadOptions::default()
        },
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    crate::inspect::inspect(&args.file, &opts, &mut out)?;
    Ok(0)
}
