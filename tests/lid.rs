//! End-to-end runs of `tria lid`: predict's output contract, eval on a generated data directory,
//! training a model and predicting with it by path, the shipped model by path, usage errors.

#![allow(clippy::unwrap_used)]

mod support;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use support::{run_ok, tria};
use tria::fixtures::Rng;

/// Runs `tria` with `args`, feeding `input` on stdin.
fn tria_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = tria()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // A usage error exits before reading: a broken pipe here is expected then.
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

fn ok_stdout(args: &[&str], input: &[u8]) -> String {
    let out = tria_stdin(args, input);
    assert!(
        out.status.success(),
        "tria {args:?} failed: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const LABELS: &[&str] = &[
    "bg", "ca", "cs", "cy", "da", "de", "el", "en", "es", "et", "eu", "fi", "fr", "ga", "gl", "hr",
    "hu", "it", "lt", "lv", "mt", "nl", "nn", "no", "oc", "pl", "pt", "ro", "ru", "sh", "sk", "sl",
    "sr", "sv", "uk", "other",
];

/// Parses one output line into (label, probability) pairs, checking the format.
fn pairs(line: &str) -> Vec<(String, f64)> {
    let f: Vec<&str> = line.split('\t').collect();
    assert!(
        f.len() % 2 == 0 && !f.is_empty(),
        "odd field count: {line:?}"
    );
    f.chunks(2)
        .map(|c| {
            assert!(LABELS.contains(&c[0]), "unknown label in {line:?}");
            let p: f64 = c[1].parse().unwrap();
            assert!(
                (0.0..=1.0).contains(&p),
                "probability out of range: {line:?}"
            );
            (c[0].to_string(), p)
        })
        .collect()
}

const MIXED_INPUT: &[u8] =
    b"La Generalitat de Catalunya ha aprovat avui el nou pla d'habitatge per a les comarques.\n\
\n\
Euskal Herriko mendietan elurra egin du gaur goizean, eta errepide asko itxita daude.\n\
\n\
\n\
12345 67.89 %%% ---\r\n\
A Xunta de Galicia presentou onte o novo plan de vivenda para as parroquias do rural.\n\
\xff\xfe texto roto con bytes inv\xe1lidos\n\
El Gobierno de Espa\xc3\xb1a ha presentado hoy el nuevo plan de vivienda para los municipios.\n\
The committee will publish its final report on housing next week";

const MIXED_LINES: usize = 10;

#[test]
fn predict_prints_one_line_per_input_line() {
    let k1 = ok_stdout(&["lid", "predict"], MIXED_INPUT);
    let lines: Vec<&str> = k1.split_terminator('\n').collect();
    assert_eq!(lines.len(), MIXED_LINES, "{k1}");
    assert!(k1.ends_with('\n'));
    let top: Vec<String> = lines.iter().map(|l| pairs(l)[0].0.clone()).collect();
    for l in &lines {
        assert_eq!(pairs(l).len(), 1, "{l}");
    }
    assert_eq!(top[0], "ca");
    assert_eq!(top[1], "other", "an empty line is `other`");
    assert_eq!(top[2], "eu");
    assert_eq!(top[5], "other", "numbers and symbols are `other`");
    assert_eq!(top[6], "gl");
    assert_eq!(top[8], "es");
    assert_eq!(top[9], "en", "a last line without newline still counts");
    // `other` for non-linguistic text comes with low confidence, languages with high.
    assert!(pairs(lines[5])[0].1 < 0.3, "{}", lines[5]);
    assert!(pairs(lines[0])[0].1 > 0.5, "{}", lines[0]);

    let k3 = ok_stdout(&["lid", "predict", "--k", "3"], MIXED_INPUT);
    let lines3: Vec<&str> = k3.split_terminator('\n').collect();
    assert_eq!(lines3.len(), MIXED_LINES);
    for (l3, l1) in lines3.iter().zip(&lines) {
        let p = pairs(l3);
        assert_eq!(p.len(), 3, "{l3}");
        assert!(
            p.windows(2).all(|w| w[0].1 >= w[1].1),
            "not descending: {l3}"
        );
        assert_ne!(p[0].0, p[1].0);
        assert_ne!(p[1].0, p[2].0);
        assert!(l3.starts_with(l1), "--k 3 must extend --k 1: {l3} / {l1}");
    }

    // --input FILE gives exactly what stdin gives.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("lines.txt");
    fs::write(&f, MIXED_INPUT).unwrap();
    let from_file = run_ok(
        tria()
            .args(["lid", "predict", "-k", "3", "--input"])
            .arg(&f),
    );
    assert_eq!(String::from_utf8(from_file.stdout).unwrap(), k3);
}

#[test]
fn shipped_model_loads_from_a_path() {
    // By path, the first-stage file is a plain fastText model: no second-stage groups and no
    // class-prior correction, so the probabilities differ from `builtin`; the top labels of these
    // clear sentences agree.
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters/models/lid-tria.ftz");
    let builtin = ok_stdout(&["lid", "predict", "--k", "2"], MIXED_INPUT);
    let by_path = ok_stdout(
        &[
            "lid",
            "predict",
            "--k",
            "2",
            "--model",
            model.to_str().unwrap(),
        ],
        MIXED_INPUT,
    );
    // Line 8 ("texto roto con bytes inválidos" behind two invalid bytes) is as good Galician
    // as Spanish: only the second stage (the Iberian group, absent by path) decides it.
    let top = |out: &str| -> Vec<String> {
        out.lines()
            .enumerate()
            .filter(|(i, _)| *i != 7)
            .map(|(_, l)| l.split('\t').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(top(&by_path), top(&builtin));
    assert_eq!(by_path.lines().count(), MIXED_LINES);
}

#[test]
fn a_model_directory_is_a_two_stage_stack() {
    // `--model DIR` with DIR laid out like filters/models (first stage, groups, the Iberian
    // language model) is the built-in backend read from files: the same output, byte for byte.
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters/models");
    let input = "Non ten outro nome.\nNunca viran nada igual.\nDebes ir o médico.\n\
                 Ele ten un podcast novo.\nKdo je že buden?\nHej, hur mår du?\nTom on minust rikkam.\n\
                 Hvordan har du det?\nQue suerte.\nBon dia a tothom.\n";
    let predict = |model: &Path| {
        let out = tria_stdin(
            &[
                "lid",
                "predict",
                "--k",
                "3",
                "--model",
                model.to_str().unwrap(),
            ],
            input.as_bytes(),
        );
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let builtin = ok_stdout(&["lid", "predict", "--k", "3"], input.as_bytes());
    assert_eq!(predict(&models), builtin);
    // A copy without the language model, and one whose training record says the first stage
    // was trained without balancing (no class-prior correction), answer differently.
    let dir = tempfile::tempdir().unwrap();
    for ent in fs::read_dir(&models).unwrap() {
        let p = ent.unwrap().path();
        if p.extension().is_some_and(|e| e == "ftz") {
            fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    let no_lm = predict(dir.path());
    assert_ne!(no_lm, builtin);
    assert_eq!(no_lm.lines().count(), 10);
    fs::write(
        dir.path().join("lid-tria.ftz.json"),
        r#"{"config": {"balance_floor": 0}}"#,
    )
    .unwrap();
    assert_ne!(predict(dir.path()), no_lm);
    // A broken record, and a directory without a first stage, are usage errors naming the file.
    fs::write(dir.path().join("lid-tria.ftz.json"), "{").unwrap();
    let out = tria_stdin(
        &["lid", "predict", "--model", dir.path().to_str().unwrap()],
        b"x\n",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lid-tria.ftz.json"));
    fs::remove_file(dir.path().join("lid-tria.ftz")).unwrap();
    let out = tria_stdin(
        &["lid", "predict", "--model", dir.path().to_str().unwrap()],
        b"x\n",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs lid-tria.ftz"));
}

/// Catalan, Basque, Galician, Spanish, Croatian and Serbo-Croatian (Latin) sentences for eval.
const EVAL_DATA: &[(&str, &[&str])] = &[
    (
        "ca",
        &[
            "Els veïns del barri han organitzat una festa major amb concerts i sopars a la plaça.",
            "L'ajuntament obrirà la biblioteca nova el mes que ve, després de dos anys d'obres.",
            "Aquest estiu farà molta calor i caldrà beure aigua sovint.",
        ],
    ),
    (
        "eu",
        &[
            "Udalak liburutegi berria irekiko du hurrengo hilean, bi urteko obren ondoren.",
            "Auzokideek jai handia antolatu dute plazan kontzertu eta afariekin.",
            "Uda honetan bero handia egingo du eta ura maiz edan beharko da.",
        ],
    ),
    (
        "gl",
        &[
            "O concello abrirá a nova biblioteca o mes que vén, despois de dous anos de obras.",
            "Os veciños do barrio organizaron unha festa con concertos e ceas na praza.",
        ],
    ),
    (
        "es",
        &[
            "El ayuntamiento abrirá la nueva biblioteca el mes que viene, después de dos años de obras.",
            // A Catalan sentence filed as Spanish: it must show up as an es -> ca confusion.
            "Demà al matí anirem tots junts al mercat del poble a comprar fruita i verdura.",
        ],
    ),
    (
        "hr",
        &["Gradska knjižnica otvorit će se sljedećeg mjeseca, nakon dvije godine radova."],
    ),
];

fn write_eval_dir(dir: &Path) {
    for (label, lines) in EVAL_DATA {
        let mut text = lines.join("\n");
        text.push_str("\n\n"); // empty lines are skipped
        fs::write(dir.join(format!("{label}.txt")), text).unwrap();
    }
    // Files that are not `<label>.txt` are ignored.
    fs::write(dir.join("README.md"), "not data\n").unwrap();
}

#[test]
fn eval_reports_accuracy_confusions_and_json() {
    let dir = tempfile::tempdir().unwrap();
    write_eval_dir(dir.path());
    let json = dir.path().join("out/report.json");
    fs::create_dir_all(json.parent().unwrap()).unwrap();
    let out = run_ok(
        tria()
            .args(["lid", "eval", "--data"])
            .arg(dir.path())
            .arg("--json")
            .arg(&json),
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("macro"), "{text}");
    assert!(text.contains("sentences/s"), "{text}");
    assert!(text.contains("{hr,sh}"), "{text}");
    assert!(text.contains("es -> ca: 1"), "{text}");

    let r: serde_json::Value = serde_json::from_slice(&fs::read(&json).unwrap()).unwrap();
    let total: usize = EVAL_DATA.iter().map(|(_, l)| l.len()).sum();
    assert_eq!(r["lines"], total);
    assert_eq!(r["model"], "builtin");
    for (label, lines) in EVAL_DATA {
        assert_eq!(r["per_label"][label]["lines"], lines.len(), "{label}");
    }
    assert_eq!(r["per_label"]["es"]["correct"], 1);
    assert_eq!(r["per_label"]["ca"]["correct"], 3);
    assert_eq!(r["per_label"]["eu"]["correct"], 3);
    assert_eq!(r["hr_sh_group"]["lines"], 1);
    let macro_acc = r["macro_accuracy"].as_f64().unwrap();
    let mean: f64 = EVAL_DATA
        .iter()
        .map(|(l, _)| r["per_label"][l]["accuracy"].as_f64().unwrap())
        .sum::<f64>()
        / EVAL_DATA.len() as f64;
    assert!((macro_acc - mean).abs() < 1e-9);
    assert!(r["sentences_per_second"].as_f64().unwrap() > 0.0);

    // The held-out split at 1000 per thousand is every line: the same table (but the speed).
    let all = run_ok(
        tria()
            .args(["lid", "eval", "--valid-permille", "1000", "--data"])
            .arg(dir.path()),
    );
    let no_speed = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| !l.starts_with("speed"))
            .map(String::from)
            .collect()
    };
    assert_eq!(
        no_speed(&String::from_utf8(all.stdout).unwrap()),
        no_speed(&text)
    );
}

const CA_WORDS: &[&str] = &[
    "el",
    "la",
    "els",
    "les",
    "casa",
    "poble",
    "carrer",
    "gran",
    "petit",
    "nou",
    "vella",
    "amb",
    "perquè",
    "això",
    "aquell",
    "nosaltres",
    "vosaltres",
    "també",
    "encara",
    "avui",
    "demà",
    "menjar",
    "treballar",
    "escola",
    "mercat",
    "muntanya",
    "riu",
    "ciutat",
    "any",
    "setmana",
    "molt",
    "però",
    "quan",
    "sempre",
    "mai",
    "l'home",
    "d'aigua",
    "col·lecció",
];
const EU_WORDS: &[&str] = &[
    "etxea", "herria", "kalea", "handia", "txikia", "berria", "zaharra", "eta", "baina", "gaur",
    "bihar", "beti", "inoiz", "gu", "zuek", "hau", "hori", "hura", "jan", "lan", "eskola",
    "merkatua", "mendia", "ibaia", "hiria", "urtea", "astea", "oso", "egiten", "dugu", "dute",
    "ditugu", "batzuk", "guztiak", "euskara", "zergatik", "nola", "noiz",
];

/// `n` sentences of 5 to 12 words drawn from `words`.
fn sentences(rng: &mut Rng, words: &[&str], n: usize) -> String {
    let mut s = String::new();
    for _ in 0..n {
        let len = 5 + rng.below(8);
        let w: Vec<&str> = (0..len).map(|_| words[rng.below(words.len())]).collect();
        s.push_str(&w.join(" "));
        s.push_str(".\n");
    }
    s
}

const SMALL_TRAIN: &str = "dim = 8\nepochs = 5\nbucket = 20000\nmin_count = 2\nbalance_floor = 0\n\
valid_permille = 100\nseed = 7\n";

fn model_top_labels(model: &Path, input: &str) -> Vec<String> {
    let out = ok_stdout(
        &["lid", "predict", "--model", model.to_str().unwrap()],
        input.as_bytes(),
    );
    out.lines().map(|l| pairs(l)[0].0.clone()).collect()
}

#[test]
fn train_then_predict_with_the_model_by_path() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fs::create_dir(&data).unwrap();
    let mut rng = Rng(42);
    fs::write(data.join("ca.txt"), sentences(&mut rng, CA_WORDS, 600)).unwrap();
    fs::write(data.join("eu.txt"), sentences(&mut rng, EU_WORDS, 600)).unwrap();
    let cfg = dir.path().join("train.toml");
    fs::write(&cfg, SMALL_TRAIN).unwrap();
    let model = dir.path().join("models/small.ftz");
    fs::create_dir(model.parent().unwrap()).unwrap();
    let train = |extra: &[&str]| {
        run_ok(
            tria()
                .args(["lid", "train", "--data"])
                .arg(&data)
                .arg("--out")
                .arg(&model)
                .arg("--config")
                .arg(&cfg)
                .args(extra),
        )
    };
    let out = train(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("held-out accuracy"), "{stderr}");
    let first = fs::read(&model).unwrap();
    let record: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("models/small.ftz.json")).unwrap())
            .unwrap();
    assert_eq!(record["model_bytes"], first.len());
    assert_eq!(record["config"]["dim"], 8);
    assert!(record["report"]["valid_accuracy"].as_f64().unwrap() > 0.95);
    // No temporary file is left behind.
    let names: Vec<String> = fs::read_dir(model.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    // Fresh sentences (another seed): the model trained on two labels tells them apart.
    let mut rng = Rng(4242);
    let ca = sentences(&mut rng, CA_WORDS, 20);
    let eu = sentences(&mut rng, EU_WORDS, 20);
    let labels = model_top_labels(&model, &format!("{ca}{eu}"));
    assert_eq!(labels.len(), 40);
    let right = labels[..20].iter().filter(|l| *l == "ca").count()
        + labels[20..].iter().filter(|l| *l == "eu").count();
    assert!(right >= 38, "{right}/40: {labels:?}");

    // A rerun with the same data and configuration skips; --force retrains to the same bytes.
    let again = train(&[]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("already trained"));
    train(&["--force"]);
    assert_eq!(
        fs::read(&model).unwrap(),
        first,
        "training is not deterministic"
    );
    // Changing the data retrains.
    let mut more = fs::read_to_string(data.join("eu.txt")).unwrap();
    more.push_str("gaur goizean mendira joan gara lagunekin eta oso ondo pasatu dugu.\n");
    fs::write(data.join("eu.txt"), more).unwrap();
    let changed = train(&[]);
    assert!(!String::from_utf8_lossy(&changed.stderr).contains("already trained"));
}

#[test]
fn train_a_group_model_from_a_json_config_with_labels() {
    // A second-stage model is trained on some labels of the data only (`labels`), from a JSON
    // configuration like `bench/lid/group-*.json`.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fs::create_dir(&data).unwrap();
    let mut rng = Rng(9);
    fs::write(data.join("ca.txt"), sentences(&mut rng, CA_WORDS, 300)).unwrap();
    fs::write(data.join("eu.txt"), sentences(&mut rng, EU_WORDS, 300)).unwrap();
    fs::write(
        data.join("other.txt"),
        "12 ab cd ef gh ij\nkl mn op qr st\n",
    )
    .unwrap();
    let cfg = dir.path().join("group.json");
    // `tria lid train` with the configuration in `cfg` (`--force`: even if up to date).
    let run = |force: bool| {
        tria()
            .args(["lid", "train"])
            .args(force.then_some("--force"))
            .arg("--data")
            .arg(&data)
            .arg("--out")
            .arg(dir.path().join("g.ftz"))
            .arg("--config")
            .arg(&cfg)
            .output()
            .unwrap()
    };
    let train = |labels: &str| {
        fs::write(
            &cfg,
            format!(
                r#"{{"dim": 8, "epochs": 3, "bucket": 5000, "min_count": 2, "balance_floor": 0,
                "minn": 1, "maxn": 5, "word_ngrams": 2, "labels": {labels}}}"#
            ),
        )
        .unwrap();
        run(true)
    };
    let out = train(r#"["ca", "eu"]"#);
    assert!(out.status.success(), "{out:?}");
    assert!(!dir.path().join("g.clm").exists());
    let record: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("g.ftz.json")).unwrap()).unwrap();
    let trained: Vec<&str> = record["report"]["train_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap())
        .collect();
    assert_eq!(trained, ["ca", "eu"]);
    assert_eq!(record["config"]["word_ngrams"], 2);
    // A label without a data file is a usage error naming it.
    let out = train(r#"["ca", "gl"]"#);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("gl"));
    // With `char_lm_order`, the group's character language model is written next to it.
    let out = train(r#"["ca", "eu"], "char_lm_order": 4"#);
    assert!(out.status.success(), "{out:?}");
    let clm = dir.path().join("g.clm");
    let lm = tria_filters::lang::charlm::CharLm::load(&clm).unwrap();
    assert_eq!(lm.labels(), ["ca", "eu"]);
    assert_eq!(lm.order(), 4);
    let record: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("g.ftz.json")).unwrap()).unwrap();
    assert_eq!(record["char_lm_bytes"], fs::metadata(&clm).unwrap().len());
    // The group model accepts it as its language model.
    let g = tria_filters::lang::Group::new(
        "g",
        tria_filters::lang::fasttext::FastText::load(&dir.path().join("g.ftz")).unwrap(),
    )
    .unwrap()
    .with_char_lm(lm)
    .unwrap();
    assert_eq!(g.labels().len(), 2);
    // A missing language model is trained again, even without --force.
    fs::remove_file(&clm).unwrap();
    let again = run(false);
    assert!(again.status.success(), "{again:?}");
    assert!(!String::from_utf8_lossy(&again.stderr).contains("already trained"));
    assert!(clm.exists());
}

#[test]
fn train_config_errors_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fs::create_dir(&data).unwrap();
    fs::write(data.join("ca.txt"), "una frase\n").unwrap();
    let cfg = dir.path().join("bad.toml");
    let model = dir.path().join("m.ftz");
    // `tria lid train` on `data_dir` with `config` as the configuration: exit code and stderr.
    let train = |data_dir: &Path, config: &str| {
        fs::write(&cfg, config).unwrap();
        let out = tria()
            .args(["lid", "train", "--data"])
            .arg(data_dir)
            .arg("--out")
            .arg(&model)
            .arg("--config")
            .arg(&cfg)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, err) = train(&data, "dim = 8\nlearning_rate = 0.1\n");
    assert_eq!(code, Some(2));
    assert!(
        err.contains("bad.toml") && err.contains("learning_rate"),
        "{err}"
    );
    // A value no training could use stops before any data is read.
    for (key, value) in [("strip_share", "1.5"), ("char_lm_order", "9")] {
        let (code, err) = train(
            &dir.path().join("no-such-dir"),
            &format!("dim = 8\n{key} = {value}\n"),
        );
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains("bad.toml") && err.contains(key), "{err}");
    }
    // One label is not enough to train.
    let (code, err) = train(&data, "dim = 8\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(!model.exists());
}

/// `../shared/data/lid` next to the repository, or `None` with a SKIP message.
fn shared_lid(test: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/lid");
    if dir.join("ca.txt").is_file() {
        Some(dir)
    } else {
        eprintln!("SKIP {test}: ../shared/data/lid is absent (the language-ID training data)");
        None
    }
}

/// Trains on a sample of the real data (the confusable gl/es/pt and ca, eu) and checks accuracy
/// on held-out lines through `tria lid eval --valid-permille`.
#[test]
fn train_on_real_sample_then_eval_held_out() {
    let Some(shared) = shared_lid("train_on_real_sample_then_eval_held_out") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fs::create_dir(&data).unwrap();
    for label in ["ca", "es", "eu", "gl", "pt"] {
        let text = fs::read_to_string(shared.join(format!("{label}.txt"))).unwrap();
        let sample: Vec<&str> = text.lines().take(3000).collect();
        fs::write(data.join(format!("{label}.txt")), sample.join("\n")).unwrap();
    }
    let cfg = dir.path().join("train.toml");
    fs::write(
        &cfg,
        "dim = 16\nepochs = 5\nbucket = 50000\nmin_count = 2\nbalance_floor = 0\nvalid_permille = 100\n",
    )
    .unwrap();
    let model = dir.path().join("sample.ftz");
    run_ok(
        tria()
            .args(["lid", "train", "-q", "--data"])
            .arg(&data)
            .arg("--out")
            .arg(&model)
            .arg("--config")
            .arg(&cfg),
    );
    let json = dir.path().join("eval.json");
    run_ok(
        tria()
            .args(["lid", "eval", "--valid-permille", "100", "--model"])
            .arg(&model)
            .arg("--data")
            .arg(&data)
            .arg("--json")
            .arg(&json),
    );
    let r: serde_json::Value = serde_json::from_slice(&fs::read(&json).unwrap()).unwrap();
    let n = r["lines"].as_u64().unwrap();
    assert!((1000..2000).contains(&n), "held-out lines: {n}");
    let macro_acc = r["macro_accuracy"].as_f64().unwrap();
    assert!(macro_acc > 0.9, "macro accuracy {macro_acc}");
    assert!(r["per_label"]["eu"]["accuracy"].as_f64().unwrap() > 0.95);
    // The trained model predicts by path; it never outputs labels it was not trained on, except
    // `other` for text without letters.
    let labels = model_top_labels(&model, "Bon dia a tothom\n1234\nEgun on denoi\n");
    assert_eq!(labels.len(), 3);
    assert_eq!(labels[1], "other");
    assert!(
        labels
            .iter()
            .all(|l| ["ca", "es", "eu", "gl", "pt", "other"].contains(&l.as_str()))
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let code = |args: &[&str]| {
        let o = tria_stdin(args, b"hola\n");
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let (c, err) = code(&["lid", "predict", "--k", "0"]);
    assert_eq!(c, Some(2), "{err}");
    let missing = dir.path().join("nope.ftz");
    let (c, err) = code(&["lid", "predict", "--model", missing.to_str().unwrap()]);
    assert_eq!(c, Some(2), "{err}");
    assert!(
        err.contains("nope.ftz") && err.contains("no such model file"),
        "{err}"
    );
    let junk = dir.path().join("junk.bin");
    fs::write(&junk, b"this is not a fastText model at all").unwrap();
    let (c, err) = code(&["lid", "predict", "--model", junk.to_str().unwrap()]);
    assert_eq!(c, Some(2), "{err}");
    assert!(err.contains("junk.bin"), "{err}");
    let (c, err) = code(&["lid", "eval", "--data", missing.to_str().unwrap()]);
    assert_eq!(c, Some(2), "{err}");
    if !cfg!(feature = "lingua") {
        for m in ["lingua", "lingua-low"] {
            let (c, err) = code(&["lid", "predict", "--model", m]);
            assert_eq!(c, Some(2), "{err}");
            assert!(err.contains("--features lingua"), "{err}");
        }
    }
}

#[cfg(feature = "whatlang")]
#[test]
fn whatlang_backend_keeps_the_contract() {
    let out = ok_stdout(
        &["lid", "predict", "--model", "whatlang", "--k", "2"],
        MIXED_INPUT,
    );
    let lines: Vec<&str> = out.split_terminator('\n').collect();
    assert_eq!(lines.len(), MIXED_LINES);
    for l in &lines {
        let p = pairs(l);
        assert_eq!(p.len(), 2, "{l}");
        assert!(p[0].1 >= p[1].1, "{l}");
    }
    assert_eq!(pairs(lines[8])[0].0, "es");
    assert_eq!(pairs(lines[1])[0].0, "other");
}

#[test]
fn lid_help_carries_the_model_attribution() {
    let out = run_ok(tria().args(["lid", "--help"]));
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("Tatoeba") && help.contains("CC BY-SA 4.0"),
        "{help}"
    );
}
