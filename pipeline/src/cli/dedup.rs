//! `tria dedup`: the one-machine form, and the sharded stages as subcommands.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::config::{ConfigError, PipelineConfig};
use crate::dedup::{self, DedupRunError, Execution, Methods, OutputLayout};
use crate::read::{Format, ReadOptions};
use crate::run::{self, InputFile};
use crate::write::OutputFormat;

const MEMORY_HELP: &str = "\
Memory held per document by pass 1 (one machine): 32 bytes with --exact, 32 with --url, \
24 x bands with --near (336 with the default 14 bands; spilled to disk beyond --memory-budget), \
+32 with --verify (and 8 per distinct shingle on disk), about 24 per distinct line with --lines; \
then 24 per candidate pair and about 40 per duplicate document. A sharded signatures task \
holds 24 x bands bytes per document of its current input file, plus that file's text.

Documents are keyed by (index of the input in the sorted input list, index of the document in \
its file). In each group of duplicates the first in that order is kept, and gets \
meta.dup_cluster_size (1 on documents without a duplicate). Outputs mirror the input names; a \
report.json with counts per reason (exact, url, near, lines) is written next to them.

Sharded form (each stage a set of independent, idempotent tasks):
  tria dedup signatures --work W --input FILES... [--rank i --ranks n] [method flags]
  tria dedup pairs      --work W --task i --tasks n
  tria dedup clusters   --work W
  tria dedup filter     --work W --input FILES... --output DIR [--rank i --ranks n]
It keeps exactly the documents the one-machine form keeps.";

/// `tria dedup`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, after_long_help = MEMORY_HELP)]
pub struct DedupArgs {
    #[command(subcommand)]
    pub stage: Option<DedupStage>,
    #[command(flatten)]
    pub local: Box<LocalArgs>,
}

/// The sharded stages.
#[derive(Subcommand, Debug)]
pub enum DedupStage {
    /// Stage 1: signatures, hashes and line counts of each input file of this rank.
    Signatures(SignaturesArgs),
    /// Stage 2: duplicate pairs of the LSH bands of task i of n.
    Pairs(PairsArgs),
    /// Stage 3 (one task): clusters (union-find), exact and URL groups, frequent lines.
    Clusters(ClustersArgs),
    /// Stage 4: write the kept documents of each input file of this rank.
    Filter(FilterArgs),
}

/// Which duplicates to remove; with none of --exact --near --url --lines, --exact --near.
#[derive(Args, Debug, Clone)]
pub struct MethodArgs {
    /// Remove exact duplicates (128-bit xxh3 of the whitespace-normalised text).
    #[arg(long)]
    pub exact: bool,
    /// Remove near duplicates (MinHash-LSH on word shingles of FineWeb-normalised text).
    #[arg(long)]
    pub near: bool,
    /// Remove documents whose URL (meta.url) was seen before.
    #[arg(long)]
    pub url: bool,
    /// Remove lines found in more than N documents of the corpus (CCNet boilerplate).
    #[arg(long, value_name = "N")]
    pub lines: Option<u32>,
    /// Target Jaccard similarity: picks bands and rows (within 112 hashes).
    #[arg(long, conflicts_with_all = ["bands", "rows"])]
    pub threshold: Option<f64>,
    /// LSH bands.
    #[arg(long, default_value_t = 14)]
    pub bands: usize,
    /// Rows per band.
    #[arg(long, default_value_t = 8)]
    pub rows: usize,
    /// Words per shingle.
    #[arg(long, default_value_t = 5)]
    pub ngram: usize,
    /// Link a candidate pair only if the exact Jaccard similarity of its shingles is at least J.
    #[arg(long, value_name = "J")]
    pub verify: Option<f64>,
    /// Word-splitting rules (filters crate) for documents without `meta.lang`; documents with one
    /// use their own language's rules. Default: generic rules.
    #[arg(long)]
    pub lang: Option<String>,
    /// Seed of the MinHash permutations.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

impl MethodArgs {
    fn methods(&self) -> Result<Methods, ConfigError> {
        let none = !(self.exact || self.near || self.url || self.lines.is_some());
        let (mut bands, mut rows) = (self.bands, self.rows);
        if let Some(t) = self.threshold {
            (bands, rows) = tria_dedup::choose_bands_rows(t, 112)
                .map_err(|e| ConfigError::new("<command line>", format!("--threshold: {e}")))?;
        }
        let m = Methods {
            exact: self.exact || none,
            url: self.url,
            near: self.near || none,
            ngram: self.ngram,
            bands,
            rows,
            seed: self.seed,
            verify: self.verify,
            lang: self.lang.clone(),
            lines: self.lines,
        };
        m.validate()?;
        Ok(m)
    }
}

/// Inputs and how to read them.
#[derive(Args, Debug, Clone)]
pub struct InputArgs {
    /// Input files or globs.
    #[arg(long = "input", short = 'i', num_args = 1..)]
    pub input: Vec<String>,
    /// Input format when the names do not say it.
    #[arg(long, value_parser = super::parse_format)]
    pub format: Option<Format>,
    /// JSONL/Parquet field holding the text.
    #[arg(long, default_value = "text")]
    pub text_field: String,
}

impl InputArgs {
    fn expand(&self) -> Result<(Vec<InputFile>, ReadOptions), ConfigError> {
        if self.input.is_empty() {
            return Err(ConfigError::new("<command line>", "give --input FILES..."));
        }
        let mut config = PipelineConfig::parse("", "<command line>", PathBuf::new())?;
        let cwd = std::env::current_dir().unwrap_or_default();
        config.input.paths = self
            .input
            .iter()
            .map(|s| cwd.join(s).to_string_lossy().to_string())
            .collect();
        config.input.format = self.format;
        config.input.text_field = self.text_field.clone();
        let inputs = run::expand_inputs(&config)?;
        if inputs.len() > u32::MAX as usize {
            return Err(ConfigError::new(
                "<command line>",
                "more than 2^32 input files",
            ));
        }
        Ok((inputs, config.input.read_options()))
    }
}

/// Where the kept documents go.
#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// Output directory.
    #[arg(long = "output", short = 'o')]
    pub output: Option<PathBuf>,
    /// Output format: jsonl.zst (default), jsonl or parquet.
    #[arg(long, value_parser = super::parse_output_format)]
    pub output_format: Option<OutputFormat>,
    /// zstd level of jsonl.zst outputs.
    #[arg(long, default_value_t = 3)]
    pub level: i32,
}

impl OutputArgs {
    fn layout(&self) -> Result<OutputLayout, ConfigError> {
        let dir = self
            .output
            .clone()
            .ok_or_else(|| ConfigError::new("<command line>", "give --output DIR"))?;
        Ok(OutputLayout {
            dir,
            format: self.output_format.unwrap_or_default(),
            level: self.level,
        })
    }
}

/// Flags that change nothing in the outputs.
#[derive(Args, Debug, Clone)]
pub struct ExecArgs {
    /// Worker threads (default: one per core). The output is the same whatever the number.
    #[arg(short = 'j', long = "threads", default_value_t = 0)]
    pub threads: usize,
    /// Redo completed work.
    #[arg(long)]
    pub force: bool,
    /// No progress bar and no summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

impl ExecArgs {
    fn execution(&self) -> Execution {
        Execution {
            force: self.force,
            progress: !self.quiet && std::io::stderr().is_terminal(),
        }
    }
}

/// Rank of a job array.
#[derive(Args, Debug, Clone)]
pub struct RankArgs {
    /// Handle only the input files i with i mod RANKS == RANK.
    #[arg(long, requires = "ranks")]
    pub rank: Option<usize>,
    /// Number of ranks the input files are split over.
    #[arg(long, requires = "rank")]
    pub ranks: Option<usize>,
}

impl RankArgs {
    fn rank(&self) -> Result<Option<(usize, usize)>, ConfigError> {
        match (self.rank, self.ranks) {
            (Some(r), Some(n)) if n == 0 || r >= n => Err(ConfigError::new(
                "<command line>",
                format!("--rank {r} is not below --ranks {n}"),
            )),
            (Some(r), Some(n)) => Ok(Some((r, n))),
            _ => Ok(None),
        }
    }
}

/// One machine: `tria dedup --input ... --output DIR`.
#[derive(Args, Debug)]
pub struct LocalArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub methods: MethodArgs,
    /// Memory for MinHash bucket entries (e.g. 4G) beyond which they spill to disk.
    #[arg(long, value_parser = dedup::parse_bytes, value_name = "BYTES")]
    pub memory_budget: Option<usize>,
    #[command(flatten)]
    pub exec: ExecArgs,
}

#[derive(Args, Debug)]
pub struct SignaturesArgs {
    /// Work directory shared by all tasks of the dedup.
    #[arg(long)]
    pub work: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub rank: RankArgs,
    #[command(flatten)]
    pub methods: MethodArgs,
    #[command(flatten)]
    pub exec: ExecArgs,
}

#[derive(Args, Debug)]
pub struct PairsArgs {
    #[arg(long)]
    pub work: PathBuf,
    /// This task's index.
    #[arg(long, default_value_t = 0)]
    pub task: usize,
    /// Number of pairs tasks (bands b with b mod TASKS == TASK are this task's).
    #[arg(long, default_value_t = 1)]
    pub tasks: usize,
    #[command(flatten)]
    pub exec: ExecArgs,
}

#[derive(Args, Debug)]
pub struct ClustersArgs {
    #[arg(long)]
    pub work: PathBuf,
    #[command(flatten)]
    pub exec: ExecArgs,
}

#[derive(Args, Debug)]
pub struct FilterArgs {
    #[arg(long)]
    pub work: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub rank: RankArgs,
    #[command(flatten)]
    pub exec: ExecArgs,
}

fn pool(threads: usize) -> anyhow::Result<rayon::ThreadPool> {
    Ok(rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?)
}

fn lift<T>(r: Result<T, DedupRunError>) -> anyhow::Result<T> {
    match r {
        Ok(v) => Ok(v),
        Err(DedupRunError::Config(c)) => Err(c.into()),
        Err(DedupRunError::Work(w)) => Err(anyhow::anyhow!(w)),
    }
}

fn finish(rep: &dedup::DedupReport, out: &OutputLayout, quiet: bool) -> i32 {
    for f in &rep.failed {
        eprintln!("tria: dedup: {f}");
    }
    if !quiet {
        eprint!("{}", rep.summary());
        eprintln!("  report: {}", out.report_path().display());
    }
    i32::from(!rep.failed.is_empty())
}

/// Runs `tria dedup ...`; returns the exit code.
pub fn cmd_dedup(args: DedupArgs) -> anyhow::Result<i32> {
    match args.stage {
        None => {
            let a = args.local;
            let methods = a.methods.methods()?;
            let (inputs, read) = a.input.expand()?;
            let out = a.output.layout()?;
            let rep = pool(a.exec.threads)?.install(|| {
                dedup::run_local(
                    &methods,
                    &inputs,
                    &read,
                    &out,
                    a.memory_budget,
                    &a.exec.execution(),
                )
            });
            Ok(finish(&lift(rep)?, &out, a.exec.quiet))
        }
        Some(DedupStage::Signatures(a)) => {
            let methods = a.methods.methods()?;
            let (inputs, read) = a.input.expand()?;
            let rank = a.rank.rank()?;
            let (n, failed) = lift(pool(a.exec.threads)?.install(|| {
                dedup::signatures(&a.work, &methods, &inputs, &read, rank, &a.exec.execution())
            }))?;
            for f in &failed {
                eprintln!("tria: dedup signatures: {f}");
            }
            if !a.exec.quiet {
                eprintln!(
                    "dedup signatures: {} files done, {} failed",
                    n - failed.len(),
                    failed.len()
                );
            }
            Ok(i32::from(!failed.is_empty()))
        }
        Some(DedupStage::Pairs(a)) => {
            let n = lift(
                pool(a.exec.threads)?
                    .install(|| dedup::pairs(&a.work, a.task, a.tasks, a.exec.force)),
            )?;
            if !a.exec.quiet {
                eprintln!("dedup pairs: task {} of {}: {n} pairs", a.task, a.tasks);
            }
            Ok(0)
        }
        Some(DedupStage::Clusters(a)) => {
            let pairs =
                lift(pool(a.exec.threads)?.install(|| dedup::clusters(&a.work, a.exec.force)))?;
            if !a.exec.quiet {
                match pairs {
                    Some(p) => eprintln!("dedup clusters: {p} near-duplicate pairs"),
                    None => eprintln!("dedup clusters: done"),
                }
            }
            Ok(0)
        }
        Some(DedupStage::Filter(a)) => {
            let (inputs, read) = a.input.expand()?;
            let out = a.output.layout()?;
            let rank = a.rank.rank()?;
            let rep = pool(a.exec.threads)?.install(|| {
                dedup::filter(&a.work, &inputs, &read, &out, rank, &a.exec.execution())
            });
            Ok(finish(&lift(rep)?, &out, a.exec.quiet))
        }
    }
}
