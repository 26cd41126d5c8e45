//! One interface over every backend, and document-level identification.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use super::fasttext::{FastText, Scratch};
use super::{Lang, LangError, normalize_into};

/// The built-in model (see `filters/models/README.md`), a quantized fastText file.
static BUILTIN_BYTES: &[u8] = include_bytes!("../../models/lid-tria.ftz");
static BUILTIN: OnceLock<Result<Arc<FastText>, String>> = OnceLock::new();

/// Per-thread buffers, so scoring a line allocates nothing in the steady state.
#[derive(Default)]
struct ThreadScratch {
    ft: Scratch,
    text: String,
    feats: Vec<i32>,
    probs: Vec<f32>,
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
    /// which it marks in the vocabulary); its labels are mapped onto tria's.
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

/// Letters and non-space characters of `text`, and whether letters are mostly Cyrillic.
fn letter_stats(text: &str) -> (usize, usize, usize, usize) {
    let (mut letters, mut nonspace, mut cyr, mut latin) = (0, 0, 0, 0);
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
            }
        }
    }
    (letters, nonspace, cyr, latin)
}

/// Does `text` have no linguistic content (no or too few letters)? Returns the letter ratio.
fn non_linguistic(text: &str) -> Option<f32> {
    let (letters, nonspace, _, _) = letter_stats(text);
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
            FastText::from_bytes(BUILTIN_BYTES, "builtin")
                .map(Arc::new)
                .map_err(|e| e.to_string())
        });
        match m {
            Ok(m) => Ok(LangId::from_shared(m.clone(), true, "builtin".into())),
            Err(e) => Err(LangError::Model {
                path: "builtin".into(),
                reason: e.clone(),
            }),
        }
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
            },
            name,
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
        let mut s = [0.0f32; 36];
        let (letters, nonspace, cyr, latin) = letter_stats(line);
        if let Some(r) = is_non_linguistic(letters, nonspace) {
            s[Lang::Other.index()] = low_confidence(r);
            return s;
        }
        match &self.inner {
            Inner::FastText {
                model,
                normalize: norm,
                map,
            } => {
                SCRATCH.with(|sc| {
                    let sc = &mut *sc.borrow_mut();
                    let mut text = std::mem::take(&mut sc.text);
                    let mut feats = std::mem::take(&mut sc.feats);
                    text.clear();
                    if *norm {
                        normalize_into(line, &mut text);
                    } else {
                        text.push_str(line);
                    }
                    // A newline would end the reference's line early; treat it as a space.
                    if text.contains('\n') {
                        text = text.replace('\n', " ");
                    }
                    let m: &FastText = model;
                    m.dictionary()
                        .line_features(text.as_bytes(), true, &mut feats, &mut sc.ft);
                    m.probabilities_into(&feats, &mut sc.ft, &mut sc.probs);
                    for (i, &pi) in sc.probs.iter().enumerate() {
                        s[map[i].index()] += pi;
                    }
                    sc.text = text;
                    sc.feats = feats;
                });
            }
            #[cfg(feature = "whatlang")]
            Inner::Whatlang => super::backends::whatlang_scores(line, &mut s),
            #[cfg(feature = "lingua")]
            Inner::Lingua(det) => super::backends::lingua_scores(det, line, &mut s),
        }
        let (sr, sh, hr) = (Lang::Sr.index(), Lang::Sh.index(), Lang::Hr.index());
        if cyr > latin {
            s[sr] += s[sh] + s[hr];
            s[sh] = 0.0;
            s[hr] = 0.0;
        } else if latin > cyr {
            s[sh] += s[sr];
            s[sr] = 0.0;
        }
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
        let text = if opts.max_bytes > 0 && text.len() > opts.max_bytes {
            let mut end = opts.max_bytes;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            &text[..end]
        } else {
            text
        };
        let mut total = [0.0f64; 36];
        let mut shares = [0.0f64; 36];
        let mut weight = 0.0f64;
        let mut score_chunk = |chunk: &str| {
            let chunk = chunk.trim();
            if chunk.is_empty() || non_linguistic(chunk).is_some() {
                return;
            }
            let s = self.scores(chunk);
            let w = chunk.len() as f64;
            weight += w;
            let best = top_k(&s, 1)[0].0;
            shares[best.index()] += w;
            for (t, p) in total.iter_mut().zip(s) {
                *t += w * p as f64;
            }
        };
        let mut start: Option<usize> = None;
        let mut pos = 0;
        for line in text.split_inclusive('\n') {
            let st = *start.get_or_insert(pos);
            pos += line.len();
            if pos - st >= opts.min_chunk_bytes {
                score_chunk(&text[st..pos]);
                start = None;
            }
        }
        if let Some(st) = start {
            score_chunk(&text[st..]);
        }
        if weight == 0.0 {
            let r = low_confidence(non_linguistic(text).unwrap_or(0.0));
            return DocLang {
                lang: Lang::Other,
                score: r,
                runner_up: None,
                shares: BTreeMap::new(),
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
        }
    }
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
    use super::*;

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
