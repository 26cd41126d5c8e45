//! tria-dedup: exact, line-level and MinHash-LSH near-duplicate removal over plain types.
//!
//! Documents are identified by a [`DocKey`] `(file, record)`: the index of the input file and the
//! index of the record in it. Every decision is deterministic: in each group of duplicates the
//! document with the smallest key (input order) is kept, and results never depend on the order in which
//! documents were fed, on batch boundaries, or on the number of threads.
//!
//! # API overview
//! * Exact: [`ExactDedup`] (`new(norm)`, `add_batch(&[(DocKey, text)])`, `finish() -> Removals`);
//!   URL dedup is the same with URLs fed instead of texts. [`exact_hash`] gives the 128-bit xxh3.
//! * Line level (CCNet): [`LineCounter`] (`add_batch(&[text])`, `merge`, `into_filter(max_docs)`) then
//!   [`LineFilter::filter`]`(text) -> LineFiltered` and [`LineStats`] for the report.
//! * MinHash-LSH, one machine: [`LocalDedup`] (`new(MinHashConfig)`, `with_memory_budget(bytes)`,
//!   `add_batch(&[(DocKey, text)])`, `finish() -> (Removals, LocalStats)`).
//! * MinHash-LSH, sharded: [`sharded::prepare`], [`sharded::signatures_task`] (one per input file),
//!   [`sharded::pairs_task`] (task i of n), [`sharded::clusters_task`], then
//!   [`sharded::load_removals`]`(work, file) -> RemovalList` in the filter pass.
//! * Documents: anything `AsRef<str>`, or a [`LangText`] (text + `meta.lang`) through [`DocText`]; how
//!   texts become words is [`WordSplit`] (default: FineWeb-normalised text split at spaces;
//!   [`WordSplit::Raw`]: a language-aware splitter on the raw text, given each document's language).
//! * Building blocks: [`MinHasher`] (shingles, signature, band ids, [`MinHasher::document`] with a
//!   reusable [`Scratch`]), [`MinHashConfig`],
//!   [`choose_bands_rows`], [`collision_probability`], [`jaccard`], [`permute`],
//!   [`clusters_from_pairs`], [`normalize_fineweb`].
//!
//! # Memory per document
//! | structure | bytes per document |
//! |---|---|
//! | [`ExactDedup`] | 32 (128-bit hash + key) |
//! | [`LineCounter`] | none per document; about 24 per distinct line of the corpus |
//! | [`LocalDedup`] bucket entries | `24 × bands` (336 by default), spilled to disk beyond the budget |
//! | [`LocalDedup`] with verification | + 32 of index in memory, + 8 per distinct shingle on disk |
//! | [`LocalDedup::finish`] | + 24 per candidate pair, + about 40 per document that has a duplicate; 16 MiB of read buffers per band when spilled |
//! | sharded signature task | `24 × bands` per document of its one input file |
//! | sharded pairs task | 16 MiB of read buffers per band being merged, + 24 per pair of its bands |
//! | sharded clusters task | 24 per pair, + about 40 per document that has a duplicate |

//!
//! # Speed
//! The MinHash inner loop is picked at run time: on CPUs with AVX-512 or AVX2 it runs on 32-bit
//! halves, vectorised, in blocks of signature values held in registers; elsewhere on 128-bit
//! products. A plain `cargo build --release` gets the vectorised loops (see `bench/RESULTS.md`).
//! Results are identical. Texts are normalised and hashed word by word as they are read
//! ([`MinHasher::document`] with a reusable [`Scratch`]), without building the normalised text.

#![deny(missing_docs)]

mod buckets;
mod clusters;
mod error;
mod exact;
mod local;
mod minhash;
mod normalize;
pub mod sharded;

pub use clusters::{RemovalList, Removals, UnionFind, clusters_from_pairs};
pub use error::{DedupError, Result};
pub use exact::{
    ExactDedup, LineCounter, LineFilter, LineFiltered, LineStats, exact_hash, line_hash,
};
pub use local::{BYTES_PER_ENTRY, LocalDedup, LocalStats};
pub use minhash::{
    DocText, LangText, MERSENNE_61, MinHashConfig, MinHasher, RawSplitter, Scratch, Splitter,
    WordSplit, choose_bands_rows, collision_probability, jaccard, mod_mersenne61, permute,
};
pub use normalize::{Normalization, normalize_fineweb, normalize_whitespace, split_whitespace};

/// Identifies one document: input file index and record index within the file. Ordered by file,
/// then record: the input order, which decides which copy of a duplicate group is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct DocKey {
    /// Index of the input file in the run's sorted input list.
    pub file: u32,
    /// Index of the record within its file.
    pub record: u64,
}

impl DocKey {
    /// The key of record `record` of file `file`.
    pub fn new(file: u32, record: u64) -> Self {
        DocKey { file, record }
    }
}
