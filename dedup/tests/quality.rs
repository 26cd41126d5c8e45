//! Recall follows the LSH curve 1 − (1 − s^r)^b at each planted similarity, and precision with
//! verification is at least 99 %. Synthetic languages always; real Catalan, Basque and Galician
//! sentences too when `../shared/data/lid` is present.

mod common;

use common::{Rng, Source};
use tria_dedup::{DocKey, LocalDedup, MinHashConfig, MinHasher, collision_probability, jaccard};

struct Planted {
    docs: Vec<(DocKey, String)>,
    /// (variant key, measured Jaccard with its base).
    variants: Vec<(DocKey, f64)>,
}

/// `per_level` base documents per target similarity in file 0, each with one variant in file 1,
/// plus `unrelated` documents from the same source in file 2.
fn planted(src: &Source, levels: &[f64], per_level: usize, unrelated: usize, seed: u64) -> Planted {
    let mh = MinHasher::new(MinHashConfig::default()).expect("valid");
    let mut rng = Rng(seed);
    let mut docs = Vec::new();
    let mut variants = Vec::new();
    let mut n = 0u64;
    for &t in levels {
        for _ in 0..per_level {
            let base = src.document(&mut rng, 150);
            let (v, j) = src.variant(&mh, &base, t, &mut rng);
            docs.push((DocKey::new(0, n), base));
            docs.push((DocKey::new(1, n), v));
            variants.push((DocKey::new(1, n), j));
            n += 1;
        }
    }
    for r in 0..unrelated {
        docs.push((DocKey::new(2, r as u64), src.document(&mut rng, 150)));
    }
    Planted { docs, variants }
}

fn check_language(name: &str, src: &Source, per_level: usize, seed: u64) {
    // TRIA_DEDUP_PER_LEVEL raises the sample for a tighter manual check.
    let per_level = std::env::var("TRIA_DEDUP_PER_LEVEL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(per_level);
    let levels = [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95];
    let p = planted(src, &levels, per_level, per_level * 2, seed);
    let config = MinHashConfig::default();
    let (b, r) = (config.bands, config.rows);
    let mut d = LocalDedup::new(config.clone()).expect("valid");
    d.add_batch(&p.docs).expect("add");
    let (plain, _) = d.finish().expect("finish");
    let threshold = 0.75;
    let mut d = LocalDedup::new(MinHashConfig {
        verify: Some(threshold),
        ..config
    })
    .expect("valid");
    d.add_batch(&p.docs).expect("add");
    let (verified, _) = d.finish().expect("finish");

    let mut worst: f64 = 0.0;
    for (li, &t) in levels.iter().enumerate() {
        let group = &p.variants[li * per_level..(li + 1) * per_level];
        let mean_j: f64 = group.iter().map(|v| v.1).sum::<f64>() / group.len() as f64;
        assert!(
            (mean_j - t).abs() < 0.03,
            "{name}: planted {t}, measured mean {mean_j}"
        );
        // Expected recall: the curve averaged over the measured similarities of this level.
        let expected: f64 = group
            .iter()
            .map(|v| collision_probability(v.1, b, r))
            .sum::<f64>()
            / group.len() as f64;
        let found =
            group.iter().filter(|v| plain.is_removed(v.0)).count() as f64 / group.len() as f64;
        eprintln!("{name} s={t:.2} measured={mean_j:.3} recall={found:.3} curve={expected:.3}");
        worst = worst.max((found - expected).abs());
        // Binomial standard deviation is at most 0.5/sqrt(n): allow 3.5 of them.
        let tol = 3.5 * (expected * (1.0 - expected) / group.len() as f64).sqrt() + 0.01;
        assert!(
            (found - expected).abs() <= tol,
            "{name} s={t}: recall {found} vs curve {expected}"
        );
    }
    eprintln!("{name}: largest recall gap {worst:.3}");

    // Precision with verification: a removed document is right when its measured similarity with
    // its base, or failing that with any other document of the corpus, reaches the threshold.
    let mh = MinHasher::new(MinHashConfig::default()).expect("valid");
    let shingles: Vec<Vec<u64>> = p.docs.iter().map(|(_, t)| mh.shingles(t)).collect();
    let index_of = |k: DocKey| {
        p.docs
            .iter()
            .position(|d| d.0 == k)
            .expect("removed key fed")
    };
    let planted_j = |k: DocKey| p.variants.iter().find(|v| v.0 == k).map_or(0.0, |v| v.1);
    let truly_duplicate = |k: DocKey| {
        if planted_j(k) >= threshold {
            return true;
        }
        let i = index_of(k);
        (0..p.docs.len()).any(|o| o != i && jaccard(&shingles[i], &shingles[o]) >= threshold)
    };
    let removed = verified.removed();
    let good = removed.iter().filter(|k| truly_duplicate(**k)).count();
    let precision = good as f64 / removed.len() as f64;
    // Without verification, planted variants below the threshold are removed too.
    let plain_good = plain
        .removed()
        .iter()
        .filter(|k| planted_j(**k) >= threshold)
        .count();
    let plain_precision = plain_good as f64 / plain.removed().len() as f64;
    eprintln!("{name}: precision verified={precision:.4} plain={plain_precision:.4}");
    assert!(precision >= 0.99, "{name}: precision {precision}");
    assert!(
        plain_precision < precision,
        "{name}: verification should remove false positives"
    );
    // Verification does not lose true near-duplicates: recall above the threshold is unchanged.
    for v in p.variants.iter().filter(|v| v.1 >= threshold) {
        assert_eq!(
            plain.is_removed(v.0),
            verified.is_removed(v.0),
            "{name}: {v:?}"
        );
    }
}

#[test]
fn recall_follows_curve_synthetic_languages() {
    for (i, seed) in [11u64, 12].into_iter().enumerate() {
        let src = Source::synthetic(2000 + 3000 * i, seed);
        check_language(&format!("synthetic{i}"), &src, 150, seed);
    }
}

#[test]
fn recall_follows_curve_ca_eu_gl() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/lid");
    for (i, code) in ["ca", "eu", "gl"].into_iter().enumerate() {
        let path = dir.join(format!("{code}.txt"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!(
                "SKIP: {} absent; real-language recall not checked",
                path.display()
            );
            return;
        };
        // The first 8,000 sentences are plenty and keep the test quick.
        let head: String = text.lines().take(8000).collect::<Vec<_>>().join("\n");
        check_language(code, &Source::from_lines(&head), 120, 100 + i as u64);
    }
}
