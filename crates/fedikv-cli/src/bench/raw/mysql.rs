//! [`RawMysql`]: the raw-driver floor of the MySQL/MariaDB backend. The
//! store's statements and driver options (`fedikv::bench_support::mysql`:
//! pool bounds, `CLIENT_FOUND_ROWS`, no reset on return) through a bare
//! mysql_async pool, a connection checked out for each call, or on one
//! connection held for the run ([`Connections`]); each statement prepared
//! once per connection.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use fedikv::bench_support::mysql::mysql_async::prelude::Queryable;
use fedikv::bench_support::mysql::mysql_async::{Conn, Pool};
use fedikv::bench_support::mysql::{Statements, driver_opts, statements, ttl_micros};
use fedikv::bench_support::{PAGE_SIZE, key_range};
use fedikv::{KvEntry, KvError, KvKey, KvResult, KvStream};
use serde_json::Value;
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::{Floor, Kind, pages, parse, parse_key};

/// The MySQL/MariaDB backend's statements through the bare driver.
pub struct RawMysql {
    conns: Connections,
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

/// Where a floor's connections come from.
#[derive(Clone)]
enum Connections {
    /// The store's pool bounds, a connection checked out for each call.
    Pool(Pool),
    /// One connection, held for the whole run; calls take turns on it.
    Held(Arc<Mutex<Conn>>),
}

/// A connection in use by one call.
enum Lease {
    Pooled(Conn),
    Held(OwnedMutexGuard<Conn>),
}

impl Deref for Lease {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        match self {
            Self::Pooled(conn) => conn,
            Self::Held(conn) => conn,
        }
    }
}

impl DerefMut for Lease {
    fn deref_mut(&mut self) -> &mut Conn {
        match self {
            Self::Pooled(conn) => conn,
            Self::Held(conn) => conn,
        }
    }
}

impl Connections {
    /// A connection for one call.
    async fn lease(&self) -> KvResult<Lease> {
        Ok(match self {
            Self::Pool(pool) => Lease::Pooled(pool.get_conn().await.map_err(mysql)?),
            Self::Held(conn) => Lease::Held(Arc::clone(conn).lock_owned().await),
        })
    }
}

impl RawMysql {
    /// The floor of a store opened from `url` (the store's options), running
    /// the statements of `table` (which must exist) in the server's dialect
    /// on the connections `kind` says.
    pub async fn new(url: &str, table: &str, kind: Kind) -> KvResult<Self> {
        let pool = Pool::new(driver_opts(url)?);
        let mut conn = pool.get_conn().await.map_err(mysql)?;
        let version: Option<String> = conn.query_first("SELECT VERSION()").await.map_err(mysql)?;
        let conns = match kind {
            Kind::StoreCount => {
                drop(conn);
                Connections::Pool(pool)
            }
            Kind::One => Connections::Held(Arc::new(Mutex::new(conn))),
        };
        Ok(Self {
            sql: Arc::new(statements(table, version.as_deref().unwrap_or_default())?),
            conns,
        })
    }
}

#[async_trait]
impl Floor for RawMysql {
    const BACKEND: &'static str = "mysql";

    async fn get(&self, key: &KvKey) -> KvResult<Option<Value>> {
        let key = key.to_json();
        let text: Option<Vec<u8>> = self
            .conns
            .lease()
            .await?
            .exec_first(self.sql.get.as_str(), (&key,))
            .await
            .map_err(mysql)?;
        text.map(|text| parse(&key, &text)).transpose()
    }

    async fn set(&self, key: &KvKey, value: &Value, ttl: Option<Duration>) -> KvResult<()> {
        let (key, value) = (key.to_json(), value.to_string());
        let mut conn = self.conns.lease().await?;
        match ttl {
            None => conn.exec_drop(self.sql.set.as_str(), (key, value)).await,
            Some(ttl) => {
                conn.exec_drop(self.sql.set_ttl.as_str(), (key, value, ttl_micros(ttl)))
                    .await
            }
        }
        .map_err(mysql)
    }

    async fn delete(&self, key: &KvKey) -> KvResult<()> {
        self.conns
            .lease()
            .await?
            .exec_drop(self.sql.delete.as_str(), (key.to_json(),))
            .await
            .map_err(mysql)
    }

    /// The store's one-round-trip swap: replace the live row holding the
    /// expected value's text.
    async fn swap(&self, key: &KvKey, expected: &Value, new: &Value) -> KvResult<bool> {
        let mut conn = self.conns.lease().await?;
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
    fn list(&self, prefix: &KvKey) -> KvStream {
        let range = Arc::new(key_range(prefix));
        let (conns, sql) = (self.conns.clone(), Arc::clone(&self.sql));
        pages(String::new(), move |after| {
            let (conns, sql, range) = (conns.clone(), Arc::clone(&sql), Arc::clone(&range));
            async move {
                let mut conn = conns.lease().await?;
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
}
