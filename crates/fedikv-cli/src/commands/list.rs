//! `fedikv list [PREFIX] [--limit N] [--format json|table]`.

use std::io::{self, BufWriter, Write};
use std::pin::Pin;

use fedikv::{JsonText, KvError, KvKey, KvRecord, KvResult, KvStore};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};

use super::skips::Skips;
use super::table::{MAX_CELL, cell, ttl_cell, write_row};
use super::{flush, write_line_with};
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

/// A listed entry, its value as stored text: a record of `scan_json`, or
/// of `list` (TTL unknown) where the store cannot scan.
struct Listed {
    record: KvRecord<JsonText>,
    ttl_known: bool,
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
            prefix: prefix
                .map(|p| parse_prefix(p, "list"))
                .transpose()?
                .flatten(),
            limit,
            table: format.is_table(),
        })
    }

    /// Streams the live entries under the prefix (up to the limit), one at
    /// a time: memory use does not grow with the number of entries. JSON
    /// Lines, or a table whose long keys and values are cut. Stops quietly
    /// when the reader goes away (`fedikv list | head`). Rows that cannot
    /// be decoded are reported on stderr and skipped (they do not count
    /// towards the limit); then the command ends with an error saying how
    /// many.
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
        let limit = self.limit.unwrap_or(u64::MAX);
        let skips = Skips::default();
        let mut records = entries(store, self.prefix.as_ref()).await;
        let mut printed = 0;
        while printed < limit {
            let Some(item) = records.next().await else {
                break;
            };
            if matches!(item, Err(KvError::Corrupt { .. })) {
                // Entries before the report show before it on a terminal.
                flush(&mut out)?;
            }
            let Some(listed) = skips.pass(item, None) else {
                continue;
            };
            let listed = listed?;
            printed += 1;
            let more = if self.table {
                write_row(&mut out, &table_row(&listed), &WIDTHS)?
            } else {
                write_line_with(&mut out, |out| write_json(out, &listed))?
            };
            if !more {
                return skips.finish(Outcome::Success);
            }
        }
        flush(&mut out)?;
        skips.finish(Outcome::Success)
    }
}

/// The entries under `prefix` with their TTLs (`scan_json`), or, on a store that
/// cannot report TTLs (Deno KV over KV Connect), without them (`list`),
/// after a note on stderr.
async fn entries(
    store: &dyn KvStore,
    prefix: Option<&KvKey>,
) -> BoxStream<'static, KvResult<Listed>> {
    let mut scan = store.scan_json(prefix).peekable();
    if let Some(Err(KvError::Unsupported { reason, .. })) = Pin::new(&mut scan).peek().await {
        eprintln!("fedikv: listing without TTLs: {reason}");
        return store
            .list(prefix)
            .map_ok(|entry| Listed {
                record: KvRecord {
                    key: entry.key,
                    value: JsonText::from_value(&entry.value),
                    expires_in: None,
                },
                ttl_known: false,
            })
            .boxed();
    }
    scan.map_ok(|record| Listed {
        record,
        ttl_known: true,
    })
    .boxed()
}

/// Writes the entry as one JSON line (without its newline), keys as
/// `JSON.stringify` writes them (lone surrogates as `\udxxx`), values as
/// their stored text (see [`KvStore::get_json`]).
fn write_json(out: &mut impl Write, listed: &Listed) -> io::Result<()> {
    let record = &listed.record;
    write!(out, "{{\"key\":{},\"value\":", record.key.to_json())?;
    out.write_all(record.value.as_str().as_bytes())?;
    if listed.ttl_known {
        match record.expires_in {
            Some(ttl) => write!(out, ",\"ttl_ms\":{}}}", ttl.as_millis()),
            None => out.write_all(b",\"ttl_ms\":null}"),
        }
    } else {
        out.write_all(b"}")
    }
}

fn table_row(listed: &Listed) -> Vec<String> {
    let record = &listed.record;
    let ttl = if listed.ttl_known {
        ttl_cell(record.expires_in)
    } else {
        "?".to_owned()
    };
    vec![
        cell(&record.key.to_json(), MAX_CELL),
        ttl,
        cell(record.value.as_str(), MAX_CELL),
    ]
}
