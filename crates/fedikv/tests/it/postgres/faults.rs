//! Fault test: PostgreSQL stops and starts again under a running workload.
//!
//! It stops the shared server, so it must run alone: it only runs with
//! `FEDIKV_TEST_FAULTS=1` (and `FEDIKV_TEST_POSTGRES_URL`), which CI sets in
//! a separate step after every other test, with `--test-threads=1`:
//!
//! ```sh
//! FEDIKV_TEST_FAULTS=1 FEDIKV_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test \
//!   cargo test -p fedikv --features postgres --test postgres_faults -- --test-threads=1
//! ```
//!
//! The server is started again by a guard even when the test fails, with the
//! start command the machine uses (`pg_ctlcluster --skip-systemctl-redirect
//! <version> main start`).

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fedikv::{KvError, KvKey, KvStore, SetOptions};
use serde_json::json;
use tokio::sync::Mutex;

use super::{fresh_store, server_url};

/// How long the store may take to work again once the server is back.
const RECOVERY_LIMIT: Duration = Duration::from_secs(15);

/// The version directory of the Debian cluster, e.g. `15`.
fn cluster_version() -> Option<String> {
    let mut versions: Vec<String> = std::fs::read_dir("/etc/postgresql")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    versions.sort();
    versions.pop()
}

fn pg_ctlcluster(version: &str, args: &[&str]) -> bool {
    Command::new("pg_ctlcluster")
        .arg("--skip-systemctl-redirect")
        .arg(version)
        .arg("main")
        .args(args)
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts the server again when dropped, whatever happened.
struct Restart {
    version: String,
}

impl Drop for Restart {
    fn drop(&mut self) {
        // `start` fails harmlessly if it is already running.
        if !pg_ctlcluster(&self.version, &["start"]) {
            eprintln!("pg_ctlcluster start failed; checking whether the server runs anyway");
        }
        let ready = Command::new("pg_ctlcluster")
            .args([&self.version, "main", "status"])
            .status()
            .is_ok_and(|s| s.success());
        if !ready {
            eprintln!(
                "WARNING: PostgreSQL {} main is not running; start it with `pg_ctlcluster --skip-systemctl-redirect {} main start`",
                self.version, self.version
            );
        }
    }
}

fn doc_key(i: usize) -> KvKey {
    KvKey::new(["fault", "doc", &i.to_string()]).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn survives_a_server_restart_without_losing_acknowledged_writes() {
    if std::env::var("FEDIKV_TEST_FAULTS").as_deref() != Ok("1") {
        eprintln!(
            "skipping: this test stops and restarts the shared PostgreSQL server; \
             set FEDIKV_TEST_FAULTS=1 and run it alone (--test-threads=1)"
        );
        return;
    }
    let Some(url) = server_url() else { return };
    let version = cluster_version().expect(
        "FEDIKV_TEST_FAULTS=1 but /etc/postgresql has no cluster: this test drives a Debian cluster with pg_ctlcluster",
    );
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

    let restart = Restart {
        version: version.clone(),
    };
    assert!(
        pg_ctlcluster(&version, &["stop", "-m", "fast"]),
        "pg_ctlcluster stop failed"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let errors_while_down = errors.lock().await.len();
    let acked_while_down = acked.lock().await.len();
    drop(restart); // starts the server again
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
         ({errors_while_down} by the end of the outage), recovered {recovery:?} after the start command",
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
