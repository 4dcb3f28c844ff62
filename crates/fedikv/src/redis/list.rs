//! `list`: `SCAN MATCH` pages whose values are fetched with `MGET`, one round
//! trip per page.
//!
//! Each round trip is one `MGET` of the keys the previous `SCAN` found (at
//! most [`MGET_BATCH`] of them; the first page also fetches the key equal to
//! the prefix) and, once those are all fetched, the next `SCAN`. On one
//! server both go in one pipeline. On a cluster they run concurrently: the
//! `MGET` is split by hash slot by the cluster connection (a multi-key `MGET`
//! across slots would fail), and the `SCAN` goes to the primary the
//! [`Walk`] is at (see `cluster.rs`: every primary is scanned, in passes
//! until the topology held still). Keys whose entry vanished or expired in
//! between, and keys holding another Redis type, come back as nil and are
//! skipped.
//!
//! Order: `SCAN` order, i.e. none (as Fedify's). Memory: one `SCAN` batch of
//! keys plus one page of values, and 16 bytes per listed key to drop the
//! duplicates `SCAN` may return when Redis resizes its keyspace during the
//! listing, or when a cluster pass is repeated (see [`SeenKeys`]).

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use redis::{Cmd, FromRedisValue, Value as Reply};

use crate::error::{KvError, KvResult};
use crate::key::KvKey;
use crate::paging::paged;
use crate::store::{KvEntry, KvStream};

use super::cluster::Walk;
use super::codec::KeyCodec;
use super::conn::Conn;
use super::error::BACKEND;
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

/// How far the `SCAN` is.
enum Scan {
    /// One server: the next cursor.
    Single(u64),
    /// A cluster: the primary and cursor, and the pass.
    Cluster(Walk),
    /// Complete.
    Done,
}

/// Where a listing is.
struct Cursor {
    scan: Scan,
    /// Matching keys found by `SCAN` whose values are still to be fetched
    /// (at first the key equal to the prefix).
    pending: Vec<(Vec<u8>, KvKey)>,
    seen: SeenKeys,
}

/// What every page needs.
struct Lister {
    conn: Conn,
    codec: Arc<KeyCodec>,
    prefix: Option<KvKey>,
    pattern: Vec<u8>,
}

/// Streams the entries under `prefix` (everything for `None`).
pub(crate) fn list(conn: Conn, codec: Arc<KeyCodec>, prefix: Option<&KvKey>) -> KvStream {
    let start = codec.pattern(prefix).and_then(|pattern| {
        let exact = prefix
            .map(|p| codec.encode(p).map(|raw| (raw, p.clone())))
            .transpose()?;
        Ok((pattern, exact))
    });
    let (pattern, exact) = match start {
        Ok(start) => start,
        Err(e) => return Box::pin(futures::stream::once(async { Err(e) })),
    };
    let scan = match &conn {
        Conn::Single(_) => Scan::Single(0),
        Conn::Cluster(conn) => Scan::Cluster(Walk::new(conn.clone())),
    };
    let lister = Arc::new(Lister {
        conn,
        codec,
        prefix: prefix.cloned(),
        pattern,
    });
    let first = Cursor {
        scan,
        pending: exact.into_iter().collect(),
        seen: SeenKeys::default(),
    };
    paged(first, move |cursor| {
        let lister = Arc::clone(&lister);
        async move { lister.page(cursor).await }
    })
}

impl Lister {
    async fn page(&self, mut cursor: Cursor) -> KvResult<(Vec<KvEntry>, Option<Cursor>)> {
        let batch: Vec<(Vec<u8>, KvKey)> = {
            let n = cursor.pending.len().min(MGET_BATCH);
            cursor.pending.drain(..n).collect()
        };
        // MGET, not GET: a key of another type is skipped, not an error.
        let mget = (!batch.is_empty()).then(|| {
            let mut mget = redis::cmd("MGET");
            for (raw, _) in &batch {
                mget.arg(raw);
            }
            mget
        });
        let scan_now = cursor.pending.is_empty();
        let (values, found) = match (&mut cursor.scan, scan_now) {
            (Scan::Single(at), true) => {
                let mut pipe = redis::pipe();
                if let Some(mget) = &mget {
                    pipe.add_command(mget.clone());
                }
                pipe.add_command(self.scan_cmd(*at));
                let mut replies = self.conn.query_pipeline(&pipe).await?.into_iter();
                let values = match mget {
                    Some(_) => parse(replies.next())?,
                    None => Vec::new(),
                };
                let (next, keys): (u64, Vec<Vec<u8>>) = parse(replies.next())?;
                *at = next;
                let done = next == 0;
                (values, Some((keys, done)))
            }
            (Scan::Cluster(walk), true) => {
                let (values, step) = futures::try_join!(
                    self.fetch(mget.as_ref()),
                    walk.step(&self.pattern, SCAN_COUNT)
                )?;
                (values, Some(step))
            }
            _ => (self.fetch(mget.as_ref()).await?, None),
        };
        let mut entries = Vec::with_capacity(batch.len());
        for ((_, key), value) in batch.into_iter().zip(values) {
            if let Some(bytes) = value {
                let value = parse_value(&key, &bytes)?;
                entries.push(KvEntry { key, value });
            }
        }
        if let Some((keys, done)) = found {
            for raw in keys {
                if let Some(key) = self.decode(&raw)
                    && cursor.seen.insert(&raw)
                {
                    cursor.pending.push((raw, key));
                }
            }
            if done {
                cursor.scan = Scan::Done;
            }
        }
        let done = matches!(cursor.scan, Scan::Done) && cursor.pending.is_empty();
        Ok((entries, (!done).then_some(cursor)))
    }

    fn scan_cmd(&self, at: u64) -> Cmd {
        redis::cmd("SCAN")
            .arg(at)
            .arg("MATCH")
            .arg(&self.pattern)
            .arg("COUNT")
            .arg(SCAN_COUNT)
            .clone()
    }

    /// The values of one `MGET` (none without one).
    async fn fetch(&self, mget: Option<&Cmd>) -> KvResult<Vec<Option<Vec<u8>>>> {
        match mget {
            Some(mget) => self.conn.query(mget).await,
            None => Ok(Vec::new()),
        }
    }

    /// The key stored under `raw` if it is strictly under the prefix.
    fn decode(&self, raw: &[u8]) -> Option<KvKey> {
        let key = self.codec.decode(raw)?;
        match &self.prefix {
            Some(prefix) if key.len() <= prefix.len() || !key.starts_with(prefix) => None,
            _ => Some(key),
        }
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
