//! fedikv's `RedisKvStore` and Fedify's published `@fedify/redis` (run by
//! Node 24 through `interop/fedify.mjs`, driver `ioredis`) on the same key
//! prefix, in both directions: tricky keys (the `::` / `_:` encoding) and
//! values, TTLs (Redis' own expiry), and fedikv's `cas` on values Fedify
//! wrote.
//!
//! `@fedify/redis` 1.8.7 (the newest release) has neither `cas` nor `list`
//! and writes TTLs with `SETEX`, whole seconds only.
//! Needs `FEDIKV_TEST_REDIS_URL` and `scripts/interop-setup.sh`; each test
//! has a key prefix of its own, deleted at the end.

use std::time::{Duration, Instant};

use super::{TestPrefix, server_url};
use crate::support::interop::data::{base, under};
use crate::support::interop::scenarios::{self, assert_live_checks_in_time, sleep_past_expiry};
use crate::support::interop::{Capabilities, Fedify, check, got, op};
use fedikv::redis::CHUNKED_ABOVE;
use fedikv::{KvStore, SetOptions};
use serde_json::json;

const CAPS: Capabilities = Capabilities {
    cas: false,
    list: false,
    null_values: true,
};

/// fedikv's store on a prefix of its own (keys deleted with it) and
/// Fedify's store on the same prefix. `None` when the test must skip.
async fn setup() -> Option<(TestPrefix, Fedify)> {
    let url = server_url()?;
    let test = TestPrefix::new(&url).await;
    let fedify = Fedify::new(
        json!({"backend": "redis", "url": url, "prefix": test.prefix}),
        CAPS,
    )?;
    Some((test, fedify))
}

#[tokio::test]
async fn fedify_writes_fedikv_reads() {
    let Some((test, fedify)) = setup().await else {
        return;
    };
    scenarios::fedify_writes_fedikv_reads(&test.store, &fedify, &base("redis")).await;
}

#[tokio::test]
async fn fedikv_writes_fedify_reads() {
    let Some((test, fedify)) = setup().await else {
        return;
    };
    scenarios::fedikv_writes_fedify_reads(&test.store, &fedify, &base("redis")).await;
}

/// A deep remote document and a lone-surrogate key beside good rows, both
/// ways (ioredis stores key strings as UTF-8: lone surrogates as U+FFFD).
#[tokio::test]
async fn javascript_data() {
    let Some((test, fedify)) = setup().await else {
        return;
    };
    scenarios::javascript_data(&test.store, &fedify, &base("redis-js")).await;
}

#[tokio::test]
async fn ttl_agreement() {
    let Some((test, fedify)) = setup().await else {
        return;
    };
    scenarios::ttl_agreement(&test.store, &fedify, &base("redis")).await;
}

/// Both sides name the same Redis key: a component ending in `:` is the
/// case Fedify's own `list` decodes wrongly; fedikv lists it back exactly.
#[tokio::test]
async fn same_redis_keys() {
    let Some((test, fedify)) = setup().await else {
        return;
    };
    let key = fedikv::KvKey::new(["a:", "b::c", "d"]).unwrap();
    check(&fedify.one(op::set(&key, &json!("v"), None)).await, "set");
    assert_eq!(test.raw_keys().await, vec![test.raw_key("a_:::b_:_:c::d")]);
    let listed =
        crate::support::interop::fedikv_list(&test.store, &fedikv::KvKey::new(["a:"]).unwrap())
            .await;
    assert_eq!(listed.into_keys().collect::<Vec<_>>(), vec![key]);
}

/// fedikv writes millisecond TTLs (`PX`) that Fedify reads live and then
/// gone; Fedify 1.8.7 refuses any TTL that is not whole seconds (its
/// `SETEX` gets a fraction, here 1.5) and stores whole seconds.
#[tokio::test]
async fn millisecond_ttls() {
    let Some((test, fedify)) = setup().await else {
        return;
    };
    let base = base("redis");
    let (by_fedikv, by_fedify) = (under(&base, &["fedikv"]), under(&base, &["Fedify"]));
    let ttl = Duration::from_millis(1500);
    let refused = fedify.one(op::set(&by_fedify, &json!(1), Some(ttl))).await;
    let error = refused["error"]
        .as_str()
        .expect("Fedify 1.8.7 refuses a sub-second TTL");
    assert!(error.contains("not an integer"), "{error}");
    assert_eq!(
        test.store.get(&by_fedify).await.unwrap(),
        None,
        "nothing written"
    );

    let started = Instant::now();
    test.store
        .set(&by_fedikv, &json!(1), SetOptions::ttl(ttl))
        .await
        .unwrap();
    let finished = Instant::now();
    let pttl: i64 = test
        .raw(redis::cmd("PTTL").arg(test.raw_key("_fedikv_interop::redis::fedikv")))
        .await;
    assert!((1..=1500).contains(&pttl), "PTTL {pttl}");
    let live = fedify.one(op::get(&by_fedikv)).await;
    assert_live_checks_in_time(started, ttl);
    assert_eq!(got(&live), Some(json!(1)));
    sleep_past_expiry(finished, ttl).await;
    assert_eq!(got(&fedify.one(op::get(&by_fedikv)).await), None);

    check(
        &fedify
            .one(op::set(&by_fedify, &json!(1), Some(Duration::from_secs(5))))
            .await,
        "set",
    );
    let pttl: i64 = test
        .raw(redis::cmd("PTTL").arg(test.raw_key("_fedikv_interop::redis::Fedify")))
        .await;
    assert!((4000..=5000).contains(&pttl), "PTTL {pttl}");
}

/// A value above `CHUNKED_ABOVE`, which fedikv writes in chunks through a
/// temporary key, is what Fedify reads, over a value Fedify wrote and with
/// a TTL; and a huge value Fedify wrote reads back in fedikv.
#[tokio::test]
async fn huge_values() {
    let Some((test, fedify)) = setup().await else {
        return;
    };
    let key = under(&base("redis"), &["huge"]);
    let huge = |c: &str| json!({"type": "Note", "content": c.repeat(CHUNKED_ABOVE + 12_345)});
    check(&fedify.one(op::set(&key, &huge("f"), None)).await, "set");
    assert_eq!(test.store.get(&key).await.unwrap(), Some(huge("f")));
    test.store
        .set(&key, &huge("k"), SetOptions::ttl(Duration::from_secs(600)))
        .await
        .unwrap();
    assert_eq!(got(&fedify.one(op::get(&key)).await), Some(huge("k")));
    let pttl: i64 = test
        .raw(redis::cmd("PTTL").arg(test.raw_key("_fedikv_interop::redis::huge")))
        .await;
    assert!((1..=600_000).contains(&pttl), "PTTL {pttl}");
}
