//! Rule V5 on Redis: keys under the store's prefix that no entry can be read
//! from (a value that is not JSON, another Redis type, a key not in Fedify's
//! layout) never hide the good entries, are each reported once by the whole
//! Redis key, and `delete_raw` removes them by that key.
//!
//! Needs `FEDIKV_TEST_REDIS_URL`; each test uses its own key prefix. The
//! same on a Redis Cluster is in `redis_cluster.rs`.

use std::collections::BTreeSet;

use super::TestPrefix;
use crate::support::bad_rows::{corrupt, delete_reported_rows, key, listed, sorted_entries};
use fedikv::{KvError, KvKey, KvStore, SetOptions};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn bad_keys_are_reported_by_their_redis_key_and_the_listing_goes_on() {
    let Some(t) = TestPrefix::fresh().await else {
        return;
    };
    let store: &dyn KvStore = &t.store;
    let mut good: Vec<KvKey> = (0..250)
        .map(|i| key(&["p", &i.to_string()]))
        .chain([key(&["q"])])
        .collect();
    good.sort();
    for k in &good {
        store
            .set(k, &json!(1), SetOptions::default())
            .await
            .unwrap();
    }
    let raw = |rest: &str| String::from_utf8(t.raw_key(rest)).unwrap();
    let _: () = t
        .raw(redis::cmd("SET").arg(t.raw_key("p::text")).arg("not json"))
        .await;
    let _: () = t
        .raw(
            redis::cmd("HSET")
                .arg(t.raw_key("p::hash"))
                .arg("f")
                .arg("v"),
        )
        .await;
    let _: () = t
        .raw(redis::cmd("RPUSH").arg(t.raw_key("p::list")).arg("v"))
        .await;
    // A `:` without the `_` Fedify writes before it.
    let _: () = t
        .raw(redis::cmd("SET").arg(t.raw_key("p::a:b")).arg("1"))
        .await;
    // Not UTF-8: reported with U+FFFD for the bad byte.
    let mut not_utf8 = t.raw_key("p::");
    not_utf8.push(0xff);
    let _: () = t.raw(redis::cmd("SET").arg(&not_utf8).arg("1")).await;

    let reported: BTreeSet<String> = ["p::text", "p::hash", "p::list", "p::a:b", "p::\u{FFFD}"]
        .map(raw)
        .into();
    let items = listed(store, Some(&key(&["p"]))).await;
    assert_eq!(sorted_entries(&items), good[..250]);
    assert_eq!(corrupt(&items), reported);
    let all = listed(store, None).await;
    assert_eq!(sorted_entries(&all), good);
    assert_eq!(corrupt(&all), reported);

    // get of such a key stays a typed error naming the Redis key.
    for (rest, why) in [("text", "not JSON"), ("hash", "another Redis type")] {
        match store.get(&key(&["p", rest])).await {
            Err(KvError::Corrupt { key, reason }) => {
                assert_eq!(key, raw(&format!("p::{rest}")));
                assert!(reason.contains(why), "{reason}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    // Only keys under the store's prefix can be deleted by raw key.
    assert!(matches!(
        store.delete_raw("elsewhere").await,
        Err(KvError::InvalidKey { .. })
    ));
    // A key that is not UTF-8 has no raw key to name it: delete it here.
    let _: () = t.raw(redis::cmd("DEL").arg(&not_utf8)).await;
    delete_reported_rows(store, Some(&key(&["p"])), &sorted_entries(&items)).await;
    assert_eq!(sorted_entries(&listed(store, None).await), good);
}
