//! The [`KvStore`] trait: Fedify's five operations, dyn-compatible.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::Value;

use crate::duration::MAX_TTL;
use crate::error::{KvError, KvResult};
use crate::json::{JsonText, drop_deep, drop_shared};
use crate::key::KvKey;

/// The one component of the key [`KvStore::ping`] reads; Fedify and
/// fedikv never write it.
pub const PING_KEY: &str = "__fedikv_ping__";

/// Why a trait method's default fails.
const DEFAULT_METHOD: &str = "the store keeps the KvStore trait's default of this method; use a store that implements it, or implement it for this one";

/// An entry yielded by [`KvStore::list`].
#[derive(Debug, Clone, PartialEq)]
pub struct KvEntry {
    /// The key exactly as it was written.
    pub key: KvKey,
    /// The stored value.
    pub value: Value,
}

/// The stream [`KvStore::list`] returns. It owns everything it needs, so it may
/// outlive the borrow of the store.
pub type KvStream = BoxStream<'static, KvResult<KvEntry>>;

/// A live entry with its remaining time to live, yielded by
/// [`KvStore::scan`] (the value decoded) and [`KvStore::scan_json`] (the
/// value as [`JsonText`]).
#[derive(Debug, Clone, PartialEq)]
pub struct KvRecord<V = Value> {
    /// The key exactly as it was written.
    pub key: KvKey,
    /// The stored value.
    pub value: V,
    /// How long the entry has left to live, by the store's clock when the
    /// entry was read (at millisecond precision); `None` when it never
    /// expires. Writing the entry elsewhere with this TTL keeps its expiry.
    pub expires_in: Option<Duration>,
}

impl KvRecord {
    /// The entry without its expiry.
    pub fn into_entry(self) -> KvEntry {
        KvEntry {
            key: self.key,
            value: self.value,
        }
    }
}

impl<V> KvRecord<V> {
    /// The record with its value converted by `convert`.
    pub fn map_value<W>(self, convert: impl FnOnce(V) -> W) -> KvRecord<W> {
        KvRecord {
            key: self.key,
            value: convert(self.value),
            expires_in: self.expires_in,
        }
    }
}

/// The stream [`KvStore::scan`] (and, with `V` = [`JsonText`],
/// [`KvStore::scan_json`]) returns; like [`KvStream`], it owns what it
/// needs. A row that cannot be decoded is one [`KvError::Corrupt`] item in
/// its place, and the stream goes on (rule V5).
pub type KvRecordStream<V = Value> = BoxStream<'static, KvResult<KvRecord<V>>>;

/// Options of a write ([`KvStore::set`], [`KvStore::cas`]).
///
/// A TTL longer than [`MAX_TTL`] (365,000 days, about 1,000 years), up to
/// `Duration::MAX`, is clamped to it on every backend (rule O2): the write
/// succeeds, the entry lives for `MAX_TTL`, and `scan` reports at most
/// `MAX_TTL` left. Stores read the TTL through [`effective_ttl`](Self::effective_ttl).
///
/// ```
/// use std::time::Duration;
/// use fedikv::SetOptions;
/// let five_minutes = SetOptions::ttl(Duration::from_secs(300));
/// let forever = SetOptions::default();
/// assert_eq!(five_minutes.ttl, Some(Duration::from_secs(300)));
/// assert_eq!(forever.ttl, None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SetOptions {
    /// Time to live, counted from this write, at millisecond precision. `None`
    /// means the entry never expires (and clears any earlier expiry); zero
    /// means it is expired at once.
    pub ttl: Option<Duration>,
}

impl SetOptions {
    /// Options with the given time to live.
    pub fn ttl(ttl: Duration) -> Self {
        Self { ttl: Some(ttl) }
    }

    /// Options with an optional time to live.
    pub fn with_ttl(ttl: Option<Duration>) -> Self {
        Self { ttl }
    }

    /// The time to live the write applies: [`ttl`](Self::ttl) clamped to
    /// [`MAX_TTL`] (rule O2). Every store implementation reads the TTL
    /// through this method, so that every backend clamps alike.
    ///
    /// ```
    /// use std::time::Duration;
    /// use fedikv::{MAX_TTL, SetOptions};
    /// assert_eq!(SetOptions::ttl(Duration::MAX).effective_ttl(), Some(MAX_TTL));
    /// assert_eq!(SetOptions::ttl(Duration::ZERO).effective_ttl(), Some(Duration::ZERO));
    /// assert_eq!(SetOptions::default().effective_ttl(), None);
    /// ```
    pub fn effective_ttl(&self) -> Option<Duration> {
        self.ttl.map(|ttl| ttl.min(MAX_TTL))
    }
}

/// What a store can hold of the JavaScript strings and JSON values Fedify
/// can write (rules K1, V1), and whether it lists in a stable order (rule
/// O5), as [`KvStore::capabilities`] reports it.
///
/// The default is a store that holds everything exactly: NUL and lone
/// surrogates (see [`js`](crate::js)) in keys and values, values of any
/// depth, and lists in a stable order. Backends state where they differ,
/// always as Fedify's own store of the same backend differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Key components may hold NUL; when `false` (PostgreSQL `text`), a key
    /// with NUL is refused with [`KvError::InvalidKey`] before any round trip.
    pub nul_in_keys: bool,
    /// Strings and object keys inside values may hold NUL; when `false`
    /// (PostgreSQL `jsonb`), such a value is refused with
    /// [`KvError::InvalidValue`].
    pub nul_in_values: bool,
    /// Lone surrogates in key components are stored as they are; when
    /// `false` they are stored as U+FFFD, as Fedify's driver stores them
    /// (PostgreSQL, Redis, Deno KV), so `list` returns the key with U+FFFD,
    /// and the key with the lone surrogate still addresses that entry.
    pub lone_surrogates_in_keys: bool,
    /// Lone surrogates in strings inside values are stored as they are; when
    /// `false` they are stored and read back as U+FFFD (PostgreSQL, MySQL).
    pub lone_surrogates_in_values: bool,
    /// The deepest nesting of arrays and objects a value may have (`[1]` is
    /// one level), or `None` when the store takes any depth its server
    /// parses. A deeper value is refused with [`KvError::InvalidValue`].
    pub max_value_depth: Option<usize>,
    /// `list` and `scan` yield entries in a stable order (rule O5: ordered
    /// backends), the same for the same keys whatever else changed; when
    /// `false` (Redis, which lists in `SCAN` order) in no particular order.
    pub ordered_list: bool,
}

impl Default for Capabilities {
    fn default() -> Self {
        Self {
            nul_in_keys: true,
            nul_in_values: true,
            lone_surrogates_in_keys: true,
            lone_surrogates_in_values: true,
            max_value_depth: None,
            ordered_list: true,
        }
    }
}

/// A key–value store with Fedify's `KvStore` contract (`docs/contract.md`).
///
/// Every method is enforced by the `fedikv-conformance` suite, whose tests are
/// named after the rules (`k1_…`, `o4_…`). The trait is object safe: use it as
/// `Arc<dyn KvStore>`. Typed and convenience methods live in
/// [`KvStoreExt`](crate::KvStoreExt).
#[async_trait]
pub trait KvStore: Send + Sync + Debug {
    /// Returns the value stored under `key`, or `None` when the key is absent
    /// or its entry has expired (O1). A stored `null` is `Some(Value::Null)`.
    async fn get(&self, key: &KvKey) -> KvResult<Option<Value>>;

    /// Stores `value` under `key`, replacing any entry (O2). With
    /// `options.ttl` the entry expires that long after this write (at most
    /// [`MAX_TTL`]: see [`SetOptions::effective_ttl`]);
    /// without it the entry never expires, whatever expiry it had before.
    async fn set(&self, key: &KvKey, value: &Value, options: SetOptions) -> KvResult<()>;

    /// [`get`](KvStore::get) with the value shared: the same value, as an
    /// `Arc`. The memory store hands out the stored value itself without
    /// copying it (it never changes: a later write stores another `Arc`);
    /// the default, which every other store keeps, wraps what `get`
    /// returns. Drop a value that may be nested thousands deep with
    /// [`json::drop_shared`](crate::json::drop_shared) (rule V1).
    async fn get_shared(&self, key: &KvKey) -> KvResult<Option<Arc<Value>>> {
        Ok(self.get(key).await?.map(Arc::new))
    }

    /// [`set`](KvStore::set) taking a shared value, with the same contract.
    /// The memory store keeps `value` itself, without copying it, so that
    /// writing a value the caller also keeps costs one reference; the
    /// default, which every other store keeps, writes `&value` with `set`.
    async fn set_shared(
        &self,
        key: &KvKey,
        value: Arc<Value>,
        options: SetOptions,
    ) -> KvResult<()> {
        let written = self.set(key, &value, options).await;
        drop_shared(value);
        written
    }

    /// [`get`](KvStore::get) of the value as its stored JSON text, without
    /// decoding it: for values too large to decode (a `Value` of many
    /// small objects is ~4× its text) or that must be passed on unchanged.
    /// The text is [`JsonText`]'s compact form of what the backend holds:
    /// a value Fedify wrote on SQLite, MySQL or Redis comes back byte for
    /// byte (object members in their stored order); PostgreSQL's `jsonb`
    /// keeps members in its own order (shorter keys first). A stored value
    /// that is not JSON is [`KvError::Corrupt`], as for `get`.
    ///
    /// SQLite, PostgreSQL, MySQL and Redis read the text straight from the
    /// row and copy it once; the default (memory, Deno KV) writes the value
    /// `get` returns with [`JsonText::from_value`].
    async fn get_json(&self, key: &KvKey) -> KvResult<Option<JsonText>> {
        Ok(self.get(key).await?.map(text_of))
    }

    /// [`set`](KvStore::set) of a value given as JSON text, with the same
    /// contract (TTL, the backend's value limit of rule V4 checked before
    /// anything is sent, the backend's [`Capabilities`]). The text is
    /// stored as it is: what Fedify then reads is `JSON.parse` of it, with
    /// object members in the text's order.
    ///
    /// SQLite, PostgreSQL, MySQL and Redis hand the text to their driver
    /// and drop it as soon as the driver holds its copy, never building a
    /// `Value`; the default (memory, Deno KV) decodes it and calls `set`.
    async fn set_json(&self, key: &KvKey, value: JsonText, options: SetOptions) -> KvResult<()> {
        let decoded = value.to_value().map_err(|e| KvError::InvalidValue {
            reason: format!("the JSON text does not parse: {e}"),
        })?;
        drop(value);
        let written = self.set(key, &decoded, options).await;
        drop_deep(decoded);
        written
    }

    /// Removes the entry under `key`. Removing a missing key succeeds (O3).
    async fn delete(&self, key: &KvKey) -> KvResult<()>;

    /// Atomic compare-and-swap (O4). Swaps iff the current value deep-equals
    /// `expected` (see [`json_eq`](crate::json_eq)), where an absent or expired
    /// entry is `None`. On a swap, `new = None` deletes the entry, otherwise
    /// `new` is written with [`SetOptions::effective_ttl`] (no TTL means no expiry). Returns
    /// whether it swapped; on `false` nothing changed.
    async fn cas(
        &self,
        key: &KvKey,
        expected: Option<&Value>,
        new: Option<&Value>,
        options: SetOptions,
    ) -> KvResult<bool>;

    /// Streams every live entry whose key starts with `prefix` component-wise
    /// (the key equal to `prefix` included), or every live entry when `prefix`
    /// is `None` (O5). Each entry appears once; no character is a wildcard and
    /// case is significant. Memory use stays bounded however many entries
    /// match. Each backend documents its order.
    fn list(&self, prefix: Option<&KvKey>) -> KvStream;

    /// Streams the same entries as [`list`](KvStore::list), in the same order
    /// and within the same memory bound, each with its remaining time to live
    /// ([`KvRecord::expires_in`]). This is what copies and inspections of a
    /// store use (`fedikv copy`, `fedikv stats`); conformance tests `o5_scan_…`.
    ///
    /// Every fedikv backend implements it. The default, for stores written
    /// before this method existed, yields one [`KvError::Unsupported`].
    fn scan(&self, prefix: Option<&KvKey>) -> KvRecordStream {
        let _ = prefix;
        let error = KvError::Unsupported {
            backend: self.backend(),
            operation: "scan",
            reason: DEFAULT_METHOD,
        };
        futures::stream::once(async move { Err(error) }).boxed()
    }

    /// [`scan`](KvStore::scan) with each value as its stored JSON text
    /// (see [`get_json`](KvStore::get_json)): the same entries, order,
    /// memory bound and undecodable rows (one [`KvError::Corrupt`] in
    /// place, naming the raw key; the stream goes on). `fedikv list` and
    /// `fedikv copy` use it, so values pass through unchanged and are never
    /// decoded.
    ///
    /// SQLite, PostgreSQL, MySQL and Redis check and keep the row's text;
    /// the default writes each value `scan` yields with
    /// [`JsonText::from_value`].
    fn scan_json(&self, prefix: Option<&KvKey>) -> KvRecordStream<JsonText> {
        self.scan(prefix)
            .map(|item| item.map(|record| record.map_value(text_of)))
            .boxed()
    }

    /// How many entries under `prefix` (all entries for `None`) have expired
    /// but are still physically stored, waiting for a sweep; they are
    /// invisible to every other method. Stores whose server drops expired
    /// entries itself (Redis) return 0. Conformance test `s3_count_expired_…`.
    ///
    /// Every fedikv backend implements it. The default, for stores written
    /// before this method existed, returns [`KvError::Unsupported`].
    async fn count_expired(&self, prefix: Option<&KvKey>) -> KvResult<u64> {
        let _ = prefix;
        Err(KvError::Unsupported {
            backend: self.backend(),
            operation: "count_expired",
            reason: DEFAULT_METHOD,
        })
    }

    /// Deletes the stored row whose raw key is `raw_key`, whether or not it
    /// can be decoded, and returns whether there was one (live or expired).
    /// `raw_key` is exactly the text that [`KvError::Corrupt::key`] names
    /// when [`list`](KvStore::list), [`scan`](KvStore::scan) or
    /// [`get`](KvStore::get) meet an undecodable row (rule V5), so a row
    /// no [`KvKey`] can name can still be removed. Each backend documents
    /// its raw key form (SQLite and MySQL: the key column's text;
    /// PostgreSQL: the `text[]` as PostgreSQL's array literal; Redis: the
    /// whole Redis key; Deno KV: the key's JSON text).
    ///
    /// Every fedikv backend that can hold undecodable rows implements it.
    /// The default (the memory store, which holds none, and stores written
    /// outside fedikv) returns [`KvError::Unsupported`].
    ///
    /// [`KvError::Corrupt::key`]: KvError::Corrupt
    async fn delete_raw(&self, raw_key: &str) -> KvResult<bool> {
        let _ = raw_key;
        Err(KvError::Unsupported {
            backend: self.backend(),
            operation: "delete_raw",
            reason: "the store has no rows it cannot decode, or keeps the KvStore trait's default of this method; delete by key instead",
        })
    }

    /// Physically removes expired entries now and returns how many were
    /// removed. Correctness never depends on this having run (S3); stores also
    /// sweep on their own schedule. Stores whose server expires entries itself
    /// (Redis) return 0.
    async fn sweep(&self) -> KvResult<u64>;

    /// Proves the store is reachable and its table usable, cheaply enough
    /// for a readiness probe: one [`get`](KvStore::get) of the key
    /// `[`[`PING_KEY`]`]`, which no application writes (a table found
    /// missing is created, as by any read). Any error of that read is
    /// returned.
    async fn ping(&self) -> KvResult<()> {
        let key = KvKey::new([PING_KEY])?;
        self.get(&key).await.map(drop)
    }

    /// The name and version of the server or library behind the store, as
    /// it reports them ("PostgreSQL 16.4", "10.11.6-MariaDB", "Redis
    /// 7.2.4", "SQLite 3.50.2"), for `fedikv check` and health pages;
    /// `None` when there is none to report (memory, Deno KV). The default
    /// returns `None`.
    async fn server_version(&self) -> KvResult<Option<String>> {
        Ok(None)
    }

    /// A short name of the backend ("memory", "sqlite", ...), for messages and
    /// benchmark output.
    fn backend(&self) -> &'static str;

    /// What this store can hold of the keys and values Fedify can write
    /// ([`Capabilities`]); the default holds everything exactly. Conformance
    /// tests `k1_…` and `v1_…` check each store against what it reports.
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }
}

/// `value`'s [`JsonText`], the value then dropped at any depth: what the
/// default `get_json` and `scan_json` return.
fn text_of(value: Value) -> JsonText {
    let text = JsonText::from_value(&value);
    drop_deep(value);
    text
}
