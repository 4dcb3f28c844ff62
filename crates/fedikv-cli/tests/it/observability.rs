//! `RUST_LOG` and `fedikv check`: the store operation's span on stderr
//! with its attributes (never the value or the password), and the health
//! check's output and exit codes.

use fedikv_conformance::server::server_url;
use tempfile::TempDir;
use url::Url;

use crate::{assert_code, command, stderr, stdout};

/// Text of the value the tests write; it must never show on stderr.
const SECRET: &str = "value-text-that-must-not-leak";

fn sqlite_store() -> (TempDir, String) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite:{}", dir.path().join("kv.sqlite3").display());
    (dir, url)
}

#[test]
fn rust_log_shows_the_operations_span_with_its_attributes() {
    let (_dir, store) = sqlite_store();
    let value = format!("{{\"s\":\"{SECRET}\"}}");
    let set = command(&["--store", &store, "set", r#"["a","b"]"#, &value])
        .output()
        .unwrap();
    assert_code(&set, 0);
    assert_eq!(stderr(&set), "", "no RUST_LOG, no output");

    let get = command(&["--store", &store, "get", r#"["a","b"]"#])
        .env("RUST_LOG", "fedikv=debug")
        .output()
        .unwrap();
    assert_code(&get, 0);
    assert_eq!(stdout(&get).trim(), value);
    let log = stderr(&get);
    let line = log
        .lines()
        .find(|line| line.contains("get{"))
        .unwrap_or_else(|| panic!("no get span on stderr: {log}"));
    for attribute in [
        r#"otel.name="get fedify_kv""#,
        r#"db.system.name="sqlite""#,
        r#"db.operation.name="get""#,
        r#"db.collection.name="fedify_kv""#,
        "close",
    ] {
        assert!(line.contains(attribute), "{attribute} not in {line}");
    }
    assert!(!log.contains(SECRET), "the value shows: {log}");
    assert!(
        !log.contains('\u{1b}'),
        "no colours when stderr is no terminal"
    );
}

#[test]
fn rust_log_never_shows_the_password() {
    let Some(url) = server_url("FEDIKV_TEST_POSTGRES_URL") else {
        return;
    };
    // The test server trusts local connections: any password works.
    let password = "pg-password-that-must-not-leak";
    let mut store = Url::parse(&url).expect("test URL");
    store.set_password(Some(password)).expect("a password");
    let output = command(&["--store", store.as_str(), "check"])
        .env("RUST_LOG", "fedikv=debug")
        .output()
        .unwrap();
    assert_code(&output, 0);
    let log = stderr(&output);
    assert!(log.contains(r#"db.system.name="postgresql""#), "{log}");
    assert!(!log.contains(password), "the password shows: {log}");
}

#[test]
fn check_prints_backend_server_version_and_latency() {
    let (_dir, store) = sqlite_store();
    let output = command(&["--store", &store, "check"]).output().unwrap();
    assert_code(&output, 0);
    let out = stdout(&output);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[0], "backend: sqlite");
    assert!(lines[1].starts_with("server: SQLite 3."), "{out}");
    let latency = lines[2]
        .strip_prefix("latency: ")
        .and_then(|l| l.strip_suffix(" ms"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(latency.parse::<f64>().is_ok_and(|ms| ms >= 0.0), "{out}");
}

#[test]
fn check_of_a_server_store_names_the_server() {
    for (var, server) in [
        ("FEDIKV_TEST_POSTGRES_URL", "server: PostgreSQL "),
        ("FEDIKV_TEST_REDIS_URL", "server: Redis "),
    ] {
        let Some(url) = server_url(var) else { continue };
        let output = command(&["--store", &url, "check"]).output().unwrap();
        assert_code(&output, 0);
        assert!(stdout(&output).contains(server), "{}", stdout(&output));
    }
}

#[test]
fn check_of_an_unreachable_store_exits_2() {
    // Port 1 on loopback: nothing listens there.
    let output = command(&["--store", "redis://127.0.0.1:1/", "check"])
        .output()
        .unwrap();
    assert_code(&output, 2);
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).starts_with("fedikv: "),
        "{}",
        stderr(&output)
    );
}
