//! The conformance suite against [`fedikv::MemoryKvStore`].

use std::sync::Arc;

use fedikv::{KvStore, MemoryKvStore};

async fn store() -> Option<Arc<dyn KvStore>> {
    Some(Arc::new(MemoryKvStore::new()))
}

fedikv_conformance::conformance_tests!(store);
