//! Corpus generator with planted near-duplicates at measured Jaccard similarities.
//!
//! Shared by the tests (`tests/common/mod.rs`) and the benchmark example (`examples/dedup_bench.rs`).
//! Documents are drawn from a word source: a synthetic vocabulary or real sentences (the bench uses
//! `../shared/data/lid/<code>.txt`). A near-duplicate of a base document is made by replacing words at
//! positions taken in a fixed random order; the number of replacements is chosen by bisection so that
//! the measured Jaccard similarity of the two shingle sets is as close as possible to the target.
#![allow(dead_code)]

use tria_dedup::{MinHasher, jaccard};

/// SplitMix64 generator: deterministic across platforms.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// Where document words come from.
#[derive(Debug, Clone)]
pub struct Source {
    /// Sentences; a document is a run of whole sentences.
    pub sentences: Vec<String>,
    /// Words used as replacements in variants.
    pub words: Vec<String>,
}

impl Source {
    /// A synthetic language: `n` letter-only words; sentences of 8 to 20 words with a Zipf-like skew
    /// (squared uniform index), so common words repeat as in real text.
    pub fn synthetic(n: usize, seed: u64) -> Source {
        let mut rng = Rng(seed);
        let words: Vec<String> = (0..n)
            .map(|_| {
                let len = 2 + rng.below(8);
                (0..len)
                    .map(|_| (b'a' + rng.below(26) as u8) as char)
                    .collect()
            })
            .collect();
        let sentences = (0..5000)
            .map(|_| {
                let len = 8 + rng.below(13);
                let ws: Vec<&str> = (0..len)
                    .map(|_| {
                        let u = rng.below(1 << 16) as f64 / 65536.0;
                        words[((u * u) * n as f64) as usize].as_str()
                    })
                    .collect();
                ws.join(" ") + "."
            })
            .collect();
        Source { sentences, words }
    }

    /// Real sentences, one per line; replacement words are drawn from the same text.
    pub fn from_lines(text: &str) -> Source {
        let sentences: Vec<String> = text.lines().map(str::to_owned).collect();
        let mut words: Vec<String> = sentences
            .iter()
            .flat_map(|s| s.split_whitespace())
            .filter(|w| w.chars().all(char::is_alphabetic))
            .map(str::to_owned)
            .collect();
        words.sort();
        words.dedup();
        Source { sentences, words }
    }

    /// A document of at least `min_words` words made of random sentences.
    pub fn document(&self, rng: &mut Rng, min_words: usize) -> String {
        let mut out = String::new();
        let mut n = 0;
        while n < min_words {
            let s = &self.sentences[rng.below(self.sentences.len())];
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(s);
            n += s.split_whitespace().count();
        }
        out
    }

    /// A variant of `base` whose measured shingle Jaccard similarity is as close as possible to
    /// `target`; returns it with the measured similarity.
    pub fn variant(&self, mh: &MinHasher, base: &str, target: f64, rng: &mut Rng) -> (String, f64) {
        let tokens: Vec<&str> = base.split_whitespace().collect();
        let mut order: Vec<usize> = (0..tokens.len()).collect();
        rng.shuffle(&mut order);
        let repl: Vec<&str> = order
            .iter()
            .map(|_| self.words[rng.below(self.words.len())].as_str())
            .collect();
        let base_sh = mh.shingles(base);
        let build = |m: usize| {
            let mut t = tokens.clone();
            for (k, &pos) in order[..m].iter().enumerate() {
                t[pos] = repl[k];
            }
            let text = t.join(" ");
            let j = jaccard(&base_sh, &mh.shingles(&text));
            (text, j)
        };
        // Similarity falls as m grows: bisect for the last m with j >= target, then take the closer
        // of it and the next.
        let (mut lo, mut hi) = (0, tokens.len());
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if build(mid).1 >= target {
                lo = mid
            } else {
                hi = mid - 1
            }
        }
        let a = build(lo);
        if lo < tokens.len() {
            let b = build(lo + 1);
            if (b.1 - target).abs() < (a.1 - target).abs() {
                return b;
            }
        }
        a
    }
}
