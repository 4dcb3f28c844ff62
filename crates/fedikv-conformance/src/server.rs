//! [`server_url`]: where a server-backed suite finds its server, and when it
//! may skip.

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
            if servers_required() {
                panic!(
                    "{var} is not set but {REQUIRE_SERVERS_VAR}=1: set {var} to the server's URL \
                     (this run must not skip server suites)"
                );
            }
            eprintln!("skipping: set {var} to run this suite against a real server");
            None
        }
    }
}

fn servers_required() -> bool {
    std::env::var(REQUIRE_SERVERS_VAR).is_ok_and(|v| v == "1")
}
