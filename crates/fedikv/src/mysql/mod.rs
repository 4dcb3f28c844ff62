//! [`MysqlKvStore`]: Fedify's `MysqlKvStore` layout on MySQL 8.0+ and
//! MariaDB 10.6+, through `mysql_async` (feature `mysql`).
//!
//! The layout is Fedify's (`docs/layouts.md`); how this backend works —
//! its statements, sweeping, limits and tests — is in `docs/backends.md`.

mod cas;
pub(crate) mod codec;
mod conns;
mod error;
mod list;
mod ops;
pub(crate) mod options;
pub(crate) mod pieces;
mod schema;
pub(crate) mod sql;
mod sweep;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use mysql_async::{Conn, Pool};
use serde_json::Value;

use crate::error::{KvError, KvResult};
use crate::json::JsonText;
use crate::key::KvKey;
use crate::paging::{PAGE_SIZE, into_entries};
use crate::store::{Capabilities, KvRecordStream, KvStore, KvStream, SetOptions};
use crate::table::{BackgroundSweep, TableState};
use crate::telemetry::{Op, Telemetry};

/// The driver, re-exported so that [`MysqlKvStore::from_pool`] callers use
/// the same version.
pub use mysql_async;
pub use options::{DEFAULT_POOL_SIZE, MysqlOptions};
pub use sql::{DEFAULT_TABLE, MAX_TABLE_NAME_LEN};

use codec::key_text;
use conns::Conns;
use error::{BACKEND, map};
use schema::ServerInfo;
use sql::{Statements, validate_table_name};

/// Longest key, in characters of its JSON text: the `VARCHAR(768)` of
/// Fedify's layout.
pub const MAX_KEY_CHARS: usize = 768;

/// A [`KvStore`] in a MySQL or MariaDB table with Fedify's layout (see the
/// [module docs](self)). Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct MysqlKvStore {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// The pool, behind the connections kept between operations.
    conns: Conns,
    table: String,
    sql: Statements,
    info: ServerInfo,
    sweeps: BackgroundSweep,
    table_state: TableState,
    /// `user@host:port/db`, for Debug: never the password.
    endpoint: String,
    telemetry: Arc<Telemetry>,
}

impl fmt::Debug for MysqlKvStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("MysqlKvStore")
            .field("endpoint", &inner.endpoint)
            .field("table", &inner.table)
            .field("dialect", &inner.info.dialect)
            .field("sweep", &inner.sweeps.policy())
            .finish_non_exhaustive()
    }
}

impl MysqlKvStore {
    /// Connects to a `mysql://` or `mariadb://` URL, e.g.
    /// `mysql://user:password@127.0.0.1:3306/mydb?table=fedify_kv`, and
    /// creates the table if needed.
    ///
    /// Query options: `table=` (default `fedify_kv`), `sweep=` (interval such
    /// as `60s`, or `off`), `sweep_batch=` (rows per sweep statement),
    /// `pool_size=` (default [`DEFAULT_POOL_SIZE`]); any other is a
    /// `mysql_async` option (e.g. `require_ssl=true`).
    ///
    /// Errors: [`KvError::InvalidUrl`], [`KvError::InvalidName`] (table),
    /// [`KvError::AccessDenied`], [`KvError::Unavailable`]; none repeats the
    /// password.
    pub async fn open_url(url: &str) -> KvResult<Self> {
        let (opts, options) = options::parse(url)?;
        validate_table_name(&options.table)?;
        Self::from_pool(Pool::new(opts), options).await
    }

    /// A store on an existing pool, creating the table if needed.
    /// `options.pool_size` is ignored.
    ///
    /// The pool must be built with `client_found_rows(true)` (checked:
    /// [`KvError::Backend`] otherwise), which `cas` relies on. It should use
    /// `PoolOpts::with_reset_connection(false)`, or every operation pays an
    /// extra round trip and loses its prepared statements.
    pub async fn from_pool(pool: Pool, options: MysqlOptions) -> KvResult<Self> {
        validate_table_name(&options.table)?;
        let mut conn = pool.get_conn().await.map_err(map)?;
        if !conn.opts().client_found_rows() {
            return Err(KvError::backend(
                BACKEND,
                "the mysql_async pool must be built with OptsBuilder::client_found_rows(true)",
            ));
        }
        let info = ServerInfo::query(&mut conn).await?;
        let endpoint = endpoint(&conn);
        let pool_max = conn.opts().pool_opts().constraints().max();
        let sql = Statements::new(
            &options.table,
            info.dialect,
            PAGE_SIZE,
            options.sweep.batch_size,
            pieces::Pieces::new(info.max_allowed_packet),
        );
        let telemetry = Telemetry::new(info.dialect.system(), Some(&options.table));
        let inner = Inner {
            telemetry: Arc::new(telemetry.on_server(&endpoint)),
            conns: Conns::new(pool, pool_max),
            table: options.table,
            sql,
            info,
            sweeps: BackgroundSweep::new(options.sweep),
            table_state: TableState::default(),
            endpoint,
        };
        drop(conn);
        inner.initialize(true).await?;
        let inner = Arc::new(inner);
        // Kept connections idle too long go back to the pool, also when the
        // store is not used; the task ends with the store.
        let weak = Arc::downgrade(&inner);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(conns::MAX_IDLE).await;
                match weak.upgrade() {
                    Some(inner) => inner.conns.release_stale(),
                    None => return,
                }
            }
        });
        Ok(Self { inner })
    }

    /// Creates the table and its index unless they exist (idempotent, safe
    /// under concurrency). Construction already does this; call it again
    /// after the table was dropped elsewhere.
    pub async fn initialize(&self) -> KvResult<()> {
        self.inner.initialize(true).await
    }

    /// Drops the table with all its entries. The next operation (or
    /// [`initialize`](Self::initialize)) creates it again.
    pub async fn drop_table(&self) -> KvResult<()> {
        self.inner.drop_schema().await
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.inner.table
    }

    /// The connection pool, for running other statements on the same server.
    ///
    /// The store keeps up to 4 connections (never all of the pool's) idle
    /// between its operations and returns them within about a second of
    /// disuse; call [`release_connections`](Self::release_connections) first
    /// to hand them back at once, e.g. before `Pool::disconnect`.
    pub fn pool(&self) -> &Pool {
        self.inner.conns.pool()
    }

    /// Returns the connections the store keeps between operations to the
    /// pool now.
    pub fn release_connections(&self) {
        self.inner.conns.release_all();
    }
}

/// `user@host:port/db` of a connection.
fn endpoint(conn: &Conn) -> String {
    let opts = conn.opts();
    format!(
        "{}@{}:{}/{}",
        opts.user().unwrap_or(""),
        opts.ip_or_hostname(),
        opts.tcp_port(),
        opts.db_name().unwrap_or("")
    )
}

impl MysqlKvStore {
    /// Upserts checked value text under `key`: one round trip.
    async fn set_text(&self, key: &KvKey, value: String, options: SetOptions) -> KvResult<()> {
        let key = key_text(key)?;
        let ttl = options.effective_ttl();
        self.inner
            .recreating(|| self.inner.set(&key, &value, ttl))
            .await?;
        self.inner.after_write();
        Ok(())
    }
}

#[async_trait]
impl KvStore for MysqlKvStore {
    /// One round trip: the live row's value.
    async fn get(&self, key: &KvKey) -> KvResult<Option<Value>> {
        let get = async {
            let key = key_text(key)?;
            self.inner
                .recreating(|| self.inner.get(&key, codec::read_value))
                .await
        };
        self.inner.telemetry.observe(Op::Get, Some(key), get).await
    }

    /// One round trip: `INSERT … ON DUPLICATE KEY UPDATE`.
    async fn set(&self, key: &KvKey, value: &Value, options: SetOptions) -> KvResult<()> {
        let set = async {
            self.set_text(key, self.inner.value_text(value)?, options)
                .await
        };
        self.inner.telemetry.observe(Op::Set, Some(key), set).await
    }

    /// `set`'s statement with the text as it is (lone surrogates as
    /// U+FFFD, as `set` stores them), never decoded.
    async fn set_json(&self, key: &KvKey, value: JsonText, options: SetOptions) -> KvResult<()> {
        let set = async {
            self.set_text(key, self.inner.text_of(value)?, options)
                .await
        };
        self.inner.telemetry.observe(Op::Set, Some(key), set).await
    }

    /// One round trip; the stored bytes become the text without a copy
    /// when they are compact JSON.
    async fn get_json(&self, key: &KvKey) -> KvResult<Option<JsonText>> {
        let get = async {
            let key = key_text(key)?;
            self.inner
                .recreating(|| self.inner.get(&key, codec::decode_text))
                .await
        };
        self.inner.telemetry.observe(Op::Get, Some(key), get).await
    }

    /// One round trip.
    async fn delete(&self, key: &KvKey) -> KvResult<()> {
        let delete = async {
            let key = key_text(key)?;
            self.inner.recreating(|| self.inner.delete(&key)).await?;
            self.inner.after_write();
            Ok(())
        };
        self.inner
            .telemetry
            .observe(Op::Delete, Some(key), delete)
            .await
    }

    /// The raw key is the key column's text.
    async fn delete_raw(&self, raw_key: &str) -> KvResult<bool> {
        let delete_raw = async { self.inner.recreating(|| self.inner.delete(raw_key)).await };
        self.inner
            .telemetry
            .observe(Op::DeleteRaw, None, delete_raw)
            .await
    }

    /// Optimistic and atomic at any isolation level; see the module docs.
    async fn cas(
        &self,
        key: &KvKey,
        expected: Option<&Value>,
        new: Option<&Value>,
        options: SetOptions,
    ) -> KvResult<bool> {
        let cas = async {
            let key = key_text(key)?;
            let new = new.map(|v| self.inner.value_text(v)).transpose()?;
            let (new, ttl) = (new.as_deref(), options.effective_ttl());
            let swapped = self
                .inner
                .recreating(|| self.inner.cas(&key, expected, new, ttl))
                .await?;
            if swapped {
                self.inner.after_write();
            }
            Ok(swapped)
        };
        self.inner.telemetry.observe(Op::Cas, Some(key), cas).await
    }

    /// Keyset pages of 500 rows in key-text byte order, the next page
    /// fetched concurrently (see the module docs).
    fn list(&self, prefix: Option<&KvKey>) -> KvStream {
        let records = list::stream(Arc::clone(&self.inner), prefix, codec::read_value);
        self.inner
            .telemetry
            .stream(Op::List, prefix, into_entries(records))
    }

    /// As `list`, the remaining TTL computed by the server's clock.
    fn scan(&self, prefix: Option<&KvKey>) -> KvRecordStream {
        let records = list::stream(Arc::clone(&self.inner), prefix, codec::read_value);
        self.inner.telemetry.stream(Op::Scan, prefix, records)
    }

    /// As `scan`, each value's stored text kept (see `get_json`).
    fn scan_json(&self, prefix: Option<&KvKey>) -> KvRecordStream<JsonText> {
        let records = list::stream(Arc::clone(&self.inner), prefix, codec::decode_text);
        self.inner.telemetry.stream(Op::Scan, prefix, records)
    }

    /// One `COUNT(*)` over the prefix's key range.
    async fn count_expired(&self, prefix: Option<&KvKey>) -> KvResult<u64> {
        let count = async {
            self.inner
                .recreating(|| list::count_expired(&self.inner, prefix))
                .await
        };
        self.inner
            .telemetry
            .observe(Op::CountExpired, prefix, count)
            .await
    }

    /// Deletes every expired row now, in batches; returns how many.
    async fn sweep(&self) -> KvResult<u64> {
        let sweep = async { self.inner.recreating(|| self.inner.sweep_expired()).await };
        self.inner.telemetry.observe(Op::Sweep, None, sweep).await
    }

    /// The server's `VERSION()`, asked when the store was built.
    async fn server_version(&self) -> KvResult<Option<String>> {
        Ok(Some(self.inner.info.version.to_string()))
    }

    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> Capabilities {
        // The JSON column takes neither `\udxxx` escapes of lone surrogates
        // nor deep nesting; the key column is JSON.stringify text, lossless.
        Capabilities {
            lone_surrogates_in_values: false,
            max_value_depth: Some(self.inner.info.dialect.max_json_depth()),
            ..Capabilities::default()
        }
    }
}
