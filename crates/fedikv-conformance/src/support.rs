//! Helpers the tests share: a store wrapper that turns errors into panics with
//! context, entry-set assertions and TTL timing that tolerates a slow machine
//! without loosening any assertion.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fedikv::{KvEntry, KvKey, KvRecord, KvStore, SetOptions, json_eq, json_opt_eq};
use futures::TryStreamExt;
use serde_json::Value;

use crate::Namespace;

/// Extra time waited after a TTL before an entry must be gone: covers clock
/// granularity and the gap between a client's and a server's clock reading.
pub(crate) const EXPIRY_GRACE: Duration = Duration::from_millis(300);

/// Slack allowed between a TTL and the remaining time a store reports for
/// it: a client's and a server's clock, and rounding to milliseconds.
pub(crate) const CLOCK_SLACK: Duration = Duration::from_millis(250);

/// A store whose operations panic with the backend, operation and key when
/// they fail, so that tests read as the rules they check.
#[derive(Clone)]
pub(crate) struct Kv {
    store: Arc<dyn KvStore>,
}

impl Kv {
    pub(crate) fn new(store: Arc<dyn KvStore>) -> Self {
        Self { store }
    }

    fn fail(&self, op: &str, key: Option<&KvKey>, error: fedikv::KvError) -> ! {
        let backend = self.store.backend();
        match key {
            Some(key) => panic!("{backend}: {op}({key}) failed: {error}"),
            None => panic!("{backend}: {op} failed: {error}"),
        }
    }

    pub(crate) async fn get(&self, key: &KvKey) -> Option<Value> {
        self.store
            .get(key)
            .await
            .unwrap_or_else(|e| self.fail("get", Some(key), e))
    }

    pub(crate) async fn get_shared(&self, key: &KvKey) -> Option<Arc<Value>> {
        self.store
            .get_shared(key)
            .await
            .unwrap_or_else(|e| self.fail("get_shared", Some(key), e))
    }

    pub(crate) async fn set_shared(&self, key: &KvKey, value: Arc<Value>, ttl: Option<Duration>) {
        self.store
            .set_shared(key, value, SetOptions::with_ttl(ttl))
            .await
            .unwrap_or_else(|e| self.fail("set_shared", Some(key), e));
    }

    pub(crate) async fn set_with(&self, key: &KvKey, value: Value, ttl: Option<Duration>) {
        self.store
            .set(key, &value, SetOptions::with_ttl(ttl))
            .await
            .unwrap_or_else(|e| self.fail("set", Some(key), e));
    }

    pub(crate) async fn set(&self, key: &KvKey, value: Value) {
        self.set_with(key, value, None).await;
    }

    pub(crate) async fn set_ttl(&self, key: &KvKey, value: Value, ttl: Duration) {
        self.set_with(key, value, Some(ttl)).await;
    }

    pub(crate) async fn delete(&self, key: &KvKey) {
        self.store
            .delete(key)
            .await
            .unwrap_or_else(|e| self.fail("delete", Some(key), e));
    }

    pub(crate) async fn cas_with(
        &self,
        key: &KvKey,
        expected: Option<Value>,
        new: Option<Value>,
        ttl: Option<Duration>,
    ) -> bool {
        self.store
            .cas(
                key,
                expected.as_ref(),
                new.as_ref(),
                SetOptions::with_ttl(ttl),
            )
            .await
            .unwrap_or_else(|e| self.fail("cas", Some(key), e))
    }

    pub(crate) async fn cas(
        &self,
        key: &KvKey,
        expected: Option<Value>,
        new: Option<Value>,
    ) -> bool {
        self.cas_with(key, expected, new, None).await
    }

    /// Every entry `list(prefix)` yields, in the order it yields them.
    pub(crate) async fn list(&self, prefix: Option<&KvKey>) -> Vec<KvEntry> {
        self.store
            .list(prefix)
            .try_collect()
            .await
            .unwrap_or_else(|e| self.fail("list", prefix, e))
    }

    /// Every record `scan(prefix)` yields, in the order it yields them.
    pub(crate) async fn scan(&self, prefix: Option<&KvKey>) -> Vec<KvRecord> {
        self.store
            .scan(prefix)
            .try_collect()
            .await
            .unwrap_or_else(|e| self.fail("scan", prefix, e))
    }

    /// The entries of `list(None)` that lie in `ns`: other tests may be
    /// writing to the same store.
    pub(crate) async fn list_everything_in(&self, ns: &Namespace) -> Vec<KvEntry> {
        let mut entries = self.list(None).await;
        entries.retain(|e| ns.owns(&e.key));
        entries
    }

    /// Gets `key`, which was written with `expected` and `ttl` no earlier than
    /// `written`, and must therefore still be live. Returns [`TooSlow`] when
    /// it is gone but more than `ttl` has passed since `written` (the machine
    /// was too slow to tell); panics when it is gone earlier or holds another
    /// value.
    pub(crate) async fn expect_live(
        &self,
        key: &KvKey,
        expected: &Value,
        written: Instant,
        ttl: Duration,
    ) -> Result<(), TooSlow> {
        let got = self.get(key).await;
        let elapsed = written.elapsed();
        match got {
            Some(value) => {
                assert!(
                    json_eq(&value, expected),
                    "{}: get({key}) = {value}, expected {expected}",
                    self.store.backend()
                );
                Ok(())
            }
            None if elapsed < ttl => panic!(
                "{}: {key} written with a TTL of {ttl:?} was already gone after {elapsed:?} (O2: TTLs count from the write)",
                self.store.backend()
            ),
            None => Err(TooSlow),
        }
    }
}

/// A liveness check could not be decided because the machine took longer than
/// the TTL under test; the step is repeated with a longer TTL.
#[derive(Debug)]
pub(crate) struct TooSlow;

/// Runs `attempt(ttl)`, doubling `ttl` after each [`TooSlow`], at most 4
/// times. `attempt` must use keys of its own per TTL.
pub(crate) async fn with_ttl<F, Fut>(what: &str, ttl: Duration, mut attempt: F)
where
    F: FnMut(Duration) -> Fut,
    Fut: Future<Output = Result<(), TooSlow>>,
{
    let mut ttl = ttl;
    for _ in 0..4 {
        if attempt(ttl).await.is_ok() {
            return;
        }
        ttl *= 2;
    }
    panic!("{what}: the machine was too slow to check a TTL of {ttl:?} four times in a row");
}

/// Sleeps until `ttl` plus [`EXPIRY_GRACE`] after `written` (an instant after
/// the write returned), when the entry must be expired.
pub(crate) async fn sleep_past(written: Instant, ttl: Duration) {
    tokio::time::sleep_until((written + ttl + EXPIRY_GRACE).into()).await;
}

/// Sleeps for `ms` milliseconds.
pub(crate) async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// Asserts that `actual` deep-equals `expected` (`None` = absent).
#[track_caller]
pub(crate) fn assert_value(what: &str, actual: Option<Value>, expected: Option<Value>) {
    assert!(
        json_opt_eq(actual.as_ref(), expected.as_ref()),
        "{what}: got {}, expected {}",
        show(actual.as_ref()),
        show(expected.as_ref())
    );
}

fn show(value: Option<&Value>) -> String {
    value.map_or_else(|| "none (absent)".to_owned(), Value::to_string)
}

/// Asserts that `actual` holds exactly the `expected` entries, each once, with
/// byte-exact keys and deep-equal values, in any order.
#[track_caller]
pub(crate) fn assert_entries(what: &str, actual: &[KvEntry], expected: &[(KvKey, Value)]) {
    let mut problems = String::new();
    let mut seen: BTreeMap<&KvKey, &Value> = BTreeMap::new();
    for entry in actual {
        if seen.insert(&entry.key, &entry.value).is_some() {
            let _ = writeln!(problems, "  listed more than once: {}", entry.key);
        }
    }
    let mut wanted: BTreeMap<&KvKey, &Value> = BTreeMap::new();
    for (key, value) in expected {
        wanted.insert(key, value);
    }
    for (key, value) in &wanted {
        match seen.get(key) {
            None => {
                let _ = writeln!(problems, "  missing: {key} = {value}");
            }
            Some(got) if !json_eq(got, value) => {
                let _ = writeln!(problems, "  wrong value: {key} = {got}, expected {value}");
            }
            Some(_) => {}
        }
    }
    for (key, value) in &seen {
        if !wanted.contains_key(key) {
            let _ = writeln!(problems, "  unexpected: {key} = {value}");
        }
    }
    assert!(
        problems.is_empty(),
        "{what}: listed {} entries, expected {}:\n{problems}",
        actual.len(),
        expected.len()
    );
}

/// Asserts that `left`, the remaining TTL `scan` reported for `key`, fits an
/// entry written with TTL `ttl` at most `elapsed` ago: in
/// `(ttl - elapsed - CLOCK_SLACK, ttl]`.
#[track_caller]
pub(crate) fn assert_ttl_left(
    what: &str,
    key: &KvKey,
    left: Option<Duration>,
    ttl: Duration,
    elapsed: Duration,
) {
    let left = left.unwrap_or_else(|| {
        panic!("{what}: scan reported no expiry for {key}, written with a TTL of {ttl:?}")
    });
    assert!(
        left <= ttl && left + elapsed + CLOCK_SLACK > ttl,
        "{what}: scan reported {left:?} left for {key}, written {elapsed:?} ago with a TTL of {ttl:?}"
    );
}

/// The value the tests store under `key`: names the key, so a value found
/// under the wrong key gives itself away.
pub(crate) fn value_for(key: &KvKey) -> Value {
    serde_json::json!({ "key": key.components() })
}

/// The keys of `entries`, in order.
pub(crate) fn keys(entries: &[KvEntry]) -> Vec<KvKey> {
    entries.iter().map(|e| e.key.clone()).collect()
}
