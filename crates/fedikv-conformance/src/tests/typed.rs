//! V3: typed helpers (`KvStoreExt`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use fedikv::{KvError, KvStore, KvStoreExt, SetOptions};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Namespace;
use crate::support::{Kv, assert_entries, assert_value};

/// A record as an application would store it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Actor {
    id: String,
    followers: u32,
    tags: Vec<String>,
    key: Option<String>,
    fields: BTreeMap<String, f64>,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Kind {
    Person,
    Service { bot: bool },
}

fn actor() -> Actor {
    Actor {
        id: "https://example.com/users/alice".into(),
        followers: 7,
        tags: vec!["rust".into(), "".into()],
        key: None,
        fields: BTreeMap::from([("score".into(), 0.5)]),
        kind: Kind::Service { bot: true },
    }
}

/// V3: `KvStoreExt::set_as` / `get_as` round trip any `Serialize` /
/// `DeserializeOwned` type (structs, enums, options, tuples, maps, unit), and
/// `get_as` of an absent key is `Ok(None)`.
pub async fn v3_typed_helpers_round_trip(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("v3_typed_helpers_round_trip");
    let actor_key = ns.key(["actor"]);
    store
        .set_as(&actor_key, &actor(), SetOptions::default())
        .await
        .expect("V3: set_as(Actor)");
    assert_eq!(
        store
            .get_as::<Actor>(&actor_key)
            .await
            .expect("V3: get_as(Actor)"),
        Some(actor())
    );
    assert_eq!(
        store
            .get_as::<Value>(&actor_key)
            .await
            .expect("V3: get_as(Value)")
            .map(|v| v["kind"].clone()),
        Some(json!({"Service": {"bot": true}})),
        "V3: the typed value is stored as its serde_json form"
    );

    let tuple_key = ns.key(["tuple"]);
    let tuple = (String::from("a"), -3_i64, true, None::<u8>);
    store
        .set_as(&tuple_key, &tuple, SetOptions::default())
        .await
        .expect("V3: set_as(tuple)");
    assert_eq!(
        store.get_as(&tuple_key).await.expect("V3: get_as(tuple)"),
        Some(tuple)
    );

    let map_key = ns.key(["map"]);
    let map = HashMap::from([(String::from("x"), vec![1_u8, 2]), (String::new(), vec![])]);
    store
        .set_as(&map_key, &map, SetOptions::default())
        .await
        .expect("V3: set_as(map)");
    assert_eq!(
        store.get_as(&map_key).await.expect("V3: get_as(map)"),
        Some(map)
    );

    let kinds_key = ns.key(["kinds"]);
    let kinds = vec![Kind::Person, Kind::Service { bot: false }];
    store
        .set_as(&kinds_key, &kinds, SetOptions::default())
        .await
        .expect("V3: set_as(enums)");
    assert_eq!(
        store.get_as(&kinds_key).await.expect("V3: get_as(enums)"),
        Some(kinds)
    );

    let unit_key = ns.key(["unit"]);
    store
        .set_as(&unit_key, &(), SetOptions::default())
        .await
        .expect("V3: set_as(())");
    assert_eq!(
        store.get(&unit_key).await.expect("get"),
        Some(json!(null)),
        "V3: () is stored as null"
    );
    assert_eq!(
        store.get_as::<()>(&unit_key).await.expect("V3: get_as(())"),
        Some(())
    );
    assert_eq!(
        store
            .get_as::<Option<u8>>(&unit_key)
            .await
            .expect("V3: get_as(Option)"),
        Some(None),
        "V3: a stored null is Some(None) for Option<T>, not absence"
    );

    assert_eq!(
        store
            .get_as::<Actor>(&ns.key(["absent"]))
            .await
            .expect("V3: get_as(absent)"),
        None
    );
}

/// V3: a value with no JSON form (a map with non-string keys) fails with
/// `KvError::Serde` and writes nothing: an absent key stays absent, an
/// existing value is kept.
pub async fn v3_unrepresentable_value_is_a_typed_error(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("v3_unrepresentable_value_is_a_typed_error");
    let kv = Kv::new(store.clone());
    let bad: HashMap<(i32, i32), i32> = HashMap::from([((1, 2), 3)]);
    let fresh = ns.key(["fresh"]);
    let result = store.set_as(&fresh, &bad, SetOptions::default()).await;
    assert!(
        matches!(result, Err(KvError::Serde { .. })),
        "V3: set_as of a map with tuple keys must fail with KvError::Serde, got {result:?}"
    );
    assert_value(
        "V3: nothing written after a failed set_as",
        kv.get(&fresh).await,
        None,
    );

    let existing = ns.key(["existing"]);
    kv.set(&existing, json!("kept")).await;
    let result = store.set_as(&existing, &bad, SetOptions::default()).await;
    assert!(
        matches!(result, Err(KvError::Serde { .. })),
        "V3: expected KvError::Serde, got {result:?}"
    );
    assert_value(
        "V3: old value kept after a failed set_as",
        kv.get(&existing).await,
        Some(json!("kept")),
    );
    assert_entries(
        "V3: list after failed writes",
        &kv.list(Some(ns.prefix())).await,
        &[(existing, json!("kept"))],
    );
}

/// V3: reading a stored value into a type it does not fit fails with
/// `KvError::Serde` and leaves the value as it is.
pub async fn v3_stored_value_of_another_type_is_a_typed_error(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("v3_stored_value_of_another_type_is_a_typed_error");
    let key = ns.key(["k"]);
    store
        .set(&key, &json!("not a number"), SetOptions::default())
        .await
        .expect("set");
    let result = store.get_as::<u32>(&key).await;
    assert!(
        matches!(result, Err(KvError::Serde { .. })),
        "V3: get_as::<u32> of a string must fail with KvError::Serde, got {result:?}"
    );
    store
        .set(&key, &json!(-1), SetOptions::default())
        .await
        .expect("set");
    let result = store.get_as::<u32>(&key).await;
    assert!(
        matches!(result, Err(KvError::Serde { .. })),
        "V3: -1 is no u32, got {result:?}"
    );
    store
        .set(&key, &json!({"id": "x"}), SetOptions::default())
        .await
        .expect("set");
    let result = store.get_as::<Actor>(&key).await;
    assert!(
        matches!(result, Err(KvError::Serde { .. })),
        "V3: missing fields, got {result:?}"
    );
    assert_eq!(
        store.get(&key).await.expect("get"),
        Some(json!({"id": "x"})),
        "V3: value kept"
    );
}

/// V3, O4: `KvStoreExt::update` creates, modifies and deletes through CAS, and
/// 5 tasks × 10 concurrent increments through it end at exactly 50.
pub async fn v3_update_is_a_cas_loop(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("v3_update_is_a_cas_loop");
    let key = ns.key(["counter"]);
    let written = store
        .update(&key, SetOptions::default(), |current| {
            assert_eq!(current, None, "V3: update sees an absent key as None");
            Some(json!(0))
        })
        .await
        .expect("V3: update (create)");
    assert_eq!(written, Some(json!(0)));
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let store = store.clone();
            let key = key.clone();
            tokio::spawn(async move {
                for _ in 0..10 {
                    store
                        .update(&key, SetOptions::default(), |current| {
                            let n = current.and_then(Value::as_i64).expect("a number");
                            Some(json!(n + 1))
                        })
                        .await
                        .expect("V3: update (increment)");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("an increment task panicked");
    }
    assert_eq!(
        store.get(&key).await.expect("get"),
        Some(json!(50)),
        "O4: 5 × 10 increments through update"
    );
    let written = store
        .update(&key, SetOptions::default(), |_| None)
        .await
        .expect("V3: update (delete)");
    assert_eq!(written, None);
    assert_eq!(
        store.get(&key).await.expect("get"),
        None,
        "V3: update returning None deletes"
    );
}
