//! Multi-step pipelines end to end: filter → dedup → tokenizer training → token shards → eval →
//! report, run in one command and as separate tasks over several ranks (byte-identical), resumed,
//! and the HTML report opened in a real headless browser.

#![allow(clippy::unwrap_used)]

mod support;

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use support::{read_jsonl_zst, run_ok, tree, tria};
use tria::fixtures::{Rng, wet_conversion, wet_warcinfo, write_gz_members};

/// Writes a WET file of the given texts (record ids `<file>-<i>`).
fn write_texts(dir: &Path, name: &str, file: u64, texts: &[String]) {
    let mut records = vec![wet_warcinfo(name)];
    for (i, t) in texts.iter().enumerate() {
        records.push(wet_conversion(
            file * 1_000 + i as u64,
            &format!("https://ex.cat/{file}/{i}"),
            "cat",
            t,
        ));
    }
    write_gz_members(
        BufWriter::new(File::create(dir.join(name)).unwrap()),
        &records,
    )
    .unwrap();
}

/// Six files of 30 documents of 60-140 words, plus planted duplicates: file 3 holds an exact copy
/// of file 0's document 1, file 4 a copy of file 1's document 2 with one word changed.
fn corpus(dir: &Path) -> (String, String) {
    fs::create_dir_all(dir).unwrap();
    let mut rng = Rng(7);
    let mut files: Vec<Vec<String>> = (0..6)
        .map(|_| {
            (0..30)
                .map(|_| {
                    let n = 60 + rng.below(80);
                    support::text(&mut rng, n)
                })
                .collect()
        })
        .collect();
    let exact = files[0][1].clone();
    files[3][5] = exact.clone();
    let mut near: Vec<&str> = files[1][2].split(' ').collect();
    let mid = near.len() / 2;
    near[mid] = "zzzchanged";
    let near = near.join(" ");
    files[4][7] = near.clone();
    for (f, texts) in files.iter().enumerate() {
        write_texts(dir, &format!("cc-{f}.warc.wet.gz"), f as u64, texts);
    }
    (exact, near)
}

const PIPELINE: &str = r#"
[input]
paths = ["in/*.warc.wet.gz"]
[output]
dir = "out"
[[stage]]
kind = "length"
min_words = 20
[dedup]
exact = true
near = true
[tokenize]
train_vocab_size = 300
[eval]
train_steps = 4
hidden = 32
layers = 1
heads = 2
seq_len = 32
heldout_fraction = 0.2
"#;

/// The files of a run that must not depend on how it was run (ranks, threads, resumption).
fn outputs(out: &Path) -> Vec<(String, Vec<u8>)> {
    tree(out)
        .into_iter()
        .filter(|(rel, _)| {
            !rel.split('/').any(|c| c.starts_with('.'))
                && !rel.starts_with("eval/")
                && !rel.ends_with(".report.json")
                && !rel.ends_with("manifest.json")
        })
        .collect()
}

fn step_names(pipeline: &Path, ranks: usize) -> Vec<(String, usize)> {
    let o = run_ok(
        tria()
            .args([
                "run",
                "--dry-run",
                "--ranks",
                &ranks.to_string(),
                "--rank",
                "0",
            ])
            .arg(pipeline),
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let name = w.next()?;
            let tasks = w.next()?.parse().ok()?;
            Some((name.to_string(), tasks))
        })
        .collect()
}

#[test]
fn one_command_and_ranked_tasks_give_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (exact, near) = corpus(&dir.path().join("in"));
    let p = dir.path().join("pipeline.toml");
    fs::write(&p, PIPELINE).unwrap();

    // One command, every step.
    let o = run_ok(tria().args(["run", "-j", "2"]).arg(&p));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let out = dir.path().join("out");
    for step in [
        "filter",
        "dedup-filter",
        "tokenizer-train",
        "tokenize",
        "eval",
        "report",
    ] {
        assert!(stderr.contains(&format!("tria: step {step}")), "{stderr}");
    }
    let kept: Vec<serde_json::Value> = (0..6)
        .flat_map(|f| read_jsonl_zst(&out.join(format!("dedup/cc-{f}.jsonl.zst"))))
        .collect();
    let texts: Vec<&str> = kept.iter().map(|d| d["text"].as_str().unwrap()).collect();
    let count = |t: &str| texts.iter().filter(|x| x.trim() == t.trim()).count();
    assert_eq!(count(&exact), 1, "one copy of the exact duplicate is kept");
    assert_eq!(
        count(&near),
        0,
        "the near duplicate (later file) is removed"
    );
    assert_eq!(kept.len(), 180 - 2);
    assert!(
        kept.iter().all(|d| d["origin"]["file"]
            .as_str()
            .unwrap()
            .ends_with(".warc.wet.gz")),
        "provenance points at the WET files"
    );
    let r: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(r["dedup"]["all"]["removed"]["exact"], 1, "{}", r["dedup"]);
    assert_eq!(r["dedup"]["all"]["removed"]["near"], 1, "{}", r["dedup"]);
    assert_eq!(r["languages"]["all"]["tokens"]["docs"], 178);
    assert_eq!(r["tokens"]["all"]["documents"], 178);
    // The filter step's timings, gathered from its per-file records and its own report.
    let t = &r["filter"]["timings"];
    for k in [
        "wall_seconds",
        "read_seconds",
        "stages_seconds",
        "write_seconds",
    ] {
        assert!(t[k].as_f64().unwrap() > 0.0, "{k}: {t}");
    }
    assert!(r["tokens"]["all"]["tokens"].as_u64().unwrap() > 178 * 20);
    assert!(
        r["eval"]["report"]["heldout"]["total"]["tokens"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(out.join("tokens/all.bin").is_file() && out.join("tokens/all.idx").is_file());
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Duplicate cluster sizes") && html.contains("<svg class=\"plot\""));

    // A rerun redoes nothing and changes nothing.
    let before = outputs(&out);
    let o = run_ok(tria().args(["run"]).arg(&p));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("0 processed, 6 resumed"), "{stderr}");
    assert!(stderr.contains("skipped"), "{stderr}");
    let after = outputs(&out);
    let changed: Vec<&String> = before
        .iter()
        .zip(&after)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| &a.0)
        .collect();
    assert!(
        before.len() == after.len() && changed.is_empty(),
        "a rerun changed {changed:?}"
    );

    // The same pipeline as separate tasks over 4 ranks, run in reverse order within each step.
    let steps = step_names(&p, 4);
    let names: Vec<&str> = steps.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "filter",
            "dedup-signatures",
            "dedup-pairs",
            "dedup-clusters",
            "dedup-filter",
            "tokenizer-train",
            "tokenize",
            "eval",
            "report"
        ]
    );
    // In another directory: documents carry the origin of the raw input, not of the step files.
    let local = out.clone();
    let ranked = dir.path().join("ranked");
    for (step, tasks) in &steps {
        for rank in (0..*tasks).rev() {
            run_ok(
                tria()
                    .args(["run", "-q", "-j", "1", "--step", step])
                    .args(["--ranks", "4", "--rank", &rank.to_string()])
                    .arg(&p)
                    .arg("-o")
                    .arg(&ranked),
            );
            assert!(
                ranked
                    .join(format!(".tria/steps/{step}/{rank}-of-{tasks}.json"))
                    .is_file(),
                "{step} {rank}: no marker"
            );
        }
    }
    let a = outputs(&local);
    let b = outputs(&ranked);
    let names_a: Vec<&String> = a.iter().map(|(n, _)| n).collect();
    let names_b: Vec<&String> = b.iter().map(|(n, _)| n).collect();
    assert_eq!(names_a, names_b);
    for ((n, x), (_, y)) in a.iter().zip(&b) {
        if n == "report.html" {
            continue; // holds CPU seconds
        }
        assert!(x == y, "{n} differs between one command and 4 ranks");
    }
}

#[test]
fn bad_step_configurations_stop_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    corpus(&dir.path().join("in"));
    let cases: [(&str, &[&str], &str); 5] = [
        (
            "[input]\npaths = [\"in/*.gz\"]\n[output]\ndir = \"out\"\n[eval]\ntrain_steps = 3\n",
            &[],
            "[eval] needs [tokenize]",
        ),
        (
            "[input]\npaths = [\"in/*.gz\"]\n[output]\ndir = \"out\"\n[tokenize]\n",
            &[],
            "give `tokenizer",
        ),
        (
            "[input]\npaths = [\"in/*.gz\"]\n[output]\ndir = \"out\"\n[dedup]\nbands = 0\n",
            &[],
            "[dedup]",
        ),
        (
            "[input]\npaths = [\"in/*.gz\"]\n[output]\ndir = \"out\"\n[dedup]\n",
            &["--ranks", "2", "--rank", "0"],
            "name one with --step",
        ),
        (
            "[input]\npaths = [\"in/*.gz\"]\n[output]\ndir = \"out\"\n[dedup]\n",
            &["--step", "tokenize"],
            "no step `tokenize`",
        ),
    ];
    for (i, (body, flags, needle)) in cases.iter().enumerate() {
        let p: PathBuf = dir.path().join(format!("p{i}.toml"));
        fs::write(&p, body).unwrap();
        let o = tria().arg("run").args(*flags).arg(&p).output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "case {i}: {stderr}");
        assert!(stderr.contains(needle), "case {i}: {stderr}");
        assert!(!dir.path().join("out/filter").exists(), "case {i} did work");
    }
}

/// The shipped end-to-end example, and its HTML report in a real headless browser (Debian's
/// chromium; `.ci/run` installs it).
#[test]
fn the_ca_eu_gl_example_runs_and_its_report_renders() {
    let out = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/ca-eu-gl.toml");
    run_ok(
        tria()
            .args(["run", "-q"])
            .arg(&example)
            .arg("--output")
            .arg(out.path()),
    );
    for lang in ["ca", "eu", "gl"] {
        assert!(
            out.path().join(format!("tokens/{lang}.idx")).is_file(),
            "{lang}"
        );
        let docs = read_jsonl_zst(&out.path().join(format!("dedup/{lang}/sample.jsonl.zst")));
        assert!(!docs.is_empty(), "{lang}");
        assert!(docs.iter().all(|d| d["meta"]["lang"] == lang));
    }
    let r: serde_json::Value =
        serde_json::from_slice(&fs::read(out.path().join("report.json")).unwrap()).unwrap();
    // The shipped sample plants an exact copy in Catalan and a near copy in Galician.
    assert_eq!(r["dedup"]["ca"]["removed"]["exact"], 1, "{}", r["dedup"]);
    assert_eq!(r["dedup"]["gl"]["removed"]["near"], 1, "{}", r["dedup"]);
    for lang in ["ca", "eu", "gl"] {
        assert_eq!(r["languages"][lang]["tokens"]["docs"], 3, "{lang}");
        assert!(r["languages"][lang]["tokens"]["tokens"].as_u64().unwrap() > 0);
        assert!(
            r["filter"]["histograms"][format!("lang_score@{lang}")]["count"]
                .as_u64()
                .is_some_and(|n| n > 0)
        );
    }

    let html = out.path().join("report.html");
    let Some(browser) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        eprintln!("SKIP: no chromium found; the report was written but not opened in a browser");
        return;
    };
    let o = std::process::Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&o.stdout);
    let attr = |name: &str| -> Option<usize> {
        let at = dom.find(&format!("{name}=\""))? + name.len() + 2;
        dom[at..].split('"').next()?.parse().ok()
    };
    let (plots, rendered) = (attr("data-plots"), attr("data-rendered"));
    assert!(
        plots.is_some_and(|p| p >= 5) && plots == rendered,
        "plots {plots:?}, rendered {rendered:?}; stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn a_bad_input_file_is_left_out_and_a_rerun_after_fixing_it_redoes_the_later_steps() {
    let dir = tempfile::tempdir().unwrap();
    corpus(&dir.path().join("in"));
    let p = dir.path().join("pipeline.toml");
    // No [eval]: this test is about the document and token steps.
    fs::write(&p, PIPELINE.split("[eval]").next().unwrap()).unwrap();
    let victim = dir.path().join("in/cc-2.warc.wet.gz");
    let good = fs::read(&victim).unwrap();
    fs::write(&victim, &good[..good.len() / 2]).unwrap();

    let o = tria().arg("run").arg(&p).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cc-2.warc.wet.gz"), "{stderr}");
    assert!(
        stderr.contains("later steps go on without them"),
        "{stderr}"
    );
    let r: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("out/report.json")).unwrap()).unwrap();
    assert_eq!(r["filter"]["files"]["failed"], 1);
    let failure = &r["filter"]["failures"][0];
    assert!(
        failure["file"]
            .as_str()
            .unwrap()
            .ends_with("cc-2.warc.wet.gz")
            && failure["error"].as_str().unwrap().contains("truncated"),
        "{failure}"
    );
    let html = fs::read_to_string(dir.path().join("out/report.html")).unwrap();
    assert!(html.contains("Failed files") && html.contains("cc-2.warc.wet.gz"));
    let partial = r["tokens"]["all"]["documents"].as_u64().unwrap();
    assert!(partial > 100 && partial < 178, "{partial}");

    fs::write(&victim, &good).unwrap();
    let o = run_ok(tria().arg("run").arg(&p));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("1 processed, 5 resumed"), "{stderr}");
    assert!(stderr.contains("redoing it"), "{stderr}");
    let r: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("out/report.json")).unwrap()).unwrap();
    assert_eq!(r["filter"]["files"]["failed"], 0);
    assert_eq!(
        r["tokens"]["all"]["documents"], 178,
        "the fixed file's documents are in"
    );
    assert_eq!(r["dedup"]["all"]["removed"]["exact"], 1);
    assert_eq!(r["dedup"]["all"]["removed"]["near"], 1);
}

/// A pipeline named by a relative path from another directory (as the README's quick start does):
/// every step finds the previous one's output.
#[test]
fn a_pipeline_given_by_a_relative_path_runs_every_step() {
    let dir = tempfile::tempdir().unwrap();
    corpus(&dir.path().join("sub/in"));
    fs::write(
        dir.path().join("sub/p.toml"),
        PIPELINE.split("[tokenize]").next().unwrap(),
    )
    .unwrap();
    run_ok(
        tria()
            .current_dir(dir.path())
            .args(["run", "-q", "sub/p.toml"]),
    );
    let docs: usize = (0..6)
        .map(|f| read_jsonl_zst(&dir.path().join(format!("sub/out/dedup/cc-{f}.jsonl.zst"))).len())
        .sum();
    assert_eq!(docs, 178);
    assert!(!dir.path().join("sub/sub").exists());
}
