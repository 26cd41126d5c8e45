//! FineWeb's own quality rules (Penedo et al. 2024, "The FineWeb Datasets", arXiv:2406.17557, section 3.3;
//! reference code datatrove `FineWebQualityFilter`, whose defaults the FineWeb release used).

use serde::{Deserialize, Serialize};

use super::text::{char_len, find_duplicates, is_sentence_terminal, ratio};
use super::{Bound, Stats, Threshold};
use crate::words::WordSplitter;

/// Thresholds of the FineWeb rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FineWebConfig {
    /// Share of non-blank lines ending in a stop character below this: dropped. FineWeb: 0.12.
    pub line_punct_thr: f64,
    /// Do not apply `line_punct_thr` when no line at all ends in punctuation (FineWeb-2 uses this for
    /// scripts without sentence punctuation). FineWeb: off.
    pub line_punct_exclude_zero: bool,
    /// Stop characters; absent = the Unicode `Sentence_Terminal` characters (as datatrove).
    pub stop_chars: Option<Vec<String>>,
    /// Share of lines of at most `short_line_length` characters above this: dropped. FineWeb: 0.67.
    pub short_line_thr: f64,
    /// What a short line is, in characters. FineWeb: 30.
    pub short_line_length: u64,
    /// Characters in repeated lines / characters outside newlines above this: dropped. datatrove default
    /// used for FineWeb: 0.01 (the paper's text says 0.1).
    pub char_duplicates_ratio: f64,
    /// Newlines per word above this: dropped. FineWeb: 0.3.
    pub new_line_ratio: f64,
}

impl Default for FineWebConfig {
    fn default() -> Self {
        // datatrove FineWebQualityFilter defaults, as run for FineWeb (arXiv:2406.17557).
        FineWebConfig {
            line_punct_thr: 0.12,
            line_punct_exclude_zero: false,
            stop_chars: None,
            short_line_thr: 0.67,
            short_line_length: 30,
            char_duplicates_ratio: 0.01,
            new_line_ratio: 0.3,
        }
    }
}

/// The FineWeb rule, compiled for one language.
#[derive(Debug, Clone)]
pub(crate) struct FineWeb {
    cfg: FineWebConfig,
    splitter: WordSplitter,
    pub(crate) thresholds: Vec<Threshold>,
}

impl FineWeb {
    pub(crate) fn new(cfg: &FineWebConfig, lang: Option<&str>) -> Self {
        let t = |stat, bound, value: f64, reason| Threshold {
            stat,
            bound,
            value,
            reason,
        };
        let thresholds = vec![
            t("fineweb.lines", Bound::Min, 1.0, "empty"),
            t(
                "fineweb.line_punct_ratio",
                Bound::Min,
                cfg.line_punct_thr,
                "line_punct_ratio",
            ),
            t(
                "fineweb.short_line_ratio",
                Bound::Max,
                cfg.short_line_thr,
                "short_line_ratio",
            ),
            t(
                "fineweb.char_dup_ratio",
                Bound::Max,
                cfg.char_duplicates_ratio,
                "char_dup_ratio",
            ),
            t(
                "fineweb.newline_ratio",
                Bound::Max,
                cfg.new_line_ratio,
                "list_ratio",
            ),
        ];
        FineWeb {
            cfg: cfg.clone(),
            splitter: WordSplitter::new(lang.unwrap_or("")),
            thresholds,
        }
    }

    fn ends_with_stop(&self, line: &str) -> bool {
        match &self.cfg.stop_chars {
            Some(list) => list.iter().any(|s| line.ends_with(s.as_str())),
            None => line.chars().next_back().is_some_and(is_sentence_terminal),
        }
    }

    pub(crate) fn measure(&self, text: &str, stats: &mut Stats) {
        let (mut n, mut punct, mut short) = (0usize, 0usize, 0usize);
        let lines = text.split('\n').filter(|l| !l.trim().is_empty());
        for line in lines.clone() {
            n += 1;
            if self.ends_with_stop(line) {
                punct += 1;
            }
            if char_len(line) as u64 <= self.cfg.short_line_length {
                short += 1;
            }
        }
        let (_, dup_chars) = find_duplicates(lines);
        let newlines = text.bytes().filter(|&b| b == b'\n').count();
        let mut words = 0usize;
        self.splitter.for_each_token(text, |_, _| words += 1);
        let punct_ratio = ratio(punct, n);
        stats.push(("fineweb.lines", n as f64));
        // With `line_punct_exclude_zero`, a document with no punctuated line passes this check.
        let punct_stat = if punct_ratio == 0.0 && self.cfg.line_punct_exclude_zero {
            1.0
        } else {
            punct_ratio
        };
        stats.push(("fineweb.line_punct_ratio", punct_stat));
        stats.push(("fineweb.short_line_ratio", ratio(short, n)));
        stats.push((
            "fineweb.char_dup_ratio",
            ratio(dup_chars, char_len(text) - newlines),
        ));
        // No words at all: count newlines per one word, so a blank page of newlines still fails.
        stats.push(("fineweb.newline_ratio", ratio(newlines, words.max(1))));
    }
}
