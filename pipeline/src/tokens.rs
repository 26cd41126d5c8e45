//! Tokenizer training and Megatron token shards from any input tria reads (`tria tokenizer
//! train`, `tria tokenize`), on top of `tria-tokenizer`.
//!
//! Both commands read their inputs as one stream of `(text, lang)` documents in sorted path order
//! ([`DocStream`]; `lang` is the document's `meta.lang`, empty when unknown). A bad record is
//! skipped and counted; a file that cannot be read on (truncated gzip, I/O error) is a failure:
//! by default nothing is written and the command exits 1, with `keep_going` the documents read
//! so far are kept and the other files go on (the output is still reported incomplete).
//!
//! Outputs are written under temporary names and renamed when whole, each with a report
//! (`<out>.report.json`, `PREFIX.report.json`) holding what it was made from: a rerun with the
//! same tokenizer, inputs (path, size, modification time) and settings finds the report and skips.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Instant, UNIX_EPOCH};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use tria_tokenizer::{Encoder, ShardWriter, Sidecar, TrainOptions, Trainer, shard_paths};

use crate::config::ConfigError;
use crate::read::{self, Counters, DocReader, Format, ReadOptions};
use crate::report::{Failure, LangStats};
use crate::write::write_atomic;

/// One input file as recorded in reports (and compared on rerun).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct InputEntry {
    pub file: String,
    pub bytes: u64,
    /// Modification time, nanoseconds since the epoch (0 when the platform cannot say).
    pub modified_ns: u64,
    /// Documents read from it (0 before reading).
    #[serde(default)]
    pub documents: u64,
}

impl InputEntry {
    fn of(path: &Path) -> InputEntry {
        let meta = std::fs::metadata(path).ok();
        InputEntry {
            file: path.display().to_string(),
            bytes: meta.as_ref().map_or(0, |m| m.len()),
            modified_ns: meta
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as u64),
            documents: 0,
        }
    }

    /// The part that identifies the input (not what was read from it).
    fn key(&self) -> (&str, u64, u64) {
        (&self.file, self.bytes, self.modified_ns)
    }
}

/// Expands files and globs into absolute paths, sorted and deduplicated; checks that each has a
/// format (from `format` or its name).
pub fn expand_inputs(
    patterns: &[String],
    format: Option<Format>,
) -> Result<Vec<PathBuf>, ConfigError> {
    let err = |m: String| ConfigError::new("<command line>", m);
    if patterns.is_empty() {
        return Err(err("--input names no files".into()));
    }
    let resolved: Vec<(String, PathBuf)> = patterns
        .iter()
        .map(|p| (p.clone(), PathBuf::from(p)))
        .collect();
    let paths = crate::run::match_files(&resolved).map_err(|m| err(format!("--input: {m}")))?;
    let mut paths: Vec<PathBuf> = paths
        .into_iter()
        .map(|p| std::path::absolute(&p).unwrap_or(p))
        .collect();
    paths.sort();
    paths.dedup();
    if format.is_none() {
        if let Some(p) = paths.iter().find(|p| Format::from_path(p).is_none()) {
            return Err(err(format!(
                "`{}`: cannot tell the format from the name; pass --format",
                p.display()
            )));
        }
    }
    Ok(paths)
}

/// The documents of several files, in order, as `(text, lang)`; failures and reader counts are
/// collected on the side (read them after the stream is exhausted).
pub struct DocStream {
    files: Vec<PathBuf>,
    format: Option<Format>,
    read: ReadOptions,
    keep_going: bool,
    next: usize,
    reader: Option<Box<dyn DocReader>>,
    stopped: bool,
    /// Per input: identity and documents read.
    pub inputs: Vec<InputEntry>,
    /// Files that could not be read to the end.
    pub failures: Vec<Failure>,
    /// Records skipped or repaired by the readers, by reason.
    pub counters: Counters,
    /// Documents and bytes by language (`""` for unknown).
    pub languages: BTreeMap<String, LangStats>,
    bar: Option<ProgressBar>,
    bar_last: u64,
    since_tick: u32,
}

impl DocStream {
    pub fn new(
        files: Vec<PathBuf>,
        format: Option<Format>,
        read: ReadOptions,
        keep_going: bool,
        progress: bool,
    ) -> DocStream {
        let inputs: Vec<InputEntry> = files.iter().map(|p| InputEntry::of(p)).collect();
        let bar = progress.then(|| {
            let total = inputs.iter().map(|i| i.bytes).sum();
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
                )
                .expect("template is valid"),
            );
            bar
        });
        DocStream {
            files,
            format,
            read,
            keep_going,
            next: 0,
            reader: None,
            stopped: false,
            inputs,
            failures: Vec::new(),
            counters: Counters::default(),
            languages: BTreeMap::new(),
            bar,
            bar_last: 0,
            since_tick: 0,
        }
    }

    fn tick(&mut self, force: bool) {
        let (Some(bar), Some(r)) = (&self.bar, &self.reader) else {
            return;
        };
        self.since_tick += 1;
        if force || self.since_tick >= 256 {
            self.since_tick = 0;
            let b = r.bytes_read();
            bar.inc(b.saturating_sub(self.bar_last));
            self.bar_last = b;
        }
    }

    fn close_reader(&mut self) {
        self.tick(true);
        if let Some(r) = self.reader.take() {
            self.counters.merge(r.counters());
        }
        self.bar_last = 0;
    }

    fn fail(&mut self, file: usize, error: String) {
        self.close_reader();
        self.failures.push(Failure {
            file: self.files[file].display().to_string(),
            error,
        });
        if !self.keep_going {
            self.stopped = true;
        }
    }

    /// Clears the progress bar.
    pub fn finish_progress(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// Total documents and bytes read.
    pub fn totals(&self) -> (u64, u64) {
        self.languages
            .values()
            .fold((0, 0), |(d, b), l| (d + l.docs, b + l.bytes))
    }
}

impl Iterator for DocStream {
    type Item = (String, String);

    fn next(&mut self) -> Option<(String, String)> {
        loop {
            if self.stopped {
                return None;
            }
            if self.reader.is_none() {
                if self.next >= self.files.len() {
                    return None;
                }
                let i = self.next;
                self.next += 1;
                match read::open(&self.files[i], self.format, &self.read) {
                    Ok(r) => self.reader = Some(r),
                    Err(e) => {
                        self.fail(i, e.to_string());
                        continue;
                    }
                }
            }
            let cur = self.next - 1;
            let item = self.reader.as_mut().expect("opened above").next();
            match item {
                None => self.close_reader(),
                Some(Err(e)) if e.is_fatal() => self.fail(cur, e.to_string()),
                Some(Err(e)) => self.counters.add(&format!("read:{}", e.reason()), 1),
                Some(Ok(doc)) => {
                    self.tick(false);
                    self.inputs[cur].documents += 1;
                    let lang = doc.lang().unwrap_or("").to_string();
                    let l = self.languages.entry(lang.clone()).or_default();
                    l.docs += 1;
                    l.bytes += doc.text.len() as u64;
                    return Some((doc.text, lang));
                }
            }
        }
    }
}

fn rayon_pool(threads: usize) -> anyhow::Result<rayon::ThreadPool> {
    let n = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .context("cannot start threads")
}

/// `path` with `suffix` appended to its name.
pub fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Best-effort identity of a path that may not exist yet (absolute, parent resolved).
fn same_file(a: &Path, b: &Path) -> bool {
    let norm = |p: &Path| -> PathBuf {
        if let Ok(c) = p.canonicalize() {
            return c;
        }
        let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        match (abs.parent(), abs.file_name()) {
            (Some(d), Some(n)) => d.canonicalize().map_or(abs.clone(), |d| d.join(n)),
            _ => abs,
        }
    };
    norm(a) == norm(b)
}

fn read_report<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

// ------------------------------------------------------------------------------------------
// tokenize

/// What `tria tokenize` is asked to do.
#[derive(Debug, Clone)]
pub struct TokenizeJob {
    pub tokenizer: PathBuf,
    pub inputs: Vec<PathBuf>,
    pub format: Option<Format>,
    pub read: ReadOptions,
    /// The shard prefix: `PREFIX.bin`, `.idx`, `.json` and `PREFIX.report.json`.
    pub out: PathBuf,
    pub threads: usize,
    pub force: bool,
    pub keep_going: bool,
    pub progress: bool,
}

/// `PREFIX.report.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TokenizeReport {
    pub tria_version: String,
    pub tokenizer: String,
    pub tokenizer_hash: String,
    pub vocab_size: u32,
    pub eod_token: Option<u32>,
    pub dtype: String,
    /// Input format and text field: with the tokenizer and inputs, what decides the output.
    pub settings: serde_json::Value,
    pub inputs: Vec<InputEntry>,
    pub documents: u64,
    pub tokens: u64,
    pub utf8_bytes: u64,
    pub bytes_per_token: f64,
    pub languages: BTreeMap<String, LangStats>,
    pub read: Counters,
    pub failures: Vec<Failure>,
    /// Every input was read to the end: a rerun with the same tokenizer and inputs skips.
    pub complete: bool,
    /// Whether the shard was written (not when an input failed without `keep_going`).
    pub written: bool,
    pub threads: usize,
    pub seconds: f64,
}

impl TokenizeReport {
    pub fn summary(&self, skipped: bool) -> String {
        let mut s = String::new();
        if skipped {
            s.push_str(
                "tria tokenize: shard already complete (same tokenizer and inputs), skipped\n",
            );
        }
        s.push_str(&format!(
            "tria tokenize: {} inputs, {} documents, {} tokens ({}), {} of text, {:.3} bytes/token",
            self.inputs.len(),
            self.documents,
            self.tokens,
            self.dtype,
            crate::report::human_bytes(self.utf8_bytes),
            self.bytes_per_token
        ));
        if !skipped {
            s.push_str(&format!(
                ", {:.1} s on {} threads",
                self.seconds, self.threads
            ));
        }
        s.push('\n');
        for (k, v) in &self.read.0 {
            s.push_str(&format!("  {k}: {v}\n"));
        }
        for f in &self.failures {
            s.push_str(&format!("  FAILED {}: {}\n", f.file, f.error));
        }
        if !self.written {
            s.push_str("  no shard written (an input failed; --keep-going writes what was read)\n");
        }
        s
    }
}

/// The report path of a shard prefix.
pub fn report_path(prefix: &Path) -> PathBuf {
    with_suffix(prefix, ".report.json")
}

/// Runs `tria tokenize`: returns the report and whether the shard was already complete.
pub fn tokenize(job: &TokenizeJob) -> anyhow::Result<(TokenizeReport, bool)> {
    let started = Instant::now();
    let cfg = |m: String| ConfigError::new("<command line>", m);
    let (bin, idx, json) = shard_paths(&job.out);
    let report_file = report_path(&job.out);
    for p in [&bin, &idx, &json, &report_file] {
        if same_file(p, &job.tokenizer) {
            return Err(cfg(format!(
                "--out `{}` would overwrite the tokenizer `{}` (the shard writes {}); choose another prefix",
                job.out.display(),
                job.tokenizer.display(),
                p.display()
            ))
            .into());
        }
        if let Some(i) = job.inputs.iter().find(|i| same_file(p, i)) {
            return Err(cfg(format!(
                "--out `{}` would overwrite the input `{}`",
                job.out.display(),
                i.display()
            ))
            .into());
        }
    }
    let encoder =
        Encoder::from_file(&job.tokenizer).map_err(|e| cfg(format!("--tokenizer: {e}")))?;
    let settings = serde_json::json!({
        "format": job.format.map(Format::name),
        "text_field": job.read.text_field,
        "eod_token": encoder.eod(),
    });
    let inputs: Vec<InputEntry> = job.inputs.iter().map(|p| InputEntry::of(p)).collect();

    if !job.force {
        if let Some(old) = read_report::<TokenizeReport>(&report_file) {
            let same_inputs = old.inputs.len() == inputs.len()
                && old
                    .inputs
                    .iter()
                    .zip(&inputs)
                    .all(|(a, b)| a.key() == b.key());
            let sidecar_ok = Sidecar::read(&json)
                .is_ok_and(|s| s.tokenizer_hash == encoder.hash() && s.documents == old.documents);
            if old.complete
                && old.written
                && old.tokenizer_hash == encoder.hash()
                && old.settings == settings
                && same_inputs
                && bin.is_file()
                && idx.is_file()
                && sidecar_ok
            {
                return Ok((old, true));
            }
        }
    }
    if let Some(dir) = job.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // An old report no longer describes what is about to be written.
    let _ = std::fs::remove_file(&report_file);

    let pool = rayon_pool(job.threads)?;
    let mut stream = DocStream::new(
        job.inputs.clone(),
        job.format,
        job.read.clone(),
        job.keep_going,
        job.progress,
    );
    let mut writer = ShardWriter::create(&job.out, encoder.shard_meta())?;
    let dtype = writer.dtype();
    let stats =
        pool.install(|| tria_tokenizer::tokenize_docs(&encoder, &mut stream, &mut writer))?;
    stream.finish_progress();
    let complete = stream.failures.is_empty();
    let written = complete || job.keep_going;
    if written {
        writer.finish()?;
    } else {
        drop(writer); // removes the temporary files
    }
    let report = TokenizeReport {
        tria_version: env!("CARGO_PKG_VERSION").to_string(),
        tokenizer: job.tokenizer.display().to_string(),
        tokenizer_hash: encoder.hash().to_string(),
        vocab_size: encoder.vocab_size(),
        eod_token: encoder.eod(),
        dtype: dtype.name().to_string(),
        settings,
        inputs: stream.inputs.clone(),
        documents: stats.documents,
        tokens: stats.tokens,
        utf8_bytes: stats.utf8_bytes,
        bytes_per_token: if stats.tokens > 0 {
            stats.utf8_bytes as f64 / stats.tokens as f64
        } else {
            0.0
        },
        languages: stream.languages.clone(),
        read: stream.counters.clone(),
        failures: stream.failures.clone(),
        complete,
        written,
        threads: pool.current_num_threads(),
        seconds: started.elapsed().as_secs_f64(),
    };
    let bytes = serde_json::to_vec_pretty(&report).expect("report serialises");
    write_atomic(&report_file, &bytes).with_context(|| report_file.display().to_string())?;
    Ok((report, false))
}

// ------------------------------------------------------------------------------------------
// train

/// What `tria tokenizer train` is asked to do.
#[derive(Debug, Clone)]
pub struct TrainJob {
    pub inputs: Vec<PathBuf>,
    pub format: Option<Format>,
    pub read: ReadOptions,
    /// The `tokenizer.json` to write.
    pub out: PathBuf,
    pub options: TrainOptions,
    pub threads: usize,
    pub force: bool,
    pub keep_going: bool,
    pub progress: bool,
}

/// `<out without .json>.report.json`, next to the tokenizer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TrainReport {
    pub tria_version: String,
    pub out: String,
    /// xxh3 of the written `tokenizer.json` (what shard sidecars record).
    pub tokenizer_hash: String,
    /// The trainer options and the input format / text field.
    pub settings: serde_json::Value,
    pub inputs: Vec<InputEntry>,
    pub vocab_size: usize,
    pub merges: usize,
    pub documents: u64,
    pub bytes: u64,
    pub distinct_words: u64,
    pub prunes: u32,
    pub pruned_words: u64,
    pub prune_below: u64,
    pub languages: BTreeMap<String, LangStats>,
    pub read: Counters,
    pub failures: Vec<Failure>,
    pub complete: bool,
    pub written: bool,
    pub threads: usize,
    pub feed_seconds: f64,
    pub train_seconds: f64,
}

impl TrainReport {
    pub fn summary(&self, skipped: bool) -> String {
        let mut s = String::new();
        if skipped {
            s.push_str(
                "tria tokenizer train: tokenizer already trained (same inputs and options), skipped\n",
            );
        }
        s.push_str(&format!(
            "tria tokenizer train: {} inputs, {} documents, {} of text, {} distinct words\n",
            self.inputs.len(),
            self.documents,
            crate::report::human_bytes(self.bytes),
            self.distinct_words
        ));
        if self.prunes > 0 {
            s.push_str(&format!(
                "  memory budget: pruned {} times, {} rare words dropped (now counting words seen >= {} times)\n",
                self.prunes, self.pruned_words, self.prune_below
            ));
        }
        for (lang, l) in &self.languages {
            s.push_str(&format!(
                "  lang {:<4} docs {:>10} bytes {:>14}\n",
                if lang.is_empty() { "?" } else { lang },
                l.docs,
                l.bytes
            ));
        }
        if self.written {
            s.push_str(&format!(
                "  vocabulary {} ({} merges) -> {} (hash {})",
                self.vocab_size, self.merges, self.out, self.tokenizer_hash
            ));
            if !skipped {
                s.push_str(&format!(
                    ", counting {:.1} s + merges {:.1} s on {} threads",
                    self.feed_seconds, self.train_seconds, self.threads
                ));
            }
            s.push('\n');
        }
        for (k, v) in &self.read.0 {
            s.push_str(&format!("  {k}: {v}\n"));
        }
        for f in &self.failures {
            s.push_str(&format!("  FAILED {}: {}\n", f.file, f.error));
        }
        if !self.written {
            s.push_str(
                "  no tokenizer written (an input failed; --keep-going trains on what was read)\n",
            );
        }
        s
    }
}

/// The training report path for a tokenizer file.
pub fn train_report_path(out: &Path) -> PathBuf {
    let s = out.to_string_lossy();
    match s.strip_suffix(".json") {
        Some(stem) => PathBuf::from(format!("{stem}.report.json")),
        None => with_suffix(out, ".report.json"),
    }
}

fn train_settings(job: &TrainJob) -> serde_json::Value {
    let o = &job.options;
    serde_json::json!({
        "model": match o.model {
            tria_tokenizer::ModelKind::ByteLevel => "byte-level",
            tria_tokenizer::ModelKind::SentencePiece => "sentencepiece",
        },
        "vocab_size": o.vocab_size,
        "min_frequency": o.min_frequency,
        "special_tokens": o.special_tokens,
        "lang_weights": o.lang_weights,
        "memory_budget": o.memory_budget,
        "nfc": o.nfc,
        "character_coverage": o.character_coverage,
        "format": job.format.map(Format::name),
        "text_field": job.read.text_field,
    })
}

/// Runs `tria tokenizer train`: returns the report and whether training was skipped.
pub fn train(job: &TrainJob) -> anyhow::Result<(TrainReport, bool)> {
    let cfg = |m: String| ConfigError::new("<command line>", m);
    let report_file = train_report_path(&job.out);
    if let Some(i) = job
        .inputs
        .iter()
        .find(|i| same_file(&job.out, i) || same_file(&report_file, i))
    {
        return Err(cfg(format!(
            "--out `{}` would overwrite the input `{}`",
            job.out.display(),
            i.display()
        ))
        .into());
    }
    // Checks the options before any input is read.
    let trainer = Trainer::new(job.options.clone()).map_err(|e| cfg(e.to_string()))?;
    let settings = train_settings(job);
    let inputs: Vec<InputEntry> = job.inputs.iter().map(|p| InputEntry::of(p)).collect();
    if !job.force {
        if let Some(old) = read_report::<TrainReport>(&report_file) {
            let same_inputs = old.inputs.len() == inputs.len()
                && old
                    .inputs
                    .iter()
                    .zip(&inputs)
                    .all(|(a, b)| a.key() == b.key());
            let same_file = std::fs::read(&job.out)
                .is_ok_and(|b| tria_tokenizer::tokenizer_hash(&b) == old.tokenizer_hash);
            if old.complete && old.written && old.settings == settings && same_inputs && same_file {
                return Ok((old, true));
            }
        }
    }
    if let Some(dir) = job.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let _ = std::fs::remove_file(&report_file);
    let pool = rayon_pool(job.threads)?;
    let mut stream = DocStream::new(
        job.inputs.clone(),
        job.format,
        job.read.clone(),
        job.keep_going,
        job.progress,
    );
    let t = Instant::now();
    let mut trainer = trainer;
    pool.install(|| trainer.feed(&mut stream));
    stream.finish_progress();
    let feed_seconds = t.elapsed().as_secs_f64();
    let feed = trainer.stats();
    let complete = stream.failures.is_empty();
    let written = complete || job.keep_going;
    let t = Instant::now();
    let mut report = TrainReport {
        tria_version: env!("CARGO_PKG_VERSION").to_string(),
        out: job.out.display().to_string(),
        tokenizer_hash: String::new(),
        settings,
        inputs: stream.inputs.clone(),
        vocab_size: 0,
        merges: 0,
        documents: feed.documents,
        bytes: feed.bytes,
        distinct_words: feed.distinct_words,
        prunes: feed.prunes,
        pruned_words: feed.pruned_words,
        prune_below: feed.prune_below,
        languages: stream.languages.clone(),
        read: stream.counters.clone(),
        failures: stream.failures.clone(),
        complete,
        written,
        threads: pool.current_num_threads(),
        feed_seconds,
        train_seconds: 0.0,
    };
    if written {
        let trained = pool.install(|| trainer.train())?;
        let json = trained.to_json_string();
        write_atomic(&job.out, json.as_bytes())
            .with_context(|| format!("writing {}", job.out.display()))?;
        report.tokenizer_hash = tria_tokenizer::tokenizer_hash(json.as_bytes());
        report.vocab_size = trained.vocab_size;
        report.merges = trained.merges;
        report.train_seconds = t.elapsed().as_secs_f64();
    }
    let bytes = serde_json::to_vec_pretty(&report).expect("report serialises");
    write_atomic(&report_file, &bytes).with_context(|| report_file.display().to_string())?;
    Ok((report, false))
}

/// Parses a byte count with an optional unit: `1000`, `512M`, `8G`, `2GiB`, `1.5GB`.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let x: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (e.g. 512M, 8G, 2GiB)"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024f64.powi(2),
        "gib" => 1024f64.powi(3),
        "tib" => 1024f64.powi(4),
        u => {
            return Err(format!(
                "`{s}`: unknown unit `{u}` (B, K, M, G, T, KiB, MiB, GiB, TiB)"
            ));
        }
    };
    Ok((x * mult).round() as u64)
}

/// Parses `ca=2,eu=3,en=0.5` into per-language weights.
pub fn parse_lang_weights(s: &str) -> Result<BTreeMap<String, f64>, String> {
    let mut m = BTreeMap::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (lang, w) = part
            .split_once('=')
            .ok_or_else(|| format!("`{part}`: expected LANG=WEIGHT, e.g. eu=3"))?;
        let w: f64 = w
            .trim()
            .parse()
            .map_err(|_| format!("`{part}`: weight `{w}` is not a number"))?;
        if !(w.is_finite() && w >= 0.0) {
            return Err(format!("`{part}`: weight must be a number >= 0"));
        }
        if m.insert(lang.trim().to_string(), w).is_some() {
            return Err(format!("language `{}` weighted twice", lang.trim()));
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_weights_parse() {
        assert_eq!(parse_bytes("1000").unwrap(), 1000);
        assert_eq!(parse_bytes("512M").unwrap(), 512_000_000);
        assert_eq!(parse_bytes("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_bytes("1.5GB").unwrap(), 1_500_000_000);
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("3 parsecs").is_err());
        let w = parse_lang_weights("ca=2, eu=3,en=0.5").unwrap();
        assert_eq!(w["eu"], 3.0);
        assert_eq!(w["en"], 0.5);
        assert!(parse_lang_weights("eu").is_err());
        assert!(parse_lang_weights("eu=-1").is_err());
        assert!(parse_lang_weights("eu=1,eu=2").is_err());
    }

    #[test]
    fn report_paths() {
        assert_eq!(
            train_report_path(Path::new("a/tok.json")),
            PathBuf::from("a/tok.report.json")
        );
        assert_eq!(
            report_path(Path::new("a/shard")),
            PathBuf::from("a/shard.report.json")
        );
    }
}
