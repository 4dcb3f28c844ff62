//! fedikv's `PostgresKvStore` and Fedify's published `@fedify/postgres`
//! (run by Node 24 through `interop/fedify.mjs`, driver `postgres`) on the
//! same table, in both directions: tricky keys and values, TTLs (both sides
//! on the server clock), `cas` by fedikv against Fedify's `jsonb` values,
//! and the table Fedify creates.
//!
//! `@fedify/postgres` 1.8.7 (the newest release) has neither `cas` nor
//! `list`, always creates an `UNLOGGED` table, and keeps `created` when it
//! overwrites a row (its TTL then counts from the first write).
//! Needs `FEDIKV_TEST_POSTGRES_URL` and `scripts/interop-setup.sh`; each test
//! has a table of its own, dropped at the end.

use std::time::{Duration, Instant};

use super::{Cleanup, raw, server_url, unique_name, with_options};
use crate::support::interop::data::{base, under};
use crate::support::interop::scenarios::{self, sleep_past_expiry};
use crate::support::interop::{Capabilities, Fedify, check, got, op};
use fedikv::{KvStore, PostgresKvStore, SetOptions};
use serde_json::json;

const CAPS: Capabilities = Capabilities {
    cas: false,
    list: false,
    null_values: false,
};

/// A table of its own (dropped with the guard), Fedify's store on it, and the
/// server URL. `None` when the test must skip.
fn setup() -> Option<(String, String, Cleanup, Fedify)> {
    let url = server_url()?;
    let table = unique_name("fedikv_interop");
    let fedify = Fedify::new(
        json!({"backend": "postgres", "url": url, "table": table}),
        CAPS,
    )?;
    let cleanup = Cleanup::table(&url, &format!("\"{table}\""));
    Some((url, table, cleanup, fedify))
}

/// fedikv's store on `table`, automatic sweeping off.
async fn store_on(url: &str, table: &str) -> PostgresKvStore {
    PostgresKvStore::open_url(&with_options(url, &format!("table={table}&sweep=off")))
        .await
        .expect("open the store")
}

async fn persistence(url: &str, table: &str) -> String {
    let row = raw(url)
        .await
        .query_one(
            "SELECT relpersistence::text FROM pg_class WHERE oid = to_regclass($1)",
            &[&format!("\"{table}\"")],
        )
        .await
        .expect("pg_class");
    row.get(0)
}

/// Fedify creates the table (unlogged, as 1.8.7 does) and writes; fedikv
/// opens it (converting it to logged, its default), reads and swaps, and
/// Fedify keeps working on the converted table.
#[tokio::test]
async fn fedify_writes_fedikv_reads() {
    let Some((url, table, _cleanup, fedify)) = setup() else {
        return;
    };
    let base = base("postgres");
    let first = under(&base, &["first"]);
    check(&fedify.one(op::set(&first, &json!(1), None)).await, "set");
    assert_eq!(
        persistence(&url, &table).await,
        "u",
        "Fedify 1.8.7 creates UNLOGGED tables"
    );

    let store = store_on(&url, &table).await;
    assert_eq!(
        persistence(&url, &table).await,
        "p",
        "fedikv converts it to logged"
    );
    assert_eq!(store.get(&first).await.unwrap(), Some(json!(1)));
    store.delete(&first).await.unwrap();
    scenarios::fedify_writes_fedikv_reads(&store, &fedify, &base).await;
}

#[tokio::test]
async fn fedikv_writes_fedify_reads() {
    let Some((url, table, _cleanup, fedify)) = setup() else {
        return;
    };
    let store = store_on(&url, &table).await;
    scenarios::fedikv_writes_fedify_reads(&store, &fedify, &base("postgres")).await;
}

/// A deep remote document and a lone-surrogate key beside good rows, both
/// ways (postgres.js stores lone surrogates as U+FFFD; so does fedikv).
#[tokio::test]
async fn javascript_data() {
    let Some((url, table, _cleanup, fedify)) = setup() else {
        return;
    };
    let store = store_on(&url, &table).await;
    scenarios::javascript_data(&store, &fedify, &base("postgres-js")).await;
}

#[tokio::test]
async fn ttl_agreement() {
    let Some((url, table, _cleanup, fedify)) = setup() else {
        return;
    };
    let store = store_on(&url, &table).await;
    scenarios::ttl_agreement(&store, &fedify, &base("postgres")).await;
}

/// TTLs that are not whole seconds: Fedify writes them as ISO 8601
/// intervals (`PT2.5S`),
/// fedikv as microsecond intervals; both compare `created + ttl` with the
/// server clock.
#[tokio::test]
async fn fractional_second_ttl_agreement() {
    let Some((url, table, _cleanup, fedify)) = setup() else {
        return;
    };
    let store = store_on(&url, &table).await;
    scenarios::fractional_ttl_agreement(&store, &fedify, &base("postgres")).await;
}

/// Fedify 1.8.7 overwrites a row without resetting `created` (fixed in
/// Fedify 2.3.2), so its TTL counts from the row's first write: fedikv reads
/// the same `created + ttl` and agrees the entry expired that early. A
/// fedikv write resets `created`.
#[tokio::test]
async fn fedify_overwrite_keeps_the_first_write_time() {
    let Some((url, table, _cleanup, fedify)) = setup() else {
        return;
    };
    let store = store_on(&url, &table).await;
    let base = base("postgres");
    let (by_fedify, by_fedikv) = (under(&base, &["Fedify"]), under(&base, &["fedikv"]));
    let ttl = Duration::from_secs(3);
    let writes = vec![
        op::set(&by_fedify, &json!(1), Some(ttl)),
        op::set(&by_fedikv, &json!(1), Some(ttl)),
    ];
    for result in fedify.run(writes).await {
        check(&result, "set");
    }
    let first_done = Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second_started = Instant::now();
    check(
        &fedify.one(op::set(&by_fedify, &json!(2), Some(ttl))).await,
        "set",
    );
    store
        .set(&by_fedikv, &json!(2), SetOptions::ttl(ttl))
        .await
        .unwrap();

    sleep_past_expiry(first_done, ttl).await;
    assert!(
        second_started.elapsed() < ttl,
        "too slow: the second writes' TTL ran out too"
    );
    assert_eq!(
        store.get(&by_fedify).await.unwrap(),
        None,
        "Fedify 1.8.7's overwrite kept the first created"
    );
    assert_eq!(
        store.get(&by_fedikv).await.unwrap(),
        Some(json!(2)),
        "fedikv's overwrite restarts the TTL"
    );
    let reads = fedify
        .run(vec![op::get(&by_fedify), op::get(&by_fedikv)])
        .await;
    assert_eq!(got(&reads[0]), None, "Fedify agrees its entry expired");
    assert_eq!(got(&reads[1]), Some(json!(2)));
    assert!(
        second_started.elapsed() < ttl,
        "too slow: the second writes' TTL ran out too"
    );
}
