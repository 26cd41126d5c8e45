//! The BPE trainer: [`Trainer::feed`] counts words in parallel (64-bit counts, memory bounded),
//! [`Trainer::train`] learns merges and returns an HF `tokenizer.json`.
//!
//! # Algorithm and tie-breaking
//! The merge loop is the classic one that HF `tokenizers`' `BpeTrainer` also uses: count every
//! adjacent pair once, keep a max-heap of pairs, and after each merge update only the words that
//! contained the merged pair. The heap is ordered by count, then by the *smaller* pair of token
//! ids; ids are assigned as HF does (special tokens, then the initial alphabet sorted by the
//! code point of its character, then new tokens in merge order, a merge that yields an existing
//! token string reusing its id). With the same words this gives the same merges as `BpeTrainer`,
//! which the tests check. Counts are `u64`/`i64`, so they do not wrap on very frequent pairs
//! (HF's `i32` pair counts can, tokenizers issue #2058).
//!
//! # Memory budget
//! The word table (one entry per distinct pre-token) is the only structure that grows with the
//! corpus. With `memory_budget` set, whenever its estimated size (word bytes + 48 bytes per entry)
//! passes the budget after a batch, the rarest words are dropped until the table is at most half
//! the budget (the cut is the smallest count whose survivors fit; all words of one count go
//! together). Dropped words lose the counts they had collected and a word first seen late starts
//! from zero, so rare words are under-counted: merges that mostly come from rare words (long
//! tails of names, typos) rank lower. `bench/RESULTS.md` measures the effect on bytes per token.
//! Feeding also holds one batch (8 MiB of text) and its per-thread tables; training then holds
//! about 3× the word table (symbol arrays, pair counts, positions).
//!
//! # Language weights
//! `lang_weights` multiplies each occurrence of a word in a document of that language (default
//! 1.0), so a low-resource language can count as if it had more text: with
//! `{"eu": 4.0, "gl": 2.0}` a Basque word seen once counts like four occurrences, a Galician one
//! like two, and `{"en": 0.5}` halves English. A weight of 0 ignores the language. Internally
//! counts are fixed-point with 1/256 resolution when any weight is set; uniform weights leave the
//! merges unchanged (tested). Sampling documents instead would discard text; weighting keeps every
//! word and only shifts which merges win.
//!
//! # SentencePiece-style model vs Google SentencePiece
//! The SentencePiece-style model uses the same merge loop over words cut by
//! [`pretok::SP_PATTERN`] after NFC and `▁` replacement, and writes a Llama-style
//! `tokenizer.json` (byte fallback, `<0x00>`…`<0xFF>` after the special tokens). It differs from
//! `spm_train --model_type=bpe` in that: the script split is approximated by separating
//! letter/mark runs from other symbols; a whitespace run keeps its last `▁` for the following
//! word; characters outside the coverage are cut out of training words rather than mapped to
//! `<unk>`; and ties go to the smaller id pair as above (SentencePiece's own order differs).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;

use rayon::prelude::*;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::pretok::{self, GPT4_PATTERN, SP_PATTERN, SPACE_MARK, Splitter};

/// A fast non-cryptographic hasher (FxHash-style for integers, xxh3 for byte strings).
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);
const K: u64 = 0xf135_7aea_2e62_a9c5;
impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.write_u64(xxhash_rust::xxh3::xxh3_64(bytes));
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64);
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(K);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}
type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// Which BPE model to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// Byte-level BPE (GPT-2/GPT-4/Llama 3 family): GPT-4 pre-tokenizer regex, 256 byte tokens
    /// as the alphabet, so every input is encodable without `<unk>`.
    ByteLevel,
    /// SentencePiece-style BPE (Llama 2 / Salamandra family): NFC, `▁` for spaces, digits split,
    /// whitespace-only pieces, characters as the alphabet (rare ones left out) and byte fallback
    /// (`<0x00>`…`<0xFF>`) for characters not in the vocabulary.
    SentencePiece,
}

/// Options of [`Trainer`]. `Default` is Salamandra's setup at a small vocabulary.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Which model.
    pub model: ModelKind,
    /// Target vocabulary size, special tokens and (SentencePiece) byte tokens included.
    pub vocab_size: u32,
    /// Stop when the best pair occurs fewer times (after language weighting). 0 = never.
    pub min_frequency: u64,
    /// Special tokens, ids 0, 1, … in this order. SentencePiece-style needs `<unk>` among them.
    pub special_tokens: Vec<String>,
    /// Per-language occurrence weights (see the module docs); languages not listed weigh 1.0.
    pub lang_weights: BTreeMap<String, f64>,
    /// Bound on the word table in bytes (see the module docs); `None` = unbounded.
    pub memory_budget: Option<u64>,
    /// SentencePiece-style: NFC-normalise text (Salamandra: yes).
    pub nfc: bool,
    /// SentencePiece-style: keep the most frequent characters covering this fraction of all
    /// character occurrences; the rest are byte-fallback only (SentencePiece default 0.9995).
    pub character_coverage: f64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            model: ModelKind::SentencePiece,
            vocab_size: 32_000,
            min_frequency: 0,
            special_tokens: salamandra_specials(),
            lang_weights: BTreeMap::new(),
            memory_budget: None,
            nfc: true,
            character_coverage: 0.9995,
        }
    }
}

/// Salamandra's special tokens: `<unk>` 0, `<s>` (BOS) 1, `</s>` (EOS) 2, `<pad>` 3.
pub fn salamandra_specials() -> Vec<String> {
    ["<unk>", "<s>", "</s>", "<pad>"].map(String::from).to_vec()
}

impl TrainOptions {
    /// Byte-level BPE with one special token, `<|endoftext|>`.
    pub fn byte_level(vocab_size: u32) -> TrainOptions {
        TrainOptions {
            model: ModelKind::ByteLevel,
            vocab_size,
            special_tokens: vec!["<|endoftext|>".into()],
            nfc: false,
            ..TrainOptions::default()
        }
    }
    /// SentencePiece-style BPE with Salamandra's options.
    pub fn sentencepiece(vocab_size: u32) -> TrainOptions {
        TrainOptions {
            vocab_size,
            ..TrainOptions::default()
        }
    }

    fn validate(&self) -> Result<()> {
        // Both models start from 256 byte tokens (byte-level alphabet or byte fallback).
        let base = self.special_tokens.len() as u64 + 256;
        if (self.vocab_size as u64) < base {
            return Err(Error::Config(format!(
                "vocab_size {} is smaller than the {base} special and byte tokens",
                self.vocab_size
            )));
        }
        if self.vocab_size > i32::MAX as u32 {
            return Err(Error::Config(format!(
                "vocab_size {} too large",
                self.vocab_size
            )));
        }
        for (l, w) in &self.lang_weights {
            if !(w.is_finite() && *w >= 0.0 && *w <= 1e6) {
                return Err(Error::Config(format!(
                    "language weight {l} = {w} must be in [0, 1e6]"
                )));
            }
        }
        if !(self.character_coverage > 0.0 && self.character_coverage <= 1.0) {
            return Err(Error::Config(format!(
                "character_coverage {} must be in (0, 1]",
                self.character_coverage
            )));
        }
        if self.model == ModelKind::SentencePiece
            && !self.special_tokens.iter().any(|t| t == "<unk>")
        {
            return Err(Error::Config(
                "SentencePiece-style BPE needs an <unk> special token".into(),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(d) = self.special_tokens.iter().find(|t| !seen.insert(*t)) {
            return Err(Error::Config(format!("special token {d:?} given twice")));
        }
        Ok(())
    }
}

/// Counts from feeding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedStats {
    /// Documents fed.
    pub documents: u64,
    /// UTF-8 bytes fed.
    pub bytes: u64,
    /// Distinct words in the table now.
    pub distinct_words: u64,
    /// Times the table was pruned.
    pub prunes: u32,
    /// Words dropped by pruning.
    pub pruned_words: u64,
    /// The current pruning threshold (0 = never pruned).
    pub prune_below: u64,
}

/// What [`Trainer::train`] learned.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The complete `tokenizer.json`.
    pub json: Value,
    /// Merges learned.
    pub merges: usize,
    /// Final vocabulary size.
    pub vocab_size: usize,
    /// Feeding counts.
    pub feed: FeedStats,
}

impl Trained {
    /// The `tokenizer.json` text.
    pub fn to_json_string(&self) -> String {
        serde_json::to_string(&self.json).expect("a Value always serialises")
    }
    /// Writes `tokenizer.json` (via a temporary name).
    pub fn save(&self, path: &Path) -> Result<()> {
        let tmp = {
            let mut s = path.as_os_str().to_owned();
            s.push(".tmp");
            std::path::PathBuf::from(s)
        };
        std::fs::write(&tmp, self.to_json_string()).map_err(Error::io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(Error::io(path))
    }
}

/// A feeding batch ends after this many bytes of text or documents, whichever comes first:
/// large enough that merging the per-thread tables into the global one stays cheap, small
/// enough to bound the memory of texts held at once.
const FEED_BATCH_BYTES: usize = 8 << 20;
const FEED_BATCH_DOCS: usize = 1 << 16;
const ENTRY_OVERHEAD: u64 = 48;

/// A BPE trainer: `feed` any number of times, then `train` once.
#[derive(Debug)]
pub struct Trainer {
    opts: TrainOptions,
    splitter: Splitter,
    unit: u64,
    words: FastMap<Box<[u8]>, u64>,
    table_bytes: u64,
    stats: FeedStats,
}

impl Trainer {
    /// Checks the options (a config error names the option).
    pub fn new(opts: TrainOptions) -> Result<Trainer> {
        opts.validate()?;
        let splitter = match opts.model {
            ModelKind::ByteLevel => Splitter::gpt4(),
            ModelKind::SentencePiece => Splitter::sentencepiece(),
        };
        let unit = if opts.lang_weights.is_empty() { 1 } else { 256 };
        Ok(Trainer {
            opts,
            splitter,
            unit,
            words: FastMap::default(),
            table_bytes: 0,
            stats: FeedStats::default(),
        })
    }

    /// Counts so far.
    pub fn stats(&self) -> FeedStats {
        FeedStats {
            distinct_words: self.words.len() as u64,
            ..self.stats
        }
    }

    fn weight(&self, lang: &str) -> u64 {
        match self.opts.lang_weights.get(lang) {
            Some(w) => (w * self.unit as f64).round() as u64,
            None => self.unit,
        }
    }

    /// Counts the words of `(text, lang)` documents, a batch at a time in parallel.
    /// The result is the same whatever the thread count.
    pub fn feed<I, T, L>(&mut self, docs: I)
    where
        I: IntoIterator<Item = (T, L)>,
        T: AsRef<str> + Send + Sync,
        L: AsRef<str> + Send + Sync,
    {
        let mut it = docs.into_iter().peekable();
        let mut batch: Vec<(T, L)> = Vec::new();
        while it.peek().is_some() {
            batch.clear();
            let mut bytes = 0;
            while bytes < FEED_BATCH_BYTES && batch.len() < FEED_BATCH_DOCS {
                let Some(d) = it.next() else { break };
                bytes += d.0.as_ref().len();
                batch.push(d);
            }
            self.feed_batch(&batch);
        }
    }

    fn feed_batch<T: AsRef<str> + Send + Sync, L: AsRef<str> + Send + Sync>(
        &mut self,
        batch: &[(T, L)],
    ) {
        let nfc = self.opts.nfc;
        let model = self.opts.model;
        let splitter = &self.splitter;
        let weights: Vec<u64> = batch.iter().map(|(_, l)| self.weight(l.as_ref())).collect();
        // SentencePiece-style words are cut from the normalised text, so normalise first and
        // let the per-thread tables borrow from it (no allocation per word occurrence).
        let normalised: Vec<String> = match model {
            ModelKind::ByteLevel => Vec::new(),
            ModelKind::SentencePiece => batch
                .par_iter()
                .map(|(t, _)| {
                    let mut n = String::new();
                    pretok::sp_normalize(t.as_ref(), nfc, &mut n);
                    n
                })
                .collect(),
        };
        let text = |i: usize| -> &str {
            match model {
                ModelKind::ByteLevel => batch[i].0.as_ref(),
                ModelKind::SentencePiece => &normalised[i],
            }
        };
        let parts = rayon::current_num_threads().max(1) * 2;
        let chunk = batch.len().div_ceil(parts).max(1);
        let locals: Vec<FastMap<&[u8], u64>> = (0..batch.len().div_ceil(chunk))
            .into_par_iter()
            .map(|c| {
                let mut map: FastMap<&[u8], u64> = FastMap::default();
                let end = ((c + 1) * chunk).min(batch.len());
                for (i, &w) in weights.iter().enumerate().take(end).skip(c * chunk) {
                    if w == 0 {
                        continue;
                    }
                    splitter.split(text(i), |word| {
                        *map.entry(word.as_bytes()).or_insert(0) += w;
                    });
                }
                map
            })
            .collect();
        self.stats.documents += batch.len() as u64;
        self.stats.bytes += batch
            .iter()
            .map(|(t, _)| t.as_ref().len() as u64)
            .sum::<u64>();
        for local in locals {
            for (k, v) in local {
                match self.words.get_mut(k) {
                    Some(c) => *c += v,
                    None => {
                        self.words.insert(k.into(), v);
                        self.table_bytes += k.len() as u64 + ENTRY_OVERHEAD;
                    }
                }
            }
        }
        if let Some(budget) = self.opts.memory_budget {
            if self.table_bytes > budget {
                self.prune(budget);
            }
        }
    }

    /// Drops the rarest words until the table is at most half the budget: the threshold is the
    /// smallest count whose survivors fit, so it adapts to the data instead of only growing.
    fn prune(&mut self, budget: u64) {
        let mut by_count: Vec<(u64, u64)> = self
            .words
            .iter()
            .map(|(k, &c)| (c, k.len() as u64 + ENTRY_OVERHEAD))
            .collect();
        by_count.sort_unstable_by_key(|&(c, _)| Reverse(c));
        let target = budget / 2;
        let (mut kept, mut below) = (0u64, u64::MAX);
        let mut i = 0;
        while i < by_count.len() {
            // All words of one count are kept or dropped together (deterministic).
            let c = by_count[i].0;
            let mut group = 0;
            while i < by_count.len() && by_count[i].0 == c {
                group += by_count[i].1;
                i += 1;
            }
            if kept + group > target {
                break;
            }
            kept += group;
            below = c;
        }
        let before = self.words.len();
        let mut freed = 0;
        self.words.retain(|k, c| {
            let keep = *c >= below;
            if !keep {
                freed += k.len() as u64 + ENTRY_OVERHEAD;
            }
            keep
        });
        self.table_bytes -= freed;
        self.stats.pruned_words += (before - self.words.len()) as u64;
        self.stats.prunes += 1;
        self.stats.prune_below = below;
        self.words.shrink_to_fit();
    }

    /// Learns the merges and builds the `tokenizer.json`. Consumes the word table.
    pub fn train(self) -> Result<Trained> {
        let Trainer {
            opts,
            words,
            stats,
            unit,
            ..
        } = self;
        let stats = FeedStats {
            distinct_words: words.len() as u64,
            ..stats
        };
        if words.is_empty() {
            return Err(Error::EmptyCorpus);
        }
        // Deterministic word order (the map's iteration order is not).
        let mut words: Vec<(Box<[u8]>, u64)> = words.into_iter().collect();
        words.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let min_frequency = opts.min_frequency.saturating_mul(unit);
        let mut vocab = Vocab::default();
        for s in &opts.special_tokens {
            vocab.push(s.clone(), s.as_bytes().to_vec());
        }
        let byte_chars = pretok::byte_to_char();
        // Symbol sequences of the training words, in alphabet ids.
        let (seqs, counts) = match opts.model {
            ModelKind::ByteLevel => {
                let mut alphabet: Vec<u8> = (0..=255).collect();
                alphabet.sort_by_key(|&b| byte_chars[b as usize]);
                let mut id_of = [0u32; 256];
                for b in alphabet {
                    id_of[b as usize] = vocab.push(byte_chars[b as usize].to_string(), vec![b]);
                }
                let seqs: Vec<Vec<u32>> = words
                    .par_iter()
                    .map(|(w, _)| w.iter().map(|&b| id_of[b as usize]).collect())
                    .collect();
                let counts: Vec<u64> = words.iter().map(|w| w.1).collect();
                (seqs, counts)
            }
            ModelKind::SentencePiece => {
                for b in 0..=255u8 {
                    vocab.push(format!("<0x{b:02X}>"), Vec::new());
                }
                sp_alphabet_and_words(&words, opts.character_coverage, &mut vocab)
            }
        };
        drop(words);
        let merges = learn_merges(
            seqs,
            counts,
            &mut vocab,
            opts.vocab_size as usize,
            min_frequency,
        );
        let json = match opts.model {
            ModelKind::ByteLevel => byte_level_json(&opts, &vocab, &merges),
            ModelKind::SentencePiece => sentencepiece_json(&opts, &vocab, &merges),
        };
        Ok(Trained {
            json,
            merges: merges.len(),
            vocab_size: vocab.strings.len(),
            feed: stats,
        })
    }
}

/// Token strings and bytes by id, and the reverse map by string.
#[derive(Default)]
struct Vocab {
    strings: Vec<String>,
    bytes: Vec<Vec<u8>>,
    ids: HashMap<String, u32>,
}

impl Vocab {
    /// Adds a token, or returns the id it already has.
    fn push(&mut self, s: String, bytes: Vec<u8>) -> u32 {
        if let Some(&id) = self.ids.get(&s) {
            return id;
        }
        let id = self.strings.len() as u32;
        self.ids.insert(s.clone(), id);
        self.strings.push(s);
        self.bytes.push(bytes);
        id
    }
}

/// Chooses the character alphabet (coverage), adds it to `vocab` in code point order, and cuts
/// words at characters left out (those are byte-fallback only and never merge).
fn sp_alphabet_and_words(
    words: &[(Box<[u8]>, u64)],
    coverage: f64,
    vocab: &mut Vocab,
) -> (Vec<Vec<u32>>, Vec<u64>) {
    let mut char_counts: FastMap<char, u64> = FastMap::default();
    for (w, c) in words {
        for ch in std::str::from_utf8(w)
            .expect("words are split from &str")
            .chars()
        {
            *char_counts.entry(ch).or_insert(0) += c;
        }
    }
    let total: u64 = char_counts.values().sum();
    let mut by_count: Vec<(char, u64)> = char_counts.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut kept = Vec::new();
    let mut acc = 0u64;
    for (ch, c) in by_count {
        // Always keep the space mark; stop once coverage is reached.
        if ch != SPACE_MARK && !kept.is_empty() && acc as f64 >= coverage * total as f64 {
            continue;
        }
        acc += c;
        kept.push(ch);
    }
    kept.sort_unstable();
    let mut id_of: FastMap<char, u32> = FastMap::default();
    for ch in kept {
        let mut buf = [0u8; 4];
        let s = ch.encode_utf8(&mut buf);
        id_of.insert(ch, vocab.push(s.to_owned(), s.as_bytes().to_vec()));
    }
    let mut seqs = Vec::with_capacity(words.len());
    let mut counts = Vec::with_capacity(words.len());
    for (w, c) in words {
        let mut cur = Vec::new();
        for ch in std::str::from_utf8(w)
            .expect("words are split from &str")
            .chars()
        {
            match id_of.get(&ch) {
                Some(&id) => cur.push(id),
                None => {
                    if cur.len() > 1 {
                        seqs.push(std::mem::take(&mut cur));
                        counts.push(*c);
                    }
                    cur.clear();
                }
            }
        }
        if cur.len() > 1 {
            seqs.push(cur);
            counts.push(*c);
        }
    }
    (seqs, counts)
}

/// Pair counts and, per pair, the words (indices) containing it.
type PairTables = (FastMap<u64, i64>, FastMap<u64, Vec<u32>>);

#[inline]
fn key(a: u32, b: u32) -> u64 {
    ((a as u64) << 32) | b as u64
}

/// The merge loop (see the module docs for the tie-breaking). Returns merges as id pairs.
fn learn_merges(
    mut seqs: Vec<Vec<u32>>,
    counts: Vec<u64>,
    vocab: &mut Vocab,
    vocab_size: usize,
    min_frequency: u64,
) -> Vec<(u32, u32)> {
    // Initial pair counts and positions, in parallel over chunks of words.
    let chunk = seqs
        .len()
        .div_ceil(rayon::current_num_threads().max(1) * 4)
        .max(1);
    let partial: Vec<PairTables> = seqs
        .par_chunks(chunk)
        .enumerate()
        .map(|(ci, ch)| {
            let mut pc: FastMap<u64, i64> = FastMap::default();
            let mut pos: FastMap<u64, Vec<u32>> = FastMap::default();
            for (j, s) in ch.iter().enumerate() {
                let wi = (ci * chunk + j) as u32;
                let c = counts[ci * chunk + j] as i64;
                for p in s.windows(2) {
                    let k = key(p[0], p[1]);
                    *pc.entry(k).or_insert(0) += c;
                    let v = pos.entry(k).or_default();
                    if v.last() != Some(&wi) {
                        v.push(wi);
                    }
                }
            }
            (pc, pos)
        })
        .collect();
    let mut pair_counts: FastMap<u64, i64> = FastMap::default();
    let mut positions: FastMap<u64, Vec<u32>> = FastMap::default();
    // Chunks are merged in order, so each position list stays sorted.
    for (pc, pos) in partial {
        for (k, v) in pc {
            *pair_counts.entry(k).or_insert(0) += v;
        }
        for (k, v) in pos {
            positions.entry(k).or_default().extend(v);
        }
    }
    let mut heap: BinaryHeap<(i64, Reverse<u64>)> = pair_counts
        .iter()
        .filter(|&(_, &c)| c > 0)
        .map(|(&k, &c)| (c, Reverse(k)))
        .collect();
    let mut merges = Vec::new();
    let mut touched: Vec<u64> = Vec::new();
    let mut out: Vec<u32> = Vec::new();
    while vocab.strings.len() < vocab_size {
        let Some((count, Reverse(k))) = heap.pop() else {
            break;
        };
        let cur = pair_counts.get(&k).copied().unwrap_or(0);
        if count != cur {
            if cur > 0 {
                heap.push((cur, Reverse(k)));
            }
            continue;
        }
        if count < 1 || (count as u64) < min_frequency {
            break;
        }
        let (a, b) = ((k >> 32) as u32, k as u32);
        let mut bytes = vocab.bytes[a as usize].clone();
        bytes.extend_from_slice(&vocab.bytes[b as usize]);
        let s = format!("{}{}", vocab.strings[a as usize], vocab.strings[b as usize]);
        let new = vocab.push(s, bytes);
        merges.push((a, b));
        let mut pos = positions.remove(&k).unwrap_or_default();
        pos.dedup();
        touched.clear();
        for &wi in &pos {
            let seq = &mut seqs[wi as usize];
            let c = counts[wi as usize] as i64;
            out.clear();
            let mut i = 0;
            let mut changed = false;
            while i < seq.len() {
                if seq[i] == a && i + 1 < seq.len() && seq[i + 1] == b {
                    changed = true;
                    // Same bookkeeping as HF's `Word::merge`: the left neighbour (already in
                    // `out`) and the right neighbour (not yet processed) lose their pair with
                    // the merged symbols and gain one with the new token.
                    if let Some(&prev) = out.last() {
                        *pair_counts.entry(key(prev, a)).or_insert(0) -= c;
                        let nk = key(prev, new);
                        *pair_counts.entry(nk).or_insert(0) += c;
                        positions.entry(nk).or_default().push(wi);
                        touched.push(nk);
                    }
                    if let Some(&next) = seq.get(i + 2) {
                        *pair_counts.entry(key(b, next)).or_insert(0) -= c;
                        let nk = key(new, next);
                        *pair_counts.entry(nk).or_insert(0) += c;
                        positions.entry(nk).or_default().push(wi);
                        touched.push(nk);
                    }
                    out.push(new);
                    i += 2;
                } else {
                    out.push(seq[i]);
                    i += 1;
                }
            }
            if changed {
                seq.clear();
                seq.extend_from_slice(&out);
            }
        }
        touched.sort_unstable();
        touched.dedup();
        for &nk in &touched {
            if let Some(v) = positions.get_mut(&nk) {
                // Appended in word order within this merge, but may repeat a word.
                v.dedup();
            }
            let c = pair_counts.get(&nk).copied().unwrap_or(0);
            if c > 0 {
                heap.push((c, Reverse(nk)));
            }
        }
    }
    merges
}

fn added_tokens(specials: &[String]) -> Vec<Value> {
    specials
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!({"id": i, "content": t, "single_word": false, "lstrip": false,
                   "rstrip": false, "normalized": false, "special": true})
        })
        .collect()
}

fn model_json(
    vocab: &Vocab,
    merges: &[(u32, u32)],
    unk: Option<&str>,
    byte_fallback: bool,
) -> Value {
    let v: serde_json::Map<String, Value> = vocab
        .strings
        .iter()
        .enumerate()
        .map(|(i, s)| (s.clone(), json!(i)))
        .collect();
    let m: Vec<Value> = merges
        .iter()
        .map(|&(a, b)| json!([vocab.strings[a as usize], vocab.strings[b as usize]]))
        .collect();
    json!({"type": "BPE", "dropout": null, "unk_token": unk, "continuing_subword_prefix": null,
           "end_of_word_suffix": null, "fuse_unk": byte_fallback, "byte_fallback": byte_fallback,
           "ignore_merges": false, "vocab": v, "merges": m})
}

fn byte_level_json(opts: &TrainOptions, vocab: &Vocab, merges: &[(u32, u32)]) -> Value {
    json!({
        "version": "1.0", "truncation": null, "padding": null,
        "added_tokens": added_tokens(&opts.special_tokens),
        "normalizer": null,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": GPT4_PATTERN}, "behavior": "Isolated", "invert": false},
            {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]},
        "post_processor": null,
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": model_json(vocab, merges, None, false),
    })
}

fn sentencepiece_json(opts: &TrainOptions, vocab: &Vocab, merges: &[(u32, u32)]) -> Value {
    let mut normalizers = Vec::new();
    if opts.nfc {
        normalizers.push(json!({"type": "NFC"}));
    }
    normalizers.push(json!({"type": "Prepend", "prepend": SPACE_MARK.to_string()}));
    normalizers.push(
        json!({"type": "Replace", "pattern": {"String": " "}, "content": SPACE_MARK.to_string()}),
    );
    json!({
        "version": "1.0", "truncation": null, "padding": null,
        "added_tokens": added_tokens(&opts.special_tokens),
        "normalizer": {"type": "Sequence", "normalizers": normalizers},
        "pre_tokenizer": {"type": "Split", "pattern": {"Regex": SP_PATTERN}, "behavior": "Isolated", "invert": false},
        "post_processor": null,
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": SPACE_MARK.to_string()}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": model_json(vocab, merges, Some("<unk>"), true),
    })
}

/// Trains a tokenizer on `(text, lang)` documents: [`Trainer::new`], [`Trainer::feed`],
/// [`Trainer::train`] in one call (what `tria tokenizer train` runs).
pub fn train_tokenizer<I, T, L>(docs: I, opts: &TrainOptions) -> Result<Trained>
where
    I: IntoIterator<Item = (T, L)>,
    T: AsRef<str> + Send + Sync,
    L: AsRef<str> + Send + Sync,
{
    let mut t = Trainer::new(opts.clone())?;
    t.feed(docs);
    t.train()
}
