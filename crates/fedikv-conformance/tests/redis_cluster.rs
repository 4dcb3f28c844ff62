//! The conformance suite against `fedikv::RedisKvStore` on the Redis Cluster
//! named by `FEDIKV_TEST_REDIS_CLUSTER_URL` (e.g.
//! `redis+cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002`, started by
//! `scripts/redis-cluster.sh`). Keys under one prefix hash to slots of every
//! primary, so `list` has to scan them all. All tests share the key prefix
//! `fedikv-conformance::`; the suite namespaces its keys per test and run.

use std::sync::Arc;

use fedikv::{KvStore, RedisKvStore};

async fn store() -> Option<Arc<dyn KvStore>> {
    let url = fedikv_conformance::server_url("FEDIKV_TEST_REDIS_CLUSTER_URL")?;
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{separator}prefix=fedikv-conformance::");
    let store = RedisKvStore::open_url(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", fedikv::redact(&url)));
    assert!(store.is_cluster());
    Some(Arc::new(store))
}

fedikv_conformance::conformance_tests!(store, skip = fedikv_conformance::UNORDERED);
