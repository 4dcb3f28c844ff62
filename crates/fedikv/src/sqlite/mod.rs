//! [`SqliteKvStore`]: Fedify's `SqliteKvStore` layout in a SQLite file,
//! through `rusqlite` (feature `sqlite`, on by default).
//!
//! The layout is Fedify's (`docs/layouts.md`); how this backend works —
//! its statements, sweeping, limits and tests — is in `docs/backends.md`.

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
use crate::json::{self, JsonText};
use crate::jsonkey::JsonKeyRange;
use crate::key::KvKey;
use crate::paging::into_entries;
use crate::store::{KvRecordStream, KvStore, KvStream, SetOptions};
use crate::telemetry::{Op, Telemetry};

pub use options::{DEFAULT_BUSY_TIMEOUT, DEFAULT_READERS, SqliteOptions};
pub use sql::{DEFAULT_TABLE, MAX_TABLE_NAME_LEN};

use conn::{HANDED_OVER_BYTES, Location, now_ms};
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
    telemetry: Arc<Telemetry>,
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
        let telemetry = Arc::new(Telemetry::new(BACKEND, Some(&options.table)));
        let workers = Workers::start(Config {
            location: location.clone(),
            sql: Arc::clone(&sql),
            busy_timeout: options.busy_timeout,
            sweep: options.sweep,
            readers: options.readers,
            initialize: options.initialize,
            telemetry: Arc::clone(&telemetry),
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
                telemetry,
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

    /// `get`'s read of the live value under key text `key`. Inline reads
    /// run on this thread, so `decode` reads the value straight from
    /// SQLite's row, without a copy of its text; otherwise a connection
    /// thread reads the text and `decode_owned` takes it over.
    async fn get_read<V>(
        &self,
        key: &str,
        decode: impl Fn(&str) -> KvResult<V>,
        decode_owned: impl FnOnce(String) -> KvResult<V>,
    ) -> KvResult<Option<V>> {
        let inline = self
            .inner
            .inline
            .with(|db| db.get_with(key, now_ms(), &decode));
        if let Some(Ok(value)) = inline {
            return value.transpose();
        }
        let text = self
            .read(|reply| Read::Get {
                key: key.to_owned(),
                reply,
            })
            .await?;
        text.map(decode_owned).transpose()
    }

    /// Writes value text (already within [`MAX_TEXT_BYTES`]) under `key`.
    /// Text up to [`HANDED_OVER_BYTES`] is written on this thread when the
    /// writer is idle; larger text always goes to the writer thread, which
    /// takes it over and drops it once bound (see `Db::upsert_owned`).
    async fn set_text(&self, key: &KvKey, value: String, options: SetOptions) -> KvResult<()> {
        let key = key_text(key)?;
        let ttl = options.effective_ttl();
        if value.len() <= HANDED_OVER_BYTES
            && self
                .inner
                .workers
                .write_inline(|db| Ok(db.upsert(&key, &value, now_ms(), ttl)?))
                .is_some()
        {
            return Ok(());
        }
        self.write(|reply| Write::Set {
            key,
            value,
            ttl,
            reply,
        })
        .await
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
        let get = async {
            let key = key_text(key)?;
            self.get_read(
                &key,
                |text| codec::decode_value(&key, text),
                |text| codec::decode_value(&key, &text),
            )
            .await
        };
        self.inner.telemetry.observe(Op::Get, Some(key), get).await
    }

    async fn set(&self, key: &KvKey, value: &Value, options: SetOptions) -> KvResult<()> {
        let set = async { self.set_text(key, value_text(value)?, options).await };
        self.inner.telemetry.observe(Op::Set, Some(key), set).await
    }

    /// The text is handed to the writer thread, which drops it as soon as
    /// SQLite holds its copy.
    async fn set_json(&self, key: &KvKey, value: JsonText, options: SetOptions) -> KvResult<()> {
        let set = async {
            let text = KvError::within_value_limit(BACKEND, value.into_string(), MAX_TEXT_BYTES)?;
            self.set_text(key, text, options).await
        };
        self.inner.telemetry.observe(Op::Set, Some(key), set).await
    }

    /// The text is copied once from SQLite's row (on this thread when an
    /// inline read is free) and kept as it is when it is compact.
    async fn get_json(&self, key: &KvKey) -> KvResult<Option<JsonText>> {
        let get = async {
            let key = key_text(key)?;
            self.get_read(
                &key,
                |text| codec::decode_json_text(&key, text),
                |text| crate::table::json_text_string(|| key.clone(), text),
            )
            .await
        };
        self.inner.telemetry.observe(Op::Get, Some(key), get).await
    }

    async fn delete(&self, key: &KvKey) -> KvResult<()> {
        let delete = async {
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
        };
        self.inner
            .telemetry
            .observe(Op::Delete, Some(key), delete)
            .await
    }

    async fn cas(
        &self,
        key: &KvKey,
        expected: Option<&Value>,
        new: Option<&Value>,
        options: SetOptions,
    ) -> KvResult<bool> {
        let cas = async {
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
        };
        self.inner.telemetry.observe(Op::Cas, Some(key), cas).await
    }

    fn list(&self, prefix: Option<&KvKey>) -> KvStream {
        let records = list::stream(Arc::clone(&self.inner), prefix, codec::decode_value);
        self.inner
            .telemetry
            .stream(Op::List, prefix, into_entries(records))
    }

    fn scan(&self, prefix: Option<&KvKey>) -> KvRecordStream {
        let records = list::stream(Arc::clone(&self.inner), prefix, codec::decode_value);
        self.inner.telemetry.stream(Op::Scan, prefix, records)
    }

    fn scan_json(&self, prefix: Option<&KvKey>) -> KvRecordStream<JsonText> {
        let records = list::stream(Arc::clone(&self.inner), prefix, codec::decode_json_text);
        self.inner.telemetry.stream(Op::Scan, prefix, records)
    }

    /// The raw key is the key column's text (a blob key, which only
    /// another program can store, in SQLite's `X'4142'` form).
    async fn delete_raw(&self, raw_key: &str) -> KvResult<bool> {
        let delete_raw = async {
            let key = raw_key.to_owned();
            self.write(|reply| Write::DeleteRaw { key, reply }).await
        };
        self.inner
            .telemetry
            .observe(Op::DeleteRaw, None, delete_raw)
            .await
    }

    async fn count_expired(&self, prefix: Option<&KvKey>) -> KvResult<u64> {
        let count = async {
            let range = prefix.map(JsonKeyRange::new);
            self.read(|reply| Read::CountExpired {
                range: range.clone(),
                reply,
            })
            .await
        };
        self.inner
            .telemetry
            .observe(Op::CountExpired, prefix, count)
            .await
    }

    async fn sweep(&self) -> KvResult<u64> {
        let sweep = async {
            let batch = self.inner.options.sweep.batch_size.max(1) as u64;
            let mut total = 0;
            loop {
                let removed = self.write(|reply| Write::Sweep { reply }).await?;
                total += removed;
                if removed < batch {
                    return Ok(total);
                }
            }
        };
        self.inner.telemetry.observe(Op::Sweep, None, sweep).await
    }

    /// The SQLite library's version (no query: it is linked in).
    async fn server_version(&self) -> KvResult<Option<String>> {
        Ok(Some(format!("SQLite {}", rusqlite::version())))
    }

    fn backend(&self) -> &'static str {
        BACKEND
    }
}
