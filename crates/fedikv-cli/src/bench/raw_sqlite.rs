//! [`RawSqliteStore`]: the raw-driver floor of the SQLite backend. The same
//! schema, pragmas and statements as `fedikv::SqliteKvStore`, run through
//! rusqlite alone on one connection with cached prepared statements and no
//! async machinery, so `fedikv bench --raw-sqlite` shows what the backend
//! adds on top of the driver.
//!
//! It implements [`KvStore`] only so the very same workload code can drive
//! it; it is not a store to use (every call blocks the calling thread).

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use fedikv::{KvEntry, KvError, KvKey, KvResult, KvStore, KvStream, SetOptions};
use futures::StreamExt;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::Value;

/// Entries fetched per `list` page, as the backend does.
const PAGE_SIZE: usize = 500;

/// The statements, for one table name.
#[derive(Debug)]
struct Sql {
    get: String,
    upsert: String,
    delete: String,
    list_all: String,
    list_prefix: String,
    sweep: String,
}

impl Sql {
    fn new(table: &str) -> Self {
        Self {
            get: format!(
                "SELECT value FROM \"{table}\" WHERE key = ?1 AND (expires IS NULL OR expires > ?2)"
            ),
            upsert: format!(
                "INSERT INTO \"{table}\" (key, value, created, expires) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires"
            ),
            delete: format!("DELETE FROM \"{table}\" WHERE key = ?1"),
            list_all: format!(
                "SELECT key, value FROM \"{table}\" WHERE key > ?1 \
                 AND (expires IS NULL OR expires > ?2) ORDER BY key LIMIT ?3"
            ),
            list_prefix: format!(
                "SELECT key, value FROM \"{table}\" WHERE key > ?1 AND key <= ?2 \
                 AND (key = ?2 OR (key >= ?3 AND key < ?4)) \
                 AND (expires IS NULL OR expires > ?5) ORDER BY key LIMIT ?6"
            ),
            sweep: format!("DELETE FROM \"{table}\" WHERE expires IS NOT NULL AND expires <= ?1"),
        }
    }
}

/// The SQLite backend's statements through rusqlite alone.
#[derive(Debug)]
pub struct RawSqliteStore {
    connection: Arc<Mutex<Connection>>,
    sql: Arc<Sql>,
}

impl RawSqliteStore {
    /// Creates the database file `file` with table `table` (Fedify's SQLite
    /// layout) in WAL mode with `synchronous=NORMAL`, as the backend does.
    pub fn create(file: &Path, table: &str) -> KvResult<Self> {
        let connection = Connection::open(file).map_err(sqlite)?;
        connection
            .execute_batch(&format!(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;
                 CREATE TABLE IF NOT EXISTS \"{table}\" (
                   key TEXT PRIMARY KEY, value TEXT NOT NULL, created INTEGER NOT NULL, expires INTEGER);
                 CREATE INDEX IF NOT EXISTS \"idx_{table}_expires\" ON \"{table}\" (expires);"
            ))
            .map_err(sqlite)?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
            sql: Arc::new(Sql::new(table)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        lock(&self.connection)
    }
}

fn lock(connection: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock ends the process (see main.rs), so a
    // poisoned lock cannot be observed; recover the guard anyway.
    connection
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn sqlite(error: rusqlite::Error) -> KvError {
    KvError::backend("sqlite", error)
}

fn now_ms() -> i64 {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    i64::try_from(ms).unwrap_or(i64::MAX)
}

fn expires_at(now: i64, ttl: Option<Duration>) -> Option<i64> {
    ttl.map(|ttl| now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)))
}

fn parse(key: &str, text: &str) -> KvResult<Value> {
    serde_json::from_str(text).map_err(|e| KvError::Corrupt {
        key: key.to_owned(),
        reason: e.to_string(),
    })
}

fn read_live(connection: &Connection, sql: &Sql, key: &str, now: i64) -> KvResult<Option<Value>> {
    let text: Option<String> = connection
        .prepare_cached(&sql.get)
        .and_then(|mut stmt| {
            stmt.query_row(params![key, now], |row| row.get(0))
                .optional()
        })
        .map_err(sqlite)?;
    text.map(|text| parse(key, &text)).transpose()
}

fn upsert(
    connection: &Connection,
    sql: &Sql,
    key: &str,
    value: &Value,
    now: i64,
    ttl: Option<Duration>,
) -> KvResult<()> {
    connection
        .prepare_cached(&sql.upsert)
        .and_then(|mut stmt| {
            stmt.execute(params![key, value.to_string(), now, expires_at(now, ttl)])
        })
        .map_err(sqlite)?;
    Ok(())
}

/// One page of entries after `cursor`, and the next cursor.
fn list_page(
    connection: &Connection,
    sql: &Sql,
    prefix: Option<&(String, String, String)>,
    cursor: &str,
) -> KvResult<(Vec<KvEntry>, Option<String>)> {
    let now = now_ms();
    let rows: Vec<(String, String)> = match prefix {
        None => connection
            .prepare_cached(&sql.list_all)
            .and_then(|mut stmt| {
                stmt.query_map(params![cursor, now, PAGE_SIZE as i64], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })?
                .collect()
            }),
        Some((exact, from, to)) => {
            connection
                .prepare_cached(&sql.list_prefix)
                .and_then(|mut stmt| {
                    stmt.query_map(
                        params![cursor, exact, from, to, now, PAGE_SIZE as i64],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )?
                    .collect()
                })
        }
    }
    .map_err(sqlite)?;
    let next = (rows.len() == PAGE_SIZE).then(|| rows[rows.len() - 1].0.clone());
    let entries = rows
        .into_iter()
        .map(|(key, value)| {
            let value = parse(&key, &value)?;
            let key = KvKey::from_json(&key).map_err(|e| KvError::Corrupt {
                key: key.clone(),
                reason: e.to_string(),
            })?;
            Ok(KvEntry { key, value })
        })
        .collect::<KvResult<Vec<_>>>()?;
    Ok((entries, next))
}

#[async_trait]
impl KvStore for RawSqliteStore {
    async fn get(&self, key: &KvKey) -> KvResult<Option<Value>> {
        read_live(&self.lock(), &self.sql, &key.to_json(), now_ms())
    }

    async fn set(&self, key: &KvKey, value: &Value, options: SetOptions) -> KvResult<()> {
        upsert(
            &self.lock(),
            &self.sql,
            &key.to_json(),
            value,
            now_ms(),
            options.ttl,
        )
    }

    async fn delete(&self, key: &KvKey) -> KvResult<()> {
        self.lock()
            .prepare_cached(&self.sql.delete)
            .and_then(|mut stmt| stmt.execute([key.to_json()]))
            .map_err(sqlite)?;
        Ok(())
    }

    async fn cas(
        &self,
        key: &KvKey,
        expected: Option<&Value>,
        new: Option<&Value>,
        options: SetOptions,
    ) -> KvResult<bool> {
        let mut connection = self.lock();
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite)?;
        let key = key.to_json();
        let now = now_ms();
        let current = read_live(&transaction, &self.sql, &key, now)?;
        if !fedikv::json_opt_eq(current.as_ref(), expected) {
            return Ok(false); // dropping the transaction rolls it back
        }
        match new {
            Some(value) => upsert(&transaction, &self.sql, &key, value, now, options.ttl)?,
            None => {
                transaction
                    .prepare_cached(&self.sql.delete)
                    .and_then(|mut stmt| stmt.execute([&key]))
                    .map_err(sqlite)?;
            }
        }
        transaction.commit().map_err(sqlite)?;
        Ok(true)
    }

    fn list(&self, prefix: Option<&KvKey>) -> KvStream {
        // (exact, children_from, children_to), as fedikv's JSON-text key ranges.
        let prefix = prefix.map(|prefix| {
            let exact = prefix.to_json();
            let open = exact[..exact.len() - 1].to_owned();
            (exact, format!("{open},"), format!("{open}-"))
        });
        let (connection, sql) = (Arc::clone(&self.connection), Arc::clone(&self.sql));
        // Keys sort after the prefix's text without its "]" (nothing under the
        // prefix sorts before it), and at most up to the prefix key itself.
        let first = prefix
            .as_ref()
            .map(|(exact, _, _)| exact[..exact.len() - 1].to_owned())
            .unwrap_or_default();
        futures::stream::unfold(Some(first), move |cursor| {
            let page =
                cursor.map(|cursor| list_page(&lock(&connection), &sql, prefix.as_ref(), &cursor));
            async move {
                match page? {
                    Ok((entries, next)) => Some((Ok(entries), next)),
                    Err(error) => Some((Err(error), None)),
                }
            }
        })
        .flat_map(|page| match page {
            Ok(entries) => futures::stream::iter(entries.into_iter().map(Ok).collect::<Vec<_>>()),
            Err(error) => futures::stream::iter(vec![Err(error)]),
        })
        .boxed()
    }

    async fn sweep(&self) -> KvResult<u64> {
        let removed = self
            .lock()
            .prepare_cached(&self.sql.sweep)
            .and_then(|mut stmt| stmt.execute([now_ms()]))
            .map_err(sqlite)?;
        Ok(removed as u64)
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }
}
