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

use std::time::{Duration, Instant};

use fedikv::{KvKey, KvStore, PostgresKvStore, SetOptions};
use futures::TryStreamExt;
use serde_json::{Value, json};

use super::{fresh_store, raw, server_url};

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

/// CPU seconds this process has used (user + system), from /proc.
fn process_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesized command name; utime and stime are the
    // 12th and 13th of them, in clock ticks (100 per second on Linux).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
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
    let cpu = process_cpu();
    let start = Instant::now();
    for _ in 0..runs {
        f().await;
    }
    let per = start.elapsed() / runs as u32;
    let cpu_per = (process_cpu() - cpu) / runs as f64;
    eprintln!(
        "{label}: {:.1} µs per call ({:.1} µs of this process's CPU), {:.0} calls/s",
        per.as_secs_f64() * 1e6,
        cpu_per * 1e6,
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
    timed(
        "driver: rows fetched, keys and jsonb decoded",
        50,
        || async {
            let rows = client.query(&fetch, &[&p, &upper]).await.unwrap();
            for row in rows {
                let _: Vec<Option<String>> = row.get(0);
                let _: Value = row.get(1);
            }
        },
    )
    .await;
    timed(
        "driver: rows streamed, keys and jsonb decoded",
        50,
        || async {
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&p, &upper];
            let rows = client.query_raw(&fetch, params).await.unwrap();
            let mut rows = std::pin::pin!(rows);
            while let Some(row) = rows.try_next().await.unwrap() {
                let _: Vec<Option<String>> = row.get(0);
                let _: Value = row.get(1);
            }
        },
    )
    .await;
    let first_page = client
        .prepare(&format!("SELECT key, value {range} ORDER BY key LIMIT 500"))
        .await
        .unwrap();
    let next_page = client
        .prepare(&format!(
            "SELECT key, value FROM \"{table}\" WHERE key > $1 AND key < $2 \
             AND (ttl IS NULL OR created + ttl > CURRENT_TIMESTAMP) ORDER BY key LIMIT 500"
        ))
        .await
        .unwrap();
    timed("driver: pages of 500 streamed, decoded", 50, || async {
        let mut last: Option<Vec<String>> = None;
        let mut total = 0;
        loop {
            let rows = match &last {
                None => {
                    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&p, &upper];
                    client.query_raw(&first_page, params).await.unwrap()
                }
                Some(after) => {
                    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [after, &upper];
                    client.query_raw(&next_page, params).await.unwrap()
                }
            };
            let mut rows = std::pin::pin!(rows);
            let mut n = 0;
            while let Some(row) = rows.try_next().await.unwrap() {
                let key: Vec<Option<String>> = row.get(0);
                let _: Value = row.get(1);
                last = Some(key.into_iter().map(Option::unwrap).collect());
                n += 1;
            }
            total += n;
            if n < 500 {
                break;
            }
        }
        assert_eq!(total, 1000);
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

/// Sequential `set`s of fresh 1 KiB documents; returns ops/s.
async fn set_rate(store: &PostgresKvStore, round: usize, n: usize) -> f64 {
    let start = Instant::now();
    for i in 0..n {
        let key = KvKey::new([
            "_fedify",
            "remoteDocument",
            &format!("https://example.com/users/r{round}-{i}"),
        ])
        .unwrap();
        store
            .set(&key, &document(i), SetOptions::default())
            .await
            .unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Sequential counter increments through `cas`; returns ops/s.
async fn cas_rate(store: &PostgresKvStore, n: usize) -> f64 {
    let key = KvKey::new(["_fedify", "counter"]).unwrap();
    store
        .set(&key, &json!(0), SetOptions::default())
        .await
        .unwrap();
    let start = Instant::now();
    for i in 0..n {
        assert!(
            store
                .cas(
                    &key,
                    Some(&json!(i)),
                    Some(&json!(i + 1)),
                    SetOptions::default()
                )
                .await
                .unwrap()
        );
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// `list` of the 1,000-key prefix; returns calls/s.
async fn list_rate(store: &PostgresKvStore, n: usize) -> f64 {
    let prefix = KvKey::new(["_fedify", "list"]).unwrap();
    let start = Instant::now();
    for _ in 0..n {
        let count = store
            .list(Some(&prefix))
            .try_fold(0, |n, _| async move { Ok(n + 1) })
            .await
            .unwrap();
        assert_eq!(count, 1000);
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run alone with --release --ignored --nocapture; fills a 1M-row table (~1.5 GB)"]
async fn million_rows() {
    let Some(url) = server_url() else { return };
    let rows: i64 = std::env::var("FEDIKV_SCALE_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let (empty, _, _c1) = fresh_store(&url, "").await;
    let (big, big_table, _c2) = fresh_store(&url, "").await;
    let client = raw(&url).await;
    for store in [&empty, &big] {
        for i in 0..1000 {
            store
                .set(&list_key(i), &document(i), SetOptions::default())
                .await
                .unwrap();
        }
    }
    // Half expired a minute ago, half live for an hour, 1 KiB each.
    let fill = Instant::now();
    client
        .execute(
            &format!(
                "INSERT INTO \"{big_table}\" (key, value, created, ttl) \
                 SELECT ARRAY['_fedify', 'fill', 'https://example.com/fill/' || i], \
                   jsonb_build_object('id', 'https://example.com/fill/' || i, 'pad', repeat('x', 980)), \
                   CASE WHEN i % 2 = 0 THEN now() - interval '1 minute' ELSE now() END, \
                   CASE WHEN i % 2 = 0 THEN interval '1 millisecond' ELSE interval '1 hour' END \
                 FROM generate_series(1, $1::int8) AS i"
            ),
            &[&rows],
        )
        .await
        .unwrap();
    client
        .batch_execute(&format!("VACUUM ANALYZE \"{big_table}\""))
        .await
        .unwrap();
    let size: String = client
        .query_one(
            "SELECT pg_size_pretty(pg_total_relation_size($1::text::regclass))",
            &[&format!("\"{big_table}\"")],
        )
        .await
        .unwrap()
        .get(0);
    eprintln!(
        "filled {rows} rows (half expired) in {:.0?}, {size} with the index",
        fill.elapsed()
    );

    // Alternate between the two tables so both see the same machine noise.
    let (mut sets, mut cases, mut lists) = ([vec![], vec![]], [vec![], vec![]], [vec![], vec![]]);
    for round in 0..3 {
        for (t, store) in [&empty, &big].into_iter().enumerate() {
            sets[t].push(set_rate(store, round, 2000).await);
            cases[t].push(cas_rate(store, 2000).await);
            lists[t].push(list_rate(store, 20).await);
        }
    }
    for (op, results) in [("set", &sets), ("cas", &cases), ("list(1000)", &lists)] {
        let (e, b) = (median(results[0].clone()), median(results[1].clone()));
        eprintln!(
            "{op}: empty {e:.0}/s, {rows} rows half expired {b:.0}/s ({:+.0}%)   runs {:?} vs {:?}",
            (b / e - 1.0) * 100.0,
            results[0].iter().map(|x| x.round()).collect::<Vec<_>>(),
            results[1].iter().map(|x| x.round()).collect::<Vec<_>>(),
        );
    }

    // Writes while the backlog of expired rows is swept in the background
    // (a store with the default batch size, sweeping after its first write).
    let sweeping = PostgresKvStore::open_url(&super::with_options(
        &url,
        &format!("table={big_table}&sweep=1ms"),
    ))
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let sweep_start = Instant::now();
    let during = set_rate(&sweeping, 9, 2000).await;
    eprintln!("set while a background sweep runs: {during:.0}/s");
    let expired = format!(
        "SELECT count(*) FROM \"{big_table}\" WHERE ttl IS NOT NULL AND created + ttl <= now()"
    );
    loop {
        let left: i64 = client.query_one(&expired, &[]).await.unwrap().get(0);
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    eprintln!(
        "background sweep removed {} expired rows in {:.1?}",
        rows / 2,
        sweep_start.elapsed()
    );
    assert_eq!(sweeping.sweep().await.unwrap(), 0);
}

/// Point operations for comparison with `pgbench -S -M prepared` in the same
/// sitting: sequential `get` hits, `get` hits with 64 in flight, sequential
/// `set` and `cas`, each for a few seconds. `FEDIKV_POOL_SIZE` sets the pool
/// size (default: the store's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run alone with --release --ignored --nocapture"]
async fn point_ops() {
    let Some(url) = server_url() else { return };
    let pool =
        std::env::var("FEDIKV_POOL_SIZE").map_or(String::new(), |n| format!("pool_size={n}"));
    let (store, _table, _cleanup) = fresh_store(&url, &pool).await;
    let store = std::sync::Arc::new(store);
    let keys: Vec<KvKey> = (0..2000)
        .map(|i| {
            KvKey::new([
                "_fedify",
                "remoteDocument",
                &format!("https://example.com/users/{i}"),
            ])
            .unwrap()
        })
        .collect();
    for (i, key) in keys.iter().enumerate() {
        store
            .set(key, &document(i), SetOptions::default())
            .await
            .unwrap();
    }
    let phase = Duration::from_secs(4);

    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < phase {
        assert!(store.get(&keys[n % keys.len()]).await.unwrap().is_some());
        n += 1;
    }
    let get_hit = n as f64 / start.elapsed().as_secs_f64();

    let start = Instant::now();
    let tasks: Vec<_> = (0..64)
        .map(|t| {
            let (store, keys) = (std::sync::Arc::clone(&store), keys.clone());
            tokio::spawn(async move {
                let mut n = 0usize;
                while start.elapsed() < phase {
                    assert!(
                        store
                            .get(&keys[(t * 31 + n) % keys.len()])
                            .await
                            .unwrap()
                            .is_some()
                    );
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    let get_hit_c64 = total as f64 / start.elapsed().as_secs_f64();

    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < phase {
        store
            .set(&keys[n % keys.len()], &document(n), SetOptions::default())
            .await
            .unwrap();
        n += 1;
    }
    let set = n as f64 / start.elapsed().as_secs_f64();

    let counter = KvKey::new(["_fedify", "counter"]).unwrap();
    store
        .set(&counter, &json!(0), SetOptions::default())
        .await
        .unwrap();
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < phase {
        assert!(
            store
                .cas(
                    &counter,
                    Some(&json!(n)),
                    Some(&json!(n + 1)),
                    SetOptions::default()
                )
                .await
                .unwrap()
        );
        n += 1;
    }
    let cas = n as f64 / start.elapsed().as_secs_f64();
    let list = list_rate_after_fill(&store).await;
    eprintln!(
        "RESULT get_hit={get_hit:.0} get_hit_c64={get_hit_c64:.0} set={set:.0} cas={cas:.0} list={list:.0}"
    );
}

async fn list_rate_after_fill(store: &PostgresKvStore) -> f64 {
    for i in 0..1000 {
        store
            .set(&list_key(i), &document(i), SetOptions::default())
            .await
            .unwrap();
    }
    list_rate(store, 30).await
}

/// Where the time of one `get` goes: a bare round trip through
/// tokio-postgres, the same query without the store, taking a pooled
/// connection, and the store's `get`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run alone with --release --ignored --nocapture"]
async fn get_cost() {
    let Some(url) = server_url() else { return };
    let (store, table, _cleanup) = fresh_store(&url, "").await;
    let key = KvKey::new(["_fedify", "remoteDocument", "https://example.com/users/1"]).unwrap();
    store
        .set(&key, &document(1), SetOptions::default())
        .await
        .unwrap();
    let client = raw(&url).await;
    let select_one = client.prepare("SELECT 1").await.unwrap();
    let get = client
        .prepare(&format!(
            "SELECT value FROM \"{table}\" WHERE key = $1 AND (ttl IS NULL OR created + ttl > CURRENT_TIMESTAMP)"
        ))
        .await
        .unwrap();
    let k = key.components().to_vec();
    for _ in 0..3 {
        timed("SELECT 1 (driver)", 20_000, || async {
            client.query_one(&select_one, &[]).await.unwrap();
        })
        .await;
        timed("get query (driver)", 20_000, || async {
            let row = client.query_one(&get, &[&k]).await.unwrap();
            let _: Value = row.get(0);
        })
        .await;
        timed("pool get + return", 20_000, || async {
            drop(store.pool().get().await.unwrap());
        })
        .await;
        timed("store get", 20_000, || async {
            store.get(&key).await.unwrap().unwrap();
        })
        .await;
    }
}

/// `get` hits with 64 in flight for several pool sizes, alternating.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run alone with --release --ignored --nocapture"]
async fn c64_by_pool_size() {
    let Some(url) = server_url() else { return };
    let (store, table, _cleanup) = fresh_store(&url, "").await;
    let keys: Vec<KvKey> = (0..2000)
        .map(|i| {
            KvKey::new([
                "_fedify",
                "remoteDocument",
                &format!("https://example.com/users/{i}"),
            ])
            .unwrap()
        })
        .collect();
    for (i, key) in keys.iter().enumerate() {
        store
            .set(key, &document(i), SetOptions::default())
            .await
            .unwrap();
    }
    let sizes = [4, 8, 16, 32];
    let mut stores = Vec::new();
    for size in sizes {
        let u = super::with_options(&url, &format!("table={table}&pool_size={size}"));
        stores.push(std::sync::Arc::new(
            PostgresKvStore::open_url(&u).await.unwrap(),
        ));
    }
    let mut results = vec![vec![]; sizes.len()];
    for _round in 0..3 {
        for (s, store) in stores.iter().enumerate() {
            let phase = Duration::from_secs(3);
            let start = Instant::now();
            let tasks: Vec<_> = (0..64)
                .map(|t| {
                    let (store, keys) = (std::sync::Arc::clone(store), keys.clone());
                    tokio::spawn(async move {
                        let mut n = 0usize;
                        while start.elapsed() < phase {
                            store.get(&keys[(t * 31 + n) % keys.len()]).await.unwrap();
                            n += 1;
                        }
                        n
                    })
                })
                .collect();
            let mut total = 0;
            for task in tasks {
                total += task.await.unwrap();
            }
            results[s].push((total as f64 / start.elapsed().as_secs_f64()).round());
        }
    }
    for (size, r) in sizes.iter().zip(results) {
        eprintln!("pool_size={size}: get_hit_c64 {r:?}");
    }
}
