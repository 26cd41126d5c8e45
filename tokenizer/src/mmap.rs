//! The crate's only `unsafe`: mapping a shard file read-only into memory.
#![allow(unsafe_code)]

use std::fs::File;
use std::ops::Deref;
use std::path::Path;

use crate::error::{Error, Result};

/// A read-only view of a whole file. Empty files are represented without a mapping
/// (mapping zero bytes is an error on Linux).
#[derive(Debug)]
pub(crate) struct MappedFile {
    map: Option<memmap2::Mmap>,
}

impl MappedFile {
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(Error::io(path))?;
        let len = file.metadata().map_err(Error::io(path))?.len();
        if len == 0 {
            return Ok(MappedFile { map: None });
        }
        // SAFETY: `Mmap::map` is unsafe because another process could truncate or rewrite the
        // file while it is mapped, which would make the slice change under us (or SIGBUS).
        // Shards are written to a temporary name and renamed into place once complete, and are
        // never modified afterwards by tria, so a mapped shard is immutable for its lifetime.
        // We only ever read through the mapping as `&[u8]`, with every offset bounds-checked
        // against the length, and decode integers with `from_le_bytes` (no alignment assumed).
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(Error::io(path))?;
        Ok(MappedFile { map: Some(map) })
    }
}

impl Deref for MappedFile {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.map {
            Some(m) => m,
            None => &[],
        }
    }
}
