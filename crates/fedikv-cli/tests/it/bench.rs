//! `fedikv bench` beyond the SQLite runs of `cli.rs`: the raw-driver floors
//! of the server backends (`--raw`), and the values of Fedify's side of the
//! comparison (`interop/bench.mjs`), which must be fedikv's byte for byte.
//! No timing is checked: performance is what `fedikv bench` reports, not a
//! test result.

use std::path::PathBuf;

use fedikv_conformance::server::skip;
use serde_json::Value;

use crate::{ServerStore, assert_code, command, json_lines};

const OPS: [&str; 8] = [
    "set",
    "get_hit",
    "get_miss",
    "get_hit_c64",
    "cas",
    "list",
    "set_ttl",
    "delete",
];

/// Runs `fedikv bench --raw -n 50` on `store` (no phase capped); asserts that the store and
/// each of its floors (`floors`: their `impl`s, in order) wrote every
/// operation's line, without errors, under one label.
fn assert_raw_floors(store: &ServerStore, label: &str, floors: &[&str]) {
    let output = command(&[
        "bench",
        "--raw",
        "-n",
        "50",
        "--phase-max",
        "10m",
        "--store",
        &store.store,
    ])
    .output()
    .expect("the fedikv binary runs");
    assert_code(&output, 0);
    let lines = json_lines(&output);
    let rows: Vec<(&str, &str, &str)> = lines
        .iter()
        .map(|l| {
            assert_eq!(l["errors"], 0, "{l}");
            (
                l["backend"].as_str().unwrap(),
                l["impl"].as_str().unwrap(),
                l["op"].as_str().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(&str, &str, &str)> = std::iter::once(&"fedikv")
        .chain(floors)
        .flat_map(|side| OPS.iter().map(move |op| (label, *side, *op)))
        .collect();
    assert_eq!(rows, expected);
    for floor in 1..=floors.len() {
        let raw = &lines[floor * OPS.len()];
        assert!(raw["driver"].as_str().unwrap().contains("alone"), "{raw}");
        assert_eq!(
            raw["harness"],
            "tokio multi-thread runtime, workload in a spawned task"
        );
    }
    if floors.contains(&"raw-1conn") {
        let held = &lines[2 * OPS.len()];
        assert!(
            held["driver"]
                .as_str()
                .unwrap()
                .ends_with("one connection held"),
            "{held}"
        );
    }
}

#[test]
fn postgres_has_a_pooled_and_a_one_connection_raw_floor() {
    if let Some(store) = ServerStore::table("FEDIKV_TEST_POSTGRES_URL", "bench_raw") {
        assert_raw_floors(&store, "postgres", &["raw", "raw-1conn"]);
    }
}

#[test]
fn mysql_has_a_pooled_and_a_one_connection_raw_floor() {
    if let Some(store) = ServerStore::table("FEDIKV_TEST_MYSQL_URL", "bench_raw") {
        assert_raw_floors(&store, "mysql", &["raw", "raw-1conn"]);
    }
}

#[test]
fn redis_has_a_raw_floor() {
    if let Some(store) = ServerStore::redis_prefix("bench-raw") {
        assert_raw_floors(&store, "redis", &["raw"]);
    }
}

/// The key of the workload's document 0, which the C clients read.
const DOCUMENT_0: &str = r#"["_fedify","remoteDocument","https://example.com/users/0"]"#;

/// Runs `fedikv bench -n 5 --c-client-fixture ACTION` on `store`.
fn fixture(store: &ServerStore, action: &str) -> std::process::Output {
    command(&[
        "bench",
        "-n",
        "5",
        "--c-client-fixture",
        action,
        "--store",
        &store.store,
    ])
    .output()
    .expect("the fedikv binary runs")
}

/// Fills `store` for the C clients: one line describing it, whose `get`
/// part `check_get` checks and returns the store URL the data is under,
/// with document 0 readable there through fedikv; then wipes it, after
/// which document 0 is gone.
fn assert_fixture(store: &ServerStore, backend: &str, check_get: impl Fn(&Value) -> String) {
    let output = fixture(store, "fill");
    assert_code(&output, 0);
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert_eq!(line["backend"], backend);
    assert_eq!(line["n"], 5);
    let filled = check_get(&line["get"]);
    let get = |code| {
        let output = command(&["--store", &filled, "get", DOCUMENT_0])
            .output()
            .expect("the fedikv binary runs");
        assert_code(&output, code);
        output
    };
    let read: Value = serde_json::from_slice(&get(0).stdout).expect("JSON");
    assert_eq!(read, fedikv::bench_support::document(0));
    assert_code(&fixture(store, "wipe"), 0);
    get(1);
}

#[test]
fn postgres_c_client_fixture_gives_fedikvs_statements_and_rows() {
    if let Some(store) = ServerStore::table("FEDIKV_TEST_POSTGRES_URL", "bench_fixture") {
        assert_fixture(&store, "postgres", |get| {
            let statement = get["statement"].as_str().unwrap();
            assert!(statement.starts_with("SELECT value FROM"), "{statement}");
            assert!(statement.contains(&store.name) && statement.contains("key = $1"));
            assert_eq!(
                get["params"][0],
                r#"{"_fedify","remoteDocument","https://example.com/users/0"}"#
            );
            store.store.clone()
        });
    }
}

#[test]
fn mysql_c_client_fixture_gives_fedikvs_statement() {
    if let Some(store) = ServerStore::table("FEDIKV_TEST_MYSQL_URL", "bench_fixture") {
        assert_fixture(&store, "mysql", |get| {
            let statement = get["statement"].as_str().unwrap();
            assert!(statement.contains(&store.name) && statement.contains("`key` = ?"));
            assert_eq!(get["params"][0], DOCUMENT_0);
            store.store.clone()
        });
    }
}

#[test]
fn redis_c_client_fixture_gives_fedikvs_key() {
    if let Some(store) = ServerStore::redis_prefix("bench-fixture") {
        assert_fixture(&store, "redis", |get| {
            assert_eq!(
                get["key"],
                format!(
                    "{}_fedify::remoteDocument::https_://example.com/users/0",
                    store.name
                )
            );
            // The benchmark's database (15 when the URL names none).
            let db = get["db"].as_i64().unwrap();
            format!(
                "{}/{db}?prefix={}",
                store.url.trim_end_matches('/'),
                store.name
            )
        });
    }
}

/// Node 24 from `interop/node_modules`, or `None` after saying why.
fn node() -> Option<PathBuf> {
    let node = interop_dir().join("node_modules/.bin/node");
    if node.exists() {
        Some(node)
    } else {
        skip("Node is not installed in interop/node_modules: run scripts/interop-setup.sh");
        None
    }
}

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop")
}

#[test]
fn fedify_side_writes_fedikvs_documents_byte_for_byte() {
    let Some(node) = node() else { return };
    let indexes = [0, 1, 7, 42, 999, 19_999, 123_456, 9_999_999];
    let list = indexes.map(|i| i.to_string()).join(",");
    let output = std::process::Command::new(node)
        .arg(interop_dir().join("bench.mjs"))
        .args(["--documents", &list])
        .output()
        .expect("Node runs");
    assert_code(&output, 0);
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), indexes.len());
    for (i, line) in indexes.iter().zip(lines) {
        let expected = fedikv::bench_support::document(*i).to_string();
        assert_eq!(line, expected, "document {i}");
        let parsed: Value = serde_json::from_str(line).unwrap();
        assert_eq!(
            parsed["documentUrl"],
            format!("https://example.com/users/{i}")
        );
    }
}
