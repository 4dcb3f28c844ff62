//! `RedisKvStore` against a real Redis server: the stored keys, values and
//! expiry checked with raw commands, entries written the way Fedify writes
//! them, literal listing with glob characters and decoys, construction, and
//! bad input.
//!
//! Needs `FEDIKV_TEST_REDIS_URL` (e.g. `redis://127.0.0.1:6379/`); each test
//! uses a key prefix of its own and deletes its keys.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::{TestPrefix, server_url, unique};
use fedikv::redis::{MAX_KEY_BYTES, RedisKvStore, RedisOptions};
use fedikv::{KvError, KvKey, KvStore, SetOptions};
use fedikv_conformance::server::with_options;
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

fn key(components: &[&str]) -> KvKey {
    KvKey::new(components.iter().copied()).unwrap()
}

async fn list_keys(store: &RedisKvStore, prefix: Option<&KvKey>) -> BTreeSet<KvKey> {
    let entries: Vec<_> = store.list(prefix).try_collect().await.unwrap();
    let keys: BTreeSet<KvKey> = entries.iter().map(|e| e.key.clone()).collect();
    assert_eq!(keys.len(), entries.len(), "an entry was listed twice");
    keys
}

fn keys(list: &[&[&str]]) -> BTreeSet<KvKey> {
    list.iter().map(|k| key(k)).collect()
}

// ---------------------------------------------------------------- layout ---

/// Keys are the prefix + components joined by `::`, `:` written `_:`, byte
/// for byte as Fedify's `#serializeKey`; tricky keys list back exactly.
#[tokio::test(flavor = "multi_thread")]
async fn keys_are_stored_as_fedify_stores_them() {
    let Some(t) = TestPrefix::fresh().await else {
        return;
    };
    let cases: &[(&[&str], &str)] = &[
        (&["foo", "bar"], "foo::bar"),
        (
            &["_fedify", "publicKey", "https://a.example/k#main"],
            "_fedify::publicKey::https_://a.example/k#main",
        ),
        (&["a:", "b"], "a_:::b"),
        (&["a_", ":b"], "a_::_:b"),
        (&["a_:", "b"], "a__:::b"),
        (&["_:"], "__:"),
        (&["::"], "_:_:"),
        (&[""], ""),
        (&["", ""], "::"),
        (&["x", "", ":"], "x::::_:"),
        (&["*?[]\\", "%_\"\n😀"], "*?[]\\::%_\"\n😀"),
    ];
    for (components, _) in cases {
        t.store
            .set(&key(components), &json!(components), SetOptions::default())
            .await
            .unwrap();
    }
    let mut expected: Vec<Vec<u8>> = cases.iter().map(|(_, raw)| t.raw_key(raw)).collect();
    expected.sort();
    assert_eq!(t.raw_keys().await, expected);
    for (components, raw) in cases {
        let stored: Vec<u8> = t.raw(redis::cmd("GET").arg(t.raw_key(raw))).await;
        assert_eq!(stored, serde_json::to_vec(&json!(components)).unwrap());
    }
    let listed = list_keys(&t.store, None).await;
    let written: BTreeSet<KvKey> = cases.iter().map(|(c, _)| key(c)).collect();
    assert_eq!(listed, written);
}

/// Values are JSON bytes: what `get` of Fedify's `JsonCodec` parses.
#[tokio::test(flavor = "multi_thread")]
async fn values_are_json_bytes() {
    let Some(t) = TestPrefix::fresh().await else {
        return;
    };
    let cases = [
        (json!("baz"), &b"\"baz\""[..]),
        (json!(null), b"null"),
        (json!(false), b"false"),
        (json!(0), b"0"),
        (json!(""), b"\"\""),
        (json!([]), b"[]"),
        (json!({}), b"{}"),
        (
            json!({"b": 1, "a": [true, null, 1.5]}),
            b"{\"a\":[true,null,1.5],\"b\":1}",
        ),
        (json!("é\n\"😀"), "\"é\\n\\\"😀\"".as_bytes()),
    ];
    for (i, (value, bytes)) in cases.iter().enumerate() {
        let k = key(&["v", &i.to_string()]);
        t.store.set(&k, value, SetOptions::default()).await.unwrap();
        let stored: Vec<u8> = t
            .raw(redis::cmd("GET").arg(t.raw_key(&format!("v::{i}"))))
            .await;
        assert_eq!(stored, *bytes, "{value}");
        assert_eq!(t.store.get(&k).await.unwrap().as_ref(), Some(value));
    }
}

/// TTLs become `PX` milliseconds; a write without TTL clears the expiry; a
/// zero TTL leaves no key behind.
#[tokio::test(flavor = "multi_thread")]
async fn ttls_are_native_milliseconds() {
    let Some(t) = TestPrefix::fresh().await else {
        return;
    };
    let k = key(&["ttl"]);
    let raw = t.raw_key("ttl");
    let pttl = |t: &TestPrefix| {
        let raw = raw.clone();
        let mut conn = t.raw.clone();
        async move {
            redis::cmd("PTTL")
                .arg(raw)
                .query_async::<i64>(&mut conn)
                .await
                .unwrap()
        }
    };

    t.store
        .set(&k, &json!(1), SetOptions::ttl(Duration::from_millis(1500)))
        .await
        .unwrap();
    let ms = pttl(&t).await;
    assert!((1000..=1500).contains(&ms), "PTTL {ms} after a 1500 ms TTL");

    t.store
        .set(&k, &json!(1), SetOptions::ttl(Duration::from_millis(250)))
        .await
        .unwrap();
    let ms = pttl(&t).await;
    assert!((1..=250).contains(&ms), "PTTL {ms} after a 250 ms TTL");

    t.store
        .set(&k, &json!(1), SetOptions::ttl(Duration::from_secs(3600)))
        .await
        .unwrap();
    let ms = pttl(&t).await;
    assert!((3_590_000..=3_600_000).contains(&ms), "PTTL {ms} after 1 h");

    t.store
        .set(&k, &json!(2), SetOptions::default())
        .await
        .unwrap();
    assert_eq!(pttl(&t).await, -1, "a write without TTL keeps no expiry");

    t.store
        .set(&k, &json!(3), SetOptions::ttl(Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(pttl(&t).await, -2, "a zero TTL leaves no key");
    assert_eq!(t.store.get(&k).await.unwrap(), None);

    // cas applies its TTL, and no TTL means none.
    assert!(
        t.store
            .cas(
                &k,
                None,
                Some(&json!(4)),
                SetOptions::ttl(Duration::from_millis(800))
            )
            .await
            .unwrap()
    );
    let ms = pttl(&t).await;
    assert!((1..=800).contains(&ms), "PTTL {ms} after cas with 800 ms");
    assert!(
        t.store
            .cas(&k, Some(&json!(4)), Some(&json!(5)), SetOptions::default())
            .await
            .unwrap()
    );
    assert_eq!(pttl(&t).await, -1);
    assert!(
        t.store
            .cas(
                &k,
                Some(&json!(5)),
                Some(&json!(6)),
                SetOptions::ttl(Duration::ZERO)
            )
            .await
            .unwrap()
    );
    assert_eq!(pttl(&t).await, -2, "cas with a zero TTL deletes");

    // Expiry is Redis's own: the entry is gone after its TTL.
    t.store
        .set(&k, &json!(7), SetOptions::ttl(Duration::from_millis(30)))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(t.store.get(&k).await.unwrap(), None);
    assert_eq!(t.store.sweep().await.unwrap(), 0);
}

// ------------------------------------------------- data written by Fedify ---

/// Fedify's own Redis tests: raw `SET <prefix>foo::bar '"foobar"'` reads
/// back; `set` writes `"baz"`; `delete` removes the raw key.
#[tokio::test(flavor = "multi_thread")]
async fn fedify_redis_test_cases() {
    let Some(t) = TestPrefix::fresh().await else {
        return;
    };
    let _: () = t
        .raw(
            redis::cmd("SET")
                .arg(t.raw_key("foo::bar"))
                .arg("\"foobar\""),
        )
        .await;
    assert_eq!(
        t.store.get(&key(&["foo", "bar"])).await.unwrap(),
        Some(json!("foobar"))
    );
    t.store
        .set(&key(&["foo", "baz"]), &json!("baz"), SetOptions::default())
        .await
        .unwrap();
    let stored: String = t.raw(redis::cmd("GET").arg(t.raw_key("foo::baz"))).await;
    assert_eq!(stored, "\"baz\"");
    t.store.delete(&key(&["foo", "baz"])).await.unwrap();
    let exists: i64 = t.raw(redis::cmd("EXISTS").arg(t.raw_key("foo::baz"))).await;
    assert_eq!(exists, 0);
}

/// Values Fedify wrote with `JSON.stringify` (another key order, `1` for
/// `1.0`, escapes fedikv does not use) read back and compare equal in `cas`;
/// a wrong expectation changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn cas_compares_values_written_by_fedify() {
    let Some(t) = TestPrefix::fresh().await else {
        return;
    };
    let raw = t.raw_key("_fedify::circuit::https_://a.example");
    let fedify_bytes = r#"{"state":"open","failures":[1,2.5],"since":1.0,"note":"\u00e9"}"#;
    let _: () = t.raw(redis::cmd("SET").arg(&raw).arg(fedify_bytes)).await;
    let k = key(&["_fedify", "circuit", "https://a.example"]);
    let expected = json!({"note": "é", "since": 1, "failures": [1, 2.5], "state": "open"});
    let read = t.store.get(&k).await.unwrap();
    assert!(
        fedikv::json_opt_eq(read.as_ref(), Some(&expected)),
        "{read:?}"
    );

    // Mismatches: a different value, array order, absent.
    for wrong in [
        json!({"note": "é", "since": 1, "failures": [2.5, 1], "state": "open"}),
        json!({"note": "é", "since": 1, "failures": [1, 2.5]}),
        json!("open"),
    ] {
        assert!(
            !t.store
                .cas(&k, Some(&wrong), Some(&json!("x")), SetOptions::default())
                .await
                .unwrap()
        );
    }
    assert!(
        !t.store
            .cas(&k, None, Some(&json!("x")), SetOptions::default())
            .await
            .unwrap()
    );
    assert!(
        !t.store
            .cas(&k, Some(&json!("open")), None, SetOptions::default())
            .await
            .unwrap()
    );
    let stored: String = t.raw(redis::cmd("GET").arg(&raw)).await;
    assert_eq!(
        stored, fedify_bytes,
        "a failed cas must not touch the bytes"
    );

    // Deep-equal: swaps, with the TTL.
    let new = json!({"state": "half-open"});
    assert!(
        t.store
            .cas(
                &k,
                Some(&expected),
                Some(&new),
                SetOptions::ttl(Duration::from_secs(60))
            )
            .await
            .unwrap()
    );
    let stored: String = t.raw(redis::cmd("GET").arg(&raw)).await;
    assert_eq!(stored, r#"{"state":"half-open"}"#);
    let pttl: i64 = t.raw(redis::cmd("PTTL").arg(&raw)).await;
    assert!((50_000..=60_000).contains(&pttl), "{pttl}");

    // Compare-and-delete of a Fedify-spelled value.
    let _: () = t
        .raw(redis::cmd("SET").arg(&raw).arg("[1.0,{\"b\":2,\"a\":1}]"))
        .await;
    assert!(
        t.store
            .cas(
                &k,
                Some(&json!([1, {"a": 1, "b": 2}])),
                None,
                SetOptions::default()
            )
            .await
            .unwrap()
    );
    let exists: i64 = t.raw(redis::cmd("EXISTS").arg(&raw)).await;
    assert_eq!(exists, 0);
}

/// `["a:", "b"]` is `a_:::b`, which Fedify decodes as `["a_", ":b"]`; fedikv
/// decodes it exactly, also when Fedify wrote it, and does not list it under
/// `["a_"]` although its Redis key starts with `a_::`.
#[tokio::test(flavor = "multi_thread")]
async fn keys_fedify_decodes_wrongly_list_exactly() {
    let Some(t) = TestPrefix::fresh().await else {
        return;
    };
    let _: () = t
        .raw(redis::cmd("SET").arg(t.raw_key("a_:::b")).arg("1"))
        .await;
    t.store
        .set(&key(&["a_", ":b"]), &json!(2), SetOptions::default())
        .await
        .unwrap();
    t.store
        .set(&key(&["a_", "x"]), &json!(3), SetOptions::default())
        .await
        .unwrap();
    t.store
        .set(&key(&["a_"]), &json!(4), SetOptions::default())
        .await
        .unwrap();
    assert_eq!(
        list_keys(&t.store, None).await,
        keys(&[&["a:", "b"], &["a_", ":b"], &["a_", "x"], &["a_"]])
    );
    assert_eq!(
        list_keys(&t.store, Some(&key(&["a_"]))).await,
        keys(&[&["a_", ":b"], &["a_", "x"], &["a_"]])
    );
    assert_eq!(
        list_keys(&t.store, Some(&key(&["a:"]))).await,
        keys(&[&["a:", "b"]])
    );
    assert_eq!(
        t.store.get(&key(&["a:", "b"])).await.unwrap(),
        Some(json!(1))
    );
    assert_eq!(
        t.store.get(&key(&["a_", ":b"])).await.unwrap(),
        Some(json!(2))
    );
}

// --------------------------------------------------------------- listing ---

/// Glob characters in a listed prefix match only themselves: each prefix
/// lists its own keys, never the decoys a glob would match.
#[tokio::test(flavor = "multi_thread")]
async fn glob_characters_in_prefixes_are_literal() {
    let Some(t) = TestPrefix::fresh().await else {
        return;
    };
    let written: &[&[&str]] = &[
        &["p*"],
        &["p*", "1"],
        &["pX", "decoy"],
        &["p*x", "decoy"],
        &["p?", "1"],
        &["pa", "decoy"],
        &["p[ab]", "1"],
        &["pa", "x"],
        &["pb", "decoy"],
        &["p\\", "1"],
        &["p\\\\", "decoy"],
        &["p]", "1"],
        &["p^", "decoy"],
        &["p[", "1"],
        &["p", "*"],
        &["p", "x"],
    ];
    for k in written {
        t.store
            .set(&key(k), &json!(k), SetOptions::default())
            .await
            .unwrap();
    }
    let cases: &[(&[&str], &[&[&str]])] = &[
        (&["p*"], &[&["p*"], &["p*", "1"]]),
        (&["p?"], &[&["p?", "1"]]),
        (&["p[ab]"], &[&["p[ab]", "1"]]),
        (&["p\\"], &[&["p\\", "1"]]),
        (&["p]"], &[&["p]", "1"]]),
        (&["p["], &[&["p[", "1"]]),
        (&["p", "*"], &[&["p", "*"]]),
        (&["p"], &[&["p", "*"], &["p", "x"]]),
        (&["P"], &[]),
    ];
    for (prefix, expected) in cases {
        assert_eq!(
            list_keys(&t.store, Some(&key(prefix))).await,
            keys(expected),
            "list({prefix:?})"
        );
    }
    assert_eq!(list_keys(&t.store, None).await, keys(written));
}

/// Keys under the prefix that this layout cannot have written (a lone `:`,
/// invalid UTF-8), keys of other Redis types and values that are not JSON
/// are no entries: each is one typed error naming the Redis key (rule V5;
/// more in `bad_rows.rs`), and `get` of one is a typed error too.
#[tokio::test(flavor = "multi_thread")]
async fn foreign_keys_and_bad_values() {
    let Some(t) = TestPrefix::fresh().await else {
        return;
    };
    t.store
        .set(&key(&["ok"]), &json!(1), SetOptions::default())
        .await
        .unwrap();
    let _: () = t
        .raw(redis::cmd("SET").arg(t.raw_key("lone:colon")).arg("1"))
        .await;
    let mut invalid_utf8 = t.raw_key("x");
    invalid_utf8.push(0xff);
    let _: () = t.raw(redis::cmd("SET").arg(&invalid_utf8).arg("1")).await;
    let _: () = t
        .raw(redis::cmd("HSET").arg(t.raw_key("hash")).arg("f").arg("v"))
        .await;
    let _: () = t
        .raw(redis::cmd("SET").arg(t.raw_key("bad")).arg("not json"))
        .await;
    let mut good = Vec::new();
    let mut reported = BTreeSet::new();
    for item in t.store.list(None).collect::<Vec<_>>().await {
        match item {
            Ok(entry) => good.push(entry.key),
            Err(KvError::Corrupt { key, .. }) => assert!(reported.insert(key)),
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(good, [key(&["ok"])]);
    let raw = |rest: &str| format!("{}{rest}", t.prefix);
    assert_eq!(
        reported,
        ["lone:colon", "x\u{FFFD}", "hash", "bad"].map(raw).into()
    );
    match t.store.get(&key(&["hash"])).await {
        Err(KvError::Corrupt { key, .. }) => assert_eq!(key, raw("hash")),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    match t.store.get(&key(&["bad"])).await {
        Err(KvError::Corrupt { key, .. }) => assert_eq!(key, raw("bad")),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert!(matches!(
        t.store
            .cas(&key(&["bad"]), Some(&json!(1)), None, SetOptions::default())
            .await,
        Err(KvError::Corrupt { .. })
    ));
    assert!(matches!(
        t.store
            .cas(
                &key(&["hash"]),
                Some(&json!(1)),
                None,
                SetOptions::default()
            )
            .await,
        Err(KvError::Corrupt { .. })
    ));
}

/// Many pages, many other keys: every entry once, values intact, the key
/// equal to the prefix included, keys deleted before being fetched skipped.
#[tokio::test(flavor = "multi_thread")]
async fn lists_large_prefixes_among_other_keys() {
    let Some(t) = TestPrefix::fresh().await else {
        return;
    };
    let mut conn = t.raw.clone();
    let mut pipe = redis::pipe();
    for i in 0..3000 {
        pipe.cmd("SET")
            .arg(t.raw_key(&format!("other::{i}")))
            .arg("0")
            .ignore();
    }
    for i in 0..1200 {
        pipe.cmd("SET")
            .arg(t.raw_key(&format!("list::{i}")))
            .arg(i.to_string())
            .ignore();
    }
    pipe.cmd("SET").arg(t.raw_key("list")).arg("-1").ignore();
    let _: () = pipe.query_async(&mut conn).await.unwrap();
    let prefix = key(&["list"]);
    let entries: Vec<_> = t.store.list(Some(&prefix)).try_collect().await.unwrap();
    assert_eq!(entries.len(), 1201);
    let mut seen = BTreeSet::new();
    for entry in &entries {
        let expected = match entry.key.components() {
            [_] => -1,
            [_, i] => i.parse::<i64>().unwrap(),
            _ => panic!("unexpected key {}", entry.key),
        };
        assert_eq!(entry.value, json!(expected), "{}", entry.key);
        assert!(seen.insert(entry.key.clone()), "{} twice", entry.key);
    }

    // Entries deleted while the listing is under way are skipped, not errors.
    let mut stream = t.store.list(Some(&prefix));
    let first = stream.try_next().await.unwrap().unwrap();
    let _: () = redis::cmd("DEL")
        .arg(
            (0..1200)
                .map(|i| t.raw_key(&format!("list::{i}")))
                .collect::<Vec<_>>(),
        )
        .query_async(&mut conn)
        .await
        .unwrap();
    let rest: Vec<_> = stream.try_collect().await.unwrap();
    assert!(rest.len() < 1200, "{} entries after deleting", rest.len());
    assert!(rest.iter().all(|e| e.key != first.key));
}

// ---------------------------------------------------------- construction ---

#[tokio::test(flavor = "multi_thread")]
async fn constructible_from_url_client_and_manager() {
    let Some(url) = server_url() else { return };
    let prefix = format!("{}::", unique("fedikv-test"));
    let t = TestPrefix::with_prefix(&url, &prefix).await;
    let k = key(&["shared"]);
    t.store
        .set(&k, &json!("v"), SetOptions::default())
        .await
        .unwrap();

    let by_url = RedisKvStore::open_url(&with_options(&url, &format!("prefix={prefix}")))
        .await
        .unwrap();
    assert_eq!(by_url.prefix(), prefix);
    assert_eq!(by_url.get(&k).await.unwrap(), Some(json!("v")));

    let by_open = fedikv::open(&with_options(&url, &format!("prefix={prefix}")))
        .await
        .unwrap();
    assert_eq!(by_open.backend(), "redis");
    assert_eq!(by_open.get(&k).await.unwrap(), Some(json!("v")));

    let client = redis::Client::open(url.as_str()).unwrap();
    let manager = redis::aio::ConnectionManager::new(client).await.unwrap();
    let by_manager =
        RedisKvStore::from_manager(manager, RedisOptions::new().prefix(&prefix)).unwrap();
    assert_eq!(by_manager.get(&k).await.unwrap(), Some(json!("v")));

    let default = RedisKvStore::open_url(&url).await.unwrap();
    assert_eq!(default.prefix(), "fedify::");
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_prefixes_are_refused() {
    let Some(url) = server_url() else { return };
    for prefix in ["", "a*", "a?", "a[b]", "a%5C", "a%0A"] {
        let result = RedisKvStore::open_url(&with_options(&url, &format!("prefix={prefix}"))).await;
        assert!(
            matches!(
                result,
                Err(KvError::InvalidName {
                    what: "key prefix",
                    ..
                })
            ),
            "prefix={prefix}: {result:?}"
        );
    }
    let client = redis::Client::open(url.as_str()).unwrap();
    let manager = redis::aio::ConnectionManager::new(client).await.unwrap();
    assert!(matches!(
        RedisKvStore::from_manager(manager, RedisOptions::new().prefix("x*")),
        Err(KvError::InvalidName { .. })
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_urls_are_invalid_url_errors() {
    for url in [
        "redis://127.0.0.1:6379/notanumber",
        "redis://127.0.0.1:6379/?prefx=fedify::",
        "redis://127.0.0.1:6379/?timeout=soon",
        "redis://:hunter2@[::1/",
        "redis://",
    ] {
        match RedisKvStore::open_url(url).await {
            Err(KvError::InvalidUrl { reason }) => {
                assert!(!reason.contains("hunter2"), "{reason}");
            }
            other => panic!("{url}: expected InvalidUrl, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_server_is_unavailable_promptly() {
    let started = Instant::now();
    let result = RedisKvStore::open_url("redis://:hunter2@127.0.0.1:1/").await;
    match result {
        Err(e @ KvError::Unavailable { .. }) => {
            assert!(!e.to_string().contains("hunter2"), "{e}");
            assert!(!format!("{e:?}").contains("hunter2"), "{e:?}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// `rediss://` is compiled in: against a plain-text server the TLS
/// handshake fails with a typed error, not "TLS not enabled".
#[tokio::test(flavor = "multi_thread")]
async fn tls_urls_reach_the_tls_handshake() {
    let Some(url) = server_url() else { return };
    let tls = url.replacen("redis://", "rediss://", 1);
    let result = RedisKvStore::open_url(&tls).await;
    assert!(
        matches!(
            result,
            Err(KvError::Unavailable { .. } | KvError::Backend { .. })
        ),
        "{result:?}"
    );
}

/// A user with a password of its own (created for this test): a wrong
/// password is `AccessDenied`, the right one works, a key outside the user's
/// key pattern is `AccessDenied`; no message or Debug shows the password.
#[tokio::test(flavor = "multi_thread")]
async fn credentials_are_checked_and_never_shown() {
    let Some(url) = server_url() else { return };
    let admin = redis::Client::open(url.as_str()).unwrap();
    let mut admin = admin.get_multiplexed_async_connection().await.unwrap();
    let user = unique("fedikv_test").replace('-', "_");
    struct DropUser(redis::Client, String);
    impl Drop for DropUser {
        fn drop(&mut self) {
            if let Ok(mut conn) = self.0.get_connection() {
                let _: redis::RedisResult<()> = redis::cmd("ACL")
                    .arg("DELUSER")
                    .arg(&self.1)
                    .query(&mut conn);
            }
        }
    }
    let _guard = DropUser(redis::Client::open(url.as_str()).unwrap(), user.clone());
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg(&user)
        .arg("on")
        .arg(">s3cret-pw")
        .arg("~fedikv-test-*")
        .arg("+@all")
        .query_async(&mut admin)
        .await
        .unwrap();
    let authority = url.trim_start_matches("redis://");

    let wrong = format!("redis://{user}:wr0ng-pw@{authority}");
    match RedisKvStore::open_url(&wrong).await {
        Err(e @ KvError::AccessDenied { .. }) => {
            assert!(!e.to_string().contains("wr0ng-pw"), "{e}");
            assert!(!format!("{e:?}").contains("wr0ng-pw"), "{e:?}");
        }
        other => panic!("expected AccessDenied, got {other:?}"),
    }

    let prefix = format!("{}::", unique("fedikv-test"));
    let right = with_options(
        &format!("redis://{user}:s3cret-pw@{authority}"),
        &format!("prefix={prefix}"),
    );
    let store = RedisKvStore::open_url(&right).await.unwrap();
    let debug = format!("{store:?}");
    assert!(!debug.contains("s3cret-pw"), "{debug}");
    assert!(debug.contains(&user) && debug.contains(&prefix), "{debug}");
    let k = key(&["k"]);
    store
        .set(&k, &json!(1), SetOptions::default())
        .await
        .unwrap();
    assert_eq!(store.get(&k).await.unwrap(), Some(json!(1)));
    store.delete(&k).await.unwrap();

    // The default prefix `fedify::` is outside this user's key pattern.
    let outside = RedisKvStore::open_url(&format!("redis://{user}:s3cret-pw@{authority}"))
        .await
        .unwrap();
    match outside.get(&k).await {
        Err(e @ KvError::AccessDenied { .. }) => assert!(!e.to_string().contains("s3cret-pw")),
        other => panic!("expected AccessDenied, got {other:?}"),
    }
}

// ------------------------------------------------------------ bad input ---

#[tokio::test(flavor = "multi_thread")]
async fn oversized_keys_are_refused_before_any_round_trip() {
    let Some(t) = TestPrefix::fresh().await else {
        return;
    };
    let long = key(&[&"x".repeat(MAX_KEY_BYTES)]);
    let value = json!(1);
    assert!(matches!(
        t.store.set(&long, &value, SetOptions::default()).await,
        Err(KvError::KeyTooLong {
            backend: "redis",
            ..
        })
    ));
    assert!(matches!(
        t.store.get(&long).await,
        Err(KvError::KeyTooLong { .. })
    ));
    assert!(matches!(
        t.store.delete(&long).await,
        Err(KvError::KeyTooLong { .. })
    ));
    assert!(matches!(
        t.store
            .cas(&long, None, Some(&value), SetOptions::default())
            .await,
        Err(KvError::KeyTooLong { .. })
    ));
    let listed: Result<Vec<_>, _> = t.store.list(Some(&long)).try_collect().await;
    assert!(matches!(listed, Err(KvError::KeyTooLong { .. })));
    assert!(t.raw_keys().await.is_empty());
    // Just under the limit works.
    let fits = key(&[&"x".repeat(MAX_KEY_BYTES - t.prefix.len())]);
    t.store
        .set(&fits, &Value::Null, SetOptions::default())
        .await
        .unwrap();
    assert_eq!(t.store.get(&fits).await.unwrap(), Some(Value::Null));
}

/// V4 in a listing: many 1 MiB values come back through several `MGET`
/// round trips, each within the default reply timeout.
#[tokio::test(flavor = "multi_thread")]
async fn lists_many_one_mib_values() {
    let Some(t) = TestPrefix::fresh().await else {
        return;
    };
    let big = json!("x".repeat(1024 * 1024));
    for i in 0..150 {
        t.store
            .set(&key(&["big", &i.to_string()]), &big, SetOptions::default())
            .await
            .unwrap();
    }
    let started = Instant::now();
    let entries: Vec<_> = t
        .store
        .list(Some(&key(&["big"])))
        .try_collect()
        .await
        .unwrap();
    eprintln!("listed 150 MiB in {:?}", started.elapsed());
    assert_eq!(entries.len(), 150);
    assert!(entries.iter().all(|e| e.value == big));
}
