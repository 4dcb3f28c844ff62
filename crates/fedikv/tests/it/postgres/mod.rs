//! The PostgreSQL tests; here, the helpers its modules share.

mod bad_rows;
mod faults;
mod interop;
mod scale;
mod store;
mod tls;

use fedikv::PostgresKvStore;
pub use fedikv_conformance::server::with_options;
use tokio_postgres::{Client, NoTls};

pub const URL_VAR: &str = "FEDIKV_TEST_POSTGRES_URL";

/// The server URL, or `None` (after saying why) when the variable is unset.
/// Panics instead when `FEDIKV_TEST_REQUIRE_SERVERS=1`, so CI never skips.
pub fn server_url() -> Option<String> {
    fedikv_conformance::server_url(URL_VAR)
}

/// A name no other test or run uses, e.g. `fedikv_test_123_456_0`.
pub fn unique_name(stem: &str) -> String {
    fedikv_conformance::server::unique_name(stem, '_')
}

/// A plain connection for raw SQL checks.
pub async fn raw(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("raw connection to the test server");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// Runs `sql` on a fresh connection from a thread of its own, so it works
/// from `Drop`, even while a test panics.
pub fn run_detached(url: &str, sql: String) {
    let url = url.to_owned();
    let _ = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            if let Ok((client, connection)) = tokio_postgres::connect(&url, NoTls).await {
                tokio::spawn(connection);
                let _ = client.batch_execute(&sql).await;
            }
        });
    })
    .join();
}

/// A table (or schema) dropped when this goes out of scope.
pub struct Cleanup {
    url: String,
    sql: String,
}

impl Cleanup {
    pub fn table(url: &str, quoted: &str) -> Self {
        Self {
            url: url.to_owned(),
            sql: format!("DROP TABLE IF EXISTS {quoted}"),
        }
    }

    pub fn schema(url: &str, name: &str) -> Self {
        Self {
            url: url.to_owned(),
            sql: format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"),
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        run_detached(&self.url, std::mem::take(&mut self.sql));
    }
}

/// A store on a fresh table of its own (dropped with the returned guard),
/// with automatic sweeping off and `options` (e.g. `unlogged=true`) added.
pub async fn fresh_store(url: &str, options: &str) -> (PostgresKvStore, String, Cleanup) {
    let table = unique_name("fedikv_test");
    let cleanup = Cleanup::table(url, &format!("\"{table}\""));
    let store_url = with_options(url, &format!("table={table}&sweep=off"));
    let store_url = with_options(&store_url, options);
    let store = PostgresKvStore::open_url(&store_url)
        .await
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", fedikv::redact(&store_url)));
    (store, table, cleanup)
}
