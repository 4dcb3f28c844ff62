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
