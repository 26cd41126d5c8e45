//! The sharded multi-stage form, for schedulers such as Slurm job arrays.
//!
//! Stages, each a set of independent tasks reading and writing files in one work directory:
//!
//! 1. [`signatures_task`] — one task per input file `f`: computes each document's band ids and writes
//!    `buckets/band-BBBB/file-FFFFFFFF.bin` (sorted) for every band, plus `shingles/file-FFFFFFFF.{bin,idx}`
//!    when verification is on.
//! 2. [`pairs_task`] — task `i` of `n` handles the bands `b` with `b % n == i`: merges the band's files of
//!    all input files and writes the duplicate pairs to `pairs/band-BBBB.bin`.
//! 3. [`clusters_task`] — one task: union-find over all pairs, writes `removals/file-FFFFFFFF.bin` for
//!    every input file (also when empty).
//! 4. Filter — done by the caller per input file with [`load_removals`].
//!
//! Every file is written to a temporary name and renamed, so a killed task leaves no partial output and
//! re-running a task rewrites the same bytes (tasks are idempotent). [`prepare`] records the parameters
//! in `params.txt`; every later task checks them, so tasks of one run cannot mix configurations.

use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::DocKey;
use crate::buckets::{
    BucketEntry, Merger, RunReader, ShingleStore, ShingleWriter, read_pairs, read_shingle_index,
    write_atomic, write_pairs, write_run, write_shingle_index,
};
use crate::clusters::{RemovalList, clusters_from_pairs};
use crate::error::{DedupError, Result};
use crate::minhash::{DocText, MinHashConfig, MinHasher, Scratch};

const REMOVALS_MAGIC: &[u8; 8] = b"TRIARM01";
/// Documents hashed together in one parallel batch inside a signature task.
const BATCH: usize = 4096;

fn band_file(work: &Path, band: usize, file: u32) -> PathBuf {
    work.join(format!("buckets/band-{band:04}/file-{file:08}.bin"))
}
fn shingle_files(work: &Path, file: u32) -> (PathBuf, PathBuf) {
    let d = work.join("shingles");
    (
        d.join(format!("file-{file:08}.bin")),
        d.join(format!("file-{file:08}.idx")),
    )
}
fn pairs_file(work: &Path, band: usize) -> PathBuf {
    work.join(format!("pairs/band-{band:04}.bin"))
}
/// Path of the removal list of input file `file`.
pub fn removals_file(work: &Path, file: u32) -> PathBuf {
    work.join(format!("removals/file-{file:08}.bin"))
}

fn mkdir(p: &Path) -> Result<()> {
    std::fs::create_dir_all(p).map_err(|e| DedupError::io(p, e))
}

/// Creates the work directory layout and records the parameters, or checks them when the directory
/// was already prepared. Safe to call from every task.
pub fn prepare(work: &Path, config: &MinHashConfig) -> Result<()> {
    config.validate()?;
    for d in ["buckets", "shingles", "pairs", "removals"] {
        mkdir(&work.join(d))?;
    }
    for b in 0..config.bands {
        mkdir(&work.join(format!("buckets/band-{b:04}")))?;
    }
    let params = work.join("params.txt");
    let want = config.describe();
    match std::fs::read_to_string(&params) {
        Ok(found) => check_params(&params, found.trim_end(), &want),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            write_atomic(&params, |w| writeln!(w, "{want}"))
        }
        Err(e) => Err(DedupError::io(&params, e)),
    }
}

fn check_params(path: &Path, found: &str, want: &str) -> Result<()> {
    if found == want {
        Ok(())
    } else {
        Err(DedupError::ParamsMismatch {
            path: path.to_owned(),
            found: found.to_owned(),
            expected: want.to_owned(),
        })
    }
}

fn check_prepared(work: &Path, config: &MinHashConfig) -> Result<()> {
    let params = work.join("params.txt");
    match std::fs::read_to_string(&params) {
        Ok(found) => check_params(&params, found.trim_end(), &config.describe()),
        Err(_) => Err(DedupError::MissingStage {
            path: params,
            stage: "prepare",
        }),
    }
}

/// Counts of one signature task.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignatureStats {
    /// Documents read.
    pub documents: u64,
    /// Documents without words (not indexed).
    pub empty: u64,
}

/// Stage 1 for input file `file`: `docs` yields `(record index, text)` for each of its documents.
/// Uses all rayon threads within the file.
pub fn signatures_task<I, T>(
    work: &Path,
    config: &MinHashConfig,
    file: u32,
    docs: I,
) -> Result<SignatureStats>
where
    I: IntoIterator<Item = (u64, T)>,
    T: DocText + Sync,
{
    check_prepared(work, config)?;
    let hasher = MinHasher::new(config.clone())?;
    let verify = config.verify.is_some();
    let mut bands: Vec<Vec<BucketEntry>> = (0..config.bands).map(|_| Vec::new()).collect();
    let (sh_data, sh_index) = shingle_files(work, file);
    let sh_tmp = sh_data.with_extension(format!("bin.tmp{}", std::process::id()));
    let mut shingles = if verify {
        Some(ShingleWriter::create(&sh_tmp)?)
    } else {
        None
    };
    let mut stats = SignatureStats::default();
    let mut batch: Vec<(u64, T)> = Vec::with_capacity(BATCH);
    let mut flush = |batch: &mut Vec<(u64, T)>, bands: &mut Vec<Vec<BucketEntry>>| -> Result<()> {
        let computed: Vec<Option<(Vec<u64>, Vec<u64>)>> = batch
            .par_iter()
            .map_init(Scratch::default, |s, (_, t)| {
                hasher.document(t.text(), t.lang(), verify, s)
            })
            .collect();
        for ((record, _), c) in batch.iter().zip(computed) {
            let key = DocKey {
                file,
                record: *record,
            };
            stats.documents += 1;
            let Some((ids, sh)) = c else {
                stats.empty += 1;
                continue;
            };
            for (band, hash) in bands.iter_mut().zip(ids) {
                band.push(BucketEntry { hash, key });
            }
            if let Some(w) = shingles.as_mut() {
                w.push(key, &sh)?;
            }
        }
        batch.clear();
        Ok(())
    };
    for doc in docs {
        batch.push(doc);
        if batch.len() == BATCH {
            flush(&mut batch, &mut bands)?;
        }
    }
    flush(&mut batch, &mut bands)?;
    bands
        .par_iter_mut()
        .enumerate()
        .try_for_each(|(b, entries)| {
            entries.sort_unstable();
            write_run(&band_file(work, b, file), entries)
        })?;
    if let Some(w) = shingles {
        let (_, mut index) = w.finish()?;
        index.sort_unstable();
        std::fs::rename(&sh_tmp, &sh_data).map_err(|e| DedupError::io(&sh_data, e))?;
        write_shingle_index(&sh_index, &index)?;
    }
    Ok(stats)
}

/// Stage 2, task `task` of `num_tasks`: for each band it owns, merges the band files of the
/// `num_files` input files (ids `0..num_files`) and writes the band's duplicate pairs. Returns the
/// number of pairs written.
pub fn pairs_task(
    work: &Path,
    config: &MinHashConfig,
    num_files: u32,
    task: usize,
    num_tasks: usize,
) -> Result<u64> {
    check_prepared(work, config)?;
    if num_tasks == 0 || task >= num_tasks {
        return Err(DedupError::Config(format!("task {task} of {num_tasks}")));
    }
    let mut store = ShingleStore::default();
    if config.verify.is_some() {
        for f in 0..num_files {
            let (data, index) = shingle_files(work, f);
            if !index.exists() {
                return Err(DedupError::MissingStage {
                    path: index,
                    stage: "signatures",
                });
            }
            store.add_file(&data, read_shingle_index(&index)?)?;
        }
        store.seal();
    }
    let mine: Vec<usize> = (0..config.bands)
        .filter(|b| b % num_tasks == task)
        .collect();
    let counts: Vec<u64> = mine
        .par_iter()
        .map(|&b| {
            let mut readers = Vec::with_capacity(num_files as usize);
            for f in 0..num_files {
                let p = band_file(work, b, f);
                if !p.exists() {
                    return Err(DedupError::MissingStage {
                        path: p,
                        stage: "signatures",
                    });
                }
                readers.push(RunReader::open(&p, num_files as usize)?);
            }
            let mut merger = Merger::new(readers, Vec::new())?;
            let pairs =
                crate::buckets::pairs_from_stream(&mut merger, config.verify.map(|t| (t, &store)))?;
            write_pairs(&pairs_file(work, b), &pairs)?;
            Ok(pairs.len() as u64)
        })
        .collect::<Result<_>>()?;
    Ok(counts.iter().sum())
}

/// Counts of the cluster stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClusterStats {
    /// Candidate pairs read.
    pub pairs: u64,
    /// Documents to drop.
    pub removed: u64,
    /// Clusters of two or more documents.
    pub clusters: u64,
}

/// Stage 3 (one task): union-find over the pairs of every band; writes one removal list per input
/// file `0..num_files`.
pub fn clusters_task(work: &Path, config: &MinHashConfig, num_files: u32) -> Result<ClusterStats> {
    check_prepared(work, config)?;
    let mut pairs = Vec::new();
    for b in 0..config.bands {
        let p = pairs_file(work, b);
        if !p.exists() {
            return Err(DedupError::MissingStage {
                path: p,
                stage: "pairs",
            });
        }
        pairs.extend(read_pairs(&p)?);
    }
    let removals = clusters_from_pairs(&pairs);
    (0..num_files)
        .into_par_iter()
        .try_for_each(|f| write_removals(&removals_file(work, f), &removals.for_file(f)))?;
    Ok(ClusterStats {
        pairs: pairs.len() as u64,
        removed: removals.removed().len() as u64,
        clusters: removals.kept_clusters().len() as u64,
    })
}

/// Writes a removal list: magic, number of removed records, number of kept clusters, the removed
/// record indices (u64 each), then `(record u64, cluster size u32)` per kept cluster.
pub fn write_removals(path: &Path, list: &RemovalList) -> Result<()> {
    write_atomic(path, |w| {
        w.write_all(REMOVALS_MAGIC)?;
        w.write_all(&(list.removed.len() as u64).to_le_bytes())?;
        w.write_all(&(list.kept.len() as u64).to_le_bytes())?;
        for r in &list.removed {
            w.write_all(&r.to_le_bytes())?;
        }
        for (r, s) in &list.kept {
            w.write_all(&r.to_le_bytes())?;
            w.write_all(&s.to_le_bytes())?;
        }
        Ok(())
    })
}

/// Stage 4 helper: the removal list of input file `file`, for the caller's filter pass.
pub fn load_removals(work: &Path, file: u32) -> Result<RemovalList> {
    let path = removals_file(work, file);
    if !path.exists() {
        return Err(DedupError::MissingStage {
            path,
            stage: "clusters",
        });
    }
    read_removals(&path)
}

/// Reads a removal list written by [`write_removals`].
pub fn read_removals(path: &Path) -> Result<RemovalList> {
    let bytes = std::fs::read(path).map_err(|e| DedupError::io(path, e))?;
    let bad = |why: &str| DedupError::corrupt(path, why.to_string());
    if bytes.len() < 24 || &bytes[..8] != REMOVALS_MAGIC {
        return Err(bad("wrong magic or short header"));
    }
    let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
    let (nr, nk) = (u64_at(8) as usize, u64_at(16) as usize);
    if nr
        .checked_mul(8)
        .and_then(|a| nk.checked_mul(12).and_then(|b| a.checked_add(b)))
        != Some(bytes.len() - 24)
    {
        return Err(bad("counts do not match the file length"));
    }
    let removed = (0..nr).map(|i| u64_at(24 + 8 * i)).collect();
    let base = 24 + 8 * nr;
    let kept = (0..nk)
        .map(|i| {
            let o = base + 12 * i;
            (
                u64_at(o),
                u32::from_le_bytes(bytes[o + 8..o + 12].try_into().expect("4 bytes")),
            )
        })
        .collect();
    let list = RemovalList { removed, kept };
    if !list.removed.windows(2).all(|w| w[0] < w[1]) || !list.kept.windows(2).all(|w| w[0] < w[1]) {
        return Err(bad("records not sorted"));
    }
    Ok(list)
}
