//! End-to-end runs of `tria eval` and `tria train-small` on token shards the tests write with the
//! tokenizer crate's `ShardWriter` (random token ids, a sidecar with byte counts and languages)
//! and tiny random Llama models.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use support::{run_ok, tria};
use tria::fixtures::Rng;
use tria_runtime::{EvalDoc, EvalOptions, Llama, TrainOptions, WindowMode, evaluate};
use tria_tokenizer::shards::{IndexedDataset, ShardMeta, ShardWriter, Sidecar, shard_paths};

const VOCAB: u32 = 97;
const EOD: u32 = 2;
const LANGS: [&str; 4] = ["ca", "eu", "gl", ""];

/// What the test wrote into a shard, to check the reports against.
struct Written {
    /// Per language (`""` unknown): UTF-8 bytes and tokens without EOD.
    bytes_by_lang: BTreeMap<String, u64>,
    tokens: u64,
    bytes: u64,
}

/// A shard of `docs` documents of random tokens (3..VOCAB) ending with EOD, random languages and
/// byte counts.
fn write_shard(prefix: &Path, docs: usize, seed: u64) -> Written {
    let meta = ShardMeta {
        tokenizer_hash: "0123456789abcdef".into(),
        vocab_size: VOCAB,
        eod_token: Some(EOD),
        dtype: None,
    };
    let mut w = ShardWriter::create(prefix, meta).unwrap();
    let mut rng = Rng(seed);
    let mut out = Written {
        bytes_by_lang: BTreeMap::new(),
        tokens: 0,
        bytes: 0,
    };
    for _ in 0..docs {
        let n = 1 + rng.below(70);
        let mut tokens: Vec<u32> = (0..n)
            .map(|_| 3 + rng.below(VOCAB as usize - 3) as u32)
            .collect();
        tokens.push(EOD);
        let lang = LANGS[rng.below(LANGS.len())];
        let bytes = (n * 4 + rng.below(9)) as u64;
        w.add_document(&tokens, lang, bytes).unwrap();
        *out.bytes_by_lang.entry(lang.to_string()).or_default() += bytes;
        out.tokens += n as u64;
        out.bytes += bytes;
    }
    w.finish().unwrap();
    out
}

/// A tiny random Llama (seeded initialisation, one training step) saved under `dir/final`.
fn write_model(dir: &Path, seed: u64) -> PathBuf {
    let mut cfg = TrainOptions::tiny_config(VOCAB as usize, 64);
    cfg.hidden_size = 32;
    cfg.intermediate_size = 48;
    cfg.num_hidden_layers = 2;
    cfg.num_attention_heads = 4;
    cfg.num_key_value_heads = Some(2);
    cfg.tie_word_embeddings = false;
    let mut opts = TrainOptions::new(cfg);
    opts.steps = 1;
    opts.batch = 1;
    opts.seq_len = 16;
    opts.warmup = 1;
    opts.init_std = 0.2;
    opts.seed = seed;
    opts.out_dir = Some(dir.to_path_buf());
    let train: Vec<Vec<u32>> = vec![(0..40).map(|i| 3 + i % 50).collect()];
    tria_runtime::train_small(
        &opts,
        &train,
        Vec::new(),
        &tria_runtime::Device::Cpu,
        |_| {},
    )
    .unwrap();
    dir.join("final")
}

/// The shard's documents as the test reads them: EOD stripped, languages and bytes from the sidecar.
fn docs_of(prefix: &Path, label: &str) -> Vec<EvalDoc> {
    let ds = IndexedDataset::open(prefix).unwrap();
    let side = Sidecar::read(&shard_paths(prefix).2).unwrap();
    (0..ds.len())
        .map(|i| {
            let mut tokens = ds.get(i).unwrap().to_vec();
            assert_eq!(tokens.pop(), Some(EOD));
            let lang = &side.lang_table[side.doc_lang[i] as usize];
            EvalDoc {
                tokens,
                bytes: side.doc_utf8_bytes[i],
                lang: (!lang.is_empty()).then(|| lang.clone()),
                shard: label.to_string(),
            }
        })
        .collect()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

fn f(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12),
        "{what}: {a} vs {b}"
    );
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn eval_matches_the_library_and_uses_sidecar_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model_dir = write_model(&d.join("m"), 5);
    let (s1, s2) = (d.join("cc-000"), d.join("cc-001"));
    let w1 = write_shard(&s1, 40, 1);
    let w2 = write_shard(&s2, 25, 2);
    let report = d.join("eval.json");
    let out = run_ok(
        tria()
            .args(["eval", "--model"])
            .arg(&model_dir)
            .arg("--shards")
            .arg(&s1)
            .arg(shard_paths(&s2).1) // a shard's .idx names its prefix too
            .args([
                "--context",
                "24",
                "--batch",
                "3",
                "--bos",
                "1",
                "-j",
                "2",
                "--json",
            ])
            .arg(&report),
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("language") && table.contains(" ca "),
        "{table}"
    );
    let j = json(&report);
    let r = &j["report"];
    assert_eq!(j["mode"], "rolling");
    assert_eq!(j["context"], 24);

    // The library on the same documents, shard by shard, gives the same figures.
    let model = Llama::load(&model_dir, &tria_runtime::Device::Cpu).unwrap();
    let opts = EvalOptions {
        context: 24,
        batch: 3,
        bos: Some(1),
        mode: WindowMode::Rolling,
        ..EvalOptions::for_model(&model)
    };
    let mut nll_total = 0.0;
    for (prefix, w) in [(&s1, &w1), (&s2, &w2)] {
        let label = prefix.to_string_lossy().into_owned();
        let lib = evaluate(&model, docs_of(prefix, &label), &opts, |_| {}).unwrap();
        let got = &r["shards"][&label];
        close(f(&got["nll_sum"]), lib.total.nll_sum, "shard nll");
        close(f(&got["loss"]), lib.total.loss, "shard loss");
        // With BOS every text token is scored once; the EOD the shard appends is not.
        assert_eq!(got["tokens"], w.tokens);
        assert_eq!(lib.total.tokens, w.tokens);
        assert_eq!(got["bytes"], w.bytes);
        close(
            f(&got["bits_per_byte"]),
            lib.total.nll_sum / w.bytes as f64 / std::f64::consts::LN_2,
            "shard bits per byte",
        );
        nll_total += lib.total.nll_sum;
    }
    let bytes_total = w1.bytes + w2.bytes;
    assert_eq!(r["total"]["bytes"], bytes_total);
    close(f(&r["total"]["nll_sum"]), nll_total, "total nll");
    close(
        f(&r["total"]["bits_per_byte"]),
        nll_total / bytes_total as f64 / std::f64::consts::LN_2,
        "total bits per byte",
    );
    close(
        f(&r["total"]["perplexity"]),
        (nll_total / (w1.tokens + w2.tokens) as f64).exp(),
        "perplexity",
    );
    // Per language: the sidecar's bytes, `""` reported as "unknown".
    for lang in LANGS {
        let want = w1.bytes_by_lang.get(lang).copied().unwrap_or(0)
            + w2.bytes_by_lang.get(lang).copied().unwrap_or(0);
        let key = if lang.is_empty() { "unknown" } else { lang };
        assert_eq!(r["languages"][key]["bytes"], want, "{key}");
    }

    // Second-half mode: scored tokens are fewer, no bits per byte.
    let half = d.join("half.json");
    run_ok(
        tria()
            .args(["eval", "-q", "--second-half", "--context", "16", "--model"])
            .arg(&model_dir)
            .arg("--shards")
            .arg(&s1)
            .arg("--json")
            .arg(&half),
    );
    let h = json(&half);
    assert_eq!(h["mode"], "second-half");
    assert!(h["report"]["total"]["bits_per_byte"].is_null());
    assert!(h["report"]["total"]["tokens"].as_u64().unwrap() < w1.tokens);
}

#[test]
fn rerun_skips_evaluated_shards_and_output_is_independent_of_threads() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model_dir = write_model(&d.join("m"), 9);
    let (s1, s2) = (d.join("a-000"), d.join("a-001"));
    write_shard(&s1, 30, 3);
    write_shard(&s2, 30, 4);
    let report = d.join("r/eval.json");
    let eval = |shards: &[&Path], json: &Path, extra: &[&str]| {
        let mut cmd = tria();
        cmd.args(["eval", "--batch", "2", "--model"])
            .arg(&model_dir)
            .arg("--shards")
            .args(shards)
            .arg("--json")
            .arg(json)
            .args(extra);
        if !extra.contains(&"--context") {
            cmd.args(["--context", "32"]);
        }
        stderr(&run_ok(&mut cmd))
    };
    let e = eval(&[&s1], &report, &[]);
    assert!(e.contains("1 evaluated, 0 reused"), "{e}");
    let cache_dir = d.join("r/eval.json.shards");
    let cached: Vec<_> = fs::read_dir(&cache_dir).unwrap().collect();
    assert_eq!(cached.len(), 1);
    let cache1 = cached[0].as_ref().unwrap().path();
    let cache1_bytes = fs::read(&cache1).unwrap();

    let e = eval(&[&s1, &s2], &report, &[]);
    assert!(e.contains("1 evaluated, 1 reused"), "{e}");
    assert_eq!(fs::read(&cache1).unwrap(), cache1_bytes);
    let both = fs::read(&report).unwrap();

    let e = eval(&[&s1, &s2], &report, &[]);
    assert!(e.contains("0 evaluated, 2 reused"), "{e}");
    assert_eq!(fs::read(&report).unwrap(), both);

    // --force redoes both and gives the same bytes; so do one and two threads.
    let e = eval(&[&s1, &s2], &report, &["--force", "-j", "1"]);
    assert!(e.contains("2 evaluated, 0 reused"), "{e}");
    assert_eq!(fs::read(&report).unwrap(), both);
    let other = d.join("r2/eval.json");
    eval(&[&s1, &s2], &other, &["-j", "2"]);
    assert_eq!(fs::read(&other).unwrap(), both);

    // Other settings or a changed shard are not reused.
    let e = eval(&[&s1, &s2], &report, &["--context", "16"]);
    assert!(e.contains("2 evaluated, 0 reused"), "{e}");
    write_shard(&s2, 31, 5);
    let e = eval(&[&s1, &s2], &report, &["--context", "16"]);
    assert!(e.contains("1 evaluated, 1 reused"), "{e}");
}

#[test]
fn bad_shard_fails_with_exit_1_and_bad_options_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model_dir = write_model(&d.join("m"), 11);
    let (good, bad) = (d.join("g-000"), d.join("b-000"));
    write_shard(&good, 10, 6);
    write_shard(&bad, 10, 7);
    let idx = shard_paths(&bad).1;
    let len = fs::metadata(&idx).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&idx)
        .unwrap()
        .set_len(len - 20)
        .unwrap();
    let report = d.join("eval.json");
    let out = tria()
        .args(["eval", "--context", "32", "--model"])
        .arg(&model_dir)
        .arg("--shards")
        .arg(&bad)
        .arg(&good)
        .arg("--json")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let e = stderr(&out);
    assert!(e.contains(&*bad.to_string_lossy()), "{e}");
    let j = json(&report);
    assert_eq!(j["failed"].as_array().unwrap().len(), 1);
    assert!(
        j["report"]["shards"][&*good.to_string_lossy()]["tokens"]
            .as_u64()
            .unwrap()
            > 0
    );

    // A context above the model's maximum (64) is a usage error, before any work.
    let out = tria()
        .args(["eval", "--context", "100", "--model"])
        .arg(&model_dir)
        .arg("--shards")
        .arg(&good)
        .arg("--json")
        .arg(d.join("x.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("context 100"), "{}", stderr(&out));
    assert!(!d.join("x.json").exists());
    let out = tria()
        .args(["eval", "--model"])
        .arg(d.join("nope"))
        .arg("--shards")
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn train_small_is_deterministic_for_a_seed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (s1, s2) = (d.join("t-000"), d.join("t-001"));
    write_shard(&s1, 60, 8);
    write_shard(&s2, 60, 9);
    let train = |out: &Path, seed: &str| {
        let mut cmd = tria();
        cmd.args(["train-small", "--shards"])
            .arg(&s1)
            .arg(&s2)
            .arg("--out")
            .arg(out)
            .args([
                "--steps",
                "4",
                "--seed",
                seed,
                "--hidden",
                "32",
                "--layers",
                "1",
                "--heads",
                "2",
                "--seq-len",
                "32",
                "--batch",
                "2",
                "--heldout-fraction",
                "0.2",
                "--checkpoint-every",
                "2",
            ]);
        let e = stderr(&run_ok(&mut cmd));
        (e, json(&out.join("train-report.json")))
    };
    let (e, a) = train(&d.join("a"), "7");
    assert!(e.contains("held-out"), "{e}");
    let (_, b) = train(&d.join("b"), "7");
    let (_, c) = train(&d.join("c"), "8");
    let loss = |j: &serde_json::Value| f(&j["report"]["heldout"]["total"]["loss"]);
    assert!(a["heldout_documents"].as_u64().unwrap() > 5);
    assert_eq!(a["heldout_documents"], c["heldout_documents"]);
    assert_eq!(loss(&a).to_bits(), loss(&b).to_bits());
    assert_ne!(loss(&a).to_bits(), loss(&c).to_bits());
    assert!(
        a["report"]["heldout"]["total"]["bits_per_byte"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert_eq!(a["report"]["steps"].as_array().unwrap().len(), 4);
    let weights =
        |run: &str, ck: &str| fs::read(d.join(run).join(ck).join("model.safetensors")).unwrap();
    assert_eq!(weights("a", "final"), weights("b", "final"));
    assert_eq!(weights("a", "step-000002"), weights("b", "step-000002"));
    assert_ne!(weights("a", "final"), weights("c", "final"));

    // The trained model loads for `tria eval`; a rerun of the same training is skipped.
    let before = fs::read(d.join("a/train-report.json")).unwrap();
    let (e, _) = train(&d.join("a"), "7");
    assert!(e.contains("already holds"), "{e}");
    assert_eq!(fs::read(d.join("a/train-report.json")).unwrap(), before);
    run_ok(
        tria()
            .args(["eval", "-q", "--model"])
            .arg(d.join("a/final"))
            .arg("--shards")
            .arg(&s1)
            .arg("--json")
            .arg(d.join("e.json")),
    );
}
