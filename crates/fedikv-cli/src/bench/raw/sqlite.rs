//! [`RawSqliteStore`]: the raw-driver floor of the SQLite backend. The
//! store's schema and statements (`fedikv::bench_support::sqlite`) and its
//! pragmas, run through rusqlite alone on one connection with cached
//! prepared statements and no async machinery: every call blocks the
//! calling task's thread.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use fedikv::bench_support::sqlite::{Statements, statements};
use fedikv::bench_support::{PAGE_SIZE, key_range};
use fedikv::{KvEntry, KvError, KvKey, KvResult, KvStream};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::{Floor, pages, parse, parse_key};

/// The SQLite backend's statements through rusqlite alone.
#[derive(Debug)]
pub struct RawSqliteStore {
    connection: Arc<Mutex<Connection>>,
    sql: Arc<Statements>,
}

impl RawSqliteStore {
    /// Creates the database file `file` with table `table` (the store's
    /// schema) in WAL mode with `synchronous=NORMAL`, as the store does.
    pub fn create(file: &Path, table: &str) -> KvResult<Self> {
        let sql = statements(table)?;
        let connection = Connection::open(file).map_err(sqlite)?;
        connection
            .execute_batch(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
            )
            .and_then(|()| connection.execute_batch(&sql.create_table))
            .and_then(|()| connection.execute_batch(&sql.create_index))
            .map_err(sqlite)?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
            sql: Arc::new(sql),
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

fn read_live(
    connection: &Connection,
    sql: &Statements,
    key: &str,
    now: i64,
) -> KvResult<Option<Value>> {
    let text: Option<String> = connection
        .prepare_cached(&sql.get)
        .and_then(|mut stmt| {
            stmt.query_row(params![key, now], |row| row.get(0))
                .optional()
        })
        .map_err(sqlite)?;
    text.map(|text| parse(key, text.as_bytes())).transpose()
}

fn upsert(
    connection: &Connection,
    sql: &Statements,
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

/// The prefix's key range and the key text a listing starts after.
struct Range {
    exact: String,
    from: String,
    to: String,
}

/// One page of entries under `range` after key text `after`, and the next
/// `after` if the page is full.
fn list_page(
    connection: &Connection,
    sql: &Statements,
    range: &Range,
    after: &str,
) -> KvResult<(Vec<KvEntry>, Option<String>)> {
    let rows: Vec<(String, String)> = connection
        .prepare_cached(&sql.list_prefix)
        .and_then(|mut stmt| {
            stmt.query_map(
                params![
                    after,
                    range.exact,
                    range.from,
                    range.to,
                    now_ms(),
                    PAGE_SIZE as i64
                ],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?
            .collect()
        })
        .map_err(sqlite)?;
    let next = (rows.len() == PAGE_SIZE).then(|| rows[rows.len() - 1].0.clone());
    let entries = rows
        .into_iter()
        .map(|(key, value)| {
            Ok(KvEntry {
                value: parse(&key, value.as_bytes())?,
                key: parse_key(&key)?,
            })
        })
        .collect::<KvResult<Vec<_>>>()?;
    Ok((entries, next))
}

#[async_trait]
impl Floor for RawSqliteStore {
    const BACKEND: &'static str = "sqlite";

    async fn get(&self, key: &KvKey) -> KvResult<Option<Value>> {
        read_live(&self.lock(), &self.sql, &key.to_json(), now_ms())
    }

    async fn set(&self, key: &KvKey, value: &Value, ttl: Option<Duration>) -> KvResult<()> {
        upsert(
            &self.lock(),
            &self.sql,
            &key.to_json(),
            value,
            now_ms(),
            ttl,
        )
    }

    async fn delete(&self, key: &KvKey) -> KvResult<()> {
        self.lock()
            .prepare_cached(&self.sql.delete)
            .and_then(|mut stmt| stmt.execute([key.to_json()]))
            .map_err(sqlite)?;
        Ok(())
    }

    /// As the store: read and write in one `BEGIN IMMEDIATE` transaction.
    async fn swap(&self, key: &KvKey, expected: &Value, new: &Value) -> KvResult<bool> {
        let mut connection = self.lock();
        let transaction = connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sqlite)?;
        let key = key.to_json();
        let now = now_ms();
        let current = read_live(&transaction, &self.sql, &key, now)?;
        if !fedikv::json_opt_eq(current.as_ref(), Some(expected)) {
            return Ok(false); // dropping the transaction rolls it back
        }
        upsert(&transaction, &self.sql, &key, new, now, None)?;
        transaction.commit().map_err(sqlite)?;
        Ok(true)
    }

    fn list(&self, prefix: &KvKey) -> KvStream {
        let (exact, from, to) = key_range(prefix);
        // Keys under the prefix sort after its text without the "]".
        let first = exact[..exact.len() - 1].to_owned();
        let range = Arc::new(Range { exact, from, to });
        let (connection, sql) = (Arc::clone(&self.connection), Arc::clone(&self.sql));
        pages(first, move |after| {
            let page = list_page(&lock(&connection), &sql, &range, &after);
            async move { page }
        })
    }
}
