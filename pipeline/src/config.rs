//! The pipeline file (TOML): `[input]`, `[output]`, `[[stage]]`.
//!
//! Everything is checked before any document is read: unknown or misspelt keys (named with the
//! file they are in), globs that match nothing, unknown stage kinds, outputs that collide.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::read::extract::ExtractMode;
use crate::read::{Format, ReadOptions};
use crate::write::OutputFormat;

/// A configuration error: the run stops before any work (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: file.into(),
            message: message.into(),
        }
    }
}

/// `[input]`: which files, and how to read them.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InputConfig {
    /// Files or glob patterns, relative to the pipeline file's directory.
    #[serde(default)]
    pub paths: Vec<String>,
    /// A text file listing one input path per line (as CommonCrawl's `wet.paths`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
    /// Overrides the format the file names imply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    #[serde(default = "default_text_field")]
    pub text_field: String,
    #[serde(default = "default_id_field")]
    pub id_field: String,
    #[serde(default = "default_parquet_batch")]
    pub parquet_batch: usize,
    #[serde(default = "default_max_html")]
    pub max_html_bytes: usize,
    /// WARC HTML: `main` (main content, boilerplate removed) or `all` (every text of the page).
    #[serde(default)]
    pub extract: ExtractMode,
}

fn default_text_field() -> String {
    ReadOptions::default().text_field
}
fn default_id_field() -> String {
    ReadOptions::default().id_field
}
fn default_parquet_batch() -> usize {
    ReadOptions::default().parquet_batch
}
fn default_max_html() -> usize {
    ReadOptions::default().max_html_bytes
}

impl Default for InputConfig {
    fn default() -> Self {
        InputConfig {
            paths: Vec::new(),
            list: None,
            format: None,
            text_field: default_text_field(),
            id_field: default_id_field(),
            parquet_batch: default_parquet_batch(),
            max_html_bytes: default_max_html(),
            extract: ExtractMode::default(),
        }
    }
}

impl InputConfig {
    pub fn read_options(&self) -> ReadOptions {
        ReadOptions {
            text_field: self.text_field.clone(),
            id_field: self.id_field.clone(),
            parquet_batch: self.parquet_batch,
            max_html_bytes: self.max_html_bytes,
            extract: self.extract,
        }
    }
}

/// `[output]`: where and how documents are written.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// Output directory, relative to the pipeline file's directory.
    #[serde(default)]
    pub dir: String,
    #[serde(default)]
    pub format: OutputFormat,
    /// zstd level for `jsonl.zst`.
    #[serde(default = "default_level")]
    pub level: i32,
    /// Partition outputs by this `meta` field (`out/<value>/...`), e.g. `lang`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_by: Option<String>,
    /// Write dropped documents of every stage to `out/_rejects/<stage>/...` with their reason.
    #[serde(default)]
    pub rejects: bool,
    /// `documents` (the default) or `tokens`: one Megatron shard per input file
    /// (`<rel>.bin/.idx/.json`) encoded with `tokenizer`.
    #[serde(default, skip_serializing_if = "OutputKind::is_documents")]
    pub kind: OutputKind,
    /// The `tokenizer.json` for `kind = "tokens"`, relative to the pipeline file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<String>,
}

/// What a pipeline writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputKind {
    /// Documents as JSONL.zst, JSONL or Parquet.
    #[default]
    Documents,
    /// Token shards (Megatron `.bin/.idx` plus tria's sidecar `.json`).
    Tokens,
}

impl OutputKind {
    pub fn is_documents(&self) -> bool {
        *self == OutputKind::Documents
    }
}

fn default_level() -> i32 {
    3
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            dir: String::new(),
            format: OutputFormat::default(),
            level: default_level(),
            partition_by: None,
            rejects: false,
            kind: OutputKind::Documents,
            tokenizer: None,
        }
    }
}

/// One `[[stage]]`: its kind, common keys, and the kind's own settings (defaults filled in).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StageConfig {
    pub kind: String,
    pub name: String,
    /// Write this stage's dropped documents to a rejects file.
    pub rejects: bool,
    /// The kind's own settings, as resolved (every threshold written out), for the manifest.
    pub settings: serde_json::Value,
    /// The kind's own keys as given (paths resolved), from which the stage is built.
    #[serde(skip)]
    pub table: toml::Table,
}

/// A whole pipeline, resolved.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PipelineConfig {
    /// The file it came from (`<command line>` for a one-off run).
    pub source: String,
    /// Directory that relative paths are resolved against.
    pub base_dir: PathBuf,
    pub input: InputConfig,
    pub output: OutputConfig,
    pub stages: Vec<StageConfig>,
    /// `[dedup]`: corpus-wide dedup after the stages, within each output partition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedup: Option<DedupSection>,
    /// `[tokenize]`: one Megatron shard per partition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokenize: Option<TokenizeSection>,
    /// `[eval]`: the shards scored with the bundled model runtime.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval: Option<EvalSection>,
}

/// `[dedup]`: what the global dedup steps remove, within each partition of the output (each
/// language with `partition_by = "lang"`, whose word-splitting rules then cut the shingles).
/// Defaults are `tria dedup`'s, i.e. FineWeb's MinHash setting (5-gram shingles, 14 bands × 8
/// rows, about 0.75 Jaccard at the 50 % point).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DedupSection {
    #[serde(default = "yes")]
    pub exact: bool,
    #[serde(default = "yes")]
    pub near: bool,
    #[serde(default)]
    pub url: bool,
    /// Remove lines found in more than this many documents of the partition (CCNet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<u32>,
    #[serde(default = "default_ngram")]
    pub ngram: usize,
    #[serde(default = "default_bands")]
    pub bands: usize,
    #[serde(default = "default_rows")]
    pub rows: usize,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Link a candidate pair only when the exact Jaccard of its shingles is at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<f64>,
}

fn yes() -> bool {
    true
}
fn default_ngram() -> usize {
    5
}
fn default_bands() -> usize {
    14
}
fn default_rows() -> usize {
    8
}
fn default_seed() -> u64 {
    1
}

/// `[tokenize]`: a given `tokenizer.json`, or one trained on the run's final documents.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TokenizeSection {
    /// An HF `tokenizer.json` (Salamandra's, say), relative to the pipeline file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<String>,
    /// Instead: train a SentencePiece-style BPE of this vocabulary size on the final documents
    /// (step `tokenizer-train`, written to `OUT/tokenizer/tokenizer.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_vocab_size: Option<usize>,
}

/// `[eval]`: score the shards with a Llama-family model directory, or train a small model on
/// them and report its held-out loss per language (a data ablation that needs no model).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EvalSection {
    /// Model directory (config.json + safetensors), relative to the pipeline file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Window length in tokens (default: the model's, at most 2048 on CPU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<usize>,
    /// Instead of `model`: optimisation steps of a small Llama trained on the shards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_steps: Option<usize>,
    #[serde(default = "default_hidden")]
    pub hidden: usize,
    #[serde(default = "default_layers")]
    pub layers: usize,
    #[serde(default = "default_heads")]
    pub heads: usize,
    #[serde(default = "default_seq_len")]
    pub seq_len: usize,
    #[serde(default)]
    pub seed: u64,
    /// Share of documents held out from training and scored (with `train_steps`).
    #[serde(default = "default_heldout")]
    pub heldout_fraction: f64,
}

fn default_heldout() -> f64 {
    0.05
}
fn default_hidden() -> usize {
    256
}
fn default_layers() -> usize {
    4
}
fn default_heads() -> usize {
    4
}
fn default_seq_len() -> usize {
    256
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    #[serde(default)]
    input: InputConfig,
    #[serde(default)]
    output: OutputConfig,
    #[serde(default)]
    stage: Vec<toml::Table>,
    #[serde(default)]
    dedup: Option<DedupSection>,
    #[serde(default)]
    tokenize: Option<TokenizeSection>,
    #[serde(default)]
    eval: Option<EvalSection>,
}

impl PipelineConfig {
    /// Reads and validates a pipeline file.
    pub fn load(path: &Path) -> Result<PipelineConfig, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(&name, format!("cannot read: {e}")))?;
        // Absolute, so that every path the run derives (step directories handed to later steps,
        // a Slurm job's working directory) means the same wherever it is used.
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        let base = match parent {
            Some(p) => std::path::absolute(p),
            None => std::env::current_dir(),
        }
        .map_err(|e| ConfigError::new(&name, format!("cannot resolve its directory: {e}")))?;
        Self::parse(&text, &name, base)
    }

    /// Parses pipeline TOML; `name` is used in errors, `base_dir` for relative paths.
    pub fn parse(text: &str, name: &str, base_dir: PathBuf) -> Result<PipelineConfig, ConfigError> {
        let raw: RawPipeline =
            toml::from_str(text).map_err(|e| ConfigError::new(name, e.to_string().trim_end()))?;
        let mut stages = Vec::new();
        for (i, table) in raw.stage.into_iter().enumerate() {
            stages.push(stage_config(table, i, name, &base_dir)?);
        }
        let mut names = std::collections::BTreeSet::new();
        for s in &stages {
            if !names.insert(s.name.clone()) {
                return Err(ConfigError::new(
                    name,
                    format!(
                        "two stages are named `{}`: give one a distinct `name`",
                        s.name
                    ),
                ));
            }
        }
        let config = PipelineConfig {
            source: name.to_string(),
            base_dir,
            input: raw.input,
            output: raw.output,
            stages,
            dedup: raw.dedup,
            tokenize: raw.tokenize,
            eval: raw.eval,
        };
        config.check_steps()?;
        Ok(config)
    }

    /// Whether the pipeline is a chain of steps (filter, then dedup / tokenize / eval).
    pub fn has_steps(&self) -> bool {
        self.dedup.is_some() || self.tokenize.is_some() || self.eval.is_some()
    }

    /// The checks across sections of a multi-step pipeline.
    fn check_steps(&self) -> Result<(), ConfigError> {
        let err = |m: &str| Err(ConfigError::new(self.source.clone(), m));
        if self.has_steps() && !self.output.kind.is_documents() {
            return err(
                "[output] kind = \"tokens\" cannot be combined with [dedup], [tokenize] or [eval]: \
                 use [tokenize] for token shards after dedup",
            );
        }
        if let Some(t) = &self.tokenize {
            match (&t.tokenizer, t.train_vocab_size) {
                (Some(_), Some(_)) => {
                    return err("[tokenize]: give `tokenizer` or `train_vocab_size`, not both");
                }
                (None, None) => {
                    return err("[tokenize]: give `tokenizer = \"path/tokenizer.json\"` or \
                         `train_vocab_size = N`");
                }
                (None, Some(v)) if v < 260 => {
                    return err("[tokenize] train_vocab_size must be at least 260");
                }
                _ => {}
            }
        }
        if let Some(e) = &self.eval {
            if self.tokenize.is_none() {
                return err("[eval] needs [tokenize]: it scores the token shards");
            }
            match (&e.model, e.train_steps) {
                (Some(_), Some(_)) => {
                    return err("[eval]: give `model` or `train_steps`, not both");
                }
                (None, None) => {
                    return err("[eval]: give `model = \"dir\"` or `train_steps = N`");
                }
                (None, Some(0)) => return err("[eval] train_steps must be at least 1"),
                _ if !(0.0..1.0).contains(&e.heldout_fraction) => {
                    return err("[eval] heldout_fraction must lie in [0, 1)");
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Resolves a path from the pipeline file against its directory.
    pub fn resolve(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    /// A fingerprint of everything that decides the output bytes (not threads or progress).
    pub fn fingerprint(&self) -> String {
        let v = serde_json::json!({
            "input": {"format": self.input.format, "text_field": self.input.text_field,
                      "id_field": self.input.id_field, "max_html_bytes": self.input.max_html_bytes,
                      "extract": self.input.extract},
            "output": self.output,
            "stages": self.stages,
        });
        format!(
            "{:032x}",
            xxhash_rust::xxh3::xxh3_128(v.to_string().as_bytes())
        )
    }
}

fn stage_config(
    mut table: toml::Table,
    index: usize,
    file: &str,
    base: &Path,
) -> Result<StageConfig, ConfigError> {
    let at = format!("[[stage]] #{}", index + 1);
    let kind = match table.remove("kind") {
        Some(toml::Value::String(k)) => k,
        Some(_) => {
            return Err(ConfigError::new(
                file,
                format!("{at}: `kind` must be a string"),
            ));
        }
        None => return Err(ConfigError::new(file, format!("{at}: missing `kind`"))),
    };
    let name = match table.remove("name") {
        Some(toml::Value::String(n)) => n,
        Some(_) => {
            return Err(ConfigError::new(
                file,
                format!("{at}: `name` must be a string"),
            ));
        }
        None => kind.clone(),
    };
    let rejects = match table.remove("rejects") {
        Some(toml::Value::Boolean(b)) => b,
        Some(_) => {
            return Err(ConfigError::new(
                file,
                format!("{at}: `rejects` must be true or false"),
            ));
        }
        None => false,
    };
    let (table, settings) = crate::stages::resolve_settings(&kind, table, base)
        .map_err(|e| ConfigError::new(file, format!("{at} (kind = \"{kind}\"): {e}")))?;
    Ok(StageConfig {
        kind,
        name,
        rejects,
        settings,
        table,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspelt_keys_are_errors_naming_key_and_file() {
        let e = PipelineConfig::parse("[input]\npahts = [\"x\"]\n", "p.toml", PathBuf::new())
            .unwrap_err();
        assert!(e.to_string().starts_with("p.toml:"), "{e}");
        assert!(e.to_string().contains("pahts"), "{e}");

        let e = PipelineConfig::parse(
            "[[stage]]\nkind = \"length\"\nmin_chras = 3\n",
            "q.toml",
            PathBuf::new(),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("q.toml") && e.to_string().contains("min_chras"),
            "{e}"
        );

        let e = PipelineConfig::parse("[[stage]]\nkind = \"lenght\"\n", "r.toml", PathBuf::new())
            .unwrap_err();
        assert!(e.to_string().contains("unknown stage kind `lenght`"), "{e}");

        let e =
            PipelineConfig::parse("[outptu]\ndir = \"x\"\n", "s.toml", PathBuf::new()).unwrap_err();
        assert!(e.to_string().contains("outptu"), "{e}");
    }

    #[test]
    fn defaults_are_filled_in() {
        let c = PipelineConfig::parse(
            "[input]\npaths = [\"a.wet\"]\n[output]\ndir = \"out\"\n[[stage]]\nkind = \"length\"\n",
            "p.toml",
            PathBuf::from("/base"),
        )
        .unwrap();
        assert_eq!(c.output.format, OutputFormat::JsonlZst);
        let t = c.stages[0].settings["thresholds"].as_array().unwrap();
        assert!(
            t.iter()
                .any(|t| t["reason"] == "too_many_words" && t["value"] == 100_000.0),
            "{t:?}"
        );
        assert_eq!(c.resolve("out"), PathBuf::from("/base/out"));
        let again = c.clone();
        assert_eq!(c.fingerprint(), again.fingerprint());
    }
}
