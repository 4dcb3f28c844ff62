//! The conformance suite against `fedikv::PostgresKvStore` on the server
//! named by `FEDIKV_TEST_POSTGRES_URL` (e.g.
//! `postgres://postgres@127.0.0.1:5432/test`). All tests share one table,
//! since the suite namespaces its keys per test and run; each test opens its
//! own store, so concurrent table initialization is exercised too.

use std::sync::Arc;

use fedikv::{KvStore, PostgresKvStore};

use fedikv_conformance::server::unique_name;

use crate::open_server;

/// A store on the server in `FEDIKV_TEST_POSTGRES_URL`, with `options` added to the
/// URL's query; `None` (after saying why) to skip.
async fn open(options: &str) -> Option<PostgresKvStore> {
    open_server("FEDIKV_TEST_POSTGRES_URL", options, |url| async move {
        PostgresKvStore::open_url(&url).await
    })
    .await
}

async fn store() -> Option<Arc<dyn KvStore>> {
    let store = open("table=fedikv_conformance&pool_size=4").await?;
    Some(Arc::new(store))
}

fedikv_conformance::conformance_tests!(store);

#[tokio::test(flavor = "multi_thread")]
async fn count_expired_is_exact_while_unswept() {
    let table = unique_name("fedikv_unswept", '_');
    let Some(store) = open(&format!("table={table}&sweep=off")).await else {
        return;
    };
    let store = Arc::new(store);
    fedikv_conformance::unswept::count_expired_is_exact(store.clone()).await;
    store.drop_table().await.expect("drop the test table");
}
