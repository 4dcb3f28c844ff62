//! The `fedikv` binary end to end, against temporary SQLite files: every
//! command, exit codes (0 done, 1 absent / not swapped, 2 error), stdin
//! values, JSON Lines listing, and bad input reported as one `fedikv:` line.

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::{assert_code, command, json_lines, stderr, stdout};

/// A temporary directory with a store URL in it.
struct Store {
    /// Kept so the directory lives as long as the store.
    _dir: TempDir,
    url: String,
}

impl Store {
    fn new() -> Self {
        Self::with_options("")
    }

    /// A store whose URL has `options` as its query string.
    fn with_options(options: &str) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let file = dir.path().join("test.sqlite3");
        let query = if options.is_empty() {
            String::new()
        } else {
            format!("?{options}")
        };
        let url = format!("sqlite:{}{query}", file.display());
        Self { _dir: dir, url }
    }

    /// Runs `fedikv --store <url> args...`.
    fn run(&self, args: &[&str]) -> Output {
        let mut all = vec!["--store", &self.url];
        all.extend_from_slice(args);
        fedikv(&all, None)
    }
}

/// Runs the binary with `args` (and `stdin`), without `FEDIKV_STORE`.
fn fedikv(args: &[&str], stdin: Option<&[u8]>) -> Output {
    fedikv_in(None, args, stdin, &[])
}

fn fedikv_in(
    cwd: Option<&Path>,
    args: &[&str],
    stdin: Option<&[u8]>,
    env: &[(&str, &str)],
) -> Output {
    let mut command = command(args);
    command
        .env("RUST_BACKTRACE", "1")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if stdin.is_some() {
        command.stdin(Stdio::piped());
    }
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    let mut child = command.spawn().expect("the fedikv binary runs");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        pipe.write_all(input).expect("write stdin");
    }
    child.wait_with_output().expect("fedikv finishes")
}

/// Asserts exit code `code`, and an empty stderr.
#[track_caller]
fn assert_ok(output: &Output, code: i32) {
    assert_code(output, code);
    assert_eq!(stderr(output), "", "nothing on stderr");
}

/// Asserts exit code 2 and exactly one `fedikv: ...` line on stderr holding
/// `needle`, with no trace of a panic. Returns the line.
#[track_caller]
fn assert_error(output: &Output, needle: &str) -> String {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    assert!(err.starts_with("fedikv: "), "{err}");
    for bad in ["panicked", "backtrace", "internal error", "RUST_BACKTRACE"] {
        assert!(!err.contains(bad), "no panic text: {err}");
    }
    assert!(err.contains(needle), "{needle:?} in {err}");
    assert_eq!(stdout(output), "", "nothing on stdout");
    err
}

#[test]
fn set_then_get_prints_the_value() {
    let store = Store::new();
    let set = store.run(&[
        "set",
        r#"["app","greeting"]"#,
        r#"{"text":"hello","n":[1,2.5,null]}"#,
    ]);
    assert_ok(&set, 0);
    assert_eq!(stdout(&set), "");
    let get = store.run(&["get", r#"["app","greeting"]"#]);
    assert_ok(&get, 0);
    let printed: Value = serde_json::from_str(stdout(&get).trim_end()).unwrap();
    assert_eq!(printed, json!({"text": "hello", "n": [1, 2.5, null]}));
    assert!(stdout(&get).ends_with("}\n"), "one line of compact JSON");
    assert_eq!(stdout(&get).lines().count(), 1);
}

#[test]
fn get_of_an_absent_key_exits_1_silently() {
    let store = Store::new();
    let get = store.run(&["get", r#"["nothing","here"]"#]);
    assert_ok(&get, 1);
    assert_eq!(stdout(&get), "");
}

#[test]
fn falsy_values_are_values() {
    let store = Store::new();
    for value in ["null", "false", "0", r#""""#, "[]", "{}"] {
        assert_ok(&store.run(&["set", r#"["v"]"#, value]), 0);
        let get = store.run(&["get", r#"["v"]"#]);
        assert_ok(&get, 0);
        assert_eq!(stdout(&get), format!("{value}\n"));
    }
}

#[test]
fn negative_numbers_are_values_not_flags() {
    let store = Store::new();
    assert_ok(&store.run(&["set", r#"["n"]"#, "-5"]), 0);
    assert_eq!(stdout(&store.run(&["get", r#"["n"]"#])), "-5\n");
}

#[test]
fn delete_removes_and_tolerates_missing_keys() {
    let store = Store::new();
    assert_ok(&store.run(&["set", r#"["k"]"#, "1"]), 0);
    assert_ok(&store.run(&["delete", r#"["k"]"#]), 0);
    assert_ok(&store.run(&["get", r#"["k"]"#]), 1);
    assert_ok(&store.run(&["delete", r#"["k"]"#]), 0);
}

#[test]
fn ttl_expires_the_entry_and_sweep_removes_it() {
    let store = Store::with_options("sweep=off");
    assert_ok(
        &store.run(&["set", r#"["short"]"#, r#""soon gone""#, "--ttl", "300ms"]),
        0,
    );
    assert_ok(
        &store.run(&["set", r#"["long"]"#, r#""stays""#, "--ttl", "1h30m"]),
        0,
    );
    assert_ok(&store.run(&["get", r#"["short"]"#]), 0);
    std::thread::sleep(Duration::from_millis(600));
    assert_ok(&store.run(&["get", r#"["short"]"#]), 1);
    let sweep = store.run(&["sweep"]);
    assert_ok(&sweep, 0);
    assert_eq!(stdout(&sweep), "removed 1 expired entry\n");
    let sweep = store.run(&["sweep"]);
    assert_eq!(stdout(&sweep), "removed 0 expired entries\n");
    assert_ok(&store.run(&["get", r#"["long"]"#]), 0);
}

#[test]
fn cas_swaps_only_on_a_match() {
    let store = Store::new();
    let key = r#"["_fedify","nonce","abc"]"#;
    let first = store.run(&["cas", key, "--absent", "--new", "true"]);
    assert_ok(&first, 0);
    assert_eq!(stdout(&first), "true\n");
    let again = store.run(&["cas", key, "--absent", "--new", "true"]);
    assert_ok(&again, 1);
    assert_eq!(stdout(&again), "false\n");
    let wrong = store.run(&["cas", key, "--expect", "false", "--delete"]);
    assert_ok(&wrong, 1);
    assert_ok(&store.run(&["get", key]), 0);
    assert_ok(
        &store.run(&["cas", key, "--expect", "true", "--new", r#"{"b":1,"a":2}"#]),
        0,
    );
    // Deep equality: object key order does not matter, 2 == 2.0.
    assert_ok(
        &store.run(&["cas", key, "--expect", r#"{"a":2.0,"b":1}"#, "--delete"]),
        0,
    );
    assert_ok(&store.run(&["get", key]), 1);
}

#[test]
fn cas_with_a_ttl_writes_an_expiring_value() {
    let store = Store::new();
    assert_ok(
        &store.run(&[
            "cas",
            r#"["lock"]"#,
            "--absent",
            "--new",
            "1",
            "--ttl",
            "200ms",
        ]),
        0,
    );
    assert_ok(&store.run(&["get", r#"["lock"]"#]), 0);
    std::thread::sleep(Duration::from_millis(500));
    assert_ok(&store.run(&["get", r#"["lock"]"#]), 1);
}

#[test]
fn set_reads_a_large_value_from_stdin() {
    let store = Store::new();
    let big = json!({"payload": "x".repeat(1 << 20), "list": (0..1000).collect::<Vec<_>>()});
    let text = serde_json::to_vec_pretty(&big).unwrap();
    let mut args = vec!["--store", store.url.as_str()];
    args.extend(["set", r#"["big"]"#, "-"]);
    assert_ok(&fedikv(&args, Some(&text)), 0);
    let get = store.run(&["get", r#"["big"]"#]);
    assert_ok(&get, 0);
    assert_eq!(serde_json::from_str::<Value>(&stdout(&get)).unwrap(), big);
}

#[test]
fn list_prints_json_lines_under_the_prefix() {
    let store = Store::new();
    let keys = [
        json!(["a"]),
        json!(["a", "b"]),
        json!(["a", "%"]),
        json!(["a", "b", "c"]),
        json!(["ab"]),
        json!(["A", "b"]),
    ];
    for (i, key) in keys.iter().enumerate() {
        assert_ok(
            &store.run(&["set", &key.to_string(), &json!({"i": i}).to_string()]),
            0,
        );
    }
    let list = store.run(&["list", r#"["a"]"#]);
    assert_ok(&list, 0);
    let mut seen: Vec<(Value, Value)> = stdout(&list)
        .lines()
        .map(|line| {
            let entry: Value = serde_json::from_str(line).expect("each line is JSON");
            let object = entry.as_object().expect("an object per line");
            assert_eq!(object.len(), 3, "{line}");
            assert_eq!(
                object["ttl_ms"],
                Value::Null,
                "written without a TTL: {line}"
            );
            (object["key"].clone(), object["value"].clone())
        })
        .collect();
    seen.sort_by_key(|(key, _)| key.to_string());
    let mut expected: Vec<(Value, Value)> = [0, 1, 2, 3]
        .into_iter()
        .map(|i| (keys[i].clone(), json!({"i": i})))
        .collect();
    expected.sort_by_key(|(key, _)| key.to_string());
    assert_eq!(seen, expected);

    for everything in [vec!["list"], vec!["list", "[]"]] {
        let all = store.run(&everything);
        assert_ok(&all, 0);
        assert_eq!(stdout(&all).lines().count(), keys.len());
    }
    let none = store.run(&["list", r#"["zzz"]"#]);
    assert_ok(&none, 0);
    assert_eq!(stdout(&none), "");
}

#[test]
fn store_comes_from_the_environment_or_the_default_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("env.sqlite3").display());
    let env = [("FEDIKV_STORE", url.as_str())];
    assert_ok(&fedikv_in(None, &["set", r#"["e"]"#, "1"], None, &env), 0);
    assert_ok(&fedikv_in(None, &["get", r#"["e"]"#], None, &env), 0);
    assert!(dir.path().join("env.sqlite3").exists());

    let cwd = tempfile::tempdir().unwrap();
    assert_ok(
        &fedikv_in(Some(cwd.path()), &["set", r#"["d"]"#, "2"], None, &[]),
        0,
    );
    assert!(
        cwd.path().join("fedikv.sqlite3").exists(),
        "default sqlite:fedikv.sqlite3"
    );
    let get = fedikv_in(Some(cwd.path()), &["get", r#"["d"]"#], None, &[]);
    assert_eq!(stdout(&get), "2\n");
}

#[test]
fn bad_keys_are_one_line_errors() {
    let store = Store::new();
    assert_error(&store.run(&["get", "app"]), "JSON array of strings");
    assert_error(&store.run(&["get", r#"["a","#]), "JSON array of strings");
    assert_error(&store.run(&["get", "[1,2]"]), "JSON array of strings");
    assert_error(&store.run(&["get", "[]"]), "at least one component");
    assert_error(&store.run(&["set", "[]", "1"]), "at least one component");
    assert_error(&store.run(&["list", "{"]), "JSON array of strings");
}

/// Keys and values are JavaScript strings (K1, V1): NUL and lone surrogates
/// go in and come out as `\u0000` / `\ud800` escapes, exactly that row is
/// addressed, and a value nested 20,000 levels deep round-trips.
#[test]
fn javascript_strings_and_deep_values_round_trip() {
    let store = Store::new();
    let key = r#"["p","a\u0000b","\ud800"]"#;
    // As JSON.stringify prints it: U+2028 and U+FEFF as they are, lone
    // surrogates escaped (object keys in fedikv's order).
    let value = "{\"s\":\"\u{2028}\u{feff}😀\",\"\\udc00\":\"x\\ud83d\"}";
    assert_eq!(store.run(&["set", key, value]).status.code(), Some(0));
    let got = store.run(&["get", key]);
    assert_eq!(String::from_utf8_lossy(&got.stdout).trim(), value);
    let other = store.run(&["get", r#"["p","a\u0000b","\udc00"]"#]);
    assert_eq!(
        other.status.code(),
        Some(1),
        "another lone surrogate is another key"
    );
    let listed = store.run(&["list", r#"["p"]"#]);
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout).trim(),
        format!(r#"{{"key":{key},"value":{value},"ttl_ms":null}}"#)
    );
    let deep = format!("{}1{}", "[".repeat(20_000), "]".repeat(20_000));
    let set = fedikv(
        &["--store", &store.url, "set", r#"["deep"]"#, "-"],
        Some(deep.as_bytes()),
    );
    assert_eq!(
        set.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let got = store.run(&["get", r#"["deep"]"#]);
    assert_eq!(String::from_utf8_lossy(&got.stdout).trim(), deep);
    assert_eq!(store.run(&["delete", key]).status.code(), Some(0));
    assert_eq!(store.run(&["get", key]).status.code(), Some(1));
}

/// A row Fedify wrote with lone surrogates and NUL in its key and value is
/// copied byte for byte: `fedikv copy` writes back what it read, unchanged.
#[test]
fn copy_keeps_javascript_strings_byte_for_byte() {
    let (from, to) = (Store::new(), Store::new());
    assert_eq!(from.run(&["set", r#"["x"]"#, "1"]).status.code(), Some(0));
    let path = |store: &Store| store.url.trim_start_matches("sqlite:").to_owned();
    let key = r#"["fedify","\ud83d","a\u0000b"]"#;
    // As JSON.stringify writes it: U+10FFFF (a valid pair) as it is.
    let value = "{\"a\":\"\\udc00\",\"b\":[1,\"\\u0000\",\"\\ud800\u{10FFFF}\"]}";
    let db = rusqlite::Connection::open(path(&from)).unwrap();
    db.execute(
        "INSERT INTO fedify_kv (key, value, created, expires) VALUES (?1, ?2, 0, NULL)",
        (key, value),
    )
    .unwrap();
    let output = copy(&from.url, &to.url, &[]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let copied: (String, String) = rusqlite::Connection::open(path(&to))
        .unwrap()
        .query_row(
            "SELECT key, value FROM fedify_kv WHERE key LIKE '[\"fedify\"%'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!(copied, (key.to_owned(), value.to_owned()));
}

#[test]
fn bad_values_and_ttls_are_one_line_errors() {
    let store = Store::new();
    assert_error(&store.run(&["set", r#"["k"]"#, "hello"]), "not valid JSON");
    assert_error(
        &store.run(&["set", r#"["k"]"#, "{\"a\":"]),
        "not valid JSON",
    );
    assert_error(
        &fedikv(
            &["--store", &store.url, "set", r#"["k"]"#, "-"],
            Some(b"{oops"),
        ),
        "stdin",
    );
    assert_error(
        &store.run(&["set", r#"["k"]"#, "1", "--ttl", "5 minutes"]),
        "--ttl",
    );
    assert_error(
        &store.run(&["set", r#"["k"]"#, "1", "--ttl", "-1s"]),
        "--ttl",
    );
    assert_error(
        &store.run(&["cas", r#"["k"]"#, "--expect", "x", "--delete"]),
        "--expect",
    );
    assert_error(
        &store.run(&["cas", r#"["k"]"#, "--absent", "--new", "{"]),
        "--new",
    );
    assert_error(
        &store.run(&["cas", r#"["k"]"#, "--absent", "--new", "1", "--ttl", "1y"]),
        "--ttl",
    );
    // Nothing was written by the failed commands.
    assert_ok(&store.run(&["get", r#"["k"]"#]), 1);
}

#[test]
fn bad_store_urls_are_one_line_errors() {
    let key = r#"["k"]"#;
    assert_error(
        &fedikv(&["--store", "ftp://example.com/x", "get", key], None),
        "scheme",
    );
    assert_error(
        &fedikv(&["--store", "no-scheme-here", "get", key], None),
        "scheme",
    );
    assert_error(
        &fedikv(&["--store", "postgres://[bad", "get", key], None),
        "URL",
    );
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().display());
    assert_error(&fedikv(&["--store", &url, "get", key], None), "directory");
    assert_error(
        &fedikv(
            &["--store", "memory:", "--store", "memory:", "get", key],
            None,
        ),
        "only `fedikv bench`",
    );
}

#[test]
fn passwords_never_appear_in_output() {
    for url in [
        "postgres://u:secret@127.0.0.1:1/db",
        "mysql://u:secret@127.0.0.1:1/db",
        "redis://u:secret@127.0.0.1:1/",
        "postgres://u:secret@[bad/db",
    ] {
        let output = fedikv(&["--store", url, "get", r#"["k"]"#], None);
        let err = assert_error(&output, "");
        assert!(!err.contains("secret"), "{err}");
        let output = fedikv(&["--store", url, "bench", "-n", "10"], None);
        assert_eq!(output.status.code(), Some(2));
        assert!(!stderr(&output).contains("secret"), "{}", stderr(&output));
        assert!(!stdout(&output).contains("secret"), "{}", stdout(&output));
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["get"],
        vec!["cas", r#"["k"]"#, "--new", "1"],
        vec!["cas", r#"["k"]"#, "--absent"],
        vec!["cas", r#"["k"]"#, "--absent", "--expect", "1", "--new", "1"],
        vec!["cas", r#"["k"]"#, "--absent", "--delete", "--ttl", "1s"],
        vec!["frobnicate"],
    ] {
        let output = fedikv(&args, None);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(!stderr(&output).contains("panicked"));
    }
    let help = fedikv(&["--help"], None);
    assert_ok(&help, 0);
    assert!(stdout(&help).contains("bench"));
}

/// Result lines of a bench run.
fn bench_lines(output: &Output) -> Vec<Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON line"))
        .collect()
}

#[test]
fn bench_writes_one_peer_format_line_per_operation() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new();
    let tmpdir = tmp.path().to_str().unwrap();
    let output = fedikv_in(
        None,
        &[
            "bench",
            "--store",
            "sqlite:",
            "--store",
            &store.url,
            "--raw",
            "-n",
            "300",
            // No phase may stop early on a slow machine (debug build).
            "--phase-max",
            "10m",
        ],
        None,
        &[("TMPDIR", tmpdir)],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines = bench_lines(&output);
    let ops = [
        "set",
        "get_hit",
        "get_miss",
        "get_hit_c64",
        "cas",
        "list",
        "set_ttl",
        "delete",
    ];
    assert_eq!(lines.len(), 4 * ops.len());
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["suite"], "fedify-kv-bench");
        assert_eq!(line["op"], ops[i % ops.len()]);
        assert_eq!(line["value_bytes"], 1024);
        assert_eq!(line["errors"], 0, "{line}");
        assert_eq!(
            line["n"],
            if line["op"] == "list" { 50 } else { 300 },
            "{line}"
        );
        assert!(line["runtime"].as_str().unwrap().starts_with("rust "));
        assert!(line["ops_per_sec"].as_f64().unwrap() > 0.0);
        for field in [
            "ts", "host", "server", "p50_us", "p90_us", "p99_us", "mean_us", "max_us",
        ] {
            assert!(!line[field].is_null(), "{field} in {line}");
        }
    }
    let labels: Vec<(&str, &str)> = lines
        .iter()
        .step_by(ops.len())
        .map(|l| (l["backend"].as_str().unwrap(), l["impl"].as_str().unwrap()))
        .collect();
    assert_eq!(
        labels,
        [
            ("sqlite", "fedikv"),
            ("sqlite", "raw"),
            ("sqlite#2", "fedikv"),
            ("sqlite#2", "raw")
        ]
    );
    let list = &lines[5];
    assert_eq!(list["entries_per_call"], 1000);
    assert_eq!(list["total_keys_in_store"], 300 + 1000 + 500 + 1);
    // Temporary databases are gone, and the user's file holds no bench data.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    let user_list = store.run(&["list"]);
    assert_ok(&user_list, 0);
    assert_eq!(stdout(&user_list), "");
}

#[test]
fn bench_appends_to_out_and_reports_failed_stores() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results.jsonl");
    let out_arg = out.to_str().unwrap();
    let args = ["bench", "--store", "memory:", "-n", "100", "--out", out_arg];
    assert_eq!(fedikv(&args, None).status.code(), Some(0));
    let failing = fedikv(
        &[
            "bench",
            "--store",
            "postgres://postgres@127.0.0.1:1/x",
            "--store",
            "memory:",
            "-n",
            "100",
            "--out",
            out_arg,
        ],
        None,
    );
    assert_eq!(failing.status.code(), Some(2));
    assert!(
        stderr(&failing)
            .lines()
            .last()
            .unwrap()
            .starts_with("fedikv: 1 of 2 stores failed")
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 8 + 1 + 8);
    assert_eq!(lines[8]["op"], "_error");
    assert_eq!(lines[8]["phase"], "open");
    assert_eq!(lines[8]["backend"], "postgres");
    assert_eq!(lines[16]["backend"], "memory");
}

#[test]
fn large_table_scenario_measures_empty_and_full_tables() {
    let output = fedikv(
        &[
            "bench",
            "--store",
            "memory:",
            "--scenario",
            "large-table",
            "--rows",
            "2000",
            "-n",
            "100",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let ops: Vec<String> = bench_lines(&output)
        .iter()
        .map(|l| l["op"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ops,
        [
            "set@empty",
            "get@empty",
            "cas@empty",
            "list@empty",
            "populate@2k-half-expired",
            "set@2k-half-expired",
            "get@2k-half-expired",
            "cas@2k-half-expired",
            "list@2k-half-expired",
        ]
    );
}

/// Writes `key` = `value` (JSON texts) with an optional TTL.
fn put(store: &Store, key: &str, value: &str, ttl: Option<&str>) {
    let mut args = vec!["set", key, value];
    if let Some(ttl) = ttl {
        args.extend(["--ttl", ttl]);
    }
    assert_ok(&store.run(&args), 0);
}

#[test]
fn list_limit_ttls_and_table() {
    let store = Store::new();
    for i in 0..5 {
        put(&store, &format!(r#"["l","{i}"]"#), &i.to_string(), None);
    }
    put(&store, r#"["l","ttl"]"#, r#""line\nbreak""#, Some("1h"));
    let limited = store.run(&["list", r#"["l"]"#, "--limit", "2"]);
    assert_ok(&limited, 0);
    assert_eq!(json_lines(&limited).len(), 2);
    let all = json_lines(&store.run(&["list", r#"["l"]"#, "--format", "json"]));
    let ttl_entry = all
        .iter()
        .find(|e| e["key"] == json!(["l", "ttl"]))
        .unwrap();
    let ms = ttl_entry["ttl_ms"].as_u64().expect("a TTL in milliseconds");
    assert!(ms <= 3_600_000 && ms > 3_500_000, "ttl_ms {ms}");
    let table = store.run(&["list", r#"["l"]"#, "--format", "table"]);
    assert_ok(&table, 0);
    let text = stdout(&table);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 7, "a header and 6 rows:\n{text}");
    assert!(lines[0].starts_with("KEY") && lines[0].contains("TTL") && lines[0].contains("VALUE"));
    let row = lines.iter().find(|l| l.contains(r#"["l","ttl"]"#)).unwrap();
    assert!(
        row.contains("59m"),
        "the TTL column shows the time left: {row}"
    );
    let forever = lines.iter().find(|l| l.contains(r#"["l","0"]"#)).unwrap();
    assert!(forever.contains(" - "), "no TTL is shown as -: {forever}");
}

#[test]
fn count_and_stats_tally_entries_ttls_and_expired_rows() {
    let store = Store::with_options("sweep=off");
    put(
        &store,
        r#"["_fedify","remoteDocument","a"]"#,
        "1",
        Some("1h"),
    );
    put(&store, r#"["_fedify","remoteDocument","b"]"#, "2", None);
    put(
        &store,
        r#"["_fedify","remoteDocument","gone"]"#,
        "3",
        Some("0s"),
    );
    put(&store, r#"["_fedify","publicKey","k"]"#, "4", None);
    put(&store, r#"["_fedify"]"#, "5", None);
    put(&store, r#"["other","x"]"#, "6", Some("0s"));
    let count = json_lines(&store.run(&["count", r#"["_fedify"]"#]));
    assert_eq!(
        count,
        [
            json!({"prefix": ["_fedify"], "entries": 4, "with_ttl": 1, "without_ttl": 3, "expired_present": 1})
        ]
    );
    let everything = json_lines(&store.run(&["count"]));
    assert_eq!(everything[0]["entries"], 4);
    assert_eq!(everything[0]["expired_present"], 2);
    let stats = json_lines(&store.run(&["stats", r#"["_fedify"]"#]));
    assert_eq!(
        stats,
        [
            json!({"prefix": ["_fedify"], "entries": 1, "with_ttl": 0, "without_ttl": 1, "expired_present": null}),
            json!({"prefix": ["_fedify","publicKey"], "entries": 1, "with_ttl": 0, "without_ttl": 1, "expired_present": 0}),
            json!({"prefix": ["_fedify","remoteDocument"], "entries": 2, "with_ttl": 1, "without_ttl": 1, "expired_present": 1}),
            json!({"prefix": ["_fedify"], "total": true, "entries": 4, "with_ttl": 1, "without_ttl": 3, "expired_present": 1}),
        ]
    );
    let table = stdout(&store.run(&["stats", "--format", "table"]));
    assert!(table.starts_with("PREFIX"), "{table}");
    assert!(
        table.lines().last().unwrap().starts_with("total"),
        "{table}"
    );
    assert_error(&store.run(&["stats", "--depth", "0"]), "--depth");
    assert_error(&store.run(&["count", "nope"]), "JSON array of strings");
}

#[test]
fn stats_stops_past_max_groups() {
    let store = Store::new();
    fill(&store.url, 30);
    // One group per key at --depth 2 under ["docs"].
    let message = assert_error(
        &store.run(&["stats", r#"["docs"]"#, "--max-groups", "29"]),
        "more than 29 groups",
    );
    assert!(message.contains("--depth"), "{message}");
    assert!(stdout(&store.run(&["stats", "--max-groups", "29"])).is_empty());
    let stats = json_lines(&store.run(&["stats", r#"["docs"]"#, "--max-groups", "30"]));
    assert_eq!(stats.len(), 31, "30 groups and the total");
    assert_eq!(stats[30]["entries"], 30);
    // The default leaves room for such a store; zero is refused.
    assert_eq!(json_lines(&store.run(&["stats"])).len(), 31);
    assert_error(&store.run(&["stats", "--max-groups", "0"]), "--max-groups");
}

#[test]
fn delete_prefix_purges_with_dry_run_and_no_ttl_only() {
    let store = Store::new();
    for i in 0..30 {
        let ttl = (i % 3 == 0).then_some("1h");
        put(&store, &format!(r#"["cache","{i}"]"#), &i.to_string(), ttl);
    }
    put(&store, r#"["cachet"]"#, "1", None);
    put(&store, r#"["keep","x"]"#, "1", None);
    let dry = json_lines(&store.run(&[
        "delete",
        "--prefix",
        r#"["cache"]"#,
        "--no-ttl-only",
        "--dry-run",
    ]));
    assert_eq!(dry[0]["matched"], 20);
    assert_eq!(dry[0]["deleted"], 0);
    assert_eq!(
        json_lines(&store.run(&["list", r#"["cache"]"#])).len(),
        30,
        "a dry run deletes nothing"
    );
    let purged = json_lines(&store.run(&["delete", "--prefix", r#"["cache"]"#, "--no-ttl-only"]));
    assert_eq!(purged[0]["deleted"], 20);
    let left = json_lines(&store.run(&["list", r#"["cache"]"#]));
    assert_eq!(left.len(), 10);
    assert!(
        left.iter().all(|e| e["ttl_ms"].is_u64()),
        "only entries with a TTL are left"
    );
    let all = json_lines(&store.run(&["delete", "--prefix", r#"["cache"]"#]));
    assert_eq!(all[0]["deleted"], 10);
    assert_eq!(stdout(&store.run(&["list", r#"["cache"]"#])), "");
    assert_ok(&store.run(&["get", r#"["cachet"]"#]), 0);
    assert_ok(&store.run(&["get", r#"["keep","x"]"#]), 0);
    assert_error(&store.run(&["delete", "--dry-run", r#"["k"]"#]), "--prefix");
}

#[test]
fn copy_moves_live_entries_with_their_ttls() {
    let from = Store::new();
    let to = Store::new();
    fill(&from.url, 1200);
    put(&from, r#"["other","x"]"#, "1", None);
    put(&from, r#"["docs","gone"]"#, "1", Some("0s"));
    let copied = copy(&from.url, &to.url, &["--prefix", r#"["docs"]"#]);
    assert_ok(&copied, 0);
    assert_eq!(json_lines(&copied)[0]["copied"], 1200);
    assert_same_entries(&from, &to, r#"["docs"]"#);
    assert_eq!(
        stdout(&to.run(&["get", r#"["other","x"]"#])),
        "",
        "outside the prefix"
    );
    // Re-running changes nothing and duplicates nothing.
    assert_ok(&copy(&from.url, &to.url, &[]), 0);
    assert_same_entries(&from, &to, "[]");
}

/// Writes `["docs","<i>"]` = `{"i":i}` for `i < n` into the store at `url`
/// through the library (one process instead of `n`), every other one with a
/// TTL of an hour.
fn fill(url: &str, n: usize) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = fedikv::open(url).await.unwrap();
        for i in 0..n {
            let key = fedikv::KvKey::new(["docs".to_owned(), format!("{i:05}")]).unwrap();
            let ttl = (i % 2 == 0).then_some(Duration::from_secs(3600));
            let options = fedikv::SetOptions::with_ttl(ttl);
            store.set(&key, &json!({"i": i}), options).await.unwrap();
        }
    });
}

/// Runs `fedikv copy --from FROM --to TO EXTRA...`.
fn copy(from: &str, to: &str, extra: &[&str]) -> Output {
    let mut args = vec!["copy", "--from", from, "--to", to];
    args.extend_from_slice(extra);
    fedikv(&args, None)
}

/// Both stores list the same keys and values under `prefix`, and the same
/// TTLs within a few seconds.
fn assert_same_entries(from: &Store, to: &Store, prefix: &str) {
    let sorted = |store: &Store| {
        let mut lines = json_lines(&store.run(&["list", prefix]));
        lines.sort_by_key(|e| e["key"].to_string());
        lines
    };
    let (a, b) = (sorted(from), sorted(to));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!((&x["key"], &x["value"]), (&y["key"], &y["value"]));
        match (x["ttl_ms"].as_u64(), y["ttl_ms"].as_u64()) {
            (None, None) => {}
            (Some(p), Some(q)) => {
                assert!(p.abs_diff(q) < 5_000, "TTLs {p} and {q} of {}", x["key"])
            }
            other => panic!("TTL of {} differs: {other:?}", x["key"]),
        }
    }
}

#[test]
fn copy_refuses_bad_input_and_writes_nothing() {
    let from = Store::new();
    put(&from, r#"["a"]"#, "1", None);
    let to = Store::new();
    let same_url = format!("{}?table=fedify_kv", from.url);
    assert_error(&copy(&from.url, &same_url, &[]), "same store");
    let not_array = copy(&from.url, &to.url, &["--prefix", r#"{"a":1}"#]);
    assert_error(&not_array, "--prefix");
    let unreachable = copy(&from.url, "postgres://nobody@127.0.0.1:9/none", &[]);
    assert_error(&unreachable, "--to store");
    assert_eq!(stdout(&to.run(&["list"])), "", "nothing was written");
    assert_eq!(
        json_lines(&from.run(&["list"])).len(),
        1,
        "the source is untouched"
    );
}

/// Issue 11: what the shell split, and a server URL without `//`, get a hint
/// saying how to write them, naming the command typed.
#[test]
fn split_keys_spaced_ttls_and_slashless_urls_get_hints() {
    let store = Store::new();
    let split = stderr(&store.run(&["get", "app", "greeting"]));
    assert!(
        split.contains(
            r#"tip: keys are JSON arrays of strings; quote them: fedikv get '["app","greeting"]'"#
        ),
        "{split}"
    );
    let ttl = stderr(&store.run(&["set", r#"["a"]"#, "1", "--ttl", "5", "minutes"]));
    assert!(
        ttl.contains("tip: write durations without spaces: 5m, 30s, 1h30m"),
        "{ttl}"
    );
    assert_error(
        &store.run(&["set", r#"["a"]"#, "1", "--ttl", "5 minutes"]),
        "write durations without spaces",
    );
    assert_error(
        &store.run(&["delete", "app"]),
        r#"e.g. fedikv delete '["app"]'"#,
    );
    assert_error(
        &store.run(&["stats", "[app,x]"]),
        r#"e.g. fedikv stats '["app","x"]'"#,
    );
    assert_error(
        &fedikv(&["--store", "postgresql:/x", "get", r#"["a"]"#], None),
        "write it as postgres://USER@HOST/DB",
    );
}

/// Issue 11: the totals of `stats` are the sums of their lines, also when
/// expired rows lie in a group with no live entry or named by a short key.
#[test]
fn stats_totals_are_the_sums_of_their_lines() {
    let store = Store::with_options("sweep=off");
    for (key, value, ttl) in [
        (r#"["_fedify","remoteDocument","a"]"#, "1", Some("1h")),
        (r#"["_fedify","remoteDocument","b"]"#, "2", Some("0s")),
        (r#"["_fedify","inbox","gone"]"#, "3", Some("0s")),
        (r#"["_fedify","short"]"#, "4", Some("0s")),
        (r#"["_fedify"]"#, "5", None),
    ] {
        put(&store, key, value, ttl);
    }
    let stats = json_lines(&store.run(&["stats", r#"["_fedify"]"#]));
    assert_eq!(
        stats,
        [
            json!({"prefix": ["_fedify"], "entries": 1, "with_ttl": 0, "without_ttl": 1, "expired_present": null}),
            json!({"prefix": ["_fedify","remoteDocument"], "entries": 1, "with_ttl": 1, "without_ttl": 0, "expired_present": 1}),
            json!({"prefix": ["_fedify"], "other": true, "entries": 0, "with_ttl": 0, "without_ttl": 0, "expired_present": 2}),
            json!({"prefix": ["_fedify"], "total": true, "entries": 2, "with_ttl": 1, "without_ttl": 1, "expired_present": 3}),
        ]
    );
    let (total, lines) = stats.split_last().unwrap();
    for field in ["entries", "with_ttl", "without_ttl", "expired_present"] {
        let sum: u64 = lines.iter().filter_map(|l| l[field].as_u64()).sum();
        assert_eq!(total[field], sum, "{field}");
    }
    let table = stdout(&store.run(&["stats", "--format", "table"]));
    assert!(
        table.contains("other (expired, in no group above)"),
        "{table}"
    );
}
