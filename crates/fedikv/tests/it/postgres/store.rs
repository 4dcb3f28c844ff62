//! PostgreSQL-specific tests: the stored layout checked with raw SQL, rows
//! written as Fedify writes them, query plans, sweeping, table handling and
//! bad input. They need `FEDIKV_TEST_POSTGRES_URL` (e.g.
//! `postgres://postgres@127.0.0.1:5432/test`) and skip without it. Every test
//! uses tables of its own, so they run in parallel with each other and with
//! the conformance suite.

use std::sync::Arc;
use std::time::Duration;

use fedikv::{KvEntry, KvError, KvKey, KvResult, KvStore, PostgresKvStore, SetOptions};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use super::{Cleanup, fresh_store, raw, server_url, unique_name, with_options};

fn key(parts: &[&str]) -> KvKey {
    KvKey::new(parts.iter().copied()).unwrap()
}

async fn keys_listed(store: &PostgresKvStore, prefix: Option<&KvKey>) -> Vec<Vec<String>> {
    store
        .list(prefix)
        .map_ok(|e| e.key.into_components())
        .try_collect()
        .await
        .unwrap()
}

async fn persistence(client: &tokio_postgres::Client, regclass: &str) -> String {
    let row = client
        .query_one(
            "SELECT relpersistence::text FROM pg_class WHERE oid = to_regclass($1)",
            &[&regclass],
        )
        .await
        .unwrap();
    row.get(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn stores_fedify_layout() {
    let Some(url) = server_url() else { return };
    let (store, table, _cleanup) = fresh_store(&url, "").await;
    let client = raw(&url).await;

    let columns: Vec<(String, String, String)> = client
        .query(
            "SELECT column_name::text, data_type::text, is_nullable::text \
             FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position",
            &[&table],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let expected = [
        ("key", "ARRAY", "NO"),
        ("value", "jsonb", "NO"),
        ("created", "timestamp with time zone", "YES"),
        ("ttl", "interval", "YES"),
    ];
    assert_eq!(
        columns,
        expected
            .iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect::<Vec<_>>()
    );
    let pk: String = client
        .query_one(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint \
             WHERE conrelid = to_regclass($1) AND contype = 'p'",
            &[&format!("\"{table}\"")],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(pk, "PRIMARY KEY (key)");
    assert_eq!(persistence(&client, &format!("\"{table}\"")).await, "p");

    store
        .set(&key(&["foo", "baz"]), &json!("baz"), SetOptions::default())
        .await
        .unwrap();
    store
        .set(
            &key(&["foo", "qux"]),
            &json!({"b": 1, "a": [true, null]}),
            SetOptions::ttl(Duration::from_millis(86_400_000)),
        )
        .await
        .unwrap();
    store
        .set(
            &key(&["foo", "ms"]),
            &json!(1.5),
            SetOptions::ttl(Duration::from_micros(1_500_999)),
        )
        .await
        .unwrap();
    let rows = client
        .query(
            &format!(
                "SELECT key, value, ttl::text, extract(epoch FROM ttl)::float8, \
                 CURRENT_TIMESTAMP - created < interval '1 minute' \
                 FROM \"{table}\" ORDER BY key"
            ),
            &[],
        )
        .await
        .unwrap();
    type RawRow = (Vec<String>, Value, Option<String>, Option<f64>, bool);
    let rows: Vec<RawRow> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    assert_eq!(
        rows,
        vec![
            (
                vec!["foo".to_owned(), "baz".to_owned()],
                json!("baz"),
                None,
                None,
                true
            ),
            (
                vec!["foo".to_owned(), "ms".to_owned()],
                json!(1.5),
                Some("00:00:01.5".to_owned()),
                Some(1.5),
                true
            ),
            (
                vec!["foo".to_owned(), "qux".to_owned()],
                json!({"a": [true, null], "b": 1}),
                Some("24:00:00".to_owned()),
                Some(86_400.0),
                true
            ),
        ]
    );
}

/// The row of one key, written long ago or just now, as the test of
/// `every_write_resets_created` sees it through a raw connection.
struct CreatedRow<'a> {
    client: &'a tokio_postgres::Client,
    table: &'a str,
    components: Vec<String>,
}

impl CreatedRow<'_> {
    /// Writes the row as if two days ago: value `"stale"`, TTL `ttl`.
    async fn write_stale(&self, ttl: Option<&str>) {
        let insert = format!(
            "INSERT INTO \"{}\" (key, value, created, ttl) \
             VALUES ($1, '\"stale\"', CURRENT_TIMESTAMP - interval '2 days', $2::text::interval) \
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, created = EXCLUDED.created, ttl = EXCLUDED.ttl",
            self.table
        );
        self.client
            .execute(&insert, &[&self.components, &ttl])
            .await
            .unwrap();
    }

    /// Asserts the row was written within the last minute, with TTL `ttl`.
    async fn assert_written_now(&self, ttl: Option<&str>) {
        let select = format!(
            "SELECT created > CURRENT_TIMESTAMP - interval '60 seconds', ttl::text FROM \"{}\" WHERE key = $1",
            self.table
        );
        let row = self
            .client
            .query_one(&select, &[&self.components])
            .await
            .unwrap();
        assert!(row.get::<_, bool>(0), "created is now");
        assert_eq!(row.get::<_, Option<String>>(1).as_deref(), ttl);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_write_resets_created() {
    let Some(url) = server_url() else { return };
    let (store, table, _cleanup) = fresh_store(&url, "").await;
    let client = raw(&url).await;
    let k = key(&["ttl", "origin"]);
    let row = CreatedRow {
        client: &client,
        table: &table,
        components: k.components().to_vec(),
    };

    // set: Fedify's "refreshes TTL origin on update".
    row.write_stale(None).await;
    store
        .set(
            &k,
            &json!("fresh"),
            SetOptions::ttl(Duration::from_secs(86_400)),
        )
        .await
        .unwrap();
    assert_eq!(store.get(&k).await.unwrap(), Some(json!("fresh")));
    row.assert_written_now(Some("24:00:00")).await;

    // cas update and cas create over an expired row reset it too.
    row.write_stale(None).await;
    assert!(
        store
            .cas(
                &k,
                Some(&json!("stale")),
                Some(&json!(2)),
                SetOptions::ttl(Duration::from_secs(60))
            )
            .await
            .unwrap()
    );
    row.assert_written_now(Some("00:01:00")).await;

    row.write_stale(Some("1 day")).await;
    assert_eq!(store.get(&k).await.unwrap(), None, "expired a day ago");
    assert!(
        store
            .cas(&k, None, Some(&json!(3)), SetOptions::default())
            .await
            .unwrap()
    );
    row.assert_written_now(None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_rows_written_the_fedify_way() {
    let Some(url) = server_url() else { return };
    let (store, table, _cleanup) = fresh_store(&url, "").await;
    let client = raw(&url).await;
    // As @fedify/postgres writes: the driver binds the key array, JSON
    // text cast to jsonb, and a Temporal duration string for the TTL.
    let insert = format!(
        "INSERT INTO \"{table}\" (key, value, ttl) VALUES ($1, $2::text::jsonb, $3::text::interval)"
    );
    let rows: &[(&[&str], &str, Option<&str>)] = &[
        (&["foo", "bar"], r#"["foobar"]"#, None),
        (
            &["foo", "day"],
            r#"{"id":"https://example.com/","n":1.0}"#,
            Some("P1D"),
        ),
        (&["foo", "hour"], "null", Some("PT1H")),
        (&["foo", "zero"], "true", Some("PT0S")),
        (&["foo", "bar", "deeper"], r#""x""#, None),
    ];
    for (k, v, ttl) in rows {
        let k: Vec<String> = k.iter().map(|s| s.to_string()).collect();
        client
            .execute(&insert, &[&k, &v.to_string(), &ttl.map(str::to_owned)])
            .await
            .unwrap();
    }
    client
        .execute(
            &format!(
                "INSERT INTO \"{table}\" (key, value, created, ttl) \
                 VALUES ('{{list-test,expired}}', '1', now() - interval '1 hour', '30 minutes')"
            ),
            &[],
        )
        .await
        .unwrap();

    assert_eq!(
        store.get(&key(&["foo", "bar"])).await.unwrap(),
        Some(json!(["foobar"]))
    );
    assert_eq!(
        store.get(&key(&["foo", "day"])).await.unwrap(),
        Some(json!({"id": "https://example.com/", "n": 1.0}))
    );
    assert_eq!(
        store.get(&key(&["foo", "hour"])).await.unwrap(),
        Some(Value::Null)
    );
    assert_eq!(store.get(&key(&["foo", "zero"])).await.unwrap(), None);
    assert_eq!(
        store.get(&key(&["list-test", "expired"])).await.unwrap(),
        None
    );
    assert_eq!(
        keys_listed(&store, Some(&key(&["foo"]))).await,
        vec![
            vec!["foo", "bar"],
            vec!["foo", "bar", "deeper"],
            vec!["foo", "day"],
            vec!["foo", "hour"],
        ]
    );
    assert!(
        keys_listed(&store, Some(&key(&["list-test"])))
            .await
            .is_empty()
    );
    // Fedify's cas compares with jsonb equality: 1.0 == 1, key order ignored.
    assert!(
        store
            .cas(
                &key(&["foo", "day"]),
                Some(&json!({"n": 1, "id": "https://example.com/"})),
                Some(&json!("swapped")),
                SetOptions::default()
            )
            .await
            .unwrap()
    );
    // An expired row Fedify left behind is absent to cas.
    assert!(
        store
            .cas(
                &key(&["foo", "zero"]),
                None,
                Some(&json!(1)),
                SetOptions::default()
            )
            .await
            .unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn table_persistence_follows_fedify_2_4() {
    let Some(url) = server_url() else { return };
    let client = raw(&url).await;

    // Opt-in unlogged.
    let (unlogged, table, _c1) = fresh_store(&url, "unlogged=true").await;
    assert_eq!(persistence(&client, &format!("\"{table}\"")).await, "u");
    unlogged
        .set(&key(&["a"]), &json!(1), SetOptions::default())
        .await
        .unwrap();

    // An existing unlogged table is converted to logged, keeping its rows.
    let store = PostgresKvStore::open_url(&with_options(&url, &format!("table={table}")))
        .await
        .unwrap();
    assert_eq!(persistence(&client, &format!("\"{table}\"")).await, "p");
    assert_eq!(store.get(&key(&["a"])).await.unwrap(), Some(json!(1)));

    // unlogged=true leaves an existing logged table alone.
    PostgresKvStore::open_url(&with_options(&url, &format!("table={table}&unlogged=true")))
        .await
        .unwrap();
    assert_eq!(persistence(&client, &format!("\"{table}\"")).await, "p");
}

#[tokio::test(flavor = "multi_thread")]
async fn qualified_mixed_case_table() {
    let Some(url) = server_url() else { return };
    let client = raw(&url).await;
    let schema = unique_name("FedifyKvSchema");
    let relation = unique_name("FedifyKvTest");
    let _cleanup = Cleanup::schema(&url, &schema);
    let quoted = format!("\"{schema}\".\"{relation}\"");
    client
        .batch_execute(&format!(
            "CREATE SCHEMA \"{schema}\"; \
             CREATE UNLOGGED TABLE {quoted} (key text[] PRIMARY KEY, value jsonb NOT NULL, \
             created timestamp with time zone DEFAULT CURRENT_TIMESTAMP, ttl interval)"
        ))
        .await
        .unwrap();
    let store_url = with_options(&url, &format!("table={schema}.{relation}"));
    let store = PostgresKvStore::open_url(&store_url).await.unwrap();
    assert_eq!(store.table(), format!("{schema}.{relation}"));
    assert_eq!(persistence(&client, &quoted).await, "p");

    // Fedify's "cas() replaces expired rows in a qualified table".
    let k = key(&["cas", "qualified"]);
    store
        .set(
            &k,
            &json!("expired"),
            SetOptions::ttl(Duration::from_millis(10)),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert!(
        store
            .cas(&k, None, Some(&json!("replacement")), SetOptions::default())
            .await
            .unwrap()
    );
    assert_eq!(store.get(&k).await.unwrap(), Some(json!("replacement")));
    assert_eq!(
        keys_listed(&store, Some(&key(&["cas"]))).await,
        vec![vec!["cas", "qualified"]]
    );
    let count: i64 = client
        .query_one(&format!("SELECT count(*) FROM {quoted}"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 1);

    // The same letters in another case are another table.
    let lower = with_options(
        &url,
        &format!(
            "table={}.{}",
            schema.to_lowercase(),
            relation.to_lowercase()
        ),
    );
    assert!(PostgresKvStore::open_url(&lower).await.is_err());

    store.drop_table().await.unwrap();
    let exists: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&quoted])
        .await
        .unwrap()
        .get(0);
    assert!(!exists);
}

/// Inserts `n` rows under `["big", i]` with 1 KiB values and analyzes the
/// table, so that a sequential scan would look cheap to the planner if the
/// index could not serve the query.
async fn fill(client: &tokio_postgres::Client, table: &str, n: i32) {
    client
        .execute(
            &format!(
                "INSERT INTO \"{table}\" (key, value) \
                 SELECT ARRAY['big', lpad(i::text, 6, '0')], jsonb_build_object('pad', repeat('x', 1000)) \
                 FROM generate_series(1, $1) AS i"
            ),
            &[&n],
        )
        .await
        .unwrap();
    client
        .batch_execute(&format!("ANALYZE \"{table}\""))
        .await
        .unwrap();
}

fn assert_index_range_scan(plan: &[String], table: &str) {
    let text = plan.join("\n");
    assert!(
        text.contains(&format!("Index Scan using {table}_pkey")),
        "not an index scan of the primary key:\n{text}"
    );
    assert!(text.contains("Index Cond"), "no index condition:\n{text}");
    assert!(!text.contains("Seq Scan"), "sequential scan:\n{text}");
    assert!(
        !text.contains("Sort"),
        "sorts instead of streaming:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn list_is_an_index_range_scan() {
    let Some(url) = server_url() else { return };
    let (store, table, _cleanup) = fresh_store(&url, "").await;
    let client = raw(&url).await;
    fill(&client, &table, 20_000).await;
    // Also a generic plan, which prepared statements switch to after a few
    // executions: it must not depend on the parameter values.
    let generic = PostgresKvStore::open_url(&with_options(
        &url,
        &format!("table={table}&sweep=off&options=-c%20plan_cache_mode%3Dforce_generic_plan"),
    ))
    .await
    .unwrap();
    let prefix = key(&["big"]);
    let after = key(&["big", "000500"]);
    for s in [&store, &generic] {
        for (p, a) in [
            (Some(&prefix), None),
            (Some(&prefix), Some(&after)),
            (None, None),
            (None, Some(&after)),
        ] {
            let plan = s.explain_list(p, a).await.unwrap();
            if p.is_some() {
                assert_index_range_scan(&plan, &table);
                assert!(
                    plan.join("\n").contains("key <"),
                    "the prefix's upper bound is not an index condition: {plan:?}"
                );
            } else {
                assert!(
                    plan.join("\n")
                        .contains(&format!("Index Scan using {table}_pkey")),
                    "{plan:?}"
                );
            }
        }
    }
    // And it lists what it should, across pages.
    store
        .set(&key(&["big"]), &json!("self"), SetOptions::default())
        .await
        .unwrap();
    store
        .set(&key(&["bigger"]), &json!("sibling"), SetOptions::default())
        .await
        .unwrap();
    let listed = keys_listed(&store, Some(&prefix)).await;
    assert_eq!(listed.len(), 20_001);
    assert_eq!(listed[0], vec!["big"]);
    assert_eq!(listed[1], vec!["big", "000001"]);
    assert_eq!(listed[20_000], vec!["big", "020000"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn prefixes_are_contiguous_under_a_linguistic_collation() {
    let Some(url) = server_url() else { return };
    let client = raw(&url).await;
    let collation: Option<String> = client
        .query_opt(
            "SELECT collname::text FROM pg_collation \
             WHERE collname IN ('en-US-x-icu', 'en_US.utf8', 'en_US') ORDER BY collname LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .map(|r| r.get(0));
    let Some(collation) = collation else {
        eprintln!("skipping: the server has no en-US collation");
        return;
    };
    let table = unique_name("fedikv_test_icu");
    let _cleanup = Cleanup::table(&url, &format!("\"{table}\""));
    client
        .batch_execute(&format!(
            "CREATE TABLE \"{table}\" (key text[] COLLATE \"{collation}\" PRIMARY KEY, \
             value jsonb NOT NULL, created timestamp with time zone DEFAULT CURRENT_TIMESTAMP, \
             ttl interval)"
        ))
        .await
        .unwrap();
    let store = PostgresKvStore::open_url(&with_options(&url, &format!("table={table}")))
        .await
        .unwrap();
    // Keys a linguistic collation orders differently from code points:
    // case and punctuation are secondary differences there.
    let all: &[&[&str]] = &[
        &["a"],
        &["A"],
        &["a", "B"],
        &["a", "b"],
        &["a", "b", "c"],
        &["a", ""],
        &["a-b"],
        &["ab"],
        &["a b"],
        &["A", "a"],
        &["b"],
        &["", "a"],
    ];
    for k in all {
        store
            .set(&key(k), &json!(k), SetOptions::default())
            .await
            .unwrap();
    }
    for prefix in all {
        let prefix = key(prefix);
        let mut listed = keys_listed(&store, Some(&prefix)).await;
        let mut expected: Vec<Vec<String>> = all
            .iter()
            .map(|k| key(k))
            .filter(|k| k.starts_with(&prefix))
            .map(KvKey::into_components)
            .collect();
        listed.sort();
        expected.sort();
        assert_eq!(listed, expected, "prefix {prefix}");
    }
    assert_eq!(keys_listed(&store, None).await.len(), all.len());
    fill(&client, &table, 5_000).await;
    assert_index_range_scan(
        &store
            .explain_list(Some(&key(&["big"])), None)
            .await
            .unwrap(),
        &table,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sweeps_in_batches_and_keeps_live_rows() {
    let Some(url) = server_url() else { return };
    let (store, table, _cleanup) = fresh_store(&url, "sweep_batch=100").await;
    let client = raw(&url).await;
    // 2,500 expired rows interleaved with 2,500 live ones (some with a TTL).
    client
        .execute(
            &format!(
                "INSERT INTO \"{table}\" (key, value, created, ttl) \
                 SELECT ARRAY['s', i::text], to_jsonb(i), \
                   CASE WHEN i % 2 = 0 THEN now() - interval '1 hour' ELSE now() END, \
                   CASE WHEN i % 2 = 0 THEN interval '1 minute' \
                        WHEN i % 3 = 0 THEN interval '1 hour' END \
                 FROM generate_series(1, 5000) AS i"
            ),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(store.sweep().await.unwrap(), 2500);
    let count: i64 = client
        .query_one(&format!("SELECT count(*) FROM \"{table}\""), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 2500);
    assert_eq!(keys_listed(&store, None).await.len(), 2500);
    assert_eq!(store.sweep().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_trigger_background_sweeps() {
    let Some(url) = server_url() else { return };
    let (_store, table, _cleanup) = fresh_store(&url, "").await;
    let client = raw(&url).await;
    let store = PostgresKvStore::open_url(&with_options(
        &url,
        &format!("table={table}&sweep=50ms&sweep_batch=7"),
    ))
    .await
    .unwrap();
    client
        .execute(
            &format!(
                "INSERT INTO \"{table}\" (key, value, ttl) \
                 SELECT ARRAY['e', i::text], '0', interval '0' FROM generate_series(1, 100) AS i"
            ),
            &[],
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    store
        .set(&key(&["live"]), &json!(1), SetOptions::default())
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let count: i64 = client
            .query_one(&format!("SELECT count(*) FROM \"{table}\""), &[])
            .await
            .unwrap()
            .get(0);
        if count == 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{count} rows left: the write did not start a sweep"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(store.get(&key(&["live"])).await.unwrap(), Some(json!(1)));
}

#[tokio::test(flavor = "multi_thread")]
async fn sweep_statement_is_a_bounded_tid_scan() {
    let Some(url) = server_url() else { return };
    let (_store, table, _cleanup) = fresh_store(&url, "").await;
    let client = raw(&url).await;
    fill(&client, &table, 20_000).await;
    let version: i32 = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .unwrap()
        .get(0);
    if version < 140_000 {
        eprintln!("skipping: TID range scans need PostgreSQL 14");
        return;
    }
    // The statement sweeper.rs runs, for a cursor in the middle.
    let plan: Vec<String> = client
        .query(
            &format!(
                "EXPLAIN WITH batch AS MATERIALIZED (SELECT ctid FROM \"{table}\" \
                 WHERE ctid > '(500,0)'::text::tid AND ttl IS NOT NULL AND created + ttl <= CURRENT_TIMESTAMP LIMIT 1000), \
                 gone AS (DELETE FROM \"{table}\" WHERE ctid = ANY(ARRAY(SELECT ctid FROM batch)) \
                 AND ttl IS NOT NULL AND created + ttl <= CURRENT_TIMESTAMP RETURNING 1) \
                 SELECT (SELECT count(*) FROM batch), (SELECT count(*) FROM gone), (SELECT max(ctid)::text FROM batch)"
            ),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let text = plan.join("\n");
    assert!(text.contains("Tid Range Scan"), "{text}");
    assert!(text.contains("Tid Scan"), "{text}");
    assert!(!text.contains("Seq Scan"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_opens_create_the_table_once() {
    let Some(url) = server_url() else { return };
    let table = unique_name("fedikv_test_race");
    let _cleanup = Cleanup::table(&url, &format!("\"{table}\""));
    let store_url = with_options(&url, &format!("table={table}&pool_size=2"));
    let opens: Vec<_> = (0..12)
        .map(|_| {
            let u = store_url.clone();
            tokio::spawn(async move { PostgresKvStore::open_url(&u).await })
        })
        .collect();
    for open in opens {
        let store = open.await.unwrap().unwrap();
        store
            .set(&key(&["k"]), &json!(1), SetOptions::default())
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn drop_table_and_recreate() {
    let Some(url) = server_url() else { return };
    let (store, table, _cleanup) = fresh_store(&url, "").await;
    let client = raw(&url).await;
    let regclass = format!("\"{table}\"");
    let k = key(&["k"]);
    store
        .set(&k, &json!(1), SetOptions::default())
        .await
        .unwrap();
    store.drop_table().await.unwrap();
    assert!(!table_exists(&client, &regclass).await);
    // The next use recreates it.
    assert_eq!(store.get(&k).await.unwrap(), None);
    assert!(table_exists(&client, &regclass).await);
    store
        .set(&k, &json!(2), SetOptions::default())
        .await
        .unwrap();

    // Dropped behind the store's back: the next operation recreates it
    // (every operation kind: fedikv-conformance's lifecycle test).
    client
        .batch_execute(&format!("DROP TABLE {regclass}"))
        .await
        .unwrap();
    assert_eq!(store.get(&k).await.unwrap(), None);
    assert!(table_exists(&client, &regclass).await);
    store
        .set(&k, &json!(3), SetOptions::default())
        .await
        .unwrap();
    assert_eq!(store.get(&k).await.unwrap(), Some(json!(3)));
    store.initialize().await.unwrap();
    assert_eq!(store.get(&k).await.unwrap(), Some(json!(3)));
}

async fn table_exists(client: &tokio_postgres::Client, regclass: &str) -> bool {
    client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&regclass])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_up_to_the_limit_work_and_longer_ones_are_refused_before_sending() {
    let Some(url) = server_url() else { return };
    let (store, _table, _cleanup) = fresh_store(&url, "").await;
    // Incompressible text, so the btree cannot shrink the entry: 3 parts,
    // 2,000 - 3 × 8 = 1,976 bytes of pseudo-random 4-byte characters.
    let mut seed: u32 = 12345;
    let mut random_part = |chars: usize| -> String {
        (0..chars)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                char::from_u32(0x1_0000 + (seed >> 8) % 0xF_0000).unwrap()
            })
            .collect()
    };
    let parts = vec![random_part(200), random_part(200), random_part(94)];
    let at_limit = KvKey::new(parts.clone()).unwrap();
    assert_eq!(
        at_limit.byte_len() + 3 * fedikv::postgres::KEY_COMPONENT_OVERHEAD,
        2000
    );
    store
        .set(&at_limit, &json!("max"), SetOptions::default())
        .await
        .unwrap();
    assert_eq!(store.get(&at_limit).await.unwrap(), Some(json!("max")));
    let prefix = KvKey::new(parts[..1].to_vec()).unwrap();
    assert_eq!(
        keys_listed(&store, Some(&prefix)).await,
        vec![parts.clone()]
    );

    let mut longer = parts;
    longer[2].push('x');
    let too_long = KvKey::new(longer).unwrap();
    // A store whose server is unreachable still refuses it: no round trip.
    let checks = [
        store.get(&too_long).await.map(|_| ()),
        store.set(&too_long, &json!(1), SetOptions::default()).await,
        store.delete(&too_long).await,
        store
            .cas(&too_long, None, Some(&json!(1)), SetOptions::default())
            .await
            .map(|_| ()),
    ];
    for result in checks {
        match result {
            Err(KvError::KeyTooLong {
                backend: "postgres",
                len: 2001,
                max: 2000,
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn values_jsonb_cannot_hold_are_typed_errors() {
    let Some(url) = server_url() else { return };
    let (store, _table, _cleanup) = fresh_store(&url, "").await;
    let k = key(&["nul"]);
    for value in [json!("a\u{0}b"), json!({"k\u{0}": 1})] {
        match store.set(&k, &value, SetOptions::default()).await {
            Err(KvError::InvalidValue { reason }) => {
                assert!(reason.contains("NUL"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        match store
            .cas(&k, Some(&value), None, SetOptions::default())
            .await
        {
            Err(KvError::InvalidValue { .. }) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(store.get(&k).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_names_and_urls_fail_before_connecting() {
    // No server needed: port 1 refuses connections, so only a check made
    // before connecting can give these errors.
    for table in [
        "kv; DROP TABLE users",
        "kv\"",
        "a.b.c",
        "1kv",
        "kv name",
        "kv--",
        "",
    ] {
        let url = format!(
            "postgres://u:hunter2@127.0.0.1:1/test?table={}",
            url_escape(table)
        );
        match PostgresKvStore::open_url(&url).await {
            Err(KvError::InvalidName { what, name, .. }) => {
                assert_eq!(what, "table name");
                assert_eq!(name, table);
            }
            other => panic!("{table:?}: {other:?}"),
        }
    }
    for url in [
        "postgres://u:hunter2@127.0.0.1:1/test?pool_size=x",
        "postgres://u:hunter2@127.0.0.1:1/test?sslmode=bogus",
        "postgres://u:hunter2@127.0.0.1:1/test?whatever=1",
        "postgres://u:hunter2@[127.0.0.1:1/test",
        "postgresql://u:hunter2@127.0.0.1:1/test?sslmode=verify-full&sslrootcert=/nonexistent.pem",
    ] {
        match PostgresKvStore::open_url(url).await {
            Err(e @ KvError::InvalidUrl { .. }) => {
                assert!(!e.to_string().contains("hunter2"), "{e}");
                assert!(!format!("{e:?}").contains("hunter2"), "{e:?}");
            }
            other => panic!("{url}: {other:?}"),
        }
    }
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_errors_are_typed_and_never_show_the_password() {
    let unreachable = "postgres://u:hunter2@127.0.0.1:1/test";
    match PostgresKvStore::open_url(unreachable).await {
        Err(e @ KvError::Unavailable { .. }) => {
            assert!(e.is_transient());
            assert!(!e.to_string().contains("hunter2"), "{e}");
            assert!(!format!("{e:?}").contains("hunter2"), "{e:?}");
        }
        other => panic!("{other:?}"),
    }
    let Some(url) = server_url() else { return };
    let base = url::Url::parse(&url).unwrap();
    // An unknown role: refused whatever the authentication method.
    let mut unknown = base.clone();
    unknown.set_username("fedikv_no_such_role").unwrap();
    unknown.set_password(Some("hunter2")).unwrap();
    match PostgresKvStore::open_url(unknown.as_str()).await {
        Err(e @ KvError::AccessDenied { .. }) => {
            let text = format!("{e} {e:?}");
            assert!(!text.contains("hunter2"), "{text}");
            assert!(text.contains("fedikv_no_such_role"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    // A database that does not exist.
    let mut no_db = base.clone();
    no_db.set_path("/fedikv_no_such_database");
    no_db.set_password(Some("hunter2")).unwrap();
    match PostgresKvStore::open_url(no_db.as_str()).await {
        Err(e) => assert!(!format!("{e} {e:?}").contains("hunter2")),
        Ok(_) => panic!("opened a database that does not exist"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn debug_output_never_shows_the_password() {
    let Some(url) = server_url() else { return };
    let (_store, table, _cleanup) = fresh_store(&url, "").await;
    let mut with_password = url::Url::parse(&url).unwrap();
    // The test server trusts local connections, so any password works.
    with_password.set_password(Some("hunter2")).unwrap();
    let store = PostgresKvStore::open_url(&with_options(
        with_password.as_str(),
        &format!("table={table}"),
    ))
    .await
    .unwrap();
    let debug = format!("{store:?} {:?} {store:#?}", store.pool());
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains(&table), "{debug}");
    let as_dyn: Arc<dyn KvStore> = Arc::new(store);
    assert!(!format!("{as_dyn:?}").contains("hunter2"));
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_modes_against_the_test_server() {
    let Some(url) = server_url() else { return };
    let client = raw(&url).await;
    let ssl: String = client.query_one("SHOW ssl", &[]).await.unwrap().get(0);
    let (_store, table, _cleanup) = fresh_store(&url, "").await;
    let open = |options: &str| {
        let store_url = with_options(&url, &format!("table={table}&{options}"));
        async move { PostgresKvStore::open_url(&store_url).await }
    };
    if ssl == "on" {
        // Encrypted without a certificate check, as libpq's require.
        let store = open("sslmode=require").await.unwrap();
        let row = store
            .pool()
            .get()
            .await
            .unwrap()
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .await
            .unwrap();
        assert!(row.get::<_, bool>(0), "sslmode=require did not encrypt");
        // A self-signed server certificate is not trusted by the default
        // roots.
        match open("sslmode=verify-full").await {
            Err(KvError::Backend { source, .. }) => {
                assert!(source.to_string().contains("TLS"), "{source}")
            }
            other => panic!("{other:?}"),
        }
    } else {
        match open("sslmode=require").await {
            Err(KvError::Backend { source, .. }) => {
                assert!(source.to_string().contains("TLS"), "{source}")
            }
            other => panic!("{other:?}"),
        }
    }
    open("sslmode=disable").await.unwrap();
}

/// Rule V5 (more in `bad_rows.rs`): rows no key can address are
/// each one error in their place, the listing goes on.
#[tokio::test(flavor = "multi_thread")]
async fn foreign_rows_no_key_can_address_are_typed_errors_in_list() {
    let Some(url) = server_url() else { return };
    let (store, table, _cleanup) = fresh_store(&url, "").await;
    let client = raw(&url).await;
    store
        .set(&key(&["ok", "1"]), &json!(1), SetOptions::default())
        .await
        .unwrap();
    client
        .batch_execute(&format!(
            "INSERT INTO \"{table}\" (key, value) VALUES (ARRAY['ok', NULL], '2'), ('{{}}', '3')"
        ))
        .await
        .unwrap();
    let described = |items: Vec<KvResult<KvEntry>>| -> Vec<String> {
        items
            .into_iter()
            .map(|item| match item {
                Ok(entry) => entry.key.to_json(),
                Err(KvError::Corrupt { key, reason }) => format!("{key}: {reason}"),
                Err(other) => panic!("{other}"),
            })
            .collect()
    };
    // ARRAY['ok', NULL] lies past the prefix's range, and is found there.
    assert_eq!(
        described(store.list(Some(&key(&["ok"]))).collect().await),
        [
            r#"["ok","1"]"#,
            "{ok,NULL}: key element 2 is NULL, not a string"
        ]
    );
    // The empty array sorts first, under no prefix.
    assert_eq!(
        described(store.list(None).collect().await),
        [
            "{}: the key is an empty array",
            r#"["ok","1"]"#,
            "{ok,NULL}: key element 2 is NULL, not a string"
        ]
    );
    assert_eq!(store.get(&key(&["ok", "1"])).await.unwrap(), Some(json!(1)));
}

#[tokio::test(flavor = "multi_thread")]
async fn from_an_existing_deadpool_pool() {
    let Some(url) = server_url() else { return };
    let config: tokio_postgres::Config = url.parse().unwrap();
    let manager = deadpool_postgres::Manager::new(config, tokio_postgres::NoTls);
    let pool = deadpool_postgres::Pool::builder(manager)
        .max_size(2)
        .build()
        .unwrap();
    let table = unique_name("fedikv_test_pool");
    let _cleanup = Cleanup::table(&url, &format!("\"{table}\""));
    let options = fedikv::postgres::PostgresOptions::default()
        .table(&table)
        .sweep(fedikv::SweepPolicy::disabled());
    let store = PostgresKvStore::from_pool(pool.clone(), options.clone())
        .await
        .unwrap();
    let k = key(&["pooled"]);
    store
        .set(&k, &json!(true), SetOptions::default())
        .await
        .unwrap();
    assert_eq!(store.get(&k).await.unwrap(), Some(json!(true)));
    assert_eq!(store.table(), table);
    assert!(format!("{store:?}").contains("caller's pool"));
    // The caller keeps using the pool for its own statements.
    let n: i64 = pool
        .get()
        .await
        .unwrap()
        .query_one(&format!("SELECT count(*) FROM \"{table}\""), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    assert!(matches!(
        PostgresKvStore::from_pool(pool, options.table("bad;name")).await,
        Err(KvError::InvalidName { .. })
    ));
}
