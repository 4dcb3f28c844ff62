//! [`RawRedis`]: the raw-driver floor of the Redis backend. The store's key
//! layout, compare-and-swap script and listing sizes
//! (`fedikv::bench_support::redis`) through one bare redis-rs
//! `MultiplexedConnection` (the store wraps one in a `ConnectionManager`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use fedikv::bench_support::redis::redis::aio::MultiplexedConnection;
use fedikv::bench_support::redis::redis::{self, Client, Script, Value as Reply};
use fedikv::bench_support::redis::{
    CAS_SCRIPT, Keys, LIST_SCRIPT, PAGE_BYTES, PAGE_KEYS, SCAN_COUNT, SCANS_PER_PAGE, connection,
};
use fedikv::{KvEntry, KvError, KvKey, KvResult, KvStream};
use serde_json::Value;

use super::{Floor, failed, pages, parse};

/// The Redis backend's commands through the bare driver.
pub struct RawRedis {
    conn: MultiplexedConnection,
    keys: Arc<Keys>,
    cas: Script,
    list: Arc<Script>,
}

impl std::fmt::Debug for RawRedis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawRedis")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

fn redis_error(error: redis::RedisError) -> KvError {
    KvError::backend("redis", error)
}

impl RawRedis {
    /// One connection to the server `url` names, with the store's key
    /// prefix.
    pub async fn new(url: &str) -> KvResult<Self> {
        let (info, prefix) = connection(url)?;
        let client = Client::open(info).map_err(redis_error)?;
        let conn = client
            .get_multiplexed_async_connection()
            .await
            .map_err(redis_error)?;
        Ok(Self {
            conn,
            keys: Arc::new(Keys::new(&prefix)?),
            cas: Script::new(CAS_SCRIPT),
            list: Arc::new(Script::new(LIST_SCRIPT)),
        })
    }
}

/// Where a listing is: the next `SCAN` cursor, whether the walk goes on,
/// and the keys found and not fetched yet.
struct ListState {
    cursor: u64,
    walking: bool,
    pending: Vec<Vec<u8>>,
}

/// One run of the store's listing script (without the store's
/// duplicate tracking and error items): the values of the pending keys and
/// of those it found, up to its byte budget.
async fn list_page(
    mut conn: MultiplexedConnection,
    keys: &Keys,
    script: &Script,
    pattern: &[u8],
    state: ListState,
) -> KvResult<(Vec<KvEntry>, Option<ListState>)> {
    let mut invocation = script.prepare_invoke();
    invocation
        .arg(state.cursor)
        .arg(pattern)
        .arg(SCAN_COUNT)
        .arg(if state.walking { "1" } else { "0" })
        .arg(SCANS_PER_PAGE)
        .arg(PAGE_KEYS)
        .arg(PAGE_BYTES)
        .arg("0");
    for raw in &state.pending {
        invocation.arg(raw);
    }
    type Reply = (u64, bool, Vec<Vec<u8>>, Vec<Option<Vec<u8>>>, Vec<i64>);
    let (cursor, walking, found, values, _): Reply = invocation
        .invoke_async(&mut conn)
        .await
        .map_err(redis_error)?;
    let mut all = state.pending.into_iter().chain(found);
    let mut entries = Vec::with_capacity(values.len());
    for (raw, value) in all.by_ref().zip(values) {
        let text = String::from_utf8_lossy(&raw);
        let (Some(key), Some(value)) = (keys.decode(&raw), value) else {
            continue;
        };
        entries.push(KvEntry {
            key,
            value: parse(&text, &value)?,
        });
    }
    let pending: Vec<Vec<u8>> = all.collect();
    let next = (walking || !pending.is_empty()).then_some(ListState {
        cursor,
        walking,
        pending,
    });
    Ok((entries, next))
}

#[async_trait]
impl Floor for RawRedis {
    const BACKEND: &'static str = "redis";

    async fn get(&self, key: &KvKey) -> KvResult<Option<Value>> {
        let raw = self.keys.encode(key)?;
        let bytes: Option<Vec<u8>> = redis::cmd("GET")
            .arg(&raw)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(redis_error)?;
        bytes
            .map(|bytes| parse(&String::from_utf8_lossy(&raw), &bytes))
            .transpose()
    }

    async fn set(&self, key: &KvKey, value: &Value, ttl: Option<Duration>) -> KvResult<()> {
        let raw = self.keys.encode(key)?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(&raw).arg(value.to_string());
        if let Some(ttl) = ttl {
            cmd.arg("PX").arg(ttl.as_millis().max(1) as u64);
        }
        cmd.query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(redis_error)
    }

    async fn delete(&self, key: &KvKey) -> KvResult<()> {
        let raw = self.keys.encode(key)?;
        redis::cmd("DEL")
            .arg(&raw)
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(redis_error)
    }

    /// The store's script, once, with the expected value's bytes as the
    /// guess.
    async fn swap(&self, key: &KvKey, expected: &Value, new: &Value) -> KvResult<bool> {
        let reply: Reply = self
            .cas
            .key(self.keys.encode(key)?)
            .arg("1")
            .arg(expected.to_string())
            .arg("set")
            .arg(new.to_string())
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(redis_error)?;
        Ok(matches!(reply, Reply::Int(1)))
    }

    /// The store's script on one server, without its overlap of decoding
    /// with the next round trip: one run per page.
    fn list(&self, prefix: &KvKey) -> KvStream {
        let pattern = match self.keys.pattern(prefix) {
            Ok(pattern) => Arc::new(pattern),
            Err(error) => return failed(error),
        };
        let (conn, keys, script) = (
            self.conn.clone(),
            Arc::clone(&self.keys),
            Arc::clone(&self.list),
        );
        let first = ListState {
            cursor: 0,
            walking: true,
            pending: Vec::new(),
        };
        pages(first, move |state| {
            let (conn, keys, script, pattern) = (
                conn.clone(),
                Arc::clone(&keys),
                Arc::clone(&script),
                Arc::clone(&pattern),
            );
            async move { list_page(conn, &keys, &script, &pattern, state).await }
        })
    }
}
