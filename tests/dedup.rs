//! End-to-end `tria dedup`: planted exact, URL and near duplicates and boilerplate lines in
//! Catalan-, Basque- and Galician-like WET files; the one-machine form at -j1 and -j3 and the sharded
//! form (2 ranks, 2 pairs tasks) must write byte-identical outputs that keep exactly the expected
//! documents.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use support::{read_jsonl_zst, report, run_ok, tree, tria};
use tria::fixtures::{Rng, wet_conversion, wet_warcinfo, write_gz_members};

const CA: &[&str] = &[
    "la",
    "casa",
    "del",
    "poble",
    "és",
    "gran",
    "i",
    "antiga",
    "mercat",
    "riu",
    "muntanya",
    "biblioteca",
    "carrer",
    "escola",
    "plaça",
    "ajuntament",
    "veïns",
    "festa",
    "major",
    "llengua",
    "català",
    "història",
    "dels",
    "segle",
    "obra",
    "teatre",
    "música",
    "cançó",
    "port",
    "mar",
];
const EU: &[&str] = &[
    "etxea",
    "herriko",
    "handia",
    "da",
    "eta",
    "zaharra",
    "merkatua",
    "ibaia",
    "mendia",
    "liburutegia",
    "kalea",
    "eskola",
    "plaza",
    "udaletxea",
    "auzokideak",
    "jaia",
    "nagusia",
    "hizkuntza",
    "euskara",
    "historia",
    "mendeko",
    "lana",
    "antzerkia",
    "musika",
    "abestia",
    "portua",
    "itsasoa",
    "gaur",
    "bihar",
    "hemen",
];
const GL: &[&str] = &[
    "a",
    "casa",
    "da",
    "aldea",
    "é",
    "grande",
    "e",
    "vella",
    "mercado",
    "río",
    "montaña",
    "biblioteca",
    "rúa",
    "escola",
    "praza",
    "concello",
    "veciños",
    "festa",
    "maior",
    "lingua",
    "galega",
    "historia",
    "século",
    "obra",
    "teatro",
    "música",
    "canción",
    "porto",
    "mar",
    "hoxe",
];

const BOILERPLATE: &str = "Política de galetes i avís legal del lloc web";

fn body(rng: &mut Rng, vocab: &[&str], words: usize) -> Vec<String> {
    (0..words)
        .map(|_| vocab[rng.below(vocab.len())].to_string())
        .collect()
}

fn render(words: &[String]) -> String {
    let mut s = String::new();
    for (i, w) in words.iter().enumerate() {
        s.push_str(w);
        s.push(if i % 15 == 14 { '\n' } else { ' ' });
    }
    s.push('\n');
    s
}

/// One planted document.
struct Doc {
    url: String,
    text: String,
}

/// Expected outcome, by (file, record).
#[derive(Default)]
struct Plan {
    removed_exact: BTreeSet<(usize, usize)>,
    removed_near: BTreeSet<(usize, usize)>,
    removed_url: BTreeSet<(usize, usize)>,
    boilerplate_kept: usize,
}

/// Three files (ca, eu, gl) of 40 documents each, with duplicates planted across and within files.
fn corpus(dir: &Path) -> (Vec<PathBuf>, Plan) {
    let mut rng = Rng(7);
    let langs: [(&str, &[&str]); 3] = [("ca", CA), ("eu", EU), ("gl", GL)];
    let mut files: Vec<Vec<Doc>> = Vec::new();
    let mut originals: Vec<Vec<Vec<String>>> = Vec::new();
    for (fi, (lang, vocab)) in langs.iter().enumerate() {
        let mut docs = Vec::new();
        let mut words_of = Vec::new();
        for i in 0..40 {
            let len = 120 + rng.below(80);
            let w = body(&mut rng, vocab, len);
            let mut text = render(&w);
            if i % 7 == 3 {
                text.push_str(BOILERPLATE);
                text.push('\n');
            }
            docs.push(Doc {
                url: format!("https://{lang}.example/{fi}/{i}"),
                text,
            });
            words_of.push(w);
        }
        files.push(docs);
        originals.push(words_of);
    }
    let mut plan = Plan::default();
    // Exact copies (whitespace changes only) of earlier documents, appended to later files.
    for (src, dst) in [((0, 5), 1), ((0, 6), 2), ((1, 11), 2), ((2, 11), 2)] {
        let text = files[src.0][src.1].text.replace(' ', "  ");
        let n = files[dst].len();
        files[dst].push(Doc {
            url: format!("https://copy.example/{dst}/{n}"),
            text,
        });
        plan.removed_exact.insert((dst, n));
    }
    // Near copies: one or two words changed (Jaccard of 5-shingles about 0.9 to 0.95).
    for (src, dst, changes) in [
        ((0, 8), 0, 1),
        ((0, 9), 1, 2),
        ((1, 12), 2, 1),
        ((2, 13), 2, 2),
    ] {
        let mut w = originals[src.0][src.1].clone();
        for c in 0..changes {
            let at = 30 + 50 * c;
            w[at] = format!("{}x", w[at]);
        }
        let n = files[dst].len();
        files[dst].push(Doc {
            url: format!("https://near.example/{dst}/{n}"),
            text: render(&w),
        });
        plan.removed_near.insert((dst, n));
    }
    // A new text under an URL seen before.
    let n = files[2].len();
    let url = files[1][20].url.clone();
    files[2].push(Doc {
        url,
        text: render(&body(&mut rng, GL, 150)),
    });
    plan.removed_url.insert((2, n));

    plan.boilerplate_kept = files
        .iter()
        .map(|f| f.iter().filter(|d| d.text.contains(BOILERPLATE)).count())
        .sum();
    let mut paths = Vec::new();
    for (fi, docs) in files.iter().enumerate() {
        let name = format!("part-{fi}.warc.wet.gz");
        let path = dir.join(&name);
        let mut records = vec![wet_warcinfo(&name)];
        for (i, d) in docs.iter().enumerate() {
            records.push(wet_conversion(
                (fi * 1000 + i) as u64,
                &d.url,
                langs[fi].0,
                &d.text,
            ));
        }
        write_gz_members(BufWriter::new(File::create(&path).unwrap()), &records).unwrap();
        paths.push(path);
    }
    (paths, plan)
}

fn strs(paths: &[PathBuf]) -> Vec<String> {
    paths.iter().map(|p| p.display().to_string()).collect()
}

const METHODS: &[&str] = &[
    "--exact", "--near", "--url", "--lines", "4", "--verify", "0.8",
];

fn local(inputs: &[PathBuf], out: &Path, threads: &str, budget: &str) -> std::process::Output {
    run_ok(
        tria()
            .args([
                "dedup",
                "-q",
                "-j",
                threads,
                "--memory-budget",
                budget,
                "--output",
            ])
            .arg(out)
            .arg("--input")
            .args(strs(inputs))
            .args(METHODS),
    )
}

#[test]
fn both_forms_keep_the_same_documents_whatever_the_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let (inputs, plan) = corpus(tmp.path());

    let a = tmp.path().join("local-j1");
    local(&inputs, &a, "1", "1G");
    let b = tmp.path().join("local-j3");
    // 4 KiB holds 12 documents of bucket entries: every input file spills to disk.
    local(&inputs, &b, "3", "4K");
    let ta = tree(&a);
    assert_eq!(
        ta.len(),
        3,
        "one output per input: {:?}",
        ta.iter().map(|t| &t.0).collect::<Vec<_>>()
    );
    assert_eq!(ta, tree(&b), "-j1 in memory and -j3 spilled to disk differ");

    // What was kept: every planted duplicate is gone, nothing else.
    let mut total_kept = 0;
    let mut boiler_left = 0;
    let mut clustered = 0;
    for fi in 0..3 {
        let docs = read_jsonl_zst(&a.join(format!("part-{fi}.jsonl.zst")));
        total_kept += docs.len();
        let kept: BTreeSet<usize> = docs
            .iter()
            .map(|d| d["origin"]["record"].as_u64().unwrap() as usize)
            .collect();
        for set in [&plan.removed_exact, &plan.removed_near, &plan.removed_url] {
            for &(f, r) in set.iter() {
                if f == fi {
                    // The WET warcinfo record is record 0 of the file.
                    assert!(
                        !kept.contains(&(r + 1)),
                        "planted duplicate {f}/{r} was kept"
                    );
                }
            }
        }
        for d in &docs {
            let text = d["text"].as_str().unwrap();
            boiler_left += usize::from(text.contains(BOILERPLATE));
            let size = d["meta"]["dup_cluster_size"].as_u64().unwrap();
            if size > 1 {
                clustered += 1;
            }
        }
    }
    assert_eq!(boiler_left, 0, "boilerplate lines survived");
    assert_eq!(total_kept, 120, "the 120 original documents are kept");
    // Originals of the 4 exact, 4 near and 1 URL duplicates carry their cluster size.
    assert_eq!(clustered, 9);

    let rep = report(&a);
    assert_eq!(rep["removed"]["exact"], plan.removed_exact.len() as u64);
    assert_eq!(rep["removed"]["near"], plan.removed_near.len() as u64);
    assert_eq!(rep["removed"]["url"], plan.removed_url.len() as u64);
    assert_eq!(rep["lines_removed"], plan.boilerplate_kept as u64);
    assert_eq!(rep["documents"], 129);
    assert_eq!(rep["kept"], 120);

    // Sharded: two ranks of signatures, two pairs tasks, clusters, two ranks of filtering.
    let work = tmp.path().join("work");
    let s = tmp.path().join("sharded");
    for rank in ["0", "1"] {
        run_ok(
            tria()
                .args(["dedup", "signatures", "-q", "--work"])
                .arg(&work)
                .args(["--rank", rank, "--ranks", "2", "--input"])
                .args(strs(&inputs))
                .args(METHODS),
        );
    }
    for task in ["0", "1"] {
        run_ok(
            tria()
                .args(["dedup", "pairs", "-q", "--work"])
                .arg(&work)
                .args(["--task", task, "--tasks", "2"]),
        );
    }
    run_ok(
        tria()
            .args(["dedup", "clusters", "-q", "--work"])
            .arg(&work),
    );
    for rank in ["1", "0"] {
        run_ok(
            tria()
                .args(["dedup", "filter", "-q", "-j", "2", "--work"])
                .arg(&work)
                .arg("--output")
                .arg(&s)
                .args(["--rank", rank, "--ranks", "2", "--input"])
                .args(strs(&inputs)),
        );
    }
    assert_eq!(ta, tree(&s), "sharded and one-machine outputs differ");
    let rs = report(&s);
    assert_eq!(rs["removed"], rep["removed"]);
    assert_eq!(rs["complete"], 3);

    // Idempotent: rerunning a stage leaves the outputs as they are.
    let before = fs::metadata(s.join("part-0.jsonl.zst"))
        .unwrap()
        .modified()
        .unwrap();
    run_ok(
        tria()
            .args(["dedup", "filter", "-q", "--work"])
            .arg(&work)
            .arg("--output")
            .arg(&s)
            .arg("--input")
            .args(strs(&inputs)),
    );
    let after = fs::metadata(s.join("part-0.jsonl.zst"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after, "a complete file was rewritten");
}

#[test]
fn other_parameters_on_a_work_directory_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (inputs, _) = corpus(tmp.path());
    let work = tmp.path().join("work");
    run_ok(
        tria()
            .args(["dedup", "signatures", "-q", "--work"])
            .arg(&work)
            .arg("--input")
            .args(strs(&inputs[..1])),
    );
    let out = tria()
        .args(["dedup", "signatures", "-q", "--bands", "9", "--work"])
        .arg(&work)
        .arg("--input")
        .args(strs(&inputs[..1]))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("tria-dedup.json"));
    // A later stage before its inputs exist names what is missing.
    let out = tria()
        .args(["dedup", "clusters", "--work"])
        .arg(tmp.path().join("nowhere"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tria dedup signatures"));
    // A bad flag value is a usage error.
    let out = tria()
        .args(["dedup", "--verify", "1.5", "--output"])
        .arg(tmp.path().join("o"))
        .arg("--input")
        .args(strs(&inputs))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

// Word forms whose splitting depends on the language: Catalan elision and enclitics (cut in
// Catalan only), Galician hyphenated clitics (cut in Galician only), Basque case endings after a
// hyphen (one word in Basque; Galician rules would cut `-a` off as a clitic).
const CA_SPLIT: &[&str] = &[
    "l'escola",
    "l'aigua",
    "s'obre",
    "l'ajuntament",
    "m'agrada",
    "donar-li",
    "fer-ho",
    "anar-hi",
    "l'home",
    "s'escriu",
];
const GL_SPLIT: &[&str] = &[
    "dixo-lle",
    "cómpre-lo",
    "fala-se",
    "deu-nos",
    "contou-llo",
    "vén-che",
    "trouxo-nos",
    "pide-lles",
];
const EU_SPLIT: &[&str] = &[
    "EAJ-a", "PNV-a", "COVID-a", "UPV-a", "2018-a", "EHU-a", "BBK-a", "ETB-a",
];

/// `(id, lang, text)` of one language: 10 documents alternating plain words and language-specific
/// forms, then copies of documents 1, 4 and 7 written without the apostrophes and hyphens (as a
/// scrape that lost them would) and with one word changed. Same words for the document's own
/// rules; different words for a splitter of another language.
fn language_docs(lang: &str, seed: u64) -> Vec<(String, String, String)> {
    let (plain, special) = match lang {
        "ca" => (CA, CA_SPLIT),
        "gl" => (GL, GL_SPLIT),
        _ => (EU, EU_SPLIT),
    };
    let mut rng = Rng(seed);
    let mut docs = Vec::new();
    for i in 0..10 {
        let words: Vec<String> = (0..120)
            .map(|k| {
                let v = if k % 2 == 0 { plain } else { special };
                v[rng.below(v.len())].to_string()
            })
            .collect();
        docs.push((format!("{lang}-{i}"), lang.to_string(), words.join(" ")));
    }
    for i in [1, 4, 7] {
        let mut words: Vec<String> = docs[i].2.split(' ').map(str::to_string).collect();
        words[60] = format!("{}x", words[60]);
        let text = words.join(" ");
        let text = if lang == "eu" {
            text.replace('-', "")
        } else {
            text.replace(['\'', '-'], " ")
        };
        docs.push((format!("{lang}-{i}-copy"), lang.to_string(), text));
    }
    docs
}

fn write_jsonl(path: &Path, docs: &[&(String, String, String)], with_lang: bool) {
    let mut out = String::new();
    for (id, lang, text) in docs {
        let mut v = serde_json::json!({ "id": id, "text": text });
        if with_lang {
            v["meta"] = serde_json::json!({ "lang": lang });
        }
        out.push_str(&v.to_string());
        out.push('\n');
    }
    fs::write(path, out).unwrap();
}

/// The ids kept in every `.jsonl.zst` output of `dir`.
fn kept_ids(dir: &Path) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.to_string_lossy().ends_with(".jsonl.zst") {
            for d in read_jsonl_zst(&p) {
                ids.insert(d["id"].as_str().unwrap().to_string());
            }
        }
    }
    ids
}

fn near_dedup(input: &Path, out: &Path, extra: &[&str]) {
    run_ok(
        tria()
            .args(["dedup", "-q", "--near", "--verify", "0.8", "--output"])
            .arg(out)
            .arg("--input")
            .arg(input)
            .args(extra),
    );
}

#[test]
fn word_splitting_follows_each_documents_language() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let langs = ["ca", "eu", "gl"];
    let per_lang: Vec<Vec<(String, String, String)>> = langs
        .iter()
        .zip([11, 12, 13])
        .map(|(l, seed)| language_docs(l, seed))
        .collect();
    // One mixed file, languages interleaved, each document with its `meta.lang`.
    let mut mixed = Vec::new();
    for i in 0..13 {
        for docs in &per_lang {
            mixed.push(&docs[i]);
        }
    }
    write_jsonl(&t.join("mixed.jsonl"), &mixed, true);
    let copies: BTreeSet<String> = mixed
        .iter()
        .filter(|d| d.0.ends_with("-copy"))
        .map(|d| d.0.clone())
        .collect();
    let all: BTreeSet<String> = mixed.iter().map(|d| d.0.clone()).collect();

    // `--lang gl` is only the fallback: every document here has its own language.
    near_dedup(
        &t.join("mixed.jsonl"),
        &t.join("out-mixed"),
        &["--lang", "gl", "-j", "2"],
    );
    let kept = kept_ids(&t.join("out-mixed"));
    let expected: BTreeSet<String> = all.difference(&copies).cloned().collect();
    assert_eq!(kept, expected, "the mixed corpus kept other documents");

    // Each language alone, without `meta.lang`, split by `--lang`: the same documents.
    let mut alone = BTreeSet::new();
    for (lang, docs) in langs.iter().zip(&per_lang) {
        let input = t.join(format!("{lang}.jsonl"));
        write_jsonl(&input, &docs.iter().collect::<Vec<_>>(), false);
        let out = t.join(format!("out-{lang}"));
        near_dedup(&input, &out, &["--lang", lang, "-j", "1"]);
        alone.extend(kept_ids(&out));
    }
    assert_eq!(
        kept, alone,
        "mixed and one-language-at-a-time dedups differ"
    );

    // The sharded form reads `meta.lang` too: byte-identical outputs.
    let work = t.join("work");
    let sharded = t.join("out-sharded");
    run_ok(
        tria()
            .args(["dedup", "signatures", "-q", "--near", "--verify", "0.8"])
            .args(["--lang", "gl", "--work"])
            .arg(&work)
            .arg("--input")
            .arg(t.join("mixed.jsonl")),
    );
    run_ok(tria().args(["dedup", "pairs", "-q", "--work"]).arg(&work));
    run_ok(
        tria()
            .args(["dedup", "clusters", "-q", "--work"])
            .arg(&work),
    );
    run_ok(
        tria()
            .args(["dedup", "filter", "-q", "--work"])
            .arg(&work)
            .arg("--output")
            .arg(&sharded)
            .arg("--input")
            .arg(t.join("mixed.jsonl")),
    );
    assert_eq!(tree(&sharded), tree(&t.join("out-mixed")));

    // Control: the same mixed corpus without `meta.lang`, Galician rules for everyone. Only the
    // Galician copies are found: the language of each document is what finds the others.
    write_jsonl(&t.join("nolang.jsonl"), &mixed, false);
    near_dedup(
        &t.join("nolang.jsonl"),
        &t.join("out-nolang"),
        &["--lang", "gl"],
    );
    let removed: BTreeSet<String> = all
        .difference(&kept_ids(&t.join("out-nolang")))
        .cloned()
        .collect();
    let gl_copies: BTreeSet<String> = copies
        .iter()
        .filter(|c| c.starts_with("gl-"))
        .cloned()
        .collect();
    assert_eq!(removed, gl_copies);
}
