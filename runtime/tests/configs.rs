//! Published architectures parse and have their published parameter counts (no weights needed).

use std::path::PathBuf;

use tria_runtime::{LlamaConfig, RopeScaling};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .join("config.json")
}

#[test]
fn salamandra_2b() {
    let c = LlamaConfig::from_file(&fixture("salamandra-2b")).expect("parse");
    assert_eq!(c.kv_heads(), 16);
    assert_eq!(c.head_dim(), 128);
    assert!(!c.tie_word_embeddings);
    assert_eq!(c.rope_scaling(), Ok(RopeScaling::None));
    assert_eq!(c.param_count(), 2_253_490_176);
}

#[test]
fn salamandra_7b() {
    let c = LlamaConfig::from_file(&fixture("salamandra-7b")).expect("parse");
    assert_eq!(c.kv_heads(), 8);
    assert_eq!(c.head_dim(), 128);
    assert_eq!(c.param_count(), 7_768_117_248);
}

#[test]
fn alia_40b() {
    let c = LlamaConfig::from_file(&fixture("alia-40b")).expect("parse");
    assert_eq!(c.num_attention_heads / c.kv_heads(), 8);
    assert_eq!(c.param_count(), 40_433_885_184);
    // The model card's embedding figure: one 256000 x 8192 matrix.
    assert_eq!((c.vocab_size * c.hidden_size) as u64, 2_097_152_000);
}

#[test]
fn tensor_shapes_add_up_to_param_count() {
    for name in ["salamandra-2b", "salamandra-7b", "alia-40b"] {
        let c = LlamaConfig::from_file(&fixture(name)).expect("parse");
        let sum: u64 = c
            .tensor_shapes()
            .iter()
            .map(|(_, s)| s.iter().product::<usize>() as u64)
            .sum();
        assert_eq!(sum, c.param_count(), "{name}");
    }
}

#[test]
fn rope_scaling_variants() {
    let base = std::fs::read_to_string(fixture("salamandra-2b")).expect("read");
    let with = |scaling: &str| -> LlamaConfig {
        let mut v: serde_json::Value = serde_json::from_str(&base).expect("json");
        v["rope_scaling"] = serde_json::from_str(scaling).expect("json");
        serde_json::from_value(v).expect("config")
    };
    let plain = with("null").inv_freq().expect("plain");
    assert_eq!(plain.len(), 64);
    assert!((plain[0] - 1.0).abs() < 1e-15);
    assert!((plain[1] - 10000f64.powf(-2.0 / 128.0)).abs() < 1e-15);

    let lin = with(r#"{"type": "linear", "factor": 4.0}"#)
        .inv_freq()
        .expect("linear");
    for (a, b) in lin.iter().zip(&plain) {
        assert!((a * 4.0 - b).abs() < 1e-15);
    }

    let l3 = with(
        r#"{"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
            "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}"#,
    )
    .inv_freq()
    .expect("llama3");
    // Short wavelengths (< 8192/4) untouched, long ones (> 8192) divided by 8, a ramp between.
    for (a, b) in l3.iter().zip(&plain) {
        let wavelen = 2.0 * std::f64::consts::PI / b;
        if wavelen < 2048.0 {
            assert_eq!(a, b);
        } else if wavelen > 8192.0 {
            assert!((a * 8.0 - b).abs() < 1e-15);
        } else {
            assert!(*a < *b && *a > b / 8.0);
        }
    }
    assert!(l3.iter().zip(&plain).any(|(a, b)| a == b));
    assert!(
        l3.iter()
            .zip(&plain)
            .any(|(a, b)| (a * 8.0 - b).abs() < 1e-15)
    );

    // transformers 5 `rope_parameters` carries theta too.
    let mut v: serde_json::Value = serde_json::from_str(&base).expect("json");
    v["rope_parameters"] = serde_json::json!({"rope_type": "default", "rope_theta": 500000.0});
    let c: LlamaConfig = serde_json::from_value(v).expect("config");
    assert_eq!(c.theta(), 500000.0);

    let bad = with(r#"{"type": "dynamic", "factor": 2.0}"#);
    assert!(bad.validate().unwrap_err().contains("dynamic"));
}

#[test]
fn invalid_configs_are_rejected_with_the_key() {
    let base = std::fs::read_to_string(fixture("salamandra-7b")).expect("read");
    let mut v: serde_json::Value = serde_json::from_str(&base).expect("json");
    v["num_key_value_heads"] = 5.into();
    let c: LlamaConfig = serde_json::from_value(v).expect("config");
    assert!(c.validate().unwrap_err().contains("num_key_value_heads"));

    let mut v: serde_json::Value = serde_json::from_str(&base).expect("json");
    v["hidden_act"] = "gelu".into();
    let c: LlamaConfig = serde_json::from_value(v).expect("config");
    assert!(c.validate().unwrap_err().contains("hidden_act"));

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.json");
    std::fs::write(&path, r#"{"hidden_size": 64}"#).expect("write");
    let err = LlamaConfig::from_file(&path).unwrap_err().to_string();
    assert!(
        err.contains("config.json") && err.contains("intermediate_size"),
        "{err}"
    );
}
