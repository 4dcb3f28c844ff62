//! Scale checks for the benchmark docs, not timed tests: they print numbers
//! and assert only correctness. Run them alone, in release mode:
//!
//! ```sh
//! FEDIKV_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test \
//!   cargo test --release -p fedikv --features postgres --test postgres_scale -- --ignored --nocapture --test-threads=1
//! ```
//!
//! - `list_cost`: where the time of `list` (1,000 entries of 1 KiB) goes:
//!   the server alone, the query through the driver, the store.
//! - `million_rows`: `set`, `cas` and `list` on an empty table and on one
//!   of 1,000,000 rows of which half are expired, alternating.

#![cfg(feature = "postgres")]

mod postgres_support;

use std::time::{Duration, Instant};

use fedikv::{KvKey, KvStore, PostgresKvStore, SetOptions};
use futures::TryStreamExt;
use serde_json::{Value, json};

use postgres_support::{fresh_store, raw, server_url};

/// A cached remote document of exactly 1,024 bytes of JSON, like the
/// project benchmark's.
fn document(i: usize) -> Value {
    let mut doc = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": format!("https://example.com/users/{i}"),
        "type": "Person",
        "preferredUsername": format!("user{i}"),
        "name": format!("User {i}"),
        "inbox": format!("https://example.com/users/{i}/inbox"),
        "outbox": format!("https://example.com/users/{i}/outbox"),
        "followers": format!("https://example.com/users/{i}/followers"),
        "publicKey": {
            "id": format!("https://example.com/users/{i}#main-key"),
            "owner": format!("https://example.com/users/{i}"),
            "publicKeyPem": "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n",
        },
        "summary": "",
    });
    let len = serde_json::to_vec(&doc).unwrap().len();
    doc["summary"] = json!("x".repeat(1024usize.saturating_sub(len)));
    doc
}

fn list_key(i: usize) -> KvKey {
    KvKey::new([
        "_fedify",
        "list",
        &format!("https://example.com/notes/{i:06}"),
    ])
    .unwrap()
}

async fn timed<F, Fut>(label: &str, runs: usize, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    f().await; // warm up
    let start = Instant::now();
    for _ in 0..runs {
        f().await;
    }
    let per = start.elapsed() / runs as u32;
    eprintln!(
        "{label}: {:.2} ms per call, {:.0} calls/s",
        per.as_secs_f64() * 1e3,
        1.0 / per.as_secs_f64()
    );
    per
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run alone with --release --ignored --nocapture"]
async fn list_cost() {
    let Some(url) = server_url() else { return };
    let (store, table, _cleanup) = fresh_store(&url, "").await;
    for i in 0..1000 {
        store
            .set(&list_key(i), &document(i), SetOptions::default())
            .await
            .unwrap();
    }
    let client = raw(&url).await;
    let prefix = KvKey::new(["_fedify", "list"]).unwrap();
    let range = format!(
        "FROM \"{table}\" WHERE key >= $1 AND key < $2 \
         AND (ttl IS NULL OR created + ttl > CURRENT_TIMESTAMP)"
    );
    let p: Vec<String> = prefix.components().to_vec();
    let upper: Vec<Option<String>> = p.iter().cloned().map(Some).chain([None]).collect();
    let server_only = client
        .prepare(&format!("SELECT sum(length(value::text)) {range}"))
        .await
        .unwrap();
    let fetch = client
        .prepare(&format!("SELECT key, value {range} ORDER BY key"))
        .await
        .unwrap();
    let fetch_text = client
        .prepare(&format!("SELECT key, value::text {range} ORDER BY key"))
        .await
        .unwrap();
    timed("server: jsonb to text, no transfer", 50, || async {
        client.query_one(&server_only, &[&p, &upper]).await.unwrap();
    })
    .await;
    timed("driver: rows fetched, not decoded", 50, || async {
        assert_eq!(
            client.query(&fetch, &[&p, &upper]).await.unwrap().len(),
            1000
        );
    })
    .await;
    timed("driver: rows fetched, values parsed", 50, || async {
        let rows = client.query(&fetch_text, &[&p, &upper]).await.unwrap();
        for row in rows {
            let _: Value = serde_json::from_str(row.get(1)).unwrap();
        }
    })
    .await;
    timed("store: list", 50, || async {
        let n = store
            .list(Some(&prefix))
            .try_fold(0, |n, _| async move { Ok(n + 1) })
            .await
            .unwrap();
        assert_eq!(n, 1000);
    })
    .await;
    let docs: Vec<String> = (0..1000)
        .map(|i| serde_json::to_string(&document(i)).unwrap())
        .collect();
    timed("client: parse 1000 documents", 50, || async {
        for d in &docs {
            let _: Value = serde_json::from_str(d).unwrap();
        }
    })
    .await;
}
