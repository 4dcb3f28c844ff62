//! The conformance suite against `fedikv::MysqlKvStore` on the MariaDB/MySQL
//! server named by `FEDIKV_TEST_MYSQL_URL` (e.g.
//! `mysql://root@127.0.0.1:3306/test`). All tests share one table, since the
//! suite namespaces its keys per test and run.

use std::sync::Arc;

use fedikv::{KvStore, MysqlKvStore};

/// A store on the server in `FEDIKV_TEST_MYSQL_URL`, with `options` added to the
/// URL's query; `None` (after saying why) to skip.
async fn open(options: &str) -> Option<MysqlKvStore> {
    let url = fedikv_conformance::server_url("FEDIKV_TEST_MYSQL_URL")?;
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{separator}{options}");
    let store = MysqlKvStore::open_url(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", fedikv::redact(&url)));
    Some(store)
}

async fn store() -> Option<Arc<dyn KvStore>> {
    let store = open("table=fedikv_conformance&pool_size=4").await?;
    Some(Arc::new(store))
}

fedikv_conformance::conformance_tests!(store);

#[tokio::test(flavor = "multi_thread")]
async fn count_expired_is_exact_while_unswept() {
    let table = format!("fedikv_unswept_{}", std::process::id());
    let Some(store) = open(&format!("table={table}&sweep=off")).await else {
        return;
    };
    let store = Arc::new(store);
    fedikv_conformance::unswept::count_expired_is_exact(store.clone()).await;
    store.drop_table().await.expect("drop the test table");
}

#[tokio::test(flavor = "multi_thread")]
async fn s1_table_dropped_elsewhere_is_recreated() {
    let table = format!("table=fedikv_dropped_{}", std::process::id());
    let (Some(store), Some(other)) = (open(&table).await, open(&table).await) else {
        return;
    };
    let drop_elsewhere = async || {
        other
            .drop_table()
            .await
            .expect("drop the table through another store")
    };
    fedikv_conformance::lifecycle::table_dropped_elsewhere_is_recreated(
        Arc::new(store.clone()),
        drop_elsewhere,
    )
    .await;
    store.drop_table().await.expect("drop the test table");
}
