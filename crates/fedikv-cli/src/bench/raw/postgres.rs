//! [`RawPostgres`]: the raw-driver floor of the PostgreSQL backend. The
//! store's statements, key encoding and TTL encoding
//! (`fedikv::bench_support::postgres`) through tokio-postgres and a
//! deadpool-postgres pool of the store's size (LIFO, as the store's), each
//! statement prepared once per connection; values as the driver's own
//! `Json`. Without TLS.

use std::sync::Arc;

use async_trait::async_trait;
use fedikv::bench_support::PAGE_SIZE;
use fedikv::bench_support::postgres::deadpool_postgres::{
    Client, Manager, Pool, QueueMode, Runtime,
};
use fedikv::bench_support::postgres::tokio_postgres::NoTls;
use fedikv::bench_support::postgres::tokio_postgres::types::Json;
use fedikv::bench_support::postgres::{
    Statements, driver_config, key as key_param, statements, ttl as ttl_param, upper_bound,
};
use fedikv::{KvEntry, KvError, KvKey, KvResult, KvStore, KvStream, SetOptions};
use futures::StreamExt;
use serde_json::Value;

use super::{pages, unsupported};

/// The PostgreSQL backend's statements through the bare driver.
pub struct RawPostgres {
    pool: Pool,
    sql: Arc<Statements>,
}

impl std::fmt::Debug for RawPostgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawPostgres")
            .field("pool_max_size", &self.pool.status().max_size)
            .finish_non_exhaustive()
    }
}

fn postgres(error: impl Into<fedikv::BoxError>) -> KvError {
    KvError::backend("postgres", error)
}

impl RawPostgres {
    /// A pool for the server `url` names, of the size a store opened from
    /// `url` has, running the statements of `table` (which must exist).
    pub fn new(url: &str, table: &str) -> KvResult<Self> {
        let (config, pool_size) = driver_config(url)?;
        let pool = Pool::builder(Manager::new(config, NoTls))
            .max_size(pool_size)
            .queue_mode(QueueMode::Lifo)
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| postgres(e.to_string()))?;
        Ok(Self {
            pool,
            sql: Arc::new(statements(table)?),
        })
    }

    async fn client(&self) -> KvResult<Client> {
        client(&self.pool).await
    }
}

async fn client(pool: &Pool) -> KvResult<Client> {
    pool.get().await.map_err(postgres)
}

/// One page of `(key, value)` rows of a page statement, skipping the
/// past-the-range marker rows, and the key to continue after if it is full.
async fn list_page(
    pool: &Pool,
    sql: &str,
    from: &[String],
    upper: &[Option<String>],
) -> KvResult<(Vec<KvEntry>, Option<Vec<String>>)> {
    let client = client(pool).await?;
    let statement = client.prepare_cached(sql).await.map_err(postgres)?;
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
impl KvStore for RawPostgres {
    async fn get(&self, key: &KvKey) -> KvResult<Option<Value>> {
        let key = key_param(key)?;
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&self.sql.get)
            .await
            .map_err(postgres)?;
        let row = client
            .query_opt(&statement, &[&key])
            .await
            .map_err(postgres)?;
        row.map(|row| row.try_get::<_, Json<Value>>(0).map(|Json(value)| value))
            .transpose()
            .map_err(postgres)
    }

    async fn set(&self, key: &KvKey, value: &Value, options: SetOptions) -> KvResult<()> {
        let key = key_param(key)?;
        let ttl = options.ttl.map(ttl_param);
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&self.sql.set)
            .await
            .map_err(postgres)?;
        client
            .execute(&statement, &[&key, &Json(value), &ttl])
            .await
            .map_err(postgres)?;
        Ok(())
    }

    async fn delete(&self, key: &KvKey) -> KvResult<()> {
        let key = key_param(key)?;
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&self.sql.delete)
            .await
            .map_err(postgres)?;
        client
            .execute(&statement, &[&key])
            .await
            .map_err(postgres)?;
        Ok(())
    }

    /// The store's one-statement swap of a live value.
    async fn cas(
        &self,
        key: &KvKey,
        expected: Option<&Value>,
        new: Option<&Value>,
        options: SetOptions,
    ) -> KvResult<bool> {
        let (Some(expected), Some(new)) = (expected, new) else {
            return Err(unsupported("cas without an expected or a new value"));
        };
        let key = key_param(key)?;
        let ttl = options.ttl.map(ttl_param);
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&self.sql.cas_update)
            .await
            .map_err(postgres)?;
        let rows = client
            .execute(&statement, &[&key, &Json(expected), &Json(new), &ttl])
            .await
            .map_err(postgres)?;
        Ok(rows > 0)
    }

    /// The store's keyset pages: the first page statement, then "after the
    /// last key" pages while they are full.
    fn list(&self, prefix: Option<&KvKey>) -> KvStream {
        let bounds = prefix
            .ok_or_else(|| unsupported("list without a prefix"))
            .and_then(|prefix| Ok((key_param(prefix)?, upper_bound(prefix)?)));
        let (first, upper) = match bounds {
            Ok(bounds) => bounds,
            Err(error) => return futures::stream::iter([Err(error)]).boxed(),
        };
        let (pool, sql, upper) = (self.pool.clone(), Arc::clone(&self.sql), Arc::new(upper));
        pages((true, first), move |(is_first, from)| {
            let (pool, sql, upper) = (pool.clone(), Arc::clone(&sql), Arc::clone(&upper));
            async move {
                let statement = if is_first {
                    &sql.list_prefix_first
                } else {
                    &sql.list_prefix_after
                };
                let (entries, next) = list_page(&pool, statement, &from, &upper).await?;
                Ok((entries, next.map(|last| (false, last))))
            }
        })
    }

    async fn sweep(&self) -> KvResult<u64> {
        Err(unsupported("sweep"))
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }
}
