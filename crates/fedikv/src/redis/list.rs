//! `list`: `SCAN MATCH` pages whose values are fetched with `MGET`, one round
//! trip per page.
//!
//! Each round trip is one pipeline: `MGET` of the keys the previous `SCAN`
//! found (at most [`MGET_BATCH`] of them) and, once those are all fetched,
//! the next `SCAN` (the first also fetches the key equal to the prefix). Keys
//! whose entry vanished or expired in between, and keys holding another
//! Redis type, come back as nil and are skipped. For `scan`, the pipeline
//! also asks each fetched key's `PTTL`.
//!
//! Order: `SCAN` order, i.e. none (as Fedify's). Memory: one `SCAN` batch of
//! keys plus one page of values, and 16 bytes per listed key to drop the
//! duplicates `SCAN` may return when Redis resizes its keyspace during the
//! listing (see [`SeenKeys`]).

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{FromRedisValue, Pipeline, Value as Reply};

use crate::error::{KvError, KvResult};
use crate::key::KvKey;
use crate::paging::paged;
use crate::store::{KvRecord, KvRecordStream};

use super::codec::KeyCodec;
use super::error::{BACKEND, is_dropped, map};
use super::parse_value;

/// The `COUNT` hint of each `SCAN`: how many keyspace slots the server looks
/// at per call, blocking other clients meanwhile (about a millisecond on a
/// slow machine). Measured here, 500 to 10 000 list equally fast: the cost is
/// the server's per-key work for every key of the database (Redis 7.0
/// allocates each scanned key before matching it), not the round trips.
pub(crate) const SCAN_COUNT: usize = 1000;

/// Most values fetched per round trip (a page of the stream). Smaller than
/// the other backends' pages (`PAGE_SIZE`) so that a reply stays near 100 MiB
/// even with 1 MiB values (V4), well within the reply timeout.
pub(crate) const MGET_BATCH: usize = 100;

/// Where a listing is.
struct Cursor {
    /// The Redis key equal to the prefix, still to be fetched (first page).
    exact: Option<Vec<u8>>,
    /// The next `SCAN` cursor, `None` once the scan is complete.
    scan: Option<u64>,
    /// Matching keys found by `SCAN` whose values are still to be fetched.
    pending: Vec<(Vec<u8>, KvKey)>,
    seen: SeenKeys,
}

/// What every page needs.
struct Lister {
    conn: ConnectionManager,
    codec: Arc<KeyCodec>,
    prefix: Option<KvKey>,
    pattern: Vec<u8>,
    /// Whether to fetch each entry's remaining TTL (`scan`) or not (`list`,
    /// whose records all say `None`).
    ttls: Expiries,
}

/// Whether a listing fetches the entries' expiries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expiries {
    /// `list`: values only.
    Skip,
    /// `scan`: values and `PTTL`s.
    Fetch,
}

/// Streams the entries under `prefix` (everything for `None`).
pub(crate) fn list(
    conn: ConnectionManager,
    codec: Arc<KeyCodec>,
    prefix: Option<&KvKey>,
    ttls: Expiries,
) -> KvRecordStream {
    let start = codec.pattern(prefix).and_then(|pattern| {
        let exact = prefix.map(|p| codec.encode(p)).transpose()?;
        Ok((pattern, exact))
    });
    let (pattern, exact) = match start {
        Ok(start) => start,
        Err(e) => return Box::pin(futures::stream::once(async { Err(e) })),
    };
    let lister = Arc::new(Lister {
        conn,
        codec,
        prefix: prefix.cloned(),
        pattern,
        ttls,
    });
    let first = Cursor {
        exact,
        scan: Some(0),
        pending: Vec::new(),
        seen: SeenKeys::default(),
    };
    paged(first, move |cursor| {
        let lister = Arc::clone(&lister);
        async move { lister.page(cursor).await }
    })
}

impl Lister {
    async fn page(&self, mut cursor: Cursor) -> KvResult<(Vec<KvRecord>, Option<Cursor>)> {
        let batch: Vec<(Vec<u8>, KvKey)> = {
            let n = cursor.pending.len().min(MGET_BATCH);
            cursor.pending.drain(..n).collect()
        };
        let scan = cursor.scan.filter(|_| cursor.pending.is_empty());
        let fetch_ttls = self.ttls == Expiries::Fetch;
        let mut pipe = redis::pipe();
        if let Some(exact) = &cursor.exact {
            // MGET, not GET: a key of another type is skipped, not an error.
            pipe.cmd("MGET").arg(exact);
            if fetch_ttls {
                pipe.cmd("PTTL").arg(exact);
            }
        }
        if !batch.is_empty() {
            let mget = pipe.cmd("MGET");
            for (raw, _) in &batch {
                mget.arg(raw);
            }
            if fetch_ttls {
                for (raw, _) in &batch {
                    pipe.cmd("PTTL").arg(raw);
                }
            }
        }
        if let Some(scan) = scan {
            pipe.cmd("SCAN")
                .arg(scan)
                .arg("MATCH")
                .arg(&self.pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT);
        }
        let mut replies = self.query(&pipe).await?.into_iter();
        let mut entries = Vec::with_capacity(batch.len() + 1);
        let ttls = |replies: &mut std::vec::IntoIter<Reply>, n: usize| -> KvResult<Vec<_>> {
            (0..n)
                .map(|_| fetch_ttls.then(|| parse(replies.next())).transpose())
                .collect()
        };
        if cursor.exact.is_some() {
            let values: Vec<Option<Vec<u8>>> = parse(replies.next())?;
            let ttl = ttls(&mut replies, 1)?;
            if let (Some(Some(bytes)), Some(prefix)) = (values.into_iter().next(), &self.prefix)
                && let Some(expires_in) = expires_in(ttl[0])
            {
                entries.push(KvRecord {
                    key: prefix.clone(),
                    value: parse_value(prefix, &bytes)?,
                    expires_in,
                });
            }
        }
        if !batch.is_empty() {
            let values: Vec<Option<Vec<u8>>> = parse(replies.next())?;
            let ttls = ttls(&mut replies, batch.len())?;
            for (((_, key), value), ttl) in batch.into_iter().zip(values).zip(ttls) {
                if let (Some(bytes), Some(expires_in)) = (value, expires_in(ttl)) {
                    let value = parse_value(&key, &bytes)?;
                    entries.push(KvRecord {
                        key,
                        value,
                        expires_in,
                    });
                }
            }
        }
        if scan.is_some() {
            let (next, keys): (u64, Vec<Vec<u8>>) = parse(replies.next())?;
            for raw in keys {
                if let Some(key) = self.decode(&raw)
                    && cursor.seen.insert(&raw)
                {
                    cursor.pending.push((raw, key));
                }
            }
            cursor.scan = (next != 0).then_some(next);
        }
        cursor.exact = None;
        let done = cursor.scan.is_none() && cursor.pending.is_empty();
        Ok((entries, (!done).then_some(cursor)))
    }

    /// The key stored under `raw` if it is strictly under the prefix.
    fn decode(&self, raw: &[u8]) -> Option<KvKey> {
        let key = self.codec.decode(raw)?;
        match &self.prefix {
            Some(prefix) if key.len() <= prefix.len() || !key.starts_with(prefix) => None,
            _ => Some(key),
        }
    }

    /// Runs the (read-only, so resendable) pipeline, once more if the
    /// connection was found dropped.
    async fn query(&self, pipe: &Pipeline) -> KvResult<Vec<Reply>> {
        let mut conn = self.conn.clone();
        match pipe.query_async(&mut conn).await {
            Err(e) if is_dropped(&e) => pipe.query_async(&mut conn).await.map_err(map),
            other => other.map_err(map),
        }
    }
}

/// A record's `expires_in` from its key's `PTTL` reply (`None`: not asked):
/// milliseconds left, `-1` for no expiry. `None` when the key vanished
/// between its `MGET` and its `PTTL` (`-2`): the entry is then skipped, as if
/// `MGET` had missed it.
fn expires_in(pttl: Option<i64>) -> Option<Option<Duration>> {
    match pttl {
        None | Some(-1) => Some(None),
        Some(ms) if ms >= 0 => Some(Some(Duration::from_millis(ms.unsigned_abs()))),
        Some(_) => None,
    }
}

/// Remembers which Redis keys a listing has yielded, in 16 bytes per key.
///
/// `SCAN` may return a key more than once (when the keyspace table is resized
/// during the iteration), and O5 wants each entry once. Remembering all keys
/// is the only exact way; this keeps two independent 64-bit SipHash values
/// per key instead of the key (a false "seen" needs a 128-bit collision).
#[derive(Debug, Default)]
pub(crate) struct SeenKeys {
    hashers: (RandomState, RandomState),
    seen: HashSet<(u64, u64)>,
}

impl SeenKeys {
    /// Records `raw`; `false` if it was recorded before.
    pub(crate) fn insert(&mut self, raw: &[u8]) -> bool {
        let fingerprint = (self.hashers.0.hash_one(raw), self.hashers.1.hash_one(raw));
        self.seen.insert(fingerprint)
    }
}

fn parse<T: FromRedisValue>(reply: Option<Reply>) -> KvResult<T> {
    let reply = reply.ok_or_else(|| KvError::backend(BACKEND, "a pipeline reply is missing"))?;
    T::from_redis_value(reply).map_err(|e| KvError::backend(BACKEND, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_keys_remember() {
        let mut seen = SeenKeys::default();
        assert!(seen.insert(b"a"));
        assert!(seen.insert(b"b"));
        assert!(!seen.insert(b"a"));
    }
}
