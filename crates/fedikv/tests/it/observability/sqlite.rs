//! SQLite's telemetry, and an undecodable row: `get` fails with
//! `error.type = corrupt`, `list` skips it and counts it.

use fedikv::{KvKey, KvStore};
use futures::StreamExt;

use super::{Capture, Expect, assert_failed, exercise};
use crate::sqlite::{open, raw, temp_db};

const SQLITE: Expect<'static> = Expect {
    system: "sqlite",
    collection: Some("fedify_kv"),
    server: None,
};

#[tokio::test]
async fn every_operation_has_its_span_and_metrics() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let capture = Capture::new();
    let _installed = capture.install();
    exercise(&store, &capture, &SQLITE).await;
}

#[tokio::test]
async fn undecodable_rows_fail_get_and_are_counted_by_list() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    raw(&path)
        .execute(
            r#"INSERT INTO fedify_kv VALUES ('["bad"]', 'not json', 0, NULL)"#,
            [],
        )
        .unwrap();
    let capture = Capture::new();
    let _installed = capture.install();
    let bad = KvKey::new(["bad"]).unwrap();
    assert!(store.get(&bad).await.is_err());
    assert_failed(&capture, "sqlite", "get", "corrupt");
    let listed: Vec<_> = store.list(None).collect().await;
    assert_eq!(listed.len(), 1);
    assert!(listed[0].is_err());
    let list = capture.last_span("list");
    assert_eq!(list.field("db.response.returned_rows"), Some("0"));
    assert_eq!(
        list.field("error.type"),
        None,
        "skipping a row is no failure"
    );
    let labels = [("backend", "sqlite"), ("operation", "list")];
    let skipped = capture.metric("fedikv_undecodable_entries_total", &labels);
    assert_eq!(skipped, Some(1.0));
}
