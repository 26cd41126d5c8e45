//! Helpers shared by the end-to-end tests: the shared fixtures, the `tria` binary, generated inputs.
#![allow(dead_code, clippy::unwrap_used)]

use std::fs::File;
use std::io::{BufWriter, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tria::fixtures::{Rng, wet_conversion, wet_warcinfo, write_gz_members};

/// `../shared/fixtures/cc` next to the repository, or `None` with a SKIP message.
pub fn shared_cc(test: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/cc");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIP {test}: ../shared/fixtures/cc is absent (the real CommonCrawl fixtures)");
        None
    }
}

pub fn tria() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tria"))
}

pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("tria runs");
    assert!(
        out.status.success(),
        "tria failed: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

const WORDS: &[&str] = &[
    "la",
    "casa",
    "del",
    "poble",
    "és",
    "gran",
    "i",
    "antiga",
    "etxea",
    "herriko",
    "handia",
    "da",
    "a",
    "casa",
    "da",
    "aldea",
    "é",
    "grande",
    "e",
    "vella",
    "mercat",
    "merkatua",
    "mercado",
    "biblioteca",
    "liburutegia",
    "riu",
    "ibaia",
    "río",
    "muntanya",
    "mendia",
    "montaña",
];

/// A deterministic document of `words` words.
pub fn text(rng: &mut Rng, words: usize) -> String {
    let mut s = String::new();
    for i in 0..words {
        s.push_str(WORDS[rng.below(WORDS.len())]);
        s.push(if i % 12 == 11 { '\n' } else { ' ' });
    }
    s.push('\n');
    s
}

/// Writes a WET file of `docs` documents (sizes 1..120 words) and returns its path.
pub fn write_wet(dir: &Path, name: &str, docs: usize, seed: u64) -> PathBuf {
    let path = dir.join(name);
    let mut rng = Rng(seed);
    let mut records = vec![wet_warcinfo(name)];
    for i in 0..docs {
        let words = 1 + rng.below(120);
        let body = text(&mut rng, words);
        records.push(wet_conversion(
            seed * 1_000_000 + i as u64,
            &format!("https://ex.cat/{seed}/{i}"),
            "cat",
            &body,
        ));
    }
    write_gz_members(BufWriter::new(File::create(&path).unwrap()), &records).unwrap();
    path
}

/// Every file below `dir` (relative path, bytes), sorted, ignoring the reports (which hold timings)
/// and run bookkeeping (`.tria/`, manifests).
pub fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().to_string();
            if rel.ends_with("report.json")
                || rel.ends_with("report.html")
                || rel == "manifest.json"
                || rel.starts_with(".tria/")
            {
                continue;
            }
            let mut bytes = Vec::new();
            File::open(&p).unwrap().read_to_end(&mut bytes).unwrap();
            out.push((rel, bytes));
        }
    }
    out.sort();
    out
}

/// Decompressed JSON lines of a `.jsonl.zst` output.
pub fn read_jsonl_zst(path: &Path) -> Vec<serde_json::Value> {
    let bytes = zstd::decode_all(File::open(path).unwrap()).unwrap();
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn report(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap()
}
