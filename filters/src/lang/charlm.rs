//! Character n-gram language models for a group of confusable labels: the generative counterpart
//! of a group's fastText model.
//!
//! One model per label of the group, each the conditional probability of a character given up to
//! `order - 1` characters before it, estimated by counting the label's training lines and
//! scored with backoff to shorter contexts (each step back costs a factor 0.4, Brants et al.'s
//! "stupid backoff"); the posterior of a line is the softmax of the labels' log-likelihoods
//! (uniform prior). Short lines of closely related languages are where a discriminative
//! bag-of-n-grams model is weakest and a generative one strongest: Galician, Spanish and
//! Portuguese sentences of three to six words, told apart by a letter sequence or two.
//!
//! The log-probabilities are stored quantized to one byte per label (0 = the label has no such
//! n-gram) in an open-addressing hash table keyed by the n-gram's 64-bit hash: slot from its low
//! 32 bits, a 16-bit fingerprint from its high bits, linear probing, about three slots for every
//! two n-grams. A lookup of an n-gram the model lacks must find nothing (a hashed table without
//! keys would hand it another n-gram's probability and spare it the backoff cost, which favours
//! the labels with the most n-grams). The table is built in hash order, so it does not depend on
//! the order of the data.
//!
//! File format (little endian): magic `TRIACLM2`; `u32` order; `u32` slot count; `f32`
//! quantization step; `u32` label count; per label a `u32` byte length and the UTF-8 label, then
//! its `f32` log-probability for a character no n-gram covers; then the slots, each a `u16`
//! fingerprint (0 = empty) and one byte per label, as one zstd frame.

use std::collections::HashMap;
use std::path::Path;

use xxhash_rust::xxh3::xxh3_64;

use super::LangError;
use super::train::{Corpus, TrainConfig, split_corpus};

const MAGIC: &[u8; 8] = b"TRIACLM2";
/// Log-factor of each backoff step to a shorter context.
const BACKOFF: f32 = -0.916_290_7; // ln 0.4
/// Quantization: a stored byte `q >= 1` means log-probability `-(q - 1) * STEP`.
const STEP: f32 = 16.0 / 254.0;
/// A label's log-likelihood counts at most this far below the best one's (the posterior odds of
/// two labels are at most `e^16`): the likelihoods add up over every character, so on a long line
/// an n-gram model is sure of itself far beyond what it knows (a long Galician line full of place
/// names in their Spanish form was Spanish at odds of `e^30`).
const MAX_GAP: f32 = 16.0;

/// A character n-gram language model per label of a group.
#[derive(Clone, Debug, PartialEq)]
pub struct CharLm {
    order: usize,
    slots: usize,
    step: f32,
    labels: Vec<String>,
    /// Log-probability of a character no n-gram of the label covers (before backoff costs).
    floor: Vec<f32>,
    /// `slots` slots of `2 + labels` bytes: fingerprint, then one byte per label.
    table: Vec<u8>,
}

/// Slot count for `n` n-grams (load factor about 2/3, never full).
fn slots_for(n: usize) -> usize {
    n + n / 2 + 1
}

/// First slot and fingerprint of a hash.
fn place(h: u64, slots: usize) -> (usize, u16) {
    let slot = (((h & 0xffff_ffff) * slots as u64) >> 32) as usize;
    (slot, (h >> 48) as u16 | 1)
}

/// Per-thread buffers of [`CharLm::posteriors`].
#[derive(Default)]
pub struct LmScratch {
    text: String,
    offsets: Vec<usize>,
    done: Vec<bool>,
}

/// The text a model scores: the words of (normalised) `line` joined by one space, with a space
/// before and after.
fn lm_text(line: &str, out: &mut String) {
    out.clear();
    out.push(' ');
    for w in line.split_whitespace() {
        out.push_str(w);
        out.push(' ');
    }
}

fn quantize(lp: f32, step: f32) -> u8 {
    (1.0 + (-lp / step).round()).clamp(1.0, 255.0) as u8
}

/// The byte offset of every character of `text`, then its length.
fn char_offsets(text: &str, offsets: &mut Vec<usize>) {
    offsets.clear();
    offsets.extend(text.char_indices().map(|(i, _)| i));
    offsets.push(text.len());
}

/// Every n-gram of `text` (orders 1 to `order`), in text order, with its order and its context
/// (the n-gram without its last character).
fn for_each_ngram(
    text: &str,
    order: usize,
    offsets: &mut Vec<usize>,
    mut f: impl FnMut(&[u8], usize, &[u8]),
) {
    char_offsets(text, offsets);
    let bytes = text.as_bytes();
    for end in 0..offsets.len() - 1 {
        for n in 1..=order.min(end + 1) {
            let start = offsets[end + 1 - n];
            f(
                &bytes[start..offsets[end + 1]],
                n,
                &bytes[start..offsets[end]],
            );
        }
    }
}

impl CharLm {
    /// Train one model per label of `corpus` (the trainer's split: validation lines are left
    /// out; `cfg.labels` chooses the labels, `cfg.normalize` the text, `cfg.max_per_class` caps
    /// each label) with the `char_lm_*` settings of `cfg`.
    pub fn train(corpus: &Corpus, cfg: &TrainConfig) -> Result<CharLm, LangError> {
        cfg.validate()?;
        let order = cfg.char_lm_order;
        if order == 0 {
            return Err(LangError::Config(
                "char_lm_order is 0: no character language model to train".into(),
            ));
        }
        if let Some(l) = cfg
            .labels
            .iter()
            .find(|l| !corpus.iter().any(|(c, _)| c == *l))
        {
            return Err(LangError::Config(format!(
                "label {l:?} of `labels` has no <label>.txt in the data"
            )));
        }
        let chosen: Corpus = corpus
            .iter()
            .filter(|(l, _)| cfg.labels.is_empty() || cfg.labels.contains(l))
            .cloned()
            .collect();
        let (train, _) = split_corpus(&chosen, cfg.valid_permille);
        let mut texts: Vec<(String, Vec<String>)> = Vec::new();
        for (label, lines) in train {
            let cap = if cfg.max_per_class > 0 {
                cfg.max_per_class
            } else {
                usize::MAX
            };
            let mut v = Vec::new();
            for l in lines.iter().take(cap) {
                let norm = if cfg.normalize {
                    super::normalize(l)
                } else {
                    l.clone()
                };
                let mut t = String::new();
                lm_text(&norm, &mut t);
                v.push(t);
            }
            if !v.is_empty() {
                texts.push((label, v));
            }
        }
        if texts.len() < 2 {
            return Err(LangError::Config(
                "a character language model needs at least two non-empty labels".into(),
            ));
        }
        let nl = texts.len();
        // Per n-gram hash: its context's hash (0 for one character) and one byte per label.
        let mut grams: HashMap<u64, (u64, Vec<u8>)> = HashMap::new();
        let mut floor = Vec::with_capacity(nl);
        let mut offsets = Vec::new();
        for (li, (_, lines)) in texts.iter().enumerate() {
            let mut counts: HashMap<u64, (u32, u64)> = HashMap::new();
            let mut chars: u64 = 0;
            for t in lines {
                for_each_ngram(t, order, &mut offsets, |g, n, context| {
                    let ctx = if n == 1 { 0 } else { xxh3_64(context) };
                    counts.entry(xxh3_64(g)).or_insert((0, ctx)).0 += 1;
                    chars += (n == 1) as u64;
                });
            }
            floor.push((0.5 / chars.max(1) as f64).ln() as f32);
            for (&h, &(c, ctx)) in &counts {
                if ctx != 0 && (c as u64) < cfg.char_lm_min_count {
                    continue;
                }
                let of = if ctx == 0 {
                    chars
                } else {
                    counts[&ctx].0 as u64
                };
                let q = quantize((c as f64 / of as f64).ln() as f32, STEP);
                grams.entry(h).or_insert_with(|| (ctx, vec![0; nl])).1[li] = q;
            }
        }
        let mut keys: Vec<u64> = grams.keys().copied().collect();
        keys.sort_unstable();
        let slots = slots_for(keys.len());
        let width = 2 + nl;
        let mut table = vec![0u8; slots * width];
        for h in keys {
            let (mut slot, fp) = place(h, slots);
            while table[slot * width..][..2] != [0, 0] {
                slot = (slot + 1) % slots;
            }
            let cell = &mut table[slot * width..][..width];
            cell[..2].copy_from_slice(&fp.to_le_bytes());
            cell[2..].copy_from_slice(&grams[&h].1);
        }
        Ok(CharLm {
            order,
            slots,
            step: STEP,
            labels: texts.into_iter().map(|(l, _)| l).collect(),
            floor,
            table,
        })
    }

    /// The row of one label byte per label for an n-gram, if the model has it.
    fn lookup(&self, h: u64) -> Option<&[u8]> {
        let width = 2 + self.labels.len();
        let (mut slot, fp) = place(h, self.slots);
        loop {
            let cell = &self.table[slot * width..][..width];
            let f = u16::from_le_bytes([cell[0], cell[1]]);
            if f == fp {
                return Some(&cell[2..]);
            }
            if f == 0 {
                return None;
            }
            slot += 1;
            if slot == self.slots {
                slot = 0;
            }
        }
    }

    /// The labels, in the order of [`CharLm::posteriors`].
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Longest n-gram.
    pub fn order(&self) -> usize {
        self.order
    }

    /// Posterior probability of each label for a (normalised) line, into `out` (resized to the
    /// label count), uniform prior, each log-likelihood at most 16 below the best.
    pub fn posteriors(&self, line: &str, sc: &mut LmScratch, out: &mut Vec<f32>) {
        let nl = self.labels.len();
        out.clear();
        out.resize(nl, 0.0);
        sc.done.clear();
        sc.done.resize(nl, false);
        let mut text = std::mem::take(&mut sc.text);
        let mut offsets = std::mem::take(&mut sc.offsets);
        lm_text(line, &mut text);
        char_offsets(&text, &mut offsets);
        let n_chars = offsets.len() - 1;
        let bytes = text.as_bytes();
        // Each character after the first, given up to `order - 1` characters before it.
        for end in 1..n_chars {
            sc.done.iter_mut().for_each(|d| *d = false);
            let mut left = nl;
            let mut cost = 0.0f32;
            for n in (1..=self.order.min(end + 1)).rev() {
                let g = &bytes[offsets[end + 1 - n]..offsets[end + 1]];
                if let Some(row) = self.lookup(xxh3_64(g)) {
                    for (l, &q) in row.iter().enumerate() {
                        if q != 0 && !sc.done[l] {
                            sc.done[l] = true;
                            left -= 1;
                            out[l] += cost - (q - 1) as f32 * self.step;
                        }
                    }
                }
                if left == 0 {
                    break;
                }
                cost += BACKOFF;
            }
            for ((o, &done), &floor) in out.iter_mut().zip(&sc.done).zip(&self.floor) {
                if !done {
                    *o += cost + floor;
                }
            }
        }
        let max = out.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut z = 0.0f32;
        for v in out.iter_mut() {
            *v = (*v - max).max(-MAX_GAP).exp();
            z += *v;
        }
        out.iter_mut().for_each(|v| *v /= z);
        sc.text = text;
        sc.offsets = offsets;
    }

    /// The model in its file format.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(self.table.len() + 64);
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&(self.order as u32).to_le_bytes());
        b.extend_from_slice(&(self.slots as u32).to_le_bytes());
        b.extend_from_slice(&self.step.to_le_bytes());
        b.extend_from_slice(&(self.labels.len() as u32).to_le_bytes());
        for (l, f) in self.labels.iter().zip(&self.floor) {
            b.extend_from_slice(&(l.len() as u32).to_le_bytes());
            b.extend_from_slice(l.as_bytes());
            b.extend_from_slice(&f.to_le_bytes());
        }
        // The fingerprints are random, the bytes of the labels mostly 0: about 45 % of the size.
        let packed = zstd::bulk::compress(&self.table, 19).expect("zstd compresses in memory");
        b.extend_from_slice(&packed);
        b
    }

    /// Read a model from its file format; `name` names it in errors.
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<CharLm, LangError> {
        let bad = |reason: &str| LangError::Model {
            path: name.into(),
            reason: reason.into(),
        };
        let mut pos = 0usize;
        let mut take = |n: usize| -> Result<&[u8], LangError> {
            let s = bytes
                .get(pos..pos + n)
                .ok_or_else(|| bad("truncated character language model"))?;
            pos += n;
            Ok(s)
        };
        if take(8)? != MAGIC {
            return Err(bad(
                "not a tria character language model (no TRIACLM2 magic)",
            ));
        }
        let b4 = |s: &[u8]| [s[0], s[1], s[2], s[3]];
        let u32_at = |s: &[u8]| u32::from_le_bytes(b4(s));
        let order = u32_at(take(4)?) as usize;
        let slots = u32_at(take(4)?) as usize;
        let step = f32::from_le_bytes(b4(take(4)?));
        let nl = u32_at(take(4)?) as usize;
        if !(1..=8).contains(&order) || slots == 0 || !(2..=64).contains(&nl) {
            return Err(bad("order, slot count or label count out of range"));
        }
        if !(step.is_finite() && step > 0.0) {
            return Err(bad("quantization step is not a positive number"));
        }
        let mut labels = Vec::with_capacity(nl);
        let mut floor = Vec::with_capacity(nl);
        for _ in 0..nl {
            let len = u32_at(take(4)?) as usize;
            let l = std::str::from_utf8(take(len)?).map_err(|_| bad("label is not UTF-8"))?;
            labels.push(l.to_string());
            floor.push(f32::from_le_bytes(b4(take(4)?)));
        }
        let size = slots * (2 + nl);
        let table = zstd::bulk::decompress(&bytes[pos..], size)
            .map_err(|e| bad(&format!("truncated or corrupt table: {e}")))?;
        if table.len() != size {
            return Err(bad("truncated table"));
        }
        if !table.chunks(2 + nl).any(|c| c[..2] == [0, 0]) {
            return Err(bad("hash table without an empty slot"));
        }
        Ok(CharLm {
            order,
            slots,
            step,
            labels,
            floor,
            table,
        })
    }

    /// Read a model file.
    pub fn load(path: &Path) -> Result<CharLm, LangError> {
        let bytes = std::fs::read(path).map_err(|e| LangError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        CharLm::from_bytes(&bytes, &path.display().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Corpus {
        let gl = "Non sei se vou poder ir mañá á praia con vós.
Onde está a estación de autobuses, por favor?
Hoxe fai moito frío na cidade e chove sen parar.
Ela non quere comer nada desde onte pola noite.
Temos que falar con eles antes de que marchen.
Xa che dixen que non teño tempo para iso agora.";
        let es = "No sé si voy a poder ir mañana a la playa con vosotros.
¿Dónde está la estación de autobuses, por favor?
Hoy hace mucho frío en la ciudad y llueve sin parar.
Ella no quiere comer nada desde anoche.
Tenemos que hablar con ellos antes de que se vayan.
Ya te dije que no tengo tiempo para eso ahora.";
        let pt = "Não sei se vou poder ir amanhã à praia convosco.
Onde fica a estação de autocarros, por favor?
Hoje está muito frio na cidade e chove sem parar.
Ela não quer comer nada desde ontem à noite.
Temos de falar com eles antes que se vão embora.
Já te disse que não tenho tempo para isso agora.";
        [("es", es), ("gl", gl), ("pt", pt)]
            .iter()
            .map(|(l, t)| (l.to_string(), t.lines().map(String::from).collect()))
            .collect()
    }

    fn cfg() -> TrainConfig {
        TrainConfig {
            valid_permille: 0,
            char_lm_order: 4,
            char_lm_min_count: 1,
            ..TrainConfig::default()
        }
    }

    fn top(lm: &CharLm, line: &str) -> String {
        let mut out = Vec::new();
        lm.posteriors(
            &super::super::normalize(line),
            &mut LmScratch::default(),
            &mut out,
        );
        let s: f32 = out.iter().sum();
        assert!((s - 1.0).abs() < 1e-4, "{out:?}");
        let best = (0..out.len())
            .max_by(|&a, &b| out[a].total_cmp(&out[b]))
            .unwrap();
        lm.labels()[best].clone()
    }

    #[test]
    fn tells_close_languages_apart_on_unseen_lines() {
        let lm = CharLm::train(&corpus(), &cfg()).unwrap();
        assert_eq!(lm.labels(), ["es", "gl", "pt"]);
        assert_eq!(top(&lm, "Non teño tempo hoxe."), "gl");
        assert_eq!(top(&lm, "No tengo tiempo hoy."), "es");
        assert_eq!(top(&lm, "Não tenho tempo hoje."), "pt");
        // However long the line, no label's odds against the best fall below e^-16.
        let long = "Non teño tempo hoxe, xa che dixen que non. ".repeat(30);
        let mut out = Vec::new();
        lm.posteriors(&long, &mut LmScratch::default(), &mut out);
        let (lo, hi) = out
            .iter()
            .fold((1f32, 0f32), |(a, b), &p| (a.min(p), b.max(p)));
        assert!(
            lo / hi >= (-MAX_GAP).exp() * 0.999 && lo / hi < 1e-6,
            "{out:?}"
        );
    }

    #[test]
    fn training_is_deterministic_and_the_file_round_trips() {
        let lm = CharLm::train(&corpus(), &cfg()).unwrap();
        let mut shuffled = corpus();
        shuffled.iter_mut().for_each(|(_, v)| v.reverse());
        // The table does not depend on the order of the lines.
        assert_eq!(CharLm::train(&shuffled, &cfg()).unwrap(), lm);
        let bytes = lm.to_bytes();
        assert!(bytes.len() < 8 + 16 + (4 + 2 + 4) * 3 + lm.slots * (2 + 3));
        assert!(lm.slots > 1000, "{} slots", lm.slots);
        assert_eq!(CharLm::from_bytes(&bytes, "m").unwrap(), lm);
        // A pruned model differs, and only the chosen labels are trained.
        let pruned = CharLm::train(
            &corpus(),
            &TrainConfig {
                char_lm_min_count: 2,
                ..cfg()
            },
        )
        .unwrap();
        assert_ne!(pruned.table, lm.table);
        let two = CharLm::train(
            &corpus(),
            &TrainConfig {
                labels: vec!["gl".into(), "pt".into()],
                ..cfg()
            },
        )
        .unwrap();
        assert_eq!(two.labels(), ["gl", "pt"]);
    }

    #[test]
    fn bad_files_and_settings_are_errors() {
        let lm = CharLm::train(&corpus(), &cfg()).unwrap();
        let bytes = lm.to_bytes();
        for (b, want) in [
            (&bytes[..bytes.len() - 1], "corrupt table"),
            (&b"TRIAXXX1rest"[..], "magic"),
            (&bytes[..5], "truncated"),
        ] {
            let e = CharLm::from_bytes(b, "lm.clm").unwrap_err().to_string();
            assert!(e.contains("lm.clm") && e.contains(want), "{e}");
        }
        let mut extra = bytes.clone();
        extra.push(0);
        let e = CharLm::from_bytes(&extra, "lm.clm")
            .unwrap_err()
            .to_string();
        assert!(e.contains("corrupt"), "{e}");
        let labels = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        for (bad, want) in [
            (
                TrainConfig {
                    char_lm_order: 0,
                    ..cfg()
                },
                "char_lm_order",
            ),
            (
                TrainConfig {
                    labels: labels(&["gl"]),
                    ..cfg()
                },
                "two",
            ),
            (
                TrainConfig {
                    labels: labels(&["gl", "oc"]),
                    ..cfg()
                },
                "\"oc\"",
            ),
        ] {
            let e = CharLm::train(&corpus(), &bad).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
    }
}
