//! The one-machine and sharded forms keep exactly the same documents, whatever the thread count,
//! batch size or memory budget; sharded tasks are idempotent and refuse mixed configurations.

mod common;

use std::path::Path;

use tria_dedup::sharded;
use tria_dedup::{DedupError, DocKey, LocalDedup, MinHashConfig, RemovalList, Removals};

fn local(
    config: &MinHashConfig,
    docs: &[(DocKey, String)],
    batch: usize,
    budget: usize,
) -> Removals {
    let mut d = LocalDedup::new(config.clone())
        .expect("valid config")
        .with_memory_budget(budget);
    for chunk in docs.chunks(batch) {
        d.add_batch(chunk).expect("add batch");
    }
    let (r, stats) = d.finish().expect("finish");
    assert_eq!(stats.documents, docs.len() as u64);
    if budget < usize::MAX {
        assert!(
            stats.spills > 1,
            "the small budget should force spills: {stats:?}"
        );
    }
    r
}

fn sharded_run(config: &MinHashConfig, corpus: &[Vec<String>], work: &Path, tasks: usize) {
    sharded::prepare(work, config).expect("prepare");
    // Tasks in reverse order: no task may rely on another of its stage having run first.
    for (f, docs) in corpus.iter().enumerate().rev() {
        let it = docs.iter().enumerate().map(|(r, t)| (r as u64, t.as_str()));
        sharded::signatures_task(work, config, f as u32, it).expect("signatures");
    }
    for t in (0..tasks).rev() {
        sharded::pairs_task(work, config, corpus.len() as u32, t, tasks).expect("pairs");
    }
    sharded::clusters_task(work, config, corpus.len() as u32).expect("clusters");
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool")
        .install(f)
}

fn check_forms_agree(config: MinHashConfig) {
    let corpus = common::mixed_corpus(4, 7);
    let docs = common::keyed(&corpus);
    let reference = in_pool(1, || local(&config, &docs, docs.len(), usize::MAX));
    assert!(
        reference.removed().len() >= 80,
        "corpus has planted duplicates"
    );
    let kept_total: u32 = reference.kept_clusters().iter().map(|c| c.1).sum();
    assert_eq!(
        kept_total as usize,
        reference.kept_clusters().len() + reference.removed().len(),
        "cluster sizes count every member"
    );
    for threads in [2, 4] {
        let r = in_pool(threads, || local(&config, &docs, 97, usize::MAX));
        assert_eq!(r, reference, "{threads} threads, batches of 97");
    }
    // A budget of 2,000 entries forces several spills.
    let spilled = in_pool(3, || {
        local(&config, &docs, 50, 2000 * tria_dedup::BYTES_PER_ENTRY)
    });
    assert_eq!(spilled, reference, "spilled to disk");

    for (threads, tasks) in [(1, 1), (4, 3)] {
        let work = tempfile::tempdir().expect("temp dir");
        in_pool(threads, || {
            sharded_run(&config, &corpus, work.path(), tasks)
        });
        for f in 0..corpus.len() as u32 {
            let list = sharded::load_removals(work.path(), f).expect("removal list");
            assert_eq!(
                list,
                reference.for_file(f),
                "file {f}, {threads} threads, {tasks} tasks"
            );
        }
    }
}

#[test]
fn forms_agree_without_verification() {
    check_forms_agree(MinHashConfig::default());
}

#[test]
fn forms_agree_with_verification() {
    check_forms_agree(MinHashConfig {
        verify: Some(0.7),
        ..Default::default()
    });
}

#[test]
fn planted_duplicates_are_found_and_first_copy_kept() {
    let docs: Vec<(DocKey, String)> = vec![
        (
            DocKey::new(1, 0),
            "el gat negre dorm tranquil al sofà de casa tota la tarda".into(),
        ),
        (
            DocKey::new(0, 4),
            "El gat negre dorm tranquil, al sofà de casa, tota la tarda!".into(),
        ),
        (
            DocKey::new(0, 2),
            "etxeko sofan katu beltza lasai lo dago arratsalde osoan".into(),
        ),
        (
            DocKey::new(2, 0),
            "El gat negre dorm tranquil al sofà de casa tota la tarda.".into(),
        ),
    ];
    let mut d = LocalDedup::new(MinHashConfig::default()).expect("valid");
    d.add_batch(&docs).expect("add");
    let (r, _) = d.finish().expect("finish");
    assert_eq!(r.removed(), &[DocKey::new(1, 0), DocKey::new(2, 0)]);
    assert_eq!(r.kept_clusters(), &[(DocKey::new(0, 4), 3)]);
}

fn files_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .expect("under dir")
                    .display()
                    .to_string();
                out.push((rel, std::fs::read(&p).expect("read")));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn sharded_tasks_are_idempotent_and_checked() {
    let config = MinHashConfig {
        verify: Some(0.8),
        ..Default::default()
    };
    let corpus = common::mixed_corpus(2, 3);
    let work = tempfile::tempdir().expect("temp dir");
    sharded_run(&config, &corpus, work.path(), 2);
    let first = files_bytes(work.path());
    assert!(
        first.iter().all(|(name, _)| !name.contains(".tmp")),
        "no temporary file left"
    );
    sharded_run(&config, &corpus, work.path(), 2);
    assert_eq!(
        files_bytes(work.path()),
        first,
        "re-running every task rewrites the same bytes"
    );

    // Another configuration against the same work directory is refused.
    let other = MinHashConfig {
        rows: 4,
        ..config.clone()
    };
    assert!(matches!(
        sharded::prepare(work.path(), &other),
        Err(DedupError::ParamsMismatch { .. })
    ));
    let docs = [(0u64, "un text")];
    assert!(matches!(
        sharded::signatures_task(work.path(), &other, 0, docs),
        Err(DedupError::ParamsMismatch { .. })
    ));

    // A pairs task over a file whose signatures were never computed names the missing file.
    let err = sharded::pairs_task(work.path(), &config, 3, 0, 1).expect_err("file 2 missing");
    assert!(
        matches!(
            err,
            DedupError::MissingStage {
                stage: "signatures",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("file-00000002"), "{err}");

    // A truncated removal list is reported as corrupt, with its path.
    let path = sharded::removals_file(work.path(), 0);
    let bytes = std::fs::read(&path).expect("read");
    std::fs::write(&path, &bytes[..bytes.len() - 3]).expect("truncate");
    let err = sharded::load_removals(work.path(), 0).expect_err("truncated");
    assert!(matches!(err, DedupError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("file-00000000.bin"), "{err}");
    assert!(matches!(
        sharded::load_removals(work.path(), 9),
        Err(DedupError::MissingStage {
            stage: "clusters",
            ..
        })
    ));
}

#[test]
fn removal_list_round_trip() {
    let dir = tempfile::tempdir().expect("temp dir");
    let list = RemovalList {
        removed: vec![1, 5, 1 << 40],
        kept: vec![(0, 3), (7, 2)],
    };
    let p = dir.path().join("r.bin");
    sharded::write_removals(&p, &list).expect("write");
    assert_eq!(sharded::read_removals(&p).expect("read"), list);
}
