//! Language-aware word splitting.
//!
//! [`WordSplitter::new`] takes an ISO 639-1 code (or anything else, which gets the generic rules) and
//! [`WordSplitter::for_each_token`] walks a text once, handing out `&str` slices of it: no allocation per
//! token. Two kinds of token come out:
//!
//! * [`TokenKind::Word`]: a run of letters, digits and combining marks, with word-internal joiners kept
//!   inside (`well-known`, `l·l` in Catalan `col·lecció`, `3.14`, `1,000`, Ukrainian `м'ясо`)
//!   and numbers with their separators (`2:30`, `12/05/2020`, `1979–1983`);
//! * [`TokenKind::Symbol`]: any other visible character on its own (`,` `#` `€`), except that a run of
//!   dots (`...`) or of hyphens (`--`) is one token. Gopher-style statistics count these as "words" the
//!   way NLTK's tokenizer does, so word ratios stay comparable with datatrove's.
//!
//! Everywhere: initials keep their full stops (`D.`, `E.T.`, `EE.UU.`, `d.C.`), as do a few titles
//! (`Sr.`, `Dr.`); a number and its unit are two words (`30` + `m`); e-mail addresses and URLs are one
//! token. `bench/filters/PARITY.md` lists every way these tokens differ from spaCy's, and why.
//!
//! Language rules, applied inside a word:
//!
//! * **elision** (ca, fr, it, oc, and `d'` in pt/gl): `l'home` → `l'` + `home`; `qu'il` → `qu'` + `il`;
//!   `dell'anno` → `dell'` + `anno`, `trent'anni` → `trent'` + `anni`. Only listed prefixes split:
//!   `O'Brien`, `rock'n'roll` stay whole.
//! * **French pronouns after a hyphen**: `fais-tu` → `fais` + `-tu`; `a-t-il` → `a` + `-t` + `-il`.
//! * **enclitics** (ca): `porta'l` → `porta` + `'l`; `anar-se'n` → `anar` + `-se` + `'n`;
//!   `donar-li` → `donar` + `-li`.
//! * **hyphenated clitics** (pt, gl): `disse-me` → `disse` + `-me`; mesoclisis `dá-lo-ei` → `dá` + `-lo` + `-ei`;
//!   Galician `cómpre-lo` → `cómpre` + `-lo`.
//! * **English clitics** (Penn Treebank, as NLTK and spaCy): `don't` → `do` + `n't`, `I'm` → `I` + `'m`,
//!   `cannot` → `can` + `not`.
//! * **Greek** word-final elision keeps its apostrophe (`σ'`, `παρ'όλο` → `παρ'` + `όλο`), as does
//!   Italian `po'`; an apostrophe opening a word (aphaeresis, `να 'ρθει`) belongs to it.
//! * **Basque**: case endings after a hyphen belong to the word (`EAJ-k`, `2018-an`, `COVID-19ak`), so
//!   hyphens never split (the generic rule, stated here because it is deliberate); so do endings after a
//!   closing quote (`"Saragosse"rako`).
//! * **apostrophe variants**: `'` (U+0027), `’` (U+2019), `ʼ` (U+02BC), the acute accent `´` and the
//!   Greek tonos `΄` and koronis `᾽` are all treated as apostrophes;
//!   [`normalize_apostrophes`] maps them to `'` for look-ups.
//!
//! Cyrillic needs no special splitting: its letters are alphabetic and an apostrophe between two letters
//! stays inside the word (Ukrainian `пам'ять`, `сімʼя`).

/// What a token is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Contains at least one letter or digit.
    Word,
    /// Punctuation or another symbol (one character, or a run of dots).
    Symbol,
}

/// Apostrophe-like characters treated as the same apostrophe. The acute accent (U+00B4) is typed for it
/// on Spanish and Catalan keyboards (`l´home`, `d´Amerique`); the last two are Greek: the tonos (U+0384)
/// and the koronis (U+1FBD) are typed for the apostrophe of elision in much Greek web text (`γι΄αυτό`).
pub const APOSTROPHES: [char; 6] = [
    '\'', '\u{2019}', '\u{02BC}', '\u{00B4}', '\u{0384}', '\u{1FBD}',
];

fn is_apostrophe(c: char) -> bool {
    APOSTROPHES.contains(&c)
}

fn is_hyphen(c: char) -> bool {
    c == '-' || c == '\u{2010}'
}

/// A letter, digit or combining mark: the body of a word.
fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    c.is_alphanumeric() || ('\u{0300}'..='\u{036F}').contains(&c)
}

/// Language-specific splitting rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rules {
    Generic,
    Catalan,
    French,
    Italian,
    Occitan,
    Greek,
    Portuguese,
    Galician,
    English,
    Basque,
}

/// Splits text into word and symbol tokens for one language. Cheap to build and `Copy`-sized.
#[derive(Debug, Clone, Copy)]
pub struct WordSplitter {
    rules: Rules,
}

// Proclitic elided forms, lowercase, without the apostrophe.
const CA_ELISIONS: &[&str] = &["l", "d", "s", "m", "t", "n"];
const FR_ELISIONS: &[&str] = &[
    "l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu", "presqu",
    "quelqu",
];
const IT_ELISIONS: &[&str] = &[
    "l", "un", "d", "c", "s", "m", "t", "v", "n", "dell", "dall", "nell", "sull", "all", "coll",
    "degl", "dagl", "negl", "sugl", "agl", "quest", "quell", "bell", "sant", "buon", "tutt", "dov",
    "com", "cos", "ch", "anch", "mezz", "senz", "nessun", "ciascun", "qualcun", "alcun", "quant",
    "tant", "grand", "vent", "trent", "quarant", "cinquant", "sessant", "settant", "ottant",
    "novant", "neanch", "nient", "gliel", "quand",
];
const OC_ELISIONS: &[&str] = &["l", "d", "s", "m", "t", "n", "qu", "j"];
// Portuguese and Galician only elide the preposition `de` in set phrases (`d'água`, `d'Ourense`).
const PT_GL_ELISIONS: &[&str] = &["d"];
// Catalan enclitic pronouns written after an apostrophe (`porta'l`, `anar-se'n`).
const CA_APOS_ENCLITICS: &[&str] = &["l", "n", "s", "m", "t", "ls", "ns", "hi", "ho"];
// Catalan enclitic pronouns written after a hyphen (`donar-li`, `fer-ho`, `mirar-se`).
const CA_HYPHEN_ENCLITICS: &[&str] = &[
    "me", "te", "se", "nos", "vos", "los", "les", "li", "lo", "la", "ho", "hi", "ne", "ens", "us",
    "m", "t", "s", "n", "l", "el", "els", "en", "em", "et", "es",
];
// Portuguese enclitics and mesoclitic future/conditional endings (`dá-lo-ei`, `far-se-ia`).
const PT_HYPHEN_CLITICS: &[&str] = &[
    "me", "te", "se", "lhe", "lhes", "nos", "vos", "o", "a", "os", "as", "lo", "la", "los", "las",
    "no", "na", "nas", "mo", "ma", "mos", "mas", "to", "ta", "tos", "tas", "lho", "lha", "lhos",
    "lhas", "ei", "ás", "á", "emos", "eis", "ão", "ia", "ias", "íamos", "íeis", "iam",
];
// French pronouns after a hyphen: subject inversion and imperatives (`fais-tu`, `a-t-il`, `dis-moi`,
// `allez-vous-en`); the `t` is the euphonic one of `a-t-il`.
const FR_HYPHEN_CLITICS: &[&str] = &[
    "je", "tu", "il", "elle", "on", "nous", "vous", "ils", "elles", "le", "la", "les", "lui",
    "leur", "moi", "toi", "y", "en", "ce", "t",
];
// Hyphenated French words whose second part looks like a pronoun but is not one.
const FR_HYPHEN_WHOLE: &[&str] = &["rendez-vous"];
// Units written right after a number (`30m`, `5km`, `16GB`): number and unit are two words, as spaCy's
// suffix rules split them. The list follows spaCy's (lengths, areas, masses, speeds, data sizes): times
// such as French `9h` stay whole.
const UNITS: &[&str] = &[
    "km", "m", "dm", "cm", "mm", "nm", "ha", "kg", "g", "mg", "t", "lb", "oz", "yd", "ft", "mph",
    "kmh", "kb", "KB", "kB", "mb", "MB", "gb", "GB", "tb", "TB", "км", "м", "см", "мм", "кг", "г",
];
// Titles written before a name, whose full stop never ends a sentence (en, es, ca, gl, pt, fr, it).
const TITLES: &[&str] = &[
    "Mr", "Mrs", "Ms", "Dr", "Dra", "Sr", "Sra", "Srta", "Sres", "Mme", "Mlle", "Prof", "Jr",
];
// English words the Penn Treebank writes as two tokens, with the length of the first.
const EN_FIXED_SPLITS: &[(&str, usize)] = &[
    ("cannot", 3),
    ("gonna", 3),
    ("gotta", 3),
    ("wanna", 3),
    ("gimme", 3),
    ("lemme", 3),
];
// Galician enclitics (old norm and the second form of the article, `todo-los`, `cómpre-lo`).
const GL_HYPHEN_CLITICS: &[&str] = &[
    "me", "te", "che", "se", "lle", "lles", "nos", "vos", "o", "a", "os", "as", "lo", "la", "los",
    "las", "no", "na", "nas", "mo", "ma", "mos", "mas", "cho", "cha", "llo", "lla", "llos", "llas",
];

impl WordSplitter {
    /// The splitter for a language code (`"ca"`, `"pt"`, ...). Unknown codes get the generic rules.
    pub fn new(lang: &str) -> Self {
        let rules = match lang {
            "ca" => Rules::Catalan,
            "fr" => Rules::French,
            "it" => Rules::Italian,
            "oc" => Rules::Occitan,
            "el" => Rules::Greek,
            "en" => Rules::English,
            "pt" => Rules::Portuguese,
            "gl" => Rules::Galician,
            "eu" => Rules::Basque,
            _ => Rules::Generic,
        };
        WordSplitter { rules }
    }

    /// Calls `f` on every token of `text`, in order. Tokens are slices of `text`.
    pub fn for_each_token<'a>(&self, text: &'a str, mut f: impl FnMut(&'a str, TokenKind)) {
        let bytes = text.as_bytes();
        // Only look for e-mails and URLs in texts that can hold one (most do not): saves a scan per word.
        let maybe_links = bytes.contains(&b'@') || text.contains("://") || text.contains("www.");
        let mut chars = text.char_indices().peekable();
        while let Some((start, c)) = chars.next() {
            if c.is_whitespace() {
                continue;
            }
            let after = start + c.len_utf8();
            let dotted = bytes.get(after) == Some(&b'.')
                || c.is_ascii_uppercase()
                    && bytes.get(after) == Some(&(c as u8))
                    && bytes.get(after + 1) == Some(&b'.');
            if dotted && c.is_alphabetic() {
                if let Some(end) = initials_end(text, start) {
                    // `D.`, `E.T.`, `U.S.A.`, `d.C.`, Greek `Κ.`: initials keep their full stops.
                    while chars.peek().is_some_and(|&(i, _)| i < end) {
                        chars.next();
                    }
                    f(&text[start..end], TokenKind::Word);
                    continue;
                }
            }
            if maybe_links && c.is_alphanumeric() {
                if let Some(end) = url_or_email_end(&text[start..]) {
                    // One token, as spaCy and NLTK keep them: `joan.puig@exemple.cat`, `https://a.cat/b`.
                    while chars.peek().is_some_and(|&(i, _)| i < start + end) {
                        chars.next();
                    }
                    f(&text[start..start + end], TokenKind::Word);
                    continue;
                }
            }
            // Greek aphaeresis: an apostrophe that opens a word stands for its elided first vowel
            // (`να 'ρθει` for `έρθει`, `'μαι` for `είμαι`) and belongs to it. After a one-letter word it
            // is the elision of that word typed with the space on the wrong side (`μ 'αγαπάς`).
            let aphaeresis = self.rules == Rules::Greek
                && is_apostrophe(c)
                && text[start + c.len_utf8()..]
                    .chars()
                    .next()
                    .is_some_and(char::is_alphabetic)
                && text[..start]
                    .chars()
                    .next_back()
                    .is_none_or(char::is_whitespace)
                && {
                    let mut before = text[..start].trim_end().chars().rev();
                    let one_letter = before.next().is_some_and(char::is_alphabetic)
                        && !before.next().is_some_and(char::is_alphabetic);
                    !one_letter
                };
            if is_word_char(c) || aphaeresis {
                let mut end = start + c.len_utf8();
                let mut prev = c;
                while let Some(&(i, next)) = chars.peek() {
                    if is_word_char(next) {
                        chars.next();
                        end = i + next.len_utf8();
                        prev = next;
                        continue;
                    }
                    // Basque: a case ending written after a closing quote belongs to the quoted word
                    // (`"Saragosse"rako`, `"Tatoeba"-k`), as it does after a hyphen.
                    if self.rules == Rules::Basque && matches!(next, '"' | '\u{201D}' | '\u{00BB}')
                    {
                        let mut after = text[i + next.len_utf8()..].chars();
                        let ending = match after.next() {
                            Some(a) if a.is_lowercase() => true,
                            Some(h) if is_hyphen(h) => {
                                after.next().is_some_and(char::is_alphabetic)
                            }
                            _ => false,
                        };
                        if ending {
                            chars.next();
                            end = i + next.len_utf8();
                            prev = next;
                            continue;
                        }
                    }
                    // A joiner stays inside the word only when a word character follows it.
                    let after = text[i + next.len_utf8()..].chars().next();
                    let joins = match after {
                        Some(a) if is_word_char(a) => {
                            if is_apostrophe(next) {
                                // `l'home`, and elision before a number (`d'1,5`, `dell'800`).
                                prev.is_alphabetic() && (a.is_alphabetic() || a.is_ascii_digit())
                            } else if next == '\u{00B7}' {
                                prev.is_alphabetic() && a.is_alphabetic()
                            } else if is_hyphen(next) {
                                true
                            } else if next == '.' {
                                // `3.14`; and before a lowercase letter: `window.loaded`, Basque
                                // ordinals `VIII.ak`, `2.a`.
                                prev.is_ascii_digit() && a.is_ascii_digit() || a.is_lowercase()
                            } else if matches!(next, ',' | ':' | '/' | '\u{2013}') {
                                // `1,000`; times and dates `2:30`, `12/05/2020`, fractions `1/2`,
                                // ranges `1979–1983` (as `1979-1983` with a hyphen).
                                prev.is_ascii_digit() && a.is_ascii_digit()
                            } else {
                                false
                            }
                        }
                        _ => false,
                    };
                    if !joins {
                        break;
                    }
                    chars.next();
                    end = i + next.len_utf8();
                    prev = next;
                }
                // Greek and Italian write word-final elision with an apostrophe (`σ'`, `απ'`, `po'`):
                // it belongs to the word when a letter precedes it.
                if matches!(self.rules, Rules::Greek | Rules::Italian) && prev.is_alphabetic() {
                    if let Some(&(i, next)) = chars.peek() {
                        if is_apostrophe(next) {
                            chars.next();
                            end = i + next.len_utf8();
                        }
                    }
                }
                // A title keeps its full stop (`Sr.`, `Dr.`, `Mrs.`), as spaCy's exception lists keep it.
                if end - start <= 4
                    && bytes.get(end) == Some(&b'.')
                    && TITLES.contains(&&text[start..end])
                {
                    chars.next();
                    end += 1;
                }
                let word = &text[start..end];
                if let Some(p) = unit_start(word) {
                    f(&word[..p], TokenKind::Word);
                    f(&word[p..], TokenKind::Word);
                    continue;
                }
                self.split_word(word, &mut f);
            } else if c == '.' || c == '-' {
                // A run of dots (`...`) or of hyphens (`--`) is one symbol.
                let mut end = start + 1;
                while end < bytes.len() && bytes[end] == c as u8 {
                    chars.next();
                    end += 1;
                }
                f(&text[start..end], TokenKind::Symbol);
            } else {
                f(&text[start..start + c.len_utf8()], TokenKind::Symbol);
            }
        }
    }

    /// Collects the tokens of `text` (convenience over [`WordSplitter::for_each_token`]).
    pub fn tokens<'a>(&self, text: &'a str) -> Vec<(&'a str, TokenKind)> {
        let mut out = Vec::new();
        self.for_each_token(text, |t, k| out.push((t, k)));
        out
    }

    /// Collects only the word tokens of `text`.
    pub fn words<'a>(&self, text: &'a str) -> Vec<&'a str> {
        let mut out = Vec::new();
        self.for_each_token(text, |t, k| {
            if k == TokenKind::Word {
                out.push(t)
            }
        });
        out
    }

    /// Applies the language's elision and clitic rules to one joined word.
    fn split_word<'a>(&self, word: &'a str, f: &mut impl FnMut(&'a str, TokenKind)) {
        if self.rules == Rules::English && (5..=6).contains(&word.len()) {
            // The Penn Treebank's (NLTK's and spaCy's) fixed splits: `cannot` → `can` + `not`.
            if let Some(&(_, cut)) = EN_FIXED_SPLITS
                .iter()
                .find(|(w, _)| word.eq_ignore_ascii_case(w))
            {
                f(&word[..cut], TokenKind::Word);
                f(&word[cut..], TokenKind::Word);
                return;
            }
        }
        if matches!(self.rules, Rules::Generic | Rules::Basque)
            || word.is_ascii() && !word.contains(['\'', '-'])
        {
            f(word, TokenKind::Word);
            return;
        }
        let mut rest = word;
        // Proclitic elision: only at the start, and only listed prefixes (`l'`, `dell'`, `qu'`).
        let elisions: &[&str] = match self.rules {
            Rules::Catalan => CA_ELISIONS,
            Rules::French => FR_ELISIONS,
            Rules::Italian => IT_ELISIONS,
            Rules::Occitan => OC_ELISIONS,
            Rules::Portuguese | Rules::Galician => PT_GL_ELISIONS,
            Rules::Generic | Rules::Greek | Rules::English | Rules::Basque => &[],
        };
        if let Some((pos, apos)) = rest.char_indices().find(|&(_, c)| is_apostrophe(c)) {
            let greek = self.rules == Rules::Greek && pos > 0 && pos + apos.len_utf8() < rest.len();
            if greek || eq_any_ignore_case(&rest[..pos], elisions) {
                let cut = pos + apos.len_utf8();
                f(&rest[..cut], TokenKind::Word);
                rest = &rest[cut..];
                // French and Italian chain elisions rarely; Catalan does (`d'l'` is not written).
            }
        }
        match self.rules {
            Rules::Catalan => split_enclitics(rest, CA_HYPHEN_ENCLITICS, CA_APOS_ENCLITICS, f),
            Rules::Portuguese => split_enclitics(rest, PT_HYPHEN_CLITICS, &[], f),
            Rules::Galician => split_enclitics(rest, GL_HYPHEN_CLITICS, &[], f),
            Rules::English => split_english_clitics(rest, f),
            Rules::French if !eq_any_ignore_case(rest, FR_HYPHEN_WHOLE) => {
                split_enclitics(rest, FR_HYPHEN_CLITICS, &[], f)
            }
            _ => f(rest, TokenKind::Word),
        }
    }
}

/// The end of a run of initials starting at `start`: single letters each followed by a full stop, one
/// uppercase (`D.`, `Κ.`) or two and more (`E.T.`, `U.S.A.`, `d.C.`, `e.g.`, and Spanish plurals of
/// two capitals `EE.UU.`), the last stop optional after two (`O.V.N.I`), when the run is not glued to a
/// following word (`s.XII`, `A.b` are left alone; `J.Puig` gives `J.` + `Puig`).
fn initials_end(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut pos = start;
    let (mut n, mut upper, mut doubled) = (0, true, false);
    loop {
        let mut it = text[pos..].chars();
        let Some(l) = it.next().filter(|l| l.is_alphabetic()) else {
            break;
        };
        let mut dot = pos + l.len_utf8();
        // A doubled capital (`EE.`, `UU.`): only in runs of capitals.
        let second = it.next().filter(|&m| m == l && l.is_uppercase());
        if let Some(m) = second {
            dot += m.len_utf8();
        }
        if bytes.get(dot) != Some(&b'.') {
            // `O.V.N.I`: a last letter without its stop, after two dotted ones.
            let next_is_word = text[pos + l.len_utf8()..]
                .chars()
                .next()
                .is_some_and(is_word_char);
            if n >= 2 && upper && l.is_uppercase() && second.is_none() && !next_is_word {
                pos += l.len_utf8();
            }
            break;
        }
        upper &= l.is_uppercase();
        doubled |= second.is_some();
        n += 1;
        pos = dot + 1;
    }
    if n == 0 || n == 1 && (!upper || doubled) {
        return None;
    }
    let end = pos;
    match text[end..].chars().next() {
        // An initial glued to a capitalised surname is still an initial (`Д.Досжан`, `J.Puig`).
        Some(w) if w.is_uppercase() && n == 1 && upper && !doubled => Some(end),
        Some(w) if is_word_char(w) => None,
        _ => Some(end),
    }
}

/// Where the unit starts in a number written with its unit (`30m`, `2,5kg`, `16GB`).
fn unit_start(word: &str) -> Option<usize> {
    let b = word.as_bytes();
    if !b[0].is_ascii_digit() {
        return None;
    }
    let p = b
        .iter()
        .position(|&c| !(c.is_ascii_digit() || c == b'.' || c == b','))?;
    (b[p - 1].is_ascii_digit() && UNITS.contains(&&word[p..])).then_some(p)
}

/// If `run` starts with an e-mail address or a URL (`http://`, `https://`, `www.`), its length in bytes,
/// without trailing punctuation.
fn url_or_email_end(run: &str) -> Option<usize> {
    // The whitespace-free run starting here (letters beyond ASCII included: `cerverí@catradio.com`,
    // `https://ca.wikipedia.org/wiki/Pàgina`).
    let len = run
        .find(|c: char| c.is_whitespace() || c.is_control())
        .unwrap_or(run.len());
    let tok = &run.as_bytes()[..len];
    let is_url =
        tok.starts_with(b"http://") || tok.starts_with(b"https://") || tok.starts_with(b"www.");
    let is_email = !is_url && {
        match tok.iter().position(|&b| b == b'@') {
            Some(at) if at > 0 => {
                let domain = &tok[at + 1..];
                domain.contains(&b'.')
                    && domain.first().is_some_and(u8::is_ascii_alphanumeric)
                    && tok[..at]
                        .iter()
                        .all(|&b| b.is_ascii_alphanumeric() || b >= 0x80 || b"._%+-".contains(&b))
            }
            _ => false,
        }
    };
    if !is_url && !is_email {
        return None;
    }
    let mut end = len;
    while let Some(last) = run[..end].chars().next_back() {
        if !".,;:!?)]}\"'>\u{00BB}\u{201D}\u{2019}\u{2026}".contains(last) {
            break;
        }
        end -= last.len_utf8();
    }
    if is_email {
        // The domain ends at the first character a domain cannot hold.
        let at = tok.iter().position(|&b| b == b'@').unwrap_or(0);
        let d_end = tok[at + 1..end]
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || b == b'.' || b == b'-'));
        if let Some(p) = d_end {
            end = at + 1 + p;
        }
        while end > at + 1 && tok[end - 1] == b'.' {
            end -= 1;
        }
    }
    (end > 0).then_some(end)
}

/// English clitics, as the Penn Treebank (and NLTK, spaCy) split them: `don't` → `do` + `n't`,
/// `I'm` → `I` + `'m`, `Tom's` → `Tom` + `'s`.
fn split_english_clitics<'a>(word: &'a str, f: &mut impl FnMut(&'a str, TokenKind)) {
    if let Some((pos, c)) = word.char_indices().rev().find(|&(_, c)| is_apostrophe(c)) {
        let suffix = &word[pos + c.len_utf8()..];
        if pos > 1 && suffix.eq_ignore_ascii_case("t") && word[..pos].ends_with(['n', 'N']) {
            f(&word[..pos - 1], TokenKind::Word);
            f(&word[pos - 1..], TokenKind::Word);
            return;
        }
        if pos > 0 && eq_any_ignore_case(suffix, &["s", "re", "ve", "ll", "d", "m"]) {
            f(&word[..pos], TokenKind::Word);
            f(&word[pos..], TokenKind::Word);
            return;
        }
    }
    f(word, TokenKind::Word);
}

/// Splits `stem-clitic-clitic'clitic` from the right while the trailing pieces are listed clitics.
fn split_enclitics<'a>(
    word: &'a str,
    hyphen: &[&str],
    apos: &[&str],
    f: &mut impl FnMut(&'a str, TokenKind),
) {
    // Find the leftmost cut such that every piece after it is a clitic: walk from the right.
    let mut cut = word.len();
    loop {
        let head = &word[..cut];
        let Some((pos, sep)) = head
            .char_indices()
            .rev()
            .find(|&(_, c)| is_hyphen(c) || is_apostrophe(c))
        else {
            break;
        };
        let piece = &head[pos + sep.len_utf8()..];
        let list = if is_hyphen(sep) { hyphen } else { apos };
        if pos == 0 || !eq_any_ignore_case(piece, list) {
            break;
        }
        cut = pos;
    }
    if cut == word.len() {
        f(word, TokenKind::Word);
        return;
    }
    f(&word[..cut], TokenKind::Word);
    let mut rest = &word[cut..];
    while !rest.is_empty() {
        // Each piece starts with its separator and runs to the next separator.
        let first_len = rest.chars().next().map_or(0, char::len_utf8);
        let next = rest[first_len..]
            .char_indices()
            .find(|&(_, c)| is_hyphen(c) || is_apostrophe(c))
            .map_or(rest.len(), |(i, _)| i + first_len);
        f(&rest[..next], TokenKind::Word);
        rest = &rest[next..];
    }
}

fn eq_any_ignore_case(piece: &str, list: &[&str]) -> bool {
    if piece.is_empty() {
        return false;
    }
    if piece.chars().all(|c| !c.is_uppercase()) {
        return list.contains(&piece);
    }
    let lower = piece.to_lowercase();
    list.contains(&lower.as_str())
}

/// Writes `word` lowercased, with every apostrophe variant as `'`, into `buf` (cleared first).
/// Used for stop-word look-ups without allocating per word.
pub fn normalize_for_lookup(word: &str, buf: &mut String) {
    buf.clear();
    for c in word.chars() {
        if is_apostrophe(c) {
            buf.push('\'');
        } else if c.is_ascii() {
            buf.push(c.to_ascii_lowercase());
        } else {
            buf.extend(c.to_lowercase());
        }
    }
    // Greek: a word-final sigma lowercases to `ς`, as `str::to_lowercase` does.
    if buf.ends_with('σ') && buf.chars().count() > 1 {
        buf.pop();
        buf.push('ς');
    }
}

/// Maps every apostrophe variant in `text` to `'`.
pub fn normalize_apostrophes(text: &str) -> String {
    text.chars()
        .map(|c| if is_apostrophe(c) { '\'' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(lang: &str, text: &str) -> Vec<String> {
        WordSplitter::new(lang)
            .tokens(text)
            .into_iter()
            .map(|(t, _)| t.to_string())
            .collect()
    }

    #[test]
    fn catalan_elisions_and_enclitics() {
        assert_eq!(toks("ca", "l'home d’aquí"), ["l'", "home", "d’", "aquí"]);
        assert_eq!(
            toks("ca", "Porta'l i anar-se'n"),
            ["Porta", "'l", "i", "anar", "-se", "'n"]
        );
        assert_eq!(
            toks("ca", "donar-li fer-ho"),
            ["donar", "-li", "fer", "-ho"]
        );
        // The geminate l keeps its middle dot inside the word; `s'hi` splits once.
        assert_eq!(toks("ca", "col·lecció s'hi"), ["col·lecció", "s'", "hi"]);
        // A hyphenated compound is one word.
        assert_eq!(toks("ca", "nord-americà"), ["nord-americà"]);
    }

    #[test]
    fn french_italian_occitan_elisions() {
        assert_eq!(
            toks("fr", "qu'il jusqu'à l'école"),
            ["qu'", "il", "jusqu'", "à", "l'", "école"]
        );
        assert_eq!(
            toks("it", "dell'anno un'altra po'"),
            ["dell'", "anno", "un'", "altra", "po'"]
        );
        assert_eq!(
            toks("oc", "l'ostal d'aquel"),
            ["l'", "ostal", "d'", "aquel"]
        );
        // Not a listed prefix: stays whole.
        assert_eq!(toks("fr", "O'Brien"), ["O'Brien"]);
        assert_eq!(toks("en", "l'home don't"), ["l'home", "do", "n't"]);
        assert_eq!(
            toks("en", "I'm sure Tom's car won't O'Brien"),
            [
                "I", "'m", "sure", "Tom", "'s", "car", "wo", "n't", "O'Brien"
            ]
        );
    }

    #[test]
    fn portuguese_galician_clitics_basque_suffixes() {
        assert_eq!(
            toks("pt", "disse-me dá-lo-ei guarda-chuva"),
            ["disse", "-me", "dá", "-lo", "-ei", "guarda-chuva"]
        );
        assert_eq!(toks("gl", "cómpre-lo dálle"), ["cómpre", "-lo", "dálle"]);
        assert_eq!(
            toks("eu", "EAJ-k 2018-an COVID-19ak etxean."),
            ["EAJ-k", "2018-an", "COVID-19ak", "etxean", "."]
        );
    }

    #[test]
    fn cyrillic_greek_numbers_symbols() {
        assert_eq!(
            toks("uk", "пам'ять сімʼя, добре!"),
            ["пам'ять", "сімʼя", ",", "добре", "!"]
        );
        assert_eq!(
            toks("el", "Η Αθήνα είναι..."),
            ["Η", "Αθήνα", "είναι", "..."]
        );
        assert_eq!(
            toks("en", "pi is 3.14, or 1,000 #tag"),
            ["pi", "is", "3.14", ",", "or", "1,000", "#", "tag"]
        );
        let kinds: Vec<TokenKind> = WordSplitter::new("en")
            .tokens("a #")
            .into_iter()
            .map(|t| t.1)
            .collect();
        assert_eq!(kinds, [TokenKind::Word, TokenKind::Symbol]);
    }

    #[test]
    fn french_hyphen_pronouns() {
        // Subject inversion and imperative pronouns are words of their own, like the Portuguese clitics.
        assert_eq!(
            toks("fr", "fais-tu a-t-il allez-vous-en"),
            ["fais", "-tu", "a", "-t", "-il", "allez", "-vous", "-en"]
        );
        // Compounds, and `rendez-vous` (a noun), stay whole.
        assert_eq!(
            toks("fr", "celui-ci rendez-vous Aix-en-Provence"),
            ["celui-ci", "rendez-vous", "Aix-en-Provence"]
        );
    }

    #[test]
    fn initials_numbers_and_dashes() {
        // Initials keep their full stops; a lone lowercase letter does not (`s.` may end a sentence).
        assert_eq!(
            toks("en", "E.T. and J. Puig (U.S.A.) e.g. J.Puig"),
            [
                "E.T.", "and", "J.", "Puig", "(", "U.S.A.", ")", "e.g.", "J.", "Puig"
            ]
        );
        assert_eq!(
            toks("es", "los EE.UU. y un O.V.N.I en EE. NN."),
            [
                "los", "EE.UU.", "y", "un", "O.V.N.I", "en", "EE", ".", "NN", "."
            ]
        );
        assert_eq!(
            toks("ca", "el s. XII d.C. i s.XII"),
            ["el", "s", ".", "XII", "d.C.", "i", "s", ".", "XII"]
        );
        assert_eq!(toks("el", "ο Κ. Παπάς"), ["ο", "Κ.", "Παπάς"]);
        // Times, dates and fractions are one token; a colon after a word is not joined.
        assert_eq!(
            toks("ca", "a les 2:30 del 12/05/2020, 1/2 nota: 3"),
            [
                "a",
                "les",
                "2:30",
                "del",
                "12/05/2020",
                ",",
                "1/2",
                "nota",
                ":",
                "3"
            ]
        );
        // Number and unit are two words; `2018an` (a Basque case ending) is not a unit.
        assert_eq!(
            toks("eu", "30m 2,5kg 16GB 2018an"),
            ["30", "m", "2,5", "kg", "16", "GB", "2018an"]
        );
        // A range with an en dash is one token, as with a hyphen; titles keep their full stop.
        assert_eq!(
            toks("es", "(1979–1983) la Sra. Puig, el Dr. Vidal."),
            [
                "(",
                "1979–1983",
                ")",
                "la",
                "Sra.",
                "Puig",
                ",",
                "el",
                "Dr.",
                "Vidal",
                "."
            ]
        );
        // English fixed splits of the Penn Treebank; Italian elided numbers.
        assert_eq!(
            toks("en", "I cannot, gonna"),
            ["I", "can", "not", ",", "gon", "na"]
        );
        assert_eq!(
            toks("it", "trent'anni neanch'io dell'800"),
            ["trent'", "anni", "neanch'", "io", "dell'", "800"]
        );
        // The acute accent typed for an apostrophe; an e-mail address with a non-ASCII local part.
        assert_eq!(
            toks("ca", "l´home cerverí@catradio.com."),
            ["l´", "home", "cerverí@catradio.com", "."]
        );
        // A run of hyphens is one symbol, like a run of dots.
        assert_eq!(
            toks("en", "so -- he said --- no"),
            ["so", "--", "he", "said", "---", "no"]
        );
    }

    #[test]
    fn greek_apostrophes_and_basque_quotes() {
        // The tonos typed as an apostrophe elides like `'`; an apostrophe opening a word is aphaeresis.
        assert_eq!(
            toks("el", "γι΄αυτό να 'ρθει μ 'αγαπάς"),
            ["γι΄", "αυτό", "να", "'ρθει", "μ", "'", "αγαπάς"]
        );
        // Basque case endings after a closing quote stay on the word; the opening quote is a symbol.
        assert_eq!(
            toks(
                "eu",
                "\"Saragosse\"rako «Berria»ren \"Tatoeba\"-k \"hau\" eta"
            ),
            [
                "\"",
                "Saragosse\"rako",
                "«",
                "Berria»ren",
                "\"",
                "Tatoeba\"-k",
                "\"",
                "hau",
                "\"",
                "eta"
            ]
        );
    }

    #[test]
    fn lookup_normalization() {
        let mut b = String::new();
        normalize_for_lookup("L’Home", &mut b);
        assert_eq!(b, "l'home");
        normalize_for_lookup("ΟΔΟΣ", &mut b);
        assert_eq!(b, "\u{3bf}\u{3b4}\u{3bf}\u{3c2}");
    }
}
