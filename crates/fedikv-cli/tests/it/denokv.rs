//! `fedikv list` on a Deno KV database behind a KV Connect server, which
//! reports no TTLs: the entries are listed without them (a note on stderr),
//! while `copy --from`, which must carry TTLs, still refuses. Needs
//! `FEDIKV_TEST_DENOKV_URL` (CI sets it and `FEDIKV_TEST_REQUIRE_SERVERS=1`,
//! so this cannot skip there).

use std::time::Duration;

use fedikv::{KvKey, SetOptions};
use fedikv_conformance::server::{server_url, unique_name};
use serde_json::{Value, json};

use crate::run_on as fedikv;

#[test]
fn list_over_kv_connect_prints_entries_without_ttls() {
    let Some(url) = server_url("FEDIKV_TEST_DENOKV_URL") else {
        return;
    };
    let prefix = KvKey::new(["fedikv-cli-list".to_owned(), unique_name("run", '-')]).unwrap();
    let key = |name: &str| prefix.child(name).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = fedikv::open(&url).await.unwrap();
        store
            .set(&key("a"), &json!({"n": 1}), SetOptions::default())
            .await
            .unwrap();
        store
            .set(
                &key("b"),
                &json!("ttl"),
                SetOptions::ttl(Duration::from_secs(3600)),
            )
            .await
            .unwrap();
    });

    let output = fedikv(&url, &["list", &prefix.to_json()]);
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("listing without TTLs"), "{stderr}");
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            json!({"key": key("a"), "value": {"n": 1}}),
            json!({"key": key("b"), "value": "ttl"}),
        ],
        "no ttl_ms: unknown, not \"none\""
    );
    let table = fedikv(&url, &["list", &prefix.to_json(), "--format", "table"]);
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table.lines().skip(1).all(|row| row.contains(" ? ")),
        "{table}"
    );

    let copy = fedikv(&url, &["copy", "--from", &url, "--to", "memory:"]);
    assert!(!copy.status.success());
    assert!(
        String::from_utf8_lossy(&copy.stderr).contains("scan"),
        "{copy:?}"
    );

    runtime.block_on(async {
        let store = fedikv::open(&url).await.unwrap();
        for name in ["a", "b"] {
            store.delete(&key(name)).await.unwrap();
        }
    });
}
