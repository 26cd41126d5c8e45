//! Exact dedup (whole documents or URLs) and CCNet-style line dedup.
//!
//! Exact dedup hashes each normalised text with 128-bit xxh3 and keeps, in each group of equal hashes,
//! the document with the smallest [`DocKey`] (input order: file index, then record index). With 2^128
//! values the chance of any false match among 10^12 documents is below 10^-14.
//!
//! Line dedup (CCNet's "paragraph" dedup) counts, for every line, the number of documents containing it
//! (after FineWeb normalisation, so "Cookies: 3 items" and "cookies 5 items" count as one line); lines
//! present in more than `N` documents are boilerplate and are removed from every document.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use rayon::prelude::*;
use xxhash_rust::xxh3::{xxh3_64, xxh3_128};

use crate::DocKey;
use crate::clusters::Removals;
use crate::minhash::DocText;
use crate::normalize::{Normalization, normalize_fineweb};

/// The 128-bit xxh3 hash of `text` after `norm`.
pub fn exact_hash(text: &str, norm: Normalization) -> u128 {
    if norm == Normalization::None {
        return xxh3_128(text.as_bytes());
    }
    let mut buf = String::with_capacity(text.len());
    norm.apply(text, &mut buf);
    xxh3_128(buf.as_bytes())
}

/// Exact dedup across a whole corpus. Holds 32 bytes per document (hash + key).
///
/// Feed it every document (in any order, from any number of batches), then call [`ExactDedup::finish`].
/// The result does not depend on the feeding order or the thread count.
#[derive(Debug, Default)]
pub struct ExactDedup {
    norm: Normalization,
    entries: Vec<(u128, DocKey)>,
}

impl ExactDedup {
    /// A deduplicator hashing texts after `norm`. For URL dedup use [`Normalization::Whitespace`] and
    /// feed the URLs instead of the texts.
    pub fn new(norm: Normalization) -> Self {
        ExactDedup {
            norm,
            entries: Vec::new(),
        }
    }

    /// Adds one document.
    pub fn add(&mut self, key: DocKey, text: &str) {
        self.entries.push((exact_hash(text, self.norm), key));
    }

    /// Adds one document whose hash was computed earlier with [`exact_hash`] (sharded runs store the
    /// hashes per input file and group them in one task).
    pub fn add_hash(&mut self, key: DocKey, hash: u128) {
        self.entries.push((hash, key));
    }

    /// Adds a batch of documents, hashing them on all rayon threads.
    pub fn add_batch<T: DocText + Sync>(&mut self, docs: &[(DocKey, T)]) {
        let norm = self.norm;
        let hashed: Vec<(u128, DocKey)> = docs
            .par_iter()
            .map(|(k, t)| (exact_hash(t.text(), norm), *k))
            .collect();
        self.entries.extend(hashed);
    }

    /// Number of documents fed so far.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing was fed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Groups equal hashes: in each group the smallest key is kept (with the group size as its cluster
    /// size) and the others are removed. A key fed twice counts once.
    pub fn finish(mut self) -> Removals {
        self.entries.par_sort_unstable();
        self.entries.dedup();
        let mut removed = Vec::new();
        let mut kept = Vec::new();
        for group in self.entries.chunk_by(|a, b| a.0 == b.0) {
            if group.len() > 1 {
                kept.push((group[0].1, group.len() as u32));
                removed.extend(group[1..].iter().map(|e| e.1));
            }
        }
        Removals::from_parts(removed, kept)
    }
}

/// A `Hasher` for keys that are already hashes: it passes the 64-bit value through.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only reached for keys other than u64; fold the bytes in.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type IdBuild = BuildHasherDefault<IdHasher>;

/// The hash under which line dedup counts a line, or `None` for a line that is empty after
/// normalisation (blank or only punctuation): such lines are neither counted nor removed.
pub fn line_hash(line: &str, buf: &mut String) -> Option<u64> {
    buf.clear();
    normalize_fineweb(line, buf);
    if buf.is_empty() {
        None
    } else {
        Some(xxh3_64(buf.as_bytes()))
    }
}

fn distinct_line_hashes(text: &str) -> Vec<u64> {
    let mut buf = String::new();
    let mut hashes: Vec<u64> = text
        .lines()
        .filter_map(|l| line_hash(l, &mut buf))
        .collect();
    hashes.sort_unstable();
    hashes.dedup();
    hashes
}

/// First pass of line dedup: counts in how many documents each distinct line occurs.
///
/// Holds one `(u64, u32)` table entry per distinct line of the corpus (about 24 bytes with the table's
/// overhead), not per document. Counters from different machines can be [`merged`](Self::merge).
#[derive(Debug, Default, Clone)]
pub struct LineCounter {
    counts: HashMap<u64, u32, IdBuild>,
    documents: u64,
}

impl LineCounter {
    /// An empty counter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts the distinct lines of one document.
    pub fn add_document(&mut self, text: &str) {
        self.documents += 1;
        for h in distinct_line_hashes(text) {
            *self.counts.entry(h).or_insert(0) += 1;
        }
    }

    /// Counts a batch of documents, hashing on all rayon threads.
    pub fn add_batch<T: DocText + Sync>(&mut self, texts: &[T]) {
        let per_doc: Vec<Vec<u64>> = texts
            .par_iter()
            .map(|t| distinct_line_hashes(t.text()))
            .collect();
        self.documents += texts.len() as u64;
        for hashes in per_doc {
            for h in hashes {
                *self.counts.entry(h).or_insert(0) += 1;
            }
        }
    }

    /// Adds the counts of another counter (for counters built on different shards).
    pub fn merge(&mut self, other: LineCounter) {
        self.documents += other.documents;
        for (h, c) in other.counts {
            *self.counts.entry(h).or_insert(0) += c;
        }
    }

    /// Every counted line: (line hash as given by [`line_hash`], number of documents), in no order.
    /// With [`LineFilter::from_frequent`] this lets sharded runs count per file and sum the counts.
    pub fn counts(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.counts.iter().map(|(&h, &c)| (h, c))
    }

    /// Documents counted so far.
    pub fn documents(&self) -> u64 {
        self.documents
    }

    /// Distinct lines seen so far.
    pub fn distinct_lines(&self) -> usize {
        self.counts.len()
    }

    /// Documents containing `line` (after normalisation).
    pub fn count(&self, line: &str) -> u32 {
        let mut buf = String::new();
        line_hash(line, &mut buf)
            .and_then(|h| self.counts.get(&h).copied())
            .unwrap_or(0)
    }

    /// The filter removing every line present in more than `max_docs` documents.
    pub fn into_filter(self, max_docs: u32) -> LineFilter {
        let frequent: HashSet<u64, IdBuild> = self
            .counts
            .into_iter()
            .filter(|&(_, c)| c > max_docs)
            .map(|(h, _)| h)
            .collect();
        LineFilter { frequent }
    }
}

/// Second pass of line dedup: removes the frequent lines from each document.
#[derive(Debug, Clone, Default)]
pub struct LineFilter {
    frequent: HashSet<u64, IdBuild>,
}

/// What [`LineFilter::filter`] did to one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineFiltered<'a> {
    /// The text without the frequent lines (borrowed when nothing was removed).
    pub text: Cow<'a, str>,
    /// Lines removed.
    pub lines_removed: usize,
    /// Bytes removed (including the line breaks of the removed lines).
    pub bytes_removed: usize,
}

/// Counts of a line-dedup pass, to report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineStats {
    /// Documents filtered.
    pub documents: u64,
    /// Documents that lost at least one line.
    pub documents_changed: u64,
    /// Documents left empty (only whitespace) after filtering.
    pub documents_emptied: u64,
    /// Lines removed.
    pub lines_removed: u64,
    /// Bytes removed.
    pub bytes_removed: u64,
}

impl LineStats {
    /// Adds the outcome of one document.
    pub fn record(&mut self, f: &LineFiltered<'_>) {
        self.documents += 1;
        if f.lines_removed > 0 {
            self.documents_changed += 1;
            if f.text.trim().is_empty() {
                self.documents_emptied += 1;
            }
        }
        self.lines_removed += f.lines_removed as u64;
        self.bytes_removed += f.bytes_removed as u64;
    }
}

impl LineFilter {
    /// A filter removing the lines whose [`line_hash`] is one of `hashes` (the hashes whose summed
    /// counts exceed the threshold, in a sharded run).
    pub fn from_frequent(hashes: impl IntoIterator<Item = u64>) -> Self {
        LineFilter {
            frequent: hashes.into_iter().collect(),
        }
    }

    /// Number of distinct frequent lines.
    pub fn len(&self) -> usize {
        self.frequent.len()
    }

    /// True when no line is frequent.
    pub fn is_empty(&self) -> bool {
        self.frequent.is_empty()
    }

    /// True when `line` is removed by this filter.
    pub fn is_frequent(&self, line: &str) -> bool {
        let mut buf = String::new();
        line_hash(line, &mut buf).is_some_and(|h| self.frequent.contains(&h))
    }

    /// Removes the frequent lines of `text`, keeping every other line byte for byte.
    pub fn filter<'a>(&self, text: &'a str) -> LineFiltered<'a> {
        let mut buf = String::new();
        let mut out: Option<String> = None;
        let mut lines_removed = 0;
        let mut bytes_removed = 0;
        let mut pos = 0;
        for piece in text.split_inclusive('\n') {
            let line = piece.trim_end_matches(['\n', '\r']);
            let drop = line_hash(line, &mut buf).is_some_and(|h| self.frequent.contains(&h));
            if drop {
                out.get_or_insert_with(|| text[..pos].to_owned());
                lines_removed += 1;
                bytes_removed += piece.len();
            } else if let Some(o) = out.as_mut() {
                o.push_str(piece);
            }
            pos += piece.len();
        }
        LineFiltered {
            text: out.map_or(Cow::Borrowed(text), Cow::Owned),
            lines_removed,
            bytes_removed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(file: u32, record: u64) -> DocKey {
        DocKey { file, record }
    }

    #[test]
    fn exact_keeps_first_in_input_order() {
        let mut d = ExactDedup::new(Normalization::Whitespace);
        d.add(k(1, 5), "Hola  món\n");
        d.add(k(0, 9), "Hola món");
        d.add(k(1, 0), "hola món"); // case differs: not a duplicate under Whitespace
        d.add(k(0, 10), "Kaixo mundua");
        d.add(k(0, 3), " Hola\tmón ");
        let r = d.finish();
        assert_eq!(r.removed(), &[k(0, 9), k(1, 5)]);
        assert_eq!(r.kept_clusters(), &[(k(0, 3), 3)]);
        assert!(!r.is_removed(k(1, 0)));
        assert_eq!(r.cluster_size(k(0, 10)), None);
    }

    #[test]
    fn exact_batch_equals_single_and_fineweb_norm_merges_more() {
        let docs: Vec<(DocKey, String)> = (0..500u64)
            .map(|i| (k((i % 3) as u32, i), format!("Doc {} text", i % 37)))
            .collect();
        let mut a = ExactDedup::new(Normalization::Whitespace);
        for (key, t) in &docs {
            a.add(*key, t);
        }
        let mut b = ExactDedup::new(Normalization::Whitespace);
        b.add_batch(&docs[..200]);
        b.add_batch(&docs[200..]);
        let (ra, rb) = (a.finish(), b.finish());
        assert_eq!(ra, rb);
        assert_eq!(ra.removed().len(), 500 - 37);
        let mut c = ExactDedup::new(Normalization::FineWeb);
        c.add_batch(&docs);
        // Digits fold to 0: every text becomes "doc 0 text".
        assert_eq!(c.finish().removed().len(), 499);
    }

    #[test]
    fn url_dedup() {
        let mut d = ExactDedup::new(Normalization::Whitespace);
        d.add(k(0, 1), "https://example.cat/a");
        d.add(k(0, 0), "https://example.cat/a ");
        d.add(k(0, 2), "https://example.cat/b");
        let r = d.finish();
        assert_eq!(r.removed(), &[k(0, 1)]);
    }

    #[test]
    fn line_dedup_removes_lines_in_more_than_n_docs() {
        let docs = [
            "Accepta les galetes\nEl primer text parla de Barcelona.\nTots els drets reservats 2021",
            "El segon text parla de Girona.\nACCEPTA LES GALETES!\nTots els drets reservats 2024",
            "Accepta les galetes\nEl tercer text parla de Lleida.\n\nUna línia única.",
            "Un text sense repeticions.\nEl segon text parla de Girona.",
        ];
        let mut c = LineCounter::new();
        c.add_batch(&docs);
        assert_eq!(c.documents(), 4);
        assert_eq!(c.count("accepta les galetes"), 3);
        assert_eq!(c.count("Tots els drets reservats 1999"), 2);
        assert_eq!(c.count("El segon text parla de Girona."), 2);
        let f = c.clone().into_filter(2);
        assert_eq!(f.len(), 1);
        let mut stats = LineStats::default();
        let out: Vec<_> = docs.iter().map(|d| f.filter(d)).collect();
        for o in &out {
            stats.record(o);
        }
        assert_eq!(
            out[0].text,
            "El primer text parla de Barcelona.\nTots els drets reservats 2021"
        );
        assert_eq!(
            out[1].text,
            "El segon text parla de Girona.\nTots els drets reservats 2024"
        );
        assert_eq!(
            out[2].text,
            "El tercer text parla de Lleida.\n\nUna línia única."
        );
        assert!(matches!(out[3].text, Cow::Borrowed(_)));
        assert_eq!(stats.lines_removed, 3);
        assert_eq!(stats.documents_changed, 3);
        assert_eq!(stats.bytes_removed, 20 + 21 + 20);
        let f1 = c.into_filter(1);
        assert_eq!(f1.len(), 3);
        assert!(f1.is_frequent("tots els drets reservats 1"));
    }

    #[test]
    fn line_counter_merge_equals_single() {
        let docs: Vec<String> = (0..100)
            .map(|i| format!("line {}\ncommon footer\nx{}", i % 7, i % 5))
            .collect();
        let mut a = LineCounter::new();
        a.add_batch(&docs);
        let mut b = LineCounter::new();
        b.add_batch(&docs[..40]);
        let mut b2 = LineCounter::new();
        for d in &docs[40..] {
            b2.add_document(d);
        }
        b.merge(b2);
        assert_eq!(a.counts, b.counts);
        assert_eq!(a.count("common footer"), 100);
        // "line 0".."line 6" fold to the same "line 0", as do x0..x4.
        assert_eq!(a.distinct_lines(), 3);
    }
}
