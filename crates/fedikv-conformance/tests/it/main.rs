//! The conformance suite against every fedikv backend, one module per
//! backend (each calls [`fedikv_conformance::conformance_tests!`] with its
//! store factory), and `mutants`, the suite's self-check: a toy store given
//! one defect at a time must fail the tests meant to catch that defect.
//!
//! One test binary for the crate, so the drivers are linked once. What the
//! server modules share is here: [`open_server`].

mod denokv;
mod denokv_remote;
mod memory;
mod mutants;
mod mysql;
mod postgres;
mod redis;
mod redis_cluster;
mod sqlite;

use std::future::Future;

use fedikv::KvResult;
use fedikv_conformance::server::{server_url, with_options};

/// The store `open` makes of the server URL in the environment variable
/// `var`, with `options` added to its query; `None` (after saying why, see
/// [`server_url`]) to skip.
async fn open_server<S, F, Fut>(var: &str, options: &str, open: F) -> Option<S>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = KvResult<S>>,
{
    let url = with_options(&server_url(var)?, options);
    let redacted = fedikv::redact(&url);
    match open(url).await {
        Ok(store) => Some(store),
        Err(e) => panic!("cannot open {redacted}: {e}"),
    }
}
