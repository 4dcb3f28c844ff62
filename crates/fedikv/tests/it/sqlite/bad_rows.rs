//! Rule V5 on SQLite: rows another program wrote that do not decode (key
//! text that is not a JSON array of strings, value text that is not JSON,
//! columns of other types) never hide the good rows around them, are each
//! reported once by the key column's text, and `delete_raw` removes them by
//! that text.

use super::{fedify_insert, now_ms, open, raw, temp_db};
use crate::support::bad_rows::{Item, corrupt, delete_reported_rows, entries, key, listed};
use fedikv::{KvError, KvKey, KvStore, SetOptions};
use serde_json::json;

#[tokio::test]
async fn bad_rows_are_reported_in_place_and_the_listing_goes_on() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let conn = raw(&path);
    for k in [["p", "a"], ["p", "c"], ["q", "z"]] {
        store
            .set(&key(&k), &json!(k[1]), SetOptions::default())
            .await
            .unwrap();
    }
    let insert = |k: &str, v: &str| fedify_insert(&conn, "fedify_kv", k, v, now_ms(), None);
    insert(r#"["p",1]"#, "1"); // a key that is not an array of strings
    insert(r#"["p","b"]"#, "{not json"); // between the good rows
    insert("not a key", "2"); // under no prefix
    conn.execute(
        r#"INSERT INTO fedify_kv VALUES ('["p","d"]', '4', 0, 'soon')"#,
        [],
    )
    .unwrap();
    conn.execute("INSERT INTO fedify_kv VALUES (X'01', '5', 0, NULL)", [])
        .unwrap();

    // Key text order: the bad ["p","b"] sits between the good rows.
    let items = listed(&store, Some(&key(&["p"]))).await;
    assert_eq!(
        items,
        [
            Item::Entry(key(&["p", "a"])),
            Item::Corrupt(r#"["p","b"]"#.into()),
            Item::Entry(key(&["p", "c"])),
            Item::Corrupt(r#"["p","d"]"#.into()),
            Item::Corrupt(r#"["p",1]"#.into()),
        ]
    );
    let all = listed(&store, None).await;
    assert_eq!(
        entries(&all),
        [key(&["p", "a"]), key(&["p", "c"]), key(&["q", "z"])]
    );
    assert_eq!(
        corrupt(&all),
        [
            r#"["p","b"]"#,
            r#"["p","d"]"#,
            r#"["p",1]"#,
            "not a key",
            "X'01'"
        ]
        .map(String::from)
        .into()
    );

    // get of an undecodable row stays a typed error naming the raw key.
    match store.get(&key(&["p", "b"])).await {
        Err(KvError::Corrupt { key, reason }) => {
            assert_eq!(key, r#"["p","b"]"#);
            assert!(reason.contains("not JSON"), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }

    delete_reported_rows(
        &store,
        None,
        &[key(&["p", "a"]), key(&["p", "c"]), key(&["q", "z"])],
    )
    .await;
    assert_eq!(
        store.get(&key(&["p", "a"])).await.unwrap(),
        Some(json!("a"))
    );
}

/// A bad row that ends a full page (500 rows), and a blob key (blobs sort
/// after every text key) ending one: the next page starts after it, and
/// every row comes once.
#[tokio::test]
async fn bad_rows_at_page_ends_are_listed_past() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let conn = raw(&path);
    let numbered =
        |stem: &str| -> Vec<KvKey> { (0..499).map(|i| key(&[stem, &format!("{i:03}")])).collect() };
    let (m, n) = (numbered("m"), numbered("n"));
    conn.execute_batch("BEGIN").unwrap();
    for k in m.iter().chain(&n) {
        fedify_insert(&conn, "fedify_kv", &k.to_json(), "1", now_ms(), None);
    }
    // The 500th row of ["m"] and of everything: the end of page 1.
    fedify_insert(&conn, "fedify_kv", r#"["m","499"]"#, "{", now_ms(), None);
    // 499 rows of ["n"] and X'01' fill page 2; X'02' is page 3.
    for blob in ["X'01'", "X'02'"] {
        conn.execute(
            &format!("INSERT INTO fedify_kv VALUES ({blob}, '1', 0, NULL)"),
            [],
        )
        .unwrap();
    }
    conn.execute_batch("COMMIT").unwrap();
    let items = listed(&store, Some(&key(&["m"]))).await;
    assert_eq!(entries(&items), m);
    assert_eq!(items[499], Item::Corrupt(r#"["m","499"]"#.into()));
    let good: Vec<KvKey> = m.iter().chain(&n).cloned().collect();
    let all = listed(&store, None).await;
    assert_eq!(entries(&all), good);
    assert_eq!(all.len(), good.len() + 3);
    assert_eq!(
        all[all.len() - 2..],
        [Item::Corrupt("X'01'".into()), Item::Corrupt("X'02'".into())]
    );
    delete_reported_rows(&store, None, &good).await;
}

/// The issue's reproduction, through the library: `["p","a"]` set by
/// fedikv, a row fedikv cannot read inserted with raw SQL beside it.
#[tokio::test]
async fn the_good_row_beside_a_foreign_one_is_listed() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    store
        .set(&key(&["p", "a"]), &json!(1), SetOptions::default())
        .await
        .unwrap();
    raw(&path)
        .execute(
            r#"INSERT INTO fedify_kv VALUES ('["p",null]', '2', 0, NULL)"#,
            [],
        )
        .unwrap();
    let items = listed(&store, Some(&key(&["p"]))).await;
    assert_eq!(
        items,
        [
            Item::Entry(key(&["p", "a"])),
            Item::Corrupt(r#"["p",null]"#.into())
        ]
    );
    delete_reported_rows(&store, Some(&key(&["p"])), &[key(&["p", "a"])]).await;
}
