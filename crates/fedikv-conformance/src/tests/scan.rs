//! O5 `scan` (listing with remaining TTLs) and S3 `count_expired`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fedikv::{KvKey, KvRecord, KvStore};
use serde_json::{Value, json};

use crate::Namespace;
use crate::support::{Kv, assert_entries, assert_ttl_left, sleep_ms};

/// O5: `scan(prefix)` yields the entries of `list(prefix)`, each once, each
/// with its remaining TTL: `None` for an entry without one, and for an
/// entry written with TTL `t` a time in `(t - elapsed - slack, t]` that
/// shrinks as time passes. Expired entries and entries outside the prefix are
/// not yielded; `scan(None)` covers every entry.
pub async fn o5_scan_reports_remaining_ttls(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o5_scan_reports_remaining_ttls");
    let kv = Kv::new(store);
    let hour = Duration::from_secs(3600);
    let ten_minutes = Duration::from_secs(600);
    let forever = ns.key(["p", "forever"]);
    let hourly = ns.key(["p", "hourly"]);
    let short = ns.key(["p", "nested", "short"]);
    let exact = ns.key(["p"]);
    let written = Instant::now();
    kv.set(&forever, json!({"kept": true})).await;
    kv.set_ttl(&hourly, json!(null), hour).await;
    kv.set_ttl(&short, json!([1, 2]), ten_minutes).await;
    kv.set_ttl(&exact, json!("exact"), hour).await;
    kv.set_ttl(&ns.key(["p", "gone"]), json!(0), Duration::ZERO)
        .await;
    kv.set_ttl(
        &ns.key(["p", "gone-soon"]),
        json!(1),
        Duration::from_millis(1),
    )
    .await;
    kv.set(&ns.key(["q", "outside"]), json!("decoy")).await;
    sleep_ms(20).await;

    let prefix = ns.key(["p"]);
    let records = kv.scan(Some(&prefix)).await;
    let as_entries: Vec<_> = records.iter().cloned().map(KvRecord::into_entry).collect();
    let expected: Vec<(KvKey, Value)> = vec![
        (forever.clone(), json!({"kept": true})),
        (hourly.clone(), json!(null)),
        (short.clone(), json!([1, 2])),
        (exact.clone(), json!("exact")),
    ];
    assert_entries("O5: scan(prefix)", &as_entries, &expected);
    let listed: Vec<_> = kv.list(Some(&prefix)).await;
    assert_entries("O5: list(prefix) beside scan(prefix)", &listed, &expected);

    let elapsed = written.elapsed();
    let ttl_of = |key: &KvKey| {
        records
            .iter()
            .find(|r| &r.key == key)
            .map(|r| r.expires_in)
            .expect("listed above")
    };
    assert_eq!(
        ttl_of(&forever),
        None,
        "O5: scan must report no expiry for an entry written without a TTL"
    );
    for (key, ttl) in [(&hourly, hour), (&short, ten_minutes), (&exact, hour)] {
        assert_ttl_left("O5", key, ttl_of(key), ttl, elapsed);
    }

    sleep_ms(1100).await;
    let later = kv.scan(Some(&prefix)).await;
    let hourly_later = later
        .iter()
        .find(|r| r.key == hourly)
        .and_then(|r| r.expires_in)
        .expect("O5: the hourly entry is still live and has a TTL");
    let hourly_before = ttl_of(&hourly).expect("checked above");
    assert!(
        hourly_later + Duration::from_millis(900) <= hourly_before,
        "O5: the remaining TTL must shrink: {hourly_before:?} then {hourly_later:?} a second later"
    );

    let everything: Vec<KvRecord> = kv
        .scan(None)
        .await
        .into_iter()
        .filter(|r| ns.owns(&r.key))
        .collect();
    let mut all_expected = expected;
    all_expected.push((ns.key(["q", "outside"]), json!("decoy")));
    let everything_entries: Vec<_> = everything.into_iter().map(KvRecord::into_entry).collect();
    assert_entries("O5: scan(None)", &everything_entries, &all_expected);
}

/// S3: `count_expired(prefix)` counts only entries that have expired and lie
/// under the prefix, never live ones (so it is at most the number of entries
/// that expired there, fewer if a sweep already removed some), and is 0 for
/// the prefix once `sweep` has run.
pub async fn s3_count_expired_counts_only_expired_entries(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("s3_count_expired_counts_only_expired_entries");
    let kv = Kv::new(store.clone());
    let prefix = ns.key(["p"]);
    for i in 0..6 {
        let key = ns.key(["p", &format!("{i}")]);
        match i % 3 {
            0 => kv.set_ttl(&key, json!(i), Duration::ZERO).await,
            1 => kv.set_ttl(&key, json!(i), Duration::from_secs(3600)).await,
            _ => kv.set(&key, json!(i)).await,
        }
    }
    kv.set_ttl(&ns.key(["q", "expired"]), json!(0), Duration::ZERO)
        .await;
    kv.set_ttl(&prefix, json!("exact"), Duration::from_millis(1))
        .await;
    sleep_ms(20).await;
    let count = |prefix: KvKey| {
        let store = store.clone();
        async move {
            store
                .count_expired(Some(&prefix))
                .await
                .unwrap_or_else(|e| {
                    panic!("{}: count_expired({prefix}) failed: {e}", store.backend())
                })
        }
    };
    let expired_under_p = 3; // ["p","0"], ["p","3"] and ["p"] itself
    let counted = count(prefix.clone()).await;
    assert!(
        counted <= expired_under_p,
        "S3: count_expired(prefix) = {counted}, but only {expired_under_p} entries under it expired"
    );
    let live = count(ns.key(["p", "1"])).await;
    assert_eq!(live, 0, "S3: count_expired of a live entry's key must be 0");
    store
        .count_expired(None)
        .await
        .unwrap_or_else(|e| panic!("{}: count_expired(None) failed: {e}", store.backend()));
    store.sweep().await.expect("S3: sweep");
    assert_eq!(count(prefix).await, 0, "S3: count_expired after a sweep");
    assert_eq!(
        kv.list(Some(&ns.key(["p"]))).await.len(),
        4,
        "S3: the live entries stay after a sweep"
    );
}
