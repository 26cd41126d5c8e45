//! Language identification for tria's 35 languages and `other`.

pub mod fasttext;
mod labels;

pub use labels::Lang;

/// Errors of language identification.
#[derive(Debug, thiserror::Error)]
pub enum LangError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A model file is malformed.
    #[error("{path}: invalid fastText model: {reason}")]
    Model {
        /// The model file (or `builtin`).
        path: String,
        /// What is wrong.
        reason: String,
    },
}
