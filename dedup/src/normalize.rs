//! Text normalisation applied before hashing.
//!
//! Two normalisations exist:
//! * [`Normalization::Whitespace`] for exact dedup: runs of Unicode whitespace become one space and the
//!   text is trimmed, so re-wrapped copies of one page hash alike while case and punctuation still count.
//! * [`Normalization::FineWeb`], the one FineWeb applies before MinHash (datatrove's `simplify_text`):
//!   lowercase, every run of digits folded to `0`, punctuation and symbols removed, accents stripped
//!   (canonical decomposition, NFD, then combining marks dropped) and whitespace collapsed.

use unicode_normalization::char::{decompose_canonical, is_combining_mark};

/// Which normalisation to apply before hashing a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Normalization {
    /// Hash the bytes as they are.
    None,
    /// Collapse runs of whitespace to one space and trim.
    #[default]
    Whitespace,
    /// FineWeb's normalisation (see [`normalize_fineweb`]).
    FineWeb,
}

impl Normalization {
    /// Normalises `text` into `out` (cleared first).
    pub fn apply(self, text: &str, out: &mut String) {
        out.clear();
        match self {
            Normalization::None => out.push_str(text),
            Normalization::Whitespace => normalize_whitespace(text, out),
            Normalization::FineWeb => normalize_fineweb(text, out),
        }
    }
}

/// Collapses runs of Unicode whitespace to a single space and trims both ends; appends to `out`.
pub fn normalize_whitespace(text: &str, out: &mut String) {
    let mut pending_space = false;
    for word in text.split_whitespace() {
        if pending_space {
            out.push(' ');
        }
        out.push_str(word);
        pending_space = true;
    }
}

/// FineWeb's normalisation, appended to `out`: lowercase, digit runs folded to one `0`, punctuation and
/// symbols turned into word breaks, NFD with combining marks removed, whitespace collapsed to single
/// spaces, no leading or trailing space.
///
/// ```
/// let mut out = String::new();
/// tria_dedup::normalize_fineweb("L'Àvia té 1.234 anys, SÍ!", &mut out);
/// assert_eq!(out, "l avia te 0 0 anys si");
/// ```
pub fn normalize_fineweb(text: &str, out: &mut String) {
    let mut word = Vec::new();
    let mut first = true;
    fineweb_words(text, &mut word, |w| {
        if !first {
            out.push(' ');
        }
        first = false;
        out.push_str(std::str::from_utf8(w).expect("only whole UTF-8 chars are pushed"));
    });
}

/// Calls `f` on each word of `text` after FineWeb's normalisation, in order: the words of
/// [`normalize_fineweb`]'s output, without building it. `word` is a reusable buffer.
///
/// ASCII bytes go through a 128-entry table and the characters of the two-byte UTF-8 range (Latin,
/// Greek, Cyrillic, …) through a table built once from the Unicode rules, so only rarer characters
/// pay for decomposition and case look-ups.
pub(crate) fn fineweb_words(text: &str, word: &mut Vec<u8>, mut f: impl FnMut(&[u8])) {
    word.clear();
    let mut last_digit = false;
    let bytes = text.as_bytes();
    let table = two_byte_table();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_alphabetic() {
            // A run of ASCII letters, the common case: when it is a whole lowercase word, it is
            // handed out as a slice of the text, without copying.
            let (j, upper) = ascii_letter_run(bytes, i);
            last_digit = false;
            let ends_word =
                j == bytes.len() || bytes[j] < 0x80 && ASCII_CLASS[bytes[j] as usize] == SEPARATOR;
            if word.is_empty() && !upper && ends_word {
                f(&bytes[i..j]);
            } else {
                word.extend(bytes[i..j].iter().map(u8::to_ascii_lowercase));
            }
            i = j;
            continue;
        }
        if b < 0x80 {
            step(ASCII_CLASS[b as usize], word, &mut last_digit, &mut f);
            i += 1;
            continue;
        }
        i = fold_non_ascii(text, i, table, |x| step(x, word, &mut last_digit, &mut f));
    }
    if !word.is_empty() {
        f(word);
        word.clear();
    }
}

/// The end of the run of ASCII letters starting at `i`, and whether it holds an uppercase one.
/// Eight bytes at a time: each byte `y < 0x80` plus a constant stays below 0x100, so the bytes of a
/// 64-bit sum do not carry into each other and their top bits give the range tests.
#[inline(always)]
fn ascii_letter_run(bytes: &[u8], mut j: usize) -> (usize, bool) {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    let mut upper = false;
    while let Some(chunk) = bytes.get(j..j + 8) {
        let x = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        let y = x & !HIGH;
        // Top bit of each byte: at least `a` and not past `z`; at least `A` and not past `Z`.
        let lower = (y + ONES * 0x1F) & !(y + ONES * 0x05);
        let up = (y + ONES * 0x3F) & !(y + ONES * 0x25);
        let letters = (lower | up) & !x & HIGH;
        let n = (!letters & HIGH).trailing_zeros() / 8;
        let within = if n == 8 {
            u64::MAX
        } else {
            (1u64 << (8 * n)) - 1
        };
        upper |= up & !x & HIGH & within != 0;
        j += n as usize;
        if n < 8 {
            return (j, upper);
        }
    }
    while j < bytes.len() && bytes[j].is_ascii_alphabetic() {
        upper |= bytes[j].is_ascii_uppercase();
        j += 1;
    }
    (j, upper)
}

/// A plain word found by [`plain_word`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PlainWord {
    /// Byte range of the letters and digits.
    pub start: usize,
    pub end: usize,
    /// Where the run ends (after any trailing punctuation).
    pub next: usize,
    /// The letters are lowercase ASCII already: their own normalisation.
    pub normalised: bool,
}

/// Whether the whitespace-free run starting at `i` is letters and digits with only ASCII
/// punctuation before and after (`Word`, `(àvia),`, `1999.`): its letters and digits are then its
/// one word for any language's splitter. Letters are ASCII or from the two-byte table.
#[inline]
pub(crate) fn plain_word(bytes: &[u8], i: usize) -> Option<PlainWord> {
    let mut p = i;
    while p < bytes.len() && bytes[p].is_ascii_punctuation() {
        p += 1;
    }
    let (mut end, upper) = ascii_letter_run(bytes, p);
    let mut normalised = !upper;
    let table = two_byte_table();
    while end < bytes.len() {
        let b = bytes[end];
        if b.is_ascii_alphanumeric() {
            normalised &= b.is_ascii_lowercase();
            end += 1;
        } else if b & 0xE0 == 0xC0
            && end + 1 < bytes.len()
            && table[(((usize::from(b) & 0x1F) << 6) | (usize::from(bytes[end + 1]) & 0x3F)) - 0x80]
                .word
        {
            normalised = false;
            end += 2;
        } else {
            break;
        }
    }
    let mut next = end;
    while next < bytes.len() && bytes[next].is_ascii_punctuation() {
        next += 1;
    }
    (end > p && bytes.get(next).is_none_or(u8::is_ascii_whitespace)).then_some(PlainWord {
        start: p,
        end,
        next,
        normalised,
    })
}

/// Whether `token` is a non-empty run of lowercase ASCII letters: its own FineWeb normalisation.
#[inline]
pub(crate) fn is_lowercase_ascii_word(token: &str) -> bool {
    let bytes = token.as_bytes();
    let (end, upper) = ascii_letter_run(bytes, 0);
    !bytes.is_empty() && end == bytes.len() && !upper
}

/// One step of the word builder: [`DIGIT`] (runs fold to one `0`), [`SEPARATOR`] (ends the word),
/// or a byte of a lowercase letter's UTF-8.
#[inline(always)]
fn step(x: u8, word: &mut Vec<u8>, last_digit: &mut bool, f: &mut impl FnMut(&[u8])) {
    if x == DIGIT {
        if !*last_digit {
            word.push(b'0');
            *last_digit = true;
        }
    } else if x == SEPARATOR {
        *last_digit = false;
        if !word.is_empty() {
            f(word);
            word.clear();
        }
    } else {
        *last_digit = false;
        word.push(x);
    }
}

/// Appends the FineWeb normalisation of one word token to `out` with its inner punctuation dropped
/// instead of turned into a break (`l'àvia` gives `lavia`, `EAJ-k` gives `eajk`), so that a token
/// stays one word. Digit runs fold to one `0` across dropped punctuation (`1.234` gives `0`).
pub(crate) fn fineweb_joined(token: &str, out: &mut Vec<u8>) {
    let mut last_digit = false;
    let mut push = |x: u8, out: &mut Vec<u8>| {
        if x == DIGIT {
            if !last_digit {
                out.push(b'0');
                last_digit = true;
            }
        } else if x != SEPARATOR {
            last_digit = false;
            out.push(x);
        }
    };
    let bytes = token.as_bytes();
    let table = two_byte_table();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            push(ASCII_CLASS[b as usize], out);
            i += 1;
            continue;
        }
        i = fold_non_ascii(token, i, table, |x| push(x, out));
    }
}

/// Folds the non-ASCII character starting at `text[i]` by FineWeb's rules into class bytes for
/// `emit`: the UTF-8 bytes of lowercase letters, [`DIGIT`], [`SEPARATOR`]. The two-byte range comes
/// from `table`, the rest from [`fold_slow`]. Returns the index after the character.
#[inline(always)]
fn fold_non_ascii(text: &str, i: usize, table: &[TableEntry], mut emit: impl FnMut(u8)) -> usize {
    let bytes = text.as_bytes();
    let b = bytes[i];
    if b & 0xE0 == 0xC0 && i + 1 < bytes.len() {
        // A two-byte sequence: U+0080..U+07FF.
        let cp = ((usize::from(b) & 0x1F) << 6) | (usize::from(bytes[i + 1]) & 0x3F);
        let e = &table[cp - 0x80];
        if e.len != SLOW {
            for &x in &e.bytes[..usize::from(e.len)] {
                emit(x);
            }
            return i + 2;
        }
    }
    let c = text[i..]
        .chars()
        .next()
        .expect("i is on a char boundary below the length");
    let mut buf = [0u8; 4];
    fold_slow(c, |item| match item {
        Fold::Letter(l) => {
            for &x in l.encode_utf8(&mut buf).as_bytes() {
                emit(x);
            }
        }
        Fold::Digit => emit(DIGIT),
        Fold::Separator => emit(SEPARATOR),
    });
    i + c.len_utf8()
}

/// What one character (or one piece of its decomposition) contributes to the normalised text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fold {
    /// A lowercase letter, kept.
    Letter(char),
    /// A digit: runs of digits become one `0`.
    Digit,
    /// Whitespace, punctuation or a symbol: ends the word.
    Separator,
}

/// The Unicode path for one character: canonical decomposition (NFD), combining marks dropped,
/// uppercase lowered (dropping marks the lowering may add), then each piece classified.
fn fold_slow(c: char, mut sink: impl FnMut(Fold)) {
    let mut classify = |d: char| {
        if d.is_numeric() {
            sink(Fold::Digit)
        } else if d.is_alphabetic() {
            sink(Fold::Letter(d.to_ascii_lowercase()))
        } else {
            sink(Fold::Separator)
        }
    };
    decompose_canonical(c, |d| {
        if is_combining_mark(d) {
            return;
        }
        if d.is_uppercase() {
            for l in d.to_lowercase() {
                if !is_combining_mark(l) {
                    classify(l);
                }
            }
        } else {
            classify(d);
        }
    });
}

/// `len` of a table entry whose character takes the Unicode path.
const SLOW: u8 = u8::MAX;

/// What a two-byte UTF-8 character folds to, as steps for [`step`].
#[derive(Clone, Copy)]
struct TableEntry {
    len: u8,
    bytes: [u8; 7],
    /// The character is a letter or digit (`char::is_alphanumeric`) that folds to letters and
    /// digits only: a word character for every word splitter.
    word: bool,
}

/// The folding of every character U+0080..U+07FF, computed once by [`fold_slow`].
fn two_byte_table() -> &'static [TableEntry] {
    static TABLE: std::sync::OnceLock<Vec<TableEntry>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        (0x80u32..0x800)
            .map(|cp| {
                let mut e = TableEntry {
                    len: 0,
                    bytes: [0; 7],
                    word: false,
                };
                let Some(c) = char::from_u32(cp) else {
                    e.len = SLOW;
                    return e;
                };
                let mut out = Vec::new();
                fold_slow(c, |item| match item {
                    Fold::Letter(l) => {
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(l.encode_utf8(&mut buf).as_bytes());
                    }
                    Fold::Digit => out.push(DIGIT),
                    Fold::Separator => out.push(SEPARATOR),
                });
                e.word = c.is_alphanumeric() && !out.is_empty() && !out.contains(&SEPARATOR);
                if out.len() <= e.bytes.len() {
                    e.len = out.len() as u8;
                    e.bytes[..out.len()].copy_from_slice(&out);
                } else {
                    e.len = SLOW;
                }
                e
            })
            .collect()
    })
}

const DIGIT: u8 = 0;
const SEPARATOR: u8 = 1;

/// For each ASCII byte: its lowercase form for letters, else [`DIGIT`] or [`SEPARATOR`].
const ASCII_CLASS: [u8; 128] = {
    let mut t = [SEPARATOR; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        if c.is_ascii_digit() {
            t[b] = DIGIT;
        } else if c.is_ascii_alphabetic() {
            t[b] = c.to_ascii_lowercase();
        }
        b += 1;
    }
    t
};

/// The default word splitter: Unicode whitespace.
pub fn split_whitespace(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fw(s: &str) -> String {
        let mut out = String::new();
        normalize_fineweb(s, &mut out);
        out
    }

    #[test]
    fn fineweb_folds_case_digits_punctuation_accents() {
        assert_eq!(fw("Hello, World!"), "hello world");
        assert_eq!(fw("  Año 2024: 15 €  "), "ano 0 0");
        assert_eq!(fw("Çà i là, l'àvia"), "ca i la l avia");
        assert_eq!(
            fw("Euskal Herriko ÜNIBERTSITATEA"),
            "euskal herriko unibertsitatea"
        );
        assert_eq!(fw("Ελληνικά Ά"), "ελληνικα α");
        assert_eq!(fw("Москва́ Ёлка"), "москва елка");
        assert_eq!(fw("a1b22c"), "a0b0c");
        assert_eq!(fw("ŁÓDŹ"), "łodz");
        assert_eq!(fw("...!!!"), "");
        assert_eq!(fw(""), "");
    }

    /// The rules one character at a time, all through the Unicode path: what the tables and the
    /// ASCII runs of [`fineweb_words`] must reproduce.
    fn reference(text: &str) -> String {
        let mut out = String::new();
        let (mut last_digit, mut last_space) = (false, true);
        for c in text.chars() {
            fold_slow(c, |item| match item {
                Fold::Digit => {
                    if !last_digit {
                        out.push('0');
                        last_digit = true;
                        last_space = false;
                    }
                }
                Fold::Letter(l) => {
                    last_digit = false;
                    last_space = false;
                    out.push(l);
                }
                Fold::Separator => {
                    last_digit = false;
                    if !last_space {
                        out.push(' ');
                        last_space = true;
                    }
                }
            });
        }
        if out.ends_with(' ') {
            out.pop();
        }
        out
    }

    #[test]
    fn fast_paths_match_the_unicode_rules() {
        let pieces = [
            "a",
            "Z",
            "word",
            "Word",
            "WORD",
            "wordlongerthan8",
            "MixedCASEwordsXYZ",
            " ",
            "  ",
            "\n",
            "\t",
            ",",
            ".",
            "'",
            "-",
            "1",
            "2024",
            "3.14",
            "é",
            "É",
            "ç",
            "l·l",
            "ñ",
            "ß",
            "Ω",
            "ά",
            "Ё",
            "ї",
            "ł",
            "İ",
            "ǅ",
            "½",
            "²",
            "٣",
            "中文",
            "\u{301}",
            "e\u{301}",
            "ﬁ",
            "\u{a0}",
            "\u{2019}",
            "😀",
            "ŉ",
        ];
        let mut st = 11u64;
        for _ in 0..3000 {
            let len = (crate::minhash::splitmix64(&mut st) % 12) as usize;
            let text: String = (0..len)
                .map(|_| {
                    pieces[(crate::minhash::splitmix64(&mut st) % pieces.len() as u64) as usize]
                })
                .collect();
            assert_eq!(fw(&text), reference(&text), "{text:?}");
        }
        // Every character of the two-byte table, alone, between letters and after a digit.
        for cp in 0x80u32..0x800 {
            let c = char::from_u32(cp).expect("no surrogates below 0x800");
            for t in [
                format!("{c}"),
                format!("ab{c}cd"),
                format!("7{c}8"),
                format!("A{c} "),
            ] {
                assert_eq!(fw(&t), reference(&t), "U+{cp:04X} in {t:?}");
            }
        }
    }

    #[test]
    fn joined_words_drop_inner_punctuation() {
        let joined = |t: &str| {
            let mut out = Vec::new();
            fineweb_joined(t, &mut out);
            String::from_utf8(out).expect("UTF-8")
        };
        assert_eq!(joined("L'Àvia"), "lavia");
        assert_eq!(joined("EAJ-k"), "eajk");
        assert_eq!(joined("2018-an"), "0an");
        assert_eq!(joined("1.234,5"), "0");
        assert_eq!(joined("col·lecció"), "colleccio");
        assert_eq!(joined("Ὀδυσσεύς"), "οδυσσευς");
        assert_eq!(joined("'"), "");
        for (t, plain) in [
            ("casa", true),
            ("Casa", false),
            ("cas4", false),
            ("", false),
        ] {
            assert_eq!(is_lowercase_ascii_word(t), plain, "{t}");
            if plain {
                assert_eq!(joined(t), t);
            }
        }
        // The same letters and digits as the normalisation of the whole token, without breaks.
        let mut st = 5u64;
        let pieces = [
            "a", "Ç", "-", "'", "9", "é", "\u{301}", "½", "ŉ", "Ω", "·", "中",
        ];
        for _ in 0..2000 {
            let len = (crate::minhash::splitmix64(&mut st) % 10) as usize;
            let t: String = (0..len)
                .map(|_| {
                    pieces[(crate::minhash::splitmix64(&mut st) % pieces.len() as u64) as usize]
                })
                .collect();
            let digits_folded: String = reference(&t.replace(|c: char| !c.is_alphanumeric(), ""));
            assert_eq!(joined(&t), digits_folded.replace(' ', ""), "{t:?}");
        }
    }

    #[test]
    fn fineweb_precomposed_and_decomposed_agree() {
        // "é" precomposed versus "e" + COMBINING ACUTE ACCENT.
        assert_eq!(fw("caf\u{e9}"), fw("cafe\u{301}"));
        assert_eq!(fw("caf\u{e9}"), "cafe");
    }

    #[test]
    fn whitespace_normalisation_keeps_case_and_punctuation() {
        let mut out = String::new();
        Normalization::Whitespace.apply(" A  b,\n\tC ", &mut out);
        assert_eq!(out, "A b, C");
        Normalization::None.apply(" A ", &mut out);
        assert_eq!(out, " A ");
    }
}
