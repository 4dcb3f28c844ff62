//! [`Db`]: one SQLite connection of a worker thread and the synchronous
//! operations it runs. Every statement goes through the connection's prepared
//! statement cache.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, OpenFlags};
use serde_json::Value;

use crate::error::{KvError, KvResult};
use crate::json::current_matches;
use crate::jsonkey::JsonKeyRange;
use crate::key::KvKey;

use super::codec::{RawPage, blob_of_raw_key, decode_value, raw_key, text};
use super::error::{BACKEND, Failure, map_open};
use super::sql::Sql;

/// Where the database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// A database file, created if missing.
    File(PathBuf),
    /// A private in-memory database (`:memory:`), served by the writer
    /// connection alone.
    Memory,
}

impl Location {
    /// `:memory:` or a file path.
    pub(crate) fn new(path: &Path) -> Self {
        if path.as_os_str() == ":memory:" {
            Self::Memory
        } else {
            Self::File(path.to_owned())
        }
    }

    /// The path as given, for messages.
    pub(crate) fn path(&self) -> &Path {
        match self {
            Self::File(path) => path,
            Self::Memory => Path::new(":memory:"),
        }
    }
}

/// What a connection is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The one connection that writes: creates the file, switches it to WAL.
    Writer,
    /// A read-only connection (`query_only`) of a reader thread.
    Reader,
    /// The connection that copies the WAL into the database file.
    Checkpointer,
    /// The read-write connection of inline writes (on callers' threads): it
    /// never checkpoints, so a commit never waits for an `fsync`.
    InlineWriter,
}

/// WAL pages at which the writer checkpoints by itself, should the
/// checkpointer thread fall behind (SQLite's default is 1000, which puts a
/// checkpoint with two `fsync`s on the write path every few hundred writes).
const WRITER_CHECKPOINT_PAGES: i64 = 10_000;

/// Size the WAL file is cut back to when it starts over (SQLite keeps it at
/// its largest size otherwise).
const WAL_SIZE_LIMIT: i64 = 64 << 20;

/// A page of [`Db::page`].
#[derive(Debug, Clone)]
pub(crate) struct PageQuery {
    /// Exclusive lower bound: the key the previous page ended with (text,
    /// or whatever another program stored in the key column).
    pub after: SqlValue,
    /// The prefix's range, or `None` for every entry.
    pub range: Option<Arc<JsonKeyRange>>,
    /// Maximum rows.
    pub limit: usize,
}

impl PageQuery {
    /// The first page of `prefix` (or of everything).
    pub(crate) fn first(prefix: Option<&KvKey>, limit: usize) -> Self {
        match prefix {
            None => Self {
                // Every key is JSON array text, greater than "".
                after: SqlValue::Text(String::new()),
                range: None,
                limit,
            },
            Some(prefix) => {
                let range = JsonKeyRange::new(prefix);
                // The prefix's text without its closing `]`: smaller than
                // the prefix's own key and than each of its children.
                let mut after = range.exact.clone();
                after.pop();
                Self {
                    after: SqlValue::Text(after),
                    range: Some(Arc::new(range)),
                    limit,
                }
            }
        }
    }
}

/// Milliseconds since the Unix epoch by this machine's clock, as Fedify's
/// `Temporal.Now.instant().epochMilliseconds`.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `expires` of a write at `now` with `ttl` (`None`: never).
fn expires_at(now: i64, ttl: Option<Duration>) -> Option<i64> {
    ttl.map(|ttl| now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)))
}

/// A connection and its table's statements.
#[derive(Debug)]
pub(crate) struct Db {
    conn: Connection,
    sql: Arc<Sql>,
}

impl Db {
    /// Opens a connection for `role`: WAL and `synchronous=NORMAL` (the
    /// writer sets WAL on the file; it persists), the busy timeout,
    /// `query_only` for readers and no automatic checkpoints for the inline
    /// writer.
    pub(crate) fn open(
        location: &Location,
        role: Role,
        busy_timeout: Duration,
        sql: Arc<Sql>,
    ) -> KvResult<Self> {
        let path = location.path();
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if role == Role::Writer {
            check_path(location)?;
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(path, flags).map_err(|e| map_open(path, e))?;
        let setup = || -> rusqlite::Result<()> {
            conn.busy_timeout(busy_timeout)?;
            match role {
                Role::Writer => {
                    // Returns the new mode: "wal", or "memory" for :memory:.
                    conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
                    if matches!(location, Location::File(_)) {
                        conn.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)?;
                        conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
                    }
                }
                Role::Reader => conn.pragma_update(None, "query_only", true)?,
                Role::Checkpointer => {}
                Role::InlineWriter => {
                    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
                    // Its commits may start the WAL over too.
                    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
                }
            }
            conn.pragma_update(None, "synchronous", "NORMAL")
        };
        setup().map_err(|e| map_open(path, e))?;
        Ok(Self { conn, sql })
    }

    /// Begins a write transaction, taking the database's write lock now
    /// (waiting up to the busy timeout for other processes).
    pub(crate) fn begin(&self) -> rusqlite::Result<()> {
        self.conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        Ok(())
    }

    /// Commits the open transaction; on failure rolls it back if SQLite did
    /// not already.
    pub(crate) fn commit(&self) -> rusqlite::Result<()> {
        let result = self
            .conn
            .prepare_cached("COMMIT")
            .and_then(|mut s| s.execute([]));
        if result.is_err() {
            self.rollback();
        }
        result.map(drop)
    }

    /// Rolls back the open transaction, if SQLite did not already. A failed
    /// rollback leaves nothing to do: SQLite rolls back on its own then.
    pub(crate) fn rollback(&self) {
        if self.in_transaction() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }

    /// Whether a transaction is open (SQLite rolls one back by itself after
    /// some errors, e.g. a full disk).
    pub(crate) fn in_transaction(&self) -> bool {
        !self.conn.is_autocommit()
    }

    /// Creates the table and its index if missing, in one transaction unless
    /// one is open already.
    pub(crate) fn create_schema(&self) -> rusqlite::Result<()> {
        if self.in_transaction() {
            self.conn.execute_batch(&self.sql.create_table)?;
            self.conn.execute_batch(&self.sql.create_index)
        } else {
            self.begin()?;
            let result = self.create_schema();
            match result {
                Ok(()) => self.commit(),
                Err(e) => {
                    self.rollback();
                    Err(e)
                }
            }
        }
    }

    /// Copies committed WAL frames into the database file without blocking
    /// the writer or readers (`PRAGMA wal_checkpoint(PASSIVE)`). Returns the
    /// frames in the WAL.
    pub(crate) fn checkpoint(&self) -> rusqlite::Result<i64> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))
    }

    /// Drops the table (and so its index) if it exists.
    pub(crate) fn drop_table(&self) -> rusqlite::Result<()> {
        self.conn.execute_batch(&self.sql.drop_table)
    }

    /// The live value text of key text `key` at `now`.
    pub(crate) fn get(&self, key: &str, now: i64) -> Result<Option<String>, Failure> {
        self.get_with(key, now, str::to_owned)
    }

    /// `read` of the live value text of key text `key` at `now`, borrowed
    /// from SQLite's row: decoding it there spares a copy of the text.
    pub(crate) fn get_with<T>(
        &self,
        key: &str,
        now: i64,
        read: impl FnOnce(&str) -> T,
    ) -> Result<Option<T>, Failure> {
        let mut stmt = self.conn.prepare_cached(&self.sql.get)?;
        let mut rows = stmt.query((key, now))?;
        match rows.next()? {
            None => Ok(None),
            Some(row) => Ok(Some(read(text(key, row.get_ref(0)?)?))),
        }
    }

    /// One page of live rows in key text order, until it is
    /// [full](RawPage::is_full).
    pub(crate) fn page(&self, query: &PageQuery) -> Result<RawPage, Failure> {
        let now = now_ms();
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        let mut page = RawPage::at(now);
        // Whether the page is full after this row. A row another program
        // wrote with columns of the wrong types is kept as unreadable, to be
        // reported in its place (rule V5).
        let mut push = |row: &rusqlite::Row<'_>| -> Result<bool, Failure> {
            let key_ref = row.get_ref(0)?;
            let Ok(key) = key_ref.as_str() else {
                let reason = format!(
                    "the key column holds {} instead of text",
                    key_ref.data_type()
                );
                page.push_unreadable(&raw_key(key_ref), reason, SqlValue::try_from(key_ref).ok());
                return Ok(page.is_full(query.limit));
            };
            let (value, expires) = (row.get_ref(1)?, row.get_ref(2)?);
            match text(key, value).and_then(|value| Ok((value, expires_ms(key, expires)?))) {
                Ok((value, expires)) => page.push(key, value, expires),
                Err(KvError::Corrupt { reason, .. }) => page.push_unreadable(key, reason, None),
                Err(other) => page.push_unreadable(key, other.to_string(), None),
            }
            Ok(page.is_full(query.limit))
        };
        match &query.range {
            None => {
                let mut stmt = self.conn.prepare_cached(&self.sql.list_all)?;
                let mut rows = stmt.query((&query.after, now, limit))?;
                while let Some(row) = rows.next()? {
                    if push(row)? {
                        break;
                    }
                }
            }
            Some(range) => {
                let mut stmt = self.conn.prepare_cached(&self.sql.list_prefix)?;
                let mut rows = stmt.query((
                    &query.after,
                    &range.exact,
                    &range.children_from,
                    &range.children_to,
                    now,
                    limit,
                ))?;
                while let Some(row) = rows.next()? {
                    if push(row)? {
                        break;
                    }
                }
            }
        }
        Ok(page)
    }

    /// How many rows under `range` (all for `None`) have expired by now.
    pub(crate) fn count_expired(&self, range: Option<&JsonKeyRange>) -> rusqlite::Result<u64> {
        let now = now_ms();
        let count: i64 = match range {
            None => self
                .conn
                .prepare_cached(&self.sql.count_expired_all)?
                .query_row([now], |row| row.get(0))?,
            Some(r) => self
                .conn
                .prepare_cached(&self.sql.count_expired_prefix)?
                .query_row((&r.exact, &r.children_from, &r.children_to, now), |row| {
                    row.get(0)
                })?,
        };
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Fedify's upsert at `now`: a new row gets `created = now`, an existing
    /// one keeps its `created`.
    pub(crate) fn upsert(
        &self,
        key: &str,
        value: &str,
        now: i64,
        ttl: Option<Duration>,
    ) -> rusqlite::Result<()> {
        let mut upsert = self.conn.prepare_cached(&self.sql.upsert)?;
        bind_upsert(&mut upsert, key, value, now, ttl)?;
        upsert.raw_execute().map(drop)
    }

    /// [`upsert`](Self::upsert) of value text handed over in `value`. Text
    /// above [`HANDED_OVER_BYTES`] is dropped as soon as it is bound
    /// (rusqlite binds text as `SQLITE_TRANSIENT`: SQLite copies it), before
    /// the statement runs, so that a huge value is held twice at most
    /// (SQLite's copy and the record it builds), not three times; smaller
    /// text is kept until the statement ran. `value` is left in place when
    /// the statement cannot be prepared (a missing table), for the retry
    /// after the table is created; a large value whose table disappears
    /// while its statement runs is gone, and the write fails saying so.
    pub(crate) fn upsert_owned(
        &self,
        key: &str,
        value: &mut Option<String>,
        now: i64,
        ttl: Option<Duration>,
    ) -> Result<(), Failure> {
        let mut upsert = self.conn.prepare_cached(&self.sql.upsert)?;
        let Some(text) = value.as_deref() else {
            return Err(Failure::Kv(KvError::backend(
                BACKEND,
                "the table disappeared while a large value was being written, after SQLite took its copy; is another program dropping it? Write the value again",
            )));
        };
        bind_upsert(&mut upsert, key, text, now, ttl)?;
        if text.len() > HANDED_OVER_BYTES {
            *value = None;
        }
        upsert.raw_execute()?;
        Ok(())
    }

    /// Deletes key text `key` (nothing if absent).
    pub(crate) fn delete(&self, key: &str) -> rusqlite::Result<()> {
        self.conn.prepare_cached(&self.sql.delete)?.execute([key])?;
        Ok(())
    }

    /// Deletes the row whose key column holds the text `raw`, or else the
    /// blob `raw` names in SQLite's `X'4142'` form (a key another program
    /// stored as a blob); whether a row was deleted.
    pub(crate) fn delete_raw(&self, raw: &str) -> rusqlite::Result<bool> {
        let mut stmt = self.conn.prepare_cached(&self.sql.delete)?;
        let mut deleted = stmt.execute([raw])?;
        if deleted == 0
            && let Some(blob) = blob_of_raw_key(raw)
        {
            deleted = stmt.execute([blob])?;
        }
        Ok(deleted > 0)
    }

    /// Compare-and-swap; must run inside a write transaction so that the read
    /// and the write see the same row.
    pub(crate) fn cas(
        &self,
        key: &str,
        expected: Option<&Value>,
        new: Option<&str>,
        ttl: Option<Duration>,
    ) -> Result<bool, Failure> {
        let now = now_ms();
        let current = match self.get(key, now)? {
            Some(text) => Some(decode_value(key, &text)?),
            None => None,
        };
        if !current_matches(current, expected) {
            return Ok(false);
        }
        match new {
            Some(value) => self.upsert(key, value, now, ttl)?,
            None => self.delete(key)?,
        }
        Ok(true)
    }

    /// Deletes at most `batch` rows expired now, through the `expires` index.
    pub(crate) fn sweep(&self, batch: usize) -> rusqlite::Result<u64> {
        let batch = i64::try_from(batch).unwrap_or(i64::MAX);
        let n = self
            .conn
            .prepare_cached(&self.sql.sweep)?
            .execute((now_ms(), batch))?;
        Ok(n as u64)
    }
}

/// Value text above this size that a write hands over is dropped once
/// SQLite holds its copy (see [`Db::upsert_owned`]); smaller text may also
/// be written inline, borrowed until its statement ran.
pub(crate) const HANDED_OVER_BYTES: usize = 1 << 20;

/// Binds Fedify's upsert parameters (key, value, now, expiry) to `upsert`.
fn bind_upsert(
    upsert: &mut rusqlite::Statement<'_>,
    key: &str,
    value: &str,
    now: i64,
    ttl: Option<Duration>,
) -> rusqlite::Result<()> {
    upsert.raw_bind_parameter(1, key)?;
    upsert.raw_bind_parameter(2, value)?;
    upsert.raw_bind_parameter(3, now)?;
    upsert.raw_bind_parameter(4, expires_at(now, ttl))
}

/// A row's `expires` in epoch ms: an integer, NULL, or the fractional
/// milliseconds JavaScript TTLs may give (rounded up, so a live row stays
/// live); anything else is [`KvError::Corrupt`].
fn expires_ms(key: &str, column: ValueRef<'_>) -> Result<Option<i64>, KvError> {
    match column {
        ValueRef::Null => Ok(None),
        ValueRef::Integer(ms) => Ok(Some(ms)),
        // `as` saturates: a NaN or infinite expiry becomes 0 or i64::MAX.
        ValueRef::Real(ms) => Ok(Some(ms.ceil() as i64)),
        other => Err(KvError::Corrupt {
            key: key.to_owned(),
            reason: format!(
                "the expires column holds {} instead of a number",
                other.data_type()
            ),
        }),
    }
}

/// Refuses a directory, or a file in a directory that does not exist, with
/// an error naming the path (SQLite would only say "unable to open").
fn check_path(location: &Location) -> KvResult<()> {
    let Location::File(path) = location else {
        return Ok(());
    };
    let fail = |kind: std::io::ErrorKind, message: String| KvError::Io {
        path: path.clone(),
        source: std::io::Error::new(kind, message),
    };
    if path.as_os_str().is_empty() {
        return Err(fail(
            std::io::ErrorKind::InvalidInput,
            "empty path; name a database file, or use :memory:".into(),
        ));
    }
    if path.is_dir() {
        return Err(fail(
            std::io::ErrorKind::IsADirectory,
            "this is a directory; name a database file inside it".into(),
        ));
    }
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => Err(fail(
            std::io::ErrorKind::NotFound,
            format!(
                "directory {} does not exist; create it first",
                dir.display()
            ),
        )),
        _ => Ok(()),
    }
}
