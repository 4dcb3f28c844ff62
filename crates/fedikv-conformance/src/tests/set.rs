//! O2: set, TTLs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fedikv::KvStore;
use serde_json::json;

use crate::Namespace;
use crate::support::{Kv, TooSlow, assert_entries, assert_value, sleep_ms, sleep_past, with_ttl};

fn ms(ttl: Duration) -> String {
    ttl.as_millis().to_string()
}

/// O2: `set` is an upsert: the second write replaces the value and the key is
/// listed once (Fedify's "upsert functionality").
pub async fn o2_set_is_an_upsert(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o2_set_is_an_upsert");
    let kv = Kv::new(store);
    let key = ns.key(["upsert"]);
    kv.set(&key, json!("initial")).await;
    assert_value("O2: first set", kv.get(&key).await, Some(json!("initial")));
    kv.set(&key, json!("updated")).await;
    assert_value("O2: second set", kv.get(&key).await, Some(json!("updated")));
    kv.set(&key, json!({"third": [1, 2]})).await;
    assert_value(
        "O2: third set",
        kv.get(&key).await,
        Some(json!({"third": [1, 2]})),
    );
    assert_entries(
        "O2: an upserted key is listed once",
        &kv.list(Some(ns.prefix())).await,
        &[(key, json!({"third": [1, 2]}))],
    );
}

/// O2: TTLs have millisecond precision: an entry with a 300 ms TTL is live
/// shortly after the write and gone shortly after 300 ms (not rounded up to a
/// second); 1 ms, 999 ms and 1500 ms TTLs are accepted.
pub async fn o2_ttl_has_millisecond_precision(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o2_ttl_has_millisecond_precision");
    let kv = Kv::new(store);
    let (kv, ns) = (&kv, &ns);
    with_ttl(
        "O2: 300 ms TTL",
        Duration::from_millis(300),
        move |ttl| async move {
            let key = ns.key(["precise", &ms(ttl)]);
            let before = Instant::now();
            kv.set_ttl(&key, json!("v"), ttl).await;
            let written = Instant::now();
            kv.expect_live(&key, &json!("v"), before, ttl).await?;
            sleep_past(written, ttl).await;
            assert_value(
                &format!("O2: entry with a {ttl:?} TTL after {:?}", written.elapsed()),
                kv.get(&key).await,
                None,
            );
            Ok::<(), TooSlow>(())
        },
    )
    .await;

    let tiny = ns.key(["tiny"]);
    kv.set_ttl(&tiny, json!("v"), Duration::from_millis(1))
        .await;
    for ttl in [
        Duration::from_millis(999),
        Duration::from_millis(1500),
        Duration::from_secs(86_400),
    ] {
        let key = ns.key(["accepted", &ms(ttl)]);
        kv.set_ttl(&key, json!("v"), ttl).await;
        assert_value(
            &format!("O2: entry with a {ttl:?} TTL"),
            kv.get(&key).await,
            Some(json!("v")),
        );
    }
    sleep_ms(30).await;
    assert_value(
        "O2: entry with a 1 ms TTL after 30 ms",
        kv.get(&tiny).await,
        None,
    );
}

/// O2: a zero TTL means already expired: the entry is invisible at once, also
/// when it overwrites a live entry.
pub async fn o2_zero_ttl_is_expired_at_once(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o2_zero_ttl_is_expired_at_once");
    let kv = Kv::new(store);
    let fresh = ns.key(["fresh"]);
    kv.set_ttl(&fresh, json!("v"), Duration::ZERO).await;
    assert_value("O2: new entry with TTL 0", kv.get(&fresh).await, None);
    let overwritten = ns.key(["overwritten"]);
    kv.set(&overwritten, json!("old")).await;
    kv.set_ttl(&overwritten, json!("new"), Duration::ZERO).await;
    assert_value(
        "O2: live entry overwritten with TTL 0",
        kv.get(&overwritten).await,
        None,
    );
    let listed = kv.list(Some(ns.prefix())).await;
    assert!(listed.is_empty(), "O2/O5: TTL-0 entries listed: {listed:?}");
    assert!(
        kv.cas(&overwritten, None, Some(json!("created"))).await,
        "O4: a TTL-0 entry counts as absent for cas"
    );
}

/// O2: a `set` without TTL clears the expiry an earlier `set` gave the key.
pub async fn o2_set_without_ttl_clears_expiry(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o2_set_without_ttl_clears_expiry");
    let kv = Kv::new(store);
    let ttl = Duration::from_millis(200);
    let key = ns.key(["k"]);
    kv.set_ttl(&key, json!("expiring"), ttl).await;
    kv.set(&key, json!("forever")).await;
    let written = Instant::now();
    sleep_past(written, ttl).await;
    assert_value(
        "O2: set without TTL after a set with TTL",
        kv.get(&key).await,
        Some(json!("forever")),
    );
    assert_entries(
        "O2: list after clearing the expiry",
        &kv.list(Some(ns.prefix())).await,
        &[(key, json!("forever"))],
    );
}

/// O2: the TTL clock restarts on every write: an entry rewritten with the same
/// 400 ms TTL 250 ms after the first write is still live 250 ms after the
/// rewrite (500 ms after the first write), and a shorter TTL replaces a
/// longer one.
pub async fn o2_ttl_restarts_on_every_write(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o2_ttl_restarts_on_every_write");
    let kv = Kv::new(store);
    let (kv, ns) = (&kv, &ns);
    with_ttl(
        "O2: rewrite with TTL",
        Duration::from_millis(400),
        move |ttl| async move {
            let key = ns.key(["rewritten", &ms(ttl)]);
            let first = Instant::now();
            kv.set_ttl(&key, json!("first"), ttl).await;
            sleep_ms(ttl.as_millis() as u64 * 5 / 8).await;
            let before = Instant::now();
            kv.set_ttl(&key, json!("second"), ttl).await;
            let written = Instant::now();
            if written - first >= ttl {
                // The first entry may have expired before the rewrite, which
                // then cannot show whether the clock restarts.
                return Err(TooSlow);
            }
            sleep_ms(ttl.as_millis() as u64 * 5 / 8).await;
            kv.expect_live(&key, &json!("second"), before, ttl).await?;
            sleep_past(written, ttl).await;
            assert_value(
                "O2: rewritten entry after its TTL",
                kv.get(&key).await,
                None,
            );
            Ok::<(), TooSlow>(())
        },
    )
    .await;

    let shortened = ns.key(["shortened"]);
    kv.set_ttl(&shortened, json!("long"), Duration::from_secs(3600))
        .await;
    let ttl = Duration::from_millis(200);
    kv.set_ttl(&shortened, json!("short"), ttl).await;
    sleep_past(Instant::now(), ttl).await;
    assert_value(
        "O2: a shorter TTL replaces a longer one",
        kv.get(&shortened).await,
        None,
    );
}

/// O2: long TTLs are live TTLs: a day, ten years and a hundred years. A TTL
/// too long for the backend to represent (`Duration::MAX`) must not panic:
/// it is either accepted, and the entry is then live, or refused with an
/// error, and nothing is written.
pub async fn o2_long_ttls_are_accepted(store: Arc<dyn KvStore>) {
    const DAY: u64 = 86_400;
    let ns = Namespace::new("o2_long_ttls_are_accepted");
    let kv = Kv::new(store.clone());
    for days in [1, 3_650, 36_500] {
        let key = ns.key(["days", &days.to_string()]);
        kv.set_ttl(&key, json!(days), Duration::from_secs(days * DAY))
            .await;
        assert_value(
            &format!("O2: entry with a TTL of {days} days"),
            kv.get(&key).await,
            Some(json!(days)),
        );
    }
    let key = ns.key(["max"]);
    let store = store.clone();
    let probe = key.clone();
    let outcome = tokio::spawn(async move {
        store
            .set(
                &probe,
                &json!("max"),
                fedikv::SetOptions::ttl(Duration::MAX),
            )
            .await
            .is_ok()
    })
    .await;
    let accepted =
        outcome.unwrap_or_else(|e| panic!("O2: set with a TTL of Duration::MAX panicked: {e}"));
    let expected = accepted.then(|| json!("max"));
    assert_value(
        "O2: entry with a TTL of Duration::MAX",
        kv.get(&key).await,
        expected,
    );
}
