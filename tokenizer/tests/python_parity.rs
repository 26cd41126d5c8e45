//! Trained `tokenizer.json` files encode the same in Rust and in Python's `tokenizers`.
//! Runs `$TRIA_PYTHON` (default `python3`); skips with a message when `import tokenizers` fails.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use tokenizers::Tokenizer;
use tria_tokenizer::{TrainOptions, train_tokenizer};

const SCRIPT: &str = r#"
import json, sys
from tokenizers import Tokenizer
tk = Tokenizer.from_file(sys.argv[1])
texts = json.load(open(sys.argv[2], encoding="utf-8"))
out = []
for t in texts:
    ids = tk.encode(t, add_special_tokens=False).ids
    out.append({"ids": ids, "text": tk.decode(ids, skip_special_tokens=False)})
json.dump(out, open(sys.argv[3], "w", encoding="utf-8"))
"#;

fn python() -> Option<String> {
    let py = std::env::var("TRIA_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&py)
        .args(["-c", "import tokenizers"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    ok.then_some(py)
}

#[test]
fn rust_and_python_encode_the_same() {
    let Some(py) = python() else {
        eprintln!(
            "SKIP: python with `tokenizers` not found (pip install tokenizers, or set TRIA_PYTHON)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut texts: Vec<String> = common::fixtures().into_iter().map(|(_, t)| t).collect();
    texts.extend(common::edge_cases());
    texts.extend(common::corpus(300).into_iter().map(|(t, _)| t));
    let texts_path = dir.path().join("texts.json");
    std::fs::write(&texts_path, serde_json::to_vec(&texts).unwrap()).unwrap();
    for (name, opts) in [
        ("byte-level", TrainOptions::byte_level(900)),
        ("sentencepiece", TrainOptions::sentencepiece(1100)),
    ] {
        let t = train_tokenizer(common::corpus(1500), &opts).unwrap();
        let tk_path = dir.path().join(format!("{name}.json"));
        t.save(&tk_path).unwrap();
        let out_path = dir.path().join(format!("{name}.out.json"));
        let run = Command::new(&py)
            .args(["-c", SCRIPT])
            .arg(&tk_path)
            .arg(&texts_path)
            .arg(&out_path)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{name}: python failed: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let got: Vec<serde_json::Value> =
            serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
        let tk = Tokenizer::from_file(&tk_path).unwrap();
        for (text, py_out) in texts.iter().zip(&got) {
            let enc = tk.encode(text.as_str(), false).unwrap();
            let py_ids: Vec<u32> = serde_json::from_value(py_out["ids"].clone()).unwrap();
            assert_eq!(enc.get_ids(), py_ids.as_slice(), "{name}: {text:?}");
            assert_eq!(
                tk.decode(enc.get_ids(), false).unwrap(),
                py_out["text"].as_str().unwrap(),
                "{name}"
            );
        }
    }
}
