//! Parquet, read in row-group batches with the `parquet`/`arrow` crates. The text and id columns
//! are configurable; other scalar columns are kept in `meta`. tria's own Parquet output (`meta` and
//! `attrs` as JSON strings) reads back into the same document.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type,
    UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use serde_json::Value;

use super::{Counters, DocReader, ReadError, ReadOptions, doc_id, recorded_origin, restore_attrs};
use crate::document::{Document, Origin};

pub struct ParquetDocs {
    file: Arc<str>,
    reader: ParquetRecordBatchReader,
    batch: Option<RecordBatch>,
    row: usize,
    record: u64,
    counters: Counters,
    opts: ReadOptions,
    size: u64,
    rows_total: u64,
    done: bool,
    /// The last recorded origin's file name (see [`recorded_origin`]).
    last_origin: Option<Arc<str>>,
}

impl ParquetDocs {
    pub fn open(
        file: Arc<str>,
        path: &Path,
        size: u64,
        opts: &ReadOptions,
    ) -> Result<ParquetDocs, ReadError> {
        let fail = |reason: &'static str, detail: String| ReadError::File {
            file: file.clone(),
            offset: 0,
            reason,
            detail,
        };
        let f = File::open(path).map_err(|e| fail("open", e.to_string()))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(f)
            .map_err(|e| fail("bad_parquet", e.to_string()))?;
        let rows_total = builder.metadata().file_metadata().num_rows().max(0) as u64;
        let schema = builder.schema().clone();
        match schema.field_with_name(&opts.text_field) {
            Ok(f) if is_string(f.data_type()) => {}
            Ok(f) => {
                return Err(fail(
                    "bad_text_field",
                    format!(
                        "column `{}` is {}, not a string",
                        opts.text_field,
                        f.data_type()
                    ),
                ));
            }
            Err(_) => {
                return Err(fail(
                    "missing_text",
                    format!("no column `{}`", opts.text_field),
                ));
            }
        }
        let reader = builder
            .with_batch_size(opts.parquet_batch.max(1))
            .build()
            .map_err(|e| fail("bad_parquet", e.to_string()))?;
        Ok(ParquetDocs {
            file,
            reader,
            batch: None,
            row: 0,
            record: 0,
            counters: Counters::default(),
            opts: opts.clone(),
            size,
            rows_total,
            done: false,
            last_origin: None,
        })
    }

    fn document(&mut self, batch: &RecordBatch, row: usize) -> Result<Document, ReadError> {
        let record = self.record;
        let schema = batch.schema();
        let mut text = None;
        let mut id = None;
        let mut meta = serde_json::Map::new();
        let mut attrs = None;
        let mut recorded: [Option<Value>; 3] = [None, None, None];
        for (field, col) in schema.fields().iter().zip(batch.columns()) {
            let name = field.name();
            let value = cell(col, row);
            let slot = ["origin_file", "origin_record", "origin_offset"]
                .iter()
                .position(|c| name == c);
            if let Some(i) = slot {
                recorded[i] = Some(value);
            } else if *name == self.opts.text_field {
                text = Some(value);
            } else if *name == self.opts.id_field {
                id = Some(value);
            } else if name == "meta" || name == "attrs" {
                // tria's own output stores these as JSON text.
                if let Value::String(s) = &value {
                    if let Ok(Value::Object(o)) = serde_json::from_str(s) {
                        if name == "meta" {
                            for (k, v) in o {
                                meta.insert(k, v);
                            }
                        } else {
                            attrs = Some(o);
                        }
                        continue;
                    }
                }
                meta.insert(name.clone(), value);
            } else if !value.is_null() {
                meta.insert(name.clone(), value);
            }
        }
        let text = match text {
            Some(Value::String(s)) => s,
            _ => {
                return Err(ReadError::Record {
                    file: self.file.clone(),
                    record,
                    offset: 0,
                    reason: "missing_text",
                    detail: format!("row {record}: `{}` is null", self.opts.text_field),
                });
            }
        };
        let id = doc_id(id, &self.file, record);
        let origin = Origin {
            file: self.file.clone(),
            record,
            offset: None,
        };
        let mut doc = Document::new(id, text, origin);
        // tria's own output records where each document came from: keep pointing there.
        let [file, rec, off] = &recorded;
        match recorded_origin(
            file.as_ref(),
            rec.as_ref(),
            off.as_ref(),
            &mut self.last_origin,
        ) {
            Some(o) => doc.origin = o,
            None => {
                for (name, v) in ["origin_file", "origin_record", "origin_offset"]
                    .into_iter()
                    .zip(recorded)
                {
                    if let Some(v) = v.filter(|v| !v.is_null()) {
                        meta.insert(name.to_string(), v);
                    }
                }
            }
        }
        doc.meta = meta;
        if let Some(a) = attrs {
            restore_attrs(&mut doc, a);
        }
        Ok(doc)
    }
}

fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// One cell as JSON; unsupported nested types become null.
fn cell(col: &ArrayRef, row: usize) -> Value {
    if col.is_null(row) {
        return Value::Null;
    }
    macro_rules! num {
        ($t:ty) => {
            Value::from(col.as_primitive::<$t>().value(row))
        };
    }
    match col.data_type() {
        DataType::Utf8 => Value::String(col.as_string::<i32>().value(row).to_string()),
        DataType::LargeUtf8 => Value::String(col.as_string::<i64>().value(row).to_string()),
        DataType::Utf8View => Value::String(col.as_string_view().value(row).to_string()),
        DataType::Boolean => Value::Bool(col.as_boolean().value(row)),
        DataType::Int8 => num!(Int8Type),
        DataType::Int16 => num!(Int16Type),
        DataType::Int32 => num!(Int32Type),
        DataType::Int64 => num!(Int64Type),
        DataType::UInt8 => num!(UInt8Type),
        DataType::UInt16 => num!(UInt16Type),
        DataType::UInt32 => num!(UInt32Type),
        DataType::UInt64 => num!(UInt64Type),
        DataType::Float32 => num!(Float32Type),
        DataType::Float64 => num!(Float64Type),
        DataType::Date32 => num!(Date32Type),
        _ => Value::Null,
    }
}

impl Iterator for ParquetDocs {
    type Item = Result<Document, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            if let Some(batch) = self.batch.take() {
                if self.row < batch.num_rows() {
                    let row = self.row;
                    self.row += 1;
                    let doc = self.document(&batch, row);
                    self.record += 1;
                    self.batch = Some(batch);
                    return Some(doc);
                }
            }
            match self.reader.next() {
                Some(Ok(b)) => {
                    self.batch = Some(b);
                    self.row = 0;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(ReadError::File {
                        file: self.file.clone(),
                        offset: 0,
                        reason: "bad_parquet",
                        detail: format!("after row {}: {e}", self.record),
                    }));
                }
                None => self.done = true,
            }
        }
    }
}

impl DocReader for ParquetDocs {
    fn counters(&self) -> &Counters {
        &self.counters
    }

    fn bytes_read(&self) -> u64 {
        // Parquet is read by column chunk: estimate progress from rows.
        (self.size * self.record)
            .checked_div(self.rows_total)
            .unwrap_or(0)
    }
}
