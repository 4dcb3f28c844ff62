//! [`DenoKvStore`]: Fedify's `DenoKvStore` layout in a Deno KV database, a
//! local file (`Deno.openKv(path)`) or a KV Connect server (feature
//! `denokv`).
//!
//! # Layout (shared with Fedify's `@fedify/denokv` and any Deno program)
//!
//! - Key: the components as a Deno KV key of strings: `["_fedify",
//!   "publicKey", "https://a.example/k"]` is what Deno's
//!   `kv.get(["_fedify", "publicKey", "https://a.example/k"])` reads. Encoded
//!   with Deno KV's own key codec (`denokv_proto`).
//! - Value: the JS value V8 would serialize, as `Deno.Kv.set` stores it
//!   (`denokv_proto`'s V8 encoding): Deno reads fedikv's values back as the
//!   same objects, and fedikv reads Deno's JSON-shaped values as JSON. The
//!   mapping, and the JS values with no JSON form (read as
//!   [`KvError::Corrupt`]), are in `value.rs`.
//! - Expiry: Deno KV's own per-entry expiry (what `expireIn` sets), at
//!   millisecond precision. Deno deletes expired entries lazily (about once
//!   a minute), so fedikv filters them on read: expired entries are
//!   invisible to `get`, `list` and `cas` from the moment they expire — on
//!   a local file all of them, over KV Connect those fedikv wrote (next
//!   item).
//! - Expiry records: KV Connect does not tell a reader when an entry
//!   expires, so beside each entry it writes with a TTL, in the same atomic
//!   write, fedikv writes the entry's expiry record: the key `[false,
//!   ...key]` (no string key sorts among them, and `list` with a string
//!   prefix, Fedify's or Deno's, never meets one), holding the expiry in
//!   epoch milliseconds as a `Deno.KvU64`, expiring an hour after the entry
//!   (Deno deletes it later on its own). A write without a TTL, and a
//!   delete, delete the record. Fedify's `DenoKvStore.list()` *without* a
//!   prefix (and Deno's `kv.list({ prefix: [] })`) does meet records: keys
//!   `[false, …]`, not Fedify `KvKey`s; with a prefix it never does. A record counts only while its versionstamp is the entry's
//!   (both come from the same write): after a program that keeps no records
//!   (Deno, Fedify) writes the entry again, its old record says nothing.
//!   Readers of the local file use the file's own expiry column instead.
//!
//! # Local files and KV Connect servers
//!
//! - `denokv:PATH` ([`DenoKvStore::open`]): the SQLite file `Deno.openKv(path)`
//!   uses, shared with Deno processes on the same machine (see `local.rs`).
//! - `denokv+http://HOST:PORT?token=…` ([`DenoKvStore::connect`]): a KV
//!   Connect server, e.g. the self-hosted `denokv` server or Deno Deploy
//!   (`denokv+https://`), what `Deno.openKv("http://…")` opens (see
//!   `remote.rs`). Each operation is bounded by a timeout (default
//!   [`DEFAULT_TIMEOUT`], [`KvError::Unavailable`] after it).
//!
//!   Over a server, entries fedikv wrote are invisible from their expiry
//!   on (their expiry records say when); an entry another program wrote
//!   with an expiry stays visible (to `get`, `list` and `cas`) until the
//!   server deletes it, as Deno's own clients see it — the `denokv` server
//!   does so within about a minute of the expiry. For the same reason
//!   `scan`, which must report every entry's TTL, is
//!   [`KvError::Unsupported`] there.
//!
//! Unlike Fedify's store, a stored `null` is a value (Fedify's reads it as
//! absent), and `list(prefix)` yields the prefix key itself (once). Keys
//! Deno programs wrote with non-string parts (numbers, booleans, bytes) are
//! not [`KvKey`]s: `list` skips them. A top-level `undefined` (what
//! Fedify's `cas(key, x, undefined)` stores) reads as absent.
//!
//! # Limits
//!
//! Deno KV's: keys up to [`MAX_KEY_BYTES`] bytes of encoded key, written
//! with a TTL up to [`MAX_TTL_KEY_BYTES`] (one byte less, for the expiry
//! record) ([`KvError::KeyTooLong`]), values up to [`MAX_VALUE_BYTES`] bytes of V8
//! serialization ([`KvError::ValueTooLarge`]), both checked before any round
//! trip. rule V4's 1 MiB values therefore do not fit: the conformance suite
//! skips that one test for this store, and its own tests check the limit.
//!
//! # Operations
//!
//! - `get`: one read (of the entry, and over KV Connect of its expiry
//!   record in the same snapshot).
//! - `set`, `delete`: one atomic write of the entry and its expiry record,
//!   no checks.
//! - `cas`: a versionstamp loop, as Fedify's: read the entry (with its
//!   versionstamp, expired or not), compare with
//!   [`json_opt_eq`] (an expired entry counts as
//!   absent), then write with a check that the versionstamp is unchanged. A
//!   failed check means another write came in between: read again (up to
//!   [`CAS_MAX_ATTEMPTS`] times, then [`KvError::Contention`]).
//! - `list`, `scan`: pages of 500 entries over the key range of the prefix,
//!   in Deno KV's key order (component by component, each compared by UTF-8
//!   bytes), starting at the prefix key itself; without a prefix, every key
//!   of strings. Over KV Connect each page reads the expiry records of its
//!   range in the same snapshot. `scan`'s remaining TTLs come from each
//!   entry's expiry (local files only: over KV Connect `scan` fails with
//!   [`KvError::Unsupported`], since the protocol does not say for entries
//!   other programs wrote).
//! - `count_expired`: counts the expired entries still stored under the
//!   prefix, page by page (over KV Connect: those with expiry records).
//! - `sweep`: deletes the expired entries still stored whose keys are
//!   strings, each with a versionstamp check so that a newer write is never
//!   lost, and their records. On a file it pages over the entries; over KV
//!   Connect over the expiry records alone (an entry is deleted only if its
//!   versionstamp is still its record's), so it never downloads values.
//!   Deno KV also deletes expired entries on its own.
//!
//! The `fedikv-conformance` suite runs against this store on a local file
//! and on a `denokv` server; interop tests with the real Deno runtime are in
//! `crates/fedikv/tests/it/denokv/`.

mod backend;
mod error;
pub(crate) mod key;
mod list;
mod local;
pub(crate) mod options;
mod remote;
pub(crate) mod value;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde_json::Value;

use crate::error::{KvError, KvResult};
use crate::json::json_opt_eq;
use crate::key::KvKey;
use crate::paging::into_entries;
use crate::store::{Capabilities, KvRecordStream, KvStore, KvStream, SetOptions};

use backend::{Backend, Row, Write};
use error::BACKEND;
pub use key::{MAX_KEY_BYTES, MAX_TTL_KEY_BYTES};
pub use options::{DenoKvLocation, TOKEN_VAR};
pub use remote::DEFAULT_TIMEOUT;

/// Deno KV's limit on a value: 65536 bytes of V8 serialization.
pub const MAX_VALUE_BYTES: usize = 65_536;

/// How many times `cas` reads again after another write changed the entry
/// between its read and its write.
pub const CAS_MAX_ATTEMPTS: u32 = 1000;

/// A [`KvStore`] on a Deno KV database. Cheap to clone: clones share the
/// database.
#[derive(Clone)]
pub struct DenoKvStore {
    backend: Arc<dyn Backend>,
    location: Arc<DenoKvLocation>,
}

impl fmt::Debug for DenoKvStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DenoKvStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl DenoKvStore {
    /// Opens (creating if needed) the Deno KV database file at `path`, the
    /// file `Deno.openKv(path)` uses.
    ///
    /// Errors: [`KvError::Io`] when the file cannot be opened or created, is
    /// not a SQLite database, or is the SQLite database of another program
    /// (nothing is written to it then).
    pub async fn open(path: impl AsRef<Path>) -> KvResult<Self> {
        let path = path.as_ref();
        let backend = local::Local::open(path).await?;
        Ok(Self::with_backend(
            Arc::new(backend),
            DenoKvLocation::File(path.to_owned()),
        ))
    }

    /// Connects to the KV Connect server whose metadata endpoint is `url`
    /// (`http://host:port` for a `denokv` server, what `Deno.openKv(url)`
    /// takes), with the access token `token`; each operation waits at most
    /// `timeout` for the server.
    ///
    /// Errors: [`KvError::InvalidUrl`] for a malformed URL or a token no
    /// HTTP header can carry, [`KvError::AccessDenied`] when the server
    /// refuses the token,
    /// [`KvError::Unavailable`] when it cannot be reached. The token never
    /// appears in errors or `Debug`.
    pub async fn connect(url: &str, token: &str, timeout: Duration) -> KvResult<Self> {
        let url = options::without_credentials(crate::store_url::parse_url(url)?, url)?;
        if url.query().is_some() {
            return Err(KvError::InvalidUrl {
                reason: format!(
                    "{:?}: connect takes the server's URL without a query; pass the token and timeout as arguments (or use open_url)",
                    crate::store_url::redact(url.as_str())
                ),
            });
        }
        options::check_token(token)?;
        let backend = remote::Remote::connect(url.clone(), token.to_owned(), timeout).await?;
        Ok(Self::with_backend(
            Arc::new(backend),
            DenoKvLocation::Remote { url, timeout },
        ))
    }

    /// Opens a `denokv:PATH` file or connects to a `denokv+http://` server;
    /// see [`DenoKvLocation::parse_url`] for the URLs and their options.
    ///
    /// Errors: [`KvError::InvalidUrl`] (also for a server URL without a
    /// token, in the URL or in [`TOKEN_VAR`]), then as [`open`](Self::open)
    /// or [`connect`](Self::connect).
    pub async fn open_url(url: &str) -> KvResult<Self> {
        let parsed = options::parse(url)?;
        match parsed.location {
            DenoKvLocation::File(path) => Self::open(path).await,
            DenoKvLocation::Remote {
                url: server,
                timeout,
            } => {
                let token = parsed.token.ok_or_else(|| KvError::InvalidUrl {
                    reason: format!(
                        "{:?} has no access token: add ?token=… or set {TOKEN_VAR}",
                        crate::store_url::redact(url)
                    ),
                })?;
                Self::connect(server.as_str(), &token, timeout).await
            }
        }
    }

    fn with_backend(backend: Arc<dyn Backend>, location: DenoKvLocation) -> Self {
        Self {
            backend,
            location: Arc::new(location),
        }
    }

    /// Where the database is.
    pub fn location(&self) -> &DenoKvLocation {
        &self.location
    }

    /// The live entry under `key`, decoded; `None` when absent, expired or
    /// `undefined`. Also returns the stored row (for its versionstamp).
    async fn current(&self, key: &[u8]) -> KvResult<(Option<Row>, Option<Value>)> {
        let row = self.backend.get(key.to_vec()).await?;
        let value = match &row {
            Some(row) if row.is_live(Utc::now()) => value::decode_entry(row)?,
            _ => None,
        };
        Ok((row, value))
    }
}

/// A value as Deno KV stores it, refused if larger than [`MAX_VALUE_BYTES`].
fn encode_value(value: &Value) -> KvResult<Vec<u8>> {
    KvError::within_value_limit(BACKEND, value::encode(value)?, MAX_VALUE_BYTES)
}

/// The encoded key of an entry written with `ttl`: one byte shorter with a
/// TTL, for its expiry record.
fn encode_key(key: &KvKey, ttl: Option<Duration>) -> KvResult<Vec<u8>> {
    match ttl {
        Some(_) => key::encode_for_ttl(key),
        None => key::encode(key),
    }
}

/// When an entry written now with `ttl` expires. A TTL past the year 262143
/// (chrono's limit) means no expiry.
fn expire_at(ttl: Option<Duration>) -> Option<DateTime<Utc>> {
    let ttl = chrono::Duration::from_std(ttl?).ok()?;
    Utc::now().checked_add_signed(ttl)
}

#[async_trait]
impl KvStore for DenoKvStore {
    async fn get(&self, key: &KvKey) -> KvResult<Option<Value>> {
        let key = key::encode(key)?;
        Ok(self.current(&key).await?.1)
    }

    async fn set(&self, key: &KvKey, value: &Value, options: SetOptions) -> KvResult<()> {
        let key = encode_key(key, options.effective_ttl())?;
        let write = Write {
            key,
            check: None,
            value: Some(encode_value(value)?),
            expire_at: expire_at(options.effective_ttl()),
        };
        self.backend.write(&write).await.map(drop)
    }

    async fn delete(&self, key: &KvKey) -> KvResult<()> {
        let key = key::encode(key)?;
        let write = Write {
            key,
            check: None,
            value: None,
            expire_at: None,
        };
        self.backend.write(&write).await.map(drop)
    }

    /// The raw key is the key's JSON text, as [`KvError::Corrupt`] names an
    /// entry whose value has no JSON form.
    async fn delete_raw(&self, raw_key: &str) -> KvResult<bool> {
        let key = key::encode(&KvKey::from_json(raw_key)?)?;
        if self.backend.get(key.clone()).await?.is_none() {
            return Ok(false);
        }
        let write = Write {
            key,
            check: None,
            value: None,
            expire_at: None,
        };
        self.backend.write(&write).await?;
        Ok(true)
    }

    async fn cas(
        &self,
        key: &KvKey,
        expected: Option<&Value>,
        new: Option<&Value>,
        options: SetOptions,
    ) -> KvResult<bool> {
        let mut write = Write {
            key: encode_key(key, new.and(options.effective_ttl()))?,
            check: None,
            value: new.map(encode_value).transpose()?,
            expire_at: None,
        };
        for _ in 0..CAS_MAX_ATTEMPTS {
            let (row, current) = self.current(&write.key).await?;
            if !json_opt_eq(current.as_ref(), expected) {
                return Ok(false);
            }
            write.check = Some(row.map(|row| row.versionstamp));
            // The TTL counts from this attempt's write.
            write.expire_at = expire_at(options.effective_ttl());
            if self.backend.write(&write).await? {
                return Ok(true);
            }
        }
        Err(KvError::Contention {
            attempts: CAS_MAX_ATTEMPTS,
        })
    }

    fn list(&self, prefix: Option<&KvKey>) -> KvStream {
        into_entries(list::records(Arc::clone(&self.backend), prefix))
    }

    /// Over KV Connect, which does not report expiry, the stream is one
    /// [`KvError::Unsupported`]: a TTL of "never" would be a guess.
    fn scan(&self, prefix: Option<&KvKey>) -> KvRecordStream {
        if !self.backend.reports_expiry() {
            let error = KvError::Unsupported {
                backend: BACKEND,
                operation: "scan",
                reason: "KV Connect does not report when entries expire; scan the database file itself (denokv:PATH) for the TTLs",
            };
            return futures::stream::once(async move { Err(error) }).boxed();
        }
        list::records(Arc::clone(&self.backend), prefix)
    }

    /// Over KV Connect, only the entries whose expiry records say they are
    /// expired (the entries fedikv wrote).
    async fn count_expired(&self, prefix: Option<&KvKey>) -> KvResult<u64> {
        list::count_expired(self.backend.as_ref(), prefix).await
    }

    async fn sweep(&self) -> KvResult<u64> {
        self.backend.sweep().await
    }

    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> Capabilities {
        // Deno's key codec takes UTF-8 strings; V8's serializer has a
        // recursion limit.
        Capabilities {
            lone_surrogates_in_keys: false,
            max_value_depth: Some(value::MAX_WRITE_DEPTH),
            ..Capabilities::default()
        }
    }
}
