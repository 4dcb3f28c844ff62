//! The jobs callers send to the worker threads, and how a connection answers
//! a read.

use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;

use crate::jsonkey::JsonKeyRange;

use super::codec::RawPage;
use super::conn::{Db, PageQuery, now_ms};
use super::error::Failure;

/// Where a worker sends its answer.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, Failure>>;

/// Where a caller waits for a worker's answer.
pub(crate) type Answer<T> = oneshot::Receiver<Result<T, Failure>>;

/// A read, served by a reader thread (or by the writer when there are none).
#[derive(Debug)]
pub(crate) enum Read {
    /// The live value text of a key text.
    Get {
        key: String,
        reply: Reply<Option<String>>,
    },
    /// One page of a listing.
    Page {
        query: PageQuery,
        reply: Reply<RawPage>,
    },
    /// How many rows under a prefix (all for `None`) have expired.
    CountExpired {
        range: Option<JsonKeyRange>,
        reply: Reply<u64>,
    },
}

/// A write, applied by the writer thread.
#[derive(Debug)]
pub(crate) enum Write {
    /// Upsert of a key text with a value's JSON text.
    Set {
        key: String,
        value: String,
        ttl: Option<Duration>,
        reply: Reply<()>,
    },
    /// Delete of a key text.
    Delete { key: String, reply: Reply<()> },
    /// Delete of a row by its raw key ([`Db::delete_raw`]); answers whether
    /// there was one.
    DeleteRaw { key: String, reply: Reply<bool> },
    /// Compare-and-swap; `new` is JSON text, `None` deletes.
    Cas {
        key: String,
        expected: Option<Value>,
        new: Option<String>,
        ttl: Option<Duration>,
        reply: Reply<bool>,
    },
    /// One sweep batch; answers the rows removed.
    Sweep { reply: Reply<u64> },
    /// Create the table and index if missing.
    Initialize { reply: Reply<()> },
    /// Drop the table.
    DropTable { reply: Reply<()> },
}

/// A job of the writer's queue.
#[derive(Debug)]
pub(crate) enum Job {
    Read(Read),
    Write(Write),
    /// Finish copying the WAL into the database file (the checkpointer did
    /// most of it), so that the next write starts the WAL over.
    Checkpoint,
}

/// Answers a read.
pub(crate) fn serve(db: &Db, read: Read) {
    // A caller that gave up no longer listens: nothing to do.
    match read {
        Read::Get { key, reply } => drop(reply.send(db.get(&key, now_ms()))),
        Read::Page { query, reply } => drop(reply.send(db.page(&query))),
        Read::CountExpired { range, reply } => {
            drop(reply.send(db.count_expired(range.as_ref()).map_err(Failure::from)))
        }
    }
}
