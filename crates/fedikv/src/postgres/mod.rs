//! [`PostgresKvStore`]: Fedify's `PostgresKvStore` layout through
//! tokio-postgres and deadpool-postgres (feature `postgres`).
//!
//! The layout is Fedify's (`docs/layouts.md`); how this backend works —
//! its statements, sweeping, limits and tests — is in `docs/backends.md`.

pub(crate) mod codec;
mod error;
mod list;
pub(crate) mod options;
mod raw_key;
pub(crate) mod schema;
pub(crate) mod sql;
mod sweep;
mod tls;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use deadpool_postgres::{Client, Manager, Pool, QueueMode, Runtime};
use futures::TryStreamExt;
use serde_json::Value;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::error::{KvError, KvResult};
use crate::json::JsonText;
use crate::key::KvKey;
use crate::paging::{PAGE_SIZE, into_entries};
use crate::store::{Capabilities, KvRecordStream, KvStore, KvStream, SetOptions};
use crate::table::{BackgroundSweep, TableState};
use crate::telemetry::{Op, Telemetry};

pub use codec::{KEY_COMPONENT_OVERHEAD, MAX_KEY_BYTES, MAX_VALUE_BYTES};
pub use error::PostgresError;
pub use options::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_POOL_SIZE, PostgresOptions};
pub use schema::{DEFAULT_TABLE, MAX_IDENTIFIER_LEN};

use codec::{Interval, Jsonb};
use error::{BACKEND, map, map_pool};
use schema::TableName;
use sql::Statements;
use sweep::Pace;

/// A [`KvStore`] in a PostgreSQL table with Fedify's layout (see the
/// [module docs](self)). Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct PostgresKvStore {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pool: Pool,
    table: TableName,
    unlogged: bool,
    sql: Statements,
    sweeps: BackgroundSweep,
    table_state: TableState,
    /// `user@host:port/db`, for Debug: never the password.
    endpoint: String,
    telemetry: Arc<Telemetry>,
}

impl fmt::Debug for PostgresKvStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("PostgresKvStore")
            .field("endpoint", &inner.endpoint)
            .field("table", &inner.table)
            .field("unlogged", &inner.unlogged)
            .field("sweep", &inner.sweeps.policy())
            .field("pool_max_size", &inner.pool.status().max_size)
            .finish_non_exhaustive()
    }
}

impl PostgresKvStore {
    /// Connects to a `postgres://` or `postgresql://` URL, e.g.
    /// `postgres://user:password@127.0.0.1:5432/mydb?table=fedify_kv_v2`,
    /// and creates the table if needed.
    ///
    /// Query options: `table=` (default `fedify_kv_v2`, may be
    /// `schema.table`), `unlogged=true`, `sweep=` (interval such as `60s`, or
    /// `off`), `sweep_batch=` (rows per sweep statement), `pool_size=`
    /// (default [`DEFAULT_POOL_SIZE`]), `sslmode=` (`disable`, `allow`,
    /// `prefer` (default), `require`, `verify-ca`, `verify-full`) and
    /// `sslrootcert=` (PEM file of trusted CAs; without it `verify-*` trust
    /// the Mozilla roots). Any other option goes to tokio-postgres (e.g.
    /// `connect_timeout=5`, default [`DEFAULT_CONNECT_TIMEOUT`];
    /// `application_name=`, `options=`).
    ///
    /// Errors: [`KvError::InvalidUrl`], [`KvError::InvalidName`] (table),
    /// [`KvError::AccessDenied`] (wrong password, unknown role, no
    /// privilege), [`KvError::Unavailable`] (server down or unreachable),
    /// [`KvError::Backend`] (e.g. a failed TLS handshake); none repeats the
    /// password.
    pub async fn open_url(url: &str) -> KvResult<Self> {
        let parsed = options::parse(url)?;
        TableName::parse(&parsed.options.table)?;
        let endpoint = options::endpoint(&parsed.driver);
        let manager = Manager::new(parsed.driver, parsed.tls.connector()?);
        // LIFO: sequential work keeps using the same warm connection (and
        // server process) instead of cycling through every idle one.
        let pool = Pool::builder(manager)
            .max_size(parsed.options.pool_size)
            .queue_mode(QueueMode::Lifo)
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| KvError::backend(BACKEND, e.to_string()))?;
        Self::build(pool, parsed.options, endpoint).await
    }

    /// A store on an existing deadpool-postgres pool, creating the table if
    /// needed. `options.pool_size` is ignored. The pool should recycle
    /// connections with `RecyclingMethod::Fast` (deadpool's default): the
    /// others cost a round trip per operation.
    pub async fn from_pool(pool: Pool, options: PostgresOptions) -> KvResult<Self> {
        Self::build(pool, options, "(caller's pool)".to_owned()).await
    }

    async fn build(pool: Pool, options: PostgresOptions, endpoint: String) -> KvResult<Self> {
        let table = TableName::parse(&options.table)?;
        let telemetry = Telemetry::new("postgresql", Some(table.as_str())).on_server(&endpoint);
        #[cfg(feature = "metrics")]
        let telemetry = telemetry.with_pool(pool_probe(&pool));
        let inner = Inner {
            telemetry: Arc::new(telemetry),
            sql: Statements::new(&table, PAGE_SIZE, options.sweep.batch_size),
            pool,
            table,
            unlogged: options.unlogged,
            sweeps: BackgroundSweep::new(options.sweep),
            table_state: TableState::default(),
            endpoint,
        };
        inner.initialize(true).await?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Creates the table unless it exists, converting an unlogged table to a
    /// logged one unless the store is `unlogged` (idempotent, safe under
    /// concurrency, also across processes). Construction already does this,
    /// and the store does it again by itself after [`drop_table`] or when it
    /// finds the table gone.
    ///
    /// [`drop_table`]: Self::drop_table
    pub async fn initialize(&self) -> KvResult<()> {
        self.inner.initialize(true).await
    }

    /// Drops the table with all its entries (`DROP TABLE IF EXISTS`). The
    /// next operation, or [`initialize`](Self::initialize), creates it
    /// again.
    pub async fn drop_table(&self) -> KvResult<()> {
        let inner = &self.inner;
        inner
            .table_state
            .drop_with(async || {
                let client = inner.pool.get().await.map_err(map_pool)?;
                schema::drop(&client, &inner.table).await
            })
            .await
    }

    /// The query plan (`EXPLAIN`, one line per element) of the page of
    /// `list(prefix)` that starts after the key `after` (the first page for
    /// `None`), for checking that listing is an index range scan of the
    /// primary key on your server and data.
    pub async fn explain_list(
        &self,
        prefix: Option<&KvKey>,
        after: Option<&KvKey>,
    ) -> KvResult<Vec<String>> {
        list::explain(&self.inner, prefix, after).await
    }

    /// `get`'s query: the live value under `key`, read by `read`.
    async fn get_read<V>(&self, key: &KvKey, read: list::ValueReader<V>) -> KvResult<Option<V>> {
        let components = codec::key(key)?;
        let components = components.as_ref();
        let row = self
            .inner
            .query_opt(&self.inner.sql.get, &[&components])
            .await?;
        row.map(|row| list::decode_column(&row, 0, key, read))
            .transpose()
    }

    /// Writes `value` under `key` in one round trip: `INSERT … ON CONFLICT
    /// DO UPDATE`, resetting `created`.
    async fn set_jsonb(&self, key: &KvKey, value: Jsonb, options: SetOptions) -> KvResult<()> {
        let components = codec::key(key)?;
        let components = components.as_ref();
        let ttl = options.effective_ttl().map(Interval::from_ttl);
        self.inner
            .execute(
                &self.inner.sql.set,
                &[&components, &value, &ttl],
                Some(&value),
            )
            .await?;
        self.inner.after_write();
        Ok(())
    }

    /// The table name as configured (e.g. `Schema.Relation`).
    pub fn table(&self) -> &str {
        self.inner.table.as_str()
    }

    /// The connection pool, for running other statements on the same server.
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }
}

impl Inner {
    /// Creates the table unless this store knows it exists; with `force`,
    /// asks the server anyway (it may have been dropped elsewhere).
    async fn initialize(&self, force: bool) -> KvResult<()> {
        self.table_state
            .ensure(force, async || self.create_table().await)
            .await
    }

    /// Creates the table and its index unless they exist.
    async fn create_table(&self) -> KvResult<()> {
        let mut client = self.pool.get().await.map_err(map_pool)?;
        schema::create(&mut client, &self.table, self.unlogged).await
    }

    /// A pooled connection, with the table created first if needed.
    async fn client(&self) -> KvResult<Client> {
        self.initialize(false).await?;
        self.pool.get().await.map_err(map_pool)
    }

    /// Runs the statement `op`; if the table was gone (dropped by another
    /// program), creates it and runs `op` once more (the policy of
    /// [`TableState`]).
    async fn recreating<T, F, Fut>(&self, op: F) -> KvResult<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = KvResult<T>>,
    {
        self.table_state
            .recreating(
                error::is_missing_table,
                async || self.create_table().await,
                op,
            )
            .await
    }

    /// Maps the error of a statement that stored `value`.
    fn fail_write(e: tokio_postgres::Error, value: &Jsonb) -> KvError {
        error::value_error(&e, value.len()).unwrap_or_else(|| map(e))
    }

    /// Runs a cached prepared statement; returns the rows it affected.
    async fn execute(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        value: Option<&Jsonb>,
    ) -> KvResult<u64> {
        self.recreating(|| async {
            let client = self.client().await?;
            let statement = client.prepare_cached(sql).await.map_err(map)?;
            client
                .execute(&statement, params)
                .await
                .map_err(|e| match value {
                    Some(value) => Self::fail_write(e, value),
                    None => map(e),
                })
        })
        .await
    }

    /// Runs a cached prepared query and folds its rows into `init()` with
    /// `each` as they arrive, so work on a row overlaps the server sending
    /// the next ones. Where the table is recreated the query runs again
    /// from a fresh `init()`.
    async fn query_fold<A>(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        init: impl Fn() -> A,
        each: impl Fn(&mut A, Row),
    ) -> KvResult<A> {
        self.recreating(|| async {
            let client = self.client().await?;
            let statement = client.prepare_cached(sql).await.map_err(map)?;
            let rows = client
                .query_raw(&statement, params.iter().copied())
                .await
                .map_err(map)?;
            let mut rows = std::pin::pin!(rows);
            let mut folded = init();
            while let Some(row) = rows.try_next().await.map_err(map)? {
                each(&mut folded, row);
            }
            Ok(folded)
        })
        .await
    }

    /// Runs a cached prepared query; returns its rows.
    async fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> KvResult<Vec<Row>> {
        self.recreating(|| async {
            let client = self.client().await?;
            let statement = client.prepare_cached(sql).await.map_err(map)?;
            client.query(&statement, params).await.map_err(map)
        })
        .await
    }

    /// Runs a cached prepared query returning at most one row.
    async fn query_opt(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> KvResult<Option<Row>> {
        self.recreating(|| async {
            let client = self.client().await?;
            let statement = client.prepare_cached(sql).await.map_err(map)?;
            client.query_opt(&statement, params).await.map_err(map)
        })
        .await
    }

    /// Starts a sweep in the background if one is due and none is running.
    fn after_write(self: &Arc<Self>) {
        self.sweeps
            .after_write(&self.telemetry, self.table.as_str().to_owned(), || {
                let inner = Arc::clone(self);
                async move { inner.sweep_expired(Pace::Background).await }
            });
    }
}

/// The pool gauges of deadpool: open connections, idle ones, waiting tasks.
#[cfg(feature = "metrics")]
fn pool_probe(pool: &Pool) -> crate::telemetry::metrics::PoolProbe {
    let pool = pool.clone();
    crate::telemetry::metrics::PoolProbe::new(move || {
        let status = pool.status();
        crate::telemetry::metrics::PoolStats {
            size: status.size,
            idle: status.available,
            waiting: status.waiting,
        }
    })
}

#[async_trait]
impl KvStore for PostgresKvStore {
    /// One round trip: the live row's value.
    async fn get(&self, key: &KvKey) -> KvResult<Option<Value>> {
        let get = self.get_read(key, list::read_value);
        self.inner.telemetry.observe(Op::Get, Some(key), get).await
    }

    /// One round trip: `INSERT … ON CONFLICT DO UPDATE`, resetting `created`.
    async fn set(&self, key: &KvKey, value: &Value, options: SetOptions) -> KvResult<()> {
        let set = async { self.set_jsonb(key, Jsonb::new(value)?, options).await };
        self.inner.telemetry.observe(Op::Set, Some(key), set).await
    }

    /// [`set`](KvStore::set)'s statement; the text is handed to the driver
    /// and dropped while it is bound, when large (see `Jsonb`). Lone
    /// surrogates are stored as U+FFFD, as by `set`.
    async fn set_json(&self, key: &KvKey, value: JsonText, options: SetOptions) -> KvResult<()> {
        let set = async { self.set_jsonb(key, Jsonb::from_text(value)?, options).await };
        self.inner.telemetry.observe(Op::Set, Some(key), set).await
    }

    /// `jsonb`'s output (`{"a": 1}`, members in `jsonb`'s order: shorter
    /// keys first), compacted in one pass: one copy of the row's text.
    async fn get_json(&self, key: &KvKey) -> KvResult<Option<JsonText>> {
        let get = self.get_read(key, list::read_text);
        self.inner.telemetry.observe(Op::Get, Some(key), get).await
    }

    /// One round trip.
    async fn delete(&self, key: &KvKey) -> KvResult<()> {
        let delete = async {
            let components = codec::key(key)?;
            let components = components.as_ref();
            self.inner
                .execute(&self.inner.sql.delete, &[&components], None)
                .await?;
            self.inner.after_write();
            Ok(())
        };
        self.inner
            .telemetry
            .observe(Op::Delete, Some(key), delete)
            .await
    }

    /// One round trip. The raw key is the `text[]` as PostgreSQL writes it
    /// (`key::text`, e.g. `{p,NULL}`), which PostgreSQL parses back;
    /// [`KvError::InvalidKey`] for text that is not an array literal.
    async fn delete_raw(&self, raw_key: &str) -> KvResult<bool> {
        let delete_raw = async {
            let deleted = self
                .inner
                .execute(&self.inner.sql.delete_raw, &[&raw_key], None)
                .await
                .map_err(|e| match e {
                    KvError::Backend { source, .. }
                        if error::is_invalid_text(source.as_ref()) =>
                    {
                        KvError::InvalidKey {
                            reason: format!(
                                "{raw_key:?} is not a PostgreSQL array literal such as {{p,NULL}}: {source}"
                            ),
                        }
                    }
                    other => other,
                })?;
            self.inner.after_write();
            Ok(deleted > 0)
        };
        self.inner
            .telemetry
            .observe(Op::DeleteRaw, None, delete_raw)
            .await
    }

    /// One atomic statement (a read for `cas(k, None, None)`); see the module
    /// docs.
    async fn cas(
        &self,
        key: &KvKey,
        expected: Option<&Value>,
        new: Option<&Value>,
        options: SetOptions,
    ) -> KvResult<bool> {
        let cas = async {
            let components = codec::key(key)?;
            let components = components.as_ref();
            let sql = &self.inner.sql;
            let ttl = options.effective_ttl().map(Interval::from_ttl);
            let rows = match (expected, new) {
                (None, None) => return Ok(self.get(key).await?.is_none()),
                (None, Some(new)) => {
                    let new = Jsonb::new(new)?;
                    let params: [&(dyn ToSql + Sync); 3] = [&components, &new, &ttl];
                    self.inner
                        .execute(&sql.cas_create, &params, Some(&new))
                        .await?
                }
                (Some(expected), None) => {
                    let expected = Jsonb::new(expected)?;
                    let params: [&(dyn ToSql + Sync); 2] = [&components, &expected];
                    self.inner
                        .execute(&sql.cas_delete, &params, Some(&expected))
                        .await?
                }
                (Some(expected), Some(new)) => {
                    let expected = Jsonb::new(expected)?;
                    let new = Jsonb::new(new)?;
                    let params: [&(dyn ToSql + Sync); 4] = [&components, &expected, &new, &ttl];
                    let larger = if new.len() >= expected.len() {
                        &new
                    } else {
                        &expected
                    };
                    self.inner
                        .execute(&sql.cas_update, &params, Some(larger))
                        .await?
                }
            };
            let swapped = rows > 0;
            if swapped {
                self.inner.after_write();
            }
            Ok(swapped)
        };
        self.inner.telemetry.observe(Op::Cas, Some(key), cas).await
    }

    /// Keyset pages of 500 rows in `ORDER BY key`
    /// order, each an index range scan.
    fn list(&self, prefix: Option<&KvKey>) -> KvStream {
        let records = list::stream(Arc::clone(&self.inner), prefix, list::read_value);
        self.inner
            .telemetry
            .stream(Op::List, prefix, into_entries(records))
    }

    /// As `list`, the remaining TTL computed by the server's clock.
    fn scan(&self, prefix: Option<&KvKey>) -> KvRecordStream {
        let records = list::stream(Arc::clone(&self.inner), prefix, list::read_value);
        self.inner.telemetry.stream(Op::Scan, prefix, records)
    }

    /// As `scan`, each value `jsonb`'s text compacted (see `get_json`).
    fn scan_json(&self, prefix: Option<&KvKey>) -> KvRecordStream<JsonText> {
        let records = list::stream(Arc::clone(&self.inner), prefix, list::read_text);
        self.inner.telemetry.stream(Op::Scan, prefix, records)
    }

    /// One `count(*)` over the prefix's key range.
    async fn count_expired(&self, prefix: Option<&KvKey>) -> KvResult<u64> {
        let count = async { list::count_expired(&self.inner, prefix).await };
        self.inner
            .telemetry
            .observe(Op::CountExpired, prefix, count)
            .await
    }

    /// Deletes every expired row now, in batches; returns how many.
    async fn sweep(&self) -> KvResult<u64> {
        let sweep = async { self.inner.sweep_expired(Pace::Full).await };
        self.inner.telemetry.observe(Op::Sweep, None, sweep).await
    }

    /// `SHOW server_version`, one round trip.
    async fn server_version(&self) -> KvResult<Option<String>> {
        let row = self.inner.query_opt("SHOW server_version", &[]).await?;
        let version = row.map(|row| row.try_get::<_, String>(0)).transpose();
        let version = version.map_err(|e| KvError::backend(BACKEND, e))?;
        Ok(version.map(|version| format!("PostgreSQL {version}")))
    }

    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> Capabilities {
        // text and jsonb hold no NUL; postgres.js sends lone surrogates as U+FFFD.
        Capabilities {
            nul_in_keys: false,
            nul_in_values: false,
            lone_surrogates_in_keys: false,
            lone_surrogates_in_values: false,
            ..Capabilities::default()
        }
    }
}
