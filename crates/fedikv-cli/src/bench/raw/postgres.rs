//! [`RawPostgres`]: the raw-driver floor of the PostgreSQL backend. The
//! store's statements, key encoding and TTL encoding
//! (`fedikv::bench_support::postgres`) through tokio-postgres, either from a
//! deadpool-postgres pool of the store's size (LIFO, as the store's) or on
//! one connection held for the run ([`Connections`]), each statement
//! prepared once per connection; values as the driver's own `Json`. Without
//! TLS.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use fedikv::bench_support::PAGE_SIZE;
use fedikv::bench_support::postgres::deadpool_postgres::{
    Client, ClientWrapper, Manager, Pool, QueueMode, Runtime,
};
use fedikv::bench_support::postgres::tokio_postgres::types::Json;
use fedikv::bench_support::postgres::tokio_postgres::{NoTls, Statement};
use fedikv::bench_support::postgres::{
    Statements, driver_config, key as key_param, statements, ttl as ttl_param, upper_bound,
};
use fedikv::{KvEntry, KvError, KvKey, KvResult, KvStream};
use serde_json::Value;

use super::{Floor, Kind, failed, pages};

/// The PostgreSQL backend's statements through the bare driver.
pub struct RawPostgres {
    conns: Connections,
    sql: Arc<Statements>,
}

impl std::fmt::Debug for RawPostgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawPostgres").finish_non_exhaustive()
    }
}

fn postgres(error: impl Into<fedikv::BoxError>) -> KvError {
    KvError::backend("postgres", error)
}

/// Where a floor's connections come from.
#[derive(Clone)]
enum Connections {
    /// A pool of the store's size, checked out for each call.
    Pool(Pool),
    /// One connection, held for the whole run.
    Held(Arc<Client>),
}

/// A connection in use by one call.
#[expect(
    clippy::large_enum_variant,
    reason = "a lease lives on the stack of one call; boxing the pooled client would add an allocation the floor does not otherwise pay"
)]
enum Lease {
    Pooled(Client),
    Held(Arc<Client>),
}

impl Deref for Lease {
    type Target = ClientWrapper;
    fn deref(&self) -> &ClientWrapper {
        match self {
            Self::Pooled(client) => client,
            Self::Held(client) => client,
        }
    }
}

impl Connections {
    /// A connection for one call.
    async fn lease(&self) -> KvResult<Lease> {
        Ok(match self {
            Self::Pool(pool) => Lease::Pooled(pool.get().await.map_err(postgres)?),
            Self::Held(client) => Lease::Held(Arc::clone(client)),
        })
    }

    /// A connection and `sql` prepared on it (once per connection).
    async fn prepared(&self, sql: &str) -> KvResult<(Lease, Statement)> {
        let client = self.lease().await?;
        let statement = client.prepare_cached(sql).await.map_err(postgres)?;
        Ok((client, statement))
    }
}

impl RawPostgres {
    /// The floor of a store opened from `url`, running the statements of
    /// `table` (which must exist) on the connections `kind` says.
    pub async fn new(url: &str, table: &str, kind: Kind) -> KvResult<Self> {
        let (config, pool_size) = driver_config(url)?;
        let pool = Pool::builder(Manager::new(config, NoTls))
            .max_size(match kind {
                Kind::StoreCount => pool_size,
                Kind::One => 1,
            })
            .queue_mode(QueueMode::Lifo)
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| postgres(e.to_string()))?;
        let conns = match kind {
            Kind::StoreCount => Connections::Pool(pool),
            Kind::One => Connections::Held(Arc::new(pool.get().await.map_err(postgres)?)),
        };
        Ok(Self {
            conns,
            sql: Arc::new(statements(table)?),
        })
    }
}

/// One page of `(key, value)` rows of a page statement, skipping the
/// past-the-range marker rows, and the key to continue after if it is full.
async fn list_page(
    conns: &Connections,
    sql: &str,
    from: &[String],
    upper: &[Option<String>],
) -> KvResult<(Vec<KvEntry>, Option<Vec<String>>)> {
    let (client, statement) = conns.prepared(sql).await?;
    let rows = client
        .query(&statement, &[&from, &upper])
        .await
        .map_err(postgres)?;
    let mut entries = Vec::with_capacity(rows.len());
    let mut last = None;
    for row in rows {
        if row.try_get::<_, bool>(3).map_err(postgres)? {
            continue;
        }
        let components: Vec<String> = row.try_get(0).map_err(postgres)?;
        let Json(value): Json<Value> = row.try_get(1).map_err(postgres)?;
        entries.push(KvEntry {
            key: KvKey::new(components.iter().map(String::as_str))?,
            value,
        });
        last = Some(components);
    }
    let next = if entries.len() == PAGE_SIZE {
        last
    } else {
        None
    };
    Ok((entries, next))
}

#[async_trait]
impl Floor for RawPostgres {
    const BACKEND: &'static str = "postgres";

    async fn get(&self, key: &KvKey) -> KvResult<Option<Value>> {
        let key = key_param(key)?;
        let (client, statement) = self.conns.prepared(&self.sql.get).await?;
        let row = client
            .query_opt(&statement, &[&key])
            .await
            .map_err(postgres)?;
        row.map(|row| row.try_get::<_, Json<Value>>(0).map(|Json(value)| value))
            .transpose()
            .map_err(postgres)
    }

    async fn set(&self, key: &KvKey, value: &Value, ttl: Option<Duration>) -> KvResult<()> {
        let key = key_param(key)?;
        let ttl = ttl.map(ttl_param);
        let (client, statement) = self.conns.prepared(&self.sql.set).await?;
        client
            .execute(&statement, &[&key, &Json(value), &ttl])
            .await
            .map_err(postgres)?;
        Ok(())
    }

    async fn delete(&self, key: &KvKey) -> KvResult<()> {
        let key = key_param(key)?;
        let (client, statement) = self.conns.prepared(&self.sql.delete).await?;
        client
            .execute(&statement, &[&key])
            .await
            .map_err(postgres)?;
        Ok(())
    }

    /// The store's one-statement swap of a live value.
    async fn swap(&self, key: &KvKey, expected: &Value, new: &Value) -> KvResult<bool> {
        let key = key_param(key)?;
        // No TTL, typed as the store binds one.
        let ttl = None::<Duration>.map(ttl_param);
        let (client, statement) = self.conns.prepared(&self.sql.cas_update).await?;
        let rows = client
            .execute(&statement, &[&key, &Json(expected), &Json(new), &ttl])
            .await
            .map_err(postgres)?;
        Ok(rows > 0)
    }

    /// The store's keyset pages: the first page statement, then "after the
    /// last key" pages while they are full.
    fn list(&self, prefix: &KvKey) -> KvStream {
        let (first, upper) =
            match key_param(prefix).and_then(|first| Ok((first, upper_bound(prefix)?))) {
                Ok(bounds) => bounds,
                Err(error) => return failed(error),
            };
        let (conns, sql, upper) = (self.conns.clone(), Arc::clone(&self.sql), Arc::new(upper));
        pages((true, first), move |(is_first, from)| {
            let (conns, sql, upper) = (conns.clone(), Arc::clone(&sql), Arc::clone(&upper));
            async move {
                let statement = if is_first {
                    &sql.list_prefix_first
                } else {
                    &sql.list_prefix_after
                };
                let (entries, next) = list_page(&conns, statement, &from, &upper).await?;
                Ok((entries, next.map(|last| (false, last))))
            }
        })
    }
}
