//! [`Local`]: a Deno KV database file, the one `Deno.openKv(path)` uses.
//!
//! Writes go through `denokv_sqlite`, Deno's own implementation of the
//! format (schema migrations, versionstamps, atomic checks), on its writer
//! thread. Reads go through connections of fedikv's own (four), because
//! `denokv_sqlite`'s reads do not return an entry's expiry, and Deno
//! deletes expired entries lazily (about once a minute): the `kv` table's
//! `expiration_ms` column is what keeps expired entries invisible here (the
//! expiry records fedikv writes for KV Connect readers are not read here).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, TryLockError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use denokv_proto::{AtomicWriteOutcome, VALUE_ENCODING_LE64, Versionstamp, decode_value};
use denokv_sqlite::{Sqlite, SqliteConfig, SqliteNotifier};
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::error::{KvError, KvResult};

use super::backend::{Backend, Page, Range, Row, Which, Write, rest_after};
use super::error::{BACKEND, is_busy, map_backend, map_sqlite, not_deno_kv};

/// How long a read or write waits for other connections' locks on the file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read connections per store: concurrent reads run side by side (SQLite
/// WAL readers do not block each other or the writer).
const READERS: usize = 4;

/// The pause before a write refused as busy is sent again.
const BUSY_RETRY_PAUSE: Duration = Duration::from_millis(2);

const GET: &str = "SELECT k, v, v_encoding, version, expiration_ms FROM kv WHERE k = ?1";
const LIVE: &str = "SELECT k, v, v_encoding, version, expiration_ms FROM kv \
     WHERE k >= ?1 AND k < ?2 AND (expiration_ms < 0 OR expiration_ms > ?3) ORDER BY k LIMIT ?4";
const EXPIRED: &str = "SELECT k, v, v_encoding, version, expiration_ms FROM kv \
     WHERE k >= ?1 AND k < ?2 AND expiration_ms >= 0 AND expiration_ms <= ?3 ORDER BY k LIMIT ?4";

/// A Deno KV database file.
pub(crate) struct Local {
    path: PathBuf,
    writer: Sqlite,
    readers: Arc<[Mutex<Connection>]>,
}

impl fmt::Debug for Local {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Local")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Local {
    /// Opens (creating if needed) the database file at `path`. A file that
    /// is not SQLite, or a SQLite database of another program, is refused
    /// before anything is written to it.
    pub(crate) async fn open(path: &Path) -> KvResult<Self> {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || Self::open_blocking(path))
            .await
            .map_err(|e| KvError::backend(BACKEND, e))?
    }

    fn open_blocking(path: PathBuf) -> KvResult<Self> {
        let open = |flags| -> KvResult<Connection> {
            let conn = Connection::open_with_flags(&path, flags)
                .map_err(|e| io_error(&path, e.to_string()))?;
            conn.busy_timeout(BUSY_TIMEOUT).map_err(map_sqlite)?;
            Ok(conn)
        };
        let check = open(OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE)?;
        check_is_deno_kv(&check, &path)?;
        drop(check);
        let writer_path = path.clone();
        let writer = Sqlite::new(
            move || {
                let conn = Connection::open(&writer_path)
                    .map_err(|e| deno_error::JsErrorBox::generic(e.to_string()))?;
                Ok((conn, Box::new(rand::rngs::OsRng)))
            },
            SqliteNotifier::default(),
            SqliteConfig {
                num_workers: 1,
                batch_timeout: None,
            },
        )
        .map_err(|e| io_error(&path, e.to_string()))?;
        // After the writer has created the tables and switched to WAL.
        // Read-write flags, read-only use: a SQLITE_OPEN_READ_ONLY
        // connection cannot recover the WAL index and fails with SQLITE_BUSY
        // while another connection does.
        let readers = (0..READERS)
            .map(|_| {
                let reader = open(OpenFlags::SQLITE_OPEN_READ_WRITE)?;
                reader
                    .pragma_update(None, "query_only", true)
                    .map_err(map_sqlite)?;
                Ok(Mutex::new(reader))
            })
            .collect::<KvResult<Vec<_>>>()?;
        Ok(Self {
            path,
            writer,
            readers: readers.into(),
        })
    }

    /// Runs `f` on an idle read connection (or waits for the first one),
    /// off the async threads.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> KvResult<T> {
        let readers = Arc::clone(&self.readers);
        tokio::task::spawn_blocking(move || {
            // A poisoned lock only means a read panicked; the connection
            // itself is fine.
            let conn = readers
                .iter()
                .find_map(|reader| match reader.try_lock() {
                    Ok(conn) => Some(conn),
                    Err(TryLockError::Poisoned(e)) => Some(e.into_inner()),
                    Err(TryLockError::WouldBlock) => None,
                })
                .unwrap_or_else(|| readers[0].lock().unwrap_or_else(|e| e.into_inner()));
            f(&conn)
        })
        .await
        .map_err(|e| KvError::backend(BACKEND, e))?
        .map_err(map_sqlite)
    }
}

/// Refuses a database that holds tables but not Deno KV's.
fn check_is_deno_kv(conn: &Connection, path: &Path) -> KvResult<()> {
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .and_then(|mut stmt| stmt.query_map([], |row| row.get(0))?.collect())
        .map_err(|e| io_error(path, e.to_string()))?;
    let has = |name: &str| tables.iter().any(|t| t == name);
    if tables.is_empty() || (has("kv") && has("migration_state")) {
        Ok(())
    } else {
        Err(not_deno_kv(path, &tables))
    }
}

fn io_error(path: &Path, reason: String) -> KvError {
    KvError::Io {
        path: path.to_owned(),
        source: std::io::Error::other(reason),
    }
}

#[async_trait]
impl Backend for Local {
    fn reports_expiry(&self) -> bool {
        true
    }

    async fn get(&self, key: Vec<u8>) -> KvResult<Option<Row>> {
        self.read(move |conn| {
            conn.prepare_cached(GET)?
                .query_row([key], read_row)
                .optional()
        })
        .await?
        .transpose()
    }

    async fn range(&self, range: Range, limit: usize) -> KvResult<Page> {
        let (sql, at) = match range.which {
            Which::Live(at) => (LIVE, at),
            Which::Expired(at) => (EXPIRED, at),
        };
        let sql_limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .read(move |conn| {
                conn.prepare_cached(sql)?
                    .query_map(
                        rusqlite::params![range.start, range.end, at.timestamp_millis(), sql_limit],
                        read_row,
                    )?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .await?;
        let rows = rows.into_iter().collect::<KvResult<Vec<_>>>()?;
        let rest = rest_after(&rows, limit);
        Ok(Page { rows, rest })
    }

    /// Page by page over the file's own expiry column.
    async fn sweep(&self) -> KvResult<u64> {
        super::list::sweep(self).await
    }

    /// `denokv_sqlite` retries a busy database itself, except inside a
    /// write with checks: its transaction reads first, and when another
    /// connection (another store or process on the file) commits meanwhile,
    /// SQLite refuses the upgrade to a write at once. Nothing was written
    /// then, so the write is sent again, for up to [`BUSY_TIMEOUT`].
    async fn write(&self, write: &Write) -> KvResult<bool> {
        let deadline = tokio::time::Instant::now() + BUSY_TIMEOUT;
        loop {
            match self.writer.atomic_write(write.to_atomic()).await {
                Ok(AtomicWriteOutcome::Committed(_)) => return Ok(true),
                Ok(AtomicWriteOutcome::CheckFailed { .. }) => return Ok(false),
                Err(e) if is_busy(&e) && tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(BUSY_RETRY_PAUSE).await;
                }
                Err(e) => return Err(map_backend(e)),
            }
        }
    }
}

/// A row of `kv`; the inner error is a value encoding this version of Deno
/// KV does not know.
fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<KvResult<Row>> {
    let key: Vec<u8> = row.get(0)?;
    let encoding: i64 = row.get(2)?;
    let version: i64 = row.get(3)?;
    let expiration_ms: i64 = row.get(4)?;
    let bytes: Vec<u8> = row.get(1)?;
    // decode_value panics on a little-endian u64 that is not 8 bytes long.
    let value = if encoding == VALUE_ENCODING_LE64 && bytes.len() != 8 {
        None
    } else {
        decode_value(bytes, encoding)
    };
    let Some(value) = value else {
        return Ok(Err(KvError::Corrupt {
            key: super::codec::key::describe(&key),
            reason: format!("unknown Deno KV value encoding {encoding}"),
        }));
    };
    Ok(Ok(Row {
        key,
        value,
        versionstamp: versionstamp(version),
        expires_at: (expiration_ms >= 0)
            .then(|| DateTime::<Utc>::from_timestamp_millis(expiration_ms))
            .flatten(),
    }))
}

/// The versionstamp of a `kv.version`, as `denokv_sqlite` computes it (the
/// version big-endian, then two zero bytes), so that checks built from these
/// reads compare equal.
fn versionstamp(version: i64) -> Versionstamp {
    let mut stamp = [0; 10];
    stamp[..8].copy_from_slice(&version.to_be_bytes());
    stamp
}
