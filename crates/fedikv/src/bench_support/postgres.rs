//! The PostgreSQL backend's statements, key encoding and driver settings,
//! for the raw-driver floor.

use std::time::Duration;

pub use deadpool_postgres;
pub use tokio_postgres;

use tokio_postgres::types::ToSql;

use crate::error::KvResult;
use crate::key::KvKey;
use crate::paging::PAGE_SIZE;
use crate::postgres::codec::{self, Interval};
use crate::postgres::options;
use crate::postgres::schema::TableName;
use crate::postgres::sql;
use crate::sweep::SweepPolicy;

/// The statements `PostgresKvStore` runs on one table (parameters as each says).
#[derive(Debug, Clone)]
pub struct Statements {
    /// `$1` key (`text[]`) → the live row's value (`jsonb`).
    pub get: String,
    /// `$1` key, `$2` value (`jsonb`), `$3` TTL (`interval`, NULL for none).
    pub set: String,
    /// `$1` key.
    pub delete: String,
    /// `$1` key, `$2` expected, `$3` new value, `$4` TTL: 1 row iff swapped.
    pub cas_update: String,
    /// `$1` prefix, `$2` [`upper_bound`] → `(key, value, remaining ms, false)`
    /// rows, then one `(key, NULL, NULL, true)` row past the range.
    pub list_prefix_first: String,
    /// `$1` last key of the previous page, `$2` [`upper_bound`].
    pub list_prefix_after: String,
}

/// The statements of `table` (`name` or `schema.name`).
pub fn statements(table: &str) -> KvResult<Statements> {
    let table = TableName::parse(table)?;
    let all = sql::Statements::new(&table, PAGE_SIZE, SweepPolicy::default().batch_size);
    Ok(Statements {
        get: all.get,
        set: all.set,
        delete: all.delete,
        cas_update: all.cas_update,
        list_prefix_first: all.list_prefix_first,
        list_prefix_after: all.list_prefix_after,
    })
}

/// The store's first-page statement of a prefix listing (parameters as
/// [`Statements::list_prefix_first`]), with pages of `page_size` rows
/// instead of the store's `PAGE_SIZE`: one query for a whole listing, the reference a
/// C client runs.
pub fn list_prefix_first_page(table: &str, page_size: usize) -> KvResult<String> {
    let table = TableName::parse(table)?;
    Ok(
        sql::Statements::new(&table, page_size, SweepPolicy::default().batch_size)
            .list_prefix_first,
    )
}

/// The driver configuration and pool size a store opened from `url` uses
/// (fedikv's own query options removed; TLS settings are not included).
pub fn driver_config(url: &str) -> KvResult<(tokio_postgres::Config, usize)> {
    let parsed = options::parse(url)?;
    Ok((parsed.driver, parsed.options.pool_size))
}

/// The key as the store binds it (`text[]` components).
pub fn key(key: &KvKey) -> KvResult<Vec<String>> {
    codec::key(key).map(|components| components.into_owned())
}

/// The exclusive upper bound of `prefix`'s keys, as the store binds it.
pub fn upper_bound(prefix: &KvKey) -> KvResult<Vec<Option<String>>> {
    codec::components(prefix.components()).map(|components| codec::upper_bound(&components))
}

/// A TTL as the store binds it (`interval` of whole milliseconds).
pub fn ttl(ttl: Duration) -> impl ToSql + Send + Sync {
    Interval::from_ttl(ttl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_page_listing_is_the_stores_first_page_with_another_limit() {
        let store = statements("t").unwrap().list_prefix_first;
        assert_eq!(list_prefix_first_page("t", PAGE_SIZE).unwrap(), store);
        let whole = list_prefix_first_page("t", 1000).unwrap();
        assert_eq!(
            whole,
            store.replace(&format!("LIMIT {PAGE_SIZE})"), "LIMIT 1000)")
        );
        assert_ne!(whole, store);
        assert!(list_prefix_first_page("bad name", 1000).is_err());
    }
}
