//! Rule V5 on PostgreSQL: rows whose `text[]` key no key can be (a NULL
//! element, no element, several dimensions, another lower bound) never hide
//! the good rows around them, are each reported once by the key's array
//! literal (what `key::text` shows), and `delete_raw` removes them by that
//! literal. Rows with a NULL right after the prefix's components lie past
//! the prefix's key range and are found all the same.
//!
//! Needs `FEDIKV_TEST_POSTGRES_URL`; each test uses its own table.

use super::{fresh_store, raw, server_url};
use crate::support::bad_rows::{Item, corrupt, delete_reported_rows, entries, key, listed};
use fedikv::{KvError, KvKey, KvStore, SetOptions};
use serde_json::json;

/// The keys of rows no key can be, as SQL expressions, in key order
/// (elements compared one by one, NULL after every string): the first four
/// between the good `["p","a"]` and `["p","g"]`, the others after `["p","g"]`
/// and past the prefix's key range `[["p"], ["p",NULL])`.
const FOREIGN_UNDER_P: [&str; 8] = [
    r#"ARRAY['p','a b','','"q\','null','{,}',E'\t\x0b',NULL]"#,
    "ARRAY['p','b',NULL]",
    "'{{p,c},{d,e}}'",
    "'[0:1]={p,f}'",
    "ARRAY['p',NULL]",
    "ARRAY['p',NULL,'x']",
    "ARRAY['p',NULL,'x',NULL]",
    "ARRAY['p',NULL,NULL]",
];

#[tokio::test(flavor = "multi_thread")]
async fn bad_keys_are_reported_by_their_array_literal_and_the_listing_goes_on() {
    let Some(url) = server_url() else { return };
    let (store, table, _cleanup) = fresh_store(&url, "").await;
    let client = raw(&url).await;
    for k in [["p", "a"], ["p", "g"], ["q", "z"]] {
        store
            .set(&key(&k), &json!(k[1]), SetOptions::default())
            .await
            .unwrap();
    }
    for sql_key in FOREIGN_UNDER_P
        .iter()
        .chain(&["'{}'", "ARRAY[NULL]::text[]"])
    {
        client
            .batch_execute(&format!(
                "INSERT INTO \"{table}\" (key, value) VALUES ({sql_key}, '1')"
            ))
            .await
            .unwrap();
    }
    // What PostgreSQL itself writes for each key: the raw keys to report.
    let literal = |sql_key: &str| {
        let client = &client;
        let sql = format!("SELECT ({sql_key})::text[]::text");
        async move {
            client
                .query_one(sql.as_str(), &[])
                .await
                .unwrap()
                .get::<_, String>(0)
        }
    };
    let mut under_p = Vec::new();
    for sql_key in FOREIGN_UNDER_P {
        under_p.push(literal(sql_key).await);
    }
    assert_eq!(under_p[4], "{p,NULL}");

    let items = listed(&store, Some(&key(&["p"]))).await;
    let mut expected = vec![Item::Entry(key(&["p", "a"]))];
    expected.extend(under_p[..4].iter().cloned().map(Item::Corrupt));
    expected.push(Item::Entry(key(&["p", "g"])));
    expected.extend(under_p[4..].iter().cloned().map(Item::Corrupt));
    assert_eq!(items, expected, "reported keys differ from key::text");

    let all = listed(&store, None).await;
    assert_eq!(
        entries(&all),
        [key(&["p", "a"]), key(&["p", "g"]), key(&["q", "z"])]
    );
    let mut everything = corrupt(&items);
    everything.insert("{}".to_owned());
    everything.insert("{NULL}".to_owned());
    assert_eq!(corrupt(&all), everything);
    // A narrower prefix sees only its own.
    assert_eq!(
        listed(&store, Some(&key(&["p", "b"]))).await,
        [Item::Corrupt(under_p[1].clone())]
    );
    assert_eq!(
        listed(&store, Some(&key(&["q"]))).await,
        [Item::Entry(key(&["q", "z"]))]
    );

    assert!(matches!(
        store.delete_raw("not an array").await,
        Err(KvError::InvalidKey { .. })
    ));
    delete_reported_rows(
        &store,
        None,
        &[key(&["p", "a"]), key(&["p", "g"]), key(&["q", "z"])],
    )
    .await;
    let left: i64 = client
        .query_one(&format!("SELECT count(*) FROM \"{table}\""), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 3);
}

/// A bad row ending a full page (500 rows) of the range, and more rows
/// past the range than one statement reads: every row comes once.
#[tokio::test(flavor = "multi_thread")]
async fn bad_rows_at_page_ends_and_past_the_range_are_listed_past() {
    let Some(url) = server_url() else { return };
    let (store, table, _cleanup) = fresh_store(&url, "").await;
    let client = raw(&url).await;
    client
        .batch_execute(&format!(
            "INSERT INTO \"{table}\" (key, value) \
             SELECT ARRAY['m', lpad(i::text, 3, '0')], '1' FROM generate_series(0, 698) AS i \
             WHERE i <> 499; \
             INSERT INTO \"{table}\" (key, value) VALUES (ARRAY['m', '499', NULL], '1'); \
             INSERT INTO \"{table}\" (key, value) \
             SELECT ARRAY['m', NULL, i::text], '1' FROM generate_series(1, 3) AS i; \
             INSERT INTO \"{table}\" (key, value) VALUES (ARRAY['n'], '1')"
        ))
        .await
        .unwrap();
    let good: Vec<KvKey> = (0..699)
        .filter(|i| *i != 499)
        .map(|i| key(&["m", &format!("{i:03}")]))
        .collect();
    let items = listed(&store, Some(&key(&["m"]))).await;
    assert_eq!(entries(&items), good);
    assert_eq!(items[499], Item::Corrupt("{m,499,NULL}".into()));
    assert_eq!(
        items[items.len() - 3..],
        ["{m,NULL,1}", "{m,NULL,2}", "{m,NULL,3}"].map(|k| Item::Corrupt(k.into()))
    );
    assert_eq!(items.len(), good.len() + 4);
    delete_reported_rows(&store, Some(&key(&["m"])), &good).await;
    assert_eq!(
        listed(&store, Some(&key(&["n"]))).await,
        [Item::Entry(key(&["n"]))]
    );
}
