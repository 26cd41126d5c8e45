//! Multi-step pipelines: a pipeline file with `[dedup]`, `[tokenize]` or `[eval]` runs as a chain of
//! steps, each split into tasks (ranks) that a scheduler may run anywhere, in any order within the
//! step, and rerun after a failure:
//!
//! | step | tasks for R ranks | writes |
//! |---|---|---|
//! | `filter` | R (input files i mod R) | `OUT/filter/<part>/<file>` |
//! | `dedup-signatures` | R (files i mod R of each partition) | `OUT/dedup/.work/<part>/` |
//! | `dedup-pairs` | R (LSH bands, per partition) | `OUT/dedup/.work/<part>/` |
//! | `dedup-clusters` | 1 | `OUT/dedup/.work/<part>/` |
//! | `dedup-filter` | R | `OUT/dedup/<part>/<file>` |
//! | `tokenizer-train` | 1 (with `train_vocab_size`) | `OUT/tokenizer/tokenizer.json` |
//! | `tokenize` | R (partitions i mod R) | `OUT/tokens/<part>.bin/.idx/.json` |
//! | `eval` | 1 | `OUT/eval/` |
//! | `report` | 1 | `OUT/report.json`, `OUT/report.html` |
//!
//! Every output is the same whatever R: files are the unit of the document steps and partitions
//! the unit of the token shards. A task writes its marker `OUT/.tria/steps/<step>/<rank>-of-<R>.json`
//! once all its outputs are renamed into place; a task that fails exits non-zero and writes none.
//! Each step's work is idempotent too (file markers, dedup parameters, shard reports), so a rerun
//! of a task whose marker is missing redoes only what is missing.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, PipelineConfig};
use crate::dedup::{self, DedupReport, Execution, Methods, OutputLayout};
use crate::read::{Format, ReadOptions};
use crate::report::RunReport;
use crate::run::{self, InputFile, RunOptions};
use crate::tokens;
use crate::write::{self, OutputFormat};

/// Every step there is, in the order a pipeline runs them (a pipeline has a subset).
pub const STEP_ORDER: &[&str] = &[
    "filter",
    "dedup-signatures",
    "dedup-pairs",
    "dedup-clusters",
    "dedup-filter",
    "tokenizer-train",
    "tokenize",
    "eval",
    "report",
];

/// One step of a pipeline and how many tasks it has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepSpec {
    pub name: &'static str,
    pub tasks: usize,
    /// The step that must be complete first.
    pub after: Option<&'static str>,
}

/// How to run tasks (flags, not the pipeline file).
#[derive(Clone, Debug, Default)]
pub struct TaskOptions {
    pub threads: usize,
    pub force: bool,
    pub progress: bool,
    pub quiet: bool,
}

/// Where each step writes below the output directory.
pub struct Layout {
    pub out: PathBuf,
}

impl Layout {
    pub fn of(config: &PipelineConfig) -> Layout {
        Layout {
            out: config.resolve(&config.output.dir),
        }
    }
    pub fn filter(&self) -> PathBuf {
        self.out.join("filter")
    }
    pub fn dedup(&self) -> PathBuf {
        self.out.join("dedup")
    }
    pub fn dedup_work(&self, part: &str) -> PathBuf {
        part_dir(&self.out.join("dedup/.work"), part)
    }
    pub fn tokenizer(&self) -> PathBuf {
        self.out.join("tokenizer/tokenizer.json")
    }
    pub fn tokens(&self, part: &str) -> PathBuf {
        self.out
            .join("tokens")
            .join(if part.is_empty() { "all" } else { part })
    }
    pub fn eval(&self) -> PathBuf {
        self.out.join("eval")
    }
}

/// A partition's directory below a step's directory (`""`: the step directory itself).
fn part_dir(step_dir: &Path, part: &str) -> PathBuf {
    if part.is_empty() {
        step_dir.to_path_buf()
    } else {
        step_dir.join(part)
    }
}

/// The steps of a pipeline in order, with their task counts for `ranks` ranks.
pub fn plan(config: &PipelineConfig, ranks: usize) -> Vec<StepSpec> {
    let ranks = ranks.max(1);
    let mut steps = vec![StepSpec {
        name: "filter",
        tasks: ranks,
        after: None,
    }];
    if !config.has_steps() {
        return steps;
    }
    let mut push = |name: &'static str, tasks: usize| {
        let after = steps.last().map(|s| s.name);
        steps.push(StepSpec { name, tasks, after });
    };
    if config.dedup.is_some() {
        push("dedup-signatures", ranks);
        push("dedup-pairs", ranks);
        push("dedup-clusters", 1);
        push("dedup-filter", ranks);
    }
    if let Some(t) = &config.tokenize {
        if t.train_vocab_size.is_some() {
            push("tokenizer-train", 1);
        }
        push("tokenize", ranks);
    }
    if config.eval.is_some() {
        push("eval", 1);
    }
    push("report", 1);
    steps
}

/// Where task `rank` of `ranks` of `step` records its completion.
pub fn rank_marker(out_dir: &Path, step: &str, rank: usize, ranks: usize) -> PathBuf {
    out_dir
        .join(".tria/steps")
        .join(step)
        .join(format!("{rank}-of-{ranks}.json"))
}

pub fn is_task_done(out_dir: &Path, step: &str, rank: usize, ranks: usize) -> bool {
    rank_marker(out_dir, step, rank, ranks).is_file()
}

/// What a rank marker holds.
#[derive(Serialize, Deserialize)]
struct TaskMarker {
    step: String,
    rank: usize,
    ranks: usize,
    seconds: f64,
    host: String,
}

/// The whole pipeline's fingerprint, recorded in `OUT/.tria/steps/fingerprint`: a run of another
/// configuration in the same directory is refused (or, with `force`, its markers dropped).
fn claim(config: &PipelineConfig, layout: &Layout, force: bool) -> Result<(), ConfigError> {
    let v = serde_json::json!({
        "pipeline": config.fingerprint(),
        "dedup": config.dedup, "tokenize": config.tokenize, "eval": config.eval,
    });
    let fp = format!(
        "{:032x}",
        xxhash_rust::xxh3::xxh3_128(v.to_string().as_bytes())
    );
    let dir = layout.out.join(".tria/steps");
    let path = dir.join("fingerprint");
    let err = |m: String| ConfigError::new(config.source.clone(), m);
    match fs::read_to_string(&path) {
        Ok(old) if old.trim() == fp => return Ok(()),
        Ok(_) if !force => {
            return Err(err(format!(
                "output dir `{}` holds a run with another configuration; use another dir, or \
                 --force to redo every step",
                layout.out.display()
            )));
        }
        Ok(_) => {
            let _ = fs::remove_dir_all(&dir);
        }
        Err(_) => {}
    }
    fs::create_dir_all(&dir).map_err(|e| err(format!("{}: {e}", dir.display())))?;
    // Tasks starting together race to write the same bytes: fine.
    write::write_atomic(&path, fp.as_bytes()).map_err(|e| err(format!("{}: {e}", path.display())))
}

/// The configuration of the filter step: the pipeline's stages, writing below `OUT/filter`.
pub fn filter_config(config: &PipelineConfig, layout: &Layout) -> PipelineConfig {
    let mut c = config.clone();
    if config.has_steps() {
        c.output.dir = layout.filter().to_string_lossy().into_owned();
    }
    c
}

/// Checks everything a step will need, before any work.
pub fn check(config: &PipelineConfig) -> Result<(), ConfigError> {
    let err = |m: String| ConfigError::new(config.source.clone(), m);
    if let Some(d) = &config.dedup {
        methods(config, d, "").validate().map_err(|e| {
            err(format!(
                "[dedup]: {}",
                e.to_string().replace("<command line>: ", "")
            ))
        })?;
    }
    if let Some(t) = &config.tokenize {
        if let Some(p) = &t.tokenizer {
            let path = config.resolve(p);
            tria_tokenizer::Encoder::from_file(&path)
                .map_err(|e| err(format!("[tokenize] tokenizer `{}`: {e}", path.display())))?;
        }
    }
    if let Some(e) = &config.eval {
        if let Some(m) = &e.model {
            let dir = config.resolve(m);
            if !dir.join("config.json").is_file() {
                return Err(err(format!(
                    "[eval] model `{}` is not a model directory (no config.json)",
                    dir.display()
                )));
            }
        }
    }
    Ok(())
}

fn methods(config: &PipelineConfig, d: &crate::config::DedupSection, part: &str) -> Methods {
    let by_lang = config.output.partition_by.as_deref() == Some("lang");
    Methods {
        exact: d.exact,
        url: d.url,
        near: d.near,
        ngram: d.ngram,
        bands: d.bands,
        rows: d.rows,
        seed: d.seed,
        verify: d.verify,
        // Each language's own word rules cut its shingles (`_unknown` and the like: generic).
        lang: (by_lang && !part.is_empty() && !part.starts_with('_')).then(|| part.to_string()),
        lines: d.lines,
    }
}

/// The partitions a document step wrote: its subdirectories with `partition_by` (sorted), else
/// the single partition `""`.
pub fn partitions(config: &PipelineConfig, dir: &Path) -> Vec<String> {
    if config.output.partition_by.is_none() {
        return vec![String::new()];
    }
    let mut parts: Vec<String> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && n != "_rejects")
        .collect();
    parts.sort();
    parts
}

/// The document files of one partition of a document step, as inputs of the next step (sorted).
fn partition_files(config: &PipelineConfig, dir: &Path, part: &str) -> Vec<InputFile> {
    let format = config.output.format;
    let root = part_dir(dir, part);
    let ext = format!(".{}", format.extension());
    let mut files = Vec::new();
    collect_files(&root, &root, &ext, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|rel| {
            let path = root.join(&rel);
            let bytes = fs::metadata(&path).map_or(0, |m| m.len());
            InputFile {
                format: match format {
                    OutputFormat::Parquet => Format::Parquet,
                    _ => Format::Jsonl,
                },
                rel: rel
                    .strip_suffix(&ext)
                    .expect("filtered on the extension")
                    .to_string(),
                path,
                bytes,
            }
        })
        .collect()
}

/// Files below `dir` ending in `ext`, as paths relative to `root` (input names may hold
/// directories); skips hidden entries (`.tria`, `.work`) and the rejects at the top.
fn collect_files(root: &Path, dir: &Path, ext: &str, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || (dir == root && name == "_rejects") {
            continue;
        }
        let path = e.path();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            collect_files(root, &path, ext, out);
        } else if name.ends_with(ext) {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            out.push(rel.to_string_lossy().into_owned());
        }
    }
}

/// The directory holding the final documents (input of tokenization).
fn documents_dir(config: &PipelineConfig, layout: &Layout) -> PathBuf {
    if config.dedup.is_some() {
        layout.dedup()
    } else {
        layout.filter()
    }
}

/// Runs task `rank` of `ranks` of `step`; returns the exit code (0: complete, marker written).
pub fn run_task(
    config: &PipelineConfig,
    step: &str,
    rank: usize,
    ranks: usize,
    opts: &TaskOptions,
) -> anyhow::Result<i32> {
    let specs = plan(config, ranks);
    let Some(spec) = specs.iter().find(|s| s.name == step) else {
        return Err(ConfigError::new(
            config.source.clone(),
            format!(
                "no step `{step}` in this pipeline (its steps: {})",
                specs.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
            ),
        )
        .into());
    };
    if rank >= spec.tasks {
        return Err(ConfigError::new(
            config.source.clone(),
            format!(
                "step `{step}` has {} task(s) for {ranks} ranks; --rank {rank} is beyond",
                spec.tasks
            ),
        )
        .into());
    }
    check(config)?;
    let layout = Layout::of(config);
    if config.has_steps() {
        claim(config, &layout, opts.force && step == "filter")?;
    }
    let started = Instant::now();
    let rank_of = |n: usize| (n > 1).then_some((rank, n));
    let exec = Execution {
        force: opts.force,
        progress: opts.progress,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()?;
    let code = pool.install(|| -> anyhow::Result<i32> {
        match step {
            "filter" => filter_task(config, &layout, rank_of(spec.tasks), opts),
            "dedup-signatures" | "dedup-pairs" | "dedup-clusters" | "dedup-filter" => {
                dedup_task(config, &layout, step, rank, spec.tasks, &exec, opts)
            }
            "tokenizer-train" => tokenizer_train_task(config, &layout, opts),
            "tokenize" => tokenize_task(config, &layout, rank, spec.tasks, opts),
            "eval" => eval_task(config, &layout, opts),
            "report" => {
                let r = crate::report::html::write_run_report(config, &layout)?;
                if !opts.quiet {
                    eprintln!("tria: report {}", r.display());
                }
                Ok(0)
            }
            _ => unreachable!("the step list names only these"),
        }
    })?;
    if code == 0 {
        let marker = rank_marker(&layout.out, step, rank, spec.tasks);
        let m = TaskMarker {
            step: step.to_string(),
            rank,
            ranks: spec.tasks,
            seconds: started.elapsed().as_secs_f64(),
            host: std::env::var("HOSTNAME").unwrap_or_default(),
        };
        let bytes = serde_json::to_vec_pretty(&m).expect("marker serialises");
        write::write_atomic(&marker, &bytes)
            .map_err(|e| anyhow::anyhow!("{}: {e}", marker.display()))?;
    }
    Ok(code)
}

/// Runs every step on this machine, in order, each as one task. Input files the filter step
/// cannot read are reported and left out (the later steps go on with the others, and the run
/// exits 1); any other failing step stops the run.
pub fn run_all(config: &PipelineConfig, opts: &TaskOptions) -> anyhow::Result<i32> {
    let mut files_failed = false;
    for spec in plan(config, 1) {
        if !opts.quiet && config.has_steps() {
            eprintln!("tria: step {}", spec.name);
        }
        if spec.name == "dedup-signatures" && !opts.force {
            drop_stale_dedup(config, &Layout::of(config), opts.quiet)?;
        }
        let code = run_task(config, spec.name, 0, 1, opts)?;
        if code == 0 {
            continue;
        }
        if spec.name == "filter" && config.has_steps() {
            files_failed = true;
            eprintln!(
                "tria: some input files could not be read (above, and in filter/report.json); the \
                 later steps go on without them and the run exits 1. Rerun once they are fixed: \
                 only they are read again, and the later steps are redone."
            );
            continue;
        }
        if config.has_steps() {
            eprintln!(
                "tria: step `{}` failed (exit {code}); later steps not run. Fix the cause and \
                 rerun: completed work is kept.",
                spec.name
            );
        }
        return Ok(code);
    }
    Ok(if files_failed { 1 } else { 0 })
}

/// Removes a partition's dedup work and outputs when they were made from other documents (files
/// completed by the filter step since, after a failure) or other settings, so that the dedup steps
/// redo it. One process only: ranks run by a scheduler never meet a stale dedup, because their
/// dedup steps start only after every filter task succeeded.
fn drop_stale_dedup(config: &PipelineConfig, layout: &Layout, quiet: bool) -> anyhow::Result<()> {
    let Some(d) = &config.dedup else {
        return Ok(());
    };
    for part in partitions(config, &layout.filter()) {
        let work = layout.dedup_work(&part);
        let inputs = partition_files(config, &layout.filter(), &part);
        if dedup::records_other(&work, &methods(config, d, &part), &inputs) != Some(true) {
            continue;
        }
        if !quiet {
            eprintln!(
                "tria: dedup of `{}` was made from other documents or settings: redoing it",
                lang_key(&part)
            );
        }
        let out = part_dir(&layout.dedup(), &part);
        for dir in [&work, &out] {
            if dir.exists() {
                fs::remove_dir_all(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
            }
        }
    }
    Ok(())
}

fn filter_task(
    config: &PipelineConfig,
    layout: &Layout,
    rank: Option<(usize, usize)>,
    opts: &TaskOptions,
) -> anyhow::Result<i32> {
    let plan = run::plan(filter_config(config, layout))?;
    let ropts = RunOptions {
        threads: opts.threads,
        force: opts.force,
        progress: opts.progress,
        rank,
    };
    let report = match run::execute(&plan, &ropts) {
        Ok(r) => r,
        Err(run::RunError::Config(c)) => return Err(c.into()),
        Err(e) => return Err(e.into()),
    };
    if !opts.quiet {
        eprint!("{}", report.summary());
    }
    Ok(if report.files.failed > 0 { 1 } else { 0 })
}

fn dedup_task(
    config: &PipelineConfig,
    layout: &Layout,
    step: &str,
    rank: usize,
    tasks: usize,
    exec: &Execution,
    opts: &TaskOptions,
) -> anyhow::Result<i32> {
    let d = config
        .dedup
        .as_ref()
        .expect("dedup steps exist with [dedup]");
    let read = ReadOptions::default();
    let rank_opt = (tasks > 1).then_some((rank, tasks));
    let mut failed = 0usize;
    for part in partitions(config, &layout.filter()) {
        let inputs = partition_files(config, &layout.filter(), &part);
        if inputs.is_empty() {
            continue;
        }
        let m = methods(config, d, &part);
        let work = layout.dedup_work(&part);
        let out = OutputLayout {
            dir: part_dir(&layout.dedup(), &part),
            format: config.output.format,
            level: config.output.level,
        };
        match step {
            "dedup-signatures" => {
                let (_, errors) = dedup::signatures(&work, &m, &inputs, &read, rank_opt, exec)?;
                for e in &errors {
                    eprintln!("tria: {e}");
                }
                failed += errors.len();
            }
            "dedup-pairs" => {
                if m.near {
                    dedup::pairs(&work, rank, tasks, exec.force)?;
                }
            }
            "dedup-clusters" => {
                dedup::clusters(&work, exec.force)?;
            }
            "dedup-filter" => {
                let rep = dedup::filter(&work, &inputs, &read, &out, rank_opt, exec)?;
                for e in &rep.failed {
                    eprintln!("tria: {e}");
                }
                failed += rep.failed.len();
                if !opts.quiet {
                    let name = if part.is_empty() { "all" } else { &part };
                    eprintln!(
                        "tria: dedup {name}: {} of {} files complete, {} kept of {} documents",
                        rep.complete, rep.inputs, rep.kept, rep.documents
                    );
                }
            }
            _ => unreachable!("called for dedup steps only"),
        }
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

fn tokenizer_path(config: &PipelineConfig, layout: &Layout) -> PathBuf {
    let t = config
        .tokenize
        .as_ref()
        .expect("token steps exist with [tokenize]");
    match &t.tokenizer {
        Some(p) => config.resolve(p),
        None => layout.tokenizer(),
    }
}

fn tokenizer_train_task(
    config: &PipelineConfig,
    layout: &Layout,
    opts: &TaskOptions,
) -> anyhow::Result<i32> {
    let vocab = config
        .tokenize
        .as_ref()
        .and_then(|t| t.train_vocab_size)
        .expect("the step exists with train_vocab_size");
    let docs = documents_dir(config, layout);
    let inputs: Vec<PathBuf> = partitions(config, &docs)
        .iter()
        .flat_map(|p| partition_files(config, &docs, p))
        .map(|f| f.path)
        .collect();
    if inputs.is_empty() {
        return Err(ConfigError::new(
            config.source.clone(),
            "no documents left to train a tokenizer on (every document was dropped)",
        )
        .into());
    }
    let vocab = u32::try_from(vocab)
        .map_err(|_| ConfigError::new(config.source.clone(), "train_vocab_size is too large"))?;
    let job = tokens::TrainJob {
        inputs,
        format: None,
        read: ReadOptions::default(),
        out: layout.tokenizer(),
        options: tria_tokenizer::TrainOptions::sentencepiece(vocab),
        threads: opts.threads,
        force: opts.force,
        keep_going: false,
        progress: opts.progress,
    };
    if let Some(dir) = job.out.parent() {
        fs::create_dir_all(dir)?;
    }
    let (report, skipped) = tokens::train(&job)?;
    if !opts.quiet {
        eprint!("{}", report.summary(skipped));
    }
    Ok(if report.failures.is_empty() { 0 } else { 1 })
}

fn tokenize_task(
    config: &PipelineConfig,
    layout: &Layout,
    rank: usize,
    tasks: usize,
    opts: &TaskOptions,
) -> anyhow::Result<i32> {
    let docs = documents_dir(config, layout);
    let tokenizer = tokenizer_path(config, layout);
    let mut failed = 0;
    for (i, part) in partitions(config, &docs).iter().enumerate() {
        if i % tasks != rank {
            continue;
        }
        let inputs: Vec<PathBuf> = partition_files(config, &docs, part)
            .into_iter()
            .map(|f| f.path)
            .collect();
        if inputs.is_empty() {
            continue;
        }
        let out = layout.tokens(part);
        if let Some(dir) = out.parent() {
            fs::create_dir_all(dir)?;
        }
        let job = tokens::TokenizeJob {
            tokenizer: tokenizer.clone(),
            inputs,
            format: None,
            read: ReadOptions::default(),
            out,
            threads: opts.threads,
            force: opts.force,
            keep_going: false,
            progress: opts.progress,
        };
        let (report, skipped) = tokens::tokenize(&job)?;
        if !opts.quiet {
            eprint!("{}", report.summary(skipped));
        }
        if !report.failures.is_empty() {
            failed += 1;
        }
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

/// The shard prefixes the tokenize step wrote (sorted by partition).
pub fn shard_prefixes(config: &PipelineConfig, layout: &Layout) -> Vec<PathBuf> {
    let docs = documents_dir(config, layout);
    partitions(config, &docs)
        .iter()
        .map(|p| layout.tokens(p))
        .filter(|p| tria_tokenizer::shard_paths(p).0.is_file())
        .collect()
}

fn eval_task(config: &PipelineConfig, layout: &Layout, opts: &TaskOptions) -> anyhow::Result<i32> {
    let e = config.eval.as_ref().expect("the step exists with [eval]");
    let shards = shard_prefixes(config, layout);
    if shards.is_empty() {
        return Err(ConfigError::new(
            config.source.clone(),
            "[eval]: no token shards to score (every document was dropped)",
        )
        .into());
    }
    fs::create_dir_all(layout.eval())?;
    match (&e.model, e.train_steps) {
        (Some(model), _) => crate::cli::eval::cmd_eval(crate::cli::eval::EvalArgs {
            model: config.resolve(model),
            shards,
            context: e.context,
            batch: 1,
            second_half: false,
            json: layout.eval().join("report.json"),
            threads: opts.threads,
            force: opts.force,
            cpu: false,
            bos: None,
            no_bos: false,
            keep_eod: false,
            quiet: opts.quiet,
        }),
        (None, Some(steps)) => {
            crate::cli::eval::cmd_train_small(crate::cli::eval::TrainSmallArgs {
                shards,
                out: layout.eval(),
                steps,
                seed: e.seed,
                heldout_fraction: e.heldout_fraction,
                batch: 8,
                seq_len: e.seq_len,
                lr: 1e-3,
                min_lr: None,
                warmup: None,
                hidden: e.hidden,
                layers: e.layers,
                heads: e.heads,
                kv_heads: None,
                intermediate: None,
                vocab: None,
                checkpoint_every: 0,
                threads: opts.threads,
                cpu: false,
                force: opts.force,
                quiet: opts.quiet,
            })
        }
        (None, None) => unreachable!("checked when the config was read"),
    }
}

/// The run's numbers gathered from every step's own records (markers, reports), as `report.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PipelineReport {
    pub tria_version: String,
    pub pipeline: String,
    pub steps: Vec<String>,
    /// The filter step over every input file.
    pub filter: RunReport,
    /// Per partition.
    pub dedup: BTreeMap<String, DedupReport>,
    pub tokens: BTreeMap<String, tokens::TokenizeReport>,
    pub tokenizer: Option<tokens::TrainReport>,
    /// `tria eval`'s JSON, or train-small's report.
    pub eval: Option<serde_json::Value>,
    /// Per language (partition): documents, bytes and tokens after each step.
    pub languages: BTreeMap<String, BTreeMap<String, Through>>,
}

/// Documents, bytes and (for shards) tokens after a step.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Through {
    pub docs: u64,
    pub bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u64>,
}

impl PipelineReport {
    /// Reads every step's records below `OUT`.
    pub fn gather(config: &PipelineConfig, layout: &Layout) -> anyhow::Result<PipelineReport> {
        let plan = run::plan(filter_config(config, layout))?;
        let mut filter = RunReport {
            tria_version: env!("CARGO_PKG_VERSION").to_string(),
            pipeline: config.source.clone(),
            ..Default::default()
        };
        // The errors of files that failed, from the filter step's own reports (one per rank).
        let mut errors: BTreeMap<String, String> = BTreeMap::new();
        let mut reports = vec![plan.out_dir.join("report.json")];
        if let Ok(rd) = fs::read_dir(plan.out_dir.join(".tria")) {
            let mut ranks: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().contains("report-rank"))
                .collect();
            ranks.sort();
            reports.extend(ranks);
        }
        for p in reports {
            if let Some(r) = fs::read(&p)
                .ok()
                .and_then(|b| serde_json::from_slice::<RunReport>(&b).ok())
            {
                for f in r.failures {
                    errors.insert(f.file, f.error);
                }
                // Ranks run side by side: the step took as long as its slowest rank.
                let t = &mut filter.timings;
                t.wall_seconds = t.wall_seconds.max(r.timings.wall_seconds);
                t.threads = t.threads.max(r.timings.threads);
            }
        }
        for input in &plan.inputs {
            filter.files.total += 1;
            match plan.file_stats(input) {
                Some(s) => {
                    filter.files.resumed += 1;
                    filter.add_file(&s);
                    let t = &mut filter.timings;
                    t.read_seconds += s.read_seconds;
                    t.write_seconds += s.write_seconds;
                    t.stages_seconds += s.stages.iter().map(|st| st.seconds).sum::<f64>();
                }
                None => {
                    filter.files.failed += 1;
                    let file = input.path.display().to_string();
                    let error = errors
                        .remove(&file)
                        .unwrap_or_else(|| "not complete: its filter task has not run".into());
                    filter.failures.push(crate::report::Failure { file, error });
                }
            }
        }
        let mut r = PipelineReport {
            tria_version: env!("CARGO_PKG_VERSION").to_string(),
            pipeline: config.source.clone(),
            steps: plan_names(config),
            ..Default::default()
        };
        // Per language after each stage that knew it (the stages after language ID).
        for st in &filter.stages {
            for (lang, l) in &st.languages {
                r.languages.entry(lang.clone()).or_default().insert(
                    format!("stage:{}", st.name),
                    Through {
                        docs: l.docs,
                        bytes: l.bytes,
                        tokens: None,
                    },
                );
            }
        }
        r.filter = filter;
        if let Some(d) = &config.dedup {
            for part in partitions(config, &layout.filter()) {
                let inputs = partition_files(config, &layout.filter(), &part);
                let out = OutputLayout {
                    dir: part_dir(&layout.dedup(), &part),
                    format: config.output.format,
                    level: config.output.level,
                };
                let mut rep =
                    DedupReport::collect(&methods(config, d, &part), &inputs, &out, None, vec![]);
                let t = r.languages.entry(lang_key(&part)).or_default();
                t.insert(
                    "dedup".into(),
                    Through {
                        docs: rep.kept,
                        bytes: rep.files.iter().map(|f| f.kept_bytes).sum(),
                        tokens: None,
                    },
                );
                rep.near_pairs = fs::read(layout.dedup_work(&part).join("done/clusters"))
                    .ok()
                    .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                    .and_then(|v| v["near_pairs"].as_u64());
                r.dedup.insert(lang_key(&part), rep);
            }
        }
        if config.tokenize.is_some() {
            let docs = documents_dir(config, layout);
            for part in partitions(config, &docs) {
                let p = tokens::report_path(&layout.tokens(&part));
                let Ok(text) = fs::read(&p) else { continue };
                let Ok(t) = serde_json::from_slice::<tokens::TokenizeReport>(&text) else {
                    continue;
                };
                r.languages.entry(lang_key(&part)).or_default().insert(
                    "tokens".into(),
                    Through {
                        docs: t.documents,
                        bytes: t.utf8_bytes,
                        tokens: Some(t.tokens),
                    },
                );
                r.tokens.insert(lang_key(&part), t);
            }
            let tp = tokens::train_report_path(&layout.tokenizer());
            r.tokenizer = fs::read(&tp)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
        }
        if config.eval.is_some() {
            for name in ["report.json", "train-report.json"] {
                if let Ok(b) = fs::read(layout.eval().join(name)) {
                    r.eval = serde_json::from_slice(&b).ok();
                }
            }
        }
        Ok(r)
    }
}

fn lang_key(part: &str) -> String {
    if part.is_empty() {
        "all".into()
    } else {
        part.to_string()
    }
}

fn plan_names(config: &PipelineConfig) -> Vec<String> {
    plan(config, 1).iter().map(|s| s.name.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_pipeline_has_every_step_in_order() {
        let c = PipelineConfig::parse(
            "[output]\ndir = \"o\"\n[dedup]\n[tokenize]\ntrain_vocab_size = 300\n\
             [eval]\ntrain_steps = 1\n",
            "p.toml",
            PathBuf::new(),
        )
        .expect("valid");
        let names: Vec<&str> = plan(&c, 3).iter().map(|s| s.name).collect();
        assert_eq!(names, STEP_ORDER);
        let tasks: Vec<usize> = plan(&c, 3).iter().map(|s| s.tasks).collect();
        assert_eq!(tasks, [3, 3, 3, 1, 3, 1, 3, 1, 1]);
        let plain = PipelineConfig::parse("[output]\ndir = \"o\"\n", "p.toml", PathBuf::new())
            .expect("valid");
        assert_eq!(
            plan(&plain, 3),
            [StepSpec {
                name: "filter",
                tasks: 3,
                after: None
            }]
        );
    }
}
