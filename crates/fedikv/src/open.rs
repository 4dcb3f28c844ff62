//! [`open`]: the store a URL names, dispatched on its [`Scheme`].

use std::sync::Arc;

use crate::error::KvResult;
use crate::memory::MemoryKvStore;
use crate::store::KvStore;
use crate::store_url::Scheme;

/// Opens the store a URL names (the forms are listed below and in `docs/cli.md`):
///
/// | URL | store |
/// | --- | --- |
/// | `memory:` | [`MemoryKvStore`] |
/// | `sqlite:PATH`, `sqlite://PATH` | `SqliteKvStore` (feature `sqlite`, default) |
/// | `postgres://…`, `postgresql://…` | `PostgresKvStore` (feature `postgres`) |
/// | `mysql://…`, `mariadb://…` | `MysqlKvStore` (feature `mysql`) |
/// | `redis://…`, `rediss://…` | `RedisKvStore` (feature `redis`) |
/// | `redis+cluster://host:port,…`, `rediss+cluster://…` | `RedisKvStore` on a Redis Cluster (feature `redis`) |
/// | `denokv:PATH`, `denokv+http://…`, `denokv+https://…` | `DenoKvStore` (feature `denokv`) |
///
/// Options go in the query string (`?table=fedify_kv`, `?prefix=fedify::`,
/// `?sweep=off`); each backend documents its own. Errors never repeat the
/// URL's password.
pub async fn open(url: &str) -> KvResult<Arc<dyn KvStore>> {
    match Scheme::of(url)? {
        Scheme::Memory => Ok(Arc::new(MemoryKvStore::new())),
        #[cfg(feature = "sqlite")]
        Scheme::Sqlite => Ok(Arc::new(crate::sqlite::SqliteKvStore::open_url(url).await?)),
        #[cfg(feature = "postgres")]
        Scheme::Postgres => Ok(Arc::new(
            crate::postgres::PostgresKvStore::open_url(url).await?,
        )),
        #[cfg(feature = "mysql")]
        Scheme::Mysql => Ok(Arc::new(crate::mysql::MysqlKvStore::open_url(url).await?)),
        #[cfg(feature = "redis")]
        Scheme::Redis | Scheme::RedisCluster => {
            Ok(Arc::new(crate::redis::RedisKvStore::open_url(url).await?))
        }
        #[cfg(feature = "denokv")]
        Scheme::DenoKv | Scheme::DenoKvRemote => {
            Ok(Arc::new(crate::denokv::DenoKvStore::open_url(url).await?))
        }
        // Scheme::of returns only schemes this build enables.
        #[allow(unreachable_patterns)]
        other => Err(crate::error::KvError::FeatureDisabled {
            scheme: other.names()[0].to_owned(),
            feature: other.feature().unwrap_or_default(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::KvError;

    #[tokio::test]
    async fn unknown_and_malformed_urls_are_typed_errors() {
        assert!(matches!(
            open("ftp://x").await,
            Err(KvError::UnsupportedScheme { .. })
        ));
        assert!(matches!(
            open("no-scheme").await,
            Err(KvError::InvalidUrl { .. })
        ));
        assert_eq!(open("memory:").await.unwrap().backend(), "memory");
    }
}
