//! [`MysqlOptions`] and the `mysql://` / `mariadb://` URL form.

use mysql_async::{Opts, OptsBuilder, PoolConstraints, PoolOpts};

use crate::error::KvResult;
use crate::store_url::{UrlOptions, invalid_url, parse_url};
use crate::sweep::SweepPolicy;

use super::sql::DEFAULT_TABLE;

/// Connections a store opened from a URL keeps at most, unless `pool_size=`
/// says otherwise.
pub const DEFAULT_POOL_SIZE: usize = 10;

/// Options of a [`MysqlKvStore`](super::MysqlKvStore).
///
/// ```
/// use std::time::Duration;
/// use fedikv::SweepPolicy;
/// use fedikv::mysql::MysqlOptions;
/// let options = MysqlOptions::default()
///     .table("my_kv")
///     .sweep(SweepPolicy::every(Duration::from_secs(300)));
/// assert_eq!(options.table, "my_kv");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MysqlOptions {
    /// Table name, `fedify_kv` by default like Fedify. Must match
    /// `^[A-Za-z_][A-Za-z0-9_]*$` and be at most 50 characters.
    pub table: String,
    /// When expired rows are physically removed.
    pub sweep: SweepPolicy,
    /// Maximum connections of a pool the store creates itself
    /// ([`DEFAULT_POOL_SIZE`] by default); ignored by
    /// [`MysqlKvStore::from_pool`](super::MysqlKvStore::from_pool).
    pub pool_size: usize,
}

impl Default for MysqlOptions {
    fn default() -> Self {
        Self {
            table: DEFAULT_TABLE.to_owned(),
            sweep: SweepPolicy::default(),
            pool_size: DEFAULT_POOL_SIZE,
        }
    }
}

impl MysqlOptions {
    /// The same options with another table name (validated when the store is
    /// built).
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// The same options with another sweep policy.
    pub fn sweep(mut self, sweep: SweepPolicy) -> Self {
        self.sweep = sweep;
        self
    }

    /// The same options with another pool size (at least 1).
    pub fn pool_size(mut self, pool_size: usize) -> Self {
        self.pool_size = pool_size.max(1);
        self
    }

    /// Driver options for a pool the store creates: what `opts` says, with
    /// the pool bounded by [`pool_size`](Self::pool_size), no connection
    /// reset on return to the pool (it would drop the prepared-statement
    /// cache and cost a round trip) and `CLIENT_FOUND_ROWS` (matched rows
    /// count as affected, which compare-and-swap relies on).
    pub(crate) fn driver_opts(&self, opts: Opts) -> Opts {
        let constraints = PoolConstraints::new(1, self.pool_size.max(1)).unwrap_or_default();
        let pool_opts: PoolOpts = opts
            .pool_opts()
            .clone()
            .with_constraints(constraints)
            .with_reset_connection(false);
        OptsBuilder::from_opts(opts)
            .pool_opts(pool_opts)
            .client_found_rows(true)
            .into()
    }
}

/// Options fedikv reads from a URL; the rest goes to `mysql_async`.
const OWN_OPTIONS: &str = "table, sweep, sweep_batch, pool_size";

/// Splits a `mysql://` or `mariadb://` URL into driver options and store
/// options. Query options `table=`, `sweep=` (a duration or `off`),
/// `sweep_batch=` and `pool_size=` are fedikv's; any other is passed to
/// `mysql_async` (e.g. `require_ssl=true`), which rejects unknown ones.
pub(crate) fn parse(url: &str) -> KvResult<(Opts, MysqlOptions)> {
    let invalid = |reason: String| invalid_url(url, reason);
    let mut parsed = parse_url(url)?;
    if !matches!(parsed.scheme(), "mysql" | "mariadb") {
        return Err(invalid(
            "the scheme must be mysql:// or mariadb://".to_owned(),
        ));
    }
    if parsed.path().trim_start_matches('/').is_empty() {
        return Err(invalid(
            "name the database in the path, e.g. mysql://user@127.0.0.1:3306/mydb".to_owned(),
        ));
    }
    let mut query = UrlOptions::from_query(parsed.query());
    let mut options = MysqlOptions::default();
    if let Some(table) = query.take("table") {
        options.table = table;
    }
    query.take_sweep(&mut options.sweep)?;
    if let Some(size) = query.take("pool_size") {
        options.pool_size = match size.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(invalid(format!(
                    "pool_size={size}: expected a positive number of connections"
                )));
            }
        };
    }
    let driver_query: Vec<(String, String)> = query.into_pairs();
    if driver_query.is_empty() {
        parsed.set_query(None);
    } else {
        parsed
            .query_pairs_mut()
            .clear()
            .extend_pairs(driver_query.iter());
    }
    // Both schemes are "non-special", so this cannot fail.
    let _ = parsed.set_scheme("mysql");
    let opts = Opts::from_url(parsed.as_str()).map_err(|e| {
        invalid(format!(
            "{e} (fedikv's own options: {OWN_OPTIONS}; others go to mysql_async)"
        ))
    })?;
    Ok((options.driver_opts(opts), options))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::KvError;

    #[test]
    fn reads_own_options_and_passes_the_rest() {
        let (opts, options) = parse(
            "mariadb://u:pw@127.0.0.1:3307/db?table=t1&sweep=5m&sweep_batch=10&pool_size=3&stmt_cache_size=7",
        )
        .unwrap();
        assert_eq!(options.table, "t1");
        assert_eq!(options.pool_size, 3);
        assert_eq!(
            options.sweep,
            SweepPolicy::every(std::time::Duration::from_secs(300)).with_batch_size(10)
        );
        assert_eq!(opts.user(), Some("u"));
        assert_eq!(opts.pass(), Some("pw"));
        assert_eq!(opts.tcp_port(), 3307);
        assert_eq!(opts.db_name(), Some("db"));
        assert_eq!(opts.stmt_cache_size(), 7);
        assert!(opts.client_found_rows());
        assert!(!opts.pool_opts().reset_connection());
        assert_eq!(opts.pool_opts().constraints().max(), 3);
    }

    #[test]
    fn bad_urls_are_typed_and_redacted() {
        for url in [
            "mysql://u:hunter2@127.0.0.1/",
            "mysql://u:hunter2@127.0.0.1/db?pool_size=0",
            "mysql://u:hunter2@127.0.0.1/db?nonsense=1",
            "mysql://u:hunter2@127.0.0.1/db?sweep=never",
            "mysql://u:hunter2@[::1/db",
            "postgres://u:hunter2@127.0.0.1/db",
        ] {
            match parse(url) {
                Err(KvError::InvalidUrl { reason }) => {
                    assert!(!reason.contains("hunter2"), "{reason}")
                }
                other => panic!("{url}: {other:?}"),
            }
        }
    }
}
