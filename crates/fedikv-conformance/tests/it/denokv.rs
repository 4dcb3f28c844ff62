//! The conformance suite against [`fedikv::DenoKvStore`] on a local Deno KV
//! database file: every test gets a store of its own on one shared file (as
//! separate processes sharing a file would).
//!
//! V4's 1 MiB values do not fit Deno KV's 64 KiB value limit: that test is
//! skipped here, and `crates/fedikv/tests/it/denokv.rs` checks the limit's
//! typed error instead.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use fedikv::{DenoKvStore, KvStore};

/// What Deno KV cannot do by design.
pub const SKIPPED: &[(&str, &str)] = &[(
    "v4_one_mib_values_round_trip",
    "Deno KV stores values of at most 64 KiB (fedikv::denokv::MAX_VALUE_BYTES); \
     crates/fedikv/tests/it/denokv.rs checks its ValueTooLarge error",
)];

/// One database file for the whole run, removed with the directory when the
/// process exits normally.
fn database() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("cannot create a temporary directory"))
        .path()
        .join("conformance.denokv.sqlite3")
}

async fn store() -> Option<Arc<dyn KvStore>> {
    let store = DenoKvStore::open(database())
        .await
        .expect("cannot open the Deno KV database");
    Some(Arc::new(store))
}

fedikv_conformance::conformance_tests!(store, skip = SKIPPED);

/// `count_expired` is exact while nothing sweeps: a fresh file, whose
/// `denokv_sqlite` writer first looks for expired entries a minute after it
/// opened an empty database.
#[tokio::test(flavor = "multi_thread")]
async fn count_expired_is_exact_while_unswept() {
    let dir = tempfile::tempdir().expect("cannot create a temporary directory");
    let store = DenoKvStore::open(dir.path().join("unswept.sqlite3"))
        .await
        .expect("cannot open the Deno KV database");
    fedikv_conformance::unswept::count_expired_is_exact(Arc::new(store)).await;
}
