//! The conformance suite against `fedikv::RedisKvStore` on the server named by
//! `FEDIKV_TEST_REDIS_URL` (e.g. `redis://127.0.0.1:6379/`). All tests share
//! the key prefix `fedikv-conformance::`, apart from Fedify's `fedify::`, since
//! the suite namespaces its keys per test and run.

use std::sync::Arc;

use fedikv::{KvStore, RedisKvStore};

use crate::open_server;

async fn store() -> Option<Arc<dyn KvStore>> {
    let store = open_server(
        "FEDIKV_TEST_REDIS_URL",
        "prefix=fedikv-conformance::",
        |url| async move { RedisKvStore::open_url(&url).await },
    )
    .await?;
    Some(Arc::new(store))
}

fedikv_conformance::conformance_tests!(store, skip = fedikv_conformance::UNORDERED);
