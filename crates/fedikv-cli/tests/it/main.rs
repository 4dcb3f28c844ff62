//! The `fedikv` binary end to end, one test binary: a module per area —
//! `cli` (every command on SQLite files), `bad_rows` (rule V5 through the
//! bulk commands), `copy` (between backends), `denokv` (KV Connect),
//! `interop_generative` (generated operations against Fedify's stores) and
//! `observability` (`RUST_LOG`, `fedikv check`). The
//! helpers every module runs the binary with are here; server URLs come
//! from [`fedikv_conformance::server`] (skip, or fail under
//! `FEDIKV_TEST_REQUIRE_SERVERS=1`).

mod bad_rows;
mod bench;
mod cli;
mod copy;
mod denokv;
mod interop_generative;
mod observability;

use std::process::{Command, Output, Stdio};

use fedikv_conformance::server::{server_url, unique_name, with_options};
use serde_json::Value;

/// The binary with `args`, without `FEDIKV_STORE` or `RUST_LOG` and with
/// stdin closed.
fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fedikv"));
    command
        .args(args)
        .env_remove("FEDIKV_STORE")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    command
}

/// Runs `fedikv --store <store> args...` to completion.
fn run_on(store: &str, args: &[&str]) -> Output {
    command(&["--store", store])
        .args(args)
        .output()
        .expect("the fedikv binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 stdout")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("UTF-8 stderr")
}

/// Asserts the exit code, showing stdout and stderr when it differs.
#[track_caller]
fn assert_code(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(output),
        stderr(output)
    );
}

/// The JSON objects of a command's output, one per line.
fn json_lines(output: &Output) -> Vec<Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
        .collect()
}

/// A store of one test alone on the server in the environment variable
/// `var`, or `None` (after saying why) to skip.
struct ServerStore {
    /// The server's URL, as the variable names it.
    url: String,
    /// The test's own table (SQL servers) or key prefix (Redis).
    name: String,
    /// The store URL for `--store`: `url` on that table, sweeping off, or
    /// under that prefix.
    store: String,
}

impl ServerStore {
    /// A table named `<stem>_<pid>_<nanos>_<seq>` on a SQL server.
    fn table(var: &str, stem: &str) -> Option<Self> {
        let url = server_url(var)?;
        let name = unique_name(stem, '_');
        let store = with_options(&url, &format!("table={name}&sweep=off"));
        Some(Self { url, name, store })
    }

    /// A key prefix `<stem>-<pid>-<nanos>-<seq>::` on the Redis server of
    /// `FEDIKV_TEST_REDIS_URL`.
    fn redis_prefix(stem: &str) -> Option<Self> {
        let url = server_url("FEDIKV_TEST_REDIS_URL")?;
        let name = format!("{}::", unique_name(stem, '-'));
        let store = with_options(&url, &format!("prefix={name}"));
        Some(Self { url, name, store })
    }
}
