//! The Slurm executor on a real one-node Slurm cluster (slurmctld, slurmd and munged from Debian's
//! packages, started by `tests/slurm/start.sh` in a private directory and stopped by process id).
//!
//! A filter + dedup pipeline over 8 ranks, two ranks per array element, MaxArraySize 3 (so each
//! step is split into several arrays); one input file is truncated so its rank fails; `tria status`
//! must say so; after the file is restored, a rerun must submit only that rank of `filter` (and
//! the steps after it), and the final output must be byte-identical to a local run's.
//! Skips with a message where Slurm is not installed or the test does not run as root.

#![allow(clippy::unwrap_used)]

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::{run_ok, tree, tria, write_wet};

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/slurm")
}

/// The running cluster; dropping it stops exactly the daemons `start.sh` recorded.
struct Cluster {
    dir: tempfile::TempDir,
}

impl Cluster {
    fn start(max_array_size: usize) -> Option<Cluster> {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("bash")
            .arg(scripts().join("start.sh"))
            .arg(dir.path())
            .env("TRIA_SLURM_MAX_ARRAY", max_array_size.to_string())
            .output()
            .expect("bash runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() == Some(3) {
            eprintln!("{} (tests/slurm.rs)", stderr.trim());
            return None;
        }
        let cluster = Cluster { dir };
        assert!(
            out.status.success(),
            "start.sh failed ({}): {stderr}",
            out.status
        );
        Some(cluster)
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("slurm.conf")
    }

    fn pids(&self) -> Vec<u32> {
        fs::read_to_string(self.dir.path().join("pids"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    fn client(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", self.conf());
        c
    }

    /// Waits until the cluster has no job left (finished, failed or cancelled).
    fn wait_idle(&self, limit: Duration) {
        let t0 = Instant::now();
        loop {
            let out = self
                .client("squeue")
                .args(["-h", "-o", "%i %T"])
                .output()
                .unwrap();
            assert!(out.status.success(), "squeue failed");
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            if text.trim().is_empty() {
                return;
            }
            assert!(
                t0.elapsed() < limit,
                "jobs still queued after {limit:?}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(scripts().join("stop.sh"))
            .arg(self.dir.path())
            .status();
    }
}

fn submit(cluster: &Cluster, pipeline: &Path, out: &Path) -> Output {
    let mut cmd = tria();
    cmd.env("SLURM_CONF", cluster.conf())
        .arg("run")
        .arg(pipeline)
        .arg("--output")
        .arg(out)
        .args([
            "--executor",
            "slurm",
            "--ranks",
            "8",
            "--ranks-per-task",
            "2",
            "--mem",
            "500M",
            "--time",
            "5:00",
            "--cpus-per-task",
            "1",
        ]);
    run_ok(&mut cmd)
}

fn status(out: &Path) -> (Option<i32>, serde_json::Value) {
    let o = tria().args(["status", "--json"]).arg(out).output().unwrap();
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "status --json: {e}\n{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    (o.status.code(), v)
}

fn step<'a>(st: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    st["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {st:#}"))
}

fn submission(out: &Path, n: usize) -> serde_json::Value {
    let p = out.join(format!(".tria/slurm/{n:03}.json"));
    serde_json::from_slice(&fs::read(&p).unwrap()).unwrap()
}

/// Documents in the `.jsonl.zst` files below `dir` (recursively).
fn count_docs(dir: &Path) -> usize {
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                if !p.file_name().unwrap().to_string_lossy().starts_with('.') {
                    stack.push(p);
                }
            } else if p.to_string_lossy().ends_with(".jsonl.zst") {
                n += support::read_jsonl_zst(&p).len();
            }
        }
    }
    n
}

/// The outputs: every file but tria's own state, dedup work files, and the records of how the run
/// went (manifests hold the command line, reports the timings).
fn outputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    tree(dir)
        .into_iter()
        .filter(|(rel, _)| {
            let name = rel.rsplit('/').next().unwrap_or(rel);
            !rel.split('/').any(|c| c == ".work" || c == ".tria")
                && name != "manifest.json"
                && !name.starts_with("report.")
        })
        .collect()
}

#[test]
fn a_dedup_pipeline_runs_as_job_arrays_resumes_one_failed_rank_and_matches_a_local_run() {
    let Some(cluster) = Cluster::start(3) else {
        return;
    };
    assert_eq!(cluster.pids().len(), 3, "munged, slurmctld, slurmd");
    let t0 = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fs::create_dir(&input).unwrap();
    // Eleven files; j and k repeat a and b (same documents, same URLs), which dedup removes.
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"];
    for (i, name) in names.iter().enumerate() {
        let seed = match *name {
            "j" => 1,
            "k" => 2,
            _ => i as u64 + 1,
        };
        write_wet(&input, &format!("{name}.warc.wet.gz"), 25, seed);
    }
    let pipeline = dir.path().join("pipeline.toml");
    fs::write(
        &pipeline,
        r#"
[input]
paths = ["in/*.warc.wet.gz"]

[output]
dir = "out"

[[stage]]
kind = "length"
min_words = 5

[dedup]
"#,
    )
    .unwrap();

    // The reference: every step here, in order, in the directory the Slurm run will use (the
    // documents' `origin` names the files they come from), then moved aside.
    let out = dir.path().join("out");
    let local = dir.path().join("local");
    run_ok(tria().arg("run").arg(&pipeline).arg("-q"));
    fs::rename(&out, &local).unwrap();

    // d (sorted index 3, rank 3 of 8) cut in half: its filter rank exits 1.
    let victim = input.join("d.warc.wet.gz");
    let good = fs::read(&victim).unwrap();
    fs::write(&victim, &good[..good.len() / 2]).unwrap();

    let o = submit(&cluster, &pipeline, &out);
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        said.contains("submitted") && said.contains("tria status"),
        "{said}"
    );
    // While those jobs are queued, a second submission is refused (it would run ranks twice).
    let again = tria()
        .env("SLURM_CONF", cluster.conf())
        .arg("run")
        .arg(&pipeline)
        .args(["--executor", "slurm", "--ranks", "8"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{err}");
    assert!(err.contains("still queued or running"), "{err}");
    let first = submission(&out, 1);
    let filter = &first["steps"][0];
    assert_eq!(filter["step"], "filter");
    assert_eq!(
        filter["elements"],
        serde_json::json!([[0, 1], [2, 3], [4, 5], [6, 7]])
    );
    // Four elements, MaxArraySize 3: two arrays.
    let arrays: Vec<(u64, String)> = filter["arrays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["offset"].as_u64().unwrap(),
                a["spec"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(arrays, vec![(0, "0-2".to_string()), (3, "0".to_string())]);
    let steps: Vec<&str> = first["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert!(
        steps.len() >= 4 && steps.contains(&"dedup-filter"),
        "{steps:?}"
    );
    // Each later step waits for the one before it.
    let all = first["steps"].as_array().unwrap();
    for pair in all.windows(2) {
        let before: Vec<&serde_json::Value> = pair[0]["arrays"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| &a["job_id"])
            .collect();
        let waits: Vec<&serde_json::Value> =
            pair[1]["after_ok"].as_array().unwrap().iter().collect();
        assert_eq!(
            before, waits,
            "{} waits for {}",
            pair[1]["step"], pair[0]["step"]
        );
    }
    cluster.wait_idle(Duration::from_secs(60));

    let (code, st) = status(&out);
    assert_eq!(code, Some(1), "a failed rank: exit 1\n{st:#}");
    let f = step(&st, "filter");
    assert_eq!(
        (f["done"].as_u64(), f["failed"].as_u64()),
        (Some(7), Some(1)),
        "{st:#}"
    );
    let failed = &f["unfinished"][0];
    assert_eq!(failed["rank"], 3);
    assert_eq!(failed["state"], "failed");
    assert_eq!(failed["code"], 1);
    // The steps after it were cancelled (afterok can never be met): nothing ran, all pending.
    let sig = step(&st, "dedup-signatures");
    assert_eq!(sig["done"], 0);
    assert_eq!(sig["pending"], sig["tasks"]);
    let text = String::from_utf8_lossy(&tria().arg("status").arg(&out).output().unwrap().stdout)
        .to_string();
    assert!(text.contains("FAILED  filter rank 3: exit 1"), "{text}");

    // Fix the input and submit again: filter runs rank 3 alone.
    fs::write(&victim, &good).unwrap();
    submit(&cluster, &pipeline, &out);
    let second = submission(&out, 2);
    let filter = &second["steps"][0];
    assert_eq!(filter["step"], "filter");
    assert_eq!(filter["elements"], serde_json::json!([[3]]), "{second:#}");
    assert_eq!(
        fs::read_to_string(out.join(".tria/slurm/002-filter.ranks")).unwrap(),
        "3\n"
    );
    assert_eq!(filter["arrays"].as_array().unwrap().len(), 1);
    // The steps after it never ran: submitted whole, after the new filter job.
    let sig = &second["steps"][1];
    assert_eq!(sig["step"], "dedup-signatures");
    assert_eq!(sig["elements"], first["steps"][1]["elements"]);
    assert_eq!(
        sig["after_ok"],
        serde_json::json!([filter["arrays"][0]["job_id"]])
    );
    cluster.wait_idle(Duration::from_secs(60));

    let (code, st) = status(&out);
    assert_eq!(code, Some(0), "{st:#}");
    for s in st["steps"].as_array().unwrap() {
        assert_eq!(s["done"], s["tasks"], "{st:#}");
    }
    // Rank 3's log holds both attempts; rank 2 (same element the first time) only one.
    let log3 = fs::read_to_string(out.join(".tria/logs/filter/3-of-8.log")).unwrap();
    assert_eq!(log3.matches("tria-task-start").count(), 2, "{log3}");
    assert!(log3.contains("tria-task-exit 1") && log3.trim_end().ends_with("tria-task-exit 0"));
    let log2 = fs::read_to_string(out.join(".tria/logs/filter/2-of-8.log")).unwrap();
    assert_eq!(log2.matches("tria-task-start").count(), 1, "{log2}");

    // Same bytes as the local run, and dedup removed the repeated files' documents.
    let (a, b) = (outputs(&local), outputs(&out));
    assert!(!a.is_empty());
    let names_a: Vec<&String> = a.iter().map(|(n, _)| n).collect();
    let names_b: Vec<&String> = b.iter().map(|(n, _)| n).collect();
    assert_eq!(names_a, names_b);
    for n in [
        "filter/a.jsonl.zst",
        "filter/d.jsonl.zst",
        "dedup/d.jsonl.zst",
    ] {
        assert!(names_a.iter().any(|m| *m == n), "{n} not in {names_a:?}");
    }
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{name} differs between the local and the Slurm run");
    }
    let filtered = count_docs(&out.join("filter"));
    let deduped = count_docs(&out.join("dedup"));
    assert!(
        deduped > 0 && deduped + 40 <= filtered,
        "dedup kept {deduped} of {filtered}"
    );

    // Nothing left to do: nothing submitted.
    let o = submit(&cluster, &pipeline, &out);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("nothing submitted"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    eprintln!(
        "slurm test: {:.1} s with the cluster up",
        t0.elapsed().as_secs_f64()
    );
}

/// Without Slurm: `--dry-run` writes the scripts, and running one with bash (as an array element
/// would) runs its ranks and frames their logs.
#[test]
fn dry_run_writes_batch_scripts_that_run_their_ranks() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fs::create_dir(&input).unwrap();
    for (i, name) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        write_wet(&input, &format!("{name}.warc.wet.gz"), 10, i as u64 + 1);
    }
    let pipeline = dir.path().join("p q.toml");
    fs::write(
        &pipeline,
        "[input]\npaths = [\"in/*.warc.wet.gz\"]\n[output]\ndir = \"out\"\n[[stage]]\nkind = \"length\"\nmin_words = 3\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = run_ok(tria().arg("run").arg(&pipeline).args([
        "--executor",
        "slurm",
        "--dry-run",
        "--ranks",
        "5",
        "--ranks-per-task",
        "2",
        "--account",
        "acc",
        "--qos",
        "q",
        "--partition",
        "p",
        "--time",
        "1:00:00",
        "--cpus-per-task",
        "2",
        "--mem",
        "1G",
    ]));
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        said.contains("dry run") && said.contains("sbatch --array=0-2"),
        "{said}"
    );
    let slurm = out.join(".tria/slurm");
    assert_eq!(
        fs::read_to_string(slurm.join("001-filter.ranks")).unwrap(),
        "0 1\n2 3\n4\n"
    );
    let script = fs::read_to_string(slurm.join("001-filter.sbatch")).unwrap();
    for line in [
        "#SBATCH --account=acc",
        "#SBATCH --qos=q",
        "#SBATCH --partition=p",
        "#SBATCH --time=1:00:00",
        "#SBATCH --cpus-per-task=2",
        "#SBATCH --mem=1G",
        "#SBATCH --job-name=tria-filter",
    ] {
        assert!(
            script.lines().any(|l| l == line),
            "{line} missing:\n{script}"
        );
    }
    // The same binary and pipeline, by absolute path (quoted: the name has a space).
    let exe = fs::canonicalize(env!("CARGO_BIN_EXE_tria")).unwrap();
    assert!(
        script.contains(&*exe.to_string_lossy()) || script.contains(env!("CARGO_BIN_EXE_tria"))
    );
    assert!(
        script.contains(&format!("'{}'", pipeline.display())),
        "{script}"
    );
    let record = submission(&out, 1);
    assert_eq!(record["submitted"], false);
    assert!(record["steps"][0]["arrays"][0]["job_id"].is_null());

    // Element 1 of the array: ranks 2 and 3, one after another, each into its own log.
    let status_code = Command::new("bash")
        .arg(slurm.join("001-filter.sbatch"))
        .arg("0")
        .env("SLURM_ARRAY_TASK_ID", "1")
        .env("SLURM_ARRAY_JOB_ID", "77")
        .status()
        .unwrap();
    assert!(status_code.success());
    for rank in [2, 3] {
        let log =
            fs::read_to_string(out.join(format!(".tria/logs/filter/{rank}-of-5.log"))).unwrap();
        assert!(log.starts_with("tria-task-start job=77_1 "), "{log}");
        assert!(log.trim_end().ends_with("tria-task-exit 0"), "{log}");
    }
    assert!(!out.join(".tria/logs/filter/0-of-5.log").exists());
    let (code, st) = status(&out);
    assert_eq!(code, Some(0));
    let f = step(&st, "filter");
    assert_eq!(
        (f["done"].as_u64(), f["pending"].as_u64()),
        (Some(2), Some(3)),
        "{st:#}"
    );
    assert!(out.join("c.jsonl.zst").is_file() && out.join("d.jsonl.zst").is_file());
    assert!(!out.join("a.jsonl.zst").exists());

    // A Slurm run needs --ranks: a usage error, exit 2.
    let o = tria()
        .arg("run")
        .arg(&pipeline)
        .args(["--executor", "slurm"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--ranks"));
}
