//! Corpus-wide deduplication over tria's readers and writers, in two forms that keep exactly the
//! same documents:
//!
//! * one machine, [`run_local`]: pass 1 reads every input and computes the removals (exact, URL,
//!   MinHash-LSH near duplicates, frequent lines); pass 2 re-reads each input and writes its kept
//!   documents;
//! * sharded, as independent tasks a scheduler can spread over machines: [`signatures`] (one task per
//!   input file, or per rank of files), [`pairs`] (task `i` of `n` over the LSH bands), [`clusters`]
//!   (one task), then [`filter`] (per rank of files).
//!
//! Both forms reduce to the same per-file [`Decisions`] and run the same filter pass ([`filter_file`]).
//! Documents are keyed by `DocKey { file: index in the sorted input list, record: index of the document
//! in its file }`, counting only documents that were read (records skipped by the reader do not count),
//! so both passes and both forms agree on every key.
//!
//! Memory per document in the one-machine form (pass 1): 32 bytes for `--exact`, 32 for `--url`,
//! `24 × bands` (336 with 14 bands) for `--near` (spilled to disk beyond `--memory-budget`; with
//! `--verify`, + 32 in memory and 8 per distinct shingle on disk), about 24 per distinct line for
//! `--lines`; + 24 per candidate pair and about 40 per duplicate document at the end of pass 1.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use tria_dedup::{
    DedupError, DocKey, ExactDedup, LangText, LineCounter, LineFilter, LineStats, LocalDedup,
    MinHashConfig, Normalization, RemovalList, WordSplit, exact_hash, sharded,
};
use tria_filters::words::{TokenKind, WordSplitter};

use crate::config::ConfigError;
use crate::document::Document;
use crate::read::{self, ReadError, ReadOptions};
use crate::run::{InputFile, output_name};
use crate::write::{self, DocWriter, OutputFormat};

/// The `meta` key holding, on every kept document, the size of its duplicate cluster (1: unique).
pub const CLUSTER_META: &str = "dup_cluster_size";
/// Name of the parameter file of a sharded work directory and of a one-machine output directory.
const PARAMS: &str = "tria-dedup.json";
/// Documents per batch handed to the hashers (hashed on all threads).
const BATCH: usize = 4096;

/// What to deduplicate and how: every parameter that changes which documents are kept.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Methods {
    /// Whole-document exact dedup (128-bit xxh3 of the whitespace-normalised text).
    pub exact: bool,
    /// Exact dedup of `meta.url` (documents without a URL are left alone).
    pub url: bool,
    /// MinHash-LSH near-duplicate dedup.
    pub near: bool,
    /// Words per shingle.
    pub ngram: usize,
    /// LSH bands.
    pub bands: usize,
    /// Rows (signature values) per band.
    pub rows: usize,
    /// Seed of the MinHash permutations.
    pub seed: u64,
    /// Exact-Jaccard verification threshold of candidate pairs.
    pub verify: Option<f64>,
    /// Language whose word-splitting rules cut the words of documents without `meta.lang`
    /// (`None`: generic rules); documents with `meta.lang` use their own language's rules.
    pub lang: Option<String>,
    /// Remove lines found in more than this many documents (CCNet boilerplate).
    pub lines: Option<u32>,
}

impl Methods {
    /// The MinHash configuration. Words come from the filters crate's splitter run on each
    /// document's raw text with the rules of the document's `meta.lang`, else of `--lang`, else the
    /// generic rules; each word is then FineWeb-normalised on its own (see
    /// [`WordSplit::Raw`]), so that elision, clitics and Basque hyphenated case endings split as
    /// their language writes them.
    pub fn minhash(&self) -> MinHashConfig {
        let fallback = self.lang.clone().unwrap_or_default();
        let name = format!(
            "tria-words:meta.lang,else:{}",
            if fallback.is_empty() {
                "generic"
            } else {
                &fallback
            }
        );
        let split = move |text: &str, lang: Option<&str>, sink: &mut dyn FnMut(&str)| {
            word_splitter(lang.unwrap_or(&fallback)).for_each_token(text, |t, kind| {
                if kind == TokenKind::Word {
                    sink(t)
                }
            })
        };
        MinHashConfig {
            ngram: self.ngram,
            bands: self.bands,
            rows: self.rows,
            seed: self.seed,
            verify: self.verify,
            splitter: WordSplit::Raw(Arc::new(split)),
            splitter_name: name,
        }
    }

    /// Checks the ranges (through the dedup crate) and that something is asked for.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.exact || self.url || self.near || self.lines.is_some()) {
            return Err(cfg_err(
                "choose at least one of --exact, --near, --url, --lines",
            ));
        }
        if self.lines == Some(0) {
            return Err(cfg_err("--lines must be at least 1"));
        }
        if self.near {
            self.minhash()
                .validate()
                .map_err(|e| cfg_err(e.to_string()))?;
        }
        Ok(())
    }

    /// Bytes held in memory per document by pass 1 of the one-machine form (before spilling).
    pub fn bytes_per_document(&self) -> usize {
        let mut b = 0;
        if self.exact {
            b += 32;
        }
        if self.url {
            b += 32;
        }
        if self.near {
            b += tria_dedup::BYTES_PER_ENTRY * self.bands;
            if self.verify.is_some() {
                b += 32;
            }
        }
        b
    }
}

/// The word splitter of a language code as `meta.lang` or `--lang` give it (`ca`, `CA`, `ca-ES` and
/// `ca_ES` all pick Catalan; unknown or empty codes the generic rules).
fn word_splitter(lang: &str) -> WordSplitter {
    let code = lang.trim().split(['-', '_']).next().unwrap_or("");
    if code.bytes().any(|b| b.is_ascii_uppercase()) {
        WordSplitter::new(&code.to_ascii_lowercase())
    } else {
        WordSplitter::new(code)
    }
}

/// What the dedup hashes of a document: its text and, for word splitting, its `meta.lang`.
fn lang_text(doc: Document) -> LangText {
    LangText {
        lang: doc.lang().map(str::to_owned),
        text: doc.text,
    }
}

fn cfg_err(m: impl Into<String>) -> ConfigError {
    ConfigError::new("<command line>", m)
}

/// A dedup failure: bad configuration (exit 2) or a failure while working (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum DedupRunError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Work(String),
}

impl From<DedupError> for DedupRunError {
    fn from(e: DedupError) -> Self {
        match e {
            DedupError::Config(_) | DedupError::ParamsMismatch { .. } => {
                DedupRunError::Config(cfg_err(e.to_string()))
            }
            other => DedupRunError::Work(other.to_string()),
        }
    }
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> DedupRunError {
    DedupRunError::Work(format!("{}: {e}", path.display()))
}

/// The decisions for one input file: which records go (and why) and the cluster size of the others.
#[derive(Debug, Clone, Default)]
pub struct Decisions {
    pub exact: RemovalList,
    pub url: RemovalList,
    pub near: RemovalList,
}

impl Decisions {
    /// `Err(reason)` when record `r` is removed (exact first, then url, then near); else the size of
    /// the largest duplicate cluster it represents (1 when it has no duplicate).
    pub fn verdict(&self, r: u64) -> Result<u32, &'static str> {
        for (list, reason) in [
            (&self.exact, "exact"),
            (&self.url, "url"),
            (&self.near, "near"),
        ] {
            if list.is_removed(r) {
                return Err(reason);
            }
        }
        Ok([&self.exact, &self.url, &self.near]
            .iter()
            .filter_map(|l| l.cluster_size(r))
            .max()
            .unwrap_or(1))
    }
}

/// Counts of one input file's filter pass, stored in its completion marker.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FileReport {
    pub input: String,
    pub output: String,
    pub documents: u64,
    pub kept: u64,
    /// UTF-8 bytes of the kept documents' text.
    #[serde(default)]
    pub kept_bytes: u64,
    /// Kept documents by the size of the duplicate cluster they stand for (1: unique).
    #[serde(default)]
    pub cluster_sizes: BTreeMap<u32, u64>,
    /// Documents removed, by reason: `exact`, `url`, `near`, `lines` (emptied by line removal).
    pub removed: BTreeMap<String, u64>,
    pub lines_removed: u64,
    pub line_bytes_removed: u64,
    pub documents_changed_by_lines: u64,
    /// Records the reader skipped (not documents, so not keyed), by reason.
    pub read_skipped: BTreeMap<String, u64>,
}

/// Reads every document of `input`, calling `f(record, doc)` with the record counted over documents
/// only. Returns the reader's skip counters, or the fatal error that stopped it.
fn for_each_doc(
    input: &InputFile,
    opts: &ReadOptions,
    mut f: impl FnMut(u64, Document) -> Result<(), DedupRunError>,
) -> Result<BTreeMap<String, u64>, DedupRunError> {
    let mut reader = read::open(&input.path, Some(input.format), opts)
        .map_err(|e| DedupRunError::Work(e.to_string()))?;
    let mut record = 0u64;
    let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
    for item in reader.by_ref() {
        match item {
            Ok(doc) => {
                f(record, doc)?;
                record += 1;
            }
            Err(e @ ReadError::File { .. }) => return Err(DedupRunError::Work(e.to_string())),
            Err(e) => *skipped.entry(format!("read:{}", e.reason())).or_insert(0) += 1,
        }
    }
    for (k, v) in &reader.counters().0 {
        *skipped.entry(k.clone()).or_insert(0) += v;
    }
    Ok(skipped)
}

/// Pass 2 of either form: writes the kept documents of one input (frequent lines removed) to its
/// output in `out` through a temporary name, then its completion marker.
pub fn filter_file(
    input: &InputFile,
    read_opts: &ReadOptions,
    out: &OutputLayout,
    decisions: &Decisions,
    lines: Option<&LineFilter>,
) -> Result<FileReport, DedupRunError> {
    let dest = &out.output(input);
    let marker = &out.marker(input);
    let mut w = DocWriter::create(dest, out.format, out.level).map_err(|e| io_err(dest, e))?;
    let mut rep = FileReport {
        input: input.path.display().to_string(),
        output: dest.display().to_string(),
        ..FileReport::default()
    };
    let mut ls = LineStats::default();
    let skipped = for_each_doc(input, read_opts, |r, mut doc| {
        rep.documents += 1;
        let size = match decisions.verdict(r) {
            Ok(s) => s,
            Err(reason) => {
                *rep.removed.entry(reason.to_string()).or_insert(0) += 1;
                return Ok(());
            }
        };
        if let Some(lf) = lines {
            let f = lf.filter(&doc.text);
            ls.record(&f);
            if f.lines_removed > 0 {
                if f.text.trim().is_empty() {
                    *rep.removed.entry("lines".to_string()).or_insert(0) += 1;
                    return Ok(());
                }
                doc.text = f.text.into_owned();
            }
        }
        doc.meta
            .insert(CLUSTER_META.into(), serde_json::Value::from(size));
        rep.kept += 1;
        rep.kept_bytes += doc.text.len() as u64;
        *rep.cluster_sizes.entry(size).or_insert(0) += 1;
        w.write(&doc, None).map_err(|e| io_err(dest, e))
    })?;
    rep.read_skipped = skipped;
    rep.lines_removed = ls.lines_removed;
    rep.line_bytes_removed = ls.bytes_removed;
    rep.documents_changed_by_lines = ls.documents_changed;
    w.commit().map_err(|e| io_err(dest, e))?;
    let bytes = serde_json::to_vec_pretty(&rep).expect("report serialises");
    write::write_atomic(marker, &bytes).map_err(|e| io_err(marker, e))?;
    Ok(rep)
}

/// Output, marker and report locations of a filter pass.
pub struct OutputLayout {
    pub dir: PathBuf,
    pub format: OutputFormat,
    pub level: i32,
}

impl OutputLayout {
    pub fn output(&self, input: &InputFile) -> PathBuf {
        self.dir.join(output_name(input, self.format))
    }
    pub fn marker(&self, input: &InputFile) -> PathBuf {
        self.dir
            .join(".tria/dedup-done")
            .join(format!("{}.json", input.rel))
    }
    pub fn report_path(&self) -> PathBuf {
        self.dir.join("report.json")
    }
}

/// The report of a dedup: totals over the files complete so far, plus the per-file counts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DedupReport {
    pub methods: Option<Methods>,
    pub inputs: usize,
    pub complete: usize,
    pub documents: u64,
    pub kept: u64,
    pub removed: BTreeMap<String, u64>,
    pub lines_removed: u64,
    pub line_bytes_removed: u64,
    pub documents_changed_by_lines: u64,
    /// Bytes held per document by pass 1 of the one-machine form.
    pub bytes_per_document: usize,
    /// Candidate pairs linked by MinHash-LSH (when known).
    pub near_pairs: Option<u64>,
    pub failed: Vec<String>,
    pub files: Vec<FileReport>,
}

impl DedupReport {
    /// Collects the markers of every input complete in `out`.
    pub fn collect(
        methods: &Methods,
        inputs: &[InputFile],
        out: &OutputLayout,
        near_pairs: Option<u64>,
        failed: Vec<String>,
    ) -> DedupReport {
        let mut r = DedupReport {
            methods: Some(methods.clone()),
            inputs: inputs.len(),
            bytes_per_document: methods.bytes_per_document(),
            near_pairs,
            failed,
            ..DedupReport::default()
        };
        for input in inputs {
            let Ok(text) = fs::read(out.marker(input)) else {
                continue;
            };
            let Ok(f) = serde_json::from_slice::<FileReport>(&text) else {
                continue;
            };
            r.complete += 1;
            r.documents += f.documents;
            r.kept += f.kept;
            for (k, v) in &f.removed {
                *r.removed.entry(k.clone()).or_insert(0) += v;
            }
            r.lines_removed += f.lines_removed;
            r.line_bytes_removed += f.line_bytes_removed;
            r.documents_changed_by_lines += f.documents_changed_by_lines;
            r.files.push(f);
        }
        r
    }

    pub fn write(&self, path: &Path) -> Result<(), DedupRunError> {
        let bytes = serde_json::to_vec_pretty(self).expect("report serialises");
        write::write_atomic(path, &bytes).map_err(|e| io_err(path, e))
    }

    /// A few lines for stderr.
    pub fn summary(&self) -> String {
        let removed: Vec<String> = self
            .removed
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        format!(
            "dedup: {} of {} files complete, {} documents, {} kept, removed: {}; {} lines removed\n",
            self.complete,
            self.inputs,
            self.documents,
            self.kept,
            if removed.is_empty() {
                "none".to_string()
            } else {
                removed.join(", ")
            },
            self.lines_removed
        )
    }
}

/// Flags of a run that do not change the output bytes.
#[derive(Clone, Debug, Default)]
pub struct Execution {
    /// Redo completed work.
    pub force: bool,
    /// Show a progress bar (callers pass true only on a terminal).
    pub progress: bool,
}

fn progress_bar(show: bool, len: usize, what: &str) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(len as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} files",
    ) {
        pb.set_style(style);
    }
    pb.set_prefix(what.to_string());
    pb
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Params {
    tria_version: String,
    methods: Methods,
    inputs: Vec<String>,
}

impl Params {
    fn new(methods: &Methods, inputs: &[InputFile]) -> Params {
        Params {
            tria_version: env!("CARGO_PKG_VERSION").to_string(),
            methods: methods.clone(),
            inputs: inputs
                .iter()
                .map(|i| i.path.display().to_string())
                .collect(),
        }
    }
}

/// Records `params` in `path`, or checks that the ones there are equal (`force`: replace them).
fn claim_params(path: &Path, params: &Params, force: bool) -> Result<bool, DedupRunError> {
    if let Ok(text) = fs::read(path) {
        match serde_json::from_slice::<Params>(&text) {
            Ok(old) if old == *params => return Ok(true),
            _ if force => {}
            _ => {
                return Err(cfg_err(format!(
                    "{} records another dedup (other inputs or parameters); use another \
                     directory, or --force",
                    path.display()
                ))
                .into());
            }
        }
    }
    let bytes = serde_json::to_vec_pretty(params).expect("params serialise");
    if let Err(e) = write::write_atomic(path, &bytes) {
        // Tasks started together race to record the same parameters: fine if they are ours.
        if fs::read(path).ok().as_deref() != Some(&bytes[..]) {
            return Err(io_err(path, e));
        }
    }
    Ok(false)
}

/// Whether the work directory `work` records a dedup of other inputs or methods than these
/// (`None`: it records none, or nothing readable). The same parameters [`signatures`] checks
/// before it goes on, less the tria version.
pub fn records_other(work: &Path, methods: &Methods, inputs: &[InputFile]) -> Option<bool> {
    let old: Params = serde_json::from_slice(&fs::read(work.join(PARAMS)).ok()?).ok()?;
    let new = Params::new(methods, inputs);
    Some(old.methods != new.methods || old.inputs != new.inputs)
}

fn load_params(work: &Path) -> Result<Params, DedupRunError> {
    let path = work.join(PARAMS);
    let text = fs::read(&path).map_err(|e| {
        io_err(
            &path,
            format!("{e} (run `tria dedup signatures` on this work directory first)"),
        )
    })?;
    serde_json::from_slice(&text).map_err(|e| io_err(&path, format!("corrupt: {e}")))
}

/// The one-machine form. Returns the report (written to `out/report.json`).
pub fn run_local(
    methods: &Methods,
    inputs: &[InputFile],
    read_opts: &ReadOptions,
    out: &OutputLayout,
    memory_budget: Option<usize>,
    exec: &Execution,
) -> Result<DedupReport, DedupRunError> {
    methods.validate()?;
    fs::create_dir_all(out.dir.join(".tria/dedup-done")).map_err(|e| io_err(&out.dir, e))?;
    let params = Params::new(methods, inputs);
    let same = claim_params(&out.dir.join(".tria").join(PARAMS), &params, exec.force)?;
    let todo: Vec<usize> = (0..inputs.len())
        .filter(|&i| exec.force || !same || !out.marker(&inputs[i]).is_file())
        .collect();
    if todo.is_empty() {
        let rep = DedupReport::collect(methods, inputs, out, None, Vec::new());
        rep.write(&out.report_path())?;
        return Ok(rep);
    }
    for &i in &todo {
        let _ = fs::remove_file(out.marker(&inputs[i]));
    }

    // Pass 1: every input, in input order.
    let mut exact = methods
        .exact
        .then(|| ExactDedup::new(Normalization::Whitespace));
    let mut url = methods
        .url
        .then(|| ExactDedup::new(Normalization::Whitespace));
    let mut lines = methods.lines.map(|_| LineCounter::new());
    let mut near = if methods.near {
        let mut d = LocalDedup::new(methods.minhash())?.with_temp_dir(out.dir.join(".tria"));
        if let Some(b) = memory_budget {
            d = d.with_memory_budget(b);
        }
        Some(d)
    } else {
        None
    };
    let mut failed: BTreeMap<usize, String> = BTreeMap::new();
    let pb = progress_bar(exec.progress, inputs.len(), "dedup pass 1");
    for (fi, input) in inputs.iter().enumerate() {
        let mut texts: Vec<(DocKey, LangText)> = Vec::with_capacity(BATCH);
        let mut urls: Vec<(DocKey, String)> = Vec::new();
        let mut flush = |texts: &mut Vec<(DocKey, LangText)>,
                         urls: &mut Vec<(DocKey, String)>|
         -> Result<(), DedupRunError> {
            if let Some(e) = exact.as_mut() {
                e.add_batch(texts);
            }
            if let Some(u) = url.as_mut() {
                u.add_batch(urls);
            }
            if let Some(l) = lines.as_mut() {
                let t: Vec<&str> = texts.iter().map(|(_, t)| t.text.as_str()).collect();
                l.add_batch(&t);
            }
            if let Some(n) = near.as_mut() {
                n.add_batch(texts)?;
            }
            texts.clear();
            urls.clear();
            Ok(())
        };
        let res = for_each_doc(input, read_opts, |r, doc| {
            let key = DocKey::new(fi as u32, r);
            if let Some(u) = doc.meta_str("url") {
                urls.push((key, u.to_string()));
            }
            texts.push((key, lang_text(doc)));
            if texts.len() == BATCH {
                flush(&mut texts, &mut urls)?;
            }
            Ok(())
        });
        // The documents read before a fatal error stay keyed: pass 2 reads the same ones.
        flush(&mut texts, &mut urls)?;
        if let Err(e) = res {
            failed.insert(fi, e.to_string());
        }
        pb.inc(1);
    }
    pb.finish_and_clear();
    let exact = exact.map(ExactDedup::finish);
    let url = url.map(ExactDedup::finish);
    let (near, near_pairs) = match near {
        Some(n) => {
            let (r, stats) = n.finish()?;
            (Some(r), Some(stats.pairs))
        }
        None => (None, None),
    };
    let line_filter = match (lines, methods.lines) {
        (Some(l), Some(max)) => Some(l.into_filter(max)),
        _ => None,
    };

    // Pass 2: each input in parallel, one output each.
    let pb = progress_bar(exec.progress, todo.len(), "dedup pass 2");
    let results: Vec<(usize, Result<FileReport, DedupRunError>)> = todo
        .par_iter()
        .filter(|i| !failed.contains_key(i))
        .map(|&i| {
            let f = i as u32;
            let d = Decisions {
                exact: exact.as_ref().map(|r| r.for_file(f)).unwrap_or_default(),
                url: url.as_ref().map(|r| r.for_file(f)).unwrap_or_default(),
                near: near.as_ref().map(|r| r.for_file(f)).unwrap_or_default(),
            };
            let input = &inputs[i];
            let r = filter_file(input, read_opts, out, &d, line_filter.as_ref());
            pb.inc(1);
            (i, r)
        })
        .collect();
    pb.finish_and_clear();
    for (i, r) in results {
        if let Err(e) = r {
            failed.insert(i, e.to_string());
        }
    }
    let rep = DedupReport::collect(
        methods,
        inputs,
        out,
        near_pairs,
        failed.into_values().collect(),
    );
    rep.write(&out.report_path())?;
    Ok(rep)
}

// ---------------------------------------------------------------------------------------------
// Sharded form. Work directory layout (besides the dedup crate's own `buckets/`, `shingles/`,
// `pairs/`, `removals/`):
//   tria-dedup.json               methods and input list, checked by every task
//   exact/file-N.bin, url/...     (xxh3-128, record) of every document of file N
//   lines/file-N.bin              (line hash, documents) of file N, sorted by hash
//   removals-exact/, removals-url/ per-file removal lists, written by the clusters task
//   lines-frequent.bin            the frequent line hashes, written by the clusters task
//   done/                         completion markers of the tasks

const HASHES_MAGIC: &[u8; 8] = b"TRIAXH01";
const LINES_MAGIC: &[u8; 8] = b"TRIALC01";
const FREQUENT_MAGIC: &[u8; 8] = b"TRIALF01";

fn file_path(work: &Path, dir: &str, f: usize) -> PathBuf {
    work.join(dir).join(format!("file-{f:08}.bin"))
}

fn done(work: &Path, name: &str) -> PathBuf {
    work.join("done").join(name)
}

fn write_bin(path: &Path, magic: &[u8; 8], body: &[u8]) -> Result<(), DedupRunError> {
    let mut f = write::AtomicFile::create(path).map_err(|e| io_err(path, e))?;
    f.write_all(magic)
        .and_then(|_| f.write_all(body))
        .map_err(|e| io_err(path, e))?;
    f.commit().map_err(|e| io_err(path, e))
}

fn read_bin(path: &Path, magic: &[u8; 8], entry: usize) -> Result<Vec<u8>, DedupRunError> {
    let mut bytes = Vec::new();
    fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| io_err(path, e))?;
    if bytes.len() < 8 || &bytes[..8] != magic || (bytes.len() - 8) % entry != 0 {
        return Err(io_err(
            path,
            "corrupt dedup work file (wrong magic or length)",
        ));
    }
    bytes.drain(..8);
    Ok(bytes)
}

fn le_u64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b.try_into().expect("8 bytes"))
}

/// Which input files rank `rank` of `ranks` owns.
pub fn rank_files(n: usize, rank: Option<(usize, usize)>) -> Vec<usize> {
    (0..n)
        .filter(|i| rank.is_none_or(|(r, k)| i % k == r))
        .collect()
}

/// Sharded stage 1: for each input file of this rank, its LSH bucket entries, exact/URL hashes and
/// line counts. Idempotent: files with a marker are skipped unless `force`.
pub fn signatures(
    work: &Path,
    methods: &Methods,
    inputs: &[InputFile],
    read_opts: &ReadOptions,
    rank: Option<(usize, usize)>,
    exec: &Execution,
) -> Result<(usize, Vec<String>), DedupRunError> {
    methods.validate()?;
    fs::create_dir_all(work.join("done")).map_err(|e| io_err(work, e))?;
    claim_params(&work.join(PARAMS), &Params::new(methods, inputs), false)?;
    let cfg = methods.minhash();
    if methods.near {
        sharded::prepare(work, &cfg)?;
    }
    let mine: Vec<usize> = rank_files(inputs.len(), rank)
        .into_iter()
        .filter(|&f| exec.force || !done(work, &format!("signatures-{f:08}")).is_file())
        .collect();
    let pb = progress_bar(exec.progress, mine.len(), "signatures");
    let mut failed = Vec::new();
    for &f in &mine {
        match signatures_file(work, methods, &cfg, f, &inputs[f], read_opts) {
            Ok(()) => {}
            Err(DedupRunError::Config(c)) => return Err(c.into()),
            Err(e) => failed.push(e.to_string()),
        }
        pb.inc(1);
    }
    pb.finish_and_clear();
    Ok((mine.len(), failed))
}

fn signatures_file(
    work: &Path,
    methods: &Methods,
    cfg: &MinHashConfig,
    f: usize,
    input: &InputFile,
    read_opts: &ReadOptions,
) -> Result<(), DedupRunError> {
    let mut exact: Vec<u8> = Vec::new();
    let mut url: Vec<u8> = Vec::new();
    let mut lines = LineCounter::new();
    let mut line_batch: Vec<String> = Vec::new();
    let mut texts: Vec<(u64, LangText)> = Vec::new();
    let push_hash = |buf: &mut Vec<u8>, r: u64, h: u128| {
        buf.extend_from_slice(&h.to_le_bytes());
        buf.extend_from_slice(&r.to_le_bytes());
    };
    for_each_doc(input, read_opts, |r, doc| {
        if methods.exact {
            push_hash(
                &mut exact,
                r,
                exact_hash(&doc.text, Normalization::Whitespace),
            );
        }
        if methods.url
            && let Some(u) = doc.meta_str("url")
        {
            push_hash(&mut url, r, exact_hash(u, Normalization::Whitespace));
        }
        if methods.lines.is_some() {
            line_batch.push(doc.text.clone());
            if line_batch.len() == BATCH {
                lines.add_batch(&line_batch);
                line_batch.clear();
            }
        }
        if methods.near {
            texts.push((r, lang_text(doc)));
        }
        Ok(())
    })?;
    lines.add_batch(&line_batch);
    if methods.near {
        sharded::signatures_task(work, cfg, f as u32, texts)?;
    }
    if methods.exact {
        write_bin(&file_path(work, "exact", f), HASHES_MAGIC, &exact)?;
    }
    if methods.url {
        write_bin(&file_path(work, "url", f), HASHES_MAGIC, &url)?;
    }
    if methods.lines.is_some() {
        let mut counts: Vec<(u64, u32)> = lines.counts().collect();
        counts.sort_unstable();
        let mut body = Vec::with_capacity(counts.len() * 12);
        for (h, c) in counts {
            body.extend_from_slice(&h.to_le_bytes());
            body.extend_from_slice(&c.to_le_bytes());
        }
        write_bin(&file_path(work, "lines", f), LINES_MAGIC, &body)?;
    }
    let marker = done(work, &format!("signatures-{f:08}"));
    write::write_atomic(&marker, input.path.display().to_string().as_bytes())
        .map_err(|e| io_err(&marker, e))
}

/// Sharded stage 2: duplicate pairs of the LSH bands of task `task` of `tasks`.
pub fn pairs(work: &Path, task: usize, tasks: usize, force: bool) -> Result<u64, DedupRunError> {
    if tasks == 0 || task >= tasks {
        return Err(cfg_err(format!("--task {task} is not below --tasks {tasks}")).into());
    }
    let params = load_params(work)?;
    let marker = done(work, &format!("pairs-{task}-of-{tasks}"));
    if !force && marker.is_file() {
        return Ok(0);
    }
    let n = params.methods.near.then(|| {
        sharded::pairs_task(
            work,
            &params.methods.minhash(),
            params.inputs.len() as u32,
            task,
            tasks,
        )
    });
    let n = n.transpose()?.unwrap_or(0);
    write::write_atomic(&marker, n.to_string().as_bytes()).map_err(|e| io_err(&marker, e))?;
    Ok(n)
}

fn exact_from_files(work: &Path, dir: &str, files: usize) -> Result<ExactDedup, DedupRunError> {
    let mut d = ExactDedup::new(Normalization::Whitespace);
    for f in 0..files {
        let p = file_path(work, dir, f);
        let bytes = read_bin(&p, HASHES_MAGIC, 24)?;
        for e in bytes.chunks_exact(24) {
            let h = u128::from_le_bytes(e[..16].try_into().expect("16 bytes"));
            d.add_hash(DocKey::new(f as u32, le_u64(&e[16..])), h);
        }
    }
    Ok(d)
}

/// Sharded stage 3 (one task): union-find over the pairs, exact and URL groups, frequent lines.
pub fn clusters(work: &Path, force: bool) -> Result<Option<u64>, DedupRunError> {
    let params = load_params(work)?;
    let m = &params.methods;
    let files = params.inputs.len();
    let marker = done(work, "clusters");
    if !force && marker.is_file() {
        return Ok(None);
    }
    for f in 0..files {
        let p = done(work, &format!("signatures-{f:08}"));
        if !p.is_file() {
            return Err(io_err(
                &p,
                "missing: run `tria dedup signatures` for every input first",
            ));
        }
    }
    let mut pairs = None;
    if m.near {
        let s = sharded::clusters_task(work, &m.minhash(), files as u32)?;
        pairs = Some(s.pairs);
    }
    for (on, dir, out) in [
        (m.exact, "exact", "removals-exact"),
        (m.url, "url", "removals-url"),
    ] {
        if !on {
            continue;
        }
        let r = exact_from_files(work, dir, files)?.finish();
        let d = work.join(out);
        fs::create_dir_all(&d).map_err(|e| io_err(&d, e))?;
        (0..files).into_par_iter().try_for_each(|f| {
            sharded::write_removals(&file_path(work, out, f), &r.for_file(f as u32))
        })?;
    }
    if let Some(max) = m.lines {
        let mut total: BTreeMap<u64, u64> = BTreeMap::new();
        for f in 0..files {
            let bytes = read_bin(&file_path(work, "lines", f), LINES_MAGIC, 12)?;
            for e in bytes.chunks_exact(12) {
                let c = u32::from_le_bytes(e[8..].try_into().expect("4 bytes"));
                *total.entry(le_u64(&e[..8])).or_insert(0) += u64::from(c);
            }
        }
        let mut body = Vec::new();
        for (h, c) in total {
            if c > u64::from(max) {
                body.extend_from_slice(&h.to_le_bytes());
            }
        }
        write_bin(&work.join("lines-frequent.bin"), FREQUENT_MAGIC, &body)?;
    }
    let text = serde_json::json!({ "near_pairs": pairs }).to_string();
    write::write_atomic(&marker, text.as_bytes()).map_err(|e| io_err(&marker, e))?;
    Ok(pairs)
}

/// Sharded stage 4: writes the kept documents of this rank's input files.
pub fn filter(
    work: &Path,
    inputs: &[InputFile],
    read_opts: &ReadOptions,
    out: &OutputLayout,
    rank: Option<(usize, usize)>,
    exec: &Execution,
) -> Result<DedupReport, DedupRunError> {
    let params = load_params(work)?;
    let listed: Vec<String> = inputs
        .iter()
        .map(|i| i.path.display().to_string())
        .collect();
    if listed != params.inputs {
        return Err(cfg_err(format!(
            "--input names other files than the signatures of {} ({} files there, {} here)",
            work.display(),
            params.inputs.len(),
            listed.len()
        ))
        .into());
    }
    let cm = done(work, "clusters");
    let near_pairs = fs::read(&cm)
        .map_err(|e| io_err(&cm, format!("{e} (run `tria dedup clusters` first)")))
        .map(|b| {
            serde_json::from_slice::<serde_json::Value>(&b)
                .ok()
                .and_then(|v| v["near_pairs"].as_u64())
        })?;
    let m = &params.methods;
    fs::create_dir_all(out.dir.join(".tria/dedup-done")).map_err(|e| io_err(&out.dir, e))?;
    claim_params(&out.dir.join(".tria").join(PARAMS), &params, exec.force)?;
    let line_filter = match m.lines {
        Some(_) => {
            let bytes = read_bin(&work.join("lines-frequent.bin"), FREQUENT_MAGIC, 8)?;
            Some(LineFilter::from_frequent(bytes.chunks_exact(8).map(le_u64)))
        }
        None => None,
    };
    let mine: Vec<usize> = rank_files(inputs.len(), rank)
        .into_iter()
        .filter(|&f| exec.force || !out.marker(&inputs[f]).is_file())
        .collect();
    let load = |on: bool, dir: &str, f: usize| -> Result<RemovalList, DedupRunError> {
        if !on {
            return Ok(RemovalList::default());
        }
        Ok(sharded::read_removals(&file_path(work, dir, f))?)
    };
    let pb = progress_bar(exec.progress, mine.len(), "filter");
    let results: Vec<Result<FileReport, DedupRunError>> = mine
        .par_iter()
        .map(|&f| {
            let d = Decisions {
                exact: load(m.exact, "removals-exact", f)?,
                url: load(m.url, "removals-url", f)?,
                near: if m.near {
                    sharded::load_removals(work, f as u32)?
                } else {
                    RemovalList::default()
                },
            };
            let input = &inputs[f];
            let _ = fs::remove_file(out.marker(input));
            let r = filter_file(input, read_opts, out, &d, line_filter.as_ref());
            pb.inc(1);
            r
        })
        .collect();
    pb.finish_and_clear();
    let failed = results
        .into_iter()
        .filter_map(|r| r.err().map(|e| e.to_string()))
        .collect();
    let rep = DedupReport::collect(m, inputs, out, near_pairs, failed);
    rep.write(&out.report_path())?;
    Ok(rep)
}

/// Parses a byte count with an optional K/M/G/T suffix (powers of 1024): `512M`, `4G`, `1000000`.
pub fn parse_bytes(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("`{s}`: unknown unit (K, M, G, T)")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a byte count (e.g. 4G, 512M, 1000000)"))?;
    n.checked_mul(mult)
        .and_then(|b| usize::try_from(b).ok())
        .ok_or_else(|| format!("`{s}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tria_dedup::MinHasher;

    fn hasher(lang: Option<&str>) -> MinHasher {
        let m = Methods {
            exact: false,
            url: false,
            near: true,
            ngram: 2,
            bands: 14,
            rows: 8,
            seed: 1,
            verify: None,
            lang: lang.map(str::to_string),
            lines: None,
        };
        MinHasher::new(m.minhash()).expect("valid parameters")
    }

    #[test]
    fn a_documents_language_changes_its_shingles() {
        let mh = hasher(None);
        let sh = |text: &str, lang: Option<&str>| mh.shingles_lang(text, lang);
        // Catalan elision and enclitics are cut in Catalan; elsewhere each stays one word.
        let ca = "L'àvia va dir-li que s'havia d'anar";
        assert_eq!(
            sh(ca, Some("ca")),
            sh("l avia va dir li que s havia d anar", Some("ca"))
        );
        assert_eq!(
            sh(ca, Some("eu")),
            sh("lavia va dirli que shavia danar", Some("eu"))
        );
        assert_ne!(sh(ca, Some("ca")), sh(ca, Some("eu")));
        // Basque case endings after a hyphen belong to their word; Galician rules cut `-a` off
        // as a clitic pronoun.
        let eu = "EAJ-a eta PNV-a 2018-an";
        assert_eq!(sh(eu, Some("eu")), sh("eaja eta pnva 0an", Some("eu")));
        assert_eq!(sh(eu, Some("gl")), sh("eaj a eta pnv a 0an", Some("gl")));
        assert_ne!(sh(eu, Some("eu")), sh(eu, Some("gl")));
        // Without `meta.lang`: the generic rules, or `--lang`.
        assert_eq!(sh(ca, None), sh(ca, Some("eu")));
        let with_ca = hasher(Some("ca"));
        assert_eq!(with_ca.shingles_lang(ca, None), sh(ca, Some("ca")));
        assert_eq!(with_ca.shingles_lang(ca, Some("eu")), sh(ca, Some("eu")));
        // Codes as they are written in the wild.
        assert_eq!(sh(ca, Some("ca-ES")), sh(ca, Some("ca")));
        assert_eq!(sh(ca, Some("CA")), sh(ca, Some("ca")));
    }

    #[test]
    fn runs_skipped_by_the_dedup_fast_path_split_as_the_whole_text() {
        // The dedup crate hands the splitter one whitespace-free run at a time and takes plain
        // runs of letters and digits as one word itself: the words must be those of the filters
        // crate's splitter on the whole text, in every language.
        let pieces = [
            "casa",
            "Casa",
            "CASA",
            "àvia",
            "Àvia",
            "l'home",
            "L'àvia",
            "d'aigua",
            "donar-li",
            "anar-se'n",
            "dixo-lle",
            "EAJ-a",
            "2018-an",
            "1999",
            "3.14",
            "1,000",
            "col·lecció",
            "po'",
            "σ'αγαπώ",
            "παρ'όλο",
            "don't",
            "I'm",
            "qu'il",
            "dell'anno",
            "(casa),",
            "\"àvia\".",
            "www.exemple.cat",
            "https://a.cat/b?c=1.",
            "joan.puig@exemple.cat",
            "...",
            "-",
            "'",
            "—",
            "€5",
            "½",
            "ﬁ",
            "e\u{301}",
            "Ὀδυσσεύς",
            "Москва́",
            "пам'ять",
            "中文",
            "😀",
            "x²",
        ];
        let spaces = [" ", "  ", "\n", "\t", "\u{a0}", "\u{2003}", ", ", ""];
        let joined_at_spaces: WordSplit = WordSplit::Raw(Arc::new(
            |t: &str, _: Option<&str>, sink: &mut dyn FnMut(&str)| {
                t.split(' ').filter(|w| !w.is_empty()).for_each(sink)
            },
        ));
        let reference = MinHasher::new(MinHashConfig {
            ngram: 2,
            splitter: joined_at_spaces,
            splitter_name: "reference".into(),
            ..MinHashConfig::default()
        })
        .expect("valid parameters");
        let mh = hasher(None);
        let mut rng = crate::fixtures::Rng(17);
        for _ in 0..400 {
            let mut text = String::new();
            for _ in 0..rng.below(12) {
                text.push_str(pieces[rng.below(pieces.len())]);
                text.push_str(spaces[rng.below(spaces.len())]);
            }
            for lang in [
                "ca", "eu", "gl", "pt", "fr", "it", "oc", "el", "en", "es", "",
            ] {
                let mut words = Vec::new();
                word_splitter(lang).for_each_token(&text, |t, kind| {
                    if kind == TokenKind::Word {
                        words.push(t)
                    }
                });
                assert_eq!(
                    mh.shingles_lang(&text, Some(lang)),
                    reference.shingles_lang(&words.join(" "), None),
                    "{lang}: {text:?} -> {words:?}"
                );
            }
        }
    }
}
