//! Per-rule tests with values computed by hand on Catalan, Basque and Galician text.

use super::*;

fn filter(kind: &str, toml_text: &str) -> QualityFilter {
    let t: toml::Table = toml_text.parse().expect("test TOML parses");
    QualityFilter::from_table(kind, &t).expect("valid test config")
}

fn run(f: &QualityFilter, text: &str, lang: &str) -> (Decision, Stats, String) {
    let mut s = text.to_string();
    let mut stats = Stats::new();
    let d = f.apply(
        &mut s,
        &DocContext {
            lang: Some(lang),
            url: None,
        },
        &mut stats,
    );
    (d, stats, s)
}

fn stat(stats: &Stats, name: &str) -> f64 {
    stats
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("no stat {name} in {stats:?}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn gopher_quality_catalan_by_hand() {
    // Tokens: L' home d' Olot va arribar ... # festa - primer punt = 12, of which 3 are punctuation only.
    // Non-symbol words: L'(2) home(4) d'(2) Olot(4) va(2) arribar(7) festa(5) primer(6) punt(4) = 36 chars / 9.
    let text = "L'home d'Olot va arribar... #festa\n- primer punt";
    let f = filter(
        "gopher_quality",
        "stop_words = [\"l'\", \"va\", \"de\", \"la\"]",
    );
    let (d, st, _) = run(&f, text, "ca");
    assert_eq!(stat(&st, "gopher.words"), 9.0);
    assert!(close(stat(&st, "gopher.mean_word_len"), 4.0));
    assert!(close(stat(&st, "gopher.hash_ratio"), 1.0 / 12.0));
    assert!(close(stat(&st, "gopher.ellipsis_ratio"), 1.0 / 12.0));
    assert!(close(stat(&st, "gopher.bullet_lines"), 0.5));
    assert_eq!(stat(&st, "gopher.ellipsis_lines"), 0.0);
    assert!(close(stat(&st, "gopher.alpha_words"), 9.0 / 12.0));
    // `L'` (case and apostrophe folded) and `va`.
    assert_eq!(stat(&st, "gopher.stop_words"), 2.0);
    assert_eq!(d, Decision::Drop("gopher_short_doc"));
    let f = filter(
        "gopher_quality",
        "min_doc_words = 5\nstop_words = [\"l'\", \"va\"]",
    );
    assert_eq!(
        run(&f, text, "ca").0,
        Decision::Drop("gopher_below_alpha_threshold")
    );
    let f = filter(
        "gopher_quality",
        "min_doc_words = 5\nmin_alpha_words_ratio = 0.7\nstop_words = [\"l'\", \"va\"]",
    );
    assert_eq!(run(&f, text, "ca").0, Decision::Keep);
    let f = filter(
        "gopher_quality",
        "min_doc_words = 5\nmin_alpha_words_ratio = 0.7\nmin_stop_words = 3\nstop_words = [\"l'\", \"va\"]",
    );
    assert_eq!(
        run(&f, text, "ca").0,
        Decision::Drop("gopher_enough_stop_words")
    );
}

#[test]
fn gopher_quality_uses_the_language_stop_words() {
    // Galician built-in list has `que`, `o`, `de`; Gopher's English list has none of them.
    let text = "Dixo que o can de Xoán é grande";
    let f = filter("gopher_quality", "");
    let (_, gl, _) = run(&f, text, "gl");
    assert!(stat(&gl, "gopher.stop_words") >= 3.0, "{gl:?}");
    let (_, en, _) = run(&f, text, "en");
    assert_eq!(stat(&en, "gopher.stop_words"), 0.0);
}

#[test]
fn gopher_repetition_basque_by_hand() {
    // 36 characters; lines: Kaixo mundua ×2 (12), Agur ×2 (4); paragraphs: 2 different.
    let text = "Kaixo mundua\nKaixo mundua\nAgur\n\nAgur";
    let f = filter("gopher_repetition", "");
    let (d, st, _) = run(&f, text, "eu");
    assert_eq!(stat(&st, "gopher_rep.dup_para_frac"), 0.0);
    assert_eq!(stat(&st, "gopher_rep.dup_para_char_frac"), 0.0);
    assert!(close(stat(&st, "gopher_rep.dup_line_frac"), 0.5));
    assert!(close(
        stat(&st, "gopher_rep.dup_line_char_frac"),
        16.0 / 36.0
    ));
    // Top 2-gram "Kaixo mundua" twice: 2 × 12 characters.
    assert!(close(stat(&st, "gopher_rep.top_2_gram"), 24.0 / 36.0));
    // All 3-grams occur once: the first one, "Kaixo mundua Kaixo" (18).
    assert!(close(stat(&st, "gopher_rep.top_3_gram"), 18.0 / 36.0));
    assert!(close(stat(&st, "gopher_rep.top_4_gram"), 25.0 / 36.0));
    assert_eq!(stat(&st, "gopher_rep.dup_5_gram"), 0.0);
    assert_eq!(d, Decision::Drop("dup_line_frac"));
    // Repeated 2-grams, joined without spaces: "Kaixomundua" (11) once.
    let f = filter(
        "gopher_repetition",
        "dup_line_frac = 1.0\ndup_line_char_frac = 1.0\ntop_n_grams = []\ndup_n_grams = [[2, 0.3]]",
    );
    let (d, st, _) = run(&f, text, "eu");
    assert!(close(stat(&st, "gopher_rep.dup_2_gram"), 11.0 / 36.0));
    assert_eq!(d, Decision::Drop("duplicated_2_n_grams"));
}

#[test]
fn gopher_repetition_rejects_bad_n() {
    let t: toml::Table = "top_n_grams = [[11, 0.1]]".parse().expect("toml");
    let e = QualityFilter::from_table("gopher_repetition", &t).expect_err("n = 11");
    assert!(e.to_string().contains("top_n_grams"), "{e}");
}

const GL_PAGE: &str = "Ola a todos, benvidos á nosa páxina web.\nMenú\nEsta páxina usa cookies: terms of use aplicados aquí.\nActiva o JavaScript no navegador para continuar.\nA Coruña é unha cidade moi fermosa. Ten moitas praias!\nO porto é grande e ten moitos barcos[1].";

#[test]
fn c4_galician_by_hand() {
    let f = filter("c4", "");
    let (d, st, text) = run(&f, GL_PAGE, "gl");
    assert_eq!(stat(&st, "c4.lines"), 6.0);
    // Kept: the greeting (1 sentence), the Coruña line (2), the port line with its citation removed (1).
    assert_eq!(stat(&st, "c4.lines_kept"), 3.0);
    assert_eq!(stat(&st, "c4.sentences"), 4.0);
    assert_eq!(d, Decision::Keep);
    assert_eq!(
        text,
        "Ola a todos, benvidos á nosa páxina web.\nA Coruña é unha cidade moi fermosa. Ten moitas praias!\nO porto é grande e ten moitos barcos."
    );
    // Tag-only: same statistics, text untouched.
    let f = filter("c4", "tag_only = true\nmin_num_sentences = 5");
    let (d, st, text) = run(&f, GL_PAGE, "gl");
    assert_eq!((d, text.as_str()), (Decision::Keep, GL_PAGE));
    assert_eq!(stat(&st, "c4.sentences"), 4.0);
    let f = filter("c4", "min_num_sentences = 5");
    assert_eq!(
        run(&f, GL_PAGE, "gl").0,
        Decision::Drop("too_few_sentences")
    );
    // datatrove's swapped defaults keep a three-word line that C4's five-word minimum removes.
    let f = filter("c4", "min_words_per_line = 3\nmin_num_sentences = 1");
    let (_, st, _) = run(&f, "Bo día a todos.", "gl");
    assert_eq!(stat(&st, "c4.lines_kept"), 1.0);
    let (_, st, _) = run(&filter("c4", ""), "Bo día a todos.", "gl");
    assert_eq!(stat(&st, "c4.lines_kept"), 0.0);
}

#[test]
fn c4_document_level_drops() {
    let f = filter("c4", "");
    let lorem = format!("{GL_PAGE}\nLorem ipsum dolor sit amet, consectetur.");
    assert_eq!(run(&f, &lorem, "gl").0, Decision::Drop("lorem_ipsum"));
    let curly = format!("O código é function f() {{ return 1; }} e mais nada.\n{GL_PAGE}");
    assert_eq!(run(&f, &curly, "gl").0, Decision::Drop("curly_bracket"));
    // A curly bracket in a line already removed (no terminal mark) does not count, as in C4.
    let removed = format!("var x = {{}}\n{GL_PAGE}");
    assert_eq!(run(&f, &removed, "gl").0, Decision::Keep);
}

#[test]
fn fineweb_catalan_by_hand() {
    let text = "Benvinguts al nostre web.\nInici\nContacte\nLa ciutat de Girona té un barri vell preciós.\nInici\n";
    let f = filter("fineweb", "");
    let (d, st, _) = run(&f, text, "ca");
    assert_eq!(stat(&st, "fineweb.lines"), 5.0);
    assert!(close(stat(&st, "fineweb.line_punct_ratio"), 2.0 / 5.0));
    assert!(close(stat(&st, "fineweb.short_line_ratio"), 4.0 / 5.0));
    assert!(close(stat(&st, "fineweb.char_dup_ratio"), 5.0 / 88.0));
    // 5 newlines over 18 tokens (16 words and 2 full stops).
    assert!(close(stat(&st, "fineweb.newline_ratio"), 5.0 / 18.0));
    assert_eq!(d, Decision::Drop("short_line_ratio"));
    let f = filter("fineweb", "short_line_thr = 0.9");
    assert_eq!(run(&f, text, "ca").0, Decision::Drop("char_dup_ratio"));
    let f = filter(
        "fineweb",
        "short_line_thr = 0.9\nchar_duplicates_ratio = 0.1\nnew_line_ratio = 0.25",
    );
    assert_eq!(run(&f, text, "ca").0, Decision::Drop("list_ratio"));
    let f = filter("fineweb", "line_punct_thr = 0.5");
    assert_eq!(run(&f, text, "ca").0, Decision::Drop("line_punct_ratio"));
    assert_eq!(
        run(&filter("fineweb", ""), " \n\n", "ca").0,
        Decision::Drop("empty")
    );
}

#[test]
fn length_normalize_pii_and_blocklist_stages() {
    let f = filter("length", "min_words = 3\nmax_chars = 20");
    let (d, st, _) = run(&f, "Egun on guztioi", "eu");
    assert_eq!(
        (stat(&st, "length.chars"), stat(&st, "length.words")),
        (15.0, 3.0)
    );
    assert_eq!(d, Decision::Keep);
    assert_eq!(run(&f, "Egun on", "eu").0, Decision::Drop("too_few_words"));
    assert_eq!(
        run(&f, "Egun on guztioi eta ondo izan", "eu").0,
        Decision::Drop("too_long_chars")
    );

    let (d, _, t) = run(&filter("normalize", ""), "Xoa\u{301}n\u{0}", "gl");
    assert_eq!((d, t.as_str()), (Decision::Keep, "Xoán"));
    // PII redaction happens even in tag-only mode: it is a transformation, not a filter.
    let (_, st, t) = run(
        &filter("pii", "tag_only = true"),
        "Idatzi: ane@ehu.eus",
        "eu",
    );
    assert_eq!(
        (t.as_str(), stat(&st, "pii.emails")),
        ("Idatzi: email@example.com", 1.0)
    );

    let dir = std::env::temp_dir().join(format!("tria-quality-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let list = dir.join("block.txt");
    std::fs::write(&list, "spam.example\n").expect("write list");
    let f = filter(
        "url_blocklist",
        &format!("path = {:?}", list.display().to_string()),
    );
    let mut s = "text".to_string();
    let mut st = Stats::new();
    let ctx = DocContext {
        lang: Some("ca"),
        url: Some("https://www.spam.example/a"),
    };
    assert_eq!(
        f.apply(&mut s, &ctx, &mut st),
        Decision::Drop("url_blocklist")
    );
    let ctx = DocContext {
        lang: Some("ca"),
        url: Some("https://vilaweb.cat/"),
    };
    assert_eq!(f.apply(&mut s, &ctx, &mut st), Decision::Keep);
    let missing = QualityFilter::from_table(
        "url_blocklist",
        &"path = \"/nonexistent/list.txt\"".parse().expect("toml"),
    )
    .expect_err("missing file");
    assert!(
        missing.to_string().contains("/nonexistent/list.txt"),
        "{missing}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn config_errors_name_the_problem() {
    let e = QualityFilter::from_table("gopher", &toml::Table::new()).expect_err("unknown kind");
    assert!(e.to_string().contains("gopher_quality"), "{e}");
    let t: toml::Table = "min_doc_wrds = 10".parse().expect("toml");
    let e = QualityFilter::from_table("gopher_quality", &t).expect_err("misspelt key");
    assert!(e.to_string().contains("min_doc_wrds"), "{e}");
    let t: toml::Table = "tag_only = 1".parse().expect("toml");
    assert!(QualityFilter::from_table("c4", &t).is_err());
    let t: toml::Table = "settings = \"/nonexistent/dir\"".parse().expect("toml");
    let e = QualityFilter::from_table("fineweb", &t).expect_err("missing dir");
    assert!(e.to_string().contains("/nonexistent/dir"), "{e}");
}

#[test]
fn settings_directory_overrides_one_language() {
    let dir = std::env::temp_dir().join(format!("tria-quality-settings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("eu.toml"), "[gopher_quality]\nmin_doc_words = 7\n").expect("write");
    let f = QualityFilter::new(
        FilterKind::GopherQuality,
        &SettingsSource::Dir(dir.clone()),
        false,
    )
    .expect("loads");
    let min_words = |lang| {
        f.thresholds(Some(lang))
            .iter()
            .find(|t| t.reason == "gopher_short_doc")
            .map(|t| t.value)
    };
    assert_eq!(min_words("eu"), Some(7.0));
    let published =
        QualityFilter::new(FilterKind::GopherQuality, &SettingsSource::Published, false)
            .expect("loads");
    assert_eq!(published.thresholds(Some("eu"))[0].value, 50.0);
    std::fs::write(dir.join("eu.toml"), "[gopher_quality]\nmin_doc_word = 7\n").expect("write");
    let e = QualityFilter::new(
        FilterKind::GopherQuality,
        &SettingsSource::Dir(dir.clone()),
        false,
    )
    .expect_err("typo");
    assert!(
        e.to_string().contains("min_doc_word") && e.to_string().contains("eu"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn filters_are_deterministic_and_thread_safe() {
    fn assert_sync<T: Send + Sync>() {}
    assert_sync::<QualityFilter>();
    let f = filter("gopher_repetition", "");
    let a = run(&f, GL_PAGE, "gl");
    let b = run(&f, GL_PAGE, "gl");
    assert_eq!(a, b);
}

#[test]
fn reviewed_basque_settings_apply_to_basque_only() {
    let f = QualityFilter::new(FilterKind::GopherQuality, &SettingsSource::Builtin, false)
        .expect("builtin");
    let value = |lang, reason| {
        f.thresholds(Some(lang))
            .iter()
            .find(|t| t.reason == reason)
            .map(|t| t.value)
    };
    assert_eq!(value("eu", "gopher_short_doc"), Some(35.0));
    assert_eq!(value("eu", "gopher_below_alpha_threshold"), Some(0.7));
    assert_eq!(value("ca", "gopher_short_doc"), Some(50.0));
    assert_eq!(value("xx", "gopher_short_doc"), Some(50.0));
    let c4 = filter("c4", "");
    // A four-word Basque sentence survives C4 in Basque settings and not in Galician (published) ones.
    let text = "Bihar mendira joango gara.\nGaur etxean gaude.\nEzin dut etorri.";
    let (_, eu, _) = run(&c4, text, "eu");
    assert_eq!(stat(&eu, "c4.lines_kept"), 1.0);
    // A sentence ending in a closing guillemet is terminated in Catalan settings only.
    let ca_line = "Ella li va dir: «Tornaré demà al matí.»";
    let (_, ca, _) = run(&c4, ca_line, "ca");
    let (_, en, _) = run(&c4, ca_line, "en");
    assert_eq!(
        (stat(&ca, "c4.lines_kept"), stat(&en, "c4.lines_kept")),
        (1.0, 0.0)
    );
}

#[test]
fn every_threshold_names_a_measured_statistic() {
    // A threshold whose statistic is never measured would silently never drop anything.
    for kind in FilterKind::ALL {
        let f = if kind == FilterKind::UrlBlocklist {
            QualityFilter::blocklist(UrlBlocklist::default(), false, true)
        } else {
            QualityFilter::new(kind, &SettingsSource::Builtin, true).expect("builtin settings load")
        };
        for lang in LANGUAGES.iter().copied().chain(["xx"]) {
            let (_, st, _) = run(&f, GL_PAGE, lang);
            for t in f.thresholds(Some(lang)) {
                assert!(
                    st.iter().any(|(n, _)| *n == t.stat),
                    "{}: {lang}: {} not measured",
                    kind.name(),
                    t.stat
                );
            }
        }
    }
}

#[test]
fn wet_fixture_text_runs_through_every_filter() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/cc/ccnet-sample.warc.wet");
    let Ok(raw) = std::fs::read_to_string(&path) else {
        eprintln!("SKIP: {} is absent", path.display());
        return;
    };
    let mut filters: Vec<QualityFilter> = FilterKind::ALL
        .into_iter()
        .filter(|k| *k != FilterKind::UrlBlocklist)
        .map(|k| QualityFilter::new(k, &SettingsSource::Builtin, false).expect("builtin"))
        .collect();
    filters.push(QualityFilter::blocklist(
        UrlBlocklist::default(),
        false,
        false,
    ));
    let mut decided = 0;
    for body in raw
        .split("WARC/1.0")
        .filter(|r| r.contains("WARC-Type: conversion"))
    {
        let mut text = body
            .split_once("\n\n")
            .map(|x| x.1)
            .unwrap_or("")
            .to_string();
        let mut st = Stats::new();
        for f in &filters {
            if f.apply(
                &mut text,
                &DocContext {
                    lang: Some("en"),
                    url: None,
                },
                &mut st,
            ) != Decision::Keep
            {
                break;
            }
        }
        decided += 1;
        assert!(st.iter().all(|(_, v)| v.is_finite()), "{st:?}");
    }
    assert_eq!(decided, 3, "the fixture has three conversion records");
}
