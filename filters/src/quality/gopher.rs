//! Gopher quality and repetition rules (Rae et al. 2021, "Scaling Language Models: Methods, Analysis &
//! Insights from Training Gopher", arXiv:2112.11446, section A.1.1 and Table A1), computed the way datatrove
//! 0.10 computes them so thresholds carry over (differences are listed in `bench/filters/PARITY.md`).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::text::{
    U64Map, U64Set, char_len, find_duplicates, hash_str, is_punctuation, ratio, split_newline_runs,
};
use super::{Bound, QualityError, Stats, Threshold};
use crate::words::{TokenKind, WordSplitter, normalize_for_lookup};

/// Thresholds of the Gopher quality rule. A document is dropped when a statistic falls outside its bound.
/// To switch a bound off, set a minimum to 0 or a maximum to a very large number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GopherQualityConfig {
    /// Fewer non-symbol words than this: dropped. Gopher Table A1: 50.
    pub min_doc_words: u64,
    /// More non-symbol words than this: dropped. Gopher Table A1: 100,000.
    pub max_doc_words: u64,
    /// Mean non-symbol word length (characters) below this: dropped. Gopher: 3.
    pub min_avg_word_length: f64,
    /// Mean non-symbol word length above this: dropped. Gopher: 10.
    pub max_avg_word_length: f64,
    /// `#` per word, and `...`/`…` per word, above this: dropped. Gopher: 0.1.
    pub max_symbol_word_ratio: f64,
    /// Share of lines starting with a bullet (`•`, `-`) above this: dropped. Gopher: 0.9.
    pub max_bullet_lines_ratio: f64,
    /// Share of lines ending with an ellipsis above this: dropped. Gopher: 0.3.
    pub max_ellipsis_lines_ratio: f64,
    /// Share of words with at least one letter below this: dropped. Gopher: 0.8 (datatrove calls it
    /// `max_non_alpha_words_ratio`).
    pub min_alpha_words_ratio: f64,
    /// Distinct stop words present below this: dropped. Gopher: 2.
    pub min_stop_words: u64,
    /// The stop words; absent = the built-in list of the document's language (`filters/stopwords/`), and for
    /// English (or an unknown language) Gopher's eight: the, be, to, of, and, that, have, with.
    pub stop_words: Option<Vec<String>>,
}

impl Default for GopherQualityConfig {
    fn default() -> Self {
        // Gopher (arXiv:2112.11446) Table A1 / section A.1.1; same defaults as datatrove's GopherQualityFilter.
        GopherQualityConfig {
            min_doc_words: 50,
            max_doc_words: 100_000,
            min_avg_word_length: 3.0,
            max_avg_word_length: 10.0,
            max_symbol_word_ratio: 0.1,
            max_bullet_lines_ratio: 0.9,
            max_ellipsis_lines_ratio: 0.3,
            min_alpha_words_ratio: 0.8,
            min_stop_words: 2,
            stop_words: None,
        }
    }
}

/// Thresholds of the Gopher repetition rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GopherRepetitionConfig {
    /// Share of lines that repeat an earlier line. Gopher Table A1: 0.30.
    pub dup_line_frac: f64,
    /// Share of paragraphs that repeat an earlier paragraph. Gopher: 0.30.
    pub dup_para_frac: f64,
    /// Characters in repeated lines / all characters. Gopher: 0.20.
    pub dup_line_char_frac: f64,
    /// Characters in repeated paragraphs / all characters. Gopher: 0.20.
    pub dup_para_char_frac: f64,
    /// `[n, max]`: characters covered by the most frequent n-gram / all characters. Gopher: 2→0.20,
    /// 3→0.18, 4→0.16. `n` from 1 to 10.
    pub top_n_grams: Vec<(usize, f64)>,
    /// `[n, max]`: characters in repeated n-grams / all characters. Gopher: 5→0.15, 6→0.14, 7→0.13,
    /// 8→0.12, 9→0.11, 10→0.10. `n` from 1 to 20.
    pub dup_n_grams: Vec<(usize, f64)>,
}

impl Default for GopherRepetitionConfig {
    fn default() -> Self {
        // Gopher (arXiv:2112.11446) Table A1; same as datatrove's GopherRepetitionFilter.
        GopherRepetitionConfig {
            dup_line_frac: 0.3,
            dup_para_frac: 0.3,
            dup_line_char_frac: 0.2,
            dup_para_char_frac: 0.2,
            top_n_grams: vec![(2, 0.2), (3, 0.18), (4, 0.16)],
            dup_n_grams: vec![
                (5, 0.15),
                (6, 0.14),
                (7, 0.13),
                (8, 0.12),
                (9, 0.11),
                (10, 0.10),
            ],
        }
    }
}

/// English stop words of the Gopher paper (section A.1.1).
pub const GOPHER_STOP_WORDS: [&str; 8] = ["the", "be", "to", "of", "and", "that", "have", "with"];

/// Gopher quality rule compiled for one language.
#[derive(Debug, Clone)]
pub(crate) struct GopherQuality {
    splitter: WordSplitter,
    stop_words: HashMap<String, usize>,
    max_stop_len: usize,
    pub(crate) thresholds: Vec<Threshold>,
}

impl GopherQuality {
    pub(crate) fn new(cfg: &GopherQualityConfig, lang: Option<&str>) -> Result<Self, QualityError> {
        let list: Vec<String> = match &cfg.stop_words {
            Some(v) => v.clone(),
            None => super::settings::builtin_stop_words(lang.unwrap_or("en"))
                .iter()
                .map(|s| (*s).to_string())
                .collect(),
        };
        let mut stop_words = HashMap::new();
        let mut buf = String::new();
        for w in list {
            normalize_for_lookup(&w, &mut buf);
            let next = stop_words.len();
            stop_words.entry(buf.clone()).or_insert(next);
        }
        let max_stop_len = stop_words.keys().map(String::len).max().unwrap_or(0);
        use Bound::{Max, Min};
        let t = |stat, bound, value: f64, reason| Threshold {
            stat,
            bound,
            value,
            reason,
        };
        let thresholds = vec![
            t(
                "gopher.words",
                Min,
                cfg.min_doc_words as f64,
                "gopher_short_doc",
            ),
            t(
                "gopher.words",
                Max,
                cfg.max_doc_words as f64,
                "gopher_long_doc",
            ),
            t(
                "gopher.mean_word_len",
                Min,
                cfg.min_avg_word_length,
                "gopher_below_avg_threshold",
            ),
            t(
                "gopher.mean_word_len",
                Max,
                cfg.max_avg_word_length,
                "gopher_above_avg_threshold",
            ),
            t(
                "gopher.hash_ratio",
                Max,
                cfg.max_symbol_word_ratio,
                "gopher_too_many_hashes",
            ),
            t(
                "gopher.ellipsis_ratio",
                Max,
                cfg.max_symbol_word_ratio,
                "gopher_too_many_ellipsis",
            ),
            t(
                "gopher.bullet_lines",
                Max,
                cfg.max_bullet_lines_ratio,
                "gopher_too_many_bullets",
            ),
            t(
                "gopher.ellipsis_lines",
                Max,
                cfg.max_ellipsis_lines_ratio,
                "gopher_too_many_end_ellipsis",
            ),
            t(
                "gopher.alpha_words",
                Min,
                cfg.min_alpha_words_ratio,
                "gopher_below_alpha_threshold",
            ),
            t(
                "gopher.stop_words",
                Min,
                cfg.min_stop_words as f64,
                "gopher_enough_stop_words",
            ),
        ];
        Ok(GopherQuality {
            splitter: WordSplitter::new(lang.unwrap_or("")),
            stop_words,
            max_stop_len,
            thresholds,
        })
    }

    pub(crate) fn measure(&self, text: &str, stats: &mut Stats) {
        let (mut n_tokens, mut n_words, mut word_chars, mut alpha) =
            (0usize, 0usize, 0usize, 0usize);
        let mut seen = vec![false; self.stop_words.len()];
        let mut n_stop = 0usize;
        let mut buf = String::new();
        self.splitter.for_each_token(text, |tok, kind| {
            n_tokens += 1;
            if kind == TokenKind::Symbol && tok.chars().all(is_punctuation) {
                return;
            }
            n_words += 1;
            word_chars += char_len(tok);
            if kind == TokenKind::Word && tok.chars().any(char::is_alphabetic) {
                alpha += 1;
            }
            if kind == TokenKind::Word && tok.len() <= self.max_stop_len * 2 {
                // Lowercase ASCII words need no normalising (the common case).
                let key = if tok.bytes().all(|b| b.is_ascii_lowercase()) {
                    tok
                } else {
                    normalize_for_lookup(tok, &mut buf);
                    buf.as_str()
                };
                if let Some(&i) = self.stop_words.get(key) {
                    if !seen[i] {
                        seen[i] = true;
                        n_stop += 1;
                    }
                }
            }
        });
        let hashes = text.bytes().filter(|&b| b == b'#').count();
        let ellipses = text.matches("...").count() + text.matches('…').count();
        let (mut lines, mut bullets, mut ell_lines) = (0usize, 0usize, 0usize);
        for line in text.lines() {
            lines += 1;
            let l = line.trim_start();
            if l.starts_with('•') || l.starts_with('-') {
                bullets += 1;
            }
            let r = line.trim_end();
            if r.ends_with("...") || r.ends_with('…') {
                ell_lines += 1;
            }
        }
        stats.push(("gopher.words", n_words as f64));
        stats.push(("gopher.mean_word_len", ratio(word_chars, n_words)));
        stats.push(("gopher.hash_ratio", ratio(hashes, n_tokens)));
        stats.push(("gopher.ellipsis_ratio", ratio(ellipses, n_tokens)));
        stats.push(("gopher.bullet_lines", ratio(bullets, lines)));
        stats.push(("gopher.ellipsis_lines", ratio(ell_lines, lines)));
        stats.push((
            "gopher.alpha_words",
            if n_tokens == 0 {
                0.0
            } else {
                ratio(alpha, n_tokens)
            },
        ));
        stats.push(("gopher.stop_words", n_stop as f64));
    }
}

const TOP_NAMES: [&str; 10] = [
    "gopher_rep.top_1_gram",
    "gopher_rep.top_2_gram",
    "gopher_rep.top_3_gram",
    "gopher_rep.top_4_gram",
    "gopher_rep.top_5_gram",
    "gopher_rep.top_6_gram",
    "gopher_rep.top_7_gram",
    "gopher_rep.top_8_gram",
    "gopher_rep.top_9_gram",
    "gopher_rep.top_10_gram",
];
const TOP_REASONS: [&str; 10] = [
    "top_1_gram",
    "top_2_gram",
    "top_3_gram",
    "top_4_gram",
    "top_5_gram",
    "top_6_gram",
    "top_7_gram",
    "top_8_gram",
    "top_9_gram",
    "top_10_gram",
];
const DUP_NAMES: [&str; 20] = [
    "gopher_rep.dup_1_gram",
    "gopher_rep.dup_2_gram",
    "gopher_rep.dup_3_gram",
    "gopher_rep.dup_4_gram",
    "gopher_rep.dup_5_gram",
    "gopher_rep.dup_6_gram",
    "gopher_rep.dup_7_gram",
    "gopher_rep.dup_8_gram",
    "gopher_rep.dup_9_gram",
    "gopher_rep.dup_10_gram",
    "gopher_rep.dup_11_gram",
    "gopher_rep.dup_12_gram",
    "gopher_rep.dup_13_gram",
    "gopher_rep.dup_14_gram",
    "gopher_rep.dup_15_gram",
    "gopher_rep.dup_16_gram",
    "gopher_rep.dup_17_gram",
    "gopher_rep.dup_18_gram",
    "gopher_rep.dup_19_gram",
    "gopher_rep.dup_20_gram",
];
const DUP_REASONS: [&str; 20] = [
    "duplicated_1_n_grams",
    "duplicated_2_n_grams",
    "duplicated_3_n_grams",
    "duplicated_4_n_grams",
    "duplicated_5_n_grams",
    "duplicated_6_n_grams",
    "duplicated_7_n_grams",
    "duplicated_8_n_grams",
    "duplicated_9_n_grams",
    "duplicated_10_n_grams",
    "duplicated_11_n_grams",
    "duplicated_12_n_grams",
    "duplicated_13_n_grams",
    "duplicated_14_n_grams",
    "duplicated_15_n_grams",
    "duplicated_16_n_grams",
    "duplicated_17_n_grams",
    "duplicated_18_n_grams",
    "duplicated_19_n_grams",
    "duplicated_20_n_grams",
];

/// Gopher repetition rule compiled for one language.
#[derive(Debug, Clone)]
pub(crate) struct GopherRepetition {
    splitter: WordSplitter,
    top: Vec<usize>,
    dup: Vec<usize>,
    pub(crate) thresholds: Vec<Threshold>,
}

// Multiplier of the polynomial n-gram hash (odd, high entropy).
const P: u64 = 0x9E37_79B9_7F4A_7C15;

impl GopherRepetition {
    pub(crate) fn new(
        cfg: &GopherRepetitionConfig,
        lang: Option<&str>,
    ) -> Result<Self, QualityError> {
        use Bound::Max;
        let t = |stat, value: f64, reason| Threshold {
            stat,
            bound: Max,
            value,
            reason,
        };
        let mut thresholds = vec![
            t(
                "gopher_rep.dup_para_frac",
                cfg.dup_para_frac,
                "dup_para_frac",
            ),
            t(
                "gopher_rep.dup_para_char_frac",
                cfg.dup_para_char_frac,
                "dup_para_char_frac",
            ),
            t(
                "gopher_rep.dup_line_frac",
                cfg.dup_line_frac,
                "dup_line_frac",
            ),
            t(
                "gopher_rep.dup_line_char_frac",
                cfg.dup_line_char_frac,
                "dup_line_char_frac",
            ),
        ];
        let mut top = Vec::new();
        for &(n, v) in &cfg.top_n_grams {
            if !(1..=10).contains(&n) {
                return Err(QualityError::Config(format!(
                    "gopher_repetition: top_n_grams n = {n} is outside 1..=10"
                )));
            }
            top.push(n);
            thresholds.push(t(TOP_NAMES[n - 1], v, TOP_REASONS[n - 1]));
        }
        let mut dup = Vec::new();
        for &(n, v) in &cfg.dup_n_grams {
            if !(1..=20).contains(&n) {
                return Err(QualityError::Config(format!(
                    "gopher_repetition: dup_n_grams n = {n} is outside 1..=20"
                )));
            }
            dup.push(n);
            thresholds.push(t(DUP_NAMES[n - 1], v, DUP_REASONS[n - 1]));
        }
        Ok(GopherRepetition {
            splitter: WordSplitter::new(lang.unwrap_or("")),
            top,
            dup,
            thresholds,
        })
    }

    pub(crate) fn measure(&self, text: &str, stats: &mut Stats) {
        let total = char_len(text);
        let (para_dups, para_chars, n_paras) = {
            let mut n = 0;
            let (d, c) = find_duplicates(split_newline_runs(text.trim(), 2).inspect(|_| n += 1));
            (d, c, n)
        };
        stats.push(("gopher_rep.dup_para_frac", ratio(para_dups, n_paras)));
        stats.push(("gopher_rep.dup_para_char_frac", ratio(para_chars, total)));
        let (line_dups, line_chars, n_lines) = {
            let mut n = 0;
            let (d, c) = find_duplicates(split_newline_runs(text, 1).inspect(|_| n += 1));
            (d, c, n)
        };
        stats.push(("gopher_rep.dup_line_frac", ratio(line_dups, n_lines)));
        stats.push(("gopher_rep.dup_line_char_frac", ratio(line_chars, total)));

        // Per token: its hash and its length in characters; prefix sums give any n-gram's hash and length.
        let mut hashes: Vec<u64> = Vec::new();
        let mut lens: Vec<usize> = Vec::new();
        self.splitter.for_each_token(text, |tok, _| {
            hashes.push(hash_str(tok));
            lens.push(char_len(tok));
        });
        let n_tok = hashes.len();
        let mut pref_h = Vec::with_capacity(n_tok + 1);
        let mut pref_l = Vec::with_capacity(n_tok + 1);
        pref_h.push(0u64);
        pref_l.push(0usize);
        for i in 0..n_tok {
            pref_h.push(pref_h[i].wrapping_mul(P).wrapping_add(hashes[i]));
            pref_l.push(pref_l[i] + lens[i]);
        }
        let mut pow = [1u64; 21];
        for k in 1..21 {
            pow[k] = pow[k - 1].wrapping_mul(P);
        }
        let gram = |i: usize, n: usize| pref_h[i + n].wrapping_sub(pref_h[i].wrapping_mul(pow[n]));
        let gram_chars = |i: usize, n: usize| pref_l[i + n] - pref_l[i];

        let mut counts: U64Map<(u32, u32)> = U64Map::default();
        counts.reserve(n_tok);
        for &n in &self.top {
            let name = TOP_NAMES[n - 1];
            if n_tok < n {
                stats.push((name, 0.0));
                continue;
            }
            counts.clear();
            // Most frequent n-gram; ties go to the one seen first (Python's Counter.most_common).
            let (mut best_count, mut best_first) = (0u32, u32::MAX);
            for i in 0..=n_tok - n {
                let e = counts.entry(gram(i, n)).or_insert((0, i as u32));
                e.0 += 1;
                if e.0 > best_count || e.0 == best_count && e.1 < best_first {
                    best_count = e.0;
                    best_first = e.1;
                }
            }
            // The n-gram's characters joined with single spaces, times its count.
            let top_chars = (gram_chars(best_first as usize, n) + n - 1) * best_count as usize;
            stats.push((name, ratio(top_chars, total)));
        }
        let mut seen = U64Set::default();
        seen.reserve(n_tok);
        for &n in &self.dup {
            seen.clear();
            // Left to right; a repeated n-gram's characters count once and the scan jumps past it.
            let mut repeated = 0usize;
            let mut i = 0usize;
            while n_tok >= n && i < n_tok - n + 1 {
                if seen.insert(gram(i, n)) {
                    i += 1;
                } else {
                    repeated += gram_chars(i, n);
                    i += n;
                }
            }
            stats.push((DUP_NAMES[n - 1], ratio(repeated, total)));
        }
    }
}
