//! `DenoKvStore` with the real Deno runtime, on a local Deno KV file and on
//! the `denokv` KV Connect server: Deno writes and fedikv reads exactly,
//! fedikv writes and Deno reads exactly, compare-and-swap across the two,
//! JS values with no JSON form, Deno KV's limits, and bad input.
//!
//! Needs Deno in `interop/` (`scripts/interop-setup.sh`) and, for the server
//! tests, `FEDIKV_TEST_DENOKV_URL` (the server `scripts/denokv.sh` starts).

use std::path::PathBuf;
use std::time::Duration;

use super::{OwnServer, Target, deno, deno_get, denokv_binary, run_deno, server_url, unique};
use fedikv::denokv::{MAX_KEY_BYTES, MAX_TTL_KEY_BYTES, MAX_VALUE_BYTES};
use fedikv::{DenoKvStore, KvError, KvKey, KvStore, SetOptions};
use futures::TryStreamExt;
use serde_json::{Value, json};

fn key(components: &[&str]) -> KvKey {
    KvKey::new(components.iter().copied()).unwrap()
}

/// Values of every JSON shape Fedify stores, each under a key of its own
/// below `ns`, with tricky key components.
fn fixtures(ns: &str) -> Vec<(Vec<String>, Value)> {
    let k = |parts: &[&str]| {
        let mut key = vec!["fedikv-interop".to_owned(), ns.to_owned()];
        key.extend(parts.iter().map(|p| p.to_string()));
        key
    };
    vec![
        (
            k(&[
                "_fedify",
                "remoteDocument",
                "https://example.com/users/ålice",
            ]),
            json!({
                "@context": ["https://www.w3.org/ns/activitystreams", {"toot": "http://joinmastodon.org/ns#"}],
                "id": "https://example.com/users/ålice",
                "name": "Ålice 😀 名前",
                "followers": 12345,
                "nested": {"deep": {"deeper": [1, [2, [3, {}]], []]}},
                "nothing": null,
                "flag": false,
            }),
        ),
        (k(&["null"]), Value::Null),
        (k(&["zero"]), json!(0)),
        (
            k(&["numbers"]),
            json!([
                -1,
                2147483647,
                2147483648i64,
                -2147483649i64,
                1.5,
                -0.25,
                1e300,
                9007199254740991i64
            ]),
        ),
        (k(&["empty string"]), json!("")),
        (k(&["unicode", "é😀", "a:b::c"]), json!("Grüße, 世界! 🎉")),
        (k(&[""]), json!({"": ""})),
        (k(&["true"]), json!(true)),
    ]
}

fn kv_key(parts: &[String]) -> KvKey {
    KvKey::new(parts.iter().cloned()).unwrap()
}

/// Fails unless the store holds exactly `expected` under each key.
async fn assert_fedikv_reads(store: &DenoKvStore, expected: &[(Vec<String>, Value)]) {
    for (parts, value) in expected {
        assert_eq!(
            store.get(&kv_key(parts)).await.unwrap().as_ref(),
            Some(value),
            "fedikv read of {parts:?}"
        );
    }
}

fn local_target() -> (tempfile::TempDir, Target) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deno.sqlite3");
    (dir, Target::File(path))
}

fn server_target() -> Option<Target> {
    server_url().map(|url| Target::server(&url))
}

// ------------------------------------------------------------ Deno -> fedikv

async fn deno_writes_fedikv_reads(target: Target) {
    let Some(deno) = deno() else { return };
    let ns = unique("deno-writes");
    let fixtures = fixtures(&ns);
    let mut entries: Vec<Value> = fixtures
        .iter()
        .map(|(key, value)| json!({"key": key, "value": value}))
        .collect();
    let live_ttl = vec![
        "fedikv-interop".to_owned(),
        ns.clone(),
        "ttl".into(),
        "hour".into(),
    ];
    let short_ttl = vec![
        "fedikv-interop".to_owned(),
        ns.clone(),
        "ttl".into(),
        "gone".into(),
    ];
    entries.push(json!({"key": live_ttl, "value": "live", "expireIn": 3_600_000}));
    entries.push(json!({"key": short_ttl, "value": "gone", "expireIn": 1}));
    run_deno(&deno, &target, json!({"op": "set", "entries": entries}));
    let store = target.store().await;
    assert_fedikv_reads(&store, &fixtures).await;
    assert_eq!(
        store.get(&kv_key(&live_ttl)).await.unwrap(),
        Some(json!("live"))
    );
    // The list of the namespace: every key exactly as Deno wrote it, once,
    // the prefix-equal keys included, in Deno KV's key order.
    let prefix = key(&["fedikv-interop", &ns]);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let listed: Vec<_> = store.list(Some(&prefix)).try_collect().await.unwrap();
    let mut expected: Vec<(KvKey, Value)> = fixtures
        .iter()
        .map(|(k, v)| (kv_key(k), v.clone()))
        .collect();
    expected.push((kv_key(&live_ttl), json!("live")));
    if !target.hides_expired() {
        expected.push((kv_key(&short_ttl), json!("gone")));
    }
    expected.sort_by(|a, b| {
        a.0.components()
            .iter()
            .map(|c| c.as_bytes())
            .cmp(b.0.components().iter().map(|c| c.as_bytes()))
    });
    let listed: Vec<(KvKey, Value)> = listed.into_iter().map(|e| (e.key, e.value)).collect();
    assert_eq!(listed, expected);
    if target.hides_expired() {
        assert_eq!(
            store.get(&kv_key(&short_ttl)).await.unwrap(),
            None,
            "expired 1 ms after Deno wrote it"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn deno_writes_fedikv_reads_local() {
    let (_dir, target) = local_target();
    deno_writes_fedikv_reads(target).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deno_writes_fedikv_reads_server() {
    let Some(target) = server_target() else {
        return;
    };
    deno_writes_fedikv_reads(target).await;
}

// ------------------------------------------------------------ fedikv -> Deno

async fn fedikv_writes_deno_reads(target: Target) {
    let Some(deno) = deno() else { return };
    let ns = unique("fedikv-writes");
    let fixtures = fixtures(&ns);
    let store = target.store().await;
    for (parts, value) in &fixtures {
        store
            .set(&kv_key(parts), value, SetOptions::default())
            .await
            .unwrap();
    }
    let live = vec![
        "fedikv-interop".to_owned(),
        ns.clone(),
        "ttl".into(),
        "hour".into(),
    ];
    let gone = vec![
        "fedikv-interop".to_owned(),
        ns.clone(),
        "ttl".into(),
        "gone".into(),
    ];
    store
        .set(
            &kv_key(&live),
            &json!("live"),
            SetOptions::ttl(Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    store
        .set(
            &kv_key(&gone),
            &json!("gone"),
            SetOptions::ttl(Duration::from_millis(1)),
        )
        .await
        .unwrap();
    // Integers beyond 2^53 go to Deno as bigints (exact), not lossy numbers.
    let big = vec!["fedikv-interop".to_owned(), ns.clone(), "big".into()];
    store
        .set(
            &kv_key(&big),
            &json!(9007199254740993i64),
            SetOptions::default(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;

    let mut keys: Vec<Vec<String>> = fixtures.iter().map(|(k, _)| k.clone()).collect();
    keys.extend([live, gone, big]);
    let read = deno_get(&deno, &target, &keys);
    for ((parts, value), seen) in fixtures.iter().zip(&read) {
        // Deno's side prints plain objects, arrays and primitives as JSON,
        // anything else as {"$type": ...}: equal means the same plain value.
        assert_eq!(seen.as_ref(), Some(value), "Deno's read of {parts:?}");
    }
    let n = fixtures.len();
    assert_eq!(read[n], Some(json!("live")));
    if target.hides_expired() {
        assert_eq!(
            read[n + 1],
            None,
            "Deno must not see an entry fedikv wrote with a 1 ms TTL"
        );
    }
    assert_eq!(read[n + 2], Some(json!({"$type": "bigint"})));
    assert_eq!(
        store.get(&kv_key(&keys[n + 2])).await.unwrap(),
        Some(json!(9007199254740993i64))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn fedikv_writes_deno_reads_local() {
    let (_dir, target) = local_target();
    fedikv_writes_deno_reads(target).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fedikv_writes_deno_reads_server() {
    let Some(target) = server_target() else {
        return;
    };
    fedikv_writes_deno_reads(target).await;
}

// ------------------------------------------------------------ CAS across both

async fn cas_across_deno_and_fedikv(target: Target) {
    let Some(deno) = deno() else { return };
    let ns = unique("cas");
    let parts = vec!["fedikv-interop".to_owned(), ns, "counter".into()];
    let k = kv_key(&parts);
    let store = target.store().await;
    run_deno(
        &deno,
        &target,
        json!({"op": "set", "entries": [{"key": parts, "value": {"n": 1, "tags": ["a", "b"]}}]}),
    );
    // Another key order and number spelling: still deep-equal.
    assert!(
        !store
            .cas(
                &k,
                Some(&json!({"n": 2})),
                Some(&json!("no")),
                SetOptions::default()
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .cas(
                &k,
                Some(&json!({"tags": ["a", "b"], "n": 1.0})),
                Some(&json!({"n": 2})),
                SetOptions::default()
            )
            .await
            .unwrap()
    );
    assert_eq!(
        deno_get(&deno, &target, std::slice::from_ref(&parts)),
        vec![Some(json!({"n": 2}))]
    );
    // Deno's own versionstamp CAS on fedikv's value, then fedikv sees it.
    let swapped = run_deno(
        &deno,
        &target,
        json!({"op": "cas", "key": parts, "expected": {"n": 2}, "value": {"n": 3}}),
    );
    assert_eq!(swapped, json!(true));
    assert_eq!(store.get(&k).await.unwrap(), Some(json!({"n": 3})));
    // Compare-and-delete of a Deno-written value.
    assert!(
        store
            .cas(&k, Some(&json!({"n": 3})), None, SetOptions::default())
            .await
            .unwrap()
    );
    assert_eq!(deno_get(&deno, &target, &[parts]), vec![None]);
}

#[tokio::test(flavor = "multi_thread")]
async fn cas_across_deno_and_fedikv_local() {
    let (_dir, target) = local_target();
    cas_across_deno_and_fedikv(target).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cas_across_deno_and_fedikv_server() {
    let Some(target) = server_target() else {
        return;
    };
    cas_across_deno_and_fedikv(target).await;
}

// ------------------------------------------------------- expiry records

/// Over KV Connect, which reports no expiries, fedikv's expiry records: an
/// entry fedikv wrote with a TTL is gone for fedikv from its expiry on, while
/// the server (a fresh one of the test's own, which sweeps about a minute
/// after it starts) still holds it and Deno still reads it; a record says
/// nothing once Deno wrote the entry again; records of entries Deno deleted
/// do not hide a listing's entries (a page of records that ends before them);
/// Deno's list of a prefix never meets a record, which Deno reads as a
/// `Deno.KvU64` under `[false, ...key]`; `count_expired` and `sweep` see the
/// expired entry, and the sweep removes its record with it.
#[tokio::test(flavor = "multi_thread")]
async fn expiry_records_over_kv_connect() {
    let Some(binary) = denokv_binary() else {
        return;
    };
    let Some(deno) = deno() else { return };
    let server = OwnServer::start(&binary);
    let target = server.target();
    let store = target.store().await;
    let parts = |name: &str| vec!["records".to_owned(), name.to_owned()];
    let short = SetOptions::ttl(Duration::from_millis(300));
    for (name, options) in [
        ("expiring", short),
        ("rewritten", short),
        ("kept", SetOptions::default()),
    ] {
        store
            .set(&kv_key(&parts(name)), &json!(name), options)
            .await
            .unwrap();
    }
    // 600 entries with records, then deleted by Deno: their records stay,
    // and sort before every entry left.
    let stale: Vec<Vec<String>> = (0..600)
        .map(|i| vec!["records".to_owned(), "a-deleted".into(), format!("{i:04}")])
        .collect();
    for parts in &stale {
        store
            .set(
                &kv_key(parts),
                &json!(0),
                SetOptions::ttl(Duration::from_secs(3600)),
            )
            .await
            .unwrap();
    }
    run_deno(&deno, &target, json!({"op": "delete", "keys": stale}));
    // Deno writes "rewritten" again, without a TTL.
    run_deno(
        &deno,
        &target,
        json!({"op": "set", "entries": [{"key": parts("rewritten"), "value": "deno"}]}),
    );
    assert_eq!(
        run_deno(&deno, &target, json!({"op": "list", "prefix": ["records"]})),
        json!([parts("expiring"), parts("kept"), parts("rewritten")]),
        "Deno's list of a prefix meets no record"
    );
    let record = json!([false, "records", "expiring"]);
    assert_eq!(
        run_deno(&deno, &target, json!({"op": "get", "keys": [record]})),
        json!([{"found": true, "value": {"$type": "KvU64"}}])
    );

    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        deno_get(&deno, &target, &[parts("expiring")]),
        vec![Some(json!("expiring"))],
        "the server still holds the expired entry (it sweeps later)"
    );
    assert_eq!(store.get(&kv_key(&parts("expiring"))).await.unwrap(), None);
    assert!(
        !store
            .cas(
                &kv_key(&parts("expiring")),
                Some(&json!("expiring")),
                Some(&json!("late")),
                SetOptions::default(),
            )
            .await
            .unwrap(),
        "an expired entry is absent to cas"
    );
    assert_eq!(
        store.get(&kv_key(&parts("rewritten"))).await.unwrap(),
        Some(json!("deno")),
        "the record of fedikv's earlier write says nothing about Deno's"
    );
    let prefix = key(&["records"]);
    let listed: Vec<(KvKey, Value)> = store
        .list(Some(&prefix))
        .map_ok(|e| (e.key, e.value))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        listed,
        vec![
            (kv_key(&parts("kept")), json!("kept")),
            (kv_key(&parts("rewritten")), json!("deno")),
        ]
    );
    assert_eq!(store.count_expired(Some(&prefix)).await.unwrap(), 1);
    assert_eq!(store.sweep().await.unwrap(), 1);
    assert_eq!(
        run_deno(
            &deno,
            &target,
            json!({"op": "get", "keys": [parts("expiring"), record]})
        ),
        json!([{"found": false}, {"found": false}]),
        "the sweep deleted the entry and its record"
    );
    assert_eq!(store.count_expired(Some(&prefix)).await.unwrap(), 0);
}

// ------------------------------------------------------------ JS values

/// Values with no JSON form are typed errors (never a panic); `undefined`
/// is absent; JSON.stringify's mappings for holes and undefined fields.
#[tokio::test(flavor = "multi_thread")]
async fn js_values_without_json_form() {
    let Some(deno) = deno() else { return };
    let (_dir, target) = local_target();
    let ns = unique("special");
    let special = |name: &str| vec!["fedikv-interop".to_owned(), ns.clone(), name.to_owned()];
    for name in [
        "date",
        "map",
        "set",
        "bytes",
        "bigint",
        "nan",
        "u64",
        "nested_date",
        "undefined",
        "sparse",
        "undefined_field",
        "shared_doubling",
        "many_sparse",
    ] {
        run_deno(
            &deno,
            &target,
            json!({"op": "setSpecial", "key": special(name), "special": name}),
        );
    }
    let store = target.store().await;
    for name in ["date", "map", "set", "bytes", "nan", "u64", "nested_date"] {
        match store.get(&kv_key(&special(name))).await {
            Err(KvError::Corrupt { key, reason }) => {
                assert!(key.contains(name), "{key}");
                assert!(reason.contains("no JSON form"), "{reason}");
            }
            other => panic!("{name}: expected Corrupt, got {other:?}"),
        }
    }
    // Values that would expand without bound are refused, not expanded.
    for name in ["shared_doubling", "many_sparse"] {
        match store.get(&kv_key(&special(name))).await {
            Err(KvError::Corrupt { reason, .. }) => {
                assert!(reason.contains("expands to more than"), "{name}: {reason}");
            }
            other => panic!("{name}: expected Corrupt, got {other:?}"),
        }
    }
    assert_eq!(
        store.get(&kv_key(&special("bigint"))).await.unwrap(),
        Some(json!(10))
    );
    assert_eq!(
        store.get(&kv_key(&special("undefined"))).await.unwrap(),
        None
    );
    assert_eq!(
        store.get(&kv_key(&special("sparse"))).await.unwrap(),
        Some(json!([1, null, 3]))
    );
    assert_eq!(
        store
            .get(&kv_key(&special("undefined_field")))
            .await
            .unwrap(),
        Some(json!({"a": 1}))
    );
    // Rule V5: a list yields each of them as one error in its place, naming
    // the key's JSON text, and goes on; delete_raw removes them by it.
    let prefix = key(&["fedikv-interop", &ns]);
    let mut bad: Vec<String> = [
        "bytes",
        "date",
        "many_sparse",
        "map",
        "nan",
        "nested_date",
        "set",
        "shared_doubling",
        "u64",
    ]
    .map(|name| kv_key(&special(name)).to_json())
    .into();
    let good = ["bigint", "sparse", "undefined_field"].map(|name| kv_key(&special(name)));
    let listed = |store: DenoKvStore| {
        let prefix = prefix.clone();
        async move {
            let mut keys = Vec::new();
            let mut reported = Vec::new();
            for item in store.list(Some(&prefix)).collect::<Vec<_>>().await {
                match item {
                    Ok(entry) => keys.push(entry.key),
                    Err(KvError::Corrupt { key, .. }) => reported.push(key),
                    Err(other) => panic!("the list failed: {other}"),
                }
            }
            (keys, reported)
        }
    };
    let (keys, reported) = listed(store.clone()).await;
    assert_eq!(keys, good);
    bad.sort();
    assert_eq!(reported, bad, "reported in key order");
    for raw in &reported {
        assert!(store.delete_raw(raw).await.unwrap(), "{raw}");
        assert!(!store.delete_raw(raw).await.unwrap(), "{raw}");
    }
    assert_eq!(listed(store.clone()).await, (good.to_vec(), Vec::new()));
    // cas over an undefined entry treats it as absent, as get does.
    assert!(
        store
            .cas(
                &kv_key(&special("undefined")),
                None,
                Some(&json!(1)),
                SetOptions::default()
            )
            .await
            .unwrap()
    );
}

use futures::StreamExt;

// ------------------------------------------------------------ limits

async fn limits_are_typed_errors_before_any_write(store: DenoKvStore) {
    let ns = unique("limits");
    let long = KvKey::new([
        "fedikv-interop".to_owned(),
        ns.clone(),
        "k".repeat(MAX_KEY_BYTES),
    ])
    .unwrap();
    assert!(matches!(
        store.set(&long, &json!(1), SetOptions::default()).await,
        Err(KvError::KeyTooLong {
            max: MAX_KEY_BYTES,
            ..
        })
    ));
    assert!(matches!(
        store.get(&long).await,
        Err(KvError::KeyTooLong { .. })
    ));
    // Keys of exactly Deno KV's limit work without a TTL; with one, one
    // byte less (the expiry record is a byte longer) works, to expiry.
    // Each string component is its bytes plus a tag and a terminator.
    let sized = |bytes: usize, tail: &str| {
        let head = ["fedikv-interop".to_owned(), ns.clone(), tail.to_owned()];
        let used: usize = head.iter().map(|c| c.len() + 2).sum();
        let mut components = head.to_vec();
        components.push("x".repeat(bytes - used - 2));
        KvKey::new(components).unwrap()
    };
    let widest = sized(MAX_KEY_BYTES, "widest");
    store
        .set(&widest, &json!("w"), SetOptions::default())
        .await
        .unwrap();
    assert_eq!(store.get(&widest).await.unwrap(), Some(json!("w")));
    let listed: Vec<_> = store.list(Some(&widest)).try_collect().await.unwrap();
    assert_eq!(listed.len(), 1, "the prefix key itself");
    match store
        .set(
            &widest,
            &json!("t"),
            SetOptions::ttl(Duration::from_secs(60)),
        )
        .await
    {
        Err(KvError::KeyTooLong { max, len, .. }) => {
            assert_eq!((max, len), (MAX_TTL_KEY_BYTES, MAX_KEY_BYTES));
        }
        other => panic!("expected KeyTooLong, got {other:?}"),
    }
    assert_eq!(store.get(&widest).await.unwrap(), Some(json!("w")));
    assert!(
        store
            .cas(&widest, Some(&json!("w")), None, SetOptions::default())
            .await
            .unwrap()
    );
    assert_eq!(store.get(&widest).await.unwrap(), None);
    let widest_ttl = sized(MAX_TTL_KEY_BYTES, "widest-ttl");
    store
        .set(
            &widest_ttl,
            &json!("t"),
            SetOptions::ttl(Duration::from_millis(200)),
        )
        .await
        .unwrap();
    assert_eq!(store.get(&widest_ttl).await.unwrap(), Some(json!("t")));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(store.get(&widest_ttl).await.unwrap(), None, "expired");
    let k = key(&["fedikv-interop", &ns, "big"]);
    // A one-byte string of n characters is n + 6 bytes of V8 here (2 of
    // header, 1 of tag, 3 of length).
    let fits = json!("v".repeat(MAX_VALUE_BYTES - 6));
    store.set(&k, &fits, SetOptions::default()).await.unwrap();
    assert_eq!(store.get(&k).await.unwrap(), Some(fits.clone()));
    let too_large = json!("v".repeat(MAX_VALUE_BYTES));
    match store.set(&k, &too_large, SetOptions::default()).await {
        Err(KvError::ValueTooLarge { max, len, .. }) => {
            assert_eq!(max, MAX_VALUE_BYTES);
            assert!(len > MAX_VALUE_BYTES);
        }
        other => panic!("expected ValueTooLarge, got {other:?}"),
    }
    assert!(matches!(
        store
            .cas(&k, Some(&fits), Some(&too_large), SetOptions::default())
            .await,
        Err(KvError::ValueTooLarge { .. })
    ));
    assert_eq!(
        store.get(&k).await.unwrap(),
        Some(fits),
        "nothing was written"
    );
    store.delete(&k).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_local() {
    let (_dir, target) = local_target();
    limits_are_typed_errors_before_any_write(target.store().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn limits_server() {
    let Some(target) = server_target() else {
        return;
    };
    limits_are_typed_errors_before_any_write(target.store().await).await;
}

// ------------------------------------------------------------ bad input

#[tokio::test(flavor = "multi_thread")]
async fn a_file_that_is_not_deno_kv_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.bin");
    std::fs::write(&garbage, vec![0x42; 8192]).unwrap();
    match DenoKvStore::open(&garbage).await {
        Err(KvError::Io { path, .. }) => assert_eq!(path, garbage),
        other => panic!("expected Io, got {other:?}"),
    }
    assert_eq!(
        std::fs::read(&garbage).unwrap(),
        vec![0x42; 8192],
        "left as it was"
    );

    // Another program's SQLite database (here: fedikv's own SQLite layout).
    let other: PathBuf = dir.path().join("fedify.sqlite3");
    let conn = rusqlite::Connection::open(&other).unwrap();
    conn.execute_batch("CREATE TABLE fedify_kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        .unwrap();
    drop(conn);
    match DenoKvStore::open(&other).await {
        Err(error @ KvError::Io { .. }) => assert!(
            error.to_string().contains("not a Deno KV database"),
            "{error}"
        ),
        other => panic!("expected Io, got {other:?}"),
    }
    let conn = rusqlite::Connection::open(&other).unwrap();
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        tables, 2,
        "no Deno KV tables added (the table and its primary-key index only)"
    );

    assert!(matches!(
        DenoKvStore::open(dir.path()).await,
        Err(KvError::Io { .. })
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_token_is_access_denied_without_leaking_it() {
    let Some(Target::Server { url, .. }) = server_target() else {
        return;
    };
    let token = "wrong-token-never-shown";
    match DenoKvStore::connect(&url, token, Duration::from_secs(5)).await {
        Err(error @ KvError::AccessDenied { .. }) => {
            assert!(!error.to_string().contains(token));
            assert!(!format!("{error:?}").contains(token));
        }
        other => panic!("expected AccessDenied, got {other:?}"),
    }
    let via_url = format!("denokv+{url}?token={token}");
    match fedikv::open(&via_url).await {
        Err(error @ KvError::AccessDenied { .. }) => assert!(!error.to_string().contains(token)),
        other => panic!("expected AccessDenied, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_is_down_is_unavailable() {
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = std::time::Instant::now();
    let result = DenoKvStore::connect(
        &format!("http://127.0.0.1:{port}"),
        "some-token-123",
        Duration::from_secs(2),
    )
    .await;
    assert!(
        matches!(result, Err(KvError::Unavailable { .. })),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// A server that goes away after the store connected: every operation is
/// Unavailable within the timeout (denokv_remote alone would retry forever),
/// and the stream of `list` ends with that error.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_stops_is_unavailable_within_the_timeout() {
    let Some(binary) = denokv_binary() else {
        return;
    };
    let mut server = OwnServer::start(&binary);
    let timeout = Duration::from_millis(700);
    let store = DenoKvStore::connect(&server.url, &server.token, timeout)
        .await
        .unwrap();
    let k = key(&["fedikv-interop", "stops"]);
    store
        .set(&k, &json!(1), SetOptions::default())
        .await
        .unwrap();
    server.stop();
    for result in [
        store.get(&k).await.map(drop),
        store.set(&k, &json!(2), SetOptions::default()).await,
        store
            .cas(&k, Some(&json!(1)), None, SetOptions::default())
            .await
            .map(drop),
    ] {
        match result {
            Err(error @ KvError::Unavailable { .. }) => assert!(error.is_transient()),
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }
    let started = std::time::Instant::now();
    let items: Vec<_> = store.list(None).collect().await;
    assert!(
        matches!(items.as_slice(), [Err(KvError::Unavailable { .. })]),
        "{items:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread")]
async fn urls_open_both_forms() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("url.sqlite3");
    let store = fedikv::open(&format!("denokv:{}", path.display()))
        .await
        .unwrap();
    assert_eq!(store.backend(), "denokv");
    store
        .set(&key(&["a"]), &json!(1), SetOptions::default())
        .await
        .unwrap();
    assert!(
        matches!(
            fedikv::open("denokv+http://127.0.0.1:1").await,
            Err(KvError::InvalidUrl { .. })
        ) || std::env::var(fedikv::denokv::TOKEN_VAR).is_ok()
    );
    let Some(url) = server_url() else { return };
    let store = fedikv::open(&url).await.unwrap();
    assert!(!format!("{store:?}").contains("token="), "{store:?}");
    // KV Connect reports no expiries: scan says so instead of guessing.
    let scanned: Vec<_> = store.scan(None).collect().await;
    match scanned.as_slice() {
        [Err(e @ KvError::Unsupported { .. })] => {
            assert!(e.to_string().contains("KV Connect"), "{e}");
        }
        other => panic!("scan over KV Connect: {other:?}"),
    }
}
