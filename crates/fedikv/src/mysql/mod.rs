//! [`MysqlKvStore`]: Fedify's `MysqlKvStore` layout on MySQL 8.0+ and
//! MariaDB 10.6+, through `mysql_async` (feature `mysql`).
//!
//! # Layout (shared with Fedify's `@fedify/mysql`)
//!
//! ```sql
//! CREATE TABLE IF NOT EXISTS `fedify_kv` (
//!   `key` VARCHAR(768) NOT NULL,            -- KvKey::to_json(): JSON.stringify(key)
//!   `value` JSON NOT NULL,                  -- JSON text (LONGTEXT + JSON_VALID on MariaDB)
//!   `expires` DATETIME(6) NULL DEFAULT NULL, -- server clock, NULL = never
//!   PRIMARY KEY (`key`)
//! ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
//! CREATE INDEX `idx_fedify_kv_expires` ON `fedify_kv` (`expires`);
//! ```
//!
//! A row is live iff `expires IS NULL OR expires > NOW(6)`; writes with a TTL
//! store `NOW(6) + INTERVAL <ttl> MICROSECOND` at millisecond precision.
//! Values are bound as JSON text (never `CAST(? AS JSON)`, which MariaDB
//! lacks) and parsed by fedikv, so MariaDB's text `JSON` reads back as JSON.
//! Every client of the table must use the same session `time_zone` (the
//! server default, as Fedify does), since `DATETIME` holds wall-clock time.
//!
//! # Limits
//!
//! - Keys: at most 768 characters of JSON text ([`KvError::KeyTooLong`]
//!   before any round trip, SPEC K3).
//! - Values: the server's `max_allowed_packet` (16 MiB on MariaDB, 64 MiB on
//!   MySQL 8 by default) less 64 KiB ([`KvError::ValueTooLarge`]).
//! - TTLs above about 1000 years are capped.
//!
//! # Operations
//!
//! - `get`, `set` (an upsert), `delete`: one prepared statement, one round
//!   trip each. Prepared statements are cached per connection; the pool does
//!   not reset connections, which would drop that cache.
//! - `cas`: optimistic, without explicit transactions, atomic at every
//!   isolation level (see `cas.rs`): one guarded statement in the common
//!   case, a read plus a guarded write otherwise, retried if a concurrent
//!   writer changed the row in between. Needs `CLIENT_FOUND_ROWS`.
//! - `list`: keyset pages over a binary range of the primary key (no
//!   `LIKE`), ordered by the key's JSON text byte by byte (as Fedify's
//!   `ORDER BY key`: e.g. `["a","b","c"]` before `["a","b"]`).
//! - Expired rows are deleted in batches through the `expires` index, by a
//!   task spawned after a write once per [`SweepPolicy`](crate::SweepPolicy) interval, or by
//!   [`KvStore::sweep`].
//!
//! # Tests
//!
//! The `fedikv-conformance` suite (`tests/mysql.rs` there: every rule K1–O5
//! and S3) and this crate's `tests/mysql.rs` (raw-SQL layout checks, rows
//! written the way Fedify writes them, Fedify's own MySQL test cases, query
//! plans, bad input) and `tests/mysql_faults.rs` (server restarts).
//!
//! # MySQL 8 (untested here)
//!
//! Only MariaDB runs on the test machines. The SQL is common to both except
//! the CAS value guard, which compares `value` with the text read on MariaDB
//! and with `CAST(? AS JSON)` on MySQL (chosen from `VERSION()`). Untested
//! MySQL risks: that guard; `VALUES()` in `ON DUPLICATE KEY UPDATE`
//! (deprecated since 8.0.20, still accepted); MySQL normalizing stored JSON
//! (key order, number forms: allowed by V2, and `cas` compares
//! semantically).

mod cas;
mod error;
mod expiry;
mod list;
mod options;
mod schema;
mod sql;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params, Pool};
use serde_json::Value;

use crate::error::{KvError, KvResult};
use crate::key::KvKey;
use crate::paging::PAGE_SIZE;
use crate::store::{KvStore, KvStream, SetOptions};
use crate::sweep::SweepSchedule;

/// The driver, re-exported so that [`MysqlKvStore::from_pool`] callers use
/// the same version.
pub use mysql_async;
pub use options::{DEFAULT_POOL_SIZE, MysqlOptions};
pub use sql::{DEFAULT_TABLE, MAX_TABLE_NAME_LEN};

use error::{BACKEND, DEADLOCK, map, server_code};
use schema::ServerInfo;
use sql::{Statements, validate_table_name};

/// Longest key, in characters of its JSON text: the `VARCHAR(768)` of
/// Fedify's layout.
pub const MAX_KEY_CHARS: usize = 768;

/// Room left in `max_allowed_packet` for the statement and the key.
const PACKET_HEADROOM: usize = 64 * 1024;

/// How often a statement chosen as a deadlock victim (and so rolled back) is
/// run again before the error is returned.
const DEADLOCK_RETRIES: u32 = 5;

/// A [`KvStore`] in a MySQL or MariaDB table with Fedify's layout (see the
/// [module docs](self)). Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct MysqlKvStore {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pool: Pool,
    table: String,
    sql: Statements,
    info: ServerInfo,
    schedule: SweepSchedule,
    /// Whether the table is known to exist (reset by `drop_table`).
    initialized: AtomicBool,
    schema_lock: tokio::sync::Mutex<()>,
    /// `user@host:port/db`, for Debug: never the password.
    endpoint: String,
}

impl fmt::Debug for MysqlKvStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("MysqlKvStore")
            .field("endpoint", &inner.endpoint)
            .field("table", &inner.table)
            .field("dialect", &inner.info.dialect)
            .field("sweep", &inner.schedule.policy())
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
        let sql = Statements::new(
            &options.table,
            info.dialect,
            PAGE_SIZE,
            options.sweep.batch_size,
        );
        let inner = Inner {
            pool,
            table: options.table,
            sql,
            info,
            schedule: SweepSchedule::new(options.sweep),
            initialized: AtomicBool::new(false),
            schema_lock: tokio::sync::Mutex::new(()),
            endpoint,
        };
        inner.create_schema(&mut conn).await?;
        inner
            .initialized
            .store(true, std::sync::atomic::Ordering::Release);
        Ok(Self {
            inner: Arc::new(inner),
        })
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
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
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

/// The key's JSON text, refused before any round trip when the key column
/// cannot hold it.
fn key_text(key: &KvKey) -> KvResult<String> {
    let text = key.to_json();
    // At most one character per byte: only count when the bytes exceed it.
    if text.len() > MAX_KEY_CHARS {
        let len = text.chars().count();
        if len > MAX_KEY_CHARS {
            return Err(KvError::KeyTooLong {
                backend: BACKEND,
                len,
                max: MAX_KEY_CHARS,
                unit: "characters of JSON text",
            });
        }
    }
    Ok(text)
}

/// Parses a stored value.
fn decode_value(key: &str, bytes: &[u8]) -> KvResult<Value> {
    serde_json::from_slice(bytes).map_err(|e| KvError::Corrupt {
        key: key.to_owned(),
        reason: format!("the value is not JSON: {e}"),
    })
}

/// The value and, with a TTL, its microseconds: the parameters every write
/// statement takes in that order.
fn value_params(value: String, ttl: Option<Duration>) -> Vec<mysql_async::Value> {
    let mut params = vec![mysql_async::Value::from(value)];
    if let Some(ttl) = ttl {
        params.push(mysql_async::Value::from(expiry::ttl_micros(ttl)));
    }
    params
}

/// Runs a write and returns the affected (with `CLIENT_FOUND_ROWS`: matched)
/// rows, running it again if it was a deadlock victim.
async fn exec_write(
    conn: &mut Conn,
    stmt: &str,
    params: Vec<mysql_async::Value>,
) -> Result<u64, mysql_async::Error> {
    let mut retries = 0;
    loop {
        match conn
            .exec_drop(stmt, Params::Positional(params.clone()))
            .await
        {
            Ok(()) => return Ok(conn.affected_rows()),
            Err(e) if server_code(&e) == Some(DEADLOCK) && retries < DEADLOCK_RETRIES => {
                retries += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

impl Inner {
    /// A pooled connection, with the table created first if needed.
    async fn conn(&self) -> KvResult<Conn> {
        self.ensure_schema().await?;
        self.pool.get_conn().await.map_err(map)
    }

    /// Longest value, in bytes of JSON text, the server takes.
    fn max_value_len(&self) -> usize {
        self.info.max_allowed_packet.saturating_sub(PACKET_HEADROOM)
    }

    /// The value's JSON text, refused when the server could not take it.
    fn value_text(&self, value: &Value) -> KvResult<String> {
        let text = serde_json::to_string(value)?;
        let max = self.max_value_len();
        if text.len() > max {
            return Err(KvError::ValueTooLarge {
                backend: BACKEND,
                len: text.len(),
                max,
            });
        }
        Ok(text)
    }

    /// Starts a sweep in the background if one is due.
    fn after_write(self: &Arc<Self>) {
        if self.schedule.claim() {
            let inner = Arc::clone(self);
            tokio::spawn(async move {
                if let Err(e) = inner.sweep_expired().await {
                    tracing::warn!(table = %inner.table, error = %e, "mysql: sweeping expired rows failed");
                }
            });
        }
    }
}

#[async_trait]
impl KvStore for MysqlKvStore {
    /// One round trip: the live row's value.
    async fn get(&self, key: &KvKey) -> KvResult<Option<Value>> {
        let key = key_text(key)?;
        let mut conn = self.inner.conn().await?;
        let row: Option<Vec<u8>> = conn
            .exec_first(self.inner.sql.get.as_str(), (key.as_str(),))
            .await
            .map_err(map)?;
        row.map(|bytes| decode_value(&key, &bytes)).transpose()
    }

    /// One round trip: `INSERT … ON DUPLICATE KEY UPDATE`.
    async fn set(&self, key: &KvKey, value: &Value, options: SetOptions) -> KvResult<()> {
        let key = key_text(key)?;
        let value = self.inner.value_text(value)?;
        let mut params = vec![mysql_async::Value::from(key)];
        params.extend(value_params(value, options.ttl));
        let mut conn = self.inner.conn().await?;
        exec_write(
            &mut conn,
            self.inner.sql.set.pick(options.ttl.is_some()),
            params,
        )
        .await
        .map_err(map)?;
        drop(conn);
        self.inner.after_write();
        Ok(())
    }

    /// One round trip.
    async fn delete(&self, key: &KvKey) -> KvResult<()> {
        let key = key_text(key)?;
        let mut conn = self.inner.conn().await?;
        exec_write(&mut conn, &self.inner.sql.delete, vec![key.into()])
            .await
            .map_err(map)?;
        drop(conn);
        self.inner.after_write();
        Ok(())
    }

    /// Optimistic and atomic at any isolation level; see the module docs.
    async fn cas(
        &self,
        key: &KvKey,
        expected: Option<&Value>,
        new: Option<&Value>,
        options: SetOptions,
    ) -> KvResult<bool> {
        let key = key_text(key)?;
        let new = new.map(|v| self.inner.value_text(v)).transpose()?;
        let swapped = self.inner.cas(key, expected, new, options.ttl).await?;
        if swapped {
            self.inner.after_write();
        }
        Ok(swapped)
    }

    /// Keyset pages of 500 rows in key-text byte order, the next page
    /// prefetched while one is consumed.
    fn list(&self, prefix: Option<&KvKey>) -> KvStream {
        list::stream(Arc::clone(&self.inner), prefix)
    }

    /// Deletes every expired row now, in batches; returns how many.
    async fn sweep(&self) -> KvResult<u64> {
        self.inner.sweep_expired().await
    }

    fn backend(&self) -> &'static str {
        BACKEND
    }
}
