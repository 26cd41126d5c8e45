//! Encoding with a hand-built Llama/SentencePiece-style `tokenizer.json` (byte fallback) into shards.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use tria_tokenizer::{Encoder, IndexedDataset, ShardWriter, Sidecar, tokenize_docs};

/// A tiny Llama-style tokenizer: `<unk>` `<s>` `</s>`, 256 byte tokens, a few pieces and merges.
fn llama_style() -> Vec<u8> {
    let mut vocab = serde_json::Map::new();
    for (i, t) in ["<unk>", "<s>", "</s>"].iter().enumerate() {
        vocab.insert(t.to_string(), json!(i));
    }
    for b in 0..256u32 {
        vocab.insert(format!("<0x{b:02X}>"), json!(3 + b));
    }
    let pieces = [
        "▁", "h", "o", "l", "a", "e", "▁h", "ol", "▁hol", "▁hola", "s",
    ];
    for (i, p) in pieces.iter().enumerate() {
        vocab.insert(p.to_string(), json!(259 + i));
    }
    let merges = [["▁", "h"], ["o", "l"], ["▁h", "ol"], ["▁hol", "a"]];
    let added: Vec<Value> = ["<unk>", "<s>", "</s>"]
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!({"id": i, "content": t, "single_word": false, "lstrip": false,
            "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    let tk = json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "▁"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
        "pre_tokenizer": null,
        "post_processor": {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": true, "byte_fallback": true, "ignore_merges": false,
            "vocab": vocab, "merges": merges}
    });
    serde_json::to_vec(&tk).unwrap()
}

#[test]
fn llama_style_byte_fallback_encodes_and_decodes() {
    let enc = Encoder::from_bytes(&llama_style(), "llama-style").unwrap();
    assert_eq!(enc.eod(), Some(2));
    assert_eq!(enc.vocab_size(), 270);
    let ids = enc.encode("hola é").unwrap();
    // "▁hola" is one piece; "▁" then "é" = bytes C3 A9 by fallback; then EOD.
    assert_eq!(ids, vec![268, 259, 3 + 0xC3, 3 + 0xA9, 2]);
    let text = enc
        .tokenizer()
        .decode(&ids[..ids.len() - 1], false)
        .unwrap();
    assert_eq!(text, "hola é");
    let with_bos = Encoder::from_bytes(&llama_style(), "x")
        .unwrap()
        .with_special_tokens(true);
    assert_eq!(with_bos.encode("hola").unwrap(), vec![1, 268, 2]);
    assert_eq!(
        Encoder::from_bytes(&llama_style(), "x")
            .unwrap()
            .with_eod(None)
            .encode("hola")
            .unwrap(),
        vec![268]
    );
}

#[test]
fn bad_tokenizer_file_is_named() {
    let err = Encoder::from_bytes(b"{\"model\": 3}", "broken.json").unwrap_err();
    assert!(err.to_string().starts_with("broken.json:"), "{err}");
}

fn docs() -> Vec<(String, &'static str)> {
    (0..10_000)
        .map(|i| {
            let text = match i % 4 {
                0 => format!("hola {i} món"),
                1 => format!("kaixo mundua {}", "ñ".repeat(i % 7)),
                2 => "Ολα 🎉".to_string(),
                _ => String::new(),
            };
            (text, ["ca", "eu", "el", "gl"][i % 4])
        })
        .collect()
}

#[test]
fn tokenize_docs_is_ordered_and_thread_count_independent() {
    let dir = tempfile::tempdir().unwrap();
    let json = llama_style();
    let enc = Encoder::from_bytes(&json, "llama").unwrap();
    let mut outputs = Vec::new();
    for threads in [1, 3] {
        let prefix = dir.path().join(format!("t{threads}"));
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut w = ShardWriter::create(&prefix, enc.shard_meta()).unwrap();
        let stats = pool
            .install(|| tokenize_docs(&enc, docs(), &mut w))
            .unwrap();
        w.finish().unwrap();
        assert_eq!(stats.documents, 10_000);
        let ds = IndexedDataset::open(&prefix).unwrap();
        for (i, (text, _)) in docs().iter().enumerate().step_by(37) {
            let toks = ds.get(i).unwrap().to_vec();
            assert_eq!(toks.last(), Some(&2));
            let back = enc
                .tokenizer()
                .decode(&toks[..toks.len() - 1], false)
                .unwrap();
            assert_eq!(&back, text, "document {i}");
        }
        let side = Sidecar::read(&dir.path().join(format!("t{threads}.json"))).unwrap();
        assert_eq!(side.tokenizer_hash, tria_tokenizer::tokenizer_hash(&json));
        assert_eq!(side.languages["gl"].tokens, 2500); // empty documents: EOD only
        assert_eq!(side.utf8_bytes, stats.utf8_bytes);
        outputs.push([
            std::fs::read(prefix.with_extension("bin")).unwrap(),
            std::fs::read(prefix.with_extension("idx")).unwrap(),
            std::fs::read(prefix.with_extension("json")).unwrap(),
        ]);
    }
    assert_eq!(outputs[0], outputs[1]);
}
