//! [`RawMysql`]: the raw-driver floor of the MySQL/MariaDB backend. The
//! store's statements and driver options (`fedikv::bench_support::mysql`:
//! pool bounds, `CLIENT_FOUND_ROWS`, no reset on return) through a bare
//! mysql_async pool, each statement prepared once per connection.

use std::sync::Arc;

use async_trait::async_trait;
use fedikv::bench_support::mysql::mysql_async::prelude::Queryable;
use fedikv::bench_support::mysql::mysql_async::{Conn, Pool};
use fedikv::bench_support::mysql::{Statements, driver_opts, statements, ttl_micros};
use fedikv::bench_support::{PAGE_SIZE, key_range};
use fedikv::{KvEntry, KvError, KvKey, KvResult, KvStore, KvStream, SetOptions};
use futures::StreamExt;
use serde_json::Value;

use super::{pages, parse, parse_key, unsupported};

/// The MySQL/MariaDB backend's statements through the bare driver.
pub struct RawMysql {
    pool: Pool,
    sql: Arc<Statements>,
}

impl std::fmt::Debug for RawMysql {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawMysql").finish_non_exhaustive()
    }
}

fn mysql(error: impl Into<fedikv::BoxError>) -> KvError {
    KvError::backend("mysql", error)
}

/// A `list` page's rows: key text, value text, remaining milliseconds.
type Row = (String, Vec<u8>, Option<i64>);

impl RawMysql {
    /// A pool for the server `url` names, with the store's options, running
    /// the statements of `table` (which must exist) in the server's dialect.
    pub async fn new(url: &str, table: &str) -> KvResult<Self> {
        let pool = Pool::new(driver_opts(url)?);
        let mut conn = pool.get_conn().await.map_err(mysql)?;
        let version: Option<String> = conn.query_first("SELECT VERSION()").await.map_err(mysql)?;
        drop(conn);
        Ok(Self {
            sql: Arc::new(statements(table, version.as_deref().unwrap_or_default())?),
            pool,
        })
    }

    async fn conn(&self) -> KvResult<Conn> {
        self.pool.get_conn().await.map_err(mysql)
    }
}

#[async_trait]
impl KvStore for RawMysql {
    async fn get(&self, key: &KvKey) -> KvResult<Option<Value>> {
        let key = key.to_json();
        let text: Option<Vec<u8>> = self
            .conn()
            .await?
            .exec_first(self.sql.get.as_str(), (&key,))
            .await
            .map_err(mysql)?;
        text.map(|text| parse(&key, &text)).transpose()
    }

    async fn set(&self, key: &KvKey, value: &Value, options: SetOptions) -> KvResult<()> {
        let (key, value) = (key.to_json(), value.to_string());
        let mut conn = self.conn().await?;
        match options.ttl {
            None => conn.exec_drop(self.sql.set.as_str(), (key, value)).await,
            Some(ttl) => {
                conn.exec_drop(self.sql.set_ttl.as_str(), (key, value, ttl_micros(ttl)))
                    .await
            }
        }
        .map_err(mysql)
    }

    async fn delete(&self, key: &KvKey) -> KvResult<()> {
        self.conn()
            .await?
            .exec_drop(self.sql.delete.as_str(), (key.to_json(),))
            .await
            .map_err(mysql)
    }

    /// The store's one-round-trip swap: replace the live row holding the
    /// expected value's text.
    async fn cas(
        &self,
        key: &KvKey,
        expected: Option<&Value>,
        new: Option<&Value>,
        options: SetOptions,
    ) -> KvResult<bool> {
        let (Some(expected), Some(new), None) = (expected, new, options.ttl) else {
            return Err(unsupported("cas other than value to value without TTL"));
        };
        let mut conn = self.conn().await?;
        conn.exec_drop(
            self.sql.replace_live.as_str(),
            (new.to_string(), key.to_json(), expected.to_string()),
        )
        .await
        .map_err(mysql)?;
        Ok(conn.affected_rows() > 0)
    }

    /// The store's pages: one more row than a page is asked for, to know
    /// whether another page follows.
    fn list(&self, prefix: Option<&KvKey>) -> KvStream {
        let Some(prefix) = prefix else {
            return futures::stream::iter([Err(unsupported("list without a prefix"))]).boxed();
        };
        let range = Arc::new(key_range(prefix));
        let (pool, sql) = (self.pool.clone(), Arc::clone(&self.sql));
        pages(String::new(), move |after| {
            let (pool, sql, range) = (pool.clone(), Arc::clone(&sql), Arc::clone(&range));
            async move {
                let mut conn = pool.get_conn().await.map_err(mysql)?;
                let (exact, from, to) = range.as_ref();
                let mut rows: Vec<Row> = conn
                    .exec(sql.list_prefix.as_str(), (exact, from, to, after))
                    .await
                    .map_err(mysql)?;
                drop(conn);
                let more = rows.len() > PAGE_SIZE;
                rows.truncate(PAGE_SIZE);
                let next = more
                    .then(|| rows.last().map(|(key, _, _)| key.clone()))
                    .flatten();
                let entries = rows
                    .into_iter()
                    .map(|(key, value, _)| {
                        Ok(KvEntry {
                            value: parse(&key, &value)?,
                            key: parse_key(&key)?,
                        })
                    })
                    .collect::<KvResult<Vec<_>>>()?;
                Ok((entries, next))
            }
        })
    }

    async fn sweep(&self) -> KvResult<u64> {
        Err(unsupported("sweep"))
    }

    fn backend(&self) -> &'static str {
        "mysql"
    }
}
