//! Shared test corpus: the 35-language fixture sentences, recombined deterministically.
#![allow(dead_code, clippy::unwrap_used)]

pub fn fixtures() -> Vec<(String, String)> {
    include_str!("../fixtures/langs.tsv")
        .lines()
        .map(|l| {
            let (lang, text) = l.split_once('\t').unwrap();
            (lang.to_string(), text.to_string())
        })
        .collect()
}

/// Extra strings that stress the pre-tokenizers and decoders.
pub fn edge_cases() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        " ",
        "   leading and trailing   ",
        "tabs\tand\u{a0}no-break\u{2003}spaces",
        "line one\nline two\r\n\r\n  indented\n\n\n",
        "numbers 1234567 3.14159 1,000,000 ٣٤٥ ⅷ",
        "contractions: I'M he'll they've WE'D it's",
        "emoji 🎉👩‍👩‍👧 and CJK 日本語のテキスト 中文 한국어",
        "code: fn main() { println!(\"{}\", x >= 10 && y != 2); }",
        "mixed‐dash — “quotes” «guillemets» ¿qué? ¡sí!",
        "a  b   c    d",
        "x\u{2581}y literal space mark",
        "combining: e\u{301} vs é, n\u{303}",
        "Ελληνικά, кириллица, עברית, العربية, हिन्दी",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Text repaired from invalid UTF-8 (as readers do with `from_utf8_lossy`).
    v.push(
        String::from_utf8_lossy(b"caf\xe9 cr\xe8me \xff\xfe\xfd ok \xc3\x28 \xe2\x82").into_owned(),
    );
    v
}

/// A deterministic multilingual corpus of about `docs` documents.
pub fn corpus(docs: usize) -> Vec<(String, String)> {
    let fx = fixtures();
    let words: Vec<Vec<&str>> = fx.iter().map(|(_, t)| t.split(' ').collect()).collect();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..docs)
        .map(|i| {
            let l = i % fx.len();
            let n = 5 + (next() % 30) as usize;
            let mut s = String::new();
            for j in 0..n {
                if j > 0 {
                    s.push(if next() % 17 == 0 { '\n' } else { ' ' });
                }
                let w = &words[l];
                s.push_str(w[(next() % w.len() as u64) as usize]);
                if next() % 23 == 0 {
                    s.push_str(&format!(" {}", next() % 100_000));
                }
            }
            (s, fx[l].0.clone())
        })
        .collect()
}
