//! tria: CommonCrawl dumps to clean, deduplicated, tokenized training data for the 35 languages of
//! the ALIA / Salamandra models.
//!
//! This crate glues the leaf crates (`tria-filters`, `tria-dedup`, `tria-tokenizer`) into pipelines:
//! - [`document`]: [`Document`], [`Stage`], [`Verdict`];
//! - [`read`]: WET, WARC, JSONL (plain/gzip/zstd) and Parquet readers, streaming in constant memory;
//! - [`write`]: JSONL.zst, JSONL and Parquet writers, atomic by rename;
//! - [`config`]: the TOML pipeline file, checked before any work;
//! - [`stages`]: the closed set of stage kinds;
//! - [`run`]: the runner (files in parallel, resumable) and [`report`]: `report.json`, `report.html`;
//! - [`steps`]: multi-step pipelines (filter, dedup, tokenize, eval) as tasks a scheduler can run;
//! - [`cli`]: the `tria` command line.

pub mod cli;
pub mod config;
pub mod dedup;
pub mod document;
pub mod eval;
pub mod fixtures;
pub mod inspect;
pub mod read;
pub mod report;
pub mod run;
pub mod slurm;
pub mod stages;
pub mod status;
pub mod steps;
pub mod tokens;
pub mod write;

pub use document::{Document, Origin, Stage, Verdict};
