//! Rule V5 through the `fedikv` binary: rows another program wrote that
//! fedikv cannot decode never hide the good ones. `list`, `count`, `stats`,
//! `copy` and `delete --prefix` do every good row, report each bad row on
//! stderr (one line, its raw key quoted for the shell), sum them up and
//! exit 2; `delete --raw-key` removes each by the reported key. On SQLite
//! (the issue's reproduction), PostgreSQL, MariaDB and Redis; the server
//! tests need `FEDIKV_TEST_POSTGRES_URL`, `FEDIKV_TEST_MYSQL_URL`,
//! `FEDIKV_TEST_REDIS_URL`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use crate::{ServerStore, assert_code, command, json_lines, run_on as fedikv, stderr, stdout};

/// The text a POSIX shell makes of a word in single quotes (what
/// `fedikv` prints for raw keys without control characters).
fn unquote(quoted: &str) -> String {
    let inner = quoted
        .strip_prefix('\'')
        .and_then(|q| q.strip_suffix('\''))
        .unwrap_or_else(|| panic!("not single-quoted: {quoted}"));
    inner.replace(r"'\''", "'")
}

/// The raw keys of the rows stderr reports as skipped (each once), checked
/// to end with the summary of how many.
fn reported(output: &Output) -> BTreeSet<String> {
    const MARK: &str = "fedikv: skipped a row that cannot be decoded, raw key ";
    let err = stderr(output);
    let mut keys = BTreeSet::new();
    for line in err.lines().filter_map(|line| line.strip_prefix(MARK)) {
        let quoted = &line[..line.rfind("': ").expect("a reason after the key") + 1];
        assert!(keys.insert(unquote(quoted)), "reported twice: {line}");
    }
    let n = keys.len();
    let summary = format!(
        "fedikv: skipped {n} {} that cannot be decoded",
        if n == 1 { "row" } else { "rows" }
    );
    assert!(
        err.lines().last().is_some_and(|l| l.starts_with(&summary)),
        "no summary `{summary}` at the end of stderr:\n{err}"
    );
    keys
}

/// Every bulk command over `prefix` of `store`, which holds the entries
/// with the keys `good` (JSON texts, each with the value 1) and the rows
/// no key can be with the raw keys `bad`; then the bad rows deleted by
/// the keys reported, and the good ones checked intact.
fn check_bulk_commands(store: &str, prefix: &str, good: &[&str], bad: &[&str], scratch: &Path) {
    let good: BTreeSet<String> = good.iter().map(|k| (*k).to_owned()).collect();
    let bad: BTreeSet<String> = bad.iter().map(|k| (*k).to_owned()).collect();
    let keys_of = |output: &Output| -> BTreeSet<String> {
        json_lines(output)
            .iter()
            .map(|line| {
                assert_eq!(line["value"], 1, "{line}");
                line["key"].to_string()
            })
            .collect()
    };

    let list = fedikv(store, &["list", prefix]);
    assert_code(&list, 2);
    assert_eq!(keys_of(&list), good, "every good row is printed");
    assert_eq!(reported(&list), bad);

    let count = fedikv(store, &["count", prefix, "--format", "json"]);
    assert_code(&count, 2);
    assert_eq!(json_lines(&count)[0]["entries"], good.len());
    assert_eq!(reported(&count), bad);

    let stats = fedikv(
        store,
        &["stats", prefix, "--depth", "1", "--format", "json"],
    );
    assert_code(&stats, 2);
    let total = json_lines(&stats).pop().expect("a total line");
    assert_eq!(total["entries"], good.len(), "{total}");
    assert_eq!(reported(&stats), bad);

    let target = format!("sqlite:{}", scratch.join("copy.sqlite3").display());
    let copy = command(&["copy", "--from", store, "--to", &target, "--prefix", prefix])
        .output()
        .unwrap();
    assert_code(&copy, 2);
    let summary = &json_lines(&copy)[0];
    assert_eq!(summary["copied"], good.len(), "{summary}");
    assert_eq!(summary["skipped"], bad.len(), "{summary}");
    assert_eq!(reported(&copy), bad);
    let copied = fedikv(&target, &["list", prefix]);
    assert_code(&copied, 0);
    assert_eq!(keys_of(&copied), good);

    let dry_run = fedikv(store, &["delete", "--prefix", prefix, "--dry-run"]);
    assert_code(&dry_run, 2);
    let summary = &json_lines(&dry_run)[0];
    assert_eq!(summary["matched"], good.len(), "{summary}");
    assert_eq!(summary["skipped"], bad.len(), "{summary}");
    assert_eq!(reported(&dry_run), bad);

    // What was reported deletes each bad row, once.
    for raw in &bad {
        assert_code(&fedikv(store, &["delete", "--raw-key", raw]), 0);
        assert_code(&fedikv(store, &["delete", "--raw-key", raw]), 1);
    }
    let list = fedikv(store, &["list", prefix]);
    assert_code(&list, 0);
    assert_eq!(keys_of(&list), good, "the good rows are intact");
    assert_eq!(stderr(&list), "");

    let delete = fedikv(store, &["delete", "--prefix", prefix]);
    assert_code(&delete, 0);
    assert_eq!(json_lines(&delete)[0]["deleted"], good.len());
}

/// Sets each key of `good` to 1 through the CLI.
fn set_good(store: &str, good: &[&str]) {
    for key in good {
        assert_code(&fedikv(store, &["set", key, "1"]), 0);
    }
}

/// The issue's reproduction: `["p","a"]` set by fedikv, then a row inserted
/// with raw SQL (what `sqlite3 f.sqlite3 "INSERT …"` does). Its row, keyed
/// with a lone surrogate, is Fedify's and listed; a row no key can be
/// beside them is reported while `["p","a"]` is still printed, and deleted
/// by the raw key reported.
#[test]
fn sqlite_the_issues_reproduction() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f.sqlite3");
    let store = format!("sqlite:{}", file.display());
    assert_code(&fedikv(&store, &["set", r#"["p","a"]"#, "1"]), 0);
    let conn = rusqlite::Connection::open(&file).unwrap();
    // As in the issue, with a lone surrogate: a key Fedify writes, which
    // fedikv reads.
    conn.execute(
        r#"INSERT INTO fedify_kv VALUES ('["p","\ud800"]', '2', 0, NULL)"#,
        [],
    )
    .unwrap();
    // In key text order: `\` sorts before `a`.
    let both = "{\"key\":[\"p\",\"\\ud800\"],\"value\":2,\"ttl_ms\":null}\n\
                {\"key\":[\"p\",\"a\"],\"value\":1,\"ttl_ms\":null}\n";
    let list = fedikv(&store, &["list", r#"["p"]"#]);
    assert_code(&list, 0);
    assert_eq!(stdout(&list), both);
    // The same with a row no key can be: a number where a string goes.
    conn.execute(
        r#"INSERT INTO fedify_kv VALUES ('["p",1]', '3', 0, NULL)"#,
        [],
    )
    .unwrap();
    let list = fedikv(&store, &["list", r#"["p"]"#]);
    assert_code(&list, 2);
    assert_eq!(stdout(&list), both, "every good row is printed");
    assert_eq!(reported(&list), BTreeSet::from([r#"["p",1]"#.to_owned()]));
    let err = stderr(&list);
    assert!(
        err.contains("raw key '[\"p\",1]': invalid key: a key must be a JSON array of strings"),
        "{err}"
    );
    assert_code(&fedikv(&store, &["delete", "--raw-key", r#"["p",1]"#]), 0);
    let list = fedikv(&store, &["list", r#"["p"]"#]);
    assert_code(&list, 0);
    assert_eq!(stdout(&list), both);
}

#[test]
fn sqlite_bulk_commands_go_past_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kv.sqlite3");
    let store = format!("sqlite:{}", file.display());
    let good = [r#"["p","a"]"#, r#"["p","c"]"#, r#"["p","d","e"]"#];
    set_good(&store, &good);
    let conn = rusqlite::Connection::open(&file).unwrap();
    for (key, value) in [(r#"["p","b"]"#, "{not json"), (r#"["p",1]"#, "1")] {
        conn.execute(
            "INSERT INTO fedify_kv VALUES (?1, ?2, 0, NULL)",
            (key, value),
        )
        .unwrap();
    }
    // get of a bad row stays an error, which names the command to remove it.
    let get = fedikv(&store, &["get", r#"["p","b"]"#]);
    assert_code(&get, 2);
    assert!(
        stderr(&get).contains(r#"fedikv delete --raw-key '["p","b"]'"#),
        "{}",
        stderr(&get)
    );
    check_bulk_commands(
        &store,
        r#"["p"]"#,
        &good,
        &[r#"["p","b"]"#, r#"["p",1]"#],
        dir.path(),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_bulk_commands_go_past_bad_rows() {
    let Some(ServerStore {
        name: table, store, ..
    }) = ServerStore::table("FEDIKV_TEST_POSTGRES_URL", "fedikv_cli_bad")
    else {
        return;
    };
    let good = [r#"["p","a"]"#, r#"["p","c"]"#];
    set_good(&store, &good);
    let pg = fedikv::postgres::PostgresKvStore::open_url(&store)
        .await
        .unwrap();
    // A NULL where a string goes: between the good rows, and right after the
    // prefix (past its key range).
    pg.pool()
        .get()
        .await
        .unwrap()
        .batch_execute(&format!(
            "INSERT INTO \"{table}\" (key, value) VALUES \
             (ARRAY['p','b',NULL], '1'), (ARRAY['p',NULL], '1')"
        ))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    check_bulk_commands(
        &store,
        r#"["p"]"#,
        &good,
        &["{p,b,NULL}", "{p,NULL}"],
        dir.path(),
    );
    pg.drop_table().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn mariadb_bulk_commands_go_past_bad_rows() {
    let Some(ServerStore {
        name: table, store, ..
    }) = ServerStore::table("FEDIKV_TEST_MYSQL_URL", "fedikv_cli_bad")
    else {
        return;
    };
    let good = [r#"["p","a"]"#, r#"["p","c"]"#];
    set_good(&store, &good);
    let my = fedikv::mysql::MysqlKvStore::open_url(&store).await.unwrap();
    // Key texts that are no key: a number, and an object, where strings go.
    let mut conn = my.pool().get_conn().await.unwrap();
    fedikv::mysql::mysql_async::prelude::Queryable::query_drop(
        &mut conn,
        format!(
            "INSERT INTO `{table}` (`key`, `value`) VALUES \
             ('[\"p\",1]', '1'), ('[\"p\",{{}}]', '1')"
        ),
    )
    .await
    .unwrap();
    drop(conn);
    let dir = tempfile::tempdir().unwrap();
    check_bulk_commands(
        &store,
        r#"["p"]"#,
        &good,
        &[r#"["p",1]"#, r#"["p",{}]"#],
        dir.path(),
    );
    my.drop_table().await.unwrap();
}

#[test]
fn redis_bulk_commands_go_past_bad_rows() {
    let Some(ServerStore {
        url,
        name: prefix,
        store,
    }) = ServerStore::redis_prefix("fedikv-cli-bad")
    else {
        return;
    };
    let good = [r#"["p","a"]"#, r#"["p","c"]"#];
    set_good(&store, &good);
    let redis_cli = |args: &[&str]| {
        let output = Command::new("redis-cli")
            .arg("-u")
            .arg(&url)
            .args(args)
            .output()
            .expect("redis-cli runs");
        assert!(output.status.success(), "redis-cli {args:?}: {output:?}");
    };
    let text = format!("{prefix}p::text");
    let hash = format!("{prefix}p::hash");
    let stray = format!("{prefix}p::a:b");
    redis_cli(&["SET", &text, "not json"]);
    redis_cli(&["HSET", &hash, "f", "v"]);
    redis_cli(&["SET", &stray, "1"]);
    let dir = tempfile::tempdir().unwrap();
    check_bulk_commands(
        &store,
        r#"["p"]"#,
        &good,
        &[&text, &hash, &stray],
        dir.path(),
    );
}
