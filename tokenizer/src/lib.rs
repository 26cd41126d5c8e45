//! tria-tokenizer: BPE training, encoding through HF `tokenizers`, and Megatron token shards.
//!
//! # API overview
//! * **Train** ([`train`]): [`train_tokenizer`]`(docs, &TrainOptions) -> Trained`, or
//!   [`Trainer::new`] / [`Trainer::feed`] (any number of times, parallel word counting with 64-bit
//!   counts) / [`Trainer::train`]. Two models ([`ModelKind`]): byte-level BPE with the GPT-4
//!   pre-tokenizer regex, and SentencePiece-style BPE with Salamandra's options (NFC, `▁`, digits
//!   split, whitespace pieces, byte fallback, `<unk>` 0 / `<s>` 1 / `</s>` 2 / `<pad>` 3).
//!   [`Trained::save`] writes an HF `tokenizer.json`.
//! * **Encode** ([`encode`]): [`Encoder::from_file`] loads any `tokenizer.json`;
//!   [`tokenize_docs`]`(&encoder, docs, &mut ShardWriter)` encodes `(text, lang)` documents in
//!   parallel batches, appends the EOD token, and writes them in input order.
//! * **Shards** ([`shards`]): [`ShardWriter`] writes `PREFIX.bin` / `PREFIX.idx` (Megatron's
//!   indexed dataset, u16 below 65,500 tokens else i32) and the sidecar `PREFIX.json`
//!   ([`Sidecar`]: tokenizer hash, counts per language, each document's UTF-8 bytes and language);
//!   [`IndexedDataset::open`] maps a shard read-only (the crate's only `unsafe`, in `mmap`);
//!   [`merge`] concatenates shards; [`inspect`] summarises one (`Display` prints it).
//!
//! Every function is deterministic: the same input and options give byte-identical output
//! whatever the rayon thread count.
//!
//! # Memory
//! * [`ShardWriter`]: 24 bytes per document (index + sidecar arrays) plus a 1 MiB buffer; tokens
//!   stream to disk. [`merge`] holds the merged index (12 bytes per document) the same way.
//! * [`tokenize_docs`]: one batch ([`encode::DEFAULT_BATCH`] documents) of text and tokens.
//! * [`IndexedDataset`]: nothing beyond the mapping (pages are loaded by the OS on access).
//! * [`Trainer`]: the word table, about (word bytes + 48) bytes per *distinct* pre-token, bounded
//!   by `TrainOptions::memory_budget` (rare-word pruning, see [`train`]); nothing per document.
//!   Training then needs about 3x the final table for symbol arrays, pair counts and positions.

pub mod encode;
pub mod error;
mod mmap;
pub mod pretok;
pub mod shards;
pub mod train;

pub use encode::{EncodeStats, Encoder, tokenize_docs};
pub use error::{Error, Result};
pub use shards::{
    DType, IndexedDataset, Inspection, LangCounts, Sequence, ShardMeta, ShardSummary, ShardWriter,
    Sidecar, inspect, merge, shard_paths,
};
pub use train::{
    FeedStats, ModelKind, TrainOptions, Trained, Trainer, salamandra_specials, train_tokenizer,
};

/// The hash recorded in shard sidecars: xxh3-64 of the `tokenizer.json` bytes, as 16 hex digits.
pub fn tokenizer_hash(tokenizer_json: &[u8]) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(tokenizer_json))
}
