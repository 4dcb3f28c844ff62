//! [`MemoryKvStore`]: an ordered in-process store, for tests and single
//! processes.
//!
//! - [`table`]: the entries, a hash map keyed by encoded keys;
//! - [`index`]: the keys in order, for `list`, updated lazily;
//! - [`ordered`]: the byte encoding of keys that sorts like the keys;
//! - [`now`]: an operation's time, read from the clock only when needed.

mod index;
mod now;
mod ordered;
mod table;

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::Value;

use crate::error::{KvError, KvResult};
use crate::json::clone_deep;
use crate::key::KvKey;
use crate::paging::{PAGE_SIZE, into_entries, paged};
use crate::store::{KvRecord, KvRecordStream, KvStore, KvStream, SetOptions};
use crate::sweep::{SweepPolicy, SweepSchedule};
use crate::telemetry::{Op, Telemetry};
use now::Now;
use ordered::with_encoded;
use table::{Entry, NewValue, Page, Table, Write};

#[derive(Debug)]
struct Inner {
    table: RwLock<Table>,
    schedule: SweepSchedule,
    telemetry: Arc<Telemetry>,
}

/// A [`KvStore`] in process memory, like Fedify's `MemoryKvStore`.
///
/// Entries live in a hash map; `list` walks an ordered index of the keys,
/// so it yields keys in component-wise order (`["a"]`, `["a", ""]`,
/// `["a", "b"]`, ...). Values are held as `Arc<Value>`:
/// [`set_shared`](KvStore::set_shared) keeps the caller's value and
/// [`get_shared`](KvStore::get_shared) hands out the stored one, neither
/// copying it; [`get`](KvStore::get), [`set`](KvStore::set), `cas`, `list`
/// and `scan` copy values in and out (a copied-in value overwrites the one
/// it replaces in place when no reader holds that one). The store is cheap
/// to clone (clones share the data) and safe to use from many tasks; `cas` is
/// atomic under a write lock. Expired entries are invisible at once and
/// removed by sweeps ([`SweepPolicy`]): automatic ones run after a write
/// that stores a value, at most once per interval and only while some entry
/// has an expiry; point operations on entries without one never read the
/// clock.
/// Values a write replaces or removes are freed after the lock is released.
#[derive(Debug, Clone)]
pub struct MemoryKvStore {
    inner: Arc<Inner>,
}

impl Default for MemoryKvStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryKvStore {
    /// An empty store with the default [`SweepPolicy`].
    pub fn new() -> Self {
        Self::with_sweep_policy(SweepPolicy::default())
    }

    /// An empty store with the given sweep policy.
    pub fn with_sweep_policy(policy: SweepPolicy) -> Self {
        Self {
            inner: Arc::new(Inner {
                table: RwLock::new(Table::default()),
                schedule: SweepSchedule::new(policy),
                telemetry: Arc::new(Telemetry::new("memory", None)),
            }),
        }
    }

    /// Number of live entries.
    pub fn len(&self) -> usize {
        self.read().live(Instant::now())
    }

    /// Whether the store holds no live entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // A poisoned lock only means another task panicked while holding it; the
    // table itself is always left consistent, so keep serving.
    fn read(&self) -> RwLockReadGuard<'_, Table> {
        self.inner.table.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Table> {
        self.inner.table.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The write of `value` with `options` at `now` (read only for a TTL).
    /// The TTL is clamped to [`MAX_TTL`](crate::MAX_TTL); should even that
    /// not fit an `Instant` on this platform (it would outlive the process
    /// anyway), the entry never expires, rather than a panic.
    fn write_of(value: NewValue, options: SetOptions, now: &Now) -> Write {
        Write {
            value,
            expires: options
                .effective_ttl()
                .and_then(|ttl| now.get().checked_add(ttl)),
        }
    }

    fn get_shared_now(&self, key: &KvKey) -> Option<Arc<Value>> {
        let now = Now::lazy();
        with_encoded(key, |key| {
            self.read()
                .get(key, &now)
                .map(|entry| Arc::clone(&entry.value))
        })
    }

    fn put(&self, key: &KvKey, value: NewValue, options: SetOptions) {
        let now = Now::lazy();
        let write = Self::write_of(value, options, &now);
        let (replaced, may_expire) = with_encoded(key, |key| {
            let mut table = self.write();
            (table.put(key, write), table.may_expire())
        });
        if let Some(value) = replaced {
            value.discard();
        }
        self.after_write(may_expire, &now);
    }

    /// Removes the entry under `key`. A removal does not claim the
    /// automatic sweep ([`after_write`](Self::after_write)): it adds nothing
    /// for a sweep to keep in bounds.
    fn remove(&self, key: &KvKey) {
        let removed = with_encoded(key, |key| self.write().remove(key));
        if let Some(value) = removed {
            value.discard();
        }
    }

    fn swap(
        &self,
        key: &KvKey,
        expected: Option<&Value>,
        new: Option<&Value>,
        options: SetOptions,
    ) -> bool {
        // The new value is copied before the lock is taken, and whatever is
        // left over (the replaced value, or the new one when the values
        // differ) is discarded after it is released.
        let now = Now::lazy();
        let stores = new.is_some();
        let new =
            new.map(|value| Self::write_of(NewValue::Owned(clone_deep(value)), options, &now));
        let (outcome, may_expire) = with_encoded(key, |key| {
            let mut table = self.write();
            (table.swap(key, &now, expected, new), table.may_expire())
        });
        match outcome {
            Ok(replaced) => {
                if let Some(value) = replaced {
                    value.discard();
                }
                if stores {
                    self.after_write(may_expire, &now);
                }
                true
            }
            Err(unused) => {
                if let Some(write) = unused {
                    write.discard();
                }
                false
            }
        }
    }

    /// After a write that stored a value: runs the automatic sweep when it
    /// is due and some entry has an expiry (`may_expire`, read under the
    /// write's lock); `now` is the write's time, read here if the write did
    /// not need it.
    fn after_write(&self, may_expire: bool, now: &Now) {
        if may_expire && self.inner.schedule.claim_at(now.get()) {
            let sweep = || Ok::<_, KvError>(self.remove_expired());
            let _ = (self.inner.telemetry).observe_sync(Op::BackgroundSweep, KvError::kind, sweep);
        }
    }

    fn remove_expired(&self) -> u64 {
        let expired = self.write().remove_expired(Instant::now());
        let removed = expired.len() as u64;
        expired.into_iter().for_each(Entry::discard);
        removed
    }

    fn count_expired_now(&self, prefix: Option<&KvKey>) -> u64 {
        let now = Instant::now();
        let prefix = prefix.map(ordered::encode).unwrap_or_default();
        self.read().expired_under(&prefix, now) as u64
    }

    /// The page of `scan(prefix)` after the encoded key `after`, read under
    /// the lock, and the cursor of the next page.
    fn page(&self, prefix: &[u8], after: Option<&[u8]>) -> (Page, Option<Arc<[u8]>>) {
        let now = Instant::now();
        let read = self.read();
        let page = if read.is_settled() {
            read.page(prefix, after, now, PAGE_SIZE)
        } else {
            drop(read);
            let mut write = self.write();
            write.settle();
            write.page(prefix, after, now, PAGE_SIZE)
        };
        let next = (page.len() == PAGE_SIZE)
            .then(|| page.last().map(|(key, ..)| Arc::clone(key)))
            .flatten();
        (page, next)
    }

    fn scan_records(&self, prefix: Option<&KvKey>) -> KvRecordStream {
        let store = self.clone();
        let prefix = prefix.map(ordered::encode).unwrap_or_default();
        paged(None, move |after: Option<Arc<[u8]>>| {
            let (page, next) = store.page(&prefix, after.as_deref());
            let now = Instant::now();
            let records = page
                .into_iter()
                .map(|(key, value, expires)| {
                    Ok(KvRecord {
                        key: ordered::decode(&key)?,
                        value: clone_deep(&value),
                        expires_in: expires.map(|at| remaining_ms(at, now)),
                    })
                })
                .collect();
            async move { Ok((records, next.map(Some))) }
        })
    }
}

/// The time from `now` to `at` rounded up to whole milliseconds, as the SQL
/// backends report it: a live entry never reports zero.
fn remaining_ms(at: Instant, now: Instant) -> Duration {
    let left = at.saturating_duration_since(now);
    let ms = left.as_nanos().div_ceil(1_000_000);
    Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

#[async_trait]
impl KvStore for MemoryKvStore {
    async fn get(&self, key: &KvKey) -> KvResult<Option<Value>> {
        let get = async { Ok(self.get_shared_now(key).map(|value| clone_deep(&value))) };
        self.inner.telemetry.observe(Op::Get, Some(key), get).await
    }

    async fn get_shared(&self, key: &KvKey) -> KvResult<Option<Arc<Value>>> {
        let get = async { Ok(self.get_shared_now(key)) };
        self.inner.telemetry.observe(Op::Get, Some(key), get).await
    }

    async fn set(&self, key: &KvKey, value: &Value, options: SetOptions) -> KvResult<()> {
        let set = async {
            self.put(key, NewValue::Owned(clone_deep(value)), options);
            Ok(())
        };
        self.inner.telemetry.observe(Op::Set, Some(key), set).await
    }

    async fn set_shared(
        &self,
        key: &KvKey,
        value: Arc<Value>,
        options: SetOptions,
    ) -> KvResult<()> {
        let set = async {
            self.put(key, NewValue::Shared(value), options);
            Ok(())
        };
        self.inner.telemetry.observe(Op::Set, Some(key), set).await
    }

    async fn delete(&self, key: &KvKey) -> KvResult<()> {
        let delete = async {
            self.remove(key);
            Ok(())
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
        let cas = async { Ok(self.swap(key, expected, new, options)) };
        self.inner.telemetry.observe(Op::Cas, Some(key), cas).await
    }

    fn list(&self, prefix: Option<&KvKey>) -> KvStream {
        let entries = into_entries(self.scan_records(prefix));
        self.inner.telemetry.stream(Op::List, prefix, entries)
    }

    fn scan(&self, prefix: Option<&KvKey>) -> KvRecordStream {
        let records = self.scan_records(prefix);
        self.inner.telemetry.stream(Op::Scan, prefix, records)
    }

    async fn sweep(&self) -> KvResult<u64> {
        let sweep = async { Ok(self.remove_expired()) };
        self.inner.telemetry.observe(Op::Sweep, None, sweep).await
    }

    async fn count_expired(&self, prefix: Option<&KvKey>) -> KvResult<u64> {
        let count = async { Ok(self.count_expired_now(prefix)) };
        self.inner
            .telemetry
            .observe(Op::CountExpired, prefix, count)
            .await
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;
    use serde_json::json;

    use super::*;

    fn key(i: usize) -> KvKey {
        KvKey::new(["k", &format!("{i:05}")]).unwrap()
    }

    /// Every live entry, in `list` order.
    async fn listed(store: &MemoryKvStore) -> Vec<(KvKey, Value)> {
        store
            .list(None)
            .map_ok(|entry| (entry.key, entry.value))
            .try_collect()
            .await
            .unwrap()
    }

    /// Enough deletes to prune the index, then some deleted keys written
    /// again: `list` yields exactly the live keys, in order, across pages.
    #[tokio::test]
    async fn list_is_exact_after_the_index_is_pruned_and_keys_come_back() {
        let store = MemoryKvStore::new();
        let n = 3000;
        for i in 0..n {
            store
                .set(&key(i), &json!(i), SetOptions::default())
                .await
                .unwrap();
        }
        assert_eq!(listed(&store).await.len(), n);
        for i in (0..n).filter(|i| i % 6 != 0) {
            store.delete(&key(i)).await.unwrap();
        }
        for i in (0..n).filter(|i| i % 6 == 1) {
            store
                .set_shared(&key(i), Arc::new(json!(i)), SetOptions::default())
                .await
                .unwrap();
        }
        let expected: Vec<(KvKey, Value)> = (0..n)
            .filter(|i| i % 6 < 2)
            .map(|i| (key(i), json!(i)))
            .collect();
        assert_eq!(listed(&store).await, expected);
        assert_eq!(store.len(), expected.len());
    }

    /// Interleaved `set`, `set_shared`, `cas` (swapping, refused, deleting),
    /// `delete` and TTL writes, with a listing between rounds: every
    /// listing, `get` and `len` agrees with a sorted model of the store, and
    /// a value read out stays as it was read when its key is overwritten.
    #[tokio::test]
    async fn list_and_get_follow_a_model_through_interleaved_writes() {
        use std::collections::BTreeMap;

        let store = MemoryKvStore::new();
        let mut model: BTreeMap<String, Value> = BTreeMap::new();
        let keys = 200;
        let held = store.get_shared(&key(0)).await.unwrap();
        assert!(held.is_none());
        for round in 0..6usize {
            for i in 0..keys {
                let k = key(i);
                let name = format!("{i:05}");
                let value = json!({"round": round, "i": i});
                match (i + round) % 6 {
                    0 => store.set(&k, &value, SetOptions::default()).await.unwrap(),
                    1 => store
                        .set_shared(&k, Arc::new(value.clone()), SetOptions::default())
                        .await
                        .unwrap(),
                    2 => {
                        let current = model.get(&name);
                        assert!(
                            store
                                .cas(&k, current, Some(&value), SetOptions::default())
                                .await
                                .unwrap()
                        );
                    }
                    3 => {
                        let wrong = json!("not the value");
                        assert!(
                            !store
                                .cas(&k, Some(&wrong), Some(&value), SetOptions::default())
                                .await
                                .unwrap()
                        );
                        continue;
                    }
                    4 => {
                        let current = model.get(&name);
                        assert!(
                            store
                                .cas(&k, current, None, SetOptions::default())
                                .await
                                .unwrap()
                        );
                        model.remove(&name);
                        continue;
                    }
                    _ => {
                        let ttl = SetOptions::ttl(Duration::from_secs(3600));
                        store.set(&k, &value, ttl).await.unwrap();
                    }
                }
                model.insert(name, value);
            }
            for i in (0..keys).filter(|i| (i + round) % 7 == 0) {
                store.delete(&key(i)).await.unwrap();
                model.remove(&format!("{i:05}"));
            }
            let entries = listed(&store).await;
            let expected: Vec<(KvKey, Value)> = model
                .iter()
                .map(|(name, value)| (KvKey::new(["k", name]).unwrap(), value.clone()))
                .collect();
            assert_eq!(entries, expected, "round {round}");
            assert_eq!(store.len(), model.len());
            let read = store.get_shared(&key(round)).await.unwrap();
            store
                .set(&key(round), &json!("overwritten"), SetOptions::default())
                .await
                .unwrap();
            model.insert(format!("{round:05}"), json!("overwritten"));
            assert_eq!(read.as_deref(), expected_value(&expected, round));
        }
    }

    fn expected_value(entries: &[(KvKey, Value)], i: usize) -> Option<&Value> {
        let wanted = key(i);
        entries.iter().find(|(k, _)| *k == wanted).map(|(_, v)| v)
    }
}
