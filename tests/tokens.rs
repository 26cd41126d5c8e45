//! End-to-end runs of `tria tokenizer train`, `tria tokenize`, `tria shards` and pipelines with
//! `[output] kind = "tokens"`: shards read back with the crate's reader equal direct encoding.

#![allow(clippy::unwrap_used)]

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use support::{run_ok, tree, tria, write_wet};
use tria::read::{self, ReadOptions};
use tria_tokenizer::{Encoder, IndexedDataset, Sidecar};

/// The documents of `files` in order, as (text, lang).
fn docs_of(files: &[&Path]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for f in files {
        for d in read::open(f, None, &ReadOptions::default()).unwrap() {
            let d = d.unwrap();
            let lang = d.lang().unwrap_or("").to_string();
            out.push((d.text, lang));
        }
    }
    out
}

/// Every sequence of a shard.
fn shard_tokens(prefix: &Path) -> Vec<Vec<u32>> {
    let ds = IndexedDataset::open(prefix).unwrap();
    (0..ds.len()).map(|i| ds.get(i).unwrap().to_vec()).collect()
}

fn assert_shard_matches(prefix: &Path, tokenizer: &Path, docs: &[(String, String)]) {
    let enc = Encoder::from_file(tokenizer).unwrap();
    let got = shard_tokens(prefix);
    assert_eq!(got.len(), docs.len(), "{}", prefix.display());
    for (i, ((text, _), toks)) in docs.iter().zip(&got).enumerate() {
        assert_eq!(
            &enc.encode(text).unwrap(),
            toks,
            "document {i} of {}",
            prefix.display()
        );
        assert_eq!(toks.last().copied(), enc.eod(), "EOD appended");
    }
    let side = Sidecar::read(&with(prefix, ".json")).unwrap();
    assert_eq!(side.tokenizer_hash, enc.hash());
    assert_eq!(side.documents, docs.len() as u64);
    let bytes: Vec<u64> = docs.iter().map(|(t, _)| t.len() as u64).collect();
    assert_eq!(side.doc_utf8_bytes, bytes);
    let langs: Vec<&str> = side
        .doc_lang
        .iter()
        .map(|&l| side.lang_table[l as usize].as_str())
        .collect();
    let want: Vec<&str> = docs.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(langs, want);
}

fn with(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn shard_files(prefix: &Path) -> Vec<Vec<u8>> {
    [".bin", ".idx", ".json"]
        .iter()
        .map(|s| fs::read(with(prefix, s)).unwrap())
        .collect()
}

/// A JSONL file of documents with a `lang` field.
fn write_jsonl(path: &Path, docs: &[(&str, String)]) {
    let mut s = String::new();
    for (i, (lang, text)) in docs.iter().enumerate() {
        s.push_str(
            &serde_json::json!({"id": format!("d{i}"), "text": text, "lang": lang}).to_string(),
        );
        s.push('\n');
    }
    fs::write(path, s).unwrap();
}

const CA: &[&str] = &[
    "La casa del poble és gran i antiga, amb una plaça al davant.",
    "Els nens juguen al carrer mentre les mares parlen del mercat.",
    "A la muntanya fa fred a l'hivern i calor a l'estiu.",
];
const EU: &[&str] = &[
    "Herriko etxea handia eta zaharra da, plaza bat aurrean duela.",
    "Haurrak kalean jolasten dira amak merkatuaz hitz egiten duten bitartean.",
    "Mendian hotz egiten du neguan eta bero udan.",
];

fn lang_docs(n: usize, seed: usize) -> Vec<(&'static str, String)> {
    (0..n)
        .map(|i| {
            let k = (i * 7 + seed) % 3;
            // Every third document is one sentence only (the length stage drops those).
            let short = (i + seed) % 3 == 2;
            let (lang, s) = if (i + seed) % 2 == 0 {
                ("ca", CA)
            } else {
                ("eu", EU)
            };
            if short {
                (lang, format!("{} {i}", s[k]))
            } else {
                (lang, format!("{} {} {i}", s[k], s[(k + 1) % 3]))
            }
        })
        .collect()
}

#[test]
fn train_byte_level_then_tokenize_any_thread_count_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = write_wet(d, "a.warc.wet.gz", 120, 1);
    let b = write_wet(d, "b.warc.wet.gz", 80, 2);
    let tok = d.join("tok/tokenizer.json");
    let o = run_ok(
        tria()
            .args([
                "tokenizer",
                "train",
                "--model",
                "byte-level",
                "--vocab-size",
                "400",
            ])
            .arg("--input")
            .arg(d.join("*.warc.wet.gz"))
            .arg("--out")
            .arg(&tok),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("200 documents"), "{stderr}");
    let enc = Encoder::from_file(&tok).unwrap();
    assert!(
        enc.vocab_size() > 300 && enc.vocab_size() <= 400,
        "{}",
        enc.vocab_size()
    );
    assert_eq!(
        enc.eod(),
        Some(0),
        "<|endoftext|> is the first special token"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("tok/tokenizer.report.json")).unwrap()).unwrap();
    assert_eq!(report["documents"], 200);
    assert_eq!(report["tokenizer_hash"], enc.hash());

    // Training again with the same inputs and options is skipped; another vocabulary is not.
    let o = run_ok(
        tria()
            .args([
                "tokenizer",
                "train",
                "--model",
                "byte-level",
                "--vocab-size",
                "400",
            ])
            .arg("--input")
            .arg(&b)
            .arg(&a)
            .arg("--out")
            .arg(&tok),
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("already trained"));

    let docs = docs_of(&[&a, &b]);
    assert_eq!(docs.len(), 200);
    let mut outs = Vec::new();
    for j in ["1", "4"] {
        let prefix = d.join(format!("shards-j{j}/train"));
        run_ok(
            tria()
                .args(["tokenize", "-q", "-j", j, "--tokenizer"])
                .arg(&tok)
                .arg("--input")
                .arg(&b)
                .arg(&a)
                .arg("--out")
                .arg(&prefix),
        );
        assert_shard_matches(&prefix, &tok, &docs);
        outs.push(shard_files(&prefix));
    }
    assert_eq!(outs[0], outs[1], "-j1 and -j4 shards are byte-identical");
    // vocab 400 < 65,500: uint16 tokens, two bytes each.
    let total: usize = shard_tokens(&d.join("shards-j1/train"))
        .iter()
        .map(Vec::len)
        .sum();
    assert_eq!(outs[0][0].len(), total * 2);

    // A rerun with the same tokenizer and inputs skips; after the tokenizer changes it redoes.
    let prefix = d.join("shards-j1/train");
    let before = fs::metadata(with(&prefix, ".bin"))
        .unwrap()
        .modified()
        .unwrap();
    let o = run_ok(
        tria()
            .args(["tokenize", "--tokenizer"])
            .arg(&tok)
            .arg("--input")
            .arg(&a)
            .arg(&b)
            .arg("--out")
            .arg(&prefix),
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("already complete"));
    assert_eq!(
        fs::metadata(with(&prefix, ".bin"))
            .unwrap()
            .modified()
            .unwrap(),
        before
    );
    let tok2 = d.join("tok/small.json");
    run_ok(
        tria()
            .args([
                "tokenizer",
                "train",
                "-q",
                "--model",
                "byte-level",
                "--vocab-size",
                "300",
            ])
            .arg("--input")
            .arg(&a)
            .arg("--out")
            .arg(&tok2),
    );
    let o = run_ok(
        tria()
            .args(["tokenize", "--tokenizer"])
            .arg(&tok2)
            .arg("--input")
            .arg(&a)
            .arg(&b)
            .arg("--out")
            .arg(&prefix),
    );
    assert!(!String::from_utf8_lossy(&o.stderr).contains("already complete"));
    assert_shard_matches(&prefix, &tok2, &docs);

    // PREFIX.json would overwrite the tokenizer: refused as a usage error, tokenizer untouched.
    let tok_bytes = fs::read(&tok).unwrap();
    let o = tria()
        .args(["tokenize", "--tokenizer"])
        .arg(&tok)
        .arg("--input")
        .arg(&a)
        .arg("--out")
        .arg(d.join("tok/tokenizer"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("would overwrite the tokenizer"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(fs::read(&tok).unwrap(), tok_bytes);
    assert!(!d.join("tok/tokenizer.bin").exists());
}

#[test]
fn sentencepiece_tokenizer_with_byte_fallback_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let train = d.join("train.jsonl");
    write_jsonl(&train, &lang_docs(300, 0));
    let tok = d.join("sp.json");
    run_ok(
        tria()
            .args([
                "tokenizer",
                "train",
                "-q",
                "--model",
                "sentencepiece",
                "--vocab-size",
                "420",
                "--lang-weights",
                "eu=3",
            ])
            .arg("--input")
            .arg(&train)
            .arg("--out")
            .arg(&tok),
    );
    let json: serde_json::Value = serde_json::from_slice(&fs::read(&tok).unwrap()).unwrap();
    assert_eq!(json["model"]["byte_fallback"], true);
    let enc = Encoder::from_file(&tok).unwrap();
    assert_eq!(enc.eod(), Some(2), "</s> is id 2 (Salamandra)");

    // Characters never seen in training go through byte fallback and still round-trip.
    let test = d.join("test.jsonl");
    let texts = vec![
        ("el", "Το σπίτι είναι μεγάλο.".to_string()),
        ("ca", "La plaça 🏰 és gran: 12345 €".to_string()),
        ("eu", "Herriko etxea handia da.".to_string()),
    ];
    write_jsonl(&test, &texts);
    let prefix = d.join("sp-shard");
    run_ok(
        tria()
            .args(["tokenize", "-q", "--tokenizer"])
            .arg(&tok)
            .arg("--input")
            .arg(&test)
            .arg("--out")
            .arg(&prefix),
    );
    let docs = docs_of(&[&test]);
    assert_shard_matches(&prefix, &tok, &docs);
    let seqs = shard_tokens(&prefix);
    let tk = enc.tokenizer();
    for ((_, text), seq) in texts.iter().zip(&seqs) {
        let body = &seq[..seq.len() - 1];
        assert_eq!(&tk.decode(body, false).unwrap(), text);
    }
    let fallback = |seq: &[u32]| {
        seq.iter()
            .any(|&t| tk.id_to_token(t).is_some_and(|s| s.starts_with("<0x")))
    };
    assert!(fallback(&seqs[0]), "Greek is not in the vocabulary: bytes");
    assert!(fallback(&seqs[1]), "the emoji goes through byte fallback");
    let side = Sidecar::read(&with(&prefix, ".json")).unwrap();
    assert_eq!(side.languages["el"].documents, 1);
    assert_eq!(side.languages["eu"].utf8_bytes, texts[2].1.len() as u64);

    // `shards inspect` decodes with the tokenizer.
    let o = run_ok(
        tria()
            .args(["shards", "inspect", "-n", "2", "--tokenizer"])
            .arg(&tok)
            .arg(with(&prefix, ".bin")),
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("documents  3"), "{out}");
    assert!(out.contains("Το σπίτι είναι μεγάλο."), "{out}");
    assert!(out.contains("lang el"), "{out}");
}

#[test]
fn shards_merge_concatenates_and_refuses_mixed_tokenizers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (a, b) = (d.join("a.jsonl"), d.join("b.jsonl"));
    write_jsonl(&a, &lang_docs(40, 1));
    write_jsonl(&b, &lang_docs(25, 2));
    let tok = d.join("t.json");
    run_ok(
        tria()
            .args([
                "tokenizer",
                "train",
                "-q",
                "--model",
                "byte-level",
                "--vocab-size",
                "350",
            ])
            .arg("--input")
            .arg(&a)
            .arg(&b)
            .arg("--out")
            .arg(&tok),
    );
    for (f, p) in [(&a, "sa"), (&b, "sb")] {
        run_ok(
            tria()
                .args(["tokenize", "-q", "--tokenizer"])
                .arg(&tok)
                .arg("--input")
                .arg(f)
                .arg("--out")
                .arg(d.join(p)),
        );
    }
    run_ok(
        tria()
            .args(["shards", "merge", "--out"])
            .arg(d.join("merged/all"))
            .arg(d.join("sa"))
            .arg(d.join("sb")),
    );
    let merged = shard_tokens(&d.join("merged/all"));
    let mut want = shard_tokens(&d.join("sa"));
    want.extend(shard_tokens(&d.join("sb")));
    assert_eq!(merged, want);
    assert_shard_matches(&d.join("merged/all"), &tok, &docs_of(&[&a, &b]));

    // A shard of another tokenizer cannot be merged in.
    let tok2 = d.join("t2.json");
    run_ok(
        tria()
            .args([
                "tokenizer",
                "train",
                "-q",
                "--model",
                "byte-level",
                "--vocab-size",
                "330",
            ])
            .arg("--input")
            .arg(&a)
            .arg("--out")
            .arg(&tok2),
    );
    run_ok(
        tria()
            .args(["tokenize", "-q", "--tokenizer"])
            .arg(&tok2)
            .arg("--input")
            .arg(&a)
            .arg("--out")
            .arg(d.join("other")),
    );
    let o = tria()
        .args(["shards", "merge", "--out"])
        .arg(d.join("bad"))
        .arg(d.join("sa"))
        .arg(d.join("other"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("tokenizer hash"));
    assert!(!d.join("bad.bin").exists());
}

#[test]
fn unreadable_input_writes_no_shard_unless_keep_going() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = write_wet(d, "a.warc.wet.gz", 30, 3);
    let b = write_wet(d, "b.warc.wet.gz", 30, 4);
    let tok = d.join("t.json");
    run_ok(
        tria()
            .args([
                "tokenizer",
                "train",
                "-q",
                "--model",
                "byte-level",
                "--vocab-size",
                "300",
            ])
            .arg("--input")
            .arg(&a)
            .arg("--out")
            .arg(&tok),
    );
    // Truncate b in the middle of a gzip member.
    let bytes = fs::read(&b).unwrap();
    fs::write(&b, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let o = tria()
        .args(["tokenize", "--tokenizer"])
        .arg(&tok)
        .arg("--input")
        .arg(&a)
        .arg(&b)
        .arg("--out")
        .arg(d.join("s"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("FAILED") && stderr.contains("b.warc.wet.gz"),
        "{stderr}"
    );
    assert!(!d.join("s.bin").exists() && !d.join("s.bin.tmp").exists());

    let o = tria()
        .args(["tokenize", "--keep-going", "--tokenizer"])
        .arg(&tok)
        .arg("--input")
        .arg(&a)
        .arg(&b)
        .arg("--out")
        .arg(d.join("s"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let ds = IndexedDataset::open(d.join("s")).unwrap();
    assert!(ds.len() >= 30 && ds.len() < 60, "{} documents", ds.len());
    let r: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("s.report.json")).unwrap()).unwrap();
    assert_eq!(r["complete"], false);
    // An incomplete shard is not skipped on rerun.
    let o = tria()
        .args(["tokenize", "--keep-going", "--tokenizer"])
        .arg(&tok)
        .arg("--input")
        .arg(&a)
        .arg(&b)
        .arg("--out")
        .arg(d.join("s"))
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&o.stderr).contains("already complete"));
}

#[test]
fn pipeline_with_token_output_partitioned_by_lang() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir(d.join("in")).unwrap();
    let files: Vec<PathBuf> = (0..3)
        .map(|i| {
            let p = d.join(format!("in/part-{i}.jsonl"));
            write_jsonl(&p, &lang_docs(30 + 10 * i, i));
            p
        })
        .collect();
    let tok = d.join("tok.json");
    run_ok(
        tria()
            .args([
                "tokenizer",
                "train",
                "-q",
                "--model",
                "byte-level",
                "--vocab-size",
                "350",
            ])
            .arg("--input")
            .arg(d.join("in/*.jsonl"))
            .arg("--out")
            .arg(&tok),
    );
    let p = d.join("pipeline.toml");
    fs::write(
        &p,
        "[input]\npaths = [\"in/*.jsonl\"]\n\
         [output]\nkind = \"tokens\"\ntokenizer = \"tok.json\"\npartition_by = \"lang\"\n\
         [[stage]]\nkind = \"length\"\nmin_words = 16\n",
    )
    .unwrap();
    // The same pipeline writing documents says which documents each shard must hold.
    let docs_out = d.join("out-docs");
    let text = fs::read_to_string(&p).unwrap();
    let p_docs = d.join("pipeline-docs.toml");
    fs::write(
        &p_docs,
        text.replace("kind = \"tokens\"\ntokenizer = \"tok.json\"\n", ""),
    )
    .unwrap();
    run_ok(
        tria()
            .args(["run", "-q"])
            .arg(&p_docs)
            .arg("-o")
            .arg(&docs_out),
    );
    let mut trees = Vec::new();
    for j in ["1", "4"] {
        let out = d.join(format!("out-j{j}"));
        run_ok(
            tria()
                .args(["run", "-q", "-j", j])
                .arg(&p)
                .arg("-o")
                .arg(&out),
        );
        trees.push(tree(&out));
    }
    assert_eq!(trees[0], trees[1], "-j1 and -j4 outputs are byte-identical");
    let out = d.join("out-j1");
    let mut shards = 0;
    for f in &files {
        let stem = f.file_stem().unwrap().to_str().unwrap();
        let all = docs_of(&[f]);
        for lang in ["ca", "eu"] {
            let prefix = out.join(lang).join(stem);
            let want = docs_of(&[&docs_out.join(lang).join(format!("{stem}.jsonl.zst"))]);
            assert!(!want.is_empty());
            assert!(
                want.len() < all.iter().filter(|(_, l)| l == lang).count(),
                "the length stage dropped some"
            );
            assert_shard_matches(&prefix, &tok, &want);
            shards += 1;
        }
    }
    assert_eq!(shards, 6);
    assert!(!out.join("part-0.jsonl.zst").exists());

    // A rerun resumes every file; a missing tokenizer key is a configuration error.
    let o = run_ok(tria().args(["run"]).arg(&p).arg("-o").arg(&out));
    let r = support::report(&out);
    assert_eq!(
        r["files"]["resumed"],
        3,
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    fs::write(
        &p,
        "[input]\npaths = [\"in/*.jsonl\"]\n[output]\nkind = \"tokens\"\n",
    )
    .unwrap();
    let o = tria()
        .args(["run"])
        .arg(&p)
        .arg("-o")
        .arg(d.join("x"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("tokenizer"));
    // The tokenizer inside the output dir could be cleared as a leftover: refused.
    fs::write(
        &p,
        "[input]\npaths = [\"in/*.jsonl\"]\n[output]\nkind = \"tokens\"\ntokenizer = \"tok.json\"\n",
    )
    .unwrap();
    let o = tria()
        .args(["run"])
        .arg(&p)
        .arg("-o")
        .arg(d)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("inside the output dir"));
}

#[test]
fn memory_budget_prunes_and_bad_flags_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = d.join("a.jsonl");
    write_jsonl(&a, &lang_docs(400, 5));
    let tok = d.join("t.json");
    run_ok(
        tria()
            .args(["tokenizer", "train", "-q", "--model", "byte-level"])
            .args(["--vocab-size", "300", "--memory-budget", "2KiB"])
            .arg("--input")
            .arg(&a)
            .arg("--out")
            .arg(&tok),
    );
    let r: serde_json::Value =
        serde_json::from_slice(&fs::read(d.join("t.report.json")).unwrap()).unwrap();
    assert!(r["prunes"].as_u64().unwrap() > 0, "{r}");
    assert!(r["distinct_words"].as_u64().unwrap() * 48 <= 2048, "{r}");
    Encoder::from_file(&tok).unwrap();

    for bad in [
        vec!["--lang-weights", "eu"],
        vec!["--memory-budget", "lots"],
        vec!["--vocab-size", "10"],
    ] {
        let o = tria()
            .args(["tokenizer", "train", "--vocab-size", "300"])
            .args(&bad)
            .arg("--input")
            .arg(&a)
            .arg("--out")
            .arg(d.join("x.json"))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert!(!d.join("x.json").exists());
    }
}
