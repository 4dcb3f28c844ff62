//! The MySQL/MariaDB backend's statements and driver settings, for the
//! raw-driver floor.

use std::time::Duration;

pub use mysql_async;

use crate::error::KvResult;
use crate::mysql::codec;
use crate::mysql::options;
use crate::mysql::pieces::{PIECE_BYTES, Pieces};
use crate::mysql::sql::{self, Dialect, validate_table_name};
use crate::paging::PAGE_SIZE;
use crate::sweep::SweepPolicy;

/// The statements `MysqlKvStore` runs on one table (parameters as each says).
#[derive(Debug, Clone)]
pub struct Statements {
    /// `key` text → live `value` (`NULL` when longer than 1 MiB, which the
    /// store then reads in pieces).
    pub get: String,
    /// `key`, `value` → upsert without TTL.
    pub set: String,
    /// `key`, `value`, TTL µs → upsert with a TTL.
    pub set_ttl: String,
    /// `key` → delete.
    pub delete: String,
    /// `value`, `key`, expected value text → replace a live row holding the
    /// expected text (the one-round-trip path of compare-and-swap).
    pub replace_live: String,
    /// `exact`, `children_from`, `children_to`, `after` → up to
    /// `PAGE_SIZE` (500) + 1 `(key, value, remaining ms)` rows in key order
    /// (`value` as in `get`).
    pub list_prefix: String,
}

/// The statements of `table` on the server whose `VERSION()` is `version`.
pub fn statements(table: &str, version: &str) -> KvResult<Statements> {
    validate_table_name(table)?;
    let dialect = Dialect::from_version(version);
    // The floor never reads a value in pieces: any piece size serves.
    let pieces = Pieces::new(PIECE_BYTES);
    let all = sql::Statements::new(
        table,
        dialect,
        PAGE_SIZE,
        SweepPolicy::default().batch_size,
        pieces,
    );
    Ok(Statements {
        get: all.get,
        set: all.set.pick(false).to_owned(),
        set_ttl: all.set.pick(true).to_owned(),
        delete: all.delete,
        replace_live: all.replace_live.pick(false).to_owned(),
        list_prefix: all.list_prefix,
    })
}

/// The driver options (pool bounds and connection flags included) of a store
/// opened from `url`.
pub fn driver_opts(url: &str) -> KvResult<mysql_async::Opts> {
    let (opts, options) = options::parse(url)?;
    Ok(options.driver_opts(opts))
}

/// A TTL as the store binds it: whole milliseconds, in microseconds.
pub fn ttl_micros(ttl: Duration) -> u64 {
    codec::ttl_micros(ttl)
}
