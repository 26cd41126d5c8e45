//! Writers: JSONL.zst (default), JSONL and Parquet, always to a temporary name renamed when the
//! input file is complete, so an output that exists is an output that is whole.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{StringBuilder, UInt64Builder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};

use crate::document::Document;

/// Output file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum OutputFormat {
    #[default]
    #[serde(rename = "jsonl.zst")]
    JsonlZst,
    #[serde(rename = "jsonl")]
    Jsonl,
    #[serde(rename = "parquet")]
    Parquet,
}

impl OutputFormat {
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::JsonlZst => "jsonl.zst",
            OutputFormat::Jsonl => "jsonl",
            OutputFormat::Parquet => "parquet",
        }
    }
}

/// The suffix given to files being written; a rerun removes leftovers with it.
pub const TMP_SUFFIX: &str = ".tria-tmp";

/// A file written under `<path>.tria-tmp` and renamed to `<path>` by [`AtomicFile::commit`].
/// Dropped without commit, it removes the temporary file.
pub struct AtomicFile {
    tmp: PathBuf,
    dest: PathBuf,
    file: Option<BufWriter<File>>,
}

impl AtomicFile {
    pub fn create(dest: &Path) -> io::Result<AtomicFile> {
        if let Some(dir) = dest.parent() {
            fs::create_dir_all(dir)?;
        }
        let mut tmp = dest.as_os_str().to_owned();
        tmp.push(TMP_SUFFIX);
        let tmp = PathBuf::from(tmp);
        let file = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
        Ok(AtomicFile {
            tmp,
            dest: dest.to_path_buf(),
            file: Some(file),
        })
    }

    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Flushes, syncs and renames into place.
    pub fn commit(mut self) -> io::Result<()> {
        let file = self.file.take().expect("commit is called once");
        let file = file.into_inner().map_err(|e| e.into_error())?;
        file.sync_data()?;
        drop(file);
        fs::rename(&self.tmp, &self.dest)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.as_mut().expect("not yet committed").write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().expect("not yet committed").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Writes a whole small file atomically (reports, markers, manifests).
///
/// Several processes may write the same small file at once (the ranks of a job array each record
/// `manifest.json` or the pipeline's fingerprint): each writes under its own temporary name
/// (`<path>.<pid>-<n>.tria-tmp`), so one's rename never takes away another's file.
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> io::Result<()> {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    if let Some(dir) = dest.parent() {
        fs::create_dir_all(dir)?;
    }
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut tmp = dest.as_os_str().to_owned();
    tmp.push(format!(".{}-{n}{TMP_SUFFIX}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let written = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_data()?;
        drop(f);
        fs::rename(&tmp, dest)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// The JSON form of a document in tria's JSONL output.
#[derive(Serialize)]
struct JsonDoc<'a> {
    id: &'a str,
    text: &'a str,
    origin: &'a crate::document::Origin,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    meta: &'a serde_json::Map<String, serde_json::Value>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    attrs: &'a BTreeMap<String, f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

/// One document as a JSON line (with its trailing newline).
pub fn json_line(doc: &Document, reason: Option<&str>, out: &mut Vec<u8>) {
    let j = JsonDoc {
        id: &doc.id,
        text: &doc.text,
        origin: &doc.origin,
        meta: &doc.meta,
        attrs: &doc.attrs,
        reason,
    };
    serde_json::to_writer(&mut *out, &j).expect("serialising to a Vec cannot fail");
    out.push(b'\n');
}

enum Sink {
    Jsonl(AtomicFile),
    JsonlZst(zstd::stream::write::Encoder<'static, AtomicFile>),
    Parquet(Box<ParquetSink>),
}

/// A document writer for one output file.
pub struct DocWriter {
    sink: Sink,
    line: Vec<u8>,
    docs: u64,
}

impl DocWriter {
    pub fn create(dest: &Path, format: OutputFormat, level: i32) -> io::Result<DocWriter> {
        let file = AtomicFile::create(dest)?;
        let sink = match format {
            OutputFormat::Jsonl => Sink::Jsonl(file),
            OutputFormat::JsonlZst => {
                Sink::JsonlZst(zstd::stream::write::Encoder::new(file, level)?)
            }
            OutputFormat::Parquet => Sink::Parquet(Box::new(ParquetSink::new(file)?)),
        };
        Ok(DocWriter {
            sink,
            line: Vec::with_capacity(64 * 1024),
            docs: 0,
        })
    }

    pub fn write(&mut self, doc: &Document, reason: Option<&str>) -> io::Result<()> {
        self.docs += 1;
        match &mut self.sink {
            Sink::Jsonl(f) => {
                self.line.clear();
                json_line(doc, reason, &mut self.line);
                f.write_all(&self.line)
            }
            Sink::JsonlZst(z) => {
                self.line.clear();
                json_line(doc, reason, &mut self.line);
                z.write_all(&self.line)
            }
            Sink::Parquet(p) => p.push(doc, reason),
        }
    }

    pub fn docs(&self) -> u64 {
        self.docs
    }

    /// Finishes the format and renames the file into place.
    pub fn commit(self) -> io::Result<()> {
        match self.sink {
            Sink::Jsonl(f) => f.commit(),
            Sink::JsonlZst(z) => z.finish()?.commit(),
            Sink::Parquet(p) => p.finish(),
        }
    }
}

/// Rows buffered before a Parquet record batch is written.
const PARQUET_BATCH_ROWS: usize = 4096;
/// Text bytes buffered before a batch is written early (keeps memory flat for long documents).
const PARQUET_BATCH_BYTES: usize = 32 * 1024 * 1024;

struct ParquetSink {
    writer: ArrowWriter<AtomicFile>,
    schema: Arc<Schema>,
    rows: Vec<[Option<String>; 6]>,
    offsets: Vec<(u64, Option<u64>)>,
    bytes: usize,
}

impl ParquetSink {
    fn schema() -> Arc<Schema> {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("text", DataType::Utf8, false),
            Field::new("origin_file", DataType::Utf8, false),
            Field::new("origin_record", DataType::UInt64, false),
            Field::new("origin_offset", DataType::UInt64, true),
            Field::new("meta", DataType::Utf8, true),
            Field::new("attrs", DataType::Utf8, true),
            Field::new("reason", DataType::Utf8, true),
        ]))
    }

    fn new(file: AtomicFile) -> io::Result<ParquetSink> {
        let schema = Self::schema();
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(
                ZstdLevel::try_new(3).map_err(io::Error::other)?,
            ))
            .set_created_by(format!("tria {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer =
            ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(io::Error::other)?;
        Ok(ParquetSink {
            writer,
            schema,
            rows: Vec::new(),
            offsets: Vec::new(),
            bytes: 0,
        })
    }

    fn push(&mut self, doc: &Document, reason: Option<&str>) -> io::Result<()> {
        let meta =
            (!doc.meta.is_empty()).then(|| serde_json::Value::Object(doc.meta.clone()).to_string());
        let attrs = (!doc.attrs.is_empty())
            .then(|| serde_json::to_string(&doc.attrs).expect("f64 map serialises"));
        self.bytes += doc.text.len();
        self.rows.push([
            Some(doc.id.clone()),
            Some(doc.text.clone()),
            Some(doc.origin.file.to_string()),
            meta,
            attrs,
            reason.map(str::to_string),
        ]);
        self.offsets.push((doc.origin.record, doc.origin.offset));
        if self.rows.len() >= PARQUET_BATCH_ROWS || self.bytes >= PARQUET_BATCH_BYTES {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn flush_batch(&mut self) -> io::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let string_col = |i: usize, rows: &[[Option<String>; 6]]| -> ArrayRef {
            let mut b = StringBuilder::new();
            for r in rows {
                b.append_option(r[i].as_deref());
            }
            Arc::new(b.finish())
        };
        let mut rec = UInt64Builder::new();
        let mut off = UInt64Builder::new();
        for (r, o) in &self.offsets {
            rec.append_value(*r);
            off.append_option(*o);
        }
        let cols: Vec<ArrayRef> = vec![
            string_col(0, &self.rows),
            string_col(1, &self.rows),
            string_col(2, &self.rows),
            Arc::new(rec.finish()),
            Arc::new(off.finish()),
            string_col(3, &self.rows),
            string_col(4, &self.rows),
            string_col(5, &self.rows),
        ];
        let batch = RecordBatch::try_new(self.schema.clone(), cols).map_err(io::Error::other)?;
        self.writer.write(&batch).map_err(io::Error::other)?;
        self.rows.clear();
        self.offsets.clear();
        self.bytes = 0;
        Ok(())
    }

    fn finish(mut self) -> io::Result<()> {
        self.flush_batch()?;
        let file = self.writer.into_inner().map_err(io::Error::other)?;
        file.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Origin;

    #[test]
    fn atomic_file_is_invisible_until_commit_and_cleaned_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a/b.txt");
        let mut f = AtomicFile::create(&dest).unwrap();
        f.write_all(b"hello").unwrap();
        assert!(!dest.exists());
        f.commit().unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"hello");

        let dest2 = dir.path().join("c.txt");
        {
            let mut g = AtomicFile::create(&dest2).unwrap();
            g.write_all(b"partial").unwrap();
        }
        assert!(!dest2.exists());
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "temporary file removed"
        );
    }

    #[test]
    fn json_lines_are_stable() {
        let mut d = Document::new(
            "<urn:x>".into(),
            "Bon dia\n".into(),
            Origin {
                file: Arc::from("in.wet"),
                record: 3,
                offset: Some(10),
            },
        );
        d.meta.insert("url".into(), "http://a.cat/".into());
        d.attrs.insert("z".into(), 1.5);
        d.attrs.insert("a".into(), 2.0);
        let mut out = Vec::new();
        json_line(&d, None, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"id\":\"<urn:x>\",\"text\":\"Bon dia\\n\",\"origin\":{\"file\":\"in.wet\",\"record\":3,\"offset\":10},\"meta\":{\"url\":\"http://a.cat/\"},\"attrs\":{\"a\":2.0,\"z\":1.5}}\n"
        );
    }
}
