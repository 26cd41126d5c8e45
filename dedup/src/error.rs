//! Errors of the dedup crate. Every variant names the file it concerns.

use std::path::PathBuf;

/// Everything that can go wrong while deduplicating.
#[derive(Debug, thiserror::Error)]
pub enum DedupError {
    /// An I/O failure on a work or temporary file.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An intermediate file does not have the expected layout (truncated, foreign or from another version).
    #[error("{path}: corrupt dedup file: {reason}")]
    Corrupt {
        /// The file concerned.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A configuration value is out of range.
    #[error("invalid dedup configuration: {0}")]
    Config(String),
    /// A sharded stage was run against a work directory prepared with other parameters.
    #[error("{path}: work directory was prepared with {found}, this run asks for {expected}")]
    ParamsMismatch {
        /// The parameter file of the work directory.
        path: PathBuf,
        /// The parameters on disk.
        found: String,
        /// The parameters of this run.
        expected: String,
    },
    /// A stage needs the output of an earlier stage that is not there.
    #[error("{path}: missing output of an earlier stage ({stage})")]
    MissingStage {
        /// The file that should exist.
        path: PathBuf,
        /// The stage that should have produced it.
        stage: &'static str,
    },
}

impl DedupError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DedupError::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        DedupError::Corrupt {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, DedupError>;
