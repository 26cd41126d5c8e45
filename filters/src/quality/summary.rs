//! Summary of a tag-only run: per language and statistic, quantiles, a histogram, and the share of
//! documents each threshold would remove; rendered as Markdown and as a self-contained HTML page with
//! inline SVG plots.
//!
//! Feed it with [`SummaryBuilder::add`] (one call per document: its language and its statistics) or
//! [`summarize`]. Memory: per language and statistic, a uniform sample of at most [`SAMPLE_CAP`] values
//! (quantiles and histograms come from it, exact while fewer values were seen) plus exact counters;
//! so at most 800 KB per (language, statistic), flat in input size.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use super::calibrate::quantile_sorted;
use super::{Bound, QualityFilter, Threshold};

/// Values kept per (language, statistic) for quantiles and histograms.
pub const SAMPLE_CAP: usize = 100_000;
/// Quantiles reported.
pub const QUANTILES: [f64; 9] = [0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0];
const BINS: usize = 40;

#[derive(Debug, Clone)]
struct StatAcc {
    n: u64,
    sum: f64,
    min: f64,
    max: f64,
    sample: Vec<f64>,
    rng: u64,
}

impl StatAcc {
    fn new(seed: u64) -> Self {
        StatAcc {
            n: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sample: Vec::new(),
            rng: seed | 1,
        }
    }

    fn add(&mut self, v: f64) {
        self.n += 1;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        if self.sample.len() < SAMPLE_CAP {
            self.sample.push(v);
        } else {
            // Reservoir sampling (Algorithm R) with a fixed-seed xorshift: same input, same summary.
            self.rng ^= self.rng << 13;
            self.rng ^= self.rng >> 7;
            self.rng ^= self.rng << 17;
            let j = self.rng % self.n;
            if (j as usize) < SAMPLE_CAP {
                self.sample[j as usize] = v;
            }
        }
    }
}

#[derive(Debug, Clone)]
struct LangAcc {
    docs: u64,
    removed_any: u64,
    stats: BTreeMap<String, StatAcc>,
    /// Each threshold of the language, documents that had its statistic, documents it removes.
    thresholds: Vec<(Threshold, u64, u64)>,
}

/// Collects statistics document by document.
#[derive(Debug)]
pub struct SummaryBuilder<'f> {
    filters: &'f [QualityFilter],
    langs: BTreeMap<String, LangAcc>,
    doc_stats: HashMap<String, f64>,
}

/// Summary of one statistic in one language.
#[derive(Debug, Clone, PartialEq)]
pub struct StatSummary {
    /// Documents with this statistic.
    pub n: u64,
    /// Mean value.
    pub mean: f64,
    /// `(q, value)` for each of [`QUANTILES`].
    pub quantiles: Vec<(f64, f64)>,
    /// `(low edge, high edge, count)` of equal-width bins over the sample (counts scaled to `n`).
    pub histogram: Vec<(f64, f64, u64)>,
    /// Each threshold on this statistic with the share of documents (with the statistic) it removes.
    pub thresholds: Vec<(Threshold, f64)>,
}

/// Summary of one language.
#[derive(Debug, Clone, PartialEq)]
pub struct LangSummary {
    /// Documents of this language.
    pub docs: u64,
    /// Share removed by at least one threshold.
    pub removed_share: f64,
    /// Per statistic, by name.
    pub stats: BTreeMap<String, StatSummary>,
}

/// The whole summary, by language (`"und"` for documents without one).
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Per language.
    pub langs: BTreeMap<String, LangSummary>,
}

impl<'f> SummaryBuilder<'f> {
    /// A builder checking the thresholds `filters` give each language.
    pub fn new(filters: &'f [QualityFilter]) -> Self {
        SummaryBuilder {
            filters,
            langs: BTreeMap::new(),
            doc_stats: HashMap::new(),
        }
    }

    /// Adds one document: its language (`None` or `""` for unknown) and its statistics.
    pub fn add<K: AsRef<str>>(
        &mut self,
        lang: Option<&str>,
        stats: impl IntoIterator<Item = (K, f64)>,
    ) {
        let code = lang.filter(|l| !l.is_empty()).unwrap_or("und");
        let filters = self.filters;
        let acc = self
            .langs
            .entry(code.to_string())
            .or_insert_with(|| LangAcc {
                docs: 0,
                removed_any: 0,
                stats: BTreeMap::new(),
                thresholds: filters
                    .iter()
                    .flat_map(|f| {
                        f.thresholds(lang.filter(|l| !l.is_empty()))
                            .iter()
                            .map(|t| (*t, 0, 0))
                    })
                    .collect(),
            });
        acc.docs += 1;
        self.doc_stats.clear();
        for (k, v) in stats {
            let k = k.as_ref();
            if !v.is_finite() {
                continue;
            }
            self.doc_stats.insert(k.to_string(), v);
            match acc.stats.get_mut(k) {
                Some(s) => s.add(v),
                None => {
                    let seed = xxhash_rust::xxh3::xxh3_64(format!("{code}/{k}").as_bytes());
                    let mut s = StatAcc::new(seed);
                    s.add(v);
                    acc.stats.insert(k.to_string(), s);
                }
            }
        }
        let mut removed = false;
        for (t, with, n) in &mut acc.thresholds {
            if let Some(&v) = self.doc_stats.get(t.stat) {
                *with += 1;
                if t.violated(v) {
                    *n += 1;
                    removed = true;
                }
            }
        }
        if removed {
            acc.removed_any += 1;
        }
    }

    /// Computes the summary.
    pub fn finish(self) -> Summary {
        let mut langs = BTreeMap::new();
        for (code, acc) in self.langs {
            let mut stats = BTreeMap::new();
            for (name, s) in acc.stats {
                let mut sorted = s.sample;
                sorted.sort_by(f64::total_cmp);
                let quantiles = QUANTILES
                    .iter()
                    .map(|&q| {
                        let v = if q == 0.0 {
                            s.min
                        } else if q == 1.0 {
                            s.max
                        } else {
                            quantile_sorted(&sorted, q)
                        };
                        (q, v)
                    })
                    .collect();
                let histogram = histogram(&sorted, s.min, s.max, s.n);
                let thresholds = acc
                    .thresholds
                    .iter()
                    .filter(|(t, _, _)| t.stat == name)
                    .map(|(t, with, n)| {
                        (
                            *t,
                            if *with == 0 {
                                0.0
                            } else {
                                *n as f64 / *with as f64
                            },
                        )
                    })
                    .collect();
                let mean = if s.n == 0 { 0.0 } else { s.sum / s.n as f64 };
                stats.insert(
                    name,
                    StatSummary {
                        n: s.n,
                        mean,
                        quantiles,
                        histogram,
                        thresholds,
                    },
                );
            }
            let removed_share = if acc.docs == 0 {
                0.0
            } else {
                acc.removed_any as f64 / acc.docs as f64
            };
            langs.insert(
                code,
                LangSummary {
                    docs: acc.docs,
                    removed_share,
                    stats,
                },
            );
        }
        Summary { langs }
    }
}

fn histogram(sorted: &[f64], min: f64, max: f64, n: u64) -> Vec<(f64, f64, u64)> {
    if sorted.is_empty() {
        return Vec::new();
    }
    if max <= min {
        return vec![(min, max, n)];
    }
    let width = (max - min) / BINS as f64;
    let mut counts = vec![0u64; BINS];
    for &v in sorted {
        let i = (((v - min) / width) as usize).min(BINS - 1);
        counts[i] += 1;
    }
    // Scale sample counts to the number of documents (exact while the sample holds every value).
    let scale = n as f64 / sorted.len() as f64;
    counts
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            (
                min + width * i as f64,
                min + width * (i + 1) as f64,
                (c as f64 * scale).round() as u64,
            )
        })
        .collect()
}

/// Summarises `(language, statistics)` records against the thresholds of `filters`.
pub fn summarize<L, M, K>(
    records: impl IntoIterator<Item = (L, M)>,
    filters: &[QualityFilter],
) -> Summary
where
    L: AsRef<str>,
    M: IntoIterator<Item = (K, f64)>,
    K: AsRef<str>,
{
    let mut b = SummaryBuilder::new(filters);
    for (lang, stats) in records {
        b.add(Some(lang.as_ref()), stats);
    }
    b.finish()
}

fn fmt_num(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e12 {
        format!("{v:.0}")
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.4}")
    }
}

fn bound_sym(b: Bound) -> &'static str {
    match b {
        Bound::Min => "≥",
        Bound::Max => "≤",
    }
}

fn sparkline(h: &[(f64, f64, u64)]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = h.iter().map(|b| b.2).max().unwrap_or(0).max(1);
    h.iter()
        .map(|b| {
            if b.2 == 0 {
                ' '
            } else {
                BARS[((b.2 * 7) / max) as usize]
            }
        })
        .collect()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Summary {
    /// Markdown: per language, a table of statistics with quantiles, a text histogram and thresholds.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from("# Quality statistics\n\n");
        for (code, l) in &self.langs {
            let _ = writeln!(
                out,
                "## {code}\n\n{} documents; {:.2} % would be removed by at least one threshold.\n",
                l.docs,
                100.0 * l.removed_share
            );
            out.push_str("| statistic | n | mean | min | p1 | p5 | p25 | p50 | p75 | p95 | p99 | max | histogram | thresholds (share removed) |\n");
            out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n");
            for (name, s) in &l.stats {
                let q: Vec<String> = s.quantiles.iter().map(|&(_, v)| fmt_num(v)).collect();
                let t: Vec<String> = s
                    .thresholds
                    .iter()
                    .map(|(t, share)| {
                        format!(
                            "{} {} ({:.2} %)",
                            bound_sym(t.bound),
                            fmt_num(t.value),
                            100.0 * share
                        )
                    })
                    .collect();
                let _ = writeln!(
                    out,
                    "| `{name}` | {} | {} | {} | `{}` | {} |",
                    s.n,
                    fmt_num(s.mean),
                    q.join(" | "),
                    sparkline(&s.histogram),
                    t.join(", ")
                );
            }
            out.push('\n');
        }
        out
    }

    /// A self-contained HTML page: per language and statistic, an SVG histogram with the thresholds
    /// drawn and the removed side shaded, and the quantile table.
    pub fn to_html(&self) -> String {
        let mut out = String::from(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>tria quality statistics</title>\n\
             <style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}\
             .g{display:flex;flex-wrap:wrap;gap:1em}.c{border:1px solid #ddd;padding:.5em;border-radius:4px}\
             .c h4{margin:.2em 0;font-size:.9em;font-family:monospace}table{border-collapse:collapse;font-size:.8em}\
             td,th{padding:2px 6px;border-bottom:1px solid #eee;text-align:right}</style></head><body>\n\
             <h1>Quality statistics</h1>\n",
        );
        out.push_str("<table><tr><th>language</th><th>documents</th><th>removed by any threshold</th></tr>\n");
        for (code, l) in &self.langs {
            let _ = writeln!(
                out,
                "<tr><td><a href=\"#lang-{0}\">{0}</a></td><td>{1}</td><td>{2:.2} %</td></tr>",
                esc(code),
                l.docs,
                100.0 * l.removed_share
            );
        }
        out.push_str("</table>\n");
        for (code, l) in &self.langs {
            let _ = writeln!(
                out,
                "<h2 id=\"lang-{0}\">{0}</h2>\n<div class=\"g\">",
                esc(code)
            );
            for (name, s) in &l.stats {
                let _ = write!(out, "<div class=\"c\"><h4>{}</h4>", esc(name));
                out.push_str(&svg_histogram(s));
                out.push_str("<table><tr>");
                for (q, _) in &s.quantiles {
                    let _ = write!(out, "<th>p{}</th>", (q * 100.0).round());
                }
                out.push_str("</tr><tr>");
                for (_, v) in &s.quantiles {
                    let _ = write!(out, "<td>{}</td>", fmt_num(*v));
                }
                out.push_str("</tr></table>");
                for (t, share) in &s.thresholds {
                    let _ = write!(
                        out,
                        "<div style=\"font-size:.8em\">keep if {} {}: removes <b>{:.2} %</b> ({})</div>",
                        esc(bound_sym(t.bound)),
                        fmt_num(t.value),
                        100.0 * share,
                        esc(t.reason)
                    );
                }
                out.push_str("</div>\n");
            }
            out.push_str("</div>\n");
        }
        out.push_str("</body></html>\n");
        out
    }
}

fn svg_histogram(s: &StatSummary) -> String {
    let (w, h, pad) = (320.0, 120.0, 20.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{}\" role=\"img\">",
        h + pad
    );
    let Some(first) = s.histogram.first() else {
        svg.push_str("</svg>");
        return svg;
    };
    let lo = first.0;
    let hi = s.histogram.last().map_or(lo, |b| b.1);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let x_of = |v: f64| ((v - lo) / span).clamp(0.0, 1.0) * w;
    // Shade the removed side of each threshold first, so the bars draw over it.
    for (t, _) in &s.thresholds {
        let x = x_of(t.value);
        let (x0, x1) = match t.bound {
            Bound::Min => (0.0, x),
            Bound::Max => (x, w),
        };
        if x1 > x0 {
            let _ = write!(
                svg,
                "<rect x=\"{x0:.1}\" y=\"0\" width=\"{:.1}\" height=\"{h}\" fill=\"#fdd\"/>",
                x1 - x0
            );
        }
    }
    let max = s.histogram.iter().map(|b| b.2).max().unwrap_or(1).max(1) as f64;
    let bw = w / s.histogram.len() as f64;
    for (i, b) in s.histogram.iter().enumerate() {
        let bh = b.2 as f64 / max * (h - 4.0);
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"#4a78b5\"><title>[{}, {}): {}</title></rect>",
            i as f64 * bw,
            h - bh,
            (bw - 0.5).max(0.5),
            fmt_num(b.0),
            fmt_num(b.1),
            b.2
        );
    }
    for (t, share) in &s.thresholds {
        let x = x_of(t.value);
        let _ = write!(
            svg,
            "<line x1=\"{x:.1}\" y1=\"0\" x2=\"{x:.1}\" y2=\"{h}\" stroke=\"#c00\" stroke-width=\"1.5\"><title>{} {}: removes {:.2} %</title></line>",
            esc(bound_sym(t.bound)),
            fmt_num(t.value),
            100.0 * share
        );
    }
    let _ = write!(
        svg,
        "<text x=\"0\" y=\"{0}\" font-size=\"10\">{1}</text><text x=\"{w}\" y=\"{0}\" font-size=\"10\" text-anchor=\"end\">{2}</text></svg>",
        h + 14.0,
        fmt_num(lo),
        fmt_num(hi)
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::{FilterKind, SettingsSource};

    #[test]
    fn summary_counts_shares_and_renders() {
        let filters = [
            QualityFilter::new(FilterKind::FineWeb, &SettingsSource::Published, true)
                .expect("filter"),
        ];
        // 10 Catalan documents with short_line_ratio 0.0, 0.1, ..., 0.9: the 0.67 maximum removes 0.7, 0.8, 0.9.
        let records: Vec<(&str, Vec<(&str, f64)>)> = (0..10)
            .map(|i| {
                (
                    "ca",
                    vec![("fineweb.short_line_ratio", f64::from(i) / 10.0)],
                )
            })
            .collect();
        let s = summarize(records, &filters);
        let ca = &s.langs["ca"];
        assert_eq!(ca.docs, 10);
        assert!((ca.removed_share - 0.3).abs() < 1e-12);
        let st = &ca.stats["fineweb.short_line_ratio"];
        assert_eq!(st.n, 10);
        assert!(
            (st.quantiles[4].1 - 0.45).abs() < 1e-12,
            "median {:?}",
            st.quantiles
        );
        assert_eq!(st.histogram.iter().map(|b| b.2).sum::<u64>(), 10);
        assert_eq!(st.thresholds.len(), 1);
        assert!((st.thresholds[0].1 - 0.3).abs() < 1e-12);
        let md = s.to_markdown();
        assert!(
            md.contains("## ca") && md.contains("≤ 0.6700 (30.00 %)"),
            "{md}"
        );
        let html = s.to_html();
        assert!(html.contains("<svg") && html.contains("removes <b>30.00 %</b>"));
        assert_eq!(html.matches("<rect").count(), 1 + 40);
    }

    #[test]
    fn reservoir_is_bounded_and_deterministic() {
        let mut a = StatAcc::new(7);
        let mut b = StatAcc::new(7);
        for i in 0..(SAMPLE_CAP as u64 + 5000) {
            a.add(i as f64);
            b.add(i as f64);
        }
        assert_eq!(a.sample.len(), SAMPLE_CAP);
        assert_eq!(a.sample, b.sample);
        assert_eq!((a.min, a.max), (0.0, (SAMPLE_CAP + 4999) as f64));
    }
}
