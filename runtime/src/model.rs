//! The Llama-family decoder: weights, forward pass to hidden states, and blocked token log-likelihoods.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{D, DType, Device, Tensor};

use crate::config::LlamaConfig;
use crate::error::{Result, RuntimeError};

/// Which kernels the forward pass uses. The fused candle kernels (RMSNorm, softmax, RoPE) have no
/// backward pass, so training runs the same maths through differentiable primitive ops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardMode {
    /// Fused kernels, no gradient.
    Inference,
    /// Primitive ops that candle can differentiate.
    Training,
}

struct Block {
    input_norm: Tensor,
    wq: Tensor,
    wk: Tensor,
    wv: Tensor,
    wo: Tensor,
    post_norm: Tensor,
    w_gate: Tensor,
    w_up: Tensor,
    w_down: Tensor,
}

/// A loaded Llama-family model, all weights in f32 on one device.
///
/// Memory: the weights (4 bytes per parameter; a tied embedding is stored once) plus the RoPE tables
/// (`max_position_embeddings * head_dim` floats).
pub struct Llama {
    cfg: LlamaConfig,
    device: Device,
    embed: Tensor,
    blocks: Vec<Block>,
    norm: Tensor,
    lm_head: Tensor,
    cos: Tensor,
    sin: Tensor,
    attention_block: usize,
}

/// Default number of query rows per attention block in inference (see [`Llama::set_attention_block`]).
pub const DEFAULT_ATTENTION_BLOCK: usize = 512;

impl std::fmt::Debug for Llama {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Llama")
            .field("config", &self.cfg)
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

/// Linear layer without bias on a `[rows, in]` input with an HF `[out, in]` weight.
fn linear(x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    x.matmul(&w.t()?)
}

fn rms_norm(x: &Tensor, w: &Tensor, eps: f64, mode: ForwardMode) -> candle_core::Result<Tensor> {
    match mode {
        ForwardMode::Inference => candle_nn::ops::rms_norm(x, w, eps as f32),
        ForwardMode::Training => {
            let h = x.dim(D::Minus1)? as f64;
            let ms = (x.sqr()?.sum_keepdim(D::Minus1)? / h)?;
            x.broadcast_div(&(ms + eps)?.sqrt()?)?.broadcast_mul(w)
        }
    }
}

impl Llama {
    /// Loads `dir/config.json` and the weights from `dir/model.safetensors.index.json` (sharded) or
    /// `dir/model.safetensors`, converting F32/BF16/F16 weights to f32 on `device`.
    ///
    /// Tensors are read one at a time (no mmap, no whole-file buffer), so loading peaks at the f32
    /// weights plus the largest single tensor in its stored dtype.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let cfg = LlamaConfig::from_file(&dir.join("config.json"))?;
        let files = weight_files(dir)?;
        let wanted: HashMap<String, Vec<usize>> = cfg.tensor_shapes().into_iter().collect();
        let mut tensors = HashMap::new();
        for file in &files {
            read_safetensors(file, &wanted, device, &mut tensors)?;
        }
        Self::from_tensors(cfg, tensors, device, dir)
    }

    /// Builds a model from named f32 tensors (HF names, see [`LlamaConfig::tensor_shapes`]). `origin`
    /// names the source in errors. Tensors that are candle `Var`s keep tracking gradients.
    pub fn from_tensors(
        cfg: LlamaConfig,
        mut tensors: HashMap<String, Tensor>,
        device: &Device,
        origin: &Path,
    ) -> Result<Self> {
        cfg.validate().map_err(|reason| RuntimeError::Config {
            path: origin.to_path_buf(),
            reason,
        })?;
        let mut take = |name: &str, shape: &[usize]| -> Result<Tensor> {
            let t = tensors
                .remove(name)
                .ok_or_else(|| RuntimeError::MissingTensor {
                    path: origin.to_path_buf(),
                    name: name.to_string(),
                })?;
            if t.dims() != shape {
                return Err(RuntimeError::TensorShape {
                    path: origin.to_path_buf(),
                    name: name.to_string(),
                    got: t.dims().to_vec(),
                    expected: shape.to_vec(),
                });
            }
            Ok(t.to_dtype(DType::F32)?.to_device(device)?)
        };
        let shapes: HashMap<String, Vec<usize>> = cfg.tensor_shapes().into_iter().collect();
        let shape = |name: &str| shapes.get(name).cloned().expect("name from tensor_shapes");
        let embed = take(
            "model.embed_tokens.weight",
            &shape("model.embed_tokens.weight"),
        )?;
        let mut blocks = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let p = format!("model.layers.{i}");
            let mut get = |s: &str| {
                let name = format!("{p}.{s}");
                take(&name, &shape(&name))
            };
            blocks.push(Block {
                input_norm: get("input_layernorm.weight")?,
                wq: get("self_attn.q_proj.weight")?,
                wk: get("self_attn.k_proj.weight")?,
                wv: get("self_attn.v_proj.weight")?,
                wo: get("self_attn.o_proj.weight")?,
                post_norm: get("post_attention_layernorm.weight")?,
                w_gate: get("mlp.gate_proj.weight")?,
                w_up: get("mlp.up_proj.weight")?,
                w_down: get("mlp.down_proj.weight")?,
            });
        }
        let norm = take("model.norm.weight", &shape("model.norm.weight"))?;
        let lm_head = if cfg.tie_word_embeddings {
            embed.clone()
        } else {
            take("lm_head.weight", &shape("lm_head.weight"))?
        };
        let inv_freq = cfg.inv_freq().map_err(|reason| RuntimeError::Config {
            path: origin.to_path_buf(),
            reason,
        })?;
        // Angles in f64, rounded once to f32 (as transformers does with its f32 inv_freq buffer the
        // error is at most a few ulps of the angle).
        let half = inv_freq.len();
        let n = cfg.max_position_embeddings;
        let mut cos = Vec::with_capacity(n * half);
        let mut sin = Vec::with_capacity(n * half);
        for pos in 0..n {
            for f in &inv_freq {
                let a = pos as f64 * (*f as f32) as f64;
                cos.push(a.cos() as f32);
                sin.push(a.sin() as f32);
            }
        }
        let cos = Tensor::from_vec(cos, (n, half), device)?;
        let sin = Tensor::from_vec(sin, (n, half), device)?;
        Ok(Self {
            cfg,
            device: device.clone(),
            embed,
            blocks,
            norm,
            lm_head,
            cos,
            sin,
            attention_block: DEFAULT_ATTENTION_BLOCK,
        })
    }

    /// Query rows per attention block in inference: scores are `[batch, heads, block, seq]`
    /// rather than `[batch, heads, seq, seq]`, which bounds memory for long contexts (8192 tokens
    /// x 16 heads would otherwise be 4 GiB of f32 scores). Results do not depend on it beyond float
    /// rounding. Training always uses one block.
    pub fn set_attention_block(&mut self, rows: usize) {
        self.attention_block = rows.max(1);
    }

    /// The model's configuration.
    pub fn config(&self) -> &LlamaConfig {
        &self.cfg
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Final-normed hidden states `[batch, seq, hidden]` for token ids `[batch, seq]` (u32).
    /// Attention is causal, so right padding never changes the states of earlier positions.
    pub fn hidden_states(&self, ids: &Tensor, mode: ForwardMode) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        if t > self.cfg.max_position_embeddings {
            return Err(RuntimeError::Options(format!(
                "sequence of {t} tokens exceeds max_position_embeddings {}",
                self.cfg.max_position_embeddings
            )));
        }
        let hsz = self.cfg.hidden_size;
        let nh = self.cfg.num_attention_heads;
        let nkv = self.cfg.kv_heads();
        let hd = self.cfg.head_dim();
        let eps = self.cfg.rms_norm_eps;
        let cos = self.cos.narrow(0, 0, t)?;
        let sin = self.sin.narrow(0, 0, t)?;
        let mask = causal_mask(t, &self.device)?;
        let scale = 1.0 / (hd as f64).sqrt();

        let flat_ids = ids.flatten_all()?;
        // x stays [b * t, hidden] between blocks: every linear layer is then one 2-D matmul.
        let mut x = self.embed.index_select(&flat_ids, 0)?;
        for blk in &self.blocks {
            let h = rms_norm(&x, &blk.input_norm, eps, mode)?;
            let q = linear(&h, &blk.wq)?
                .reshape((b, t, nh, hd))?
                .transpose(1, 2)?
                .contiguous()?;
            let k = linear(&h, &blk.wk)?
                .reshape((b, t, nkv, hd))?
                .transpose(1, 2)?
                .contiguous()?;
            let v = linear(&h, &blk.wv)?
                .reshape((b, t, nkv, hd))?
                .transpose(1, 2)?
                .contiguous()?;
            let (q, k) = match mode {
                ForwardMode::Inference => (
                    candle_nn::rotary_emb::rope(&q, &cos, &sin)?,
                    candle_nn::rotary_emb::rope(&k, &cos, &sin)?,
                ),
                ForwardMode::Training => (
                    candle_nn::rotary_emb::rope_slow(&q, &cos, &sin)?,
                    candle_nn::rotary_emb::rope_slow(&k, &cos, &sin)?,
                ),
            };
            let (k, v) = (repeat_kv(&k, nh / nkv)?, repeat_kv(&v, nh / nkv)?);
            let y = attention(&q, &k, &v, &mask, scale, mode, self.attention_block)?
                .transpose(1, 2)?
                .reshape((b * t, nh * hd))?;
            x = (x + linear(&y, &blk.wo)?)?;

            let h = rms_norm(&x, &blk.post_norm, eps, mode)?;
            let gate = linear(&h, &blk.w_gate)?.silu()?;
            let up = linear(&h, &blk.w_up)?;
            x = (x + linear(&(gate * up)?, &blk.w_down)?)?;
        }
        let x = rms_norm(&x, &self.norm, eps, mode)?;
        Ok(x.reshape((b, t, hsz))?)
    }

    /// Full logits `[rows, vocab]` for hidden states `[rows, hidden]`. Used by training, where the
    /// vocabulary is small; evaluation uses [`Llama::token_nll`], which never holds them all.
    pub fn logits(&self, hidden: &Tensor) -> Result<Tensor> {
        Ok(linear(hidden, &self.lm_head)?)
    }

    /// Negative log-likelihood (natural log) of `targets[i]` under the next-token distribution read
    /// from `hidden[i]` (`[rows, hidden]`, final-normed). The log-softmax runs over `pos_block` rows
    /// times `vocab_block` vocabulary entries at a time with an online log-sum-exp, so at most
    /// `pos_block * vocab_block` logits exist at once.
    pub fn token_nll(
        &self,
        hidden: &Tensor,
        targets: &[u32],
        pos_block: usize,
        vocab_block: usize,
    ) -> Result<Vec<f64>> {
        let (rows, _) = hidden.dims2()?;
        if rows != targets.len() {
            return Err(RuntimeError::Options(format!(
                "{rows} hidden rows for {} targets",
                targets.len()
            )));
        }
        let vocab = self.cfg.vocab_size;
        let pos_block = pos_block.max(1);
        let vocab_block = vocab_block.clamp(1, vocab);
        let mut out = Vec::with_capacity(rows);
        let mut r0 = 0;
        while r0 < rows {
            let n = pos_block.min(rows - r0);
            let h = hidden.narrow(0, r0, n)?;
            let tgt = Tensor::new(&targets[r0..r0 + n], &self.device)?;
            let target_logit: Vec<f32> = (&h * self.lm_head.index_select(&tgt, 0)?)?
                .sum(1)?
                .to_vec1()?;
            let mut run_max = vec![f64::NEG_INFINITY; n];
            let mut run_sum = vec![0f64; n];
            let mut v0 = 0;
            while v0 < vocab {
                let vb = vocab_block.min(vocab - v0);
                let logits = linear(&h, &self.lm_head.narrow(0, v0, vb)?)?;
                let m = logits.max_keepdim(1)?;
                let s: Vec<f32> = logits.broadcast_sub(&m)?.exp()?.sum(1)?.to_vec1()?;
                let m: Vec<f32> = m.squeeze(1)?.to_vec1()?;
                for i in 0..n {
                    let (mb, sb) = (m[i] as f64, s[i] as f64);
                    let new_max = run_max[i].max(mb);
                    run_sum[i] =
                        run_sum[i] * (run_max[i] - new_max).exp() + sb * (mb - new_max).exp();
                    run_max[i] = new_max;
                }
                v0 += vb;
            }
            for i in 0..n {
                out.push(run_max[i] + run_sum[i].ln() - target_logit[i] as f64);
            }
            r0 += n;
        }
        Ok(out)
    }

    /// The weights under their HF names (a tied model has no `lm_head.weight`), e.g. to save them.
    pub fn named_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![("model.embed_tokens.weight".to_string(), self.embed.clone())];
        for (i, b) in self.blocks.iter().enumerate() {
            let p = format!("model.layers.{i}");
            for (s, t) in [
                ("input_layernorm.weight", &b.input_norm),
                ("self_attn.q_proj.weight", &b.wq),
                ("self_attn.k_proj.weight", &b.wk),
                ("self_attn.v_proj.weight", &b.wv),
                ("self_attn.o_proj.weight", &b.wo),
                ("post_attention_layernorm.weight", &b.post_norm),
                ("mlp.gate_proj.weight", &b.w_gate),
                ("mlp.up_proj.weight", &b.w_up),
                ("mlp.down_proj.weight", &b.w_down),
            ] {
                out.push((format!("{p}.{s}"), t.clone()));
            }
        }
        out.push(("model.norm.weight".to_string(), self.norm.clone()));
        if !self.cfg.tie_word_embeddings {
            out.push(("lm_head.weight".to_string(), self.lm_head.clone()));
        }
        out
    }

    /// Writes `dir/config.json` and `dir/model.safetensors` (f32), loadable by [`Llama::load`] and by
    /// transformers' `LlamaForCausalLM.from_pretrained`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| RuntimeError::io(dir, e))?;
        self.cfg.to_file(&dir.join("config.json"))?;
        let path = dir.join("model.safetensors");
        let map: HashMap<String, Tensor> = self
            .named_tensors()
            .into_iter()
            .map(|(n, t)| (n, t.detach()))
            .collect();
        let mut metadata = HashMap::new();
        metadata.insert("format".to_string(), "pt".to_string());
        let views: Vec<(String, Vec<u8>, Vec<usize>)> = {
            let mut names: Vec<&String> = map.keys().collect();
            names.sort();
            let mut v = Vec::with_capacity(names.len());
            for name in names {
                let t = &map[name];
                let data: Vec<f32> = t.flatten_all()?.to_vec1()?;
                let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
                v.push((name.clone(), bytes, t.dims().to_vec()));
            }
            v
        };
        let mut tensors = Vec::with_capacity(views.len());
        for (name, bytes, shape) in &views {
            let view =
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                    .map_err(|e| RuntimeError::Safetensors {
                        path: path.clone(),
                        reason: e.to_string(),
                    })?;
            tensors.push((name.clone(), view));
        }
        safetensors::serialize_to_file(tensors, Some(metadata), &path).map_err(|e| {
            RuntimeError::Safetensors {
                path: path.clone(),
                reason: e.to_string(),
            }
        })
    }
}

/// Causal attention of `q`, `k`, `v` (`[b, heads, t, d]`, k/v already repeated for GQA). In
/// inference the queries go `block` rows at a time; each row's softmax sees the whole key range.
fn attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: &Tensor,
    scale: f64,
    mode: ForwardMode,
    block: usize,
) -> candle_core::Result<Tensor> {
    let t = q.dim(2)?;
    let kt = k.t()?;
    if mode == ForwardMode::Training {
        let scores = (q.matmul(&kt)? * scale)?.broadcast_add(mask)?;
        return candle_nn::ops::softmax(&scores, D::Minus1)?.matmul(v);
    }
    let mut outs = Vec::with_capacity(t.div_ceil(block));
    let mut r0 = 0;
    while r0 < t {
        let n = block.min(t - r0);
        // Keys after the block's last row are masked for every row of the block: skip them.
        let keys = r0 + n;
        let qb = q.narrow(2, r0, n)?;
        let scores = (qb.matmul(&kt.narrow(3, 0, keys)?)? * scale)?
            .broadcast_add(&mask.narrow(0, r0, n)?.narrow(1, 0, keys)?)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        outs.push(probs.matmul(&v.narrow(2, 0, keys)?)?);
        r0 += n;
    }
    if outs.len() == 1 {
        return Ok(outs.pop().expect("one block"));
    }
    Tensor::cat(&outs, 2)
}

/// `[t, t]` additive mask: 0 on and below the diagonal, -inf above.
fn causal_mask(t: usize, device: &Device) -> candle_core::Result<Tensor> {
    let mask: Vec<f32> = (0..t)
        .flat_map(|i| (0..t).map(move |j| if j > i { f32::NEG_INFINITY } else { 0.0 }))
        .collect();
    Tensor::from_vec(mask, (t, t), device)
}

/// `[b, nkv, t, d]` -> `[b, nkv * rep, t, d]`, each key/value head serving `rep` query heads.
fn repeat_kv(x: &Tensor, rep: usize) -> candle_core::Result<Tensor> {
    if rep == 1 {
        return Ok(x.clone());
    }
    let (b, nkv, t, d) = x.dims4()?;
    x.unsqueeze(2)?
        .expand((b, nkv, rep, t, d))?
        .reshape((b, nkv * rep, t, d))
}

/// The weight files of a model directory: the shards named by the index, or the single file.
fn weight_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let index = dir.join("model.safetensors.index.json");
    if index.exists() {
        let text = std::fs::read_to_string(&index).map_err(|e| RuntimeError::io(&index, e))?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|source| RuntimeError::Json {
                path: index.clone(),
                source,
            })?;
        let map = json
            .get("weight_map")
            .and_then(|m| m.as_object())
            .ok_or_else(|| RuntimeError::Safetensors {
                path: index.clone(),
                reason: "no `weight_map` object".into(),
            })?;
        let mut files: Vec<String> = Vec::new();
        for (name, file) in map {
            let file = file.as_str().ok_or_else(|| RuntimeError::Safetensors {
                path: index.clone(),
                reason: format!("`weight_map.{name}` is not a file name"),
            })?;
            if file.contains('/') || file.contains('\\') || file == ".." {
                return Err(RuntimeError::Safetensors {
                    path: index.clone(),
                    reason: format!("`weight_map.{name}` = {file:?} is not a plain file name"),
                });
            }
            files.push(file.to_string());
        }
        files.sort();
        files.dedup();
        return Ok(files.into_iter().map(|f| dir.join(f)).collect());
    }
    let single = dir.join("model.safetensors");
    if single.exists() {
        return Ok(vec![single]);
    }
    Err(RuntimeError::io(
        &single,
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "neither model.safetensors nor model.safetensors.index.json exists",
        ),
    ))
}

/// Reads the wanted tensors of one safetensors file into `out` as f32, checking their shapes.
///
/// The file is not read whole: the JSON header is parsed, then each tensor's byte range is read
/// and converted on its own, so loading peaks at the f32 weights plus the largest single tensor.
fn read_safetensors(
    path: &Path,
    wanted: &HashMap<String, Vec<usize>>,
    device: &Device,
    out: &mut HashMap<String, Tensor>,
) -> Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let bad = |reason: String| RuntimeError::Safetensors {
        path: path.to_path_buf(),
        reason,
    };
    let io = |e: std::io::Error| RuntimeError::io(path, e);
    let mut f = std::fs::File::open(path).map_err(io)?;
    let file_len = f.metadata().map_err(io)?.len();
    let mut len = [0u8; 8];
    f.read_exact(&mut len)
        .map_err(|_| bad("shorter than the 8-byte header length".into()))?;
    let header_len = u64::from_le_bytes(len);
    // The format caps the header at 100 MB; anything beyond the file is corruption.
    if header_len > 100_000_000 || 8 + header_len > file_len {
        return Err(bad(format!(
            "header length {header_len} does not fit a {file_len}-byte file"
        )));
    }
    let mut header = vec![0u8; header_len as usize];
    f.read_exact(&mut header).map_err(io)?;
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&header)
        .map_err(|e| bad(format!("header is not a JSON object: {e}")))?;
    let data_start = 8 + header_len;

    struct Entry {
        name: String,
        dtype: String,
        shape: Vec<usize>,
        begin: u64,
        end: u64,
    }
    let mut entries = Vec::new();
    for (name, info) in &header {
        if name == "__metadata__" || !wanted.contains_key(name) {
            continue; // e.g. rotary inv_freq buffers of old checkpoints
        }
        let field = |k: &str| {
            info.get(k)
                .ok_or_else(|| bad(format!("tensor `{name}` has no `{k}`")))
        };
        let dtype = field("dtype")?
            .as_str()
            .ok_or_else(|| bad(format!("tensor `{name}`: dtype is not a string")))?
            .to_string();
        let shape = field("shape")?
            .as_array()
            .and_then(|a| {
                a.iter()
                    .map(|d| d.as_u64().map(|d| d as usize))
                    .collect::<Option<Vec<_>>>()
            })
            .ok_or_else(|| bad(format!("tensor `{name}`: bad shape")))?;
        let offsets = field("data_offsets")?
            .as_array()
            .and_then(|a| match a.as_slice() {
                [b, e] => Some((b.as_u64()?, e.as_u64()?)),
                _ => None,
            })
            .ok_or_else(|| bad(format!("tensor `{name}`: bad data_offsets")))?;
        entries.push(Entry {
            name: name.clone(),
            dtype,
            shape,
            begin: offsets.0,
            end: offsets.1,
        });
    }
    entries.sort_by_key(|e| e.begin); // read the file front to back

    for e in entries {
        let expected = &wanted[&e.name];
        if &e.shape != expected {
            return Err(RuntimeError::TensorShape {
                path: path.to_path_buf(),
                name: e.name,
                got: e.shape,
                expected: expected.clone(),
            });
        }
        let width = match e.dtype.as_str() {
            "F32" => 4,
            "BF16" | "F16" => 2,
            _ => {
                return Err(RuntimeError::TensorDType {
                    path: path.to_path_buf(),
                    name: e.name,
                    dtype: e.dtype,
                });
            }
        };
        let numel: usize = e.shape.iter().product();
        if e.end < e.begin
            || e.end - e.begin != (numel * width) as u64
            || data_start + e.end > file_len
        {
            return Err(bad(format!(
                "tensor `{}`: data_offsets {}..{} do not hold {numel} {} values within the file",
                e.name, e.begin, e.end, e.dtype
            )));
        }
        let mut data = vec![0u8; (e.end - e.begin) as usize];
        f.seek(SeekFrom::Start(data_start + e.begin)).map_err(io)?;
        f.read_exact(&mut data).map_err(io)?;
        let values: Vec<f32> = match e.dtype.as_str() {
            "F32" => data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            "BF16" => data
                .chunks_exact(2)
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            _ => data
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
        };
        drop(data);
        let t = Tensor::from_vec(values, e.shape.as_slice(), device)?;
        out.insert(e.name, t);
    }
    Ok(())
}
