//! Rule V5 on MySQL/MariaDB: rows another program wrote that do not decode
//! (key text that is not a JSON array of strings, value text that is not
//! JSON) never hide the good rows around them, are each reported once by
//! the key column's text, and `delete_raw` removes them by that text.
//!
//! Needs `FEDIKV_TEST_MYSQL_URL`; each test uses its own table.

use super::TestTable;
use crate::support::bad_rows::{Item, corrupt, delete_reported_rows, entries, key, listed};
use fedikv::{KvError, KvKey, KvStore, SetOptions};
use mysql_async::prelude::Queryable;
use serde_json::json;

/// Inserts `(key, value)` rows as they are, on a connection where MariaDB
/// does not check its `JSON` column's `JSON_VALID` constraint (MySQL's
/// native `JSON` type refuses text that is not JSON whatever the session
/// says, so on MySQL only the keys can be bad).
async fn insert_unchecked(t: &TestTable, rows: &[(&str, &str)]) {
    let mut conn = t.pool.get_conn().await.expect("conn");
    conn.query_drop("SET SESSION check_constraint_checks = 0")
        .await
        .expect("MariaDB's check_constraint_checks");
    let sql = format!("INSERT INTO `{}` (`key`, `value`) VALUES (?, ?)", t.table);
    for &(k, v) in rows {
        conn.exec_drop(sql.as_str(), (k, v)).await.expect(&sql);
    }
    // The connection goes back to the pool, which does not reset it: undo.
    conn.query_drop("SET SESSION check_constraint_checks = 1")
        .await
        .expect("check_constraint_checks back on");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_rows_are_reported_in_place_and_the_listing_goes_on() {
    let Some(t) = TestTable::fresh().await else {
        return;
    };
    for k in [["p", "a"], ["p", "c"], ["q", "z"]] {
        t.store
            .set(&key(&k), &json!(k[1]), SetOptions::default())
            .await
            .unwrap();
    }
    insert_unchecked(
        &t,
        &[
            (r#"["p",1]"#, "1"),
            (r#"["p","b"]"#, "{not json"),
            (r#"["p",{"x":1}]"#, "2"),
            ("not a key", "3"),
        ],
    )
    .await;
    // Key text order (utf8mb4_bin): the bad ["p","b"] sits between the good
    // rows, ["p",1] and ["p",{"x":1}] after them.
    let items = listed(&t.store, Some(&key(&["p"]))).await;
    assert_eq!(
        items,
        [
            Item::Entry(key(&["p", "a"])),
            Item::Corrupt(r#"["p","b"]"#.into()),
            Item::Entry(key(&["p", "c"])),
            Item::Corrupt(r#"["p",1]"#.into()),
            Item::Corrupt(r#"["p",{"x":1}]"#.into()),
        ]
    );
    let good = [key(&["p", "a"]), key(&["p", "c"]), key(&["q", "z"])];
    let all = listed(&t.store, None).await;
    assert_eq!(entries(&all), good);
    assert_eq!(corrupt(&all).len(), 4);
    assert!(corrupt(&all).contains("not a key"));

    match t.store.get(&key(&["p", "b"])).await {
        Err(KvError::Corrupt { key, reason }) => {
            assert_eq!(key, r#"["p","b"]"#);
            assert!(reason.contains("not JSON"), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    delete_reported_rows(&t.store, None, &good).await;
    t.cleanup().await;
}

/// A bad row ending a full page (500 rows): the next page starts after it.
#[tokio::test(flavor = "multi_thread")]
async fn a_bad_row_ending_a_page_is_listed_past() {
    let Some(t) = TestTable::fresh().await else {
        return;
    };
    let good: Vec<KvKey> = (0..700)
        .filter(|i| *i != 499)
        .map(|i| key(&["m", &format!("{i:03}")]))
        .collect();
    t.insert_raw(
        good.iter().map(|k| (k.to_json(), "1".to_owned())).collect(),
        "NULL",
    )
    .await;
    insert_unchecked(&t, &[(r#"["m","499"]"#, "{")]).await;
    let items = listed(&t.store, Some(&key(&["m"]))).await;
    assert_eq!(entries(&items), good);
    assert_eq!(items[499], Item::Corrupt(r#"["m","499"]"#.into()));
    delete_reported_rows(&t.store, Some(&key(&["m"])), &good).await;
    t.cleanup().await;
}

/// A table of another shape than Fedify's (bytes for keys, values that may
/// be NULL): a key that is not UTF-8 and a NULL value are each reported in
/// place, with the good rows around them listed, and `get`, `cas` and
/// `delete_raw` of the NULL row work instead of panicking in the driver's
/// row conversion.
#[tokio::test(flavor = "multi_thread")]
async fn a_table_of_another_shape_reports_its_rows() {
    let Some(url) = super::server_url() else {
        return;
    };
    let table = super::unique_table();
    let pool = super::pool(&url);
    let mut conn = pool.get_conn().await.expect("conn");
    conn.query_drop(format!(
        "CREATE TABLE `{table}` (`key` VARBINARY(768) NOT NULL PRIMARY KEY, \
         `value` BLOB NULL, `expires` DATETIME(6) NULL)"
    ))
    .await
    .expect("create the foreign table");
    let insert = format!("INSERT INTO `{table}` (`key`, `value`) VALUES (?, ?)");
    let rows: [(&[u8], Option<&[u8]>); 4] = [
        (br#"["p","a"]"#, Some(b"1")),
        (br#"["p","b"]"#, None),
        (br#"["p","c"]"#, Some(b"3")),
        (b"[\"p\",\"\xff\"]", Some(b"4")),
    ];
    for (k, v) in rows {
        conn.exec_drop(insert.as_str(), (k, v))
            .await
            .expect(&insert);
    }
    drop(conn);
    let store = fedikv::mysql::MysqlKvStore::from_pool(
        pool.clone(),
        fedikv::mysql::MysqlOptions::default()
            .table(&table)
            .sweep(fedikv::SweepPolicy::disabled()),
    )
    .await
    .expect("store on the foreign table");
    let t = TestTable::adopt(&url, store, table, pool);

    let items = listed(&t.store, Some(&key(&["p"]))).await;
    assert_eq!(
        items,
        [
            Item::Entry(key(&["p", "a"])),
            Item::Corrupt(r#"["p","b"]"#.into()),
            Item::Entry(key(&["p", "c"])),
            Item::Corrupt("[\"p\",\"\u{fffd}\"]".into()),
        ]
    );
    for result in [
        t.store.get(&key(&["p", "b"])).await.map(|_| ()),
        t.store
            .cas(
                &key(&["p", "b"]),
                None,
                Some(&json!(2)),
                SetOptions::default(),
            )
            .await
            .map(|_| ()),
    ] {
        match result {
            Err(KvError::Corrupt { key, .. }) => assert_eq!(key, r#"["p","b"]"#),
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }
    assert!(t.store.delete_raw(r#"["p","b"]"#).await.unwrap());
    let items = listed(&t.store, Some(&key(&["p"]))).await;
    assert_eq!(entries(&items), [key(&["p", "a"]), key(&["p", "c"])]);
    t.cleanup().await;
}
