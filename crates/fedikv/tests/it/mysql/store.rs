//! `MysqlKvStore` against a real MariaDB/MySQL server: the stored layout
//! checked with raw SQL, rows written the way Fedify writes them, Fedify's own
//! MySQL test cases, query plans, and bad input.
//!
//! Needs `FEDIKV_TEST_MYSQL_URL` (e.g. `mysql://root@127.0.0.1:3306/test`);
//! each test uses its own table and drops it.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use super::{TestTable, server_url, unique_table};
use fedikv::mysql::{MAX_KEY_CHARS, MysqlKvStore, MysqlOptions};
use fedikv::{JsonText, KvError, KvKey, KvStore, KvStoreExt, SetOptions, SweepPolicy};
use futures::{StreamExt, TryStreamExt};
use mysql_async::prelude::Queryable;
use serde_json::{Value, json};

fn key(components: &[&str]) -> KvKey {
    KvKey::new(components.iter().copied()).unwrap()
}

async fn list_keys(store: &MysqlKvStore, prefix: Option<&KvKey>) -> Vec<KvKey> {
    let entries: Vec<_> = store.list(prefix).try_collect().await.unwrap();
    entries.into_iter().map(|e| e.key).collect()
}

fn hour() -> SetOptions {
    SetOptions::ttl(Duration::from_secs(3600))
}

// ---------------------------------------------------------------- layout ---

#[tokio::test(flavor = "multi_thread")]
async fn layout_matches_fedify() {
    let Some(t) = TestTable::fresh().await else {
        return;
    };
    let tables: Vec<(String, String)> = t
        .rows(
            "SELECT ENGINE, TABLE_COLLATION FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
            (t.table.as_str(),),
        )
        .await;
    assert_eq!(tables, [("InnoDB".to_owned(), "utf8mb4_bin".to_owned())]);

    type Column = (
        String,
        String,
        String,
        Option<String>,
        Option<u64>,
        Option<String>,
    );
    let columns: Vec<Column> = t
        .rows(
            "SELECT COLUMN_NAME, DATA_TYPE, IS_NULLABLE, COLLATION_NAME, \
             CHARACTER_MAXIMUM_LENGTH, COLUMN_DEFAULT FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (t.table.as_str(),),
        )
        .await;
    assert_eq!(columns.len(), 3, "{columns:?}");
    let (name, ty, nullable, collation, len, _) = &columns[0];
    assert_eq!(
        (name.as_str(), ty.as_str(), nullable.as_str()),
        ("key", "varchar", "NO")
    );
    assert_eq!(collation.as_deref(), Some("utf8mb4_bin"));
    assert_eq!(*len, Some(768));
    let (name, ty, nullable, collation, _, _) = &columns[1];
    assert_eq!((name.as_str(), nullable.as_str()), ("value", "NO"));
    // MariaDB: JSON is LONGTEXT (utf8mb4_bin) with a JSON_VALID check; MySQL: json.
    assert!(ty == "longtext" || ty == "json", "{ty}");
    if ty == "longtext" {
        assert_eq!(collation.as_deref(), Some("utf8mb4_bin"));
        let checks: Vec<String> = t
            .rows(
                "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
                 WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ?",
                (t.table.as_str(),),
            )
            .await;
        assert_eq!(checks, ["json_valid(`value`)"]);
    }
    let (name, ty, nullable, _, _, default) = &columns[2];
    assert_eq!(
        (name.as_str(), ty.as_str(), nullable.as_str()),
        ("expires", "datetime", "YES")
    );
    assert!(
        matches!(default.as_deref(), None | Some("NULL")),
        "{default:?}"
    );
    let precision: Vec<u64> = t
        .rows(
            "SELECT DATETIME_PRECISION FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = 'expires'",
            (t.table.as_str(),),
        )
        .await;
    assert_eq!(precision, [6]);

    let indexes: Vec<(String, String, u64)> = t
        .rows(
            "SELECT INDEX_NAME, COLUMN_NAME, NON_UNIQUE FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY NON_UNIQUE",
            (t.table.as_str(),),
        )
        .await;
    assert_eq!(
        indexes,
        [
            ("PRIMARY".to_owned(), "key".to_owned(), 0),
            (format!("idx_{}_expires", t.table), "expires".to_owned(), 1),
        ]
    );
    t.cleanup().await;
}

/// Fedify tests 4, 9 and 10, plus concurrent and repeated initialization.
#[tokio::test(flavor = "multi_thread")]
async fn initialize_is_idempotent_and_drop_recreates() {
    let Some(t) = TestTable::fresh().await else {
        return;
    };
    let count_tables = || async {
        let n: Vec<u64> = t
            .rows(
                "SELECT COUNT(*) FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
                (t.table.as_str(),),
            )
            .await;
        n[0]
    };
    assert_eq!(count_tables().await, 1);
    // A second store on the same table, and concurrent initializations: the
    // duplicate index is ignored and nothing is created twice.
    let other = MysqlKvStore::from_pool(t.pool.clone(), MysqlOptions::default().table(&t.table))
        .await
        .unwrap();
    let runs = (0..4).map(|_| other.initialize());
    for result in futures::future::join_all(runs).await {
        result.unwrap();
    }
    let expires_indexes: Vec<u64> = t
        .rows(
            "SELECT COUNT(*) FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = 'expires'",
            (t.table.as_str(),),
        )
        .await;
    assert_eq!(expires_indexes, [1]);

    t.store
        .set(&key(&["k"]), &json!(1), SetOptions::default())
        .await
        .unwrap();
    t.store.drop_table().await.unwrap();
    assert_eq!(count_tables().await, 0);
    // The next use recreates the table (empty).
    assert_eq!(t.store.get(&key(&["k"])).await.unwrap(), None);
    assert_eq!(count_tables().await, 1);
    t.store.drop_table().await.unwrap();
    t.store.initialize().await.unwrap();
    assert_eq!(count_tables().await, 1);

    // Dropped by another program: every operation recreates the table.
    let k = key(&["k"]);
    let none = SetOptions::default();
    t.exec("DROP TABLE {t}", ()).await;
    assert_eq!(t.store.get(&k).await.unwrap(), None);
    t.exec("DROP TABLE {t}", ()).await;
    t.store.set(&k, &json!(1), none).await.unwrap();
    t.exec("DROP TABLE {t}", ()).await;
    assert!(t.store.cas(&k, None, Some(&json!(2)), none).await.unwrap());
    t.exec("DROP TABLE {t}", ()).await;
    t.store.delete(&k).await.unwrap();
    t.exec("DROP TABLE {t}", ()).await;
    assert!(list_keys(&t.store, None).await.is_empty());
    t.exec("DROP TABLE {t}", ()).await;
    assert_eq!(t.store.sweep().await.unwrap(), 0);
    assert_eq!(count_tables().await, 1);
    assert_eq!(other.get(&k).await.unwrap(), None);
    t.cleanup().await;
}

// ------------------------------------------------------ stored encodings ---

#[tokio::test(flavor = "multi_thread")]
async fn stores_fedify_key_and_value_text() {
    let Some(t) = TestTable::fresh().await else {
        return;
    };
    let tricky: [&[&str]; 7] = [
        &["a:b"],
        &["a", "b"],
        &["a", ""],
        &["q\"uote", "back\\slash", "nl\n", "\u{1}"],
        &["50%", "snake_case", "*?[]"],
        &["é😀", "MiXeD"],
        &["https://example.com/users/1"],
    ];
    for (i, components) in tricky.iter().enumerate() {
        t.store
            .set(&key(components), &json!(i), SetOptions::default())
            .await
            .unwrap();
    }
    let stored: Vec<(String, String)> = t
        .rows("SELECT `key`, `value` FROM {t} ORDER BY `key`", ())
        .await;
    let expected: BTreeSet<(String, String)> = [
        (r#"["a:b"]"#, "0"),
        (r#"["a","b"]"#, "1"),
        (r#"["a",""]"#, "2"),
        (r#"["q\"uote","back\\slash","nl\n","\u0001"]"#, "3"),
        (r#"["50%","snake_case","*?[]"]"#, "4"),
        ("[\"é😀\",\"MiXeD\"]", "5"),
        (r#"["https://example.com/users/1"]"#, "6"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(stored.into_iter().collect::<BTreeSet<_>>(), expected);
    // And every key lists back exactly as written.
    let listed: BTreeSet<KvKey> = list_keys(&t.store, None).await.into_iter().collect();
    let written: BTreeSet<KvKey> = tricky.iter().map(|c| key(c)).collect();
    assert_eq!(listed, written);

    let doc = json!({"b": [1, 2.5, null, true], "a": {"x": "y\"z"}, "e": {}, "u": "é😀"});
    t.store
        .set(&key(&["doc"]), &doc, SetOptions::default())
        .await
        .unwrap();
    let text: Vec<String> = t
        .rows("SELECT `value` FROM {t} WHERE `key` = ?", (r#"["doc"]"#,))
        .await;
    assert_eq!(serde_json::from_str::<Value>(&text[0]).unwrap(), doc);
    assert_eq!(text[0], serde_json::to_string(&doc).unwrap());
    t.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn expiry_is_set_from_the_server_clock() {
    let Some(t) = TestTable::fresh().await else {
        return;
    };
    let k = key(&["ttl"]);
    let expires_in_ms = || async {
        let rows: Vec<Option<i64>> = t
            .rows(
                "SELECT TIMESTAMPDIFF(MICROSECOND, NOW(6), `expires`) DIV 1000 FROM {t} WHERE `key` = ?",
                (k.to_json(),),
            )
            .await;
        rows[0]
    };
    t.store.set(&k, &json!("v"), hour()).await.unwrap();
    let ms = expires_in_ms().await.unwrap();
    assert!((3_595_000..=3_600_000).contains(&ms), "{ms}");
    // Millisecond TTLs are kept at millisecond precision.
    t.store
        .set(
            &k,
            &json!("v"),
            SetOptions::ttl(Duration::from_millis(90_250)),
        )
        .await
        .unwrap();
    let fraction: Vec<u64> = t
        .rows(
            "SELECT TIMESTAMPDIFF(MICROSECOND, NOW(6), `expires`) FROM {t} WHERE `key` = ?",
            (k.to_json(),),
        )
        .await;
    assert!(
        (85_000_000..=90_250_000).contains(&fraction[0]),
        "{fraction:?}"
    );
    // A write without TTL clears the expiry; a TTL write sets it again.
    t.store
        .set(&k, &json!("v"), SetOptions::default())
        .await
        .unwrap();
    assert_eq!(expires_in_ms().await, None);
    assert!(
        t.store
            .cas(&k, Some(&json!("v")), Some(&json!("w")), hour())
            .await
            .unwrap()
    );
    assert!(expires_in_ms().await.unwrap() > 3_590_000);
    assert!(
        t.store
            .cas(
                &k,
                Some(&json!("w")),
                Some(&json!("x")),
                SetOptions::default()
            )
            .await
            .unwrap()
    );
    assert_eq!(expires_in_ms().await, None);
    // A zero TTL is valid and expires at once.
    t.store
        .set(&k, &json!("gone"), SetOptions::ttl(Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(t.store.get(&k).await.unwrap(), None);
    t.cleanup().await;
}

// -------------------------------------------- rows Fedify wrote directly ---

#[tokio::test(flavor = "multi_thread")]
async fn reads_rows_written_like_fedify() {
    let Some(t) = TestTable::fresh().await else {
        return;
    };
    let insert = "INSERT INTO {t} (`key`, `value`, `expires`) VALUES (?, ?, NULL)";
    // Fedify's (mysql2's) JSON text, possibly normalized by the server:
    // spaces, other key order, 1.0.
    t.exec(
        insert,
        (
            r#"["fedify","doc"]"#,
            r#"{"b": [1, 2.0], "a": {"y": null, "x": "é"}}"#,
        ),
    )
    .await;
    t.exec(insert, (r#"["fedify","null"]"#, "null")).await;
    t.exec(insert, (r#"["fedify","false"]"#, "false")).await;
    t.exec(
        "INSERT INTO {t} (`key`, `value`, `expires`) VALUES (?, ?, DATE_ADD(NOW(6), INTERVAL 3600.5 SECOND))",
        (r#"["fedify","ttl"]"#, r#""live""#),
    )
    .await;
    t.exec(
        "INSERT INTO {t} (`key`, `value`, `expires`) VALUES (?, ?, NOW(6) - INTERVAL 1 SECOND)",
        (r#"["fedify","expired"]"#, r#""stale""#),
    )
    .await;

    let doc = json!({"a": {"x": "é", "y": null}, "b": [1, 2]});
    let got = t
        .store
        .get(&key(&["fedify", "doc"]))
        .await
        .unwrap()
        .unwrap();
    assert!(fedikv::json_eq(&got, &doc), "{got}");
    assert_eq!(
        t.store.get(&key(&["fedify", "null"])).await.unwrap(),
        Some(Value::Null)
    );
    assert_eq!(
        t.store.get(&key(&["fedify", "false"])).await.unwrap(),
        Some(json!(false))
    );
    assert_eq!(
        t.store.get(&key(&["fedify", "ttl"])).await.unwrap(),
        Some(json!("live"))
    );
    assert_eq!(
        t.store.get(&key(&["fedify", "expired"])).await.unwrap(),
        None
    );
    let listed = list_keys(&t.store, Some(&key(&["fedify"]))).await;
    assert_eq!(listed.len(), 4, "{listed:?}");
    assert!(!listed.contains(&key(&["fedify", "expired"])));

    // CAS compares deeply, whatever text the row holds.
    assert!(
        t.store
            .cas(
                &key(&["fedify", "doc"]),
                Some(&doc),
                Some(&json!(1)),
                SetOptions::default()
            )
            .await
            .unwrap()
    );
    assert!(
        t.store
            .cas(
                &key(&["fedify", "null"]),
                Some(&Value::Null),
                None,
                SetOptions::default()
            )
            .await
            .unwrap()
    );
    assert!(
        !t.store
            .cas(
                &key(&["fedify", "false"]),
                None,
                Some(&json!(1)),
                SetOptions::default()
            )
            .await
            .unwrap()
    );
    assert!(
        t.store
            .cas(
                &key(&["fedify", "expired"]),
                None,
                Some(&json!("fresh")),
                SetOptions::default()
            )
            .await
            .unwrap()
    );
    assert_eq!(
        t.store.get(&key(&["fedify", "expired"])).await.unwrap(),
        Some(json!("fresh"))
    );

    // A row that is not JSON at all (impossible under MariaDB's check, but a
    // key that is not a key array is possible) is a typed error.
    t.exec(insert, ("not a key", "1")).await;
    let result: Result<Vec<_>, _> = t.store.list(None).try_collect().await;
    assert!(matches!(result, Err(KvError::Corrupt { .. })), "{result:?}");
    t.cleanup().await;
}

// ------------------------------------------------- Fedify's MySQL tests ---

/// Fedify test 2: with sweeping off, expired rows stay.
#[tokio::test(flavor = "multi_thread")]
async fn fedify_02_sweep_off_keeps_expired_rows() {
    let Some(t) = TestTable::fresh().await else {
        return;
    };
    t.exec(
        "INSERT INTO {t} (`key`, `value`, `expires`) VALUES ('[\"expired-key\"]', '\"v\"', NOW(6) - INTERVAL 1 SECOND)",
        (),
    )
    .await;
    for i in 0..3 {
        t.store
            .set(&key(&["another"]), &json!(i), SetOptions::default())
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let n: Vec<u64> = t
        .rows(
            "SELECT COUNT(*) FROM {t} WHERE `key` = '[\"expired-key\"]'",
            (),
        )
        .await;
    assert_eq!(n, [1]);
    t.cleanup().await;
}

/// Fedify test 3 through every constructor.
#[tokio::test(flavor = "multi_thread")]
async fn fedify_03_rejects_invalid_table_names() {
    let Some(url) = server_url() else { return };
    let pool = super::pool(&url);
    for bad in [
        "bad-name!",
        "1_starts_digit",
        "has space",
        &"a".repeat(51),
        "t`; DROP TABLE x; --",
    ] {
        let result =
            MysqlKvStore::from_pool(pool.clone(), MysqlOptions::default().table(bad)).await;
        assert!(
            matches!(result, Err(KvError::InvalidName { .. })),
            "{bad}: {result:?}"
        );
    }
    let injecting = format!("{url}?table=x%60%3B%20DROP%20TABLE%20y");
    let result = MysqlKvStore::open_url(&injecting).await;
    assert!(
        matches!(result, Err(KvError::InvalidName { .. })),
        "{result:?}"
    );
    for good in ["valid_name", "_leading_underscore", "CamelCase123"] {
        let table = format!("{good}_{}", unique_table());
        let table = &table[..table.len().min(50)];
        let store = MysqlKvStore::from_pool(pool.clone(), MysqlOptions::default().table(table))
            .await
            .unwrap();
        store.drop_table().await.unwrap();
    }
    let fifty = format!("t{}", "a".repeat(49));
    let store = MysqlKvStore::from_pool(pool.clone(), MysqlOptions::default().table(&fifty))
        .await
        .unwrap();
    store.drop_table().await.unwrap();
    drop(store);
    pool.disconnect().await.unwrap();
}

/// Fedify tests 5, 6 and 8.
#[tokio::test(flavor = "multi_thread")]
async fn fedify_05_06_08_get_set_delete() {
    let Some(t) = TestTable::fresh().await else {
        return;
    };
    t.exec(
        "INSERT INTO {t} (`key`, `value`) VALUES ('[\"foo\",\"bar\"]', '[\"foobar\"]')",
        (),
    )
    .await;
    assert_eq!(
        t.store.get(&key(&["foo", "bar"])).await.unwrap(),
        Some(json!(["foobar"]))
    );
    t.exec(
        "INSERT INTO {t} (`key`, `value`, `expires`) VALUES ('[\"foo\",\"bar\",\"ttl\"]', '\"x\"', NOW(6) - INTERVAL 1 SECOND)",
        (),
    )
    .await;
    assert_eq!(
        t.store.get(&key(&["foo", "bar", "ttl"])).await.unwrap(),
        None
    );

    let row = |k: &'static str| {
        let t = &t;
        async move {
            let rows: Vec<(String, Option<String>)> = t
                .rows(
                    "SELECT `value`, CAST(`expires` AS CHAR) FROM {t} WHERE `key` = ?",
                    (k,),
                )
                .await;
            rows.into_iter().next()
        }
    };
    t.store
        .set(&key(&["foo", "baz"]), &json!("baz"), SetOptions::default())
        .await
        .unwrap();
    assert_eq!(
        row(r#"["foo","baz"]"#).await,
        Some((r#""baz""#.to_owned(), None))
    );
    t.store
        .set(
            &key(&["foo", "qux"]),
            &json!("qux"),
            SetOptions::ttl(Duration::from_secs(86_400)),
        )
        .await
        .unwrap();
    assert!(row(r#"["foo","qux"]"#).await.unwrap().1.is_some());
    t.store
        .set(&key(&["foo", "quux"]), &json!(true), SetOptions::default())
        .await
        .unwrap();
    assert_eq!(
        row(r#"["foo","quux"]"#).await,
        Some(("true".to_owned(), None))
    );

    // Upsert: still one row.
    t.store
        .set(&key(&["foo", "quux"]), &json!(false), SetOptions::default())
        .await
        .unwrap();
    let n: Vec<u64> = t
        .rows(
            "SELECT COUNT(*) FROM {t} WHERE `key` = '[\"foo\",\"quux\"]'",
            (),
        )
        .await;
    assert_eq!(n, [1]);

    t.store
        .set(
            &key(&["foo", "bar"]),
            &json!("foobar"),
            SetOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        t.store.get(&key(&["foo", "bar"])).await.unwrap(),
        Some(json!("foobar"))
    );
    t.store.delete(&key(&["foo", "bar"])).await.unwrap();
    assert_eq!(t.store.get(&key(&["foo", "bar"])).await.unwrap(), None);
    t.store.delete(&key(&["never", "there"])).await.unwrap();
    t.cleanup().await;
}

/// Fedify tests 11–15, with decoys for every LIKE special character.
#[tokio::test(flavor = "multi_thread")]
async fn fedify_11_to_15_list() {
    let Some(t) = TestTable::fresh().await else {
        return;
    };
    let s = &t.store;
    let none = SetOptions::default();
    for k in [
        &["prefix", "a"][..],
        &["prefix", "b"],
        &["prefix", "nested", "c"],
        &["prefix"],
        &["prefixx", "decoy"],
        &["prefi"],
        &["other", "x"],
    ] {
        s.set(&key(k), &json!(k.join("/")), none).await.unwrap();
    }
    // Fedify 11: the prefix itself and everything below it, nothing else.
    let mut listed = list_keys(s, Some(&key(&["prefix"]))).await;
    listed.sort();
    assert_eq!(
        listed,
        [
            key(&["prefix"]),
            key(&["prefix", "a"]),
            key(&["prefix", "b"]),
            key(&["prefix", "nested", "c"])
        ]
    );
    // Fedify 12: expired rows never appear.
    t.exec(
        "INSERT INTO {t} (`key`, `value`, `expires`) VALUES ('[\"list-test\",\"expired\"]', '1', NOW(6) - INTERVAL 30 MINUTE)",
        (),
    )
    .await;
    s.set(&key(&["list-test", "valid"]), &json!(2), none)
        .await
        .unwrap();
    assert_eq!(
        list_keys(s, Some(&key(&["list-test"]))).await,
        [key(&["list-test", "valid"])]
    );
    // Fedify 13: a single-component prefix.
    assert_eq!(
        list_keys(s, Some(&key(&["other"]))).await,
        [key(&["other", "x"])]
    );

    // Fedify 14: LIKE special characters, with decoys that a LIKE pattern
    // would wrongly match.
    for k in [
        &["50%", "off"][..],
        &["50%", "extra"],
        &["50x", "decoy"],
        &["50%x", "decoy"],
        &["snake_case", "key"],
        &["snakeXcase", "decoy"],
        &["back\\slash", "key"],
        &["backXslash", "decoy"],
        &["back\\\\slash", "decoy"],
        &["unrelated"],
    ] {
        s.set(&key(k), &json!(1), none).await.unwrap();
    }
    let mut fifty = list_keys(s, Some(&key(&["50%"]))).await;
    fifty.sort();
    assert_eq!(fifty, [key(&["50%", "extra"]), key(&["50%", "off"])]);
    assert_eq!(
        list_keys(s, Some(&key(&["snake_case"]))).await,
        [key(&["snake_case", "key"])]
    );
    assert_eq!(
        list_keys(s, Some(&key(&["back\\slash"]))).await,
        [key(&["back\\slash", "key"])]
    );
    // Case matters.
    assert!(list_keys(s, Some(&key(&["PREFIX"]))).await.is_empty());

    // Fedify 15: no prefix lists every live entry, in key-text byte order.
    let all = list_keys(s, None).await;
    assert_eq!(all.len(), 7 + 1 + 10);
    let texts: Vec<String> = all.iter().map(KvKey::to_json).collect();
    let mut sorted = texts.clone();
    sorted.sort();
    assert_eq!(texts, sorted);
    t.cleanup().await;
}

/// Fedify tests 16 and 17.
#[tokio::test(flavor = "multi_thread")]
async fn fedify_16_17_cas() {
    let Some(t) = TestTable::fresh().await else {
        return;
    };
    let (s, none) = (&t.store, SetOptions::default());
    let k = key(&["foo", "bar"]);
    s.set(&k, &json!("foobar"), none).await.unwrap();
    assert!(
        !s.cas(&k, Some(&json!("bar")), Some(&json!("baz")), none)
            .await
            .unwrap()
    );
    assert_eq!(s.get(&k).await.unwrap(), Some(json!("foobar")));
    assert!(
        s.cas(&k, Some(&json!("foobar")), Some(&json!("baz")), none)
            .await
            .unwrap()
    );
    assert_eq!(s.get(&k).await.unwrap(), Some(json!("baz")));
    s.delete(&k).await.unwrap();
    assert!(
        !s.cas(&k, Some(&json!("foobar")), Some(&json!("baz")), none)
            .await
            .unwrap()
    );
    assert_eq!(s.get(&k).await.unwrap(), None);
    assert!(s.cas(&k, None, Some(&json!("baz")), none).await.unwrap());
    assert_eq!(s.get(&k).await.unwrap(), Some(json!("baz")));
    // A live key is not absent.
    assert!(!s.cas(&k, None, Some(&json!("other")), none).await.unwrap());
    // Swapping to an equal value still reports the swap (CLIENT_FOUND_ROWS).
    assert!(
        s.cas(&k, Some(&json!("baz")), Some(&json!("baz")), none)
            .await
            .unwrap()
    );

    // Fedify 17: compare-and-delete.
    s.set(&key(&["foo"]), &json!("bar"), none).await.unwrap();
    assert!(
        s.cas(&key(&["foo"]), Some(&json!("bar")), None, none)
            .await
            .unwrap()
    );
    assert_eq!(s.get(&key(&["foo"])).await.unwrap(), None);
    let n: Vec<u64> = t
        .rows("SELECT COUNT(*) FROM {t} WHERE `key` = '[\"foo\"]'", ())
        .await;
    assert_eq!(n, [0]);
    s.set(&key(&["baz"]), &json!("qux"), none).await.unwrap();
    assert!(
        !s.cas(&key(&["baz"]), Some(&json!("wrong")), None, none)
            .await
            .unwrap()
    );
    assert_eq!(s.get(&key(&["baz"])).await.unwrap(), Some(json!("qux")));
    // Absent → absent is a (no-op) swap.
    assert!(s.cas(&key(&["nothing"]), None, None, none).await.unwrap());
    // Deep equality: numbers and key order.
    s.set(&key(&["deep"]), &json!({"a": 1, "b": [1.0, 2]}), none)
        .await
        .unwrap();
    assert!(
        s.cas(
            &key(&["deep"]),
            Some(&json!({"b": [1, 2.0], "a": 1.0})),
            Some(&json!(0)),
            none
        )
        .await
        .unwrap()
    );
    t.cleanup().await;
}

/// Fedify test 18: a swap triggers the sweep (in the background here).
#[tokio::test(flavor = "multi_thread")]
async fn fedify_18_cas_triggers_sweep() {
    let Some(url) = server_url() else { return };
    let t = TestTable::with_sweep(&url, SweepPolicy::every(Duration::ZERO)).await;
    t.store
        .set(&key(&["target"]), &json!("original"), SetOptions::default())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    t.exec(
        "INSERT INTO {t} (`key`, `value`, `expires`) VALUES ('[\"expired-key\"]', '1', NOW(6) - INTERVAL 1 SECOND)",
        (),
    )
    .await;
    let count = || async {
        let n: Vec<u64> = t
            .rows(
                "SELECT COUNT(*) FROM {t} WHERE `key` = '[\"expired-key\"]'",
                (),
            )
            .await;
        n[0]
    };
    assert_eq!(count().await, 1);
    assert!(
        t.store
            .cas(
                &key(&["target"]),
                Some(&json!("original")),
                Some(&json!("updated")),
                SetOptions::default()
            )
            .await
            .unwrap()
    );
    let mut waited = 0;
    while count().await != 0 {
        assert!(waited < 50, "the expired row was not swept within 5 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    assert_eq!(
        t.store.get(&key(&["target"])).await.unwrap(),
        Some(json!("updated"))
    );
    t.cleanup().await;
}

/// Fedify tests 19 and 20 (with 8 creators instead of 2).
#[tokio::test(flavor = "multi_thread")]
async fn fedify_19_20_expired_rows_are_absent_for_cas() {
    let Some(t) = TestTable::fresh().await else {
        return;
    };
    let k = key(&["key"]);
    let insert_expired = "INSERT INTO {t} (`key`, `value`, `expires`) VALUES ('[\"key\"]', '\"old-value\"', NOW(6) - INTERVAL 1 SECOND) \
        ON DUPLICATE KEY UPDATE `value` = '\"old-value\"', `expires` = NOW(6) - INTERVAL 1 SECOND";
    t.exec(insert_expired, ()).await;
    assert!(
        !t.store
            .cas(
                &k,
                Some(&json!("old-value")),
                Some(&json!("new-value")),
                SetOptions::default()
            )
            .await
            .unwrap()
    );
    assert_eq!(t.store.get(&k).await.unwrap(), None);
    assert!(
        t.store
            .cas(&k, None, Some(&json!("new-value")), SetOptions::default())
            .await
            .unwrap()
    );
    assert_eq!(t.store.get(&k).await.unwrap(), Some(json!("new-value")));

    for round in 0..5 {
        t.exec(insert_expired, ()).await;
        let store = Arc::new(t.store.clone());
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let store = Arc::clone(&store);
                let k = k.clone();
                tokio::spawn(async move {
                    store
                        .cas(
                            &k,
                            None,
                            Some(&json!(format!("value-{i}"))),
                            SetOptions::default(),
                        )
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut winners = vec![];
        for (i, task) in tasks.into_iter().enumerate() {
            if task.await.unwrap() {
                winners.push(i);
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        assert_eq!(
            t.store.get(&k).await.unwrap(),
            Some(json!(format!("value-{}", winners[0])))
        );
    }
    t.cleanup().await;
}

/// Fedify test 21.
#[tokio::test(flavor = "multi_thread")]
async fn fedify_21_cas_with_ttl() {
    let Some(t) = TestTable::fresh().await else {
        return;
    };
    let k = key(&["ttl", "key"]);
    assert!(
        t.store
            .cas(&k, None, Some(&json!("value")), hour())
            .await
            .unwrap()
    );
    assert_eq!(t.store.get(&k).await.unwrap(), Some(json!("value")));
    assert!(
        t.store
            .cas(
                &k,
                Some(&json!("value")),
                Some(&json!("new-value")),
                SetOptions::ttl(Duration::ZERO)
            )
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(t.store.get(&k).await.unwrap(), None);
    t.cleanup().await;
}

// ------------------------------------------------------------ concurrency ---

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_creates_and_increments() {
    let Some(t) = TestTable::fresh().await else {
        return;
    };
    let store = Arc::new(t.store.clone());
    // 8 creators of an absent key.
    let k = key(&["create"]);
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (store, k) = (Arc::clone(&store), k.clone());
            tokio::spawn(async move {
                store
                    .cas(&k, None, Some(&json!(i)), SetOptions::default())
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        wins += u32::from(task.await.unwrap());
    }
    assert_eq!(wins, 1);
    // 5 tasks × 10 increments through the CAS loop.
    let counter = key(&["counter"]);
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let (store, counter) = (Arc::clone(&store), counter.clone());
            tokio::spawn(async move {
                for _ in 0..10 {
                    store
                        .update(&counter, SetOptions::default(), |v| {
                            Some(json!(v.and_then(|v| v.as_i64()).unwrap_or(0) + 1))
                        })
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(t.store.get(&counter).await.unwrap(), Some(json!(50)));
    t.cleanup().await;
}

// ------------------------------------------------------ paging and plans ---

#[tokio::test(flavor = "multi_thread")]
async fn list_pages_through_large_prefixes() {
    let Some(url) = server_url() else { return };
    let t = TestTable::new(&url).await;
    // 1201 entries under the prefix (more than two pages), neighbours on both
    // sides, and expired rows inside the range.
    t.insert_raw(
        (1..=1200)
            .map(|i| (format!(r#"["big","{i}"]"#), format!(r#"{{"i":{i}}}"#)))
            .collect(),
        "NULL",
    )
    .await;
    t.insert_raw(
        (1..=300)
            .map(|i| (format!(r#"["big","x{i}"]"#), "0".to_owned()))
            .collect(),
        "NOW(6) - INTERVAL 1 SECOND",
    )
    .await;
    for k in [&["big"][..], &["bif"], &["big!"], &["bigger", "1"]] {
        t.store
            .set(&key(k), &json!(null), SetOptions::default())
            .await
            .unwrap();
    }
    let entries: Vec<_> = t
        .store
        .list(Some(&key(&["big"])))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(entries.len(), 1201);
    let distinct: BTreeSet<_> = entries.iter().map(|e| e.key.clone()).collect();
    assert_eq!(distinct.len(), 1201);
    assert!(entries.iter().all(|e| e.key.starts_with(&key(&["big"]))));
    let i500 = entries
        .iter()
        .find(|e| e.key == key(&["big", "500"]))
        .unwrap();
    assert_eq!(i500.value, json!({"i": 500}));
    assert_eq!(list_keys(&t.store, None).await.len(), 1204);
    // Exactly one and two pages.
    for (prefix, n) in [("five", 500), ("thousand", 1000)] {
        t.insert_raw(
            (0..n)
                .map(|i| (format!(r#"["{prefix}","{i:04}"]"#), "1".to_owned()))
                .collect(),
            "NULL",
        )
        .await;
        let listed = list_keys(&t.store, Some(&key(&[prefix]))).await;
        assert_eq!(listed.len(), n);
        let distinct: BTreeSet<_> = listed.into_iter().collect();
        assert_eq!(distinct.len(), n);
    }
    // Streams dropped early (with the next page being prefetched) release
    // their connections: the store keeps working on a pool of 2.
    let small = MysqlKvStore::open_url(&format!("{url}?table={}&pool_size=2", t.table))
        .await
        .unwrap();
    for _ in 0..20 {
        let mut stream = small.list(Some(&key(&["big"])));
        assert!(stream.try_next().await.unwrap().is_some());
    }
    let first_page: Vec<_> = small
        .list(Some(&key(&["big"])))
        .take(600)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(first_page.len(), 600);
    assert_eq!(
        small.get(&key(&["big", "7"])).await.unwrap(),
        Some(json!({"i": 7}))
    );
    t.cleanup().await;
}

/// The page boundary as the rows themselves tell it (a page's query asks for
/// one row more than a page): a prefix holding `LIKE` wildcards whose live
/// entries are one more than a page, interleaved with expired rows and
/// beside keys a `LIKE` pattern would match, is listed exactly, in order.
#[tokio::test(flavor = "multi_thread")]
async fn list_pages_past_expired_rows_under_a_wildcard_prefix() {
    let Some(t) = TestTable::fresh().await else {
        return;
    };
    let prefix = r"a%_\";
    let live: Vec<String> = (0..501).map(|i| format!("{i:04}")).collect();
    // Stored key text escapes `\` as `\\`.
    let row = |component: &str, suffix: &str| format!(r#"["a%_\\","{component}{suffix}"]"#);
    t.insert_raw(
        live.iter().map(|c| (row(c, ""), "1".to_owned())).collect(),
        "NULL",
    )
    .await;
    // An expired row right after each live one, so each page's extra row
    // comes from past expired rows.
    t.insert_raw(
        live.iter().map(|c| (row(c, "x"), "2".to_owned())).collect(),
        "NOW(6) - INTERVAL 1 SECOND",
    )
    .await;
    // Keys that `LIKE 'a%_\\%'` patterns would take for the prefix's.
    for other in [
        &["aX_\\", "0001"][..],
        &["a%Y\\", "0001"],
        &["a%_\\z", "0001"],
        &["a%_"],
    ] {
        t.store
            .set(&key(other), &json!(0), SetOptions::default())
            .await
            .unwrap();
    }
    let listed = list_keys(&t.store, Some(&key(&[prefix]))).await;
    let expected: Vec<KvKey> = live.iter().map(|c| key(&[prefix, c])).collect();
    assert_eq!(listed, expected);
    t.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn list_and_sweep_use_indexes() {
    let Some(t) = TestTable::fresh().await else {
        return;
    };
    let rows = |parity: usize| -> Vec<(String, String)> {
        (1..=2000)
            .filter(|i| i % 2 == parity)
            .map(|i| (format!(r#"["k","{i}"]"#), "1".to_owned()))
            .collect()
    };
    t.insert_raw(rows(0), "NULL").await;
    t.insert_raw(rows(1), "NOW(6) + INTERVAL 1 HOUR").await;
    t.exec("ANALYZE TABLE {t}", ()).await;
    // The statements the store runs, with the store's own parameters.
    let range = ("[\"k\",\"1\"]", "[\"k\",\"1\",", "[\"k\",\"1\"-", "");
    let live = "(`expires` IS NULL OR `expires` > NOW(6))";
    let plans: Vec<(String, Option<String>)> = t
        .rows(
            &format!(
                "EXPLAIN SELECT `key`, `value` FROM {{t}} \
                 WHERE (`key` = ? OR (`key` >= ? AND `key` < ?)) AND `key` > ? AND {live} \
                 ORDER BY `key` LIMIT 501"
            ),
            range,
        )
        .await
        .into_iter()
        .map(|row: mysql_async::Row| explain_access(row))
        .collect();
    assert_eq!(plans.len(), 1);
    assert!(
        matches!(plans[0].0.as_str(), "range" | "const" | "eq_ref"),
        "{plans:?}"
    );
    assert_eq!(plans[0].1.as_deref(), Some("PRIMARY"));
    let plans: Vec<(String, Option<String>)> = t
        .rows(&format!("EXPLAIN SELECT `key`, `value` FROM {{t}} WHERE `key` > ? AND {live} ORDER BY `key` LIMIT 501"), ("[\"k\",\"1999\"]",))
        .await
        .into_iter()
        .map(explain_access)
        .collect();
    assert_eq!(plans[0].1.as_deref(), Some("PRIMARY"), "{plans:?}");
    let plans: Vec<(String, Option<String>)> = t
        .rows("EXPLAIN SELECT `value` FROM {t} WHERE `key` = ? AND (`expires` IS NULL OR `expires` > NOW(6))", ("[\"k\",\"7\"]",))
        .await
        .into_iter()
        .map(explain_access)
        .collect();
    assert_eq!(plans[0], ("const".to_owned(), Some("PRIMARY".to_owned())));
    let plans: Vec<(String, Option<String>)> = t
        .rows(
            "EXPLAIN DELETE FROM {t} WHERE `expires` <= NOW(6) ORDER BY `expires` LIMIT 1000",
            (),
        )
        .await
        .into_iter()
        .map(explain_access)
        .collect();
    assert_eq!(plans[0].0, "range", "{plans:?}");
    assert_eq!(plans[0].1, Some(format!("idx_{}_expires", t.table)));
    t.cleanup().await;
}

/// `(type, key)` of an EXPLAIN row.
fn explain_access(row: mysql_async::Row) -> (String, Option<String>) {
    let access: Option<String> = row.get("type").flatten();
    let key: Option<String> = row.get("key").flatten();
    (access.unwrap_or_default(), key)
}

#[tokio::test(flavor = "multi_thread")]
async fn sweep_removes_expired_rows_in_batches() {
    let Some(url) = server_url() else { return };
    let table = unique_table();
    let store = MysqlKvStore::open_url(&format!("{url}?table={table}&sweep=off&sweep_batch=1000"))
        .await
        .unwrap();
    let t = TestTable::adopt(&url, store, table, super::pool(&url));
    t.insert_raw(
        (1..=2500)
            .map(|i| (format!(r#"["e","{i}"]"#), "1".to_owned()))
            .collect(),
        "NOW(6) - INTERVAL 1 SECOND",
    )
    .await;
    t.store
        .set(&key(&["live"]), &json!(1), SetOptions::default())
        .await
        .unwrap();
    t.store
        .set(&key(&["later"]), &json!(1), hour())
        .await
        .unwrap();
    assert_eq!(t.store.sweep().await.unwrap(), 2500);
    assert_eq!(t.store.sweep().await.unwrap(), 0);
    let n: Vec<u64> = t.rows("SELECT COUNT(*) FROM {t}", ()).await;
    assert_eq!(n, [2]);
    t.cleanup().await;
}

// ----------------------------------------------------------- bad input ---

#[tokio::test(flavor = "multi_thread")]
async fn key_size_limit_is_checked_before_any_round_trip() {
    let Some(t) = TestTable::fresh().await else {
        return;
    };
    // ["…"] is 4 characters of JSON around the component.
    let fits = key(&[&"é".repeat(MAX_KEY_CHARS - 4)]);
    assert_eq!(fits.to_json().chars().count(), MAX_KEY_CHARS);
    t.store
        .set(&fits, &json!(1), SetOptions::default())
        .await
        .unwrap();
    assert_eq!(t.store.get(&fits).await.unwrap(), Some(json!(1)));
    assert_eq!(list_keys(&t.store, Some(&fits)).await, vec![fits.clone()]);
    let too_long = key(&[&"😀".repeat(MAX_KEY_CHARS - 3)]);
    assert!(matches!(
        t.store
            .set(&too_long, &json!(1), SetOptions::default())
            .await,
        Err(KvError::KeyTooLong {
            len: 769,
            max: 768,
            ..
        })
    ));
    // Escapes count: 384 newlines are 768 characters of JSON.
    let escaped = key(&[&"\n".repeat(384)]);
    assert!(matches!(
        t.store.get(&escaped).await,
        Err(KvError::KeyTooLong { .. })
    ));
    // Checked before any round trip: it works with the server unreachable.
    let offline = MysqlKvStore::from_pool(t.pool.clone(), MysqlOptions::default().table(&t.table))
        .await
        .unwrap();
    t.store.release_connections();
    offline.release_connections();
    t.pool.clone().disconnect().await.unwrap();
    assert!(matches!(
        offline
            .cas(&too_long, None, Some(&json!(1)), SetOptions::default())
            .await,
        Err(KvError::KeyTooLong { .. })
    ));
    assert!(matches!(
        offline.delete(&too_long).await,
        Err(KvError::KeyTooLong { .. })
    ));
    // The pool is closed: dropping `t` drops the table on a connection of its own.
    drop(t);
}

#[tokio::test(flavor = "multi_thread")]
async fn large_values_work_and_oversized_values_are_typed() {
    let Some(t) = TestTable::fresh().await else {
        return;
    };
    let big = json!({"blob": "x".repeat(1 << 20), "n": 1});
    let k = key(&["big"]);
    t.store.set(&k, &big, SetOptions::default()).await.unwrap();
    assert_eq!(t.store.get(&k).await.unwrap(), Some(big.clone()));
    let bigger = json!({"blob": "y".repeat(1 << 20)});
    assert!(
        t.store
            .cas(&k, Some(&big), Some(&bigger), SetOptions::default())
            .await
            .unwrap()
    );
    let packet: Vec<u64> = t.rows("SELECT @@max_allowed_packet", ()).await;
    let huge = json!("z".repeat(packet[0] as usize));
    assert!(matches!(
        t.store.set(&k, &huge, SetOptions::default()).await,
        Err(KvError::ValueTooLarge { .. })
    ));
    assert_eq!(t.store.get(&k).await.unwrap(), Some(bigger.clone()));
    // The largest accepted value really is accepted, also by CAS (which sends
    // the expected value too).
    let largest = json!("w".repeat(packet[0] as usize - 64 * 1024 - 2));
    t.store
        .set(&k, &largest, SetOptions::default())
        .await
        .unwrap();
    assert!(
        t.store
            .cas(&k, Some(&largest), Some(&largest), SetOptions::default())
            .await
            .unwrap()
    );
    assert_eq!(t.store.get(&k).await.unwrap(), Some(largest));
    t.cleanup().await;
}

/// A JSON string value of at least `bytes` bytes of text whose characters
/// are 1 to 4 bytes long, so that pieces cut at byte offsets would split
/// characters.
fn mixed_text_value(bytes: usize) -> String {
    let unit = "aé€😀\\\"";
    let mut text = String::with_capacity(bytes + 16);
    text.push('"');
    while text.len() < bytes - 1 {
        text.push_str(unit);
    }
    text.push('"');
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn values_longer_than_a_piece_are_sent_and_read_in_pieces_exactly() {
    let Some(t) = TestTable::fresh().await else {
        return;
    };
    // Around the 1 MiB piece threshold, and several pieces of mixed-width
    // characters (read pieces are 2^20 characters, not bytes).
    let mib = 1 << 20;
    let sizes = [mib - 1, mib, mib + 1, 3 * mib + 7];
    let prefix = key(&["p"]);
    let mut lens = Vec::new();
    for (i, bytes) in sizes.into_iter().enumerate() {
        let text = if bytes == 3 * mib + 7 {
            mixed_text_value(bytes)
        } else {
            format!("\"{}\"", "x".repeat(bytes - 2))
        };
        lens.push(text.len());
        let k = key(&["p", &i.to_string()]);
        let options = if i % 2 == 0 {
            hour()
        } else {
            SetOptions::default()
        };
        t.store
            .set_json(&k, JsonText::from_text(&text).unwrap(), options)
            .await
            .unwrap();
        let stored: Vec<bool> = t
            .rows(
                "SELECT `value` = ? FROM {t} WHERE `key` = ?",
                (text.as_str(), k.to_json()),
            )
            .await;
        assert_eq!(stored, [true], "{bytes} bytes: stored text differs");
        let read = t.store.get_json(&k).await.unwrap().expect("present");
        assert!(read.as_str() == text, "{bytes} bytes: get_json differs");
        let value = t.store.get(&k).await.unwrap().expect("present");
        assert_eq!(value, serde_json::from_str::<Value>(&text).unwrap());
        // With a TTL when even: the expiry is the write's.
        let ttls: Vec<Option<String>> = t
            .rows(
                "SELECT CAST(`expires` AS CHAR) FROM {t} WHERE `key` = ?",
                (k.to_json(),),
            )
            .await;
        assert_eq!(ttls[0].is_some(), i % 2 == 0, "{bytes} bytes: expiry");
    }
    // Listed in key order, small values beside them.
    t.store
        .set(&key(&["p", "small"]), &json!(1), SetOptions::default())
        .await
        .unwrap();
    let records: Vec<_> = t
        .store
        .scan_json(Some(&prefix))
        .try_collect()
        .await
        .unwrap();
    let listed: Vec<(String, usize)> = records
        .iter()
        .map(|r| (r.key.to_json(), r.value.len()))
        .collect();
    let expected: Vec<(String, usize)> = lens
        .iter()
        .enumerate()
        .map(|(i, len)| (key(&["p", &i.to_string()]).to_json(), *len))
        .chain([(key(&["p", "small"]).to_json(), 1)])
        .collect();
    assert_eq!(listed, expected);
    let values: Vec<_> = t.store.list(Some(&prefix)).try_collect().await.unwrap();
    assert_eq!(values.len(), sizes.len() + 1);
    // Lone surrogates are replaced as in short values.
    let k = key(&["p", "0"]);
    let lone = format!("[\"\\ud800\",\"{}\"]", "y".repeat(2 * mib));
    t.store
        .set_json(
            &k,
            JsonText::from_text(&lone).unwrap(),
            SetOptions::default(),
        )
        .await
        .unwrap();
    let read = t.store.get_json(&k).await.unwrap().expect("present");
    assert!(read.as_str() == lone.replace("\\ud800", "\u{fffd}"));
    // A table dropped by another program meanwhile: the long write is run
    // again on the recreated table (its text is kept until it ran).
    t.exec("DROP TABLE {t}", ()).await;
    let text = mixed_text_value(2 * mib);
    t.store
        .set_json(
            &k,
            JsonText::from_text(&text).unwrap(),
            SetOptions::default(),
        )
        .await
        .unwrap();
    let read = t.store.get_json(&k).await.unwrap().expect("present");
    assert!(read.as_str() == text, "after recreation: differs");
    t.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_urls_and_credentials_are_typed_and_never_leak_passwords() {
    let Some(url) = server_url() else { return };
    let parsed = url::Url::parse(&url).unwrap();
    let host = parsed.host_str().unwrap().to_owned();
    let port = parsed.port().unwrap_or(3306);
    let db = parsed.path().trim_start_matches('/').to_owned();
    let secret = "s3cret-Pw_42";

    // A user that exists with another password.
    let user = format!("fedikv_u{}", std::process::id());
    let admin = super::pool(&url);
    let mut conn = admin.get_conn().await.unwrap();
    conn.query_drop(format!(
        "DROP USER IF EXISTS '{user}'@'%', '{user}'@'localhost'"
    ))
    .await
    .unwrap();
    conn.query_drop(format!(
        "CREATE USER '{user}'@'%' IDENTIFIED BY 'right-password'"
    ))
    .await
    .unwrap();
    conn.query_drop(format!(
        "CREATE USER '{user}'@'localhost' IDENTIFIED BY 'right-password'"
    ))
    .await
    .unwrap();
    for wrong in [
        format!("mysql://{user}:{secret}@{host}:{port}/{db}"),
        format!("mariadb://fedikv_nobody:{secret}@{host}:{port}/{db}"),
    ] {
        let err = MysqlKvStore::open_url(&wrong).await.unwrap_err();
        assert!(matches!(err, KvError::AccessDenied { .. }), "{err:?}");
        assert_no_secret(&err, secret);
    }
    // The right password works; the user lacks grants on the database.
    let right = format!("mysql://{user}:right-password@{host}:{port}/{db}");
    let err = MysqlKvStore::open_url(&right).await.unwrap_err();
    assert!(matches!(err, KvError::AccessDenied { .. }), "{err:?}");
    conn.query_drop(format!("DROP USER '{user}'@'%', '{user}'@'localhost'"))
        .await
        .unwrap();
    drop(conn);
    admin.disconnect().await.unwrap();

    // Nothing listens on port 1.
    let err = MysqlKvStore::open_url(&format!("mysql://root:{secret}@127.0.0.1:1/{db}"))
        .await
        .unwrap_err();
    assert!(matches!(err, KvError::Unavailable { .. }), "{err:?}");
    assert_no_secret(&err, secret);

    for bad in [
        format!("mysql://root:{secret}@{host}:{port}/"),
        format!("mysql://root:{secret}@{host}:{port}/{db}?pool_size=many"),
        format!("mysql://root:{secret}@{host}:{port}/{db}?bogus=1"),
        format!("mysql://root:{secret}@[{host}:{port}/{db}"),
    ] {
        let err = MysqlKvStore::open_url(&bad).await.unwrap_err();
        assert!(matches!(err, KvError::InvalidUrl { .. }), "{bad}: {err:?}");
        assert_no_secret(&err, secret);
        let err = fedikv::open(&bad).await.unwrap_err();
        assert_no_secret(&err, secret);
    }
}

fn assert_no_secret(err: &KvError, secret: &str) {
    let shown = format!("{err} / {err:?}");
    assert!(!shown.contains(secret), "password leaked: {shown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn debug_never_shows_the_password() {
    let Some(url) = server_url() else { return };
    let t = TestTable::new(&url).await;
    let shown = format!("{:?}", t.store);
    assert!(shown.contains(&t.table), "{shown}");
    // A store opened from a URL with a password: a throwaway user that has one.
    let user = format!("fedikv_d{}", std::process::id());
    let mut conn = t.pool.get_conn().await.unwrap();
    let db: Vec<String> = conn.query("SELECT DATABASE()").await.unwrap();
    let parsed = url::Url::parse(&url).unwrap();
    conn.query_drop(format!(
        "DROP USER IF EXISTS '{user}'@'%', '{user}'@'localhost'"
    ))
    .await
    .unwrap();
    for host in ["%", "localhost"] {
        conn.query_drop(format!(
            "CREATE USER '{user}'@'{host}' IDENTIFIED BY 'hunter2-secret'"
        ))
        .await
        .unwrap();
        conn.query_drop(format!("GRANT ALL ON `{}`.* TO '{user}'@'{host}'", db[0]))
            .await
            .unwrap();
    }
    let with_password = format!(
        "mysql://{user}:hunter2-secret@{}:{}/{}?table={}",
        parsed.host_str().unwrap(),
        parsed.port().unwrap_or(3306),
        db[0],
        t.table
    );
    let store = MysqlKvStore::open_url(&with_password).await.unwrap();
    let shown = format!("{store:?}");
    assert!(
        shown.contains(&user) && !shown.contains("hunter2"),
        "{shown}"
    );
    let dyn_store = fedikv::open(&with_password).await.unwrap();
    assert!(!format!("{dyn_store:?}").contains("hunter2"));
    assert_eq!(dyn_store.backend(), "mysql");
    store.release_connections();
    store.pool().clone().disconnect().await.unwrap();
    conn.query_drop(format!("DROP USER '{user}'@'%', '{user}'@'localhost'"))
        .await
        .unwrap();
    drop(conn);
    t.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pools_without_found_rows_are_refused() {
    let Some(url) = server_url() else { return };
    let opts = mysql_async::Opts::from_url(&url).unwrap();
    let pool = mysql_async::Pool::new(mysql_async::OptsBuilder::from_opts(opts));
    let err = MysqlKvStore::from_pool(pool.clone(), MysqlOptions::default().table(unique_table()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, KvError::Backend { .. }) && err.to_string().contains("client_found_rows"),
        "{err}"
    );
    pool.disconnect().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn enormous_ttls_are_capped_not_errors() {
    let Some(t) = TestTable::fresh().await else {
        return;
    };
    let k = key(&["forever-ish"]);
    t.store
        .set(&k, &json!(1), SetOptions::ttl(Duration::MAX))
        .await
        .unwrap();
    assert_eq!(t.store.get(&k).await.unwrap(), Some(json!(1)));
    let years: Vec<i64> = t
        .rows(
            "SELECT TIMESTAMPDIFF(YEAR, NOW(6), `expires`) FROM {t} WHERE `key` = ?",
            (k.to_json(),),
        )
        .await;
    assert!((999..=1002).contains(&years[0]), "{years:?}");
    assert!(
        t.store
            .cas(
                &k,
                Some(&json!(1)),
                Some(&json!(2)),
                SetOptions::ttl(Duration::MAX)
            )
            .await
            .unwrap()
    );
    t.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kept_connections_survive_cancellation_and_never_starve_the_pool() {
    let Some(url) = server_url() else { return };
    let table = unique_table();
    let store = MysqlKvStore::open_url(&format!("{url}?table={table}&pool_size=2"))
        .await
        .unwrap();
    let pool = store.pool().clone();
    let t = TestTable::adopt(&url, store, table, pool);
    t.insert_raw(
        (0..700)
            .map(|i| (format!(r#"["c","{i:04}"]"#), format!(r#"{{"i":{i}}}"#)))
            .collect(),
        "NULL",
    )
    .await;
    // Operations cancelled at every stage leave no half-read result behind.
    let (prefix, k7, k8, v8) = (
        key(&["c"]),
        key(&["c", "0007"]),
        key(&["c", "0008"]),
        json!({"i": 8}),
    );
    for i in 0..60u64 {
        let budget = Duration::from_micros(i * 25);
        let _ = tokio::time::timeout(budget, t.store.get(&k7)).await;
        let _ = tokio::time::timeout(budget, list_keys(&t.store, Some(&prefix))).await;
        let cas = t
            .store
            .cas(&k8, Some(&v8), Some(&v8), SetOptions::default());
        let _ = tokio::time::timeout(budget, cas).await;
    }
    assert_eq!(
        t.store.get(&key(&["c", "0007"])).await.unwrap(),
        Some(json!({"i": 7}))
    );
    assert_eq!(list_keys(&t.store, Some(&key(&["c"]))).await.len(), 700);

    // With a pool of 2, the store keeps at most 1: the other is free.
    let mut other = tokio::time::timeout(Duration::from_secs(5), t.pool.get_conn())
        .await
        .expect("the store starves the pool")
        .unwrap();
    let one: Option<u8> = other.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1));
    // Many concurrent operations on 2 connections all finish.
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = t.store.clone();
            tokio::spawn(async move {
                for j in 0..20 {
                    let k = key(&["c", &format!("{:04}", (i * 20 + j) % 700)]);
                    assert!(store.get(&k).await.unwrap().is_some());
                }
            })
        })
        .collect();
    tokio::time::timeout(Duration::from_secs(30), futures::future::join_all(tasks))
        .await
        .expect("concurrent operations stalled")
        .into_iter()
        .for_each(|r| r.unwrap());
    drop(other);
    // Kept connections go back to the pool on their own within about a second.
    t.store.get(&key(&["c", "0001"])).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), t.pool.clone().disconnect())
        .await
        .expect("kept connections were not returned")
        .unwrap();
    // The store works again on a new pool after the table check.
    drop(t);
}

/// Listing while another task inserts and deletes keys between the listed
/// ones: page boundaries move while the next page is read ahead, yet every
/// key present throughout appears exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn list_is_exact_under_concurrent_writes() {
    let Some(t) = TestTable::fresh().await else {
        return;
    };
    t.insert_raw(
        (0..1200)
            .map(|i| (format!(r#"["s","{i:04}"]"#), "1".to_owned()))
            .collect(),
        "NULL",
    )
    .await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (store, stop) = (t.store.clone(), Arc::clone(&stop));
        tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // "0123x" sorts right after "0123": churn inside every page.
                let k = key(&["s", &format!("{:04}x", (n * 37) % 1200)]);
                store
                    .set(&k, &json!(0), SetOptions::default())
                    .await
                    .unwrap();
                if n % 2 == 1 {
                    let old = key(&["s", &format!("{:04}x", ((n - 1) * 37) % 1200)]);
                    store.delete(&old).await.unwrap();
                }
                n += 1;
            }
            n
        })
    };
    let stable: BTreeSet<KvKey> = (0..1200).map(|i| key(&["s", &format!("{i:04}")])).collect();
    for round in 0..15 {
        let listed = list_keys(&t.store, Some(&key(&["s"]))).await;
        let distinct: BTreeSet<KvKey> = listed.iter().cloned().collect();
        assert_eq!(distinct.len(), listed.len(), "round {round}: duplicates");
        assert!(
            stable.is_subset(&distinct),
            "round {round}: a stable key is missing"
        );
        let texts: Vec<String> = listed.iter().map(KvKey::to_json).collect();
        assert!(
            texts.windows(2).all(|w| w[0] < w[1]),
            "round {round}: out of order"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(writer.await.unwrap() > 10, "the writer made no progress");
    t.cleanup().await;
}
