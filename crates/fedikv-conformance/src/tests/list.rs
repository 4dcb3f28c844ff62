//! O5: list.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fedikv::{KvKey, KvStore};
use futures::StreamExt;
use serde_json::{Value, json};

use crate::Namespace;
use crate::support::{Kv, TooSlow, assert_entries, keys, sleep_ms, sleep_past, with_ttl};

/// `["prefix","a"]`, `["prefix","b"]`, `["prefix","nested","c"]` and
/// `["other","x"]`, the entries of Fedify's list tests.
async fn fedify_list_entries(kv: &Kv, ns: &Namespace) -> Vec<(KvKey, Value)> {
    let children = vec![
        (ns.key(["prefix", "a"]), json!("value-a")),
        (ns.key(["prefix", "b"]), json!("value-b")),
        (ns.key(["prefix", "nested", "c"]), json!("value-c")),
    ];
    for (key, value) in &children {
        kv.set(key, value.clone()).await;
    }
    kv.set(&ns.key(["other", "x"]), json!("value-x")).await;
    children
}

/// O5: Fedify's `list()` tests: a prefix lists its 3 descendants (at any
/// depth) and not `["other", …]`; once the key equal to the prefix exists it
/// is listed too (4); an unknown prefix lists nothing.
pub async fn o5_fedify_list_prefix(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o5_fedify_list_prefix");
    let kv = Kv::new(store);
    let mut expected = fedify_list_entries(&kv, &ns).await;
    let prefix = ns.key(["prefix"]);
    assert_entries(
        "O5: list([prefix]) without the exact key",
        &kv.list(Some(&prefix)).await,
        &expected,
    );
    kv.set(&prefix, json!("exact-match")).await;
    expected.push((prefix.clone(), json!("exact-match")));
    assert_entries(
        "O5: list([prefix]) with the exact key",
        &kv.list(Some(&prefix)).await,
        &expected,
    );
    let none = kv.list(Some(&ns.key(["nonexistent"]))).await;
    assert!(
        none.is_empty(),
        "O5: list of an unknown prefix returned {none:?}"
    );
    let deeper = kv.list(Some(&ns.key(["prefix", "nested"]))).await;
    assert_entries(
        "O5: list of a two-component prefix",
        &deeper,
        &[(ns.key(["prefix", "nested", "c"]), json!("value-c"))],
    );
}

/// O5: a one-component prefix lists only its own key: `list(["a"])` with
/// `["a"]` and `["b"]` stored is `["a"]` alone.
pub async fn o5_single_element_key(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o5_single_element_key");
    let kv = Kv::new(store);
    let a = ns.key(["a"]);
    kv.set(&a, json!("value-a")).await;
    kv.set(&ns.key(["b"]), json!("value-b")).await;
    assert_entries(
        "O5: list([a])",
        &kv.list(Some(&a)).await,
        &[(a.clone(), json!("value-a"))],
    );
}

/// O5: `list()` without a prefix lists every live entry, among them every
/// entry of this test's namespace exactly once and none that expired or was
/// deleted (other tests' entries may be listed too).
pub async fn o5_no_prefix_lists_everything(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o5_no_prefix_lists_everything");
    let kv = Kv::new(store);
    let expected = vec![
        (ns.key(["a"]), json!("a")),
        (ns.key(["b", "c"]), json!({"b": "c"})),
        (ns.key(["d", "e", "f"]), json!(["d", "e", "f"])),
        (ns.key(["d"]), json!(null)),
    ];
    for (key, value) in &expected {
        kv.set(key, value.clone()).await;
    }
    kv.set_ttl(&ns.key(["expired"]), json!("x"), Duration::from_millis(1))
        .await;
    kv.set_ttl(&ns.key(["d", "expired"]), json!("x"), Duration::ZERO)
        .await;
    kv.set(&ns.key(["deleted"]), json!("x")).await;
    kv.delete(&ns.key(["deleted"])).await;
    sleep_ms(30).await;
    let everything = kv.list(None).await;
    let mut seen = std::collections::HashSet::new();
    for entry in &everything {
        assert!(
            seen.insert(&entry.key),
            "O5: list() yielded {} twice",
            entry.key
        );
    }
    let own: Vec<_> = everything.into_iter().filter(|e| ns.owns(&e.key)).collect();
    assert_entries("O5: list() restricted to this namespace", &own, &expected);
}

/// O5: expired entries are never listed, whether they sort before, between or
/// after live ones, including an expired key equal to the prefix (Fedify's
/// "excludes expired" tests, Workers' variant); an entry that expires between
/// two listings disappears from the second.
pub async fn o5_expired_entries_are_never_listed(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o5_expired_entries_are_never_listed");
    let kv = Kv::new(store);
    let prefix = ns.key(["list-test"]);
    kv.set_ttl(&prefix, json!("expired root"), Duration::from_millis(1))
        .await;
    kv.set_ttl(
        &ns.key(["list-test", "a-expired"]),
        json!("x"),
        Duration::from_millis(1),
    )
    .await;
    kv.set_ttl(
        &ns.key(["list-test", "m-expired"]),
        json!("x"),
        Duration::ZERO,
    )
    .await;
    kv.set_ttl(
        &ns.key(["list-test", "z-expired"]),
        json!("x"),
        Duration::from_millis(1),
    )
    .await;
    let valid = ns.key(["list-test", "valid"]);
    kv.set(&valid, json!("valid-value")).await;
    sleep_ms(30).await;
    let expected = [(valid.clone(), json!("valid-value"))];
    assert_entries(
        "O5: list with expired entries",
        &kv.list(Some(&prefix)).await,
        &expected,
    );
    assert_entries(
        "O5: list() with expired entries",
        &kv.list_everything_in(&ns).await,
        &expected,
    );

    let (kv, ns) = (&kv, &ns);

    with_ttl(
        "O5: entry expiring between listings",
        Duration::from_millis(300),
        move |ttl| async move {
            let prefix = ns.key(["expiring", &ttl.as_millis().to_string()]);
            let key = prefix.child("k").expect("valid key");
            let before = Instant::now();
            kv.set_ttl(&key, json!("soon"), ttl).await;
            let written = Instant::now();
            let listed = kv.list(Some(&prefix)).await;
            if listed.is_empty() {
                let elapsed = before.elapsed();
                assert!(
                    elapsed >= ttl,
                    "O5: a live entry was not listed {elapsed:?} after it was written (TTL {ttl:?})"
                );
                return Err(TooSlow);
            }
            assert_entries(
                "O5: live entry with TTL",
                &listed,
                &[(key.clone(), json!("soon"))],
            );
            sleep_past(written, ttl).await;
            let listed = kv.list(Some(&prefix)).await;
            assert!(
                listed.is_empty(),
                "O5: an expired entry was listed: {listed:?}"
            );
            Ok(())
        },
    )
    .await;
}

/// O5: a prefix matches whole components: `list(["prefix"])` never lists
/// `["prefixextra", …]` or `["prefi"]` (Workers' "no match for sibling string
/// prefix").
pub async fn o5_sibling_prefix_is_not_matched(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o5_sibling_prefix_is_not_matched");
    let kv = Kv::new(store);
    let member = ns.key(["prefix", "a"]);
    kv.set(&member, json!("value-a")).await;
    for decoy in [
        ["prefixextra", "b"],
        ["prefix-", "c"],
        ["prefix ", "d"],
        ["prefix\"", "e"],
    ] {
        kv.set(&ns.key(decoy), json!("decoy")).await;
    }
    kv.set(&ns.key(["prefi"]), json!("decoy")).await;
    kv.set(&ns.key(["prefixextra"]), json!("decoy")).await;
    assert_entries(
        "O5: list([prefix]) next to [prefixextra]",
        &kv.list(Some(&ns.key(["prefix"]))).await,
        &[(member, json!("value-a"))],
    );
}

/// O5: the key equal to the prefix is listed exactly once, next to its
/// children (Deno's "exact prefix key should not be duplicated").
pub async fn o5_exact_prefix_key_is_listed_once(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o5_exact_prefix_key_is_listed_once");
    let kv = Kv::new(store);
    let expected = vec![
        (ns.key(["exact"]), json!("root")),
        (ns.key(["exact", "child1"]), json!("child1")),
        (ns.key(["exact", "child2"]), json!("child2")),
        (ns.key(["exact", ""]), json!("empty child")),
    ];
    for (key, value) in &expected {
        kv.set(key, value.clone()).await;
    }
    assert_entries(
        "O5: list([exact])",
        &kv.list(Some(&ns.key(["exact"]))).await,
        &expected,
    );
    let leaf = ns.key(["exact", "child1"]);
    assert_entries(
        "O5: list of a leaf key lists the leaf",
        &kv.list(Some(&leaf)).await,
        &[(leaf.clone(), json!("child1"))],
    );
}

/// O5: more entries than a page (1,250 under one prefix, with expired entries
/// and sibling decoys around them): every live entry is listed exactly once,
/// no expired one, no decoy.
pub async fn o5_lists_across_pages(store: Arc<dyn KvStore>) {
    const LIVE: usize = 1_250;
    let ns = Namespace::new("o5_lists_across_pages");
    let kv = Kv::new(store);
    let mut expected = Vec::new();
    let mut writes = Vec::new();
    for i in 0..LIVE {
        let key = ns.key(["many", &format!("{i:05}")]);
        writes.push((key.clone(), json!(i), None));
        expected.push((key, json!(i)));
        if i % 5 == 0 {
            let expired = ns.key(["many", &format!("{i:05}"), "expired"]);
            writes.push((expired, json!("expired"), Some(Duration::from_millis(1))));
        }
    }
    for decoy in [["many!"], ["many-"], ["manyextra"], ["man"]] {
        writes.push((ns.key(decoy), json!("decoy"), None));
    }
    writes.push((ns.key(["manz", "0"]), json!("decoy"), None));
    futures::stream::iter(writes)
        .for_each_concurrent(16, |(key, value, ttl)| {
            let kv = kv.clone();
            async move { kv.set_with(&key, value, ttl).await }
        })
        .await;
    sleep_ms(30).await;
    let listed = kv.list(Some(&ns.key(["many"]))).await;
    assert_entries("O5: list over several pages", &listed, &expected);
}

/// O5: two consecutive listings of the same unchanged entries yield them in
/// the same order, with and without a prefix. For ordered backends: a store
/// whose order is unspecified skips it ([`crate::UNORDERED`]).
pub async fn o5_order_is_stable(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o5_order_is_stable");
    let kv = Kv::new(store);
    for i in [7, 3, 11, 0, 5, 9, 1] {
        kv.set(&ns.key(["k", &i.to_string()]), json!(i)).await;
        kv.set(&ns.key(["k", &i.to_string(), "child"]), json!(i))
            .await;
    }
    let first = keys(&kv.list(Some(ns.prefix())).await);
    let second = keys(&kv.list(Some(ns.prefix())).await);
    assert_eq!(first.len(), 14, "O5: all 14 entries listed");
    assert_eq!(
        first, second,
        "O5: two listings of the same entries differ in order"
    );
    let first = keys(&kv.list_everything_in(&ns).await);
    let second = keys(&kv.list_everything_in(&ns).await);
    assert_eq!(first.len(), 14, "O5: all 14 entries listed by list()");
    assert_eq!(first, second, "O5: two list() calls differ in order");
}

/// O5: a list stream owns what it needs: it can be consumed after the store
/// handle it came from is dropped, and several streams can be consumed at the
/// same time.
pub async fn o5_streams_are_independent(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o5_streams_are_independent");
    let kv = Kv::new(store.clone());
    let expected: Vec<_> = (0..10)
        .map(|i| (ns.key(["s", &i.to_string()]), json!(i)))
        .collect();
    for (key, value) in &expected {
        kv.set(key, value.clone()).await;
    }
    let prefix = ns.key(["s"]);
    let stream_a = store.list(Some(&prefix));
    let stream_b = store.list(Some(&prefix));
    drop(store);
    drop(kv);
    let (a, b) = futures::join!(collect(stream_a), collect(stream_b));
    assert_entries("O5: first of two concurrent streams", &a, &expected);
    assert_entries("O5: second of two concurrent streams", &b, &expected);
}

async fn collect(stream: fedikv::KvStream) -> Vec<fedikv::KvEntry> {
    use futures::TryStreamExt;
    stream.try_collect().await.expect("O5: list stream failed")
}
