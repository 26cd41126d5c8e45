//! The BPE trainer: agreement with HF's `BpeTrainer` and pre-tokenizers, round trips on every
//! script, determinism, memory budget, language weights.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use serde_json::Value;
use tokenizers::Tokenizer;
use tria_tokenizer::pretok::{Splitter, sp_normalize};
use tria_tokenizer::{ModelKind, TrainOptions, Trainer, train_tokenizer};

fn all_texts() -> Vec<String> {
    let mut v: Vec<String> = common::fixtures().into_iter().map(|(_, t)| t).collect();
    v.extend(common::edge_cases());
    v
}

fn merges_of(json: &Value) -> Vec<(String, String)> {
    json["model"]["merges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| match m {
            Value::String(s) => {
                let (a, b) = s.split_once(' ').unwrap();
                (a.to_string(), b.to_string())
            }
            Value::Array(p) => (
                p[0].as_str().unwrap().to_string(),
                p[1].as_str().unwrap().to_string(),
            ),
            _ => panic!("bad merge {m}"),
        })
        .collect()
}

/// Our regex-crate splitters give exactly the words the `tokenizers` Split pre-tokenizer gives
/// with the Oniguruma pattern written into tokenizer.json.
#[test]
fn splitters_agree_with_tokenizers_pre_tokenizers() {
    use tokenizers::{OffsetReferential, OffsetType, PreTokenizedString, PreTokenizer};
    let trained = train_tokenizer(common::corpus(200), &TrainOptions::byte_level(300)).unwrap();
    let sp = train_tokenizer(common::corpus(200), &TrainOptions::sentencepiece(400)).unwrap();
    for (json, model) in [
        (&trained.json, ModelKind::ByteLevel),
        (&sp.json, ModelKind::SentencePiece),
    ] {
        let split_json = match model {
            ModelKind::ByteLevel => json["pre_tokenizer"]["pretokenizers"][0].clone(),
            ModelKind::SentencePiece => json["pre_tokenizer"].clone(),
        };
        let hf: tokenizers::PreTokenizerWrapper = serde_json::from_value(split_json).unwrap();
        let ours = match model {
            ModelKind::ByteLevel => Splitter::gpt4(),
            ModelKind::SentencePiece => Splitter::sentencepiece(),
        };
        for text in all_texts() {
            let mut input = text.clone();
            if model == ModelKind::SentencePiece {
                sp_normalize(&text, true, &mut input);
            }
            let mut pts = PreTokenizedString::from(input.as_str());
            hf.pre_tokenize(&mut pts).unwrap();
            let want: Vec<String> = pts
                .get_splits(OffsetReferential::Original, OffsetType::Byte)
                .into_iter()
                .map(|(s, _, _)| s.to_string())
                .collect();
            let mut got = Vec::new();
            ours.split(&input, |w| got.push(w.to_string()));
            assert_eq!(got, want, "{model:?} split of {input:?}");
        }
    }
}

/// Same words, same settings: the merges equal HF `BpeTrainer`'s, in order.
#[test]
fn merges_equal_hf_bpe_trainer() {
    use tokenizers::models::TrainerWrapper;
    use tokenizers::models::bpe::BpeTrainer;
    use tokenizers::pre_tokenizers::byte_level::ByteLevel;
    let docs = common::corpus(1500);
    let vocab = 256 + 600;
    let ours = train_tokenizer(
        docs.iter().map(|(t, l)| (t.as_str(), l.as_str())),
        &TrainOptions {
            special_tokens: vec![],
            ..TrainOptions::byte_level(vocab)
        },
    )
    .unwrap();
    // The reference: HF's trainer with our tokenizer.json's pre-tokenizer and the byte alphabet.
    let mut skeleton = ours.json.clone();
    skeleton["model"]["vocab"] = Value::Object(Default::default());
    skeleton["model"]["merges"] = Value::Array(vec![]);
    let mut hf: Tokenizer = serde_json::to_string(&skeleton).unwrap().parse().unwrap();
    let mut trainer: TrainerWrapper = BpeTrainer::builder()
        .vocab_size(vocab as usize)
        .min_frequency(0)
        .show_progress(false)
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .build()
        .into();
    hf.train(&mut trainer, docs.iter().map(|(t, _)| t.as_str()))
        .unwrap();
    let hf_json: Value = serde_json::from_str(&hf.to_string(false).unwrap()).unwrap();
    let (a, b) = (merges_of(&ours.json), merges_of(&hf_json));
    assert!(a.len() > 500, "only {} merges", a.len());
    let first_diff = a.iter().zip(&b).position(|(x, y)| x != y);
    assert_eq!(first_diff, None, "first difference at merge {first_diff:?}");
    assert_eq!(a.len(), b.len());
    assert_eq!(ours.json["model"]["vocab"], hf_json["model"]["vocab"]);
}

/// `decode(encode(x)) == x`, for SentencePiece-style up to its documented normalisation
/// (NFC, and a literal `▁` reads back as a space, as in SentencePiece and Llama).
fn roundtrip(json: &str, what: &str) {
    use unicode_normalization::UnicodeNormalization;
    let tk: Tokenizer = json.parse().unwrap();
    let sp = what.starts_with("sentencepiece");
    for text in all_texts() {
        let enc = tk.encode(text.as_str(), false).unwrap();
        let back = tk.decode(enc.get_ids(), false).unwrap();
        let want = if sp {
            text.nfc().collect::<String>().replace('\u{2581}', " ")
        } else {
            text.clone()
        };
        assert_eq!(back, want, "{what}: ids {:?}", enc.get_ids());
        if !sp || want == text {
            assert_eq!(back, text);
        }
    }
}

#[test]
fn byte_level_round_trips_every_script() {
    let t = train_tokenizer(common::corpus(800), &TrainOptions::byte_level(1000)).unwrap();
    assert_eq!(t.vocab_size, 1000);
    roundtrip(&t.to_json_string(), "byte-level");
}

#[test]
fn sentencepiece_style_has_salamandra_layout_and_round_trips() {
    let mut docs = common::corpus(800);
    for _ in 0..50 {
        docs.push(("tabla:    alineada    con     espacios".into(), "es".into()));
    }
    docs.push(("ǂ rare".into(), "en".into()));
    let t = train_tokenizer(docs, &TrainOptions::sentencepiece(1200)).unwrap();
    let json = t.to_json_string();
    let tk: Tokenizer = json.parse().unwrap();
    for (tok, id) in [
        ("<unk>", 0),
        ("<s>", 1),
        ("</s>", 2),
        ("<pad>", 3),
        ("<0x00>", 4),
        ("<0xFF>", 259),
    ] {
        assert_eq!(tk.token_to_id(tok), Some(id), "{tok}");
    }
    // Digits are split one per token.
    let enc = tk.encode("any 2024", false).unwrap();
    let toks = enc.get_tokens();
    assert_eq!(&toks[toks.len() - 4..], ["2", "0", "2", "4"], "{toks:?}");
    // Whitespace-only pieces are learned.
    assert!(tk.token_to_id("▁▁").is_some());
    // A character left out of the alphabet falls back to bytes.
    let enc = tk.encode("ǂ", false).unwrap();
    assert!(
        enc.get_tokens().iter().any(|t| t.starts_with("<0x")),
        "{:?}",
        enc.get_tokens()
    );
    roundtrip(&json, "sentencepiece");
}

#[test]
fn training_is_thread_count_independent() {
    let mut out = Vec::new();
    for threads in [1, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        for opts in [
            TrainOptions::byte_level(700),
            TrainOptions::sentencepiece(900),
        ] {
            let t = pool
                .install(|| train_tokenizer(common::corpus(5000), &opts))
                .unwrap();
            out.push(t.to_json_string());
        }
    }
    assert!(out[0] == out[2], "byte-level differs");
    assert!(out[1] == out[3], "sentencepiece differs");
}

#[test]
fn memory_budget_prunes_rare_words_and_still_trains() {
    let docs = common::corpus(3000);
    let mut free = Trainer::new(TrainOptions::byte_level(800)).unwrap();
    free.feed(docs.iter().map(|(t, l)| (t.as_str(), l.as_str())));
    let full = free.stats();
    assert_eq!(full.prunes, 0);
    let budget = full.distinct_words * 48 / 2;
    let mut bounded = Trainer::new(TrainOptions {
        memory_budget: Some(budget),
        ..TrainOptions::byte_level(800)
    })
    .unwrap();
    bounded.feed(docs.iter().map(|(t, l)| (t.as_str(), l.as_str())));
    let st = bounded.stats();
    assert!(st.prunes >= 1 && st.pruned_words > 0, "{st:?}");
    assert!(st.distinct_words * 48 <= budget, "{st:?}");
    assert!(st.distinct_words < full.distinct_words);
    let t = bounded.train().unwrap();
    roundtrip(&t.to_json_string(), "pruned");
}

#[test]
fn language_weights_favour_a_language() {
    let docs = common::corpus(3500);
    let rank = |weights: BTreeMap<String, f64>| {
        let t = train_tokenizer(
            docs.iter().map(|(t, l)| (t.as_str(), l.as_str())),
            &TrainOptions {
                lang_weights: weights,
                ..TrainOptions::sentencepiece(700)
            },
        )
        .unwrap();
        let tk: Tokenizer = t.to_json_string().parse().unwrap();
        // Tokens needed for the Basque fixture: fewer when Basque weighs more.
        let eu = &common::fixtures()
            .into_iter()
            .find(|(l, _)| l == "eu")
            .unwrap()
            .1;
        tk.encode(eu.as_str(), false).unwrap().len()
    };
    let plain = rank(BTreeMap::new());
    let uniform = rank([("ca".to_string(), 1.0)].into());
    let heavy = rank([("eu".to_string(), 40.0)].into());
    assert_eq!(plain, uniform, "uniform weights must not change anything");
    assert!(heavy < plain, "eu tokens: weighted {heavy}, plain {plain}");
}

#[test]
fn counts_beyond_u32_do_not_wrap() {
    // Weight 1e6 at 1/256 resolution: each "zq" occurrence counts 2.56e8; 40 occurrences pass 2^33.
    let mut docs: Vec<(String, &str)> = vec![("zq ".repeat(40), "xx")];
    docs.extend((0..200).map(|_| ("ab ab ab ab".to_string(), "en")));
    let t = train_tokenizer(
        docs,
        &TrainOptions {
            lang_weights: [("xx".to_string(), 1e6)].into(),
            ..TrainOptions::byte_level(258)
        },
    )
    .unwrap();
    let m = merges_of(&t.json);
    assert_eq!(m[0], ("z".to_string(), "q".to_string()));
}

#[test]
fn bad_options_and_empty_corpus_are_errors() {
    let e = Trainer::new(TrainOptions::byte_level(100))
        .unwrap_err()
        .to_string();
    assert!(e.contains("vocab_size 100"), "{e}");
    let e = Trainer::new(TrainOptions {
        special_tokens: vec!["<s>".into()],
        ..TrainOptions::sentencepiece(1000)
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("<unk>"), "{e}");
    let e = Trainer::new(TrainOptions {
        lang_weights: [("eu".into(), -1.0)].into(),
        ..TrainOptions::default()
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("eu"), "{e}");
    let e = train_tokenizer(
        Vec::<(String, String)>::new(),
        &TrainOptions::byte_level(300),
    )
    .unwrap_err();
    assert!(matches!(e, tria_tokenizer::Error::EmptyCorpus));
}
