//! End-to-end: `tria run --tag-only`, `tria filters stats` against a real run with the same
//! thresholds, and `tria filters calibrate` feeding a pipeline through `settings = "DIR"`.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{read_jsonl_zst, report, run_ok, tria};
use tria::fixtures::{Rng, wet_conversion, wet_warcinfo, write_gz_members};

const SENTENCES: [(&str, &[&str]); 3] = [
    (
        "ca",
        &[
            "La casa del poble és gran i antiga, i la gent hi viu des de fa segles.",
            "Els nens van a l'escola que hi ha al costat de la plaça.",
            "El mercat obre cada dissabte amb fruita i verdura de la comarca.",
            "A la muntanya hi ha un riu que baixa fins a la vall.",
            "La biblioteca té molts llibres que els veïns poden llegir.",
            "Diuen que el pont vell es va construir per ordre del comte.",
        ],
    ),
    (
        "eu",
        &[
            "Herriko etxea handia eta zaharra da, eta jendeak mendeetan bizi izan du bertan.",
            "Haurrak plazaren ondoan dagoen eskolara joaten dira egunero.",
            "Merkatua larunbatero irekitzen da eskualdeko fruta eta barazkiekin.",
            "Mendian ibai bat dago, haranera jaisten dena.",
            "Liburutegiak liburu asko ditu, herritarrek irakur ditzaten.",
            "Zubi zaharra kondearen aginduz eraiki zela esaten dute.",
        ],
    ),
    (
        "gl",
        &[
            "A casa da aldea é grande e vella, e a xente vive nela hai séculos.",
            "Os nenos van á escola que está ao lado da praza.",
            "O mercado abre cada sábado con froita e verdura da comarca.",
            "Na montaña hai un río que baixa ata o val.",
            "A biblioteca ten moitos libros que os veciños poden ler.",
            "Din que a ponte vella se construíu por orde do conde.",
        ],
    ),
];

/// A document of one of five shapes (prose of 6..60 sentences, too short, repeated lines, a bullet
/// list, prose with one very long line), so that several thresholds of several stages fire.
fn document(rng: &mut Rng, lang: usize, shape: usize) -> String {
    let s = SENTENCES[lang].1;
    let pick = |rng: &mut Rng| s[rng.below(s.len())];
    let mut t = String::new();
    match shape {
        0 | 4 => {
            let n = 6 + rng.below(55);
            for i in 0..n {
                t.push_str(pick(rng));
                t.push(if i % 3 == 2 { '\n' } else { ' ' });
            }
            if shape == 4 {
                t.push_str("\nhttps://example.org/a/b/c?x=1 | inici | contacte | avís legal\n");
            }
        }
        1 => {
            t.push_str(pick(rng));
            t.push('\n');
        }
        2 => {
            let line = pick(rng);
            for _ in 0..(3 + rng.below(20)) {
                t.push_str(line);
                t.push('\n');
            }
            t.push_str(pick(rng));
        }
        _ => {
            for _ in 0..(4 + rng.below(12)) {
                let words: Vec<&str> = pick(rng).split(' ').take(3).collect();
                t.push_str("• ");
                t.push_str(&words.join(" "));
                t.push('\n');
            }
        }
    }
    t.trim_end().to_string() + "\n"
}

/// `(lang, text)` of `n` documents, languages and shapes interleaved, deterministic.
fn corpus(n: usize, seed: u64) -> Vec<(&'static str, String)> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|i| {
            let lang = i % 3;
            let shape = rng.below(5);
            (SENTENCES[lang].0, document(&mut rng, lang, shape))
        })
        .collect()
}

fn write_jsonl(path: &Path, docs: &[(&str, String)]) {
    let mut s = String::new();
    for (i, (lang, text)) in docs.iter().enumerate() {
        let v = serde_json::json!({"id": format!("d{i}"), "text": text, "lang": lang});
        s.push_str(&v.to_string());
        s.push('\n');
    }
    fs::write(path, s).unwrap();
}

fn write_wet_docs(path: &Path, docs: &[(&str, String)]) {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let mut records = vec![wet_warcinfo(&name)];
    for (i, (lang, text)) in docs.iter().enumerate() {
        let cc = match *lang {
            "ca" => "cat",
            "eu" => "eus",
            _ => "glg",
        };
        records.push(wet_conversion(
            i as u64 + 1,
            &format!("https://ex.{lang}/{i}"),
            cc,
            text,
        ));
    }
    write_gz_members(BufWriter::new(File::create(path).unwrap()), &records).unwrap();
}

const STAGES: &str = "[[stage]]\nkind = \"gopher_quality\"\n\
    [[stage]]\nkind = \"gopher_repetition\"\n\
    [[stage]]\nkind = \"fineweb\"\n\
    [[stage]]\nkind = \"c4\"\n";

fn pipeline(dir: &Path, input: &str, extra: &str) -> PathBuf {
    let p = dir.join("pipeline.toml");
    fs::write(
        &p,
        format!("[input]\npaths = [\"{input}\"]\n[output]\nrejects = true\n{extra}{STAGES}"),
    )
    .unwrap();
    p
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

#[test]
fn tag_only_run_keeps_every_document_and_records_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let docs = corpus(150, 7);
    write_wet_docs(&dir.path().join("mix.warc.wet.gz"), &docs);
    // Language ID first, keeping only Catalan: under --tag-only it labels and drops nothing.
    let p = pipeline(
        dir.path(),
        "mix.warc.wet.gz",
        "[[stage]]\nkind = \"lang\"\nkeep = [\"ca\"]\n",
    );

    // The same pipeline without --tag-only drops documents: the flag is what keeps them.
    let real = dir.path().join("real");
    run_ok(tria().args(["run", "-q"]).arg(&p).arg("-o").arg(&real));
    let kept_real = read_jsonl_zst(&real.join("mix.jsonl.zst")).len();
    assert!(
        kept_real < docs.len() / 2,
        "kept {kept_real} of {}",
        docs.len()
    );

    let tag = dir.path().join("tag");
    run_ok(
        tria()
            .args(["run", "-q", "--tag-only"])
            .arg(&p)
            .arg("-o")
            .arg(&tag),
    );
    let out = read_jsonl_zst(&tag.join("mix.jsonl.zst"));
    assert_eq!(out.len(), docs.len());
    let right = out
        .iter()
        .zip(&docs)
        .filter(|(d, (lang, _))| d["meta"]["lang"] == *lang)
        .count();
    assert!(
        right * 10 >= docs.len() * 8,
        "{right} of {} labelled right",
        docs.len()
    );
    for (d, (_, text)) in out.iter().zip(&docs) {
        // Text untouched (C4 would remove lines when it decides), every stage's statistics there.
        assert_eq!(d["text"].as_str().unwrap(), text);
        for k in [
            "gopher.words",
            "gopher.stop_words",
            "fineweb.line_punct_ratio",
            "c4.sentences",
        ] {
            assert!(d["attrs"][k].is_number(), "{k} missing in {}", d["attrs"]);
        }
    }
    let r = report(&tag);
    for s in r["stages"].as_array().unwrap() {
        assert!(s["drops"].as_object().is_none_or(|m| m.is_empty()), "{}", s);
    }
    let m = json(&tag.join("manifest.json"));
    for s in m["config"]["stages"].as_array().unwrap() {
        assert_eq!(s["settings"]["tag_only"], true, "{s}");
    }
    // Stats over the WET run: one section per language the lang stage found.
    run_ok(tria().args(["filters", "stats", "-q"]).arg(&tag));
    let stats = json(&tag.join("filter-stats.json"));
    for lang in ["ca", "eu", "gl"] {
        assert!(
            stats["langs"][lang]["documents"].as_u64().unwrap() >= 40,
            "{lang}"
        );
    }
    // A tagged run is another configuration: it cannot land in the real run's directory.
    let o = tria()
        .args(["run", "-q", "--tag-only"])
        .arg(&p)
        .arg("-o")
        .arg(&real)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Counts rejected documents per (language, stage, reason) from a real run's rejects files.
fn rejects_by_lang(out: &Path) -> BTreeMap<(String, String, String), u64> {
    let mut m = BTreeMap::new();
    for entry in fs::read_dir(out.join("_rejects")).unwrap() {
        let stage_dir = entry.unwrap().path();
        let stage = stage_dir.file_name().unwrap().to_string_lossy().to_string();
        for d in read_jsonl_zst(&stage_dir.join("mix.jsonl.zst")) {
            let lang = d["meta"]["lang"].as_str().unwrap().to_string();
            let reason = d["reason"].as_str().unwrap().to_string();
            *m.entry((lang, stage.clone(), reason)).or_default() += 1;
        }
    }
    m
}

#[test]
fn stats_of_a_tagged_run_match_what_a_real_run_drops() {
    let dir = tempfile::tempdir().unwrap();
    let docs = corpus(300, 11);
    write_jsonl(&dir.path().join("mix.jsonl"), &docs);
    let p = pipeline(dir.path(), "mix.jsonl", "");
    let tag = dir.path().join("tag");
    let real = dir.path().join("real");
    run_ok(
        tria()
            .args(["run", "-q", "--tag-only"])
            .arg(&p)
            .arg("-o")
            .arg(&tag),
    );
    run_ok(tria().args(["run", "-q"]).arg(&p).arg("-o").arg(&real));
    let o = run_ok(tria().args(["filters", "stats"]).arg(&tag));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("300 documents"), "{stderr}");

    let stats = json(&tag.join("filter-stats.json"));
    let r = report(&real);
    assert_eq!(stats["documents"], 300);
    let real_dropped =
        r["documents"]["in"].as_u64().unwrap_or(300) - r["documents"]["out"].as_u64().unwrap_or(0);
    let kept = read_jsonl_zst(&real.join("mix.jsonl.zst")).len() as u64;
    assert_eq!(stats["dropped"].as_u64().unwrap(), 300 - kept);
    assert!(real_dropped > 0);

    // Drops by stage and reason: exactly the real run's report.
    let mut reasons = 0;
    for s in r["stages"].as_array().unwrap() {
        let name = s["name"].as_str().unwrap();
        let real_drops = s["drops"].as_object().cloned().unwrap_or_default();
        let ours = stats["drops"][name]
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(real_drops, ours, "stage {name}");
        reasons += real_drops.len();
    }
    assert!(
        reasons >= 3,
        "the corpus should trip several thresholds: {r}"
    );

    // Per language: drops by stage and reason equal the real run's rejects, and the first
    // threshold of the first stage removes the same share in the summary as in the real run.
    let rejects = rejects_by_lang(&real);
    for lang in ["ca", "eu", "gl"] {
        let l = &stats["langs"][lang];
        assert_eq!(l["documents"], 100, "{lang}");
        let mut ours = BTreeMap::new();
        for (stage, m) in l["drops"].as_object().unwrap() {
            for (reason, n) in m.as_object().unwrap() {
                ours.insert(
                    (lang.to_string(), stage.clone(), reason.clone()),
                    n.as_u64().unwrap(),
                );
            }
        }
        let theirs: BTreeMap<_, _> = rejects
            .iter()
            .filter(|((l, _, _), _)| l == lang)
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        assert_eq!(ours, theirs, "{lang}");
        let short = l["thresholds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["reason"] == "gopher_short_doc")
            .unwrap();
        let removed = (short["share_removed"].as_f64().unwrap()
            * short["documents_with_stat"].as_f64().unwrap())
        .round() as u64;
        let real_short = theirs
            .get(&(
                lang.into(),
                "gopher_quality".into(),
                "gopher_short_doc".into(),
            ))
            .copied()
            .unwrap_or(0);
        assert!(real_short > 0, "{lang}");
        assert_eq!(removed, real_short, "{lang}");
    }

    let md = fs::read_to_string(tag.join("filter-stats.md")).unwrap();
    for h in ["## ca", "## eu", "## gl", "gopher_short_doc"] {
        assert!(md.contains(h), "{h} missing from the Markdown");
    }
    let html = fs::read_to_string(tag.join("filter-stats.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert!(
        html.matches("<svg").count() >= 3 * 10,
        "one plot per statistic"
    );
    assert!(
        html.contains("id=\"lang-eu\"") && html.contains("What a run with these thresholds drops")
    );
    // The stats files are outputs of their own: no temporaries left behind.
    assert!(fs::read_dir(&tag).unwrap().all(|e| {
        !e.unwrap()
            .file_name()
            .to_string_lossy()
            .contains(".tria-tmp")
    }));
}

#[test]
fn stats_needs_a_run_directory() {
    let dir = tempfile::tempdir().unwrap();
    let o = tria()
        .args(["filters", "stats"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("manifest.json"), "{e}");
}

#[test]
fn calibrated_settings_load_in_a_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    // Reference: Catalan prose of 2..5 sentences (13..16 words each) per line, so Gopher's
    // 50-word minimum cuts deep into it and calibration must lower it (to about 26..32).
    let data = dir.path().join("data");
    fs::create_dir(&data).unwrap();
    let mut rng = Rng(3);
    let s = SENTENCES[0].1;
    let mut lines = String::new();
    for _ in 0..400 {
        for _ in 0..(2 + rng.below(4)) {
            lines.push_str(s[rng.below(s.len())]);
            lines.push(' ');
        }
        lines.push('\n');
    }
    fs::write(data.join("ca.txt"), &lines).unwrap();
    let settings = dir.path().join("settings");
    let o = run_ok(
        tria()
            .args(["filters", "calibrate", "--lang", "ca", "--quantile", "0.02"])
            .arg("--data")
            .arg(&data)
            .arg("--out")
            .arg(&settings),
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("400 reference documents"), "{stdout}");
    let file = fs::read_to_string(settings.join("ca.toml")).unwrap();
    let t: toml::Table = file.parse().unwrap();
    let min_words = t["gopher_quality"]["min_doc_words"].as_integer().unwrap();
    assert!((10..50).contains(&min_words), "{file}");
    assert!(json(&settings.join("ca.calibration.json"))["documents"] == 400);

    // Documents of three sentences (39..48 words): the built-in settings drop them as short, the
    // calibrated ones keep them.
    let docs: Vec<(&str, String)> = (0..40)
        .map(|_| {
            let mut t = String::new();
            for _ in 0..3 {
                t.push_str(s[rng.below(s.len())]);
                t.push(' ');
            }
            ("ca", t.trim_end().to_string())
        })
        .collect();
    write_jsonl(&dir.path().join("docs.jsonl"), &docs);
    let run = |name: &str, stage: &str| {
        let p = dir.path().join(format!("{name}.toml"));
        fs::write(
            &p,
            format!("[input]\npaths = [\"docs.jsonl\"]\n[output]\ndir = \"{name}\"\n{stage}"),
        )
        .unwrap();
        run_ok(tria().args(["run", "-q"]).arg(&p));
        report(&dir.path().join(name))
    };
    let builtin = run("builtin", "[[stage]]\nkind = \"gopher_quality\"\n");
    let calibrated = run(
        "calibrated",
        "[[stage]]\nkind = \"gopher_quality\"\nsettings = \"settings\"\n",
    );
    assert_eq!(builtin["stages"][0]["drops"]["gopher_short_doc"], 40);
    assert!(
        calibrated["stages"][0]["drops"]["gopher_short_doc"].is_null(),
        "{calibrated}"
    );

    // Sentence-per-line data grouped into pseudo-documents: 400 lines, 8 per document.
    let grouped = dir.path().join("grouped");
    let o = run_ok(
        tria()
            .args([
                "filters",
                "calibrate",
                "--lang",
                "ca",
                "--lines-per-doc",
                "8",
            ])
            .arg("--data")
            .arg(data.join("ca.txt"))
            .arg("--out")
            .arg(&grouped),
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("50 reference documents"));
    assert!(grouped.join("ca.toml").is_file());

    // Usage errors: a language outside the 35, a quantile out of range.
    for bad in [["--lang", "xx"], ["--quantile", "0.7"]] {
        let mut c = tria();
        c.args(["filters", "calibrate", "--lang", "ca"])
            .arg("--data")
            .arg(&data)
            .args(bad);
        let o = c.output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
    }
}
