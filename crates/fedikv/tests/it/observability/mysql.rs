//! MariaDB's (or MySQL's) telemetry, and a key too long for its column.

use fedikv::{KvKey, KvStore, SetOptions};
use serde_json::json;
use url::Url;

use super::{Capture, Expect, assert_failed, exercise};
use crate::mysql::{TestTable, server_url};

#[tokio::test]
async fn every_operation_has_its_span_and_metrics() {
    let Some(url) = server_url() else { return };
    let table = TestTable::new(&url).await;
    let parsed = Url::parse(&url).expect("test URL");
    let host = parsed.host_str().expect("a host").to_owned();
    let port = parsed.port().unwrap_or(3306);
    let version = table.store.server_version().await.unwrap().unwrap();
    let system = if version.to_ascii_lowercase().contains("mariadb") {
        "mariadb"
    } else {
        "mysql"
    };
    let capture = Capture::new();
    let installed = capture.install();
    let expect = Expect {
        system,
        collection: Some(&table.table),
        server: Some((&host, port)),
    };
    exercise(&table.store, &capture, &expect).await;

    let long = KvKey::new(["k".repeat(1000)]).unwrap();
    let set = table
        .store
        .set(&long, &json!(1), SetOptions::default())
        .await;
    assert!(set.is_err());
    assert_failed(&capture, system, "set", "key_too_long");
    drop(installed);
    table.cleanup().await;
}
