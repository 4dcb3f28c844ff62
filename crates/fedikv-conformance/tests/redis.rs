//! The conformance suite against `fedikv::RedisKvStore` on the server named by
//! `FEDIKV_TEST_REDIS_URL` (e.g. `redis://127.0.0.1:6379/`). All tests share
//! the key prefix `fedikv-conformance::`, apart from Fedify's `fedify::`, since
//! the suite namespaces its keys per test and run.

use std::sync::Arc;

use fedikv::{KvStore, RedisKvStore};

async fn store() -> Option<Arc<dyn KvStore>> {
    let url = fedikv_conformance::server_url("FEDIKV_TEST_REDIS_URL")?;
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{separator}prefix=fedikv-conformance::");
    let store = RedisKvStore::open_url(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", fedikv::redact(&url)));
    Some(Arc::new(store))
}

fedikv_conformance::conformance_tests!(store, skip = fedikv_conformance::UNORDERED);
