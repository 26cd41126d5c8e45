//! Encoding documents with any HF `tokenizer.json` into a Megatron shard.
//!
//! Documents are read in batches from the caller's iterator, each batch is encoded in parallel
//! (rayon, one document per task) and written back in input order, so the shard is byte-identical
//! whatever the thread count.

use std::path::Path;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::shards::{ShardMeta, ShardWriter};

/// Tokens that commonly mark the end of a document, tried in order when no EOD is given.
const EOD_CANDIDATES: &[&str] = &[
    "</s>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<eos>",
    "<|eot_id|>",
    "[SEP]",
];

/// A loaded tokenizer plus what shards record about it.
pub struct Encoder {
    tokenizer: tokenizers::Tokenizer,
    hash: String,
    eod: Option<u32>,
    add_special_tokens: bool,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("hash", &self.hash)
            .field("vocab_size", &self.vocab_size())
            .field("eod", &self.eod)
            .finish()
    }
}

impl Encoder {
    /// Loads a `tokenizer.json` file.
    pub fn from_file(path: &Path) -> Result<Encoder> {
        let bytes = std::fs::read(path).map_err(Error::io(path))?;
        Encoder::from_bytes(&bytes, &path.display().to_string())
    }

    /// Loads `tokenizer.json` content; `what` names it in errors. The end-of-document token is
    /// the first of `</s>`, `<|endoftext|>`, `<|end_of_text|>`, `<eos>`, `<|eot_id|>`, `[SEP]`
    /// found in the vocabulary (override with [`with_eod`](Self::with_eod)).
    pub fn from_bytes(json: &[u8], what: &str) -> Result<Encoder> {
        let tokenizer = tokenizers::Tokenizer::from_bytes(json).map_err(|e| Error::Tokenizer {
            what: what.to_owned(),
            message: e.to_string(),
        })?;
        let eod = EOD_CANDIDATES.iter().find_map(|t| tokenizer.token_to_id(t));
        Ok(Encoder {
            tokenizer,
            hash: crate::tokenizer_hash(json),
            eod,
            add_special_tokens: false,
        })
    }

    /// Sets (or, with `None`, removes) the token appended after each document.
    pub fn with_eod(mut self, eod: Option<u32>) -> Encoder {
        self.eod = eod;
        self
    }

    /// Whether the tokenizer's post-processor runs (e.g. a Llama BOS). Default: off, as
    /// Megatron's `preprocess_data.py` (documents are separated by the EOD token only).
    pub fn with_special_tokens(mut self, on: bool) -> Encoder {
        self.add_special_tokens = on;
        self
    }

    /// The end-of-document token.
    pub fn eod(&self) -> Option<u32> {
        self.eod
    }

    /// Vocabulary size with added tokens.
    pub fn vocab_size(&self) -> u32 {
        self.tokenizer.get_vocab_size(true) as u32
    }

    /// The xxh3 hash of the tokenizer file.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The underlying tokenizer (for decoding).
    pub fn tokenizer(&self) -> &tokenizers::Tokenizer {
        &self.tokenizer
    }

    /// What to give [`ShardWriter::create`] for shards of this tokenizer.
    pub fn shard_meta(&self) -> ShardMeta {
        ShardMeta {
            tokenizer_hash: self.hash.clone(),
            vocab_size: self.vocab_size(),
            eod_token: self.eod,
            dtype: None,
        }
    }

    /// Encodes one document and appends the EOD token.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .tokenizer
            .encode_fast(text, self.add_special_tokens)
            .map_err(|e| Error::Tokenizer {
                what: "encoding".into(),
                message: e.to_string(),
            })?;
        let mut ids = enc.get_ids().to_vec();
        ids.extend(self.eod);
        Ok(ids)
    }
}

/// Counts from [`tokenize_docs`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EncodeStats {
    /// Documents written.
    pub documents: u64,
    /// Tokens written (EOD included).
    pub tokens: u64,
    /// UTF-8 bytes of the documents' text.
    pub utf8_bytes: u64,
}

/// Documents per parallel batch: enough to keep every core busy, small enough to bound memory
/// (a batch of 4,096 web documents is ~20 MB of text).
pub const DEFAULT_BATCH: usize = 4096;

/// Encodes `(text, lang)` documents in parallel and appends them to `writer` in input order.
/// Memory: one batch of texts and their tokens.
pub fn tokenize_docs<I, T, L>(
    encoder: &Encoder,
    docs: I,
    writer: &mut ShardWriter,
) -> Result<EncodeStats>
where
    I: IntoIterator<Item = (T, L)>,
    T: AsRef<str> + Send + Sync,
    L: AsRef<str> + Send + Sync,
{
    let mut stats = EncodeStats::default();
    let mut batch: Vec<(T, L)> = Vec::with_capacity(DEFAULT_BATCH);
    let mut docs = docs.into_iter();
    loop {
        batch.clear();
        batch.extend(docs.by_ref().take(DEFAULT_BATCH));
        if batch.is_empty() {
            break;
        }
        let first = stats.documents;
        let encoded: Vec<Result<Vec<u32>>> = batch
            .par_iter()
            .enumerate()
            .map(|(i, (t, _))| {
                encoder.encode(t.as_ref()).map_err(|e| match e {
                    Error::Tokenizer { message, .. } => Error::Tokenizer {
                        what: format!("encoding document {}", first + i as u64),
                        message,
                    },
                    e => e,
                })
            })
            .collect();
        for ((text, lang), ids) in batch.iter().zip(encoded) {
            let ids = ids?;
            let bytes = text.as_ref().len() as u64;
            writer.add_document(&ids, lang.as_ref(), bytes)?;
            stats.documents += 1;
            stats.tokens += ids.len() as u64;
            stats.utf8_bytes += bytes;
        }
    }
    Ok(stats)
}
