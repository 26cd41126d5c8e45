//! Quality filters over plain text: Gopher quality, Gopher repetition, C4, FineWeb, a URL / domain
//! blocklist, PII redaction, length limits, and Unicode NFC / control-character clean-up.
//!
//! # API
//!
//! * [`QualityFilter::from_table`]`(kind, &toml::Table)` builds one filter from a pipeline stage's TOML
//!   table (kinds: [`FilterKind::ALL`]); [`QualityFilter::new`] builds one with default settings.
//! * [`QualityFilter::apply`]`(&self, &mut String, &DocContext, &mut Stats) -> Decision` first appends every
//!   statistic of the rule to `stats` (`("gopher.words", 212.0)`, ...), then checks the thresholds of the
//!   document's language in order and returns [`Decision::Drop`] with a stable reason for the first one
//!   violated. With `tag_only = true` it measures and always keeps, and leaves the text as it was (except
//!   the `normalize` and `pii` steps, which exist to change text and always do).
//! * [`QualityFilter::thresholds`] lists the bounds a language gets, for [`summary`] and [`calibrate`].
//! * Thresholds are per language: the embedded `filters/lang/<code>.toml` files ([`SettingsSource`]),
//!   overlaid by any threshold key given in the stage table.
//!
//! # Memory
//!
//! A filter holds its settings for the 35 languages (a few KiB) and the blocklist when there is one.
//! Per document, `apply` allocates O(document): the token hashes and lengths (16 bytes per token) and
//! the n-gram / line sets of the repetition rule, the kept lines of C4, a copy for NFC or PII rewriting.
//! Nothing is kept between documents, so memory is flat in input size and `apply` may run on many threads.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub mod c4;
pub mod calibrate;
pub mod clean;
pub mod fineweb;
pub mod gopher;
pub mod settings;
pub mod summary;
pub(crate) mod text;

pub use c4::C4Config;
pub use clean::{LengthConfig, NormalizeConfig, PiiConfig, UrlBlocklist};
pub use fineweb::FineWebConfig;
pub use gopher::{GOPHER_STOP_WORDS, GopherQualityConfig, GopherRepetitionConfig};
pub use settings::{LANGUAGES, SettingsSource, builtin_stop_words};

/// Statistics a filter writes: `(name, value)`, names are stable and `rule.statistic` shaped.
pub type Stats = Vec<(&'static str, f64)>;

/// What to do with a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Keep it.
    Keep,
    /// Drop it, for this stable, low-cardinality reason (`"gopher_short_doc"`, `"too_few_sentences"`,
    /// `"url_blocklist"`...: the `reason` of the threshold that failed; the names follow datatrove's).
    /// Reasons are unique within a kind, so `"{kind}:{reason}"` is a good counter key.
    Drop(&'static str),
}

/// What a filter may know about a document besides its text.
#[derive(Debug, Clone, Copy, Default)]
pub struct DocContext<'a> {
    /// ISO 639-1 code from language ID, if any; picks the thresholds, stop words and word rules.
    pub lang: Option<&'a str>,
    /// The document's URL, for the blocklist.
    pub url: Option<&'a str>,
}

/// Which side of a threshold drops a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bound {
    /// Dropped when the statistic is below the value.
    Min,
    /// Dropped when the statistic is above the value.
    Max,
}

/// One bound on one statistic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold {
    /// Statistic name, as written in [`Stats`].
    pub stat: &'static str,
    /// Which side drops.
    pub bound: Bound,
    /// The bound.
    pub value: f64,
    /// Reason given when it drops a document.
    pub reason: &'static str,
}

impl Threshold {
    /// Whether `v` falls on the dropping side.
    pub fn violated(&self, v: f64) -> bool {
        match self.bound {
            Bound::Min => v < self.value,
            Bound::Max => v > self.value,
        }
    }
}

/// Errors building filters or reading their files.
#[derive(Debug, thiserror::Error)]
pub enum QualityError {
    /// A stage configuration is wrong (unknown kind, bad key, value out of range).
    #[error("quality filter config: {0}")]
    Config(String),
    /// A settings file (language TOML) is malformed.
    #[error("settings file {path}: {reason}")]
    Settings { path: PathBuf, reason: String },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A blocklist line is malformed.
    #[error("blocklist {path}, line {line}: {reason}")]
    Blocklist {
        path: PathBuf,
        line: usize,
        reason: String,
    },
}

/// The kinds of quality filter, as named in pipeline files (`[[stage]] kind = "gopher_quality"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterKind {
    /// Gopher quality heuristics.
    GopherQuality,
    /// Gopher repetition heuristics.
    GopherRepetition,
    /// C4 line-level rules.
    C4,
    /// FineWeb rules.
    FineWeb,
    /// URL / domain blocklist.
    UrlBlocklist,
    /// E-mail and IP redaction.
    Pii,
    /// Length limits.
    Length,
    /// NFC and control characters.
    Normalize,
}

impl FilterKind {
    /// Every kind, in the order a full pipeline usually runs them.
    pub const ALL: [FilterKind; 8] = [
        FilterKind::Normalize,
        FilterKind::UrlBlocklist,
        FilterKind::Length,
        FilterKind::Pii,
        FilterKind::C4,
        FilterKind::GopherRepetition,
        FilterKind::GopherQuality,
        FilterKind::FineWeb,
    ];

    /// Name in pipeline files.
    pub fn name(self) -> &'static str {
        match self {
            FilterKind::GopherQuality => "gopher_quality",
            FilterKind::GopherRepetition => "gopher_repetition",
            FilterKind::C4 => "c4",
            FilterKind::FineWeb => "fineweb",
            FilterKind::UrlBlocklist => "url_blocklist",
            FilterKind::Pii => "pii",
            FilterKind::Length => "length",
            FilterKind::Normalize => "normalize",
        }
    }

    /// The kind named `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// Rules compiled once per language, with a fallback for documents of any other language.
#[derive(Debug, Clone)]
struct PerLang<T> {
    fallback: T,
    by_lang: HashMap<String, T>,
}

impl<T> PerLang<T> {
    fn get(&self, lang: Option<&str>) -> &T {
        lang.and_then(|l| self.by_lang.get(l))
            .unwrap_or(&self.fallback)
    }

    /// Builds one `T` per language from `section` of each language file, overlaid by `overrides`.
    fn build<C: DeserializeOwned + Default>(
        section: &str,
        files: &[settings::LangFile],
        overrides: &toml::Table,
        make: impl Fn(&C, Option<&str>) -> Result<T, QualityError>,
    ) -> Result<Self, QualityError> {
        let parse = |base: Option<&toml::Table>, origin: &str| -> Result<C, QualityError> {
            let mut t = base.cloned().unwrap_or_default();
            for (k, v) in overrides {
                t.insert(k.clone(), v.clone());
            }
            toml::Value::Table(t)
                .try_into::<C>()
                .map_err(|e| QualityError::Config(format!("{section} ({origin}): {e}")))
        };
        let fallback = make(&parse(None, "stage table")?, None)?;
        let mut by_lang = HashMap::new();
        for f in files {
            let base = f.table.get(section).and_then(toml::Value::as_table);
            let cfg = parse(base, &format!("language {}", f.lang))?;
            by_lang.insert(f.lang.clone(), make(&cfg, Some(&f.lang))?);
        }
        // Languages without a file still get their own word rules and stop words.
        for code in LANGUAGES {
            if !by_lang.contains_key(code) {
                by_lang.insert(code.to_string(), make(&parse(None, code)?, Some(code))?);
            }
        }
        Ok(PerLang { fallback, by_lang })
    }
}

#[derive(Debug, Clone)]
enum Rule {
    GopherQuality(PerLang<gopher::GopherQuality>),
    GopherRepetition(PerLang<gopher::GopherRepetition>),
    C4(PerLang<c4::C4>),
    FineWeb(PerLang<fineweb::FineWeb>),
    UrlBlocklist {
        list: UrlBlocklist,
        drop_missing_url: bool,
        thresholds: Vec<Threshold>,
    },
    Pii(PiiConfig),
    Length(Vec<Threshold>),
    Normalize(NormalizeConfig),
}

/// One quality filter, configured. Cheap to share between threads (`&self` only).
#[derive(Debug, Clone)]
pub struct QualityFilter {
    kind: FilterKind,
    tag_only: bool,
    rule: Rule,
}

fn take_bool(t: &mut toml::Table, key: &str, kind: &str) -> Result<Option<bool>, QualityError> {
    match t.remove(key) {
        None => Ok(None),
        Some(toml::Value::Boolean(b)) => Ok(Some(b)),
        Some(v) => Err(QualityError::Config(format!(
            "{kind}: `{key}` must be true or false, not {v}"
        ))),
    }
}

fn take_str(t: &mut toml::Table, key: &str, kind: &str) -> Result<Option<String>, QualityError> {
    match t.remove(key) {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(QualityError::Config(format!(
            "{kind}: `{key}` must be a string, not {v}"
        ))),
    }
}

fn parse_plain<C: DeserializeOwned>(kind: &str, t: toml::Table) -> Result<C, QualityError> {
    toml::Value::Table(t)
        .try_into::<C>()
        .map_err(|e| QualityError::Config(format!("{kind}: {e}")))
}

impl QualityFilter {
    /// Builds a filter from a stage table (without its `kind` key; a `kind` key is ignored).
    ///
    /// Keys every kind takes: `tag_only` (bool, default false). The per-language kinds (`gopher_quality`,
    /// `gopher_repetition`, `c4`, `fineweb`) take `settings` = `"builtin"` (default) | `"published"` | a
    /// directory of `<code>.toml`, and any key of their config struct, which then holds for every language.
    /// `url_blocklist` takes `path` (required) and `drop_missing_url` (default false). The others take the
    /// keys of their config struct. Unknown keys are errors.
    pub fn from_table(kind: &str, table: &toml::Table) -> Result<Self, QualityError> {
        let k = FilterKind::from_name(kind).ok_or_else(|| {
            let names: Vec<&str> = FilterKind::ALL.iter().map(|k| k.name()).collect();
            QualityError::Config(format!(
                "unknown quality filter kind `{kind}` (expected one of {names:?})"
            ))
        })?;
        let mut t = table.clone();
        t.remove("kind");
        let tag_only = take_bool(&mut t, "tag_only", kind)?.unwrap_or(false);
        let source = match k {
            FilterKind::GopherQuality
            | FilterKind::GopherRepetition
            | FilterKind::C4
            | FilterKind::FineWeb => SettingsSource::parse(
                &take_str(&mut t, "settings", kind)?.unwrap_or_else(|| "builtin".into()),
            ),
            _ => SettingsSource::Published,
        };
        let rule = match k {
            FilterKind::GopherQuality => {
                let files = settings::load(&source)?;
                Rule::GopherQuality(PerLang::build(
                    "gopher_quality",
                    &files,
                    &t,
                    gopher::GopherQuality::new,
                )?)
            }
            FilterKind::GopherRepetition => {
                let files = settings::load(&source)?;
                Rule::GopherRepetition(PerLang::build(
                    "gopher_repetition",
                    &files,
                    &t,
                    gopher::GopherRepetition::new,
                )?)
            }
            FilterKind::C4 => {
                let files = settings::load(&source)?;
                Rule::C4(PerLang::build("c4", &files, &t, |c: &C4Config, _| {
                    Ok(c4::C4::new(c))
                })?)
            }
            FilterKind::FineWeb => {
                let files = settings::load(&source)?;
                Rule::FineWeb(PerLang::build(
                    "fineweb",
                    &files,
                    &t,
                    |c: &FineWebConfig, l| Ok(fineweb::FineWeb::new(c, l)),
                )?)
            }
            FilterKind::UrlBlocklist => {
                let path = take_str(&mut t, "path", kind)?.ok_or_else(|| {
                    QualityError::Config(
                        "url_blocklist: `path` (the blocklist file) is required".into(),
                    )
                })?;
                let drop_missing_url =
                    take_bool(&mut t, "drop_missing_url", kind)?.unwrap_or(false);
                if let Some(extra) = t.keys().next() {
                    return Err(QualityError::Config(format!(
                        "url_blocklist: unknown key `{extra}`"
                    )));
                }
                Rule::UrlBlocklist {
                    list: UrlBlocklist::from_file(std::path::Path::new(&path))?,
                    drop_missing_url,
                    thresholds: vec![Threshold {
                        stat: "url.blocked",
                        bound: Bound::Max,
                        value: 0.0,
                        reason: "url_blocklist",
                    }],
                }
            }
            FilterKind::Pii => Rule::Pii(parse_plain(kind, t)?),
            FilterKind::Length => Rule::Length(parse_plain::<LengthConfig>(kind, t)?.thresholds()),
            FilterKind::Normalize => Rule::Normalize(parse_plain(kind, t)?),
        };
        Ok(QualityFilter {
            kind: k,
            tag_only,
            rule,
        })
    }

    /// A filter with default settings: built-in per-language thresholds for the rule kinds. Not for
    /// `url_blocklist`, which needs a file (use [`QualityFilter::blocklist`]).
    pub fn new(
        kind: FilterKind,
        source: &SettingsSource,
        tag_only: bool,
    ) -> Result<Self, QualityError> {
        let mut t = toml::Table::new();
        t.insert("tag_only".into(), toml::Value::Boolean(tag_only));
        if matches!(
            kind,
            FilterKind::GopherQuality
                | FilterKind::GopherRepetition
                | FilterKind::C4
                | FilterKind::FineWeb
        ) {
            let s = match source {
                SettingsSource::Builtin => "builtin".to_string(),
                SettingsSource::Published => "published".to_string(),
                SettingsSource::Dir(d) => d.display().to_string(),
            };
            t.insert("settings".into(), toml::Value::String(s));
        }
        Self::from_table(kind.name(), &t)
    }

    /// A blocklist filter over an already loaded list.
    pub fn blocklist(list: UrlBlocklist, drop_missing_url: bool, tag_only: bool) -> Self {
        QualityFilter {
            kind: FilterKind::UrlBlocklist,
            tag_only,
            rule: Rule::UrlBlocklist {
                list,
                drop_missing_url,
                thresholds: vec![Threshold {
                    stat: "url.blocked",
                    bound: Bound::Max,
                    value: 0.0,
                    reason: "url_blocklist",
                }],
            },
        }
    }

    /// The filter's kind.
    pub fn kind(&self) -> FilterKind {
        self.kind
    }

    /// Whether the filter only measures.
    pub fn tag_only(&self) -> bool {
        self.tag_only
    }

    /// The thresholds documents of `lang` are held to (empty for `normalize` and `pii`).
    pub fn thresholds(&self, lang: Option<&str>) -> &[Threshold] {
        match &self.rule {
            Rule::GopherQuality(p) => &p.get(lang).thresholds,
            Rule::GopherRepetition(p) => &p.get(lang).thresholds,
            Rule::C4(p) => &p.get(lang).thresholds,
            Rule::FineWeb(p) => &p.get(lang).thresholds,
            Rule::UrlBlocklist { thresholds, .. } => thresholds,
            Rule::Length(t) => t,
            Rule::Pii(_) | Rule::Normalize(_) => &[],
        }
    }

    /// Measures `text`, appends the statistics to `stats`, and decides. See the module documentation.
    pub fn apply(&self, text: &mut String, ctx: &DocContext, stats: &mut Stats) -> Decision {
        let start = stats.len();
        let lang = ctx.lang;
        match &self.rule {
            Rule::Normalize(cfg) => {
                clean::normalize(cfg, text, stats);
                return Decision::Keep;
            }
            Rule::Pii(cfg) => {
                clean::redact(cfg, text, stats);
                return Decision::Keep;
            }
            Rule::Length(_) => clean::measure_length(text, stats),
            Rule::UrlBlocklist {
                list,
                drop_missing_url,
                ..
            } => {
                let blocked = match ctx.url {
                    Some(u) => list.is_blocked(u),
                    None => *drop_missing_url,
                };
                stats.push(("url.blocked", f64::from(u8::from(blocked))));
            }
            Rule::GopherQuality(p) => p.get(lang).measure(text, stats),
            Rule::GopherRepetition(p) => p.get(lang).measure(text, stats),
            Rule::FineWeb(p) => p.get(lang).measure(text, stats),
            Rule::C4(p) => {
                let rule = p.get(lang);
                let mut kept = (!self.tag_only).then(String::new);
                rule.measure(text, stats, kept.as_mut());
                let d = self.check(&rule.thresholds, &stats[start..]);
                if let (Decision::Keep, Some(k)) = (d, kept) {
                    let trimmed = k.trim();
                    if trimmed.len() != text.len() || trimmed != text.as_str() {
                        *text = trimmed.to_string();
                    }
                }
                return d;
            }
        }
        self.check(self.thresholds(lang), &stats[start..])
    }

    fn check(&self, thresholds: &[Threshold], measured: &[(&'static str, f64)]) -> Decision {
        if self.tag_only {
            return Decision::Keep;
        }
        for t in thresholds {
            if let Some(&(_, v)) = measured.iter().find(|(n, _)| *n == t.stat) {
                if t.violated(v) {
                    return Decision::Drop(t.reason);
                }
            }
        }
        Decision::Keep
    }
}

#[cfg(test)]
mod tests;
