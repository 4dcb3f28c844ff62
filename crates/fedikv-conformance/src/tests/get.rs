//! O1: get.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fedikv::KvStore;
use serde_json::json;

use crate::Namespace;
use crate::support::{Kv, TooSlow, assert_entries, assert_value, sleep_ms, sleep_past, with_ttl};

/// O1: `get` of a key never written is `None`, and so is `get` of a strict
/// prefix or an extension of an existing key.
pub async fn o1_get_absent_is_none(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o1_get_absent_is_none");
    let kv = Kv::new(store);
    assert_value(
        "O1: never-written key",
        kv.get(&ns.key(["missing"])).await,
        None,
    );
    kv.set(&ns.key(["foo", "bar"]), json!("foobar")).await;
    assert_value(
        "O1: strict prefix of a key",
        kv.get(&ns.key(["foo"])).await,
        None,
    );
    assert_value(
        "O1: extension of a key",
        kv.get(&ns.key(["foo", "bar", "baz"])).await,
        None,
    );
    assert_value(
        "O1: the key",
        kv.get(&ns.key(["foo", "bar"])).await,
        Some(json!("foobar")),
    );
}

/// O1: Fedify's memory-store steps "set() & get()": set then get, get of a
/// strict prefix is `None`, a TTL-0 entry is gone 10 ms later, and an object
/// round trips.
pub async fn o1_fedify_set_and_get(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o1_fedify_set_and_get");
    let kv = Kv::new(store);
    kv.set(&ns.key(["foo", "bar"]), json!("foobar")).await;
    assert_value(
        "O1: get",
        kv.get(&ns.key(["foo", "bar"])).await,
        Some(json!("foobar")),
    );
    assert_value("O1: get of a prefix", kv.get(&ns.key(["foo"])).await, None);
    kv.set_ttl(&ns.key(["foo", "baz"]), json!("baz"), Duration::ZERO)
        .await;
    sleep_ms(10).await;
    assert_value(
        "O1: TTL 0 after 10 ms",
        kv.get(&ns.key(["foo", "baz"])).await,
        None,
    );
    kv.set(&ns.key(["obj"]), json!({"foo": 1, "bar": 2})).await;
    assert_value(
        "O1: object",
        kv.get(&ns.key(["obj"])).await,
        Some(json!({"bar": 2, "foo": 1})),
    );
}

/// O1: an entry past its TTL is `None` to `get` (whether or not it is still
/// physically stored), and a sibling without TTL is unaffected.
pub async fn o1_get_expired_is_none(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o1_get_expired_is_none");
    let kv = Kv::new(store);
    let (kv, ns) = (&kv, &ns);
    with_ttl(
        "O1: get of an expired entry",
        Duration::from_millis(200),
        move |ttl| async move {
            let key = ns.key(["ttl", &ttl.as_millis().to_string()]);
            let keep = ns.key(["keep", &ttl.as_millis().to_string()]);
            kv.set(&keep, json!("kept")).await;
            let before = Instant::now();
            kv.set_ttl(&key, json!("short-lived"), ttl).await;
            let written = Instant::now();
            kv.expect_live(&key, &json!("short-lived"), before, ttl)
                .await?;
            sleep_past(written, ttl).await;
            assert_value(
                &format!("O1: get({key}) after its TTL"),
                kv.get(&key).await,
                None,
            );
            assert_value(
                "O1: sibling without TTL",
                kv.get(&keep).await,
                Some(json!("kept")),
            );
            Ok::<(), TooSlow>(())
        },
    )
    .await;
}

/// S3: `sweep` removes expired entries only: afterwards live entries (without
/// TTL or with a long one) are all still there and expired ones stay
/// invisible.
pub async fn s3_sweep_removes_only_expired_entries(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("s3_sweep_removes_only_expired_entries");
    let kv = Kv::new(store.clone());
    let mut live = Vec::new();
    for i in 0..20 {
        let key = ns.key(["entry", &format!("{i:02}")]);
        match i % 4 {
            0 => kv.set_ttl(&key, json!(i), Duration::from_millis(1)).await,
            1 => kv.set_ttl(&key, json!(i), Duration::ZERO).await,
            2 => {
                kv.set_ttl(&key, json!(i), Duration::from_secs(3600)).await;
                live.push((key, json!(i)));
            }
            _ => {
                kv.set(&key, json!(i)).await;
                live.push((key, json!(i)));
            }
        }
    }
    sleep_ms(30).await;
    store.sweep().await.expect("S3: sweep");
    assert_entries(
        "S3: list after a sweep",
        &kv.list(Some(ns.prefix())).await,
        &live,
    );
    for (key, value) in &live {
        assert_value(
            &format!("S3: get({key}) after a sweep"),
            kv.get(key).await,
            Some(value.clone()),
        );
    }
}
