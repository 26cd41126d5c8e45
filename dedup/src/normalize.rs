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
    let mut state = FoldState {
        last_digit: false,
        last_space: true,
    };
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii() {
            // Fast path: ASCII needs neither decomposition nor Unicode tables.
            match ASCII_CLASS[b as usize] {
                DIGIT => {
                    if !state.last_digit {
                        out.push('0');
                        state.last_digit = true;
                        state.last_space = false;
                    }
                }
                SEPARATOR => {
                    state.last_digit = false;
                    if !state.last_space {
                        out.push(' ');
                        state.last_space = true;
                    }
                }
                lower => {
                    state.last_digit = false;
                    out.push(lower as char);
                    state.last_space = false;
                }
            }
            i += 1;
            continue;
        }
        let c = text[i..]
            .chars()
            .next()
            .expect("i is on a char boundary below the length");
        i += c.len_utf8();
        decompose_canonical(c, |d| {
            if is_combining_mark(d) {
                return;
            }
            if d.is_uppercase() {
                for l in d.to_lowercase() {
                    if !is_combining_mark(l) {
                        fold_char(l, out, &mut state);
                    }
                }
            } else {
                fold_char(d, out, &mut state);
            }
        });
    }
    if out.ends_with(' ') {
        out.pop();
    }
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

struct FoldState {
    last_digit: bool,
    /// True at the start and after a space, so no leading or doubled spaces are written.
    last_space: bool,
}

#[inline]
fn fold_char(c: char, out: &mut String, st: &mut FoldState) {
    if c.is_numeric() {
        if !st.last_digit {
            out.push('0');
            st.last_digit = true;
            st.last_space = false;
        }
        return;
    }
    st.last_digit = false;
    if c.is_alphabetic() {
        out.push(c.to_ascii_lowercase());
        st.last_space = false;
    } else if !st.last_space {
        // Whitespace, punctuation and symbols all end a word.
        out.push(' ');
        st.last_space = true;
    }
}

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
