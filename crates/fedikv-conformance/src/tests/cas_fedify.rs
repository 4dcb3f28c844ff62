//! O4: the compare-and-swap test cases of Fedify's own stores.

use std::sync::Arc;
use std::time::Duration;

use fedikv::KvStore;
use serde_json::json;

use crate::Namespace;
use crate::support::{Kv, assert_value, sleep_ms};

/// O4: Fedify's memory-store `cas()` steps, plus SQLite's compare-and-delete
/// step: mismatch keeps the value, match swaps, a deleted key does not match
/// its old value, create-if-absent works, and `cas(v, None)` deletes.
pub async fn o4_fedify_cas_sequence(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o4_fedify_cas_sequence");
    let kv = Kv::new(store);
    let k = ns.key(["foo", "bar"]);
    kv.set(&k, json!("foobar")).await;
    assert!(
        !kv.cas(&k, Some(json!("bar")), Some(json!("baz"))).await,
        "O4: cas with a wrong expected value"
    );
    assert_value(
        "O4: after a mismatch",
        kv.get(&k).await,
        Some(json!("foobar")),
    );
    assert!(
        kv.cas(&k, Some(json!("foobar")), Some(json!("baz"))).await,
        "O4: cas with the current value"
    );
    assert_value("O4: after a swap", kv.get(&k).await, Some(json!("baz")));
    kv.delete(&k).await;
    assert!(
        !kv.cas(&k, Some(json!("foobar")), Some(json!("baz"))).await,
        "O4: cas on a deleted key"
    );
    assert_value("O4: deleted key after a mismatch", kv.get(&k).await, None);
    assert!(
        kv.cas(&k, None, Some(json!("baz"))).await,
        "O4: create-if-absent"
    );
    assert_value(
        "O4: after create-if-absent",
        kv.get(&k).await,
        Some(json!("baz")),
    );
    assert!(
        kv.cas(&k, Some(json!("baz")), None).await,
        "O4: compare-and-delete"
    );
    assert_value("O4: after compare-and-delete", kv.get(&k).await, None);
}

/// O4: Fedify's PostgreSQL `cas()` sequence: a missing key does not match a
/// value; create, mismatch, update and delete.
pub async fn o4_fedify_postgres_cas_sequence(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o4_fedify_postgres_cas_sequence");
    let kv = Kv::new(store);
    let k = ns.key(["cas", "missing"]);
    assert!(
        !kv.cas(&k, Some(json!("wrong")), Some(json!("value"))).await,
        "O4: missing key, expected a value"
    );
    assert_value("O4: still missing", kv.get(&k).await, None);
    assert!(kv.cas(&k, None, Some(json!("created"))).await, "O4: create");
    assert_value("O4: created", kv.get(&k).await, Some(json!("created")));
    assert!(
        !kv.cas(&k, Some(json!("wrong")), Some(json!("updated")))
            .await,
        "O4: wrong expected"
    );
    assert!(
        kv.cas(&k, Some(json!("created")), Some(json!("updated")))
            .await,
        "O4: update"
    );
    assert_value("O4: updated", kv.get(&k).await, Some(json!("updated")));
    assert!(kv.cas(&k, Some(json!("updated")), None).await, "O4: delete");
    assert_value("O4: deleted", kv.get(&k).await, None);
}

/// O4: Fedify's MySQL `cas()` cases 17, 19 and 21: compare-and-delete and a
/// wrong expected value that must not delete; an expired row is absent (its
/// old value does not match, create-if-absent succeeds); a TTL on the new
/// value, including a zero TTL.
pub async fn o4_fedify_mysql_cas_cases(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o4_fedify_mysql_cas_cases");
    let kv = Kv::new(store);
    let deleted = ns.key(["foo"]);
    kv.set(&deleted, json!("bar")).await;
    assert!(
        kv.cas(&deleted, Some(json!("bar")), None).await,
        "O4: cas(bar -> none)"
    );
    assert_value("O4: deleted by cas", kv.get(&deleted).await, None);
    let kept = ns.key(["baz"]);
    kv.set(&kept, json!("qux")).await;
    assert!(
        !kv.cas(&kept, Some(json!("wrong")), None).await,
        "O4: cas(wrong -> none)"
    );
    assert_value(
        "O4: not deleted by a mismatch",
        kv.get(&kept).await,
        Some(json!("qux")),
    );

    let expired = ns.key(["key"]);
    kv.set_ttl(&expired, json!("old-value"), Duration::from_millis(1))
        .await;
    sleep_ms(30).await;
    assert!(
        !kv.cas(&expired, Some(json!("old-value")), Some(json!("new-value")))
            .await,
        "O4: an expired value must not match"
    );
    assert_value(
        "O4: expired key after a mismatch",
        kv.get(&expired).await,
        None,
    );
    assert!(
        kv.cas(&expired, None, Some(json!("new-value"))).await,
        "O4: create over an expired row"
    );
    assert_value(
        "O4: created over an expired row",
        kv.get(&expired).await,
        Some(json!("new-value")),
    );

    let ttl_key = ns.key(["ttl", "key"]);
    assert!(
        kv.cas_with(
            &ttl_key,
            None,
            Some(json!("value")),
            Some(Duration::from_secs(3600))
        )
        .await,
        "O4: create with a one-hour TTL"
    );
    assert_value(
        "O4: created with TTL",
        kv.get(&ttl_key).await,
        Some(json!("value")),
    );
    assert!(
        kv.cas_with(
            &ttl_key,
            Some(json!("value")),
            Some(json!("new-value")),
            Some(Duration::ZERO)
        )
        .await,
        "O4: swap with TTL 0"
    );
    assert_value("O4: swapped in with TTL 0", kv.get(&ttl_key).await, None);
}

/// O4: an expired entry is absent to `cas` (Fedify's "cas() honors TTL and
/// token-safe release"): after a 10 ms token expires, create-if-absent
/// succeeds, and the old token can no longer delete the new one.
pub async fn o4_expired_entry_is_absent_to_cas(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o4_expired_entry_is_absent_to_cas");
    let kv = Kv::new(store);
    let k = ns.key(["cas", "ttl"]);
    assert!(
        kv.cas_with(
            &k,
            None,
            Some(json!("old-token")),
            Some(Duration::from_millis(10))
        )
        .await,
        "O4: acquire old token"
    );
    sleep_ms(30).await;
    assert!(
        kv.cas_with(
            &k,
            None,
            Some(json!("new-token")),
            Some(Duration::from_secs(60))
        )
        .await,
        "O4: an expired entry counts as absent"
    );
    assert!(
        !kv.cas(&k, Some(json!("old-token")), None).await,
        "O4: stale token must not delete"
    );
    assert_value(
        "O4: new token kept",
        kv.get(&k).await,
        Some(json!("new-token")),
    );
}
