//! K1, V1: what Fedify can write — keys and strings that are any JavaScript
//! string (NUL, lone surrogates, U+2028, U+FEFF) and values of any depth —
//! each store holding it as its [`Capabilities`](fedikv::Capabilities) say.

use std::sync::Arc;

use fedikv::js::{from_utf16, replace_lone_surrogates};
use fedikv::json::{clone_deep, drop_deep};
use fedikv::{KvError, KvKey, KvStore, SetOptions, json_eq};
use futures::TryStreamExt;
use serde_json::{Map, Value, json};

use crate::Namespace;
use crate::support::{Kv, assert_entries, assert_value};

/// A component as a store that keeps lone surrogates as U+FFFD gives it back.
fn as_stored(component: &str, keeps_lone_surrogates: bool) -> String {
    if keeps_lone_surrogates {
        component.to_owned()
    } else {
        replace_lone_surrogates(component).into_owned()
    }
}

/// K1: an empty key is refused when the key is built, with
/// [`KvError::InvalidKey`], so no store ever sees it.
pub async fn k1_empty_keys_are_rejected(_store: Arc<dyn KvStore>) {
    assert!(
        matches!(
            KvKey::new(Vec::<String>::new()),
            Err(KvError::InvalidKey { .. })
        ),
        "K1: an empty key must be rejected with InvalidKey"
    );
    assert!(
        matches!(KvKey::from_json("[]"), Err(KvError::InvalidKey { .. })),
        "K1: an empty JSON key must be rejected with InvalidKey"
    );
}

/// K1: NUL is a character of a key like any other, as in a JavaScript
/// string; a store whose keys cannot hold it (PostgreSQL `text`) refuses
/// such a key with [`KvError::InvalidKey`] on every operation.
pub async fn k1_nul_is_a_key_character(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("k1_nul_is_a_key_character");
    let keys = [ns.key(["a\0b"]), ns.key(["\0"]), ns.key(["x", "\0\0"])];
    if !store.capabilities().nul_in_keys {
        for key in &keys {
            let set = store.set(key, &json!(1), SetOptions::default()).await;
            let get = store.get(key).await;
            assert!(
                matches!(set, Err(KvError::InvalidKey { .. }))
                    && matches!(get, Err(KvError::InvalidKey { .. })),
                "K1: {} cannot hold NUL in keys, so set and get of {key} must fail with InvalidKey; got {set:?} and {get:?}",
                store.backend()
            );
        }
        return;
    }
    let kv = Kv::new(store);
    let mut expected = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        kv.set(key, json!(i)).await;
        expected.push((key.clone(), json!(i)));
        assert_value(
            &format!("K1: get({key})"),
            kv.get(key).await,
            Some(json!(i)),
        );
    }
    assert_entries(
        "K1: keys with NUL",
        &kv.list(Some(ns.prefix())).await,
        &expected,
    );
    for key in &keys {
        kv.delete(key).await;
        assert_value(
            &format!("K1: get({key}) after delete"),
            kv.get(key).await,
            None,
        );
    }
}

/// K1: lone surrogates in key components (written as `fedikv::js`
/// describes) address their entry through get, set, cas, list and delete.
/// A store that keeps them lists the exact key; one that stores U+FFFD, as
/// Fedify's driver does there, lists the key with U+FFFD, which addresses
/// the same entry.
pub async fn k1_lone_surrogates_in_keys(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("k1_lone_surrogates_in_keys");
    let keeps = store.capabilities().lone_surrogates_in_keys;
    let kv = Kv::new(store);
    let components = [
        from_utf16(&[0x61, 0xD800]),
        from_utf16(&[0x62, 0xDC00, 0x7A]),
        from_utf16(&[0x63, 0xD83D]),
        from_utf16(&[0xDE00, 0x64]),
        // U+10FFFF, alone and before a stand-in: ordinary characters.
        "e\u{10FFFF}".to_owned(),
        from_utf16(&[0x66, 0xDBFF, 0xDFFF, 0xDBFC, 0xDC00]),
    ];
    let mut expected = Vec::new();
    for (i, component) in components.iter().enumerate() {
        let key = ns.key([component.as_str(), "leaf"]);
        kv.set(&key, json!(i)).await;
        assert_value(
            &format!("K1: get({key})"),
            kv.get(&key).await,
            Some(json!(i)),
        );
        let stored = ns.key([as_stored(component, keeps), "leaf".to_owned()]);
        assert_value(
            &format!("K1: get({stored}), the key as the store holds it"),
            kv.get(&stored).await,
            Some(json!(i)),
        );
        expected.push((stored, json!(i)));
    }
    let listed = kv.list(Some(ns.prefix())).await;
    assert_entries("K1: keys with lone surrogates", &listed, &expected);
    let first = ns.key([components[0].as_str()]);
    assert_entries(
        "K1: list of a prefix with a lone surrogate",
        &kv.list(Some(&first)).await,
        &expected[..1],
    );
    let key = ns.key([components[1].as_str(), "leaf"]);
    assert!(
        kv.cas(&key, Some(json!(1)), Some(json!("swapped"))).await,
        "K1: cas({key}) must see the value set under that key"
    );
    for component in &components {
        let key = ns.key([component.as_str(), "leaf"]);
        kv.delete(&key).await;
        assert_value(
            &format!("K1: get({key}) after delete"),
            kv.get(&key).await,
            None,
        );
    }
    assert_entries("K1: all deleted", &kv.list(Some(ns.prefix())).await, &[]);
}

/// V1: strings and object keys inside values are JavaScript strings: NUL,
/// lone surrogates, U+2028, U+FEFF and U+10FFFF round-trip through get,
/// list and cas, lone surrogates as U+FFFD where the store says it keeps
/// them so; a store that cannot hold NUL in values refuses it with
/// [`KvError::InvalidValue`].
pub async fn v1_javascript_strings_in_values(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("v1_javascript_strings_in_values");
    let caps = store.capabilities();
    let kv = Kv::new(store.clone());
    let mut document = Map::new();
    document.insert("lone high".into(), json!(from_utf16(&[0x61, 0xD800])));
    document.insert("lone low".into(), json!(from_utf16(&[0xDC00, 0x62])));
    document.insert(
        from_utf16(&[0xD83D, 0x6B]),
        json!("a lone surrogate in an object key"),
    );
    document.insert(
        "separators".into(),
        json!("\u{2028}\u{2029}\u{FEFF}\u{FFFD}😀"),
    );
    document.insert(
        "escape char".into(),
        json!(["\u{10FFFF}", from_utf16(&[0xDBFF, 0xDFFF, 0xDBFC, 0xDC05])]),
    );
    document.insert("escapes".into(), json!("\"\\/\u{8}\u{c}\n\r\t\u{1}\u{7f}"));
    let value = Value::Object(document);
    let key = ns.key(["document"]);
    kv.set(&key, value.clone()).await;
    let stored = if caps.lone_surrogates_in_values {
        value.clone()
    } else {
        fedikv::json::with_lone_surrogates_replaced(&value)
    };
    assert_value(
        "V1: get of JavaScript strings",
        kv.get(&key).await,
        Some(stored.clone()),
    );
    assert_entries(
        "V1: list of JavaScript strings",
        &kv.list(Some(ns.prefix())).await,
        &[(key.clone(), stored.clone())],
    );
    assert!(
        kv.cas(&key, Some(stored), Some(json!("swapped"))).await,
        "V1: cas must match the value as get returned it"
    );

    let nul_key = ns.key(["nul"]);
    let with_nul = json!({"a\u{0}b": ["\u{0}", "x\u{0}"]});
    let set = store.set(&nul_key, &with_nul, SetOptions::default()).await;
    if caps.nul_in_values {
        set.unwrap_or_else(|e| {
            panic!(
                "V1: {}: set of a value with NUL failed: {e}",
                store.backend()
            )
        });
        assert_value(
            "V1: get of NUL in strings",
            kv.get(&nul_key).await,
            Some(with_nul),
        );
    } else {
        assert!(
            matches!(set, Err(KvError::InvalidValue { .. })),
            "V1: {} cannot hold NUL in values, so set must fail with InvalidValue; got {set:?}",
            store.backend()
        );
        assert_value(
            "V1: a refused value is not stored",
            kv.get(&nul_key).await,
            None,
        );
    }
}

/// Arrays and objects alternating, `depth` levels in all.
fn deep_value(depth: usize) -> Value {
    (0..depth).fold(json!("bottom"), |inner, level| {
        if level % 2 == 0 {
            Value::Array(vec![inner, json!(level)])
        } else {
            let mut fields = Map::new();
            fields.insert("inner".into(), inner);
            fields.insert("level".into(), json!(level));
            Value::Object(fields)
        }
    })
}

/// V1: a value nested as deep as the store takes (10,000 levels where it
/// states no limit) is stored, read, listed and compared by `cas` intact,
/// with no stack overflow; one level more than a stated limit is refused
/// with [`KvError::InvalidValue`] and nothing is written.
pub async fn v1_any_depth_round_trips(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("v1_any_depth_round_trips");
    let limit = store.capabilities().max_value_depth;
    let depth = limit.unwrap_or(10_000);
    let backend = store.backend();
    let key = ns.key(["deep"]);
    let value = deep_value(depth);
    // Checked before panicking: unwinding would drop the deep value
    // recursively.
    let outcome = deep_round_trip(store.as_ref(), &key, &value).await;
    drop_deep(value);
    if let Err(problem) = outcome {
        panic!("V1: {backend}: a value {depth} levels deep: {problem}");
    }
    if let Some(limit) = limit {
        let too_deep = deep_value(limit + 1);
        let result = store.set(&key, &too_deep, SetOptions::default()).await;
        drop_deep(too_deep);
        assert!(
            matches!(result, Err(KvError::InvalidValue { .. })),
            "V1: {backend} states a depth limit of {limit}, so a value one level deeper must fail with InvalidValue; got {result:?}"
        );
        let kv = Kv::new(store);
        assert_value(
            "V1: a refused value changes nothing",
            kv.get(&key).await,
            Some(json!("swapped")),
        );
    }
}

/// Sets `value` under `key`, reads and lists it back, then swaps it for
/// `"swapped"` with `cas`; says what went wrong. Drops every deep value it
/// reads without recursion.
async fn deep_round_trip(store: &dyn KvStore, key: &KvKey, value: &Value) -> Result<(), String> {
    store
        .set(key, value, SetOptions::default())
        .await
        .map_err(|e| format!("set failed: {e}"))?;
    let got = store
        .get(key)
        .await
        .map_err(|e| format!("get failed: {e}"))?;
    let same = got.as_ref().is_some_and(|got| json_eq(got, value));
    if let Some(got) = got {
        drop_deep(got);
    }
    if !same {
        return Err("get differs from what was set".into());
    }
    let prefix =
        KvKey::new(key.components()[..key.len() - 1].iter().cloned()).map_err(|e| e.to_string())?;
    let listed: Vec<_> = store
        .list(Some(&prefix))
        .try_collect()
        .await
        .map_err(|e| format!("list failed: {e}"))?;
    let listed_ok = listed.len() == 1 && listed[0].key == *key && json_eq(&listed[0].value, value);
    listed.into_iter().for_each(|entry| drop_deep(entry.value));
    if !listed_ok {
        return Err("list must yield it once, intact".into());
    }
    let expected = clone_deep(value);
    let swapped = store
        .cas(
            key,
            Some(&expected),
            Some(&json!("swapped")),
            SetOptions::default(),
        )
        .await;
    drop_deep(expected);
    match swapped {
        Ok(true) => Ok(()),
        Ok(false) => Err("cas must match a deep value equal to the stored one".into()),
        Err(e) => Err(format!("cas failed: {e}")),
    }
}

/// K1, O5: `list` of a prefix that is itself a key with a lone surrogate
/// yields that entry once, under the key as the store holds it (with U+FFFD
/// where the store replaces lone surrogates), as `list` of its parent does.
/// Regression: the model test (`model_sequences_match_the_reference`, seed
/// 20261209) found Redis yielding the caller's prefix, lone surrogate and
/// all, for the prefix's own entry.
pub async fn k1_listed_prefix_key_is_the_stored_key(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("k1_listed_prefix_key_is_the_stored_key");
    let keeps = store.capabilities().lone_surrogates_in_keys;
    let kv = Kv::new(store);
    let key = ns.key([from_utf16(&[0xD83D])]);
    kv.set(&key, json!(null)).await;
    let stored = ns.key([as_stored(&key.components()[2], keeps)]);
    let expected = [(stored, json!(null))];
    assert_entries(
        "K1: list of a key with a lone surrogate, itself",
        &kv.list(Some(&key)).await,
        &expected,
    );
    assert_entries(
        "K1: list of its parent",
        &kv.list(Some(ns.prefix())).await,
        &expected,
    );
}
