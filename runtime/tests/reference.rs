//! The runtime against an independent naive implementation (tests/common), on tiny random models
//! written by the tests in f32, bf16, single-file and sharded form.

mod common;

use common::{Store, Tiny, assert_rel, docs, naive_nll, round_bf16, write_model};
use serde_json::json;
use tria_runtime::{Device, EvalDoc, EvalOptions, Llama, RuntimeError, WindowMode, evaluate};

fn eval_docs(tokens: &[Vec<u32>], langs: &[&str], shard: &str) -> Vec<EvalDoc> {
    tokens
        .iter()
        .enumerate()
        .map(|(i, t)| EvalDoc {
            tokens: t.clone(),
            bytes: 3 * t.len() as u64 + i as u64,
            lang: Some(langs[i % langs.len()].to_string()),
            shard: shard.to_string(),
        })
        .collect()
}

/// lm-eval rolling windows written independently: prefix BOS, predict `context` tokens per window,
/// later windows take the `context` tokens before their last target as input.
fn naive_rolling(tiny: &Tiny, w: &common::Weights, doc: &[u32], context: usize) -> Vec<f64> {
    let mut seq = vec![tiny.bos];
    seq.extend_from_slice(doc);
    let mut out = Vec::new();
    let mut predicted = 0; // tokens of `doc` scored so far
    while predicted < doc.len() {
        let n = context.min(doc.len() - predicted);
        let end = predicted + n + 1; // one past the last target, in `seq` coordinates
        let start = end.saturating_sub(context + 1);
        let window = &seq[start..end];
        let nll = naive_nll(tiny, w, window);
        out.extend_from_slice(&nll[nll.len() - n..]);
        predicted += n;
    }
    out
}

#[test]
fn f32_gqa_untied_matches_naive_full_context() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tiny = Tiny::default();
    let w = tiny.random_weights(11);
    write_model(dir.path(), &tiny, &w, Store::F32, 1);
    let model = Llama::load(dir.path(), &Device::Cpu).expect("load");
    assert_eq!(
        model.config().param_count(),
        w.values().map(|(v, _)| v.len() as u64).sum::<u64>()
    );

    let toks = docs(tiny.vocab, &[20, 7, 33, 1], 5);
    let mut want_total = 0.0;
    let mut want_tokens = 0;
    let mut want_ca = 0.0;
    for (i, d) in toks.iter().enumerate() {
        let mut seq = vec![tiny.bos];
        seq.extend_from_slice(d);
        let nll: f64 = naive_nll(&tiny, &w, &seq).iter().sum();
        want_total += nll;
        want_tokens += d.len() as u64;
        if i % 2 == 0 {
            want_ca += nll;
        }
    }
    let mut model = model;
    model.set_attention_block(16); // documents of up to 34 tokens: 1-3 query blocks
    let opts = EvalOptions {
        context: 64,
        batch: 3,
        ..EvalOptions::for_model(&model)
    };
    assert_eq!(opts.bos, Some(tiny.bos));
    let docs = eval_docs(&toks, &["ca", "eu"], "s0");
    let bytes: u64 = docs.iter().map(|d| d.bytes).sum();
    let mut calls = 0;
    let report = evaluate(&model, docs, &opts, |_| calls += 1).expect("evaluate");
    assert!(calls >= 2, "progress called {calls} times");
    assert_eq!(report.total.tokens, want_tokens);
    assert_eq!(report.total.documents, 4);
    assert_rel(report.total.nll_sum, want_total, 1e-4, "total nll");
    assert_rel(report.languages["ca"].nll_sum, want_ca, 1e-4, "ca nll");
    assert_eq!(report.languages["ca"].documents, 2);
    assert_rel(
        report.total.loss,
        want_total / want_tokens as f64,
        1e-4,
        "loss",
    );
    assert_rel(
        report.total.perplexity,
        report.total.loss.exp(),
        1e-12,
        "ppl",
    );
    let bpb = report.total.bits_per_byte.expect("rolling mode has bpb");
    assert_rel(
        bpb,
        want_total / bytes as f64 / std::f64::consts::LN_2,
        1e-4,
        "bpb",
    );
    assert_eq!(report.shards["s0"], report.total);
    // A random model is far from uniform but not absurd.
    assert!(report.total.loss > 1.0 && report.total.loss < 20.0);

    // JSON round trip and the table.
    let json = serde_json::to_string(&report).expect("serialize");
    let back: tria_runtime::EvalReport = serde_json::from_str(&json).expect("deserialize");
    // (serde_json's default float parsing may move the last bit, so compare with a tolerance.)
    assert_eq!(back.total.tokens, report.total.tokens);
    assert_eq!(back.languages.len(), 2);
    assert_rel(back.total.nll_sum, report.total.nll_sum, 1e-15, "json nll");
    let table = report.to_table();
    assert!(table.contains("language") && table.contains("eu") && table.contains("total"));
}

#[test]
fn rolling_windows_shorter_than_documents_match_naive_windows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tiny = Tiny::default();
    let w = tiny.random_weights(3);
    write_model(dir.path(), &tiny, &w, Store::F32, 1);
    let model = Llama::load(dir.path(), &Device::Cpu).expect("load");
    let toks = docs(tiny.vocab, &[17, 5, 12], 9);
    let context = 5;
    let want: f64 = toks
        .iter()
        .map(|d| naive_rolling(&tiny, &w, d, context).iter().sum::<f64>())
        .sum();
    let mut results = Vec::new();
    let mut model = model;
    for (batch, pos_block, vocab_block, attn) in [
        (1, 512, 16384, 512),
        (4, 3, 7, 2),
        (64, 1, 61, 1),
        (3, 5, 20, 3),
    ] {
        model.set_attention_block(attn);
        let opts = EvalOptions {
            context,
            batch,
            pos_block,
            vocab_block,
            ..EvalOptions::for_model(&model)
        };
        let r = evaluate(&model, eval_docs(&toks, &["gl"], "x"), &opts, |_| {}).expect("eval");
        assert_eq!(r.total.tokens, 34, "every token scored once");
        assert_rel(r.total.nll_sum, want, 1e-4, "rolling nll");
        results.push(r.total.nll_sum);
    }
    // Batching and blocking change float rounding at most.
    assert_rel(results[1], results[0], 1e-6, "batch 4 vs 1");
    assert_rel(results[2], results[0], 1e-6, "batch 64 vs 1");
    assert_rel(results[3], results[0], 1e-6, "attention blocks of 3");
}

#[test]
fn no_bos_leaves_first_token_unscored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tiny = Tiny::default();
    let w = tiny.random_weights(4);
    write_model(dir.path(), &tiny, &w, Store::F32, 1);
    let model = Llama::load(dir.path(), &Device::Cpu).expect("load");
    let toks = docs(tiny.vocab, &[9], 2);
    let opts = EvalOptions {
        context: 64,
        bos: None,
        ..EvalOptions::for_model(&model)
    };
    let r = evaluate(&model, eval_docs(&toks, &["ca"], "x"), &opts, |_| {}).expect("eval");
    assert_eq!(r.total.tokens, 8);
    assert_rel(
        r.total.nll_sum,
        naive_nll(&tiny, &w, &toks[0]).iter().sum(),
        1e-4,
        "no-bos nll",
    );
}

#[test]
fn bf16_tied_mha_linear_rope_matches_naive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tiny = Tiny {
        kv_heads: 4,
        tied: true,
        scaling: json!({"type": "linear", "factor": 2.0}),
        ..Tiny::default()
    };
    let w = tiny.random_weights(21);
    write_model(dir.path(), &tiny, &w, Store::Bf16, 1);
    let model = Llama::load(dir.path(), &Device::Cpu).expect("load");
    let wb = round_bf16(&w);
    let toks = docs(tiny.vocab, &[30, 12], 8);
    let want: f64 = toks
        .iter()
        .map(|d| {
            let mut s = vec![tiny.bos];
            s.extend_from_slice(d);
            naive_nll(&tiny, &wb, &s).iter().sum::<f64>()
        })
        .sum();
    let opts = EvalOptions {
        batch: 2,
        ..EvalOptions::for_model(&model)
    };
    let r = evaluate(&model, eval_docs(&toks, &["eu"], "b"), &opts, |_| {}).expect("eval");
    assert_rel(r.total.nll_sum, want, 1e-4, "bf16 nll");
    // Sanity: the rounding matters, so the test would notice weights read as if they were f32.
    let unrounded: f64 = toks
        .iter()
        .map(|d| {
            let mut s = vec![tiny.bos];
            s.extend_from_slice(d);
            naive_nll(&tiny, &w, &s).iter().sum::<f64>()
        })
        .sum();
    assert!(((unrounded - want) / want).abs() > 1e-4);
}

#[test]
fn sharded_llama3_rope_matches_naive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tiny = Tiny {
        scaling: json!({"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                        "high_freq_factor": 4.0, "original_max_position_embeddings": 64}),
        theta: 500_000.0,
        ..Tiny::default()
    };
    let w = tiny.random_weights(5);
    write_model(dir.path(), &tiny, &w, Store::F32, 3);
    assert!(!dir.path().join("model.safetensors").exists());
    let model = Llama::load(dir.path(), &Device::Cpu).expect("load sharded");
    let toks = docs(tiny.vocab, &[40], 6);
    let mut s = vec![tiny.bos];
    s.extend_from_slice(&toks[0]);
    let want: f64 = naive_nll(&tiny, &w, &s).iter().sum();
    let r = evaluate(
        &model,
        eval_docs(&toks, &["ca"], "x"),
        &EvalOptions::for_model(&model),
        |_| {},
    )
    .expect("eval");
    assert_rel(r.total.nll_sum, want, 1e-4, "llama3 nll");
}

#[test]
fn second_half_mode_matches_llama_cpp_chunks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tiny = Tiny::default();
    let w = tiny.random_weights(8);
    write_model(dir.path(), &tiny, &w, Store::F32, 1);
    let model = Llama::load(dir.path(), &Device::Cpu).expect("load");
    let toks = docs(tiny.vocab, &[10, 15, 6, 30], 12);
    let ctx = 16;
    // Expected: per shard, concatenate, chunks of ctx with BOS first, score outputs ctx/2..ctx-1.
    let shard_a: Vec<u32> = toks[..2].concat(); // 25 tokens: one chunk
    let shard_b: Vec<u32> = toks[2..].concat(); // 36 tokens: two chunks
    let mut want = 0.0;
    let mut want_tokens = 0;
    for stream in [&shard_a, &shard_b] {
        for chunk in stream.chunks_exact(ctx) {
            let mut input = chunk.to_vec();
            input[0] = tiny.bos;
            let nll = naive_nll(&tiny, &w, &input);
            want += nll[ctx / 2..].iter().sum::<f64>();
            want_tokens += nll.len() - ctx / 2;
        }
    }
    let mut docs_in = eval_docs(&toks[..2], &["ca"], "a");
    docs_in.extend(eval_docs(&toks[2..], &["ca"], "b"));
    let opts = EvalOptions {
        context: ctx,
        batch: 2,
        mode: WindowMode::SecondHalf,
        ..EvalOptions::for_model(&model)
    };
    let r = evaluate(&model, docs_in, &opts, |_| {}).expect("eval");
    assert_eq!(r.total.tokens as usize, want_tokens);
    assert_eq!(r.shards["a"].tokens, 7);
    assert_rel(r.total.nll_sum, want, 1e-4, "second-half nll");
    assert_eq!(r.total.bits_per_byte, None);
}

#[test]
fn bad_inputs_name_their_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tiny = Tiny::default();
    let mut w = tiny.random_weights(1);
    write_model(dir.path(), &tiny, &w, Store::F32, 1);
    let model = Llama::load(dir.path(), &Device::Cpu).expect("load");

    // Token outside the vocabulary.
    let bad = vec![EvalDoc {
        tokens: vec![5, 61],
        bytes: 2,
        lang: None,
        shard: "shard-7".into(),
    }];
    let err = evaluate(&model, bad, &EvalOptions::for_model(&model), |_| {}).unwrap_err();
    assert!(matches!(
        err,
        RuntimeError::TokenOutOfRange { token: 61, .. }
    ));
    assert!(err.to_string().contains("shard-7"), "{err}");

    // Context longer than the model's.
    let opts = EvalOptions {
        context: 65,
        ..EvalOptions::for_model(&model)
    };
    assert!(matches!(
        evaluate(&model, Vec::new(), &opts, |_| {}),
        Err(RuntimeError::Options(_))
    ));

    // Missing tensor.
    let removed = w
        .remove("model.layers.1.mlp.up_proj.weight")
        .expect("present");
    write_model(dir.path(), &tiny, &w, Store::F32, 1);
    let err = Llama::load(dir.path(), &Device::Cpu).unwrap_err();
    assert!(
        err.to_string()
            .contains("model.layers.1.mlp.up_proj.weight"),
        "{err}"
    );

    // Wrong shape.
    w.insert(
        "model.layers.1.mlp.up_proj.weight".into(),
        (removed.0[..48 * 31].to_vec(), vec![48, 31]),
    );
    write_model(dir.path(), &tiny, &w, Store::F32, 1);
    let err = Llama::load(dir.path(), &Device::Cpu).unwrap_err();
    assert!(matches!(err, RuntimeError::TensorShape { .. }), "{err}");
    assert!(err.to_string().contains("model.safetensors"), "{err}");

    // Unsupported RoPE scaling, named with the config path.
    let cfg = Tiny {
        scaling: json!({"rope_type": "yarn", "factor": 4.0}),
        ..Tiny::default()
    };
    std::fs::write(
        dir.path().join("config.json"),
        cfg.config_json().to_string(),
    )
    .expect("write");
    let err = Llama::load(dir.path(), &Device::Cpu).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("config.json") && msg.contains("yarn"), "{msg}");

    // Truncated weights file.
    write_model(dir.path(), &tiny, &tiny.random_weights(1), Store::F32, 1);
    let path = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&path).expect("read");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("truncate");
    let err = Llama::load(dir.path(), &Device::Cpu).unwrap_err();
    assert!(matches!(err, RuntimeError::Safetensors { .. }), "{err}");
}

#[test]
fn merging_per_shard_reports_equals_one_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tiny = Tiny::default();
    let w = tiny.random_weights(2);
    write_model(dir.path(), &tiny, &w, Store::F32, 1);
    let model = Llama::load(dir.path(), &Device::Cpu).expect("load");
    let toks = docs(tiny.vocab, &[12, 30, 7, 19], 4);
    let a = eval_docs(&toks[..2], &["ca", "eu"], "a");
    let b = eval_docs(&toks[2..], &["eu", "gl"], "b");
    let opts = EvalOptions {
        context: 8,
        batch: 2,
        ..EvalOptions::for_model(&model)
    };
    let whole = evaluate(&model, a.iter().chain(&b).cloned(), &opts, |_| {}).expect("whole");
    let mut merged = evaluate(&model, a, &opts, |_| {}).expect("a");
    let rb = evaluate(&model, b, &opts, |_| {}).expect("b");
    merged.merge(&rb).expect("merge");
    assert_eq!(merged.shards.keys().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(merged.languages["eu"].documents, 2);
    assert_eq!(merged.total.tokens, whole.total.tokens);
    assert_rel(
        merged.total.nll_sum,
        whole.total.nll_sum,
        1e-12,
        "merged total",
    );
    assert_rel(
        merged.languages["eu"].nll_sum,
        whole.languages["eu"].nll_sum,
        1e-12,
        "merged eu",
    );
    let other = EvalOptions {
        mode: WindowMode::SecondHalf,
        ..opts.clone()
    };
    let second = evaluate(&model, Vec::new(), &other, |_| {}).expect("empty");
    assert!(merged.merge(&second).is_err(), "modes must match");
}
