#![allow(dead_code)]
pub mod r#gen;
pub use r#gen::{Rng, Source};

use tria_dedup::{DocKey, MinHashConfig, MinHasher};

/// A corpus over `files` input files with unique documents, planted near-duplicates at several
/// similarities (variants in later files than their base), exact copies, empty and short documents.
pub fn mixed_corpus(files: u32, seed: u64) -> Vec<Vec<String>> {
    let src = Source::synthetic(3000, seed);
    let mh = MinHasher::new(MinHashConfig::default()).expect("default config is valid");
    let mut rng = Rng(seed ^ 0xABCD);
    let mut out: Vec<Vec<String>> = (0..files).map(|_| Vec::new()).collect();
    for i in 0..250 {
        let f = rng.below(files as usize);
        let len = 60 + rng.below(80);
        let base = src.document(&mut rng, len);
        match i % 5 {
            0 => {
                let t = [0.5, 0.7, 0.8, 0.9, 0.95][rng.below(5)];
                let (v, _) = src.variant(&mh, &base, t, &mut rng);
                out[rng.below(files as usize)].push(v);
            }
            1 => out[rng.below(files as usize)].push(base.clone()),
            2 => {
                // A chain: base ~ v1 ~ v2.
                let (v1, _) = src.variant(&mh, &base, 0.85, &mut rng);
                let (v2, _) = src.variant(&mh, &v1, 0.85, &mut rng);
                out[rng.below(files as usize)].push(v1);
                out[rng.below(files as usize)].push(v2);
            }
            _ => {}
        }
        out[f].push(base);
    }
    for docs in out.iter_mut() {
        docs.push(String::new());
        docs.push("¡¿...!!".into());
        docs.push("una frase curta".into());
    }
    out
}

/// The corpus flattened to `(key, text)` in input order.
pub fn keyed(corpus: &[Vec<String>]) -> Vec<(DocKey, String)> {
    corpus
        .iter()
        .enumerate()
        .flat_map(|(f, docs)| {
            docs.iter()
                .enumerate()
                .map(move |(r, t)| (DocKey::new(f as u32, r as u64), t.clone()))
        })
        .collect()
}
