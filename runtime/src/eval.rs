//! Evaluation: per-token negative log-likelihood over documents, aggregated per shard and language.

use std::collections::{BTreeMap, HashMap};

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::{Result, RuntimeError};
use crate::model::{ForwardMode, Llama};

/// One document to score: its token ids, the UTF-8 byte count of its text (for bits per byte), its
/// language if known, and the shard it comes from (any label; reports group by it).
#[derive(Debug, Clone, PartialEq)]
pub struct EvalDoc {
    pub tokens: Vec<u32>,
    pub bytes: u64,
    pub lang: Option<String>,
    pub shard: String,
}

/// How documents are cut into model inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WindowMode {
    /// lm-evaluation-harness `loglikelihood_rolling`: each document on its own, disjoint windows of
    /// `context` predictions, the first window prefixed with BOS, later windows given the full
    /// preceding context; every token is scored exactly once.
    Rolling,
    /// llama.cpp `perplexity`: the documents of a shard are concatenated, cut into chunks of
    /// `context` tokens whose first token is replaced by BOS, and only the predictions in the second
    /// half of each chunk are scored; the trailing partial chunk is not scored. Not every token is
    /// scored, so no bits per byte is reported.
    SecondHalf,
}

/// Evaluation settings. [`EvalOptions::for_model`] gives the defaults for a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalOptions {
    /// Window length in tokens (BOS included); at most the model's `max_position_embeddings`.
    pub context: usize,
    /// Windows per forward pass.
    pub batch: usize,
    pub mode: WindowMode,
    /// Token prefixed to each document (rolling) or put first in each chunk (second half). `None`:
    /// no prefix, and the first token of each document is context only, not scored.
    pub bos: Option<u32>,
    /// Positions whose logits are computed together in the blocked log-softmax.
    pub pos_block: usize,
    /// Vocabulary entries per block of the log-softmax: at most `pos_block * vocab_block` logits
    /// exist at once (the default 512 x 16384 is 32 MiB of f32).
    pub vocab_block: usize,
}

impl EvalOptions {
    /// Rolling windows over the model's full context, BOS from its config, batch 1.
    pub fn for_model(model: &Llama) -> Self {
        let cfg = model.config();
        Self {
            context: cfg.max_position_embeddings,
            batch: 1,
            mode: WindowMode::Rolling,
            bos: cfg.bos_token_id,
            pos_block: 512,
            vocab_block: 16_384,
        }
    }
}

/// Figures for one group of documents (everything, one shard or one language).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub documents: u64,
    /// UTF-8 bytes of the documents' text.
    pub bytes: u64,
    /// Tokens scored.
    pub tokens: u64,
    /// Sum of the scored tokens' negative log-likelihoods, in nats.
    pub nll_sum: f64,
    /// Mean NLL per scored token (nats); 0 when nothing was scored.
    pub loss: f64,
    /// `exp(loss)`.
    pub perplexity: f64,
    /// `nll_sum / bytes / ln 2`; `None` in second-half mode or when there are no bytes.
    pub bits_per_byte: Option<f64>,
}

impl Metrics {
    fn add(&mut self, other: &Metrics) {
        self.documents += other.documents;
        self.bytes += other.bytes;
        self.tokens += other.tokens;
        self.nll_sum += other.nll_sum;
    }

    fn finish(&mut self, mode: WindowMode) {
        self.loss = if self.tokens > 0 {
            self.nll_sum / self.tokens as f64
        } else {
            0.0
        };
        self.perplexity = self.loss.exp();
        self.bits_per_byte = match mode {
            WindowMode::Rolling if self.bytes > 0 => {
                Some(self.nll_sum / self.bytes as f64 / std::f64::consts::LN_2)
            }
            _ => None,
        };
    }
}

/// Result of [`evaluate`]; serializes to the JSON `tria eval` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    pub mode: WindowMode,
    pub context: usize,
    pub bos: Option<u32>,
    pub total: Metrics,
    pub shards: BTreeMap<String, Metrics>,
    /// Keyed by language; documents without one are under `"unknown"`.
    pub languages: BTreeMap<String, Metrics>,
}

/// Language key for documents whose language is not known.
pub const UNKNOWN_LANG: &str = "unknown";

impl EvalReport {
    /// Adds another report's counts (e.g. of shards evaluated in an earlier run) and recomputes the
    /// derived figures. Both must use the same mode and context.
    pub fn merge(&mut self, other: &EvalReport) -> Result<()> {
        if self.mode != other.mode || self.context != other.context || self.bos != other.bos {
            return Err(RuntimeError::Options(format!(
                "cannot merge a {:?}/context {}/bos {:?} report into a {:?}/context {}/bos {:?} one",
                other.mode, other.context, other.bos, self.mode, self.context, self.bos
            )));
        }
        self.total.add(&other.total);
        for (k, m) in &other.shards {
            self.shards.entry(k.clone()).or_default().add(m);
        }
        for (k, m) in &other.languages {
            self.languages.entry(k.clone()).or_default().add(m);
        }
        self.finish();
        Ok(())
    }

    fn finish(&mut self) {
        let mode = self.mode;
        self.total.finish(mode);
        self.shards.values_mut().for_each(|m| m.finish(mode));
        self.languages.values_mut().for_each(|m| m.finish(mode));
    }

    /// A plain-text table: one row per shard, per language, and the total.
    pub fn to_table(&self) -> String {
        let mut out = format!(
            "{:<10} {:<40} {:>8} {:>12} {:>12} {:>9} {:>11} {:>8}\n",
            "group", "name", "docs", "bytes", "tokens", "loss", "perplexity", "bpb"
        );
        let mut row = |group: &str, name: &str, m: &Metrics| {
            let bpb = m
                .bits_per_byte
                .map_or_else(|| "-".to_string(), |b| format!("{b:.4}"));
            out.push_str(&format!(
                "{:<10} {:<40} {:>8} {:>12} {:>12} {:>9.4} {:>11.3} {:>8}\n",
                group, name, m.documents, m.bytes, m.tokens, m.loss, m.perplexity, bpb
            ));
        };
        for (k, m) in &self.shards {
            row("shard", k, m);
        }
        for (k, m) in &self.languages {
            row("language", k, m);
        }
        row("total", "", &self.total);
        out
    }
}

/// Progress passed to the callback after each batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvalProgress {
    /// Documents read so far (some of their windows may still be pending).
    pub documents: u64,
    /// Tokens scored so far.
    pub tokens: u64,
}

/// One model input: `input` tokens, of which outputs `first..first + targets.len()` are scored,
/// output `first + i` predicting `targets[i]`, owned by `groups[i]`.
struct Window {
    input: Vec<u32>,
    first: usize,
    targets: Vec<u32>,
    groups: Vec<usize>,
}

/// Cuts one (BOS-prefixed) sequence into lm-eval rolling windows. `seq[0]` is never a target.
/// Window predicting `seq[p..e]` (at most `context` targets) reads `seq[start..e - 1]`, where
/// `start = max(0, e - 1 - context)`: the first window starts at 0, later ones see a full context.
fn rolling_windows(seq: &[u32], context: usize, group: usize, out: &mut Vec<Window>) {
    let m = seq.len();
    let mut p = 1;
    while p < m {
        let e = (p + context).min(m);
        let start = (e - 1).saturating_sub(context);
        out.push(Window {
            input: seq[start..e - 1].to_vec(),
            first: p - 1 - start,
            targets: seq[p..e].to_vec(),
            groups: vec![group; e - p],
        });
        p = e;
    }
}

/// Accumulates documents into windows and scores them a batch at a time.
struct Scorer<'a> {
    model: &'a Llama,
    opts: &'a EvalOptions,
    pending: Vec<Window>,
    /// Per (shard, language) group: documents, bytes, tokens, nll.
    groups: Vec<Metrics>,
    group_keys: Vec<(usize, usize)>,
    group_index: HashMap<(usize, usize), usize>,
    shards: Vec<String>,
    shard_index: HashMap<String, usize>,
    langs: Vec<String>,
    lang_index: HashMap<String, usize>,
    progress: EvalProgress,
}

fn intern(names: &mut Vec<String>, index: &mut HashMap<String, usize>, name: &str) -> usize {
    if let Some(&i) = index.get(name) {
        return i;
    }
    names.push(name.to_string());
    index.insert(name.to_string(), names.len() - 1);
    names.len() - 1
}

impl Scorer<'_> {
    fn group(&mut self, shard: usize, lang: usize) -> usize {
        *self.group_index.entry((shard, lang)).or_insert_with(|| {
            self.groups.push(Metrics::default());
            self.group_keys.push((shard, lang));
            self.groups.len() - 1
        })
    }

    /// Runs the model over the first `n` pending windows and books their NLLs.
    fn run(&mut self, n: usize) -> Result<()> {
        let batch: Vec<Window> = self.pending.drain(..n).collect();
        if batch.is_empty() {
            return Ok(());
        }
        let t = batch
            .iter()
            .map(|w| w.input.len())
            .max()
            .expect("batch is not empty");
        let b = batch.len();
        let mut ids = vec![0u32; b * t];
        let mut rows = Vec::new();
        let mut targets = Vec::new();
        for (i, w) in batch.iter().enumerate() {
            ids[i * t..i * t + w.input.len()].copy_from_slice(&w.input);
            rows.extend((0..w.targets.len()).map(|k| (i * t + w.first + k) as u32));
            targets.extend_from_slice(&w.targets);
        }
        let device = self.model.device();
        let ids = Tensor::from_vec(ids, (b, t), device)?;
        let hidden = self.model.hidden_states(&ids, ForwardMode::Inference)?;
        let hsz = self.model.config().hidden_size;
        let rows = Tensor::from_vec(rows, targets.len(), device)?;
        let scored = hidden.reshape((b * t, hsz))?.index_select(&rows, 0)?;
        let nll = self.model.token_nll(
            &scored,
            &targets,
            self.opts.pos_block,
            self.opts.vocab_block,
        )?;
        let mut k = 0;
        for w in &batch {
            for &g in &w.groups {
                self.groups[g].tokens += 1;
                self.groups[g].nll_sum += nll[k];
                k += 1;
            }
        }
        self.progress.tokens += targets.len() as u64;
        Ok(())
    }

    fn flush_full_batches(&mut self, progress: &mut impl FnMut(&EvalProgress)) -> Result<()> {
        while self.pending.len() >= self.opts.batch {
            self.run(self.opts.batch)?;
            progress(&self.progress);
        }
        Ok(())
    }
}

/// Scores `docs` with `model` and aggregates the negative log-likelihood per shard and language.
///
/// Documents are consumed lazily: at most `opts.batch` windows (plus one document's, or in
/// second-half mode one chunk's, tokens) are held at a time, so memory is the model plus one batch of
/// activations (`batch * context * (hidden * ~6 + heads * context)` floats) plus the blocked logits.
/// Results do not depend on `opts.batch`, `pos_block` or `vocab_block` beyond float rounding; the
/// sums are taken in document order, so a run is reproducible.
pub fn evaluate<I>(
    model: &Llama,
    docs: I,
    opts: &EvalOptions,
    mut progress: impl FnMut(&EvalProgress),
) -> Result<EvalReport>
where
    I: IntoIterator<Item = EvalDoc>,
{
    let cfg = model.config();
    if opts.batch == 0 || opts.pos_block == 0 || opts.vocab_block == 0 {
        return Err(RuntimeError::Options(
            "batch, pos_block and vocab_block must be positive".into(),
        ));
    }
    let min_context = match opts.mode {
        WindowMode::Rolling => 1,
        WindowMode::SecondHalf => 4,
    };
    if opts.context < min_context || opts.context > cfg.max_position_embeddings {
        return Err(RuntimeError::Options(format!(
            "context {} must lie in {min_context}..={} (the model's max_position_embeddings)",
            opts.context, cfg.max_position_embeddings
        )));
    }
    let vocab = cfg.vocab_size;
    if let Some(bos) = opts.bos
        && bos as usize >= vocab
    {
        return Err(RuntimeError::Options(format!(
            "BOS id {bos} is outside the vocabulary ({vocab})"
        )));
    }

    let mut s = Scorer {
        model,
        opts,
        pending: Vec::new(),
        groups: Vec::new(),
        group_keys: Vec::new(),
        group_index: HashMap::new(),
        shards: Vec::new(),
        shard_index: HashMap::new(),
        langs: Vec::new(),
        lang_index: HashMap::new(),
        progress: EvalProgress {
            documents: 0,
            tokens: 0,
        },
    };
    // Second-half mode: the current shard's concatenated token stream, with each token's group.
    let mut stream: Vec<(u32, usize)> = Vec::new();
    let mut stream_shard: Option<usize> = None;
    let l = opts.context;

    for (doc_no, doc) in docs.into_iter().enumerate() {
        if let Some(&bad) = doc.tokens.iter().find(|&&t| t as usize >= vocab) {
            return Err(RuntimeError::TokenOutOfRange {
                shard: doc.shard,
                doc: doc_no as u64,
                token: bad,
                vocab,
            });
        }
        let shard = intern(&mut s.shards, &mut s.shard_index, &doc.shard);
        let lang_name = doc.lang.as_deref().unwrap_or(UNKNOWN_LANG);
        let lang = intern(&mut s.langs, &mut s.lang_index, lang_name);
        let g = s.group(shard, lang);
        s.groups[g].documents += 1;
        s.groups[g].bytes += doc.bytes;
        s.progress.documents += 1;
        match opts.mode {
            WindowMode::Rolling => {
                let mut seq = Vec::with_capacity(doc.tokens.len() + 1);
                seq.extend(opts.bos);
                seq.extend_from_slice(&doc.tokens);
                rolling_windows(&seq, l, g, &mut s.pending);
            }
            WindowMode::SecondHalf => {
                if stream_shard != Some(shard) {
                    // A new shard starts a new stream; the old one's partial chunk is dropped.
                    stream.clear();
                    stream_shard = Some(shard);
                }
                stream.extend(doc.tokens.iter().map(|&t| (t, g)));
                let mut start = 0;
                while stream.len() - start >= l {
                    let chunk = &stream[start..start + l];
                    let mut input: Vec<u32> = chunk.iter().map(|&(t, _)| t).collect();
                    if let Some(bos) = opts.bos {
                        input[0] = bos;
                    }
                    let first = l / 2;
                    s.pending.push(Window {
                        targets: chunk[first + 1..].iter().map(|&(t, _)| t).collect(),
                        groups: chunk[first + 1..].iter().map(|&(_, g)| g).collect(),
                        input,
                        first,
                    });
                    start += l;
                }
                stream.drain(..start);
            }
        }
        s.flush_full_batches(&mut progress)?;
    }
    let rest = s.pending.len();
    if rest > 0 {
        s.run(rest)?;
        progress(&s.progress);
    }

    let mut report = EvalReport {
        mode: opts.mode,
        context: l,
        bos: opts.bos,
        total: Metrics::default(),
        shards: BTreeMap::new(),
        languages: BTreeMap::new(),
    };
    for (m, &(shard, lang)) in s.groups.iter().zip(&s.group_keys) {
        report.total.add(m);
        report
            .shards
            .entry(s.shards[shard].clone())
            .or_default()
            .add(m);
        report
            .languages
            .entry(s.langs[lang].clone())
            .or_default()
            .add(m);
    }
    report.finish();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows(seq: &[u32], context: usize) -> Vec<Window> {
        let mut out = Vec::new();
        rolling_windows(seq, context, 0, &mut out);
        out
    }

    #[test]
    fn rolling_windows_score_every_token_once_with_full_context() {
        let seq: Vec<u32> = (100..111).collect(); // BOS=100 then 10 tokens
        for context in 1..14 {
            let ws = windows(&seq, context);
            let scored: Vec<u32> = ws.iter().flat_map(|w| w.targets.clone()).collect();
            assert_eq!(scored, seq[1..].to_vec(), "context {context}");
            for w in &ws {
                assert!(w.input.len() <= context);
                // Output j predicts the token after input[j] in the original sequence.
                for (i, &t) in w.targets.iter().enumerate() {
                    let j = w.first + i;
                    let pos = seq.iter().position(|&x| x == w.input[j]).expect("from seq");
                    assert_eq!(seq[pos + 1], t);
                }
            }
            // Every window after the first sees a full context.
            for w in ws.iter().skip(1) {
                assert_eq!(w.input.len(), context);
            }
        }
    }

    #[test]
    fn rolling_windows_match_lm_eval_example() {
        // lm-eval's docstring example: tokens 0..10 with prefix -1 (here 99), max_seq_len 4.
        let mut seq = vec![99];
        seq.extend(0..10u32);
        let ws = windows(&seq, 4);
        let got: Vec<(Vec<u32>, Vec<u32>)> = ws
            .iter()
            .map(|w| (w.input.clone(), w.targets.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (vec![99, 0, 1, 2], vec![0, 1, 2, 3]),
                (vec![3, 4, 5, 6], vec![4, 5, 6, 7]),
                (vec![5, 6, 7, 8], vec![8, 9]),
            ]
        );
        assert_eq!(ws[2].first, 2);
    }

    #[test]
    fn short_sequences_make_no_window() {
        assert!(windows(&[7], 8).is_empty());
        assert!(windows(&[], 8).is_empty());
        assert_eq!(windows(&[7, 8], 8).len(), 1);
    }
}
