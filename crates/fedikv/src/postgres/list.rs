//! `list`: keyset pages over a primary-key range.
//!
//! A prefix's keys are the range `[prefix, prefix || NULL)` (see
//! `params::upper_bound`), so each page is an index range scan of at most
//! [`PAGE_SIZE`] rows that stops at the end of the prefix, and the next page
//! starts after the last key seen. Rows come in `ORDER BY key` order:
//! component by component, each compared with the column's collation, a key
//! before the longer keys it is a prefix of.

use std::error::Error;
use std::sync::Arc;

use serde_json::Value;
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, ToSql, Type, accepts};

use super::Inner;
use super::error::map;
use super::params::{components, upper_bound};
use super::sql::Statements;
use crate::error::{KvError, KvResult};
use crate::key::KvKey;
use crate::paging::{PAGE_SIZE, ms_left, paged};
use crate::store::{KvRecord, KvRecordStream};
use crate::{js, json};

/// Where the next page starts.
enum Cursor {
    /// At the first key of the range.
    Start,
    /// After this key.
    After(Vec<String>),
    /// Nowhere: the previous page ended at a row that cannot be decoded;
    /// this error comes next, after the entries before it.
    Failed(KvError),
}

/// The prefix and its exclusive upper bound.
#[derive(Clone)]
struct Range {
    prefix: Vec<String>,
    upper: Vec<Option<String>>,
}

impl Range {
    /// The range of `prefix`, as `text[]` holds it ([`components`]).
    fn new(prefix: &KvKey) -> KvResult<Self> {
        let prefix = components(prefix.components())?.into_owned();
        Ok(Self {
            upper: upper_bound(&prefix),
            prefix,
        })
    }
}

/// Where a page after `key` starts, in `text[]` form.
fn after(key: &KvKey) -> KvResult<Cursor> {
    Ok(Cursor::After(components(key.components())?.into_owned()))
}

/// Streams the live entries under `prefix` (all entries for `None`) with
/// their remaining TTLs.
pub(crate) fn stream(inner: Arc<Inner>, prefix: Option<&KvKey>) -> KvRecordStream {
    let (range, start) = match prefix.map(Range::new).transpose() {
        Ok(range) => (range, Cursor::Start),
        Err(e) => (None, Cursor::Failed(e)),
    };
    paged(start, move |cursor| {
        let inner = Arc::clone(&inner);
        let range = range.clone();
        async move { page(&inner, range.as_ref(), cursor).await }
    })
}

/// The statement for a page and its parameters.
fn statement<'a>(
    sql: &'a Statements,
    range: Option<&'a Range>,
    cursor: &'a Cursor,
) -> (&'a str, Vec<&'a (dyn ToSql + Sync)>) {
    match (range, cursor) {
        (None, Cursor::Start | Cursor::Failed(_)) => (&sql.list_all_first, vec![]),
        (None, Cursor::After(last)) => (&sql.list_all_after, vec![last]),
        (Some(r), Cursor::Start | Cursor::Failed(_)) => {
            (&sql.list_prefix_first, vec![&r.prefix, &r.upper])
        }
        (Some(r), Cursor::After(last)) => (&sql.list_prefix_after, vec![last, &r.upper]),
    }
}

async fn page(
    inner: &Inner,
    range: Option<&Range>,
    cursor: Cursor,
) -> KvResult<(Vec<KvRecord>, Option<Cursor>)> {
    if let Cursor::Failed(e) = cursor {
        return Err(e);
    }
    let (sql, params) = statement(&inner.sql, range, &cursor);
    let decoded = inner.query_map(sql, &params, record).await?;
    let full = decoded.len() >= PAGE_SIZE;
    let mut entries = Vec::with_capacity(decoded.len());
    for result in decoded {
        match result {
            Ok(entry) => entries.push(entry),
            Err(e) => return Ok((entries, Some(Cursor::Failed(e)))),
        }
    }
    let next = match entries.last() {
        Some(last) if full => Some(after(&last.key)?),
        _ => None,
    };
    Ok((entries, next))
}

/// The `EXPLAIN` output of the page of `list(prefix)` that starts after
/// `after` (the first page for `None`), one plan line per element.
pub(crate) async fn explain(
    inner: &Inner,
    prefix: Option<&KvKey>,
    after: Option<&KvKey>,
) -> KvResult<Vec<String>> {
    let range = prefix.map(Range::new).transpose()?;
    let cursor = after.map_or(Ok(Cursor::Start), self::after)?;
    let (sql, params) = statement(&inner.sql, range.as_ref(), &cursor);
    let rows = inner.query(&format!("EXPLAIN {sql}"), &params).await?;
    rows.iter().map(|row| row.try_get(0).map_err(map)).collect()
}

/// How many expired rows are under `prefix` (all rows for `None`).
pub(crate) async fn count_expired(inner: &Inner, prefix: Option<&KvKey>) -> KvResult<u64> {
    let row = match prefix.map(Range::new).transpose()? {
        None => inner.query(&inner.sql.count_expired_all, &[]).await?,
        Some(r) => {
            let params: [&(dyn ToSql + Sync); 2] = [&r.prefix, &r.upper];
            inner
                .query(&inner.sql.count_expired_prefix, &params)
                .await?
        }
    };
    let count: i64 = match row.first() {
        Some(row) => row.try_get(0).map_err(map)?,
        None => 0,
    };
    Ok(u64::try_from(count).unwrap_or(0))
}

/// Decodes a `(key, value, remaining ms)` row.
fn record(row: &Row) -> KvResult<KvRecord> {
    let key = match row.try_get::<_, Vec<String>>(0) {
        Ok(parts) => KvKey::new(parts.into_iter().map(js::from_string))
            .map_err(|e| corrupt_key(row, e.to_string())),
        // Only a key with a NULL element (or not a text[]) gets here.
        Err(e) => Err(corrupt_key(
            row,
            format!("the key is not an array of strings: {e}"),
        )),
    }?;
    let value = decode_value(row, 1, &key)?;
    let remaining: Option<i64> = row.try_get(2).map_err(map)?;
    Ok(KvRecord {
        key,
        value,
        expires_in: remaining.map(ms_left),
    })
}

/// The error for a row whose key cannot be a [`KvKey`].
fn corrupt_key(row: &Row, reason: String) -> KvError {
    let key = row
        .try_get::<_, Vec<Option<String>>>(0)
        .map_or_else(|_| "(unreadable key)".to_owned(), |k| format!("{k:?}"));
    KvError::Corrupt { key, reason }
}

/// Reads a `jsonb` column, of any depth.
pub(crate) fn decode_value(row: &Row, column: usize, key: &KvKey) -> KvResult<Value> {
    let corrupt = |reason: String| KvError::Corrupt {
        key: key.to_string(),
        reason,
    };
    let JsonText(text) = row
        .try_get(column)
        .map_err(|e| corrupt(format!("the value cannot be read as JSON: {e}")))?;
    json::parse(text).map_err(|e| corrupt(format!("the value is not JSON: {e}")))
}

/// The text of a `jsonb` (or `json`) column, parsed by [`json::parse`]
/// rather than `serde_json`, whose recursion limit refuses values nested
/// deeper than 127 levels that `jsonb` holds.
struct JsonText<'a>(&'a str);

impl<'a> FromSql<'a> for JsonText<'a> {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        // Binary jsonb is a version byte (1) and the text; json is the text.
        let text = match (*ty == Type::JSONB, raw.split_first()) {
            (true, Some((1, text))) => text,
            (true, _) => return Err("unknown jsonb binary format version".into()),
            (false, _) => raw,
        };
        Ok(Self(std::str::from_utf8(text)?))
    }

    accepts!(JSON, JSONB);
}
