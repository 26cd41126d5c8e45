//! The stages a `[[stage]]` can name: a closed set, each a thin adapter from a leaf crate's
//! text → statistics → verdict to [`Stage`].

use std::path::Path;

use serde_json::{Value, json};
use tria_filters::quality::{Decision, DocContext, FilterKind, QualityFilter};

use crate::config::StageConfig;
use crate::document::{Document, Stage, Verdict};

/// Every stage kind, for error messages.
pub fn kinds() -> Vec<&'static str> {
    FilterKind::ALL.iter().map(|k| k.name()).collect()
}

/// Keys holding paths, resolved against the pipeline file's directory.
fn resolve_paths(kind: &str, table: &mut toml::Table, base: &Path) {
    let key = match kind {
        "url_blocklist" => "path",
        _ => "settings",
    };
    if let Some(toml::Value::String(p)) = table.get_mut(key) {
        let keep = key == "settings" && (p == "builtin" || p == "published");
        if !keep && !Path::new(p.as_str()).is_absolute() {
            *p = base.join(p.as_str()).to_string_lossy().to_string();
        }
    }
}

/// Checks a stage's settings against its kind; returns the table to build it from (paths
/// resolved) and the resolved settings for the manifest (every threshold written out).
pub fn resolve_settings(
    kind: &str,
    mut table: toml::Table,
    base: &Path,
) -> Result<(toml::Table, Value), String> {
    if FilterKind::from_name(kind).is_none() {
        return Err(format!(
            "unknown stage kind `{kind}`; known kinds: {}",
            kinds().join(", ")
        ));
    }
    resolve_paths(kind, &mut table, base);
    let filter = QualityFilter::from_table(kind, &table).map_err(|e| e.to_string())?;
    let mut settings = serde_json::to_value(&table).map_err(|e| e.to_string())?;
    let thresholds: Vec<Value> = filter
        .thresholds(None)
        .iter()
        .map(|t| json!({"stat": t.stat, "bound": t.bound, "value": t.value, "reason": t.reason}))
        .collect();
    if let Value::Object(o) = &mut settings {
        o.insert("tag_only".into(), Value::Bool(filter.tag_only()));
        o.insert("thresholds".into(), Value::Array(thresholds));
    }
    Ok((table, settings))
}

/// Builds the stage a resolved config describes.
pub fn build(cfg: &StageConfig) -> Result<Box<dyn Stage>, String> {
    let filter = QualityFilter::from_table(&cfg.kind, &cfg.table).map_err(|e| e.to_string())?;
    Ok(Box::new(Quality {
        name: cfg.name.clone(),
        filter,
    }))
}

/// A quality filter (Gopher, C4, FineWeb, length, PII, blocklist, normalize) as a stage: its
/// statistics go into `attrs`, its verdict decides.
pub struct Quality {
    name: String,
    filter: QualityFilter,
}

impl Stage for Quality {
    fn name(&self) -> &str {
        &self.name
    }

    fn process(&self, doc: &mut Document) -> Verdict {
        let Document {
            text, meta, attrs, ..
        } = doc;
        let ctx = DocContext {
            lang: meta.get("lang").and_then(Value::as_str),
            url: meta.get("url").and_then(Value::as_str),
        };
        let mut stats = Vec::new();
        let decision = self.filter.apply(text, &ctx, &mut stats);
        for (k, v) in stats {
            attrs.insert(k.to_string(), v);
        }
        match decision {
            Decision::Keep => Verdict::Keep,
            Decision::Drop(reason) => Verdict::Drop(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PipelineConfig;
    use crate::document::Origin;
    use std::path::PathBuf;
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
    fn length_stage_measures_and_decides() {
        let c = PipelineConfig::parse(
            "[[stage]]\nkind = \"length\"\nmin_words = 3\n",
            "p.toml",
            PathBuf::new(),
        )
        .unwrap();
        let s = build(&c.stages[0]).unwrap();
        let mut d = doc("bon dia");
        assert_eq!(s.process(&mut d), Verdict::Drop("too_few_words"));
        assert!(d.attrs.keys().any(|k| k.contains("words")), "{:?}", d.attrs);
        assert_eq!(s.process(&mut doc("bon dia a tothom")), Verdict::Keep);
    }

    #[test]
    fn relative_paths_resolve_against_the_pipeline_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("block.txt"), "spam.example\n").unwrap();
        let c = PipelineConfig::parse(
            "[[stage]]\nkind = \"url_blocklist\"\npath = \"block.txt\"\n",
            "p.toml",
            dir.path().to_path_buf(),
        )
        .unwrap();
        let s = build(&c.stages[0]).unwrap();
        let mut d = doc("text");
        d.meta.insert("url".into(), "https://spam.example/x".into());
        assert!(matches!(s.process(&mut d), Verdict::Drop(_)));
    }
}
