//! `RedisKvStore` while the Redis server goes away: it is shut down (and
//! started again) under a running workload, or paused so that replies stop.
//!
//! Each test runs on a `redis-server` of its own ([`OwnRedis`], a free
//! loopback port), which it shuts down, starts again or pauses; the
//! machine's server is never touched. The server is killed when the test
//! ends, also when it fails.
//!
//! The server here keeps nothing on disk (`--save "" --appendonly no`), so a
//! restart loses every key by design: durability across restarts is the
//! server's configuration, not the store's. What the store guarantees, and
//! what is checked: while the server is down, operations fail promptly with
//! [`KvError::Unavailable`] (no hang); the same store works again within
//! seconds of the restart (including `cas`, whose script the restarted server
//! no longer has); and every write acknowledged after the restart is there
//! afterwards.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{TestPrefix, unique};
use fedikv::redis::{RedisKvStore, RedisOptions};
use fedikv::{KvError, KvKey, KvStore, SetOptions};
use futures::TryStreamExt;
use serde_json::json;

use crate::support::servers::{OwnRedis, one_at_a_time, redis_cli, wait_until};

/// The longest an operation may take while the server is down or paused:
/// the reply timeout (2 s by default) plus reconnect attempts.
const PROMPT: Duration = Duration::from_secs(4);

/// What one workload operation did.
struct Op {
    started: Instant,
    took: Duration,
    key: KvKey,
    value: i64,
    result: Result<(), String>,
    unavailable: bool,
}

/// Writes fresh keys (one per operation) and reads each back, until told to
/// stop; records every write.
async fn workload(store: RedisKvStore, worker: usize, stop: Arc<AtomicBool>) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut i = 0i64;
    while !stop.load(Ordering::Relaxed) {
        let key = KvKey::new(["w".to_owned(), worker.to_string(), i.to_string()]).unwrap();
        let started = Instant::now();
        let result = store.set(&key, &json!(i), SetOptions::default()).await;
        let result = match result {
            Ok(()) => store.get(&key).await.map(|v| {
                assert_eq!(v, Some(json!(i)), "read-your-write of {key}");
            }),
            Err(e) => Err(e),
        };
        let unavailable = matches!(result, Err(KvError::Unavailable { .. }));
        ops.push(Op {
            started,
            took: started.elapsed(),
            key,
            value: i,
            result: result.map_err(|e| e.to_string()),
            unavailable,
        });
        i += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    ops
}

#[tokio::test(flavor = "multi_thread")]
async fn server_restart_under_load() {
    let _serial = one_at_a_time().await;
    let Some(mut server) = OwnRedis::start(&[]) else {
        return;
    };
    let url = server.url();
    let t = TestPrefix::new(&url).await;
    let counter = KvKey::new(["counter"]).unwrap();
    assert!(
        t.store
            .cas(&counter, None, Some(&json!(0)), SetOptions::default())
            .await
            .unwrap()
    );

    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|w| tokio::spawn(workload(t.store.clone(), w, Arc::clone(&stop))))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let down_at = Instant::now();
    tokio::task::block_in_place(|| server.shutdown());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Direct operations while down: typed and prompt.
    let key = KvKey::new(["down"]).unwrap();
    for _ in 0..3 {
        let started = Instant::now();
        let result = t.store.get(&key).await;
        assert!(
            matches!(result, Err(KvError::Unavailable { .. })),
            "get while down: {result:?}"
        );
        assert!(
            started.elapsed() < PROMPT,
            "get while down took {:?}",
            started.elapsed()
        );
        let result = t
            .store
            .cas(&key, None, Some(&json!(1)), SetOptions::default())
            .await;
        assert!(
            matches!(result, Err(KvError::Unavailable { .. })),
            "cas while down: {result:?}"
        );
        let result: Result<Vec<_>, _> = t.store.list(None).try_collect().await;
        assert!(
            matches!(result, Err(KvError::Unavailable { .. })),
            "list while down: {result:?}"
        );
    }
    tokio::task::block_in_place(|| server.restart());
    let up_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    let mut ops = Vec::new();
    for worker in workers {
        ops.extend(worker.await.unwrap());
    }

    // No operation hung, and every failure was Unavailable.
    for op in &ops {
        assert!(op.took < PROMPT, "{} took {:?}", op.key, op.took);
        if let Err(e) = &op.result {
            assert!(op.unavailable, "{}: not Unavailable: {e}", op.key);
            assert!(
                op.started + op.took >= down_at,
                "{} failed before the shutdown: {e}",
                op.key
            );
        }
    }
    let failed_while_down = ops
        .iter()
        .filter(|op| op.result.is_err() && op.started >= down_at && op.started < up_at)
        .count();
    assert!(
        failed_while_down > 0,
        "no operation failed while the server was down"
    );

    // Recovered within seconds: the first success after the restart.
    let recovered = ops
        .iter()
        .filter(|op| op.started >= up_at && op.result.is_ok())
        .map(|op| op.started + op.took)
        .min()
        .expect("operations succeeded after the restart");
    assert!(
        recovered.duration_since(up_at) < Duration::from_secs(2),
        "recovered {:?} after the restart",
        recovered.duration_since(up_at)
    );
    eprintln!(
        "{} operations, {failed_while_down} failed while down, recovered {:?} after the restart",
        ops.len(),
        recovered.duration_since(up_at)
    );
    let late_failures: Vec<_> = ops
        .iter()
        .filter(|op| op.started >= recovered && op.result.is_err())
        .map(|op| format!("{}: {:?}", op.key, op.result))
        .collect();
    assert!(
        late_failures.is_empty(),
        "failures after recovery: {late_failures:?}"
    );

    // Every write acknowledged after the restart is there.
    let acknowledged: Vec<_> = ops
        .iter()
        .filter(|op| op.started >= up_at && op.result.is_ok())
        .collect();
    assert!(
        acknowledged.len() > 50,
        "{} writes after the restart",
        acknowledged.len()
    );
    for op in &acknowledged {
        assert_eq!(
            t.store.get(&op.key).await.unwrap(),
            Some(json!(op.value)),
            "{} was acknowledged after the restart",
            op.key
        );
    }
    let listed: Vec<_> = t
        .store
        .list(Some(&KvKey::new(["w"]).unwrap()))
        .try_collect()
        .await
        .unwrap();
    assert!(listed.len() >= acknowledged.len());

    // cas works again on the same store: the restarted server has no
    // script cache, so the script is loaded again.
    assert!(
        t.store
            .cas(&counter, None, Some(&json!(1)), SetOptions::default())
            .await
            .unwrap(),
        "the counter was lost with the restart (no persistence), so it is absent"
    );
    assert!(
        t.store
            .cas(
                &counter,
                Some(&json!(1)),
                Some(&json!(2)),
                SetOptions::default()
            )
            .await
            .unwrap()
    );
}

/// A server that stops replying (paused clients): operations fail with
/// `Unavailable` after the reply timeout instead of hanging, and once it
/// replies again the same store returns the right value for every key
/// (late replies to timed-out requests are not handed to later ones).
#[tokio::test(flavor = "multi_thread")]
async fn unresponsive_server_times_out() {
    let _serial = one_at_a_time().await;
    let Some(server) = OwnRedis::start(&[]) else {
        return;
    };
    let url = server.url();
    let t = TestPrefix::new(&url).await;
    let client = redis::Client::open(url.as_str()).unwrap();
    let options = RedisOptions::new()
        .prefix(&t.prefix)
        .response_timeout(Some(Duration::from_millis(300)));
    let store = RedisKvStore::from_client(client, options).await.unwrap();
    let keys: Vec<KvKey> = (0..20)
        .map(|i| KvKey::new([unique("k"), i.to_string()]).unwrap())
        .collect();
    for (i, key) in keys.iter().enumerate() {
        store
            .set(key, &json!(i), SetOptions::default())
            .await
            .unwrap();
    }

    struct Unpause(u16);
    impl Drop for Unpause {
        fn drop(&mut self) {
            redis_cli(self.0, &["client", "unpause"]);
        }
    }
    let _unpause = Unpause(server.port);
    assert_eq!(
        redis_cli(server.port, &["client", "pause", "1500", "all"]),
        "OK"
    );
    let started = Instant::now();
    let in_flight: Vec<_> = keys
        .iter()
        .map(|key| {
            let store = store.clone();
            let key = key.clone();
            tokio::spawn(async move { store.get(&key).await })
        })
        .collect();
    for task in in_flight {
        let result = task.await.unwrap();
        assert!(
            matches!(result, Err(KvError::Unavailable { .. })),
            "get while paused: {result:?}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    wait_until("the pause ends", Duration::from_secs(5), || {
        server.answers()
    });
    for (i, key) in keys.iter().enumerate() {
        let mut value = store.get(key).await;
        if matches!(value, Err(KvError::Unavailable { .. })) {
            // Replies of the paused requests may still be draining.
            tokio::time::sleep(Duration::from_millis(100)).await;
            value = store.get(key).await;
        }
        assert_eq!(value.unwrap(), Some(json!(i)), "{key}");
    }
}
