//! O2: set, TTLs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fedikv::{KvRecord, KvStore};
use serde_json::json;

use crate::Namespace;
use crate::support::{
    Kv, TooSlow, assert_entries, assert_ttl_left, assert_value, sleep_ms, sleep_past, with_ttl,
};

/// A day, in seconds.
const DAY: u64 = 86_400;

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

/// O2 (and O1): `set_shared` and `get_shared` are `set` and `get` with the
/// value in an `Arc`: what one writes the other and `get`, `list` read back;
/// an `Arc` read earlier keeps the value it was read with after the key is
/// overwritten, and the writer's own `Arc` is never changed; a zero TTL
/// expires at once and an absent key is `None`.
pub async fn o2_shared_values_are_set_and_get(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o2_shared_values_are_set_and_get");
    let kv = Kv::new(store);
    let key = ns.key(["shared"]);
    let first = json!({"id": "https://example.com/users/1", "tags": ["a", {"b": null}]});
    let written = Arc::new(first.clone());
    kv.set_shared(&key, Arc::clone(&written), None).await;
    assert_value(
        "O2: get after set_shared",
        kv.get(&key).await,
        Some(first.clone()),
    );
    let read = kv.get_shared(&key).await;
    assert_value(
        "O2: get_shared after set_shared",
        read.as_deref().cloned(),
        Some(first.clone()),
    );
    kv.set(&key, json!([2, "second"])).await;
    assert_value(
        "O2: get_shared after set",
        kv.get_shared(&key).await.as_deref().cloned(),
        Some(json!([2, "second"])),
    );
    assert_value(
        "O2: an Arc read earlier keeps its value after an overwrite",
        read.as_deref().cloned(),
        Some(first.clone()),
    );
    kv.set_shared(&key, Arc::new(json!(3)), None).await;
    assert_entries(
        "O2: a key written with set_shared is listed once",
        &kv.list(Some(ns.prefix())).await,
        &[(key.clone(), json!(3))],
    );
    assert_value(
        "O2: set_shared leaves the writer's value as it was",
        Some(written.as_ref().clone()),
        Some(first),
    );
    let expired = ns.key(["shared", "zero-ttl"]);
    kv.set_shared(&expired, Arc::new(json!("gone")), Some(Duration::ZERO))
        .await;
    assert_value(
        "O2: set_shared with a zero TTL is expired at once",
        kv.get_shared(&expired).await.as_deref().cloned(),
        None,
    );
    assert_value(
        "O1: get_shared of an absent key",
        kv.get_shared(&ns.key(["absent"])).await.as_deref().cloned(),
        None,
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

/// O2: long TTLs are live TTLs: a day, ten years and a hundred years, and
/// TTLs at and beyond [`MAX_TTL`](fedikv::MAX_TTL), up to `Duration::MAX`,
/// which every backend clamps to `MAX_TTL` (checked with `scan` by
/// [`o2_ttls_beyond_the_maximum_are_clamped`]): `set` and `cas` succeed
/// without panicking and the entry is live and listed.
pub async fn o2_long_ttls_are_accepted(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o2_long_ttls_are_accepted");
    let kv = Kv::new(store);
    let mut expected = Vec::new();
    for ttl in [
        Duration::from_secs(DAY),
        Duration::from_secs(3_650 * DAY),
        Duration::from_secs(36_500 * DAY),
        fedikv::MAX_TTL,
        Duration::MAX,
    ] {
        let key = ns.key(["set", &ms(ttl)]);
        kv.set_ttl(&key, json!(ms(ttl)), ttl).await;
        assert_value(
            &format!("O2: entry set with a TTL of {ttl:?}"),
            kv.get(&key).await,
            Some(json!(ms(ttl))),
        );
        expected.push((key, json!(ms(ttl))));
    }
    let created = ns.key(["cas", "max"]);
    assert!(
        kv.cas_with(&created, None, Some(json!("cas")), Some(Duration::MAX))
            .await,
        "O4: cas(absent -> v) with a TTL of Duration::MAX must swap"
    );
    assert_value(
        "O2: entry written by cas with a TTL of Duration::MAX",
        kv.get(&created).await,
        Some(json!("cas")),
    );
    expected.push((created, json!("cas")));
    assert_entries(
        "O2: entries with long TTLs are listed",
        &kv.list(Some(ns.prefix())).await,
        &expected,
    );
}

/// O2: a TTL longer than [`MAX_TTL`](fedikv::MAX_TTL) (365,000 days) is
/// clamped to it on every backend: `set` and `cas` with `MAX_TTL`, `MAX_TTL`
/// plus a millisecond and `Duration::MAX` write a live entry for which `scan`
/// reports `MAX_TTL` left (less the time since the write), while a TTL just
/// below the maximum is kept as it is.
pub async fn o2_ttls_beyond_the_maximum_are_clamped(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o2_ttls_beyond_the_maximum_are_clamped");
    let kv = Kv::new(store);
    let max = fedikv::MAX_TTL;
    let below = max - Duration::from_secs(DAY);
    // (key, TTL given, TTL applied)
    let cases = [
        ("below", below, below),
        ("max", max, max),
        ("max-plus-1ms", max + Duration::from_millis(1), max),
        ("duration-max", Duration::MAX, max),
    ];
    let written = Instant::now();
    let mut expected = Vec::new();
    for (name, given, _) in cases {
        let set = ns.key(["set", name]);
        kv.set_ttl(&set, json!(name), given).await;
        let cas = ns.key(["cas", name]);
        assert!(
            kv.cas_with(&cas, None, Some(json!(name)), Some(given))
                .await,
            "O4: cas(absent -> v) with a TTL of {given:?} must swap"
        );
        expected.push((set, json!(name)));
        expected.push((cas, json!(name)));
    }
    let records = kv.scan(Some(ns.prefix())).await;
    let elapsed = written.elapsed();
    let entries: Vec<_> = records.iter().cloned().map(KvRecord::into_entry).collect();
    assert_entries("O2: entries with clamped TTLs", &entries, &expected);
    for (name, given, applied) in cases {
        for op in ["set", "cas"] {
            let key = ns.key([op, name]);
            let left = records
                .iter()
                .find(|r| r.key == key)
                .and_then(|r| r.expires_in);
            assert_ttl_left(
                &format!("O2: {op} with a TTL of {given:?} (clamped to MAX_TTL = {max:?})"),
                &key,
                left,
                applied,
                elapsed,
            );
        }
    }
}
