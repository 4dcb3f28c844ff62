//! Prefix listing as keyset pages over a binary range of the primary key
//! (SPEC O5): no `LIKE`, so `%`, `_` and `\` are ordinary characters.

use std::sync::Arc;

use mysql_async::prelude::Queryable;
use tokio::task::JoinHandle;

use super::Inner;
use super::error::{BACKEND, map};
use super::ops::decode_value;
use crate::error::{KvError, KvResult};
use crate::jsonkey::JsonKeyRange;
use crate::key::KvKey;
use crate::paging::{PAGE_SIZE, paged};
use crate::store::{KvEntry, KvStream};

/// The rows of one page, as the server sent them.
struct Rows {
    rows: Vec<(String, Vec<u8>)>,
    /// The last key's text when another page follows.
    last: Option<String>,
}

/// Pages with more rows than this are decoded in two halves at once.
const SPLIT_DECODE_ROWS: usize = 64;

/// Where the next page comes from.
enum Cursor {
    /// Fetch the rows after this key text.
    After(String),
    /// Already being fetched.
    Prefetching(AbortOnDrop<KvResult<Rows>>),
}

/// A task helping the stream, cancelled when the stream is dropped first.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> AbortOnDrop<T> {
    async fn join(mut self) -> KvResult<T> {
        (&mut self.0)
            .await
            .map_err(|e| KvError::backend(BACKEND, e))
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Streams the live entries under `prefix` (all with `None`) in key-text
/// byte order, [`PAGE_SIZE`] rows per round trip. Each page starts after the
/// last key of the previous one, so rows written or deleted meanwhile never
/// make an entry appear twice. As soon as a page's rows arrive, the next page
/// is requested (on another connection) while this one is decoded (two
/// halves at once: JSON parsing is most of a listing's CPU time) and
/// consumed, so at most two pages are in memory.
pub(crate) fn stream(inner: Arc<Inner>, prefix: Option<&KvKey>) -> KvStream {
    let range = prefix.map(|p| Arc::new(JsonKeyRange::new(p)));
    // Every key's text starts with `[`, so every key sorts after "".
    paged(Cursor::After(String::new()), move |cursor| {
        let inner = Arc::clone(&inner);
        let range = range.clone();
        async move {
            let Rows { rows, last } = match cursor {
                Cursor::After(after) => inner.rows(range.as_deref(), &after).await?,
                Cursor::Prefetching(task) => task.join().await??,
            };
            let next = last.map(|after| {
                Cursor::Prefetching(AbortOnDrop(tokio::spawn(async move {
                    inner.rows(range.as_deref(), &after).await
                })))
            });
            Ok((decode_page(rows).await?, next))
        }
    })
}

/// Parses the keys and values of a page, the second half on another task
/// (another worker thread on a multi-thread runtime).
async fn decode_page(mut rows: Vec<(String, Vec<u8>)>) -> KvResult<Vec<KvEntry>> {
    if rows.len() <= SPLIT_DECODE_ROWS {
        return decode(rows);
    }
    let second = rows.split_off(rows.len() / 2);
    let second = AbortOnDrop(tokio::spawn(async move { decode(second) }));
    let mut entries = decode(rows)?;
    entries.extend(second.join().await??);
    Ok(entries)
}

/// Parses the keys and values of rows.
fn decode(rows: Vec<(String, Vec<u8>)>) -> KvResult<Vec<KvEntry>> {
    rows.into_iter()
        .map(|(key_text, value)| {
            let key = KvKey::from_json(&key_text).map_err(|e| KvError::Corrupt {
                key: key_text.clone(),
                reason: format!("the key is not a JSON array of strings: {e}"),
            })?;
            let value = decode_value(&key_text, &value)?;
            Ok(KvEntry { key, value })
        })
        .collect()
}

impl Inner {
    /// One page's rows, with the table recreated if it was dropped elsewhere.
    async fn rows(&self, range: Option<&JsonKeyRange>, after: &str) -> KvResult<Rows> {
        self.recreating(|| self.query_page(range, after)).await
    }

    /// The rows of the live entries after key text `after`.
    async fn query_page(&self, range: Option<&JsonKeyRange>, after: &str) -> KvResult<Rows> {
        let mut conn = self.conn().await?;
        let mut rows: Vec<(String, Vec<u8>)> = match range {
            Some(r) => {
                conn.exec(
                    self.sql.list_prefix.as_str(),
                    (
                        r.exact.as_str(),
                        r.children_from.as_str(),
                        r.children_to.as_str(),
                        after,
                    ),
                )
                .await
            }
            None => conn.exec(self.sql.list_all.as_str(), (after,)).await,
        }
        .map_err(map)?;
        conn.done();
        // The query asks for one row more than a page: if it came, another
        // page follows (and starts after this page's last key).
        let last = if rows.len() > PAGE_SIZE {
            rows.truncate(PAGE_SIZE);
            rows.last().map(|(key, _)| key.clone())
        } else {
            None
        };
        Ok(Rows { rows, last })
    }
}
