//! Counts and timings: per input file ([`FileStats`], kept in its completion marker so a resumed run
//! still reports the whole output) and per run ([`RunReport`], written as `report.json`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::read::Counters;

pub mod html;

/// Documents and bytes (UTF-8 text) through one stage.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct StageStats {
    pub name: String,
    pub docs_in: u64,
    pub bytes_in: u64,
    pub docs_out: u64,
    pub bytes_out: u64,
    /// Dropped documents by reason.
    pub drops: Counters,
    /// CPU seconds spent in the stage (summed over threads).
    pub seconds: f64,
    /// Documents and bytes the stage kept, by language (once a stage has set `meta.lang`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub languages: BTreeMap<String, LangStats>,
}

/// A histogram with fixed bins, the same for every value so that files merge bin by bin: 20
/// linear bins over [0, 1) (scores, ratios, fractions), then 4 bins per octave from 1 up (counts,
/// lengths). Negative values share bin -1.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Histogram {
    pub count: u64,
    pub min: f64,
    pub max: f64,
    /// Bin index -> values in it.
    pub bins: BTreeMap<i32, u64>,
}

impl Histogram {
    /// The bin of a value.
    pub fn bin(v: f64) -> i32 {
        if v < 0.0 {
            -1
        } else if v < 1.0 {
            (v * 20.0) as i32
        } else {
            // 1 <= v: 4 bins per octave; capped far beyond any real statistic.
            20 + ((v.log2() * 4.0).floor() as i32).min(400)
        }
    }

    /// The half-open range `[lo, hi)` of a bin.
    pub fn bounds(b: i32) -> (f64, f64) {
        match b {
            i32::MIN..=-1 => (f64::NEG_INFINITY, 0.0),
            0..=19 => (f64::from(b) / 20.0, f64::from(b + 1) / 20.0),
            _ => {
                let k = f64::from(b - 20);
                ((k / 4.0).exp2(), ((k + 1.0) / 4.0).exp2())
            }
        }
    }

    pub fn add(&mut self, v: f64) {
        if !v.is_finite() {
            return;
        }
        if self.count == 0 {
            self.min = v;
            self.max = v;
        } else {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        self.count += 1;
        *self.bins.entry(Self::bin(v)).or_insert(0) += 1;
    }

    pub fn merge(&mut self, o: &Histogram) {
        if o.count == 0 {
            return;
        }
        if self.count == 0 {
            self.min = o.min;
            self.max = o.max;
        } else {
            self.min = self.min.min(o.min);
            self.max = self.max.max(o.max);
        }
        self.count += o.count;
        for (b, n) in &o.bins {
            *self.bins.entry(*b).or_insert(0) += n;
        }
    }
}

/// Records a processed document's measurements (`attrs`) in `hists`: every statistic the stages
/// computed (per-language shares aside), and the language score per language as `lang_score@xx`.
pub fn record_attrs(
    hists: &mut BTreeMap<String, Histogram>,
    attrs: &BTreeMap<String, f64>,
    lang: Option<&str>,
) {
    for (k, v) in attrs {
        if k.starts_with("lang_share.") {
            continue;
        }
        if let Some(h) = hists.get_mut(k.as_str()) {
            h.add(*v);
        } else {
            let mut h = Histogram::default();
            h.add(*v);
            hists.insert(k.clone(), h);
        }
        if k == "lang_score" {
            if let Some(l) = lang {
                hists.entry(format!("lang_score@{l}")).or_default().add(*v);
            }
        }
    }
}

/// Documents and bytes per language, when a stage or the input says the language.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct LangStats {
    pub docs: u64,
    pub bytes: u64,
}

/// What happened to one input file.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct FileStats {
    pub file: String,
    /// Bytes of the input file on disk.
    pub file_bytes: u64,
    /// Records (WARC records, lines, rows) seen, documents or not.
    pub records: u64,
    pub docs_in: u64,
    pub bytes_in: u64,
    pub docs_out: u64,
    pub bytes_out: u64,
    /// Records skipped or repaired by the reader, by reason.
    pub read: Counters,
    pub stages: Vec<StageStats>,
    /// Kept documents by language (the `lang` meta field), when known.
    pub languages: BTreeMap<String, LangStats>,
    /// Output files written, relative to the output directory.
    pub outputs: Vec<String>,
    pub read_seconds: f64,
    pub write_seconds: f64,
    /// Histograms of the stages' statistics over every document read (kept or dropped).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub histograms: BTreeMap<String, Histogram>,
}

impl FileStats {
    fn merge(&mut self, o: &FileStats) {
        self.file_bytes += o.file_bytes;
        self.records += o.records;
        self.docs_in += o.docs_in;
        self.bytes_in += o.bytes_in;
        self.docs_out += o.docs_out;
        self.bytes_out += o.bytes_out;
        self.read.merge(&o.read);
        if self.stages.is_empty() {
            self.stages = o
                .stages
                .iter()
                .map(|s| StageStats {
                    name: s.name.clone(),
                    ..Default::default()
                })
                .collect();
        }
        for (a, b) in self.stages.iter_mut().zip(&o.stages) {
            a.docs_in += b.docs_in;
            a.bytes_in += b.bytes_in;
            a.docs_out += b.docs_out;
            a.bytes_out += b.bytes_out;
            a.drops.merge(&b.drops);
            a.seconds += b.seconds;
            for (lang, l) in &b.languages {
                let e = a.languages.entry(lang.clone()).or_default();
                e.docs += l.docs;
                e.bytes += l.bytes;
            }
        }
        for (k, h) in &o.histograms {
            self.histograms.entry(k.clone()).or_default().merge(h);
        }
        for (lang, l) in &o.languages {
            let e = self.languages.entry(lang.clone()).or_default();
            e.docs += l.docs;
            e.bytes += l.bytes;
        }
        self.read_seconds += o.read_seconds;
        self.write_seconds += o.write_seconds;
    }
}

/// An input file that could not be processed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Failure {
    pub file: String,
    pub error: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct FileCounts {
    pub total: usize,
    /// Processed by this run.
    pub processed: usize,
    /// Already complete from an earlier run (resumed).
    pub resumed: usize,
    pub failed: usize,
}

/// `report.json`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct RunReport {
    pub tria_version: String,
    pub pipeline: String,
    pub files: FileCounts,
    pub records: u64,
    pub docs_in: u64,
    pub bytes_in: u64,
    pub docs_out: u64,
    pub bytes_out: u64,
    pub input_file_bytes: u64,
    pub read: Counters,
    pub stages: Vec<StageStats>,
    pub languages: BTreeMap<String, LangStats>,
    pub failures: Vec<Failure>,
    pub timings: Timings,
    /// Histograms of the stages' statistics (see [`FileStats::histograms`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub histograms: BTreeMap<String, Histogram>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Timings {
    pub wall_seconds: f64,
    /// CPU seconds summed over threads, for the files this run processed.
    pub read_seconds: f64,
    pub stages_seconds: f64,
    pub write_seconds: f64,
    pub threads: usize,
}

impl RunReport {
    /// Sums per-file statistics, in input order.
    pub fn add_file(&mut self, f: &FileStats) {
        let mut total = FileStats {
            stages: std::mem::take(&mut self.stages),
            languages: std::mem::take(&mut self.languages),
            read: std::mem::take(&mut self.read),
            histograms: std::mem::take(&mut self.histograms),
            ..Default::default()
        };
        total.merge(f);
        self.stages = total.stages;
        self.languages = total.languages;
        self.read = total.read;
        self.histograms = total.histograms;
        self.records += f.records;
        self.docs_in += f.docs_in;
        self.bytes_in += f.bytes_in;
        self.docs_out += f.docs_out;
        self.bytes_out += f.bytes_out;
        self.input_file_bytes += f.file_bytes;
    }

    /// A short human summary for the end of a run.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let pct = |a: u64, b: u64| {
            if b == 0 {
                0.0
            } else {
                100.0 * a as f64 / b as f64
            }
        };
        let _ = writeln!(
            s,
            "tria: {} files ({} processed, {} resumed, {} failed) in {:.1}s",
            self.files.total,
            self.files.processed,
            self.files.resumed,
            self.files.failed,
            self.timings.wall_seconds
        );
        let _ = writeln!(
            s,
            "  documents: {} in, {} out ({:.1}% kept); text: {} in, {} out",
            self.docs_in,
            self.docs_out,
            pct(self.docs_out, self.docs_in),
            human_bytes(self.bytes_in),
            human_bytes(self.bytes_out)
        );
        let skipped: u64 = self
            .read
            .0
            .iter()
            .filter(|(k, _)| {
                !k.starts_with("repaired:")
                    && !k.starts_with("skipped_type:")
                    && *k != "charset_guessed"
                    && *k != "empty_line"
            })
            .map(|(_, v)| v)
            .sum();
        if !self.read.is_empty() {
            let _ = writeln!(
                s,
                "  read: {} documents, {} bad records skipped",
                self.docs_in, skipped
            );
            for (k, v) in &self.read.0 {
                let _ = writeln!(s, "    {k}: {v}");
            }
        }
        for st in &self.stages {
            let _ = writeln!(
                s,
                "  stage {}: {} -> {} docs ({:.1}% dropped)",
                st.name,
                st.docs_in,
                st.docs_out,
                pct(st.docs_in - st.docs_out, st.docs_in)
            );
            for (k, v) in &st.drops.0 {
                let _ = writeln!(s, "    {k}: {v}");
            }
        }
        if !self.languages.is_empty() {
            let langs: Vec<String> = self
                .languages
                .iter()
                .map(|(k, v)| format!("{k} {}", v.docs))
                .collect();
            let _ = writeln!(s, "  languages: {}", langs.join(", "));
        }
        for f in &self.failures {
            let _ = writeln!(s, "  FAILED {}: {}", f.file, f.error);
        }
        s
    }
}

pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut x = b as f64;
    let mut u = 0;
    while x >= 1000.0 && u < UNITS.len() - 1 {
        x /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{x:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_add_up() {
        let mut a = FileStats {
            docs_in: 3,
            docs_out: 2,
            ..Default::default()
        };
        a.read.add("bad_json", 1);
        a.stages.push(StageStats {
            name: "length".into(),
            docs_in: 3,
            docs_out: 2,
            ..Default::default()
        });
        a.stages[0].drops.add("too_short", 1);
        a.languages
            .insert("ca".into(), LangStats { docs: 2, bytes: 10 });
        let mut r = RunReport::default();
        r.add_file(&a);
        r.add_file(&a);
        assert_eq!(r.docs_in, 6);
        assert_eq!(r.read.get("bad_json"), 2);
        assert_eq!(r.stages[0].drops.get("too_short"), 2);
        assert_eq!(r.languages["ca"].bytes, 20);
        assert!(r.summary().contains("too_short: 2"));
        assert_eq!(human_bytes(1_500_000), "1.5 MB");
    }
}
