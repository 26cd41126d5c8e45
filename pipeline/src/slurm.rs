//! The Slurm executor: a pipeline's steps as sbatch job arrays chained with `afterok`.
//!
//! tria keeps no cluster of its own: every array element runs `tria run FILE --step STEP --ranks R
//! --rank I` (the same binary and pipeline, by absolute path) and the state lives in files on the
//! shared filesystem, so a rerun submits only what has no rank marker yet. Layout under the output
//! directory:
//! ```text
//! .tria/slurm/run.json                  the run: ranks, steps and task counts (read by `tria status`)
//! .tria/slurm/<NNN>.json                submission NNN: per step, its array elements, job ids, dependency
//! .tria/slurm/<NNN>-<step>.sbatch       the batch script of a step (one per step and submission)
//! .tria/slurm/<NNN>-<step>.ranks        line e: the ranks array element e runs, one after another
//! .tria/logs/<step>/<rank>-of-<R>.log   one log per rank, appended across attempts
//! .tria/logs/<step>/slurm-<job>_<i>.out what Slurm itself prints for an element (normally empty)
//! ```
//! Each attempt in a rank's log is framed by a `tria-task-start ...` line and a
//! `tria-task-exit <code>` line (see [`LOG_START`], [`LOG_EXIT`]); `tria status` reads them.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

/// First word of the line an array element writes to a rank's log before running it.
pub const LOG_START: &str = "tria-task-start";
/// First word of the line written after the rank's command ends, followed by its exit code.
pub const LOG_EXIT: &str = "tria-task-exit";

/// Slurm's default `MaxArraySize` (array indices must be below it).
pub const DEFAULT_MAX_ARRAY_SIZE: usize = 1001;

#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    #[error("`{0}` was not found: the Slurm executor needs Slurm's client commands on PATH")]
    Missing(String),
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "jobs {0} of the previous submission are still queued or running: wait for them (`tria status`) or `scancel` them before submitting again"
    )]
    StillQueued(String),
    #[error("sbatch answered `{0}`, not a job id")]
    BadAnswer(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SlurmError + '_ {
    move |source| SlurmError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One step of the run as the executor sees it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StepTasks {
    pub name: String,
    /// Tasks of the step (ranks `0..tasks`).
    pub tasks: usize,
    /// The step whose outputs this one reads.
    pub after: Option<String>,
}

/// sbatch settings from the command line; `None` leaves the cluster's default.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct SlurmOptions {
    pub ranks: usize,
    /// Ranks one array element runs one after another (1: one element per rank).
    pub ranks_per_task: usize,
    pub partition: Option<String>,
    pub account: Option<String>,
    pub qos: Option<String>,
    /// Wall-clock limit of one array element (`--time`, e.g. `4:00:00`).
    pub time: Option<String>,
    pub cpus_per_task: Option<usize>,
    /// Memory of one array element (`--mem`, e.g. `8G`).
    pub mem: Option<String>,
}

/// One sbatch job array of a step: elements `offset..offset+len` of the step's `.ranks` file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ArrayJob {
    pub offset: usize,
    pub len: usize,
    /// The `--array` value (`0-<len-1>`).
    pub spec: String,
    /// Slurm's job id once submitted.
    pub job_id: Option<String>,
}

/// What one step submits.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StepJob {
    pub step: String,
    pub tasks: usize,
    /// The ranks of each array element (only ranks without a marker).
    pub elements: Vec<Vec<usize>>,
    pub script: PathBuf,
    pub ranks_file: PathBuf,
    pub arrays: Vec<ArrayJob>,
    /// Job ids this step waits for (`--dependency=afterok:...`).
    pub after_ok: Vec<String>,
}

impl StepJob {
    /// Every rank this step runs, in order.
    pub fn ranks(&self) -> Vec<usize> {
        self.elements.iter().flatten().copied().collect()
    }
    pub fn job_ids(&self) -> Vec<String> {
        self.arrays
            .iter()
            .filter_map(|a| a.job_id.clone())
            .collect()
    }
}

/// One `tria run --executor slurm` invocation.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Submission {
    pub number: usize,
    pub options: SlurmOptions,
    pub max_array_size: usize,
    /// Steps with work to do, in order.
    pub steps: Vec<StepJob>,
    /// Steps whose every task already has its marker (not submitted).
    pub complete: Vec<String>,
    /// False for a dry run (scripts written, nothing submitted).
    pub submitted: bool,
}

impl Submission {
    pub fn job_ids(&self) -> Vec<String> {
        self.steps.iter().flat_map(StepJob::job_ids).collect()
    }
}

/// `.tria/slurm/run.json`: what `tria status` needs to know about the run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunRecord {
    pub ranks: usize,
    pub steps: Vec<StepTasks>,
    /// The command each rank runs, before `--step/--ranks/--rank`.
    pub command: Vec<String>,
    /// The latest submission's number.
    pub submission: usize,
}

pub fn slurm_dir(out_dir: &Path) -> PathBuf {
    out_dir.join(".tria/slurm")
}

/// `OUT/.tria/logs/<step>`.
pub fn log_dir(out_dir: &Path, step: &str) -> PathBuf {
    out_dir.join(".tria/logs").join(step)
}

/// The log of task `rank` of `tasks` of `step`.
pub fn rank_log(out_dir: &Path, step: &str, rank: usize, tasks: usize) -> PathBuf {
    log_dir(out_dir, step).join(format!("{rank}-of-{tasks}.log"))
}

/// Reads `run.json`, if the run was ever submitted to Slurm.
pub fn read_run_record(out_dir: &Path) -> Option<RunRecord> {
    let bytes = fs::read(slurm_dir(out_dir).join("run.json")).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The submissions recorded so far, oldest first.
pub fn read_submissions(out_dir: &Path) -> Vec<Submission> {
    let dir = slurm_dir(out_dir);
    let mut found: Vec<(usize, PathBuf)> = fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            let n = p
                .file_name()?
                .to_str()?
                .strip_suffix(".json")?
                .parse::<usize>()
                .ok()?;
            Some((n, p))
        })
        .collect();
    found.sort();
    found
        .into_iter()
        .filter_map(|(_, p)| serde_json::from_slice(&fs::read(p).ok()?).ok())
        .collect()
}

/// Quotes a word for bash (single quotes).
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Groups the pending ranks into array elements of `per` ranks each.
pub fn elements(pending: &[usize], per: usize) -> Vec<Vec<usize>> {
    pending.chunks(per.max(1)).map(<[usize]>::to_vec).collect()
}

/// Splits `n` elements into arrays whose indices stay below `max_array_size`.
pub fn split_arrays(n: usize, max_array_size: usize) -> Vec<ArrayJob> {
    let size = max_array_size.max(1);
    (0..n)
        .step_by(size)
        .map(|offset| {
            let len = size.min(n - offset);
            ArrayJob {
                offset,
                len,
                spec: if len == 1 {
                    "0".to_string()
                } else {
                    format!("0-{}", len - 1)
                },
                job_id: None,
            }
        })
        .collect()
}

/// The batch script of one step. `command` is the rank command before `--step`; array element
/// `SLURM_ARRAY_TASK_ID + $1` runs the ranks on that line of `ranks_file`, each logged to its own
/// file between a start and an exit line.
pub fn batch_script(
    out_dir: &Path,
    step: &StepTasks,
    cli_ranks: usize,
    command: &[String],
    ranks_file: &Path,
    opts: &SlurmOptions,
    submission: usize,
) -> String {
    let q = |p: &Path| shell_quote(&p.to_string_lossy());
    let logs = log_dir(out_dir, &step.name);
    let mut s = String::new();
    let _ = writeln!(s, "#!/bin/bash");
    let _ = writeln!(
        s,
        "# tria: step `{}` ({} tasks) of {}, submission {submission}.",
        step.name,
        step.tasks,
        out_dir.display()
    );
    let _ = writeln!(
        s,
        "# Written by `tria run --executor slurm`; submitted as one or more arrays, the element offset as $1."
    );
    let _ = writeln!(s, "#SBATCH --job-name=tria-{}", step.name);
    let _ = writeln!(
        s,
        "#SBATCH --output={}",
        logs.join("slurm-%A_%a.out").display()
    );
    let _ = writeln!(s, "#SBATCH --open-mode=append");
    let _ = writeln!(s, "#SBATCH --ntasks=1");
    if let Some(v) = &opts.partition {
        let _ = writeln!(s, "#SBATCH --partition={v}");
    }
    if let Some(v) = &opts.account {
        let _ = writeln!(s, "#SBATCH --account={v}");
    }
    if let Some(v) = &opts.qos {
        let _ = writeln!(s, "#SBATCH --qos={v}");
    }
    if let Some(v) = &opts.time {
        let _ = writeln!(s, "#SBATCH --time={v}");
    }
    if let Some(v) = opts.cpus_per_task {
        let _ = writeln!(s, "#SBATCH --cpus-per-task={v}");
    }
    if let Some(v) = &opts.mem {
        let _ = writeln!(s, "#SBATCH --mem={v}");
    }
    let cmd: Vec<String> = command.iter().map(|w| shell_quote(w)).collect();
    let _ = write!(
        s,
        r#"set -u
LOGS={logs}
RANKS_FILE={ranks_file}
ELEMENT=$(( ${{SLURM_ARRAY_TASK_ID:-0}} + ${{1:-0}} ))
MINE=$(sed -n "$(( ELEMENT + 1 ))p" "$RANKS_FILE")
if [ -z "$MINE" ]; then
    echo "tria: array element $ELEMENT has no line in $RANKS_FILE" >&2
    exit 2
fi
mkdir -p "$LOGS"
STOP=
trap 'STOP=1' TERM INT
CODE=0
for RANK in $MINE; do
    LOG="$LOGS/$RANK-of-{tasks}.log"
    echo "{start} job=${{SLURM_ARRAY_JOB_ID:-${{SLURM_JOB_ID:-}}}}_${{SLURM_ARRAY_TASK_ID:-}} host=$(hostname) at=$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$LOG"
    {cmd} --step {step} --ranks {cli_ranks} --rank "$RANK" --threads "${{SLURM_CPUS_PER_TASK:-1}}" </dev/null >>"$LOG" 2>&1
    C=$?
    echo "{exit} $C" >>"$LOG"
    if [ "$C" -ne 0 ]; then CODE=$C; fi
    if [ -n "$STOP" ]; then break; fi
done
exit $CODE
"#,
        logs = q(&logs),
        ranks_file = q(ranks_file),
        tasks = step.tasks,
        start = LOG_START,
        exit = LOG_EXIT,
        cmd = cmd.join(" "),
        step = shell_quote(&step.name),
    );
    s
}

/// Reads `MaxArraySize` from `scontrol show config` (the default when it cannot be read).
pub fn max_array_size() -> usize {
    let Ok(out) = Command::new("scontrol").args(["show", "config"]).output() else {
        return DEFAULT_MAX_ARRAY_SIZE;
    };
    parse_max_array_size(&String::from_utf8_lossy(&out.stdout)).unwrap_or(DEFAULT_MAX_ARRAY_SIZE)
}

/// The `MaxArraySize = N` line of `scontrol show config`.
pub fn parse_max_array_size(config: &str) -> Option<usize> {
    config.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == "MaxArraySize")
            .then(|| v.trim().parse().ok())
            .flatten()
    })
}

fn run_command(cmd: &mut Command) -> Result<String, SlurmError> {
    let program = cmd.get_program().to_string_lossy().to_string();
    let shown = std::iter::once(program.clone())
        .chain(cmd.get_args().map(|a| a.to_string_lossy().to_string()))
        .collect::<Vec<_>>()
        .join(" ");
    let out = cmd.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            SlurmError::Missing(program)
        } else {
            SlurmError::Command {
                command: shown.clone(),
                status: "not started".into(),
                stderr: e.to_string(),
            }
        }
    })?;
    if !out.status.success() {
        return Err(SlurmError::Command {
            command: shown,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).to_string())
}

/// The job ids among `ids` that Slurm still has queued or running (`squeue`).
fn still_queued(ids: &[String]) -> Result<Vec<String>, SlurmError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // %F: the array job id of an array element (the job id otherwise).
    let out = run_command(Command::new("squeue").args(["-h", "-o", "%F"]))?;
    let mut queued: Vec<String> = out
        .lines()
        .map(str::trim)
        .filter(|l| ids.iter().any(|i| i == l))
        .map(String::from)
        .collect();
    queued.sort();
    queued.dedup();
    Ok(queued)
}

/// Everything needed to write and submit a run.
pub struct Request<'a> {
    pub out_dir: &'a Path,
    pub steps: &'a [StepTasks],
    /// The command a rank runs, before `--step`: absolute binary, `run`, absolute pipeline, flags.
    pub command: &'a [String],
    pub options: &'a SlurmOptions,
    /// Whether task `rank` of `step` has its marker.
    pub is_done: &'a dyn Fn(&StepTasks, usize) -> bool,
    /// The `--ranks` value passed with `--step` for a step.
    pub cli_ranks: &'a dyn Fn(&StepTasks) -> usize,
    /// Submit (false: write the scripts and stop).
    pub submit: bool,
}

/// Writes the scripts of every step with unfinished tasks and, unless a dry run, submits them as
/// job arrays chained with `afterok`. Returns the submission (also saved as `<NNN>.json`).
pub fn submit(req: &Request) -> Result<Submission, SlurmError> {
    let dir = slurm_dir(req.out_dir);
    fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let previous = read_submissions(req.out_dir);
    if req.submit {
        if let Some(last) = previous.last() {
            let queued = still_queued(&last.job_ids())?;
            if !queued.is_empty() {
                return Err(SlurmError::StillQueued(queued.join(", ")));
            }
        }
    }
    let number = previous.last().map_or(1, |s| s.number + 1);
    let max_array_size = if req.submit {
        max_array_size()
    } else {
        DEFAULT_MAX_ARRAY_SIZE
    };
    let mut sub = Submission {
        number,
        options: req.options.clone(),
        max_array_size,
        steps: Vec::new(),
        complete: Vec::new(),
        submitted: req.submit,
    };
    for step in req.steps {
        let pending: Vec<usize> = (0..step.tasks)
            .filter(|&r| !(req.is_done)(step, r))
            .collect();
        if pending.is_empty() {
            sub.complete.push(step.name.clone());
            continue;
        }
        let elements = elements(&pending, req.options.ranks_per_task);
        let script = dir.join(format!("{number:03}-{}.sbatch", step.name));
        let ranks_file = dir.join(format!("{number:03}-{}.ranks", step.name));
        let mut lines = String::new();
        for e in &elements {
            let words: Vec<String> = e.iter().map(usize::to_string).collect();
            lines.push_str(&words.join(" "));
            lines.push('\n');
        }
        fs::write(&ranks_file, lines).map_err(io_err(&ranks_file))?;
        let text = batch_script(
            req.out_dir,
            step,
            (req.cli_ranks)(step),
            req.command,
            &ranks_file,
            req.options,
            number,
        );
        fs::write(&script, text).map_err(io_err(&script))?;
        let logs = log_dir(req.out_dir, &step.name);
        fs::create_dir_all(&logs).map_err(io_err(&logs))?;
        // Wait for the nearest earlier step of the chain that is submitted now.
        let mut after_ok = Vec::new();
        let mut up = step.after.clone();
        while let Some(name) = up {
            if let Some(job) = sub.steps.iter().find(|j| j.step == name) {
                after_ok = job.job_ids();
                if !req.submit {
                    after_ok = vec![format!("<{name}>")];
                }
                break;
            }
            up = req
                .steps
                .iter()
                .find(|s| s.name == name)
                .and_then(|s| s.after.clone());
        }
        let mut arrays = split_arrays(elements.len(), max_array_size);
        if req.submit {
            for a in &mut arrays {
                let mut cmd = Command::new("sbatch");
                cmd.arg("--parsable").arg(format!("--array={}", a.spec));
                if !after_ok.is_empty() {
                    cmd.arg(format!("--dependency=afterok:{}", after_ok.join(":")));
                }
                cmd.arg(&script).arg(a.offset.to_string());
                let answer = run_command(&mut cmd)?;
                let id = answer.trim().split(';').next().unwrap_or("").to_string();
                if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(SlurmError::BadAnswer(answer.trim().to_string()));
                }
                a.job_id = Some(id);
            }
        }
        sub.steps.push(StepJob {
            step: step.name.clone(),
            tasks: step.tasks,
            elements,
            script,
            ranks_file,
            arrays,
            after_ok,
        });
    }
    let record_path = dir.join(format!("{number:03}.json"));
    write_json(&record_path, &sub)?;
    let run = RunRecord {
        ranks: req.options.ranks,
        steps: req.steps.to_vec(),
        command: req.command.to_vec(),
        submission: number,
    };
    write_json(&dir.join("run.json"), &run)?;
    Ok(sub)
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), SlurmError> {
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(value).expect("plain data serialises");
    fs::write(&tmp, bytes).map_err(io_err(&tmp))?;
    fs::rename(&tmp, path).map_err(io_err(path))
}

/// The `sbatch` commands of a submission, for the terminal.
pub fn describe(sub: &Submission) -> String {
    let mut s = String::new();
    for job in &sub.steps {
        for a in &job.arrays {
            let dep = if job.after_ok.is_empty() {
                String::new()
            } else {
                format!(" --dependency=afterok:{}", job.after_ok.join(":"))
            };
            let id = a
                .job_id
                .as_ref()
                .map_or(String::new(), |i| format!("job {i}: "));
            let _ = writeln!(
                s,
                "  {id}sbatch --array={}{dep} {} {}   # {} ({} of {} tasks)",
                a.spec,
                job.script.display(),
                a.offset,
                job.step,
                job.elements[a.offset..a.offset + a.len]
                    .iter()
                    .map(Vec::len)
                    .sum::<usize>(),
                job.tasks
            );
        }
    }
    for c in &sub.complete {
        let _ = writeln!(s, "  {c}: complete, not submitted");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_stay_below_max_array_size() {
        let a = split_arrays(12, 5);
        let got: Vec<(usize, usize, &str)> = a
            .iter()
            .map(|a| (a.offset, a.len, a.spec.as_str()))
            .collect();
        assert_eq!(got, vec![(0, 5, "0-4"), (5, 5, "0-4"), (10, 2, "0-1")]);
        assert_eq!(split_arrays(1, 1001)[0].spec, "0");
        assert!(split_arrays(0, 10).is_empty());
    }

    #[test]
    fn ranks_group_into_elements() {
        assert_eq!(
            elements(&[0, 1, 2, 5, 7], 2),
            vec![vec![0, 1], vec![2, 5], vec![7]]
        );
        assert_eq!(elements(&[3], 1), vec![vec![3]]);
    }

    #[test]
    fn max_array_size_is_read_from_scontrol() {
        let text = "MaxArraySize            = 5\nMaxJobCount             = 10000\n";
        assert_eq!(parse_max_array_size(text), Some(5));
        assert_eq!(parse_max_array_size("MaxJobCount = 3\n"), None);
    }

    #[test]
    fn words_are_quoted_for_bash() {
        assert_eq!(shell_quote("/a/b-c.toml"), "/a/b-c.toml");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
