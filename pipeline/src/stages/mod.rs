//! The stages a `[[stage]]` can name: a closed set, each a thin adapter from a leaf crate's
//! text → statistics → verdict to [`Stage`].

use std::path::Path;

use serde_json::{Value, json};
use tria_filters::lang::{Backend, LangConfig, LangId};
use tria_filters::quality::{Decision, DocContext, FilterKind, QualityFilter};

use crate::config::StageConfig;
use crate::document::{Document, Stage, Verdict};

/// Every stage kind, for error messages.
pub fn kinds() -> Vec<&'static str> {
    let mut k = vec!["lang"];
    k.extend(FilterKind::ALL.iter().map(|k| k.name()));
    k
}

/// Backend names of the `lang` stage that are not file paths.
const LANG_BACKENDS: &[&str] = &["builtin", "lingua", "lingua-low", "whatlang"];

/// Keys holding paths, resolved against the pipeline file's directory.
fn resolve_paths(kind: &str, table: &mut toml::Table, base: &Path) {
    let key = match kind {
        "url_blocklist" => "path",
        "lang" => "model",
        _ => "settings",
    };
    if let Some(toml::Value::String(p)) = table.get_mut(key) {
        let keep = (key == "settings" && (p == "builtin" || p == "published"))
            || (key == "model" && LANG_BACKENDS.contains(&p.as_str()));
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
    if kind != "lang" && FilterKind::from_name(kind).is_none() {
        return Err(format!(
            "unknown stage kind `{kind}`; known kinds: {}",
            kinds().join(", ")
        ));
    }
    resolve_paths(kind, &mut table, base);
    if kind == "lang" {
        let (config, tag_only) = lang_config(&table)?;
        let path = Path::new(&config.model);
        if !LANG_BACKENDS.contains(&config.model.as_str()) && !path.is_file() && !path.is_dir() {
            return Err(format!(
                "model `{}`: no such file or model directory",
                config.model
            ));
        }
        let mut settings = serde_json::to_value(&config).map_err(|e| e.to_string())?;
        if let Value::Object(o) = &mut settings {
            o.insert("tag_only".into(), Value::Bool(tag_only));
        }
        return Ok((table, settings));
    }
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

/// The `lang` stage's settings and its `tag_only` flag, checked.
fn lang_config(table: &toml::Table) -> Result<(LangConfig, bool), String> {
    let mut t = table.clone();
    let tag_only = match t.remove("tag_only") {
        None => false,
        Some(toml::Value::Boolean(b)) => b,
        Some(v) => return Err(format!("`tag_only` must be true or false, not {v}")),
    };
    let config: LangConfig = t
        .try_into()
        .map_err(|e: toml::de::Error| e.to_string().trim().to_string())?;
    config.validate().map_err(|e| e.to_string())?;
    Ok((config, tag_only))
}

/// Builds the stage a resolved config describes.
pub fn build(cfg: &StageConfig) -> Result<Box<dyn Stage>, String> {
    if cfg.kind == "lang" {
        let (config, tag_only) = lang_config(&cfg.table)?;
        let id = LangId::new(&Backend::parse(&config.model)).map_err(|e| e.to_string())?;
        return Ok(Box::new(LangStage {
            name: cfg.name.clone(),
            id,
            need: config.needs(),
            config,
            tag_only,
        }));
    }
    let filter = QualityFilter::from_table(&cfg.kind, &cfg.table).map_err(|e| e.to_string())?;
    Ok(Box::new(Quality {
        name: cfg.name.clone(),
        filter,
    }))
}

/// `kind = "lang"`: identifies the document's language (scored per chunk, aggregated by bytes),
/// writes `meta.lang`, `attrs.lang_score`, the runner-up and, for mixed pages, each language's
/// share; drops languages not kept or scored below their minimum (unless `tag_only`). A page that
/// cannot be kept whatever its unscored rest says is dropped as soon as that is certain
/// ([`LangId::identify_document_for`]); `meta.lang_scored_bytes` then says how much was scored.
pub struct LangStage {
    name: String,
    id: LangId,
    /// [`LangConfig::needs`].
    need: [f32; 36],
    config: LangConfig,
    tag_only: bool,
}

impl Stage for LangStage {
    fn name(&self) -> &str {
        &self.name
    }

    fn process(&self, doc: &mut Document) -> Verdict {
        let d = if self.tag_only {
            self.id.identify_document_with(&doc.text, &self.config.doc)
        } else {
            self.id
                .identify_document_for(&doc.text, &self.config.doc, &self.need)
        };
        if let Some(n) = d.stopped_at {
            doc.meta.insert("lang_scored_bytes".into(), Value::from(n));
        }
        doc.meta
            .insert("lang".into(), Value::String(d.lang.code().to_string()));
        doc.attrs.insert("lang_score".into(), f64::from(d.score));
        if let Some((l, s)) = d.runner_up {
            doc.meta
                .insert("lang_runner_up".into(), Value::String(l.code().to_string()));
            doc.attrs
                .insert("lang_runner_up_score".into(), f64::from(s));
        }
        if d.shares.len() > 1 {
            for (l, share) in &d.shares {
                doc.attrs
                    .insert(format!("lang_share.{}", l.code()), f64::from(*share));
            }
        }
        match self.config.decide(&d) {
            Err(reason) if !self.tag_only => Verdict::Drop(reason),
            _ => Verdict::Keep,
        }
    }
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
    fn lang_stage_labels_keeps_and_drops() {
        let c = PipelineConfig::parse(
            "[[stage]]\nkind = \"lang\"\nkeep = [\"ca\", \"eu\", \"gl\"]\n",
            "p.toml",
            PathBuf::new(),
        )
        .unwrap();
        let s = build(&c.stages[0]).unwrap();
        let mut ca = doc(
            "La cooperativa agrícola ha presentat un projecte per recuperar varietats antigues de blat i de llegums que s'havien deixat de conrear.",
        );
        assert_eq!(s.process(&mut ca), Verdict::Keep);
        assert_eq!(ca.lang(), Some("ca"));
        assert!(ca.attrs["lang_score"] > 0.5);
        let mut eu = doc(
            "Herriko liburutegiak irakurketa talde berri bat antolatu du helduentzat, eta hilean behin elkartuko dira euskaraz idatzitako eleberri bat komentatzeko.",
        );
        assert_eq!(s.process(&mut eu), Verdict::Keep);
        assert_eq!(eu.lang(), Some("eu"));
        let mut en = doc(
            "The city council approved a new plan to expand the public transport network over the next five years.",
        );
        assert_eq!(s.process(&mut en), Verdict::Drop("lang:not_kept"));
        assert_eq!(en.lang(), Some("en"));
        // A one-chunk page is scored whole; a long English page is dropped after its first part
        // and says how much of it was read. A kept page never stops early.
        assert!(!en.meta.contains_key("lang_scored_bytes"));
        let mut long_en = doc(&format!("{}\n", en.text).repeat(20));
        assert_eq!(s.process(&mut long_en), Verdict::Drop("lang:not_kept"));
        let read = long_en.meta["lang_scored_bytes"].as_u64().unwrap() as usize;
        assert!(read > 0 && read <= long_en.text.len() / 4, "{read}");
        let mut long_ca = doc(&format!("{}\n", ca.text).repeat(20));
        assert_eq!(s.process(&mut long_ca), Verdict::Keep);
        assert!(!long_ca.meta.contains_key("lang_scored_bytes"));

        let tagged = PipelineConfig::parse(
            "[[stage]]\nkind = \"lang\"\nkeep = [\"ca\"]\ntag_only = true\n",
            "p.toml",
            PathBuf::new(),
        )
        .unwrap();
        let s = build(&tagged.stages[0]).unwrap();
        assert_eq!(
            s.process(&mut en),
            Verdict::Keep,
            "tag_only measures and keeps"
        );
        let mut whole = doc(&long_en.text);
        assert_eq!(s.process(&mut whole), Verdict::Keep);
        assert!(
            !whole.meta.contains_key("lang_scored_bytes"),
            "tag_only scores every page whole"
        );

        let e = PipelineConfig::parse(
            "[[stage]]\nkind = \"lang\"\nmodel = \"no-such-model.ftz\"\n",
            "p.toml",
            PathBuf::new(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("no-such-model.ftz"), "{e}");

        // A model directory (here the shipped one) is the two-stage backend read from files.
        let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters/models");
        let from_dir = PipelineConfig::parse(
            &format!(
                "[[stage]]\nkind = \"lang\"\nmodel = {:?}\nkeep = [\"gl\"]\n",
                models.display().to_string()
            ),
            "p.toml",
            PathBuf::new(),
        )
        .unwrap();
        let s = build(&from_dir.stages[0]).unwrap();
        let mut gl =
            doc("Os veciños do barrio organizaron unha festa con concertos e ceas na praza.");
        assert_eq!(s.process(&mut gl), Verdict::Keep);
        assert_eq!(gl.lang(), Some("gl"));
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
