//! Checks for stores that keep expired entries until they are swept (the SQL
//! backends and memory, with sweeping switched off): there `count_expired`
//! must be exact, which the suite proper cannot demand, since it runs
//! alongside sweeps.

use std::sync::Arc;
use std::time::Duration;

use fedikv::KvStore;
use serde_json::json;

use crate::Namespace;
use crate::support::{Kv, sleep_ms};

/// S3: on a store that does not sweep by itself, `count_expired(prefix)` is
/// exactly the number of expired entries under the prefix (the prefix's own
/// key included, entries of a sibling prefix excluded), `count_expired(None)`
/// counts those of every prefix, and both are back to 0 after `sweep`.
///
/// Give it a store that no one else sweeps meanwhile: a table of its own,
/// with sweeping off.
pub async fn count_expired_is_exact(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("s3_count_expired_is_exact");
    let kv = Kv::new(store.clone());
    let count = |prefix: Option<fedikv::KvKey>| {
        let store = store.clone();
        async move {
            store
                .count_expired(prefix.as_ref())
                .await
                .unwrap_or_else(|e| {
                    panic!("{}: count_expired({prefix:?}) failed: {e}", store.backend())
                })
        }
    };
    let before_all = count(None).await;
    for i in 0..7 {
        let key = ns.key(["p", &format!("{i}")]);
        match i % 3 {
            0 => kv.set_ttl(&key, json!(i), Duration::ZERO).await,
            1 => kv.set_ttl(&key, json!(i), Duration::from_millis(1)).await,
            _ => kv.set_ttl(&key, json!(i), Duration::from_secs(3600)).await,
        }
    }
    kv.set_ttl(&ns.key(["p"]), json!("exact"), Duration::ZERO)
        .await;
    kv.set_ttl(&ns.key(["p", "5", "child"]), json!(1), Duration::ZERO)
        .await;
    kv.set_ttl(&ns.key(["pq"]), json!("sibling"), Duration::ZERO)
        .await;
    kv.set_ttl(&ns.key(["pq", "x"]), json!("sibling"), Duration::ZERO)
        .await;
    sleep_ms(20).await;
    // 0, 1, 3, 4, 6, the prefix itself and ["p","5","child"].
    let under_p = 7;
    assert_eq!(
        count(Some(ns.key(["p"]))).await,
        under_p,
        "S3: count_expired([p]) while nothing sweeps"
    );
    assert_eq!(
        count(Some(ns.key(["p", "5"]))).await,
        1,
        "S3: count_expired of a live key with one expired child"
    );
    assert_eq!(
        count(None).await,
        before_all + under_p + 2,
        "S3: count_expired(None) while nothing sweeps"
    );
    store.sweep().await.expect("S3: sweep");
    assert_eq!(
        count(Some(ns.prefix().clone())).await,
        0,
        "S3: count_expired after a sweep"
    );
    for i in [2, 5] {
        kv.delete(&ns.key(["p", &format!("{i}")])).await;
    }
}
