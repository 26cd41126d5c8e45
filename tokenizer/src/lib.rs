//! tria-tokenizer: BPE training, encoding through HF `tokenizers`, and Megatron token shards.
//!
//! (API overview: filled in below as the modules land.)

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
