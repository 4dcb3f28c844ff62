//! # fedikv-conformance
//!
//! The conformance suite of the fedikv [`KvStore`](fedikv::KvStore) contract
//! (fedikv's `docs/contract.md`, Fedify's `KvStore` semantics): the tests listed in [`ALL_TESTS`], each named after
//! the rule it checks — `k1_…`/`k2_…` keys, `v1_…`–`v4_…` values, `o1_…` get,
//! `o2_…` set and TTLs, `o3_…` delete, `o4_…` compare-and-swap, `o5_…` list,
//! `s3_…` sweeping — and `model_sequences_match_the_reference`, which checks
//! random operation sequences against a reference model. Every fedikv
//! backend runs it, and so can any other implementation of
//! [`fedikv::KvStore`].
//!
//! ## Running the suite on your own store
//!
//! Add the crate as a dev-dependency:
//!
//! ```toml
//! [dev-dependencies]
//! fedikv-conformance = "0.1"
//! ```
//!
//! and write one integration-test file, e.g. `tests/conformance.rs`, with an
//! `async fn` that returns the store to test and one macro call:
//!
//! ```ignore
//! use std::sync::Arc;
//! use fedikv::KvStore;
//!
//! async fn store() -> Option<Arc<dyn KvStore>> {
//!     // Server-backed stores: skip (or, in CI, fail) when no server is configured.
//!     let url = fedikv_conformance::server_url("MY_STORE_TEST_URL")?;
//!     Some(Arc::new(my_crate::MyKvStore::connect(&url).await.expect("connect")))
//! }
//!
//! fedikv_conformance::conformance_tests!(store);
//! ```
//!
//! `cargo test --test conformance` then runs one `#[test]` per entry of
//! [`ALL_TESTS`], named like the test (`o4_concurrent_creates_have_one_winner`
//! …), so `cargo test --test conformance o4_` runs the CAS rules alone. Each
//! runs on its own 4-worker multi-thread tokio runtime; your crate needs no
//! tokio dependency for it.
//!
//! What the factory must know:
//!
//! - It is called once per test, and tests run in parallel. Return a fresh
//!   store or a handle on a shared one: every test writes only under its own
//!   [`Namespace`] (`["fedikv-conformance", "<test>-<pid>-<nanos>-<seq>", …]`),
//!   so tests share a database, table or key prefix safely, also with other
//!   runs of the suite. Tests that list without a prefix ignore other keys.
//! - Return `None` to skip (the test passes without running). Use
//!   [`server_url`] for server URLs: it prints why it skips, and panics
//!   instead when `FEDIKV_TEST_REQUIRE_SERVERS=1`, so CI never skips silently.
//! - After a test passes, the runner deletes the keys it wrote; a failing test
//!   panics with the broken rule and leaves its keys for inspection.
//! - The timing tests (TTLs from 200 ms, expiry checked 300 ms after the TTL)
//!   assume the store and the test share a clock within a few milliseconds. A
//!   liveness check that cannot be decided because the machine was slower than
//!   the TTL is repeated with a doubled TTL; a store that expires an entry
//!   early always fails.
//!
//! The suite covers every rule of the contract except K3 (each backend's
//! maximum key size and its error, which differ per backend: test them in the
//! backend's own tests), and every backend-independent test case of Fedify's
//! own stores (memory, SQLite, PostgreSQL, MySQL, Deno KV, Cloudflare
//! Workers). Every test can fail: the crate's own tests (`tests/it/mutants.rs`)
//! give a toy store one defect at a time (Fedify's LIKE-wildcard and glob
//! prefixes, whole-second TTLs, non-atomic CAS, tombstones, …) and check that
//! the tests meant to catch it do.
//!
//! ## Generated tests
//!
//! [`tests::model_sequences_match_the_reference`] runs random sequences of
//! `get`, `set`, `delete`, `cas` and `list` over keys and values Fedify can
//! write (NUL, lone surrogates, `%`, `::`, numbers written two ways, ...)
//! and compares every result with a reference model. What the model expects
//! of keys and values follows the store's
//! [`capabilities`](fedikv::KvStore::capabilities) (NUL refused, lone
//! surrogates stored as U+FFFD, `list` unordered); `scan` may be
//! `Unsupported`, and then TTLs are not compared. The cases come from
//! proptest with a fixed seed: 48 cases by default, `FEDIKV_MODEL_CASES=N`
//! for more, `FEDIKV_MODEL_SEED=S` for others. A failure is shrunk to a
//! minimal sequence and printed with the seed that replays it alone:
//!
//! ```text
//! model: memory: case 1 of 48 (seed 20261205) differs from the reference model;
//! replay this case alone with FEDIKV_MODEL_SEED=20261205 FEDIKV_MODEL_CASES=1 ...
//! step 2, cas(k0 ["a"], expected: current, new: delete, ttl: none): O4: cas returned false, ...
//! shrunk case (seed 20261205):
//! keys (under the run's prefix):
//!   k0 = ["a"]
//! operations:
//!   1. set(k0 ["a"], null, ttl: 0 ms)
//!   2. cas(k0 ["a"], expected: current, new: delete, ttl: none)
//! ```
//!
//! ## Running single tests
//!
//! The tests are also public functions in [`tests`], taking an
//! `Arc<dyn KvStore>` and panicking on failure, for use in your own harness:
//!
//! ```
//! # fedikv_conformance::__private::run(async {
//! use std::sync::Arc;
//! let store = Arc::new(fedikv::MemoryKvStore::new());
//! fedikv_conformance::tests::o4_fedify_cas_sequence(store).await;
//! # });
//! ```

#![warn(missing_docs)]

mod cases;
mod history;
pub mod lifecycle;
mod macros;
mod model;
mod namespace;
mod runtime;
pub mod server;
mod support;
pub mod tests;
pub mod unswept;

pub use namespace::{Namespace, ROOT};
pub use server::{REQUIRE_SERVERS_VAR, server_url};

/// The skip list of a store whose `list` order is unspecified (rule O5:
/// only ordered backends promise a stable order), such as Redis, which
/// lists in `SCAN` order: a hash table's order, which changes while Redis
/// rehashes the table as other writers add keys. For
/// `conformance_tests!(store, skip = UNORDERED)`.
pub const UNORDERED: &[(&str, &str)] = &[(
    "o5_order_is_stable",
    "this store lists in an unspecified order (SCAN order, which changes while Redis rehashes \
     its key table as keys are added); rule O5 asks a stable order of ordered backends only",
)];

/// The name of every test [`conformance_tests!`] generates, in suite order.
pub const ALL_TESTS: &[&str] = __for_each_conformance_test!(__conformance_test_names!());

#[doc(hidden)]
pub mod __private {
    pub use crate::runtime::{clean_up, run, skipped};
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
            include_str!("tests/cas_fedify.rs"),
            include_str!("tests/delete.rs"),
            include_str!("tests/get.rs"),
            include_str!("tests/javascript.rs"),
            include_str!("tests/keys.rs"),
            include_str!("tests/list.rs"),
            include_str!("tests/list_prefix.rs"),
            include_str!("tests/model.rs"),
            include_str!("tests/scan.rs"),
            include_str!("tests/set.rs"),
            include_str!("tests/typed.rs"),
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
