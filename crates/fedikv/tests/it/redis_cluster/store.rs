//! `RedisKvStore` on a Redis Cluster beyond the conformance suite: `list` over
//! many keys spread across every primary, keys no entry can be read from
//! (rule V5), and the cluster URL forms.
//!
//! Runs against the cluster named by `FEDIKV_TEST_REDIS_CLUSTER_URL` (e.g.
//! `redis+cluster://127.0.0.1:7000`, started by `scripts/redis-cluster.sh`).

use std::collections::HashSet;

use super::{clear, cluster_url, redis_cli, serving_primaries, store, unique_prefix};
use crate::support::bad_rows::{corrupt, delete_reported_rows, listed, sorted_entries};
use fedikv::redis::{RedisKvStore, RedisOptions};
use fedikv::{KvError, KvKey, KvStore, SetOptions};
use fedikv_conformance::server::with_options;
use futures::{StreamExt, TryStreamExt};
use serde_json::json;

const KEYS: usize = 100_000;

fn key(components: &[&str]) -> KvKey {
    KvKey::new(components.iter().copied()).unwrap()
}

/// 100,000 keys under one prefix land on every primary (no hash tags: each
/// key hashes to its own slot); `list` of that prefix yields exactly them
/// (and the prefix's own key) once each, and none of a sibling prefix.
#[tokio::test(flavor = "multi_thread")]
async fn list_over_100k_keys_on_every_primary() {
    let Some(url) = cluster_url() else { return };
    let prefix = unique_prefix("big");
    let store = store(&url, &prefix).await;
    let wanted: Vec<KvKey> = (0..KEYS).map(|i| key(&["big", &i.to_string()])).collect();
    let others: Vec<KvKey> = (0..1000)
        .map(|i| key(&["bigger", &i.to_string()]))
        .collect();
    let exact = key(&["big"]);
    futures::stream::iter(wanted.iter().chain(&others).chain([&exact]))
        .map(|key| {
            let store = &store;
            async move {
                store
                    .set(key, &json!(key.to_string()), SetOptions::default())
                    .await
            }
        })
        .buffer_unordered(256)
        .try_collect::<()>()
        .await
        .expect("fill");

    // Every primary holds some of them (checked on the servers themselves).
    let primaries = serving_primaries(7000);
    assert!(primaries.len() >= 3, "{primaries:?}");
    let mut on_servers = 0;
    for primary in &primaries {
        let found = redis_cli(
            primary.port,
            &["--scan", "--pattern", &format!("{prefix}big::*")],
        );
        let count = found.lines().count();
        assert!(
            count > KEYS / 10,
            "primary {} holds {count} of the keys",
            primary.port
        );
        on_servers += count;
    }
    assert_eq!(on_servers, KEYS);

    let listed: Vec<_> = store.list(Some(&exact)).try_collect().await.expect("list");
    let keys: HashSet<KvKey> = listed.iter().map(|entry| entry.key.clone()).collect();
    assert_eq!(listed.len(), keys.len(), "an entry was listed twice");
    let expected: HashSet<KvKey> = wanted.iter().cloned().chain([exact.clone()]).collect();
    assert_eq!(keys.len(), expected.len());
    assert!(
        keys == expected,
        "list returned other keys than its prefix's"
    );
    for entry in &listed {
        assert_eq!(entry.value, json!(entry.key.to_string()));
    }
    clear(&store).await;
}

/// A store from an existing cluster client, and `open` with a cluster URL.
#[tokio::test]
async fn opens_from_a_cluster_client_and_from_open() {
    let Some(url) = cluster_url() else { return };
    let prefix = unique_prefix("client");
    let seeds: Vec<String> = serving_primaries(7000)
        .iter()
        .map(|n| format!("redis://127.0.0.1:{}/", n.port))
        .collect();
    let client = redis::cluster::ClusterClient::new(seeds).unwrap();
    let from_client =
        RedisKvStore::from_cluster_client(&client, RedisOptions::new().prefix(&prefix))
            .await
            .unwrap();
    assert!(from_client.is_cluster() && from_client.cluster_connection().is_some());
    let k = key(&["a", "b"]);
    from_client
        .set(&k, &json!({"x": 1}), SetOptions::default())
        .await
        .unwrap();

    let opened = fedikv::open(&with_options(&url, &format!("prefix={prefix}")))
        .await
        .unwrap();
    assert_eq!(opened.get(&k).await.unwrap(), Some(json!({"x": 1})));
    assert!(format!("{from_client:?}").contains("cluster"));
    clear(&from_client).await;

    // A cluster URL with a database or a password never shows the password.
    match fedikv::open("redis+cluster://:hunter2@127.0.0.1:7000/3").await {
        Err(KvError::InvalidUrl { reason }) => assert!(!reason.contains("hunter2"), "{reason}"),
        other => panic!("expected InvalidUrl, got {:?}", other.map(|s| s.backend())),
    }
}

/// Rule V5 on a cluster (as `redis::bad_rows` on one server): keys no
/// entry can be read from, on different primaries, are each reported once
/// by their Redis key (the `TYPE`s that tell other types apart go to each
/// key's own node), the good entries all listed, and `delete_raw` removes
/// each by the key reported.
#[tokio::test(flavor = "multi_thread")]
async fn bad_keys_on_a_cluster_are_reported_too() {
    let Some(url) = cluster_url() else { return };
    let prefix = unique_prefix("bad-rows");
    let store = store(&url, &prefix).await;
    let store: &dyn KvStore = &store;
    let mut good: Vec<KvKey> = (0..100).map(|i| key(&["p", &i.to_string()])).collect();
    good.sort();
    for k in &good {
        store
            .set(k, &json!(1), SetOptions::default())
            .await
            .unwrap();
    }
    let raw = |rest: &str| format!("{prefix}{rest}");
    for args in [
        vec!["SET", "p::text", "not json"],
        vec!["HSET", "p::hash", "f", "v"],
        vec!["SADD", "p::set", "m"],
        vec!["SET", "p::a:b", "1"],
    ] {
        let key = raw(args[1]);
        let mut command = vec!["-c", args[0], &key];
        command.extend(&args[2..]);
        redis_cli(7000, &command);
    }
    let items = listed(store, Some(&key(&["p"]))).await;
    assert_eq!(sorted_entries(&items), good);
    assert_eq!(
        corrupt(&items),
        ["p::text", "p::hash", "p::set", "p::a:b"].map(raw).into()
    );
    assert!(matches!(
        store.get(&key(&["p", "set"])).await,
        Err(KvError::Corrupt { .. })
    ));
    delete_reported_rows(store, Some(&key(&["p"])), &good).await;
    for k in &good {
        store.delete(k).await.unwrap();
    }
}
