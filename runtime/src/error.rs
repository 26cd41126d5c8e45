//! The one error type of the crate. Every variant names the file, tensor or document it is about.

use std::path::PathBuf;

/// Everything that can go wrong while loading, evaluating or training a model.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `config.json` (or the safetensors index) is not valid JSON of the expected shape.
    #[error("{path}: invalid JSON: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// The configuration parses but describes something this runtime cannot run.
    #[error("{path}: invalid model config: {reason}")]
    Config { path: PathBuf, reason: String },
    /// A safetensors file is malformed.
    #[error("{path}: invalid safetensors file: {reason}")]
    Safetensors { path: PathBuf, reason: String },
    /// A weight the architecture needs is absent from every weight file.
    #[error("{path}: missing tensor `{name}`")]
    MissingTensor { path: PathBuf, name: String },
    /// A weight has the wrong shape for the configuration.
    #[error("{path}: tensor `{name}` has shape {got:?}, the config implies {expected:?}")]
    TensorShape {
        path: PathBuf,
        name: String,
        got: Vec<usize>,
        expected: Vec<usize>,
    },
    /// A weight is stored in a dtype we do not convert (only F32, BF16 and F16 are read).
    #[error("{path}: tensor `{name}` has unsupported dtype {dtype}")]
    TensorDType {
        path: PathBuf,
        name: String,
        dtype: String,
    },
    /// A document holds a token id the model has no embedding for.
    #[error(
        "shard {shard}, document {doc}: token id {token} is outside the model vocabulary ({vocab})"
    )]
    TokenOutOfRange {
        shard: String,
        doc: u64,
        token: u32,
        vocab: usize,
    },
    /// Evaluation or training options that cannot work (zero batch, context above the model's, ...).
    #[error("invalid options: {0}")]
    Options(String),
    /// A tensor operation failed (out of memory, CUDA error, shape bug).
    #[error("tensor computation failed: {0}")]
    Candle(#[from] candle_core::Error),
}

impl RuntimeError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// Shorthand used across the crate.
pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;
