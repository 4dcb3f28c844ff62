//! [`Backend`]: what [`DenoKvStore`](super::DenoKvStore) needs from a Deno KV
//! database, implemented by the local file (`local.rs`) and the KV Connect
//! client (`remote.rs`).

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use denokv_proto::{AtomicWrite, Check, KvValue, Mutation, MutationKind, Versionstamp};

use crate::error::KvResult;

/// An entry as stored, live or not.
#[derive(Debug)]
pub(crate) struct Row {
    /// The encoded Deno KV key.
    pub key: Vec<u8>,
    /// The stored value.
    pub value: KvValue,
    /// The versionstamp of the write that stored it.
    pub versionstamp: Versionstamp,
    /// When it expires, if it does.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Row {
    /// Whether the entry is still live at `now` (an entry expiring exactly
    /// at `now` is expired, as with a zero TTL).
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// A Deno KV database.
#[async_trait]
pub(crate) trait Backend: Send + Sync + fmt::Debug + 'static {
    /// The entry stored under `key`, expired or not.
    async fn get(&self, key: Vec<u8>) -> KvResult<Option<Row>>;

    /// Up to `limit` entries of `range` (live ones, or expired ones still
    /// stored, as `range.which` says), in key order.
    async fn range(&self, range: Range, limit: usize) -> KvResult<Vec<Row>>;

    /// Whether rows carry their expiry (`Row::expires_at`): a KV Connect
    /// server does not report it.
    fn reports_expiry(&self) -> bool;

    /// Applies `write` atomically. `false` when its check failed (nothing
    /// was written).
    async fn write(&self, write: &Write) -> KvResult<bool>;
}

/// A write of one key, optionally checked.
#[derive(Debug, Clone)]
pub(crate) struct Write {
    /// The encoded key.
    pub key: Vec<u8>,
    /// With `Some(stamp)`, the write happens only if the key's versionstamp
    /// is still `stamp` (`None`: the key must be absent).
    pub check: Option<Option<Versionstamp>>,
    /// The V8-serialized value to store; `None` deletes the entry.
    pub value: Option<Vec<u8>>,
    /// When the stored value expires.
    pub expire_at: Option<DateTime<Utc>>,
}

impl Write {
    /// The write as Deno KV's atomic operation.
    pub fn to_atomic(&self) -> AtomicWrite {
        let checks = self
            .check
            .map(|versionstamp| Check {
                key: self.key.clone(),
                versionstamp,
            })
            .into_iter()
            .collect();
        let kind = match &self.value {
            Some(bytes) => MutationKind::Set(KvValue::V8(bytes.clone())),
            None => MutationKind::Delete,
        };
        AtomicWrite {
            checks,
            mutations: vec![Mutation {
                key: self.key.clone(),
                kind,
                expire_at: self.expire_at.filter(|_| self.value.is_some()),
            }],
            enqueues: Vec::new(),
        }
    }
}

/// A key range and which entries of it to return.
#[derive(Debug, Clone)]
pub(crate) struct Range {
    /// First key, inclusive.
    pub start: Vec<u8>,
    /// End key, exclusive.
    pub end: Vec<u8>,
    /// Which entries.
    pub which: Which,
}

/// Live or expired entries, at a given time.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Which {
    /// Entries live at this time.
    Live(DateTime<Utc>),
    /// Entries expired by this time but still stored.
    Expired(DateTime<Utc>),
}
