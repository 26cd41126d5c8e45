//! Megatron indexed dataset: byte layout, round trips, validation, merge.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use tria_tokenizer::{
    DType, Error, IndexedDataset, ShardMeta, ShardWriter, Sidecar, inspect, merge,
};

fn meta(vocab: u32) -> ShardMeta {
    ShardMeta {
        tokenizer_hash: "00ff00ff00ff00ff".into(),
        vocab_size: vocab,
        eod_token: Some(2),
        dtype: None,
    }
}

fn write(prefix: &Path, vocab: u32, docs: &[(Vec<u32>, &str, u64)]) {
    let mut w = ShardWriter::create(prefix, meta(vocab)).unwrap();
    for (t, l, b) in docs {
        w.add_document(t, l, *b).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn index_bytes_match_megatron_layout() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s");
    write(
        &p,
        1000,
        &[(vec![5, 6, 2], "ca", 10), (vec![7, 2], "eu", 4)],
    );
    let idx = std::fs::read(dir.path().join("s.idx")).unwrap();
    let mut want = b"MMIDIDX\x00\x00".to_vec();
    want.extend(1u64.to_le_bytes());
    want.push(8); // uint16
    want.extend(2u64.to_le_bytes()); // sequences
    want.extend(3u64.to_le_bytes()); // document indices
    want.extend(3i32.to_le_bytes());
    want.extend(2i32.to_le_bytes());
    want.extend(0i64.to_le_bytes());
    want.extend(6i64.to_le_bytes()); // 3 tokens * 2 bytes
    for d in [0i64, 1, 2] {
        want.extend(d.to_le_bytes());
    }
    assert_eq!(idx, want);
    let bin = std::fs::read(dir.path().join("s.bin")).unwrap();
    assert_eq!(bin, [5, 0, 6, 0, 2, 0, 7, 0, 2, 0]);
    for t in ["s.bin.tmp", "s.idx.tmp", "s.json.tmp"] {
        assert!(!dir.path().join(t).exists(), "{t} left behind");
    }
}

#[test]
fn dtype_follows_vocab_size_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    for (vocab, dtype, big) in [
        (32_000, DType::Uint16, 31_999),
        (256_000, DType::Int32, 255_999),
    ] {
        let p = dir.path().join(format!("v{vocab}"));
        let docs: Vec<(Vec<u32>, &str, u64)> = (0..50u32)
            .map(|i| {
                (
                    (0..i)
                        .map(|j| (j * 7919 + i) % vocab)
                        .chain([big])
                        .collect(),
                    if i % 3 == 0 { "gl" } else { "es" },
                    i as u64 * 3,
                )
            })
            .collect();
        write(&p, vocab, &docs);
        let ds = IndexedDataset::open(&p).unwrap();
        assert_eq!(ds.dtype(), dtype);
        assert_eq!(ds.len(), 50);
        assert_eq!(ds.documents(), 50);
        for (i, (t, _, _)) in docs.iter().enumerate() {
            assert_eq!(&ds.get(i).unwrap().to_vec(), t);
            assert_eq!(ds.document(i), Some(i..i + 1));
        }
        assert!(ds.get(50).is_none());
        assert!(matches!(ds.sequence(50), Err(Error::OutOfRange { .. })));
        let side = Sidecar::read(&dir.path().join(format!("v{vocab}.json"))).unwrap();
        assert_eq!(side.documents, 50);
        assert_eq!(side.tokens, ds.total_tokens());
        assert_eq!(side.languages["gl"].documents, 17);
        assert_eq!(side.doc_utf8_bytes[7], 21);
        assert_eq!(side.lang_table[side.doc_lang[3] as usize], "gl");
        assert_eq!(side.lang_table[side.doc_lang[4] as usize], "es");
    }
}

#[test]
fn token_too_big_for_u16_is_an_error_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x");
    let mut w = ShardWriter::create(
        &p,
        ShardMeta {
            dtype: Some(DType::Uint16),
            ..meta(1000)
        },
    )
    .unwrap();
    let err = w.add_document(&[1, 70_000], "ca", 3).unwrap_err();
    assert!(
        matches!(err, Error::TokenOutOfRange { token: 70_000, .. }),
        "{err}"
    );
    drop(w);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn corrupt_indices_are_rejected_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c");
    write(&p, 1000, &[(vec![1, 2, 3], "ca", 3)]);
    let idx_path = dir.path().join("c.idx");
    let good = std::fs::read(&idx_path).unwrap();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (good[..20].to_vec(), "shorter than the header"),
        ([b"XXIDIDX\0\0".as_slice(), &good[9..]].concat(), "magic"),
        (
            {
                let mut b = good.clone();
                b[17] = 6;
                b
            },
            "dtype code 6",
        ),
        (
            {
                let mut b = good.clone();
                b[18] = 9;
                b
            },
            "need",
        ),
        (
            {
                let mut b = good.clone();
                b[34] = 100;
                b
            },
            "past the end of .bin",
        ),
        (good[..good.len() - 4].to_vec(), "need"),
    ];
    for (bytes, want) in cases {
        std::fs::write(&idx_path, &bytes).unwrap();
        let err = IndexedDataset::open(&p).unwrap_err().to_string();
        assert!(err.contains(want), "{err:?} should mention {want:?}");
        assert!(err.contains("c."), "{err:?} should name the file");
    }
}

#[test]
fn merge_concatenates_in_order_and_checks_compatibility() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    write(&a, 1000, &[(vec![1, 2], "ca", 5), (vec![3, 2], "eu", 6)]);
    write(&b, 1000, &[(vec![4, 4, 4, 2], "eu", 7)]);
    let out = dir.path().join("m");
    let (sum, side) = merge(&[a.clone(), b.clone()], &out).unwrap();
    assert!(side);
    assert_eq!((sum.documents, sum.tokens), (3, 8));
    let ds = IndexedDataset::open(&out).unwrap();
    let got: Vec<Vec<u32>> = (0..ds.len()).map(|i| ds.get(i).unwrap().to_vec()).collect();
    assert_eq!(got, vec![vec![1, 2], vec![3, 2], vec![4, 4, 4, 2]]);
    assert_eq!(ds.document(2), Some(2..3));
    let s = Sidecar::read(&dir.path().join("m.json")).unwrap();
    assert_eq!(s.doc_utf8_bytes, vec![5, 6, 7]);
    assert_eq!(s.languages["eu"].documents, 2);
    assert_eq!(s.languages["eu"].tokens, 6);
    let langs: Vec<&str> = s
        .doc_lang
        .iter()
        .map(|&l| s.lang_table[l as usize].as_str())
        .collect();
    assert_eq!(langs, ["ca", "eu", "eu"]);

    // A shard with another dtype cannot be merged in.
    let c = dir.path().join("c");
    write(&c, 100_000, &[(vec![1], "ca", 1)]);
    let err = merge(&[a.clone(), c], &dir.path().join("bad")).unwrap_err();
    assert!(matches!(err, Error::Incompatible { .. }), "{err}");
    // Nor one from another tokenizer.
    let d: PathBuf = dir.path().join("d");
    let mut w = ShardWriter::create(
        &d,
        ShardMeta {
            tokenizer_hash: "other".into(),
            ..meta(1000)
        },
    )
    .unwrap();
    w.add_document(&[1], "ca", 1).unwrap();
    w.finish().unwrap();
    let err = merge(&[a, d], &dir.path().join("bad")).unwrap_err();
    assert!(err.to_string().contains("tokenizer hash"), "{err}");
    assert!(!dir.path().join("bad.bin").exists());
}

#[test]
fn inspect_reports_counts() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("i");
    write(&p, 1000, &[(vec![9, 9, 2], "oc", 12), (vec![2], "oc", 0)]);
    let ins = inspect(&p, 5, None).unwrap();
    assert_eq!((ins.sequences, ins.documents, ins.tokens), (2, 2, 4));
    assert_eq!((ins.min_len, ins.max_len), (1, 3));
    assert_eq!(ins.first, vec![vec![9, 9, 2], vec![2]]);
    let text = ins.to_string();
    assert!(text.contains("lang oc"), "{text}");
}

#[test]
fn empty_shard_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("e");
    write(&p, 1000, &[]);
    let ds = IndexedDataset::open(&p).unwrap();
    assert_eq!((ds.len(), ds.documents()), (0, 0));
}
