//! Calibration of per-language thresholds on reference text (FineWeb-2's idea: a threshold should not cut
//! into the reference corpus's own tail).
//!
//! [`calibrate`] runs the four rule kinds with the published defaults (and the language's built-in stop
//! words) in tag-only mode over reference documents, and for every threshold measures the statistic's
//! distribution. A minimum is proposed as `min(published, q-quantile)` and a maximum as
//! `max(published, (1-q)-quantile)`: a published threshold is kept unless it would remove more than the
//! share `q` of the reference documents, in which case it is loosened to remove exactly about `q`. The
//! result is a language file (TOML, only the keys that change) and a Markdown report of every threshold.
//!
//! Memory: every statistic value of every document (about 40 `f64` per document).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{
    Bound, DocContext, FilterKind, QualityError, QualityFilter, SettingsSource, Stats, Threshold,
};

/// What [`calibrate`] proposes.
#[derive(Debug, Clone)]
pub struct Calibration {
    /// A language file for `filters/lang/<code>.toml` or a settings directory.
    pub toml: String,
    /// Markdown table: per threshold, the published value, the quantile, the proposal, and the share of
    /// reference documents each removes.
    pub report: String,
    /// Documents measured.
    pub docs: usize,
}

/// Value at quantile `q` (0..=1) of sorted values, by linear interpolation (numpy's default).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Which config key a threshold comes from (by its stable reason), and whether the key is an integer.
fn key_of(reason: &str) -> Option<(&'static str, bool)> {
    Some(match reason {
        "gopher_short_doc" => ("min_doc_words", true),
        "gopher_long_doc" => ("max_doc_words", true),
        "gopher_below_avg_threshold" => ("min_avg_word_length", false),
        "gopher_above_avg_threshold" => ("max_avg_word_length", false),
        "gopher_too_many_hashes" | "gopher_too_many_ellipsis" => ("max_symbol_word_ratio", false),
        "gopher_too_many_bullets" => ("max_bullet_lines_ratio", false),
        "gopher_too_many_end_ellipsis" => ("max_ellipsis_lines_ratio", false),
        "gopher_below_alpha_threshold" => ("min_alpha_words_ratio", false),
        "gopher_enough_stop_words" => ("min_stop_words", true),
        "dup_para_frac" => ("dup_para_frac", false),
        "dup_para_char_frac" => ("dup_para_char_frac", false),
        "dup_line_frac" => ("dup_line_frac", false),
        "dup_line_char_frac" => ("dup_line_char_frac", false),
        "too_few_sentences" => ("min_num_sentences", true),
        "line_punct_ratio" => ("line_punct_thr", false),
        "short_line_ratio" => ("short_line_thr", false),
        "char_dup_ratio" => ("char_duplicates_ratio", false),
        "list_ratio" => ("new_line_ratio", false),
        r if r.starts_with("top_") => ("top_n_grams", false),
        r if r.starts_with("duplicated_") => ("dup_n_grams", false),
        _ => return None,
    })
}

/// The `n` of an n-gram threshold's reason (`top_3_gram`, `duplicated_7_n_grams`).
fn n_of(reason: &str) -> Option<i64> {
    reason.split('_').nth(1).and_then(|s| s.parse().ok())
}

fn round_value(v: f64, integer: bool, bound: Bound) -> f64 {
    if integer {
        match bound {
            Bound::Min => v.floor(),
            Bound::Max => v.ceil(),
        }
    } else {
        // Four significant decimals are plenty for ratios and keep the files readable.
        match bound {
            Bound::Min => (v * 10_000.0).floor() / 10_000.0,
            Bound::Max => (v * 10_000.0).ceil() / 10_000.0,
        }
    }
}

fn share_removed(sorted: &[f64], t: &Threshold, value: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let n = match t.bound {
        Bound::Min => sorted.partition_point(|&v| v < value),
        Bound::Max => sorted.len() - sorted.partition_point(|&v| v <= value),
    };
    n as f64 / sorted.len() as f64
}

/// Measures `docs` (reference text of language `lang`) and proposes thresholds that remove at most about
/// the share `quantile` of them (e.g. 0.01), never stricter than the published defaults.
pub fn calibrate<'a>(
    docs: impl IntoIterator<Item = &'a str>,
    lang: &str,
    quantile: f64,
) -> Result<Calibration, QualityError> {
    if !(0.0..0.5).contains(&quantile) {
        return Err(QualityError::Config(format!(
            "calibrate: quantile {quantile} must be in [0, 0.5)"
        )));
    }
    let kinds = [
        FilterKind::GopherQuality,
        FilterKind::GopherRepetition,
        FilterKind::C4,
        FilterKind::FineWeb,
    ];
    let filters: Vec<QualityFilter> = kinds
        .iter()
        .map(|&k| QualityFilter::new(k, &SettingsSource::Published, true))
        .collect::<Result<_, _>>()?;
    let ctx = DocContext {
        lang: Some(lang),
        url: None,
    };
    let mut values: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    let mut n_docs = 0usize;
    let mut stats = Stats::new();
    let mut text = String::new();
    for doc in docs {
        n_docs += 1;
        for f in &filters {
            text.clear();
            text.push_str(doc);
            stats.clear();
            f.apply(&mut text, &ctx, &mut stats);
            for &(name, v) in &stats {
                values.entry(name).or_default().push(v);
            }
        }
    }
    for v in values.values_mut() {
        v.sort_by(f64::total_cmp);
    }

    let mut toml = format!(
        "# Proposed settings for `{lang}` from {n_docs} reference documents: published thresholds loosened only\n\
         # where they would remove more than {:.2} % of the reference (tria filters calibrate, quantile {quantile}).\n",
        quantile * 100.0
    );
    let mut report = format!(
        "# Calibration for `{lang}`\n\n{n_docs} reference documents, quantile {quantile}.\n\n\
         | rule | statistic | bound | published | quantile value | proposed | removed at published | removed at proposed |\n\
         |---|---|---|---:|---:|---:|---:|---:|\n"
    );
    for (kind, f) in kinds.iter().zip(&filters) {
        let mut section: BTreeMap<&'static str, toml::Value> = BTreeMap::new();
        let mut ngrams: BTreeMap<&'static str, Vec<(i64, f64, bool)>> = BTreeMap::new();
        for t in f.thresholds(Some(lang)) {
            let Some((key, integer)) = key_of(t.reason) else {
                continue;
            };
            let empty = Vec::new();
            let sorted = values.get(t.stat).unwrap_or(&empty);
            let (q_value, proposed) = match t.bound {
                Bound::Min => {
                    let q = quantile_sorted(sorted, quantile);
                    (
                        q,
                        if q < t.value {
                            round_value(q, integer, Bound::Min)
                        } else {
                            t.value
                        },
                    )
                }
                Bound::Max => {
                    let q = quantile_sorted(sorted, 1.0 - quantile);
                    (
                        q,
                        if q > t.value {
                            round_value(q, integer, Bound::Max)
                        } else {
                            t.value
                        },
                    )
                }
            };
            let bound = match t.bound {
                Bound::Min => "min",
                Bound::Max => "max",
            };
            let _ = writeln!(
                report,
                "| {} | `{}` | {bound} | {} | {:.4} | {} | {:.2} % | {:.2} % |",
                kind.name(),
                t.stat,
                t.value,
                q_value,
                proposed,
                100.0 * share_removed(sorted, t, t.value),
                100.0 * share_removed(sorted, t, proposed),
            );
            let changed = proposed != t.value;
            if key == "top_n_grams" || key == "dup_n_grams" {
                if let Some(n) = n_of(t.reason) {
                    ngrams.entry(key).or_default().push((n, proposed, changed));
                }
            } else if changed {
                let v = if integer {
                    toml::Value::Integer(proposed as i64)
                } else {
                    toml::Value::Float(proposed)
                };
                // Two statistics share `max_symbol_word_ratio`: keep the looser proposal.
                let looser = match (section.get(key), &v) {
                    (Some(toml::Value::Float(old)), toml::Value::Float(new)) => *new > *old,
                    _ => true,
                };
                if looser {
                    section.insert(key, v);
                }
            }
        }
        for (key, list) in ngrams {
            if list.iter().any(|x| x.2) {
                let arr = list
                    .iter()
                    .map(|&(n, v, _)| {
                        toml::Value::Array(vec![toml::Value::Integer(n), toml::Value::Float(v)])
                    })
                    .collect();
                section.insert(key, toml::Value::Array(arr));
            }
        }
        if !section.is_empty() {
            let _ = writeln!(toml, "\n[{}]", kind.name());
            for (k, v) in section {
                let _ = writeln!(toml, "{k} = {v}");
            }
        }
    }
    Ok(Calibration {
        toml,
        report,
        docs: n_docs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile_sorted(&v, 0.0), 1.0);
        assert_eq!(quantile_sorted(&v, 0.5), 3.0);
        assert_eq!(quantile_sorted(&v, 0.125), 1.5);
        assert!(quantile_sorted(&[], 0.5).is_nan());
    }

    #[test]
    fn loosens_only_what_cuts_the_reference_tail() {
        // Short Basque documents: ~20 words each, so the 50-word minimum would remove all of them.
        let para = "Gaur goizean Bilboko kaleetan ibili gara eta jende asko ikusi dugu. Eguraldi ona egin du eta \
                    denok pozik gaude. Bihar mendira joango gara lagunekin batera.";
        let docs: Vec<String> = (0..40)
            .map(|i| format!("{para} Hau {i}. dokumentua da."))
            .collect();
        let c = calibrate(docs.iter().map(String::as_str), "eu", 0.05).expect("calibrates");
        assert_eq!(c.docs, 40);
        // The file is a valid language file that lowers min_doc_words below the documents' word count.
        let parsed = super::super::settings::parse_lang_file(
            "eu",
            &c.toml,
            std::path::Path::new("out.toml"),
        )
        .expect("valid language file");
        let min_words = parsed.table["gopher_quality"]["min_doc_words"]
            .as_integer()
            .expect("integer");
        assert!((20..=30).contains(&min_words), "{}", c.toml);
        // Nothing else in Gopher quality needed loosening on clean prose.
        assert!(
            parsed.table["gopher_quality"]
                .get("min_avg_word_length")
                .is_none(),
            "{}",
            c.toml
        );
        assert!(
            c.report
                .contains("| gopher_quality | `gopher.words` | min | 50 |"),
            "{}",
            c.report
        );
        assert!(calibrate(std::iter::empty(), "eu", 0.7).is_err());
    }
}
