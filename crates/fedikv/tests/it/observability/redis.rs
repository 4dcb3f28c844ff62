//! Redis's telemetry: the key prefix as the collection, and `delete_raw`
//! of a key outside it refused.

use fedikv::KvStore;
use url::Url;

use super::{Capture, Expect, assert_failed, exercise};
use crate::redis::TestPrefix;

#[tokio::test]
async fn every_operation_has_its_span_and_metrics() {
    let Some(test) = TestPrefix::fresh().await else {
        return;
    };
    let url = crate::redis::server_url().expect("server URL");
    let parsed = Url::parse(&url).expect("test URL");
    let host = parsed.host_str().expect("a host").to_owned();
    let port = parsed.port().unwrap_or(6379);
    let capture = Capture::new();
    let _installed = capture.install();
    let expect = Expect {
        system: "redis",
        collection: Some(&test.prefix),
        server: Some((&host, port)),
    };
    exercise(&test.store, &capture, &expect).await;

    assert!(test.store.delete_raw("elsewhere").await.is_err());
    assert_failed(&capture, "redis", "delete_raw", "invalid_key");
}
