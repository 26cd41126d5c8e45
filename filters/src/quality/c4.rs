//! The C4 line-level rule (Raffel et al. 2020, "Exploring the Limits of Transfer Learning with a Unified
//! Text-to-Text Transformer", arXiv:1910.10683, section 2.2; reference code `tensorflow_datasets/text/c4_utils.py`).
//!
//! Lines are kept or removed one by one; a document is dropped when it contains "lorem ipsum" or a curly
//! bracket in a line that survived the earlier line checks, or when fewer than `min_num_sentences` sentences
//! remain. In normal mode the removed lines are cut from the text; in tag-only mode the text is left alone.

use serde::{Deserialize, Serialize};

use super::{Bound, Stats, Threshold};

/// Settings of the C4 rule. Defaults are C4's published ones: datatrove's `C4QualityFilter` swaps two of
/// them (it uses 3 words per line and 5 sentences) and adds `'` to the end marks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct C4Config {
    /// Remove Wikipedia citation marks (`[1]`, `[edit]`, `[citation needed]`) before the checks. C4: on.
    pub remove_citations: bool,
    /// Remove lines that do not end in one of `end_marks`, or that end in `...`. C4: on.
    pub filter_no_terminal_punct: bool,
    /// Terminal marks. C4 (`_END_MARKS`): `.` `?` `!` `"`.
    pub end_marks: Vec<String>,
    /// Drop the document when fewer sentences remain. C4 (`_MIN_NUM_SENTENCES`): 3.
    pub min_num_sentences: u64,
    /// Remove lines with fewer whitespace-separated words. C4 (`_MIN_WORDS_PER_LINE`): 5.
    pub min_words_per_line: u64,
    /// Remove lines containing a longer word (characters). C4 (`_MAX_WORD_LENGTH`): 1000.
    pub max_word_length: u64,
    /// Drop documents containing "lorem ipsum". C4: on.
    pub filter_lorem_ipsum: bool,
    /// Remove lines mentioning "javascript". C4: on.
    pub filter_javascript: bool,
    /// Drop documents with `{`. C4: on.
    pub filter_curly_bracket: bool,
    /// Remove lines containing one of `policy_substrings`. C4: on.
    pub filter_policy: bool,
    /// C4's `_POLICY_SUBSTRINGS` (lowercase).
    pub policy_substrings: Vec<String>,
}

impl Default for C4Config {
    fn default() -> Self {
        // tensorflow_datasets c4_utils.py constants, as published with the C4 paper (arXiv:1910.10683).
        C4Config {
            remove_citations: true,
            filter_no_terminal_punct: true,
            end_marks: [".", "?", "!", "\""].map(String::from).to_vec(),
            min_num_sentences: 3,
            min_words_per_line: 5,
            max_word_length: 1000,
            filter_lorem_ipsum: true,
            filter_javascript: true,
            filter_curly_bracket: true,
            filter_policy: true,
            policy_substrings: [
                "terms of use",
                "privacy policy",
                "cookie policy",
                "uses cookies",
                "use of cookies",
                "use cookies",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

/// The C4 rule, compiled.
#[derive(Debug, Clone)]
pub(crate) struct C4 {
    cfg: C4Config,
    pub(crate) thresholds: Vec<Threshold>,
}

impl C4 {
    pub(crate) fn new(cfg: &C4Config) -> Self {
        let t = |stat, bound, value: f64, reason| Threshold {
            stat,
            bound,
            value,
            reason,
        };
        let mut thresholds = Vec::new();
        if cfg.filter_lorem_ipsum {
            thresholds.push(t("c4.lorem_ipsum", Bound::Max, 0.0, "lorem_ipsum"));
        }
        if cfg.filter_curly_bracket {
            thresholds.push(t("c4.curly_bracket", Bound::Max, 0.0, "curly_bracket"));
        }
        thresholds.push(t(
            "c4.sentences",
            Bound::Min,
            cfg.min_num_sentences as f64,
            "too_few_sentences",
        ));
        C4 {
            cfg: cfg.clone(),
            thresholds,
        }
    }

    /// Measures, and when `rewrite` is set and the document is kept by the line checks, writes the
    /// surviving lines into `kept` (joined by `\n`, trimmed).
    pub(crate) fn measure(&self, text: &str, stats: &mut Stats, kept: Option<&mut String>) {
        let c = &self.cfg;
        let (mut total, mut n_kept, mut sentences) = (0usize, 0usize, 0usize);
        let (mut lorem, mut curly) = (0.0, 0.0);
        let mut out = kept;
        let mut cleaned = String::new();
        let mut lower = String::new();
        for raw in text.lines() {
            total += 1;
            let line = raw.trim();
            let mut n_words = 0u64;
            let mut too_long = false;
            for w in line.split_whitespace() {
                n_words += 1;
                if w.len() as u64 > c.max_word_length
                    && w.chars().count() as u64 > c.max_word_length
                {
                    too_long = true;
                }
            }
            if too_long {
                continue;
            }
            let line: &str = if c.remove_citations && line.contains('[') {
                cleaned.clear();
                remove_citations(line, &mut cleaned);
                &cleaned
            } else {
                line
            };
            if c.filter_no_terminal_punct
                && (!c.end_marks.iter().any(|m| line.ends_with(m.as_str()))
                    || line.ends_with("..."))
            {
                continue;
            }
            if n_words < c.min_words_per_line {
                continue;
            }
            lower.clear();
            lower.push_str(line);
            lower.make_ascii_lowercase();
            if lower.bytes().any(|b| b >= 0x80) {
                lower = line.to_lowercase();
            }
            if c.filter_lorem_ipsum && lower.contains("lorem ipsum") {
                lorem = 1.0;
                break;
            }
            if c.filter_javascript && lower.contains("javascript") {
                continue;
            }
            if c.filter_curly_bracket && line.contains('{') {
                curly = 1.0;
                break;
            }
            if c.filter_policy
                && c.policy_substrings
                    .iter()
                    .any(|p| lower.contains(p.as_str()))
            {
                continue;
            }
            sentences += count_sentences(line);
            n_kept += 1;
            if let Some(buf) = out.as_deref_mut() {
                if !buf.is_empty() {
                    buf.push('\n');
                }
                buf.push_str(line);
            }
        }
        stats.push(("c4.lines", total as f64));
        stats.push(("c4.lines_kept", n_kept as f64));
        stats.push(("c4.lorem_ipsum", lorem));
        stats.push(("c4.curly_bracket", curly));
        stats.push(("c4.sentences", sentences as f64));
    }
}

/// Removes `[digits]`, `[edit]` and `[citation needed]` (C4's `_CITATION_REGEX`).
fn remove_citations(line: &str, out: &mut String) {
    let mut rest = line;
    while let Some(pos) = rest.find('[') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let skip = if after[digits..].starts_with(']') {
            Some(digits + 1)
        } else if after.starts_with("edit]") {
            Some(5)
        } else if after.starts_with("citation needed]") {
            Some(16)
        } else {
            None
        };
        match skip {
            Some(n) => rest = &after[n..],
            None => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

/// Counts sentences in one line with a rule-based splitter: a run of `.`, `!`, `?` or `…` ends a sentence
/// when whitespace follows and the next word does not start in lowercase; a `.` after a single letter
/// (an initial) or a number does not. Text after the last boundary is one more sentence.
pub(crate) fn count_sentences(line: &str) -> usize {
    let chars: Vec<char> = line.chars().collect();
    let mut n = 0usize;
    let mut i = 0usize;
    let mut has_text = false;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, '.' | '!' | '?' | '…') {
            let start = i;
            while i < chars.len()
                && matches!(
                    chars[i],
                    '.' | '!' | '?' | '…' | '"' | '\'' | ')' | '»' | '”'
                )
            {
                i += 1;
            }
            let at_end = i >= chars.len();
            let space_follows = at_end || chars[i].is_whitespace();
            if !space_follows || !has_text {
                continue;
            }
            let next_word = chars[i..].iter().find(|c| !c.is_whitespace());
            let next_lower = next_word.is_some_and(|c| c.is_lowercase());
            // The word before the mark: a single letter or a number is an initial / ordinal, not an end.
            let mut j = start;
            while j > 0 && chars[j - 1].is_alphanumeric() {
                j -= 1;
            }
            let prev_word = &chars[j..start];
            let abbrev = chars[start] == '.'
                && i - start == 1
                && (prev_word.len() == 1 && prev_word[0].is_alphabetic()
                    || !prev_word.is_empty() && prev_word.iter().all(|c| c.is_ascii_digit()));
            if at_end || !next_lower && !abbrev {
                n += 1;
                has_text = false;
            }
            continue;
        }
        if c.is_alphanumeric() {
            has_text = true;
        }
        i += 1;
    }
    if has_text {
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn citations_removed() {
        let mut s = String::new();
        remove_citations(
            "La Seu d'Urgell[1] és bonica[edit] [x] [citation needed].",
            &mut s,
        );
        assert_eq!(s, "La Seu d'Urgell és bonica [x] .");
    }

    #[test]
    fn sentences_counted() {
        assert_eq!(count_sentences("Bon dia. Com estàs? Molt bé!"), 3);
        assert_eq!(count_sentences("Va venir J. Puig el 3. de maig."), 1);
        assert_eq!(count_sentences("Kaixo, zer moduz"), 1);
        assert_eq!(count_sentences("Ola... e despois? nada."), 1);
        assert_eq!(count_sentences("Ola... E despois? Nada."), 3);
        assert_eq!(count_sentences(""), 0);
    }
}
