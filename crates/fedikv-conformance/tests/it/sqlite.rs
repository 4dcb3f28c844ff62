//! The conformance suite against [`fedikv::SqliteKvStore`]: every test gets a
//! store of its own on one shared database file (tests write under their own
//! namespaces), with its own threads and connections, as separate processes
//! sharing a file would.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use fedikv::sqlite::SqliteOptions;
use fedikv::{KvStore, SqliteKvStore};

/// One database file for the whole run, removed with the directory when the
/// process exits normally.
fn database() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("cannot create a temporary directory"))
        .path()
        .join("conformance.sqlite3")
}

async fn store() -> Option<Arc<dyn KvStore>> {
    let options = SqliteOptions::default().readers(2);
    let store = SqliteKvStore::open_with(database(), options)
        .await
        .expect("cannot open the SQLite store");
    Some(Arc::new(store))
}

fedikv_conformance::conformance_tests!(store);

#[tokio::test(flavor = "multi_thread")]
async fn count_expired_is_exact_while_unswept() {
    let dir = tempfile::tempdir().expect("cannot create a temporary directory");
    let options = SqliteOptions::default().sweep(fedikv::SweepPolicy::disabled());
    let store = SqliteKvStore::open_with(dir.path().join("unswept.sqlite3"), options)
        .await
        .expect("cannot open the SQLite store");
    fedikv_conformance::unswept::count_expired_is_exact(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn s1_table_dropped_elsewhere_is_recreated() {
    let dir = tempfile::tempdir().expect("cannot create a temporary directory");
    let file = dir.path().join("dropped.sqlite3");
    let open = async || {
        SqliteKvStore::open(&file)
            .await
            .expect("cannot open the SQLite store")
    };
    let (store, other) = (open().await, open().await);
    let drop_elsewhere = async || {
        other
            .drop_table()
            .await
            .expect("drop the table through another store")
    };
    fedikv_conformance::lifecycle::table_dropped_elsewhere_is_recreated(
        Arc::new(store),
        drop_elsewhere,
    )
    .await;
}
