//! fedikv's integration tests, one binary (the drivers are linked once):
//! a module per backend, each holding that backend's helpers in its
//! `mod.rs` and its tests in submodules — `store` (layout, operations,
//! errors), `bad_rows` (rule V5), `interop` (against Fedify's own stores),
//! `faults` (servers of the test's own stopped under load) and whatever else
//! the backend needs. What several backends share is in [`support`].
//!
//! Server tests find their server in `FEDIKV_TEST_*_URL` and skip (saying
//! why) without it, or fail under `FEDIKV_TEST_REQUIRE_SERVERS=1`; see
//! [`fedikv_conformance::server`].

#[cfg(feature = "denokv")]
mod denokv;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "metrics")]
mod observability;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
mod redis_cluster;
#[cfg(feature = "sqlite")]
mod sqlite;
mod support;
