//! Where a server-backed test finds its server, and when it may skip: the one
//! copy of this logic that every fedikv crate's tests use (the conformance
//! suite, the library's backend tests, the CLI's tests).
//!
//! - [`server_url`]: the URL in a `FEDIKV_TEST_*_URL` variable, or a skip.
//! - [`skip`]: a visible skip (printed with its reason), or a failure when
//!   [`REQUIRE_SERVERS_VAR`] is `1`.
//! - [`unique_name`] and [`with_options`]: table names, key prefixes and
//!   URLs for tests that share a server with other tests and runs.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The environment variable that turns a missing server URL from a skip into
/// a failure. CI sets it to `1` so that server suites never skip silently.
pub const REQUIRE_SERVERS_VAR: &str = "FEDIKV_TEST_REQUIRE_SERVERS";

/// Returns the value of the environment variable `var` (a server URL such as
/// `FEDIKV_TEST_POSTGRES_URL`).
///
/// When `var` is unset or empty, prints
/// `skipping: set {var} to run this suite against a real server` to stderr and
/// returns `None`, so a factory can return `None` and the test passes without
/// running. When [`REQUIRE_SERVERS_VAR`] (`FEDIKV_TEST_REQUIRE_SERVERS`) is
/// `1`, it panics instead: CI must never skip a server suite.
///
/// # Panics
///
/// When the variable is missing and servers are required, or when its value
/// is not valid UTF-8.
pub fn server_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        Err(std::env::VarError::NotUnicode(_)) => panic!("{var} is not valid UTF-8"),
        _ => {
            skip(&format!(
                "set {var} to run this suite against a real server"
            ));
            None
        }
    }
}

/// Whether [`REQUIRE_SERVERS_VAR`] is `1`: no server test may skip.
pub fn servers_required() -> bool {
    std::env::var(REQUIRE_SERVERS_VAR).is_ok_and(|v| v == "1")
}

/// Says on stderr why a test skips (`skipping: {why}`), or panics with `why`
/// when [`servers_required`]: a test that cannot run is never a silent pass.
///
/// # Panics
///
/// When servers are required.
pub fn skip(why: &str) {
    assert!(
        !servers_required(),
        "{why}, but {REQUIRE_SERVERS_VAR}=1 (this run must not skip server tests)"
    );
    eprintln!("skipping: {why}");
}

/// `<stem><sep><pid><sep><nanos><sep><seq>`: a table name (`sep` `_`) or key
/// prefix (`sep` `-`) no other test of this run, and no other run, uses.
pub fn unique_name(stem: &str, sep: char) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let seq = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{stem}{sep}{}{sep}{nanos}{sep}{seq}", std::process::id())
}

/// `url` with `options` (`a=1&b=2`) added to its query string; `url` itself
/// when `options` is empty.
pub fn with_options(url: &str, options: &str) -> String {
    if options.is_empty() {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{options}")
}
