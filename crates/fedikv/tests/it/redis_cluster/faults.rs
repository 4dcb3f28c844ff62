//! `RedisKvStore` on a Redis Cluster while its topology changes under a
//! running workload: a failover (a primary is shut down and its replica
//! promoted) and a slot migration (`redis-cli --cluster reshard`).
//!
//! Each test creates a cluster of its own ([`OwnRedisCluster`]: six
//! `redis-server`s on free loopback ports, three primaries and their
//! replicas) and disturbs only that one; it is killed when the test ends,
//! also when it fails. The machine's test cluster is never touched.
//!
//! What is checked: operations that fail during the event fail with a typed
//! error (counted and printed); the same store works again afterwards
//! without being recreated; every acknowledged write is there afterwards;
//! every `list` that succeeds during the event yields each entry once and
//! every entry written before the event.

use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{Node, clear, nodes, serving_primaries, store, unique_prefix};
use fedikv::redis::RedisKvStore;
use fedikv::{KvKey, KvStore, SetOptions};
use futures::TryStreamExt;
use serde_json::json;

use crate::support::servers::{OwnRedisCluster, cluster_ok, one_at_a_time, redis_cli, wait_until};

/// How long after the workload the store may still fail (typed) while the
/// cluster connection catches up with the new topology.
const RECOVERY: Duration = Duration::from_secs(15);

/// Entries written before the event, which every listing must yield.
const BEFORE: usize = 2000;

/// What the workload saw.
#[derive(Default)]
struct Tally {
    /// Acknowledged writes: key → value.
    acked: HashMap<KvKey, i64>,
    ops: usize,
    failed: usize,
    errors: HashSet<String>,
    lists: usize,
    failed_lists: usize,
}

impl Tally {
    fn failure(&mut self, error: fedikv::KvError) {
        self.failed += 1;
        self.errors
            .insert(format!("{error:?}").chars().take(160).collect());
    }
}

/// Writers set fresh keys (each once) and read them back; a `cas` counter is
/// incremented; until `stop`.
async fn writer(store: RedisKvStore, worker: usize, stop: Arc<AtomicBool>) -> Tally {
    let mut tally = Tally::default();
    let counter = KvKey::new(["counter", &worker.to_string()]).unwrap();
    let mut count = 0i64;
    let mut i = 0i64;
    while !stop.load(Ordering::Relaxed) {
        let key = KvKey::new(["w", &worker.to_string(), &i.to_string()]).unwrap();
        tally.ops += 1;
        match store.set(&key, &json!(i), SetOptions::default()).await {
            Ok(()) => {
                tally.acked.insert(key, i);
            }
            Err(e) => tally.failure(e),
        }
        tally.ops += 1;
        let expected = (count > 0).then(|| json!(count));
        match store
            .cas(
                &counter,
                expected.as_ref(),
                Some(&json!(count + 1)),
                SetOptions::default(),
            )
            .await
        {
            Ok(true) => count += 1,
            // A cas that failed in flight may have run: read the counter.
            Ok(false) => {}
            Err(e) => tally.failure(e),
        }
        if let Ok(Some(value)) = store.get(&counter).await {
            count = value.as_i64().unwrap_or(count);
        }
        i += 1;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    tally
}

/// Lists everything over and over until `stop`; each listing that succeeds
/// must hold every `before` key once.
async fn lister(store: RedisKvStore, before: Arc<HashSet<KvKey>>, stop: Arc<AtomicBool>) -> Tally {
    let mut tally = Tally::default();
    while !stop.load(Ordering::Relaxed) {
        tally.lists += 1;
        match store.list(None).try_collect::<Vec<_>>().await {
            Ok(entries) => {
                let keys: HashSet<&KvKey> = entries.iter().map(|e| &e.key).collect();
                assert_eq!(
                    keys.len(),
                    entries.len(),
                    "a listing yielded an entry twice"
                );
                let missing = before.iter().filter(|k| !keys.contains(k)).count();
                assert_eq!(
                    missing, 0,
                    "a listing missed {missing} entries written before it"
                );
            }
            Err(e) => {
                tally.failed_lists += 1;
                tally.failure(e);
            }
        }
    }
    tally
}

/// On a cluster of the test's own (one fault test at a time): fills
/// `BEFORE` entries, runs the workload around the event `make_event` makes
/// for the cluster's ports, then checks.
async fn under_load<E>(name: &str, make_event: impl FnOnce(Vec<u16>) -> E)
where
    E: FnOnce() + Send + 'static,
{
    let _serial = one_at_a_time().await;
    let Some(cluster) = OwnRedisCluster::start() else {
        return;
    };
    let event = make_event(cluster.ports());
    let store = store(&cluster.url(), &unique_prefix(name)).await;
    let before: HashSet<KvKey> = (0..BEFORE)
        .map(|i| KvKey::new(["before", &i.to_string()]).unwrap())
        .collect();
    for key in &before {
        store
            .set(key, &json!(1), SetOptions::default())
            .await
            .unwrap();
    }
    let before = Arc::new(before);
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..8)
        .map(|w| tokio::spawn(writer(store.clone(), w, Arc::clone(&stop))))
        .collect();
    let listing = tokio::spawn(lister(
        store.clone(),
        Arc::clone(&before),
        Arc::clone(&stop),
    ));
    tokio::time::sleep(Duration::from_millis(500)).await;

    tokio::task::spawn_blocking(event).await.unwrap();
    // Keep going for a while on the new topology.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = Tally::default();
    for worker in writers {
        let tally = worker.await.unwrap();
        total.ops += tally.ops;
        total.failed += tally.failed;
        total.errors.extend(tally.errors);
        total.acked.extend(tally.acked);
    }
    let lists = listing.await.unwrap();
    total.errors.extend(lists.errors);
    eprintln!(
        "{name}: {} of {} operations failed during the event, {} of {} listings; errors: {:?}",
        total.failed, total.ops, lists.failed_lists, lists.lists, total.errors
    );
    assert!(
        total.ops > 100,
        "the workload ran ({} operations)",
        total.ops
    );

    // The same store works again: once the cluster connection has caught up
    // with the new topology (bounded), every operation succeeds.
    let after = KvKey::new(["after"]).unwrap();
    let recovering = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        match store.set(&after, &json!("ok"), SetOptions::default()).await {
            Ok(()) => break,
            Err(e) if e.is_transient() && recovering.elapsed() < RECOVERY => {
                eprintln!("{name}: after the event: {e}");
            }
            Err(e) => panic!("{name}: no recovery within {RECOVERY:?}: {e}"),
        }
    }
    eprintln!(
        "{name}: the store served again after {attempts} attempts, {:?} after the workload stopped",
        recovering.elapsed()
    );
    assert!(
        store
            .cas(
                &after,
                Some(&json!("ok")),
                Some(&json!(2)),
                SetOptions::default()
            )
            .await
            .unwrap()
    );
    // No acknowledged write is lost.
    let mut lost = Vec::new();
    for (key, value) in &total.acked {
        if store.get(key).await.unwrap() != Some(json!(value)) {
            lost.push(key.clone());
        }
    }
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost, e.g. {:?}",
        lost.len(),
        lost.first()
    );
    let listed: Vec<_> = store.list(None).try_collect().await.unwrap();
    let keys: HashSet<_> = listed.iter().map(|e| e.key.clone()).collect();
    assert_eq!(keys.len(), listed.len());
    assert!(total.acked.keys().all(|k| keys.contains(k)));
    assert!(before.iter().all(|k| keys.contains(k)));
    clear(&store).await;
}

/// A serving primary, as `port` sees the cluster, and a replica of it.
fn primary_with_replica(port: u16) -> (Node, Node) {
    let all = nodes(port);
    serving_primaries(port)
        .into_iter()
        .find_map(|primary| {
            let replica = all.iter().find(|n| {
                !n.primary
                    && !n.failed
                    && redis_cli(n.port, &["cluster", "nodes"])
                        .lines()
                        .any(|l| l.contains("myself") && l.contains(&primary.id))
            })?;
            Some((primary, replica.clone()))
        })
        .expect("a primary with a replica")
}

#[tokio::test(flavor = "multi_thread")]
async fn failover_under_load() {
    under_load("failover", |ports| {
        let (primary, replica) = primary_with_replica(ports[0]);
        move || {
            eprintln!(
                "failover: shutting down primary {} (replica {})",
                primary.port, replica.port
            );
            // SHUTDOWN waits for the replica to catch up before exiting.
            let _ = redis_cli(primary.port, &["shutdown", "nosave"]);
            wait_until("the replica is promoted", Duration::from_secs(30), || {
                serving_primaries(replica.port)
                    .iter()
                    .any(|n| n.port == replica.port)
            });
            let others: Vec<u16> = ports
                .iter()
                .copied()
                .filter(|&p| p != primary.port)
                .collect();
            wait_until("cluster_state:ok", Duration::from_secs(30), || {
                cluster_ok(&others)
            });
            eprintln!("failover: {} is primary now", replica.port);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reshard_under_load() {
    under_load("reshard", |ports| {
        let primaries = serving_primaries(ports[0]);
        let (from, to) = (primaries[0].clone(), primaries[1].clone());
        move || {
            eprintln!(
                "reshard: moving 1000 slots from {} to {}",
                from.port, to.port
            );
            let status = Command::new("redis-cli")
                .args(["--cluster", "reshard", &format!("127.0.0.1:{}", from.port)])
                .args(["--cluster-from", &from.id, "--cluster-to", &to.id])
                .args(["--cluster-slots", "1000", "--cluster-yes"])
                .stdout(std::process::Stdio::null())
                .status()
                .expect("run redis-cli --cluster reshard");
            assert!(status.success(), "redis-cli --cluster reshard: {status}");
            wait_until("cluster_state:ok", Duration::from_secs(30), || {
                cluster_ok(&ports)
            });
        }
    })
    .await;
}
