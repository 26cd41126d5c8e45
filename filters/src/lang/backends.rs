//! The optional third-party backends: whatlang and lingua, each restricted to the tria languages
//! it knows. Their languages map onto tria labels through ISO 639-3 codes.

#[cfg(any(feature = "lingua", feature = "whatlang"))]
use super::Lang;
#[cfg(feature = "lingua")]
use super::id::LangId;

/// whatlang's scores: the detected language gets its confidence, nothing else is scored.
#[cfg(feature = "whatlang")]
pub(crate) fn whatlang_scores(line: &str, s: &mut [f32; 36]) {
    use std::sync::OnceLock;
    static DET: OnceLock<whatlang::Detector> = OnceLock::new();
    let det = DET.get_or_init(|| {
        let langs: Vec<whatlang::Lang> = whatlang::Lang::all()
            .iter()
            .copied()
            .filter(|l| Lang::from_model_label(l.code()) != Lang::Other)
            .collect();
        whatlang::Detector::with_allowlist(langs)
    });
    match det.detect(line) {
        // whatlang picks one of its languages and gives a confidence (often low on short
        // lines); the pick is its answer, so it stays the top label whatever the confidence.
        Some(info) => {
            let c = (info.confidence() as f32).max(1e-6);
            s[Lang::from_model_label(info.lang().code()).index()] += c;
        }
        None => s[Lang::Other.index()] = 1.0,
    }
}

/// The lingua languages tria uses (the cargo features enabled in `filters/Cargo.toml`).
#[cfg(feature = "lingua")]
pub(crate) const LINGUA_LANGS: [lingua::Language; 32] = {
    use lingua::Language::*;
    [
        Bulgarian, Catalan, Czech, Welsh, Danish, German, Greek, English, Spanish, Estonian,
        Basque, Finnish, French, Irish, Croatian, Hungarian, Italian, Lithuanian, Latvian, Dutch,
        Nynorsk, Bokmal, Polish, Portuguese, Romanian, Russian, Bosnian, Serbian, Slovak, Slovene,
        Swedish, Ukrainian,
    ]
};

#[cfg(feature = "lingua")]
pub(crate) fn lingua(high: bool) -> LangId {
    let mut b = lingua::LanguageDetectorBuilder::from_languages(&LINGUA_LANGS);
    if !high {
        b.with_low_accuracy_mode();
    }
    LangId::from_lingua(
        Box::new(b.build()),
        if high { "lingua" } else { "lingua-low" },
    )
}

#[cfg(feature = "lingua")]
pub(crate) fn lingua_scores(det: &lingua::LanguageDetector, line: &str, s: &mut [f32; 36]) {
    let values = det.compute_language_confidence_values(line);
    let mut any = false;
    for (lang, p) in values {
        let code = lang.iso_code_639_3().to_string();
        s[Lang::from_model_label(&code).index()] += p as f32;
        any |= p > 0.0;
    }
    if !any {
        s[Lang::Other.index()] = 1.0;
    }
}
