//! End-to-end runs of the `tria` binary: determinism across thread counts, bad files, bad config,
//! partitions, Parquet, and resuming after a real kill.

#![allow(clippy::unwrap_used)]

mod support;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use support::{read_jsonl_zst, report, run_ok, tree, tria, write_wet};

fn pipeline(dir: &Path, body: &str) -> std::path::PathBuf {
    let p = dir.join("pipeline.toml");
    fs::write(&p, body).unwrap();
    p
}

#[test]
fn quickstart_example_runs() {
    let out = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/quickstart.toml");
    let o = run_ok(
        tria()
            .arg("run")
            .arg(&example)
            .arg("--output")
            .arg(out.path()),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("documents: 14 in, 11 out"), "{stderr}");
    // Four paragraphs of Catalan (one an exact copy), three of Basque and four of Galician (one a
    // near copy), partitioned by language; this pipeline does not dedup.
    for (lang, needle, n) in [
        ("ca", "Biblioteca de Catalunya", 4),
        ("eu", "Euskal Herriko mendietan", 3),
        ("gl", "A costa galega", 4),
    ] {
        let docs = read_jsonl_zst(&out.path().join(lang).join("sample.jsonl.zst"));
        assert_eq!(docs.len(), n, "{lang}");
        assert!(docs.iter().all(|d| d["meta"]["lang"] == lang));
        assert!(
            docs.iter()
                .all(|d| d["attrs"]["lang_score"].as_f64().unwrap() > 0.5)
        );
        assert!(
            docs.iter()
                .any(|d| d["text"].as_str().unwrap().contains(needle))
        );
    }
    // Spanish and English are not kept. The one-line Catalan menu ("Inici | Contacte | Avís
    // legal | Cookies") is dropped too: by the lang stage when its score is under ca's default
    // minimum (0.78 < 0.80 with the built-in model of session 3), else by the length stage (too
    // short): which one depends on the model, that it goes does not.
    let lang_rejects = read_jsonl_zst(&out.path().join("_rejects/lang/sample.jsonl.zst"));
    let mut rejected: Vec<(&str, &str)> = lang_rejects
        .iter()
        .map(|d| {
            (
                d["meta"]["lang"].as_str().unwrap(),
                d["reason"].as_str().unwrap(),
            )
        })
        .collect();
    rejected.sort();
    let menu_by_lang = rejected.contains(&("ca", "lang:low_score"));
    rejected.retain(|r| *r != ("ca", "lang:low_score"));
    assert_eq!(rejected, [("en", "lang:not_kept"), ("es", "lang:not_kept")]);
    let length_rejects = out.path().join("_rejects/length/sample.jsonl.zst");
    let short = if length_rejects.exists() {
        read_jsonl_zst(&length_rejects)
    } else {
        Vec::new()
    };
    assert_eq!(short.len() + usize::from(menu_by_lang), 1, "{rejected:?}");
    let menu: Vec<&serde_json::Value> = lang_rejects
        .iter()
        .filter(|d| d["meta"]["lang"] == "ca")
        .chain(&short)
        .collect();
    assert_eq!(menu.len(), 1);
    assert!(
        menu[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Inici | Contacte")
    );
    for d in &short {
        assert_eq!(d["reason"], "too_few_words");
    }
    let r = report(out.path());
    assert_eq!(r["stages"][0]["drops"]["lang:not_kept"], 2);
    assert_eq!(
        r["stages"][1]["drops"]["too_few_words"]
            .as_u64()
            .unwrap_or(0),
        short.len() as u64
    );
    assert_eq!(r["languages"]["eu"]["docs"], 3);
    let m: serde_json::Value =
        serde_json::from_slice(&fs::read(out.path().join("manifest.json")).unwrap()).unwrap();
    let settings = &m["config"]["stages"][1]["settings"];
    assert_eq!(settings["min_words"], 20);
    let t = settings["thresholds"].as_array().unwrap();
    assert!(
        t.iter()
            .any(|t| t["reason"] == "too_many_words" && t["value"] == 100_000.0),
        "defaults are filled in: {t:?}"
    );
}

#[test]
fn output_is_byte_identical_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fs::create_dir(&input).unwrap();
    for i in 0..8 {
        write_wet(&input, &format!("part-{i:02}.warc.wet.gz"), 150, i + 1);
    }
    let p = pipeline(
        dir.path(),
        "[input]\npaths = [\"in/*.wet.gz\"]\n[output]\nrejects = true\n\
         [[stage]]\nkind = \"length\"\nmin_words = 30\n",
    );
    let mut trees = Vec::new();
    for j in ["1", "4"] {
        let out = dir.path().join(format!("out-j{j}"));
        run_ok(
            tria()
                .args(["run", "-q", "-j", j])
                .arg(&p)
                .arg("-o")
                .arg(&out),
        );
        trees.push(tree(&out));
    }
    assert_eq!(trees[0].len(), 16, "8 outputs and 8 rejects files");
    assert!(trees[0] == trees[1], "-j1 and -j4 outputs differ");
}

#[test]
fn a_bad_file_is_reported_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fs::create_dir(&input).unwrap();
    write_wet(&input, "a.warc.wet.gz", 20, 1);
    let good = write_wet(&input, "c.warc.wet.gz", 20, 2);
    // b: a good file cut in half.
    let bytes = fs::read(&good).unwrap();
    fs::write(input.join("b.warc.wet.gz"), &bytes[..bytes.len() / 2]).unwrap();
    let out = dir.path().join("out");
    let o = tria()
        .args(["run", "-q", "--input"])
        .arg(input.join("*.gz"))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.join("a.jsonl.zst").is_file() && out.join("c.jsonl.zst").is_file());
    assert!(!out.join("b.jsonl.zst").exists());
    let leftovers: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files removed");
    let r = report(&out);
    assert_eq!(r["files"]["failed"], 1);
    let err = r["failures"][0]["error"].as_str().unwrap();
    assert!(
        err.contains("b.warc.wet.gz") && err.contains("truncated") && err.contains("offset"),
        "{err}"
    );
}

#[test]
fn bad_configuration_stops_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    write_wet(dir.path(), "a.warc.wet.gz", 5, 1);
    let p = pipeline(
        dir.path(),
        "[input]\npaths = [\"a.warc.wet.gz\"]\n[output]\ndir = \"out\"\n[[stage]]\nkind = \"length\"\nmin_word = 3\n",
    );
    let o = tria().arg("run").arg(&p).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("pipeline.toml") && err.contains("min_word"),
        "{err}"
    );
    assert!(!dir.path().join("out").exists(), "nothing written");

    let p = pipeline(
        dir.path(),
        "[input]\npaths = [\"nothing-*.wet.gz\"]\n[output]\ndir = \"out\"\n",
    );
    let o = tria().arg("run").arg(&p).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no file matches `nothing-*.wet.gz`"));
}

#[test]
fn partitions_and_parquet_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let lines = "{\"text\":\"Bon dia, com estàs?\",\"lang\":\"ca\",\"id\":\"1\"}\n\
                 {\"text\":\"Egun on, zer moduz?\",\"lang\":\"eu\",\"id\":\"2\"}\n\
                 {\"text\":\"Bos días, que tal?\",\"lang\":\"gl\",\"id\":\"3\"}\n\
                 {\"text\":\"Bona nit.\",\"lang\":\"ca\",\"id\":\"4\"}\n\
                 {\"text\":\"No language here\",\"id\":\"5\"}\n";
    fs::write(dir.path().join("docs.jsonl"), lines).unwrap();
    let p = pipeline(
        dir.path(),
        "[input]\npaths = [\"docs.jsonl\"]\n[output]\ndir = \"out\"\nformat = \"parquet\"\npartition_by = \"lang\"\n",
    );
    run_ok(tria().args(["run", "-q"]).arg(&p));
    let out = dir.path().join("out");
    for (lang, n) in [("ca", 2), ("eu", 1), ("gl", 1), ("_unknown", 1)] {
        let f = out.join(lang).join("docs.parquet");
        let o = run_ok(tria().args(["inspect", "--json", "-n", "10"]).arg(&f));
        let docs: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(docs.len(), n, "{lang}");
        if lang != "_unknown" {
            assert!(docs.iter().all(|d| d["meta"]["lang"] == lang));
        }
    }
    let r = report(&out);
    assert_eq!(r["languages"]["ca"]["docs"], 2);
}

#[test]
fn a_killed_run_resumes_to_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fs::create_dir(&input).unwrap();
    for i in 0..24 {
        write_wet(&input, &format!("f{i:02}.warc.wet.gz"), 1500, 100 + i);
    }
    let p = pipeline(
        dir.path(),
        "[input]\npaths = [\"in/*.gz\"]\n[[stage]]\nkind = \"length\"\nmin_words = 10\n",
    );
    let clean = dir.path().join("clean");
    run_ok(
        tria()
            .args(["run", "-q", "-j", "2"])
            .arg(&p)
            .arg("-o")
            .arg(&clean),
    );

    let killed = dir.path().join("killed");
    let mut child = tria()
        .args(["run", "-q", "-j", "1"])
        .arg(&p)
        .arg("-o")
        .arg(&killed)
        .spawn()
        .unwrap();
    // Kill it once a few files are complete.
    let start = Instant::now();
    let done = killed.join(".tria/done");
    let markers = || {
        fs::read_dir(&done)
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                    .count()
            })
            .unwrap_or(0)
    };
    loop {
        let n = markers();
        if n >= 3 || start.elapsed() > Duration::from_secs(60) {
            break;
        }
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    child.wait().unwrap();
    let completed = markers();
    assert!(
        (3..24).contains(&completed),
        "killed part-way: {completed} files complete"
    );

    let o = run_ok(
        tria()
            .args(["run", "-j", "2"])
            .arg(&p)
            .arg("-o")
            .arg(&killed),
    );
    let r = report(&killed);
    assert_eq!(
        r["files"]["resumed"].as_u64().unwrap() as usize,
        completed,
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        r["files"]["processed"].as_u64().unwrap() as usize,
        24 - completed
    );
    assert!(
        tree(&clean) == tree(&killed),
        "resumed output differs from a clean run"
    );
    assert_eq!(
        report(&clean)["docs_out"],
        r["docs_out"],
        "the report covers resumed files too"
    );
}

#[test]
fn another_configuration_in_the_same_output_needs_force() {
    let dir = tempfile::tempdir().unwrap();
    write_wet(dir.path(), "a.warc.wet.gz", 10, 1);
    let p = pipeline(
        dir.path(),
        "[input]\npaths = [\"a.warc.wet.gz\"]\n[output]\ndir = \"out\"\n",
    );
    run_ok(tria().args(["run", "-q"]).arg(&p));
    let p = pipeline(
        dir.path(),
        "[input]\npaths = [\"a.warc.wet.gz\"]\n[output]\ndir = \"out\"\n[[stage]]\nkind = \"length\"\nmin_words = 50\n",
    );
    let o = tria().args(["run", "-q"]).arg(&p).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    run_ok(tria().args(["run", "-q", "--force"]).arg(&p));
    assert_eq!(report(&dir.path().join("out"))["files"]["processed"], 1);
    let o = run_ok(tria().args(["run", "--dry-run"]).arg(&p));
    assert!(String::from_utf8_lossy(&o.stdout).contains("[done]"));
}

#[test]
fn provenance_survives_a_second_pipeline_over_jsonl_and_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    fs::create_dir_all(&input).unwrap();
    let wet = write_wet(&input, "a.warc.wet.gz", 20, 5);
    for format in ["jsonl.zst", "parquet"] {
        let first = dir.path().join(format!("first-{format}"));
        run_ok(
            tria()
                .args(["run", "-q", "--output-format", format, "-i"])
                .arg(&wet)
                .arg("-o")
                .arg(&first),
        );
        let second = dir.path().join(format!("second-{format}"));
        run_ok(
            tria()
                .args(["run", "-q", "-i"])
                .arg(first.join(format!("a.{format}")))
                .arg("-o")
                .arg(&second),
        );
        let docs = read_jsonl_zst(&second.join("a.jsonl.zst"));
        assert_eq!(docs.len(), 20, "{format}");
        for (i, d) in docs.iter().enumerate() {
            assert_eq!(
                d["origin"]["file"].as_str().unwrap(),
                wet.to_string_lossy(),
                "{format}"
            );
            // WET records follow the warcinfo record; offsets are the gzip members' own.
            assert_eq!(d["origin"]["record"], i as u64 + 1, "{format}");
            assert!(d["origin"]["offset"].as_u64().unwrap() > 0, "{format}");
            assert!(d["meta"].get("origin").is_none() && d["meta"].get("origin_file").is_none());
        }
    }
}
