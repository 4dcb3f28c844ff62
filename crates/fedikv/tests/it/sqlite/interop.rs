//! fedikv's `SqliteKvStore` and Fedify's published `@fedify/sqlite` (run by
//! Node 24 through `interop/fedify.mjs`) on the same database file, in both
//! directions: tricky keys and values, TTLs, `cas` against the other side's
//! values, journal mode, and both writing at once.
//!
//! `@fedify/sqlite` 1.8.7 (the newest release) has `cas` but no `list`; its
//! bundled Temporal polyfill import is fixed by the driver at load time. The
//! only published version with `list`, the prerelease 2.0.0-dev.279
//! (installed as `@fedify/sqlite-2.0-dev`), runs the scenarios too, and shows
//! where its `LIKE`-based `list` and fedikv's exact one differ on one file.
//! Needs `scripts/interop-setup.sh`; each test has a database file of its own.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{open, temp_db};
use crate::support::interop::data::{base, under};
use crate::support::interop::scenarios;
use crate::support::interop::{Capabilities, Fedify, check, got, op};
use fedikv::{KvStore, SetOptions};
use serde_json::json;

const CAPS: Capabilities = Capabilities {
    cas: true,
    list: false,
    null_values: true,
};

/// `@fedify/sqlite` on `path`, in Fedify's default table `fedify_kv`.
fn fedify(path: &Path) -> Option<Fedify> {
    Fedify::new(
        json!({"backend": "sqlite", "path": path, "table": "fedify_kv"}),
        CAPS,
    )
}

/// `@fedify/sqlite` 2.0.0-dev.279 (with `list`) on `path`, table `fedify_kv`.
fn fedify_2_dev(path: &Path) -> Option<Fedify> {
    let target = json!({"backend": "sqlite", "path": path, "table": "fedify_kv", "package": "@fedify/sqlite-2.0-dev"});
    Fedify::new(target, Capabilities { list: true, ..CAPS })
}

async fn journal_mode(fedify: &Fedify) -> String {
    let result = fedify
        .one(json!({"op": "pragma", "name": "journal_mode"}))
        .await;
    check(&result, "pragma");
    result["value"].as_str().expect("journal mode").to_owned()
}

/// Fedify creates the file and its table (rollback journal), fedikv opens it
/// (switching the file to WAL, which Fedify then uses too) and reads.
#[tokio::test]
async fn fedify_writes_fedikv_reads() {
    let (_dir, path) = temp_db();
    let Some(fedify) = fedify(&path) else { return };
    let base = base("sqlite");
    let first = under(&base, &["first"]);
    let result = fedify.one(op::set(&first, &json!(1), None)).await;
    check(&result, "set");
    assert_eq!(journal_mode(&fedify).await, "delete", "Fedify's own file");

    let store = open(&path).await;
    assert_eq!(
        journal_mode(&fedify).await,
        "wal",
        "fedikv switches the file to WAL"
    );
    store.delete(&first).await.unwrap();
    scenarios::fedify_writes_fedikv_reads(&store, &fedify, &base).await;
}

#[tokio::test]
async fn fedikv_writes_fedify_reads() {
    let (_dir, path) = temp_db();
    let Some(fedify) = fedify(&path) else { return };
    let store = open(&path).await;
    scenarios::fedikv_writes_fedify_reads(&store, &fedify, &base("sqlite")).await;
}

/// A deep remote document and a lone-surrogate key beside good rows, both
/// ways; the key text is byte-identical to Fedify's `JSON.stringify(key)`.
#[tokio::test]
async fn javascript_data() {
    let (_dir, path) = temp_db();
    let Some(fedify) = fedify(&path) else { return };
    let store = open(&path).await;
    let base = base("sqlite-js");
    scenarios::javascript_data(&store, &fedify, &base).await;
    let key = under(
        &base,
        &[&fedikv::js::from_utf16(&[0x61, 0xD800, 0x62]), "\u{0}"],
    );
    check(&fedify.one(op::set(&key, &json!(1), None)).await, "set");
    let db = rusqlite::Connection::open(&path).expect("open the file");
    let text: String = db
        .query_row("SELECT key FROM fedify_kv", [], |row| row.get(0))
        .expect("the row Fedify wrote");
    assert!(
        text.ends_with(r#""a\ud800b","\u0000"]"#),
        "Fedify's key text: {text}"
    );
    assert_eq!(
        text,
        key.to_json(),
        "fedikv's key text is Fedify's, byte for byte"
    );
    assert_eq!(store.get(&key).await.unwrap(), Some(json!(1)));
}

#[tokio::test]
async fn ttl_agreement() {
    let (_dir, path) = temp_db();
    let Some(fedify) = fedify(&path) else { return };
    let store = open(&path).await;
    scenarios::ttl_agreement(&store, &fedify, &base("sqlite")).await;
}

#[tokio::test]
async fn cas_increments_from_both_sides() {
    let (_dir, path) = temp_db();
    let Some(fedify) = fedify(&path) else { return };
    let store = open(&path).await;
    scenarios::cas_increments_from_both_sides(&store, &fedify, &base("sqlite")).await;
}

/// TTLs that are not whole seconds agree too: both sides use epoch
/// milliseconds of the same (client) clock.
#[tokio::test]
async fn fractional_second_ttl_agreement() {
    let (_dir, path) = temp_db();
    let Some(fedify) = fedify(&path) else { return };
    let store = open(&path).await;
    scenarios::fractional_ttl_agreement(&store, &fedify, &base("sqlite")).await;
}

/// Fedify (busy timeout set on its `DatabaseSync`, as anyone sharing the
/// file must) and fedikv write the same file at the same time: no write is
/// refused as busy and every entry is there for both.
#[tokio::test]
async fn both_write_at_once() {
    let (_dir, path) = temp_db();
    let Some(fedify) = fedify(&path) else { return };
    let store = open(&path).await;
    let base = base("sqlite");
    let fedify_keys: Vec<_> = (0..300)
        .map(|i| under(&base, &["fedify", &i.to_string()]))
        .collect();
    let node_done = AtomicBool::new(false);
    let node = async {
        let results = fedify
            .run(
                fedify_keys
                    .iter()
                    .map(|k| op::set(k, &json!({"by": "Fedify"}), None))
                    .collect(),
            )
            .await;
        node_done.store(true, Ordering::SeqCst);
        results
    };
    let fedikv = async {
        let mut written = Vec::new();
        // Bounded: at most 5000 writes, until the Node batch has finished.
        for i in 0..5000 {
            if node_done.load(Ordering::SeqCst) && i >= 50 {
                break;
            }
            let key = under(&base, &["fedikv", &i.to_string()]);
            store
                .set(&key, &json!({"by": "fedikv"}), SetOptions::default())
                .await
                .unwrap();
            written.push(key);
            tokio::task::yield_now().await;
        }
        written
    };
    let (results, written) = tokio::join!(node, fedikv);
    for result in &results {
        check(result, "set while fedikv writes");
    }
    for k in &fedify_keys {
        assert_eq!(store.get(k).await.unwrap(), Some(json!({"by": "Fedify"})));
    }
    let reads = fedify.run(written.iter().map(op::get).collect()).await;
    for (k, result) in written.iter().zip(&reads) {
        assert_eq!(got(result), Some(json!({"by": "fedikv"})), "Fedify get {k}");
    }
}

#[tokio::test]
async fn fedikv_writes_fedify_2_dev_reads_and_lists() {
    let (_dir, path) = temp_db();
    let Some(fedify) = fedify_2_dev(&path) else {
        return;
    };
    let store = open(&path).await;
    scenarios::fedikv_writes_fedify_reads(&store, &fedify, &base("sqlite")).await;
}

#[tokio::test]
async fn fedify_2_dev_writes_fedikv_reads() {
    let (_dir, path) = temp_db();
    let Some(fedify) = fedify_2_dev(&path) else {
        return;
    };
    let store = open(&path).await;
    scenarios::fedify_writes_fedikv_reads(&store, &fedify, &base("sqlite")).await;
}

#[tokio::test]
async fn ttl_agreement_with_fedify_2_dev_list() {
    let (_dir, path) = temp_db();
    let Some(fedify) = fedify_2_dev(&path) else {
        return;
    };
    let store = open(&path).await;
    scenarios::ttl_agreement(&store, &fedify, &base("sqlite")).await;
}

/// On the same rows, Fedify's `list` treats `%` and `_` as `LIKE` wildcards,
/// folds ASCII case, and misses the children of a prefix with `"` or `\`
/// (its JSON escapes meet `ESCAPE '\'`); fedikv lists exactly.
#[tokio::test]
async fn fedify_2_dev_list_differs_from_fedikv_list() {
    let (_dir, path) = temp_db();
    let Some(fedify) = fedify_2_dev(&path) else {
        return;
    };
    let store = open(&path).await;
    let k = |c: &[&str]| fedikv::KvKey::new(c.iter().copied()).unwrap();
    for key in [
        k(&["50%", "a"]),
        k(&["50x", "b"]),
        k(&["snake_case", "c"]),
        k(&["snakeXcase", "d"]),
        k(&["prefix", "e"]),
        k(&["Prefix", "f"]),
        k(&["q\"uote", "g"]),
        k(&["back\\slash", "h"]),
    ] {
        store
            .set(&key, &json!(1), SetOptions::default())
            .await
            .unwrap();
    }
    let prefixes = [
        k(&["50%"]),
        k(&["snake_case"]),
        k(&["prefix"]),
        k(&["q\"uote"]),
        k(&["back\\slash"]),
    ];
    let results = fedify
        .run(prefixes.iter().map(|p| op::list(Some(p))).collect())
        .await;
    let fedify_keys = |i: usize| -> Vec<fedikv::KvKey> {
        crate::support::interop::entries(&results[i])
            .into_keys()
            .collect()
    };
    assert_eq!(
        fedify_keys(0),
        vec![k(&["50%", "a"]), k(&["50x", "b"])],
        "Fedify: % is a wildcard"
    );
    assert_eq!(
        fedify_keys(1),
        vec![k(&["snakeXcase", "d"]), k(&["snake_case", "c"])],
        "Fedify: _ is a wildcard"
    );
    assert_eq!(
        fedify_keys(2),
        vec![k(&["Prefix", "f"]), k(&["prefix", "e"])],
        "Fedify: case folded"
    );
    assert_eq!(
        fedify_keys(3),
        Vec::<fedikv::KvKey>::new(),
        "Fedify: misses children of a quote"
    );
    assert_eq!(
        fedify_keys(4),
        Vec::<fedikv::KvKey>::new(),
        "Fedify: misses children of a backslash"
    );
    let expected = [
        k(&["50%", "a"]),
        k(&["snake_case", "c"]),
        k(&["prefix", "e"]),
        k(&["q\"uote", "g"]),
        k(&["back\\slash", "h"]),
    ];
    for (prefix, only) in prefixes.iter().zip(expected) {
        let listed: Vec<_> = crate::support::interop::fedikv_list(&store, prefix)
            .await
            .into_keys()
            .collect();
        assert_eq!(listed, vec![only], "fedikv list {prefix}");
    }
}
