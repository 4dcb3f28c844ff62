//! Raw-driver floors (`fedikv bench --raw`): each SQL or Redis backend's own
//! statements and commands, taken from `fedikv::bench_support` so they cannot
//! drift from the store's, run through the bare driver with the store's
//! connection count (SQLite: one connection; PostgreSQL and MySQL: a pool of
//! the store's size, LIFO so sequential work stays on one connection; Redis:
//! one multiplexed connection). The same workload code drives them, so each
//! row of the results has a "fedikv ÷ raw" figure from the same run.
//!
//! Each floor implements [`KvStore`](fedikv::KvStore) only so the workload
//! can drive it, and only for what the workload does: `cas` with an expected
//! and a new value, `list` of a prefix. Other calls fail with
//! [`unsupported`].

pub mod mysql;
pub mod postgres;
pub mod redis;
pub mod sqlite;

use std::future::Future;

use fedikv::{KvEntry, KvError, KvResult, KvStream};
use futures::StreamExt;

/// The error of a call outside the workload.
pub fn unsupported(what: &str) -> KvError {
    KvError::backend(
        "raw floor",
        format!("{what} is not part of the benchmark's raw-driver floor"),
    )
}

/// A stream of entries fetched a page at a time: `fetch(state)` returns a
/// page and the state of the next one (`None` after the last). An error
/// ends the stream after it is yielded.
pub fn pages<S, F, Fut>(first: S, fetch: F) -> KvStream
where
    S: Send + 'static,
    F: FnMut(S) -> Fut + Send + 'static,
    Fut: Future<Output = KvResult<(Vec<KvEntry>, Option<S>)>> + Send + 'static,
{
    futures::stream::unfold((Some(first), fetch), |(state, mut fetch)| async move {
        let page = fetch(state?).await;
        Some(match page {
            Ok((entries, next)) => (Ok(entries), (next, fetch)),
            Err(error) => (Err(error), (None, fetch)),
        })
    })
    .flat_map(|page| {
        futures::stream::iter(match page {
            Ok(entries) => entries.into_iter().map(Ok).collect::<Vec<_>>(),
            Err(error) => vec![Err(error)],
        })
    })
    .boxed()
}

/// Parses a stored value's JSON text; [`KvError::Corrupt`] naming `key`.
pub fn parse(key: &str, text: &[u8]) -> KvResult<serde_json::Value> {
    serde_json::from_slice(text).map_err(|e| KvError::Corrupt {
        key: key.to_owned(),
        reason: e.to_string(),
    })
}

/// Parses a key's JSON text; [`KvError::Corrupt`] if it is not one.
pub fn parse_key(text: &str) -> KvResult<fedikv::KvKey> {
    fedikv::KvKey::from_json(text).map_err(|e| KvError::Corrupt {
        key: text.to_owned(),
        reason: e.to_string(),
    })
}
