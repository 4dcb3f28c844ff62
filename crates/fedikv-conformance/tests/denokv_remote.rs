//! The conformance suite against [`fedikv::DenoKvStore`] on a KV Connect
//! server named by `FEDIKV_TEST_DENOKV_URL` (e.g.
//! `denokv+http://127.0.0.1:4512?token=fedikv-test-token`, the `denokv`
//! server `scripts/denokv.sh` starts).
//!
//! Skipped by design, besides V4 (Deno KV's 64 KiB value limit, see
//! `tests/denokv.rs`): the rules about reading expired entries. KV Connect
//! does not tell a client when an entry expires, so an expired entry stays
//! visible until the server deletes it (the `denokv` server: within about a
//! minute). The local-file suite runs them all against the same store code.

use std::sync::Arc;

use fedikv::{DenoKvStore, KvStore};

/// Why the tests that read entries after their expiry are skipped (each of
/// them writes an entry with a short TTL and expects it gone).
const NO_EXPIRY: &str = "KV Connect does not report expiry: an expired entry stays visible \
     until the server deletes it (documented in fedikv::denokv); tests/denokv.rs runs this test on a local file";

const SKIPPED: &[(&str, &str)] = &[
    (
        "v4_one_mib_values_round_trip",
        "Deno KV stores values of at most 64 KiB (fedikv::denokv::MAX_VALUE_BYTES); \
         crates/fedikv/tests/denokv.rs checks its ValueTooLarge error",
    ),
    ("o1_fedify_set_and_get", NO_EXPIRY),
    ("o1_get_expired_is_none", NO_EXPIRY),
    ("o2_ttl_has_millisecond_precision", NO_EXPIRY),
    ("o2_zero_ttl_is_expired_at_once", NO_EXPIRY),
    ("o2_ttl_restarts_on_every_write", NO_EXPIRY),
    ("o4_cas_applies_the_ttl", NO_EXPIRY),
    ("o4_concurrent_creates_over_an_expired_row", NO_EXPIRY),
    ("o4_expired_entry_is_absent_to_cas", NO_EXPIRY),
    ("o4_fedify_mysql_cas_cases", NO_EXPIRY),
    ("o5_expired_entries_are_never_listed", NO_EXPIRY),
    ("o5_no_prefix_lists_everything", NO_EXPIRY),
    ("o5_lists_across_pages", NO_EXPIRY),
    ("s3_sweep_removes_only_expired_entries", NO_EXPIRY),
    ("s3_count_expired_counts_only_expired_entries", NO_EXPIRY),
    (
        "o5_scan_reports_remaining_ttls",
        "KV Connect does not report expiry, so scan fails with Unsupported there rather than \
         guess; tests/denokv.rs runs this test on a local file",
    ),
];

async fn store() -> Option<Arc<dyn KvStore>> {
    let url = fedikv_conformance::server_url("FEDIKV_TEST_DENOKV_URL")?;
    let store = DenoKvStore::open_url(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", fedikv::redact(&url)));
    Some(Arc::new(store))
}

fedikv_conformance::conformance_tests!(store, skip = SKIPPED);
