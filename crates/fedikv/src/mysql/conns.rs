//! [`Conns`]: the connections a store keeps between operations.
//!
//! `mysql_async` hands every connection returned to its pool to a recycler
//! task; on a multi-thread runtime that wakes another worker thread for every
//! operation, which costs more than the query itself on a small machine. So
//! the store keeps a few idle connections itself and reuses the most recently
//! used one (its prepared statements are cached), taking one from the pool
//! only when none is kept.
//!
//! Safety rules:
//! - only a connection whose operation completed is kept ([`Lease::done`]); one
//!   dropped by a failed or cancelled operation goes back to the pool, which
//!   cleans it up or discards it, and so do all kept ones (after a server
//!   restart they are all broken; the pool checks them);
//! - while any task waits for the pool, connections go back to the pool, so
//!   waiters are never starved; at most `pool max - 1` are kept, so the pool
//!   always has one for others;
//! - a connection idle for [`MAX_IDLE`] goes back to the pool, which checks
//!   it before handing it out again (a background task returns them even if
//!   the store is not used, so `Pool::disconnect` does not wait long).

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mysql_async::{Conn, Pool};

/// How long a kept connection may idle before it goes back to the pool.
pub(crate) const MAX_IDLE: Duration = Duration::from_secs(1);

/// At most this many idle connections are kept.
const MAX_KEPT: usize = 4;

/// Idle connections kept by a store, in front of its pool. (No `Debug`: the
/// pool's would show the password.)
pub(crate) struct Conns {
    pool: Pool,
    cap: usize,
    idle: Mutex<Vec<(Conn, Instant)>>,
    /// Tasks waiting in `Pool::get_conn`.
    waiting: AtomicUsize,
}

/// A connection in use by one operation. Derefs to [`Conn`].
pub(crate) struct Lease<'a> {
    conn: Option<Conn>,
    conns: &'a Conns,
}

impl Conns {
    /// Keeps at most `pool_max - 1` (and at most 4) connections of `pool`.
    pub(crate) fn new(pool: Pool, pool_max: usize) -> Self {
        Self {
            pool,
            cap: pool_max.saturating_sub(1).min(MAX_KEPT),
            idle: Mutex::new(Vec::new()),
            waiting: AtomicUsize::new(0),
        }
    }

    /// The pool behind.
    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    // Conn has no invariant a panicking holder could break.
    fn lock(&self) -> MutexGuard<'_, Vec<(Conn, Instant)>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most recently used kept connection, or one from the pool.
    pub(crate) async fn get(&self) -> Result<Lease<'_>, mysql_async::Error> {
        let (kept, stale) = {
            let mut idle = self.lock();
            let fresh = idle
                .pop()
                .and_then(|(conn, since)| (since.elapsed() < MAX_IDLE).then_some(conn));
            // All others are older than the one just popped.
            let stale = if fresh.is_none() {
                std::mem::take(&mut *idle)
            } else {
                Vec::new()
            };
            (fresh, stale)
        };
        drop(stale);
        let conn = match kept {
            Some(conn) => conn,
            None => {
                let _waiting = Waiting::new(&self.waiting);
                self.pool.get_conn().await?
            }
        };
        Ok(Lease {
            conn: Some(conn),
            conns: self,
        })
    }

    /// Keeps `conn` unless someone waits for the pool or enough are kept.
    fn put(&self, conn: Conn) {
        if self.waiting.load(Ordering::Acquire) > 0 {
            return;
        }
        let mut idle = self.lock();
        if idle.len() < self.cap {
            idle.push((conn, Instant::now()));
        }
    }

    /// Returns the connections idle for [`MAX_IDLE`] to the pool.
    pub(crate) fn release_stale(&self) {
        let stale: Vec<_> = {
            let mut idle = self.lock();
            let keep = idle.partition_point(|(_, since)| since.elapsed() >= MAX_IDLE);
            idle.drain(..keep).collect()
        };
        drop(stale);
    }

    /// Returns every kept connection to the pool.
    pub(crate) fn release_all(&self) {
        let all = std::mem::take(&mut *self.lock());
        drop(all);
    }
}

/// Counts a task waiting for the pool, also if it is cancelled.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::AcqRel);
        Self(counter)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Lease<'_> {
    /// The operation completed: keep the connection for the next one.
    pub(crate) fn done(mut self) {
        if let Some(conn) = self.conn.take() {
            self.conns.put(conn);
        }
    }
}

impl Drop for Lease<'_> {
    /// A lease dropped before [`done`](Lease::done) belongs to a failed or
    /// cancelled operation: its connection goes back to the pool, and so do
    /// the kept ones, which the pool checks before reuse (after a server
    /// restart, they are all broken).
    fn drop(&mut self) {
        if self.conn.take().is_some() {
            self.conns.release_all();
        }
    }
}

impl Deref for Lease<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        // `conn` is only taken by `done`, which consumes the lease.
        self.conn.as_ref().expect("lease holds a connection")
    }
}

impl DerefMut for Lease<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("lease holds a connection")
    }
}
