//! MinHash signatures and LSH banding.
//!
//! A document becomes a set of word n-gram *shingles*: the text is normalised ([`normalize_fineweb`]),
//! split into words by a pluggable [`Splitter`], each word hashed with 64-bit xxh3 and each run of `n`
//! consecutive word hashes mixed into one 64-bit shingle. The signature holds, for each
//! of `bands × rows` permutations `π_i(h) = (a_i·h + b_i) mod (2^61 − 1)`, the minimum of `π_i` over the
//! shingles; two documents agree on one value with probability equal to the Jaccard similarity of their
//! shingle sets. Each band of `rows` values is hashed to one 64-bit bucket id; two documents become
//! candidates when they share a bucket id in at least one band, which happens with probability
//! `1 − (1 − s^rows)^bands` ([`collision_probability`]).

use std::fmt;
use std::sync::Arc;

use xxhash_rust::xxh3::xxh3_64;

use crate::error::{DedupError, Result};
use crate::normalize::{
    fineweb_joined, fineweb_words, is_lowercase_ascii_word, normalize_fineweb, plain_word,
};

/// The Mersenne prime 2^61 − 1, modulus of the permutations.
pub const MERSENNE_61: u64 = (1 << 61) - 1;

/// Reduces `x < 2^122` modulo 2^61 − 1 without division.
#[inline(always)]
pub fn mod_mersenne61(x: u128) -> u64 {
    const P: u128 = MERSENNE_61 as u128;
    // x = hi·2^61 + lo ≡ hi + lo (mod p) since 2^61 ≡ 1. Two folds bring x < 2^122 to ≤ p.
    let r = (x & P) + (x >> 61);
    let r = ((r & P) + (r >> 61)) as u64;
    if r >= MERSENNE_61 { r - MERSENNE_61 } else { r }
}

/// `(a·h + b) mod (2^61 − 1)` for any 64-bit `h`, with `a, b < 2^61`; never overflows.
#[inline(always)]
pub fn permute(a: u64, b: u64, h: u64) -> u64 {
    let h = mod_mersenne61(h as u128);
    mod_mersenne61(a as u128 * h as u128 + b as u128)
}

/// Splits normalised text into words. Receives text already normalised (lowercase, no punctuation).
pub type Splitter = Arc<dyn Fn(&str) -> Vec<&str> + Send + Sync>;

/// Cuts a document's raw text into word tokens for the document's language (`None` when unknown),
/// calling the sink on each token, in order.
pub type RawSplitter = Arc<dyn Fn(&str, Option<&str>, &mut dyn FnMut(&str)) + Send + Sync>;

/// How a document's text becomes the words its shingles are made of.
#[derive(Clone)]
pub enum WordSplit {
    /// FineWeb's normalisation ([`normalize_fineweb`]), then the spaces of the normalised text: the
    /// default, what datatrove does with a whitespace tokenizer. Words are hashed as they are found,
    /// without building the normalised text.
    Whitespace,
    /// FineWeb's normalisation, then this splitter on the normalised text.
    Normalized(Splitter),
    /// This splitter on the raw text, given each document's language: language rules (elision,
    /// clitics, joiners kept inside words) see the apostrophes and hyphens that normalisation would
    /// remove. Each token is then normalised on its own with its inner punctuation dropped, so it
    /// stays one word: a Catalan splitter cuts `l'àvia` into `l` + `avia`, a generic one keeps `lavia`;
    /// Basque `EAJ-k` stays `eajk`.
    ///
    /// The splitter is called on each run of the text between ASCII whitespace, except runs made
    /// of letters and digits with only ASCII punctuation before and after them (`word`, `(Àvia),`,
    /// `1999.`), whose letters and digits are taken as their one word without calling it. So a splitter must give the
    /// same tokens on the runs as on the whole text (no token spans whitespace), and on such a run
    /// its letters as one word and nothing else with a letter or digit; the filters crate's
    /// `WordSplitter` is such a splitter (a test checks it on every language).
    Raw(RawSplitter),
}

/// A document's text, and its language when known (which [`WordSplit::Raw`] splitters use).
pub trait DocText {
    /// The text.
    fn text(&self) -> &str;
    /// The language code (`meta.lang`), if known.
    fn lang(&self) -> Option<&str> {
        None
    }
}

impl<T: AsRef<str> + ?Sized> DocText for T {
    fn text(&self) -> &str {
        self.as_ref()
    }
}

/// A text with its language, for [`WordSplit::Raw`] splitters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LangText {
    /// The document's text.
    pub text: String,
    /// Its language code (ISO 639-1, as `meta.lang`), `None` when unknown.
    pub lang: Option<String>,
}

impl DocText for LangText {
    fn text(&self) -> &str {
        &self.text
    }
    fn lang(&self) -> Option<&str> {
        self.lang.as_deref()
    }
}

/// MinHash and LSH parameters.
#[derive(Clone)]
pub struct MinHashConfig {
    /// Words per shingle (FineWeb: 5).
    pub ngram: usize,
    /// Number of LSH bands (FineWeb: 14).
    pub bands: usize,
    /// Signature values per band (FineWeb: 8).
    pub rows: usize,
    /// Seed of the permutation parameters; both forms and all tasks of a run must share it.
    pub seed: u64,
    /// When set, a candidate pair is only linked if the exact Jaccard similarity of its shingle sets is
    /// at least this value (removes LSH false positives at the cost of storing shingle sets).
    pub verify: Option<f64>,
    /// How texts become words (default: normalised text split at spaces).
    pub splitter: WordSplit,
    /// A name for the splitter, recorded in sharded work directories so that all tasks agree.
    pub splitter_name: String,
}

impl Default for MinHashConfig {
    /// FineWeb's parameters: 5-word shingles, 14 bands of 8 rows, no verification.
    fn default() -> Self {
        MinHashConfig {
            ngram: 5,
            bands: 14,
            rows: 8,
            seed: 1,
            verify: None,
            splitter: WordSplit::Whitespace,
            splitter_name: "whitespace".into(),
        }
    }
}

impl fmt::Debug for MinHashConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl MinHashConfig {
    /// A one-line description of every parameter that changes the result.
    pub fn describe(&self) -> String {
        format!(
            "ngram={} bands={} rows={} seed={} verify={} splitter={}",
            self.ngram,
            self.bands,
            self.rows,
            self.seed,
            self.verify.map_or("off".to_string(), |v| v.to_string()),
            self.splitter_name
        )
    }

    /// Sets `bands` and `rows` to the pair chosen by [`choose_bands_rows`] for `threshold` within
    /// `max_hashes` signature values.
    pub fn with_threshold(mut self, threshold: f64, max_hashes: usize) -> Result<Self> {
        let (b, r) = choose_bands_rows(threshold, max_hashes)?;
        self.bands = b;
        self.rows = r;
        Ok(self)
    }

    /// Checks ranges: every count ≥ 1, `bands × rows ≤ 4096`, verification threshold in (0, 1].
    pub fn validate(&self) -> Result<()> {
        if self.ngram == 0 || self.bands == 0 || self.rows == 0 {
            return Err(DedupError::Config(format!(
                "ngram, bands and rows must be at least 1 ({})",
                self.describe()
            )));
        }
        if self.bands * self.rows > 4096 {
            return Err(DedupError::Config(format!(
                "bands × rows = {} exceeds 4096",
                self.bands * self.rows
            )));
        }
        if let Some(v) = self.verify
            && !(v > 0.0 && v <= 1.0)
        {
            return Err(DedupError::Config(format!(
                "verify threshold {v} not in (0, 1]"
            )));
        }
        Ok(())
    }
}

/// Probability that two documents of Jaccard similarity `s` share a bucket in at least one band.
pub fn collision_probability(s: f64, bands: usize, rows: usize) -> f64 {
    1.0 - (1.0 - s.powi(rows as i32)).powi(bands as i32)
}

/// Picks `(bands, rows)` with `bands × rows ≤ max_hashes` minimising the sum of the false-positive area
/// (collision probability integrated below `threshold`) and the false-negative area (non-collision
/// integrated above it), the criterion datasketch uses.
pub fn choose_bands_rows(threshold: f64, max_hashes: usize) -> Result<(usize, usize)> {
    if !(threshold > 0.0 && threshold < 1.0) {
        return Err(DedupError::Config(format!(
            "threshold {threshold} not in (0, 1)"
        )));
    }
    if max_hashes == 0 || max_hashes > 4096 {
        return Err(DedupError::Config(format!(
            "max_hashes {max_hashes} not in 1..=4096"
        )));
    }
    const STEPS: usize = 400;
    let integrate = |lo: f64, hi: f64, f: &dyn Fn(f64) -> f64| {
        let w = (hi - lo) / STEPS as f64;
        (0..STEPS)
            .map(|i| f(lo + (i as f64 + 0.5) * w))
            .sum::<f64>()
            * w
    };
    let mut best = (f64::INFINITY, (1, 1));
    for b in 1..=max_hashes {
        for r in 1..=max_hashes / b {
            let fp = integrate(0.0, threshold, &|s| collision_probability(s, b, r));
            let fneg = integrate(threshold, 1.0, &|s| 1.0 - collision_probability(s, b, r));
            let err = fp + fneg;
            if err < best.0 - 1e-12 {
                best = (err, (b, r));
            }
        }
    }
    Ok(best.1)
}

/// SplitMix64: a tiny, well-mixed generator for the permutation parameters.
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hashes a run of word hashes into one shingle: an order-sensitive multiply-rotate chain over the
/// (already uniformly distributed) word hashes, then the MurmurHash3 64-bit finaliser so every input bit
/// reaches every output bit. Much cheaper than hashing the run's bytes again.
#[inline]
fn combine_words(run: &[u64]) -> u64 {
    let mut h = 0x243F_6A88_85A3_08D3 ^ run.len() as u64;
    for &w in run {
        h = (h ^ w).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    h ^ (h >> 33)
}

/// Hashes one token of a [`WordSplit::Raw`] splitter: normalised on its own (in place when it is
/// already lowercase ASCII letters), nothing when nothing of it is left.
#[inline]
fn push_token(token: &str, word: &mut Vec<u8>, words: &mut Vec<u64>) {
    if is_lowercase_ascii_word(token) {
        words.push(xxh3_64(token.as_bytes()));
        return;
    }
    word.clear();
    fineweb_joined(token, word);
    if !word.is_empty() {
        words.push(xxh3_64(word));
    }
}

/// Computes shingles, signatures and band ids for one configuration. Cheap to share between threads.
#[derive(Debug, Clone)]
pub struct MinHasher {
    config: MinHashConfig,
    a: Vec<u64>,
    b: Vec<u64>,
    /// The low and high 32-bit halves of `a`, and `b`, padded with zeros to a multiple of [`BLOCK`] values, for the blocked
    /// loops (the padding lanes compute values that are dropped).
    pad_lo: Vec<u64>,
    pad_hi: Vec<u64>,
    pad_b: Vec<u64>,
}

/// Reusable buffers for hashing documents on one thread: with them, [`MinHasher::document`]
/// allocates only its results.
#[derive(Debug, Default)]
pub struct Scratch {
    word: Vec<u8>,
    text: String,
    words: Vec<u64>,
    shingles: Vec<u64>,
    reduced: Vec<[u64; 3]>,
    mins: Vec<i64>,
    band: Vec<u8>,
}

/// Signature values per block of the blocked loops (a multiple of every block size used).
const BLOCK: usize = 16;

const LOW32: u64 = 0xFFFF_FFFF;
#[cfg(test)]
const LOW29: u64 = (1 << 29) - 1;

/// Folds one reduced shingle hash into the running minima with 128-bit products (scalar targets).
#[inline]
fn signature_step_u128(mins: &mut [i64], a: &[u64], b: &[u64], h: u64) {
    for ((m, &a), &b) in mins.iter_mut().zip(a).zip(b) {
        let v = mod_mersenne61(a as u128 * h as u128 + b as u128) as i64;
        *m = (*m).min(v);
    }
}

/// Folds one reduced shingle hash `h < 2^61 − 1` into the running minima.
///
/// With `a = a_hi·2^32 + a_lo` and `h = h_hi·2^32 + h_lo` (all halves below 2^32):
/// `a·h = hh·2^64 + mid·2^32 + ll` where `hh = a_hi·h_hi < 2^58`, `mid = a_hi·h_lo + a_lo·h_hi < 2^62`,
/// `ll = a_lo·h_lo < 2^64`. Modulo `p = 2^61 − 1`, `2^61 ≡ 1`, so `2^64 ≡ 8` and
/// `mid·2^32 ≡ (mid >> 29) + ((mid mod 2^29) << 32)`, and `ll ≡ (ll mod 2^61) + (ll >> 61)`.
/// The sum of these terms and `b < 2^61` stays below 2^63 (no overflow); one fold and one
/// conditional subtraction give the exact residue. Minima are kept as `i64` (values are below 2^61)
/// because signed 64-bit comparison vectorises on more targets than unsigned. The loops in use are
/// blocked copies of this one ([`fold_blocked`]); the tests check them against it.
#[cfg(test)]
fn signature_step(mins: &mut [i64], a_lo: &[u64], a_hi: &[u64], b: &[u64], h: u64) {
    let (h_lo, h_hi) = (h & LOW32, h >> 32);
    let n = mins.len().min(a_lo.len()).min(a_hi.len()).min(b.len());
    let (mins, a_lo, a_hi, b) = (&mut mins[..n], &a_lo[..n], &a_hi[..n], &b[..n]);
    for i in 0..n {
        let (al, ah) = (a_lo[i] & LOW32, a_hi[i] & LOW32);
        let ll = al * h_lo;
        let hh = ah * h_hi;
        let mid = ah * h_lo + al * h_hi;
        let s = (hh << 3)
            + (mid >> 29)
            + ((mid & LOW29) << 32)
            + (ll & MERSENNE_61)
            + (ll >> 61)
            + b[i];
        let r = (s & MERSENNE_61) + (s >> 61);
        let r = if r >= MERSENNE_61 { r - MERSENNE_61 } else { r } as i64;
        mins[i] = mins[i].min(r);
    }
}

/// A reduced shingle hash `h < 2^61 − 1` as the blocked loops take it: `[h_lo, h_hi, 8·h_hi]`, with
/// `h_lo` its low 32 bits and `h_hi` the rest. `8·h_hi < 2^32`, so multiplying by it is a 32 × 32-bit
/// product (computed here once per shingle rather than once per block).
#[inline(always)]
fn split_hash(h: u64) -> [u64; 3] {
    [h & LOW32, h >> 32, (h >> 32) << 3]
}

/// Folds every reduced shingle hash of `hs` into `mins`, `B` signature values at a time: the minima
/// and parameters of a block stay in registers while all the shingles go through, instead of being
/// loaded and stored once per shingle. Slices are padded to a multiple of `B`; each shingle comes as
/// [`split_hash`] gives it.
///
/// The arithmetic is `signature_step`'s (whose comment has the proof), rearranged to save two
/// operations per value: with `ll = ll_hi·2^32 + ll_lo` and `t = mid + ll_hi < 2^63`,
/// `a·h = hh·2^64 + t·2^32 + ll_lo ≡ 8·hh + (t >> 29) + ((t mod 2^29) << 32 | ll_lo)` (the last two
/// terms occupy disjoint bits), and the sum with `b` stays below 2^63. One fold gives
/// `r ∈ [0, p + 3]`, which is the exact residue unless `r ≥ p` (a residue of 0 to 3 written as
/// `r − p`, about once in 2^59 values). Instead of correcting every value, the loop keeps the
/// minimum and the maximum of the uncorrected `r`: when no `r` of a block reached `p`, every value
/// was exact and so is the minimum; otherwise the block is computed again with the correction.
#[inline(always)]
fn fold_blocked<const B: usize>(
    mins: &mut [i64],
    a_lo: &[u64],
    a_hi: &[u64],
    b: &[u64],
    hs: &[[u64; 3]],
) {
    let blocks = mins
        .chunks_exact_mut(B)
        .zip(a_lo.chunks_exact(B))
        .zip(a_hi.chunks_exact(B))
        .zip(b.chunks_exact(B));
    for (((m, al), ah), bb) in blocks {
        let (mut al_, mut ah_, mut b_) = ([0u64; B], [0u64; B], [0u64; B]);
        al_.copy_from_slice(al);
        ah_.copy_from_slice(ah);
        b_.copy_from_slice(bb);
        let mut mm = [i64::MAX; B];
        mm.copy_from_slice(m);
        let mut mx = [0i64; B];
        for h in hs {
            // The masks change nothing (each part is below 2^32) but let the compiler use
            // 32 × 32-bit multiplies.
            let [h_lo, h_hi, h_hi8] = h.map(|x| x & LOW32);
            for i in 0..B {
                let r = fold_value(al_[i], ah_[i], b_[i], h_lo, h_hi, h_hi8) as i64;
                mm[i] = mm[i].min(r);
                mx[i] = mx[i].max(r);
            }
        }
        if mx.iter().any(|&x| x >= MERSENNE_61 as i64) {
            mm.copy_from_slice(m);
            for h in hs {
                let [h_lo, h_hi, h_hi8] = h.map(|x| x & LOW32);
                for i in 0..B {
                    let r = fold_value(al_[i], ah_[i], b_[i], h_lo, h_hi, h_hi8);
                    let r = if r >= MERSENNE_61 { r - MERSENNE_61 } else { r };
                    mm[i] = mm[i].min(r as i64);
                }
            }
        }
        m.copy_from_slice(&mm);
    }
}

/// `(a·h + b) mod (2^61 − 1)` folded once, in `[0, 2^61 + 2]`: see [`fold_blocked`].
#[inline(always)]
fn fold_value(al: u64, ah: u64, b: u64, h_lo: u64, h_hi: u64, h_hi8: u64) -> u64 {
    let (al, ah) = (al & LOW32, ah & LOW32);
    let ll = al * h_lo;
    let hh8 = ah * h_hi8;
    let t = ah * h_lo + al * h_hi + (ll >> 32);
    let s = hh8 + b + (t >> 29) + (((t << 35) >> 3) | (ll & LOW32));
    (s & MERSENNE_61) + (s >> 61)
}

impl MinHasher {
    /// Validates `config` and derives the permutation parameters from its seed.
    pub fn new(config: MinHashConfig) -> Result<Self> {
        config.validate()?;
        let k = config.bands * config.rows;
        let mut st = config.seed;
        let mut a = Vec::with_capacity(k);
        let mut b = Vec::with_capacity(k);
        for _ in 0..k {
            // a ∈ [1, p), b ∈ [0, p), drawn from 61-bit values by rejection so they stay uniform.
            let mut x = splitmix64(&mut st) >> 3;
            while x == 0 || x >= MERSENNE_61 {
                x = splitmix64(&mut st) >> 3;
            }
            a.push(x);
            let mut y = splitmix64(&mut st) >> 3;
            while y >= MERSENNE_61 {
                y = splitmix64(&mut st) >> 3;
            }
            b.push(y);
        }
        let a_lo: Vec<u64> = a.iter().map(|x| x & LOW32).collect();
        let a_hi: Vec<u64> = a.iter().map(|x| x >> 32).collect();
        let padded = k.div_ceil(BLOCK) * BLOCK;
        let pad = |v: &[u64]| {
            let mut p = v.to_vec();
            p.resize(padded, 0);
            p
        };
        Ok(MinHasher {
            pad_lo: pad(&a_lo),
            pad_hi: pad(&a_hi),
            pad_b: pad(&b),
            config,
            a,
            b,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &MinHashConfig {
        &self.config
    }

    /// Signature length: `bands × rows`.
    pub fn num_hashes(&self) -> usize {
        self.a.len()
    }

    /// The distinct shingle hashes of `text`, sorted. A text with fewer words than `ngram` gives one
    /// shingle of all its words; a text without words gives none.
    pub fn shingles(&self, text: &str) -> Vec<u64> {
        self.shingles_lang(text, None)
    }

    /// [`shingles`](Self::shingles) of a text in language `lang` (used by [`WordSplit::Raw`]).
    pub fn shingles_lang(&self, text: &str, lang: Option<&str>) -> Vec<u64> {
        let mut s = Scratch::default();
        self.fill_shingles(text, lang, &mut s);
        let mut out = std::mem::take(&mut s.shingles);
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The word hashes of `text` into `s.words`.
    fn fill_words(&self, text: &str, lang: Option<&str>, s: &mut Scratch) {
        let Scratch {
            word,
            text: norm,
            words,
            ..
        } = s;
        words.clear();
        match &self.config.splitter {
            WordSplit::Whitespace => fineweb_words(text, word, |w| words.push(xxh3_64(w))),
            WordSplit::Normalized(split) => {
                norm.clear();
                normalize_fineweb(text, norm);
                words.extend(split(norm).iter().map(|w| xxh3_64(w.as_bytes())));
            }
            WordSplit::Raw(split) => {
                // The splitter sees one whitespace-free run at a time (tokens never span
                // whitespace), and not at all the runs of letters and digits between ASCII
                // punctuation: one word in every language, hashed here directly.
                let bytes = text.as_bytes();
                let mut i = 0;
                while i < bytes.len() {
                    if bytes[i].is_ascii_whitespace() {
                        i += 1;
                        continue;
                    }
                    let start = i;
                    if let Some(w) = plain_word(bytes, start) {
                        if w.normalised {
                            words.push(xxh3_64(&bytes[w.start..w.end]));
                        } else {
                            push_token(&text[w.start..w.end], word, words);
                        }
                        i = w.next;
                        continue;
                    }
                    let mut j = start + 1;
                    while j < bytes.len() && !bytes[j].is_ascii_whitespace() {
                        j += 1;
                    }
                    split(&text[start..j], lang, &mut |t: &str| {
                        push_token(t, word, words)
                    });
                    i = j;
                }
            }
        }
    }

    /// The shingle hashes of `text` into `s.shingles`, in text order (not sorted, repeats kept).
    fn fill_shingles(&self, text: &str, lang: Option<&str>, s: &mut Scratch) {
        self.fill_words(text, lang, s);
        let n = self.config.ngram;
        s.shingles.clear();
        if s.words.is_empty() {
        } else if s.words.len() < n {
            s.shingles.push(combine_words(&s.words));
        } else {
            s.shingles.extend(s.words.windows(n).map(combine_words));
        }
    }

    /// The LSH band ids of one document, straight from its text, and its sorted distinct shingles
    /// when `keep_shingles` (for verification; else an empty vector). `None` when it has no words.
    /// The minima are taken over the shingles in text order: a minimum does not depend on order or
    /// repeats, so the signature is the one of the shingle set, without sorting it.
    pub fn document(
        &self,
        text: &str,
        lang: Option<&str>,
        keep_shingles: bool,
        s: &mut Scratch,
    ) -> Option<(Vec<u64>, Vec<u64>)> {
        self.fill_shingles(text, lang, s);
        if s.shingles.is_empty() {
            return None;
        }
        let Scratch {
            shingles,
            reduced,
            mins,
            band,
            ..
        } = s;
        self.fold_all(shingles, reduced, mins);
        let ids = self.band_ids_of(mins, band);
        let kept = if keep_shingles {
            let mut v = shingles.clone();
            v.sort_unstable();
            v.dedup();
            v
        } else {
            Vec::new()
        };
        Some((ids, kept))
    }

    /// The MinHash signature of a shingle set (`bands × rows` values), or `None` for an empty set.
    ///
    /// Each value is `min over shingles h of (a_i·h + b_i) mod (2^61 − 1)`, computed exactly (the
    /// test `signature_matches_scalar_permutations` checks it against [`permute`]). The inner loop
    /// works on 32-bit halves with 64-bit lanes only, so that the compiler can vectorise it.
    pub fn signature(&self, shingles: &[u64]) -> Option<Vec<u64>> {
        if shingles.is_empty() {
            return None;
        }
        let (mut reduced, mut mins) = (Vec::new(), Vec::new());
        self.fold_all(shingles, &mut reduced, &mut mins);
        Some(mins[..self.a.len()].iter().map(|&m| m as u64).collect())
    }

    /// Reduces every shingle modulo 2^61 − 1 into `reduced`, then folds them into `mins` (at least
    /// `bands × rows` values, padded) with the fastest loop this CPU has.
    fn fold_all(&self, shingles: &[u64], reduced: &mut Vec<[u64; 3]>, mins: &mut Vec<i64>) {
        reduced.clear();
        reduced.extend(
            shingles
                .iter()
                .map(|&h| split_hash(mod_mersenne61(h as u128))),
        );
        mins.clear();
        mins.resize(self.pad_b.len(), i64::MAX);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512vl")
        {
            // SAFETY: `fold_avx512` is compiled with these three features enabled; the checks
            // above found all three on the CPU we run on. It is safe code otherwise.
            #[allow(unsafe_code)]
            unsafe {
                self.fold_avx512(mins, reduced)
            };
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: `fold_avx2` is compiled with AVX2 enabled; the check above found AVX2 on the
            // CPU we run on, so every instruction it may use exists here. It has no other
            // precondition (it is safe code otherwise).
            #[allow(unsafe_code)]
            unsafe {
                self.fold_avx2(mins, reduced)
            };
            return;
        }
        self.fold_scalar(mins, reduced);
    }

    /// The loop for CPUs without AVX2: 128-bit products, one shingle at a time.
    fn fold_scalar(&self, mins: &mut [i64], reduced: &[[u64; 3]]) {
        for &[lo, hi, _] in reduced {
            signature_step_u128(mins, &self.a, &self.b, (hi << 32) | lo);
        }
    }

    /// The blocked 32-bit-halves loop compiled for AVX2 (four 64-bit lanes, 16 registers: blocks
    /// of 8), chosen at run time, so that a plain `cargo build` runs at the speed of a
    /// `-C target-cpu=x86-64-v3` one on any CPU from the last ten years.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn fold_avx2(&self, mins: &mut [i64], reduced: &[[u64; 3]]) {
        fold_blocked::<8>(mins, &self.pad_lo, &self.pad_hi, &self.pad_b, reduced);
    }

    /// The same loop compiled for AVX-512 (eight lanes: blocks of 16, which leave no padding with
    /// the default 112 values).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl")]
    fn fold_avx512(&self, mins: &mut [i64], reduced: &[[u64; 3]]) {
        fold_blocked::<16>(mins, &self.pad_lo, &self.pad_hi, &self.pad_b, reduced);
    }

    /// One bucket id per band: the xxh3 of the band's `rows` values.
    pub fn band_ids(&self, signature: &[u64]) -> Vec<u64> {
        let mins: Vec<i64> = signature.iter().map(|&v| v as i64).collect();
        self.band_ids_of(&mins, &mut Vec::new())
    }

    /// [`band_ids`](Self::band_ids) of the first `bands × rows` minima, with a reusable buffer.
    fn band_ids_of(&self, mins: &[i64], buf: &mut Vec<u8>) -> Vec<u64> {
        let rows = self.config.rows;
        mins[..self.a.len()]
            .chunks_exact(rows)
            .map(|band| {
                buf.clear();
                for &v in band {
                    buf.extend_from_slice(&(v as u64).to_le_bytes());
                }
                xxh3_64(buf)
            })
            .collect()
    }

    /// Band ids of a text, straight from the text; `None` when it has no words.
    pub fn text_band_ids(&self, text: &str) -> Option<Vec<u64>> {
        self.document(text, None, false, &mut Scratch::default())
            .map(|d| d.0)
    }
}

/// Exact Jaccard similarity of two sorted, distinct shingle sets (1 for two empty sets).
pub fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut inter) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                inter += 1;
                i += 1;
                j += 1;
            }
        }
    }
    inter as f64 / (a.len() + b.len() - inter) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigUint;

    #[test]
    fn permutation_matches_big_integer_reference() {
        let p = BigUint::from(MERSENNE_61);
        let mut st = 42u64;
        let mut cases: Vec<(u64, u64, u64)> = vec![
            (MERSENNE_61 - 1, MERSENNE_61 - 1, u64::MAX),
            (1, 0, 0),
            (MERSENNE_61 - 1, 0, MERSENNE_61),
            (MERSENNE_61 - 1, MERSENNE_61 - 1, MERSENNE_61 - 1),
            (12345, MERSENNE_61 - 1, u64::MAX - 1),
        ];
        for _ in 0..20_000 {
            let a = 1 + splitmix64(&mut st) % (MERSENNE_61 - 1);
            let b = splitmix64(&mut st) % MERSENNE_61;
            let h = splitmix64(&mut st);
            cases.push((a, b, h));
        }
        for (a, b, h) in cases {
            let want = (BigUint::from(a) * BigUint::from(h) + BigUint::from(b)) % &p;
            assert_eq!(BigUint::from(permute(a, b, h)), want, "a={a} b={b} h={h}");
        }
        for x in [
            0u128,
            1,
            MERSENNE_61 as u128,
            (1u128 << 122) - 1,
            u64::MAX as u128,
        ] {
            assert_eq!(BigUint::from(mod_mersenne61(x)), BigUint::from(x) % &p);
        }
    }

    #[test]
    fn every_signature_loop_gives_the_same_values() {
        // 63 values: not a multiple of any block size, so the padding is exercised too.
        for (bands, rows) in [(14, 8), (9, 7), (1, 1)] {
            let h = MinHasher::new(MinHashConfig {
                bands,
                rows,
                ..Default::default()
            })
            .unwrap();
            let text: String = (0..300).map(|i| format!("w{} ", i * 7919 % 1000)).collect();
            let sh = h.shingles(&text);
            let k = h.num_hashes();
            let expected = h.signature(&sh).unwrap();
            let reduced: Vec<u64> = sh.iter().map(|&x| mod_mersenne61(x as u128)).collect();
            let split: Vec<[u64; 3]> = reduced.iter().map(|&x| split_hash(x)).collect();
            // The reference: 128-bit products, and the unblocked 32-bit halves.
            let mut u128_mins = vec![i64::MAX; k];
            let mut halves_mins = vec![i64::MAX; h.pad_b.len()];
            for &x in &reduced {
                signature_step_u128(&mut u128_mins, &h.a, &h.b, x);
                signature_step(&mut halves_mins, &h.pad_lo, &h.pad_hi, &h.pad_b, x);
            }
            let as_u64 = |m: &[i64]| m[..k].iter().map(|&v| v as u64).collect::<Vec<_>>();
            assert_eq!(as_u64(&u128_mins), expected);
            assert_eq!(as_u64(&halves_mins), expected);
            // Every loop the dispatch can choose, whatever this CPU picks.
            let fresh = || vec![i64::MAX; h.pad_b.len()];
            let mut m = fresh();
            h.fold_scalar(&mut m, &split);
            assert_eq!(as_u64(&m), expected, "scalar");
            let mut m = fresh();
            fold_blocked::<8>(&mut m, &h.pad_lo, &h.pad_hi, &h.pad_b, &split);
            assert_eq!(as_u64(&m), expected, "blocks of 8");
            let mut m = fresh();
            fold_blocked::<16>(&mut m, &h.pad_lo, &h.pad_hi, &h.pad_b, &split);
            assert_eq!(as_u64(&m), expected, "blocks of 16");
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                let mut m = fresh();
                // SAFETY: AVX2 was detected just above.
                #[allow(unsafe_code)]
                unsafe {
                    h.fold_avx2(&mut m, &split)
                };
                assert_eq!(as_u64(&m), expected, "avx2");
            }
            // The streaming path (text order, repeats kept) gives the same band ids.
            let ids = h
                .document(&text, None, true, &mut Scratch::default())
                .unwrap();
            assert_eq!(ids.0, h.band_ids(&expected));
            assert_eq!(ids.1, sh);
        }
    }

    #[test]
    fn residues_near_zero_take_the_corrected_path() {
        // For lane i, h = −b_i / a_i mod p makes a_i·h + b_i ≡ 0: the folded value is then p
        // itself, which the blocked loops must notice and correct. Nearby residues 1..3 too.
        let h = MinHasher::new(MinHashConfig::default()).unwrap();
        let p = BigUint::from(MERSENNE_61);
        let mut shingles = Vec::new();
        for (i, target) in [(0usize, 0u64), (5, 1), (17, 3), (111, 0), (64, 2)] {
            let a = BigUint::from(h.a[i]);
            let inv = a.modpow(&(&p - 2u32), &p);
            let want = (BigUint::from(target) + &p - BigUint::from(h.b[i])) % &p;
            let x = (want * inv) % &p;
            let x: u64 = x.try_into().expect("below p");
            assert_eq!(permute(h.a[i], h.b[i], x), target);
            shingles.push(x);
        }
        let mut st = 3u64;
        shingles.extend((0..50).map(|_| splitmix64(&mut st)));
        let sig = h.signature(&shingles).unwrap();
        for (i, &v) in sig.iter().enumerate() {
            let want = shingles.iter().map(|&x| permute(h.a[i], h.b[i], x)).min();
            assert_eq!(Some(v), want, "value {i}");
        }
        assert_eq!(sig[0], 0);
        assert_eq!(sig[17], 3);
        let split: Vec<[u64; 3]> = shingles
            .iter()
            .map(|&x| split_hash(mod_mersenne61(x as u128)))
            .collect();
        let mut m = vec![i64::MAX; h.pad_b.len()];
        fold_blocked::<8>(&mut m, &h.pad_lo, &h.pad_hi, &h.pad_b, &split);
        assert_eq!(m[..112].iter().map(|&v| v as u64).collect::<Vec<_>>(), sig);
    }

    #[test]
    fn signature_matches_scalar_permutations() {
        let mh = MinHasher::new(MinHashConfig {
            seed: 9,
            ..Default::default()
        })
        .expect("valid");
        let mut st = 5u64;
        let mut shingles: Vec<u64> = (0..300).map(|_| splitmix64(&mut st)).collect();
        shingles.extend([
            0,
            1,
            MERSENNE_61 - 1,
            MERSENNE_61,
            u64::MAX,
            1 << 61,
            (1 << 32) - 1,
        ]);
        let sig = mh.signature(&shingles).expect("non-empty");
        for (i, &v) in sig.iter().enumerate() {
            let want = shingles.iter().map(|&h| permute(mh.a[i], mh.b[i], h)).min();
            assert_eq!(Some(v), want, "permutation {i}");
        }
        // Extreme parameters: the largest a and b with the largest reduced h.
        let mut mins = vec![i64::MAX; 3];
        let a = [MERSENNE_61 - 1, 1, 1 << 60];
        let b = [MERSENNE_61 - 1, MERSENNE_61 - 1, 0];
        let (lo, hi): (Vec<u64>, Vec<u64>) = a.iter().map(|x| (x & LOW32, x >> 32)).unzip();
        let mut mins128 = vec![i64::MAX; 3];
        for h in [MERSENNE_61 - 1, 0, 1, (1 << 32) + 7] {
            signature_step(&mut mins, &lo, &hi, &b, h);
            signature_step_u128(&mut mins128, &a, &b, h);
        }
        assert_eq!(mins, mins128);
        // Both inner loops agree on random parameters and hashes too.
        let (mut m1, mut m2) = (vec![i64::MAX; 112], vec![i64::MAX; 112]);
        for _ in 0..200 {
            let h = splitmix64(&mut st) % MERSENNE_61;
            signature_step(&mut m1, &mh.pad_lo, &mh.pad_hi, &mh.pad_b, h);
            signature_step_u128(&mut m2, &mh.a, &mh.b, h);
        }
        assert_eq!(m1, m2);
        for i in 0..3 {
            let want = [MERSENNE_61 - 1, 0, 1, (1 << 32) + 7]
                .iter()
                .map(|&h| permute(a[i], b[i], h))
                .min()
                .expect("four values");
            assert_eq!(mins[i] as u64, want);
        }
    }

    #[test]
    fn signature_agreement_estimates_jaccard() {
        let mh = MinHasher::new(MinHashConfig {
            bands: 64,
            rows: 8,
            ..Default::default()
        })
        .expect("valid config");
        // Digits fold to 0 in normalisation, so words are spelt in letters.
        let word = |mut n: usize| {
            let mut w = String::from("w");
            loop {
                w.push((b'a' + (n % 26) as u8) as char);
                n /= 26;
                if n == 0 {
                    break w;
                }
            }
        };
        let base: Vec<String> = (0..400).map(|i| word(i * 7919 % 1000)).collect();
        let mut other = base.clone();
        for i in (0..400).step_by(10) {
            other[i] = format!("x{}", word(i));
        }
        let (sa, sb) = (mh.shingles(&base.join(" ")), mh.shingles(&other.join(" ")));
        let j = jaccard(&sa, &sb);
        let (ga, gb) = (
            mh.signature(&sa).expect("words"),
            mh.signature(&sb).expect("words"),
        );
        let agree = ga.iter().zip(&gb).filter(|(x, y)| x == y).count() as f64 / ga.len() as f64;
        // 512 values: standard deviation about 0.022.
        assert!((agree - j).abs() < 0.08, "estimate {agree} vs jaccard {j}");
        assert!(j > 0.3 && j < 0.8, "{j}");
    }

    #[test]
    fn shingles_follow_normalisation_and_short_texts() {
        let mh = MinHasher::new(MinHashConfig {
            ngram: 3,
            ..Default::default()
        })
        .expect("valid");
        assert_eq!(mh.shingles("Hola, MÓN! 2024"), mh.shingles("hola mon 7"));
        assert_eq!(mh.shingles("un dos tres quatre").len(), 2);
        assert_eq!(mh.shingles("un dos").len(), 1);
        assert!(mh.shingles(" ¡¿ ").is_empty());
        assert!(mh.signature(&[]).is_none());
        let custom = MinHasher::new(MinHashConfig {
            ngram: 1,
            splitter: WordSplit::Normalized(Arc::new(|s: &str| {
                s.split('a').filter(|w| !w.is_empty()).collect()
            })),
            splitter_name: "split-a".into(),
            ..Default::default()
        })
        .expect("valid");
        assert_eq!(custom.shingles("xayaxa").len(), 2);
    }

    #[test]
    fn chooser_and_curve() {
        assert!((collision_probability(1.0, 14, 8) - 1.0).abs() < 1e-12);
        assert!(collision_probability(0.0, 14, 8).abs() < 1e-12);
        // FineWeb's 14×8 has its steepest point near 0.72.
        let p = collision_probability(0.75, 14, 8);
        assert!(p > 0.6 && p < 0.8, "{p}");
        for t in [0.5, 0.7, 0.8, 0.9] {
            let (b, r) = choose_bands_rows(t, 112).expect("valid");
            assert!(b * r <= 112);
            // The chosen curve crosses one half near the threshold.
            let mid = (1.0 / b as f64).powf(1.0 / r as f64);
            assert!((mid - t).abs() < 0.12, "t={t} b={b} r={r} mid={mid}");
        }
        let (b_lo, r_lo) = choose_bands_rows(0.5, 112).expect("valid");
        let (b_hi, r_hi) = choose_bands_rows(0.9, 112).expect("valid");
        assert!(r_hi > r_lo && b_hi < b_lo);
        assert!(choose_bands_rows(1.0, 112).is_err());
        assert!(
            MinHashConfig {
                rows: 0,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            MinHashConfig {
                verify: Some(1.5),
                ..Default::default()
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn jaccard_exact() {
        assert_eq!(jaccard(&[1, 2, 3], &[2, 3, 4]), 0.5);
        assert_eq!(jaccard(&[], &[]), 1.0);
        assert_eq!(jaccard(&[1], &[]), 0.0);
    }
}
