//! The runner: plan (everything checked before any work), then input files in parallel, each read,
//! staged and written sequentially, each committed with a completion marker so a rerun resumes.
//!
//! Output layout under `[output] dir`:
//! ```text
//! <rel>.jsonl.zst                 one output per input file, named after it
//! <rel>.bin/.idx/.json            instead, with `[output] kind = "tokens"`: a Megatron shard
//! <partition>/<rel>.jsonl.zst     with `partition_by`
//! _rejects/<stage>/<rel>.jsonl.zst  dropped documents with their reason, when asked
//! .tria/done/<rel>.json           completion marker: the file's statistics
//! manifest.json, report.json
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, OutputKind, PipelineConfig};
use crate::document::{Document, Stage, Verdict};
use crate::read::{self, Format};
use crate::report::{Failure, FileStats, RunReport, StageStats, Timings};
use crate::write::{self, DocWriter, TMP_SUFFIX};

/// How to run (flags, not the pipeline file): none of this changes the output bytes.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    /// Redo files that are already complete.
    pub force: bool,
    /// Show a progress bar (drawn only on a terminal).
    pub progress: bool,
    /// Run only the files of rank `rank` out of `ranks` (files `i` with `i % ranks == rank`).
    pub rank: Option<(usize, usize)>,
}

/// One input file and where its outputs go.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct InputFile {
    pub path: PathBuf,
    pub format: Format,
    /// Output name stem relative to the output directory (the input's path below the inputs'
    /// common directory, without its format suffix).
    pub rel: String,
    pub bytes: u64,
}

/// A checked pipeline, ready to run.
pub struct Plan {
    pub config: PipelineConfig,
    pub inputs: Vec<InputFile>,
    pub out_dir: PathBuf,
    stages: Vec<Box<dyn Stage>>,
    /// The tokenizer of `[output] kind = "tokens"`.
    encoder: Option<tria_tokenizer::Encoder>,
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// The files named by `(pattern as written, pattern resolved to a full path)` pairs: glob patterns
/// expand to the files they match (each must match one), plain paths must exist. Errors name the
/// pattern as written.
pub fn match_files(patterns: &[(String, PathBuf)]) -> Result<Vec<PathBuf>, String> {
    let mut paths = Vec::new();
    for (p, full) in patterns {
        if has_glob(p) {
            let s = full.to_string_lossy();
            let matches = glob::glob(&s).map_err(|e| format!("bad glob `{p}`: {e}"))?;
            let before = paths.len();
            for m in matches {
                let m = m.map_err(|e| format!("`{p}`: {e}"))?;
                if m.is_file() {
                    paths.push(m);
                }
            }
            if paths.len() == before {
                return Err(format!("no file matches `{p}`"));
            }
        } else if full.is_file() {
            paths.push(full.clone());
        } else {
            return Err(format!("`{p}`: no such file"));
        }
    }
    Ok(paths)
}

/// Expands the configuration's inputs (paths, globs, list file) into the sorted input list, with the
/// output name stem of each (the `rel` that every command mirrors in its output directory).
pub fn expand_inputs(config: &PipelineConfig) -> Result<Vec<InputFile>, ConfigError> {
    let err = |m: String| ConfigError::new(config.source.clone(), m);
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut patterns: Vec<String> = config.input.paths.clone();
    if let Some(list) = &config.input.list {
        let lp = config.resolve(list);
        let text = fs::read_to_string(&lp)
            .map_err(|e| err(format!("[input] list `{}`: {e}", lp.display())))?;
        patterns.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(String::from),
        );
    }
    if patterns.is_empty() {
        return Err(err(
            "[input] names no files: set `paths` or `list` (or pass --input)".into(),
        ));
    }
    let resolved: Vec<(String, PathBuf)> = patterns
        .iter()
        .map(|p| (p.clone(), config.resolve(p)))
        .collect();
    paths.extend(match_files(&resolved).map_err(|m| err(format!("[input] {m}")))?);
    paths.sort();
    paths.dedup();

    let abs: Vec<PathBuf> = paths
        .iter()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
        .collect();
    let common = common_dir(&abs);
    let mut inputs = Vec::with_capacity(paths.len());
    let mut seen = BTreeMap::new();
    for (p, a) in paths.iter().zip(&abs) {
        let (format, suffix) = match (config.input.format, Format::from_path(p)) {
            (Some(f), Some((_, n))) => (f, n),
            (Some(f), None) => (f, 0),
            (None, Some((f, n))) => (f, n),
            (None, None) => {
                return Err(err(format!(
                    "[input] `{}`: cannot tell the format from the name; set [input] format",
                    p.display()
                )));
            }
        };
        let below = a
            .strip_prefix(&common)
            .unwrap_or(a)
            .to_string_lossy()
            .to_string();
        let rel = below[..below.len() - suffix].to_string();
        if let Some(other) = seen.insert(rel.clone(), p.clone()) {
            return Err(err(format!(
                "[input] `{}` and `{}` would write the same output `{rel}`",
                other.display(),
                p.display()
            )));
        }
        let bytes = fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        inputs.push(InputFile {
            path: p.clone(),
            format,
            rel,
            bytes,
        });
    }
    Ok(inputs)
}

/// The name of an input's output file below the output directory: its `rel` stem and `format`'s
/// extension.
pub fn output_name(input: &InputFile, format: crate::write::OutputFormat) -> String {
    format!("{}.{}", input.rel, format.extension())
}

/// Expands the inputs, builds the stages and checks the output directory. Nothing is read yet.
pub fn plan(config: PipelineConfig) -> Result<Plan, ConfigError> {
    let err = |m: String| ConfigError::new(config.source.clone(), m);
    let inputs = expand_inputs(&config)?;
    if config.output.dir.is_empty() {
        return Err(err("[output] dir is not set (or pass --output)".into()));
    }
    let out_dir = config.resolve(&config.output.dir);
    fs::create_dir_all(out_dir.join(".tria/done")).map_err(|e| {
        err(format!(
            "[output] dir `{}` is not writable: {e}",
            out_dir.display()
        ))
    })?;
    let probe = out_dir.join(format!(".tria/probe-{}", std::process::id()));
    fs::write(&probe, b"")
        .and_then(|_| fs::remove_file(&probe))
        .map_err(|e| {
            err(format!(
                "[output] dir `{}` is not writable: {e}",
                out_dir.display()
            ))
        })?;

    let encoder = match (config.output.kind, &config.output.tokenizer) {
        (OutputKind::Tokens, Some(t)) => {
            let path = config.resolve(t);
            let enc = tria_tokenizer::Encoder::from_file(&path)
                .map_err(|e| err(format!("[output] tokenizer: {e}")))?;
            // A rerun clears leftovers below the output dir: the tokenizer must not live there.
            if let (Ok(tp), Ok(od)) = (path.canonicalize(), out_dir.canonicalize()) {
                if tp.starts_with(&od) {
                    return Err(err(format!(
                        "[output] tokenizer `{}` is inside the output dir `{}`; keep it outside",
                        path.display(),
                        out_dir.display()
                    )));
                }
            }
            if let Some(i) = inputs
                .iter()
                .find(|i| i.rel == "report" || i.rel == "manifest")
            {
                return Err(err(format!(
                    "[input] `{}`: its shard sidecar `{}.json` would be the run's own; rename it",
                    i.path.display(),
                    i.rel
                )));
            }
            Some(enc)
        }
        (OutputKind::Tokens, None) => {
            return Err(err(
                "[output] kind = \"tokens\" needs `tokenizer = \"path/to/tokenizer.json\"`".into(),
            ));
        }
        (OutputKind::Documents, Some(_)) => {
            return Err(err(
                "[output] tokenizer is set but kind is not \"tokens\"".into()
            ));
        }
        (OutputKind::Documents, None) => None,
    };

    let mut stages = Vec::new();
    for s in &config.stages {
        stages.push(crate::stages::build(s).map_err(|e| err(format!("stage `{}`: {e}", s.name)))?);
    }
    Ok(Plan {
        config,
        inputs,
        out_dir,
        stages,
        encoder,
    })
}

fn common_dir(paths: &[PathBuf]) -> PathBuf {
    let mut common: Option<PathBuf> = None;
    for p in paths {
        let dir = p.parent().map(Path::to_path_buf).unwrap_or_default();
        common = Some(match common {
            None => dir,
            Some(c) => {
                let mut out = PathBuf::new();
                for (a, b) in c.components().zip(dir.components()) {
                    if a != b {
                        break;
                    }
                    out.push(a);
                }
                out
            }
        });
    }
    common.unwrap_or_default()
}

/// `manifest.json`: the resolved configuration, the version and the inputs.
#[derive(Serialize, Deserialize)]
pub struct Manifest {
    pub tria_version: String,
    pub fingerprint: String,
    pub command: Vec<String>,
    pub config: serde_json::Value,
    pub inputs: Vec<InputFile>,
}

/// Errors that stop a run before it starts.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Io(String),
}

impl Plan {
    fn marker(&self, input: &InputFile) -> PathBuf {
        self.out_dir
            .join(".tria/done")
            .join(format!("{}.json", input.rel))
    }

    /// The main output file names of an input (relative to its directory).
    fn main_names(&self, input: &InputFile) -> Vec<String> {
        match self.config.output.kind {
            OutputKind::Documents => vec![output_name(input, self.config.output.format)],
            OutputKind::Tokens => ["bin", "idx", "json"]
                .map(|e| format!("{}.{e}", input.rel))
                .to_vec(),
        }
    }

    /// The main output path (for token shards: the prefix, without `.bin/.idx/.json`).
    fn output_path(&self, input: &InputFile, partition: Option<&str>) -> PathBuf {
        let name = match self.config.output.kind {
            OutputKind::Documents => output_name(input, self.config.output.format),
            OutputKind::Tokens => input.rel.clone(),
        };
        match partition {
            Some(p) => self.out_dir.join(p).join(name),
            None => self.out_dir.join(name),
        }
    }

    /// What decides the output bytes: the configuration, and the tokenizer's content.
    fn fingerprint(&self) -> String {
        match &self.encoder {
            None => self.config.fingerprint(),
            Some(e) => format!("{}-{}", self.config.fingerprint(), e.hash()),
        }
    }

    fn rejects_path(&self, input: &InputFile, stage: &str) -> PathBuf {
        let name = output_name(input, self.config.output.format);
        self.out_dir.join("_rejects").join(stage).join(name)
    }

    /// The inputs this rank owns, with their index in the full list.
    pub fn rank_inputs(&self, rank: Option<(usize, usize)>) -> Vec<(usize, &InputFile)> {
        self.inputs
            .iter()
            .enumerate()
            .filter(|(i, _)| rank.is_none_or(|(r, n)| i % n == r))
            .collect()
    }

    /// The statistics a complete input's marker holds.
    pub fn file_stats(&self, input: &InputFile) -> Option<FileStats> {
        fs::read(self.marker(input))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    }

    /// Whether an input's outputs are complete (its marker exists).
    pub fn is_done(&self, input: &InputFile) -> bool {
        self.marker(input).is_file()
    }

    fn manifest(&self) -> Manifest {
        Manifest {
            tria_version: env!("CARGO_PKG_VERSION").to_string(),
            fingerprint: self.fingerprint(),
            command: std::env::args().collect(),
            config: serde_json::to_value(&self.config).expect("config serialises"),
            inputs: self.inputs.clone(),
        }
    }

    /// Checks that the output directory holds no run of another configuration, and records ours.
    fn claim_output(&self, force: bool) -> Result<(), RunError> {
        let path = self.out_dir.join("manifest.json");
        let ours = self.manifest();
        if let Ok(text) = fs::read_to_string(&path) {
            if let Ok(old) = serde_json::from_str::<Manifest>(&text) {
                if old.fingerprint != ours.fingerprint {
                    if !force {
                        return Err(ConfigError::new(
                            self.config.source.clone(),
                            format!(
                                "output dir `{}` holds a run with another configuration; \
                                 use another dir, or --force to redo every file",
                                self.out_dir.display()
                            ),
                        )
                        .into());
                    }
                    // Forced: the old markers no longer describe our outputs.
                    let _ = fs::remove_dir_all(self.out_dir.join(".tria/done"));
                    let _ = fs::create_dir_all(self.out_dir.join(".tria/done"));
                }
            }
        }
        let bytes = serde_json::to_vec_pretty(&ours).expect("manifest serialises");
        write::write_atomic(&path, &bytes)
            .map_err(|e| RunError::Io(format!("{}: {e}", path.display())))
    }
}

/// Runs a plan: every input file of this rank not yet complete (all of them with `force`).
pub fn execute(plan: &Plan, opts: &RunOptions) -> Result<RunReport, RunError> {
    let started = Instant::now();
    plan.claim_output(opts.force)?;
    let mine = plan.rank_inputs(opts.rank);
    let todo: Vec<(usize, &InputFile)> = mine
        .iter()
        .filter(|(_, f)| opts.force || !plan.is_done(f))
        .copied()
        .collect();

    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        opts.threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| RunError::Io(format!("cannot start threads: {e}")))?;

    let progress = Progress::new(opts.progress, &todo);
    let results: Vec<(usize, Result<FileStats, String>)> = pool.install(|| {
        todo.par_iter()
            .map(|(i, input)| {
                let r = process_file(plan, input, &progress);
                progress.file_done();
                (*i, r)
            })
            .collect()
    });
    progress.finish();

    let mut report = RunReport {
        tria_version: env!("CARGO_PKG_VERSION").to_string(),
        pipeline: plan.config.source.clone(),
        ..Default::default()
    };
    report.stages = plan
        .stages
        .iter()
        .map(|s| StageStats {
            name: s.name().to_string(),
            ..Default::default()
        })
        .collect();
    let mut fresh: BTreeMap<usize, Result<FileStats, String>> = results.into_iter().collect();
    let mut timings = Timings {
        threads,
        ..Default::default()
    };
    for (i, input) in &mine {
        report.files.total += 1;
        match fresh.remove(i) {
            Some(Ok(stats)) => {
                report.files.processed += 1;
                timings.read_seconds += stats.read_seconds;
                timings.write_seconds += stats.write_seconds;
                timings.stages_seconds += stats.stages.iter().map(|s| s.seconds).sum::<f64>();
                report.add_file(&stats);
            }
            Some(Err(error)) => {
                report.files.failed += 1;
                report.failures.push(Failure {
                    file: input.path.display().to_string(),
                    error,
                });
            }
            None => {
                // Complete from an earlier run: its marker holds its statistics.
                let marker = plan.marker(input);
                match fs::read(&marker)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<FileStats>(&b).ok())
                {
                    Some(stats) => {
                        report.files.resumed += 1;
                        report.add_file(&stats);
                    }
                    None => {
                        report.files.failed += 1;
                        report.failures.push(Failure {
                            file: input.path.display().to_string(),
                            error: format!("unreadable completion marker {}", marker.display()),
                        });
                    }
                }
            }
        }
    }
    timings.wall_seconds = started.elapsed().as_secs_f64();
    report.timings = timings;
    let name = match opts.rank {
        Some((r, n)) if n > 1 => format!(".tria/report-rank{r:05}-of-{n:05}.json"),
        _ => "report.json".to_string(),
    };
    let path = plan.out_dir.join(name);
    let bytes = serde_json::to_vec_pretty(&report).expect("report serialises");
    write::write_atomic(&path, &bytes)
        .map_err(|e| RunError::Io(format!("{}: {e}", path.display())))?;
    Ok(report)
}

/// A value usable as a directory name.
fn partition_name(v: Option<&serde_json::Value>) -> String {
    let s = match v {
        Some(serde_json::Value::String(s)) if !s.is_empty() => s.clone(),
        Some(serde_json::Value::Null) | None => return "_unknown".into(),
        Some(other) => other.to_string(),
    };
    let clean: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.starts_with('.') {
        format!("_{clean}")
    } else {
        clean
    }
}

/// A main output: documents, or a token shard.
enum MainWriter {
    Docs(DocWriter),
    Tokens(tria_tokenizer::ShardWriter),
}

/// The open outputs of one input file.
struct Outputs<'a> {
    plan: &'a Plan,
    input: &'a InputFile,
    main: BTreeMap<Option<String>, MainWriter>,
    rejects: BTreeMap<String, DocWriter>,
}

impl<'a> Outputs<'a> {
    fn writer(&mut self, partition: Option<String>) -> std::io::Result<&mut MainWriter> {
        if !self.main.contains_key(&partition) {
            let path = self.plan.output_path(self.input, partition.as_deref());
            let w = match &self.plan.encoder {
                None => MainWriter::Docs(DocWriter::create(
                    &path,
                    self.plan.config.output.format,
                    self.plan.config.output.level,
                )?),
                Some(enc) => {
                    if let Some(dir) = path.parent() {
                        fs::create_dir_all(dir)?;
                    }
                    MainWriter::Tokens(
                        tria_tokenizer::ShardWriter::create(&path, enc.shard_meta())
                            .map_err(std::io::Error::other)?,
                    )
                }
            };
            self.main.insert(partition.clone(), w);
        }
        Ok(self.main.get_mut(&partition).expect("inserted above"))
    }

    /// Writes a kept document (encoded, for token shards).
    fn write(&mut self, partition: Option<String>, doc: &Document) -> std::io::Result<()> {
        let encoder = self.plan.encoder.as_ref();
        match self.writer(partition)? {
            MainWriter::Docs(w) => w.write(doc, None),
            MainWriter::Tokens(w) => {
                let enc = encoder.expect("token shards have an encoder");
                let ids = enc.encode(&doc.text).map_err(std::io::Error::other)?;
                w.add_document(&ids, doc.lang().unwrap_or(""), doc.text.len() as u64)
                    .map_err(std::io::Error::other)
            }
        }
    }

    fn reject(&mut self, stage: &str, doc: &Document, reason: &str) -> std::io::Result<()> {
        if !self.rejects.contains_key(stage) {
            let path = self.plan.rejects_path(self.input, stage);
            let w = DocWriter::create(
                &path,
                self.plan.config.output.format,
                self.plan.config.output.level,
            )?;
            self.rejects.insert(stage.to_string(), w);
        }
        self.rejects
            .get_mut(stage)
            .expect("inserted above")
            .write(doc, Some(reason))
    }

    /// Commits every output; returns their paths relative to the output directory.
    fn commit(mut self) -> std::io::Result<Vec<String>> {
        if self.main.is_empty() && self.plan.config.output.partition_by.is_none() {
            // An input with no kept document still gets its (empty) output, so every input has one.
            self.writer(None)?;
        }
        let mut names = Vec::new();
        let rel = |p: PathBuf, out: &Path| {
            p.strip_prefix(out)
                .unwrap_or(&p)
                .to_string_lossy()
                .to_string()
        };
        for (part, w) in std::mem::take(&mut self.main) {
            let path = self.plan.output_path(self.input, part.as_deref());
            match w {
                MainWriter::Docs(w) => {
                    w.commit()?;
                    names.push(rel(path, &self.plan.out_dir));
                }
                MainWriter::Tokens(w) => {
                    w.finish().map_err(std::io::Error::other)?;
                    let (bin, idx, json) = tria_tokenizer::shard_paths(&path);
                    for p in [bin, idx, json] {
                        names.push(rel(p, &self.plan.out_dir));
                    }
                }
            }
        }
        for (stage, w) in std::mem::take(&mut self.rejects) {
            w.commit()?;
            names.push(rel(
                self.plan.rejects_path(self.input, &stage),
                &self.plan.out_dir,
            ));
        }
        Ok(names)
    }
}

/// Removes what a killed earlier attempt at this input may have left: temporary files and, since
/// the file is being redone, outputs of partitions this attempt might not produce again.
fn clear_leftovers(plan: &Plan, input: &InputFile) {
    let name = output_name(input, plan.config.output.format);
    let pattern_base = glob::Pattern::escape(&plan.out_dir.to_string_lossy());
    let escaped = glob::Pattern::escape(&name);
    let mut patterns = vec![
        format!("{pattern_base}/_rejects/*/{escaped}"),
        format!("{pattern_base}/_rejects/*/{escaped}{TMP_SUFFIX}"),
    ];
    // Token shards are written under `<name>.tmp` by the shard writer.
    let tmp = match plan.config.output.kind {
        OutputKind::Documents => TMP_SUFFIX,
        OutputKind::Tokens => ".tmp",
    };
    for main in plan.main_names(input) {
        let escaped = glob::Pattern::escape(&main);
        patterns.push(format!("{pattern_base}/{escaped}{tmp}"));
        if plan.config.output.partition_by.is_some() {
            patterns.push(format!("{pattern_base}/*/{escaped}"));
            patterns.push(format!("{pattern_base}/*/{escaped}{tmp}"));
        }
    }
    let opts = glob::MatchOptions {
        require_literal_separator: true,
        ..Default::default()
    };
    for pat in patterns {
        if let Ok(paths) = glob::glob_with(&pat, opts) {
            for p in paths.flatten() {
                let _ = fs::remove_file(p);
            }
        }
    }
}

/// Reads, stages and writes one input file. `Err` is a file-level failure (already cleaned up).
fn process_file(plan: &Plan, input: &InputFile, progress: &Progress) -> Result<FileStats, String> {
    clear_leftovers(plan, input);
    let _ = fs::remove_file(plan.marker(input));
    let display = input.path.display().to_string();
    let mut stats = FileStats {
        file: display.clone(),
        file_bytes: input.bytes,
        stages: plan
            .stages
            .iter()
            .map(|s| StageStats {
                name: s.name().to_string(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let mut reader = read::open(
        &input.path,
        Some(input.format),
        &plan.config.input.read_options(),
    )
    .map_err(|e| e.to_string())?;
    let mut outputs = Outputs {
        plan,
        input,
        main: BTreeMap::new(),
        rejects: BTreeMap::new(),
    };
    let reject_all = plan.config.output.rejects;
    let partition_by = plan.config.output.partition_by.as_deref();
    let mut last_bytes = 0u64;
    let mut since_tick = 0u32;
    let mut t_read = Instant::now();
    let mut read_s = 0.0;
    let mut write_s = 0.0;
    let mut stage_ns = vec![0u128; plan.stages.len()];
    let mut records = 0u64;
    let io_err = |e: std::io::Error| format!("{display}: writing output: {e}");

    loop {
        let item = reader.next();
        read_s += t_read.elapsed().as_secs_f64();
        let Some(item) = item else { break };
        records += 1;
        since_tick += 1;
        if since_tick == 512 {
            since_tick = 0;
            let b = reader.bytes_read();
            progress.advance(b - last_bytes, 512);
            last_bytes = b;
        }
        let mut doc = match item {
            Ok(doc) => doc,
            Err(e) if e.is_fatal() => {
                // Dropping `outputs` removes every temporary file of this input.
                return Err(e.to_string());
            }
            Err(e) => {
                stats.read.add(e.reason(), 1);
                t_read = Instant::now();
                continue;
            }
        };
        stats.docs_in += 1;
        stats.bytes_in += doc.text.len() as u64;
        let mut kept = true;
        for (i, stage) in plan.stages.iter().enumerate() {
            let st = &mut stats.stages[i];
            st.docs_in += 1;
            st.bytes_in += doc.text.len() as u64;
            let t = Instant::now();
            let verdict = stage.process(&mut doc);
            stage_ns[i] += t.elapsed().as_nanos();
            match verdict {
                Verdict::Keep => {
                    st.docs_out += 1;
                    st.bytes_out += doc.text.len() as u64;
                    if let Some(lang) = doc.lang() {
                        let l = st.languages.entry(lang.to_string()).or_default();
                        l.docs += 1;
                        l.bytes += doc.text.len() as u64;
                    }
                }
                Verdict::Drop(reason) => {
                    st.drops.add(reason, 1);
                    if reject_all || plan.config.stages[i].rejects {
                        let t = Instant::now();
                        outputs.reject(stage.name(), &doc, reason).map_err(io_err)?;
                        write_s += t.elapsed().as_secs_f64();
                    }
                    kept = false;
                    break;
                }
            }
        }
        crate::report::record_attrs(&mut stats.histograms, &doc.attrs, doc.lang());
        if kept {
            stats.docs_out += 1;
            stats.bytes_out += doc.text.len() as u64;
            if let Some(lang) = doc.lang() {
                let l = stats.languages.entry(lang.to_string()).or_default();
                l.docs += 1;
                l.bytes += doc.text.len() as u64;
            }
            let t = Instant::now();
            let part = partition_by.map(|k| partition_name(doc.meta.get(k)));
            outputs.write(part, &doc).map_err(io_err)?;
            write_s += t.elapsed().as_secs_f64();
        }
        t_read = Instant::now();
    }
    progress.advance(
        reader.bytes_read().saturating_sub(last_bytes),
        since_tick as u64,
    );
    stats.records = records;
    stats.read.merge(reader.counters());
    for (st, ns) in stats.stages.iter_mut().zip(stage_ns) {
        st.seconds = ns as f64 / 1e9;
    }
    let t = Instant::now();
    stats.outputs = outputs.commit().map_err(io_err)?;
    stats.write_seconds = write_s + t.elapsed().as_secs_f64();
    stats.read_seconds = read_s;
    let marker = serde_json::to_vec_pretty(&stats).expect("stats serialise");
    write::write_atomic(&plan.marker(input), &marker).map_err(io_err)?;
    Ok(stats)
}

/// A progress bar over input bytes (drawn only on a terminal), with files and documents per second.
struct Progress {
    bar: Option<ProgressBar>,
    files_total: usize,
    files_done: AtomicUsize,
    docs: AtomicU64,
    started: Instant,
    last_msg: Mutex<Instant>,
}

impl Progress {
    fn new(enabled: bool, todo: &[(usize, &InputFile)]) -> Progress {
        let bar = enabled.then(|| {
            let total: u64 = todo.iter().map(|(_, f)| f.bytes).sum();
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
                )
                .expect("template is valid"),
            );
            bar
        });
        Progress {
            bar,
            files_total: todo.len(),
            files_done: AtomicUsize::new(0),
            docs: AtomicU64::new(0),
            started: Instant::now(),
            last_msg: Mutex::new(Instant::now()),
        }
    }

    fn advance(&self, bytes: u64, docs: u64) {
        let Some(bar) = &self.bar else { return };
        bar.inc(bytes);
        self.docs.fetch_add(docs, Ordering::Relaxed);
        if let Ok(mut last) = self.last_msg.try_lock() {
            if last.elapsed().as_millis() > 200 {
                *last = Instant::now();
                self.message(bar);
            }
        }
    }

    fn message(&self, bar: &ProgressBar) {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let done = self.files_done.load(Ordering::Relaxed);
        bar.set_message(format!(
            "files {done}/{} | {:.0} docs/s",
            self.files_total,
            self.docs.load(Ordering::Relaxed) as f64 / secs
        ));
    }

    fn file_done(&self) {
        self.files_done.fetch_add(1, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            self.message(bar);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
