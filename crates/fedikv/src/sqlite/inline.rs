//! [`InlineReaders`]: read-only connections used on the caller's own thread
//! for point reads.
//!
//! A primary-key `SELECT` takes microseconds, less than handing it to a
//! reader thread and waking the caller again (two thread wake-ups, each tens
//! of microseconds on an idle machine). So `get` first tries to borrow one of
//! these connections without waiting and reads inline; when all are in use,
//! or the read fails in any way (busy database, missing table, ...), it falls
//! back to the reader threads, which wait, recreate the table and report
//! errors. Their busy timeout is short so that an inline read never blocks
//! the async executor for long.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::conn::{Db, Location, Role};
use super::schema::Sql;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lends_idle_connections_and_reports_none_when_all_are_busy() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::new(&dir.path().join("kv.sqlite3"));
        let sql = Arc::new(Sql::new("fedify_kv"));
        let writer = Db::open(
            &location,
            Role::Writer,
            INLINE_BUSY_TIMEOUT,
            Arc::clone(&sql),
        )
        .unwrap();
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
    fn no_connections_without_a_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::new(&dir.path().join("missing.sqlite3"));
        let inline = InlineReaders::open(&location, &Arc::new(Sql::new("fedify_kv")), 2);
        assert!(inline.with(|_| ()).is_none());
    }
}
