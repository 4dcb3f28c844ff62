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
//! between come back as nil and are skipped. Keys holding another Redis
//! type come back as nil too; a `TYPE` of each nil key (one more round
//! trip, only for a page with nils) tells them apart. Rule V5: a key of
//! another type, a value that is not JSON, and a key under the prefix that
//! is not in this layout (a stray `:`, not UTF-8) are each one
//! [`KvError::Corrupt`] naming the whole Redis key, and the listing goes
//! on. For `scan`, each fetched key's `PTTL` is asked as well (in the
//! same pipeline on one server; on a cluster, one command per key, sent
//! concurrently, since their keys are in different slots). The values of a
//! round trip are parsed while the next round trip is under way (at most two
//! batches held).
//!
//! Order: `SCAN` order, i.e. none (as Fedify's). Memory: one `SCAN` batch of
//! keys plus one page of values, and 16 bytes per listed key to drop the
//! duplicates `SCAN` may return when Redis resizes its keyspace during the
//! listing, or when a cluster pass is repeated (see [`SeenKeys`]).

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::Duration;

use futures::future::try_join_all;
use redis::{Cmd, FromRedisValue, Value as Reply};

use crate::error::{KvError, KvResult};
use crate::key::KvKey;
use crate::paging::prefetched;
use crate::store::{KvRecord, KvRecordStream};

use super::cluster::Walk;
use super::codec::KeyCodec;
use super::conn::Conn;
use super::corrupt;
use super::error::BACKEND;

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

/// The values of one batch of keys, and their `PTTL`s when asked.
type Fetched = (Vec<Option<Vec<u8>>>, Vec<Option<i64>>);

/// Streams the entries under `prefix` (everything for `None`).
pub(crate) fn list<V: Send + 'static>(
    conn: Conn,
    codec: Arc<KeyCodec>,
    prefix: Option<&KvKey>,
    ttls: Expiries,
    parse: ValueParser<V>,
) -> KvRecordStream<V> {
    // Keys are listed as stored: with U+FFFD where the prefix may have lone
    // surrogates, the prefix's own key included.
    let prefix = prefix.map(KvKey::with_lone_surrogates_replaced);
    let start = codec.pattern(prefix.as_ref()).and_then(|pattern| {
        let exact = prefix
            .as_ref()
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
        Conn::Cluster(cluster) => Scan::Cluster(Walk::new(Arc::clone(cluster))),
    };
    let lister = Arc::new(Lister {
        conn,
        codec,
        prefix,
        pattern,
        ttls,
    });
    let first = Cursor {
        scan,
        pending: exact.into_iter().collect(),
        seen: SeenKeys::default(),
    };
    prefetched(
        BACKEND,
        first,
        move |cursor| {
            let lister = Arc::clone(&lister);
            async move { lister.page(cursor).await }
        },
        move |page: RawPage| page.decode(parse),
    )
}

/// How a listing reads a value from its Redis key and stored bytes.
pub(crate) type ValueParser<V> = fn(&[u8], Vec<u8>) -> KvResult<V>;

/// An entry fetched, its value not yet parsed: its Redis key, key, value
/// bytes and expiry.
type RawEntry = (Vec<u8>, KvKey, Vec<u8>, Option<Duration>);

/// One round trip's entries, values not yet parsed.
struct RawPage {
    values: Vec<RawEntry>,
    /// The [`KvError::Corrupt`]s of keys found meanwhile.
    errors: Vec<KvError>,
}

impl RawPage {
    /// The page's records, or the error of a value that is not JSON in its
    /// place (rule V5), then the other errors.
    fn decode<V>(self, parse: ValueParser<V>) -> Vec<KvResult<KvRecord<V>>> {
        let records = self
            .values
            .into_iter()
            .map(|(raw, key, bytes, expires_in)| {
                parse(&raw, bytes).map(|value| KvRecord {
                    key,
                    value,
                    expires_in,
                })
            });
        records.chain(self.errors.into_iter().map(Err)).collect()
    }
}

impl Lister {
    /// Fetches the values of the next keys found and, once all found keys
    /// are fetched, scans on.
    async fn page(&self, mut cursor: Cursor) -> KvResult<(RawPage, Option<Cursor>)> {
        let batch: Vec<(Vec<u8>, KvKey)> = {
            let n = cursor.pending.len().min(MGET_BATCH);
            cursor.pending.drain(..n).collect()
        };
        // MGET, not GET: a key of another type replies nil instead of
        // failing the whole batch (`other_types` then reports it).
        let mget = (!batch.is_empty()).then(|| {
            let mut mget = redis::cmd("MGET");
            for (raw, _) in &batch {
                mget.arg(raw);
            }
            mget
        });
        let pttls: Vec<Cmd> = match self.ttls {
            Expiries::Fetch => batch
                .iter()
                .map(|(raw, _)| redis::cmd("PTTL").arg(raw).clone())
                .collect(),
            Expiries::Skip => Vec::new(),
        };
        let scan_now = cursor.pending.is_empty();
        let ((values, ttls), found) = match (&mut cursor.scan, scan_now) {
            (Scan::Single(at), _) => {
                let mut pipe = redis::pipe();
                for cmd in mget.iter().chain(&pttls) {
                    pipe.add_command(cmd.clone());
                }
                if scan_now {
                    pipe.add_command(self.scan_cmd(*at));
                }
                let mut replies = self.conn.query_pipeline(&pipe).await?.into_iter();
                let values = match mget {
                    Some(_) => parse(replies.next())?,
                    None => Vec::new(),
                };
                let ttls = (0..pttls.len())
                    .map(|_| parse(replies.next()).map(Some))
                    .collect::<KvResult<_>>()?;
                let found = if scan_now {
                    let (next, keys): (u64, Vec<Vec<u8>>) = parse(replies.next())?;
                    *at = next;
                    Some((keys, next == 0))
                } else {
                    None
                };
                ((values, ttls), found)
            }
            (Scan::Cluster(walk), true) => {
                let (fetched, step) = futures::try_join!(
                    self.fetch(mget.as_ref(), &pttls),
                    walk.step(&self.pattern, SCAN_COUNT)
                )?;
                (fetched, Some(step))
            }
            _ => (self.fetch(mget.as_ref(), &pttls).await?, None),
        };
        let ttls = ttls.into_iter().chain(std::iter::repeat(None));
        let mut page = RawPage {
            values: Vec::with_capacity(batch.len()),
            errors: Vec::new(),
        };
        let mut missing = Vec::new();
        for (((raw, key), value), ttl) in batch.into_iter().zip(values).zip(ttls) {
            match (value, expires_in(ttl)) {
                (Some(bytes), Some(expires_in)) => page.values.push((raw, key, bytes, expires_in)),
                (None, _) => missing.push(raw),
                // Gone between its value and its TTL.
                (Some(_), None) => {}
            }
        }
        if !missing.is_empty() {
            page.errors.extend(self.other_types(&missing).await?);
        }
        if let Some((keys, done)) = found {
            for raw in keys {
                let Some(decoded) = self.decode(&raw) else {
                    continue;
                };
                if !cursor.seen.insert(&raw) {
                    continue;
                }
                match decoded {
                    Ok(key) => cursor.pending.push((raw, key)),
                    Err(reason) => page.errors.push(corrupt(&raw, reason.to_owned())),
                }
            }
            if done {
                cursor.scan = Scan::Done;
            }
        }
        let done = matches!(cursor.scan, Scan::Done) && cursor.pending.is_empty();
        Ok((page, (!done).then_some(cursor)))
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

    /// The values of one `MGET` (none without one), then the replies of the
    /// `PTTL`s, each command sent on its own (the cluster connection splits
    /// the `MGET` by slot and routes each `PTTL` to its key's node). The
    /// `PTTL`s are sent only once the values are in, so a TTL is never older
    /// than its value: an entry rewritten in between reports its new
    /// expiry, as on one server, where the pipeline keeps that order.
    async fn fetch(&self, mget: Option<&Cmd>, pttls: &[Cmd]) -> KvResult<Fetched> {
        let values = match mget {
            Some(mget) => self.conn.query(mget).await?,
            None => Vec::new(),
        };
        let ttls = try_join_all(pttls.iter().map(|cmd| self.conn.query::<i64>(cmd))).await?;
        Ok((values, ttls.into_iter().map(Some).collect()))
    }

    /// The key stored under `raw`, a key `SCAN` matched: `None` if it is
    /// not strictly under the prefix, the reason if it is not a key of this
    /// layout at all (then it is reported wherever the pattern matched it).
    fn decode(&self, raw: &[u8]) -> Option<Result<KvKey, &'static str>> {
        let Some(key) = self.codec.decode(raw) else {
            return Some(Err(if std::str::from_utf8(raw).is_ok() {
                "the Redis key is not in Fedify's layout (components joined by ::, each : inside one written _:)"
            } else {
                "the Redis key is not UTF-8 text"
            }));
        };
        match &self.prefix {
            Some(prefix) if key.len() <= prefix.len() || !key.starts_with(prefix) => None,
            _ => Some(Ok(key)),
        }
    }

    /// The [`KvError::Corrupt`]s of the keys among `keys` (whose `MGET`
    /// replied nil) that hold another Redis type than a string; keys gone
    /// meanwhile (`none`), or written again as strings, are skipped.
    async fn other_types(&self, keys: &[Vec<u8>]) -> KvResult<Vec<KvError>> {
        let commands: Vec<Cmd> = keys
            .iter()
            .map(|raw| redis::cmd("TYPE").arg(raw).clone())
            .collect();
        let types: Vec<String> = match &self.conn {
            Conn::Single(_) => {
                let mut pipe = redis::pipe();
                for cmd in &commands {
                    pipe.add_command(cmd.clone());
                }
                let mut replies = self.conn.query_pipeline(&pipe).await?.into_iter();
                (0..commands.len())
                    .map(|_| parse(replies.next()))
                    .collect::<KvResult<_>>()?
            }
            Conn::Cluster(_) => {
                try_join_all(commands.iter().map(|cmd| self.conn.query::<String>(cmd))).await?
            }
        };
        Ok(keys
            .iter()
            .zip(types)
            .filter(|(_, kind)| kind != "none" && kind != "string")
            .map(|(raw, kind)| corrupt(raw, format!("the Redis key holds a {kind}, not a string")))
            .collect())
    }
}

/// A record's `expires_in` from its key's `PTTL` reply (`None`: not asked):
/// milliseconds left (0, a key in its last millisecond, is reported as 1 ms,
/// since a live entry never reports zero left), `-1` for no expiry. `None`
/// when the key vanished
/// between its `MGET` and its `PTTL` (`-2`): the entry is then skipped, as if
/// `MGET` had missed it.
fn expires_in(pttl: Option<i64>) -> Option<Option<Duration>> {
    match pttl {
        None | Some(-1) => Some(None),
        Some(ms) if ms >= 0 => Some(Some(Duration::from_millis(ms.unsigned_abs().max(1)))),
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
