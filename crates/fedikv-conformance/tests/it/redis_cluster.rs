//! The conformance suite against `fedikv::RedisKvStore` on the Redis Cluster
//! named by `FEDIKV_TEST_REDIS_CLUSTER_URL` (e.g.
//! `redis+cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002`, started by
//! `scripts/redis-cluster.sh`). Keys under one prefix hash to slots of every
//! primary, so `list` has to scan them all. All tests share the key prefix
//! `fedikv-conformance::`; the suite namespaces its keys per test and run.

use std::sync::Arc;

use fedikv::{KvStore, RedisKvStore};

use crate::open_server;

async fn store() -> Option<Arc<dyn KvStore>> {
    let store = open_server(
        "FEDIKV_TEST_REDIS_CLUSTER_URL",
        "prefix=fedikv-conformance::",
        |url| async move { RedisKvStore::open_url(&url).await },
    )
    .await?;
    assert!(store.is_cluster());
    Some(Arc::new(store))
}

fedikv_conformance::conformance_tests!(store, skip = fedikv_conformance::UNORDERED);
