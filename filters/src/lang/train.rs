//! Supervised training of fastText-format language-ID models, and product quantization to `.ftz`.
//!
//! The trainer is fastText's supervised model (average of word and character n-gram embeddings,
//! linear softmax over labels, SGD with a linearly decaying learning rate) with three changes:
//! - **Deterministic**: one thread, a seeded SplitMix64 generator for initialisation and for the
//!   per-epoch shuffle, so the same data, config and seed give a byte-identical model file. (The
//!   reference's Hogwild threads race; ours do not exist.)
//! - **Class balancing**: every epoch, a class with fewer than `balance_floor` training lines is
//!   repeated (cycling through its lines) up to that many examples, so small classes (et, sl, sr,
//!   oc, ga) get as many updates as they need without duplicating data on disk.
//! - **Held-out split by content hash**: a line is in the validation split when the FNV-1a hash of
//!   its bytes falls below `valid_permille`; the split does not depend on file order and is the same
//!   one [`is_validation_line`] gives to the evaluator.
//!
//! Text is passed through [`super::normalize`] before training when `normalize` is set; the
//! built-in model is trained that way and the predictor applies the same normalisation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::LangError;
use super::fasttext::{
    Args, Dictionary, EOS, Entry, EntryKind, FastText, KSUB, LABEL_PREFIX, Loss, Matrix,
    ProductQuantizer, Scratch,
};

/// Hyper-parameters of [`train_dir`]. The defaults are those of the built-in model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Embedding dimension.
    pub dim: usize,
    /// Passes over the training data.
    pub epochs: usize,
    /// Initial learning rate (decays linearly to 0).
    pub lr: f32,
    /// Shortest character n-gram.
    pub minn: usize,
    /// Longest character n-gram.
    pub maxn: usize,
    /// Word n-gram length (1 = words only).
    pub word_ngrams: usize,
    /// Hash buckets for character and word n-grams.
    pub bucket: usize,
    /// A word enters the vocabulary after this many occurrences.
    pub min_count: u64,
    /// Lines per thousand held out for validation (by content hash).
    pub valid_permille: u32,
    /// Classes with fewer training lines are repeated up to this many examples per epoch.
    pub balance_floor: usize,
    /// Classes with more training lines contribute a fresh random subset of this many examples
    /// per epoch (0 = all lines every epoch), so a huge class (`other`) does not dominate.
    pub balance_cap: usize,
    /// Length balancing: if > 0, every class's examples of an epoch are at least this share
    /// of short lines (at most `short_chars` characters after normalisation), its short lines
    /// repeated (cycling) and its long lines subsampled to make room, without changing the
    /// class's number of examples (so the class priors, and [`super::LangId::balanced`]'s
    /// correction, stay the same). A class whose data are mostly long sentences (gl: news
    /// sentences, 22 % short lines, against pt's and es's Tatoeba, 45 %) otherwise loses short
    /// lines to the classes that have many.
    pub short_share: f32,
    /// Longest "short" line for `short_share`, in characters.
    pub short_chars: usize,
    /// At most this many training lines per class (first lines of the file); 0 = no cap.
    pub max_per_class: usize,
    /// Seed of initialisation and shuffling.
    pub seed: u64,
    /// Apply [`super::normalize`] to every line.
    pub normalize: bool,
    /// Product-quantize the input matrix (`.ftz`), `pq_dsub` dimensions per sub-quantizer.
    pub quantize: bool,
    /// Dimensions per sub-quantizer of the product quantization (fastText's `-dsub`): the
    /// quantized input matrix takes `dim / pq_dsub` bytes per row.
    pub pq_dsub: usize,
    /// Train on these labels only (empty = every label of the data): a second-stage model for a
    /// confusable group such as `["ca", "es", "gl", "oc", "pt"]`.
    pub labels: Vec<String>,
    /// Extra training lines made by transliteration: each `[from, to]` pair adds the
    /// Serbian-Cyrillic transliteration ([`serbian_cyrillic`]) of every training line of `from`
    /// to the training lines of `to` (the only pair that makes sense is `["sh", "sr"]`: Serbian
    /// and Bosnian in Latin script become Serbian in Cyrillic, 4,000 Tatoeba lines of `sr` get
    /// 15,000 more). Lines held out for validation are never used, and a generated line that
    /// falls in the validation split itself is dropped.
    pub transliterate: Vec<[String; 2]>,
    /// Crop augmentation: each training line longer than `crop_words[1]` words adds, with this
    /// probability, one extra example made of a random window of `crop_words[0]..=crop_words[1]`
    /// consecutive words of it (0 = off). Web pages are scored line by line and many lines are
    /// short, while some classes' data are mostly long sentences (gl: news, 22 % of lines of 30
    /// characters or less, against 45 % for es and pt): crops give every class short examples of
    /// its own vocabulary. A crop that falls in the validation split is dropped.
    pub crop_share: f32,
    /// Shortest and longest crop, in words (see `crop_share`).
    pub crop_words: [usize; 2],
    /// Diacritic augmentation: each training line with a Latin letter that carries a diacritic
    /// adds, with this probability, a copy with those letters written bare ([`strip_latin_marks`]:
    /// `ș` → `s`, `ñ` → `n`; `ł`, `ø`, `đ` stay) (0 = off). Web text is often typed without
    /// diacritics (Romanian, Czech, Slovak, Portuguese forums), while the training data are
    /// edited sentences. A copy that falls in the validation split is dropped.
    pub strip_share: f32,
    /// Split `other` by source language for training (0 = off; also off when the data directory
    /// has no `other.txt` or no `other.sources.tsv`, its `line<TAB>lang<TAB>source` file): every
    /// language of `other.sources.tsv` with at least
    /// this many lines becomes its own label `other-<code>`, the rest stay `other`. One softmax row
    /// cannot stand for 473 languages at once (Finnish and Estonian lines went to `other` because
    /// of Karelian and Võro in it); the predictor adds the sub-labels back up into `other`, and the
    /// trainer balances them as one class.
    pub split_other: usize,
    /// After product quantization, train the output layer again for this many epochs on the
    /// quantized input rows (0 = off), learning rate decaying from `qretrain_lr`.
    pub qretrain_epochs: usize,
    /// Initial learning rate of `qretrain_epochs`.
    pub qretrain_lr: f32,
    /// Also train a character n-gram language model per label ([`super::charlm::CharLm`]) of
    /// n-grams up to this length, for a second-stage group (0 = none). `tria lid train` writes
    /// it next to the model, with the extension `.clm`.
    pub char_lm_order: usize,
    /// n-grams longer than one character seen fewer times than this in a label are left out of
    /// its language model.
    pub char_lm_min_count: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            dim: 24,
            epochs: 10,
            lr: 0.5,
            minn: 1,
            maxn: 5,
            word_ngrams: 1,
            bucket: 200_000,
            min_count: 10,
            valid_permille: 50,
            balance_floor: 30_000,
            balance_cap: 0,
            short_share: 0.0,
            short_chars: 30,
            max_per_class: 0,
            seed: 13,
            normalize: true,
            quantize: true,
            pq_dsub: 3,
            labels: Vec::new(),
            transliterate: Vec::new(),
            crop_share: 0.3,
            crop_words: [2, 5],
            strip_share: 0.3,
            split_other: 1000,
            qretrain_epochs: 2,
            qretrain_lr: 0.1,
            char_lm_order: 0,
            char_lm_min_count: 2,
        }
    }
}

impl TrainConfig {
    /// Check the values that no training could use (done by [`train_dir`] before it reads any
    /// data).
    pub fn validate(&self) -> Result<(), LangError> {
        if self.dim == 0
            || self.epochs == 0
            || self.minn > self.maxn
            || self.bucket > i32::MAX as usize
            || self.pq_dsub == 0
            || self.valid_permille >= 1000
        {
            return Err(LangError::Config(
                "dim, epochs and pq_dsub must be > 0, minn <= maxn, valid_permille < 1000".into(),
            ));
        }
        let [lo, hi] = self.crop_words;
        if !(0.0..=1.0).contains(&self.crop_share)
            || (self.crop_share > 0.0 && (lo == 0 || lo > hi))
        {
            return Err(LangError::Config(
                "crop_words must be [min, max] with 0 < min <= max, crop_share in [0, 1]".into(),
            ));
        }
        if !(0.0..=1.0).contains(&self.strip_share) {
            return Err(LangError::Config("strip_share must be in [0, 1]".into()));
        }
        if self.char_lm_order > 8 {
            return Err(LangError::Config(
                "char_lm_order must be 0 (none) to 8".into(),
            ));
        }
        Ok(())
    }
}

/// What [`train_dir`] did.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainReport {
    /// Training lines per label (before balancing).
    pub train_lines: Vec<(String, usize)>,
    /// Validation lines per label.
    pub valid_lines: Vec<(String, usize)>,
    /// Vocabulary size (words).
    pub words: usize,
    /// Validation accuracy of the final (quantized if asked) model, over all lines.
    pub valid_accuracy: f64,
    /// Examples seen per epoch after balancing.
    pub examples_per_epoch: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// The training record `tria lid train` writes next to a model: `MODEL.json` (configuration,
/// data files, report). [`super::LangId::from_dir`] reads its `balance_floor`.
pub fn record_path(model: &Path) -> PathBuf {
    let mut s = model.as_os_str().to_owned();
    s.push(".json");
    PathBuf::from(s)
}

/// The character language model of a group next to its model (`char_lm_order` > 0): the model's
/// path with the extension `.clm`.
pub fn char_lm_path(model: &Path) -> PathBuf {
    model.with_extension("clm")
}

/// Vocabulary word that marks a model trained on [`super::normalize`]d text.
pub const NORMALIZE_MARKER: &str = "__tria_normalize__";

/// Is `line` in the held-out validation split for `valid_permille`?
pub fn is_validation_line(line: &str, valid_permille: u32) -> bool {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in line.as_bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // Mix the high bits in: FNV's low bits are weak.
    (splitmix(h) % 1000) < valid_permille as u64
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        splitmix(self.0.wrapping_sub(0x9e37_79b9_7f4a_7c15))
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn uniform(&mut self, a: f32) -> f32 {
        let u = (self.next() >> 40) as f32 / (1u64 << 24) as f32;
        (2.0 * u - 1.0) * a
    }
}

/// A labelled data set read from a directory: `(label, lines)` sorted by label.
pub type Corpus = Vec<(String, Vec<String>)>;

/// Read `<label>.txt` files of `dir` (and `extra/<label>.<anything>.txt` if present), one line per
/// example, skipping empty lines. Labels are the file stems. Every line is an example, so a line
/// given twice weighs twice in training (as in fastText); [`distinct_lines`] drops the repeats
/// where each sentence must count once.
pub fn read_corpus(dir: &Path) -> Result<Corpus, LangError> {
    read_corpus_where(dir, |_| true)
}

/// [`read_corpus`] keeping only the lines `keep` accepts (the evaluator's held-out split: the
/// other lines are never copied).
pub fn read_corpus_where(dir: &Path, keep: impl Fn(&str) -> bool) -> Result<Corpus, LangError> {
    let io = |p: &Path, e| LangError::Io {
        path: p.display().to_string(),
        source: e,
    };
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    let mut add_dir = |d: &Path, extra: bool| -> Result<(), LangError> {
        let rd = match std::fs::read_dir(d) {
            Ok(rd) => rd,
            Err(e) if extra && e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(d, e)),
        };
        for ent in rd {
            let p = ent.map_err(|e| io(d, e))?.path();
            let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Some(stem) = name.strip_suffix(".txt") else {
                continue;
            };
            let label = if extra {
                stem.split('.').next().unwrap_or(stem)
            } else {
                stem
            };
            if label.is_empty() || label.contains(char::is_whitespace) || label.contains('.') {
                continue;
            }
            files.push((label.to_string(), p));
        }
        Ok(())
    };
    add_dir(dir, false)?;
    add_dir(&dir.join("extra"), true)?;
    files.sort();
    if files.is_empty() {
        return Err(LangError::Data {
            path: dir.display().to_string(),
            reason: "no <label>.txt files".into(),
        });
    }
    let mut corpus: Corpus = Vec::new();
    for (label, path) in files {
        let text = std::fs::read(&path).map_err(|e| io(&path, e))?;
        let text = String::from_utf8(text).map_err(|e| LangError::Data {
            path: path.display().to_string(),
            reason: format!("not UTF-8 at byte {}", e.utf8_error().valid_up_to()),
        })?;
        let lines = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && keep(l))
            .map(String::from);
        match corpus.last_mut() {
            Some((l, v)) if *l == label => v.extend(lines),
            _ => corpus.push((label, lines.collect())),
        }
    }
    Ok(corpus)
}

/// Keep the first copy of each line of a label (the evaluator: a test sentence counts once). The
/// shared data's `extra/` excerpts are also merged into their class files, so 1,817 Slovene, 1,052
/// Nynorsk and 803 Occitan lines are read twice.
pub fn distinct_lines(corpus: &mut Corpus) {
    for (_, lines) in corpus {
        let first: Vec<bool> = {
            let mut seen = std::collections::HashSet::with_capacity(lines.len());
            lines.iter().map(|l| seen.insert(l.as_str())).collect()
        };
        let mut first = first.into_iter();
        lines.retain(|_| first.next().unwrap_or(false));
    }
}

/// Serbian Latin script (Gaj's alphabet) to Serbian Cyrillic (Vuk's alphabet), letter by letter,
/// with the digraphs `lj`, `nj`, `dž` as one letter each (`ljubav` -> `љубав`). Letters outside
/// the Serbian alphabet (`q`, `w`, `x`, `y`, accents of other languages) and everything else are
/// kept as they are.
pub fn serbian_cyrillic(text: &str) -> String {
    const SINGLE: [(char, char); 30] = [
        ('a', 'а'),
        ('b', 'б'),
        ('c', 'ц'),
        ('č', 'ч'),
        ('ć', 'ћ'),
        ('d', 'д'),
        ('đ', 'ђ'),
        ('e', 'е'),
        ('f', 'ф'),
        ('g', 'г'),
        ('h', 'х'),
        ('i', 'и'),
        ('j', 'ј'),
        ('k', 'к'),
        ('l', 'л'),
        ('m', 'м'),
        ('n', 'н'),
        ('o', 'о'),
        ('p', 'п'),
        ('r', 'р'),
        ('s', 'с'),
        ('š', 'ш'),
        ('t', 'т'),
        ('u', 'у'),
        ('v', 'в'),
        ('z', 'з'),
        ('ž', 'ж'),
        ('ǆ', 'џ'),
        ('ǉ', 'љ'),
        ('ǌ', 'њ'),
    ];
    let map = |c: char| -> Option<char> {
        let lower = c.to_lowercase().next().unwrap_or(c);
        let (_, cyr) = SINGLE.iter().find(|(l, _)| *l == lower)?;
        Some(if c == lower {
            *cyr
        } else {
            cyr.to_uppercase().next().unwrap_or(*cyr)
        })
    };
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() * 2);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars
            .get(i + 1)
            .map(|n| n.to_lowercase().next().unwrap_or(*n));
        let digraph = match (c.to_lowercase().next().unwrap_or(c), next) {
            ('l', Some('j')) => Some('љ'),
            ('n', Some('j')) => Some('њ'),
            ('d', Some('ž')) => Some('џ'),
            _ => None,
        };
        if let Some(d) = digraph {
            out.push(if c.is_uppercase() {
                d.to_uppercase().next().unwrap_or(d)
            } else {
                d
            });
            i += 2;
            continue;
        }
        out.push(map(c).unwrap_or(c));
        i += 1;
    }
    out
}

/// Split a corpus into (train, validation) by [`is_validation_line`].
pub fn split_corpus(corpus: &Corpus, valid_permille: u32) -> (Corpus, Corpus) {
    let mut train = Vec::new();
    let mut valid = Vec::new();
    for (label, lines) in corpus {
        let (v, t): (Vec<String>, Vec<String>) = lines
            .iter()
            .cloned()
            .partition(|l| is_validation_line(l, valid_permille));
        train.push((label.clone(), t));
        valid.push((label.clone(), v));
    }
    (train, valid)
}

/// Train a model from a directory of `<label>.txt` files and return it with a report. This is
/// the whole of `tria lid train --data DIR --out MODEL` except writing the file
/// ([`FastText::save`]).
pub fn train_dir(dir: &Path, cfg: &TrainConfig) -> Result<(FastText, TrainReport), LangError> {
    cfg.validate()?;
    let mut corpus = read_corpus(dir)?;
    let sources = dir.join("other.sources.tsv");
    if cfg.split_other > 0 && sources.exists() && corpus.iter().any(|(l, _)| l == "other") {
        split_other(&mut corpus, &sources, cfg.split_other)?;
    }
    train_corpus(&corpus, cfg)
}

/// `text` with every Latin letter that carries diacritics written as its bare ASCII letter
/// (`Ţigară` → `Tigara`, `São` → `Sao`), or `None` if there is none. Letters that do not
/// decompose into an ASCII letter and marks (`ł`, `ø`, `đ`, `ß`) and other scripts stay.
pub fn strip_latin_marks(text: &str) -> Option<String> {
    use unicode_normalization::char::decompose_canonical;
    let latin = |c: char| matches!(c as u32, 0xC0..=0x24F | 0x1E00..=0x1EFF);
    if !text.chars().any(latin) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    for c in text.chars() {
        if latin(c) {
            let mut base = None;
            decompose_canonical(c, |d| {
                if base.is_none() {
                    base = Some(d);
                }
            });
            if let Some(b) = base.filter(|b| b.is_ascii_alphabetic()) {
                out.push(b);
                changed = true;
                continue;
            }
        }
        out.push(c);
    }
    changed.then_some(out)
}

/// Replace the `other` class of `corpus` by `other-<code>` classes, one per source language with
/// at least `min_lines` lines, and `other` for the rest (see [`TrainConfig::split_other`]).
/// `sources` is `line<TAB>lang<TAB>source` with a header row, `line` 1-based in `other.txt`;
/// `lang` is a code such as `ast`, `cmn_Hans` or `udhr:dzo` (the code is what comes before `_`).
pub fn split_other(corpus: &mut Corpus, sources: &Path, min_lines: usize) -> Result<(), LangError> {
    let bad = |reason: String| LangError::Data {
        path: sources.display().to_string(),
        reason,
    };
    let Some(pos) = corpus.iter().position(|(l, _)| l == "other") else {
        return Err(bad("split_other: the data has no other.txt".into()));
    };
    let text = std::fs::read_to_string(sources).map_err(|e| LangError::Io {
        path: sources.display().to_string(),
        source: e,
    })?;
    let lines = std::mem::take(&mut corpus[pos].1);
    let mut code_of = vec![String::new(); lines.len()];
    for (n, row) in text.lines().enumerate().skip(1) {
        let mut f = row.split('\t');
        let (Some(line), Some(lang)) = (f.next(), f.next()) else {
            return Err(bad(format!(
                "row {}: expected line<TAB>lang<TAB>source",
                n + 1
            )));
        };
        let i: usize = line
            .parse()
            .map_err(|_| bad(format!("row {}: line number {line:?}", n + 1)))?;
        if i == 0 || i > lines.len() {
            return Err(bad(format!(
                "row {}: line {i} is not in other.txt ({} lines)",
                n + 1,
                lines.len()
            )));
        }
        let lang = lang.strip_prefix("udhr:").unwrap_or(lang);
        let code = lang.split(['_', '-']).next().unwrap_or(lang);
        code_of[i - 1] = code.to_ascii_lowercase();
    }
    let mut count: HashMap<&str, usize> = HashMap::new();
    for c in &code_of {
        *count.entry(c.as_str()).or_insert(0) += 1;
    }
    let mut classes: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (line, code) in lines.into_iter().zip(&code_of) {
        let label = if !code.is_empty() && count[code.as_str()] >= min_lines {
            format!("other-{code}")
        } else {
            "other".to_string()
        };
        classes.entry(label).or_default().push(line);
    }
    corpus.remove(pos);
    corpus.extend(classes);
    corpus.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(())
}

/// The tria label a training label counts for: `other-<code>` is `other`.
fn family(label: &str) -> &str {
    if label.starts_with("other-") {
        "other"
    } else {
        label
    }
}

/// Add to each class the lines `make` derives from its lines (a crop, a copy without
/// diacritics...), with a random generator seeded per class and `salt`; a derived line that falls
/// in the validation split is dropped, so no held-out line is ever trained on.
fn augment(
    train: &mut Corpus,
    cfg: &TrainConfig,
    salt: u64,
    mut make: impl FnMut(&mut Rng, &str) -> Option<String>,
) {
    for (c, (_, lines)) in train.iter_mut().enumerate() {
        let mut rng = Rng(splitmix(cfg.seed ^ (c as u64 + 1).wrapping_mul(salt)));
        let extra: Vec<String> = lines
            .iter()
            .filter_map(|l| make(&mut rng, l))
            .filter(|l| !is_validation_line(l, cfg.valid_permille))
            .collect();
        lines.extend(extra);
    }
}

/// [`train_dir`] over a corpus already in memory.
pub fn train_corpus(
    corpus: &Corpus,
    cfg: &TrainConfig,
) -> Result<(FastText, TrainReport), LangError> {
    let started = std::time::Instant::now();
    cfg.validate()?;
    let prep = |l: &str| {
        if cfg.normalize {
            super::normalize(l)
        } else {
            l.to_string()
        }
    };
    let subset: Corpus;
    let corpus = if cfg.labels.is_empty() {
        corpus
    } else {
        for l in &cfg.labels {
            if !corpus.iter().any(|(c, _)| c == l) {
                return Err(LangError::Config(format!(
                    "label {l:?} of `labels` has no <label>.txt in the data"
                )));
            }
        }
        subset = corpus
            .iter()
            .filter(|(c, _)| cfg.labels.contains(c))
            .cloned()
            .collect();
        &subset
    };
    let (mut train, valid) = split_corpus(corpus, cfg.valid_permille);
    for [from, to] in &cfg.transliterate {
        let src = train.iter().position(|(l, _)| l == from);
        let dst = train.iter().position(|(l, _)| l == to);
        let (Some(src), Some(dst)) = (src, dst) else {
            return Err(LangError::Config(format!(
                "transliterate [{from:?}, {to:?}]: both labels need a <label>.txt in the data"
            )));
        };
        let extra: Vec<String> = train[src]
            .1
            .iter()
            .map(|l| serbian_cyrillic(l))
            .filter(|t| !is_validation_line(t, cfg.valid_permille))
            .collect();
        train[dst].1.extend(extra);
    }
    // `share` as a threshold on `Rng::next() % 1e6`.
    let chance = |share: f32| (share * 1e6) as u64;
    if cfg.crop_share > 0.0 {
        let [lo, hi] = cfg.crop_words;
        augment(&mut train, cfg, 0x9e37_79b9, |rng, l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            if words.len() <= hi || rng.next() % 1_000_000 >= chance(cfg.crop_share) {
                return None;
            }
            let len = lo + rng.below(hi - lo + 1);
            let start = rng.below(words.len() - len + 1);
            Some(words[start..start + len].join(" "))
        });
    }
    if cfg.strip_share > 0.0 {
        augment(&mut train, cfg, 0x51_7cc1_b727, |rng, l| {
            if rng.next() % 1_000_000 >= chance(cfg.strip_share) {
                return None;
            }
            strip_latin_marks(l)
        });
    }
    let mut train: Vec<(String, Vec<String>)> = train
        .into_iter()
        .map(|(l, v)| {
            let take = if cfg.max_per_class > 0 {
                cfg.max_per_class
            } else {
                v.len()
            };
            (l, v.iter().take(take).map(|s| prep(s)).collect())
        })
        .collect();
    train.retain(|(_, v)| !v.is_empty());
    if train.len() < 2 {
        return Err(LangError::Config(
            "training needs at least two non-empty labels".into(),
        ));
    }

    // Dictionary: words by count (ties by bytes), then labels by count (ties by name).
    let mut counts: HashMap<&str, u64> = HashMap::new();
    let mut ntokens: i64 = 0;
    for (_, lines) in &train {
        for l in lines {
            for w in l
                .split([' ', '\t', '\r', '\x0b', '\x0c', '\0'])
                .filter(|w| !w.is_empty())
            {
                *counts.entry(w).or_insert(0) += 1;
                ntokens += 1;
            }
            ntokens += 1;
        }
    }
    let nlines: u64 = train.iter().map(|(_, v)| v.len() as u64).sum();
    let mut words: Vec<(&str, u64)> = counts
        .into_iter()
        .filter(|(w, c)| *c >= cfg.min_count && !w.starts_with(LABEL_PREFIX) && *w != EOS)
        .collect();
    words.push((EOS, nlines));
    words.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut entries: Vec<Entry> = words
        .iter()
        .map(|(w, c)| Entry {
            word: w.as_bytes().to_vec(),
            count: *c as i64,
            kind: EntryKind::Word,
        })
        .collect();
    if cfg.normalize {
        // Marks the model as expecting normalised text; `normalize` never produces it (it turns
        // `_` into a space), and it is an unused word to the reference fastText.
        entries.push(Entry {
            word: NORMALIZE_MARKER.as_bytes().to_vec(),
            count: 0,
            kind: EntryKind::Word,
        });
    }
    let mut labels: Vec<(usize, &str, usize)> = train
        .iter()
        .enumerate()
        .map(|(i, (l, v))| (i, l.as_str(), v.len()))
        .collect();
    labels.sort_by(|a, b| b.2.cmp(&a.2).then(a.1.cmp(b.1)));
    // Class index in `train` -> label row.
    let mut label_row = vec![0usize; train.len()];
    for (row, (i, l, n)) in labels.iter().enumerate() {
        label_row[*i] = row;
        entries.push(Entry {
            word: format!("{LABEL_PREFIX}{l}").into_bytes(),
            count: *n as i64,
            kind: EntryKind::Label,
        });
    }
    let args = Args {
        dim: cfg.dim as i32,
        ws: 5,
        epoch: cfg.epochs as i32,
        min_count: cfg.min_count as i32,
        neg: 5,
        word_ngrams: cfg.word_ngrams as i32,
        loss: Loss::Softmax,
        model: 3,
        bucket: cfg.bucket as i32,
        minn: cfg.minn as i32,
        maxn: cfg.maxn as i32,
        lr_update_rate: 100,
        t: 1e-4,
    };
    let dict = Dictionary::new(entries, ntokens, None, &args);
    let nwords = dict.nwords();
    let nlabels = dict.nlabels();
    let dim = cfg.dim;
    let rows = nwords + cfg.bucket;

    let mut rng = Rng(cfg.seed);
    let mut wi: Vec<f32> = (0..rows * dim)
        .map(|_| rng.uniform(1.0 / dim as f32))
        .collect();
    let mut touched = vec![false; rows];
    let mut wo = vec![0.0f32; nlabels * dim];

    // Balanced epochs: (class, line) pairs, rebuilt every epoch.
    // A class split for training (`other-<code>`) is balanced as its family (`other`): the
    // family's examples are shared out in proportion to its members' lines.
    let mut family_lines: HashMap<&str, usize> = HashMap::new();
    for (l, lines) in &train {
        *family_lines.entry(family(l)).or_insert(0) += lines.len();
    }
    // Shares by cumulative rounding, so that a family's examples add up exactly.
    let mut family_seen: HashMap<&str, usize> = HashMap::new();
    let per_class: Vec<usize> = train
        .iter()
        .map(|(l, lines)| {
            let total = family_lines[family(l)];
            let want = if cfg.balance_cap > 0 && total > cfg.balance_cap {
                cfg.balance_cap
            } else {
                total.max(cfg.balance_floor)
            };
            let before = family_seen.entry(family(l)).or_insert(0);
            let share = |n: usize| (want as f64 * n as f64 / total as f64).round() as usize;
            let n = share(*before + lines.len()) - share(*before);
            *before += lines.len();
            n
        })
        .collect();
    // Indices of each class's short and long lines, for `short_share`.
    let by_length: Vec<(Vec<u32>, Vec<u32>)> = train
        .iter()
        .map(|(_, lines)| {
            let (mut short, mut long) = (Vec::new(), Vec::new());
            if cfg.short_share > 0.0 {
                for (j, l) in lines.iter().enumerate() {
                    if l.trim().chars().count() <= cfg.short_chars {
                        short.push(j as u32);
                    } else {
                        long.push(j as u32);
                    }
                }
            }
            (short, long)
        })
        .collect();
    let epoch_len: usize = per_class.iter().sum();
    let mut sgd = Sgd {
        train: &train,
        per_class: &per_class,
        by_length: &by_length,
        short_share: cfg.short_share,
        label_row: &label_row,
        dict: &dict,
        dim,
        rng,
    };
    sgd.epochs(cfg.epochs, cfg.lr, &mut wi, &mut wo, Some(&mut touched));
    // Rows never seen in training keep their random initialisation: zero them so unseen n-grams
    // add nothing at prediction time (and quantization spends no centroids on noise).
    for (r, t) in touched.iter().enumerate() {
        if !t {
            wi[r * dim..(r + 1) * dim].iter_mut().for_each(|x| *x = 0.0);
        }
    }
    let input = if cfg.quantize {
        let q = quantize(&wi, rows, dim, cfg.pq_dsub, &touched, cfg.seed);
        if cfg.qretrain_epochs > 0 {
            // Quantization moves every input row a little; the output layer, fitted to the
            // exact rows, is fitted again to the quantized ones (input frozen: a convex problem).
            let mut wq = vec![0.0f32; rows * dim];
            for (r, row) in wq.chunks_exact_mut(dim).enumerate() {
                q.add_row(row, r);
            }
            sgd.epochs(cfg.qretrain_epochs, cfg.qretrain_lr, &mut wq, &mut wo, None);
        }
        q
    } else {
        Matrix::Dense {
            m: rows,
            n: dim,
            data: wi,
        }
    };
    let output = Matrix::Dense {
        m: nlabels,
        n: dim,
        data: wo,
    };
    let model = FastText::from_parts(args, dict, input, output);

    // Validation accuracy.
    let mut scratch = Scratch::default();
    let mut correct = 0usize;
    let mut n = 0usize;
    for (label, lines) in &valid {
        for l in lines {
            let p = model.predict(&prep(l), 1, 0.0, &mut scratch);
            n += 1;
            if p.first()
                .is_some_and(|&(_, i)| family(&model.label(i)) == family(label))
            {
                correct += 1;
            }
        }
    }
    let report = TrainReport {
        train_lines: train.iter().map(|(l, v)| (l.clone(), v.len())).collect(),
        valid_lines: valid.iter().map(|(l, v)| (l.clone(), v.len())).collect(),
        words: nwords,
        valid_accuracy: if n == 0 {
            0.0
        } else {
            correct as f64 / n as f64
        },
        examples_per_epoch: epoch_len,
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok((model, report))
}

/// Stochastic gradient descent over balanced epochs (the reference's supervised softmax update,
/// one thread).
struct Sgd<'a> {
    train: &'a [(String, Vec<String>)],
    /// Examples per epoch of each class.
    per_class: &'a [usize],
    /// Each class's short and long lines, for `short_share`.
    by_length: &'a [(Vec<u32>, Vec<u32>)],
    short_share: f32,
    label_row: &'a [usize],
    dict: &'a Dictionary,
    dim: usize,
    rng: Rng,
}

impl Sgd<'_> {
    /// Run `epochs` epochs with the learning rate decaying linearly from `lr0` to 0. Input rows
    /// are updated (and marked in `touched`) only when `touched` is given; otherwise only the
    /// output layer learns.
    fn epochs(
        &mut self,
        epochs: usize,
        lr0: f32,
        wi: &mut [f32],
        wo: &mut [f32],
        mut touched: Option<&mut Vec<bool>>,
    ) {
        let dim = self.dim;
        let nlabels = wo.len() / dim;
        let epoch_len: usize = self.per_class.iter().sum();
        let total = (epoch_len * epochs) as f64;
        let mut seen = 0usize;
        let mut scratch = Scratch::default();
        let mut feats = Vec::new();
        let mut hidden = vec![0.0f32; dim];
        let mut grad = vec![0.0f32; dim];
        let mut out = vec![0.0f32; nlabels];
        let mut order: Vec<(u32, u32)> = Vec::with_capacity(epoch_len);
        let mut perm: Vec<u32> = Vec::new();
        let rng = &mut self.rng;
        for _ in 0..epochs {
            order.clear();
            for (c, (_, lines)) in self.train.iter().enumerate() {
                let want = self.per_class[c];
                let (short, long) = &self.by_length[c];
                let n_short =
                    (self.short_share.clamp(0.0, 1.0) as f64 * want as f64).ceil() as usize;
                if !short.is_empty() && !long.is_empty() && short.len() < n_short {
                    // Length balancing: `n_short` examples cycle through the short lines, the
                    // rest are long lines (all of them, cycling, or a fresh random subset).
                    order.extend((0..n_short).map(|j| (c as u32, short[j % short.len()])));
                    let n_long = want - n_short.min(want);
                    if n_long >= long.len() {
                        order.extend((0..n_long).map(|j| (c as u32, long[j % long.len()])));
                    } else {
                        perm.clear();
                        perm.extend_from_slice(long);
                        for i in 0..n_long {
                            let j = i + rng.below(perm.len() - i);
                            perm.swap(i, j);
                        }
                        order.extend(perm[..n_long].iter().map(|&j| (c as u32, j)));
                    }
                } else if want >= lines.len() {
                    order.extend((0..want).map(|j| (c as u32, (j % lines.len()) as u32)));
                } else {
                    // A fresh random subset of a large class.
                    perm.clear();
                    perm.extend(0..lines.len() as u32);
                    for i in 0..want {
                        let j = i + rng.below(lines.len() - i);
                        perm.swap(i, j);
                    }
                    order.extend(perm[..want].iter().map(|&j| (c as u32, j)));
                }
            }
            for i in (1..order.len()).rev() {
                let j = rng.below(i + 1);
                order.swap(i, j);
            }
            for &(c, j) in &order {
                let lr = lr0 * (1.0 - seen as f64 / total) as f32;
                seen += 1;
                let line = &self.train[c as usize].1[j as usize];
                self.dict
                    .line_features(line.as_bytes(), true, &mut feats, &mut scratch);
                if feats.is_empty() {
                    continue;
                }
                hidden.iter_mut().for_each(|h| *h = 0.0);
                for &f in &feats {
                    let row = &wi[f as usize * dim..(f as usize + 1) * dim];
                    hidden.iter_mut().zip(row).for_each(|(h, r)| *h += r);
                }
                let inv = 1.0 / feats.len() as f32;
                hidden.iter_mut().for_each(|h| *h *= inv);
                let mut max = f32::NEG_INFINITY;
                for (k, o) in out.iter_mut().enumerate() {
                    let row = &wo[k * dim..(k + 1) * dim];
                    *o = row.iter().zip(&hidden).map(|(a, b)| a * b).sum();
                    max = max.max(*o);
                }
                let mut z = 0.0;
                out.iter_mut().for_each(|o| {
                    *o = (*o - max).exp();
                    z += *o;
                });
                grad.iter_mut().for_each(|g| *g = 0.0);
                let target = self.label_row[c as usize];
                for (k, o) in out.iter().enumerate() {
                    let p = o / z;
                    let alpha = lr * (if k == target { 1.0 } else { 0.0 } - p);
                    let row = &mut wo[k * dim..(k + 1) * dim];
                    for d in 0..dim {
                        grad[d] += alpha * row[d];
                        row[d] += alpha * hidden[d];
                    }
                }
                if let Some(touched) = touched.as_deref_mut() {
                    grad.iter_mut().for_each(|g| *g *= inv);
                    for &f in &feats {
                        touched[f as usize] = true;
                        let row = &mut wi[f as usize * dim..(f as usize + 1) * dim];
                        row.iter_mut().zip(&grad).for_each(|(r, g)| *r += g);
                    }
                }
            }
        }
    }
}

/// Product-quantize `rows x dim` values with `dsub` dimensions per sub-quantizer (one byte of code
/// per `dsub` dimensions) and 256 centroids each,
/// k-means (25 Lloyd iterations) on up to 65,536 rows sampled among the `touched` ones.
fn quantize(
    data: &[f32],
    rows: usize,
    dim: usize,
    dsub: usize,
    touched: &[bool],
    seed: u64,
) -> Matrix {
    let dsub = dsub.clamp(1, dim);
    let nsubq = dim.div_ceil(dsub);
    let lastdsub = dim - (nsubq - 1) * dsub;
    let mut rng = Rng(seed ^ 0x5157);
    let mut sample: Vec<usize> = (0..rows).filter(|&r| touched[r]).collect();
    if sample.is_empty() {
        sample = (0..rows.min(KSUB)).collect();
    }
    for i in (1..sample.len()).rev() {
        let j = rng.below(i + 1);
        sample.swap(i, j);
    }
    sample.truncate(KSUB * KSUB);
    let mut centroids = vec![0.0f32; dim * KSUB];
    let mut codes = vec![0u8; rows * nsubq];
    for m in 0..nsubq {
        let d = if m + 1 == nsubq { lastdsub } else { dsub };
        let off = m * dsub;
        let base = m * KSUB * dsub;
        let cent = &mut centroids[base..base + KSUB * d];
        let pts: Vec<f32> = sample
            .iter()
            .flat_map(|&r| data[r * dim + off..r * dim + off + d].iter().copied())
            .collect();
        let np = sample.len();
        // Initialise with distinct sample points (cycling when there are fewer than 256).
        for k in 0..KSUB {
            let p = k % np;
            cent[k * d..(k + 1) * d].copy_from_slice(&pts[p * d..(p + 1) * d]);
        }
        let mut assign = vec![0u8; np];
        for _ in 0..25 {
            for p in 0..np {
                assign[p] = nearest(cent, &pts[p * d..(p + 1) * d], d);
            }
            let mut sums = vec![0.0f64; KSUB * d];
            let mut cnt = vec![0usize; KSUB];
            for p in 0..np {
                let k = assign[p] as usize;
                cnt[k] += 1;
                for t in 0..d {
                    sums[k * d + t] += pts[p * d + t] as f64;
                }
            }
            for k in 0..KSUB {
                if cnt[k] > 0 {
                    for t in 0..d {
                        cent[k * d + t] = (sums[k * d + t] / cnt[k] as f64) as f32;
                    }
                } else {
                    // Empty cluster: restart it at a random point.
                    let p = rng.below(np);
                    cent[k * d..(k + 1) * d].copy_from_slice(&pts[p * d..(p + 1) * d]);
                }
            }
        }
        for r in 0..rows {
            codes[r * nsubq + m] = nearest(cent, &data[r * dim + off..r * dim + off + d], d);
        }
    }
    let pq = ProductQuantizer {
        dim: dim as i32,
        nsubq: nsubq as i32,
        dsub: dsub as i32,
        lastdsub: lastdsub as i32,
        centroids,
    };
    Matrix::Quant {
        m: rows,
        n: dim,
        codes,
        pq,
        norms: None,
    }
}

fn nearest(cent: &[f32], x: &[f32], d: usize) -> u8 {
    let mut best = 0usize;
    let mut bd = f32::INFINITY;
    for k in 0..KSUB {
        let c = &cent[k * d..(k + 1) * d];
        let dist: f32 = c.iter().zip(x).map(|(a, b)| (a - b) * (a - b)).sum();
        if dist < bd {
            bd = dist;
            best = k;
        }
    }
    best as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::{Lang, LangId};

    fn sample_corpus(per_class: usize) -> Option<Corpus> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/lid");
        if !dir.exists() {
            eprintln!("SKIP: {} is absent", dir.display());
            return None;
        }
        let mut c = Vec::new();
        for l in ["ca", "es", "gl", "pt", "eu", "en", "ru", "sk"] {
            let text = std::fs::read_to_string(dir.join(format!("{l}.txt"))).unwrap();
            c.push((
                l.to_string(),
                text.lines().take(per_class).map(String::from).collect(),
            ));
        }
        Some(c)
    }

    fn small_config() -> TrainConfig {
        TrainConfig {
            dim: 16,
            epochs: 4,
            bucket: 20_000,
            min_count: 2,
            valid_permille: 100,
            balance_floor: 0,
            pq_dsub: 2,
            crop_share: 0.0,
            strip_share: 0.0,
            qretrain_epochs: 0,
            ..TrainConfig::default()
        }
    }

    #[test]
    fn small_model_learns_held_out_lines_and_is_deterministic() {
        let Some(corpus) = sample_corpus(700) else {
            return;
        };
        let cfg = small_config();
        let (model, report) = train_corpus(&corpus, &cfg).unwrap();
        assert_eq!(model.nlabels(), 8);
        assert!(model.expects_normalized_text());
        let valid: usize = report.valid_lines.iter().map(|v| v.1).sum();
        assert!(valid > 8 * 40, "valid split too small: {valid}");
        // Eight classes, three of them close Iberian Romance languages: chance is 12.5 %.
        assert!(
            report.valid_accuracy > 0.85,
            "held-out accuracy {}",
            report.valid_accuracy
        );
        // Same data, config and seed: the same bytes.
        let (again, _) = train_corpus(&corpus, &cfg).unwrap();
        assert_eq!(model.to_bytes(), again.to_bytes());
        // A different seed gives a different model.
        let (other, _) = train_corpus(
            &corpus,
            &TrainConfig {
                seed: 14,
                epochs: 1,
                ..cfg.clone()
            },
        )
        .unwrap();
        assert_ne!(model.to_bytes(), other.to_bytes());
        // The written file reads back to the same predictions.
        let back = FastText::from_bytes(&model.to_bytes(), "mem").unwrap();
        let id = LangId::from_fasttext(back, true, "small".into());
        assert_eq!(
            id.predict("Bon dia, com estàs? Avui fa molt de sol.", 1)[0].0,
            crate::lang::Lang::Ca
        );
        assert_eq!(
            id.predict("Kaixo, zer moduz zaude gaur goizean?", 1)[0].0,
            crate::lang::Lang::Eu
        );
    }

    #[test]
    fn reference_fasttext_loads_our_models() {
        let ok = std::process::Command::new("python3")
            .args(["-c", "import fasttext"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            eprintln!("SKIP: python3 cannot import fasttext (pip install fasttext-wheel)");
            return;
        }
        let Some(corpus) = sample_corpus(300) else {
            return;
        };
        let dir = std::env::temp_dir().join(format!("tria-lid-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let lines = [
            "bon dia a tothom",
            "kaixo zer moduz",
            "good morning everyone",
            "добрый день",
        ];
        for quantize in [false, true] {
            let cfg = TrainConfig {
                quantize,
                normalize: false,
                epochs: 2,
                ..small_config()
            };
            let (model, _) = train_corpus(&corpus, &cfg).unwrap();
            assert!(!model.expects_normalized_text());
            let path = dir.join(if quantize { "m.ftz" } else { "m.bin" });
            model.save(&path).unwrap();
            let script = format!(
                "import fasttext\nm = fasttext.load_model({:?})\nfor l in {:?}:\n    \
                 for p, lab in m.f.predict(l + '\\n', 2, 0.0, 'strict'):\n        \
                 print(lab[9:], '%.6f' % p)\n",
                path.display().to_string(),
                lines
            );
            let out = std::process::Command::new("python3")
                .args(["-c", &script])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let got = String::from_utf8(out.stdout).unwrap();
            let mut want = String::new();
            let mut sc = Scratch::default();
            for l in lines {
                for (p, i) in model.predict(l, 2, 0.0, &mut sc) {
                    want += &format!("{} {p:.6}\n", model.label(i));
                }
            }
            let got: Vec<(&str, f64)> = got
                .lines()
                .map(|l| {
                    l.split_once(' ')
                        .map(|(a, b)| (a, b.parse().unwrap()))
                        .unwrap()
                })
                .collect();
            let want: Vec<(&str, f64)> = want
                .lines()
                .map(|l| {
                    l.split_once(' ')
                        .map(|(a, b)| (a, b.parse().unwrap()))
                        .unwrap()
                })
                .collect();
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g.0, w.0, "quantize={quantize}");
                assert!(
                    (g.1 - w.1).abs() < 1e-4,
                    "quantize={quantize}: {g:?} vs {w:?}"
                );
            }
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn defaults_are_the_built_in_models_configuration() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/lid");
        let read = |name: &str| -> TrainConfig {
            serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
        };
        // The first stage: the defaults plus Serbian Cyrillic made from `sh` (data-specific, so
        // not a default).
        assert_eq!(
            read("builtin.json"),
            TrainConfig {
                transliterate: vec![["sh".into(), "sr".into()]],
                ..TrainConfig::default()
            }
        );
        // The predictor undoes the priors of exactly this balancing.
        assert_eq!(
            crate::lang::id::BUILTIN_BALANCE_FLOOR,
            TrainConfig::default().balance_floor
        );
        // The group models differ only in their features, capacity and labels.
        for (name, labels) in [
            ("group-iberian.json", &["ca", "es", "gl", "oc", "pt"][..]),
            ("group-nordic.json", &["da", "nn", "no", "sv"][..]),
            ("group-south-slavic.json", &["hr", "sh", "sl"][..]),
            ("group-czech-slovak.json", &["cs", "sk"][..]),
            ("group-finnic.json", &["et", "fi"][..]),
        ] {
            let g = read(name);
            assert_eq!(g.labels, labels, "{name}");
            assert_eq!(g.word_ngrams, 2, "{name}");
            assert_eq!(
                (g.balance_floor, g.valid_permille, g.seed, g.normalize),
                (30_000, 50, 13, true),
                "{name}: must match the first stage's split, balancing and normalisation"
            );
        }
    }

    #[test]
    fn short_share_rebalances_lengths_not_classes() {
        let Some(corpus) = sample_corpus(300) else {
            return;
        };
        let cfg = TrainConfig {
            epochs: 1,
            ..small_config()
        };
        let (plain, a) = train_corpus(&corpus, &cfg).unwrap();
        let (short, b) = train_corpus(
            &corpus,
            &TrainConfig {
                short_share: 0.6,
                ..cfg
            },
        )
        .unwrap();
        // Same examples per epoch and per class (the priors stay), other examples.
        assert_eq!(a.examples_per_epoch, b.examples_per_epoch);
        assert_eq!(a.train_lines, b.train_lines);
        assert_ne!(plain.to_bytes(), short.to_bytes());
    }

    #[test]
    fn coarser_product_quantization_is_smaller_and_reads_back() {
        let Some(corpus) = sample_corpus(300) else {
            return;
        };
        let cfg = TrainConfig {
            epochs: 2,
            ..small_config()
        };
        let (two, _) = train_corpus(&corpus, &cfg).unwrap();
        let (four, r4) = train_corpus(&corpus, &TrainConfig { pq_dsub: 4, ..cfg }).unwrap();
        let (b2, b4) = (two.to_bytes(), four.to_bytes());
        // One byte of code per 4 dimensions instead of 2: the codes take half the bytes.
        let rows = four.dictionary().nwords() + 20_000;
        assert_eq!(b2.len() - b4.len(), rows * 16 / 2 - rows * 16 / 4);
        let back = FastText::from_bytes(&b4, "dsub4").unwrap();
        let mut sc = Scratch::default();
        for l in ["bon dia a tothom", "kaixo zer moduz", "добрый день"] {
            assert_eq!(
                back.predict(l, 2, 0.0, &mut sc),
                four.predict(l, 2, 0.0, &mut sc)
            );
        }
        // Coarser codes lose precision (a 2-epoch toy model: about 0.46 against 0.85), but it
        // is still a classifier: chance is 0.125 for eight classes.
        assert!(r4.valid_accuracy > 0.3, "{}", r4.valid_accuracy);
        assert!(
            train_corpus(
                &corpus,
                &TrainConfig {
                    pq_dsub: 0,
                    ..small_config()
                }
            )
            .is_err()
        );
    }

    /// A one-epoch, unquantized configuration with every augmentation off, for tests that turn
    /// one of them on.
    fn augmentation_off() -> TrainConfig {
        TrainConfig {
            epochs: 1,
            bucket: 1000,
            min_count: 1,
            valid_permille: 0,
            balance_floor: 0,
            quantize: false,
            crop_share: 0.0,
            strip_share: 0.0,
            qretrain_epochs: 0,
            ..TrainConfig::default()
        }
    }

    /// Training lines of `label` in a report.
    fn train_lines_of(r: &TrainReport, label: &str) -> usize {
        r.train_lines.iter().find(|x| x.0 == label).unwrap().1
    }

    #[test]
    fn crops_add_short_examples_of_long_lines_only() {
        let long = "una frase prou llarga per tallar-la en trossos curts de prova";
        let corpus: Corpus = vec![
            ("ca".into(), vec![long.to_string(); 40]),
            ("es".into(), vec!["hola que tal".to_string(); 40]),
        ];
        let cfg = augmentation_off();
        let (_, plain) = train_corpus(&corpus, &cfg).unwrap();
        let crop = TrainConfig {
            crop_share: 0.5,
            crop_words: [2, 4],
            ..cfg.clone()
        };
        let (_, more) = train_corpus(&corpus, &crop).unwrap();
        let n = train_lines_of;
        // About half of the 40 long lines gain a crop; the 3-word lines are never cropped.
        let added = n(&more, "ca") - n(&plain, "ca");
        assert!((10..=30).contains(&added), "{added}");
        assert_eq!(n(&more, "es"), n(&plain, "es"));
        // Deterministic for a seed.
        let (_, again) = train_corpus(&corpus, &crop).unwrap();
        assert_eq!(n(&again, "ca"), n(&more, "ca"));
        for bad in [[0, 3], [4, 2]] {
            let e = train_corpus(
                &corpus,
                &TrainConfig {
                    crop_words: bad,
                    ..crop.clone()
                },
            )
            .unwrap_err();
            assert!(e.to_string().contains("crop_words"), "{e}");
        }
    }

    #[test]
    fn diacritics_are_stripped_from_latin_letters_only() {
        assert_eq!(
            strip_latin_marks("Ce înseamnă „Cu Dumnezeu la o Ţigară”?").as_deref(),
            Some("Ce inseamna „Cu Dumnezeu la o Tigara”?")
        );
        assert_eq!(
            strip_latin_marks("Não, obrigado, señor Müller").as_deref(),
            Some("Nao, obrigado, senor Muller")
        );
        // Letters that are not a bare letter plus marks stay, and so does every other script.
        assert_eq!(strip_latin_marks("łódź"), Some("łodz".to_string()));
        for same in ["plain ascii", "Đak, ø, ß", "Ёлка и йогурт", "Ελλάδα"] {
            assert_eq!(strip_latin_marks(same), None, "{same}");
        }
    }

    #[test]
    fn strip_share_adds_bare_copies_of_lines_with_diacritics() {
        let corpus: Corpus = vec![
            (
                "ro".into(),
                (0..60)
                    .map(|i| format!("Ţara numărul {i} e frumoasă"))
                    .collect(),
            ),
            ("en".into(), vec!["no marks at all here".to_string(); 60]),
        ];
        let cfg = augmentation_off();
        let (_, plain) = train_corpus(&corpus, &cfg).unwrap();
        let strip = TrainConfig {
            strip_share: 0.5,
            ..cfg.clone()
        };
        let (model, more) = train_corpus(&corpus, &strip).unwrap();
        let n = train_lines_of;
        let added = n(&more, "ro") - n(&plain, "ro");
        assert!((15..=45).contains(&added), "{added}");
        // Lines without diacritics get no copy.
        assert_eq!(n(&more, "en"), n(&plain, "en"));
        // The bare spelling became vocabulary.
        let has = |w: &[u8]| model.dictionary().entries().iter().any(|e| e.word == w);
        assert!(has(b"frumoasa") && has("frumoasă".as_bytes()));
        let (_, again) = train_corpus(&corpus, &strip).unwrap();
        assert_eq!(n(&again, "ro"), added + n(&plain, "ro"));
        for bad in [1.5, -0.1, f32::NAN] {
            let e = train_corpus(
                &corpus,
                &TrainConfig {
                    strip_share: bad,
                    ..strip.clone()
                },
            )
            .unwrap_err();
            assert!(e.to_string().contains("strip_share"), "{bad}: {e}");
        }
    }

    #[test]
    fn other_splits_by_source_language_and_balances_as_one_class() {
        let dir = std::env::temp_dir().join(format!("tria-split-other-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut other = String::new();
        let mut tsv = String::from("line\tlang\tsource\n");
        let mut n = 0;
        for (code, count, word) in [
            ("ast_Latn", 30, "asturianu"),
            ("udhr:lad", 30, "djudeo"),
            ("kor", 3, "hangul"),
        ] {
            for i in 0..count {
                n += 1;
                other.push_str(&format!("{word} {word}{i} testu {i}\n"));
                tsv.push_str(&format!("{n}\t{code}\ttatoeba\n"));
            }
        }
        std::fs::write(dir.join("other.txt"), &other).unwrap();
        std::fs::write(dir.join("other.sources.tsv"), &tsv).unwrap();
        let ca: String = (0..50).map(|i| format!("bon dia a tothom {i}\n")).collect();
        std::fs::write(dir.join("ca.txt"), ca).unwrap();
        let cfg = TrainConfig {
            epochs: 1,
            bucket: 1000,
            min_count: 1,
            valid_permille: 0,
            balance_floor: 100,
            quantize: false,
            split_other: 10,
            ..TrainConfig::default()
        };
        let (model, report) = train_dir(&dir, &cfg).unwrap();
        let labels: Vec<&str> = report.train_lines.iter().map(|(l, _)| l.as_str()).collect();
        // Languages with 10 lines or more get their own label; Korean (3) stays in `other`.
        assert_eq!(labels, ["ca", "other", "other-ast", "other-lad"]);
        assert_eq!(report.train_lines[1].1, 3);
        // `ca` is shown 100 times (the floor), the other family 100 times in all (not 3 x 100).
        assert_eq!(report.examples_per_epoch, 200);
        // Every sub-label is `other` to tria, and the prior correction counts them together.
        for i in 0..model.nlabels() {
            let l = model.label(i);
            assert_eq!(
                Lang::from_model_label(&l) == Lang::Other,
                l.starts_with("other"),
                "{l}"
            );
        }
        std::fs::write(
            dir.join("other.sources.tsv"),
            "line\tlang\tsource\n999\tast\tx\n",
        )
        .unwrap();
        let e = train_dir(&dir, &cfg).unwrap_err();
        assert!(e.to_string().contains("line 999"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn output_retraining_keeps_the_quantized_input_and_helps() {
        let Some(corpus) = sample_corpus(300) else {
            return;
        };
        let cfg = TrainConfig {
            epochs: 2,
            pq_dsub: 4,
            ..small_config()
        };
        let (plain, r0) = train_corpus(&corpus, &cfg).unwrap();
        let (re, r1) = train_corpus(
            &corpus,
            &TrainConfig {
                qretrain_epochs: 2,
                ..cfg
            },
        )
        .unwrap();
        // Same codes and centroids (the input matrix is frozen), another output layer.
        let (a, b) = (plain.to_bytes(), re.to_bytes());
        assert_eq!(a.len(), b.len());
        let out = plain.nlabels() * 16 * 4;
        assert_eq!(a[..a.len() - out - 8], b[..b.len() - out - 8]);
        assert_ne!(a[a.len() - out..], b[b.len() - out..]);
        // Refitting the output to the coarse codes fits the training lines better (the
        // problem is convex once the input is frozen): a higher mean log-probability of the
        // gold label.
        let (train, _) = split_corpus(&corpus, cfg.valid_permille);
        let fit = |m: &FastText| {
            let mut sc = Scratch::default();
            let (mut sum, mut n) = (0.0f64, 0usize);
            for (label, lines) in &train {
                for l in lines {
                    let p = m.predict(&crate::lang::normalize(l), 100, 0.0, &mut sc);
                    let gold = p.iter().find(|&&(_, i)| m.label(i) == *label);
                    sum += gold.map_or(1e-5f32, |&(p, _)| p.max(1e-5)).ln() as f64;
                    n += 1;
                }
            }
            sum / n as f64
        };
        let (f0, f1) = (fit(&plain), fit(&re));
        assert!(f1 > f0, "{f1} vs {f0}");
        assert!(r1.valid_accuracy > 0.3 && r0.valid_accuracy > 0.3);
    }

    #[test]
    fn serbian_latin_becomes_cyrillic() {
        assert_eq!(
            serbian_cyrillic("Ljubav, njegova džamija i Đorđe: ćao, čaša, šešir, žaba."),
            "Љубав, његова џамија и Ђорђе: ћао, чаша, шешир, жаба."
        );
        assert_eq!(serbian_cyrillic("LJUDI NJIVA DŽEP"), "ЉУДИ ЊИВА ЏЕП");
        assert_eq!(
            serbian_cyrillic("Tom ima 3 psa (x, y)."),
            "Том има 3 пса (x, y)."
        );
        // Already Cyrillic or not Serbian letters: unchanged.
        assert_eq!(serbian_cyrillic("Шта кажеш?"), "Шта кажеш?");
    }

    #[test]
    fn transliteration_adds_training_lines_but_never_validation_lines() {
        let sh: Vec<String> = (0..400)
            .map(|i| format!("Ovo je rečenica broj {i} o ljubavi i njivi."))
            .collect();
        let sr: Vec<String> = (0..40)
            .map(|i| format!("Ово је друга реченица {i}."))
            .collect();
        let corpus: Corpus = vec![("sh".into(), sh.clone()), ("sr".into(), sr)];
        let cfg = TrainConfig {
            epochs: 1,
            bucket: 1000,
            min_count: 1,
            valid_permille: 100,
            balance_floor: 0,
            quantize: false,
            crop_share: 0.0,
            ..TrainConfig::default()
        };
        let (_, plain) = train_corpus(&corpus, &cfg).unwrap();
        let aug = TrainConfig {
            transliterate: vec![["sh".into(), "sr".into()]],
            ..cfg.clone()
        };
        let (_, more) = train_corpus(&corpus, &aug).unwrap();
        let count = train_lines_of;
        let sh_train = sh
            .iter()
            .filter(|l| !is_validation_line(l, 100))
            .collect::<Vec<_>>();
        let want = sh_train
            .iter()
            .filter(|l| !is_validation_line(&serbian_cyrillic(l), 100))
            .count();
        assert!(want > 300, "{want}");
        assert_eq!(count(&more, "sr"), count(&plain, "sr") + want);
        assert_eq!(count(&more, "sh"), count(&plain, "sh"));
        // The validation split is the data's own, unchanged.
        assert_eq!(more.valid_lines, plain.valid_lines);
        let bad = TrainConfig {
            transliterate: vec![["sh".into(), "xx".into()]],
            ..cfg
        };
        let err = train_corpus(&corpus, &bad).unwrap_err();
        assert!(err.to_string().contains("transliterate"), "{err}");
    }

    #[test]
    fn split_is_by_content_and_rejects_empty_dirs() {
        let a = is_validation_line("una frase qualsevol", 500);
        assert_eq!(a, is_validation_line("una frase qualsevol", 500));
        let n = (0..10_000)
            .filter(|i| is_validation_line(&format!("line {i}"), 50))
            .count();
        assert!((350..650).contains(&n), "{n} of 10,000 in a 5 % split");
        let dir = std::env::temp_dir().join(format!("tria-lid-empty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = read_corpus(&dir).unwrap_err();
        assert!(err.to_string().contains("no <label>.txt"), "{err}");
        std::fs::write(dir.join("ca.txt"), b"bon dia\n\xff\xfe\n").unwrap();
        let err = read_corpus(&dir).unwrap_err();
        assert!(
            err.to_string().contains("ca.txt") && err.to_string().contains("UTF-8"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn extra_files_add_lines_and_distinct_lines_drops_repeats() {
        let dir = std::env::temp_dir().join(format!("tria-lid-extra-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("extra")).unwrap();
        std::fs::write(dir.join("sl.txt"), "Dober dan.\nKako si?\nDober dan.\n").unwrap();
        std::fs::write(dir.join("hr.txt"), "Kako si?\n").unwrap();
        std::fs::write(dir.join("extra/sl.cv.txt"), " Kako si? \nHvala lepa.\n").unwrap();
        let sl = |c: &Corpus| {
            let mut v = c.iter().find(|(l, _)| l == "sl").unwrap().1.clone();
            v.sort();
            v
        };
        // Training reads every line of the class file and of its extra file, repeats included.
        let mut corpus = read_corpus(&dir).unwrap();
        let all = [
            "Dober dan.",
            "Dober dan.",
            "Hvala lepa.",
            "Kako si?",
            "Kako si?",
        ];
        assert_eq!(sl(&corpus), all);
        // Distinct lines: the extra file's new line stays, its copy of a class line and the class
        // file's own repeat go; the same line in another class is that class's.
        distinct_lines(&mut corpus);
        assert_eq!(sl(&corpus), ["Dober dan.", "Hvala lepa.", "Kako si?"]);
        assert_eq!(
            corpus.iter().find(|(l, _)| l == "hr").unwrap().1,
            ["Kako si?"]
        );
        let mut held = read_corpus_where(&dir, |l| l.starts_with('K')).unwrap();
        distinct_lines(&mut held);
        assert_eq!(sl(&held), ["Kako si?"]);
        std::fs::remove_dir_all(&dir).ok();
    }
}
