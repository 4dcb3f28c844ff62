//! [`Table`]: the memory store's entries, a hash map keyed by the encoded key
//! (see [`ordered`](super::ordered)) with an [`Index`] for listing in order.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use foldhash::fast::RandomState;
use serde_json::Value;

use super::index::Index;
use super::now::Now;
use crate::json::{drop_deep, drop_shared, json_opt_eq};

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

    /// [`is_live`](Self::is_live) at the operation's time, which is read
    /// only if the entry has an expiry.
    fn is_live_now(&self, now: &Now) -> bool {
        self.expires.is_none_or(|at| at > now.get())
    }

    /// Stores `write` in this entry and returns the value it replaces. An
    /// owned value is written into the replaced value's allocation when the
    /// table is its only holder, so that overwriting allocates nothing.
    fn overwrite(&mut self, write: Write) -> Discarded {
        self.expires = write.expires;
        match write.value {
            NewValue::Shared(value) => Discarded::Shared(std::mem::replace(&mut self.value, value)),
            NewValue::Owned(value) => match Arc::get_mut(&mut self.value) {
                Some(held) => Discarded::Owned(std::mem::replace(held, value)),
                None => Discarded::Shared(std::mem::replace(&mut self.value, Arc::new(value))),
            },
        }
    }

    /// Drops the entry, its value without recursion when this was the
    /// value's last holder (rule V1). Callers discard entries after
    /// releasing the store's lock, so that freeing a big value never holds
    /// up other tasks.
    pub fn discard(self) {
        drop_shared(self.value);
    }
}

/// A value to store: the caller's shared value as it is, or a value of the
/// store's own (a copy of the caller's).
#[derive(Debug)]
pub(super) enum NewValue {
    /// Kept as given ([`KvStore::set_shared`](crate::KvStore::set_shared)).
    Shared(Arc<Value>),
    /// Owned by the store: written into the allocation of the value it
    /// replaces when nobody else holds that one.
    Owned(Value),
}

/// A write: the value and when it expires (`None` for never).
#[derive(Debug)]
pub(super) struct Write {
    pub value: NewValue,
    pub expires: Option<Instant>,
}

impl Write {
    /// Drops a write that was not stored, as [`Discarded::discard`] does.
    pub fn discard(self) {
        match self.value {
            NewValue::Shared(value) => drop_shared(value),
            NewValue::Owned(value) => drop_deep(value),
        }
    }
}

/// A value a write took out of the table, for the caller to
/// [`discard`](Self::discard) once the lock is released.
#[derive(Debug)]
#[must_use = "discard it once the lock is released"]
pub(super) enum Discarded {
    /// A value that others may still hold.
    Shared(Arc<Value>),
    /// A value overwritten in place, held by nobody else.
    Owned(Value),
}

impl Discarded {
    /// Drops the value (rule V1: without recursion, for any depth).
    pub fn discard(self) {
        match self {
            Discarded::Shared(value) => drop_shared(value),
            Discarded::Owned(value) => drop_deep(value),
        }
    }
}

/// A page of live entries: encoded key, value, expiry.
pub(super) type Page = Vec<(Arc<[u8]>, Arc<Value>, Option<Instant>)>;

/// The entries of a memory store. Every method takes encoded keys; those that
/// take values out return them for the caller to discard once the lock is
/// released.
#[derive(Debug, Default)]
pub(super) struct Table {
    map: HashMap<Arc<[u8]>, Entry, RandomState>,
    index: Index,
    /// How many entries have an expiry: while none has, a sweep has nothing
    /// to remove.
    expiring: usize,
}

impl Table {
    /// The live entry under `key` at `now` (read only if the entry has an
    /// expiry).
    pub fn get(&self, key: &[u8], now: &Now) -> Option<&Entry> {
        self.map.get(key).filter(|entry| entry.is_live_now(now))
    }

    /// Whether some entry has an expiry; when none has, a sweep would
    /// remove nothing.
    pub fn may_expire(&self) -> bool {
        self.expiring > 0
    }

    /// Inserts or replaces; returns the value replaced.
    pub fn put(&mut self, key: &[u8], write: Write) -> Option<Discarded> {
        self.expiring += usize::from(write.expires.is_some());
        if let Some(slot) = self.map.get_mut(key) {
            self.expiring -= usize::from(slot.expires.is_some());
            return Some(slot.overwrite(write));
        }
        let key: Arc<[u8]> = Arc::from(key);
        let value = match write.value {
            NewValue::Shared(value) => value,
            NewValue::Owned(value) => Arc::new(value),
        };
        self.index.added(Arc::clone(&key));
        self.map.insert(
            key,
            Entry {
                value,
                expires: write.expires,
            },
        );
        self.tidy();
        None
    }

    /// Compare-and-swap under `key`, with one lookup when the key is there:
    /// when the value live at `now` under `key` (`None` when absent or
    /// expired) equals `expected` (`json_opt_eq`), stores `new`, or removes
    /// the entry when `new` is `None`, and returns `Ok` with the value taken
    /// out; otherwise changes nothing and gives `new` back in `Err`.
    pub fn swap(
        &mut self,
        key: &[u8],
        now: &Now,
        expected: Option<&Value>,
        new: Option<Write>,
    ) -> Result<Option<Discarded>, Option<Write>> {
        let Some(slot) = self.map.get_mut(key) else {
            if expected.is_some() {
                return Err(new);
            }
            return Ok(new.and_then(|new| self.put(key, new)));
        };
        let current = slot.is_live_now(now).then(|| slot.value.as_ref());
        if !json_opt_eq(current, expected) {
            return Err(new);
        }
        Ok(match new {
            Some(new) => {
                self.expiring -= usize::from(slot.expires.is_some());
                self.expiring += usize::from(new.expires.is_some());
                Some(slot.overwrite(new))
            }
            None => self.remove(key),
        })
    }

    /// Removes the entry under `key`, live or expired, and returns its value.
    pub fn remove(&mut self, key: &[u8]) -> Option<Discarded> {
        let (_, entry) = self.map.remove_entry(key)?;
        self.expiring -= usize::from(entry.expires.is_some());
        self.index.removed(1);
        self.tidy();
        Some(Discarded::Shared(entry.value))
    }

    /// Removes the entries expired at `now` and returns them.
    pub fn remove_expired(&mut self, now: Instant) -> Vec<Entry> {
        let expired: Vec<Entry> = if self.may_expire() {
            self.map
                .extract_if(|_, entry| !entry.is_live(now))
                .map(|(_, entry)| entry)
                .collect()
        } else {
            Vec::new()
        };
        self.expiring -= expired.len();
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
                let entry = self.map.get(key).filter(|entry| entry.is_live(now))?;
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;

    fn owned(value: Value, expires: Option<Instant>) -> Write {
        Write {
            value: NewValue::Owned(value),
            expires,
        }
    }

    /// The count behind [`Table::may_expire`] against the entries
    /// themselves.
    fn assert_expiring_is_counted(table: &Table) {
        let counted = table.map.values().filter(|e| e.expires.is_some()).count();
        assert_eq!(table.expiring, counted);
        assert_eq!(table.may_expire(), counted > 0);
    }

    /// Puts, swaps, removals and sweeps, with and without expiries, keep
    /// the count of entries with an expiry exact.
    #[test]
    fn may_expire_follows_every_write() {
        let mut table = Table::default();
        let past = Instant::now();
        let later = past + Duration::from_secs(3600);
        let now = Now::lazy();
        assert!(!table.may_expire());
        for i in 0..40u32 {
            let key = [b'k', (i % 7) as u8];
            let expires = match i % 3 {
                0 => None,
                1 => Some(past),
                _ => Some(later),
            };
            match i % 5 {
                0 | 1 => drop(table.put(&key, owned(json!(i), expires))),
                2 => {
                    let current = table.get(&key, &now).map(|e| (*e.value).clone());
                    let swapped =
                        table.swap(&key, &now, current.as_ref(), Some(owned(json!(i), expires)));
                    assert!(swapped.is_ok());
                }
                3 => drop(table.remove(&key)),
                _ => {
                    let removed = table.remove_expired(Instant::now());
                    assert!(removed.iter().all(|e| e.expires == Some(past)));
                }
            }
            assert_expiring_is_counted(&table);
        }
        table.remove_expired(Instant::now() + Duration::from_secs(7200));
        assert_expiring_is_counted(&table);
    }

    /// An owned value overwrites the stored one in its allocation only when
    /// no reader holds it; a reader's copy is never changed.
    #[test]
    fn overwriting_in_place_spares_held_values() {
        let mut table = Table::default();
        let now = Now::lazy();
        assert!(table.put(b"k", owned(json!(1), None)).is_none());
        let before = Arc::as_ptr(&table.get(b"k", &now).unwrap().value);
        let replaced = table.put(b"k", owned(json!(2), None));
        assert!(matches!(replaced, Some(Discarded::Owned(ref v)) if *v == json!(1)));
        assert_eq!(Arc::as_ptr(&table.get(b"k", &now).unwrap().value), before);
        let held = Arc::clone(&table.get(b"k", &now).unwrap().value);
        let replaced = table.swap(b"k", &now, Some(&json!(2)), Some(owned(json!(3), None)));
        assert!(matches!(replaced, Ok(Some(Discarded::Shared(_)))));
        assert_eq!(*held, json!(2));
        assert_eq!(*table.get(b"k", &now).unwrap().value, json!(3));
        let refused = table.swap(b"k", &now, Some(&json!(2)), Some(owned(json!(4), None)));
        assert!(matches!(refused, Err(Some(_))));
        assert_eq!(*table.get(b"k", &now).unwrap().value, json!(3));
    }
}
