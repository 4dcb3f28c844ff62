//! Prefix listing as keyset pages over a binary range of the primary key
//! (rule O5): no `LIKE`, so `%`, `_` and `\` are ordinary characters.
//!
//! Pages are fetched one key range after another: each starts after the last
//! key of the previous page, so an entry present for the whole listing
//! appears exactly once whatever is written meanwhile. To overlap round
//! trips, the store also asks (with a cheap key-only query) which key will
//! end the page being fetched, and starts fetching the following page from
//! there at once, on another connection. That guess is only used if the page
//! really ends there; otherwise the speculative page is dropped and the next
//! one is fetched after the real last key.

use std::sync::Arc;

use mysql_async::prelude::Queryable;
use tokio::task::JoinHandle;

use super::Inner;
use super::codec::ValueReader;
#[cfg(doc)]
use super::codec::{decode_text, read_value};
use super::error::{BACKEND, map};
use crate::error::{KvError, KvResult};
use crate::jsonkey::JsonKeyRange;
use crate::key::KvKey;
use crate::paging::{PAGE_SIZE, ms_left, paged};
use crate::store::{KvRecord, KvRecordStream};

/// One decoded page.
struct Page<V> {
    /// Each row decoded, or the [`KvError::Corrupt`] of a row that does not
    /// decode, in its place (rule V5).
    entries: Vec<KvResult<KvRecord<V>>>,
    /// The last key's text when another page follows.
    last: Option<String>,
}

/// A page being fetched by a task, cancelled when the stream is dropped
/// before using it.
struct Fetching<V> {
    /// The page holds the entries after this key text.
    after: String,
    task: JoinHandle<KvResult<Page<V>>>,
}

impl<V> Drop for Fetching<V> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Where the stream stands.
enum Cursor<V> {
    /// Nothing fetched yet (tasks are only spawned once the stream is polled,
    /// inside the runtime).
    Start,
    /// The next page is being fetched.
    Next(Fetching<V>),
}

/// Shared by the stream's page fetches.
struct Lister<V> {
    inner: Arc<Inner>,
    range: Option<JsonKeyRange>,
    /// Reads each row's value.
    decode: ValueReader<V>,
}

/// Streams the live entries under `prefix` (all with `None`) with their
/// remaining TTLs in key-text
/// byte order, [`PAGE_SIZE`] rows per page. At most two pages are in memory
/// or in flight.
/// Each value is read by `decode` ([`read_value`] or [`decode_text`]).
pub(crate) fn stream<V: Send + 'static>(
    inner: Arc<Inner>,
    prefix: Option<&KvKey>,
    decode: ValueReader<V>,
) -> KvRecordStream<V> {
    let lister = Arc::new(Lister {
        inner,
        range: prefix.map(JsonKeyRange::new),
        decode,
    });
    paged(Cursor::Start, move |cursor| {
        let lister = Arc::clone(&lister);
        async move {
            let current = match cursor {
                // Every key's text starts with `[`, so every key sorts after "".
                Cursor::Start => lister.spawn_page(String::new()),
                Cursor::Next(fetching) => fetching,
            };
            let (entries, next) = lister.next_page(current).await?;
            Ok((entries, next.map(Cursor::Next)))
        }
    })
}

impl<V: Send + 'static> Lister<V> {
    /// Starts fetching the page after key text `after`.
    fn spawn_page(self: &Arc<Self>, after: String) -> Fetching<V> {
        let lister = Arc::clone(self);
        let start = after.clone();
        Fetching {
            after,
            task: tokio::spawn(async move { lister.page(&start).await }),
        }
    }

    /// Waits for `current`, meanwhile predicting where it ends and starting
    /// the following page there.
    async fn next_page(
        self: &Arc<Self>,
        mut current: Fetching<V>,
    ) -> KvResult<(Vec<KvResult<KvRecord<V>>>, Option<Fetching<V>>)> {
        let after = &current.after;
        let predicted = self.inner.recreating(|| self.page_end(after)).await?;
        let speculative = predicted.map(|end| self.spawn_page(end));
        let page = (&mut current.task)
            .await
            .map_err(|e| KvError::backend(BACKEND, e))??;
        let next = match (page.last, speculative) {
            (None, _) => None,
            (Some(last), Some(guess)) if guess.after == last => Some(guess),
            // Entries changed between the two queries: fetch after the
            // page's real end (dropping the guess cancels it).
            (Some(last), _) => Some(self.spawn_page(last)),
        };
        Ok((page.entries, next))
    }

    /// One page, with the table recreated if it was dropped elsewhere.
    async fn page(&self, after: &str) -> KvResult<Page<V>> {
        self.inner.recreating(|| self.query_page(after)).await
    }

    /// The live entries after key text `after`.
    async fn query_page(&self, after: &str) -> KvResult<Page<V>> {
        let sql = &self.inner.sql;
        let mut conn = self.inner.conn().await?;
        // Drain the result first and decode afterwards: decoding while
        // reading stalls the server on a full socket buffer.
        let mut rows: Vec<Row> = match &self.range {
            Some(r) => {
                let params = (
                    r.exact.as_str(),
                    r.children_from.as_str(),
                    r.children_to.as_str(),
                    after,
                );
                conn.exec(sql.list_prefix.as_str(), params).await
            }
            None => conn.exec(sql.list_all.as_str(), (after,)).await,
        }
        .map_err(map)?;
        conn.done();
        // The query asks for one row more than a page: if it came, another
        // page follows (and starts after this page's last key).
        let more = rows.len() > PAGE_SIZE;
        rows.truncate(PAGE_SIZE);
        let last = more
            .then(|| rows.last().map(|(key, _, _)| key.clone()))
            .flatten();
        let entries = rows
            .into_iter()
            .map(|row| decode(row, self.decode))
            .collect();
        Ok(Page { entries, last })
    }

    /// The key text that ends the page after `after` if that page is full
    /// (the key of its last row), from the primary key alone.
    async fn page_end(&self, after: &str) -> KvResult<Option<String>> {
        let sql = &self.inner.sql;
        let mut conn = self.inner.conn().await?;
        let end: Option<String> = match &self.range {
            Some(r) => {
                let params = (
                    r.exact.as_str(),
                    r.children_from.as_str(),
                    r.children_to.as_str(),
                    after,
                );
                conn.exec_first(sql.page_end_prefix.as_str(), params).await
            }
            None => conn.exec_first(sql.page_end_all.as_str(), (after,)).await,
        }
        .map_err(map)?;
        conn.done();
        Ok(end)
    }
}

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
