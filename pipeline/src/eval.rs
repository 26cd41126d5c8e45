//! Glue between token shards (`tria_tokenizer::shards`) and the model runtime (`tria_runtime`):
//! reading a shard's documents as [`EvalDoc`]s, the per-shard result cache that lets `tria eval`
//! skip shards already evaluated, and the held-out split of `tria train-small`.
//!
//! A shard is a Megatron indexed dataset (`PREFIX.bin` + `PREFIX.idx`) with tria's sidecar
//! `PREFIX.json`, which gives each document's UTF-8 byte count (for bits per byte) and language.
//! Documents are read in shard order; a document's tokens are the concatenation of its sequences.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tria_runtime::{EvalDoc, EvalReport, RuntimeError, WindowMode};
use tria_tokenizer::shards::{IndexedDataset, Sidecar, shard_paths};
use xxhash_rust::xxh3::Xxh3;

/// What can go wrong reading shards or the evaluation cache.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The shard's `.idx`/`.bin`/sidecar could not be opened or is malformed.
    #[error("shard {prefix}: {source}")]
    Shard {
        prefix: PathBuf,
        #[source]
        source: tria_tokenizer::Error,
    },
    /// The sidecar does not describe the dataset next to it.
    #[error("shard {prefix}: sidecar {sidecar} does not match the dataset: {reason}")]
    SidecarMismatch {
        prefix: PathBuf,
        sidecar: PathBuf,
        reason: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> EvalError + '_ {
    move |source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Accepts a shard prefix, or one of its files (`PREFIX.bin`, `PREFIX.idx`, `PREFIX.json`) as a
/// shell glob would give them, and returns the prefix.
pub fn shard_prefix(arg: &Path) -> PathBuf {
    let s = arg.to_string_lossy();
    for suffix in [".bin", ".idx", ".json"] {
        if let Some(stem) = s.strip_suffix(suffix) {
            let prefix = PathBuf::from(stem);
            if shard_paths(&prefix).1.is_file() {
                return prefix;
            }
        }
    }
    arg.to_path_buf()
}

/// One opened shard: the mapped dataset and its sidecar (absent for shards made by other tools;
/// then documents have no language and no byte count, so no bits per byte).
#[derive(Debug)]
pub struct Shard {
    /// The label reports use: the prefix as given.
    pub label: String,
    pub prefix: PathBuf,
    pub dataset: IndexedDataset,
    pub sidecar: Option<Sidecar>,
}

impl Shard {
    /// Opens `prefix` and checks its sidecar (if any) against the dataset.
    pub fn open(prefix: &Path) -> Result<Shard, EvalError> {
        let shard_err = |source| EvalError::Shard {
            prefix: prefix.to_path_buf(),
            source,
        };
        let dataset = IndexedDataset::open(prefix).map_err(shard_err)?;
        let (_, _, json) = shard_paths(prefix);
        let sidecar = if json.is_file() {
            let s = Sidecar::read(&json).map_err(shard_err)?;
            if s.documents != dataset.documents() as u64 {
                return Err(EvalError::SidecarMismatch {
                    prefix: prefix.to_path_buf(),
                    sidecar: json,
                    reason: format!(
                        "it lists {} documents, the index holds {}",
                        s.documents,
                        dataset.documents()
                    ),
                });
            }
            Some(s)
        } else {
            None
        };
        Ok(Shard {
            label: prefix.to_string_lossy().into_owned(),
            prefix: prefix.to_path_buf(),
            dataset,
            sidecar,
        })
    }

    /// Number of documents.
    pub fn documents(&self) -> usize {
        self.dataset.documents()
    }

    /// The end-of-document token the sidecar records.
    pub fn eod(&self) -> Option<u32> {
        self.sidecar.as_ref().and_then(|s| s.eod_token)
    }

    /// Document `d`'s tokens (all its sequences), without the trailing end-of-document token when
    /// `strip_eod` (the sidecar's EOD token; lm-eval scores the text's tokens only).
    pub fn tokens(&self, d: usize, strip_eod: bool) -> Vec<u32> {
        let mut out = Vec::new();
        if let Some(range) = self.dataset.document(d) {
            for i in range {
                if let Some(seq) = self.dataset.get(i) {
                    out.extend(seq.iter());
                }
            }
        }
        if strip_eod && out.last().is_some_and(|&t| Some(t) == self.eod()) {
            out.pop();
        }
        out
    }

    /// Document `d`'s language (`None` when unknown) and UTF-8 byte count (0 without a sidecar).
    pub fn doc_info(&self, d: usize) -> (Option<String>, u64) {
        match &self.sidecar {
            Some(s) => {
                let lang = s
                    .doc_lang
                    .get(d)
                    .and_then(|&l| s.lang_table.get(l as usize))
                    .filter(|l| !l.is_empty())
                    .cloned();
                (lang, s.doc_utf8_bytes.get(d).copied().unwrap_or(0))
            }
            None => (None, 0),
        }
    }

    /// Document `d` as the runtime scores it.
    pub fn eval_doc(&self, d: usize, strip_eod: bool) -> EvalDoc {
        let (lang, bytes) = self.doc_info(d);
        EvalDoc {
            tokens: self.tokens(d, strip_eod),
            bytes,
            lang,
            shard: self.label.clone(),
        }
    }

    /// All documents in shard order, read lazily.
    pub fn eval_docs(&self, strip_eod: bool) -> impl Iterator<Item = EvalDoc> + '_ {
        (0..self.documents()).map(move |d| self.eval_doc(d, strip_eod))
    }

    /// A fingerprint of the shard's content: the index and sidecar bytes and the size of `.bin`
    /// (the index fixes every sequence's offset and length, so a changed shard changes it).
    pub fn fingerprint(&self) -> Result<String, EvalError> {
        let (bin, idx, json) = shard_paths(&self.prefix);
        let mut h = Xxh3::new();
        h.update(&std::fs::read(&idx).map_err(io_err(&idx))?);
        let bin_len = std::fs::metadata(&bin).map_err(io_err(&bin))?.len();
        h.update(&bin_len.to_le_bytes());
        if json.is_file() {
            h.update(&std::fs::read(&json).map_err(io_err(&json))?);
        }
        Ok(format!("{:016x}", h.digest()))
    }
}

/// A fingerprint of a model directory: `config.json`'s bytes and the name, size and modification
/// time of each weight file (hashing tens of GB of weights on every run would cost minutes).
pub fn model_fingerprint(dir: &Path) -> Result<String, EvalError> {
    let mut h = Xxh3::new();
    let config = dir.join("config.json");
    h.update(&std::fs::read(&config).map_err(io_err(&config))?);
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("model") && name.contains(".safetensors") {
            let meta = entry.metadata().map_err(io_err(&entry.path()))?;
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            files.push((name, meta.len(), mtime));
        }
    }
    files.sort();
    for (name, len, mtime) in files {
        h.update(name.as_bytes());
        h.update(&len.to_le_bytes());
        h.update(&mtime.to_le_bytes());
    }
    Ok(format!("{:016x}", h.digest()))
}

/// What a cached shard result was computed with; a cached result is reused only when all match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheKey {
    pub model: String,
    pub shard: String,
    pub mode: WindowMode,
    pub context: usize,
    pub bos: Option<u32>,
    pub strip_eod: bool,
}

/// The per-shard file `tria eval` writes next to its JSON report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedShard {
    pub format: String,
    pub key: CacheKey,
    pub report: EvalReport,
    /// The exact bits of every `nll_sum` (`total`, `shard:NAME`, `lang:NAME`): JSON decimals do
    /// not always parse back to the same f64, and a merged report must not depend on whether a
    /// shard was reused.
    pub nll_bits: BTreeMap<String, u64>,
}

fn nll_entries(r: &mut EvalReport) -> impl Iterator<Item = (String, &mut f64)> {
    std::iter::once(("total".to_string(), &mut r.total.nll_sum))
        .chain(
            r.shards
                .iter_mut()
                .map(|(k, m)| (format!("shard:{k}"), &mut m.nll_sum)),
        )
        .chain(
            r.languages
                .iter_mut()
                .map(|(k, m)| (format!("lang:{k}"), &mut m.nll_sum)),
        )
}

impl CachedShard {
    /// The cache entry for `report`, computed with `key`.
    pub fn new(key: CacheKey, mut report: EvalReport) -> CachedShard {
        let nll_bits = nll_entries(&mut report)
            .map(|(k, v)| (k, v.to_bits()))
            .collect();
        CachedShard {
            format: CACHE_FORMAT.to_string(),
            key,
            report,
            nll_bits,
        }
    }
}

/// Format tag of [`CachedShard`] files.
pub const CACHE_FORMAT: &str = "tria-eval-shard/1";

/// Where the cached result of shard `prefix` goes for the report `json`:
/// `JSON.shards/<file name>-<hash of the absolute prefix>.json`.
pub fn cache_path(json: &Path, prefix: &Path) -> PathBuf {
    let abs = std::path::absolute(prefix).unwrap_or_else(|_| prefix.to_path_buf());
    let hash = xxhash_rust::xxh3::xxh3_64(abs.to_string_lossy().as_bytes());
    let name = prefix
        .file_name()
        .map_or_else(|| "shard".to_string(), |n| n.to_string_lossy().into_owned());
    let mut dir = json.as_os_str().to_owned();
    dir.push(".shards");
    PathBuf::from(dir).join(format!("{name}-{hash:016x}.json"))
}

/// The cached report at `path` when it exists and was made with `key` (relabelled to `label`).
/// A missing, unreadable or stale file gives `None`: the shard is evaluated again.
pub fn load_cached(path: &Path, key: &CacheKey, label: &str) -> Option<EvalReport> {
    let bytes = std::fs::read(path).ok()?;
    let cached: CachedShard = serde_json::from_slice(&bytes).ok()?;
    if cached.format != CACHE_FORMAT || &cached.key != key || cached.report.shards.len() != 1 {
        return None;
    }
    let mut report = cached.report;
    for (k, v) in nll_entries(&mut report) {
        *v = f64::from_bits(*cached.nll_bits.get(&k)?);
    }
    let metrics = report.shards.pop_first().map(|(_, m)| m)?;
    report.shards.insert(label.to_string(), metrics);
    Some(report)
}

/// An empty report to merge shard reports into.
pub fn empty_report(mode: WindowMode, context: usize, bos: Option<u32>) -> EvalReport {
    EvalReport {
        mode,
        context,
        bos,
        total: Default::default(),
        shards: Default::default(),
        languages: Default::default(),
    }
}

/// Whether document `d` of the shard labelled `label` goes to the held-out set of `tria
/// train-small`: a hash of the shard's file name and the document number below `fraction`, so the
/// split does not depend on the seed, the order of the shards or the directory they are in.
pub fn is_heldout(label: &str, d: usize, fraction: f64) -> bool {
    let name = Path::new(label)
        .file_name()
        .map_or_else(|| label.to_string(), |n| n.to_string_lossy().into_owned());
    let mut h = Xxh3::new();
    h.update(name.as_bytes());
    h.update(&(d as u64).to_le_bytes());
    ((h.digest() >> 11) as f64 / (1u64 << 53) as f64) < fraction
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heldout_fraction_is_roughly_respected_and_stable() {
        let n = (0..10_000)
            .filter(|&d| is_heldout("a/s-000", d, 0.1))
            .count();
        assert!((800..1200).contains(&n), "{n}");
        assert_eq!(
            (0..100)
                .map(|d| is_heldout("x/s-000", d, 0.3))
                .collect::<Vec<_>>(),
            (0..100)
                .map(|d| is_heldout("y/s-000", d, 0.3))
                .collect::<Vec<_>>()
        );
        assert_eq!((0..100).filter(|&d| is_heldout("s", d, 0.0)).count(), 0);
        assert_eq!((0..100).filter(|&d| is_heldout("s", d, 1.0)).count(), 100);
    }

    #[test]
    fn cache_path_sits_next_to_the_json() {
        let p = cache_path(Path::new("/r/eval.json"), Path::new("/d/cc-ca-000"));
        assert_eq!(p.parent(), Some(Path::new("/r/eval.json.shards")));
        assert!(
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("cc-ca-000-"))
        );
        assert_ne!(
            p,
            cache_path(Path::new("/r/eval.json"), Path::new("/e/cc-ca-000"))
        );
    }
}
