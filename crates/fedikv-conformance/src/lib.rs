//! # fedikv-conformance
//!
//! The conformance suite of the fedikv `KvStore` contract (SPEC §1): one test
//! per rule, named after it (`k1_…`, `k2_…`, `v1_…` … `o5_…`). Every fedikv
//! backend runs it, and so can any third-party implementation of
//! [`fedikv::KvStore`].
//!
//! TODO: full docs.

#![warn(missing_docs)]

mod macros;
mod namespace;
mod runtime;
mod server;
pub mod tests;

pub use namespace::{Namespace, ROOT};
pub use server::{REQUIRE_SERVERS_VAR, server_url};

/// The name of every test [`conformance_tests!`] generates, in suite order.
pub const ALL_TESTS: &[&str] = __for_each_conformance_test!(__conformance_test_names!());

#[doc(hidden)]
pub mod __private {
    pub use crate::runtime::run;
}
