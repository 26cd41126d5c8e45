//! Per-language settings (`filters/lang/<code>.toml`, embedded in the binary) and stop-word lists
//! (`filters/stopwords/<code>.txt`, embedded too).
//!
//! A language file has up to four tables, `[gopher_quality]`, `[gopher_repetition]`, `[c4]` and `[fineweb]`,
//! each holding only the keys that differ from the published defaults. The keys are those of
//! [`GopherQualityConfig`](super::GopherQualityConfig) and friends; a misspelt key is an error.

use std::path::{Path, PathBuf};

use super::QualityError;

/// The 35 languages with built-in settings and stop words.
pub const LANGUAGES: [&str; 35] = [
    "bg", "ca", "cs", "cy", "da", "de", "el", "en", "es", "et", "eu", "fi", "fr", "ga", "gl", "hr",
    "hu", "it", "lt", "lv", "mt", "nl", "nn", "no", "oc", "pl", "pt", "ro", "ru", "sh", "sk", "sl",
    "sr", "sv", "uk",
];

/// Tables a language file may hold.
pub const SECTIONS: [&str; 4] = ["gopher_quality", "gopher_repetition", "c4", "fineweb"];

macro_rules! embed {
    ($dir:literal, $ext:literal, [$($code:literal),*]) => {
        [$(($code, include_str!(concat!("../../", $dir, "/", $code, $ext)))),*]
    };
}

const LANG_FILES: [(&str, &str); 35] = embed!(
    "lang",
    ".toml",
    [
        "bg", "ca", "cs", "cy", "da", "de", "el", "en", "es", "et", "eu", "fi", "fr", "ga", "gl",
        "hr", "hu", "it", "lt", "lv", "mt", "nl", "nn", "no", "oc", "pl", "pt", "ro", "ru", "sh",
        "sk", "sl", "sr", "sv", "uk"
    ]
);

const STOP_FILES: [(&str, &str); 35] = embed!(
    "stopwords",
    ".txt",
    [
        "bg", "ca", "cs", "cy", "da", "de", "el", "en", "es", "et", "eu", "fi", "fr", "ga", "gl",
        "hr", "hu", "it", "lt", "lv", "mt", "nl", "nn", "no", "oc", "pl", "pt", "ro", "ru", "sh",
        "sk", "sl", "sr", "sv", "uk"
    ]
);

/// The embedded settings file of a language, if it is one of [`LANGUAGES`].
pub fn builtin_lang_file(lang: &str) -> Option<&'static str> {
    LANG_FILES.iter().find(|(c, _)| *c == lang).map(|(_, t)| *t)
}

/// The built-in stop words of a language (one per line in `filters/stopwords/<code>.txt`, `#` comments).
/// English, and any language without a list, gets Gopher's eight English stop words.
pub fn builtin_stop_words(lang: &str) -> Vec<&'static str> {
    match STOP_FILES.iter().find(|(c, _)| *c == lang) {
        Some((_, text)) if lang != "en" => text
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim())
            .filter(|l| !l.is_empty())
            .collect(),
        _ => super::gopher::GOPHER_STOP_WORDS.to_vec(),
    }
}

/// Where per-language thresholds come from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SettingsSource {
    /// The files embedded from `filters/lang/` (the default).
    #[default]
    Builtin,
    /// The published defaults for every language, ignoring the language files.
    Published,
    /// A directory of `<code>.toml` files (as `calibrate` writes them); languages without a file there
    /// keep the built-in settings.
    Dir(PathBuf),
}

impl SettingsSource {
    /// `"builtin"`, `"published"`, or a directory path.
    pub fn parse(s: &str) -> Self {
        match s {
            "builtin" => SettingsSource::Builtin,
            "published" => SettingsSource::Published,
            dir => SettingsSource::Dir(PathBuf::from(dir)),
        }
    }
}

/// One language's parsed settings file.
#[derive(Debug, Clone)]
pub(crate) struct LangFile {
    pub(crate) lang: String,
    pub(crate) table: toml::Table,
}

pub(crate) fn parse_lang_file(
    lang: &str,
    text: &str,
    origin: &Path,
) -> Result<LangFile, QualityError> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| QualityError::Settings {
            path: origin.to_path_buf(),
            reason: e.to_string(),
        })?;
    for (k, v) in &table {
        if !SECTIONS.contains(&k.as_str()) {
            return Err(QualityError::Settings {
                path: origin.to_path_buf(),
                reason: format!("unknown table `{k}` (expected one of {SECTIONS:?})"),
            });
        }
        if !v.is_table() {
            return Err(QualityError::Settings {
                path: origin.to_path_buf(),
                reason: format!("`{k}` must be a table"),
            });
        }
    }
    Ok(LangFile {
        lang: lang.to_string(),
        table,
    })
}

/// The language files a source provides (empty for [`SettingsSource::Published`]).
pub(crate) fn load(source: &SettingsSource) -> Result<Vec<LangFile>, QualityError> {
    let mut files = Vec::new();
    if *source == SettingsSource::Published {
        return Ok(files);
    }
    for (code, text) in LANG_FILES {
        files.push(parse_lang_file(
            code,
            text,
            &PathBuf::from(format!("filters/lang/{code}.toml")),
        )?);
    }
    if let SettingsSource::Dir(dir) = source {
        let rd = std::fs::read_dir(dir).map_err(|source| QualityError::Io {
            path: dir.clone(),
            source,
        })?;
        let mut paths: Vec<PathBuf> = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|source| QualityError::Io {
                path: dir.clone(),
                source,
            })?;
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "toml") {
                paths.push(p);
            }
        }
        paths.sort();
        for p in paths {
            let code = p
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("")
                .to_string();
            let text = std::fs::read_to_string(&p).map_err(|source| QualityError::Io {
                path: p.clone(),
                source,
            })?;
            let f = parse_lang_file(&code, &text, &p)?;
            match files.iter_mut().find(|x| x.lang == code) {
                Some(slot) => *slot = f,
                None => files.push(f),
            }
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_file_parses_and_has_stop_words() {
        for code in LANGUAGES {
            let text = builtin_lang_file(code).expect("embedded");
            parse_lang_file(code, text, Path::new(code)).expect("valid language file");
            let sw = builtin_stop_words(code);
            assert!(sw.len() >= 8, "{code}: {} stop words", sw.len());
        }
        assert_eq!(
            builtin_stop_words("en"),
            ["the", "be", "to", "of", "and", "that", "have", "with"]
        );
        assert!(builtin_stop_words("ca").contains(&"que"));
        assert!(builtin_stop_words("eu").contains(&"eta"));
        assert!(builtin_stop_words("gl").contains(&"que"));
    }

    #[test]
    fn unknown_table_is_an_error_naming_the_file() {
        let e = parse_lang_file(
            "xx",
            "[gopher]\nmin_doc_words = 3\n",
            Path::new("dir/xx.toml"),
        )
        .expect_err("bad");
        let msg = e.to_string();
        assert!(
            msg.contains("dir/xx.toml") && msg.contains("gopher"),
            "{msg}"
        );
    }
}
