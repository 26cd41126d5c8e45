//! One interface over every backend, and document-level identification.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use super::charlm::{CharLm, LmScratch};
use super::fasttext::{Dictionary, FastText, Scratch};
use super::rules::{Marks, maltese_rule, script_rule, slovene_rule, swedish_rule};
use super::{Lang, LangError, normalize_into};

/// The built-in model (see `filters/models/README.md`), a quantized fastText file.
static BUILTIN_BYTES: &[u8] = include_bytes!("../../models/lid-tria.ftz");
/// The built-in second-stage models, one per confusable group (trained on that group's labels only,
/// with richer features): applied when the first stage's top label is one of the group's. The
/// Iberian group also has a character language model ([`CharLm`]).
type GroupBytes = (&'static str, &'static [u8], Option<&'static [u8]>);
static BUILTIN_GROUPS: &[GroupBytes] = &[
    (
        "iberian",
        include_bytes!("../../models/lid-tria.iberian.ftz"),
        Some(include_bytes!("../../models/lid-tria.iberian.clm")),
    ),
    (
        "nordic",
        include_bytes!("../../models/lid-tria.nordic.ftz"),
        None,
    ),
    (
        "south-slavic",
        include_bytes!("../../models/lid-tria.south-slavic.ftz"),
        None,
    ),
    (
        "czech-slovak",
        include_bytes!("../../models/lid-tria.czech-slovak.ftz"),
        None,
    ),
    (
        "finnic",
        include_bytes!("../../models/lid-tria.finnic.ftz"),
        None,
    ),
];
type Builtin = (Arc<FastText>, Vec<Arc<Group>>);

/// `balance_floor` the built-in models were trained with (`bench/lid/builtin.json`,
/// `bench/lid/group-*.json`), for [`LangId::balanced`].
pub const BUILTIN_BALANCE_FLOOR: usize = 30_000;
static BUILTIN: OnceLock<Result<Builtin, String>> = OnceLock::new();

/// Weight of a group model against the first stage inside its group: the group's labels share the
/// group's first-stage mass in proportion to `p_group^w * p_first^(1-w)` (a weighted product of
/// the two models). Chosen among 0, 0.5, 0.7 and 1 on the built-in model's held-out split (0.7 and
/// 0.5 tied on the macro average; 0.7 is better on lingua's sentences).
pub const GROUP_WEIGHT: f32 = 0.7;

/// The second stage is skipped when the first stage's top label already has at least this
/// probability: with [`GROUP_WEIGHT`] 0.7 a group model would have to be about 20 times surer of
/// another label to change the answer, which it practically never is (same accuracy on both bench
/// sets to 0.1 point; on lingua's long sentences it saves a fifth of the prediction time).
pub const GROUP_SKIP_ABOVE: f32 = 0.999;

/// Weight of a group's character language model ([`Group::with_char_lm`]) against the first two
/// stages combined, in the same weighted product as [`GROUP_WEIGHT`]. Chosen among 0.2, 0.3 and
/// 0.4 on the built-in model's held-out split and lingua's sentences (`bench/RESULTS.md`).
pub const CHAR_LM_WEIGHT: f32 = 0.3;

/// The `balance_floor` a model was trained with, from the `MODEL.json` record `tria lid train`
/// writes next to it; [`BUILTIN_BALANCE_FLOOR`] if there is none.
fn trained_floor(model: &Path) -> Result<usize, LangError> {
    let record = super::train::record_path(model);
    let Ok(text) = std::fs::read_to_string(&record) else {
        return Ok(BUILTIN_BALANCE_FLOOR);
    };
    let bad = |reason: String| LangError::Model {
        path: record.display().to_string(),
        reason,
    };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    v["config"]["balance_floor"]
        .as_u64()
        .map(|f| f as usize)
        .ok_or_else(|| bad("no config.balance_floor in the training record".into()))
}

/// Share the total probability of the labels `map` out again in proportion to
/// `p^a * s^(1 - a)`, `p` (`probs`, indexed like `map`, floored at `floor`) a second opinion on
/// them: the weighted product of [`GROUP_WEIGHT`] and [`CHAR_LM_WEIGHT`].
fn reshare(s: &mut [f32; 36], probs: &[f32], map: &[Lang], a: f32, floor: f32) {
    let mass: f32 = map.iter().map(|l| s[l.index()]).sum();
    let mut w = [0.0f32; 36];
    let mut z = 0.0f32;
    for (p, l) in probs.iter().zip(map) {
        let v = p.max(floor).powf(a) * s[l.index()].max(1e-6).powf(1.0 - a);
        w[l.index()] = v;
        z += v;
    }
    for l in map {
        s[l.index()] = mass * w[l.index()] / z;
    }
}

/// A second-stage classifier for a group of confusable labels.
pub struct Group {
    name: String,
    model: FastText,
    /// tria label of each of the group model's labels.
    map: Vec<Lang>,
    /// Membership by [`Lang::index`].
    member: [bool; 36],
    /// Class-prior correction per model label (see [`LangId::balanced`]).
    prior: Option<Vec<f32>>,
    /// A character language model of the same labels, and the tria label of each of its labels.
    char_lm: Option<(CharLm, Vec<Lang>)>,
}

/// Per-label factors that undo the class priors a model learnt from balanced epochs: a label with
/// `n` training lines was seen `max(n, floor)` times per epoch, so its probability is multiplied by
/// `floor / max(n, floor)` (1 for every label at or under the floor) before renormalising. The
/// label counts are the ones the model file stores.
fn balance_prior(model: &FastText, floor: usize) -> Vec<f32> {
    let d = model.dictionary();
    // Model labels of one tria label (`other` split by source language: `other-ast`, ...) were
    // balanced as one class by the trainer, so their counts add up.
    let lang = |i: usize| Lang::from_model_label(&model.label(i)).index();
    let mut total = [0f64; 36];
    for i in 0..model.nlabels() {
        total[lang(i)] += d.entries()[d.nwords() + i].count.max(0) as f64;
    }
    (0..model.nlabels())
        .map(|i| (floor as f64 / total[lang(i)].max(floor as f64)) as f32)
        .collect()
}

/// Multiply `probs` by `prior` and renormalise.
fn apply_prior(probs: &mut [f32], prior: &[f32]) {
    let mut z = 0.0f32;
    for (p, w) in probs.iter_mut().zip(prior) {
        *p *= w;
        z += *p;
    }
    if z > 0.0 {
        probs.iter_mut().for_each(|p| *p /= z);
    }
}

impl Group {
    /// Wrap a model trained on a group's labels only (`TrainConfig::labels`).
    pub fn new(name: &str, model: FastText) -> Result<Group, LangError> {
        let map: Vec<Lang> = (0..model.nlabels())
            .map(|i| Lang::from_model_label(&model.label(i)))
            .collect();
        let mut member = [false; 36];
        for l in &map {
            member[l.index()] = true;
        }
        if map.len() < 2 || member[Lang::Other.index()] {
            return Err(LangError::Model {
                path: name.into(),
                reason: "a group model needs two or more language labels and no `other`".into(),
            });
        }
        Ok(Group {
            name: name.into(),
            model,
            map,
            member,
            prior: None,
            char_lm: None,
        })
    }

    /// Add a character language model of the group's labels ([`CharLm`]): its posteriors are
    /// multiplied in with weight [`CHAR_LM_WEIGHT`] after the group model's.
    pub fn with_char_lm(mut self, lm: CharLm) -> Result<Group, LangError> {
        let map: Vec<Lang> = lm
            .labels()
            .iter()
            .map(|l| Lang::from_model_label(l))
            .collect();
        let mut same = map.len() == self.map.len();
        for l in &map {
            same &= self.member[l.index()] && map.iter().filter(|m| *m == l).count() == 1;
        }
        if !same {
            return Err(LangError::Model {
                path: self.name.clone(),
                reason: format!(
                    "the character language model's labels {:?} are not the group's",
                    lm.labels()
                ),
            });
        }
        self.char_lm = Some((lm, map));
        Ok(self)
    }

    /// Undo the class priors of balanced training with this `balance_floor` (see
    /// [`LangId::balanced`]).
    pub fn balanced(mut self, floor: usize) -> Group {
        self.prior = (floor > 0).then(|| balance_prior(&self.model, floor));
        self
    }

    /// The group's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The group's character language model, if it has one.
    pub fn char_lm(&self) -> Option<&CharLm> {
        self.char_lm.as_ref().map(|(lm, _)| lm)
    }

    /// The group's labels.
    pub fn labels(&self) -> Vec<Lang> {
        Lang::ALL
            .iter()
            .copied()
            .filter(|l| self.member[l.index()])
            .collect()
    }
}

/// Per-thread buffers, so scoring a line allocates nothing in the steady state.
#[derive(Default)]
struct ThreadScratch {
    ft: Scratch,
    text: String,
    probs: Vec<f32>,
    lm: LmScratch,
}

thread_local! {
    static SCRATCH: RefCell<ThreadScratch> = RefCell::new(ThreadScratch::default());
}

/// Which model identifies languages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Backend {
    /// The model shipped inside tria (normalised input, tria labels).
    Builtin,
    /// A fastText `.bin`/`.ftz` file (lid.176, GlotLID, OpenLID, or one trained by tria), fed raw
    /// text like the reference `predict` (normalised text if tria trained it with `normalize`,
    /// which it marks in the vocabulary); its labels are mapped onto tria's. A directory is a
    /// two-stage stack of files ([`LangId::from_dir`]).
    FastText(PathBuf),
    /// lingua, high-accuracy mode, restricted to the tria languages it knows (needs the `lingua`
    /// feature).
    Lingua,
    /// lingua, low-accuracy mode (needs the `lingua` feature).
    LinguaLow,
    /// whatlang, restricted to the tria languages it knows (needs the `whatlang` feature).
    Whatlang,
}

impl Backend {
    /// Parse a `--model` value: `builtin`, `lingua`, `lingua-low`, `whatlang`, or a file path.
    pub fn parse(spec: &str) -> Backend {
        match spec {
            "builtin" => Backend::Builtin,
            "lingua" => Backend::Lingua,
            "lingua-low" => Backend::LinguaLow,
            "whatlang" => Backend::Whatlang,
            path => Backend::FastText(PathBuf::from(path)),
        }
    }
}

enum Inner {
    FastText {
        model: Arc<FastText>,
        normalize: bool,
        /// tria label of each model label.
        map: Vec<Lang>,
        /// Second-stage group models (normalised text, like the first stage).
        groups: Vec<Arc<Group>>,
        /// Class-prior correction per model label ([`LangId::balanced`]).
        prior: Option<Vec<f32>>,
    },
    #[cfg(feature = "whatlang")]
    Whatlang,
    #[cfg(feature = "lingua")]
    Lingua(Box<lingua::LanguageDetector>),
}

/// A language identifier. Cheap to share across threads (`&self` everywhere; per-thread scratch).
pub struct LangId {
    inner: Inner,
    name: String,
}

impl std::fmt::Debug for LangId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LangId")
            .field("backend", &self.name)
            .finish()
    }
}

/// Document-level result of [`LangId::identify_document`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DocLang {
    /// The language with the highest byte-weighted score.
    pub lang: Lang,
    /// Its score in [0, 1]: the byte-weighted mean of the per-chunk probabilities.
    pub score: f32,
    /// The second language and its score.
    pub runner_up: Option<(Lang, f32)>,
    /// Share of the scored bytes whose chunk's top label is each language (sums to 1 unless no
    /// chunk had linguistic content, then empty).
    pub shares: BTreeMap<Lang, f32>,
    /// `Some(n)` when [`LangId::identify_document_for`] stopped after the first `n` bytes because
    /// no label could reach its minimum any more; the fields above then describe those bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<usize>,
}

/// How documents are cut into chunks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DocOptions {
    /// Lines shorter than this (bytes) are joined with the following ones into one chunk.
    pub min_chunk_bytes: usize,
    /// Only the first this many bytes of a document are scored (0 = all).
    pub max_bytes: usize,
}

impl Default for DocOptions {
    fn default() -> Self {
        DocOptions {
            min_chunk_bytes: 40,
            max_bytes: 100_000,
        }
    }
}

/// Letters of each script in a line.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Scripts {
    pub(super) letters: usize,
    pub(super) cyr: usize,
    pub(super) latin: usize,
    pub(super) greek: usize,
}

/// Letters (by script) and non-space characters of `text`.
fn letter_stats(text: &str) -> (Scripts, usize) {
    let (mut letters, mut nonspace, mut cyr, mut latin, mut greek) = (0, 0, 0, 0, 0);
    for c in text.chars() {
        if c.is_whitespace() {
            continue;
        }
        nonspace += 1;
        if c.is_alphabetic() {
            letters += 1;
            if ('\u{400}'..='\u{52f}').contains(&c) {
                cyr += 1;
            } else if c.is_ascii_alphabetic() || ('\u{c0}'..='\u{24f}').contains(&c) {
                latin += 1;
            } else if ('\u{370}'..='\u{3ff}').contains(&c) || ('\u{1f00}'..='\u{1fff}').contains(&c)
            {
                greek += 1;
            }
        }
    }
    let sc = Scripts {
        letters,
        cyr,
        latin,
        greek,
    };
    (sc, nonspace)
}

/// Does `text` have no linguistic content (no or too few letters)? Returns the letter ratio.
fn non_linguistic(text: &str) -> Option<f32> {
    let (sc, nonspace) = letter_stats(text);
    let letters = sc.letters;
    is_non_linguistic(letters, nonspace)
}

fn is_non_linguistic(letters: usize, nonspace: usize) -> Option<f32> {
    if letters < 2 || (letters as f32) < 0.25 * nonspace as f32 {
        Some(if nonspace == 0 {
            0.0
        } else {
            letters as f32 / nonspace as f32
        })
    } else {
        None
    }
}

/// The `other` score of text without linguistic content: 0.05 to 0.25 with the letter ratio.
fn low_confidence(letter_ratio: f32) -> f32 {
    0.05 + 0.2 * letter_ratio.clamp(0.0, 1.0)
}

impl LangId {
    /// Build an identifier for `backend`.
    pub fn new(backend: &Backend) -> Result<LangId, LangError> {
        match backend {
            Backend::Builtin => Ok(LangId::builtin()?),
            Backend::FastText(path) if path.is_dir() => LangId::from_dir(path),
            Backend::FastText(path) => {
                let model = FastText::load(path)?;
                let norm = model.expects_normalized_text();
                Ok(LangId::from_fasttext(
                    model,
                    norm,
                    path.display().to_string(),
                ))
            }
            #[cfg(feature = "whatlang")]
            Backend::Whatlang => Ok(LangId {
                inner: Inner::Whatlang,
                name: "whatlang".into(),
            }),
            #[cfg(feature = "lingua")]
            Backend::Lingua | Backend::LinguaLow => {
                Ok(super::backends::lingua(backend == &Backend::Lingua))
            }
            #[allow(unreachable_patterns)]
            other => Err(LangError::Config(format!(
                "backend {other:?} is not compiled in: build tria-filters with the `lingua` / `whatlang` feature"
            ))),
        }
    }

    /// The built-in model (parsed once per process).
    pub fn builtin() -> Result<LangId, LangError> {
        let m = BUILTIN.get_or_init(|| {
            let main = FastText::from_bytes(BUILTIN_BYTES, "builtin").map_err(|e| e.to_string())?;
            let mut groups = Vec::new();
            for (name, bytes, lm) in BUILTIN_GROUPS {
                let m = FastText::from_bytes(bytes, name).map_err(|e| e.to_string())?;
                let mut g = Group::new(name, m)
                    .map_err(|e| e.to_string())?
                    .balanced(BUILTIN_BALANCE_FLOOR);
                if let Some(lm) = lm {
                    let lm = CharLm::from_bytes(lm, name).map_err(|e| e.to_string())?;
                    g = g.with_char_lm(lm).map_err(|e| e.to_string())?;
                }
                groups.push(Arc::new(g));
            }
            Ok((Arc::new(main), groups))
        });
        match m {
            Ok((m, groups)) => {
                let mut id = LangId::from_shared(m.clone(), true, "builtin".into())
                    .balanced(BUILTIN_BALANCE_FLOOR);
                #[allow(irrefutable_let_patterns)] // without the lingua/whatlang features
                if let Inner::FastText { groups: g, .. } = &mut id.inner {
                    *g = groups.clone();
                }
                Ok(id)
            }
            Err(e) => Err(LangError::Model {
                path: "builtin".into(),
                reason: e.clone(),
            }),
        }
    }

    /// A two-stage identifier from a directory laid out like `filters/models` (what `tria lid
    /// train` writes with the built-in configurations): `lid-tria.ftz` is the first stage, every
    /// other `lid-tria.<group>.ftz` a second-stage group, with its character language model
    /// `lid-tria.<group>.clm` if there is one. Each model's class-prior correction uses the
    /// `balance_floor` of the `MODEL.json` record `tria lid train` wrote next to it, or
    /// [`BUILTIN_BALANCE_FLOOR`] without one. `filters/models` itself gives the built-in backend.
    pub fn from_dir(dir: &Path) -> Result<LangId, LangError> {
        let first = dir.join("lid-tria.ftz");
        if !first.is_file() {
            return Err(LangError::Model {
                path: dir.display().to_string(),
                reason: "a model directory needs lid-tria.ftz (the first stage) and may hold \
                         lid-tria.<group>.ftz second stages"
                    .into(),
            });
        }
        let main = FastText::load(&first)?;
        let norm = main.expects_normalized_text();
        let mut id = LangId::from_fasttext(main, norm, dir.display().to_string())
            .balanced(trained_floor(&first)?);
        let io = |e| LangError::Io {
            path: dir.display().to_string(),
            source: e,
        };
        let mut groups: Vec<(String, PathBuf)> = Vec::new();
        for ent in std::fs::read_dir(dir).map_err(io)? {
            let p = ent.map_err(io)?.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if let Some(g) = name
                .strip_prefix("lid-tria.")
                .and_then(|n| n.strip_suffix(".ftz"))
            {
                groups.push((g.to_string(), p));
            }
        }
        groups.sort();
        for (name, p) in groups {
            let g = Group::new(&name, FastText::load(&p)?)?.balanced(trained_floor(&p)?);
            let clm = super::train::char_lm_path(&p);
            let g = if clm.is_file() {
                g.with_char_lm(CharLm::load(&clm)?)?
            } else {
                g
            };
            id = id.with_group(g);
        }
        Ok(id)
    }

    /// Wrap a loaded fastText model. `normalize` applies [`normalize`] first (as the built-in
    /// model and models trained with `TrainConfig::normalize` expect).
    pub fn from_fasttext(model: FastText, normalize: bool, name: String) -> LangId {
        LangId::from_shared(Arc::new(model), normalize, name)
    }

    fn from_shared(model: Arc<FastText>, normalize: bool, name: String) -> LangId {
        let map = (0..model.nlabels())
            .map(|i| Lang::from_model_label(&model.label(i)))
            .collect();
        LangId {
            inner: Inner::FastText {
                model,
                normalize,
                map,
                groups: Vec::new(),
                prior: None,
            },
            name,
        }
    }

    /// Undo the class priors of a model trained with balanced epochs (`TrainConfig::balance_floor`
    /// = `floor`): a label with `n > floor` training lines was seen `n / floor` times as often as
    /// the small ones, which the softmax learnt as a prior; its probability is divided by that
    /// factor and the line's probabilities renormalised. This is what stops the large `other`
    /// class (153,000 lines against a floor of 30,000) from absorbing short lines of the target
    /// languages. Applies to the first stage of a fastText backend; `floor` 0 turns it off.
    pub fn balanced(mut self, floor: usize) -> LangId {
        #[allow(irrefutable_let_patterns)] // without the lingua/whatlang features
        if let Inner::FastText { model, prior, .. } = &mut self.inner {
            *prior = (floor > 0).then(|| balance_prior(model, floor));
        }
        self
    }

    /// Add a second-stage model for a group of confusable labels: when the first stage's top label
    /// is in the group, the group's total probability is shared out again by the group model.
    /// Only for fastText backends (others are returned unchanged); text is fed to the group model
    /// normalised or raw like the first stage.
    pub fn with_group(mut self, group: Group) -> LangId {
        #[allow(irrefutable_let_patterns)] // without the lingua/whatlang features
        if let Inner::FastText { groups, .. } = &mut self.inner {
            groups.push(Arc::new(group));
        }
        self
    }

    /// The second-stage groups of this identifier (empty unless fastText with groups).
    pub fn groups(&self) -> Vec<&Group> {
        match &self.inner {
            Inner::FastText { groups, .. } => groups.iter().map(|g| &**g).collect(),
            #[allow(unreachable_patterns)]
            _ => Vec::new(),
        }
    }

    #[cfg(feature = "lingua")]
    pub(crate) fn from_lingua(det: Box<lingua::LanguageDetector>, name: &str) -> LangId {
        LangId {
            inner: Inner::Lingua(det),
            name: name.into(),
        }
    }

    /// The backend's name (`builtin`, a path, `lingua`, ...).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The fastText model behind this identifier, if any.
    pub fn fasttext(&self) -> Option<&FastText> {
        match &self.inner {
            Inner::FastText { model, .. } => Some(model),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// Probability of every tria label for one line (indexed by [`Lang::index`]). Model labels
    /// that map to the same tria label are summed; then tria's script rule applies: `sr` is
    /// Cyrillic, `sh`/`hr` are Latin, so mass moves to the label matching the line's script.
    pub fn scores(&self, line: &str) -> [f32; 36] {
        let (scripts, nonspace) = letter_stats(line);
        self.scores_with(line, scripts, nonspace)
    }

    /// [`LangId::scores`] with the line's [`letter_stats`] already counted.
    fn scores_with(&self, line: &str, scripts: Scripts, nonspace: usize) -> [f32; 36] {
        let mut s = [0.0f32; 36];
        let letters = scripts.letters;
        if let Some(r) = is_non_linguistic(letters, nonspace) {
            s[Lang::Other.index()] = low_confidence(r);
            return s;
        }
        match &self.inner {
            Inner::FastText {
                model,
                normalize: norm,
                map,
                groups,
                prior,
            } => {
                SCRATCH.with(|sc| {
                    let sc = &mut *sc.borrow_mut();
                    let mut text = std::mem::take(&mut sc.text);
                    text.clear();
                    if *norm {
                        normalize_into(line, &mut text);
                    } else {
                        text.push_str(line);
                    }
                    // A newline would end the reference's line early; it separates tokens like a
                    // space. One tokenisation serves both stages.
                    Dictionary::tokenize(text.as_bytes(), false, true, &mut sc.ft.tokens);
                    let m: &FastText = model;
                    m.probabilities_tokens(text.as_bytes(), &mut sc.ft, &mut sc.probs);
                    if let Some(w) = prior {
                        apply_prior(&mut sc.probs, w);
                    }
                    for (i, &pi) in sc.probs.iter().enumerate() {
                        s[map[i].index()] += pi;
                    }
                    let mut marks = Marks::new(&text);
                    maltese_rule(&mut s, &mut marks);
                    if !groups.is_empty() {
                        script_rule(&mut s, scripts);
                        let top = top_index(&s);
                        if let Some(g) = groups
                            .iter()
                            .find(|g| g.member[top] && s[top] < GROUP_SKIP_ABOVE)
                        {
                            let gm = &g.model;
                            gm.probabilities_tokens(text.as_bytes(), &mut sc.ft, &mut sc.probs);
                            if let Some(w) = &g.prior {
                                apply_prior(&mut sc.probs, w);
                            }
                            reshare(&mut s, &sc.probs, &g.map, GROUP_WEIGHT, 1e-6);
                            if let Some((lm, lm_map)) = &g.char_lm {
                                lm.posteriors(&text, &mut sc.lm, &mut sc.probs);
                                reshare(&mut s, &sc.probs, lm_map, CHAR_LM_WEIGHT, 1e-9);
                            }
                        }
                    }
                    slovene_rule(&mut s, &mut marks);
                    swedish_rule(&mut s, &mut marks);
                    sc.text = text;
                });
            }
            #[cfg(feature = "whatlang")]
            Inner::Whatlang => super::backends::whatlang_scores(line, &mut s),
            #[cfg(feature = "lingua")]
            Inner::Lingua(det) => super::backends::lingua_scores(det, line, &mut s),
        }
        script_rule(&mut s, scripts);
        s
    }

    /// The `k` best tria labels of one line with their probabilities, best first (ties by label).
    pub fn predict(&self, line: &str, k: usize) -> Vec<(Lang, f32)> {
        top_k(&self.scores(line), k)
    }

    /// Identify the language(s) of a whole document with default [`DocOptions`].
    pub fn identify_document(&self, text: &str) -> DocLang {
        self.identify_document_with(text, &DocOptions::default())
    }

    /// Identify a document: cut it into line chunks of at least `min_chunk_bytes`, score each,
    /// and weight each chunk's probabilities by its byte length (as OSCAR does), so a
    /// mixed-language page gets the byte share of each language.
    pub fn identify_document_with(&self, text: &str, opts: &DocOptions) -> DocLang {
        self.identify(text, opts, None)
    }

    /// [`LangId::identify_document_with`] for a caller that keeps a document only if its label
    /// `l` scores at least `need[l]` (above 1, e.g. infinity: never kept). Scoring stops at the
    /// first chunk after which no label can reach its minimum, even if every byte left were
    /// scored 1 for it: the document would be dropped whatever the rest says, so the keep or drop
    /// decision is exactly the one of scoring it all. A page in a language not kept is typically
    /// decided after a fifth of its bytes with minimums of 0.8 (`stopped_at` says where).
    pub fn identify_document_for(
        &self,
        text: &str,
        opts: &DocOptions,
        need: &[f32; 36],
    ) -> DocLang {
        self.identify(text, opts, Some(need))
    }

    fn identify(&self, text: &str, opts: &DocOptions, need: Option<&[f32; 36]>) -> DocLang {
        let text = if opts.max_bytes > 0 && text.len() > opts.max_bytes {
            let mut end = opts.max_bytes;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            &text[..end]
        } else {
            text
        };
        let mut acc = Tally::new();
        let score_chunk = |acc: &mut Tally, chunk: &str| {
            let chunk = chunk.trim();
            if chunk.is_empty() {
                return;
            }
            let (scripts, nonspace) = letter_stats(chunk);
            if is_non_linguistic(scripts.letters, nonspace).is_some() {
                return;
            }
            let s = self.scores_with(chunk, scripts, nonspace);
            let w = chunk.len() as f64;
            acc.weight += w;
            acc.shares[best_label(&s).index()] += w;
            for (t, p) in acc.total.iter_mut().zip(s) {
                *t += w * p as f64;
            }
        };
        let mut start: Option<usize> = None;
        let mut pos = 0;
        let mut stopped_at = None;
        for line in text.split_inclusive('\n') {
            let st = *start.get_or_insert(pos);
            pos += line.len();
            if pos - st >= opts.min_chunk_bytes {
                score_chunk(&mut acc, &text[st..pos]);
                start = None;
                if let Some(need) = need {
                    if pos < text.len() && acc.out_of_reach(text.len() - pos, need) {
                        stopped_at = Some(pos);
                        break;
                    }
                }
            }
        }
        if let (Some(st), None) = (start, stopped_at) {
            score_chunk(&mut acc, &text[st..]);
        }
        let Tally {
            total,
            shares,
            weight,
        } = acc;
        if weight == 0.0 {
            let r = low_confidence(non_linguistic(text).unwrap_or(0.0));
            return DocLang {
                lang: Lang::Other,
                score: r,
                runner_up: None,
                shares: BTreeMap::new(),
                stopped_at,
            };
        }
        let avg: Vec<f32> = total.iter().map(|t| (t / weight) as f32).collect();
        let best = top_k(&avg, 2);
        DocLang {
            lang: best[0].0,
            score: best[0].1,
            runner_up: best.get(1).copied().filter(|r| r.1 > 0.0),
            shares: Lang::ALL
                .iter()
                .filter(|l| shares[l.index()] > 0.0)
                .map(|l| (*l, (shares[l.index()] / weight) as f32))
                .collect(),
            stopped_at,
        }
    }
}

/// Byte-weighted sums over the chunks of a document scored so far.
struct Tally {
    /// Per label, the sum of `bytes * probability`.
    total: [f64; 36],
    /// Per label, the bytes of the chunks it won.
    shares: [f64; 36],
    /// Bytes scored.
    weight: f64,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            total: [0.0; 36],
            shares: [0.0; 36],
            weight: 0.0,
        }
    }

    /// Can no label reach its minimum `need` any more, with at most `left` bytes to come? The
    /// best a label can end with is `(total + left) / (weight + left)` (every byte left scored 1
    /// for it; more bytes only raise a mean below 1). The margin absorbs rounding, so a document
    /// this says no to is one that whole-document scoring drops too.
    fn out_of_reach(&self, left: usize, need: &[f32; 36]) -> bool {
        const MARGIN: f64 = 1e-4;
        let left = left as f64;
        self.total
            .iter()
            .zip(need)
            .all(|(t, n)| (t + left) / (self.weight + left) < f64::from(*n) - MARGIN)
    }
}

/// Index of the largest score (ties: the first label in [`Lang::ALL`] order).
fn top_index(s: &[f32; 36]) -> usize {
    let mut best = Lang::ALL[0].index();
    for l in Lang::ALL {
        if s[l.index()] > s[best] {
            best = l.index();
        }
    }
    best
}

/// The label [`top_k`]`(s, 1)` puts first (largest score, ties by label order), without sorting.
fn best_label(s: &[f32]) -> Lang {
    let mut best = Lang::ALL[0];
    for &l in &Lang::ALL[1..] {
        match s[l.index()].total_cmp(&s[best.index()]) {
            std::cmp::Ordering::Greater => best = l,
            std::cmp::Ordering::Equal if l < best => best = l,
            _ => {}
        }
    }
    best
}

/// The `k` largest entries as `(Lang, score)`, ties broken by label order (deterministic).
pub(crate) fn top_k(s: &[f32], k: usize) -> Vec<(Lang, f32)> {
    let mut v: Vec<(Lang, f32)> = Lang::ALL.iter().map(|l| (*l, s[l.index()])).collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(k.max(1));
    v
}

#[cfg(test)]
mod tests {
    use super::super::rules::label_script;
    use super::*;

    #[test]
    fn best_label_is_the_first_of_top_k() {
        let mut s = [0.0f32; 36];
        assert_eq!(best_label(&s), top_k(&s, 1)[0].0);
        s[Lang::Gl.index()] = 0.4;
        s[Lang::Pt.index()] = 0.4;
        s[Lang::Es.index()] = 0.2;
        assert_eq!(best_label(&s), top_k(&s, 1)[0].0);
        s[Lang::Pt.index()] = 0.41;
        assert_eq!(best_label(&s), Lang::Pt);
    }

    #[test]
    fn summed_word_rows_give_the_reference_probabilities() {
        // The fast path (one summed row per known word, one tokenisation for both stages) against
        // the reference feature list, on every built-in model: same top label, probabilities
        // equal up to float rounding.
        let id = LangId::builtin().unwrap();
        // And a model of another dimension: models of different sizes share the thread's
        // out-of-vocabulary cache (a stack of a first stage and groups trained apart).
        let tiny = {
            let corpus = vec![
                (
                    "ca".to_string(),
                    vec!["el consell ha aprovat avui".to_string(); 8],
                ),
                (
                    "eu".to_string(),
                    vec!["gaur goizean bilera egin dute".to_string(); 8],
                ),
            ];
            let cfg = super::super::train::TrainConfig {
                dim: 6,
                pq_dsub: 3,
                epochs: 2,
                bucket: 500,
                min_count: 1,
                valid_permille: 0,
                balance_floor: 0,
                crop_share: 0.0,
                qretrain_epochs: 0,
                ..Default::default()
            };
            super::super::train::train_corpus(&corpus, &cfg).unwrap().0
        };
        let mut models: Vec<&FastText> = vec![id.fasttext().unwrap(), &tiny];
        models.extend(id.groups().iter().map(|g| &g.model));
        let lines = [
            "el consell de govern ha aprovat avui el projecte de llei de pressupostos",
            "a xunta de galicia aprobou onte o proxecto de lei de orzamentos",
            "gaur goizean udaletxeko langileek bilera egin dute hiriko plazan",
            "влада је јуче усвојила предлог закона о буџету",
            "zzqxv qwpmk unknownish wordz __label__ca mixed\nwith a newline",
            "zzqxv zzqxv qwpmk zzqxv wordz",
            "__label__es",
            "x",
            "",
        ];
        let mut sc = Scratch::default();
        let (mut feats, mut want, mut got) = (Vec::new(), Vec::new(), Vec::new());
        // Twice over, so the second pass reads unknown words from the per-thread cache.
        for m in models.iter().chain(&models) {
            for line in lines {
                let reference = line.replace('\n', " ");
                m.dictionary()
                    .line_features(reference.as_bytes(), true, &mut feats, &mut sc);
                m.probabilities_into(&feats, &mut sc, &mut want);
                Dictionary::tokenize(line.as_bytes(), false, true, &mut sc.tokens);
                m.probabilities_tokens(line.as_bytes(), &mut sc, &mut got);
                assert_eq!(want.len(), got.len());
                let argmax =
                    |v: &[f32]| (0..v.len()).fold(0, |b, i| if v[i] > v[b] { i } else { b });
                assert_eq!(argmax(&want), argmax(&got), "{line:?}");
                for (a, b) in want.iter().zip(&got) {
                    assert!((a - b).abs() < 1e-5, "{line:?}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn builtin_identifies_core_languages() {
        let id = LangId::builtin().unwrap();
        let cases = [
            (
                "El Consell de Govern ha aprovat avui el projecte de llei de pressupostos.",
                Lang::Ca,
            ),
            (
                "Gaur goizean udaletxeko langileek bilera egin dute hiriko plazan.",
                Lang::Eu,
            ),
            (
                "A Xunta de Galicia aprobou onte o proxecto de lei de orzamentos para o ano que vén.",
                Lang::Gl,
            ),
            (
                "El Gobierno aprobó ayer el proyecto de ley de presupuestos para el año que viene.",
                Lang::Es,
            ),
            (
                "O Governo aprovou ontem o projeto de lei do orçamento para o próximo ano.",
                Lang::Pt,
            ),
            (
                "Влада је јуче усвојила предлог закона о буџету за следећу годину.",
                Lang::Sr,
            ),
            (
                "The government approved the budget bill for next year yesterday.",
                Lang::En,
            ),
        ];
        for (text, want) in cases {
            let got = id.predict(text, 3);
            assert_eq!(got[0].0, want, "{text}: {got:?}");
            assert!(got[0].1 > 0.5, "{text}: {got:?}");
            assert!(got[0].1 >= got[1].1 && got[1].1 >= got[2].1);
        }
    }

    #[test]
    fn script_decides_between_sr_and_sh() {
        let id = LangId::builtin().unwrap();
        let lat = id.scores("Vlada je juče usvojila predlog zakona o budžetu za sledeću godinu.");
        assert_eq!(lat[Lang::Sr.index()], 0.0);
        let cyr = id.scores("Влада је јуче усвојила предлог закона о буџету за следећу годину.");
        assert_eq!(cyr[Lang::Sh.index()], 0.0);
        assert_eq!(cyr[Lang::Hr.index()], 0.0);
        // A line mostly in one script gets no probability for labels written in another, even
        // with Latin symbols in it; the distribution still sums to 1.
        for (text, script) in [
            (
                "Светлост звезде стиже за 8-{h}- 12-{m}- и 5-{s}-, а удаљеност је 4,2 -{km}-.",
                1,
            ),
            (
                "Η κυβέρνηση ενέκρινε χθες τον προϋπολογισμό (budget) του νέου έτους.",
                2,
            ),
            ("Vlada je usvojila proračun za Београд i Novi Sad.", 0),
        ] {
            let s = id.scores(text);
            for l in Lang::ALL {
                if label_script(l).is_some_and(|ls| ls != script) {
                    assert_eq!(s[l.index()], 0.0, "{text}: {l:?}");
                }
            }
            assert!((s.iter().sum::<f32>() - 1.0).abs() < 1e-4, "{text}");
        }
        assert_eq!(
            id.predict(
                "Светлост звезде стиже за 8-{h}- 12-{m}- и 5-{s}-, а удаљеност је 4,2 -{km}-.",
                1
            )[0]
            .0,
            Lang::Sr
        );
    }

    #[test]
    fn builtin_has_second_stage_groups() {
        let id = LangId::builtin().unwrap();
        let groups: Vec<(&str, Vec<&str>)> = id
            .groups()
            .iter()
            .map(|g| (g.name(), g.labels().iter().map(|l| l.code()).collect()))
            .collect();
        assert_eq!(
            groups,
            vec![
                ("iberian", vec!["ca", "es", "gl", "oc", "pt"]),
                ("nordic", vec!["da", "nn", "no", "sv"]),
                ("south-slavic", vec!["hr", "sh", "sl"]),
                ("czech-slovak", vec!["cs", "sk"]),
                ("finnic", vec!["et", "fi"]),
            ]
        );
        // A model with `other` (the first stage) cannot be a group.
        let main = FastText::from_bytes(BUILTIN_BYTES, "builtin").unwrap();
        let err = Group::new("main", main).err().unwrap();
        assert!(err.to_string().contains("other"), "{err}");
        // The Iberian group has a character language model of its labels, the others none.
        let with_lm: Vec<&str> = id
            .groups()
            .iter()
            .filter(|g| g.char_lm().is_some())
            .map(|g| g.name())
            .collect();
        assert_eq!(with_lm, ["iberian"]);
        let lm = id.groups()[0].char_lm().unwrap();
        assert_eq!(lm.labels(), ["ca", "es", "gl", "oc", "pt"]);
        // A language model of other labels cannot join a group.
        let nordic = FastText::from_bytes(BUILTIN_GROUPS[1].1, "nordic").unwrap();
        let err = Group::new("nordic", nordic)
            .unwrap()
            .with_char_lm(lm.clone())
            .err()
            .unwrap();
        assert!(err.to_string().contains("not the group's"), "{err}");
    }

    #[test]
    fn char_lm_moves_only_the_iberian_groups_mass() {
        // The built-in stack with and without the Iberian language model: lines the first stage
        // gives to an Iberian label keep their Iberian total, other lines do not change at all.
        let with = LangId::builtin().unwrap();
        let main = FastText::from_bytes(BUILTIN_BYTES, "builtin").unwrap();
        let mut without =
            LangId::from_fasttext(main, true, "no-lm".into()).balanced(BUILTIN_BALANCE_FLOOR);
        for (name, bytes, _) in BUILTIN_GROUPS {
            let g = Group::new(name, FastText::from_bytes(bytes, name).unwrap()).unwrap();
            without = without.with_group(g.balanced(BUILTIN_BALANCE_FLOOR));
        }
        let iberian = [Lang::Ca, Lang::Es, Lang::Gl, Lang::Oc, Lang::Pt];
        let mut changed = 0;
        for line in [
            "Non ten outro nome.",
            "Nunca viran nada igual.",
            "Necesitamos transparencia.",
            "Debes ir o médico.",
            "Estou entusiasmada.",
            "Que suerte.",
            "Els nens juguen al parc.",
            "Der Hund schläft im Garten.",
            "Egun on, zer moduz?",
        ] {
            let (a, b) = (with.scores(line), without.scores(line));
            let mass = |s: &[f32; 36]| iberian.iter().map(|l| s[l.index()]).sum::<f32>();
            assert!((mass(&a) - mass(&b)).abs() < 1e-4, "{line}");
            for l in Lang::ALL {
                if !iberian.contains(&l) {
                    assert!((a[l.index()] - b[l.index()]).abs() < 1e-6, "{line} {l:?}");
                }
            }
            changed += iberian
                .iter()
                .any(|l| (a[l.index()] - b[l.index()]).abs() > 1e-3)
                as usize;
        }
        assert!(
            changed >= 4,
            "the language model changed only {changed} lines"
        );
    }

    #[test]
    fn group_model_reshares_only_its_groups_mass() {
        let main = FastText::from_bytes(BUILTIN_BYTES, "builtin").unwrap();
        let first =
            LangId::from_fasttext(main, true, "first".into()).balanced(BUILTIN_BALANCE_FLOOR);
        let both = LangId::builtin().unwrap();
        let iberian = [Lang::Ca, Lang::Es, Lang::Gl, Lang::Oc, Lang::Pt];
        let mut changed = 0;
        for text in [
            // Short lines the first stage is unsure of (below GROUP_SKIP_ABOVE).
            "Depende do momento.",
            "Que bonito!",
            "Por favor.",
            "Que pena.",
            "Vale a pena.",
            "A casa é grande.",
            // Confident: the group model is skipped, nothing changes.
            "El niño jugaba en el jardín mientras su madre leía el periódico.",
        ] {
            let a = first.scores(text);
            let b = both.scores(text);
            let mass = |s: &[f32; 36]| iberian.iter().map(|l| s[l.index()]).sum::<f32>();
            assert!((mass(&a) - mass(&b)).abs() < 1e-4, "{text}");
            for l in Lang::ALL {
                if !iberian.contains(&l) {
                    assert_eq!(a[l.index()], b[l.index()], "{text}: {l:?}");
                }
            }
            changed += usize::from(
                iberian
                    .iter()
                    .any(|l| (a[l.index()] - b[l.index()]).abs() > 1e-6),
            );
        }
        assert!(changed >= 4, "the group model changed only {changed} lines");
        let es = "El niño jugaba en el jardín mientras su madre leía el periódico.";
        assert_eq!(first.scores(es), both.scores(es));
        // Outside every group (Basque), the second stage does nothing.
        let eu = "Gaur goizean udaletxeko langileek bilera egin dute hiriko plazan.";
        assert_eq!(first.scores(eu), both.scores(eu));
    }

    #[test]
    fn balance_prior_divides_by_over_representation() {
        let main = FastText::from_bytes(BUILTIN_BYTES, "builtin").unwrap();
        let w = balance_prior(&main, BUILTIN_BALANCE_FLOOR);
        let d = main.dictionary();
        // `other` is split by source language in training (`other-ast`, ...): its labels count
        // together.
        let family = |i: usize| Lang::from_model_label(&main.label(i));
        let lines = |l: Lang| -> f32 {
            (0..main.nlabels())
                .filter(|&i| family(i) == l)
                .map(|i| d.entries()[d.nwords() + i].count as f32)
                .sum()
        };
        for (i, wi) in w.iter().enumerate() {
            let n = lines(family(i));
            let want = if n <= 30_000.0 { 1.0 } else { 30_000.0 / n };
            assert!(
                (wi - want).abs() < 1e-6,
                "{}: {wi} vs {want}",
                main.label(i)
            );
        }
        let others: Vec<usize> = (0..main.nlabels())
            .filter(|&i| family(i) == Lang::Other)
            .collect();
        assert!(others.len() > 1, "other is split by source language");
        for &o in &others {
            assert!(
                w[o] < 0.25,
                "other has 153,000 training lines: {} {}",
                main.label(o),
                w[o]
            );
        }
        let mut p = vec![0.5, 0.25, 0.25];
        apply_prior(&mut p, &[0.5, 1.0, 1.0]);
        assert_eq!(p, vec![1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0]);
        // Scores stay a distribution.
        let id = LangId::builtin().unwrap();
        let s = id.scores("Bon dia a tothom, com esteu avui?");
        assert!((s.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }

    #[test]
    fn text_without_letters_is_other_with_low_confidence() {
        let id = LangId::builtin().unwrap();
        for text in [
            "",
            "   ",
            "12345 678,90",
            "!!! ??? ... ---",
            "{}[]();=> 0x1F 42",
            "😀😀😀",
        ] {
            let (l, p) = id.predict(text, 1)[0];
            assert_eq!(l, Lang::Other, "{text:?}");
            assert!(p <= 0.25, "{text:?}: {p}");
            let d = id.identify_document(text);
            assert_eq!(d.lang, Lang::Other);
            assert!(d.score <= 0.25);
            assert!(d.shares.is_empty());
        }
    }

    #[test]
    fn mixed_document_gets_byte_shares() {
        let id = LangId::builtin().unwrap();
        let ca =
            "La ciutat de Barcelona és la capital de Catalunya i té una gran activitat cultural.\n";
        let eu = "Bilboko museoak erakusketa berria inauguratu du gaur, eta jende asko joan da.\n";
        let doc = format!("{ca}{ca}{ca}{eu}12 34 56\n");
        let d = id.identify_document(&doc);
        assert_eq!(d.lang, Lang::Ca, "{d:?}");
        let ca_share = d.shares[&Lang::Ca];
        let eu_share = d.shares[&Lang::Eu];
        let want = 3.0 * (ca.len() - 1) as f32 / (3 * (ca.len() - 1) + eu.len() - 1) as f32;
        assert!((ca_share - want).abs() < 1e-4, "{ca_share} vs {want}");
        assert!((ca_share + eu_share - 1.0).abs() < 1e-5, "{d:?}");
        assert_eq!(d.runner_up.map(|r| r.0), Some(Lang::Eu));
        assert!(d.score > 0.5 && d.score <= 1.0);
        // Deterministic.
        assert_eq!(d, id.identify_document(&doc));
        // Short lines are joined into chunks, so a list of short Catalan items still scores.
        let short =
            "Inici\nQui som\nContacte\nNotícies del dia\nAgenda cultural\nEls nostres serveis\n";
        assert_eq!(id.identify_document(short).lang, Lang::Ca);
    }

    #[test]
    fn stopping_early_keeps_and_drops_exactly_what_scoring_everything_does() {
        use super::super::stage::LangConfig;
        let id = LangId::builtin().unwrap();
        let en = "The committee will publish its final report on the new railway line next week.\n";
        let ca =
            "El comitè publicarà la setmana vinent l'informe final sobre la nova línia de tren.\n";
        let opts = DocOptions::default();
        let mut stopped = 0;
        for min in [0.3, 0.5, 0.8, 0.95] {
            let config = LangConfig {
                keep: vec![Lang::Ca],
                min_score: [(Lang::Ca, min)].into(),
                ..LangConfig::default()
            };
            let need = config.needs();
            assert_eq!(need[Lang::Ca.index()], min);
            assert_eq!(need[Lang::En.index()], f32::INFINITY);
            for english in 0..=10 {
                let doc = en.repeat(english) + &ca.repeat(10 - english);
                let full = id.identify_document_with(&doc, &opts);
                let fast = id.identify_document_for(&doc, &opts, &need);
                let keep = config.decide(&full).is_ok();
                assert_eq!(keep, config.decide(&fast).is_ok(), "{min} {english}");
                match fast.stopped_at {
                    None => assert_eq!(fast, full),
                    Some(n) => {
                        assert!(!keep && n < doc.len(), "{min} {english} {n}");
                        let head = id.identify_document_with(&doc[..n], &opts);
                        assert_eq!(
                            DocLang {
                                stopped_at: None,
                                ..fast
                            },
                            head
                        );
                        stopped += 1;
                    }
                }
            }
        }
        // An English page with a minimum of 0.8 for Catalan is decided after a quarter of it.
        let config = LangConfig {
            keep: vec![Lang::Ca],
            ..LangConfig::default()
        };
        let doc = en.repeat(40);
        let d = id.identify_document_for(&doc, &opts, &config.needs());
        assert!(d.stopped_at.unwrap() <= doc.len() / 4, "{d:?}");
        assert_eq!(d.lang, Lang::En);
        assert!(stopped >= 10, "{stopped}");
    }

    #[test]
    fn backends_parse_and_fail_clearly() {
        assert_eq!(Backend::parse("builtin"), Backend::Builtin);
        assert_eq!(Backend::parse("lingua-low"), Backend::LinguaLow);
        assert_eq!(
            Backend::parse("x/lid.176.ftz"),
            Backend::FastText("x/lid.176.ftz".into())
        );
        let err = LangId::new(&Backend::parse("/nonexistent/model.bin")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/model.bin"), "{err}");
        #[cfg(not(feature = "lingua"))]
        assert!(
            LangId::new(&Backend::Lingua)
                .unwrap_err()
                .to_string()
                .contains("feature")
        );
    }

    #[cfg(feature = "lingua")]
    #[test]
    fn lingua_backends_map_onto_tria_labels() {
        for b in [Backend::Lingua, Backend::LinguaLow] {
            let id = LangId::new(&b).unwrap();
            let text = "El Consell de Govern ha aprovat avui el projecte de llei de pressupostos.";
            assert_eq!(id.predict(text, 1)[0].0, Lang::Ca, "{b:?}");
            let nb = "Regjeringen la i dag fram forslaget til statsbudsjett for neste år.";
            assert_eq!(id.predict(nb, 1)[0].0, Lang::No, "{b:?}");
        }
    }

    #[cfg(feature = "whatlang")]
    #[test]
    fn whatlang_backend_maps_onto_tria_labels() {
        let id = LangId::new(&Backend::Whatlang).unwrap();
        let text = "The government approved the budget bill for next year yesterday afternoon.";
        assert_eq!(id.predict(text, 1)[0].0, Lang::En);
    }
}
