//! The stages a `[[stage]]` can name: a closed set, each a thin adapter from a leaf crate's
//! text → statistics → verdict to [`Stage`].

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::StageConfig;
use crate::document::{Document, Stage, Verdict};

/// Every stage kind, for error messages.
pub const KINDS: &[&str] = &["length"];

/// Checks a stage's settings against its kind and fills in the defaults.
pub fn resolve_settings(kind: &str, table: toml::Table) -> Result<Value, String> {
    match kind {
        "length" => resolved::<LengthConfig>(table),
        _ => Err(format!(
            "unknown stage kind `{kind}`; known kinds: {}",
            KINDS.join(", ")
        )),
    }
}

fn resolved<T: DeserializeOwned + Serialize>(table: toml::Table) -> Result<Value, String> {
    let config: T = table
        .try_into()
        .map_err(|e: toml::de::Error| e.to_string().trim().to_string())?;
    serde_json::to_value(&config).map_err(|e| e.to_string())
}

fn settings<T: DeserializeOwned>(cfg: &StageConfig) -> Result<T, String> {
    serde_json::from_value(cfg.settings.clone()).map_err(|e| e.to_string())
}

/// Builds the stage a resolved config describes.
pub fn build(cfg: &StageConfig) -> Result<Box<dyn Stage>, String> {
    Ok(match cfg.kind.as_str() {
        "length" => Box::new(Length {
            name: cfg.name.clone(),
            config: settings(cfg)?,
        }),
        other => return Err(format!("unknown stage kind `{other}`")),
    })
}

/// `kind = "length"`: keep documents whose length, in characters and whitespace-separated words,
/// lies within bounds. A bound of 0 is off.
#[derive(Clone, Debug, Default, serde::Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LengthConfig {
    pub min_chars: usize,
    pub max_chars: usize,
    pub min_words: usize,
    pub max_words: usize,
}

pub struct Length {
    name: String,
    config: LengthConfig,
}

impl Stage for Length {
    fn name(&self) -> &str {
        &self.name
    }

    fn process(&self, doc: &mut Document) -> Verdict {
        let c = &self.config;
        let chars = doc.text.chars().count();
        if chars < c.min_chars {
            return Verdict::Drop("too_short");
        }
        if c.max_chars > 0 && chars > c.max_chars {
            return Verdict::Drop("too_long");
        }
        if c.min_words > 0 || c.max_words > 0 {
            let words = doc.text.split_whitespace().count();
            if words < c.min_words {
                return Verdict::Drop("too_few_words");
            }
            if c.max_words > 0 && words > c.max_words {
                return Verdict::Drop("too_many_words");
            }
        }
        Verdict::Keep
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Origin;
    use std::sync::Arc;

    fn doc(text: &str) -> Document {
        Document::new(
            "d".into(),
            text.into(),
            Origin {
                file: Arc::from("f"),
                record: 0,
                offset: None,
            },
        )
    }

    #[test]
    fn length_bounds() {
        let s = Length {
            name: "length".into(),
            config: LengthConfig {
                min_chars: 5,
                max_chars: 20,
                min_words: 2,
                max_words: 0,
            },
        };
        assert_eq!(s.process(&mut doc("abc")), Verdict::Drop("too_short"));
        // Characters, not bytes: "àèìòù" is 5 characters and 10 bytes.
        assert_eq!(s.process(&mut doc("àèìòù")), Verdict::Drop("too_few_words"));
        assert_eq!(s.process(&mut doc("bon dia")), Verdict::Keep);
        assert_eq!(
            s.process(&mut doc(&"x ".repeat(20))),
            Verdict::Drop("too_long")
        );
    }
}
