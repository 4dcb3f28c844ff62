//! The SQLite tests; here, the helpers its modules share.

mod bad_rows;
mod concurrency;
mod interop;
mod store;

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use fedikv::sqlite::SqliteOptions;
use fedikv::{KvKey, SqliteKvStore, SweepPolicy};
use rusqlite::Connection;
use tempfile::TempDir;

/// A fresh directory with a database path in it; both go away with the
/// returned `TempDir`.
pub fn temp_db() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("kv.sqlite3");
    (dir, path)
}

/// A store on `path` with automatic sweeping off.
pub async fn open(path: &Path) -> SqliteKvStore {
    SqliteKvStore::open_with(
        path,
        SqliteOptions::default().sweep(SweepPolicy::disabled()),
    )
    .await
    .expect("open the store")
}

/// A plain rusqlite connection to the same file, as another program (Fedify)
/// would have.
pub fn raw(path: &Path) -> Connection {
    let conn = Connection::open(path).expect("open the file with rusqlite");
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy timeout");
    conn
}

/// Epoch milliseconds now, as Fedify computes them.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

/// A key from its components.
pub fn key<const N: usize>(components: [&str; N]) -> KvKey {
    KvKey::new(components).expect("valid key")
}

/// Inserts a row exactly as Fedify's `SqliteKvStore.set` writes it.
pub fn fedify_insert(
    conn: &Connection,
    table: &str,
    key_json: &str,
    value_json: &str,
    created: i64,
    expires: Option<i64>,
) {
    conn.execute(
        &format!(
            "INSERT INTO \"{table}\" (key, value, created, expires)
        VALUES (?, ?, ?, ?)
        ON CONFLICT(key) DO UPDATE SET
          value = excluded.value,
          expires = excluded.expires"
        ),
        (key_json, value_json, created, expires),
    )
    .expect("insert like Fedify");
}

/// The number of rows in `table`.
pub fn count(conn: &Connection, table: &str) -> i64 {
    conn.query_row(&format!("SELECT COUNT(*) FROM \"{table}\""), [], |r| {
        r.get(0)
    })
    .expect("count rows")
}

/// Whether `table` exists.
pub fn table_exists(conn: &Connection, table: &str) -> bool {
    conn.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
        [table],
        |r| r.get::<_, i64>(0),
    )
    .expect("query sqlite_master")
        == 1
}
