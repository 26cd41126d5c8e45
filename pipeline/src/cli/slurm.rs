//! `tria run ... --executor slurm` and `tria status RUN_DIR`.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::RunArgs;
use crate::config::{ConfigError, PipelineConfig};
use crate::slurm::{self, SlurmOptions, StepTasks};
use crate::status;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Executor {
    /// Run here (all steps in order, or the one task --step/--ranks/--rank names).
    #[default]
    Local,
    /// Write sbatch job arrays (one task per rank) under OUT/.tria/slurm and submit them.
    Slurm,
}

/// Where and how the run executes.
#[derive(Args, Debug, Default)]
pub struct ExecArgs {
    /// `local`, or `slurm`: submit every step as job arrays of --ranks tasks, chained with afterok.
    #[arg(long, value_enum, default_value_t = Executor::Local)]
    pub executor: Executor,
    /// Slurm: ranks one array element runs one after another (fewer, longer jobs).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub ranks_per_task: u64,
    /// Slurm: partition (sbatch --partition).
    #[arg(long)]
    pub partition: Option<String>,
    /// Slurm: account to charge (sbatch --account).
    #[arg(long)]
    pub account: Option<String>,
    /// Slurm: quality of service (sbatch --qos).
    #[arg(long)]
    pub qos: Option<String>,
    /// Slurm: wall-clock limit of one array element (sbatch --time, e.g. 2:00:00).
    #[arg(long)]
    pub time: Option<String>,
    /// Slurm: CPUs of one array element; each rank then runs that many threads.
    #[arg(long)]
    pub cpus_per_task: Option<usize>,
    /// Slurm: memory of one array element (sbatch --mem, e.g. 8G).
    #[arg(long)]
    pub mem: Option<String>,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// The run's output directory.
    pub run_dir: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The steps of the pipeline for `ranks` ranks (`tria::steps::plan`).
pub fn plan_steps(config: &PipelineConfig, ranks: usize) -> Vec<StepTasks> {
    crate::steps::plan(config, ranks)
        .into_iter()
        .map(|s| StepTasks {
            name: s.name.to_string(),
            tasks: s.tasks,
            after: s.after.map(String::from),
        })
        .collect()
}

fn usage(message: impl Into<String>) -> anyhow::Error {
    ConfigError::new("<command line>", message).into()
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The command every rank runs, before `--step`: this binary, `run`, the pipeline and the flags
/// that change what runs, all paths absolute (jobs start in another directory, on another node).
fn rank_command(args: &RunArgs, config: &PipelineConfig) -> anyhow::Result<Vec<String>> {
    let exe = std::env::current_exe()
        .map_err(|e| anyhow::anyhow!("cannot tell the path of the tria binary: {e}"))?;
    let s = |p: &Path| p.to_string_lossy().to_string();
    let mut cmd = vec![s(&absolute(&exe)), "run".to_string()];
    if let Some(p) = &args.pipeline {
        cmd.push(s(&absolute(p)));
    }
    if !args.input.is_empty() {
        // run_config made them absolute.
        cmd.push("--input".into());
        cmd.extend(config.input.paths.iter().cloned());
    }
    if args.output.is_some() {
        cmd.push("--output".into());
        cmd.push(config.output.dir.clone());
    }
    if let Some(f) = args.format {
        cmd.push("--format".into());
        cmd.push(f.name().into());
    }
    if let Some(f) = args.output_format {
        cmd.push("--output-format".into());
        cmd.push(f.extension().into());
    }
    if args.tag_only {
        cmd.push("--tag-only".into());
    }
    Ok(cmd)
}

/// `tria run ... --executor slurm`: checks everything, writes the scripts, submits.
pub fn cmd_submit(args: &RunArgs) -> anyhow::Result<i32> {
    let Some(ranks) = args.ranks else {
        return Err(usage(
            "--executor slurm needs --ranks R (the number of tasks per step)",
        ));
    };
    if ranks == 0 {
        return Err(usage("--ranks must be at least 1"));
    }
    if args.rank.is_some() {
        return Err(usage(
            "--rank runs one task here; with --executor slurm every rank is submitted",
        ));
    }
    if args.force {
        return Err(usage(
            "--force is not supported with --executor slurm: remove the output directory to start over",
        ));
    }
    let config = super::run_config(args)?;
    // Everything the tasks need is checked (inputs exist, stages build, the output is writable,
    // dedup settings, tokenizer, model) before anything is submitted.
    crate::steps::check(&config)?;
    let layout = crate::steps::Layout::of(&config);
    crate::run::plan(crate::steps::filter_config(&config, &layout))?;
    let out_dir = absolute(&layout.out);
    let steps = plan_steps(&config, ranks);
    let command = rank_command(args, &config)?;
    let e = &args.exec;
    let options = SlurmOptions {
        ranks,
        ranks_per_task: usize::try_from(e.ranks_per_task).unwrap_or(usize::MAX),
        partition: e.partition.clone(),
        account: e.account.clone(),
        qos: e.qos.clone(),
        time: e.time.clone(),
        cpus_per_task: e.cpus_per_task,
        mem: e.mem.clone(),
    };
    let is_done =
        |s: &StepTasks, r: usize| crate::steps::is_task_done(&out_dir, &s.name, r, s.tasks);
    // Every task gets the run's R; a step with one task runs it as rank 0.
    let cli_ranks = |_: &StepTasks| ranks;
    let sub = slurm::submit(&slurm::Request {
        out_dir: &out_dir,
        steps: &steps,
        command: &command,
        options: &options,
        is_done: &is_done,
        cli_ranks: &cli_ranks,
        submit: !args.dry_run,
    })?;
    let tasks: usize = sub.steps.iter().map(|s| s.ranks().len()).sum();
    if sub.steps.is_empty() {
        println!(
            "every task of every step is complete ({}): nothing submitted",
            out_dir.display()
        );
        return Ok(0);
    }
    if args.dry_run {
        println!(
            "dry run: submission {} written to {} ({tasks} tasks), not submitted:",
            sub.number,
            slurm::slurm_dir(&out_dir).display()
        );
    } else {
        println!(
            "submitted {tasks} tasks as jobs {} (submission {}):",
            sub.job_ids().join(", "),
            sub.number
        );
    }
    print!("{}", slurm::describe(&sub));
    println!(
        "watch:  tria status {}\nlogs:   {}/<step>/<rank>-of-<tasks>.log\nresume: run this same command again (only tasks without a marker are submitted)",
        out_dir.display(),
        out_dir.join(".tria/logs").display()
    );
    Ok(0)
}

/// `tria status RUN_DIR`: exit 0 when nothing failed, 1 when some task failed.
pub fn cmd_status(args: StatusArgs) -> anyhow::Result<i32> {
    if !args.run_dir.join(".tria").is_dir() {
        return Err(usage(format!(
            "{}: not a tria output directory (no .tria inside)",
            args.run_dir.display()
        )));
    }
    let st = status::status(&args.run_dir);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&st).expect("plain data serialises")
        );
    } else {
        print!("{}", status::render(&st));
    }
    Ok(if st.failed() > 0 { 1 } else { 0 })
}
