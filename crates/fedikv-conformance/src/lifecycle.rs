//! Rule S1 for stores that keep their entries in a table they create
//! (SQLite, PostgreSQL, MySQL): the one missing-table policy of every fedikv
//! SQL backend. The suite proper cannot drop a table, so the harness of each
//! backend hands in how to drop it behind the store's back (raw SQL on its
//! own connection).

use std::sync::Arc;

use fedikv::KvStore;
use serde_json::json;

use crate::Namespace;
use crate::support::Kv;

/// S1: when another program drops the table, the next operation of any kind
/// (`get`, `set`, `cas`, `delete`, `list`, `count_expired`, `sweep`) creates
/// it again and succeeds, on an empty table; nothing fails on the way.
///
/// Give it a store on a table of its own: `drop_elsewhere` drops that table
/// without going through the store (for example `DROP TABLE` on another
/// connection), and must fail the test itself if it cannot.
pub async fn table_dropped_elsewhere_is_recreated<F>(store: Arc<dyn KvStore>, drop_elsewhere: F)
where
    F: AsyncFn(),
{
    let ns = Namespace::new("s1_table_dropped_elsewhere_is_recreated");
    let kv = Kv::new(store.clone());
    let key = ns.key(["k"]);
    let backend = store.backend();

    kv.set(&key, json!(1)).await;
    drop_elsewhere().await;
    assert_eq!(
        kv.get(&key).await,
        None,
        "S1 ({backend}): get after the table was dropped elsewhere: the table is new and empty"
    );
    kv.set(&key, json!(2)).await;
    assert_eq!(
        kv.get(&key).await,
        Some(json!(2)),
        "S1 ({backend}): the recreated table holds what was written"
    );

    drop_elsewhere().await;
    kv.set(&key, json!(3)).await;
    assert_eq!(
        kv.get(&key).await,
        Some(json!(3)),
        "S1 ({backend}): set after the table was dropped elsewhere"
    );

    drop_elsewhere().await;
    assert!(
        kv.cas(&key, None, Some(json!(4))).await,
        "S1 ({backend}): cas(absent) after the table was dropped elsewhere swaps on the new table"
    );
    assert_eq!(kv.get(&key).await, Some(json!(4)));

    drop_elsewhere().await;
    kv.delete(&key).await;
    kv.set(&key, json!(5)).await;

    drop_elsewhere().await;
    assert!(
        kv.list(Some(ns.prefix())).await.is_empty(),
        "S1 ({backend}): list after the table was dropped elsewhere"
    );

    drop_elsewhere().await;
    let expired = store.count_expired(Some(ns.prefix())).await;
    assert!(
        matches!(expired, Ok(0)),
        "S1 ({backend}): count_expired after the table was dropped elsewhere: {expired:?}"
    );

    drop_elsewhere().await;
    let swept = store.sweep().await;
    assert!(
        swept.is_ok(),
        "S1 ({backend}): sweep after the table was dropped elsewhere: {swept:?}"
    );
    kv.set(&key, json!(6)).await;
    assert_eq!(kv.get(&key).await, Some(json!(6)));
}
