//! `train_small`: train a tiny Llama from scratch on token documents, for data ablations.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
use serde::{Deserialize, Serialize};

use crate::config::LlamaConfig;
use crate::error::{Result, RuntimeError};
use crate::eval::{EvalDoc, EvalOptions, EvalReport, WindowMode, evaluate};
use crate::model::{ForwardMode, Llama};
use crate::rng::SplitMix64;

/// Settings of a training run. Two runs with the same options and data give the same weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Architecture of the model to train (e.g. [`TrainOptions::tiny_config`]).
    pub model: LlamaConfig,
    pub steps: usize,
    /// Sequences per step.
    pub batch: usize,
    /// Tokens per sequence (at most `model.max_position_embeddings`).
    pub seq_len: usize,
    /// Peak learning rate, reached after `warmup` steps (linear ramp), then cosine decay to `min_lr`.
    pub lr: f64,
    pub min_lr: f64,
    pub warmup: usize,
    pub weight_decay: f64,
    pub beta1: f64,
    pub beta2: f64,
    /// Rescale the gradients when their global L2 norm exceeds this (`None`: no clipping).
    pub grad_clip: Option<f64>,
    /// Std-dev of the normal initialisation of embeddings and linear weights (norms start at 1).
    pub init_std: f64,
    /// Seeds the initialisation and the order of training sequences.
    pub seed: u64,
    /// Token appended after every training document when packing them into one stream.
    pub separator: Option<u32>,
    /// Save a checkpoint every this many steps (0: only the final one). Needs `out_dir`.
    pub checkpoint_every: usize,
    /// Where checkpoints go: `out_dir/step-000100/{config.json, model.safetensors}` and `out_dir/final`.
    pub out_dir: Option<PathBuf>,
}

impl TrainOptions {
    /// A small Llama of the given vocabulary for ablations: 4 layers, hidden 256, 4 heads (2 KV heads),
    /// SwiGLU 688, tied embeddings, context `seq_len`.
    pub fn tiny_config(vocab_size: usize, seq_len: usize) -> LlamaConfig {
        LlamaConfig {
            hidden_size: 256,
            intermediate_size: 688,
            num_hidden_layers: 4,
            num_attention_heads: 4,
            num_key_value_heads: Some(2),
            head_dim: None,
            vocab_size,
            rms_norm_eps: 1e-5,
            rope_theta: 10_000.0,
            rope_scaling: None,
            rope_parameters: None,
            max_position_embeddings: seq_len,
            tie_word_embeddings: true,
            bos_token_id: None,
            eos_token_id: None,
            hidden_act: Some("silu".into()),
            attention_bias: false,
            mlp_bias: false,
            model_type: Some("llama".into()),
            torch_dtype: Some("float32".into()),
        }
    }

    /// Defaults around `model`: 1000 steps of 8 x `max_position_embeddings` tokens, lr 1e-3 with 100
    /// warm-up steps decaying to 1e-4, AdamW (0.9, 0.95, weight decay 0.1), gradients clipped to
    /// norm 1, seed 0.
    pub fn new(model: LlamaConfig) -> Self {
        let seq_len = model.max_position_embeddings;
        Self {
            model,
            steps: 1000,
            batch: 8,
            seq_len,
            lr: 1e-3,
            min_lr: 1e-4,
            warmup: 100,
            weight_decay: 0.1,
            beta1: 0.9,
            beta2: 0.95,
            init_std: 0.02,
            grad_clip: Some(1.0),
            seed: 0,
            separator: None,
            checkpoint_every: 0,
            out_dir: None,
        }
    }

    /// Learning rate at `step` (0-based): linear warm-up to `lr`, then cosine to `min_lr`.
    pub fn lr_at(&self, step: usize) -> f64 {
        if step < self.warmup {
            return self.lr * (step + 1) as f64 / self.warmup as f64;
        }
        let decay_steps = self.steps.saturating_sub(self.warmup).max(1);
        let progress = ((step - self.warmup) as f64 / decay_steps as f64).min(1.0);
        let cosine = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
        self.min_lr + (self.lr - self.min_lr) * cosine
    }
}

/// One optimisation step, as passed to the progress callback and kept in the report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrainStep {
    /// 1-based step number.
    pub step: usize,
    pub lr: f64,
    /// Mean training cross-entropy of the step's batch (nats per token).
    pub loss: f64,
    /// Global L2 norm of the gradients before clipping.
    pub grad_norm: f64,
}

/// Result of [`train_small`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    pub options: TrainOptions,
    pub parameters: u64,
    pub steps: Vec<TrainStep>,
    /// Held-out evaluation of the final model (rolling windows of `seq_len`, no BOS).
    pub heldout: EvalReport,
    pub checkpoints: Vec<PathBuf>,
}

/// Trains a model of `opts.model` from scratch on `train` (documents of token ids, packed into one
/// stream with `opts.separator` between them; each step samples `batch` random windows with the
/// seeded generator) and evaluates it on `heldout`. Calls `progress` after every step.
///
/// Memory: the model's weights four times over (weights, gradients, two AdamW moments) plus one
/// batch of activations kept for the backward pass.
pub fn train_small(
    opts: &TrainOptions,
    train: &[Vec<u32>],
    heldout: Vec<EvalDoc>,
    device: &Device,
    mut progress: impl FnMut(&TrainStep),
) -> Result<(Llama, TrainReport)> {
    let cfg = &opts.model;
    cfg.validate()
        .map_err(|reason| RuntimeError::Options(format!("model config: {reason}")))?;
    if opts.steps == 0 || opts.batch == 0 || opts.seq_len == 0 {
        return Err(RuntimeError::Options(
            "steps, batch and seq_len must be positive".into(),
        ));
    }
    if opts.seq_len > cfg.max_position_embeddings {
        return Err(RuntimeError::Options(format!(
            "seq_len {} exceeds the model's max_position_embeddings {}",
            opts.seq_len, cfg.max_position_embeddings
        )));
    }
    if opts.checkpoint_every > 0 && opts.out_dir.is_none() {
        return Err(RuntimeError::Options(
            "checkpoint_every needs out_dir".into(),
        ));
    }
    let mut stream: Vec<u32> = Vec::new();
    for (i, doc) in train.iter().enumerate() {
        if let Some(&bad) = doc.iter().find(|&&t| t as usize >= cfg.vocab_size) {
            return Err(RuntimeError::TokenOutOfRange {
                shard: "train".into(),
                doc: i as u64,
                token: bad,
                vocab: cfg.vocab_size,
            });
        }
        stream.extend_from_slice(doc);
        stream.extend(opts.separator);
    }
    if stream.len() < opts.seq_len + 1 {
        return Err(RuntimeError::Options(format!(
            "the training documents hold {} tokens, fewer than seq_len + 1 = {}",
            stream.len(),
            opts.seq_len + 1
        )));
    }

    let mut rng = SplitMix64::new(opts.seed);
    let mut vars = Vec::new();
    let mut tensors = HashMap::new();
    for (name, shape) in cfg.tensor_shapes() {
        let n: usize = shape.iter().product();
        let values: Vec<f32> = if name.ends_with("norm.weight") {
            vec![1.0; n]
        } else {
            (0..n)
                .map(|_| (rng.normal() * opts.init_std) as f32)
                .collect()
        };
        let var = Var::from_tensor(&Tensor::from_vec(values, shape, device)?)?;
        tensors.insert(name, var.as_tensor().clone());
        vars.push(var);
    }
    let model = Llama::from_tensors(cfg.clone(), tensors, device, Path::new("<train_small>"))?;
    let mut opt = AdamW::new(
        vars.clone(),
        ParamsAdamW {
            lr: opts.lr,
            beta1: opts.beta1,
            beta2: opts.beta2,
            eps: 1e-8,
            weight_decay: opts.weight_decay,
        },
    )?;

    let t = opts.seq_len;
    let starts = stream.len() - t; // windows need t + 1 tokens
    let mut steps = Vec::with_capacity(opts.steps);
    let mut checkpoints = Vec::new();
    for step in 0..opts.steps {
        let lr = opts.lr_at(step);
        opt.set_learning_rate(lr);
        let mut input = Vec::with_capacity(opts.batch * t);
        let mut target = Vec::with_capacity(opts.batch * t);
        for _ in 0..opts.batch {
            let o = rng.below(starts as u64) as usize;
            input.extend_from_slice(&stream[o..o + t]);
            target.extend_from_slice(&stream[o + 1..o + t + 1]);
        }
        let ids = Tensor::from_vec(input, (opts.batch, t), device)?;
        let target = Tensor::from_vec(target, opts.batch * t, device)?;
        let hidden = model
            .hidden_states(&ids, ForwardMode::Training)?
            .reshape((opts.batch * t, cfg.hidden_size))?;
        let logits = model.logits(&hidden)?;
        let loss = candle_nn::loss::cross_entropy(&logits, &target)?;
        let mut grads = loss.backward()?;
        let mut sq = 0f64;
        for v in &vars {
            if let Some(g) = grads.get(v) {
                sq += g
                    .sqr()?
                    .sum_all()?
                    .to_dtype(DType::F64)?
                    .to_scalar::<f64>()?;
            }
        }
        let grad_norm = sq.sqrt();
        if let Some(clip) = opts.grad_clip
            && grad_norm > clip
        {
            let scale = clip / grad_norm;
            for v in &vars {
                if let Some(g) = grads.remove(v) {
                    grads.insert(v, (g * scale)?);
                }
            }
        }
        opt.step(&grads)?;
        let record = TrainStep {
            step: step + 1,
            lr,
            loss: loss.to_dtype(DType::F64)?.to_scalar::<f64>()?,
            grad_norm,
        };
        progress(&record);
        steps.push(record);
        if let Some(dir) = &opts.out_dir
            && opts.checkpoint_every > 0
            && (step + 1) % opts.checkpoint_every == 0
        {
            let path = dir.join(format!("step-{:06}", step + 1));
            model.save(&path)?;
            checkpoints.push(path);
        }
    }
    if let Some(dir) = &opts.out_dir {
        let path = dir.join("final");
        model.save(&path)?;
        checkpoints.push(path);
    }

    let eval_opts = EvalOptions {
        context: t,
        batch: opts.batch,
        mode: WindowMode::Rolling,
        bos: None,
        pos_block: 512,
        vocab_block: 16_384,
    };
    let heldout = evaluate(&model, heldout, &eval_opts, |_| {})?;
    let report = TrainReport {
        options: opts.clone(),
        parameters: cfg.param_count(),
        steps,
        heldout,
        checkpoints,
    };
    Ok((model, report))
}
