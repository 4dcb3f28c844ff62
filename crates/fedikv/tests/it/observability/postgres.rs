//! PostgreSQL's telemetry: server attributes, a failed `delete_raw`, and
//! the password of the store URL never shown.

use fedikv::KvStore;
use url::Url;

use super::{Capture, Expect, assert_failed, exercise};
use crate::postgres::{fresh_store, server_url};

/// The test server trusts local connections, so any password works: it
/// only has to stay out of the telemetry.
const PASSWORD: &str = "pg-password-that-must-not-leak";

#[tokio::test]
async fn every_operation_has_its_span_and_metrics_and_no_password() {
    let Some(url) = server_url() else { return };
    let mut with_password = Url::parse(&url).expect("test URL");
    with_password
        .set_password(Some(PASSWORD))
        .expect("a password");
    let (store, table, _cleanup) = fresh_store(with_password.as_str(), "").await;
    let host = with_password.host_str().expect("a host").to_owned();
    let port = with_password.port().unwrap_or(5432);
    let capture = Capture::new();
    let _installed = capture.install();
    let expect = Expect {
        system: "postgresql",
        collection: Some(&table),
        server: Some((&host, port)),
    };
    exercise(&store, &capture, &expect).await;

    assert!(store.delete_raw("not an array").await.is_err());
    assert_failed(&capture, "postgresql", "delete_raw", "invalid_key");
    let labels = [("backend", "postgresql"), ("state", "size")];
    let size = capture.metric("fedikv_pool_connections", &labels);
    assert!(size.is_some_and(|n| n >= 1.0), "{:#?}", capture.metrics());
    capture.assert_never_shows(&[PASSWORD]);
}
