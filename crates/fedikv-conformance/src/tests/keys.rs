//! K1, K2: keys. (K3, the per-backend key size limit, is tested by each
//! backend: the limit and its error differ.)

use std::sync::Arc;

use fedikv::{KvKey, KvStore};
use serde_json::Value;

use crate::Namespace;
use crate::cases::{DISTINCT_PAIRS, TRICKY_COMPONENTS};
use crate::support::{Kv, assert_entries, assert_value, value_for};

/// K1: every special component (`%`, `_`, `\`, `"`, `:`, `::`, a trailing
/// `:`, `*`, `?`, `[`, `]`, newline, control characters, the empty string,
/// emoji, combining accents, mixed case, SQL quotes, URLs) round trips through
/// `set`, `get` and `list`, alone, as the last component and all in one key;
/// listed keys come back byte-exact.
pub async fn k1_special_characters_round_trip(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("k1_special_characters_round_trip");
    let kv = Kv::new(store);
    let mut written = Vec::new();
    for (i, component) in TRICKY_COMPONENTS.iter().enumerate() {
        written.push(ns.key(["alone", component]));
        written.push(ns.key(["nested", &i.to_string(), component]));
    }
    written.push(ns.key(std::iter::once("all").chain(TRICKY_COMPONENTS.iter().copied())));
    for key in &written {
        kv.set(key, value_for(key)).await;
    }
    for key in &written {
        assert_value(
            &format!("K1: get({key})"),
            kv.get(key).await,
            Some(value_for(key)),
        );
    }
    let expected: Vec<(KvKey, Value)> = written.iter().map(|k| (k.clone(), value_for(k))).collect();
    assert_entries(
        "K1: list(namespace) of special-character keys",
        &kv.list(Some(ns.prefix())).await,
        &expected,
    );
    for entry in kv.list(Some(&ns.key(["alone"]))).await {
        let component = &entry.key.components()[ns.prefix().len() + 1];
        assert!(
            TRICKY_COMPONENTS.contains(&component.as_str()),
            "K1: list returned a key whose component {component:?} was never written"
        );
    }
}

/// K1: keys in the shape Fedify writes (URLs with `://`, `#`, `?`, `%20`,
/// idempotence keys with newlines) round trip.
pub async fn k1_fedify_shaped_keys_round_trip(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("k1_fedify_shaped_keys_round_trip");
    let kv = Kv::new(store);
    let keys = [
        ns.key([
            "_fedify",
            "remoteDocument",
            "https://example.com/users/alice",
        ]),
        ns.key([
            "_fedify",
            "publicKey",
            "https://example.com/users/alice#main-key",
        ]),
        ns.key([
            "_fedify",
            "remoteDocument",
            "https://example.com/search?q=a%20b&page=2",
        ]),
        ns.key([
            "_fedify",
            "activityIdempotence",
            "https://example.com/inbox\nhttps://example.com/activities/1",
        ]),
        ns.key(["_fedify", "nonce", "0f8b2c3e-1c2d-4e5f-9a8b-7c6d5e4f3a2b"]),
    ];
    for key in &keys {
        kv.set(key, value_for(key)).await;
    }
    for key in &keys {
        assert_value(
            &format!("K1: get({key})"),
            kv.get(key).await,
            Some(value_for(key)),
        );
    }
    let expected: Vec<(KvKey, Value)> = keys.iter().map(|k| (k.clone(), value_for(k))).collect();
    assert_entries(
        "K1: list of Fedify-shaped keys",
        &kv.list(Some(&ns.key(["_fedify"]))).await,
        &expected,
    );
}

/// K2: keys that naive encodings confuse (`["a:b"]` / `["a","b"]`,
/// `["a",""]` / `["a"]`, `["a:","b"]` / `["a_",":b"]`, `["a::b"]` /
/// `["a","b"]`, case, Unicode normalization, ...) are distinct: each keeps its
/// own value through `set`, `get`, `delete` and `list`.
pub async fn k2_distinct_keys_never_collide(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("k2_distinct_keys_never_collide");
    let kv = Kv::new(store);
    for (i, (a, b)) in DISTINCT_PAIRS.iter().enumerate() {
        let case = i.to_string();
        let key_a = ns.key(std::iter::once(case.as_str()).chain(a.iter().copied()));
        let key_b = ns.key(std::iter::once(case.as_str()).chain(b.iter().copied()));
        assert_ne!(key_a, key_b, "K2: {a:?} and {b:?} must be different keys");
        kv.set(&key_a, value_for(&key_a)).await;
        kv.set(&key_b, value_for(&key_b)).await;
        assert_value(
            &format!("K2: get({key_a}) next to {key_b}"),
            kv.get(&key_a).await,
            Some(value_for(&key_a)),
        );
        assert_value(
            &format!("K2: get({key_b}) next to {key_a}"),
            kv.get(&key_b).await,
            Some(value_for(&key_b)),
        );
        assert_entries(
            &format!("K2: list of {key_a} and {key_b}"),
            &kv.list(Some(&ns.key([case.as_str()]))).await,
            &[
                (key_a.clone(), value_for(&key_a)),
                (key_b.clone(), value_for(&key_b)),
            ],
        );
        kv.delete(&key_a).await;
        assert_value(
            &format!("K2: get({key_a}) after deleting it"),
            kv.get(&key_a).await,
            None,
        );
        assert_value(
            &format!("K2: get({key_b}) after deleting {key_a}"),
            kv.get(&key_b).await,
            Some(value_for(&key_b)),
        );
        kv.set(&key_a, value_for(&key_a)).await;
    }
}

/// K2: `get` of a key's strict prefix or extension finds nothing, and keys
/// returned by `list` are exactly the keys written (same components, same
/// bytes), whatever their depth.
pub async fn k2_listed_keys_are_the_written_keys(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("k2_listed_keys_are_the_written_keys");
    let kv = Kv::new(store);
    let keys = [
        ns.key(["d1"]),
        ns.key(["d2", "x"]),
        ns.key(["d3", "x", "y"]),
        ns.key(["d8", "1", "2", "3", "4", "5", "6", "7"]),
        ns.key(["", "", ""]),
    ];
    for key in &keys {
        kv.set(key, value_for(key)).await;
    }
    assert_value(
        "K2: get of a strict prefix",
        kv.get(&ns.key(["d2"])).await,
        None,
    );
    assert_value(
        "K2: get of an extension",
        kv.get(&ns.key(["d1", "x"])).await,
        None,
    );
    assert_value(
        "K2: get of fewer empty components",
        kv.get(&ns.key(["", ""])).await,
        None,
    );
    // KvKey equality is component-wise String equality: byte-exact.
    let expected: Vec<(KvKey, Value)> = keys.iter().map(|k| (k.clone(), value_for(k))).collect();
    assert_entries(
        "K2: list returns the written keys",
        &kv.list(Some(ns.prefix())).await,
        &expected,
    );
}
