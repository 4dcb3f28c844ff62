//! SqliteKvStore against the bytes on disk: Fedify's schema and encodings,
//! rows Fedify wrote, exact prefixes, sweeping, table lifecycle, URLs.

use std::time::Duration;

use super::{count, fedify_insert, key, now_ms, open, raw, table_exists, temp_db};
use fedikv::sqlite::SqliteOptions;
use fedikv::{KvError, KvKey, KvStore, SetOptions, SqliteKvStore, SweepPolicy};
use futures::TryStreamExt;
use serde_json::{Value, json};

/// Fedify's `initialize()` statements, verbatim (packages/sqlite/src/kv.ts).
fn fedify_ddl(table: &str) -> [String; 2] {
    [
        format!(
            "\n      CREATE TABLE IF NOT EXISTS \"{table}\" (\n        key TEXT PRIMARY KEY,\n        value TEXT NOT NULL,\n        created INTEGER NOT NULL,\n        expires INTEGER\n      )\n    "
        ),
        format!(
            "\n      CREATE INDEX IF NOT EXISTS \"idx_{table}_expires\" \n      ON \"{table}\" (expires)\n    "
        ),
    ]
}

fn schema_rows(conn: &rusqlite::Connection) -> Vec<(String, String, String, Option<String>)> {
    let mut stmt = conn
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test]
async fn schema_is_byte_identical_to_fedifys() {
    for table in [None, Some("custom_Kv_1")] {
        let (_dir, path) = temp_db();
        let mut options = SqliteOptions::default();
        if let Some(table) = table {
            options = options.table(table);
        }
        let store = SqliteKvStore::open_with(&path, options).await.unwrap();
        let table = table.unwrap_or("fedify_kv");
        let ours = schema_rows(&raw(&path));

        let fedify = rusqlite::Connection::open_in_memory().unwrap();
        for ddl in fedify_ddl(table) {
            fedify.execute_batch(&ddl).unwrap();
        }
        let theirs = schema_rows(&fedify);
        assert_eq!(ours, theirs);
        assert_eq!(
            theirs.len(),
            3,
            "table, primary key autoindex, expires index"
        );
        assert!(theirs.iter().any(|r| r.1 == format!("idx_{table}_expires")));

        let mode: String = raw(&path)
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        drop(store);
    }
}

#[tokio::test]
async fn keys_and_values_are_stored_as_json_stringify_text() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let cases: [(KvKey, &str); 6] = [
        (key(["q\"uote"]), r#"["q\"uote"]"#),
        (key(["back\\slash", "x"]), r#"["back\\slash","x"]"#),
        (key(["new\nline", "tab\t"]), r#"["new\nline","tab\t"]"#),
        (
            key(["\u{1}", "\u{1f}", "\u{7f}"]),
            "[\"\\u0001\",\"\\u001f\",\"\u{7f}\"]",
        ),
        (key(["😀", "é", "/"]), r#"["😀","é","/"]"#),
        (key(["a:", "::b", ""]), r#"["a:","::b",""]"#),
    ];
    for (i, (k, _)) in cases.iter().enumerate() {
        store
            .set(
                k,
                &json!({"a": i, "b": [true, null, "x\ny"]}),
                SetOptions::default(),
            )
            .await
            .unwrap();
    }
    let conn = raw(&path);
    for (i, (k, text)) in cases.iter().enumerate() {
        let value: String = conn
            .query_row("SELECT value FROM fedify_kv WHERE key = ?", [text], |r| {
                r.get(0)
            })
            .unwrap_or_else(|e| panic!("no row with key text {text}: {e}"));
        assert_eq!(value, format!(r#"{{"a":{i},"b":[true,null,"x\ny"]}}"#));
        assert_eq!(&k.to_json(), text);
    }
    // What list returns are exactly the keys written.
    let mut listed: Vec<KvKey> = store
        .list(None)
        .map_ok(|e| e.key)
        .try_collect()
        .await
        .unwrap();
    listed.sort();
    let mut written: Vec<KvKey> = cases.iter().map(|(k, _)| k.clone()).collect();
    written.sort();
    assert_eq!(listed, written);
}

#[tokio::test]
async fn created_is_kept_on_update_and_expires_is_now_plus_ttl() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let conn = raw(&path);
    let k = key(["timestamp-test"]);
    let row = |conn: &rusqlite::Connection| -> (String, i64, Option<i64>) {
        conn.query_row(
            "SELECT value, created, expires FROM fedify_kv WHERE key = ?",
            [k.to_json()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    };

    let before = now_ms();
    store
        .set(&k, &json!("initial"), SetOptions::default())
        .await
        .unwrap();
    let after = now_ms();
    let (value, created, expires) = row(&conn);
    assert_eq!(value, r#""initial""#);
    assert!(
        (before..=after).contains(&created),
        "{before} <= {created} <= {after}"
    );
    assert_eq!(expires, None);

    tokio::time::sleep(Duration::from_millis(20)).await;
    let ttl = Duration::from_millis(30_250);
    let before = now_ms();
    store
        .set(&k, &json!("updated"), SetOptions::ttl(ttl))
        .await
        .unwrap();
    let after = now_ms();
    let (value, created_again, expires) = row(&conn);
    assert_eq!(value, r#""updated""#);
    assert_eq!(created_again, created, "created is kept on update");
    let expires = expires.expect("a TTL sets expires");
    assert!(
        (before + 30_250..=after + 30_250).contains(&expires),
        "expires {expires} = now + 30250 ms, now in {before}..={after}"
    );

    // cas writes the same way; without a TTL it clears expires.
    assert!(
        store
            .cas(
                &k,
                Some(&json!("updated")),
                Some(&json!(1)),
                SetOptions::default()
            )
            .await
            .unwrap()
    );
    assert_eq!(row(&conn), ("1".to_owned(), created, None));
    assert_eq!(count(&conn, "fedify_kv"), 1);
}

#[tokio::test]
async fn rows_written_by_fedify_are_read() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let conn = raw(&path);
    let now = now_ms();
    fedify_insert(
        &conn,
        "fedify_kv",
        r#"["foo","bar"]"#,
        r#"["foobar"]"#,
        now,
        None,
    );
    fedify_insert(
        &conn,
        "fedify_kv",
        r#"["foo","ttl"]"#,
        r#"{"b":2,"a":1}"#,
        now,
        Some(now + 60_000),
    );
    fedify_insert(
        &conn,
        "fedify_kv",
        r#"["foo","gone"]"#,
        "true",
        now - 1000,
        Some(now - 500),
    );
    // JavaScript TTLs may carry fractional milliseconds.
    conn.execute(
        "INSERT INTO fedify_kv (key, value, created, expires) VALUES (?, ?, ?, ?)",
        (r#"["foo","frac"]"#, "null", now, now as f64 + 60_000.5),
    )
    .unwrap();

    assert_eq!(
        store.get(&key(["foo", "bar"])).await.unwrap(),
        Some(json!(["foobar"]))
    );
    assert_eq!(
        store.get(&key(["foo", "ttl"])).await.unwrap(),
        Some(json!({"a": 1, "b": 2}))
    );
    assert_eq!(store.get(&key(["foo", "gone"])).await.unwrap(), None);
    assert_eq!(
        store.get(&key(["foo", "frac"])).await.unwrap(),
        Some(Value::Null)
    );
    let listed: Vec<KvKey> = store
        .list(Some(&key(["foo"])))
        .map_ok(|e| e.key)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        listed,
        [
            key(["foo", "bar"]),
            key(["foo", "frac"]),
            key(["foo", "ttl"])
        ]
    );
    // An expired row is absent to cas, which then takes its place.
    assert!(
        store
            .cas(
                &key(["foo", "gone"]),
                None,
                Some(&json!(2)),
                SetOptions::default()
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store.get(&key(["foo", "gone"])).await.unwrap(),
        Some(json!(2))
    );
}

#[tokio::test]
async fn an_undecodable_row_is_a_corrupt_error_and_is_left_alone() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let conn = raw(&path);
    fedify_insert(
        &conn,
        "fedify_kv",
        r#"["bad"]"#,
        "{not json",
        now_ms(),
        None,
    );
    let err = store.get(&key(["bad"])).await.unwrap_err();
    assert!(
        matches!(err, KvError::Corrupt { ref key, .. } if key == r#"["bad"]"#),
        "{err}"
    );
    let err = store.list(None).try_collect::<Vec<_>>().await.unwrap_err();
    assert!(matches!(err, KvError::Corrupt { .. }), "{err}");
    assert!(
        store
            .cas(&key(["bad"]), None, Some(&json!(1)), SetOptions::default())
            .await
            .is_err()
    );
    assert_eq!(count(&conn, "fedify_kv"), 1);
    // A write replaces it.
    store
        .set(&key(["bad"]), &json!("fixed"), SetOptions::default())
        .await
        .unwrap();
    assert_eq!(
        store.get(&key(["bad"])).await.unwrap(),
        Some(json!("fixed"))
    );
}

/// A key's components.
type Components<'a> = &'a [&'a str];

/// The prefixes Fedify's LIKE gets wrong each list exactly their own
/// entries, next to decoys a LIKE, a case folding or an escape mix-up would
/// match.
#[tokio::test]
async fn prefixes_are_exact_ranges() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let cases: &[(Components, &[Components], &[Components])] = &[
        (
            &["50%"],
            &[&["50%"], &["50%", "off"]],
            &[&["50x", "off"], &["50%x"], &["50"]],
        ),
        (
            &["snake_case"],
            &[&["snake_case", "k"]],
            &[&["snakeXcase", "k"], &["snake_cases"]],
        ),
        (
            &["back\\slash"],
            &[&["back\\slash", "k"], &["back\\slash"]],
            &[
                &["back\\slashy", "k"],
                &["backslash", "k"],
                &["back\\\\slash", "k"],
            ],
        ),
        (
            &["q\"uote"],
            &[&["q\"uote", "c"], &["q\"uote", "c", "d"]],
            &[&["q\"uotes", "c"], &["q", "uote"], &["q\\\"uote", "c"]],
        ),
        (
            &["Prefix"],
            &[&["Prefix", "x"], &["Prefix"]],
            &[&["prefix", "x"], &["PREFIX", "x"], &["prefix"]],
        ),
        (
            &["prefix"],
            &[&["prefix", "x"], &["prefix"]],
            &[&["Prefix", "x"], &["PREFIX", "x"], &["Prefix"]],
        ),
        (
            &["a:"],
            &[&["a:", "b"], &["a:", ""]],
            &[&["a:b"], &["a", ":"], &["a::"], &["a"]],
        ),
    ];
    let mut all: Vec<KvKey> = Vec::new();
    for (_, members, decoys) in cases {
        for c in members.iter().chain(decoys.iter()) {
            all.push(KvKey::new(c.iter().copied()).unwrap());
        }
    }
    all.sort();
    all.dedup();
    for k in &all {
        store
            .set(k, &json!(k.to_json()), SetOptions::default())
            .await
            .unwrap();
    }
    for (prefix, members, _) in cases {
        let prefix = KvKey::new(prefix.iter().copied()).unwrap();
        let listed: Vec<(KvKey, Value)> = store
            .list(Some(&prefix))
            .map_ok(|e| (e.key, e.value))
            .try_collect()
            .await
            .unwrap();
        let mut expected: Vec<KvKey> = members
            .iter()
            .map(|c| KvKey::new(c.iter().copied()).unwrap())
            .collect();
        // The documented order: JSON text, byte by byte.
        expected.sort_by_key(KvKey::to_json);
        let keys: Vec<KvKey> = listed.iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(keys, expected, "list({prefix})");
        for (k, v) in listed {
            assert_eq!(v, json!(k.to_json()));
        }
    }
}

#[tokio::test]
async fn list_order_is_json_text_order() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    for k in [
        key(["a", "b"]),
        key(["a"]),
        key(["a", "b", "c"]),
        key(["a", ""]),
        key(["ab"]),
    ] {
        store
            .set(&k, &json!(1), SetOptions::default())
            .await
            .unwrap();
    }
    let listed: Vec<KvKey> = store
        .list(None)
        .map_ok(|e| e.key)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        listed,
        [
            key(["a", ""]),
            key(["a", "b", "c"]),
            key(["a", "b"]),
            key(["a"]),
            key(["ab"])
        ]
    );
}

/// Listings read their first page on the caller's thread when one of the
/// store's two inline connections is free, and through the reader threads
/// otherwise: eight at once, each across two page boundaries (1001 live
/// entries under a prefix holding `LIKE` wildcards, an expired row after
/// each, neighbours a `LIKE` pattern would match), all list exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_listings_page_exactly_past_expired_rows() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let conn = raw(&path);
    let now = now_ms();
    let prefix = r"p%_\";
    let live: Vec<String> = (0..1001).map(|i| format!("{i:04}")).collect();
    conn.execute_batch("BEGIN").unwrap();
    for c in &live {
        let text = format!(r#"["p%_\\","{c}"]"#);
        fedify_insert(&conn, "fedify_kv", &text, "1", now, None);
        let expired = format!(r#"["p%_\\","{c}x"]"#);
        fedify_insert(
            &conn,
            "fedify_kv",
            &expired,
            "2",
            now - 10_000,
            Some(now - 1),
        );
    }
    conn.execute_batch("COMMIT").unwrap();
    for other in [key(["pX_\\", "0001"]), key(["p%_\\z"]), key(["p%"])] {
        store
            .set(&other, &json!(0), SetOptions::default())
            .await
            .unwrap();
    }
    let expected: Vec<KvKey> = live.iter().map(|c| key([prefix, c])).collect();
    let listings: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .list(Some(&key([r"p%_\"])))
                    .map_ok(|e| e.key)
                    .try_collect::<Vec<KvKey>>()
                    .await
            })
        })
        .collect();
    for listing in listings {
        assert_eq!(listing.await.unwrap().unwrap(), expected);
    }
}

#[tokio::test]
async fn bad_paths_are_io_errors_and_create_nothing() {
    let (dir, _) = temp_db();
    let missing_dir = dir.path().join("no/such/dir/kv.db");
    for path in [
        dir.path().to_owned(),
        missing_dir.clone(),
        "/proc/fedikv-test/kv.db".into(),
        "/proc/kv.db".into(),
    ] {
        let err = SqliteKvStore::open(&path).await.unwrap_err();
        assert!(
            matches!(err, KvError::Io { path: ref p, .. } if *p == path),
            "{}: {err}",
            path.display()
        );
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
    }
    assert!(!dir.path().join("no").exists(), "no directory was created");
    let err = SqliteKvStore::open("").await.unwrap_err();
    assert!(matches!(err, KvError::Io { .. }), "{err}");
    let err = SqliteKvStore::open_url("sqlite:").await.unwrap_err();
    assert!(matches!(err, KvError::InvalidUrl { .. }), "{err}");
}

#[tokio::test]
async fn bad_names_and_options_are_refused_before_the_file_is_touched() {
    let (dir, path) = temp_db();
    for table in [
        "",
        "1kv",
        "kv-1",
        "kv\"; DROP TABLE x; --",
        "kv kv",
        &"k".repeat(65),
    ] {
        let err = SqliteKvStore::open_with(&path, SqliteOptions::default().table(table))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                KvError::InvalidName {
                    what: "table name",
                    ..
                }
            ),
            "{table}: {err}"
        );
    }
    let url = format!("sqlite:{}", path.display());
    for query in [
        "?table=bad-name",
        "?colour=blue",
        "?readers=x",
        "?sweep=sometimes",
    ] {
        let err = fedikv::open(&format!("{url}{query}")).await.unwrap_err();
        assert!(
            matches!(
                err,
                KvError::InvalidName { .. } | KvError::InvalidUrl { .. }
            ),
            "{query}: {err}"
        );
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file was created"
    );
    // NUL is an ordinary key character (K1), as in Fedify's SQLite store.
    assert_eq!(
        KvKey::from_json(r#"["a\u0000b"]"#).unwrap(),
        KvKey::new(["a\0b"]).unwrap()
    );
}

#[tokio::test]
async fn urls_open_files_and_memory() {
    let (_dir, path) = temp_db();
    let abs = format!(
        "sqlite://{}?table=url_kv&sweep=off&readers=1",
        path.display()
    );
    assert!(abs.starts_with("sqlite:///"));
    let store = fedikv::open(&abs).await.unwrap();
    assert_eq!(store.backend(), "sqlite");
    store
        .set(&key(["u"]), &json!("v"), SetOptions::default())
        .await
        .unwrap();
    assert!(table_exists(&raw(&path), "url_kv"));
    assert!(!table_exists(&raw(&path), "fedify_kv"));
    let again = fedikv::open(&format!("sqlite:{}?table=url_kv", path.display()))
        .await
        .unwrap();
    assert_eq!(again.get(&key(["u"])).await.unwrap(), Some(json!("v")));

    let memory = SqliteKvStore::open_url("sqlite::memory:").await.unwrap();
    assert_eq!(memory.options().readers, 0);
    memory
        .set(&key(["m", "1"]), &json!(1), SetOptions::default())
        .await
        .unwrap();
    assert_eq!(memory.get(&key(["m", "1"])).await.unwrap(), Some(json!(1)));
    assert_eq!(
        memory
            .list(Some(&key(["m"])))
            .try_collect::<Vec<_>>()
            .await
            .unwrap()
            .len(),
        1
    );
    let debug = format!("{memory:?}");
    assert!(
        debug.contains(":memory:") && debug.contains("fedify_kv"),
        "{debug}"
    );
}

/// Writes `n` rows `["old","<i>"]` that expired a moment before `now`, as
/// Fedify writes them.
fn insert_expired(conn: &rusqlite::Connection, now: i64, n: usize) {
    for i in 0..n {
        fedify_insert(
            conn,
            "fedify_kv",
            &format!(r#"["old","{i}"]"#),
            "1",
            now - 10_000,
            Some(now - 1),
        );
    }
}

#[tokio::test]
async fn sweep_removes_expired_rows_only_in_batches() {
    let (_dir, path) = temp_db();
    let options = SqliteOptions::default().sweep(SweepPolicy::disabled().with_batch_size(2));
    let store = SqliteKvStore::open_with(&path, options).await.unwrap();
    let conn = raw(&path);
    let now = now_ms();
    insert_expired(&conn, now, 5);
    fedify_insert(
        &conn,
        "fedify_kv",
        r#"["live","ttl"]"#,
        "1",
        now,
        Some(now + 60_000),
    );
    fedify_insert(&conn, "fedify_kv", r#"["live","forever"]"#, "1", now, None);
    store
        .set(&key(["live", "set"]), &json!(1), SetOptions::default())
        .await
        .unwrap();
    assert_eq!(count(&conn, "fedify_kv"), 8, "automatic sweeping is off");
    assert_eq!(store.sweep().await.unwrap(), 5);
    assert_eq!(count(&conn, "fedify_kv"), 3);
    assert_eq!(store.sweep().await.unwrap(), 0);
    let live: Vec<KvKey> = store
        .list(Some(&key(["live"])))
        .map_ok(|e| e.key)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(live.len(), 3);
}

#[tokio::test]
async fn writes_trigger_amortized_sweeps() {
    let (_dir, path) = temp_db();
    let options =
        SqliteOptions::default().sweep(SweepPolicy::every(Duration::ZERO).with_batch_size(2));
    let store = SqliteKvStore::open_with(&path, options).await.unwrap();
    let conn = raw(&path);
    let now = now_ms();
    insert_expired(&conn, now, 5);
    // Each write sweeps one batch of at most 2 rows.
    store
        .set(&key(["w", "1"]), &json!(1), SetOptions::default())
        .await
        .unwrap();
    assert_eq!(count(&conn, "fedify_kv"), 4, "5 expired - 2 + 1 written");
    store.delete(&key(["w", "1"])).await.unwrap();
    assert_eq!(count(&conn, "fedify_kv"), 1);
    store
        .set(&key(["w", "2"]), &json!(2), SetOptions::default())
        .await
        .unwrap();
    assert_eq!(count(&conn, "fedify_kv"), 1, "only the live row is left");
    // Reads do not sweep.
    fedify_insert(
        &conn,
        "fedify_kv",
        r#"["old","x"]"#,
        "1",
        now - 10_000,
        Some(now - 1),
    );
    store.get(&key(["w", "2"])).await.unwrap();
    assert_eq!(count(&conn, "fedify_kv"), 2);
}

#[tokio::test]
async fn dropped_table_is_recreated_on_next_use() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let conn = raw(&path);
    store
        .set(&key(["k"]), &json!(1), SetOptions::default())
        .await
        .unwrap();
    store.drop_table().await.unwrap();
    assert!(!table_exists(&conn, "fedify_kv"));
    store.drop_table().await.unwrap();
    assert_eq!(store.get(&key(["k"])).await.unwrap(), None);
    assert!(table_exists(&conn, "fedify_kv"));

    // Dropped by another program: every operation recreates it.
    for op in 0..5 {
        conn.execute_batch("DROP TABLE fedify_kv").unwrap();
        let k = key(["k"]);
        match op {
            0 => store
                .set(&k, &json!(2), SetOptions::default())
                .await
                .unwrap(),
            1 => assert!(
                store
                    .cas(&k, None, Some(&json!(3)), SetOptions::default())
                    .await
                    .unwrap()
            ),
            2 => store.delete(&k).await.unwrap(),
            3 => assert!(
                store
                    .list(None)
                    .try_collect::<Vec<_>>()
                    .await
                    .unwrap()
                    .is_empty()
            ),
            _ => assert_eq!(store.sweep().await.unwrap(), 0),
        }
        assert!(table_exists(&conn, "fedify_kv"), "op {op}");
        let indexes: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'idx_fedify_kv_expires'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 1, "op {op}");
    }
}

#[tokio::test]
async fn initialize_is_idempotent_and_concurrent() {
    let (_dir, path) = temp_db();
    let lazy = SqliteOptions::default().initialize(false);
    let a = SqliteKvStore::open_with(&path, lazy.clone()).await.unwrap();
    let b = SqliteKvStore::open_with(&path, lazy).await.unwrap();
    assert!(
        !table_exists(&raw(&path), "fedify_kv"),
        "initialize(false) leaves the schema alone"
    );
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { store.initialize().await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert!(table_exists(&raw(&path), "fedify_kv"));
    a.set(&key(["x"]), &json!(1), SetOptions::default())
        .await
        .unwrap();
    a.initialize().await.unwrap();
    assert_eq!(b.get(&key(["x"])).await.unwrap(), Some(json!(1)));
}

#[tokio::test]
async fn large_values_round_trip() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let big = json!({"data": "x".repeat(8 << 20), "n": [1, 2, 3]});
    store
        .set(&key(["big"]), &big, SetOptions::default())
        .await
        .unwrap();
    assert_eq!(store.get(&key(["big"])).await.unwrap(), Some(big.clone()));
    assert!(
        store
            .cas(&key(["big"]), Some(&big), None, SetOptions::default())
            .await
            .unwrap()
    );
    // Listing large values: pages end at about 8 MiB of text, not 500 rows.
    let mib = json!("y".repeat(1 << 20));
    for i in 0..20 {
        let k = key(["big", &format!("{i:02}")]);
        store.set(&k, &mib, SetOptions::default()).await.unwrap();
    }
    let listed: Vec<KvKey> = store
        .list(Some(&key(["big"])))
        .map_ok(|e| {
            assert_eq!(e.value, mib);
            e.key
        })
        .try_collect()
        .await
        .unwrap();
    let expected: Vec<KvKey> = (0..20).map(|i| key(["big", &format!("{i:02}")])).collect();
    assert_eq!(listed, expected);
}

#[tokio::test]
async fn dropping_the_store_closes_its_connections() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    store
        .set(&key(["k"]), &json!(1), SetOptions::default())
        .await
        .unwrap();
    let stream = store.list(None);
    let wal = path.with_extension("sqlite3-wal");
    assert!(wal.exists());
    drop(store);
    // A live stream keeps the store running.
    let entries: Vec<_> = stream.try_collect().await.unwrap();
    assert_eq!(entries.len(), 1);
    // The last connection to close checkpoints and removes the WAL file.
    for _ in 0..500 {
        if !wal.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the WAL file is still there 5 s after the store was dropped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_bounded_under_continuous_writes() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let wal = path.with_extension("sqlite3-wal");
    let value = json!("x".repeat(16 * 1024));
    let mut largest = 0;
    // 160 MiB of values, written back to back.
    for i in 0..10_000 {
        store
            .set(&key(["wal", &i.to_string()]), &value, SetOptions::default())
            .await
            .unwrap();
        if i % 500 == 0 {
            largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
        }
    }
    assert!(largest <= 96 << 20, "the WAL grew to {} MiB", largest >> 20);
    assert_eq!(count(&raw(&path), "fedify_kv"), 10_000);
}
