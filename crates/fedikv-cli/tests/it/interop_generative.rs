//! Cross-language generative tests (issue 10): `interop/generative.mjs`
//! generates keys (any JavaScript string: lone surrogates, NUL, `%`, `_`,
//! `:`, `::`, `\`, `"`, emoji, U+2028, U+FEFF, empty) and values (any JSON:
//! nesting up to 1,000 levels, big numbers, `-0`, long strings, objects
//! with keys such as `__proto__`) with fast-check. Fedify's published store
//! writes them and this crate's `fedikv` binary reads, lists, swaps and
//! deletes them, and the reverse; both must agree with what Fedify itself
//! reads back (rules K1, K2, V1, V2, O1–O5). One test per backend, each on
//! a table, key prefix or file of its own.
//!
//! Seeded (`FEDIKV_GEN_SEED`, default fixed) and bounded (`FEDIKV_GEN_RUNS`
//! cases per direction, default 100): a failure prints the seed, the
//! fast-check path, the shrunk case and the command that replays it. The
//! script's header lists every variable.
//!
//! Needs Node 24 with Fedify's packages and fast-check in
//! `interop/node_modules` (`scripts/interop-setup.sh`) and the server URLs
//! of `scripts/test.sh`; without them the tests skip, saying why, except
//! under `FEDIKV_TEST_REQUIRE_SERVERS=1` (CI), where they fail.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fedikv_conformance::server::skip;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::ServerStore;

const SETUP: &str = "scripts/interop-setup.sh";

/// The script's default time limit per property (`FEDIKV_GEN_TIME_LIMIT`).
const DEFAULT_TIME_LIMIT_S: u64 = 600;

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop")
}

/// Node 24 from `interop/node_modules`, or `None` after saying why (a
/// panic under `FEDIKV_TEST_REQUIRE_SERVERS=1`) when it or the packages the
/// script imports are not installed.
fn node() -> Option<PathBuf> {
    let dir = interop_dir();
    let node = dir.join("node_modules/.bin/node");
    let installed = node.exists()
        && dir.join("node_modules/@fedify").is_dir()
        && dir.join("node_modules/fast-check").is_dir();
    if installed {
        Some(node)
    } else {
        skip(&format!(
            "Node, Fedify's packages or fast-check are not installed in interop/node_modules: run {SETUP}"
        ));
        None
    }
}

/// Runs `interop/generative.mjs` on the Fedify store `fedify` (a target as
/// `interop/stores.mjs` describes it) and the same store for fedikv, `store`;
/// panics with the script's report when a property fails. The script
/// removes the table or the keys under the prefix at the end.
async fn generate(node: PathBuf, fedify: Value, store: &str) {
    let request = json!({
        "fedify": fedify,
        "fedikv": {"bin": env!("CARGO_BIN_EXE_fedikv"), "store": store},
    });
    let mut child = tokio::process::Command::new(node)
        .arg(interop_dir().join("generative.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start Node: {e} (run {SETUP})"));
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin
        .write_all(request.to_string().as_bytes())
        .await
        .expect("write the request");
    drop(stdin);
    // The script stops each property at its own time limit; this bounds a
    // script that hangs (a server that stops answering).
    let time_limit = std::env::var("FEDIKV_GEN_TIME_LIMIT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_TIME_LIMIT_S);
    let deadline = Duration::from_secs(time_limit + 300);
    let output = tokio::time::timeout(deadline, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("interop/generative.mjs did not finish within {deadline:?}"))
        .expect("wait for interop/generative.mjs");
    let report = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "interop/generative.mjs failed ({}):\n{report}",
        output.status
    );
    eprintln!("{report}");
}

#[tokio::test]
async fn sqlite() {
    let Some(node) = node() else { return };
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("generative.sqlite3");
    let path = path.to_str().expect("a UTF-8 temporary path");
    let fedify = json!({"backend": "sqlite", "path": path, "table": "fedify_kv"});
    generate(node, fedify, &format!("sqlite:{path}")).await;
}

#[tokio::test]
async fn postgres() {
    let Some(ServerStore {
        url,
        name: table,
        store,
    }) = ServerStore::table("FEDIKV_TEST_POSTGRES_URL", "fedikv_gen")
    else {
        return;
    };
    let Some(node) = node() else { return };
    let fedify = json!({"backend": "postgres", "url": url, "table": table});
    generate(node, fedify, &store).await;
}

/// On MariaDB through the pool wrapper of `interop/stores.mjs` that lets
/// `@fedify/mysql` write there (`mariadb_cast_fix`; see mysql/interop.rs in
/// crates/fedikv/tests/it).
#[tokio::test]
async fn mysql() {
    let Some(ServerStore {
        url,
        name: table,
        store,
    }) = ServerStore::table("FEDIKV_TEST_MYSQL_URL", "fedikv_gen")
    else {
        return;
    };
    let Some(node) = node() else { return };
    let fedify = json!({"backend": "mysql", "url": url, "table": table, "mariadb_cast_fix": true});
    generate(node, fedify, &store).await;
}

#[tokio::test]
async fn redis() {
    let Some(ServerStore {
        url,
        name: prefix,
        store,
    }) = ServerStore::redis_prefix("fedikv-gen")
    else {
        return;
    };
    let Some(node) = node() else { return };
    let fedify = json!({"backend": "redis", "url": url, "prefix": prefix});
    generate(node, fedify, &store).await;
}
