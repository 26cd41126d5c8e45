//! `tria status RUN_DIR`: per step, the tasks done, failed, running and pending, from the rank
//! markers and the per-rank logs alone (no `sacct`: clusters often run without accounting).
//!
//! A task is **done** when its marker exists. Otherwise its log decides (the Slurm executor frames
//! every attempt with a `tria-task-start` and a `tria-task-exit <code>` line): the last attempt
//! ended with a non-zero code, or with 0 but no marker, means **failed**; an attempt started but
//! not ended means **running** (or killed without a chance to write its end line: the age of the
//! log's last write is shown); no log means **pending**.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;

use crate::slurm::{self, LOG_EXIT, LOG_START, StepTasks};

/// Where task `rank` of `tasks` of `step` records its completion.
pub fn marker_path(out_dir: &Path, step: &str, rank: usize, tasks: usize) -> PathBuf {
    crate::steps::rank_marker(out_dir, step, rank, tasks)
}

/// The state of one task.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum TaskState {
    Done,
    Failed {
        /// The exit code of the last attempt.
        code: i32,
        /// The last line the task printed before its end line (the reason, usually).
        reason: String,
    },
    Running {
        /// Seconds since the log was last written.
        quiet_s: u64,
    },
    Pending,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TaskStatus {
    pub rank: usize,
    #[serde(flatten)]
    pub state: TaskState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<PathBuf>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StepStatus {
    pub step: String,
    pub tasks: usize,
    pub done: usize,
    pub failed: usize,
    pub running: usize,
    pub pending: usize,
    /// Every task that is not done.
    pub unfinished: Vec<TaskStatus>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RunStatus {
    pub out_dir: PathBuf,
    pub ranks: Option<usize>,
    /// The latest Slurm submission's number and job ids, if the run went through Slurm.
    pub submission: Option<usize>,
    pub job_ids: Vec<String>,
    pub steps: Vec<StepStatus>,
}

impl RunStatus {
    pub fn complete(&self) -> bool {
        self.steps.iter().all(|s| s.done == s.tasks)
    }
    pub fn failed(&self) -> usize {
        self.steps.iter().map(|s| s.failed).sum()
    }
}

/// The last attempt recorded in a log: `None` if the log has no start line.
fn last_attempt(log: &Path) -> Option<(Option<i32>, String)> {
    let mut f = fs::File::open(log).ok()?;
    let len = f.metadata().ok()?.len();
    // The end of the log is enough: the framing lines are what matters.
    let keep = 64 * 1024;
    if len > keep {
        f.seek(SeekFrom::Start(len - keep)).ok()?;
    }
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().rposition(|l| l.starts_with(LOG_START))?;
    let attempt = &lines[start + 1..];
    let exit = attempt.iter().position(|l| l.starts_with(LOG_EXIT));
    let body = &attempt[..exit.unwrap_or(attempt.len())];
    // The last line that says `error`, else the last line printed.
    let printed = || {
        body.iter()
            .rev()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
    };
    let reason = printed()
        .find(|l| l.to_ascii_lowercase().contains("error"))
        .or_else(|| printed().next())
        .unwrap_or("")
        .to_string();
    let code = exit.map(|i| {
        attempt[i][LOG_EXIT.len()..]
            .split_whitespace()
            .next()
            .and_then(|c| c.parse().ok())
            .unwrap_or(-1)
    });
    Some((code, reason))
}

fn task_state(out_dir: &Path, step: &str, rank: usize, tasks: usize) -> TaskStatus {
    if marker_path(out_dir, step, rank, tasks).is_file() {
        return TaskStatus {
            rank,
            state: TaskState::Done,
            log: None,
        };
    }
    let log = slurm::rank_log(out_dir, step, rank, tasks);
    let state = match last_attempt(&log) {
        None => TaskState::Pending,
        Some((Some(0), _)) => TaskState::Failed {
            code: 0,
            reason: "exited 0 but wrote no rank marker".into(),
        },
        // 128 + SIGTERM / SIGKILL: what Slurm sends at the time limit, on scancel, out of memory.
        Some((Some(code @ (143 | 137)), _)) => TaskState::Failed {
            code,
            reason: "killed by a signal (time limit, scancel or out of memory: see the job's slurm-*.out)"
                .into(),
        },
        Some((Some(code), reason)) => TaskState::Failed { code, reason },
        Some((None, _)) => {
            let quiet_s = fs::metadata(&log)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .map_or(0, |d| d.as_secs());
            TaskState::Running { quiet_s }
        }
    };
    let log = (state != TaskState::Pending).then_some(log);
    TaskStatus { rank, state, log }
}

// The usual order of the steps (for runs without `run.json`).
use crate::steps::STEP_ORDER;

/// The steps and task counts seen in marker and log names (`<rank>-of-<tasks>`), when the run has
/// no `run.json` (run by hand or by another scheduler).
fn discover_steps(out_dir: &Path) -> Vec<StepTasks> {
    let mut found: Vec<StepTasks> = Vec::new();
    for base in [out_dir.join(".tria/steps"), out_dir.join(".tria/logs")] {
        for entry in fs::read_dir(&base).into_iter().flatten().flatten() {
            let Some(name) = entry.file_name().to_str().map(String::from) else {
                continue;
            };
            let tasks = fs::read_dir(entry.path())
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|f| {
                    let n = f.file_name().to_str()?.to_string();
                    let stem = n.strip_suffix(".json").or(n.strip_suffix(".log"))?;
                    stem.split_once("-of-")?.1.parse::<usize>().ok()
                })
                .max();
            let Some(tasks) = tasks else { continue };
            match found.iter_mut().find(|s| s.name == name) {
                Some(s) => s.tasks = s.tasks.max(tasks),
                None => found.push(StepTasks {
                    name,
                    tasks,
                    after: None,
                }),
            }
        }
    }
    let key = |s: &StepTasks| {
        (
            STEP_ORDER
                .iter()
                .position(|n| *n == s.name)
                .unwrap_or(STEP_ORDER.len()),
            s.name.clone(),
        )
    };
    found.sort_by_key(key);
    found
}

/// Reads the state of every task of the run in `out_dir`.
pub fn status(out_dir: &Path) -> RunStatus {
    let record = slurm::read_run_record(out_dir);
    let steps = match &record {
        Some(r) => r.steps.clone(),
        None => discover_steps(out_dir),
    };
    let last = slurm::read_submissions(out_dir).pop();
    let mut out = RunStatus {
        out_dir: out_dir.to_path_buf(),
        ranks: record.as_ref().map(|r| r.ranks),
        submission: last.as_ref().map(|s| s.number),
        job_ids: last.as_ref().map(|s| s.job_ids()).unwrap_or_default(),
        steps: Vec::new(),
    };
    for step in steps {
        let mut st = StepStatus {
            step: step.name.clone(),
            tasks: step.tasks,
            done: 0,
            failed: 0,
            running: 0,
            pending: 0,
            unfinished: Vec::new(),
        };
        for rank in 0..step.tasks {
            let t = task_state(out_dir, &step.name, rank, step.tasks);
            match t.state {
                TaskState::Done => st.done += 1,
                TaskState::Failed { .. } => st.failed += 1,
                TaskState::Running { .. } => st.running += 1,
                TaskState::Pending => st.pending += 1,
            }
            if t.state != TaskState::Done {
                st.unfinished.push(t);
            }
        }
        out.steps.push(st);
    }
    out
}

/// The table `tria status` prints.
pub fn render(st: &RunStatus) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = write!(s, "run: {}", st.out_dir.display());
    if let Some(r) = st.ranks {
        let _ = write!(s, " ({r} ranks)");
    }
    if let Some(n) = st.submission {
        let _ = write!(s, ", Slurm submission {n}");
        if !st.job_ids.is_empty() {
            let _ = write!(s, " (jobs {})", st.job_ids.join(", "));
        }
    }
    s.push('\n');
    if st.steps.is_empty() {
        s.push_str("no steps found (no rank markers, no logs)\n");
        return s;
    }
    let width = st
        .steps
        .iter()
        .map(|x| x.step.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        s,
        "{:width$}  {:>6}  {:>6}  {:>6}  {:>7}  {:>7}",
        "step", "tasks", "done", "failed", "running", "pending"
    );
    for x in &st.steps {
        let _ = writeln!(
            s,
            "{:width$}  {:>6}  {:>6}  {:>6}  {:>7}  {:>7}",
            x.step, x.tasks, x.done, x.failed, x.running, x.pending
        );
    }
    for x in &st.steps {
        for t in &x.unfinished {
            let log = t
                .log
                .as_ref()
                .map_or(String::new(), |l| format!("\n      log: {}", l.display()));
            match &t.state {
                TaskState::Failed { code, reason } => {
                    let _ = writeln!(
                        s,
                        "  FAILED  {} rank {}: exit {code}: {reason}{log}",
                        x.step, t.rank
                    );
                }
                TaskState::Running { quiet_s } if *quiet_s > 600 => {
                    let _ = writeln!(
                        s,
                        "  running {} rank {}: no output for {} min (killed? check squeue){log}",
                        x.step,
                        t.rank,
                        quiet_s / 60
                    );
                }
                _ => {}
            }
        }
    }
    let verdict = if st.complete() {
        "complete".to_string()
    } else if st.failed() > 0 {
        format!(
            "{} task(s) failed: fix the cause, then run the same `tria run ... --executor slurm` again (only unfinished tasks are submitted)",
            st.failed()
        )
    } else {
        "in progress".to_string()
    };
    let _ = writeln!(s, "{verdict}");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn markers_and_logs_give_each_task_its_state() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        // 0: done (marker, even though an earlier attempt failed); 1: failed; 2: running;
        // 3: pending; 4: exited 0 without a marker; 5: failed once, now running again.
        write(&marker_path(out, "filter", 0, 6), "{}");
        write(
            &slurm::rank_log(out, "filter", 0, 6),
            "tria-task-start job=1_0\nboom\ntria-task-exit 1\ntria-task-start job=2_0\ntria-task-exit 0\n",
        );
        write(
            &slurm::rank_log(out, "filter", 1, 6),
            "tria-task-start job=1_1\nreading\ntria: error: x.warc.wet.gz: not a WARC record\n\nsee --help\ntria-task-exit 1\n",
        );
        write(
            &slurm::rank_log(out, "filter", 2, 6),
            "tria-task-start job=1_2\nworking\n",
        );
        write(
            &slurm::rank_log(out, "dedup-pairs", 0, 1),
            "tria-task-start job=1_0\nworking\ntria-task-exit 143\n",
        );
        write(
            &slurm::rank_log(out, "filter", 4, 6),
            "tria-task-start job=1_4\ntria-task-exit 0\n",
        );
        write(
            &slurm::rank_log(out, "filter", 5, 6),
            "tria-task-start job=1_5\ntria-task-exit 1\ntria-task-start job=2_0\n",
        );
        let st = status(out);
        assert_eq!(st.steps.len(), 2);
        assert!(matches!(
            &st.steps[1].unfinished[0].state,
            TaskState::Failed { code: 143, reason } if reason.contains("time limit")
        ));
        let f = &st.steps[0];
        assert_eq!((f.step.as_str(), f.tasks), ("filter", 6));
        assert_eq!((f.done, f.failed, f.running, f.pending), (1, 2, 2, 1));
        let by_rank = |r: usize| &f.unfinished.iter().find(|t| t.rank == r).unwrap().state;
        assert_eq!(
            by_rank(1),
            &TaskState::Failed {
                code: 1,
                reason: "tria: error: x.warc.wet.gz: not a WARC record".into()
            }
        );
        assert!(matches!(by_rank(2), TaskState::Running { .. }));
        assert_eq!(by_rank(3), &TaskState::Pending);
        assert!(matches!(by_rank(4), TaskState::Failed { code: 0, .. }));
        assert!(matches!(by_rank(5), TaskState::Running { .. }));
        let text = render(&st);
        assert!(text.contains("FAILED  filter rank 1: exit 1"), "{text}");
        assert!(text.contains("3 task(s) failed"), "{text}");
    }

    #[test]
    fn steps_are_discovered_in_pipeline_order_without_run_json() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        write(&marker_path(out, "dedup-clusters", 0, 1), "{}");
        write(&marker_path(out, "filter", 3, 4), "{}");
        write(&slurm::rank_log(out, "dedup-signatures", 1, 4), "");
        let st = status(out);
        let names: Vec<(&str, usize)> = st
            .steps
            .iter()
            .map(|s| (s.step.as_str(), s.tasks))
            .collect();
        assert_eq!(
            names,
            vec![
                ("filter", 4),
                ("dedup-signatures", 4),
                ("dedup-clusters", 1)
            ]
        );
        assert_eq!(st.steps[0].done, 1);
        assert_eq!(st.steps[0].pending, 3);
        // An empty log (no start line) is still pending.
        assert_eq!(st.steps[1].pending, 4);
        assert!(st.steps[2].done == 1 && !st.complete());
    }
}
