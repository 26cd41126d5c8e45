//! `tria lid`: language identification from the command line (predict, eval, train).
//!
//! Exit codes follow the rest of the CLI: 0 success, 1 an input could not be read or written,
//! 2 bad usage (unknown or unloadable `--model`, a backend not compiled in, an invalid `--k` or
//! training configuration).

use std::fs::File;
use std::io::{BufReader, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use tria_filters::lang::charlm::CharLm;
use tria_filters::lang::train::{TrainConfig, TrainReport, char_lm_path, record_path};
use tria_filters::lang::{Backend, LangError, LangId};

use crate::config::ConfigError;
use crate::write::write_atomic;

/// The number of labels a model can rank (tria's 35 languages and `other`).
const LABELS: usize = 36;

#[derive(Args, Debug)]
pub struct LidArgs {
    #[command(subcommand)]
    pub command: LidCommand,
}

#[derive(Subcommand, Debug)]
pub enum LidCommand {
    /// Print `<label>\t<probability>` for every input line (exactly one output line per input line).
    Predict(PredictArgs),
    /// Accuracy on a directory of `<label>.txt` files: per label, {hr,sh} group, macro, speed.
    Eval(EvalArgs),
    /// Train a fastText-format model from a directory of `<label>.txt` files (deterministic).
    Train(TrainArgs),
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// Backend: builtin, a fastText .bin/.ftz path, a model directory like filters/models
    /// (lid-tria.ftz and lid-tria.<group>.ftz/.clm), lingua, lingua-low or whatlang.
    #[arg(long, default_value = "builtin")]
    pub model: String,
    /// Labels per line, best first (tab-separated `<label>\t<probability>` pairs).
    #[arg(long, short = 'k', default_value_t = 1)]
    pub k: usize,
    /// Read lines from this file instead of standard input.
    #[arg(long, short = 'i')]
    pub input: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Directory of `<label>.txt` files (one sentence per line; `extra/<label>.*.txt` added).
    #[arg(long)]
    pub data: PathBuf,
    /// Backend: builtin, a fastText .bin/.ftz path, a model directory like filters/models
    /// (lid-tria.ftz and lid-tria.<group>.ftz/.clm), lingua, lingua-low or whatlang.
    #[arg(long, default_value = "builtin")]
    pub model: String,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Evaluate only the trainer's held-out split for this share (per thousand; the built-in
    /// model was trained with 50), i.e. lines a model trained on DIR never saw.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub valid_permille: Option<u32>,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Directory of `<label>.txt` files (one sentence per line; `extra/<label>.*.txt` added).
    #[arg(long)]
    pub data: PathBuf,
    /// The model file to write (fastText format: `.ftz` when quantized, else `.bin`).
    #[arg(long)]
    pub out: PathBuf,
    /// Hyper-parameters (TOML, or JSON for a `.json` file; keys of `TrainConfig`, e.g. `labels` for
    /// a second-stage group model; missing keys take the built-in model's values).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Retrain even if MODEL was already trained from the same data and configuration.
    #[arg(long)]
    pub force: bool,
    /// No spinner and no summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

pub fn cmd_lid(args: LidArgs) -> anyhow::Result<i32> {
    match args.command {
        LidCommand::Predict(a) => cmd_predict(a),
        LidCommand::Eval(a) => cmd_eval(a),
        LidCommand::Train(a) => cmd_train(a),
    }
}

/// Builds the identifier named by `--model`; every failure is a usage error (exit 2).
pub fn load_model(spec: &str) -> Result<LangId, ConfigError> {
    let backend = Backend::parse(spec);
    let missing = match backend {
        Backend::Lingua | Backend::LinguaLow if !cfg!(feature = "lingua") => Some("lingua"),
        Backend::Whatlang if !cfg!(feature = "whatlang") => Some("whatlang"),
        _ => None,
    };
    if let Some(feature) = missing {
        return Err(ConfigError::new(
            "--model",
            format!(
                "the `{spec}` backend is not compiled into this tria; build it with \
                 `cargo build --release -p tria --features {feature}` (or `cargo install --path pipeline --features {feature}`)"
            ),
        ));
    }
    if let Backend::FastText(path) = &backend {
        if !path.is_file() && !path.is_dir() {
            return Err(ConfigError::new(
                spec,
                "no such model file (--model takes builtin, lingua, lingua-low, whatlang, the path of a fastText .bin/.ftz file, or a directory laid out like filters/models)",
            ));
        }
    }
    LangId::new(&backend).map_err(|e| match e {
        LangError::Model { path, reason } => {
            ConfigError::new(path, format!("cannot load the model: {reason}"))
        }
        other => ConfigError::new("--model", other.to_string()),
    })
}

fn is_broken_pipe(e: &LangError) -> bool {
    matches!(e, LangError::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
}

fn cmd_predict(args: PredictArgs) -> anyhow::Result<i32> {
    if args.k == 0 || args.k > LABELS {
        return Err(ConfigError::new(
            "--k",
            format!("must be between 1 and {LABELS}, not {}", args.k),
        )
        .into());
    }
    let id = load_model(&args.model)?;
    let stdout = std::io::stdout();
    let out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let result = match &args.input {
        Some(path) => {
            let f = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
            let what = path.display().to_string();
            tria_filters::lang::predict_lines(
                &id,
                BufReader::with_capacity(1 << 16, f),
                out,
                args.k,
                &what,
            )
        }
        None => {
            let stdin = std::io::stdin();
            tria_filters::lang::predict_lines(&id, stdin.lock(), out, args.k, "<stdin>")
        }
    };
    match result {
        Ok(_) => Ok(0),
        // `tria lid predict ... | head`: the reader has what it wanted.
        Err(e) if is_broken_pipe(&e) => Ok(0),
        Err(e) => Err(e.into()),
    }
}

fn cmd_eval(args: EvalArgs) -> anyhow::Result<i32> {
    let id = load_model(&args.model)?;
    if !args.data.is_dir() {
        return Err(ConfigError::new(
            args.data.display().to_string(),
            "--data must be a directory of <label>.txt files",
        )
        .into());
    }
    let report = tria_filters::lang::eval_dir(&id, &args.data, args.valid_permille)?;
    if report.lines == 0 {
        anyhow::bail!(
            "{}: no lines to evaluate{}",
            args.data.display(),
            if args.valid_permille.is_some() {
                " in the held-out split"
            } else {
                ""
            }
        );
    }
    print!("{}", report.to_text());
    if let Some(j) = &args.json {
        let mut bytes = serde_json::to_vec_pretty(&report)?;
        bytes.push(b'\n');
        write_atomic(j, &bytes).with_context(|| format!("{}: cannot write", j.display()))?;
    }
    Ok(0)
}

/// What `tria lid train` writes next to the model (`MODEL.json`): enough to skip a rerun with the
/// same inputs, and to see what the model is.
#[derive(Serialize, Deserialize, Debug)]
struct TrainRecord {
    tool: String,
    data: String,
    /// `(file name, bytes)` of every data file, sorted: a change in the data retrains.
    data_files: Vec<(String, u64)>,
    config: TrainConfig,
    model_bytes: u64,
    /// Size of the character language model written next to the model (`char_lm_order` > 0).
    #[serde(default)]
    char_lm_bytes: Option<u64>,
    report: TrainReport,
}

/// The data files `read_corpus` reads, with their sizes.
fn data_fingerprint(dir: &Path) -> anyhow::Result<Vec<(String, u64)>> {
    let mut v = Vec::new();
    for (sub, prefix) in [(dir.to_path_buf(), ""), (dir.join("extra"), "extra/")] {
        let rd = match std::fs::read_dir(&sub) {
            Ok(rd) => rd,
            Err(e) if !prefix.is_empty() && e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("{}: cannot list", sub.display())),
        };
        for ent in rd {
            let ent = ent.with_context(|| format!("{}: cannot list", sub.display()))?;
            let name = ent.file_name().to_string_lossy().to_string();
            if !name.ends_with(".txt") {
                continue;
            }
            let len = ent
                .metadata()
                .with_context(|| format!("{}: cannot stat", ent.path().display()))?
                .len();
            v.push((format!("{prefix}{name}"), len));
        }
    }
    v.sort();
    Ok(v)
}

fn load_train_config(path: Option<&Path>) -> Result<TrainConfig, ConfigError> {
    let Some(path) = path else {
        return Ok(TrainConfig::default());
    };
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(&name, format!("cannot read: {e}")))?;
    // TOML, or JSON for a `.json` file (as `bench/lid/*.json`, the built-in models' configurations).
    let cfg: TrainConfig = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).map_err(|e| ConfigError::new(&name, e.to_string()))?
    } else {
        toml::from_str(&text).map_err(|e| ConfigError::new(&name, e.to_string()))?
    };
    cfg.validate()
        .map_err(|e| ConfigError::new(&name, e.to_string()))?;
    Ok(cfg)
}

fn cmd_train(args: TrainArgs) -> anyhow::Result<i32> {
    let cfg = load_train_config(args.config.as_deref())?;
    if !args.data.is_dir() {
        return Err(ConfigError::new(
            args.data.display().to_string(),
            "--data must be a directory of <label>.txt files",
        )
        .into());
    }
    let fingerprint = data_fingerprint(&args.data)?;
    let rec_path = record_path(&args.out);
    let data_name = args.data.display().to_string();
    let up_to_date = !args.force
        && std::fs::read_to_string(&rec_path)
            .ok()
            .and_then(|text| serde_json::from_str::<TrainRecord>(&text).ok())
            .is_some_and(|old| {
                let size = |p: &Path| std::fs::metadata(p).ok().map(|m| m.len());
                old.config == cfg
                    && old.data_files == fingerprint
                    && size(&args.out) == Some(old.model_bytes)
                    && (cfg.char_lm_order == 0
                        || size(&char_lm_path(&args.out)) == old.char_lm_bytes)
            });
    if up_to_date {
        if !args.quiet {
            eprintln!(
                "{}: already trained from this data and configuration (see {}); --force retrains",
                args.out.display(),
                rec_path.display()
            );
        }
        return Ok(0);
    }
    let spinner = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let s = indicatif::ProgressBar::new_spinner();
        s.set_message(format!(
            "training on {} ({} epochs, dim {})",
            data_name, cfg.epochs, cfg.dim
        ));
        s.enable_steady_tick(Duration::from_millis(200));
        s
    });
    let trained = tria_filters::lang::train::train_dir(&args.data, &cfg).and_then(|(m, r)| {
        let lm = if cfg.char_lm_order > 0 {
            let corpus = tria_filters::lang::train::read_corpus(&args.data)?;
            Some(CharLm::train(&corpus, &cfg)?)
        } else {
            None
        };
        Ok((m, lm, r))
    });
    if let Some(s) = &spinner {
        s.finish_and_clear();
    }
    let (model, lm, report) = match trained {
        Ok(r) => r,
        Err(e @ LangError::Config(_)) => {
            return Err(ConfigError::new(data_name, e.to_string()).into());
        }
        Err(e) => return Err(e.into()),
    };
    let bytes = model.to_bytes();
    write_atomic(&args.out, &bytes)
        .with_context(|| format!("{}: cannot write", args.out.display()))?;
    let lm_bytes = match &lm {
        Some(lm) => {
            let p = char_lm_path(&args.out);
            let b = lm.to_bytes();
            write_atomic(&p, &b).with_context(|| format!("{}: cannot write", p.display()))?;
            Some(b.len() as u64)
        }
        None => None,
    };
    let record = TrainRecord {
        tool: format!("tria {}", env!("CARGO_PKG_VERSION")),
        data: data_name,
        data_files: fingerprint,
        config: cfg,
        model_bytes: bytes.len() as u64,
        char_lm_bytes: lm_bytes,
        report,
    };
    let mut json = serde_json::to_vec_pretty(&record)?;
    json.push(b'\n');
    write_atomic(&rec_path, &json)
        .with_context(|| format!("{}: cannot write", rec_path.display()))?;
    if !args.quiet {
        let r = &record.report;
        let train: usize = r.train_lines.iter().map(|(_, n)| n).sum();
        let valid: usize = r.valid_lines.iter().map(|(_, n)| n).sum();
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "trained {} labels on {} lines ({} examples/epoch, {} words) in {:.1} s\n  \
             held-out accuracy {:.2} % on {} lines\n  model: {} ({} bytes)\n  report: {}",
            r.train_lines.len(),
            train,
            r.examples_per_epoch,
            r.words,
            r.seconds,
            100.0 * r.valid_accuracy,
            valid,
            args.out.display(),
            record.model_bytes,
            rec_path.display()
        );
        if let Some(n) = record.char_lm_bytes {
            let _ = writeln!(
                err,
                "  character language model: {} ({n} bytes)",
                char_lm_path(&args.out).display()
            );
        }
    }
    Ok(0)
}
