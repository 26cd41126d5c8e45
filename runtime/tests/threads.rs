//! Same input, same report whatever the thread count: the test re-runs itself in child processes
//! with RAYON_NUM_THREADS (which sizes candle's CPU thread pool) set to 1 and 2.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Store, Tiny, docs, write_model};
use tria_runtime::{Device, EvalDoc, EvalOptions, Llama, evaluate};

const CHILD_DIR: &str = "TRIA_RUNTIME_THREADS_CHILD_DIR";

/// Evaluates the model in `dir` and writes the exact NLL bits per language to `dir/out-<threads>`.
fn child(dir: &Path) {
    let model = Llama::load(dir, &Device::Cpu).expect("load");
    let toks = docs(500, &[300, 90, 257, 33], 3);
    let docs: Vec<EvalDoc> = toks
        .into_iter()
        .enumerate()
        .map(|(i, tokens)| EvalDoc {
            bytes: tokens.len() as u64,
            tokens,
            lang: Some(["ca", "eu"][i % 2].into()),
            shard: "s".into(),
        })
        .collect();
    let opts = EvalOptions {
        context: 128,
        batch: 3,
        ..EvalOptions::for_model(&model)
    };
    let r = evaluate(&model, docs, &opts, |_| {}).expect("eval");
    let line: Vec<String> = r
        .languages
        .iter()
        .map(|(k, m)| format!("{k}={:016x}", m.nll_sum.to_bits()))
        .collect();
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_default();
    std::fs::write(dir.join(format!("out-{threads}")), line.join(" ")).expect("write");
}

#[test]
fn report_is_identical_with_one_or_two_threads() {
    if let Ok(dir) = std::env::var(CHILD_DIR) {
        child(Path::new(&dir));
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    // Big enough that candle's matmuls split work across threads.
    let tiny = Tiny {
        hidden: 128,
        inter: 344,
        heads: 4,
        kv_heads: 2,
        vocab: 500,
        max_pos: 128,
        ..Tiny::default()
    };
    write_model(dir.path(), &tiny, &tiny.random_weights(9), Store::F32, 1);
    let exe = std::env::current_exe().expect("test binary");
    let mut outs = Vec::new();
    for threads in ["1", "2"] {
        let status = Command::new(&exe)
            .args([
                "--exact",
                "report_is_identical_with_one_or_two_threads",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, dir.path())
            .env("RAYON_NUM_THREADS", threads)
            .status()
            .expect("spawn child");
        assert!(status.success(), "child with {threads} threads failed");
        outs.push(std::fs::read_to_string(dir.path().join(format!("out-{threads}"))).expect("out"));
    }
    assert!(
        outs[0].contains("ca=") && outs[0].contains("eu="),
        "{}",
        outs[0]
    );
    assert_eq!(outs[0], outs[1], "NLL bits differ between 1 and 2 threads");
}
