//! WET reading throughput: gzip decompression alone (the physical limit, with the same inflater
//! tria uses) against tria's full reader (records parsed, documents built), on the same files.
//!
//! `read-bench FILE...` prints one JSON line per measurement: name, seconds, compressed and
//! uncompressed bytes, documents, and MB/s of uncompressed data. Each is the best of 3 runs,
//! taken in rounds (decompression, flate2, reader, then again), so that a change in the shared
//! machine's load falls on all of them alike.
//! Seconds are the thread's CPU time (`READ_BENCH_CLOCK=wall` for wall-clock time): on a shared
//! machine, wall time also measures whatever else runs.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use tria::read::{self, ReadOptions, gzip::GzMembers};

/// Runs each measurement `READ_BENCH_RUNS` times (3 unless set; 1 for instruction counting under
/// callgrind), in rounds (every measurement once per round, so a change of load on the shared
/// machine hits all of them alike), and keeps each one's best time and its output.
fn best_of_rounds(
    phases: &mut [&mut dyn FnMut() -> Result<(u64, u64)>],
) -> Result<Vec<(f64, u64, u64)>> {
    let runs: usize = std::env::var("READ_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let wall = std::env::var("READ_BENCH_CLOCK").is_ok_and(|v| v == "wall");
    let mut best = vec![(f64::MAX, 0, 0); phases.len()];
    for _ in 0..runs {
        for (phase, best) in phases.iter_mut().zip(&mut best) {
            let t = Instant::now();
            let cpu = cpu_time::ThreadTime::now();
            let out = phase()?;
            let secs = if wall {
                t.elapsed().as_secs_f64()
            } else {
                cpu.elapsed().as_secs_f64()
            };
            if secs < best.0 {
                *best = (secs, out.0, out.1);
            }
        }
    }
    Ok(best)
}

fn main() -> Result<()> {
    let files: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let compressed: u64 = files
        .iter()
        .map(|f| f.metadata().map(|m| m.len()).unwrap_or(0))
        .sum();

    // READ_BENCH_ONLY=gunzip|reader runs one phase (for instruction counts under callgrind).
    let only = std::env::var("READ_BENCH_ONLY").unwrap_or_default();
    if only == "reader" {
        let mut docs = 0u64;
        for f in &files {
            docs += read::open(f, None, &ReadOptions::default())?
                .flatten()
                .count() as u64;
        }
        println!("{{\"docs\": {docs}}}");
        return Ok(());
    }
    // 1. Decompression alone, with tria's member-aware inflater.
    let mut gunzip = || -> Result<(u64, u64)> {
        let mut total = 0u64;
        for f in &files {
            let mut d = GzMembers::new(File::open(f)?);
            loop {
                let n = d.fill_buf()?.len();
                if n == 0 {
                    break;
                }
                total += n as u64;
                d.consume(n);
            }
        }
        Ok((total, 0))
    };
    if only == "gunzip" {
        let best = best_of_rounds(&mut [&mut gunzip])?;
        report(
            "gunzip_only(tria inflater)",
            best[0].0,
            compressed,
            best[0].1,
            0,
        );
        return Ok(());
    }

    // 2. Decompression alone with flate2's MultiGzDecoder, as a second reference.
    let mut flate2 = || -> Result<(u64, u64)> {
        let mut total = 0u64;
        let mut buf = vec![0u8; 256 * 1024];
        for f in &files {
            let mut d = flate2::bufread::MultiGzDecoder::new(BufReader::new(File::open(f)?));
            loop {
                let n = d.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                total += n as u64;
            }
        }
        Ok((total, 0))
    };

    // 3. tria's WET reader: records parsed, UTF-8 checked, documents with metadata built.
    let mut reader = || -> Result<(u64, u64)> {
        let mut docs = 0u64;
        let mut text = 0u64;
        for f in &files {
            for d in read::open(f, None, &ReadOptions::default())?.flatten() {
                docs += 1;
                text += d.text.len() as u64;
            }
        }
        Ok((docs, text))
    };
    let best = best_of_rounds(&mut [&mut gunzip, &mut flate2, &mut reader])?;
    let [(secs, raw, _), (secs2, raw2, _), (secs3, docs, text)] = best[..] else {
        anyhow::bail!("three measurements expected");
    };
    report("gunzip_only(tria inflater)", secs, compressed, raw, 0);
    report(
        "gunzip_only(flate2 MultiGzDecoder)",
        secs2,
        compressed,
        raw2,
        0,
    );
    report("tria_wet_reader", secs3, compressed, raw, docs);
    eprintln!("text bytes in documents: {text}");
    println!(
        "{{\"parse_overhead_vs_gunzip\": {:.3}}}",
        secs3 / secs - 1.0
    );
    Ok(())
}

fn report(name: &str, secs: f64, compressed: u64, raw: u64, docs: u64) {
    println!(
        "{{\"name\": \"{name}\", \"seconds\": {secs:.4}, \"compressed_bytes\": {compressed}, \"bytes\": {raw}, \"docs\": {docs}, \"MB_per_s\": {:.1}}}",
        raw as f64 / secs / 1e6
    );
}
