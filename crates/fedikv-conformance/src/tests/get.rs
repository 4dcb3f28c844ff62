//! O1: get.

use std::sync::Arc;

use fedikv::{KvStore, SetOptions};
use serde_json::json;

use crate::Namespace;

/// O1: `get` of a key never written is `None`, and so is `get` of a strict
/// prefix or an extension of an existing key.
pub async fn o1_get_absent_is_none(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o1_get_absent_is_none");
    assert_eq!(store.get(&ns.key(["missing"])).await.expect("get"), None);
    store
        .set(
            &ns.key(["foo", "bar"]),
            &json!("foobar"),
            SetOptions::default(),
        )
        .await
        .expect("set");
    assert_eq!(store.get(&ns.key(["foo"])).await.expect("get"), None);
    assert_eq!(
        store
            .get(&ns.key(["foo", "bar", "baz"]))
            .await
            .expect("get"),
        None
    );
    assert_eq!(
        store.get(&ns.key(["foo", "bar"])).await.expect("get"),
        Some(json!("foobar"))
    );
}
