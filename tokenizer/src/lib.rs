//! tria-tokenizer
