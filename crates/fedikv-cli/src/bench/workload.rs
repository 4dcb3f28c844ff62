//! The data of the workload of docs/benchmarks.md, identical to the Node
//! harness's that runs Fedify's stores through it: keys, the 1 KiB
//! cached-document values, the sizes of each phase, and the warm-up.

use std::sync::Arc;
use std::time::Duration;

use fedikv::{KvKey, KvResult, KvStore, SetOptions};
use serde_json::Value;

/// The listed prefix of phase (f).
pub const LIST_PREFIX: [&str; 2] = ["_fedify", "bench-list"];

/// Size of each value's compact JSON, bytes.
pub const VALUE_BYTES: usize = fedikv::bench_support::DOCUMENT_BYTES;

/// The sizes of a run.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Operations (and keys) per phase.
    pub n: usize,
    /// In-flight operations of the concurrent phase.
    pub concurrency: usize,
    /// Time cap of each phase.
    pub phase_max: Duration,
    /// Keys under [`LIST_PREFIX`].
    pub list_keys: usize,
    /// Timed `list` calls.
    pub list_repeat: usize,
    /// Warm-up set+get pairs.
    pub warmup: usize,
    /// `values[i]` is the value of key `i` (`fedikv::bench_support::document(i)`),
    /// built up front and shared, so that a store that keeps shared values
    /// ([`KvStore::set_shared`]) need not copy them.
    pub values: Arc<Vec<Arc<Value>>>,
}

impl Workload {
    /// The peer's defaults (1000 list keys, 50 list calls, 500 warm-up pairs)
    /// with `n` operations per phase.
    pub fn new(n: usize, concurrency: usize, phase_max: Duration) -> Self {
        Self {
            n,
            concurrency,
            phase_max,
            list_keys: 1000,
            list_repeat: 50,
            warmup: 500,
            values: Arc::new(
                (0..n)
                    .map(|i| Arc::new(fedikv::bench_support::document(i)))
                    .collect(),
            ),
        }
    }

    /// The value of key `i` (values repeat every `n` keys).
    pub fn value(&self, i: usize) -> &Value {
        self.shared(i)
    }

    /// The value of key `i`, shared.
    pub fn shared(&self, i: usize) -> &Arc<Value> {
        &self.values[i % self.values.len()]
    }
}

/// A key of three components, the last one moved in rather than copied.
fn key3(first: &str, second: &str, last: String) -> KvResult<KvKey> {
    KvKey::new([first.to_owned(), second.to_owned(), last])
}

/// `["_fedify","remoteDocument","https://example.com/users/<i>"]`.
pub fn doc_key(i: usize) -> KvResult<KvKey> {
    key3(
        "_fedify",
        "remoteDocument",
        format!("https://example.com/users/{i}"),
    )
}

/// `["_fedify","remoteDocument","https://example.com/missing/<i>"]`.
pub fn miss_key(i: usize) -> KvResult<KvKey> {
    key3(
        "_fedify",
        "remoteDocument",
        format!("https://example.com/missing/{i}"),
    )
}

/// `["_fedify","bench-ttl","https://example.com/users/<i>"]`.
pub fn ttl_key(i: usize) -> KvResult<KvKey> {
    key3(
        "_fedify",
        "bench-ttl",
        format!("https://example.com/users/{i}"),
    )
}

/// `["_fedify","bench-list","https://example.com/notes/<i>"]`.
pub fn list_key(i: usize) -> KvResult<KvKey> {
    key3(
        LIST_PREFIX[0],
        LIST_PREFIX[1],
        format!("https://example.com/notes/{i}"),
    )
}

/// `["_fedify","bench-warmup","https://example.com/users/<i>"]`.
pub fn warm_key(i: usize) -> KvResult<KvKey> {
    key3(
        "_fedify",
        "bench-warmup",
        format!("https://example.com/users/{i}"),
    )
}

/// `["_fedify","bench","counter"]`, the key of the `cas` phase.
pub fn counter_key() -> KvResult<KvKey> {
    KvKey::new(["_fedify", "bench", "counter"])
}

/// The peer's warm-up: `warmup` × (set, get) of warm-up keys, then a
/// deep-equality round-trip check. Returns a note when the value read back
/// differs from the one written.
pub async fn warm_up(store: &dyn KvStore, workload: &Workload) -> KvResult<Option<String>> {
    for i in 0..workload.warmup {
        let key = warm_key(i)?;
        store
            .set(&key, workload.value(i), SetOptions::default())
            .await?;
        store.get(&key).await?;
    }
    let probe = store.get(&warm_key(0)?).await?;
    Ok(
        (!fedikv::json_opt_eq(probe.as_ref(), Some(workload.value(0)))).then(|| {
            let text = probe
                .map(|v| v.to_string())
                .unwrap_or_else(|| "nothing".into());
            format!(
                "get() returned {}..., not the stored value",
                text.chars().take(40).collect::<String>()
            )
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_peers() {
        assert_eq!(
            doc_key(7).unwrap().to_json(),
            r#"["_fedify","remoteDocument","https://example.com/users/7"]"#
        );
        assert_eq!(
            list_key(3).unwrap().to_json(),
            r#"["_fedify","bench-list","https://example.com/notes/3"]"#
        );
        assert_eq!(
            counter_key().unwrap().to_json(),
            r#"["_fedify","bench","counter"]"#
        );
    }
}
