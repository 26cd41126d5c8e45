//! The Hugging Face `config.json` of a Llama-family model, validated into what the runtime needs.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Result, RuntimeError};

fn default_rms_eps() -> f64 {
    // transformers' LlamaConfig default.
    1e-6
}
fn default_theta() -> f64 {
    10_000.0
}
fn default_max_pos() -> usize {
    2048
}

/// A Llama-family `config.json`, as written by transformers. Unknown keys are ignored (HF configs carry
/// many that do not change the computation); keys that would change it but that we do not implement
/// (biases, another activation) are rejected by [`LlamaConfig::validate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlamaConfig {
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    /// Absent means multi-head attention (as many key/value heads as query heads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_key_value_heads: Option<usize>,
    /// Absent means `hidden_size / num_attention_heads`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_dim: Option<usize>,
    pub vocab_size: usize,
    #[serde(default = "default_rms_eps")]
    pub rms_norm_eps: f64,
    #[serde(default = "default_theta")]
    pub rope_theta: f64,
    #[serde(default)]
    pub rope_scaling: Option<RopeScalingConfig>,
    /// transformers 5 writes theta and scaling together here; when present it wins over
    /// `rope_theta` and `rope_scaling`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rope_parameters: Option<RopeScalingConfig>,
    #[serde(default = "default_max_pos")]
    pub max_position_embeddings: usize,
    #[serde(default)]
    pub tie_word_embeddings: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bos_token_id: Option<u32>,
    /// An id or a list of ids in HF configs; kept as JSON and not used by the runtime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eos_token_id: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden_act: Option<String>,
    #[serde(default)]
    pub attention_bias: bool,
    #[serde(default)]
    pub mlp_bias: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub torch_dtype: Option<String>,
}

/// The raw `rope_scaling` object. transformers spells the kind `rope_type` (new) or `type` (old).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RopeScalingConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rope_type: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_freq_factor: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_freq_factor: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_max_position_embeddings: Option<usize>,
    /// Only in transformers 5 `rope_parameters`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rope_theta: Option<f64>,
}

/// The RoPE frequency scaling the runtime implements (transformers' `ROPE_INIT_FUNCTIONS` names).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RopeScaling {
    /// Plain RoPE: `inv_freq[i] = theta^(-2i/d)`.
    None,
    /// Position interpolation: every frequency divided by `factor`.
    Linear { factor: f64 },
    /// Llama 3.1: long wavelengths divided by `factor`, short ones kept, a smooth ramp between.
    Llama3 {
        factor: f64,
        low_freq_factor: f64,
        high_freq_factor: f64,
        original_max_position_embeddings: usize,
    },
}

impl LlamaConfig {
    /// Reads and validates `path` (a `config.json`).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| RuntimeError::io(path, e))?;
        let cfg: Self = serde_json::from_str(&text).map_err(|source| RuntimeError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        cfg.validate().map_err(|reason| RuntimeError::Config {
            path: path.to_path_buf(),
            reason,
        })?;
        Ok(cfg)
    }

    /// Writes the config as pretty JSON (what [`crate::train_small`] checkpoints carry).
    pub fn to_file(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|source| RuntimeError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        std::fs::write(path, text).map_err(|e| RuntimeError::io(path, e))
    }

    /// Key/value heads (equal to the query heads when the config leaves it out).
    pub fn kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    /// Dimension of one attention head.
    pub fn head_dim(&self) -> usize {
        self.head_dim
            .unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }

    /// Checks that the runtime can run this config; the message names the offending key.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("vocab_size", self.vocab_size),
            ("max_position_embeddings", self.max_position_embeddings),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(format!("`{key}` must be positive"));
            }
        }
        let kv = self.kv_heads();
        if kv == 0 || self.num_attention_heads % kv != 0 {
            return Err(format!(
                "`num_attention_heads` ({}) must be a multiple of `num_key_value_heads` ({kv})",
                self.num_attention_heads
            ));
        }
        if self.head_dim.is_none() && self.hidden_size % self.num_attention_heads != 0 {
            return Err(format!(
                "`hidden_size` ({}) is not divisible by `num_attention_heads` ({})",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if self.head_dim() % 2 != 0 || self.head_dim() == 0 {
            return Err(format!("head dimension {} must be even", self.head_dim()));
        }
        if self.rms_norm_eps.is_nan() || self.rms_norm_eps <= 0.0 {
            return Err("`rms_norm_eps` must be positive".into());
        }
        if self.theta().is_nan() || self.theta() <= 0.0 {
            return Err("`rope_theta` must be positive".into());
        }
        if let Some(act) = &self.hidden_act
            && act != "silu"
            && act != "swish"
        {
            return Err(format!(
                "`hidden_act` = {act:?}: only SwiGLU (\"silu\") is implemented"
            ));
        }
        if self.attention_bias || self.mlp_bias {
            return Err("`attention_bias`/`mlp_bias` = true is not implemented".into());
        }
        self.rope_scaling()?;
        Ok(())
    }

    /// RoPE base: `rope_parameters.rope_theta` if given, else `rope_theta`.
    pub fn theta(&self) -> f64 {
        self.rope_parameters
            .as_ref()
            .and_then(|p| p.rope_theta)
            .unwrap_or(self.rope_theta)
    }

    /// The validated RoPE scaling (from `rope_parameters` if present, else `rope_scaling`).
    pub fn rope_scaling(&self) -> Result<RopeScaling, String> {
        let Some(raw) = self.rope_parameters.as_ref().or(self.rope_scaling.as_ref()) else {
            return Ok(RopeScaling::None);
        };
        let kind = raw
            .rope_type
            .as_deref()
            .or(raw.kind.as_deref())
            .unwrap_or("default");
        let factor = || match raw.factor {
            Some(f) if f > 0.0 => Ok(f),
            _ => Err(format!(
                "`rope_scaling.factor` must be a positive number for {kind:?}"
            )),
        };
        match kind {
            "default" => Ok(RopeScaling::None),
            "linear" => Ok(RopeScaling::Linear { factor: factor()? }),
            "llama3" => {
                let low = raw.low_freq_factor.unwrap_or(1.0);
                let high = raw.high_freq_factor.unwrap_or(4.0);
                if high.is_nan() || low.is_nan() || high <= low || low <= 0.0 {
                    return Err(
                        "`rope_scaling`: need high_freq_factor > low_freq_factor > 0".into(),
                    );
                }
                Ok(RopeScaling::Llama3 {
                    factor: factor()?,
                    low_freq_factor: low,
                    high_freq_factor: high,
                    original_max_position_embeddings: raw
                        .original_max_position_embeddings
                        .unwrap_or(8192),
                })
            }
            other => Err(format!(
                "`rope_scaling` type {other:?} is not implemented (supported: default, linear, llama3)"
            )),
        }
    }

    /// RoPE inverse frequencies (`head_dim / 2` of them) after scaling, computed in f64.
    pub fn inv_freq(&self) -> Result<Vec<f64>, String> {
        let d = self.head_dim();
        let base: Vec<f64> = (0..d / 2)
            .map(|i| 1.0 / self.theta().powf(2.0 * i as f64 / d as f64))
            .collect();
        Ok(match self.rope_scaling()? {
            RopeScaling::None => base,
            RopeScaling::Linear { factor } => base.into_iter().map(|f| f / factor).collect(),
            RopeScaling::Llama3 {
                factor,
                low_freq_factor,
                high_freq_factor,
                original_max_position_embeddings,
            } => {
                let old = original_max_position_embeddings as f64;
                let low_wavelen = old / low_freq_factor;
                let high_wavelen = old / high_freq_factor;
                base.into_iter()
                    .map(|f| {
                        let wavelen = 2.0 * std::f64::consts::PI / f;
                        if wavelen < high_wavelen {
                            f
                        } else if wavelen > low_wavelen {
                            f / factor
                        } else {
                            let smooth = (old / wavelen - low_freq_factor)
                                / (high_freq_factor - low_freq_factor);
                            (1.0 - smooth) * f / factor + smooth * f
                        }
                    })
                    .collect()
            }
        })
    }

    /// Number of parameters, counting a tied embedding once.
    pub fn param_count(&self) -> u64 {
        let h = self.hidden_size as u64;
        let q = (self.num_attention_heads * self.head_dim()) as u64;
        let kv = (self.kv_heads() * self.head_dim()) as u64;
        let inter = self.intermediate_size as u64;
        let vocab = self.vocab_size as u64;
        let attention = h * q + 2 * h * kv + q * h;
        let mlp = 3 * h * inter;
        let norms = 2 * h;
        let layers = self.num_hidden_layers as u64 * (attention + mlp + norms);
        let embeddings = if self.tie_word_embeddings {
            vocab * h
        } else {
            2 * vocab * h
        };
        embeddings + layers + h
    }

    /// Every weight the model needs, with its shape, in HF names.
    pub fn tensor_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let h = self.hidden_size;
        let q = self.num_attention_heads * self.head_dim();
        let kv = self.kv_heads() * self.head_dim();
        let inter = self.intermediate_size;
        let mut out = vec![(
            "model.embed_tokens.weight".to_string(),
            vec![self.vocab_size, h],
        )];
        for i in 0..self.num_hidden_layers {
            let p = format!("model.layers.{i}");
            out.push((format!("{p}.input_layernorm.weight"), vec![h]));
            out.push((format!("{p}.self_attn.q_proj.weight"), vec![q, h]));
            out.push((format!("{p}.self_attn.k_proj.weight"), vec![kv, h]));
            out.push((format!("{p}.self_attn.v_proj.weight"), vec![kv, h]));
            out.push((format!("{p}.self_attn.o_proj.weight"), vec![h, q]));
            out.push((format!("{p}.post_attention_layernorm.weight"), vec![h]));
            out.push((format!("{p}.mlp.gate_proj.weight"), vec![inter, h]));
            out.push((format!("{p}.mlp.up_proj.weight"), vec![inter, h]));
            out.push((format!("{p}.mlp.down_proj.weight"), vec![h, inter]));
        }
        out.push(("model.norm.weight".to_string(), vec![h]));
        if !self.tie_word_embeddings {
            out.push(("lm_head.weight".to_string(), vec![self.vocab_size, h]));
        }
        out
    }
}
