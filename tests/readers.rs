//! Readers over real CommonCrawl files (from `../shared`, skipped when absent) and over tria's own
//! fixtures, which cover the same code paths, bad input included.

#![allow(clippy::unwrap_used)]

mod support;

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use tria::document::Document;
use tria::fixtures::{warc_record, warc_response, wet_conversion, write_gz_members};
use tria::read::{self, Counters, Format, ReadError, ReadOptions};

struct Read_ {
    docs: Vec<Document>,
    bad: Vec<ReadError>,
    fatal: Option<ReadError>,
    counters: Counters,
}

fn read_all(path: &Path, format: Option<Format>) -> Read_ {
    let mut r = read::open(path, format, &ReadOptions::default()).expect("opens");
    let mut out = Read_ {
        docs: Vec::new(),
        bad: Vec::new(),
        fatal: None,
        counters: Counters::default(),
    };
    for item in &mut r {
        match item {
            Ok(d) => out.docs.push(d),
            Err(e) if e.is_fatal() => out.fatal = Some(e),
            Err(e) => out.bad.push(e),
        }
    }
    out.counters = r.counters().clone();
    out
}

#[test]
fn whirlwind_wet_gives_one_document_with_its_provenance() {
    let Some(cc) = support::shared_cc("whirlwind_wet") else {
        return;
    };
    let r = read_all(&cc.join("whirlwind.warc.wet.gz"), None);
    assert!(r.fatal.is_none() && r.bad.is_empty());
    assert_eq!(r.docs.len(), 1);
    let d = &r.docs[0];
    assert_eq!(d.text.len(), 4456);
    assert_eq!(d.text.lines().count(), 182);
    assert!(
        d.text
            .starts_with("Escopete - Biquipedia, a enciclopedia libre\n")
    );
    assert_eq!(d.id, "<urn:uuid:ba729a40-ff84-4085-8d48-0a5b2ee0c42d>");
    assert_eq!(
        d.meta_str("url"),
        Some("https://an.wikipedia.org/wiki/Escopete")
    );
    assert_eq!(d.meta_str("cc_lang"), Some("spa"));
    assert_eq!(d.meta_str("date"), Some("2024-05-18T01:58:10Z"));
    assert_eq!(
        d.meta_str("refers_to"),
        Some("<urn:uuid:2aabeff2-67f5-4608-8466-e87c6296e2b6>")
    );
    assert_eq!(r.counters.get("skipped_type:warcinfo"), 1);
    // The offset is the compressed offset of the record's gzip member: reading one member there
    // gives the conversion record.
    let off = d.origin.offset.unwrap();
    assert!(off > 0);
    let mut f = File::open(cc.join("whirlwind.warc.wet.gz")).unwrap();
    f.seek(SeekFrom::Start(off)).unwrap();
    let mut member = String::new();
    flate2::read::GzDecoder::new(f)
        .read_to_string(&mut member)
        .unwrap();
    assert!(
        member.starts_with("WARC/1.0\r\nWARC-Type: conversion\r\n"),
        "{}",
        &member[..40]
    );
}

#[test]
fn warc_responses_become_text_and_other_types_are_counted() {
    let Some(cc) = support::shared_cc("warcfile") else {
        return;
    };
    let r = read_all(&cc.join("resiliparse-warcfile.warc.gz"), None);
    assert!(r.fatal.is_none());
    assert_eq!(r.counters.get("skipped_type:warcinfo"), 1);
    assert_eq!(r.counters.get("skipped_type:request"), 17);
    assert_eq!(r.counters.get("skipped_type:metadata"), 16);
    // 16 responses: each a document or skipped with a reason.
    let skipped: u64 = r
        .counters
        .0
        .iter()
        .filter(|(k, _)| k.starts_with("skipped:"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(r.docs.len() as u64 + skipped, 16);
    assert!(
        r.docs.len() >= 12,
        "most responses are HTML pages: {}",
        r.docs.len()
    );
    let first = &r.docs[0];
    assert_eq!(
        first.meta_str("url"),
        Some("http://003338.cn/l41/481397.html")
    );
    assert!(!first.text.contains("<div"), "HTML is turned into text");
    // A windows-1251 page decodes to Cyrillic.
    let ru = r
        .docs
        .iter()
        .find(|d| d.meta_str("charset") == Some("windows-1251"))
        .expect("a 1251 page");
    assert!(ru.text.chars().any(|c| ('а'..='я').contains(&c)));
}

#[test]
fn clueweb_warc_0_18_with_lf_only_http_headers() {
    let Some(cc) = support::shared_cc("clueweb") else {
        return;
    };
    let r = read_all(&cc.join("resiliparse-clueweb-quirk.warc.gz"), None);
    assert!(r.fatal.is_none(), "{:?}", r.fatal);
    assert_eq!(r.counters.get("skipped_type:warcinfo"), 1);
    let skipped: u64 = r
        .counters
        .0
        .iter()
        .filter(|(k, _)| k.starts_with("skipped:"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(r.docs.len() as u64 + skipped, 29);
    let d = &r.docs[0];
    assert_eq!(
        d.meta_str("url"),
        Some("http://www.uraharajuku.st/shopdetail/001005000005/019/000/order/")
    );
    assert_eq!(d.meta_str("charset"), Some("EUC-JP"));
    assert_eq!(
        d.meta_str("date"),
        Some("2008-10-294T05:21:46-0700"),
        "malformed date kept as is"
    );
    assert!(
        d.text
            .chars()
            .any(|c| ('\u{3040}'..='\u{30ff}').contains(&c)),
        "decoded Japanese"
    );
}

#[test]
fn clipped_gzip_fails_the_file_naming_offset_and_reason() {
    let Some(cc) = support::shared_cc("clipped") else {
        return;
    };
    let r = read_all(&cc.join("resiliparse-clipped.warc.gz"), None);
    assert!(r.docs.is_empty());
    let e = r
        .fatal
        .expect("a truncated file is a file failure")
        .to_string();
    assert!(e.contains("resiliparse-clipped.warc.gz"), "{e}");
    assert!(e.contains("truncated"), "{e}");
    assert!(e.contains("offset 0"), "{e}");
}

#[test]
fn ccnet_sample_is_repaired_into_its_three_documents() {
    let Some(cc) = support::shared_cc("ccnet") else {
        return;
    };
    let r = read_all(&cc.join("ccnet-sample.warc.wet"), None);
    assert!(r.fatal.is_none() && r.bad.is_empty());
    let urls: Vec<_> = r.docs.iter().map(|d| d.meta_str("url").unwrap()).collect();
    assert_eq!(
        urls,
        [
            "http://sample_english.com",
            "http://sample_chinese.zh",
            "http://sample_russian.ru"
        ]
    );
    let titles: Vec<_> = r
        .docs
        .iter()
        .map(|d| d.text.lines().next().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "Famous Mark Twain Quotes",
            "馬克·吐溫名言",
            "Цитаты знаменитого Марка Твена"
        ]
    );
    assert_eq!(r.counters.get("repaired:wrong_content_length"), 4);
    assert_eq!(r.counters.get("repaired:lf_line_endings"), 4);
    let en = &r.docs[0].text;
    assert_eq!(en.len(), 355);
    assert!(en.ends_with('\n') && !en.ends_with("\n\n"));
    let body: Vec<&str> = en.lines().skip(1).collect();
    assert_eq!(body.len(), 5, "four quotes and one blank line: {body:?}");
    assert_eq!(body[2], "");
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn own_wet_bad_records_are_skipped_counted_and_resynchronised() {
    let dir = tmp();
    let path = dir.path().join("bad.warc.wet.gz");
    let good = |n: u64, t: &str| wet_conversion(n, &format!("https://ex.eus/{n}"), "eus", t);
    // Invalid UTF-8 (repaired lossily), a malformed header (skipped), a too-long Content-Length
    // (repaired), then a good record.
    let mut invalid = b"Kaixo mundua \xff\xfe amaiera\n".to_vec();
    let bad_utf8 = warc_record(
        &[("WARC-Type", "conversion"), ("WARC-Record-ID", "<urn:x:1>")],
        &invalid,
    );
    invalid.clear();
    let malformed =
        b"WARC/1.0\r\nWARC-Type conversion\r\nContent-Length: 3\r\n\r\nabc\r\n\r\n".to_vec();
    let mut long_cl = good(3, "Bon dia a tothom\n");
    let s = String::from_utf8(long_cl.clone())
        .unwrap()
        .replace("Content-Length: 17", "Content-Length: 40");
    long_cl = s.into_bytes();
    let records = [
        good(0, "Lehenengo dokumentua\n"),
        bad_utf8,
        malformed,
        long_cl,
        good(4, "Azkena\n"),
    ];
    // Members one per record except the last two, which share a member (the reader must not care).
    let mut all = Vec::new();
    write_gz_members(&mut all, &records[..3]).unwrap();
    let mut joined = records[3].clone();
    joined.extend_from_slice(&records[4]);
    write_gz_members(&mut all, &[joined]).unwrap();
    fs::write(&path, &all).unwrap();

    let r = read_all(&path, None);
    assert!(r.fatal.is_none(), "{:?}", r.fatal);
    let texts: Vec<&str> = r.docs.iter().map(|d| d.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Lehenengo dokumentua\n",
            "Kaixo mundua \u{fffd}\u{fffd} amaiera\n",
            "Bon dia a tothom\n",
            "Azkena\n"
        ]
    );
    assert_eq!(r.counters.get("repaired:invalid_utf8"), 1);
    assert_eq!(r.counters.get("repaired:wrong_content_length"), 1);
    assert_eq!(r.bad.len(), 1);
    let e = r.bad[0].to_string();
    assert!(
        e.contains("bad.warc.wet.gz") && e.contains("malformed_header") && e.contains("record 2"),
        "{e}"
    );
    // Records in their own member carry that member's offset; the one sharing a member does not.
    assert_eq!(r.docs[0].origin.offset, Some(0));
    assert!(r.docs[1].origin.offset.unwrap() > 0);
}

#[test]
fn empty_file_and_wrong_extension_are_file_failures() {
    let dir = tmp();
    let empty = dir.path().join("empty.warc.wet.gz");
    File::create(&empty).unwrap();
    let e = read::open(&empty, None, &ReadOptions::default())
        .err()
        .expect("fails")
        .to_string();
    assert!(
        e.contains("empty.warc.wet.gz") && e.contains("empty"),
        "{e}"
    );

    let lying = dir.path().join("lying.warc.gz");
    fs::write(&lying, "this is just a text file\n").unwrap();
    let e = read::open(&lying, None, &ReadOptions::default())
        .err()
        .expect("fails")
        .to_string();
    assert!(
        e.contains("wrong_format") && e.contains("gzip-compressed WARC"),
        "{e}"
    );

    let plain_as_gz = dir.path().join("plain.jsonl.gz");
    fs::write(&plain_as_gz, "{\"text\": \"hola\"}\n").unwrap();
    let e = read::open(&plain_as_gz, None, &ReadOptions::default())
        .err()
        .expect("fails")
        .to_string();
    assert!(e.contains("uncompressed JSON"), "{e}");
}

#[test]
fn own_warc_html_responses() {
    let dir = tmp();
    let path = dir.path().join("pages.warc.gz");
    let records = vec![
        warc_response(1, "https://ex.gal/a", "text/html; charset=utf-8", "<html><head><title>Ola</title></head><body><p>Bo día a todos.</p><script>var x=1;</script></body></html>".as_bytes()),
        warc_response(2, "https://ex.gal/b.png", "image/png", b"\x89PNG...."),
        warc_record(&[("WARC-Type", "request"), ("WARC-Record-ID", "<urn:r>")], b"GET / HTTP/1.1\r\n\r\n"),
    ];
    let mut f = File::create(&path).unwrap();
    write_gz_members(&mut f, &records).unwrap();
    f.flush().unwrap();
    let r = read_all(&path, None);
    assert_eq!(r.docs.len(), 1);
    assert_eq!(r.docs[0].text, "Bo día a todos.\n");
    assert_eq!(r.docs[0].meta_str("title"), Some("Ola"));
    assert_eq!(r.counters.get("skipped:not_html"), 1);
    assert_eq!(r.counters.get("skipped_type:request"), 1);
}

#[test]
fn jsonl_plain_gzip_zstd_with_configurable_fields() {
    let dir = tmp();
    let lines = "{\"content\":\"Bon dia\",\"doc\":\"a1\",\"url\":\"https://x.cat\"}\n\
                 not json at all\n\
                 {\"doc\":\"a2\"}\n\
                 \n\
                 {\"content\":\"Egun on\",\"doc\":7,\"score\":0.5}\n";
    let opts = ReadOptions {
        text_field: "content".into(),
        id_field: "doc".into(),
        ..ReadOptions::default()
    };
    let plain = dir.path().join("d.jsonl");
    fs::write(&plain, lines).unwrap();
    let gz = dir.path().join("d.jsonl.gz");
    let mut e =
        flate2::write::GzEncoder::new(File::create(&gz).unwrap(), flate2::Compression::default());
    e.write_all(lines.as_bytes()).unwrap();
    e.finish().unwrap();
    let zst = dir.path().join("d.jsonl.zst");
    fs::write(&zst, zstd::encode_all(lines.as_bytes(), 3).unwrap()).unwrap();
    for p in [&plain, &gz, &zst] {
        let mut r = read::open(p, None, &opts).unwrap();
        let items: Vec<_> = (&mut r).collect();
        let docs: Vec<&Document> = items.iter().filter_map(|i| i.as_ref().ok()).collect();
        assert_eq!(docs.len(), 2, "{}", p.display());
        assert_eq!(docs[0].id, "a1");
        assert_eq!(docs[0].meta_str("url"), Some("https://x.cat"));
        assert_eq!(docs[1].id, "7");
        assert_eq!(docs[1].meta["score"], serde_json::json!(0.5));
        let reasons: Vec<_> = items
            .iter()
            .filter_map(|i| i.as_ref().err().map(|e| e.reason()))
            .collect();
        assert_eq!(reasons, ["bad_json", "missing_text"]);
        assert_eq!(docs[1].origin.record, 4);
    }
}
