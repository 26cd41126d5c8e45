//! `tria filters calibrate`, `tria filters stats`, and the `--tag-only` switch of `tria run`.
//!
//! A tag-only run measures every document with every quality stage and drops none; `stats` reads
//! its outputs back, rebuilds the filters from the run's `manifest.json`, and shows per language and
//! statistic the distribution and the share each threshold would remove, plus the drops a real run
//! with the same thresholds would make (first failing threshold in stage order, as the runner does).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use tria_filters::quality::calibrate::calibrate;
use tria_filters::quality::summary::SummaryBuilder;
use tria_filters::quality::{Bound, FilterKind, LANGUAGES, QualityFilter};

use crate::config::{ConfigError, PipelineConfig};
use crate::document::Document;
use crate::read::{self, Format, ReadOptions};
use crate::write::{OutputFormat, TMP_SUFFIX, write_atomic};

#[derive(Args, Debug)]
pub struct FiltersArgs {
    #[command(subcommand)]
    pub command: FiltersCommand,
}

#[derive(Subcommand, Debug)]
pub enum FiltersCommand {
    /// Propose per-language thresholds from reference text; writes OUT/<lang>.toml, a settings file
    /// a stage loads with `settings = "OUT"`.
    Calibrate(CalibrateArgs),
    /// Summarise a tag-only run (`tria run --tag-only`): writes OUT_DIR/filter-stats.{md,html,json}.
    Stats(StatsArgs),
}

#[derive(Args, Debug)]
pub struct CalibrateArgs {
    /// Reference text: a directory holding `<lang>.txt` (one document per line), else any files
    /// tria reads (WET, WARC, JSONL, Parquet) in it; or one such file.
    #[arg(long)]
    pub data: PathBuf,
    /// Language code (one of the 35).
    #[arg(long)]
    pub lang: String,
    /// Share of the reference a threshold may remove before it is loosened.
    #[arg(long, default_value_t = 0.01)]
    pub quantile: f64,
    /// Directory the settings file is written to.
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
    /// Input format when the names do not say it.
    #[arg(long, value_parser = super::parse_format)]
    pub format: Option<Format>,
    /// JSONL/Parquet field holding the text.
    #[arg(long, default_value = "text")]
    pub text_field: String,
    /// For a `.txt` of one sentence per line (as `../shared/data/lid`): N consecutive lines make
    /// one pseudo-document, so document-level statistics mean something. 1: a line is a document.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub lines_per_doc: u32,
    /// With --lines-per-doc: lines joined by spaces into one paragraph (a line of the document).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    pub lines_per_paragraph: u32,
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Output directory of a (tag-only) run.
    pub out_dir: PathBuf,
    /// No progress display and no summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

pub fn main(args: FiltersArgs) -> anyhow::Result<i32> {
    match args.command {
        FiltersCommand::Calibrate(a) => cmd_calibrate(a),
        FiltersCommand::Stats(a) => cmd_stats(a),
    }
}

/// `tria run --tag-only`: sets `tag_only = true` in every stage and re-resolves it (the manifest then
/// records it, so a tagged run and a real one never share an output directory). For the quality
/// stages that means measure and keep; for language ID (`kind = "lang"`) label every document
/// (`meta.lang`, `attrs.lang_score`, ...) and drop none for its `keep` list or `min_score`. A stage
/// kind added later must accept `tag_only` (or be skipped here) to run under `--tag-only`.
pub fn set_tag_only(config: &mut PipelineConfig) -> Result<(), ConfigError> {
    let PipelineConfig {
        source,
        base_dir,
        stages,
        ..
    } = config;
    for (i, stage) in stages.iter_mut().enumerate() {
        let mut table = stage.table.clone();
        table.insert("tag_only".into(), toml::Value::Boolean(true));
        let (table, settings) = crate::stages::resolve_settings(&stage.kind, table, base_dir)
            .map_err(|e| {
                ConfigError::new(
                    source.as_str(),
                    format!(
                        "[[stage]] #{} (kind = \"{}\") with --tag-only: {e}",
                        i + 1,
                        stage.kind
                    ),
                )
            })?;
        stage.table = table;
        stage.settings = settings;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// calibrate

fn cmd_calibrate(args: CalibrateArgs) -> anyhow::Result<i32> {
    let lang = args.lang.as_str();
    if !LANGUAGES.contains(&lang) {
        return Err(ConfigError::new(
            "<command line>",
            format!(
                "--lang `{lang}` is not one of the 35 languages ({})",
                LANGUAGES.join(" ")
            ),
        )
        .into());
    }
    if !(0.0..0.5).contains(&args.quantile) {
        return Err(ConfigError::new(
            "<command line>",
            format!("--quantile {} must be in [0, 0.5)", args.quantile),
        )
        .into());
    }
    let opts = ReadOptions {
        text_field: args.text_field.clone(),
        ..ReadOptions::default()
    };
    let (mut docs, sources, skipped) = reference_docs(&args.data, lang, args.format, &opts)?;
    if args.lines_per_doc > 1 {
        docs = docs
            .chunks(args.lines_per_doc as usize)
            .map(|c| {
                c.chunks(args.lines_per_paragraph as usize)
                    .map(|p| p.join(" "))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .collect();
    }
    if docs.is_empty() {
        return Err(ConfigError::new(
            args.data.display().to_string(),
            format!("no `{lang}` documents found (looked for {lang}.txt, then files tria reads)"),
        )
        .into());
    }
    let cal = calibrate(docs.iter().map(String::as_str), lang, args.quantile)
        .map_err(|e| ConfigError::new("<command line>", e.to_string()))?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let toml_path = args.out.join(format!("{lang}.toml"));
    write_atomic(&toml_path, cal.toml.as_bytes())
        .with_context(|| format!("writing {}", toml_path.display()))?;
    let md_path = args.out.join(format!("{lang}.calibration.md"));
    write_atomic(&md_path, cal.report.as_bytes())
        .with_context(|| format!("writing {}", md_path.display()))?;
    let report = json!({
        "lang": lang,
        "quantile": args.quantile,
        "lines_per_doc": args.lines_per_doc,
        "lines_per_paragraph": args.lines_per_paragraph,
        "documents": cal.docs,
        "skipped_other_lang": skipped,
        "sources": sources,
        "settings": toml_path.display().to_string(),
    });
    let json_path = args.out.join(format!("{lang}.calibration.json"));
    let bytes = serde_json::to_vec_pretty(&report).expect("JSON value serialises");
    write_atomic(&json_path, &bytes).with_context(|| format!("writing {}", json_path.display()))?;
    print!("{}", cal.report);
    eprintln!(
        "calibrated `{lang}` on {} documents (quantile {}){}",
        cal.docs,
        args.quantile,
        if skipped > 0 {
            format!("; {skipped} documents of other languages skipped")
        } else {
            String::new()
        }
    );
    eprintln!("  settings: {}", toml_path.display());
    eprintln!(
        "  use it:   [[stage]] kind = \"gopher_quality\"  settings = \"{}\"",
        args.out.display()
    );
    Ok(0)
}

/// The reference documents: `<dir>/<lang>.txt` or a `.txt` file (one document per line, empty lines
/// skipped), else every file tria reads below the directory (or the one file), skipping documents
/// whose `lang` says another language. Returns the texts, the sources read and the skipped count.
fn reference_docs(
    data: &Path,
    lang: &str,
    format: Option<Format>,
    opts: &ReadOptions,
) -> anyhow::Result<(Vec<String>, Vec<String>, u64)> {
    let txt = if data.is_dir() {
        Some(data.join(format!("{lang}.txt"))).filter(|p| p.is_file())
    } else {
        Some(data.to_path_buf()).filter(|p| p.extension().is_some_and(|e| e == "txt"))
    };
    if let Some(txt) = txt {
        let f = std::fs::File::open(&txt).with_context(|| format!("opening {}", txt.display()))?;
        let mut docs = Vec::new();
        for (i, line) in BufReader::new(f).lines().enumerate() {
            let line = line.with_context(|| format!("{}, line {}", txt.display(), i + 1))?;
            let t = line.trim();
            if !t.is_empty() {
                docs.push(t.to_string());
            }
        }
        return Ok((docs, vec![txt.display().to_string()], 0));
    }
    let files = if data.is_dir() {
        let mut v = Vec::new();
        walk(data, &mut v).with_context(|| format!("listing {}", data.display()))?;
        v.retain(|p| format.is_some() || Format::from_path(p).is_some());
        v
    } else if data.is_file() {
        vec![data.to_path_buf()]
    } else {
        return Err(ConfigError::new(
            data.display().to_string(),
            "--data is neither a directory nor a file",
        )
        .into());
    };
    let mut docs = Vec::new();
    let mut skipped = 0u64;
    let mut sources = Vec::new();
    for f in files {
        let reader = read::open(&f, format, opts).map_err(|e| anyhow::anyhow!("{e}"))?;
        for item in reader {
            let doc = match item {
                Ok(d) => d,
                Err(e) if e.is_fatal() => return Err(anyhow::anyhow!("{e}")),
                Err(_) => continue,
            };
            match doc.lang() {
                Some(l) if l != lang => skipped += 1,
                _ => docs.push(doc.text),
            }
        }
        sources.push(f.display().to_string());
    }
    Ok((docs, sources, skipped))
}

/// Every file below `dir`, sorted, skipping hidden entries.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for p in entries {
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_none_or(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if p.is_dir() {
            walk(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// stats

/// A quality stage of the run, rebuilt from its manifest entry.
struct RunStage {
    name: String,
    filter: QualityFilter,
}

/// Rebuilds the quality stages a run's manifest describes (the resolved settings minus the keys the
/// resolver added), and tells whether every one of them was tag-only.
fn stages_from_manifest(
    manifest: &Value,
    file: &str,
) -> Result<(Vec<RunStage>, bool), ConfigError> {
    let bad = |m: String| ConfigError::new(file, m);
    let stages = manifest["config"]["stages"]
        .as_array()
        .ok_or_else(|| bad("no `config.stages` list: not a tria run's manifest".into()))?;
    let mut out = Vec::new();
    let mut all_tag_only = true;
    for (i, s) in stages.iter().enumerate() {
        let kind = s["kind"]
            .as_str()
            .ok_or_else(|| bad(format!("stage #{}: no `kind`", i + 1)))?;
        if FilterKind::from_name(kind).is_none() {
            continue;
        }
        let name = s["name"].as_str().unwrap_or(kind).to_string();
        let mut settings = s["settings"].clone();
        if let Value::Object(o) = &mut settings {
            all_tag_only &= o.get("tag_only").and_then(Value::as_bool) == Some(true);
            o.remove("thresholds");
            o.remove("tag_only");
        }
        let table: toml::Table = serde_json::from_value(settings)
            .map_err(|e| bad(format!("stage `{name}`: settings: {e}")))?;
        let filter = QualityFilter::from_table(kind, &table)
            .map_err(|e| bad(format!("stage `{name}`: {e}")))?;
        out.push(RunStage { name, filter });
    }
    Ok((out, all_tag_only))
}

/// The output files of a run (not rejects, markers or temporaries), sorted.
fn run_outputs(dir: &Path, ext: &str) -> std::io::Result<Vec<PathBuf>> {
    let mut all = Vec::new();
    walk(dir, &mut all)?;
    let suffix = format!(".{ext}");
    Ok(all
        .into_iter()
        .filter(|p| {
            let rel = p.strip_prefix(dir).unwrap_or(p);
            let s = rel.to_string_lossy();
            !rel.starts_with("_rejects") && s.ends_with(&suffix) && !s.contains(TMP_SUFFIX)
        })
        .collect())
}

#[derive(Default)]
struct DropCounts {
    docs: u64,
    dropped: u64,
    /// (stage index, reason) -> documents whose first failing threshold it is.
    first: BTreeMap<(usize, &'static str), u64>,
}

/// The first threshold (stages in order, each stage's thresholds in order) the document fails: what
/// the runner would drop it for.
fn first_failure(stages: &[RunStage], doc: &Document) -> Option<(usize, &'static str)> {
    let lang = doc.lang().filter(|l| !l.is_empty());
    for (i, s) in stages.iter().enumerate() {
        for t in s.filter.thresholds(lang) {
            if let Some(&v) = doc.attrs.get(t.stat) {
                if t.violated(v) {
                    return Some((i, t.reason));
                }
            }
        }
    }
    None
}

fn cmd_stats(args: StatsArgs) -> anyhow::Result<i32> {
    let dir = &args.out_dir;
    let manifest_path = dir.join("manifest.json");
    let file = manifest_path.display().to_string();
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| {
        ConfigError::new(
            file.as_str(),
            format!("cannot read ({e}): is this a tria run's output directory?"),
        )
    })?;
    let manifest: Value = serde_json::from_str(&text)
        .map_err(|e| ConfigError::new(file.as_str(), format!("not JSON: {e}")))?;
    let (stages, all_tag_only) = stages_from_manifest(&manifest, &file)?;
    if stages.is_empty() {
        return Err(ConfigError::new(file, "the run has no quality stage to summarise").into());
    }
    if !all_tag_only && !args.quiet {
        eprintln!(
            "tria: warning: the run was not tag-only: its outputs hold only the documents every stage \
             kept, so the shares below describe those (rerun with `tria run --tag-only`)"
        );
    }
    let out_format: OutputFormat =
        serde_json::from_value(manifest["config"]["output"]["format"].clone()).unwrap_or_default();
    let in_format = match out_format {
        OutputFormat::Parquet => Format::Parquet,
        OutputFormat::Jsonl | OutputFormat::JsonlZst => Format::Jsonl,
    };
    let files = run_outputs(dir, out_format.extension())
        .with_context(|| format!("listing {}", dir.display()))?;

    let filters: Vec<QualityFilter> = stages.iter().map(|s| s.filter.clone()).collect();
    let mut builder = SummaryBuilder::new(&filters);
    let mut counts: BTreeMap<String, DropCounts> = BTreeMap::new();
    let mut total = 0u64;
    let progress = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_message("reading documents");
        pb
    });
    let opts = ReadOptions::default();
    for f in &files {
        let reader = read::open(f, Some(in_format), &opts).map_err(|e| anyhow::anyhow!("{e}"))?;
        for (i, item) in reader.enumerate() {
            let doc = item.map_err(|e| anyhow::anyhow!("{}, record {i}: {e}", f.display()))?;
            total += 1;
            if let Some(pb) = &progress {
                if total % 4096 == 0 {
                    pb.set_message(format!("{total} documents"));
                    pb.tick();
                }
            }
            let lang = doc.lang().filter(|l| !l.is_empty());
            builder.add(lang, doc.attrs.iter().map(|(k, v)| (k.as_str(), *v)));
            let c = counts.entry(lang.unwrap_or("und").to_string()).or_default();
            c.docs += 1;
            if let Some(key) = first_failure(&stages, &doc) {
                c.dropped += 1;
                *c.first.entry(key).or_default() += 1;
            }
        }
    }
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    let summary = builder.finish();

    // What a real run with these thresholds drops, per language and in all.
    let mut md = summary.to_markdown();
    let mut table = String::new();
    let _ = writeln!(
        md,
        "\n# What a run with these thresholds drops\n\n\
         Each document counts once, for the first threshold it fails (stages in order), as `tria run` \
         reports drops.\n\n| language | documents | dropped | stage | reason | documents | share |\n\
         |---|---:|---:|---|---|---:|---:|"
    );
    table.push_str(
        "<h1 id=\"drops\">What a run with these thresholds drops</h1>\n<p>Each document counts once, \
         for the first threshold it fails (stages in order), as <code>tria run</code> reports drops.</p>\n\
         <table><tr><th>language</th><th>stage</th><th>reason</th><th>documents</th><th>share</th></tr>\n",
    );
    let mut json_langs = serde_json::Map::new();
    let mut all_drops: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
    for (code, c) in &counts {
        let share = |n: u64| {
            if c.docs == 0 {
                0.0
            } else {
                100.0 * n as f64 / c.docs as f64
            }
        };
        let _ = writeln!(
            md,
            "| {code} | {} | {} ({:.2} %) | | | | |",
            c.docs,
            c.dropped,
            share(c.dropped)
        );
        let mut drops: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
        for (&(i, reason), &n) in &c.first {
            let stage = stages[i].name.as_str();
            let _ = writeln!(
                md,
                "| | | | {stage} | `{reason}` | {n} | {:.2} % |",
                share(n)
            );
            let _ = writeln!(
                table,
                "<tr><td>{code}</td><td>{stage}</td><td>{reason}</td><td>{n}</td><td>{:.2} %</td></tr>",
                share(n)
            );
            *drops.entry(stage).or_default().entry(reason).or_default() += n;
            *all_drops
                .entry(stage)
                .or_default()
                .entry(reason)
                .or_default() += n;
        }
        let thresholds: Vec<Value> = summary
            .langs
            .get(code)
            .map(|l| {
                l.stats
                    .values()
                    .flat_map(|s| {
                        s.thresholds.iter().map(move |(t, share)| {
                            json!({
                                "stat": t.stat,
                                "bound": match t.bound { Bound::Min => "min", Bound::Max => "max" },
                                "value": t.value,
                                "reason": t.reason,
                                "documents_with_stat": s.n,
                                "share_removed": share,
                            })
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        json_langs.insert(
            code.clone(),
            json!({"documents": c.docs, "dropped": c.dropped, "drops": drops, "thresholds": thresholds}),
        );
    }
    table.push_str("</table>\n");
    let dropped: u64 = counts.values().map(|c| c.dropped).sum();
    let mut html = summary.to_html();
    match html.rfind("</body>") {
        Some(at) => html.insert_str(at, &table),
        None => html.push_str(&table),
    }
    let report = json!({
        "run": dir.display().to_string(),
        "tag_only": all_tag_only,
        "files": files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
        "documents": total,
        "dropped": dropped,
        "stages": stages.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        "drops": all_drops,
        "langs": json_langs,
    });
    for (name, bytes) in [
        ("filter-stats.md", md.into_bytes()),
        ("filter-stats.html", html.into_bytes()),
        (
            "filter-stats.json",
            serde_json::to_vec_pretty(&report).expect("JSON value serialises"),
        ),
    ] {
        let p = dir.join(name);
        write_atomic(&p, &bytes).with_context(|| format!("writing {}", p.display()))?;
    }
    if !args.quiet {
        eprintln!(
            "filter stats: {total} documents in {} files, {} languages; {dropped} ({:.2} %) fail a threshold",
            files.len(),
            counts.len(),
            if total == 0 {
                0.0
            } else {
                100.0 * dropped as f64 / total as f64
            }
        );
        for stage in &stages {
            if let Some(d) = all_drops.get(stage.name.as_str()) {
                let parts: Vec<String> = d.iter().map(|(r, n)| format!("{r} {n}")).collect();
                eprintln!("  {}: {}", stage.name, parts.join(", "));
            }
        }
        eprintln!("  wrote {}/filter-stats.{{md,html,json}}", dir.display());
    }
    Ok(0)
}
