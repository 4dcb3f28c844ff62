//! [`Backend`]: what [`DenoKvStore`](super::DenoKvStore) needs from a Deno KV
//! database, implemented by the local file (`local.rs`) and the KV Connect
//! client (`remote.rs`).

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use denokv_proto::{AtomicWrite, Check, KvValue, Mutation, MutationKind, Versionstamp};

use crate::error::KvResult;

use super::codec::key;

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

    /// Entries of `range` (live ones, or expired ones still stored, as
    /// `range.which` says) in key order: one page of at most `limit`, and
    /// where the rest of the range starts (`None` after the last page).
    async fn range(&self, range: Range, limit: usize) -> KvResult<Page>;

    /// Whether rows carry the expiry of every entry (`Row::expires_at`). A
    /// KV Connect server does not report expiries: over it, rows carry only
    /// the ones fedikv recorded beside the entries it wrote.
    fn reports_expiry(&self) -> bool;

    /// Applies `write` atomically. `false` when its check failed (nothing
    /// was written).
    async fn write(&self, write: &Write) -> KvResult<bool>;

    /// Deletes the expired entries still stored whose keys are strings, each
    /// with a versionstamp check so that a newer write is never lost, and
    /// returns how many it deleted.
    async fn sweep(&self) -> KvResult<u64>;
}

/// One page of a range.
#[derive(Debug)]
pub(crate) struct Page {
    /// The entries.
    pub rows: Vec<Row>,
    /// The first key of what is left of the range, `None` after the last page.
    pub rest: Option<Vec<u8>>,
}

/// The smallest key after `key`.
pub(crate) fn after(key: &[u8]) -> Vec<u8> {
    let mut next = Vec::with_capacity(key.len() + 1);
    next.extend_from_slice(key);
    next.push(0);
    next
}

/// Where a range goes on after a page of `rows` read with `limit`: after
/// its last row if the page is full, `None` (the range is done) otherwise.
pub(crate) fn rest_after(rows: &[Row], limit: usize) -> Option<Vec<u8>> {
    rows.last()
        .filter(|_| rows.len() >= limit)
        .map(|last| after(&last.key))
}

/// A write of one key (and its expiry record), optionally checked.
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
    /// The write as Deno KV's atomic operation: the entry, and its expiry
    /// record (`key::expiry_key`) when the entry expires, deleted otherwise
    /// (a key too long for a record has none). Both get the write's
    /// versionstamp, which is how a reader knows the record is about this
    /// very entry. The record outlives the entry by [`RECORD_GRACE`], so a
    /// server that deletes expired keys one by one never drops it first.
    pub fn to_atomic(&self) -> AtomicWrite {
        let checks = self
            .check
            .map(|versionstamp| Check {
                key: self.key.clone(),
                versionstamp,
            })
            .into_iter()
            .collect();
        let expire_at = self.expire_at.filter(|_| self.value.is_some());
        let kind = match &self.value {
            Some(bytes) => MutationKind::Set(KvValue::V8(bytes.clone())),
            None => MutationKind::Delete,
        };
        let mut mutations = vec![Mutation {
            key: self.key.clone(),
            kind,
            expire_at,
        }];
        if let Some(record) = key::expiry_key(&self.key) {
            mutations.push(match expire_at {
                Some(at) => Mutation {
                    key: record,
                    kind: MutationKind::Set(KvValue::U64(
                        u64::try_from(at.timestamp_millis()).unwrap_or(0),
                    )),
                    expire_at: Some(at.checked_add_signed(RECORD_GRACE).unwrap_or(at)),
                },
                None => Mutation {
                    key: record,
                    kind: MutationKind::Delete,
                    expire_at: None,
                },
            });
        }
        AtomicWrite {
            checks,
            mutations,
            enqueues: Vec::new(),
        }
    }
}

/// How long an expiry record outlives its entry in the database.
const RECORD_GRACE: TimeDelta = TimeDelta::hours(1);

/// `row` with the expiry its expiry record `record` states, if the record
/// was written with it (same versionstamp); a record left from an earlier
/// write (the entry was written again by a program that keeps no records)
/// says nothing.
pub(crate) fn with_recorded_expiry(mut row: Row, record: Option<&Row>) -> Row {
    if let Some(record) = record.filter(|r| r.versionstamp == row.versionstamp) {
        row.expires_at = recorded_expiry(record);
    }
    row
}

/// The expiry an expiry record states (`None` for any other value).
pub(crate) fn recorded_expiry(record: &Row) -> Option<DateTime<Utc>> {
    match record.value {
        KvValue::U64(ms) => i64::try_from(ms)
            .ok()
            .and_then(DateTime::<Utc>::from_timestamp_millis),
        _ => None,
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
