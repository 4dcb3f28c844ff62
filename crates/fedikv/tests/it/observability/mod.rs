//! Telemetry (`fedikv::telemetry`): the spans and metrics of every backend,
//! captured on the test's thread ([`capture`]) while [`exercise`] runs the
//! same operations on each store; and that no value, password or token
//! ever shows in them.

mod capture;
mod memory;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "sqlite")]
mod sqlite;

use fedikv::{KvKey, KvStore, SetOptions};
use futures::StreamExt;
use serde_json::json;

pub use capture::{Capture, SpanData};

/// Text inside the values [`exercise`] writes: it must never show.
pub const SECRET_VALUE: &str = "value-text-that-must-not-leak";

/// The operations [`exercise`] runs, by span name, and how many times.
const OPERATIONS: [(&str, usize); 8] = [
    ("set", 3),
    ("get", 1),
    ("cas", 2),
    ("list", 1),
    ("scan", 1),
    ("count_expired", 1),
    ("sweep", 1),
    ("delete", 1),
];

/// What a store's spans must say about it.
pub struct Expect<'a> {
    /// `db.system.name`.
    pub system: &'a str,
    /// `db.collection.name`, the table or key prefix.
    pub collection: Option<&'a str>,
    /// `server.address` and `server.port`.
    pub server: Option<(&'a str, u16)>,
}

fn key(components: &[&str]) -> KvKey {
    KvKey::new(components.iter().copied()).expect("valid key")
}

/// Runs every operation on `store` under a prefix of its own, then checks
/// the spans and metrics `capture` saw against `expect`.
pub async fn exercise(store: &dyn KvStore, capture: &Capture, expect: &Expect<'_>) {
    let prefix = key(&["observability"]);
    let k = key(&["observability", "k"]);
    let value = json!({ "secret": SECRET_VALUE });
    let newer = json!([SECRET_VALUE, 2]);
    let none = SetOptions::default();

    store.set(&k, &value, none).await.unwrap();
    assert_eq!(store.get(&k).await.unwrap(), Some(value.clone()));
    assert!(!store.cas(&k, Some(&json!(0)), None, none).await.unwrap());
    assert!(
        store
            .cas(&k, Some(&value), Some(&newer), none)
            .await
            .unwrap()
    );
    for last in ["a", "b"] {
        let other = key(&["observability", last]);
        store.set(&other, &json!(SECRET_VALUE), none).await.unwrap();
    }
    let listed: Vec<_> = store.list(Some(&prefix)).collect().await;
    assert_eq!(listed.len(), 3);
    // Dropped after one entry: the span counts what was yielded.
    let scanned: Vec<_> = store.scan(Some(&prefix)).take(1).collect().await;
    assert_eq!(scanned.len(), 1);
    store.count_expired(Some(&prefix)).await.unwrap();
    store.sweep().await.unwrap();
    store.delete(&k).await.unwrap();

    for (op, times) in OPERATIONS {
        let spans = capture.spans_named(op);
        assert_eq!(spans.len(), times, "{op} spans: {spans:#?}");
        for span in &spans {
            assert_attributes(span, op, expect);
            assert_eq!(span.field("error.type"), None, "{span:?}");
        }
        let labels = [
            ("backend", expect.system),
            ("operation", op),
            ("outcome", "ok"),
        ];
        let count = capture.metric("fedikv_operations_total", &labels);
        assert_eq!(count, Some(times as f64), "{op}: {:#?}", capture.metrics());
        let timed = capture.metric("fedikv_operation_duration_seconds", &labels);
        assert_eq!(timed, Some(times as f64), "{op} latencies");
    }
    let swapped: Vec<_> = capture
        .spans_named("cas")
        .iter()
        .map(|s| s.field("fedikv.cas.swapped").map(str::to_owned))
        .collect();
    assert_eq!(swapped, [Some("false".into()), Some("true".into())]);
    let rows = |op| {
        capture
            .last_span(op)
            .field("db.response.returned_rows")
            .map(str::to_owned)
    };
    assert_eq!(rows("list").as_deref(), Some("3"));
    assert_eq!(rows("scan").as_deref(), Some("1"));
    capture.assert_never_shows(&[SECRET_VALUE]);
}

/// The attributes every span of `op` on the store of `expect` carries.
pub fn assert_attributes(span: &SpanData, op: &str, expect: &Expect<'_>) {
    assert_eq!(
        span.field("db.system.name"),
        Some(expect.system),
        "{span:?}"
    );
    assert_eq!(span.field("db.operation.name"), Some(op), "{span:?}");
    assert_eq!(
        span.field("db.collection.name"),
        expect.collection,
        "{span:?}"
    );
    let otel_name = match expect.collection {
        Some(collection) => format!("{op} {collection}"),
        None => op.to_owned(),
    };
    assert_eq!(span.field("otel.name"), Some(otel_name.as_str()));
    let port = expect.server.map(|(_, port)| port.to_string());
    assert_eq!(span.field("server.address"), expect.server.map(|(a, _)| a));
    assert_eq!(span.field("server.port"), port.as_deref(), "{span:?}");
}

/// Checks that the last span of `op` failed with `kind`, and the metrics
/// counted it under that outcome.
pub fn assert_failed(capture: &Capture, system: &str, op: &str, kind: &str) {
    let span = capture.last_span(op);
    assert_eq!(span.field("error.type"), Some(kind), "{span:?}");
    assert_eq!(span.field("otel.status_code"), Some("ERROR"));
    let labels = [("backend", system), ("operation", op), ("outcome", kind)];
    let failed = capture.metric("fedikv_operations_total", &labels);
    assert_eq!(failed, Some(1.0), "{:#?}", capture.metrics());
}
