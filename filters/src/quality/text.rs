//! Small text helpers shared by the rules: line splitting, punctuation classes, duplicate counting.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// A hasher for keys that are already well-mixed 64-bit hashes.
#[derive(Default)]
pub(crate) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only used with u64 keys; fold anything else in so the type stays correct.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub(crate) type U64Set = HashSet<u64, BuildHasherDefault<PassThrough>>;
pub(crate) type U64Map<V> = std::collections::HashMap<u64, V, BuildHasherDefault<PassThrough>>;

pub(crate) fn hash_str(s: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(s.as_bytes())
}

/// Number of Unicode scalar values (what Python's `len` counts).
pub(crate) fn char_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// Punctuation characters: ASCII punctuation plus the general-punctuation, CJK and full-width blocks and the
/// Latin-1 marks European text uses (`«»¡¿·´`). A token made only of these is a "symbol word".
pub fn is_punctuation(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_punctuation();
    }
    matches!(c,
        '\u{00A1}' | '\u{00A7}' | '\u{00AB}' | '\u{00B4}' | '\u{00B6}' | '\u{00B7}' | '\u{00BB}' | '\u{00BF}'
        | '\u{037E}' | '\u{0387}' | '\u{055A}'..='\u{055F}' | '\u{0589}' | '\u{058A}'
        | '\u{2010}'..='\u{2027}' | '\u{2030}'..='\u{205E}' | '\u{2E00}'..='\u{2E5D}'
        | '\u{3001}'..='\u{3003}' | '\u{3008}'..='\u{3011}' | '\u{3014}'..='\u{301F}'
        | '\u{FF01}'..='\u{FF0F}' | '\u{FF1A}'..='\u{FF20}' | '\u{FF3B}'..='\u{FF40}' | '\u{FF5B}'..='\u{FF65}'
        | '\u{25BA}' | '\u{2501}' | '\u{2236}' | '\u{061F}' | '\u{06D4}' | '\u{0964}' | '\u{0965}')
}

/// Unicode `Sentence_Terminal` characters of the scripts Europe writes in, and the common others
/// (the FineWeb rule's default "stop characters").
pub fn is_sentence_terminal(c: char) -> bool {
    matches!(c,
        '!' | '.' | '?' | '\u{0589}' | '\u{061D}'..='\u{061F}' | '\u{06D4}' | '\u{0700}'..='\u{0702}'
        | '\u{07F9}' | '\u{0964}' | '\u{0965}' | '\u{104A}' | '\u{104B}' | '\u{1362}' | '\u{1367}' | '\u{1368}'
        | '\u{166E}' | '\u{1735}' | '\u{1736}' | '\u{17D4}' | '\u{17D5}' | '\u{1803}' | '\u{1809}'
        | '\u{1944}' | '\u{1945}' | '\u{203C}' | '\u{203D}' | '\u{2047}'..='\u{2049}' | '\u{2E2E}' | '\u{2E3C}'
        | '\u{2E53}' | '\u{2E54}' | '\u{3002}' | '\u{A4FF}' | '\u{A60E}' | '\u{A60F}' | '\u{A6F3}' | '\u{A6F7}'
        | '\u{FE52}' | '\u{FE56}' | '\u{FE57}' | '\u{FF01}' | '\u{FF0E}' | '\u{FF1F}' | '\u{FF61}')
}

/// `(duplicate elements, characters in the duplicates)`: every occurrence after the first counts.
pub(crate) fn find_duplicates<'a>(items: impl Iterator<Item = &'a str>) -> (usize, usize) {
    let mut seen: HashSet<&str> = HashSet::new();
    let (mut dups, mut chars) = (0, 0);
    for it in items {
        if !seen.insert(it) {
            dups += 1;
            chars += char_len(it);
        }
    }
    (dups, chars)
}

/// Splits on runs of at least `min_run` newlines (`\n{2,}` for paragraphs, `\n+` for lines), like
/// `re.split`: a leading or trailing run gives an empty first or last piece.
pub(crate) fn split_newline_runs(text: &str, min_run: usize) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut start = 0usize;
    let mut i = 0usize;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        while i < bytes.len() {
            if bytes[i] == b'\n' {
                let run_start = i;
                while i < bytes.len() && bytes[i] == b'\n' {
                    i += 1;
                }
                if i - run_start >= min_run {
                    let piece = &text[start..run_start];
                    start = i;
                    return Some(piece);
                }
            } else {
                i += 1;
            }
        }
        done = true;
        Some(&text[start..])
    })
}

/// Ratio that is 0 when the denominator is 0 (an empty document has no repeated anything).
pub(crate) fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newline_runs_split_like_python_re() {
        let v: Vec<&str> = split_newline_runs("a\n\nb\nc\n\n\n", 2).collect();
        assert_eq!(v, ["a", "b\nc", ""]);
        let v: Vec<&str> = split_newline_runs("\na\nb", 1).collect();
        assert_eq!(v, ["", "a", "b"]);
    }

    #[test]
    fn duplicates_count_later_occurrences() {
        assert_eq!(
            find_duplicates(["això", "b", "això", "això"].into_iter()),
            (2, 8)
        );
    }
}
