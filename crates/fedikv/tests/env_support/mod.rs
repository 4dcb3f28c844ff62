//! What the server tests' support modules share: the server URL from the
//! environment (skipped with the reason when it is unset, or failed when CI
//! sets `FEDIKV_TEST_REQUIRE_SERVERS=1`), and names no other test or run uses.
//! Each `*_support/mod.rs` includes this file.

#![allow(dead_code)] // each test binary uses a different subset

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Whether CI demands that no server test skips.
pub fn servers_required() -> bool {
    std::env::var("FEDIKV_TEST_REQUIRE_SERVERS").as_deref() == Ok("1")
}

/// Says why a test skips, or panics when CI requires every test to run.
pub fn skip(why: &str) {
    assert!(
        !servers_required(),
        "{why}, but FEDIKV_TEST_REQUIRE_SERVERS=1"
    );
    eprintln!("skipping: {why}");
}

/// The URL in the environment variable `var`, or `None` after saying which
/// URL (`example`) would run `what`.
pub fn server_url(var: &str, example: &str, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            skip(&format!(
                "{var} is unset; set {var}={example} to run {what}"
            ));
            None
        }
    }
}

/// `<stem><sep><pid><sep><nanos><sep><seq>`: unique across tests and runs.
pub fn unique(stem: &str, sep: char) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let seq = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{stem}{sep}{}{sep}{nanos}{sep}{seq}", std::process::id())
}
