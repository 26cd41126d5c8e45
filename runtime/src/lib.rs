//! tria's bundled model runtime: a Llama-family decoder on candle (Salamandra-2B/7B, ALIA-40B and
//! anything else with the `LlamaForCausalLM` layout), evaluation loops that score token documents,
//! and a small training loop for data ablations.
//!
//! # API overview
//! - [`LlamaConfig`]: a Hugging Face `config.json` (`from_file`, `validate`, `param_count`,
//!   `tensor_shapes`, RoPE scaling `none`/`linear`/`llama3`).
//! - [`Llama::load(dir, &device)`](Llama::load): `config.json` + `model.safetensors` or a sharded
//!   `model.safetensors.index.json`; F32/BF16/F16 weights, computed in f32. [`Llama::save`] writes the
//!   same layout. [`device`] picks CUDA when built with the `cuda` feature and a GPU is present.
//! - [`evaluate(&model, docs, &opts, progress)`](evaluate): per-token NLL over [`EvalDoc`]s (token
//!   ids, UTF-8 byte count, language, shard label) in lm-eval rolling windows or llama.cpp's
//!   second-half mode ([`WindowMode`]); returns an [`EvalReport`] (loss, perplexity, bits per byte;
//!   total, per shard, per language) that serializes to JSON, prints with `to_table`, and `merge`s
//!   with the report of an earlier run so finished shards need not be redone.
//! - [`train_small(&opts, &train_docs, heldout_docs, &device, progress)`](train_small): AdamW with
//!   warm-up and cosine decay from a seeded initialisation, checkpoints in HF layout, held-out
//!   evaluation at the end.
//!
//! ```no_run
//! use tria_runtime::{EvalDoc, EvalOptions, Llama, WindowMode, evaluate};
//! # fn main() -> Result<(), tria_runtime::RuntimeError> {
//! let model = Llama::load("models/salamandra-2b".as_ref(), &tria_runtime::device(false)?)?;
//! let opts = EvalOptions { context: 2048, batch: 4, ..EvalOptions::for_model(&model) };
//! let docs = vec![EvalDoc {
//!     tokens: vec![1512, 319, 7704],
//!     bytes: 14,
//!     lang: Some("ca".into()),
//!     shard: "cc-ca-000".into(),
//! }];
//! let report = evaluate(&model, docs, &opts, |p| eprintln!("{} tokens", p.tokens))?;
//! println!("{}", report.to_table());
//! assert_eq!(report.mode, WindowMode::Rolling);
//! # Ok(())
//! # }
//! ```
//!
//! # Memory
//! Nothing is kept per document. A loaded model holds its weights in f32 (4 bytes per parameter;
//! a tied embedding once); loading reads one tensor at a time, so it peaks at the weights plus the
//! largest tensor. Evaluation adds one batch of activations (about
//! `batch * context * (6 * hidden + 3 * intermediate)` floats for the live layer, plus attention
//! scores of `batch * heads * min(context, 512) * context` floats: queries go in blocks of
//! [`DEFAULT_ATTENTION_BLOCK`] rows, see [`Llama::set_attention_block`]) and
//! `pos_block * vocab_block` logits for the blocked log-softmax; the full `[tokens, vocab]` logits
//! are never materialised. Training keeps weights, gradients and two AdamW moments, plus the
//! activations of one batch for the backward pass.
//!
//! # Determinism
//! Same weights, documents and options give the same report: sums are taken in document order,
//! and candle's CPU kernels split work across threads without changing the order of reductions.
//! Training draws its initialisation and sequence order from a seeded SplitMix64.

mod config;
mod error;
mod eval;
mod model;
mod rng;
mod train;

pub use candle_core::Device;
pub use config::{LlamaConfig, RopeScaling, RopeScalingConfig};
pub use error::{Result, RuntimeError};
pub use eval::{
    EvalDoc, EvalOptions, EvalProgress, EvalReport, Metrics, UNKNOWN_LANG, WindowMode, evaluate,
};
pub use model::{DEFAULT_ATTENTION_BLOCK, ForwardMode, Llama};
pub use rng::SplitMix64;
pub use train::{TrainOptions, TrainReport, TrainStep, train_small};

/// The device to run on: the first CUDA GPU when the crate is built with the `cuda` feature and one
/// is available, else the CPU. `cpu_only` forces the CPU.
pub fn device(cpu_only: bool) -> Result<Device> {
    if cpu_only {
        return Ok(Device::Cpu);
    }
    Ok(Device::cuda_if_available(0)?)
}
