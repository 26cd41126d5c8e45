//! tria-filters: language identification and quality filters over plain `&str`.
//!
//! # Language ID (`lang`)
//!
//! ```text
//! LangId::new(&Backend::parse("builtin" | PATH | DIR | "lingua" | "lingua-low" | "whatlang"))?
//!   .predict(line, k)            -> Vec<(Lang, f32)>        one line, tria labels, best first
//!   .scores(line)                -> [f32; 36]               every label (index = Lang::index)
//!   .identify_document(text)     -> DocLang { lang, score, runner_up, shares }
//!   .identify_document_for(text, &opts, &config.needs())   stops once no kept label can be reached
//! LangConfig (serde, deny_unknown_fields): model, keep, min_score, doc; .validate(), .decide(&DocLang)
//! lang::predict_lines(&id, reader, writer, k, name)     `tria lid predict`
//! lang::eval_dir(&id, dir, Some(50) | None)             `tria lid eval` -> EvalReport (serde)
//! lang::train::train_dir(dir, &TrainConfig) -> (FastText, TrainReport); FastText::save(path)
//! lang::charlm::CharLm::train(&corpus, &TrainConfig) / load(path)   a group's character LM
//! Group::new(name, FastText)?.balanced(floor).with_char_lm(lm)?  -> LangId::with_group(group)
//! lang::fasttext::FastText::load(path) / from_bytes      the reference format, exact predictions
//! ```
//!
//! Memory: the built-in model is parsed once per process into one shared structure (about 2x its
//! file size: codes, centroids, vocabulary and its hash table, precomputed subword ids; the
//! Iberian character language model unpacked, 2.6 MB); a
//! fastText file is held the same way (lid.176.ftz: ~10 MB). Per thread, one scratch buffer of a
//! few KB; per document nothing is kept after `identify_document` returns (a 36-float
//! accumulator per call). The `lingua` backend holds its n-gram models (hundreds of MB in
//! high-accuracy mode, loaded lazily per language).

//!
//! # Quality filters (`quality`) and words (`words`)
//!
//! See the overview at the top of `quality/mod.rs` (Gopher quality and repetition, C4, FineWeb,
//! URL blocklist, PII, length, normalisation; per-language settings; `calibrate`; the tag-only
//! statistics summary) and `words.rs` (language-aware word splitting). Every filter is O(document)
//! in memory and keeps nothing between documents.

pub mod lang;
pub mod quality;
pub mod words;
