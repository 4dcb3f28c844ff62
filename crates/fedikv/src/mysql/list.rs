//! Prefix listing as keyset pages over a binary range of the primary key
//! (rule O5): no `LIKE`, so `%`, `_` and `\` are ordinary characters.
//!
//! Pages are fetched one key range after another: each starts after the last
//! key of the previous page, so an entry present for the whole listing
//! appears exactly once whatever is written meanwhile. A page's query asks
//! for one row more than a page, so the rows themselves say whether another
//! page follows and where it starts: that page is fetched (on another pooled
//! connection) while this one is decoded ([`prefetched`]), and no query is
//! sent after the last page.

use std::sync::Arc;

use mysql_async::Value as Column;
use mysql_async::prelude::Queryable;

use super::Inner;
use super::codec::{ValueReader, column, key_column};
#[cfg(doc)]
use super::codec::{decode_text, read_value};
use super::error::{BACKEND, map};
use super::pieces;
use crate::error::{KvError, KvResult};
use crate::jsonkey::JsonKeyRange;
use crate::key::KvKey;
use crate::paging::{PAGE_SIZE, ms_left, prefetched};
use crate::store::{KvRecord, KvRecordStream};

/// Shared by the stream's page fetches.
struct Lister {
    inner: Arc<Inner>,
    range: Option<JsonKeyRange>,
}

/// Streams the live entries under `prefix` (all with `None`) with their
/// remaining TTLs in key-text byte order, [`PAGE_SIZE`] rows per page, the
/// next page fetched while this one is decoded: at most two pages are in
/// memory or in flight.
/// Each value is read by `read` ([`read_value`] or [`decode_text`]).
pub(crate) fn stream<V: Send + 'static>(
    inner: Arc<Inner>,
    prefix: Option<&KvKey>,
    read: ValueReader<V>,
) -> KvRecordStream<V> {
    let lister = Arc::new(Lister {
        inner,
        range: prefix.map(JsonKeyRange::new),
    });
    prefetched(
        BACKEND,
        // Every key's text starts with `[`, so every key sorts after "".
        Column::from(""),
        move |after: Column| {
            let lister = Arc::clone(&lister);
            async move { lister.page(&after).await }
        },
        move |rows: Vec<KvResult<Row>>| {
            rows.into_iter()
                .map(|row| row.and_then(|row| decode(row, read)))
                .collect()
        },
    )
}

impl Lister {
    /// The rows of the page after key column value `after`, undecoded (a
    /// row whose columns are not of Fedify's types as its error), and the
    /// key column value the next page starts after if one follows; the
    /// table is recreated if it was dropped elsewhere.
    async fn page(&self, after: &Column) -> KvResult<Page> {
        self.inner.recreating(|| self.query_page(after)).await
    }

    async fn query_page(&self, after: &Column) -> KvResult<Page> {
        let sql = &self.inner.sql;
        let mut conn = self.inner.conn().await?;
        let mut rows: Vec<mysql_async::Row> = match &self.range {
            Some(r) => {
                let params = (
                    r.exact.as_str(),
                    r.children_from.as_str(),
                    r.children_to.as_str(),
                    after.clone(),
                );
                conn.exec(sql.list_prefix.as_str(), params).await
            }
            None => conn.exec(sql.list_all.as_str(), (after.clone(),)).await,
        }
        .map_err(map)?;
        // The query asks for one row more than a page: if it came, another
        // page follows (and starts after this page's last key).
        let more = rows.len() > PAGE_SIZE;
        rows.truncate(PAGE_SIZE);
        let next = more
            .then(|| rows.last().and_then(|row| row.as_ref(0).cloned()))
            .flatten();
        // Values longer than `PIECE_BYTES` came as NULL: read each in pieces
        // (one gone since is no longer listed).
        let mut page = Vec::with_capacity(rows.len());
        for row in rows {
            let (key, value, remaining) = match page_columns(row) {
                Ok(columns) => columns,
                Err(corrupt) => {
                    page.push(Err(corrupt));
                    continue;
                }
            };
            let value = match value {
                Some(value) => Some(value),
                None => pieces::read(&mut conn, sql, &key).await.map_err(map)?,
            };
            page.extend(value.map(|value| Ok((key, value, remaining))));
        }
        conn.done();
        Ok((page, next))
    }
}

/// A page row's key text, value (`NULL` when it is longer than
/// [`PIECE_BYTES`](pieces::PIECE_BYTES)) and remaining milliseconds;
/// [`KvError::Corrupt`] naming the key when a column is not of Fedify's
/// type.
fn page_columns(mut row: mysql_async::Row) -> KvResult<(String, Option<Vec<u8>>, Option<i64>)> {
    let key = key_column(row.take(0).unwrap_or(Column::NULL))?;
    let value = column(&mut row, 1, &key)?;
    let remaining = column(&mut row, 2, &key)?;
    Ok((key, value, remaining))
}

/// A page's rows and the key column value the next page starts after.
type Page = (Vec<KvResult<Row>>, Option<Column>);

/// A listed row: key text, value text, remaining milliseconds.
type Row = (String, Vec<u8>, Option<i64>);

/// How many expired rows are under `prefix` (all rows for `None`).
pub(crate) async fn count_expired(inner: &Inner, prefix: Option<&KvKey>) -> KvResult<u64> {
    let sql = &inner.sql;
    let mut conn = inner.conn().await?;
    let count: Option<u64> = match prefix.map(JsonKeyRange::new) {
        Some(r) => {
            let params = (r.exact, r.children_from, r.children_to);
            conn.exec_first(sql.count_expired_prefix.as_str(), params)
                .await
        }
        None => conn.exec_first(sql.count_expired_all.as_str(), ()).await,
    }
    .map_err(map)?;
    conn.done();
    Ok(count.unwrap_or(0))
}

/// Parses one row's key, value and expiry; [`KvError::Corrupt`] naming the
/// key column's text if it does not decode.
fn decode<V>((key_text, value, remaining): Row, read: ValueReader<V>) -> KvResult<KvRecord<V>> {
    let key = KvKey::from_json(&key_text).map_err(|e| KvError::Corrupt {
        key: key_text.clone(),
        reason: format!("the key is not a JSON array of strings: {e}"),
    })?;
    let value = read(&key_text, value)?;
    Ok(KvRecord {
        key,
        value,
        expires_in: remaining.map(ms_left),
    })
}
