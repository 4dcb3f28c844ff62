//! `MysqlKvStore` while a MariaDB server is stopped and started again under
//! a running workload: operations fail with typed errors while it is down,
//! the same store recovers within seconds, and no acknowledged write is lost.
//!
//! On a server of the test's own ([`OwnMariadb`]: a data directory made by
//! `mariadb-install-db` in a temporary directory, a free loopback port),
//! stopped with SIGTERM and started again; the machine's server is never
//! touched.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fedikv::mysql::MysqlKvStore;
use fedikv::{KvError, KvKey, KvStore, SetOptions};
use futures::TryStreamExt;
use serde_json::json;

use crate::support::servers::{OwnMariadb, one_at_a_time};

fn key(i: u64) -> KvKey {
    KvKey::new(["fault", &format!("{i:06}")]).unwrap()
}

/// What the workload saw.
#[derive(Default, Debug)]
struct Log {
    /// Writes the store acknowledged: key index → value.
    acknowledged: BTreeMap<u64, u64>,
    /// Successful CAS increments of the counter.
    increments: u64,
    /// CAS increments attempted (acknowledged or failed).
    increment_attempts: u64,
    /// When the last write was acknowledged.
    last_ack: Option<Instant>,
    /// Errors, by kind.
    errors: Vec<String>,
    unexpected: Vec<String>,
}

/// Writes keys and increments a counter until `stop`, recording every outcome.
async fn workload(store: Arc<MysqlKvStore>, stop: Arc<AtomicBool>) -> Log {
    let mut log = Log::default();
    let counter = KvKey::new(["fault", "counter"]).unwrap();
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let outcome = tokio::time::timeout(
            Duration::from_secs(20),
            store.set(&key(i), &json!(i), SetOptions::default()),
        )
        .await;
        match outcome {
            Ok(Ok(())) => {
                log.acknowledged.insert(i, i);
                log.last_ack = Some(Instant::now());
            }
            Ok(Err(e)) => record(&mut log, e),
            Err(_) => log.unexpected.push(format!("set {i} hung for 20 s")),
        }
        if i % 3 == 0 {
            log.increment_attempts += 1;
            let result = async {
                let current = store.get(&counter).await?;
                let next = json!(current.as_ref().and_then(|v| v.as_u64()).unwrap_or(0) + 1);
                store
                    .cas(
                        &counter,
                        current.as_ref(),
                        Some(&next),
                        SetOptions::default(),
                    )
                    .await
            };
            match tokio::time::timeout(Duration::from_secs(20), result).await {
                Ok(Ok(true)) => log.increments += 1,
                Ok(Ok(false)) => log.unexpected.push("a lone CAS lost a race".into()),
                Ok(Err(e)) => record(&mut log, e),
                Err(_) => log.unexpected.push("cas hung for 20 s".into()),
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    log
}

fn record(log: &mut Log, e: KvError) {
    match e {
        KvError::Unavailable { .. } => log.errors.push("unavailable".into()),
        other => log.unexpected.push(other.to_string()),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn survives_a_server_restart_under_load() {
    let _serial = one_at_a_time().await;
    let Some(mut server) = OwnMariadb::start() else {
        return;
    };
    let url = server.url();
    let table = super::unique_table();
    let opened = MysqlKvStore::open_url(&format!("{url}?table={table}&pool_size=4"))
        .await
        .unwrap();
    let pool = opened.pool().clone();
    // Drops the table at the end, also when the test fails.
    let t = super::TestTable::adopt(&url, opened, table, pool);
    let store = Arc::new(t.store.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let running = tokio::spawn(workload(Arc::clone(&store), Arc::clone(&stop)));
    tokio::time::sleep(Duration::from_millis(700)).await;

    let probe = KvKey::new(["fault", "probe"]).unwrap();
    tokio::task::block_in_place(|| server.stop());
    // While it is down, every operation fails with a typed, transient error.
    for _ in 0..3 {
        let err = store.get(&probe).await.unwrap_err();
        assert!(matches!(err, KvError::Unavailable { .. }), "{err:?}");
        assert!(err.is_transient());
        let err = store
            .set(&probe, &json!(1), SetOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, KvError::Unavailable { .. }), "{err:?}");
        let err = store
            .cas(&probe, None, Some(&json!(1)), SetOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, KvError::Unavailable { .. }), "{err:?}");
        let err = store.list(None).try_next().await.unwrap_err();
        assert!(matches!(err, KvError::Unavailable { .. }), "{err:?}");
        let err = store.sweep().await.unwrap_err();
        assert!(matches!(err, KvError::Unavailable { .. }), "{err:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::task::block_in_place(|| server.restart());
    // The same store works again within seconds.
    let back = Instant::now();
    loop {
        match store
            .set(&probe, &json!("back"), SetOptions::default())
            .await
        {
            Ok(()) => break,
            Err(e) => {
                assert!(
                    back.elapsed() < Duration::from_secs(10),
                    "not back after 10 s: {e}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    let recovered = Instant::now();
    eprintln!(
        "store usable again {:?} after the server answered",
        back.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    stop.store(true, Ordering::Relaxed);
    let log = running.await.unwrap();
    eprintln!(
        "acknowledged {} writes, {} increments of {} attempts; {} unavailable errors",
        log.acknowledged.len(),
        log.increments,
        log.increment_attempts,
        log.errors.len()
    );
    assert!(log.unexpected.is_empty(), "{:?}", log.unexpected);
    assert!(!log.errors.is_empty(), "the workload never saw the outage");
    assert!(
        log.last_ack.is_some_and(|at| at > recovered),
        "the workload made no progress after the restart"
    );

    // No acknowledged write was lost.
    for (i, value) in &log.acknowledged {
        assert_eq!(
            store.get(&key(*i)).await.unwrap(),
            Some(json!(value)),
            "key {i}"
        );
    }
    // Every acknowledged increment is there; a failed one may or may not
    // have been applied.
    let counter = store
        .get(&KvKey::new(["fault", "counter"]).unwrap())
        .await
        .unwrap();
    let counter = counter.and_then(|v| v.as_u64()).unwrap_or(0);
    assert!(
        (log.increments..=log.increment_attempts).contains(&counter),
        "counter {counter}, acknowledged {}, attempted {}",
        log.increments,
        log.increment_attempts
    );
    t.cleanup().await;
}
