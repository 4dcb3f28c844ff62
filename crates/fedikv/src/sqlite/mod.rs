//! [`SqliteKvStore`]: Fedify's `SqliteKvStore` layout in a SQLite file,
//! through `rusqlite` (feature `sqlite`, on by default).
//!
//! # Layout (shared with Fedify's `@fedify/sqlite`)
//!
//! ```sql
//! CREATE TABLE IF NOT EXISTS "fedify_kv" (
//!   key TEXT PRIMARY KEY,       -- KvKey::to_json(): JSON.stringify(key)
//!   value TEXT NOT NULL,        -- compact JSON text
//!   created INTEGER NOT NULL,   -- epoch ms of the first write, kept on update
//!   expires INTEGER             -- epoch ms (client clock), NULL = never
//! );
//! CREATE INDEX IF NOT EXISTS "idx_fedify_kv_expires" ON "fedify_kv" (expires);
//! ```
//!
//! The DDL text is Fedify's own, so `sqlite_master` is identical whichever
//! program created the table. A row is live iff
//! `expires IS NULL OR expires > now`, with `now` in epoch milliseconds by
//! this machine's clock, as Fedify does. Writes are Fedify's upsert
//! (`created` kept on update, `expires` replaced). The file is put in WAL
//! mode; connections use `synchronous=NORMAL`.
//!
//! # Threads
//!
//! `get` first reads inline, on the calling task's thread, through one of
//! two extra read-only connections when one is idle (a primary-key lookup
//! takes microseconds, less than two thread hand-offs); see `inline.rs`.
//! Likewise `set`, `delete` and `cas` run inline, through one extra
//! read-write connection in their own `BEGIN IMMEDIATE` transaction, when
//! the writer thread is idle with nothing queued, no automatic sweep is due
//! and no other inline write holds that connection. Everything else, and an
//! inline operation that fails in any way (nothing is written then), goes to
//! the threads.
//!
//! One writer thread owns the main writing connection; reader threads
//! ([`SqliteOptions::readers`]) own one connection each, so reads neither
//! queue behind each other nor behind writes. The writer takes whatever
//! writes are queued (up to 64) and applies them in one `BEGIN IMMEDIATE`
//! transaction (group commit), in order, answering each after the commit:
//! every write still succeeds or fails on its own, and a success is durable
//! as far as `synchronous=NORMAL` goes. Other processes (Fedify) may use the
//! same file: they wait for each other through SQLite's locks, up to
//! [`SqliteOptions::busy_timeout`]. A checkpointer thread copies the WAL
//! into the database file in the background, so writes do not wait for
//! checkpoints and their `fsync`s (the WAL stays bounded, see
//! `checkpoint.rs`). Dropping the last handle (and the last stream of
//! [`KvStore::list`]) lets the threads finish the queued work and close
//! their connections, the writer last, which folds the WAL into the file.
//! A thread that dies makes the operations it should serve fail with
//! [`KvError::Backend`]; none waits forever. A write whose caller stops
//! waiting for it (its future dropped) is still applied once queued.
//!
//! # Operations
//!
//! - `get`: one indexed lookup on a reader connection (inline or a reader
//!   thread's).
//! - `set`, `delete`: one statement, inline in its own transaction when the
//!   writer is idle, else on the writer in a group transaction. A caller's
//!   sequential writes keep their order: an inline write only starts once
//!   the writer has committed everything queued before it, and the
//!   database's write lock orders it against the writer's next group.
//! - `cas`: read, deep comparison ([`json_opt_eq`](crate::json_opt_eq)) and
//!   write inside one `BEGIN IMMEDIATE` transaction (the inline one or the
//!   writer's), so atomic against this process and every other one. An
//!   expired row is absent.
//! - `list`: keyset pages of 500 rows over one range of the primary
//!   key index, never `LIKE`: for prefix `P`, the keys whose text lies in
//!   `(JSON(P) minus "]", JSON(P)]`, keeping only `JSON(P)` itself and the
//!   children range (`["P",` ≤ key < `["P"-`). The order is the key's JSON
//!   text byte by byte (SQLite `BINARY`, Fedify's `ORDER BY key`), which is
//!   not component order: `["a","b","c"]` comes before `["a","b"]`, and
//!   children come before the prefix key itself. Pages are separate reads,
//!   so a listing is not a snapshot: entries written meanwhile may or may
//!   not appear, none appears twice. The next page is read while the caller
//!   consumes one; at most two are held. A row another program wrote that
//!   does not decode (key text that is not a JSON array of strings, value
//!   text that is not JSON, columns of other types) is one
//!   [`KvError::Corrupt`] in its place, naming the key column's text, and
//!   the listing goes on (rule V5);
//!   [`delete_raw`](KvStore::delete_raw) removes it by that text.
//! - The table is created at open ([`SqliteOptions::initialize`]), and again
//!   by any operation that finds it missing (after
//!   [`drop_table`](SqliteKvStore::drop_table), even by another process).
//! - Expired rows are deleted in batches of
//!   [`SweepPolicy::batch_size`](crate::SweepPolicy) through the `expires`
//!   index, after writes once per [`SweepPolicy`](crate::SweepPolicy)
//!   interval (and again after the next writes while batches come back full;
//!   writes go to the writer rather than inline while a sweep is due), or
//!   all of them by [`KvStore::sweep`].
//!
//! # Limits
//!
//! Keys and values up to [`MAX_TEXT_BYTES`] of JSON text, SQLite's default
//! length limit ([`KvError::KeyTooLong`], [`KvError::ValueTooLarge`], checked
//! before anything is sent to SQLite). TTLs count whole milliseconds.

mod checkpoint;
mod codec;
mod conn;
mod error;
mod inline;
mod jobs;
mod list;
pub(crate) mod options;
mod queue;
pub(crate) mod sql;
mod worker;
mod writer;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use crate::error::{KvError, KvResult};
use crate::json;
use crate::jsonkey::JsonKeyRange;
use crate::key::KvKey;
use crate::paging::into_entries;
use crate::store::{KvRecordStream, KvStore, KvStream, SetOptions};

pub use options::{DEFAULT_BUSY_TIMEOUT, DEFAULT_READERS, SqliteOptions};
pub use sql::{DEFAULT_TABLE, MAX_TABLE_NAME_LEN};

use conn::{Location, now_ms};
use error::{BACKEND, Failure};
use inline::{INLINE_READERS, InlineReaders};
use jobs::{Read, Reply, Write};
use sql::{Sql, validate_table_name};
use worker::{Config, Workers};

/// Longest key or value, in bytes of JSON text: SQLite's default
/// `SQLITE_MAX_LENGTH`.
pub const MAX_TEXT_BYTES: usize = 1_000_000_000;

/// A [`KvStore`] in a SQLite database with Fedify's layout (see the [module
/// docs](self)). Cheap to clone; clones share the threads and connections.
#[derive(Clone)]
pub struct SqliteKvStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// Declared before `workers` so these connections close before the
    /// writer's, which closes last and removes the WAL.
    inline: InlineReaders,
    workers: Workers,
    location: Location,
    options: SqliteOptions,
}

impl fmt::Debug for SqliteKvStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("SqliteKvStore")
            .field("path", &inner.location.path())
            .field("table", &inner.options.table)
            .field("readers", &inner.options.readers)
            .field("sweep", &inner.options.sweep)
            .finish_non_exhaustive()
    }
}

impl SqliteKvStore {
    /// Opens (creating if needed) the database file at `path` with the
    /// default [`SqliteOptions`]: table `fedify_kv`, created if missing.
    /// `":memory:"` opens a private in-memory database.
    ///
    /// Errors: [`KvError::Io`] when the file cannot be opened or created (a
    /// directory, a missing parent directory, no permission).
    pub async fn open(path: impl AsRef<Path>) -> KvResult<Self> {
        Self::open_with(path, SqliteOptions::default()).await
    }

    /// Opens the database file at `path` with `options`.
    ///
    /// Errors: [`KvError::InvalidName`] for a bad table name (checked before
    /// the file is touched), [`KvError::Io`] when the file cannot be opened
    /// or created, [`KvError::Unavailable`] when another process keeps the
    /// database locked longer than the busy timeout.
    pub async fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> KvResult<Self> {
        validate_table_name(&options.table)?;
        let location = Location::new(path.as_ref());
        let mut options = options;
        if location == Location::Memory {
            options.readers = 0;
        }
        let sql = Arc::new(Sql::new(&options.table));
        let workers = Workers::start(Config {
            location: location.clone(),
            sql: Arc::clone(&sql),
            busy_timeout: options.busy_timeout,
            sweep: options.sweep,
            readers: options.readers,
            initialize: options.initialize,
        })
        .await?;
        // After the writer has created the file and switched it to WAL.
        let inline = if options.readers > 0 {
            InlineReaders::open(&location, &sql, INLINE_READERS)
        } else {
            InlineReaders::default()
        };
        Ok(Self {
            inner: Arc::new(Inner {
                inline,
                workers,
                location,
                options,
            }),
        })
    }

    /// Opens a `sqlite:` URL: `sqlite:PATH`, `sqlite://PATH` (relative
    /// unless `PATH` starts with `/`), `sqlite:///abs/path`, or
    /// `sqlite::memory:`. The path is taken literally up to the first `?`.
    ///
    /// Query options: `table=` (default `fedify_kv`), `sweep=` (an interval
    /// such as `60s`, or `off`), `sweep_batch=` (rows per sweep statement),
    /// `readers=` (reader threads, default [`DEFAULT_READERS`]),
    /// `busy_timeout=` (e.g. `5s`), `initialize=` (`false`: do not create
    /// the table at open).
    ///
    /// Errors: [`KvError::InvalidUrl`] (an unknown option too),
    /// [`KvError::InvalidName`], then as [`open_with`](Self::open_with).
    pub async fn open_url(url: &str) -> KvResult<Self> {
        let (path, options) = options::parse_url(url)?;
        Self::open_with(path, options).await
    }

    /// The database path as given (`:memory:` for an in-memory database).
    pub fn path(&self) -> PathBuf {
        self.inner.location.path().to_owned()
    }

    /// The options the store runs with.
    pub fn options(&self) -> &SqliteOptions {
        &self.inner.options
    }

    /// Creates the table and its index unless they exist, in one transaction
    /// (idempotent; safe under concurrency, also with other processes).
    /// Opening the store and any operation that finds the table missing do
    /// this already.
    pub async fn initialize(&self) -> KvResult<()> {
        self.inner
            .workers
            .write(|reply| Write::Initialize { reply })
            .await
            .map_err(Failure::into_kv)
    }

    /// Drops the table and its index, with every entry (`DROP TABLE IF
    /// EXISTS`). The next operation, or [`initialize`](Self::initialize),
    /// creates them again.
    pub async fn drop_table(&self) -> KvResult<()> {
        self.inner
            .workers
            .write(|reply| Write::DropTable { reply })
            .await
            .map_err(Failure::into_kv)
    }

    /// A write on the writer thread (which recreates a missing table itself).
    async fn write<T>(&self, make: impl FnOnce(Reply<T>) -> Write) -> KvResult<T> {
        self.inner
            .workers
            .write(make)
            .await
            .map_err(Failure::into_kv)
    }

    /// A read; when the table is missing, creates it and reads again.
    async fn read<T>(&self, make: impl Fn(Reply<T>) -> Read) -> KvResult<T> {
        read(&self.inner, make).await
    }
}

/// [`SqliteKvStore::read`] on the shared state, for `list` streams.
async fn read<T>(inner: &Inner, make: impl Fn(Reply<T>) -> Read) -> KvResult<T> {
    match inner.workers.read(&make).await {
        Err(Failure::MissingTable) => {
            inner
                .workers
                .write(|reply| Write::Initialize { reply })
                .await
                .map_err(Failure::into_kv)?;
            inner.workers.read(make).await.map_err(Failure::into_kv)
        }
        result => result.map_err(Failure::into_kv),
    }
}

/// A key's JSON text, refused if longer than [`MAX_TEXT_BYTES`].
fn key_text(key: &KvKey) -> KvResult<String> {
    KvError::within_key_limit(BACKEND, key.to_json(), MAX_TEXT_BYTES, "bytes of JSON text")
}

/// A value's compact JSON text, refused if longer than [`MAX_TEXT_BYTES`].
fn value_text(value: &Value) -> KvResult<String> {
    KvError::within_value_limit(BACKEND, json::stringify(value), MAX_TEXT_BYTES)
}

#[async_trait]
impl KvStore for SqliteKvStore {
    async fn get(&self, key: &KvKey) -> KvResult<Option<Value>> {
        let key = key_text(key)?;
        // Inline reads run on this thread, so the value is decoded straight
        // from SQLite's row, without a copy of its text.
        let inline = self
            .inner
            .inline
            .with(|db| db.get_with(&key, now_ms(), |text| codec::decode_value(&key, text)));
        if let Some(Ok(value)) = inline {
            return value.transpose();
        }
        let text = self
            .read(|reply| Read::Get {
                key: key.clone(),
                reply,
            })
            .await?;
        text.map(|text| codec::decode_value(&key, &text))
            .transpose()
    }

    async fn set(&self, key: &KvKey, value: &Value, options: SetOptions) -> KvResult<()> {
        let key = key_text(key)?;
        let value = value_text(value)?;
        let inline = self
            .inner
            .workers
            .write_inline(|db| Ok(db.upsert(&key, &value, now_ms(), options.effective_ttl())?));
        if inline.is_some() {
            return Ok(());
        }
        self.write(|reply| Write::Set {
            key,
            value,
            ttl: options.effective_ttl(),
            reply,
        })
        .await
    }

    async fn delete(&self, key: &KvKey) -> KvResult<()> {
        let key = key_text(key)?;
        if self
            .inner
            .workers
            .write_inline(|db| Ok(db.delete(&key)?))
            .is_some()
        {
            return Ok(());
        }
        self.write(|reply| Write::Delete { key, reply }).await
    }

    async fn cas(
        &self,
        key: &KvKey,
        expected: Option<&Value>,
        new: Option<&Value>,
        options: SetOptions,
    ) -> KvResult<bool> {
        let key = key_text(key)?;
        let new = new.map(value_text).transpose()?;
        let inline = self
            .inner
            .workers
            .write_inline(|db| db.cas(&key, expected, new.as_deref(), options.effective_ttl()));
        if let Some(swapped) = inline {
            return Ok(swapped);
        }
        let expected = expected.cloned();
        self.write(|reply| Write::Cas {
            key,
            expected,
            new,
            ttl: options.effective_ttl(),
            reply,
        })
        .await
    }

    fn list(&self, prefix: Option<&KvKey>) -> KvStream {
        into_entries(self.scan(prefix))
    }

    fn scan(&self, prefix: Option<&KvKey>) -> KvRecordStream {
        list::stream(Arc::clone(&self.inner), prefix)
    }

    /// The raw key is the key column's text (a blob key, which only
    /// another program can store, in SQLite's `X'4142'` form).
    async fn delete_raw(&self, raw_key: &str) -> KvResult<bool> {
        let key = raw_key.to_owned();
        self.write(|reply| Write::DeleteRaw { key, reply }).await
    }

    async fn count_expired(&self, prefix: Option<&KvKey>) -> KvResult<u64> {
        let range = prefix.map(JsonKeyRange::new);
        self.read(|reply| Read::CountExpired {
            range: range.clone(),
            reply,
        })
        .await
    }

    async fn sweep(&self) -> KvResult<u64> {
        let batch = self.inner.options.sweep.batch_size.max(1) as u64;
        let mut total = 0;
        loop {
            let removed = self.write(|reply| Write::Sweep { reply }).await?;
            total += removed;
            if removed < batch {
                return Ok(total);
            }
        }
    }

    fn backend(&self) -> &'static str {
        BACKEND
    }
}
