//! O3: delete.

use std::sync::Arc;
use std::time::Duration;

use fedikv::KvStore;
use serde_json::json;

use crate::Namespace;
use crate::support::{Kv, assert_entries, assert_value, sleep_ms};

/// O3: `delete` removes the entry (gone from `get` and `list`), leaves keys
/// under it and next to it alone, and the key can be written again.
pub async fn o3_delete_removes_the_entry(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o3_delete_removes_the_entry");
    let kv = Kv::new(store);
    let key = ns.key(["foo"]);
    let child = ns.key(["foo", "bar"]);
    let sibling = ns.key(["foobar"]);
    kv.set(&key, json!("foo")).await;
    kv.set(&child, json!("child")).await;
    kv.set(&sibling, json!("sibling")).await;
    kv.delete(&key).await;
    assert_value("O3: get after delete", kv.get(&key).await, None);
    assert_entries(
        "O3: list after delete",
        &kv.list(Some(ns.prefix())).await,
        &[
            (child.clone(), json!("child")),
            (sibling.clone(), json!("sibling")),
        ],
    );
    kv.set(&key, json!("again")).await;
    assert_value(
        "O3: set after delete",
        kv.get(&key).await,
        Some(json!("again")),
    );
    kv.delete(&child).await;
    assert_value(
        "O3: parent after deleting the child",
        kv.get(&key).await,
        Some(json!("again")),
    );
}

/// O3: deleting a key that was never written, was already deleted, or has
/// expired succeeds and changes nothing else.
pub async fn o3_delete_missing_key_succeeds(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o3_delete_missing_key_succeeds");
    let kv = Kv::new(store);
    let other = ns.key(["other"]);
    kv.set(&other, json!("other")).await;
    kv.delete(&ns.key(["never-written"])).await;
    let twice = ns.key(["twice"]);
    kv.set(&twice, json!(1)).await;
    kv.delete(&twice).await;
    kv.delete(&twice).await;
    let expired = ns.key(["expired"]);
    kv.set_ttl(&expired, json!(1), Duration::from_millis(1))
        .await;
    sleep_ms(20).await;
    kv.delete(&expired).await;
    assert_value("O3: deleted twice", kv.get(&twice).await, None);
    assert_value("O3: expired then deleted", kv.get(&expired).await, None);
    assert_entries(
        "O3: list after deleting missing keys",
        &kv.list(Some(ns.prefix())).await,
        &[(other, json!("other"))],
    );
}
