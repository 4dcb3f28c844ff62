//! `list`: keyset pages over a primary-key range.
//!
//! A prefix's keys are the range `[prefix, prefix || NULL)` (see
//! `codec::upper_bound`), so each page is an index range scan of at most
//! [`PAGE_SIZE`] rows that stops at the end of the prefix, and the next page
//! starts after the last key seen. That key is read from the raw rows, so
//! the next page is fetched (on another pooled connection) while this one's
//! values are decoded: at most two pages are held. Rows come in `ORDER BY key` order:
//! component by component, each compared with the column's collation, a key
//! before the longer keys it is a prefix of.
//!
//! Rows no key can name (rule V5) are read as [`RawKey`]s and each yielded
//! as one [`KvError::Corrupt`] naming the key's array literal, and the
//! listing goes on after them. One kind lies past the range although it
//! starts with the prefix: a key with a NULL element right after the
//! prefix's components (`ARRAY['p', NULL]` for prefix `["p"]`), which sorts
//! at or after `prefix || NULL`. So the first page of a prefix also fetches
//! the first key at or after that bound (one more index lookup, in the same
//! statement); if it starts with the prefix, such rows follow the range and
//! are read one at a time, each with the next key after it, until a key no
//! longer starts with the prefix.

use std::error::Error;
use std::sync::Arc;

use serde_json::Value;
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, ToSql, Type, accepts};

use super::Inner;
use super::codec::{components, upper_bound};
use super::error::{BACKEND, map};
use super::raw_key::RawKey;
use super::sql::Statements;
use crate::error::{KvError, KvResult};
use crate::key::KvKey;
use crate::paging::{PAGE_SIZE, ms_left, prefetched};
use crate::store::{KvRecord, KvRecordStream};

/// Where the next page starts.
enum Cursor {
    /// At the first key of the range.
    Start,
    /// After `last`, inside the range; `tail`: the first key past the
    /// range that starts with the prefix, as the first page found it.
    After { last: RawKey, tail: Option<RawKey> },
    /// At this key past the range, which starts with the prefix.
    Tail(RawKey),
    /// Nowhere: the prefix cannot be stored; this error is all there is.
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

/// `key` as stored, in `text[]` form.
fn stored(key: &KvKey) -> KvResult<RawKey> {
    Ok(RawKey::from_components(&components(key.components())?))
}

/// Streams the live entries under `prefix` (all entries for `None`) with
/// their remaining TTLs. The next page is fetched while the current one is
/// decoded ([`prefetched`]).
/// Each value is read by `decode` ([`read_value`] or [`read_text`]).
pub(crate) fn stream<V: Send + 'static>(
    inner: Arc<Inner>,
    prefix: Option<&KvKey>,
    decode: ValueReader<V>,
) -> KvRecordStream<V> {
    let (range, start) = match prefix.map(Range::new).transpose() {
        Ok(range) => (range, Cursor::Start),
        Err(e) => (None, Cursor::Failed(e)),
    };
    prefetched(
        BACKEND,
        start,
        move |cursor| {
            let inner = Arc::clone(&inner);
            let range = range.clone();
            async move { page(&inner, range.as_ref(), cursor, decode).await }
        },
        Page::into_entries,
    )
}

/// The statement for a page and its parameters; `None` for
/// [`Cursor::Failed`].
fn statement<'a>(
    sql: &'a Statements,
    range: Option<&'a Range>,
    cursor: &'a Cursor,
) -> Option<(&'a str, Vec<&'a (dyn ToSql + Sync)>)> {
    Some(match (range, cursor) {
        (_, Cursor::Failed(_)) => return None,
        (_, Cursor::Tail(at)) => (&sql.list_tail, vec![at]),
        (None, Cursor::Start) => (&sql.list_all_first, vec![]),
        (None, Cursor::After { last, .. }) => (&sql.list_all_after, vec![last]),
        (Some(r), Cursor::Start) => (&sql.list_prefix_first, vec![&r.prefix, &r.upper]),
        (Some(r), Cursor::After { last, .. }) => (&sql.list_prefix_after, vec![last, &r.upper]),
    })
}

/// A page's listed rows, each decoded as it arrived.
struct Page<V> {
    /// Each row's record, or the error it decodes to in its place (rule V5).
    entries: Vec<KvResult<KvRecord<V>>>,
    /// The last listed row (its key says where the next page starts).
    last: Option<Row>,
    /// The key of the first row past the page's range, when one was fetched
    /// (to find the rows past the range); not a listed row.
    next_key: Option<RawKey>,
    /// Why the listing stops after these rows, when it cannot go on.
    stopped: Option<KvError>,
}

impl<V> Page<V> {
    fn empty() -> Self {
        Self {
            entries: Vec::new(),
            last: None,
            next_key: None,
            stopped: None,
        }
    }

    /// The records, then why the listing stopped, if it did.
    fn into_entries(self) -> Vec<KvResult<KvRecord<V>>> {
        let mut entries = self.entries;
        entries.extend(self.stopped.map(Err));
        entries
    }
}

/// Whether `row` is the first key past the page's range (fetched to find the
/// rows past the range), not a listed row.
fn is_next_key(row: &Row) -> bool {
    row.try_get::<_, bool>(3).unwrap_or(false)
}

/// Fetches the page at `cursor`, decoding each row with `value` as it
/// arrives, and finds where the next one starts, from the rows' keys alone.
async fn page<V>(
    inner: &Inner,
    range: Option<&Range>,
    cursor: Cursor,
    value: ValueReader<V>,
) -> KvResult<(Page<V>, Option<Cursor>)> {
    let Some((sql, params)) = statement(&inner.sql, range, &cursor) else {
        return match cursor {
            Cursor::Failed(e) => Err(e),
            _ => Ok((Page::empty(), None)),
        };
    };
    let mut page = inner
        .query_fold(sql, &params, Page::empty, |page, row| {
            if is_next_key(&row) {
                page.next_key = row.try_get::<_, RawKey>(0).ok();
            } else {
                page.entries.push(page_row(&row, value));
                page.last = Some(row);
            }
        })
        .await?;
    // Past the range: only keys that start with the prefix.
    let past = page
        .next_key
        .take()
        .filter(|key| range.is_some_and(|r| key.starts_with(&r.prefix)));
    let tail = match cursor {
        Cursor::Start => past,
        Cursor::After { tail, .. } => tail,
        _ => return Ok((page, past.map(Cursor::Tail))),
    };
    if page.entries.len() < PAGE_SIZE {
        return Ok((page, tail.map(Cursor::Tail)));
    }
    match page
        .last
        .take()
        .and_then(|row| row.try_get::<_, RawKey>(0).ok())
    {
        Some(last) => Ok((page, Some(Cursor::After { last, tail }))),
        None => {
            page.stopped = Some(KvError::backend(
                BACKEND,
                "the listing stopped at a key that cannot be read as text[]; list a narrower prefix",
            ));
            Ok((page, None))
        }
    }
}

/// The `EXPLAIN` output of the page of `list(prefix)` that starts after
/// `after` (the first page for `None`), one plan line per element.
pub(crate) async fn explain(
    inner: &Inner,
    prefix: Option<&KvKey>,
    after: Option<&KvKey>,
) -> KvResult<Vec<String>> {
    let range = prefix.map(Range::new).transpose()?;
    let cursor = match after {
        Some(key) => Cursor::After {
            last: stored(key)?,
            tail: None,
        },
        None => Cursor::Start,
    };
    let (sql, params) = statement(&inner.sql, range.as_ref(), &cursor)
        .ok_or_else(|| KvError::backend(BACKEND, "no statement for this listing"))?;
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

/// Decodes a listed `(key, value, remaining ms, false)` row.
fn page_row<V>(row: &Row, value: ValueReader<V>) -> KvResult<KvRecord<V>> {
    let raw = row.try_get::<_, RawKey>(0).map_err(|e| KvError::Corrupt {
        key: "(unreadable key)".to_owned(),
        reason: format!("the key cannot be read as text[]: {e}"),
    })?;
    let key = raw.into_key().map_err(|(raw, reason)| KvError::Corrupt {
        key: raw.literal(),
        reason,
    })?;
    let value = decode_column(row, 1, &key, value)?;
    let remaining = row.try_get::<_, Option<i64>>(2).map_err(map)?;
    Ok(KvRecord {
        key,
        value,
        expires_in: remaining.map(ms_left),
    })
}

/// How a row's value is read from its JSON text, given a function that
/// names the row's raw key.
pub(crate) type ValueReader<V> = fn(&dyn Fn() -> String, &str) -> KvResult<V>;

/// Reads a value's JSON text as a `Value`, of any depth.
pub(crate) fn read_value(raw_key: &dyn Fn() -> String, text: &str) -> KvResult<Value> {
    crate::table::decode_value_str(raw_key, text)
}

/// Reads a value's JSON text (`jsonb`'s output, with spaces) as
/// [`JsonText`](crate::json::JsonText): compacted in one pass, one copy.
pub(crate) fn read_text(
    raw_key: &dyn Fn() -> String,
    text: &str,
) -> KvResult<crate::json::JsonText> {
    crate::table::json_text_str(raw_key, text)
}

/// Reads the `jsonb` column `column` of `row` with `read`.
pub(crate) fn decode_column<V>(
    row: &Row,
    column: usize,
    key: &KvKey,
    read: ValueReader<V>,
) -> KvResult<V> {
    // Named as stored: the raw key of `delete_raw`.
    let raw_key = || stored(key).map_or_else(|_| key.to_json(), |raw| raw.literal());
    let JsonColumn(text) = row.try_get(column).map_err(|e| KvError::Corrupt {
        key: raw_key(),
        reason: format!("the value cannot be read as JSON: {e}"),
    })?;
    read(&raw_key, text)
}

/// The text of a `jsonb` (or `json`) column, parsed by [`json::parse`](crate::json::parse)
/// rather than `serde_json`, whose recursion limit refuses values nested
/// deeper than 127 levels that `jsonb` holds.
struct JsonColumn<'a>(&'a str);

impl<'a> FromSql<'a> for JsonColumn<'a> {
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
