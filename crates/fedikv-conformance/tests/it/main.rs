//! The conformance suite against every fedikv backend, one module per
//! backend (each calls [`fedikv_conformance::conformance_tests!`] with its
//! store factory), and `mutants`, the suite's self-check: a toy store given
//! one defect at a time must fail the tests meant to catch that defect.
//!
//! One test binary for the crate, so the drivers are linked once. What the
//! server modules share is here: [`open_server`] and `sql_server_suite!`.

/// The suite on the SQL server store `$store` at the URL in the variable
/// `$var`: every test on the table `fedikv_conformance` (tests namespace
/// their keys, and each opens its own store, so concurrent table creation is
/// exercised too), and `count_expired_is_exact_while_unswept` on a table of
/// its own with sweeping off, dropped afterwards.
macro_rules! sql_server_suite {
    ($store:ident, $var:literal) => {
        async fn open(options: &str) -> Option<$store> {
            crate::open_server(
                $var,
                options,
                |url| async move { $store::open_url(&url).await },
            )
            .await
        }

        async fn store() -> Option<std::sync::Arc<dyn fedikv::KvStore>> {
            let store = open("table=fedikv_conformance&pool_size=4").await?;
            Some(std::sync::Arc::new(store))
        }

        fedikv_conformance::conformance_tests!(store);

        #[tokio::test(flavor = "multi_thread")]
        async fn count_expired_is_exact_while_unswept() {
            let table = fedikv_conformance::server::unique_name("fedikv_unswept", '_');
            let Some(store) = open(&format!("table={table}&sweep=off")).await else {
                return;
            };
            let store = std::sync::Arc::new(store);
            fedikv_conformance::unswept::count_expired_is_exact(store.clone()).await;
            store.drop_table().await.expect("drop the test table");
        }

        #[tokio::test(flavor = "multi_thread")]
        async fn s1_table_dropped_elsewhere_is_recreated() {
            let table = fedikv_conformance::server::unique_name("fedikv_dropped", '_');
            let options = format!("table={table}");
            let (Some(store), Some(other)) = (open(&options).await, open(&options).await) else {
                return;
            };
            let drop_elsewhere = async || {
                other
                    .drop_table()
                    .await
                    .expect("drop the table through another store")
            };
            fedikv_conformance::lifecycle::table_dropped_elsewhere_is_recreated(
                std::sync::Arc::new(store.clone()),
                drop_elsewhere,
            )
            .await;
            store.drop_table().await.expect("drop the test table");
        }
    };
}

mod denokv;
mod denokv_remote;
mod memory;
mod mutants;
mod mysql;
mod postgres;
mod redis;
mod redis_cluster;
mod sqlite;

use std::future::Future;

use fedikv::KvResult;
use fedikv_conformance::server::{server_url, with_options};

/// The store `open` makes of the server URL in the environment variable
/// `var`, with `options` added to its query; `None` (after saying why, see
/// [`server_url`]) to skip.
async fn open_server<S, F, Fut>(var: &str, options: &str, open: F) -> Option<S>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = KvResult<S>>,
{
    let url = with_options(&server_url(var)?, options);
    let redacted = fedikv::redact(&url);
    match open(url).await {
        Ok(store) => Some(store),
        Err(e) => panic!("cannot open {redacted}: {e}"),
    }
}
