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
use crate::normalize::normalize_fineweb;

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
    /// Word splitter applied to the normalised text (default: whitespace).
    pub splitter: Splitter,
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
            splitter: Arc::new(crate::normalize::split_whitespace),
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

/// Computes shingles, signatures and band ids for one configuration. Cheap to share between threads.
#[derive(Debug, Clone)]
pub struct MinHasher {
    config: MinHashConfig,
    a: Vec<u64>,
    b: Vec<u64>,
    /// Low and high 32-bit halves of `a`, for the vectorisable inner loop.
    a_lo: Vec<u64>,
    a_hi: Vec<u64>,
}

const LOW32: u64 = 0xFFFF_FFFF;
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
/// because signed 64-bit comparison vectorises on more targets than unsigned.
#[inline]
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
        let a_lo = a.iter().map(|x| x & LOW32).collect();
        let a_hi = a.iter().map(|x| x >> 32).collect();
        Ok(MinHasher {
            config,
            a,
            b,
            a_lo,
            a_hi,
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
        let mut norm = String::with_capacity(text.len());
        normalize_fineweb(text, &mut norm);
        let words = (self.config.splitter)(&norm);
        let wh: Vec<u64> = words.iter().map(|w| xxh3_64(w.as_bytes())).collect();
        let n = self.config.ngram;
        let mut out: Vec<u64> = if wh.is_empty() {
            Vec::new()
        } else if wh.len() < n {
            vec![combine_words(&wh)]
        } else {
            wh.windows(n).map(combine_words).collect()
        };
        out.sort_unstable();
        out.dedup();
        out
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
        let mut mins = vec![i64::MAX; self.a.len()];
        #[cfg(target_arch = "x86_64")]
        if !cfg!(target_feature = "avx512f")
            && std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512vl")
        {
            // SAFETY: `fold_avx512` is compiled with these three features enabled; the checks
            // above found all three on the CPU we run on. It is safe code otherwise.
            #[allow(unsafe_code)]
            unsafe {
                self.fold_avx512(&mut mins, shingles)
            };
            return Some(mins.into_iter().map(|m| m as u64).collect());
        }
        #[cfg(target_arch = "x86_64")]
        if !cfg!(target_feature = "avx2") && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: `fold_avx2` is compiled with AVX2 enabled; the check above found AVX2 on the
            // CPU we run on, so every instruction it may use exists here. It has no other
            // precondition (it is safe code otherwise).
            #[allow(unsafe_code)]
            unsafe {
                self.fold_avx2(&mut mins, shingles)
            };
            return Some(mins.into_iter().map(|m| m as u64).collect());
        }
        self.fold(&mut mins, shingles);
        Some(mins.into_iter().map(|m| m as u64).collect())
    }

    /// Folds every shingle into the minima: with AVX2 known at compile time, the 32-bit-halves loop
    /// (it vectorises, 2-5x faster); without, the plain 128-bit product (faster in scalar code).
    #[inline(always)]
    fn fold(&self, mins: &mut [i64], shingles: &[u64]) {
        for &h in shingles {
            let h = mod_mersenne61(h as u128);
            if cfg!(target_feature = "avx2") {
                signature_step(mins, &self.a_lo, &self.a_hi, &self.b, h);
            } else {
                signature_step_u128(mins, &self.a, &self.b, h);
            }
        }
    }

    /// [`fold`](Self::fold)'s vectorised loop compiled for AVX2, chosen at run time by
    /// [`signature`](Self::signature) on portable builds, so that a plain `cargo build` runs at the
    /// speed of a `-C target-cpu=x86-64-v3` one on any CPU from the last ten years.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn fold_avx2(&self, mins: &mut [i64], shingles: &[u64]) {
        self.fold_halves(mins, shingles);
    }

    /// The same loop compiled for AVX-512 (twice the lanes, 64-bit multiplies).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl")]
    fn fold_avx512(&self, mins: &mut [i64], shingles: &[u64]) {
        self.fold_halves(mins, shingles);
    }

    /// The 32-bit-halves loop, inlined into each caller so that it is compiled with the caller's
    /// target features.
    #[inline(always)]
    fn fold_halves(&self, mins: &mut [i64], shingles: &[u64]) {
        for &h in shingles {
            let h = mod_mersenne61(h as u128);
            signature_step(mins, &self.a_lo, &self.a_hi, &self.b, h);
        }
    }

    /// One bucket id per band: the xxh3 of the band's `rows` values.
    pub fn band_ids(&self, signature: &[u64]) -> Vec<u64> {
        let rows = self.config.rows;
        let mut buf = Vec::with_capacity(8 * rows);
        signature
            .chunks_exact(rows)
            .map(|band| {
                buf.clear();
                for v in band {
                    buf.extend_from_slice(&v.to_le_bytes());
                }
                xxh3_64(&buf)
            })
            .collect()
    }

    /// Band ids of a text, straight from the text; `None` when it has no words.
    pub fn text_band_ids(&self, text: &str) -> Option<Vec<u64>> {
        let sh = self.shingles(text);
        self.signature(&sh).map(|s| self.band_ids(&s))
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
        let h = MinHasher::new(MinHashConfig::default()).unwrap();
        let text: String = (0..300).map(|i| format!("w{} ", i * 7919 % 1000)).collect();
        let sh = h.shingles(&text);
        let expected = h.signature(&sh).unwrap();
        // The loop not chosen by `signature` on this build and CPU, and the reference.
        let mut u128_mins = vec![i64::MAX; h.num_hashes()];
        let mut halves_mins = vec![i64::MAX; h.num_hashes()];
        for &x in &sh {
            let x = mod_mersenne61(x as u128);
            signature_step_u128(&mut u128_mins, &h.a, &h.b, x);
            signature_step(&mut halves_mins, &h.a_lo, &h.a_hi, &h.b, x);
        }
        let as_u64 = |m: Vec<i64>| m.into_iter().map(|v| v as u64).collect::<Vec<_>>();
        assert_eq!(as_u64(u128_mins), expected);
        assert_eq!(as_u64(halves_mins), expected);
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
            signature_step(&mut m1, &mh.a_lo, &mh.a_hi, &mh.b, h);
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
            splitter: Arc::new(|s: &str| s.split('a').filter(|w| !w.is_empty()).collect()),
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
