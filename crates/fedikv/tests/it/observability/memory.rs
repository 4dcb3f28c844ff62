//! The memory store's telemetry, its automatic sweeps, and keys recorded
//! only on opt-in.

use std::time::Duration;

use fedikv::{KvKey, KvStore, MemoryKvStore, SetOptions, SweepPolicy};
use serde_json::json;

use super::{Capture, Expect, SECRET_VALUE, exercise};

const MEMORY: Expect<'static> = Expect {
    system: "memory",
    collection: None,
    server: None,
};

#[tokio::test]
async fn every_operation_has_its_span_and_metrics() {
    let capture = Capture::new();
    let _installed = capture.install();
    exercise(&MemoryKvStore::new(), &capture, &MEMORY).await;
}

#[tokio::test]
async fn automatic_sweeps_are_observed_with_the_rows_they_removed() {
    let capture = Capture::new();
    let _installed = capture.install();
    let store = MemoryKvStore::with_sweep_policy(SweepPolicy::every(Duration::ZERO));
    let short = SetOptions::ttl(Duration::ZERO);
    let expired = KvKey::new(["expired"]).unwrap();
    store
        .set(&expired, &json!(SECRET_VALUE), short)
        .await
        .unwrap();
    let live = KvKey::new(["live"]).unwrap();
    store
        .set(&live, &json!(1), SetOptions::default())
        .await
        .unwrap();
    let sweeps = capture.spans_named("background_sweep");
    assert!(!sweeps.is_empty(), "{:#?}", capture.spans());
    let removed: u64 = sweeps
        .iter()
        .map(|s| {
            s.field("db.response.returned_rows")
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(removed, 1);
    let labels = [("backend", "memory")];
    assert_eq!(
        capture.metric("fedikv_swept_rows_total", &labels),
        Some(1.0)
    );
    capture.assert_never_shows(&[SECRET_VALUE]);
}

/// The automatic sweep runs after writes that store a value, and only while
/// some entry has an expiry: not while every entry lives forever, and not
/// after deletes (docs/backends.md, "Memory").
#[tokio::test]
async fn automatic_sweeps_run_only_when_something_can_expire() {
    let capture = Capture::new();
    let _installed = capture.install();
    let store = MemoryKvStore::with_sweep_policy(SweepPolicy::every(Duration::ZERO));
    let forever = KvKey::new(["forever"]).unwrap();
    for i in 0..3 {
        store
            .set(&forever, &json!(i), SetOptions::default())
            .await
            .unwrap();
    }
    assert!(
        capture.spans_named("background_sweep").is_empty(),
        "{:#?}",
        capture.spans()
    );
    let expiring = KvKey::new(["expiring"]).unwrap();
    store
        .set(
            &expiring,
            &json!(1),
            SetOptions::ttl(Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    let after_ttl_write = capture.spans_named("background_sweep").len();
    assert_eq!(after_ttl_write, 1, "{:#?}", capture.spans());
    store.delete(&forever).await.unwrap();
    assert_eq!(
        capture.spans_named("background_sweep").len(),
        after_ttl_write
    );
    store.delete(&expiring).await.unwrap();
    store
        .set(&forever, &json!(4), SetOptions::default())
        .await
        .unwrap();
    assert_eq!(
        capture.spans_named("background_sweep").len(),
        after_ttl_write
    );
}

/// The only test that switches key recording on (a process-wide switch);
/// the keys of the other tests carry nothing secret.
#[tokio::test]
async fn keys_are_recorded_only_when_opted_in() {
    let capture = Capture::new();
    let _installed = capture.install();
    let store = MemoryKvStore::new();
    let key = KvKey::new(["users", "https://example.com/u/1"]).unwrap();
    fedikv::telemetry::record_keys(true);
    let got = store.get(&key).await;
    fedikv::telemetry::record_keys(false);
    assert_eq!(got.unwrap(), None);
    let span = capture.last_span("get");
    assert_eq!(span.field("fedikv.key"), Some(key.to_json().as_str()));
}
