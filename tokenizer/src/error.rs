//! The crate's error type: every variant names the file (and record where there is one) and why.

use std::path::PathBuf;

/// Everything that can go wrong in `tria-tokenizer`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error on a named file.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A `.idx` / `.bin` pair that is not a valid Megatron indexed dataset.
    #[error("{path}: not a valid Megatron indexed dataset: {reason}")]
    BadIndex { path: PathBuf, reason: String },
    /// A sidecar JSON that is missing a field or cannot be parsed.
    #[error("{path}: bad shard sidecar: {reason}")]
    BadSidecar { path: PathBuf, reason: String },
    /// Shards that cannot be merged (different dtype or tokenizer).
    #[error("cannot merge {path}: {reason}")]
    Incompatible { path: PathBuf, reason: String },
    /// A token id that does not fit the shard's dtype.
    #[error("{path}: document {doc}: token id {token} does not fit {dtype}")]
    TokenOutOfRange {
        path: PathBuf,
        doc: u64,
        token: u32,
        dtype: &'static str,
    },
    /// A document or sequence index past the end of a dataset.
    #[error("{path}: index {index} out of range (len {len})")]
    OutOfRange {
        path: PathBuf,
        index: usize,
        len: usize,
    },
    /// The `tokenizers` library refused a tokenizer file or an input.
    #[error("{what}: {message}")]
    Tokenizer { what: String, message: String },
    /// Invalid trainer or writer options (a config error: raised before any input is read).
    #[error("invalid option: {0}")]
    Config(String),
    /// The training corpus gave nothing to learn from.
    #[error("training corpus is empty (no words after pre-tokenization)")]
    EmptyCorpus,
}

/// Shorthand for this crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}
