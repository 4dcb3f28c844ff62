//! Raw-driver floors (`fedikv bench --raw`): each SQL or Redis backend's own
//! statements and commands, taken from `fedikv::bench_support` so they cannot
//! drift from the store's, run through the bare driver. Two kinds of floor:
//!
//! - `impl` "raw": the store's connection count (SQLite: one connection;
//!   PostgreSQL and MySQL: a pool of the store's size, LIFO so sequential
//!   work stays on one connection; Redis: one multiplexed connection, as the
//!   store's);
//! - `impl` "raw-1conn" (PostgreSQL and MySQL, whose stores pool): one
//!   connection held for the whole run, no pool checkout at all (concurrent
//!   calls pipeline on it for PostgreSQL and wait their turn for MySQL).
//!
//! The same workload code drives them, so each row of the results has a
//! "fedikv ÷ raw" figure from the same run.
//!
//! A floor implements [`Floor`], only what the workload does: `cas` with an
//! expected and a new value and no TTL, `list` of a prefix. [`Raw`] makes it
//! a [`KvStore`] for the workload; other calls fail with [`unsupported`].

pub mod mysql;
pub mod postgres;
pub mod redis;
pub mod sqlite;

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use fedikv::{KvEntry, KvError, KvKey, KvResult, KvStore, KvStream, SetOptions};
use futures::StreamExt;
use serde_json::Value;

/// A backend's statements or commands through its bare driver, for the calls
/// the workload makes.
#[async_trait]
pub trait Floor: Send + Sync + std::fmt::Debug {
    /// The backend's name, as its store's [`KvStore::backend`].
    const BACKEND: &'static str;

    /// The live value under `key`, as the store's `get`.
    async fn get(&self, key: &KvKey) -> KvResult<Option<Value>>;

    /// Upserts `value` under `key`, expiring after `ttl`, as the store's `set`.
    async fn set(&self, key: &KvKey, value: &Value, ttl: Option<Duration>) -> KvResult<()>;

    /// Deletes `key`, as the store's `delete`.
    async fn delete(&self, key: &KvKey) -> KvResult<()>;

    /// Replaces the live value `expected` under `key` by `new` (no TTL), as
    /// the store's `cas` of one value by another; whether it did.
    async fn swap(&self, key: &KvKey, expected: &Value, new: &Value) -> KvResult<bool>;

    /// The live entries under `prefix`, as the store's `list(Some(prefix))`.
    fn list(&self, prefix: &KvKey) -> KvStream;
}

/// How many connections a floor uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// As many as the store (`impl` "raw").
    StoreCount,
    /// One, held for the run (`impl` "raw-1conn").
    One,
}

impl Kind {
    /// The `impl` of this kind's result lines.
    pub fn label(self) -> &'static str {
        match self {
            Self::StoreCount => "raw",
            Self::One => "raw-1conn",
        }
    }
}

/// A [`Floor`] as the [`KvStore`] the workload drives: calls outside the
/// workload fail with [`unsupported`].
#[derive(Debug)]
pub struct Raw<F>(pub F);

#[async_trait]
impl<F: Floor> KvStore for Raw<F> {
    async fn get(&self, key: &KvKey) -> KvResult<Option<Value>> {
        self.0.get(key).await
    }

    async fn set(&self, key: &KvKey, value: &Value, options: SetOptions) -> KvResult<()> {
        self.0.set(key, value, options.ttl).await
    }

    async fn delete(&self, key: &KvKey) -> KvResult<()> {
        self.0.delete(key).await
    }

    /// [`Floor::swap`]: the workload's `cas`, one value by another without
    /// a TTL; any other is [`unsupported`].
    async fn cas(
        &self,
        key: &KvKey,
        expected: Option<&Value>,
        new: Option<&Value>,
        options: SetOptions,
    ) -> KvResult<bool> {
        let (Some(expected), Some(new), None) = (expected, new, options.ttl) else {
            return Err(unsupported("cas other than value to value without TTL"));
        };
        self.0.swap(key, expected, new).await
    }

    /// [`Floor::list`]; a listing of everything is [`unsupported`].
    fn list(&self, prefix: Option<&KvKey>) -> KvStream {
        match prefix {
            Some(prefix) => self.0.list(prefix),
            None => failed(unsupported("list without a prefix")),
        }
    }

    async fn sweep(&self) -> KvResult<u64> {
        Err(unsupported("sweep"))
    }

    fn backend(&self) -> &'static str {
        F::BACKEND
    }
}

/// The error of a call outside the workload.
pub fn unsupported(what: &str) -> KvError {
    KvError::backend(
        "raw floor",
        format!("{what} is not part of the benchmark's raw-driver floor"),
    )
}

/// A stream that yields `error` and ends.
pub fn failed(error: KvError) -> KvStream {
    futures::stream::iter([Err(error)]).boxed()
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
