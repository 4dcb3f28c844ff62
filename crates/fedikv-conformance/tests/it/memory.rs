//! The conformance suite against [`fedikv::MemoryKvStore`].

use std::sync::Arc;

use fedikv::{KvStore, MemoryKvStore};

async fn store() -> Option<Arc<dyn KvStore>> {
    Some(Arc::new(MemoryKvStore::new()))
}

fedikv_conformance::conformance_tests!(store);

#[tokio::test(flavor = "multi_thread")]
async fn count_expired_is_exact_while_unswept() {
    let store = MemoryKvStore::with_sweep_policy(fedikv::SweepPolicy::disabled());
    fedikv_conformance::unswept::count_expired_is_exact(Arc::new(store)).await;
}
