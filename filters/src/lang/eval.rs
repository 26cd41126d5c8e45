//! The functions behind `tria lid predict` and `tria lid eval`.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::id::LangId;
use super::train::{Corpus, distinct_lines, is_validation_line, read_corpus, read_corpus_where};
use super::{Lang, LangError};

/// Read lines from `input` and write, for each, exactly one line of `k` tab-separated
/// `<label>\t<probability>` pairs (probability with 6 decimals). Empty lines and lines without
/// letters get `other` with a low probability; invalid UTF-8 is replaced, never skipped. Returns
/// the number of lines. `what` names the input in errors.
pub fn predict_lines<R: BufRead, W: Write>(
    id: &LangId,
    mut input: R,
    mut out: W,
    k: usize,
    what: &str,
) -> Result<u64, LangError> {
    let rerr = |e| LangError::Io {
        path: what.to_string(),
        source: e,
    };
    let werr = |e| LangError::Io {
        path: "<output>".to_string(),
        source: e,
    };
    let mut buf = Vec::new();
    let mut n = 0u64;
    let mut line_out = String::new();
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf).map_err(rerr)? == 0 {
            break;
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        let line = String::from_utf8_lossy(&buf);
        line_out.clear();
        for (i, (lang, p)) in id.predict(&line, k).into_iter().enumerate() {
            if i > 0 {
                line_out.push('\t');
            }
            line_out.push_str(lang.code());
            line_out.push('\t');
            line_out.push_str(&format!("{p:.6}"));
        }
        line_out.push('\n');
        out.write_all(line_out.as_bytes()).map_err(werr)?;
        n += 1;
    }
    out.flush().map_err(werr)?;
    Ok(n)
}

/// Accuracy of one gold label.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelEval {
    /// Lines evaluated.
    pub lines: usize,
    /// Lines whose top label is the gold label.
    pub correct: usize,
    /// `correct / lines`.
    pub accuracy: f64,
}

/// A frequent error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Confusion {
    /// Gold label.
    pub gold: Lang,
    /// Predicted label.
    pub predicted: Lang,
    /// Lines.
    pub count: usize,
}

/// What `tria lid eval` reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// The backend.
    pub model: String,
    /// Lines evaluated.
    pub lines: usize,
    /// Per gold label.
    pub per_label: BTreeMap<Lang, LabelEval>,
    /// The 20 most frequent (gold, predicted) errors.
    pub confusions: Vec<Confusion>,
    /// Gold hr or sh predicted as hr or sh (the two are close by nature).
    pub hr_sh_group: Option<LabelEval>,
    /// Mean of the per-label accuracies.
    pub macro_accuracy: f64,
    /// Lines per second (one thread, including normalisation).
    pub sentences_per_second: f64,
}

fn ratio(c: usize, n: usize) -> f64 {
    if n == 0 { 0.0 } else { c as f64 / n as f64 }
}

/// Evaluate `id` on a corpus whose labels are tria codes or model labels (`cat_Latn`).
pub fn eval_corpus(id: &LangId, corpus: &Corpus) -> EvalReport {
    let mut per: BTreeMap<Lang, (usize, usize)> = BTreeMap::new();
    let mut conf: BTreeMap<(Lang, Lang), usize> = BTreeMap::new();
    let (mut group_n, mut group_c) = (0, 0);
    let started = std::time::Instant::now();
    let mut lines = 0;
    for (label, texts) in corpus {
        let gold = Lang::from_code(label).unwrap_or_else(|| Lang::from_model_label(label));
        for t in texts {
            let pred = id.predict(t, 1)[0].0;
            lines += 1;
            let e = per.entry(gold).or_insert((0, 0));
            e.0 += 1;
            if pred == gold {
                e.1 += 1;
            } else {
                *conf.entry((gold, pred)).or_insert(0) += 1;
            }
            if matches!(gold, Lang::Hr | Lang::Sh) {
                group_n += 1;
                if matches!(pred, Lang::Hr | Lang::Sh) {
                    group_c += 1;
                }
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let mut confusions: Vec<Confusion> = conf
        .into_iter()
        .map(|((gold, predicted), count)| Confusion {
            gold,
            predicted,
            count,
        })
        .collect();
    confusions.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.gold.cmp(&b.gold))
            .then(a.predicted.cmp(&b.predicted))
    });
    confusions.truncate(20);
    let per_label: BTreeMap<Lang, LabelEval> = per
        .into_iter()
        .map(|(l, (n, c))| {
            (
                l,
                LabelEval {
                    lines: n,
                    correct: c,
                    accuracy: ratio(c, n),
                },
            )
        })
        .collect();
    let macro_accuracy = if per_label.is_empty() {
        0.0
    } else {
        per_label.values().map(|e| e.accuracy).sum::<f64>() / per_label.len() as f64
    };
    EvalReport {
        model: id.name().to_string(),
        lines,
        per_label,
        confusions,
        hr_sh_group: (group_n > 0).then(|| LabelEval {
            lines: group_n,
            correct: group_c,
            accuracy: ratio(group_c, group_n),
        }),
        macro_accuracy,
        sentences_per_second: if secs > 0.0 { lines as f64 / secs } else { 0.0 },
    }
}

/// Evaluate on a directory of `<label>.txt` files, each distinct line of a label once. With
/// `valid_permille`, only the lines of the trainer's held-out split are used (the split the
/// built-in model never saw).
pub fn eval_dir(
    id: &LangId,
    dir: &Path,
    valid_permille: Option<u32>,
) -> Result<EvalReport, LangError> {
    let mut corpus = match valid_permille {
        Some(p) => read_corpus_where(dir, |l| is_validation_line(l, p))?,
        None => read_corpus(dir)?,
    };
    distinct_lines(&mut corpus);
    Ok(eval_corpus(id, &corpus))
}

impl EvalReport {
    /// A human-readable table (what `tria lid eval` prints).
    pub fn to_text(&self) -> String {
        let mut s = format!("model {}: {} lines\n", self.model, self.lines);
        for (l, e) in &self.per_label {
            s += &format!(
                "{:<6} {:>7.2} %  ({}/{})\n",
                l.code(),
                100.0 * e.accuracy,
                e.correct,
                e.lines
            );
        }
        if let Some(g) = &self.hr_sh_group {
            s += &format!(
                "{{hr,sh}} {:>6.2} %  ({}/{})\n",
                100.0 * g.accuracy,
                g.correct,
                g.lines
            );
        }
        s += &format!("macro  {:>7.2} %\n", 100.0 * self.macro_accuracy);
        s += &format!("speed  {:.0} sentences/s\n", self.sentences_per_second);
        s += "top confusions (gold -> predicted):\n";
        for c in &self.confusions {
            s += &format!("  {} -> {}: {}\n", c.gold, c.predicted, c.count);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predict_writes_one_line_per_input_line() {
        let id = LangId::builtin().unwrap();
        let input = b"Bon dia a tothom, com esteu avui?\n\n12345\r\nEgun on guztioi, zer moduz?\n\xff\xfe broken\nno newline at end";
        let mut out = Vec::new();
        let n = predict_lines(&id, &input[..], &mut out, 2, "mem").unwrap();
        assert_eq!(n, 6);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6);
        for l in &lines {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 4, "{l}");
            assert!(Lang::from_code(f[0]).is_some() && Lang::from_code(f[2]).is_some());
            let p: f32 = f[1].parse().unwrap();
            assert!((0.0..=1.0).contains(&p));
        }
        assert!(lines[0].starts_with("ca\t"));
        assert!(lines[1].starts_with("other\t0.050000"));
        assert!(lines[2].starts_with("other\t"));
        assert!(lines[3].starts_with("eu\t"));
    }

    #[test]
    fn eval_counts_accuracy_confusions_and_group() {
        let id = LangId::builtin().unwrap();
        let corpus: Corpus = vec![
            (
                "ca".into(),
                vec!["Avui fa un dia molt bonic i anirem a la platja.".into()],
            ),
            // A Catalan line filed as Spanish: must show up as an es -> ca confusion.
            (
                "es".into(),
                vec![
                    "Demà anirem tots junts al mercat del poble.".into(),
                    "Mañana iremos todos juntos al mercado del pueblo.".into(),
                ],
            ),
            (
                "hr".into(),
                vec!["Sutra ćemo svi zajedno ići na tržnicu u našem gradu.".into()],
            ),
        ];
        let r = eval_corpus(&id, &corpus);
        assert_eq!(r.lines, 4);
        assert_eq!(r.per_label[&Lang::Ca].correct, 1);
        assert_eq!(r.per_label[&Lang::Es].lines, 2);
        assert_eq!(r.per_label[&Lang::Es].correct, 1);
        assert!(
            r.confusions
                .iter()
                .any(|c| c.gold == Lang::Es && c.predicted == Lang::Ca && c.count == 1)
        );
        assert_eq!(r.hr_sh_group.as_ref().unwrap().lines, 1);
        let json = serde_json::to_string(&r).unwrap();
        let back: EvalReport = serde_json::from_str(&json).unwrap();
        // (serde_json's default float parsing is not bit-exact, so compare the counts.)
        assert_eq!((back.lines, &back.confusions), (r.lines, &r.confusions));
        assert_eq!(
            back.per_label.keys().collect::<Vec<_>>(),
            r.per_label.keys().collect::<Vec<_>>()
        );
        assert!(r.to_text().contains("{hr,sh}"));
    }
}
