//! Test support: tiny random Llama checkpoints written with the `safetensors` crate, and an
//! independent naive forward pass in plain Rust loops (no candle) to check the runtime against.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::json;

/// Weights by HF name: (row-major values as the model will see them, shape).
pub type Weights = BTreeMap<String, (Vec<f32>, Vec<usize>)>;

pub struct Tiny {
    pub hidden: usize,
    pub inter: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub vocab: usize,
    pub max_pos: usize,
    pub theta: f64,
    pub eps: f64,
    pub tied: bool,
    /// `rope_scaling` JSON (or null).
    pub scaling: serde_json::Value,
    pub bos: u32,
}

impl Default for Tiny {
    fn default() -> Self {
        Self {
            hidden: 32,
            inter: 48,
            layers: 2,
            heads: 4,
            kv_heads: 2,
            vocab: 61,
            max_pos: 64,
            theta: 10_000.0,
            eps: 1e-5,
            tied: false,
            scaling: serde_json::Value::Null,
            bos: 1,
        }
    }
}

impl Tiny {
    pub fn head_dim(&self) -> usize {
        self.hidden / self.heads
    }

    pub fn config_json(&self) -> serde_json::Value {
        json!({
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "hidden_size": self.hidden,
            "intermediate_size": self.inter,
            "num_hidden_layers": self.layers,
            "num_attention_heads": self.heads,
            "num_key_value_heads": self.kv_heads,
            "vocab_size": self.vocab,
            "max_position_embeddings": self.max_pos,
            "rope_theta": self.theta,
            "rope_scaling": self.scaling,
            "rms_norm_eps": self.eps,
            "tie_word_embeddings": self.tied,
            "hidden_act": "silu",
            "bos_token_id": self.bos,
            "eos_token_id": 2,
            "torch_dtype": "float32",
        })
    }

    /// Random weights from a seeded xorshift; norms near 1, matrices with std ~`scale`.
    pub fn random_weights(&self, seed: u64) -> Weights {
        let mut state = seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // uniform in [-1, 1)
            (state >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        };
        let (h, i, hd) = (self.hidden, self.inter, self.head_dim());
        let (q, kv) = (self.heads * hd, self.kv_heads * hd);
        let mut shapes: Vec<(String, Vec<usize>)> =
            vec![("model.embed_tokens.weight".into(), vec![self.vocab, h])];
        for l in 0..self.layers {
            let p = format!("model.layers.{l}");
            shapes.push((format!("{p}.input_layernorm.weight"), vec![h]));
            shapes.push((format!("{p}.self_attn.q_proj.weight"), vec![q, h]));
            shapes.push((format!("{p}.self_attn.k_proj.weight"), vec![kv, h]));
            shapes.push((format!("{p}.self_attn.v_proj.weight"), vec![kv, h]));
            shapes.push((format!("{p}.self_attn.o_proj.weight"), vec![h, q]));
            shapes.push((format!("{p}.post_attention_layernorm.weight"), vec![h]));
            shapes.push((format!("{p}.mlp.gate_proj.weight"), vec![i, h]));
            shapes.push((format!("{p}.mlp.up_proj.weight"), vec![i, h]));
            shapes.push((format!("{p}.mlp.down_proj.weight"), vec![h, i]));
        }
        shapes.push(("model.norm.weight".into(), vec![h]));
        if !self.tied {
            shapes.push(("lm_head.weight".into(), vec![self.vocab, h]));
        }
        let mut out = Weights::new();
        for (name, shape) in shapes {
            let n: usize = shape.iter().product();
            let vals: Vec<f32> = if name.ends_with("norm.weight") {
                (0..n).map(|_| (1.0 + 0.2 * next()) as f32).collect()
            } else {
                // ~ N(0, 1/fan_in)-ish scale so activations stay O(1) and logits are spread.
                let fan_in = shape[1] as f64;
                let scale = if name.contains("embed") {
                    1.0
                } else {
                    1.7 / fan_in.sqrt()
                };
                (0..n).map(|_| (scale * next()) as f32).collect()
            };
            out.insert(name, (vals, shape));
        }
        out
    }
}

/// Rounds every weight to bf16 (what a bf16 checkpoint holds).
pub fn round_bf16(w: &Weights) -> Weights {
    w.iter()
        .map(|(k, (v, s))| {
            let r = v
                .iter()
                .map(|x| half::bf16::from_f32(*x).to_f32())
                .collect();
            (k.clone(), (r, s.clone()))
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Store {
    F32,
    Bf16,
}

fn serialize(w: &Weights, names: &[&String], store: Store, path: &Path) {
    let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = names
        .iter()
        .map(|n| {
            let (v, s) = &w[*n];
            let b: Vec<u8> = match store {
                Store::F32 => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                Store::Bf16 => v
                    .iter()
                    .flat_map(|x| half::bf16::from_f32(*x).to_le_bytes())
                    .collect(),
            };
            ((*n).clone(), b, s.clone())
        })
        .collect();
    let dtype = match store {
        Store::F32 => safetensors::Dtype::F32,
        Store::Bf16 => safetensors::Dtype::BF16,
    };
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = bytes
        .iter()
        .map(|(n, b, s)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(dtype, s.clone(), b).expect("valid view"),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, path).expect("write safetensors");
}

/// Writes `dir/config.json` and the weights, in one file or in `shards` files with an index.
pub fn write_model(dir: &Path, tiny: &Tiny, w: &Weights, store: Store, shards: usize) {
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_string_pretty(&tiny.config_json()).expect("json"),
    )
    .expect("write config");
    let names: Vec<&String> = w.keys().collect();
    if shards <= 1 {
        serialize(w, &names, store, &dir.join("model.safetensors"));
        return;
    }
    let per = names.len().div_ceil(shards);
    let mut map = serde_json::Map::new();
    for (k, chunk) in names.chunks(per).enumerate() {
        let file = format!("model-{:05}-of-{:05}.safetensors", k + 1, shards);
        serialize(w, chunk, store, &dir.join(&file));
        for n in chunk {
            map.insert((*n).clone(), json!(file));
        }
    }
    let index = json!({"metadata": {"total_size": 0}, "weight_map": map});
    std::fs::write(
        dir.join("model.safetensors.index.json"),
        serde_json::to_string(&index).expect("json"),
    )
    .expect("write index");
}

fn matvec(w: &[f32], rows: usize, cols: usize, x: &[f64]) -> Vec<f64> {
    (0..rows)
        .map(|r| (0..cols).map(|c| w[r * cols + c] as f64 * x[c]).sum())
        .collect()
}

fn rmsnorm(x: &[f64], w: &[f32], eps: f64) -> Vec<f64> {
    let ms = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
    let r = 1.0 / (ms + eps).sqrt();
    x.iter().zip(w).map(|(v, g)| v * r * *g as f64).collect()
}

/// RoPE inverse frequencies, written from the transformers formulas independently of the crate.
pub fn naive_inv_freq(tiny: &Tiny) -> Vec<f64> {
    let d = tiny.head_dim();
    let mut f: Vec<f64> = (0..d / 2)
        .map(|i| tiny.theta.powf(-((2 * i) as f64) / d as f64))
        .collect();
    let kind = tiny
        .scaling
        .get("rope_type")
        .or_else(|| tiny.scaling.get("type"))
        .and_then(|v| v.as_str())
        .unwrap_or("default");
    let factor = tiny
        .scaling
        .get("factor")
        .and_then(|v| v.as_f64())
        .unwrap_or(1.0);
    match kind {
        "linear" => f.iter_mut().for_each(|x| *x /= factor),
        "llama3" => {
            let lo = tiny.scaling["low_freq_factor"].as_f64().expect("lo");
            let hi = tiny.scaling["high_freq_factor"].as_f64().expect("hi");
            let old = tiny.scaling["original_max_position_embeddings"]
                .as_f64()
                .expect("old");
            for x in f.iter_mut() {
                let wavelen = 2.0 * std::f64::consts::PI / *x;
                if wavelen > old / lo {
                    *x /= factor;
                } else if wavelen >= old / hi {
                    let s = (old / wavelen - lo) / (hi - lo);
                    *x = (1.0 - s) * *x / factor + s * *x;
                }
            }
        }
        _ => {}
    }
    f
}

/// Naive forward: for a token sequence, the NLL (nats) of `seq[j + 1]` given `seq[..=j]`, for
/// every j. Plain f64 loops over the weights.
pub fn naive_nll(tiny: &Tiny, w: &Weights, seq: &[u32]) -> Vec<f64> {
    let (h, inter, hd) = (tiny.hidden, tiny.inter, tiny.head_dim());
    let (nh, nkv) = (tiny.heads, tiny.kv_heads);
    let t = seq.len();
    let get = |n: &str| &w[n].0;
    let inv = naive_inv_freq(tiny);
    let embed = get("model.embed_tokens.weight");
    let mut x: Vec<Vec<f64>> = seq
        .iter()
        .map(|&id| (0..h).map(|c| embed[id as usize * h + c] as f64).collect())
        .collect();
    let rope = |v: &mut [f64], pos: usize| {
        let half = hd / 2;
        for i in 0..half {
            let a = pos as f64 * inv[i];
            let (c, s) = (a.cos(), a.sin());
            let (x1, x2) = (v[i], v[i + half]);
            v[i] = x1 * c - x2 * s;
            v[i + half] = x2 * c + x1 * s;
        }
    };
    for l in 0..tiny.layers {
        let p = format!("model.layers.{l}");
        let g = |s: &str| get(&format!("{p}.{s}"));
        let mut q = Vec::new();
        let mut k = Vec::new();
        let mut v = Vec::new();
        for (pos, xi) in x.iter().enumerate() {
            let hn = rmsnorm(xi, g("input_layernorm.weight"), tiny.eps);
            let mut qi = matvec(g("self_attn.q_proj.weight"), nh * hd, h, &hn);
            let mut ki = matvec(g("self_attn.k_proj.weight"), nkv * hd, h, &hn);
            for head in 0..nh {
                rope(&mut qi[head * hd..(head + 1) * hd], pos);
            }
            for head in 0..nkv {
                rope(&mut ki[head * hd..(head + 1) * hd], pos);
            }
            q.push(qi);
            k.push(ki);
            v.push(matvec(g("self_attn.v_proj.weight"), nkv * hd, h, &hn));
        }
        for i in 0..t {
            let mut attn = vec![0f64; nh * hd];
            for head in 0..nh {
                let kvh = head / (nh / nkv);
                let qs = &q[i][head * hd..(head + 1) * hd];
                let scores: Vec<f64> = (0..=i)
                    .map(|j| {
                        let ks = &k[j][kvh * hd..(kvh + 1) * hd];
                        qs.iter().zip(ks).map(|(a, b)| a * b).sum::<f64>() / (hd as f64).sqrt()
                    })
                    .collect();
                let m = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = scores.iter().map(|s| (s - m).exp()).collect();
                let z: f64 = e.iter().sum();
                for (j, ej) in e.iter().enumerate() {
                    for d in 0..hd {
                        attn[head * hd + d] += ej / z * v[j][kvh * hd + d];
                    }
                }
            }
            let o = matvec(g("self_attn.o_proj.weight"), h, nh * hd, &attn);
            for c in 0..h {
                x[i][c] += o[c];
            }
            let hn = rmsnorm(&x[i], g("post_attention_layernorm.weight"), tiny.eps);
            let gate = matvec(g("mlp.gate_proj.weight"), inter, h, &hn);
            let up = matvec(g("mlp.up_proj.weight"), inter, h, &hn);
            let act: Vec<f64> = gate
                .iter()
                .zip(&up)
                .map(|(a, b)| a / (1.0 + (-a).exp()) * b)
                .collect();
            let d = matvec(g("mlp.down_proj.weight"), h, inter, &act);
            for c in 0..h {
                x[i][c] += d[c];
            }
        }
    }
    let head = if tiny.tied {
        get("model.embed_tokens.weight")
    } else {
        get("lm_head.weight")
    };
    (0..t.saturating_sub(1))
        .map(|j| {
            let hn = rmsnorm(&x[j], get("model.norm.weight"), tiny.eps);
            let logits = matvec(head, tiny.vocab, h, &hn);
            let m = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let lse = m + logits.iter().map(|z| (z - m).exp()).sum::<f64>().ln();
            lse - logits[seq[j + 1] as usize]
        })
        .collect()
}

/// Deterministic pseudo-random token documents of the given lengths.
pub fn docs(vocab: usize, lens: &[usize], seed: u64) -> Vec<Vec<u32>> {
    let mut s = seed | 1;
    lens.iter()
        .map(|&n| {
            (0..n)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    (3 + s % (vocab as u64 - 3)) as u32
                })
                .collect()
        })
        .collect()
}

pub fn assert_rel(got: f64, want: f64, tol: f64, what: &str) {
    let rel = (got - want).abs() / want.abs().max(1e-12);
    assert!(
        rel <= tol,
        "{what}: got {got}, want {want}, relative error {rel:e} > {tol:e}"
    );
}
