//! `MysqlKvStore` while the MariaDB server is stopped and started again under
//! a running workload: operations fail with typed errors while it is down,
//! the same store recovers within seconds, and no acknowledged write is lost.
//!
//! Stops the local server, so it only runs with `FEDIKV_TEST_FAULTS=1` (CI
//! runs it alone, `--test-threads=1`, after the other suites) and
//! `FEDIKV_TEST_MYSQL_URL`. The server is always started again, even when the
//! test fails, with the machine's start command (scripts/services.sh), and the test waits
//! until it answers.

use std::collections::BTreeMap;
use std::net::{TcpStream, ToSocketAddrs};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fedikv::mysql::MysqlKvStore;
use fedikv::{KvError, KvKey, KvStore, SetOptions};
use futures::TryStreamExt;
use serde_json::json;

const DAEMON: &str = "/usr/sbin/mariadbd";

fn faults_enabled() -> bool {
    if std::env::var("FEDIKV_TEST_FAULTS").as_deref() == Ok("1") {
        true
    } else {
        eprintln!(
            "skipping: set FEDIKV_TEST_FAULTS=1 to run the tests that stop and restart MariaDB \
             (run them alone: --test-threads=1)"
        );
        false
    }
}

/// Runs a command to completion, quietly, and says whether it succeeded.
fn run(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Stops the local MariaDB server on demand and always starts it again when
/// dropped (also while a failing test unwinds), waiting until it accepts
/// connections.
struct Server {
    addr: String,
}

impl Server {
    fn new(url: &str) -> Self {
        let parsed = url::Url::parse(url).expect("server URL");
        let host = parsed.host_str().unwrap_or("127.0.0.1").to_owned();
        let port = parsed.port().unwrap_or(3306);
        Self {
            addr: format!("{host}:{port}"),
        }
    }

    /// Stops the server and waits until the process is gone (SIGTERM: a clean
    /// shutdown; SIGKILL only after 60 s).
    fn stop(&self) {
        assert!(
            run(
                "start-stop-daemon",
                &["--stop", "--retry", "TERM/60/KILL/5", "--exec", DAEMON]
            ),
            "cannot stop {DAEMON}"
        );
        assert!(!self.answers(), "the server still answers after stopping");
    }

    /// Starts the server (a no-op if it runs) and waits up to 60 s until it
    /// accepts connections and sends its greeting.
    fn start(&self) {
        run(
            "start-stop-daemon",
            &["--start", "--oknodo", "--background", "--exec", DAEMON],
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.answers() {
            if Instant::now() > deadline {
                panic!("MariaDB did not come back within 60 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Whether the server accepts a TCP connection and sends a greeting.
    fn answers(&self) -> bool {
        use std::io::Read;
        let Some(addr) = self.addr.to_socket_addrs().ok().and_then(|mut a| a.next()) else {
            return false;
        };
        let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let mut greeting = [0u8; 5];
        stream.read_exact(&mut greeting).is_ok()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.start();
    }
}

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
    if !faults_enabled() {
        return;
    }
    let Some(url) = super::server_url() else {
        return;
    };
    let server = Server::new(&url);
    server.start();
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
    tokio::task::block_in_place(|| server.start());
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
