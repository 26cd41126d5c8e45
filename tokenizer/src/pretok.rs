//! Pre-tokenizers of the two trainable models, written for the `regex` crate (DFA, no
//! backtracking) and checked in tests to split exactly as the `tokenizers` library does with the
//! Oniguruma pattern written into `tokenizer.json`.
//!
//! Both Oniguruma patterns end in a look-ahead (`\s+(?!\S)`, `▁+(?=▁[^▁\p{N}])`) that the `regex`
//! crate cannot express. We match the same alternation without it and then give back the last
//! character of a whitespace run when the look-ahead would have done so: a leftmost-first DFA
//! prefers alternatives in the same order as a backtracking engine, so the only difference is that
//! one character.

use regex::Regex;

/// The GPT-4 (`cl100k_base`) pre-tokenizer pattern, as written into `tokenizer.json`.
pub const GPT4_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const GPT4_NO_LOOKAHEAD: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+";

/// The SentencePiece-style word pattern, applied after `▁` replaced spaces: single digits,
/// letter/mark runs and other-symbol runs each with at most one leading `▁`, and whitespace-only
/// runs (the last `▁` of a run stays with the word that follows it).
pub const SP_PATTERN: &str = r"\p{N}|▁?[\p{L}\p{M}]+|▁?[^▁\p{N}\p{L}\p{M}]+|▁+(?=▁[^▁\p{N}])|▁+";
const SP_NO_LOOKAHEAD: &str = r"\p{N}|▁?[\p{L}\p{M}]+|▁?[^▁\p{N}\p{L}\p{M}]+|▁+";

/// SentencePiece's whitespace marker, U+2581.
pub const SPACE_MARK: char = '▁';

/// Splits text into the words a BPE model is trained on.
#[derive(Debug, Clone)]
pub struct Splitter {
    re: Regex,
    kind: SplitKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SplitKind {
    Gpt4,
    SentencePiece,
}

impl Splitter {
    /// The GPT-4-style splitter (byte-level model).
    pub fn gpt4() -> Splitter {
        Splitter {
            re: Regex::new(GPT4_NO_LOOKAHEAD).expect("constant pattern compiles"),
            kind: SplitKind::Gpt4,
        }
    }

    /// The SentencePiece-style splitter, over text already normalised by [`sp_normalize`].
    pub fn sentencepiece() -> Splitter {
        Splitter {
            re: Regex::new(SP_NO_LOOKAHEAD).expect("constant pattern compiles"),
            kind: SplitKind::SentencePiece,
        }
    }

    /// Calls `f` on each word of `text`, in order; the words concatenate back to `text`.
    pub fn split<'t>(&self, text: &'t str, mut f: impl FnMut(&'t str)) {
        let mut at = 0;
        while at < text.len() {
            let Some(m) = self.re.find_at(text, at) else {
                // Every character matches some alternative, so this only happens at the end.
                f(&text[at..]);
                break;
            };
            if m.start() > at {
                f(&text[at..m.start()]);
            }
            let mut end = m.end();
            let s = m.as_str();
            if end < text.len() && self.gives_back_last(s, &text[end..]) {
                let last = s.chars().next_back().expect("match of 2+ chars").len_utf8();
                end -= last;
            }
            f(&text[m.start()..end]);
            at = end;
        }
    }

    /// Whether the look-ahead alternative would have stopped one character earlier.
    fn gives_back_last(&self, m: &str, rest: &str) -> bool {
        let mut chars = m.chars();
        let (Some(_), Some(_)) = (chars.next(), chars.next()) else {
            return false;
        };
        match self.kind {
            // `\s+` matched (all whitespace, no newline: else `\s*[\r\n]+` would have won) and
            // a non-space follows: `\s+(?!\S)` stops before the last space.
            SplitKind::Gpt4 => m.chars().all(char::is_whitespace) && !m.contains(['\r', '\n']),
            // `▁+` matched and a non-digit follows: `▁+(?=▁[^▁\p{N}])` leaves one `▁` for it.
            SplitKind::SentencePiece => {
                m.chars().all(|c| c == SPACE_MARK)
                    && rest.chars().next().is_some_and(|c| !c.is_numeric())
            }
        }
    }
}

/// SentencePiece-style normalisation: optional NFC, `▁` prepended, spaces replaced by `▁`.
pub fn sp_normalize(text: &str, nfc: bool, out: &mut String) {
    use unicode_normalization::UnicodeNormalization;
    out.clear();
    out.push(SPACE_MARK);
    let mut push = |c: char| out.push(if c == ' ' { SPACE_MARK } else { c });
    if nfc
        && !unicode_normalization::is_nfc_quick(text.chars())
            .eq(&unicode_normalization::IsNormalized::Yes)
    {
        text.nfc().for_each(&mut push);
    } else {
        text.chars().for_each(push);
    }
}

/// GPT-2's reversible byte-to-character map used by byte-level BPE: printable Latin-1 bytes map
/// to themselves, the others to U+0100 onwards in byte order.
pub fn byte_to_char() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..256u32 {
        let printable =
            (0x21..=0x7E).contains(&b) || (0xA1..=0xAC).contains(&b) || (0xAE..=0xFF).contains(&b);
        let c = if printable {
            b
        } else {
            next += 1;
            next - 1
        };
        table[b as usize] = char::from_u32(c).expect("below U+0200");
    }
    table
}
