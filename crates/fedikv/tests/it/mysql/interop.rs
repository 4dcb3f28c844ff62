//! fedikv's `MysqlKvStore` and Fedify's published `@fedify/mysql` (run by
//! Node 24 through `interop/fedify.mjs`, driver `mysql2`) on the same
//! MariaDB table, in both directions.
//!
//! `@fedify/mysql` 2.3.6 cannot write on MariaDB: its `set` and its `cas`
//! upsert send `INSERT … VALUES (?, CAST(? AS JSON), …)`, and MariaDB has no
//! JSON cast (`ER_PARSE_ERROR … near 'JSON), …'`, checked below). Its reads
//! (`get`, `list`) and its compare-and-delete do run unchanged, and are
//! tested as published. For the directions where Fedify writes, the tests run
//! the package's own code on a pool wrapper that replaces `CAST(? AS JSON)`
//! by `?` in each statement and changes nothing else: the rows are Fedify's
//! documented layout (JSON-array key text, JSON value text, `expires` from
//! `DATE_ADD(NOW(6), INTERVAL ? SECOND)`), written by its exact SQL.
//! Needs `FEDIKV_TEST_MYSQL_URL` and `scripts/interop-setup.sh`; each test
//! has a table of its own, dropped at the end.

use std::collections::BTreeMap;

use super::{TestTable, server_url};
use crate::support::interop::data::{base, tricky_entries, under};
use crate::support::interop::scenarios;
use crate::support::interop::{Capabilities, Fedify, check, entries, got, op, swapped};
use fedikv::KvStore;
use serde_json::{Value, json};

const CAPS: Capabilities = Capabilities {
    cas: true,
    list: true,
    null_values: true,
};

/// fedikv's store on a table of its own (created on first use, by whichever
/// side comes first) and Fedify's store on it: with the MariaDB cast fix when
/// `cast_fix`, exactly as published otherwise.
async fn setup(cast_fix: bool) -> Option<(TestTable, Fedify)> {
    let url = server_url()?;
    let test = TestTable::new(&url).await;
    let target =
        json!({"backend": "mysql", "url": url, "table": test.table, "mariadb_cast_fix": cast_fix});
    let fedify = Fedify::new(target, CAPS)?;
    Some((test, fedify))
}

#[tokio::test]
async fn fedify_writes_fedikv_reads() {
    let Some((test, fedify)) = setup(true).await else {
        return;
    };
    scenarios::fedify_writes_fedikv_reads(&test.store, &fedify, &base("mysql")).await;
    test.cleanup().await;
}

#[tokio::test]
async fn fedikv_writes_fedify_reads() {
    let Some((test, fedify)) = setup(true).await else {
        return;
    };
    scenarios::fedikv_writes_fedify_reads(&test.store, &fedify, &base("mysql")).await;
    test.cleanup().await;
}

/// A remote document as deep as MariaDB's JSON check takes and a
/// lone-surrogate key beside good rows, both ways.
#[tokio::test]
async fn javascript_data() {
    let Some((test, fedify)) = setup(true).await else {
        return;
    };
    scenarios::javascript_data(&test.store, &fedify, &base("mysql-js")).await;
    test.cleanup().await;
}

#[tokio::test]
async fn ttl_agreement() {
    let Some((test, fedify)) = setup(true).await else {
        return;
    };
    scenarios::ttl_agreement(&test.store, &fedify, &base("mysql")).await;
    test.cleanup().await;
}

#[tokio::test]
async fn cas_increments_from_both_sides() {
    let Some((test, fedify)) = setup(true).await else {
        return;
    };
    scenarios::cas_increments_from_both_sides(&test.store, &fedify, &base("mysql")).await;
    test.cleanup().await;
}

/// `@fedify/mysql` exactly as published, on MariaDB: `get`, `list` and
/// compare-and-delete read what fedikv wrote; `set` and a `cas` that writes
/// fail on `CAST(? AS JSON)` and write nothing.
#[tokio::test]
async fn published_package_reads_but_cannot_write_on_mariadb() {
    let Some((test, fedify)) = setup(false).await else {
        return;
    };
    let version: Vec<String> = test.rows("SELECT VERSION()", ()).await;
    if !version[0].contains("MariaDB") {
        eprintln!(
            "skipping: {} is not MariaDB, where the published package would write",
            version[0]
        );
        test.cleanup().await;
        return;
    }
    let base = base("mysql");
    let data = tricky_entries(&base);
    for (k, v) in &data {
        test.store
            .set(k, v, fedikv::SetOptions::default())
            .await
            .unwrap();
    }
    let mut ops: Vec<Value> = data.iter().map(|(k, _)| op::get(k)).collect();
    ops.push(op::list(Some(&base)));
    let results = fedify.run(ops).await;
    for ((k, v), result) in data.iter().zip(&results) {
        assert_eq!(got(result).as_ref(), Some(v), "published Fedify get {k}");
    }
    let expected: BTreeMap<_, _> = data.iter().cloned().collect();
    assert_eq!(
        entries(&results[data.len()]),
        expected,
        "published Fedify list"
    );

    let (k, v) = &data[0];
    let fresh = under(&base, &["written by published Fedify"]);
    let results = fedify
        .run(vec![
            op::set(&fresh, &json!(1), None),
            op::cas(&fresh, None, Some(&json!(1)), None),
            op::cas(k, Some(v), None, None),
        ])
        .await;
    for refused in &results[..2] {
        let error = refused["error"]
            .as_str()
            .expect("published Fedify cannot write on MariaDB");
        assert!(error.contains("near 'JSON)"), "{error}");
    }
    assert!(swapped(&results[2]), "published Fedify compare-and-delete");
    assert_eq!(test.store.get(k).await.unwrap(), None);
    assert_eq!(
        test.store.get(&fresh).await.unwrap(),
        None,
        "nothing written"
    );
    test.cleanup().await;
}

/// The rows Fedify writes (through the cast fix) are its documented layout:
/// key as `JSON.stringify` text, value as JSON text in Fedify's key order,
/// `expires` on the server clock.
#[tokio::test]
async fn fedify_rows_are_the_documented_layout() {
    let Some((test, fedify)) = setup(true).await else {
        return;
    };
    let key = fedikv::KvKey::new(["a", "q\"uote\n", "🦀"]).unwrap();
    let ops = vec![
        op::set_json(&key, r#"{"z":1,"a":[true,null]}"#, None),
        op::set(&under(&key, &["ttl"]), &json!(1), Some(scenarios::HOUR)),
    ];
    for result in fedify.run(ops).await {
        check(&result, "set");
    }
    let rows: Vec<(String, String, Option<i64>)> = test
        .rows(
            "SELECT `key`, `value`, TIMESTAMPDIFF(SECOND, NOW(6), `expires`) FROM {t} ORDER BY `key`",
            (),
        )
        .await;
    // Binary order of the JSON text: `,` sorts before `]`.
    assert_eq!(
        rows[1],
        (
            r#"["a","q\"uote\n","🦀"]"#.to_owned(),
            r#"{"z":1,"a":[true,null]}"#.to_owned(),
            None
        )
    );
    assert_eq!(rows[0].0, r#"["a","q\"uote\n","🦀","ttl"]"#);
    let left = rows[0].2.expect("an expiry");
    assert!((3590..=3600).contains(&left), "expires in {left} s");
    assert_eq!(
        test.store.get(&key).await.unwrap(),
        Some(json!({"a": [true, null], "z": 1}))
    );
    test.cleanup().await;
}
