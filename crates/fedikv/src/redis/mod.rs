//! [`RedisKvStore`]: Fedify's `RedisKvStore` layout on Redis, through
//! redis-rs's reconnecting [`ConnectionManager`], or on a Redis Cluster
//! through its [`ClusterConnection`] (feature `redis`).
//!
//! The layout is Fedify's (`docs/layouts.md`); how this backend works —
//! its statements, sweeping, limits and tests — is in `docs/backends.md`.

pub(crate) mod cas;
pub(crate) mod cluster;
pub(crate) mod codec;
mod conn;
mod error;
pub(crate) mod list;
pub(crate) mod options;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Client, Cmd, FromRedisValue};
use serde_json::Value;

use crate::error::{KvError, KvResult};
use crate::json::{self, JsonText};
use crate::key::KvKey;
use crate::paging::into_entries;
use crate::store::{Capabilities, KvRecordStream, KvStore, KvStream, SetOptions};
use crate::store_url::invalid_url;
use crate::telemetry::{Op, Telemetry};

pub use codec::{MAX_KEY_BYTES, MAX_PREFIX_BYTES};
pub use options::{
    DEFAULT_CONNECTION_TIMEOUT, DEFAULT_PREFIX, DEFAULT_RESPONSE_TIMEOUT, RedisOptions,
};

use cas::Swap;
use codec::KeyCodec;
use conn::Conn;
use error::{BACKEND, map};
use list::Expiries;

/// Largest value, in bytes of JSON: Redis's default `proto-max-bulk-len`.
pub const MAX_VALUE_BYTES: usize = 512 * 1024 * 1024;

/// How often the connection manager retries a failed connection attempt
/// before the waiting operations fail. Kept low so that operations fail
/// promptly while the server is down; the next operation tries again.
const CONNECTION_RETRIES: usize = 2;

/// A [`KvStore`] on a Redis server or a Redis Cluster with Fedify's key
/// layout (see the [module docs](self)). Cheap to clone; clones share the
/// connection.
#[derive(Clone)]
pub struct RedisKvStore {
    conn: Conn,
    codec: Arc<KeyCodec>,
    /// `redis://user@host:port/db` or `redis+cluster://user@host:port,…`,
    /// for Debug: never the password.
    endpoint: Arc<str>,
    telemetry: Arc<Telemetry>,
}

impl fmt::Debug for RedisKvStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisKvStore")
            .field("endpoint", &self.endpoint)
            .field("prefix", &self.codec.prefix())
            .finish_non_exhaustive()
    }
}

impl RedisKvStore {
    /// Connects to a `redis://` or `rediss://` (TLS) URL, e.g.
    /// `redis://:password@127.0.0.1:6379/0?prefix=fedify::`; the path is the
    /// database number. A Redis Cluster is named by `redis+cluster://` (or
    /// `rediss+cluster://`) and one or more of its nodes, e.g.
    /// `redis+cluster://127.0.0.1:7000,127.0.0.1:7001/?prefix=fedify::`
    /// (database 0 only; the other nodes are found from these).
    ///
    /// Query options: `prefix=` (key prefix, default `fedify::`), `timeout=`
    /// (reply timeout such as `500ms`, or `off`; default 2 s),
    /// `connect_timeout=` (default 1 s), `protocol=` (`resp2`, the default, or
    /// `resp3`).
    ///
    /// Errors: [`KvError::InvalidUrl`], [`KvError::InvalidName`] (prefix),
    /// [`KvError::AccessDenied`], [`KvError::Unavailable`]; none repeats the
    /// password.
    pub async fn open_url(url: &str) -> KvResult<Self> {
        if crate::Scheme::of(url)? == crate::Scheme::RedisCluster {
            let (nodes, options) = cluster::parse(url)?;
            let client = cluster::client(&nodes, &options)?;
            let codec = KeyCodec::new(&options.prefix)?;
            let conn = cluster::connect(&client).await?;
            return Ok(Self::new(
                Conn::Cluster(conn),
                codec,
                cluster::endpoint(&nodes),
            ));
        }
        let (info, options) = options::parse(url)?;
        let client = Client::open(info).map_err(|e| invalid_url(url, e))?;
        Self::from_client(client, options).await
    }

    /// A store on an existing client: connects with the timeouts of
    /// `options` and checks the connection.
    ///
    /// Errors: [`KvError::InvalidName`] (prefix), [`KvError::AccessDenied`],
    /// [`KvError::Unavailable`].
    pub async fn from_client(client: Client, options: RedisOptions) -> KvResult<Self> {
        let codec = KeyCodec::new(&options.prefix)?;
        let endpoint = options::endpoint(client.get_connection_info());
        let manager_config = ConnectionManagerConfig::new()
            .set_number_of_retries(CONNECTION_RETRIES)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_secs(1))
            .set_response_timeout(options.response_timeout)
            .set_connection_timeout(options.connection_timeout);
        let conn = ConnectionManager::new_with_config(client, manager_config)
            .await
            .map_err(map)?;
        Ok(Self::new(Conn::Single(conn), codec, endpoint))
    }

    /// A store on an existing Redis Cluster client, which keeps its own
    /// timeouts and retry policy (`options` only supplies the prefix):
    /// connects and reads the cluster's slot map.
    ///
    /// Errors: [`KvError::InvalidName`] (prefix), [`KvError::AccessDenied`],
    /// [`KvError::Unavailable`].
    pub async fn from_cluster_client(
        client: &ClusterClient,
        options: RedisOptions,
    ) -> KvResult<Self> {
        let codec = KeyCodec::new(&options.prefix)?;
        let conn = cluster::connect(client).await?;
        Ok(Self::new(
            Conn::Cluster(conn),
            codec,
            "(cluster client)".into(),
        ))
    }

    /// A store on an existing connection manager, which keeps its own
    /// timeouts and retry policy (`options` only supplies the prefix). Does
    /// not talk to the server.
    ///
    /// Errors: [`KvError::InvalidName`] (prefix).
    pub fn from_manager(conn: ConnectionManager, options: RedisOptions) -> KvResult<Self> {
        let codec = KeyCodec::new(&options.prefix)?;
        Ok(Self::new(
            Conn::Single(conn),
            codec,
            "(connection manager)".into(),
        ))
    }

    fn new(conn: Conn, codec: KeyCodec, endpoint: String) -> Self {
        let telemetry = Telemetry::new(BACKEND, Some(codec.prefix())).on_server(&endpoint);
        Self {
            telemetry: Arc::new(telemetry),
            conn,
            codec: Arc::new(codec),
            endpoint: endpoint.into(),
        }
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        self.codec.prefix()
    }

    /// The connection manager, for commands of your own; `None` on a
    /// cluster (see [`cluster_connection`](Self::cluster_connection)).
    pub fn connection(&self) -> Option<&ConnectionManager> {
        match &self.conn {
            Conn::Single(conn) => Some(conn),
            Conn::Cluster(_) => None,
        }
    }

    /// The cluster connection in use, for commands of your own; `None` on
    /// one server. The store replaces its connection after a reply timeout
    /// (see the module docs), so fetch it again rather than keeping it.
    pub fn cluster_connection(&self) -> Option<ClusterConnection> {
        match &self.conn {
            Conn::Cluster(cluster) => Some(cluster.current()),
            Conn::Single(_) => None,
        }
    }

    /// Whether this store is on a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.conn, Conn::Cluster(_))
    }

    /// `SET key value [PX ms]`, or `DEL key` for a zero TTL; `value` is
    /// dropped once the command holds its copy, before it is sent.
    async fn write(&self, key: &KvKey, value: Vec<u8>, options: SetOptions) -> KvResult<()> {
        let raw = self.codec.encode(key)?;
        let mut cmd = redis::cmd("SET");
        match Expiry::of(options.effective_ttl()) {
            Some(Expiry::Never) => cmd.arg(&raw).arg(&value),
            Some(Expiry::Millis(ms)) => cmd.arg(&raw).arg(&value).arg("PX").arg(ms),
            None => {
                cmd = redis::cmd("DEL");
                cmd.arg(&raw)
            }
        };
        drop(value);
        self.query(&cmd).await
    }

    /// Runs an idempotent command (see [`Conn::query`]).
    async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> KvResult<T> {
        self.conn.query(cmd).await
    }

    /// `GET` of the Redis key `raw`: its bytes, `None` if absent; a key of
    /// another Redis type is [`KvError::Corrupt`].
    async fn get_bytes(&self, raw: &[u8]) -> KvResult<Option<Vec<u8>>> {
        self.query(redis::cmd("GET").arg(raw))
            .await
            .map_err(|e| wrong_type(raw, e))
    }
}

#[async_trait]
impl KvStore for RedisKvStore {
    /// `GET`. A stored value that is not JSON, or a key of another Redis
    /// type, is [`KvError::Corrupt`].
    async fn get(&self, key: &KvKey) -> KvResult<Option<Value>> {
        let get = async {
            let raw = self.codec.encode(key)?;
            let bytes = self.get_bytes(&raw).await?;
            bytes.map(|bytes| parse_value(&raw, &bytes)).transpose()
        };
        self.telemetry.observe(Op::Get, Some(key), get).await
    }

    /// `SET key value [PX ms]`, or `DEL key` for a zero TTL.
    async fn set(&self, key: &KvKey, value: &Value, options: SetOptions) -> KvResult<()> {
        let set = async { self.write(key, encode_value(value)?, options).await };
        self.telemetry.observe(Op::Set, Some(key), set).await
    }

    /// `set`'s command; the text is dropped as soon as the command holds
    /// its copy.
    async fn set_json(&self, key: &KvKey, value: JsonText, options: SetOptions) -> KvResult<()> {
        let set = async {
            let bytes = value.into_string().into_bytes();
            let bytes = KvError::within_value_limit(BACKEND, bytes, MAX_VALUE_BYTES)?;
            self.write(key, bytes, options).await
        };
        self.telemetry.observe(Op::Set, Some(key), set).await
    }

    /// `GET`; the stored bytes become the text without a copy when they
    /// are compact JSON (as Fedify and fedikv write them).
    async fn get_json(&self, key: &KvKey) -> KvResult<Option<JsonText>> {
        let get = async {
            let raw = self.codec.encode(key)?;
            let bytes = self.get_bytes(&raw).await?;
            bytes.map(|bytes| parse_text(&raw, bytes)).transpose()
        };
        self.telemetry.observe(Op::Get, Some(key), get).await
    }

    /// `DEL key`.
    async fn delete(&self, key: &KvKey) -> KvResult<()> {
        let delete = async {
            let raw = self.codec.encode(key)?;
            self.query(redis::cmd("DEL").arg(&raw)).await
        };
        self.telemetry.observe(Op::Delete, Some(key), delete).await
    }

    /// `DEL key` of the whole Redis key `raw_key`, whatever it holds; only
    /// under the store's prefix ([`KvError::InvalidKey`] otherwise), so no
    /// other program's key is ever deleted.
    async fn delete_raw(&self, raw_key: &str) -> KvResult<bool> {
        let delete_raw = async {
            if !raw_key.starts_with(self.codec.prefix()) {
                return Err(KvError::InvalidKey {
                    reason: format!(
                        "{raw_key:?} is not under this store's key prefix {:?}; give the whole Redis key as a listing reported it",
                        self.codec.prefix()
                    ),
                });
            }
            let deleted: u64 = self.query(redis::cmd("DEL").arg(raw_key)).await?;
            Ok(deleted > 0)
        };
        self.telemetry
            .observe(Op::DeleteRaw, None, delete_raw)
            .await
    }

    /// A Lua script comparing bytes plus a JSON comparison in Rust; see
    /// the module docs of `cas.rs`. [`KvError::Contention`] if other writers
    /// keep rewriting equal values with different bytes.
    async fn cas(
        &self,
        key: &KvKey,
        expected: Option<&Value>,
        new: Option<&Value>,
        options: SetOptions,
    ) -> KvResult<bool> {
        let cas = async {
            let raw = self.codec.encode(key)?;
            let swap = match (new, Expiry::of(options.effective_ttl())) {
                (Some(value), Some(expiry)) => Swap::Write(encode_value(value)?, expiry),
                _ => Swap::Delete,
            };
            cas::cas(self.conn.clone(), &raw, expected, swap).await
        };
        self.telemetry.observe(Op::Cas, Some(key), cas).await
    }

    /// `SCAN MATCH` + `MGET` pages; unordered. See the module docs.
    fn list(&self, prefix: Option<&KvKey>) -> KvStream {
        let entries = into_entries(list::list(
            self.conn.clone(),
            Arc::clone(&self.codec),
            prefix,
            Expiries::Skip,
            |raw, bytes| parse_value(raw, &bytes),
        ));
        self.telemetry.stream(Op::List, prefix, entries)
    }

    /// As `list`, with each key's `PTTL` asked in the same pipeline as its
    /// value.
    fn scan(&self, prefix: Option<&KvKey>) -> KvRecordStream {
        let records = list::list(
            self.conn.clone(),
            Arc::clone(&self.codec),
            prefix,
            Expiries::Fetch,
            |raw, bytes| parse_value(raw, &bytes),
        );
        self.telemetry.stream(Op::Scan, prefix, records)
    }

    /// As `scan`, each value's stored bytes kept as its text (see
    /// `get_json`).
    fn scan_json(&self, prefix: Option<&KvKey>) -> KvRecordStream<JsonText> {
        let records = list::list(
            self.conn.clone(),
            Arc::clone(&self.codec),
            prefix,
            Expiries::Fetch,
            parse_text,
        );
        self.telemetry.stream(Op::Scan, prefix, records)
    }

    /// 0: Redis removes expired keys itself, and an expired key it has not
    /// yet reclaimed cannot be told from a missing one.
    async fn count_expired(&self, prefix: Option<&KvKey>) -> KvResult<u64> {
        let count = async { Ok(0) };
        self.telemetry
            .observe(Op::CountExpired, prefix, count)
            .await
    }

    /// Returns 0: Redis expires keys itself.
    async fn sweep(&self) -> KvResult<u64> {
        let sweep = async { Ok(0) };
        self.telemetry.observe(Op::Sweep, None, sweep).await
    }

    /// `INFO server`'s `redis_version` (of the node the command reached,
    /// on a cluster).
    async fn server_version(&self) -> KvResult<Option<String>> {
        let info: String = self.query(redis::cmd("INFO").arg("server")).await?;
        Ok(info
            .lines()
            .find_map(|line| line.strip_prefix("redis_version:"))
            .map(|version| format!("Redis {}", version.trim())))
    }

    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> Capabilities {
        // ioredis sends key strings as UTF-8; values are JSON.stringify text;
        // list follows SCAN, a hash table's order.
        Capabilities {
            lone_surrogates_in_keys: false,
            ordered_list: false,
            ..Capabilities::default()
        }
    }
}

/// When a write expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// No TTL.
    Never,
    /// `PX`: this many milliseconds from now (at least 1).
    Millis(u64),
}

impl Expiry {
    /// The expiry of a write with `ttl`, or `None` when the entry is expired
    /// at once (a TTL under one millisecond). Callers pass
    /// [`SetOptions::effective_ttl`], at most [`MAX_TTL`](crate::MAX_TTL),
    /// which Redis's clock arithmetic takes (it refuses expiry times that
    /// overflow it).
    fn of(ttl: Option<Duration>) -> Option<Self> {
        match ttl {
            None => Some(Self::Never),
            Some(ttl) => {
                let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
                (ms > 0).then_some(Self::Millis(ms))
            }
        }
    }
}

/// The JSON bytes of `value`; [`KvError::ValueTooLarge`] above
/// [`MAX_VALUE_BYTES`].
/// Lone surrogates are written as `\udxxx`, as Fedify's `JSON.stringify`
/// writes them, so values keep any JavaScript string.
fn encode_value(value: &Value) -> KvResult<Vec<u8>> {
    KvError::within_value_limit(
        BACKEND,
        json::stringify(value).into_bytes(),
        MAX_VALUE_BYTES,
    )
}

/// Parses the bytes stored under the Redis key `key`, of any depth;
/// [`KvError::Corrupt`] if not JSON text.
fn parse_value(key: &[u8], bytes: &[u8]) -> KvResult<Value> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| corrupt(key, format!("the stored value is not UTF-8 text ({e})")))?;
    json::parse(text).map_err(|e| not_json(key, e))
}

/// The bytes stored under the Redis key `key` as [`JsonText`], without a
/// copy when they are compact JSON; [`KvError::Corrupt`] if not JSON text.
fn parse_text(key: &[u8], bytes: Vec<u8>) -> KvResult<JsonText> {
    let text = String::from_utf8(bytes).map_err(|e| {
        corrupt(
            key,
            format!("the stored value is not UTF-8 text ({})", e.utf8_error()),
        )
    })?;
    JsonText::from_string(text).map_err(|e| not_json(key, e))
}

fn not_json(key: &[u8], error: json::JsonError) -> KvError {
    corrupt(key, format!("the stored value is not JSON ({error})"))
}

/// The error for the entry under the Redis key `key`, which it names whole
/// (prefix included): the raw key of [`KvStore::delete_raw`]. A key that is
/// not UTF-8 is named with U+FFFD for its bad bytes, which `delete_raw`
/// cannot name back; delete it with `redis-cli` then.
fn corrupt(key: &[u8], reason: String) -> KvError {
    KvError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason,
    }
}

/// `error` as the [`KvError::Corrupt`] of the entry under the Redis key
/// `key` when it says the key holds another Redis type than a string
/// (`WRONGTYPE`); `error` otherwise.
fn wrong_type(key: &[u8], error: KvError) -> KvError {
    match &error {
        KvError::Backend { source, .. }
            if source
                .downcast_ref::<redis::RedisError>()
                .and_then(redis::RedisError::code)
                == Some("WRONGTYPE") =>
        {
            corrupt(
                key,
                "the Redis key holds another Redis type than a string".to_owned(),
            )
        }
        _ => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_are_whole_milliseconds() {
        assert_eq!(Expiry::of(None), Some(Expiry::Never));
        assert_eq!(Expiry::of(Some(Duration::ZERO)), None);
        assert_eq!(Expiry::of(Some(Duration::from_micros(999))), None);
        assert_eq!(
            Expiry::of(Some(Duration::from_micros(1999))),
            Some(Expiry::Millis(1))
        );
        assert_eq!(
            Expiry::of(Some(Duration::from_secs(3600))),
            Some(Expiry::Millis(3_600_000))
        );
        assert_eq!(
            Expiry::of(Some(crate::MAX_TTL)),
            Some(Expiry::Millis(31_536_000_000_000))
        );
    }
}
