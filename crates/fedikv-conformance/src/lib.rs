//! # fedikv-conformance
//!
//! The conformance suite of the fedikv `KvStore` contract (SPEC §1): one test
//! per rule, named after it (`k1_…`, `k2_…`, `v1_…` … `o5_…`). Every fedikv
//! backend runs it, and so can any third-party implementation of
//! [`fedikv::KvStore`].
//!
//! TODO: full docs.

#![warn(missing_docs)]

mod cases;
mod macros;
#[cfg(test)]
mod mutants;
mod namespace;
mod runtime;
mod server;
mod support;
pub mod tests;

pub use namespace::{Namespace, ROOT};
pub use server::{REQUIRE_SERVERS_VAR, server_url};

/// The name of every test [`conformance_tests!`] generates, in suite order.
pub const ALL_TESTS: &[&str] = __for_each_conformance_test!(__conformance_test_names!());

#[doc(hidden)]
pub mod __private {
    pub use crate::runtime::run;
}

#[cfg(test)]
mod unit_tests {
    use super::ALL_TESTS;

    /// Every public test function is in the list the macro expands (the
    /// macro itself fails to compile for a listed name without a function).
    #[test]
    fn every_test_is_listed_once() {
        let sources = [
            include_str!("tests/cas.rs"),
            include_str!("tests/cas_concurrency.rs"),
            include_str!("tests/delete.rs"),
            include_str!("tests/get.rs"),
            include_str!("tests/keys.rs"),
            include_str!("tests/list.rs"),
            include_str!("tests/list_prefix.rs"),
            include_str!("tests/set.rs"),
            include_str!("tests/values.rs"),
        ];
        let mut defined: Vec<&str> = sources
            .iter()
            .flat_map(|s| s.lines())
            .filter_map(|l| l.strip_prefix("pub async fn "))
            .filter_map(|l| l.split('(').next())
            .collect();
        defined.sort_unstable();
        let mut listed = ALL_TESTS.to_vec();
        listed.sort_unstable();
        assert_eq!(
            defined, listed,
            "tests defined vs. listed in __for_each_conformance_test!"
        );
    }
}
