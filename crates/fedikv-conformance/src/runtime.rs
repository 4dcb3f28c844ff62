//! The runtime every generated test runs on. Not public API: used by
//! [`conformance_tests!`](crate::conformance_tests).

use std::future::Future;

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
