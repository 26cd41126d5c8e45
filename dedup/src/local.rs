//! The one-machine form: all cores through rayon, bounded memory with spilling to temporary files.

use std::path::PathBuf;

use rayon::prelude::*;

use crate::DocKey;
use crate::buckets::{BucketEntry, Merger, RunReader, ShingleStore, ShingleWriter, write_run};
use crate::clusters::{Removals, clusters_from_pairs};
use crate::error::{DedupError, Result};
use crate::minhash::{DocText, MinHashConfig, MinHasher, Scratch};

/// Bytes held in memory per bucket entry (one per document and band).
pub const BYTES_PER_ENTRY: usize = std::mem::size_of::<BucketEntry>();

/// MinHash-LSH dedup of a whole corpus on one machine.
///
/// Memory: `bands × 24` bytes per document (336 with the default 14 bands) until the memory budget is
/// reached, then the entries are sorted and written to temporary run files and memory is freed. With
/// verification, each document's shingle set goes to a temporary file (8 bytes per distinct shingle)
/// and 32 bytes of index per document stay in memory. [`finish`](Self::finish) merges the runs band by
/// band (bands in parallel) and holds the candidate pairs (24 bytes each) and the union-find over the
/// documents that have duplicates (about 40 bytes each).
///
/// The result depends only on the set of documents fed, not on batch boundaries, spilling, or the
/// number of rayon threads.
pub struct LocalDedup {
    hasher: MinHasher,
    budget: usize,
    temp_parent: Option<PathBuf>,
    temp: Option<tempfile::TempDir>,
    bands: Vec<Vec<BucketEntry>>,
    in_memory: usize,
    spills: usize,
    shingles: Option<ShingleWriter>,
    stats: LocalStats,
}

impl std::fmt::Debug for LocalDedup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalDedup")
            .field("config", self.hasher.config())
            .field("budget", &self.budget)
            .field("stats", &self.stats)
            .finish()
    }
}

/// Counts of a one-machine run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LocalStats {
    /// Documents fed.
    pub documents: u64,
    /// Documents without any word (never deduplicated by MinHash).
    pub empty: u64,
    /// Times the bucket entries were spilled to disk.
    pub spills: u64,
    /// Candidate pairs found (after verification when on).
    pub pairs: u64,
}

impl LocalDedup {
    /// A run with `config` and no memory limit.
    pub fn new(config: MinHashConfig) -> Result<Self> {
        let hasher = MinHasher::new(config)?;
        let bands = (0..hasher.config().bands).map(|_| Vec::new()).collect();
        Ok(LocalDedup {
            hasher,
            budget: usize::MAX,
            temp_parent: None,
            temp: None,
            bands,
            in_memory: 0,
            spills: 0,
            shingles: None,
            stats: LocalStats::default(),
        })
    }

    /// Spills bucket entries to disk whenever they would take more than `bytes` of memory.
    pub fn with_memory_budget(mut self, bytes: usize) -> Self {
        self.budget = bytes.max(BYTES_PER_ENTRY);
        self
    }

    /// Where temporary files go (default: the system temporary directory).
    pub fn with_temp_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.temp_parent = Some(dir.into());
        self
    }

    /// The hasher in use.
    pub fn hasher(&self) -> &MinHasher {
        &self.hasher
    }

    fn temp_dir(&mut self) -> Result<PathBuf> {
        if self.temp.is_none() {
            let parent = self.temp_parent.clone().unwrap_or_else(std::env::temp_dir);
            let t = tempfile::Builder::new()
                .prefix("tria-dedup-")
                .tempdir_in(&parent)
                .map_err(|e| DedupError::io(&parent, e))?;
            self.temp = Some(t);
        }
        Ok(self
            .temp
            .as_ref()
            .expect("created just above")
            .path()
            .to_owned())
    }

    /// Adds a batch of documents; signatures are computed on all rayon threads.
    pub fn add_batch<T: DocText + Sync>(&mut self, docs: &[(DocKey, T)]) -> Result<()> {
        let verify = self.hasher.config().verify.is_some();
        let hasher = &self.hasher;
        let computed: Vec<Option<(Vec<u64>, Vec<u64>)>> = docs
            .par_iter()
            .map_init(Scratch::default, |s, (_, t)| {
                hasher.document(t.text(), t.lang(), verify, s)
            })
            .collect();
        if verify && self.shingles.is_none() {
            let dir = self.temp_dir()?;
            self.shingles = Some(ShingleWriter::create(&dir.join("shingles.bin"))?);
        }
        for ((key, _), c) in docs.iter().zip(computed) {
            self.stats.documents += 1;
            let Some((ids, sh)) = c else {
                self.stats.empty += 1;
                continue;
            };
            for (band, hash) in self.bands.iter_mut().zip(ids) {
                band.push(BucketEntry { hash, key: *key });
            }
            self.in_memory += self.bands.len();
            if let Some(w) = self.shingles.as_mut() {
                w.push(*key, &sh)?;
            }
        }
        if self.in_memory.saturating_mul(BYTES_PER_ENTRY) > self.budget {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> Result<()> {
        let dir = self.temp_dir()?;
        let n = self.spills;
        self.bands
            .par_iter_mut()
            .enumerate()
            .try_for_each(|(b, entries)| {
                entries.par_sort_unstable();
                write_run(&dir.join(format!("spill-{n:05}-band-{b:04}.bin")), entries)?;
                *entries = Vec::new();
                Ok::<(), DedupError>(())
            })?;
        self.spills += 1;
        self.stats.spills += 1;
        self.in_memory = 0;
        Ok(())
    }

    /// Finds the duplicate clusters; returns the decisions and the run's counts.
    pub fn finish(mut self) -> Result<(Removals, LocalStats)> {
        let mut store = ShingleStore::default();
        let verify = self.hasher.config().verify;
        if let Some(w) = self.shingles.take() {
            let (path, index) = w.finish()?;
            store.add_file(&path, index)?;
            store.seal();
        }
        let dir = match self.spills {
            0 => None,
            _ => Some(self.temp_dir()?),
        };
        let spills = self.spills;
        let bands = std::mem::take(&mut self.bands);
        let per_band: Vec<Vec<(DocKey, DocKey)>> = bands
            .into_par_iter()
            .enumerate()
            .map(|(b, mut mem)| {
                mem.par_sort_unstable();
                let mut readers = Vec::with_capacity(spills);
                if let Some(dir) = &dir {
                    for n in 0..spills {
                        let path = dir.join(format!("spill-{n:05}-band-{b:04}.bin"));
                        readers.push(RunReader::open(&path, spills)?);
                    }
                }
                let mut merger = Merger::new(readers, mem)?;
                crate::buckets::pairs_from_stream(&mut merger, verify.map(|t| (t, &store)))
            })
            .collect::<Result<_>>()?;
        let pairs: Vec<(DocKey, DocKey)> = per_band.into_iter().flatten().collect();
        self.stats.pairs = pairs.len() as u64;
        Ok((clusters_from_pairs(&pairs), self.stats))
    }
}
