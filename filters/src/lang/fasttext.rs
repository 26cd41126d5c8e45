//! The fastText model format (supervised `.bin` and quantized `.ftz`), read and written in pure Rust.
//!
//! Prediction reproduces the reference `fasttext predict` exactly: the same tokenisation (split on
//! ASCII whitespace and NUL, a newline is the end-of-sentence token `</s>`), the same hashing (32-bit
//! FNV-1a where every byte is first sign-extended, as the C++ code does through `int8_t`), the same
//! character n-grams (`<` and `>` boundaries, whole UTF-8 characters, no single-character n-gram at a
//! boundary), the same word n-grams (64-bit rolling hash seeded from sign-extended 32-bit hashes), the
//! same pruning index, the same product-quantised rows, and the same `f32` arithmetic order for the
//! hidden vector, softmax, one-vs-all and hierarchical softmax. Reported probabilities are
//! `exp(ln(p + 1e-5))` just like the reference's.

use std::collections::HashMap;
use std::path::Path;

use super::LangError;

/// `FASTTEXT_FILEFORMAT_MAGIC_INT32` of the reference implementation.
pub const MAGIC: i32 = 793_712_314;
/// File-format version written by (and the newest read by) fastText 0.9.
pub const VERSION: i32 = 12;
/// End-of-sentence token produced by a newline.
pub const EOS: &str = "</s>";
/// Prefix the reference uses for labels.
pub const LABEL_PREFIX: &str = "__label__";

/// Loss function stored in the model header (numbering from the reference `args.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// Hierarchical softmax over a Huffman tree of label counts.
    HierarchicalSoftmax = 1,
    /// Negative sampling (predicts with independent sigmoids, like `OneVsAll`).
    NegativeSampling = 2,
    /// Plain softmax.
    Softmax = 3,
    /// Independent sigmoids (multi-label).
    OneVsAll = 4,
}

/// Training and model hyper-parameters as stored in the file header.
#[derive(Clone, Debug, PartialEq)]
pub struct Args {
    /// Embedding dimension.
    pub dim: i32,
    /// Context window (unused for supervised models).
    pub ws: i32,
    /// Epochs the model was trained for.
    pub epoch: i32,
    /// Minimum word count for the vocabulary.
    pub min_count: i32,
    /// Negatives sampled (negative-sampling loss only).
    pub neg: i32,
    /// Length of word n-grams (1 = words only).
    pub word_ngrams: i32,
    /// Loss function.
    pub loss: Loss,
    /// Model kind: 1 cbow, 2 skipgram, 3 supervised.
    pub model: i32,
    /// Number of hash buckets for n-grams.
    pub bucket: i32,
    /// Minimum character n-gram length.
    pub minn: i32,
    /// Maximum character n-gram length.
    pub maxn: i32,
    /// Learning-rate update rate.
    pub lr_update_rate: i32,
    /// Sampling threshold.
    pub t: f64,
}

/// Where an entry of the dictionary belongs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// An input word.
    Word = 0,
    /// An output label.
    Label = 1,
}

/// One dictionary entry.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The token bytes (labels keep their `__label__` prefix).
    pub word: Vec<u8>,
    /// Occurrences in the training data.
    pub count: i64,
    /// Word or label.
    pub kind: EntryKind,
}

/// A product quantizer with 256 centroids per sub-quantizer (`nbits = 8`).
#[derive(Clone, Debug)]
pub struct ProductQuantizer {
    pub(crate) dim: i32,
    pub(crate) nsubq: i32,
    pub(crate) dsub: i32,
    pub(crate) lastdsub: i32,
    pub(crate) centroids: Vec<f32>,
}

/// Centroids per sub-quantizer.
pub(crate) const KSUB: usize = 256;

impl ProductQuantizer {
    #[inline]
    fn centroid(&self, m: usize, code: u8) -> &[f32] {
        let (dsub, last) = (self.dsub as usize, self.lastdsub as usize);
        if m + 1 == self.nsubq as usize {
            let start = m * KSUB * dsub + code as usize * last;
            &self.centroids[start..start + last]
        } else {
            let start = (m * KSUB + code as usize) * dsub;
            &self.centroids[start..start + dsub]
        }
    }
}

/// An input or output matrix.
#[derive(Clone, Debug)]
pub enum Matrix {
    /// Rows of `f32`, row-major.
    Dense {
        /// Rows.
        m: usize,
        /// Columns.
        n: usize,
        /// `m * n` values.
        data: Vec<f32>,
    },
    /// Product-quantised rows, optionally with quantised norms.
    Quant {
        /// Rows.
        m: usize,
        /// Columns.
        n: usize,
        /// `m * nsubq` codes.
        codes: Vec<u8>,
        /// The quantizer of the row directions.
        pq: ProductQuantizer,
        /// Quantised norms (`qnorm`): one code per row and a 1-d quantizer.
        norms: Option<(Vec<u8>, ProductQuantizer)>,
    },
}

impl Matrix {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        match self {
            Matrix::Dense { m, .. } | Matrix::Quant { m, .. } => *m,
        }
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        match self {
            Matrix::Dense { n, .. } | Matrix::Quant { n, .. } => *n,
        }
    }

    /// `x += row(i)`, as the reference `addRowToVector` does.
    #[inline]
    pub(crate) fn add_row(&self, x: &mut [f32], i: usize) {
        match self {
            Matrix::Dense { n, data, .. } => {
                let row = &data[i * n..(i + 1) * n];
                for (a, b) in x.iter_mut().zip(row) {
                    *a += *b;
                }
            }
            Matrix::Quant {
                codes, pq, norms, ..
            } => {
                let alpha = match norms {
                    Some((nc, npq)) => npq.centroid(0, nc[i])[0],
                    None => 1.0,
                };
                let nsubq = pq.nsubq as usize;
                let dsub = pq.dsub as usize;
                let rowcodes = &codes[nsubq * i..nsubq * (i + 1)];
                for (m, &code) in rowcodes.iter().enumerate() {
                    let c = pq.centroid(m, code);
                    let xs = &mut x[m * dsub..m * dsub + c.len()];
                    for (a, b) in xs.iter_mut().zip(c) {
                        *a += alpha * *b;
                    }
                }
            }
        }
    }

    /// `row(i) · x`, as the reference `dotRow` does.
    #[inline]
    fn dot_row(&self, x: &[f32], i: usize) -> f32 {
        match self {
            Matrix::Dense { n, data, .. } => {
                let row = &data[i * n..(i + 1) * n];
                let mut d = 0.0f32;
                for (a, b) in row.iter().zip(x) {
                    d += *a * *b;
                }
                d
            }
            Matrix::Quant {
                codes, pq, norms, ..
            } => {
                let alpha = match norms {
                    Some((nc, npq)) => npq.centroid(0, nc[i])[0],
                    None => 1.0,
                };
                let nsubq = pq.nsubq as usize;
                let dsub = pq.dsub as usize;
                let mut res = 0.0f32;
                for (m, &code) in codes[nsubq * i..nsubq * (i + 1)].iter().enumerate() {
                    let c = pq.centroid(m, code);
                    for (k, b) in c.iter().enumerate() {
                        res += x[m * dsub + k] * *b;
                    }
                }
                res * alpha
            }
        }
    }
}

/// A node of the hierarchical-softmax tree.
#[derive(Clone, Copy, Debug)]
struct Node {
    left: i32,
    right: i32,
    count: i64,
}

/// The reference hash: 32-bit FNV-1a over bytes sign-extended to 32 bits.
#[inline]
pub fn hash(bytes: &[u8]) -> u32 {
    let mut h: u32 = 2_166_136_261;
    for &b in bytes {
        h ^= b as i8 as i32 as u32;
        h = h.wrapping_mul(16_777_619);
    }
    h
}

/// Is `b` a token separator for the reference `readWord`?
#[inline]
fn is_sep(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | 0x0b | 0x0c | 0)
}

/// Vocabulary and n-gram hashing.
#[derive(Clone, Debug)]
pub struct Dictionary {
    pub(crate) entries: Vec<Entry>,
    pub(crate) nwords: i32,
    pub(crate) nlabels: i32,
    pub(crate) ntokens: i64,
    /// `-1` when the model was never pruned.
    pub(crate) pruneidx_size: i64,
    pub(crate) pruneidx: HashMap<i32, i32>,
    /// Open-addressing table over word ids, keyed by the reference hash: `(id, hash)` per slot,
    /// so a probe compares the words only when the hashes agree.
    table: Vec<(i32, u32)>,
    /// Input rows of each word (itself and its character n-grams).
    subwords: Vec<Vec<i32>>,
    minn: usize,
    maxn: usize,
    bucket: i32,
    word_ngrams: i32,
}

impl Dictionary {
    /// Build the lookup structures for `entries` (words first, then labels).
    pub(crate) fn new(
        entries: Vec<Entry>,
        ntokens: i64,
        pruneidx: Option<HashMap<i32, i32>>,
        args: &Args,
    ) -> Dictionary {
        let nwords = entries.iter().filter(|e| e.kind == EntryKind::Word).count() as i32;
        let nlabels = entries.len() as i32 - nwords;
        let (pruneidx_size, pruneidx) = match pruneidx {
            Some(p) => (p.len() as i64, p),
            None => (-1, HashMap::new()),
        };
        let size = (entries.len() * 2).next_power_of_two().max(16);
        let mut d = Dictionary {
            entries,
            nwords,
            nlabels,
            ntokens,
            pruneidx_size,
            pruneidx,
            table: vec![(-1, 0); size],
            subwords: Vec::new(),
            minn: args.minn.max(0) as usize,
            maxn: args.maxn.max(0) as usize,
            bucket: args.bucket,
            word_ngrams: args.word_ngrams,
        };
        for i in 0..d.entries.len() {
            let h = hash(&d.entries[i].word);
            let slot = d.find_slot(&d.entries[i].word, h);
            d.table[slot] = (i as i32, h);
        }
        let mut subwords = Vec::with_capacity(nwords as usize);
        let mut buf = Vec::new();
        for i in 0..nwords as usize {
            let mut s = vec![i as i32];
            let w = &d.entries[i].word;
            if w != EOS.as_bytes() {
                buf.clear();
                buf.push(b'<');
                buf.extend_from_slice(w);
                buf.push(b'>');
                d.char_ngrams(&buf, &mut s);
            }
            subwords.push(s);
        }
        d.subwords = subwords;
        d
    }

    #[inline]
    fn find_slot(&self, w: &[u8], h: u32) -> usize {
        let mask = self.table.len() - 1;
        let mut id = h as usize & mask;
        loop {
            let (e, eh) = self.table[id];
            if e < 0 || (eh == h && self.entries[e as usize].word == w) {
                return id;
            }
            id = (id + 1) & mask;
        }
    }

    /// Id of a token, or `-1`.
    #[inline]
    pub fn id(&self, w: &[u8], h: u32) -> i32 {
        self.table[self.find_slot(w, h)].0
    }

    /// Tokens seen in training, as stored in the file.
    pub fn ntokens(&self) -> i64 {
        self.ntokens
    }

    /// Number of words.
    pub fn nwords(&self) -> usize {
        self.nwords as usize
    }

    /// Number of labels.
    pub fn nlabels(&self) -> usize {
        self.nlabels as usize
    }

    /// Entries (words first, then labels).
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Label `i` without its `__label__` prefix (lossy UTF-8).
    pub fn label(&self, i: usize) -> String {
        let w = &self.entries[self.nwords as usize + i].word;
        let w = w.strip_prefix(LABEL_PREFIX.as_bytes()).unwrap_or(w);
        String::from_utf8_lossy(w).into_owned()
    }

    #[inline]
    fn push_hash(&self, out: &mut Vec<i32>, id: i32) {
        if self.pruneidx_size == 0 || id < 0 {
            return;
        }
        let id = if self.pruneidx_size > 0 {
            match self.pruneidx.get(&id) {
                Some(&j) => j,
                None => return,
            }
        } else {
            id
        };
        out.push(self.nwords + id);
    }

    /// Character n-grams of `word` (already wrapped in `<`, `>`), as input-row ids.
    fn char_ngrams(&self, word: &[u8], out: &mut Vec<i32>) {
        if self.maxn == 0 || self.bucket <= 0 {
            return;
        }
        let len = word.len();
        for i in 0..len {
            if word[i] & 0xC0 == 0x80 {
                continue;
            }
            let mut j = i;
            let mut n = 1;
            while j < len && n <= self.maxn {
                j += 1;
                while j < len && word[j] & 0xC0 == 0x80 {
                    j += 1;
                }
                if n >= self.minn && !(n == 1 && (i == 0 || j == len)) {
                    let h = hash(&word[i..j]) % self.bucket as u32;
                    self.push_hash(out, h as i32);
                }
                n += 1;
            }
        }
    }

    /// Input-row ids for one line, exactly as the reference `getLine` + `addWordNgrams` give them.
    ///
    /// Every newline in `line` yields the `</s>` token, and so does the end of `line` when
    /// `add_eos` is set (the Python `predict` appends one). Unlike the reference reader, a newline
    /// does not stop the line: the whole text is one example.
    pub fn line_features(
        &self,
        line: &[u8],
        add_eos: bool,
        out: &mut Vec<i32>,
        scratch: &mut Scratch,
    ) {
        Self::tokenize(line, true, add_eos, &mut scratch.tokens);
        self.token_features(line, out, scratch);
    }

    /// The input rows of the tokens of `line` already in `scratch.tokens` (from
    /// [`Dictionary::tokenize`]), as the reference gives them.
    pub(crate) fn token_features(&self, line: &[u8], out: &mut Vec<i32>, scratch: &mut Scratch) {
        out.clear();
        scratch.hashes.clear();
        let tokens = std::mem::take(&mut scratch.tokens);
        for t in &tokens {
            self.add_token_hashed(t.bytes(line), t.hash, out, scratch);
        }
        scratch.tokens = tokens;
        let hashes = std::mem::take(&mut scratch.hashes);
        self.word_ngrams_into(out, &hashes);
        scratch.hashes = hashes;
    }

    /// Whether token `tok` (dictionary id `wid`, negative when unknown) is a label, which the
    /// reference skips in an input line.
    fn is_label(&self, tok: &[u8], wid: i32) -> bool {
        if wid >= 0 {
            self.entries[wid as usize].kind == EntryKind::Label
        } else {
            tok.starts_with(LABEL_PREFIX.as_bytes())
        }
    }

    fn add_token_hashed(&self, tok: &[u8], h: u32, out: &mut Vec<i32>, scratch: &mut Scratch) {
        let wid = self.id(tok, h);
        if self.is_label(tok, wid) {
            return;
        }
        if wid < 0 {
            if tok != EOS.as_bytes() {
                scratch.word.clear();
                scratch.word.push(b'<');
                scratch.word.extend_from_slice(tok);
                scratch.word.push(b'>');
                self.char_ngrams(&scratch.word, out);
            }
        } else if self.maxn == 0 {
            out.push(wid);
        } else {
            out.extend_from_slice(&self.subwords[wid as usize]);
        }
        scratch.hashes.push(h as i32);
    }

    /// Split `line` into tokens as [`Dictionary::line_features`] does, with each token's hash
    /// (which does not depend on the model, so one tokenisation serves every model of a stack).
    /// A newline is the `</s>` token when `newline_is_eos` is set, a plain separator otherwise
    /// (the same as replacing it by a space first); `add_eos` appends a final `</s>`.
    pub(crate) fn tokenize(
        line: &[u8],
        newline_is_eos: bool,
        add_eos: bool,
        tokens: &mut Vec<Token>,
    ) {
        tokens.clear();
        let eos = Token {
            start: u32::MAX,
            end: u32::MAX,
            hash: hash(EOS.as_bytes()),
        };
        let len = line.len();
        let mut i = 0;
        while i < len {
            let b = line[i];
            if b == b'\n' && newline_is_eos {
                tokens.push(eos);
                i += 1;
            } else if is_sep(b) {
                i += 1;
            } else {
                let start = i;
                while i < len && !is_sep(line[i]) {
                    i += 1;
                }
                tokens.push(Token {
                    start: start as u32,
                    end: i as u32,
                    hash: hash(&line[start..i]),
                });
            }
        }
        if add_eos {
            tokens.push(eos);
        }
    }

    fn word_ngrams_into(&self, out: &mut Vec<i32>, hashes: &[i32]) {
        let n = self.word_ngrams.max(1) as usize;
        if n <= 1 || self.bucket <= 0 {
            return;
        }
        for i in 0..hashes.len() {
            let mut h = hashes[i] as i64 as u64;
            for &hj in &hashes[i + 1..hashes.len().min(i + n)] {
                h = h.wrapping_mul(116_049_371).wrapping_add(hj as i64 as u64);
                self.push_hash(out, (h % self.bucket as u64) as i32);
            }
        }
    }
}

/// One token of a line: its byte range (`u32::MAX` for `</s>`) and its hash.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Token {
    start: u32,
    end: u32,
    hash: u32,
}

impl Token {
    fn bytes<'a>(&self, line: &'a [u8]) -> &'a [u8] {
        if self.start == u32::MAX {
            EOS.as_bytes()
        } else {
            &line[self.start as usize..self.end as usize]
        }
    }
}

/// Reusable buffers for prediction (one per thread).
#[derive(Default, Debug)]
pub struct Scratch {
    hashes: Vec<i32>,
    /// Tokens of the current line ([`FastText::probabilities_tokens`]).
    pub(crate) tokens: Vec<Token>,
    /// Summed rows of recent out-of-vocabulary words ([`FastText::probabilities_tokens`]).
    oov: OovCache,
    /// One word's summed row.
    row: Vec<f32>,
    word: Vec<u8>,
    feats: Vec<i32>,
    hidden: Vec<f32>,
    output: Vec<f32>,
    heap: Vec<(f32, i32)>,
}

/// Per-thread cache of the summed character n-gram rows of out-of-vocabulary words, keyed by
/// model and word (web text repeats its rare words too). Cleared when full. A hit adds exactly
/// what a miss computes, so results do not depend on what the cache holds.
#[derive(Default, Debug)]
struct OovCache {
    /// `(model uid << 32) | word hash` to an entry.
    map: HashMap<u64, u32>,
    /// The entries' words, back to back.
    words: Vec<u8>,
    /// Per entry: word start and end in `words`, number of input rows summed, start of its
    /// summed row in `rows`.
    entries: Vec<(u32, u32, u32, u32)>,
    /// Per entry, its model's `dim` values (models of different dimensions share the cache).
    rows: Vec<f32>,
}

/// Words an [`OovCache`] holds before it is cleared.
const OOV_CACHE_WORDS: usize = 1 << 15;
/// Longer out-of-vocabulary words are not cached (rarely repeated; keeps the cache small).
const OOV_CACHE_WORD_BYTES: usize = 64;

/// Source of [`FastText::uid`].
static NEXT_UID: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A loaded fastText supervised model.
#[derive(Clone, Debug)]
pub struct FastText {
    pub(crate) args: Args,
    pub(crate) version: i32,
    pub(crate) dict: Dictionary,
    pub(crate) input: Matrix,
    pub(crate) output: Matrix,
    tree: Vec<Node>,
    /// The quantized input matrix decoded to `f32` rows (each value is exactly what the
    /// reference adds: `norm * centroid`), for speed; `None` for dense or very large matrices.
    decoded: Option<Vec<f32>>,
    /// Per vocabulary word, the sum of its input rows (the word's own and its character
    /// n-grams', added in the reference's order from zero), so the fast path adds one row per
    /// known word instead of one per n-gram; `None` for very large vocabularies.
    word_rows: Option<Vec<f32>>,
    /// Distinguishes the models sharing one [`OovCache`].
    uid: u32,
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'a str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8], LangError> {
        if self.buf.len() - self.pos < n {
            return Err(LangError::Model {
                path: self.what.to_string(),
                reason: format!("file ends inside {field} at byte {}", self.pos),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn i32(&mut self, f: &str) -> Result<i32, LangError> {
        let b = self.take(4, f)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn i64(&mut self, f: &str) -> Result<i64, LangError> {
        let b = self.take(8, f)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_le_bytes(a))
    }
    fn f64(&mut self, f: &str) -> Result<f64, LangError> {
        Ok(f64::from_bits(self.i64(f)? as u64))
    }
    fn u8(&mut self, f: &str) -> Result<u8, LangError> {
        Ok(self.take(1, f)?[0])
    }
    fn f32s(&mut self, n: usize, f: &str) -> Result<Vec<f32>, LangError> {
        let bytes = n
            .checked_mul(4)
            .ok_or_else(|| self.bad(format!("{f}: size overflow")))?;
        let b = self.take(bytes, f)?;
        Ok(b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
    fn bad(&self, reason: String) -> LangError {
        LangError::Model {
            path: self.what.to_string(),
            reason,
        }
    }
    fn size(&mut self, f: &str, max: usize) -> Result<usize, LangError> {
        let v = self.i64(f)?;
        if v < 0 || v as u64 > max as u64 {
            return Err(self.bad(format!("{f} = {v} is out of range")));
        }
        Ok(v as usize)
    }

    fn pq(&mut self, what: &str) -> Result<ProductQuantizer, LangError> {
        let dim = self.i32(what)?;
        let nsubq = self.i32(what)?;
        let dsub = self.i32(what)?;
        let lastdsub = self.i32(what)?;
        if dim <= 0 || nsubq <= 0 || dsub <= 0 || lastdsub <= 0 || dim > 1 << 16 {
            return Err(self.bad(format!("{what}: bad quantizer shape")));
        }
        if (nsubq - 1) * dsub + lastdsub != dim {
            return Err(self.bad(format!("{what}: sub-quantizers do not cover dim {dim}")));
        }
        let centroids = self.f32s(dim as usize * KSUB, what)?;
        Ok(ProductQuantizer {
            dim,
            nsubq,
            dsub,
            lastdsub,
            centroids,
        })
    }

    fn matrix(&mut self, quant: bool, what: &str) -> Result<Matrix, LangError> {
        let rest = self.buf.len() - self.pos;
        if quant {
            let qnorm = self.u8(what)? != 0;
            let m = self.size(what, rest)?;
            let n = self.size(what, 1 << 16)?;
            let codesize = self.i32(what)?;
            if codesize < 0 {
                return Err(self.bad(format!("{what}: negative code size")));
            }
            let codes = self.take(codesize as usize, what)?.to_vec();
            let pq = self.pq(what)?;
            if pq.dim as usize != n || codes.len() != m * pq.nsubq as usize {
                return Err(self.bad(format!("{what}: codes do not match {m} x {n}")));
            }
            let norms = if qnorm {
                let nc = self.take(m, what)?.to_vec();
                let npq = self.pq(what)?;
                Some((nc, npq))
            } else {
                None
            };
            Ok(Matrix::Quant {
                m,
                n,
                codes,
                pq,
                norms,
            })
        } else {
            let m = self.size(what, rest)?;
            let n = self.size(what, rest)?;
            let total = m
                .checked_mul(n)
                .ok_or_else(|| self.bad(format!("{what}: size overflow")))?;
            let data = self.f32s(total, what)?;
            Ok(Matrix::Dense { m, n, data })
        }
    }
}

impl FastText {
    /// Load a `.bin` or `.ftz` file.
    pub fn load(path: &Path) -> Result<FastText, LangError> {
        let bytes = std::fs::read(path).map_err(|e| LangError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        FastText::from_bytes(&bytes, &path.display().to_string())
    }

    /// Parse a model held in memory; `what` names it in errors.
    pub fn from_bytes(bytes: &[u8], what: &str) -> Result<FastText, LangError> {
        let mut r = Reader {
            buf: bytes,
            pos: 0,
            what,
        };
        let magic = r.i32("magic")?;
        if magic != MAGIC {
            return Err(r.bad(format!(
                "not a fastText model (magic {magic}, expected {MAGIC})"
            )));
        }
        let version = r.i32("version")?;
        if version > VERSION {
            return Err(r.bad(format!("format version {version} is newer than {VERSION}")));
        }
        let mut args = Args {
            dim: r.i32("dim")?,
            ws: r.i32("ws")?,
            epoch: r.i32("epoch")?,
            min_count: r.i32("minCount")?,
            neg: r.i32("neg")?,
            word_ngrams: r.i32("wordNgrams")?,
            loss: match r.i32("loss")? {
                1 => Loss::HierarchicalSoftmax,
                2 => Loss::NegativeSampling,
                3 => Loss::Softmax,
                4 => Loss::OneVsAll,
                l => return Err(r.bad(format!("unknown loss {l}"))),
            },
            model: r.i32("model")?,
            bucket: r.i32("bucket")?,
            minn: r.i32("minn")?,
            maxn: r.i32("maxn")?,
            lr_update_rate: r.i32("lrUpdateRate")?,
            t: r.f64("t")?,
        };
        if args.model != 3 {
            return Err(r.bad(format!("model kind {} is not supervised", args.model)));
        }
        if version == 11 {
            args.maxn = 0;
        }
        if args.dim <= 0 || args.dim > 1 << 16 || args.bucket < 0 || args.maxn > 64 {
            return Err(r.bad("implausible header (dim, bucket or maxn)".into()));
        }
        // Dictionary.
        let size = r.i32("dictionary size")?;
        let nwords = r.i32("nwords")?;
        let nlabels = r.i32("nlabels")?;
        let ntokens = r.i64("ntokens")?;
        let prune_size = r.i64("pruneidx_size")?;
        if size < 0 || nwords < 0 || nlabels <= 0 || nwords + nlabels != size {
            return Err(r.bad(format!("dictionary counts {size} != {nwords} + {nlabels}")));
        }
        let mut entries = Vec::with_capacity(size as usize);
        for i in 0..size {
            let rest = &r.buf[r.pos..];
            let end = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| r.bad(format!("dictionary entry {i} is not terminated")))?;
            let word = rest[..end].to_vec();
            r.pos += end + 1;
            let count = r.i64("entry count")?;
            let kind = match r.u8("entry type")? {
                0 => EntryKind::Word,
                1 => EntryKind::Label,
                t => return Err(r.bad(format!("dictionary entry {i} has type {t}"))),
            };
            let expected = if i < nwords {
                EntryKind::Word
            } else {
                EntryKind::Label
            };
            if kind != expected {
                return Err(r.bad(format!("dictionary entry {i}: words must precede labels")));
            }
            entries.push(Entry { word, count, kind });
        }
        let pruneidx = if prune_size >= 0 {
            if prune_size as u64 > (r.buf.len() - r.pos) as u64 / 8 {
                return Err(r.bad(format!("pruneidx_size {prune_size} exceeds the file")));
            }
            let mut p = HashMap::with_capacity(prune_size as usize);
            for _ in 0..prune_size {
                let a = r.i32("pruneidx")?;
                let b = r.i32("pruneidx")?;
                p.insert(a, b);
            }
            Some(p)
        } else {
            None
        };
        let quant_input = r.u8("quant_input")? != 0;
        let input = r.matrix(quant_input, "input matrix")?;
        if !quant_input && prune_size >= 0 {
            return Err(r.bad("a pruned dictionary needs a quantized input matrix".into()));
        }
        let qout = r.u8("qout")? != 0;
        let output = r.matrix(quant_input && qout, "output matrix")?;
        let dim = args.dim as usize;
        if input.cols() != dim || output.cols() != dim {
            return Err(r.bad(format!("matrix width differs from dim {dim}")));
        }
        let dict = Dictionary::new(entries, ntokens, pruneidx, &args);
        let needed_rows = dict.nwords()
            + if prune_size >= 0 {
                prune_size as usize
            } else {
                args.bucket as usize
            };
        if input.rows() < needed_rows {
            return Err(r.bad(format!(
                "input matrix has {} rows, needs {needed_rows}",
                input.rows()
            )));
        }
        let out_rows = match args.loss {
            Loss::HierarchicalSoftmax => dict.nlabels().saturating_sub(1),
            _ => dict.nlabels(),
        };
        if output.rows() < out_rows {
            return Err(r.bad(format!(
                "output matrix has {} rows, needs {out_rows}",
                output.rows()
            )));
        }
        Ok(FastText::assemble(args, version, dict, input, output))
    }

    /// Assemble a model from its parts (the trainer's output).
    pub(crate) fn from_parts(
        args: Args,
        dict: Dictionary,
        input: Matrix,
        output: Matrix,
    ) -> FastText {
        FastText::assemble(args, VERSION, dict, input, output)
    }

    fn assemble(
        args: Args,
        version: i32,
        dict: Dictionary,
        input: Matrix,
        output: Matrix,
    ) -> FastText {
        // Decode quantized inputs (up to 64 Mi values) once, for speed.
        let decoded = match &input {
            Matrix::Quant { m, n, .. } if m * n <= 64 << 20 => {
                let mut d = vec![0.0f32; m * n];
                for (r, row) in d.chunks_exact_mut(*n).enumerate() {
                    input.add_row(row, r);
                }
                Some(d)
            }
            _ => None,
        };
        let mut ft = FastText {
            args,
            version,
            dict,
            input,
            output,
            tree: Vec::new(),
            decoded,
            word_rows: None,
            uid: NEXT_UID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        };
        if ft.args.loss == Loss::HierarchicalSoftmax {
            ft.build_tree();
        }
        let dim = ft.args.dim as usize;
        if ft.dict.maxn > 0 && ft.dict.nwords() * dim <= 16 << 20 {
            let mut rows = vec![0.0f32; ft.dict.nwords() * dim];
            for (w, row) in rows.chunks_exact_mut(dim).enumerate() {
                for &f in &ft.dict.subwords[w] {
                    ft.add_input_row(row, f as usize);
                }
            }
            ft.word_rows = Some(rows);
        }
        ft
    }

    /// `x += input row i` (from the decoded table when there is one).
    #[inline]
    fn add_input_row(&self, x: &mut [f32], i: usize) {
        match &self.decoded {
            Some(d) => {
                let dim = x.len();
                for (h, v) in x.iter_mut().zip(&d[i * dim..(i + 1) * dim]) {
                    *h += *v;
                }
            }
            None => self.input.add_row(x, i),
        }
    }

    /// Probability vector of a line already split by [`Dictionary::tokenize`] (in
    /// `scratch.tokens`), like [`FastText::probabilities_into`] on the line's
    /// [`Dictionary::line_features`] but faster: a known word adds its precomputed summed row
    /// instead of one row per character n-gram, an unknown word the summed row of its n-grams
    /// (cached per thread in `scratch`: web text repeats words). The hidden vector is therefore summed in another
    /// order, which moves probabilities by float rounding only (about 1e-7); the exact reference
    /// order stays in [`FastText::predict`] and [`FastText::probabilities_into`].
    pub(crate) fn probabilities_tokens(
        &self,
        line: &[u8],
        scratch: &mut Scratch,
        probs: &mut Vec<f32>,
    ) {
        let Some(word_rows) = &self.word_rows else {
            let mut feats = std::mem::take(&mut scratch.feats);
            self.dict.token_features(line, &mut feats, scratch);
            self.probabilities_into(&feats, scratch, probs);
            scratch.feats = feats;
            return;
        };
        let d = &self.dict;
        let dim = self.args.dim as usize;
        let n = d.nlabels();
        probs.clear();
        probs.resize(n, 0.0);
        let mut hidden = std::mem::take(&mut scratch.hidden);
        hidden.clear();
        hidden.resize(dim, 0.0);
        let mut feats = std::mem::take(&mut scratch.feats);
        let mut count = 0usize;
        scratch.hashes.clear();
        for t in &scratch.tokens {
            let tok = t.bytes(line);
            let wid = d.id(tok, t.hash);
            if d.is_label(tok, wid) {
                continue;
            }
            if wid >= 0 {
                let w = wid as usize;
                for (h, v) in hidden.iter_mut().zip(&word_rows[w * dim..(w + 1) * dim]) {
                    *h += *v;
                }
                count += d.subwords[w].len();
            } else if tok != EOS.as_bytes() {
                let key = (u64::from(self.uid) << 32) | u64::from(t.hash);
                let cache = &mut scratch.oov;
                let hit = cache.map.get(&key).copied();
                if let Some(e) = hit {
                    let (a, b, n, r) = cache.entries[e as usize];
                    if &cache.words[a as usize..b as usize] == tok {
                        let r = r as usize;
                        for (h, v) in hidden.iter_mut().zip(&cache.rows[r..r + dim]) {
                            *h += *v;
                        }
                        count += n as usize;
                        scratch.hashes.push(t.hash as i32);
                        continue;
                    }
                }
                scratch.word.clear();
                scratch.word.push(b'<');
                scratch.word.extend_from_slice(tok);
                scratch.word.push(b'>');
                feats.clear();
                d.char_ngrams(&scratch.word, &mut feats);
                let row = &mut scratch.row;
                row.clear();
                row.resize(dim, 0.0);
                for &f in &feats {
                    self.add_input_row(row, f as usize);
                }
                for (h, v) in hidden.iter_mut().zip(row.iter()) {
                    *h += *v;
                }
                count += feats.len();
                if hit.is_none() && tok.len() <= OOV_CACHE_WORD_BYTES {
                    if cache.entries.len() >= OOV_CACHE_WORDS {
                        cache.map.clear();
                        cache.words.clear();
                        cache.entries.clear();
                        cache.rows.clear();
                    }
                    let a = cache.words.len() as u32;
                    cache.words.extend_from_slice(tok);
                    let e = cache.entries.len() as u32;
                    let (b, r) = (cache.words.len() as u32, cache.rows.len() as u32);
                    cache.entries.push((a, b, feats.len() as u32, r));
                    cache.rows.extend_from_slice(row);
                    cache.map.insert(key, e);
                }
            }
            scratch.hashes.push(t.hash as i32);
        }
        feats.clear();
        d.word_ngrams_into(&mut feats, &scratch.hashes);
        for &f in &feats {
            self.add_input_row(&mut hidden, f as usize);
        }
        count += feats.len();
        scratch.feats = feats;
        scratch.hidden = hidden;
        if count == 0 {
            return;
        }
        let inv = (1.0f64 / count as f64) as f32;
        for h in &mut scratch.hidden {
            *h *= inv;
        }
        self.probabilities_from_hidden(scratch, probs);
    }

    /// The model in the reference file format (`.bin`, or `.ftz` when the input is quantized).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::new();
        let a = &self.args;
        for v in [
            MAGIC,
            VERSION,
            a.dim,
            a.ws,
            a.epoch,
            a.min_count,
            a.neg,
            a.word_ngrams,
        ] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        for v in [
            a.loss as i32,
            a.model,
            a.bucket,
            a.minn,
            a.maxn,
            a.lr_update_rate,
        ] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&a.t.to_le_bytes());
        let d = &self.dict;
        for v in [d.entries.len() as i32, d.nwords, d.nlabels] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&d.ntokens.to_le_bytes());
        b.extend_from_slice(&d.pruneidx_size.to_le_bytes());
        for e in &d.entries {
            b.extend_from_slice(&e.word);
            b.push(0);
            b.extend_from_slice(&e.count.to_le_bytes());
            b.push(e.kind as u8);
        }
        if d.pruneidx_size > 0 {
            let mut pairs: Vec<(&i32, &i32)> = d.pruneidx.iter().collect();
            pairs.sort();
            for (k, v) in pairs {
                b.extend_from_slice(&k.to_le_bytes());
                b.extend_from_slice(&v.to_le_bytes());
            }
        }
        let quant_input = matches!(self.input, Matrix::Quant { .. });
        b.push(quant_input as u8);
        write_matrix(&mut b, &self.input);
        let qout = matches!(self.output, Matrix::Quant { .. });
        b.push(qout as u8);
        write_matrix(&mut b, &self.output);
        b
    }

    /// Write the model to `path` (through a temporary file renamed into place).
    pub fn save(&self, path: &Path) -> Result<(), LangError> {
        let io = |e| LangError::Io {
            path: path.display().to_string(),
            source: e,
        };
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, self.to_bytes()).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    fn build_tree(&mut self) {
        let osz = self.dict.nlabels();
        let counts: Vec<i64> = self.dict.entries[self.dict.nwords()..]
            .iter()
            .map(|e| e.count)
            .collect();
        let mut tree = vec![
            Node {
                left: -1,
                right: -1,
                count: 1_000_000_000_000_000
            };
            2 * osz - 1
        ];
        for (t, c) in tree.iter_mut().zip(&counts) {
            t.count = *c;
        }
        let mut leaf = osz as i64 - 1;
        let mut node = osz;
        for i in osz..2 * osz - 1 {
            let mut mini = [0usize; 2];
            for m in &mut mini {
                if leaf >= 0 && tree[leaf as usize].count < tree[node].count {
                    *m = leaf as usize;
                    leaf -= 1;
                } else {
                    *m = node;
                    node += 1;
                }
            }
            tree[i].left = mini[0] as i32;
            tree[i].right = mini[1] as i32;
            tree[i].count = tree[mini[0]].count + tree[mini[1]].count;
        }
        self.tree = tree;
    }

    /// File-format version read from the header.
    pub fn version(&self) -> i32 {
        self.version
    }

    /// Was the model trained by tria on normalised text (`TrainConfig::normalize`)?
    pub fn expects_normalized_text(&self) -> bool {
        let w = super::train::NORMALIZE_MARKER.as_bytes();
        self.dict.id(w, hash(w)) >= 0
    }

    /// The header hyper-parameters.
    pub fn args(&self) -> &Args {
        &self.args
    }

    /// The dictionary.
    pub fn dictionary(&self) -> &Dictionary {
        &self.dict
    }

    /// Number of labels.
    pub fn nlabels(&self) -> usize {
        self.dict.nlabels()
    }

    /// Label `i` without the `__label__` prefix.
    pub fn label(&self, i: usize) -> String {
        self.dict.label(i)
    }

    /// The `k` best labels of one line as `(probability, label index)`, best first, exactly as the
    /// reference `predict` (Python `model.predict(line, k, threshold)`) returns them.
    pub fn predict(
        &self,
        line: &str,
        k: usize,
        threshold: f32,
        scratch: &mut Scratch,
    ) -> Vec<(f32, usize)> {
        let mut feats = std::mem::take(&mut scratch.feats);
        self.dict
            .line_features(line.as_bytes(), true, &mut feats, scratch);
        let out = self.predict_features(&feats, k, threshold, scratch);
        scratch.feats = feats;
        out
    }

    /// Average the input rows of `feats` into `scratch.hidden`.
    fn hidden(&self, feats: &[i32], scratch: &mut Scratch) {
        let dim = self.args.dim as usize;
        scratch.hidden.clear();
        scratch.hidden.resize(dim, 0.0);
        if let Some(d) = &self.decoded {
            for &f in feats {
                let row = &d[f as usize * dim..(f as usize + 1) * dim];
                for (h, v) in scratch.hidden.iter_mut().zip(row) {
                    *h += *v;
                }
            }
        } else {
            for &f in feats {
                self.input.add_row(&mut scratch.hidden, f as usize);
            }
        }
        let inv = (1.0f64 / feats.len() as f64) as f32;
        for h in &mut scratch.hidden {
            *h *= inv;
        }
    }

    /// Full probability vector over labels for input rows `feats` (softmax / one-vs-all; for
    /// hierarchical softmax the product of the branch probabilities of each leaf).
    pub fn probabilities(&self, feats: &[i32], scratch: &mut Scratch) -> Vec<f32> {
        let mut out = Vec::new();
        self.probabilities_into(feats, scratch, &mut out);
        out
    }

    /// [`FastText::probabilities`] into a reused buffer.
    pub fn probabilities_into(&self, feats: &[i32], scratch: &mut Scratch, probs: &mut Vec<f32>) {
        let n = self.dict.nlabels();
        probs.clear();
        probs.resize(n, 0.0);
        if feats.is_empty() {
            return;
        }
        self.hidden(feats, scratch);
        self.probabilities_from_hidden(scratch, probs);
    }

    /// The label probabilities of `scratch.hidden` into `probs` (already `nlabels` long).
    fn probabilities_from_hidden(&self, scratch: &mut Scratch, probs: &mut [f32]) {
        let n = self.dict.nlabels();
        match self.args.loss {
            Loss::HierarchicalSoftmax => {
                let mut stack = vec![(2 * n - 2, 1.0f32)];
                while let Some((node, p)) = stack.pop() {
                    let t = self.tree[node];
                    if t.left == -1 && t.right == -1 {
                        probs[node] = p;
                        continue;
                    }
                    let f = self.output.dot_row(&scratch.hidden, node - n);
                    let f = 1.0 / (1.0 + (-f).exp());
                    stack.push((t.left as usize, p * (1.0 - f)));
                    stack.push((t.right as usize, p * f));
                }
            }
            Loss::Softmax => {
                if let Matrix::Dense { n: dim, data, .. } = &self.output {
                    // The reference adds a row's products one after the other (a chain of
                    // dependent additions, one per dimension, for every label); eight
                    // independent partial sums give the same value up to float rounding, which
                    // is all this path promises, and let the compiler use vector registers.
                    let h = &scratch.hidden;
                    let mut max = f32::NEG_INFINITY;
                    for (p, row) in probs.iter_mut().zip(data.chunks_exact(*dim)) {
                        *p = dot_lanes(row, h);
                        max = max.max(*p);
                    }
                    let mut z = 0.0f32;
                    for p in probs.iter_mut() {
                        *p = (*p - max).exp();
                        z += *p;
                    }
                    let inv = 1.0 / z;
                    probs.iter_mut().for_each(|p| *p *= inv);
                } else {
                    self.compute_output(scratch);
                    probs.copy_from_slice(&scratch.output);
                }
            }
            _ => {
                self.compute_output(scratch);
                probs.copy_from_slice(&scratch.output);
            }
        }
    }

    fn compute_output(&self, scratch: &mut Scratch) {
        let n = self.dict.nlabels();
        scratch.output.clear();
        for i in 0..n {
            scratch.output.push(self.output.dot_row(&scratch.hidden, i));
        }
        if matches!(self.args.loss, Loss::OneVsAll | Loss::NegativeSampling) {
            for o in &mut scratch.output {
                *o = 1.0 / (1.0 + (-*o).exp());
            }
        } else {
            let mut max = scratch.output[0];
            for &o in &scratch.output {
                max = max.max(o);
            }
            let mut z = 0.0f32;
            for o in &mut scratch.output {
                *o = (*o - max).exp();
                z += *o;
            }
            for o in &mut scratch.output {
                *o /= z;
            }
        }
    }

    /// [`FastText::predict`] from precomputed input rows.
    pub fn predict_features(
        &self,
        feats: &[i32],
        k: usize,
        threshold: f32,
        scratch: &mut Scratch,
    ) -> Vec<(f32, usize)> {
        if feats.is_empty() || k == 0 {
            return Vec::new();
        }
        self.hidden(feats, scratch);
        let mut heap = std::mem::take(&mut scratch.heap);
        heap.clear();
        match self.args.loss {
            Loss::HierarchicalSoftmax => {
                let n = self.dict.nlabels();
                self.dfs(k, threshold, 2 * n - 2, 0.0, &mut heap, &scratch.hidden);
            }
            _ => {
                self.compute_output(scratch);
                for (i, &o) in scratch.output.iter().enumerate() {
                    if o < threshold {
                        continue;
                    }
                    let s = std_log(o);
                    if heap.len() == k && s < heap_min(&heap) {
                        continue;
                    }
                    heap_push(&mut heap, (s, i as i32), k);
                }
            }
        }
        // sort_heap with `a.0 > b.0`: descending score; equal scores keep an unspecified order in
        // the reference too.
        heap.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
        let out = heap.iter().map(|&(s, i)| (s.exp(), i as usize)).collect();
        scratch.heap = heap;
        out
    }

    fn dfs(
        &self,
        k: usize,
        threshold: f32,
        node: usize,
        score: f32,
        heap: &mut Vec<(f32, i32)>,
        hidden: &[f32],
    ) {
        if score < std_log(threshold) {
            return;
        }
        if heap.len() == k && score < heap_min(heap) {
            return;
        }
        let t = self.tree[node];
        if t.left == -1 && t.right == -1 {
            heap_push(heap, (score, node as i32), k);
            return;
        }
        let n = self.dict.nlabels();
        let f = self.output.dot_row(hidden, node - n);
        let f = 1.0 / (1.0 + (-f).exp());
        self.dfs(
            k,
            threshold,
            t.left as usize,
            score + std_log(1.0 - f),
            heap,
            hidden,
        );
        self.dfs(
            k,
            threshold,
            t.right as usize,
            score + std_log(f),
            heap,
            hidden,
        );
    }
}

fn write_pq(b: &mut Vec<u8>, pq: &ProductQuantizer) {
    for v in [pq.dim, pq.nsubq, pq.dsub, pq.lastdsub] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    for c in &pq.centroids {
        b.extend_from_slice(&c.to_le_bytes());
    }
}

fn write_matrix(b: &mut Vec<u8>, m: &Matrix) {
    match m {
        Matrix::Dense { m, n, data } => {
            b.extend_from_slice(&(*m as i64).to_le_bytes());
            b.extend_from_slice(&(*n as i64).to_le_bytes());
            for v in data {
                b.extend_from_slice(&v.to_le_bytes());
            }
        }
        Matrix::Quant {
            m,
            n,
            codes,
            pq,
            norms,
        } => {
            b.push(norms.is_some() as u8);
            b.extend_from_slice(&(*m as i64).to_le_bytes());
            b.extend_from_slice(&(*n as i64).to_le_bytes());
            b.extend_from_slice(&(codes.len() as i32).to_le_bytes());
            b.extend_from_slice(codes);
            write_pq(b, pq);
            if let Some((nc, npq)) = norms {
                b.extend_from_slice(nc);
                write_pq(b, npq);
            }
        }
    }
}

/// `a · b` with eight independent partial sums (vectorisable; equal to the sequential sum up to
/// float rounding).
#[inline]
fn dot_lanes(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in ra.iter().zip(rb) {
        tail += x * y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

#[inline]
fn std_log(x: f32) -> f32 {
    (x + 1e-5).ln()
}

/// Smallest score in the bounded candidate list (the reference keeps a min-heap; a linear scan
/// over at most `k` items selects the same survivors).
#[inline]
fn heap_min(heap: &[(f32, i32)]) -> f32 {
    heap.iter().map(|p| p.0).fold(f32::INFINITY, f32::min)
}

#[inline]
fn heap_push(heap: &mut Vec<(f32, i32)>, item: (f32, i32), k: usize) {
    heap.push(item);
    if heap.len() > k {
        let mut worst = 0;
        for (j, p) in heap.iter().enumerate() {
            if p.0 < heap[worst].0 {
                worst = j;
            }
        }
        heap.swap_remove(worst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(rel: &str) -> Option<std::path::PathBuf> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared")
            .join(rel);
        if p.exists() {
            Some(p)
        } else {
            eprintln!("SKIP: {} is absent", p.display());
            None
        }
    }

    // Produced once with the reference fastText 0.9.3 (pip fasttext-wheel) by
    // `model.f.predict(line + "\n", 2, 0.0, "strict")` on ../shared/lid.176.ftz.
    const PINNED: &[(&str, &str, f32, &str, f32)] = &[
        ("Bon dia, com estàs avui?", "ca", 0.788721, "pt", 0.115268),
        (
            "Egun on, zer moduz zaude gaur?",
            "de",
            0.4626,
            "en",
            0.13171,
        ),
        ("Bos días, como estás hoxe?", "es", 0.897831, "gl", 0.068079),
        (
            "Buenos días, ¿cómo estás hoy?",
            "es",
            0.99317,
            "gl",
            0.00505126,
        ),
        (
            "Bom dia, como você está hoje?",
            "pt",
            0.99632,
            "es",
            0.00295181,
        ),
        ("Bonjorn, cossí anatz uèi?", "oc", 0.543895, "sr", 0.0735411),
        (
            "Good morning, how are you today?",
            "en",
            0.930254,
            "de",
            0.00613421,
        ),
        (
            "Guten Morgen, wie geht es dir heute?",
            "de",
            0.964805,
            "es",
            0.00865118,
        ),
        (
            "Bonjour, comment allez-vous aujourd'hui ?",
            "fr",
            0.974897,
            "en",
            0.0107317,
        ),
        (
            "Buongiorno, come stai oggi?",
            "it",
            0.993177,
            "en",
            0.00368315,
        ),
        (
            "Goedemorgen, hoe gaat het vandaag?",
            "nl",
            0.982448,
            "af",
            0.00851732,
        ),
        (
            "God morgon, hur mår du idag?",
            "sv",
            0.616214,
            "da",
            0.33917,
        ),
        (
            "God morgen, hvordan har du det i dag?",
            "da",
            0.950607,
            "no",
            0.0404754,
        ),
        (
            "God morgon, korleis har du det i dag?",
            "da",
            0.790553,
            "sv",
            0.188773,
        ),
        (
            "Dzień dobry, jak się dzisiaj masz?",
            "pl",
            0.994026,
            "uk",
            0.00109812,
        ),
        (
            "Dobré ráno, jak se dnes máš?",
            "cs",
            0.58288,
            "sk",
            0.198505,
        ),
        (
            "Dobré ráno, ako sa dnes máš?",
            "sk",
            0.842215,
            "pms",
            0.0315038,
        ),
        (
            "Dobro jutro, kako si danas?",
            "hr",
            0.869804,
            "ilo",
            0.0358106,
        ),
        (
            "Добро јутро, како си данас?",
            "mk",
            0.957721,
            "sr",
            0.0327953,
        ),
        (
            "Доброе утро, как у тебя дела сегодня?",
            "ru",
            0.956204,
            "sr",
            0.0252893,
        ),
        (
            "Добрий ранок, як справи сьогодні?",
            "uk",
            0.927266,
            "bg",
            0.0526358,
        ),
        ("Добро утро, как си днес?", "bg", 0.55324, "mk", 0.176223),
        (
            "Καλημέρα, πώς είσαι σήμερα;",
            "el",
            0.998995,
            "kn",
            0.000295651,
        ),
        (
            "Jó reggelt, hogy vagy ma?",
            "hu",
            0.998759,
            "de",
            0.000250564,
        ),
        (
            "Hyvää huomenta, mitä kuuluu tänään?",
            "fi",
            0.99751,
            "et",
            0.00198989,
        ),
        (
            "Tere hommikust, kuidas sul täna läheb?",
            "et",
            0.919405,
            "fi",
            0.0600149,
        ),
        (
            "Labas rytas, kaip sekasi šiandien?",
            "lt",
            0.533573,
            "sv",
            0.14172,
        ),
        (
            "Labrīt, kā tev šodien klājas?",
            "lv",
            0.950564,
            "en",
            0.0171766,
        ),
        (
            "Bore da, sut wyt ti heddiw?",
            "pl",
            0.249902,
            "es",
            0.161956,
        ),
        (
            "Dia dhuit ar maidin, conas atá tú inniu?",
            "ga",
            0.337405,
            "en",
            0.0804056,
        ),
        ("Bonġu, kif inti llum?", "ast", 0.384417, "ca", 0.257106),
        (
            "Bună dimineața, ce mai faci azi?",
            "ro",
            0.929213,
            "it",
            0.0184976,
        ),
        (
            "Dobro jutro, kako si kaj danes?",
            "eo",
            0.908902,
            "pl",
            0.0299368,
        ),
        ("1234 5678", "en", 0.124504, "ca", 0.0859483),
        ("", "en", 0.124504, "ca", 0.0859483),
        ("__label__en hello", "en", 0.242472, "fr", 0.0951117),
        ("日本語の文章です", "ja", 0.999654, "zh", 0.000230033),
        (
            "l'àvia i el nét menjaven plegats",
            "hu",
            0.247398,
            "pam",
            0.149311,
        ),
    ];

    #[test]
    fn lid176_matches_reference_outputs() {
        let Some(path) = shared("lid.176.ftz") else {
            return;
        };
        let m = FastText::load(&path).expect("lid.176.ftz loads");
        assert_eq!(m.args().loss, Loss::HierarchicalSoftmax);
        assert_eq!(m.nlabels(), 176);
        let mut s = Scratch::default();
        for &(line, l1, p1, l2, p2) in PINNED {
            let got = m.predict(line, 2, 0.0, &mut s);
            assert_eq!(got.len(), 2, "{line:?}");
            assert_eq!(m.label(got[0].1), l1, "{line:?}");
            assert_eq!(m.label(got[1].1), l2, "{line:?}");
            assert!(
                (got[0].0 - p1).abs() < 1e-4,
                "{line:?}: {} vs {p1}",
                got[0].0
            );
            assert!(
                (got[1].0 - p2).abs() < 1e-4,
                "{line:?}: {} vs {p2}",
                got[1].0
            );
        }
    }

    #[test]
    fn hash_sign_extends_bytes() {
        // FNV-1a over plain unsigned bytes would give 0xe40c292c for "a" too, but differs for
        // bytes >= 0x80: the reference XORs 0xffffffc3 for the byte 0xc3.
        assert_eq!(hash(b"a"), 0xe40c_292c);
        let mut plain: u32 = 2_166_136_261;
        for &b in "é".as_bytes() {
            plain ^= b as u32;
            plain = plain.wrapping_mul(16_777_619);
        }
        assert_ne!(hash("é".as_bytes()), plain);
        let mut signed: u32 = 2_166_136_261;
        for &b in "é".as_bytes() {
            signed ^= 0xffff_ff00 | b as u32;
            signed = signed.wrapping_mul(16_777_619);
        }
        assert_eq!(hash("é".as_bytes()), signed);
    }

    #[test]
    fn rejects_bad_files_with_a_reason() {
        let err = FastText::from_bytes(b"not a model at all", "x.bin").unwrap_err();
        assert!(err.to_string().contains("x.bin"), "{err}");
        assert!(err.to_string().contains("magic"), "{err}");
        let Some(path) = shared("lid.176.ftz") else {
            return;
        };
        let bytes = std::fs::read(path).unwrap();
        for cut in [10, 60, 100_000, bytes.len() - 1] {
            let err = FastText::from_bytes(&bytes[..cut], "cut.ftz").unwrap_err();
            assert!(err.to_string().contains("ends inside"), "{cut}: {err}");
        }
    }
}
