//! The conformance suite against `fedikv::MysqlKvStore` on the MariaDB/MySQL
//! server named by `FEDIKV_TEST_MYSQL_URL` (e.g.
//! `mysql://root@127.0.0.1:3306/test`). All tests share one table, since the
//! suite namespaces its keys per test and run.

use std::sync::Arc;

use fedikv::{KvStore, MysqlKvStore};

async fn store() -> Option<Arc<dyn KvStore>> {
    let url = fedikv_conformance::server_url("FEDIKV_TEST_MYSQL_URL")?;
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{separator}table=fedikv_conformance&pool_size=4");
    let store = MysqlKvStore::open_url(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", fedikv::redact(&url)));
    Some(Arc::new(store))
}

fedikv_conformance::conformance_tests!(store);

#[tokio::test(flavor = "multi_thread")]
async fn count_expired_is_exact_while_unswept() {
    let Some(url) = fedikv_conformance::server_url("FEDIKV_TEST_MYSQL_URL") else {
        return;
    };
    let separator = if url.contains('?') { '&' } else { '?' };
    let table = format!("fedikv_unswept_{}", std::process::id());
    let url = format!("{url}{separator}table={table}&sweep=off");
    let store = Arc::new(MysqlKvStore::open_url(&url).await.expect("open"));
    fedikv_conformance::unswept::count_expired_is_exact(store.clone()).await;
    store.drop_table().await.expect("drop the test table");
}
