//! O4: compare-and-swap semantics (concurrency is in `cas_concurrency`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use fedikv::KvStore;
use serde_json::{Value, json};

use crate::Namespace;
use crate::support::{Kv, TooSlow, assert_entries, assert_value, sleep_past, with_ttl};

/// O4: deep equality: `null`, `false`, `0`, `""`, arrays and objects match
/// themselves; object key order is ignored, `1` matches `1.0`; array order,
/// types, and extra or missing members are significant.
pub async fn o4_cas_compares_deeply(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o4_cas_compares_deeply");
    let kv = Kv::new(store);
    let equal: [(Value, Value); 13] = [
        (json!(null), json!(null)),
        (json!(false), json!(false)),
        (json!(0), json!(0)),
        (json!(""), json!("")),
        (json!([]), json!([])),
        (json!({}), json!({})),
        (json!(1), json!(1.0)),
        (json!(1.0), json!(1)),
        (json!(-7), json!(-7.0)),
        (json!(0.5), json!(0.5)),
        (
            json!({"a": 1, "b": {"c": [1, 2], "d": null}}),
            json!({"b": {"d": null, "c": [1, 2]}, "a": 1}),
        ),
        (json!([1, [2, {"a": 3}]]), json!([1.0, [2, {"a": 3.0}]])),
        (
            json!({"z": "", "a": false, "m": [null, {}]}),
            json!({"a": false, "m": [null, {}], "z": ""}),
        ),
    ];
    for (i, (stored, expected)) in equal.into_iter().enumerate() {
        let key = ns.key(["equal", &i.to_string()]);
        kv.set(&key, stored.clone()).await;
        assert!(
            kv.cas(&key, Some(expected.clone()), Some(json!("swapped")))
                .await,
            "O4: stored {stored} must deep-equal expected {expected}"
        );
        assert_value(
            &format!("O4: after swapping {stored}"),
            kv.get(&key).await,
            Some(json!("swapped")),
        );
    }
    let unequal: [(Value, Value); 16] = [
        (json!(null), json!(false)),
        (json!(false), json!(0)),
        (json!(0), json!("")),
        (json!(""), json!(null)),
        (json!([]), json!({})),
        (json!([]), json!(null)),
        (json!({}), json!(null)),
        (json!([1, 2]), json!([2, 1])),
        (json!({"a": null}), json!({})),
        (json!({"a": 1}), json!({"a": 1, "b": 2})),
        (json!(1), json!("1")),
        (json!(true), json!(1)),
        (json!([null]), json!([])),
        (json!("a"), json!("A")),
        (json!(1), json!(1.5)),
        (json!("é"), json!("e\u{301}")),
    ];
    for (i, (stored, expected)) in unequal.into_iter().enumerate() {
        let key = ns.key(["unequal", &i.to_string()]);
        kv.set(&key, stored.clone()).await;
        assert!(
            !kv.cas(&key, Some(expected.clone()), Some(json!("swapped")))
                .await,
            "O4: stored {stored} must not match expected {expected}"
        );
        assert!(
            !kv.cas(&key, Some(expected.clone()), None).await,
            "O4: stored {stored} must not be deleted for expected {expected}"
        );
        assert_value(
            &format!("O4: {stored} after mismatches"),
            kv.get(&key).await,
            Some(stored),
        );
    }
}

/// O4: a stored `null` is not absence: create-if-absent fails on it, and
/// expecting `null` fails on an absent key.
pub async fn o4_null_is_not_absent(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o4_null_is_not_absent");
    let kv = Kv::new(store);
    let null = ns.key(["null"]);
    kv.set(&null, json!(null)).await;
    assert!(
        !kv.cas(&null, None, Some(json!("x"))).await,
        "O4: cas(absent -> x) on a stored null"
    );
    assert!(
        !kv.cas(&null, None, None).await,
        "O4: cas(absent -> none) on a stored null"
    );
    assert_value(
        "O4: stored null kept",
        kv.get(&null).await,
        Some(json!(null)),
    );
    assert!(
        kv.cas(&null, Some(json!(null)), Some(json!("x"))).await,
        "O4: cas(null -> x)"
    );
    assert_value(
        "O4: after cas(null -> x)",
        kv.get(&null).await,
        Some(json!("x")),
    );
    let absent = ns.key(["absent"]);
    assert!(
        !kv.cas(&absent, Some(json!(null)), Some(json!("x"))).await,
        "O4: cas(null -> x) on an absent key"
    );
    assert!(
        !kv.cas(&absent, Some(json!(null)), None).await,
        "O4: cas(null -> none) on an absent key"
    );
    assert_value("O4: absent key stays absent", kv.get(&absent).await, None);
}

/// O4: with `expected = None`, `cas` fails on a live key and leaves it alone
/// (both with a new value and with `new = None`); on an absent key
/// `cas(None, None)` succeeds and writes nothing.
pub async fn o4_expected_absent_fails_on_a_live_key(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o4_expected_absent_fails_on_a_live_key");
    let kv = Kv::new(store);
    let live = ns.key(["live"]);
    kv.set(&live, json!("v")).await;
    assert!(
        !kv.cas(&live, None, Some(json!("w"))).await,
        "O4: create-if-absent on a live key"
    );
    assert!(
        !kv.cas(&live, None, None).await,
        "O4: cas(absent -> none) on a live key"
    );
    assert_value(
        "O4: live key unchanged",
        kv.get(&live).await,
        Some(json!("v")),
    );
    let absent = ns.key(["absent"]);
    assert!(
        kv.cas(&absent, None, None).await,
        "O4: cas(absent -> none) on an absent key swaps"
    );
    assert_value(
        "O4: cas(absent -> none) writes nothing",
        kv.get(&absent).await,
        None,
    );
    assert_entries(
        "O4: list after cas(absent -> none)",
        &kv.list(Some(ns.prefix())).await,
        &[(live, json!("v"))],
    );
}

/// O4: compare-and-delete really removes the entry: `get` and `list` (with and
/// without prefix) do not show it, and create-if-absent succeeds afterwards.
/// A wrong expected value with `new = None` deletes nothing.
pub async fn o4_compare_and_delete_removes_the_entry(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o4_compare_and_delete_removes_the_entry");
    let kv = Kv::new(store);
    let gone = ns.key(["gone"]);
    let kept = ns.key(["kept"]);
    kv.set(&gone, json!({"token": 1})).await;
    kv.set(&kept, json!({"token": 2})).await;
    assert!(
        !kv.cas(&kept, Some(json!({"token": 3})), None).await,
        "O4: delete with a wrong token"
    );
    assert!(
        kv.cas(&gone, Some(json!({"token": 1})), None).await,
        "O4: delete with the right token"
    );
    assert_value(
        "O4: get after compare-and-delete",
        kv.get(&gone).await,
        None,
    );
    let expected = [(kept.clone(), json!({"token": 2}))];
    assert_entries(
        "O4: list(prefix) after compare-and-delete",
        &kv.list(Some(ns.prefix())).await,
        &expected,
    );
    assert_entries(
        "O4: list() after compare-and-delete",
        &kv.list_everything_in(&ns).await,
        &expected,
    );
    assert!(
        kv.cas(&gone, None, Some(json!("again"))).await,
        "O4: create after compare-and-delete"
    );
    assert_value("O4: recreated", kv.get(&gone).await, Some(json!("again")));
}

/// O4: `cas` writes the new value with the given TTL (live shortly after,
/// gone after the TTL), whether it creates or replaces.
pub async fn o4_cas_applies_the_ttl(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o4_cas_applies_the_ttl");
    let kv = Kv::new(store);
    let (kv, ns) = (&kv, &ns);
    with_ttl(
        "O4: cas with TTL",
        Duration::from_millis(300),
        move |ttl| async move {
            let ms = ttl.as_millis().to_string();
            let created = ns.key(["created", &ms]);
            let replaced = ns.key(["replaced", &ms]);
            kv.set(&replaced, json!("old")).await;
            let before = Instant::now();
            assert!(
                kv.cas_with(&created, None, Some(json!("new")), Some(ttl))
                    .await,
                "O4: create with TTL"
            );
            assert!(
                kv.cas_with(&replaced, Some(json!("old")), Some(json!("new")), Some(ttl))
                    .await,
                "O4: replace with TTL"
            );
            let written = Instant::now();
            kv.expect_live(&created, &json!("new"), before, ttl).await?;
            kv.expect_live(&replaced, &json!("new"), before, ttl)
                .await?;
            sleep_past(written, ttl).await;
            assert_value(
                "O4: created with TTL, after it",
                kv.get(&created).await,
                None,
            );
            assert_value(
                "O4: replaced with TTL, after it",
                kv.get(&replaced).await,
                None,
            );
            Ok::<(), TooSlow>(())
        },
    )
    .await;
}

/// O4: `cas` without TTL writes a value that never expires, even when the
/// value it replaces had a TTL.
pub async fn o4_cas_without_ttl_clears_expiry(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o4_cas_without_ttl_clears_expiry");
    let kv = Kv::new(store);
    let (kv, ns) = (&kv, &ns);
    with_ttl(
        "O4: cas without TTL",
        Duration::from_millis(300),
        move |ttl| async move {
            let key = ns.key(["k", &ttl.as_millis().to_string()]);
            let before = Instant::now();
            kv.set_ttl(&key, json!("expiring"), ttl).await;
            if !kv
                .cas(&key, Some(json!("expiring")), Some(json!("forever")))
                .await
            {
                let elapsed = before.elapsed();
                assert!(
                    elapsed >= ttl,
                    "O4: cas failed on a live value after {elapsed:?} (TTL {ttl:?})"
                );
                return Err(TooSlow);
            }
            sleep_past(Instant::now(), ttl).await;
            assert_value(
                "O4: value written by cas without TTL",
                kv.get(&key).await,
                Some(json!("forever")),
            );
            Ok(())
        },
    )
    .await;
}
