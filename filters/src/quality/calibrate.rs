//! Calibration of per-language thresholds on reference text.
