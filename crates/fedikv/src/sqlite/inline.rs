//! [`InlineReaders`]: read-only connections used on the caller's own thread
//! for point reads; [`InlineWriter`]: the same for a lone write.
//!
//! A primary-key `SELECT` takes microseconds, less than handing it to a
//! reader thread and waking the caller again (two thread wake-ups, each tens
//! of microseconds on an idle machine). So `get` first tries to borrow one of
//! these connections without waiting and reads inline; when all are in use,
//! or the read fails in any way (busy database, missing table, ...), it falls
//! back to the reader threads, which wait, recreate the table and report
//! errors. A `list` reads its first page the same way (the following pages
//! are read ahead by the reader threads while the caller decodes). Their busy timeout is short so that an inline read never blocks
//! the async executor for long.
//!
//! Writes work alike (see `Workers::write_inline`): when the writer thread
//! is idle with nothing queued, `set`, `delete` and `cas` run on the
//! caller's thread through one extra read-write connection, borrowed without
//! waiting, in their own `BEGIN IMMEDIATE` transaction: SQLite's write lock
//! serializes them against the writer thread, sweeps and other processes,
//! and a `cas` reads and writes inside it. Anything else (connection in use,
//! database busy for more than the short busy timeout, missing table, any
//! error) rolls back, so nothing is written, and the write goes to the
//! writer's queue as usual, which waits, recreates the table and reports
//! errors. Concurrent writes thus still share the writer's group commits.
//! The connection never checkpoints (`wal_autocheckpoint=0`): the
//! checkpointer thread does (writes stop going inline should it die), so an
//! inline commit never waits for an `fsync` (`synchronous=NORMAL` syncs the
//! WAL only at checkpoints). No inline write starts while an automatic
//! sweep is due, so that the writer thread, which sweeps after writes, gets
//! the next ones.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::conn::{Db, Location, Role};
use super::error::Failure;
use super::sql::Sql;

/// Inline connections of a store with reader threads.
pub(crate) const INLINE_READERS: usize = 2;

/// How long an inline read waits for a lock before falling back.
const INLINE_BUSY_TIMEOUT: Duration = Duration::from_millis(2);

/// A small stack of idle read-only connections.
#[derive(Debug, Default)]
pub(crate) struct InlineReaders {
    idle: Mutex<Vec<Db>>,
}

impl InlineReaders {
    /// Opens `count` read-only connections to `location`; none if they
    /// cannot be opened (reads then all go to the reader threads).
    pub(crate) fn open(location: &Location, sql: &Arc<Sql>, count: usize) -> Self {
        let idle = (0..count)
            .map_while(|_| {
                Db::open(location, Role::Reader, INLINE_BUSY_TIMEOUT, Arc::clone(sql)).ok()
            })
            .collect();
        Self {
            idle: Mutex::new(idle),
        }
    }

    /// Runs `read` on an idle connection, or returns `None` when none is
    /// idle right now.
    pub(crate) fn with<T>(&self, read: impl FnOnce(&Db) -> T) -> Option<T> {
        let db = self.idle.try_lock().ok()?.pop()?;
        let result = read(&db);
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(db);
        }
        Some(result)
    }
}

/// The read-write connection of inline writes, if one could be opened.
#[derive(Debug, Default)]
pub(crate) struct InlineWriter {
    conn: Mutex<Option<Db>>,
}

impl InlineWriter {
    /// Opens the connection to a database file. None for an in-memory
    /// database (another connection would see another database) or when it
    /// cannot be opened (writes then all go to the writer thread).
    pub(crate) fn install(&self, location: &Location, sql: &Arc<Sql>) {
        if !matches!(location, Location::File(_)) {
            return;
        }
        let db = Db::open(
            location,
            Role::InlineWriter,
            INLINE_BUSY_TIMEOUT,
            Arc::clone(sql),
        );
        if let (Ok(db), Ok(mut conn)) = (db, self.conn.lock()) {
            *conn = Some(db);
        }
    }

    /// Closes the connection; later writes go to the writer thread.
    pub(crate) fn close(&self) {
        // Taken out before it is dropped, outside the lock.
        let db = self.conn.lock().ok().and_then(|mut conn| conn.take());
        drop(db);
    }

    /// Runs `write` in its own `BEGIN IMMEDIATE` transaction and commits
    /// it. `None`, with nothing written, when the connection is in use (or
    /// missing), or beginning, `write` or the commit fails.
    pub(crate) fn try_write<T>(&self, write: impl FnOnce(&Db) -> Result<T, Failure>) -> Option<T> {
        let conn = self.conn.try_lock().ok()?;
        let db = conn.as_ref()?;
        db.begin().ok()?;
        match write(db) {
            Ok(done) => db.commit().ok().map(|()| done),
            Err(_) => {
                db.rollback();
                None
            }
        }
    }

    /// Waits until no inline write is running (the writer thread, before it
    /// begins a transaction: cheaper than SQLite's sleeping busy handler).
    pub(crate) fn wait_idle(&self) {
        drop(self.conn.lock());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database file in `dir`, its statements, and its writer connection
    /// waiting `busy_timeout` for locks.
    fn database(dir: &tempfile::TempDir, busy_timeout: Duration) -> (Location, Arc<Sql>, Db) {
        let location = Location::new(&dir.path().join("kv.sqlite3"));
        let sql = Arc::new(Sql::new("fedify_kv"));
        let writer = Db::open(&location, Role::Writer, busy_timeout, Arc::clone(&sql)).unwrap();
        (location, sql, writer)
    }

    #[test]
    fn lends_idle_connections_and_reports_none_when_all_are_busy() {
        let dir = tempfile::tempdir().unwrap();
        let (location, sql, writer) = database(&dir, INLINE_BUSY_TIMEOUT);
        writer.create_schema().unwrap();
        let inline = InlineReaders::open(&location, &sql, 2);
        // Both connections read; while both are lent out, a third borrower
        // gets None (and would go to the reader threads).
        let nested = inline.with(|a| {
            inline.with(|b| {
                let third = inline.with(|_| ());
                (
                    a.get("[\"k\"]", 0).unwrap(),
                    b.get("[\"k\"]", 0).unwrap(),
                    third,
                )
            })
        });
        assert_eq!(nested, Some(Some((None, None, None))));
        // They are back afterwards.
        assert!(inline.with(|_| ()).is_some());
    }

    #[test]
    fn writes_inline_when_free_and_falls_back_when_busy_or_locked() {
        let dir = tempfile::tempdir().unwrap();
        let (location, sql, writer) = database(&dir, Duration::from_secs(5));
        let inline = InlineWriter::default();
        inline.install(&location, &sql);
        let set = |db: &Db, value: &str| Ok(db.upsert("[\"k\"]", value, 0, None)?);

        // A missing table: rolled back, nothing created.
        assert_eq!(inline.try_write(|db| set(db, "1")), None);
        writer.create_schema().unwrap();

        // Free: runs and commits, visible to another connection.
        assert_eq!(inline.try_write(|db| set(db, "1")), Some(()));
        assert_eq!(writer.get("[\"k\"]", 0).unwrap().as_deref(), Some("1"));

        // In use by another inline write: falls back at once.
        let nested = inline.try_write(|db| {
            set(db, "2")?;
            Ok(inline.try_write(|db| set(db, "3")))
        });
        assert_eq!(nested, Some(None));
        assert_eq!(writer.get("[\"k\"]", 0).unwrap().as_deref(), Some("2"));

        // Another connection holds the write lock: falls back after the
        // short busy timeout, and writes nothing.
        writer.begin().unwrap();
        assert_eq!(inline.try_write(|db| set(db, "4")), None);
        writer.commit().unwrap();
        assert_eq!(writer.get("[\"k\"]", 0).unwrap().as_deref(), Some("2"));

        // A failing write rolls back what it did before failing.
        let failed: Option<()> = inline.try_write(|db| {
            set(db, "5")?;
            Err(Failure::MissingTable)
        });
        assert_eq!(failed, None);
        assert_eq!(writer.get("[\"k\"]", 0).unwrap().as_deref(), Some("2"));

        // Closed: every write falls back.
        inline.close();
        assert_eq!(inline.try_write(|db| set(db, "6")), None);
    }

    #[test]
    fn no_inline_writer_for_an_in_memory_database() {
        let inline = InlineWriter::default();
        inline.install(&Location::Memory, &Arc::new(Sql::new("fedify_kv")));
        assert_eq!(inline.try_write(|_| Ok(())), None);
    }

    #[test]
    fn no_connections_without_a_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::new(&dir.path().join("missing.sqlite3"));
        let inline = InlineReaders::open(&location, &Arc::new(Sql::new("fedify_kv")), 2);
        assert!(inline.with(|_| ()).is_none());
    }
}
