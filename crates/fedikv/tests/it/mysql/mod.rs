//! The MySQL/MariaDB tests; here, the helpers its modules share.

mod bad_rows;
mod faults;
mod interop;
mod store;

use fedikv::SweepPolicy;
use fedikv::mysql::{MysqlKvStore, MysqlOptions};
use fedikv_conformance::server::unique_name;
use mysql_async::prelude::Queryable;
use mysql_async::{Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts};

pub const URL_VAR: &str = "FEDIKV_TEST_MYSQL_URL";

/// The server URL, or `None` (after saying why) when the variable is unset.
/// Panics instead when `FEDIKV_TEST_REQUIRE_SERVERS=1`, so CI never skips.
pub fn server_url() -> Option<String> {
    fedikv_conformance::server_url(URL_VAR)
}

/// A table name no other test or run uses.
pub fn unique_table() -> String {
    unique_name("fedikv_test", '_')
}

/// A pool configured as `MysqlKvStore::open_url` configures its own.
pub fn pool(url: &str) -> Pool {
    let opts = Opts::from_url(url).expect("test URL");
    let pool_opts = PoolOpts::default()
        .with_constraints(PoolConstraints::new(1, 10).unwrap())
        .with_reset_connection(false);
    Pool::new(
        OptsBuilder::from_opts(opts)
            .client_found_rows(true)
            .pool_opts(pool_opts),
    )
}

/// A store on a fresh table, with automatic sweeping off unless `sweep` says
/// otherwise; dropped by [`TestTable::cleanup`].
pub struct TestTable {
    pub store: MysqlKvStore,
    pub table: String,
    pub pool: Pool,
    /// Server URL, to drop the table when a failing test skipped `cleanup`.
    url: String,
    cleaned: bool,
}

impl Drop for TestTable {
    /// Drops the table of a test that panicked before `cleanup`, on a thread
    /// of its own (the test's runtime may be unwinding).
    fn drop(&mut self) {
        if self.cleaned {
            return;
        }
        let (url, table) = (self.url.clone(), self.table.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let pool = Pool::new(Opts::from_url(&url).ok()?);
                let mut conn = pool.get_conn().await.ok()?;
                let sql = format!("DROP TABLE IF EXISTS `{table}`");
                conn.query_drop(sql).await.ok()?;
                drop(conn);
                pool.disconnect().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("could not drop test table {}", self.table);
        }
    }
}

impl TestTable {
    /// A fresh table on the server in `FEDIKV_TEST_MYSQL_URL`, or `None`
    /// (after saying why) to skip.
    pub async fn fresh() -> Option<Self> {
        Some(Self::new(&server_url()?).await)
    }

    pub async fn new(url: &str) -> Self {
        Self::with_sweep(url, SweepPolicy::disabled()).await
    }

    pub async fn with_sweep(url: &str, sweep: SweepPolicy) -> Self {
        let table = unique_table();
        let pool = pool(url);
        let options = MysqlOptions::default().table(&table).sweep(sweep);
        let store = MysqlKvStore::from_pool(pool.clone(), options)
            .await
            .expect("store");
        Self::adopt(url, store, table, pool)
    }

    /// Takes charge of dropping `table` of a store built elsewhere.
    pub fn adopt(url: &str, store: MysqlKvStore, table: String, pool: Pool) -> Self {
        Self {
            store,
            table,
            pool,
            url: url.to_owned(),
            cleaned: false,
        }
    }

    /// Runs raw SQL (with `{t}` replaced by the table name) and returns the rows.
    pub async fn rows<T: mysql_async::prelude::FromRow + Send + 'static>(
        &self,
        sql: &str,
        params: impl Into<mysql_async::Params> + Send,
    ) -> Vec<T> {
        let sql = sql.replace("{t}", &format!("`{}`", self.table));
        let mut conn = self.pool.get_conn().await.expect("conn");
        conn.exec(sql.as_str(), params).await.expect(&sql)
    }

    /// Runs raw SQL without results.
    pub async fn exec(&self, sql: &str, params: impl Into<mysql_async::Params> + Send) {
        let sql = sql.replace("{t}", &format!("`{}`", self.table));
        let mut conn = self.pool.get_conn().await.expect("conn");
        conn.exec_drop(sql.as_str(), params).await.expect(&sql);
    }

    pub async fn cleanup(mut self) {
        self.store.drop_table().await.expect("drop table");
        self.store.release_connections();
        self.pool.clone().disconnect().await.expect("disconnect");
        self.cleaned = true;
    }
}

impl TestTable {
    /// Inserts `(key text, value text)` rows directly, all with the SQL
    /// expression `expires`, in multi-row statements (portable: no MariaDB
    /// sequence tables, no deep recursive CTEs).
    pub async fn insert_raw(&self, rows: Vec<(String, String)>, expires: &str) {
        let mut conn = self.pool.get_conn().await.expect("conn");
        for chunk in rows.chunks(500) {
            let placeholders = vec![format!("(?, ?, {expires})"); chunk.len()].join(", ");
            let sql = format!(
                "INSERT INTO `{}` (`key`, `value`, `expires`) VALUES {placeholders}",
                self.table
            );
            let params: Vec<mysql_async::Value> = chunk
                .iter()
                .flat_map(|(k, v)| [k.as_str().into(), v.as_str().into()])
                .collect();
            conn.exec_drop(sql.as_str(), params).await.expect(&sql);
        }
    }
}
