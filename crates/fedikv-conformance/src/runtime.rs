//! What every generated test runs: a runtime, then the test, then clean-up.
//! Not public API: used by [`conformance_tests!`](crate::conformance_tests).

use std::future::Future;
use std::sync::Arc;

use fedikv::{KvKey, KvStore};
use futures::{StreamExt, TryStreamExt};

use crate::namespace::namespaces_of;

/// Runs `test` to completion on a fresh multi-thread tokio runtime with 4
/// worker threads: what `#[tokio::test(flavor = "multi_thread",
/// worker_threads = 4)]` expands to, without requiring the caller's crate to
/// depend on tokio with the `macros` feature.
///
/// # Panics
///
/// When the runtime cannot be built, or when `test` panics.
pub fn run<F: Future<Output = ()>>(test: F) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("cannot build the tokio runtime for a conformance test")
        .block_on(test);
}

/// Whether `test` is in `skip` (test name, reason); if so, prints why. A
/// name that is no test of the suite is a mistake in the caller's list.
///
/// # Panics
///
/// When `skip` names a test the suite does not have.
pub fn skipped(skip: &[(&str, &str)], test: &str) -> bool {
    for (name, _) in skip {
        assert!(
            crate::ALL_TESTS.contains(name),
            "the skip list names {name:?}, which is not a conformance test"
        );
    }
    match skip.iter().find(|(name, _)| *name == test) {
        Some((_, reason)) => {
            eprintln!("skipping {test}: {reason}");
            true
        }
        None => false,
    }
}

/// Deletes every entry of `store` under the namespaces the tests called
/// `test` created, so that repeated runs against a shared server do not pile
/// up entries.
///
/// # Panics
///
/// When listing or deleting fails: that is a broken store too.
pub async fn clean_up(store: Arc<dyn KvStore>, test: &str) {
    for prefix in namespaces_of(test) {
        let keys: Vec<KvKey> = store
            .list(Some(&prefix))
            .map_ok(|entry| entry.key)
            .try_collect()
            .await
            .unwrap_or_else(|e| panic!("{test}: clean-up: list({prefix}) failed: {e}"));
        futures::stream::iter(keys)
            .for_each_concurrent(16, |key| {
                let store = store.clone();
                async move {
                    store
                        .delete(&key)
                        .await
                        .unwrap_or_else(|e| panic!("{test}: clean-up: delete({key}) failed: {e}"));
                }
            })
            .await;
    }
}
