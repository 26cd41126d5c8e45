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
}

impl PipelineConfig {
    /// Reads and validates a pipeline file.
    pub fn load(path: &Path) -> Result<PipelineConfig, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(&name, format!("cannot read: {e}")))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
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
        Ok(PipelineConfig {
            source: name.to_string(),
            base_dir,
            input: raw.input,
            output: raw.output,
            stages,
        })
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
