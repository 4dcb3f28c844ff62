//! Fault test: PostgreSQL stops and starts again under a running workload.
//!
//! On a cluster of the test's own ([`OwnPostgres`]: `initdb` in a temporary
//! directory, a free loopback port), which it stops (`pg_ctl stop -m fast`)
//! and starts again; the machine's server is never touched. The cluster is
//! stopped and removed when the test ends, also when it fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fedikv::{KvError, KvKey, KvStore, SetOptions};
use serde_json::json;
use tokio::sync::Mutex;

use super::fresh_store;
use crate::support::servers::{OwnPostgres, one_at_a_time};

/// How long the store may take to work again once the server is back.
const RECOVERY_LIMIT: Duration = Duration::from_secs(15);

fn doc_key(i: usize) -> KvKey {
    KvKey::new(["fault", "doc", &i.to_string()]).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn survives_a_server_restart_without_losing_acknowledged_writes() {
    let _serial = one_at_a_time().await;
    let Some(server) = OwnPostgres::create() else {
        return;
    };
    server.start("", "");
    let url = server.url("127.0.0.1");
    let (store, _table, _cleanup) = fresh_store(&url, "pool_size=4&connect_timeout=2").await;
    let store = Arc::new(store);

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::<usize>::new()));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let last_ok = Arc::new(std::sync::Mutex::new(Instant::now()));

    // Two writers and a reader, all through the same store object.
    let mut tasks = Vec::new();
    for writer in 0..2 {
        let (store, stop, acked, errors, last_ok) = (
            Arc::clone(&store),
            Arc::clone(&stop),
            Arc::clone(&acked),
            Arc::clone(&errors),
            Arc::clone(&last_ok),
        );
        tasks.push(tokio::spawn(async move {
            let mut i = writer;
            while !stop.load(Ordering::Relaxed) {
                match store
                    .set(&doc_key(i), &json!({"i": i}), SetOptions::default())
                    .await
                {
                    Ok(()) => {
                        acked.lock().await.push(i);
                        *last_ok.lock().unwrap() = Instant::now();
                    }
                    Err(e) => {
                        errors.lock().await.push(classify(&e));
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
                i += 2;
            }
        }));
    }
    {
        let (store, stop, errors) = (Arc::clone(&store), Arc::clone(&stop), Arc::clone(&errors));
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if let Err(e) = store.get(&doc_key(0)).await {
                    errors.lock().await.push(classify(&e));
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }

    tokio::time::sleep(Duration::from_millis(700)).await;
    let before_stop = acked.lock().await.len();
    assert!(before_stop > 0, "no write succeeded before the fault");

    server.stop("fast");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let errors_while_down = errors.lock().await.len();
    let acked_while_down = acked.lock().await.len();
    server.start("", "");
    let restarted = Instant::now();

    // The same store works again within seconds.
    loop {
        if *last_ok.lock().unwrap() > restarted {
            break;
        }
        assert!(
            restarted.elapsed() < RECOVERY_LIMIT,
            "no write succeeded within {RECOVERY_LIMIT:?} of the restart"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let recovery = restarted.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("a workload task panicked");
    }

    let errors = errors.lock().await.clone();
    let acked = acked.lock().await.clone();
    eprintln!(
        "acked {} writes ({before_stop} before the stop, {} during the stop), {} typed errors \
         ({errors_while_down} by the end of the outage), recovered {recovery:?} after the start",
        acked.len(),
        acked_while_down - before_stop,
        errors.len()
    );
    assert!(
        errors_while_down > 0,
        "no operation failed while the server was down"
    );
    let unexpected: Vec<&String> = errors
        .iter()
        .filter(|e| !e.starts_with("Unavailable"))
        .collect();
    assert!(
        unexpected.is_empty(),
        "errors other than Unavailable: {unexpected:?}"
    );

    // Every acknowledged write is there.
    for i in &acked {
        assert_eq!(
            store.get(&doc_key(*i)).await.unwrap(),
            Some(json!({"i": i})),
            "acknowledged write {i} was lost"
        );
    }
}

/// The error's variant and message, for the report.
fn classify(e: &KvError) -> String {
    let variant = match e {
        KvError::Unavailable { .. } => "Unavailable",
        KvError::AccessDenied { .. } => "AccessDenied",
        KvError::Backend { .. } => "Backend",
        _ => "other",
    };
    format!("{variant}: {e}")
}
