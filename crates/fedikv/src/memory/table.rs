//! [`Table`]: the memory store's entries, a hash map keyed by the encoded key
//! (see [`ordered`](super::ordered)) with an [`Index`] for listing in order.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use foldhash::fast::RandomState;
use serde_json::Value;

use super::index::Index;
use crate::json::drop_shared;

/// A stored value and its expiry.
#[derive(Debug)]
pub(super) struct Entry {
    /// The value, shared with whoever wrote or read it.
    pub value: Arc<Value>,
    /// When the entry expires; `None` for never.
    pub expires: Option<Instant>,
}

impl Entry {
    /// Whether the entry is still visible at `now`.
    pub fn is_live(&self, now: Instant) -> bool {
        self.expires.is_none_or(|at| at > now)
    }

    /// Drops the entry, its value without recursion when this was the
    /// value's last holder (rule V1). Callers discard entries after
    /// releasing the store's lock, so that freeing a big value never holds
    /// up other tasks.
    pub fn discard(self) {
        drop_shared(self.value);
    }
}

/// A page of live entries: encoded key, value, expiry.
pub(super) type Page = Vec<(Arc<[u8]>, Arc<Value>, Option<Instant>)>;

/// The entries of a memory store. Every method takes encoded keys; those that
/// take entries out return them for the caller to [`discard`](Entry::discard)
/// once the lock is released.
#[derive(Debug, Default)]
pub(super) struct Table {
    map: HashMap<Arc<[u8]>, Entry, RandomState>,
    index: Index,
}

impl Table {
    /// The live entry under `key`.
    pub fn get(&self, key: &[u8], now: Instant) -> Option<&Entry> {
        self.map.get(key).filter(|entry| entry.is_live(now))
    }

    /// Inserts or replaces; returns the entry replaced.
    pub fn put(&mut self, key: &[u8], entry: Entry) -> Option<Entry> {
        if let Some(slot) = self.map.get_mut(key) {
            return Some(std::mem::replace(slot, entry));
        }
        let key: Arc<[u8]> = Arc::from(key);
        self.index.added(Arc::clone(&key));
        self.map.insert(key, entry);
        self.tidy();
        None
    }

    /// Removes the entry under `key`, live or expired, and returns it.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let (_, entry) = self.map.remove_entry(key)?;
        self.index.removed(1);
        self.tidy();
        Some(entry)
    }

    /// Removes the entries expired at `now` and returns them.
    pub fn remove_expired(&mut self, now: Instant) -> Vec<Entry> {
        let expired: Vec<Entry> = self
            .map
            .extract_if(|_, entry| !entry.is_live(now))
            .map(|(_, entry)| entry)
            .collect();
        self.index.removed(expired.len());
        self.tidy();
        expired
    }

    /// Number of entries live at `now`.
    pub fn live(&self, now: Instant) -> usize {
        self.map.values().filter(|e| e.is_live(now)).count()
    }

    /// Number of entries under `prefix` expired at `now` but still held.
    pub fn expired_under(&self, prefix: &[u8], now: Instant) -> usize {
        self.map
            .iter()
            .filter(|(key, entry)| key.starts_with(prefix) && !entry.is_live(now))
            .count()
    }

    /// Whether [`page`](Self::page) can run: every key is in the index's
    /// order. Otherwise call [`settle`](Self::settle) first.
    pub fn is_settled(&self) -> bool {
        self.index.is_settled()
    }

    /// Puts every key in the index's order.
    pub fn settle(&mut self) {
        self.index.settle();
    }

    /// Up to `limit` entries live at `now` whose keys start with `prefix`, in
    /// key order, after the key `after` (from the first when `None`). The
    /// table must be [settled](Self::is_settled).
    pub fn page(&self, prefix: &[u8], after: Option<&[u8]>, now: Instant, limit: usize) -> Page {
        self.index
            .range(prefix, after)
            .filter_map(|key| {
                let entry = self.get(key, now)?;
                Some((Arc::clone(key), Arc::clone(&entry.value), entry.expires))
            })
            .take(limit)
            .collect()
    }

    /// Prunes the index once it holds too many stale or unsorted keys.
    fn tidy(&mut self) {
        if self.index.is_untidy(self.map.len()) {
            let map = &self.map;
            self.index.prune(|key| map.contains_key(key));
        }
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        for (_, entry) in self.map.drain() {
            entry.discard();
        }
    }
}
