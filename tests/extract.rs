//! `tria run` over WARC files with `[input] extract = "main"` and `"all"`: the main content loses
//! the page chrome and keeps the article; pages with nothing but chrome are counted, not written.

#![allow(clippy::unwrap_used)]

mod support;

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use support::{read_jsonl_zst, report, run_ok, tria};
use tria::fixtures::{warc_response, write_gz_members};

const EU: &str = "Eusko Jaurlaritzak liburutegi publikoen plan berria aurkeztu du gaur, eta hogei eraikin berri irekiko dira 2030 baino lehen zerbitzu gutxien dituzten eskualdeetan.";
const EU2: &str = "Kultura sailaren arabera, inbertsioa ehun milioi eurokoa izango da eta hiru fasetan egingo da, bost mila biztanletik gorako herrietatik hasita.";
const EL: &str = "Η κυβέρνηση ανακοίνωσε σήμερα νέο πρόγραμμα για τις δημόσιες βιβλιοθήκες, το οποίο προβλέπει είκοσι νέα κτίρια μέχρι το 2030 στις περιοχές με τις λιγότερες υπηρεσίες.";

fn chrome(title: &str, article: &str) -> String {
    format!(
        r#"<!DOCTYPE html><html><head><title>{title}</title><script>var menu = "Hasiera";</script></head><body>
<header><a href="/">Egunkaria</a><nav><ul><li><a href="/p">Politika</a></li><li><a href="/e">Ekonomia</a></li></ul></nav></header>
<div class="cookie-consent"><p>Webgune honek cookieak erabiltzen ditu nabigazio-esperientzia hobetzeko eta zure interesekoak diren edukiak eskaintzeko.</p></div>
<div class="wrap"><div class="col">{article}</div><aside><h3>Irakurrienak</h3><ul><li><a href="/1">Albiste bat</a></li><li><a href="/2">Beste bat</a></li></ul></aside></div>
<footer>© 2026 Egunkaria · Lege oharra · Pribatutasuna</footer></body></html>"#
    )
}

fn write_warc(path: &Path) {
    let pages = [
        chrome(
            "Liburutegiak",
            &format!("<article><p>{EU}</p><p>{EU2}</p></article>"),
        ),
        chrome("Βιβλιοθήκες", &format!("<main><p>{EL}</p></main>")),
        // Nothing but chrome.
        chrome("Hutsik", ""),
        // 100,000 unclosed levels, then an article: flattened and counted, not a hang.
        format!("{}<p>{EU}</p>", "<div><span>".repeat(50_000)),
        // Binary junk declared as HTML.
        String::from_utf8_lossy(
            &(0..200_000u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect::<Vec<u8>>(),
        )
        .into_owned(),
    ];
    let records: Vec<Vec<u8>> = pages
        .iter()
        .enumerate()
        .map(|(i, html)| {
            warc_response(
                i as u64 + 1,
                &format!("https://ex.eus/{i}"),
                "text/html; charset=utf-8",
                html.as_bytes(),
            )
        })
        .collect();
    let mut f = File::create(path).unwrap();
    write_gz_members(&mut f, &records).unwrap();
    f.flush().unwrap();
}

fn run(dir: &Path, mode: &str) -> (Vec<serde_json::Value>, serde_json::Value) {
    let out = dir.join(format!("out-{mode}"));
    let p = dir.join(format!("{mode}.toml"));
    fs::write(
        &p,
        format!(
            "[input]\npaths = [\"pages.warc.gz\"]\nextract = \"{mode}\"\n\n[output]\ndir = \"out-{mode}\"\n"
        ),
    )
    .unwrap();
    run_ok(tria().arg("run").arg(&p));
    (read_jsonl_zst(&out.join("pages.jsonl.zst")), report(&out))
}

#[test]
fn main_drops_the_chrome_that_all_keeps() {
    let dir = tempfile::tempdir().unwrap();
    write_warc(&dir.path().join("pages.warc.gz"));
    let (main, main_report) = run(dir.path(), "main");
    let (all, all_report) = run(dir.path(), "all");
    // Each page is a document or a counted skip, in both modes.
    let skipped = |r: &serde_json::Value| -> u64 {
        r["read"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.starts_with("skipped:"))
            .map(|(_, v)| v.as_u64().unwrap())
            .sum()
    };
    assert_eq!(main.len() as u64 + skipped(&main_report), 5);
    assert_eq!(all.len() as u64 + skipped(&all_report), 5);
    assert_eq!(main_report["read"]["skipped:no_main_content"], 1);
    assert!(all_report["read"].get("skipped:no_main_content").is_none());
    // The deep page: `main` flattens it and keeps its text, `all` refuses it (html2text would take
    // minutes on it).
    assert_eq!(main_report["read"]["repaired:html_too_deep"], 1);
    assert_eq!(main[2]["text"], format!("{EU}\n"));
    assert_eq!(all_report["read"]["skipped:html_too_deep"], 1);

    assert_eq!(main[0]["text"], format!("{EU}\n{EU2}\n"));
    assert_eq!(main[0]["meta"]["title"], "Liburutegiak");
    assert_eq!(main[1]["text"], format!("{EL}\n"));
    assert_eq!(main[1]["meta"]["title"], "Βιβλιοθήκες");
    let all0 = all[0]["text"].as_str().unwrap();
    for chrome in ["Politika", "cookieak", "Irakurrienak", "Lege oharra"] {
        assert!(all0.contains(chrome), "{chrome} in all");
        assert!(
            !main[0]["text"].as_str().unwrap().contains(chrome),
            "{chrome} in main"
        );
    }
    assert!(all0.contains(EU) && all0.contains(EU2));
    // The mode is part of the resolved configuration.
    let m: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("out-main/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["config"]["input"]["extract"], "main");
}

#[test]
fn real_warc_pages_shrink_to_their_main_content() {
    let Some(cc) = support::shared_cc("real_warc_pages_shrink_to_their_main_content") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    fs::copy(
        cc.join("resiliparse-warcfile.warc.gz"),
        dir.path().join("pages.warc.gz"),
    )
    .unwrap();
    let (main, _) = run(dir.path(), "main");
    let (all, _) = run(dir.path(), "all");
    let chars = |docs: &[serde_json::Value]| -> usize {
        docs.iter()
            .map(|d| d["text"].as_str().unwrap().chars().count())
            .sum()
    };
    assert!(!main.is_empty() && main.len() <= all.len());
    assert!(
        chars(&main) * 2 < chars(&all),
        "main {} vs all {}",
        chars(&main),
        chars(&all)
    );
    // Every main text is drawn from the page's text.
    for d in &main {
        let url = d["meta"]["url"].as_str().unwrap();
        let a = all.iter().find(|a| a["meta"]["url"] == url).unwrap();
        // Characters, not words: most of these pages are Chinese, without spaces.
        let a_chars: std::collections::HashSet<char> =
            a["text"].as_str().unwrap().chars().collect();
        let chars: Vec<char> = d["text"]
            .as_str()
            .unwrap()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let shared = chars.iter().filter(|c| a_chars.contains(c)).count();
        assert!(
            shared * 10 >= chars.len() * 9,
            "{url}: {shared}/{}",
            chars.len()
        );
    }
}
