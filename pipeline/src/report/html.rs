//! The run report as one self-contained HTML page: tables and inline SVG plots, no external files
//! or scripts, so it opens from a cluster's shared filesystem or an e-mail attachment alike.
//!
//! Each plot is an `<svg class="plot">` whose bars are `<rect class="bar">`; a few lines of inline
//! script at the end measure every plot after layout and record on `<body>` how many plots there
//! are (`data-plots`) and how many rendered with a non-empty box and their bars
//! (`data-rendered`), which the tests read back from a headless browser.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use crate::config::PipelineConfig;
use crate::report::{Histogram, human_bytes};
use crate::steps::{Layout, PipelineReport};
use crate::write;

/// Gathers the report of a (multi-step) run and writes `OUT/report.html`, plus `OUT/report.json`
/// for multi-step runs (a single-step run's `report.json` is the runner's own). Returns the HTML
/// path.
pub fn write_run_report(config: &PipelineConfig, layout: &Layout) -> anyhow::Result<PathBuf> {
    let report = PipelineReport::gather(config, layout)?;
    if config.has_steps() {
        let mut json = serde_json::to_vec_pretty(&report)?;
        json.push(b'\n');
        let p = layout.out.join("report.json");
        write::write_atomic(&p, &json).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
    }
    let html = render(&report);
    let p = layout.out.join("report.html");
    write::write_atomic(&p, html.as_bytes())
        .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
    Ok(p)
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            _ => o.push(c),
        }
    }
    o
}

const PALETTE: [&str; 6] = [
    "#3b6ea5", "#d9822b", "#3f9c5a", "#b04a4a", "#7d5ba6", "#8c6d46",
];

/// A bar chart: `groups` of (label, values per series); one colour per series.
fn bar_chart(title: &str, series: &[&str], groups: &[(String, Vec<f64>)], log: bool) -> String {
    if !groups.iter().any(|(_, v)| v.iter().any(|x| *x > 0.0)) {
        return format!("<p><em>{}: nothing to plot.</em></p>", esc(title));
    }
    let (w, h, left, bottom, top) = (720.0f64, 280.0f64, 110.0, 90.0, 28.0);
    let plot_w = w - left - 10.0;
    let plot_h = h - bottom - top;
    let max = groups
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(0.0f64, f64::max);
    let scale = |v: f64| {
        if max <= 0.0 || v <= 0.0 {
            0.0
        } else if log {
            (v + 1.0).ln() / (max + 1.0).ln()
        } else {
            v / max
        }
    };
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{t}"><text x="{left}" y="18" class="title">{t}</text>"#,
        t = esc(title)
    );
    let _ = write!(
        s,
        r##"<line x1="{left}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="#444"/><line x1="{left}" y1="{top}" x2="{left}" y2="{y0}" stroke="#444"/>"##,
        y0 = top + plot_h,
        x1 = left + plot_w
    );
    let _ = write!(
        s,
        r#"<text x="{x}" y="{y}" class="axis" text-anchor="end">{m}</text><text x="{x}" y="{y0}" class="axis" text-anchor="end">0</text>"#,
        x = left - 4.0,
        y = top + 8.0,
        y0 = top + plot_h,
        m = fmt_num(max)
    );
    if log {
        let _ = write!(
            s,
            r#"<text x="{x}" y="{y}" class="axis" text-anchor="end">log</text>"#,
            x = left - 4.0,
            y = top + 20.0
        );
    }
    let n = groups.len().max(1) as f64;
    let slot = plot_w / n;
    let k = series.len().max(1) as f64;
    let bar_w = (slot * 0.8 / k).max(1.0);
    for (gi, (label, values)) in groups.iter().enumerate() {
        let x0 = left + gi as f64 * slot + slot * 0.1;
        for (si, v) in values.iter().enumerate() {
            let bh = scale(*v) * plot_h;
            let _ = write!(
                s,
                r#"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{bw:.1}" height="{bh:.1}" fill="{c}"><title>{l} {sn}: {v}</title></rect>"#,
                x = x0 + si as f64 * bar_w,
                y = top + plot_h - bh,
                bw = bar_w,
                c = PALETTE[si % PALETTE.len()],
                l = esc(label),
                sn = esc(series.get(si).copied().unwrap_or("")),
                v = fmt_num(*v)
            );
        }
        // Label every group when there is room, else every few.
        let every = (groups.len() / 24).max(1);
        if gi % every == 0 {
            let lx = left + gi as f64 * slot + slot / 2.0;
            let ly = top + plot_h + 12.0;
            let _ = write!(
                s,
                r#"<text x="{lx:.1}" y="{ly:.1}" class="axis" text-anchor="end" transform="rotate(-40 {lx:.1} {ly:.1})">{}</text>"#,
                esc(label)
            );
        }
    }
    if series.len() > 1 {
        for (si, name) in series.iter().enumerate() {
            let x = left + 10.0 + si as f64 * 110.0;
            let _ = write!(
                s,
                r#"<rect x="{x}" y="{y}" width="10" height="10" fill="{c}"/><text x="{tx}" y="{ty}" class="axis">{n}</text>"#,
                y = h - 14.0,
                c = PALETTE[si % PALETTE.len()],
                tx = x + 14.0,
                ty = h - 5.0,
                n = esc(name)
            );
        }
    }
    s.push_str("</svg>");
    s
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

fn hist_chart(name: &str, h: &Histogram) -> String {
    let groups: Vec<(String, Vec<f64>)> = match (h.bins.keys().next(), h.bins.keys().last()) {
        (Some(&lo), Some(&hi)) => (lo..=hi)
            .map(|b| {
                let (a, _) = Histogram::bounds(b);
                let label = if a.is_infinite() {
                    "<0".to_string()
                } else {
                    fmt_num(a)
                };
                (label, vec![*h.bins.get(&b).unwrap_or(&0) as f64])
            })
            .collect(),
        _ => Vec::new(),
    };
    bar_chart(
        &format!(
            "{name}: {} documents, min {}, max {}",
            h.count,
            fmt_num(h.min),
            fmt_num(h.max)
        ),
        &["documents"],
        &groups,
        false,
    )
}

/// Renders the page.
pub fn render(r: &PipelineReport) -> String {
    let mut b = String::new();
    let _ = write!(
        b,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>tria report: {p}</title><style>
body{{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}}
table{{border-collapse:collapse;margin:0.5em 0 1.5em}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}
th{{background:#f2f2f2}}td:first-child,th:first-child{{text-align:left}}
svg.plot{{display:block;margin:0.5em 0 1.5em;background:#fafafa;border:1px solid #e4e4e4}}
svg .title{{font-size:13px;font-weight:600}}svg .axis{{font-size:10px;fill:#444}}
.grid{{display:grid;grid-template-columns:repeat(auto-fill,minmax(720px,1fr));gap:0 1em}}
</style></head><body><h1>tria report</h1><p>pipeline <code>{p}</code>, tria {v}; steps: {s}</p>"#,
        p = esc(&r.pipeline),
        v = esc(&r.tria_version),
        s = esc(&r.steps.join(" → "))
    );

    // Files and totals.
    let f = &r.filter;
    let _ = write!(
        b,
        "<h2>Input</h2><table><tr><th>files</th><th>complete</th><th>failed</th><th>records</th>\
         <th>documents read</th><th>text read</th><th>documents kept by the stages</th><th>text kept</th></tr>\
         <tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>",
        f.files.total,
        f.files.processed + f.files.resumed,
        f.files.failed,
        f.records,
        f.docs_in,
        human_bytes(f.bytes_in),
        f.docs_out,
        human_bytes(f.bytes_out)
    );

    // Per language through the steps.
    let stage_keys: Vec<String> = f
        .stages
        .iter()
        .map(|s| format!("stage:{}", s.name))
        .collect();
    let step_cols: Vec<&str> = stage_keys
        .iter()
        .map(String::as_str)
        .chain(["dedup", "tokens"])
        .filter(|s| r.languages.values().any(|m| m.contains_key(*s)))
        .collect();
    if !r.languages.is_empty() {
        b.push_str("<h2>Per language, after each step</h2><table><tr><th>language</th>");
        for s in &step_cols {
            let s = s.trim_start_matches("stage:");
            let _ = write!(b, "<th>{s}: documents</th><th>{s}: bytes</th>");
        }
        if step_cols.contains(&"tokens") {
            b.push_str("<th>tokens</th>");
        }
        b.push_str("</tr>");
        for (lang, m) in &r.languages {
            let _ = write!(b, "<tr><td>{}</td>", esc(lang));
            for s in &step_cols {
                match m.get(*s) {
                    Some(t) => {
                        let _ = write!(b, "<td>{}</td><td>{}</td>", t.docs, human_bytes(t.bytes));
                    }
                    None => b.push_str("<td></td><td></td>"),
                }
            }
            if step_cols.contains(&"tokens") {
                let t = m.get("tokens").and_then(|t| t.tokens);
                let _ = write!(
                    b,
                    "<td>{}</td>",
                    t.map(|t| t.to_string()).unwrap_or_default()
                );
            }
            b.push_str("</tr>");
        }
        b.push_str("</table>");
        let groups: Vec<(String, Vec<f64>)> = r
            .languages
            .iter()
            .map(|(lang, m)| {
                (
                    lang.clone(),
                    step_cols
                        .iter()
                        .map(|s| m.get(*s).map_or(0.0, |t| t.docs as f64))
                        .collect(),
                )
            })
            .collect();
        b.push_str(&bar_chart(
            "Documents per language after each stage and step",
            &step_cols
                .iter()
                .map(|s| s.trim_start_matches("stage:"))
                .collect::<Vec<_>>(),
            &groups,
            false,
        ));
    }

    // Stages and drop reasons.
    if !f.stages.is_empty() {
        b.push_str(
            "<h2>Stages</h2><table><tr><th>stage</th><th>documents in</th><th>kept</th>\
             <th>dropped</th><th>CPU s</th></tr>",
        );
        for s in &f.stages {
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td></tr>",
                esc(&s.name),
                s.docs_in,
                s.docs_out,
                s.docs_in - s.docs_out,
                s.seconds
            );
        }
        b.push_str("</table>");
        let mut drops: Vec<(String, Vec<f64>)> = Vec::new();
        for s in &f.stages {
            for (reason, n) in &s.drops.0 {
                drops.push((format!("{}:{reason}", s.name), vec![*n as f64]));
            }
        }
        if !drops.is_empty() {
            b.push_str(
                "<h3>Drop reasons</h3><table><tr><th>stage:reason</th><th>documents</th></tr>",
            );
            for (k, v) in &drops {
                let _ = write!(b, "<tr><td>{}</td><td>{}</td></tr>", esc(k), v[0]);
            }
            b.push_str("</table>");
            b.push_str(&bar_chart(
                "Documents dropped, by stage and reason",
                &["documents"],
                &drops,
                false,
            ));
        }
    }
    if !f.read.is_empty() {
        b.push_str("<h3>Reader: records skipped or repaired</h3><table><tr><th>reason</th><th>records</th></tr>");
        for (k, v) in &f.read.0 {
            let _ = write!(b, "<tr><td>{}</td><td>{v}</td></tr>", esc(k));
        }
        b.push_str("</table>");
    }
    if !f.failures.is_empty() {
        b.push_str("<h3>Failed files</h3><table><tr><th>file</th><th>error</th></tr>");
        for x in &f.failures {
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td></tr>",
                esc(&x.file),
                esc(&x.error)
            );
        }
        b.push_str("</table>");
    }

    // Dedup.
    if !r.dedup.is_empty() {
        b.push_str(
            "<h2>Deduplication</h2><table><tr><th>partition</th><th>documents</th><th>kept</th>\
             <th>removed</th><th>near pairs</th><th>lines removed</th></tr>",
        );
        let mut sizes: BTreeMap<u32, u64> = BTreeMap::new();
        for (part, d) in &r.dedup {
            let removed: Vec<String> = d.removed.iter().map(|(k, v)| format!("{k} {v}")).collect();
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(part),
                d.documents,
                d.kept,
                esc(&removed.join(", ")),
                d.near_pairs.map(|n| n.to_string()).unwrap_or_default(),
                d.lines_removed
            );
            for file in &d.files {
                for (s, n) in &file.cluster_sizes {
                    *sizes.entry(*s).or_insert(0) += n;
                }
            }
        }
        b.push_str("</table>");
        // Cluster sizes in octaves: 1, 2, 3-4, 5-8, ...
        let mut oct: BTreeMap<u32, u64> = BTreeMap::new();
        for (s, n) in &sizes {
            *oct.entry(32 - (s.max(&1) - 1).leading_zeros()).or_insert(0) += n;
        }
        let groups: Vec<(String, Vec<f64>)> = oct
            .iter()
            .map(|(k, n)| {
                let label = match k {
                    0 => "1".to_string(),
                    1 => "2".to_string(),
                    k => format!("{}-{}", (1u64 << (k - 1)) + 1, 1u64 << k),
                };
                (label, vec![*n as f64])
            })
            .collect();
        b.push_str(&bar_chart(
            "Duplicate cluster sizes (kept documents by the size of the cluster they stand for)",
            &["clusters"],
            &groups,
            true,
        ));
    }

    // Tokens and evaluation.
    if !r.tokens.is_empty() {
        b.push_str(
            "<h2>Token shards</h2><table><tr><th>partition</th><th>documents</th><th>tokens</th>\
             <th>bytes/token</th><th>dtype</th></tr>",
        );
        for (part, t) in &r.tokens {
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.3}</td><td>{}</td></tr>",
                esc(part),
                t.documents,
                t.tokens,
                t.bytes_per_token,
                esc(&t.dtype)
            );
        }
        b.push_str("</table>");
    }
    if let Some(e) = &r.eval {
        let langs = e["report"]["languages"]
            .as_object()
            .or_else(|| e["report"]["heldout"]["languages"].as_object());
        b.push_str("<h2>Evaluation</h2>");
        if let Some(langs) = langs {
            b.push_str("<table><tr><th>language</th><th>documents</th><th>tokens</th><th>loss</th><th>perplexity</th><th>bits/byte</th></tr>");
            let mut groups = Vec::new();
            for (lang, m) in langs {
                let loss = m["loss"].as_f64().unwrap_or(0.0);
                let _ = write!(
                    b,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.4}</td><td>{:.2}</td><td>{}</td></tr>",
                    esc(lang),
                    m["documents"],
                    m["tokens"],
                    loss,
                    m["perplexity"].as_f64().unwrap_or(0.0),
                    m["bits_per_byte"]
                        .as_f64()
                        .map(|v| format!("{v:.4}"))
                        .unwrap_or_default()
                );
                groups.push((lang.clone(), vec![loss]));
            }
            b.push_str("</table>");
            b.push_str(&bar_chart(
                "Loss per language (nats per token)",
                &["loss"],
                &groups,
                false,
            ));
        }
    }

    // Histograms of statistics.
    if !f.histograms.is_empty() {
        b.push_str("<h2>Statistics</h2><p>Over every document a stage measured (kept or dropped).</p><div class=\"grid\">");
        // Language scores first, then the filters' statistics.
        let mut keys: Vec<&String> = f.histograms.keys().collect();
        keys.sort_by_key(|k| (!k.starts_with("lang_score"), (*k).clone()));
        for k in keys {
            b.push_str(&hist_chart(k, &f.histograms[k]));
        }
        b.push_str("</div>");
    }

    b.push_str(
        "<script>(function(){var p=document.querySelectorAll('svg.plot'),ok=0;\
         p.forEach(function(s){var r=s.getBoundingClientRect(),bars=s.querySelectorAll('rect.bar'),\
         drawn=0;bars.forEach(function(x){var q=x.getBBox();if(q.width>0&&q.height>0)drawn++;});\
         if(r.width>0&&r.height>0&&drawn>0)ok++;});\
         document.body.setAttribute('data-plots',p.length);\
         document.body.setAttribute('data-rendered',ok);})();</script></body></html>\n",
    );
    b
}
