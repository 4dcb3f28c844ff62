//! [`RawRedis`]: the raw-driver floor of the Redis backend. The store's key
//! layout, compare-and-swap script and listing sizes
//! (`fedikv::bench_support::redis`) through one bare redis-rs
//! `MultiplexedConnection` (the store wraps one in a `ConnectionManager`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use fedikv::bench_support::redis::redis::aio::MultiplexedConnection;
use fedikv::bench_support::redis::redis::{self, Client, Script, Value as Reply};
use fedikv::bench_support::redis::{CAS_SCRIPT, Keys, MGET_BATCH, SCAN_COUNT, connection};
use fedikv::{KvEntry, KvError, KvKey, KvResult, KvStream};
use serde_json::Value;

use super::{Floor, failed, pages, parse};

/// The Redis backend's commands through the bare driver.
pub struct RawRedis {
    conn: MultiplexedConnection,
    keys: Arc<Keys>,
    cas: Script,
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
        })
    }
}

/// Where a listing is: the next `SCAN` cursor (`0` once it wrapped).
async fn list_page(
    mut conn: MultiplexedConnection,
    keys: &Keys,
    pattern: &[u8],
    cursor: u64,
) -> KvResult<(Vec<KvEntry>, Option<u64>)> {
    let (next, found): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
        .arg(cursor)
        .arg("MATCH")
        .arg(pattern)
        .arg("COUNT")
        .arg(SCAN_COUNT)
        .query_async(&mut conn)
        .await
        .map_err(redis_error)?;
    let mut entries = Vec::with_capacity(found.len());
    for batch in found.chunks(MGET_BATCH) {
        let values: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
            .arg(batch)
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        for (raw, value) in batch.iter().zip(values) {
            let text = String::from_utf8_lossy(raw);
            let (Some(key), Some(value)) = (keys.decode(raw), value) else {
                continue;
            };
            entries.push(KvEntry {
                key,
                value: parse(&text, &value)?,
            });
        }
    }
    Ok((entries, (next != 0).then_some(next)))
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

    /// The store's commands, without its pipelining: `SCAN MATCH` pages,
    /// each followed by `MGET`s of what it found.
    fn list(&self, prefix: &KvKey) -> KvStream {
        let pattern = match self.keys.pattern(prefix) {
            Ok(pattern) => Arc::new(pattern),
            Err(error) => return failed(error),
        };
        let (conn, keys) = (self.conn.clone(), Arc::clone(&self.keys));
        pages(0, move |cursor| {
            let (conn, keys, pattern) = (conn.clone(), Arc::clone(&keys), Arc::clone(&pattern));
            async move { list_page(conn, &keys, &pattern, cursor).await }
        })
    }
}
