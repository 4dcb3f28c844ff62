//! `fedikv list [PREFIX] [--limit N] [--format json|table]`.

use std::io::{BufWriter, Write};

use fedikv::{KvKey, KvRecord, KvStore};
use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;

use super::table::{MAX_CELL, cell, ttl_cell, write_row};
use super::{flush, write_line};
use crate::cli::Format;
use crate::error::{CliError, Outcome};
use crate::input::parse_prefix;

/// A parsed `list`.
#[derive(Debug)]
pub struct List {
    /// `None`: everything.
    prefix: Option<KvKey>,
    /// At most this many entries.
    limit: Option<u64>,
    table: bool,
}

/// One JSON output line.
#[derive(Serialize)]
struct Line<'a> {
    key: &'a KvKey,
    value: &'a Value,
    /// Milliseconds left to live, `null` without a TTL.
    ttl_ms: Option<u128>,
}

/// Widths of the table's key and TTL columns.
const WIDTHS: [usize; 3] = [MAX_CELL, 8, MAX_CELL];

impl List {
    /// Parses the optional prefix (`[]` or none: everything).
    pub fn parse(
        prefix: Option<&str>,
        limit: Option<u64>,
        format: Format,
    ) -> Result<Self, CliError> {
        Ok(Self {
            prefix: prefix.map(parse_prefix).transpose()?.flatten(),
            limit,
            table: format.is_table(),
        })
    }

    /// Streams the live entries under the prefix (up to the limit), one at
    /// a time: memory use does not grow with the number of entries. JSON
    /// Lines, or a table whose long keys and values are cut. Stops quietly
    /// when the reader goes away (`fedikv list | head`).
    pub async fn run(self, store: &dyn KvStore, out: impl Write) -> Result<Outcome, CliError> {
        let mut out = BufWriter::new(out);
        if self.table
            && !write_row(
                &mut out,
                &["KEY".into(), "TTL".into(), "VALUE".into()],
                &WIDTHS,
            )?
        {
            return Ok(Outcome::Success);
        }
        let limit = usize::try_from(self.limit.unwrap_or(u64::MAX)).unwrap_or(usize::MAX);
        let mut records = store.scan(self.prefix.as_ref()).take(limit);
        while let Some(record) = records.next().await {
            let record = record?;
            let more = if self.table {
                write_row(&mut out, &table_row(&record), &WIDTHS)?
            } else {
                write_line(&mut out, &json_line(&record)?)?
            };
            if !more {
                return Ok(Outcome::Success);
            }
        }
        flush(&mut out)?;
        Ok(Outcome::Success)
    }
}

fn json_line(record: &KvRecord) -> Result<String, CliError> {
    serde_json::to_string(&Line {
        key: &record.key,
        value: &record.value,
        ttl_ms: record.expires_in.map(|ttl| ttl.as_millis()),
    })
    .map_err(|e| CliError::new(format!("cannot print entry {}: {e}", record.key)))
}

fn table_row(record: &KvRecord) -> Vec<String> {
    vec![
        cell(&record.key.to_json(), MAX_CELL),
        ttl_cell(record.expires_in),
        cell(&record.value.to_string(), MAX_CELL),
    ]
}
