//! The conformance suite against `fedikv::PostgresKvStore` on the server
//! named by `FEDIKV_TEST_POSTGRES_URL` (e.g.
//! `postgres://postgres@127.0.0.1:5432/test`). All tests share one table,
//! since the suite namespaces its keys per test and run; each test opens its
//! own store, so concurrent table initialization is exercised too.

use std::sync::Arc;

use fedikv::{KvStore, PostgresKvStore};

async fn store() -> Option<Arc<dyn KvStore>> {
    let url = fedikv_conformance::server_url("FEDIKV_TEST_POSTGRES_URL")?;
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{separator}table=fedikv_conformance&pool_size=4");
    let store = PostgresKvStore::open_url(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", fedikv::redact(&url)));
    Some(Arc::new(store))
}

fedikv_conformance::conformance_tests!(store);
