//! [`MemoryKvStore`]: an ordered in-process store, for tests and single
//! processes.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::Value;

use crate::error::{KvError, KvResult};
use crate::json::{clone_deep, drop_deep, json_opt_eq};
use crate::key::KvKey;
use crate::paging::{PAGE_SIZE, into_entries, paged};
use crate::store::{KvRecord, KvRecordStream, KvStore, KvStream, SetOptions};
use crate::sweep::{SweepPolicy, SweepSchedule};
use crate::telemetry::{Op, Telemetry};

#[derive(Debug)]
struct Entry {
    value: Value,
    expires: Option<Instant>,
}

/// Values of any depth are dropped without recursion (rule V1).
impl Drop for Entry {
    fn drop(&mut self) {
        drop_deep(std::mem::take(&mut self.value));
    }
}

impl Entry {
    fn is_live(&self, now: Instant) -> bool {
        self.expires.is_none_or(|at| at > now)
    }
}

#[derive(Debug)]
struct Inner {
    map: RwLock<BTreeMap<KvKey, Entry>>,
    schedule: SweepSchedule,
    telemetry: Arc<Telemetry>,
}

/// A [`KvStore`] in process memory, like Fedify's `MemoryKvStore`.
///
/// Entries live in a `BTreeMap` ordered component-wise, so `list` is a range
/// over the prefix and yields keys in component-wise order
/// (`["a"]`, `["a", ""]`, `["a", "b"]`, ...). Values are cloned in and out.
/// The store is cheap to clone (clones share the data) and safe to use from
/// many tasks; `cas` is atomic under a write lock. Expired entries are
/// invisible at once and removed by sweeps ([`SweepPolicy`]).
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
                map: RwLock::new(BTreeMap::new()),
                schedule: SweepSchedule::new(policy),
                telemetry: Arc::new(Telemetry::new("memory", None)),
            }),
        }
    }

    /// Number of live entries.
    pub fn len(&self) -> usize {
        let now = Instant::now();
        self.read().values().filter(|e| e.is_live(now)).count()
    }

    /// Whether the store holds no live entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // A poisoned lock only means another task panicked while holding it; the
    // map itself is always left consistent, so keep serving.
    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<KvKey, Entry>> {
        self.inner.map.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<KvKey, Entry>> {
        self.inner.map.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The entry a write with `options` stores. The TTL is clamped to
    /// [`MAX_TTL`](crate::MAX_TTL); should even that not fit an `Instant` on
    /// this platform (it would outlive the process anyway), the entry never
    /// expires, rather than a panic.
    fn entry(value: &Value, options: SetOptions) -> Entry {
        Entry {
            value: clone_deep(value),
            expires: options
                .effective_ttl()
                .and_then(|ttl| Instant::now().checked_add(ttl)),
        }
    }

    /// Inserts or replaces, cloning the key only for a new entry.
    fn put(map: &mut BTreeMap<KvKey, Entry>, key: &KvKey, entry: Entry) {
        match map.get_mut(key) {
            Some(slot) => *slot = entry,
            None => {
                map.insert(key.clone(), entry);
            }
        }
    }

    fn after_write(&self) {
        if self.inner.schedule.claim() {
            let sweep = || Ok::<_, KvError>(self.remove_expired());
            let _ = (self.inner.telemetry).observe_sync(Op::BackgroundSweep, KvError::kind, sweep);
        }
    }

    fn remove_expired(&self) -> u64 {
        let now = Instant::now();
        let mut map = self.write();
        let before = map.len();
        map.retain(|_, e| e.is_live(now));
        (before - map.len()) as u64
    }

    /// Entries under `prefix` (all when `None`), from `after` on (exclusive).
    fn range<'a>(
        map: &'a BTreeMap<KvKey, Entry>,
        prefix: Option<&'a KvKey>,
        after: Option<&'a KvKey>,
    ) -> impl Iterator<Item = (&'a KvKey, &'a Entry)> {
        let start = match (after, prefix) {
            (Some(after), _) => Bound::Excluded(after),
            (None, Some(prefix)) => Bound::Included(prefix),
            (None, None) => Bound::Unbounded,
        };
        map.range((start, Bound::Unbounded))
            .take_while(move |(k, _)| prefix.is_none_or(|p| k.starts_with(p)))
    }

    fn page(&self, prefix: Option<&KvKey>, after: Option<&KvKey>) -> Vec<KvRecord> {
        let now = Instant::now();
        let map = self.read();
        Self::range(&map, prefix, after)
            .filter(|(_, e)| e.is_live(now))
            .take(PAGE_SIZE)
            .map(|(k, e)| KvRecord {
                key: k.clone(),
                value: clone_deep(&e.value),
                expires_in: e.expires.map(|at| remaining_ms(at, now)),
            })
            .collect()
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
        let get = async {
            let now = Instant::now();
            Ok(self
                .read()
                .get(key)
                .filter(|e| e.is_live(now))
                .map(|e| clone_deep(&e.value)))
        };
        self.inner.telemetry.observe(Op::Get, Some(key), get).await
    }

    async fn set(&self, key: &KvKey, value: &Value, options: SetOptions) -> KvResult<()> {
        let set = async {
            let entry = Self::entry(value, options);
            Self::put(&mut self.write(), key, entry);
            self.after_write();
            Ok(())
        };
        self.inner.telemetry.observe(Op::Set, Some(key), set).await
    }

    async fn delete(&self, key: &KvKey) -> KvResult<()> {
        let delete = async {
            self.write().remove(key);
            self.after_write();
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
        let cas = async {
            let now = Instant::now();
            {
                let mut map = self.write();
                let current = map.get(key).filter(|e| e.is_live(now)).map(|e| &e.value);
                if !json_opt_eq(current, expected) {
                    return Ok(false);
                }
                match new {
                    Some(value) => Self::put(&mut map, key, Self::entry(value, options)),
                    None => {
                        map.remove(key);
                    }
                }
            }
            self.after_write();
            Ok(true)
        };
        self.inner.telemetry.observe(Op::Cas, Some(key), cas).await
    }

    fn list(&self, prefix: Option<&KvKey>) -> KvStream {
        let entries = into_entries(self.records(prefix));
        self.inner.telemetry.stream(Op::List, prefix, entries)
    }

    fn scan(&self, prefix: Option<&KvKey>) -> KvRecordStream {
        let records = self.records(prefix);
        self.inner.telemetry.stream(Op::Scan, prefix, records)
    }

    async fn sweep(&self) -> KvResult<u64> {
        let sweep = async { Ok(self.remove_expired()) };
        self.inner.telemetry.observe(Op::Sweep, None, sweep).await
    }

    async fn count_expired(&self, prefix: Option<&KvKey>) -> KvResult<u64> {
        let count = async {
            let now = Instant::now();
            let map = self.read();
            let expired = Self::range(&map, prefix, None)
                .filter(|(_, e)| !e.is_live(now))
                .count();
            Ok(expired as u64)
        };
        self.inner
            .telemetry
            .observe(Op::CountExpired, prefix, count)
            .await
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}

impl MemoryKvStore {
    /// The records of `scan`, unobserved.
    fn records(&self, prefix: Option<&KvKey>) -> KvRecordStream {
        let store = self.clone();
        let prefix = prefix.cloned();
        paged(None, move |after: Option<KvKey>| {
            let page = store.page(prefix.as_ref(), after.as_ref());
            let next = if page.len() == PAGE_SIZE {
                page.last().map(|e| Some(e.key.clone()))
            } else {
                None
            };
            async move { Ok((page.into_iter().map(Ok).collect(), next)) }
        })
    }
}
