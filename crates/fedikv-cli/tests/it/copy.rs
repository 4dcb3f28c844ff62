//! `fedikv copy` from SQLite to a real PostgreSQL server: every entry
//! verified (key, value, TTL), an interrupted copy completed by a re-run, and
//! bad targets. Needs `FEDIKV_TEST_POSTGRES_URL` (CI sets it and
//! `FEDIKV_TEST_REQUIRE_SERVERS=1`, so these tests cannot skip there).

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fedikv::{KvKey, KvRecord, KvStore, SetOptions, json_eq};
use futures::TryStreamExt;
use serde_json::{Value, json};

use crate::{ServerStore, command};

/// A PostgreSQL table of this test alone (dropped at the end), or `None`
/// (after saying why) to skip.
fn postgres_table() -> Option<ServerStore> {
    ServerStore::table("FEDIKV_TEST_POSTGRES_URL", "fedikv_copy")
}

/// Components no naive encoding survives, for the copied keys.
const TRICKY: &[&str] = &[
    "",
    ":",
    "::",
    "%",
    "_",
    "\\",
    "\"",
    "*",
    "?",
    "[",
    "]",
    "line\nbreak",
    "😀",
    "MiXeD",
    "https://example.com/users/alice?page=1#main-key",
];

/// The `i`-th test entry: a key, a value and a TTL.
fn entry(i: usize) -> (KvKey, Value, Option<Duration>) {
    let tricky = TRICKY[i % TRICKY.len()];
    let key = KvKey::new(["copy".to_owned(), format!("{i:06}"), tricky.to_owned()]).unwrap();
    let value = match i % 5 {
        0 => {
            json!({"id": format!("https://example.com/{i}"), "nested": {"n": i, "list": [1, 2.5, null]}})
        }
        1 => Value::Null,
        2 => json!(false),
        3 => json!(9_007_199_254_740_991_u64),
        _ => json!(format!("ünïcødé {tricky}")),
    };
    let ttl = match i % 3 {
        0 => Some(Duration::from_secs(3600)),
        1 => Some(Duration::from_secs(86_400)),
        _ => None,
    };
    (key, value, ttl)
}

async fn fill(store: &dyn KvStore, n: usize) {
    for i in 0..n {
        let (key, value, ttl) = entry(i);
        store
            .set(&key, &value, SetOptions::with_ttl(ttl))
            .await
            .unwrap();
    }
    // Expired entries are not copied.
    let gone = KvKey::new(["copy", "expired"]).unwrap();
    store
        .set(&gone, &json!(1), SetOptions::ttl(Duration::ZERO))
        .await
        .unwrap();
}

async fn records(store: &dyn KvStore) -> BTreeMap<KvKey, KvRecord> {
    let prefix = KvKey::new(["copy"]).unwrap();
    let mut all = BTreeMap::new();
    let mut stream = store.scan(Some(&prefix));
    while let Some(record) = stream.try_next().await.unwrap() {
        assert!(
            all.insert(record.key.clone(), record).is_none(),
            "an entry was listed twice"
        );
    }
    all
}

/// Every entry of `0..n` is in `target` exactly once with its value, and
/// its TTL within a minute of the source's (both minus the time passed).
async fn assert_copied(target: &dyn KvStore, n: usize) {
    let copied = records(target).await;
    assert_eq!(copied.len(), n, "entries in the target");
    for i in 0..n {
        let (key, value, ttl) = entry(i);
        let record = copied
            .get(&key)
            .unwrap_or_else(|| panic!("{key} was not copied"));
        assert!(
            json_eq(&record.value, &value),
            "{key}: {} != {value}",
            record.value
        );
        match (ttl, record.expires_in) {
            (None, None) => {}
            (Some(ttl), Some(left)) => assert!(
                left <= ttl && left + Duration::from_secs(60) > ttl,
                "{key}: {left:?} left of {ttl:?}"
            ),
            other => panic!("{key}: TTL {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn copies_sqlite_to_postgres_entry_by_entry() {
    let Some(ServerStore { store: to, .. }) = postgres_table() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let from = format!("sqlite:{}", dir.path().join("from.sqlite3").display());
    let source = fedikv::open(&from).await.unwrap();
    let n = 3000;
    fill(source.as_ref(), n).await;
    let output = command(&["copy", "--from", &from, "--to", &to])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["copied"], n);
    let target = fedikv::postgres::PostgresKvStore::open_url(&to)
        .await
        .unwrap();
    assert_copied(&target, n).await;
    assert_eq!(
        records(source.as_ref()).await.len(),
        n,
        "the source is unchanged"
    );
    target.drop_table().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_copy_completes_when_run_again() {
    let Some(ServerStore { store: to, .. }) = postgres_table() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let from = format!("sqlite:{}", dir.path().join("from.sqlite3").display());
    let source = fedikv::open(&from).await.unwrap();
    let n = 40_000;
    fill(source.as_ref(), n).await;
    let target = Arc::new(
        fedikv::postgres::PostgresKvStore::open_url(&to)
            .await
            .unwrap(),
    );
    target.initialize().await.unwrap();

    let mut child = command(&["copy", "--from", &from, "--to", &to, "--concurrency", "4"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it as soon as the copy is under way.
    let (first, _, _) = entry(0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while target.get(&first).await.unwrap().is_none() {
        assert!(Instant::now() < deadline, "the copy never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = records(target.as_ref()).await.len();
    assert!(
        partial > 0 && partial < n,
        "the copy was interrupted after {partial} of {n} entries (it must be neither done nor not started)"
    );

    let rerun = command(&["copy", "--from", &from, "--to", &to])
        .output()
        .unwrap();
    assert!(
        rerun.status.success(),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    assert_copied(target.as_ref(), n).await;
    target.drop_table().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_copy_onto_its_own_database_is_refused() {
    let Some(ServerStore { store: to, .. }) = postgres_table() else {
        return;
    };
    let spelt_otherwise =
        to.replacen("127.0.0.1", "localhost", 1)
            .replacen("postgres://", "postgresql://", 1);
    let output = command(&["copy", "--from", &to, "--to", &spelt_otherwise])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("same store"), "{err}");
}
