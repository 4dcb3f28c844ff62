//! [`DenoKvStore`]: Fedify's `DenoKvStore` layout in a Deno KV database, a
//! local file (`Deno.openKv(path)`) or a KV Connect server (feature
//! `denokv`).
//!
//! The layout is Fedify's (`docs/layouts.md`); how this backend works —
//! its statements, sweeping, limits and tests — is in `docs/backends.md`.

mod backend;
pub(crate) mod codec;
mod error;
mod list;
mod local;
pub(crate) mod options;
mod remote;

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
use crate::telemetry::{Op, Telemetry};

use backend::{Backend, Row, Write};
pub use codec::key::{MAX_KEY_BYTES, MAX_TTL_KEY_BYTES};
use codec::{key, value};
use error::BACKEND;
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
    telemetry: Arc<Telemetry>,
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
        let telemetry = Telemetry::new(BACKEND, None);
        let telemetry = match &location {
            DenoKvLocation::File(_) => telemetry,
            DenoKvLocation::Remote { url, .. } => telemetry.on_server(url.as_str()),
        };
        Self {
            telemetry: Arc::new(telemetry),
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
        let get = async {
            let key = key::encode(key)?;
            Ok(self.current(&key).await?.1)
        };
        self.telemetry.observe(Op::Get, Some(key), get).await
    }

    async fn set(&self, key: &KvKey, value: &Value, options: SetOptions) -> KvResult<()> {
        let set = async {
            let key = encode_key(key, options.effective_ttl())?;
            let write = Write {
                key,
                check: None,
                value: Some(encode_value(value)?),
                expire_at: expire_at(options.effective_ttl()),
            };
            self.backend.write(&write).await.map(drop)
        };
        self.telemetry.observe(Op::Set, Some(key), set).await
    }

    async fn delete(&self, key: &KvKey) -> KvResult<()> {
        let delete = async {
            let key = key::encode(key)?;
            let write = Write {
                key,
                check: None,
                value: None,
                expire_at: None,
            };
            self.backend.write(&write).await.map(drop)
        };
        self.telemetry.observe(Op::Delete, Some(key), delete).await
    }

    /// The raw key is the key's JSON text, as [`KvError::Corrupt`] names an
    /// entry whose value has no JSON form.
    async fn delete_raw(&self, raw_key: &str) -> KvResult<bool> {
        let delete_raw = async {
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
        };
        self.telemetry
            .observe(Op::DeleteRaw, None, delete_raw)
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
        };
        self.telemetry.observe(Op::Cas, Some(key), cas).await
    }

    fn list(&self, prefix: Option<&KvKey>) -> KvStream {
        let entries = into_entries(list::records(Arc::clone(&self.backend), prefix));
        self.telemetry.stream(Op::List, prefix, entries)
    }

    /// Over KV Connect, which does not report expiry, the stream is one
    /// [`KvError::Unsupported`]: a TTL of "never" would be a guess.
    fn scan(&self, prefix: Option<&KvKey>) -> KvRecordStream {
        let records = if self.backend.reports_expiry() {
            list::records(Arc::clone(&self.backend), prefix)
        } else {
            let error = KvError::Unsupported {
                backend: BACKEND,
                operation: "scan",
                reason: "KV Connect does not report when entries expire; scan the database file itself (denokv:PATH) for the TTLs",
            };
            futures::stream::once(async move { Err(error) }).boxed()
        };
        self.telemetry.stream(Op::Scan, prefix, records)
    }

    /// Over KV Connect, only the entries whose expiry records say they are
    /// expired (the entries fedikv wrote).
    async fn count_expired(&self, prefix: Option<&KvKey>) -> KvResult<u64> {
        let count = async { list::count_expired(self.backend.as_ref(), prefix).await };
        self.telemetry
            .observe(Op::CountExpired, prefix, count)
            .await
    }

    async fn sweep(&self) -> KvResult<u64> {
        let sweep = async { self.backend.sweep().await };
        self.telemetry.observe(Op::Sweep, None, sweep).await
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
