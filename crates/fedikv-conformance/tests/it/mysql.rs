//! The conformance suite against `fedikv::MysqlKvStore` on the MariaDB/MySQL
//! server named by `FEDIKV_TEST_MYSQL_URL` (e.g.
//! `mysql://root@127.0.0.1:3306/test`). All tests share one table, since the
//! suite namespaces its keys per test and run.

use std::sync::Arc;

use fedikv::{KvStore, MysqlKvStore};

use fedikv_conformance::server::unique_name;

use crate::open_server;

/// A store on the server in `FEDIKV_TEST_MYSQL_URL`, with `options` added to the
/// URL's query; `None` (after saying why) to skip.
async fn open(options: &str) -> Option<MysqlKvStore> {
    open_server("FEDIKV_TEST_MYSQL_URL", options, |url| async move {
        MysqlKvStore::open_url(&url).await
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
