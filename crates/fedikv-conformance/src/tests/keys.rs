//! K1, K2: keys.

use std::sync::Arc;

use fedikv::{KvStore, SetOptions};
use serde_json::json;

use crate::Namespace;

/// K1: components holding special characters round trip through `set`, `get`
/// and `list` byte-exact.
pub async fn k1_special_characters_round_trip(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("k1_special_characters_round_trip");
    let key = ns.key([
        "50%",
        "snake_case",
        "back\\slash",
        "a:",
        "::",
        "",
        "😀",
        "line\nbreak",
    ]);
    store
        .set(&key, &json!("v"), SetOptions::default())
        .await
        .expect("set");
    assert_eq!(store.get(&key).await.expect("get"), Some(json!("v")));
}
