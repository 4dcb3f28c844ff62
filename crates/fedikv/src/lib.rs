//! # fedikv
//!
//! Fedify's key–value store family in Rust. One async [`KvStore`] trait with
//! Fedify's operations (get, set with TTL, delete, compare-and-swap, prefix
//! list) and backends that read and write exactly the tables and keys of
//! Fedify's own stores, so a Rust service and a Fedify app can share one
//! database.
//!
//! ```
//! use std::time::Duration;
//! use fedikv::{KvKey, KvStore, KvStoreExt, SetOptions};
//! use serde_json::json;
//!
//! # #[tokio::main] async fn main() -> Result<(), fedikv::KvError> {
//! let store = fedikv::open("memory:").await?;
//! let key = KvKey::new(["_fedify", "remoteDocument", "https://example.com/"])?;
//! store.set(&key, &json!({"id": "https://example.com/"}), SetOptions::ttl(Duration::from_secs(300))).await?;
//! assert!(store.get(&key).await?.is_some());
//! assert!(store.cas(&key, Some(&json!({"id": "https://example.com/"})), None, SetOptions::default()).await?);
//! assert_eq!(store.get_as::<String>(&key).await?, None);
//! # Ok(()) }
//! ```
//!
//! Backends: [`MemoryKvStore`] always; `SqliteKvStore` (feature `sqlite`, on
//! by default), `PostgresKvStore` (`postgres`), `MysqlKvStore` (`mysql`) and
//! `RedisKvStore` (`redis`) and `DenoKvStore` (`denokv`). [`open()`] picks one
//! from a URL.
//!
//! Values are `serde_json::Value`s. For values too large to decode, or that
//! must pass through unchanged (a copy, a proxy), [`KvStore::get_json`],
//! [`KvStore::set_json`] and [`KvStore::scan_json`] take and return
//! [`JsonText`]: the value's compact JSON text, object members in their
//! stored order, never decoded on SQLite, PostgreSQL, MySQL and Redis.
//!
//! Every operation is a `tracing` span named and attributed after
//! OpenTelemetry's database conventions, and with the `metrics` feature
//! also counted and timed through the `metrics` facade ([`telemetry`]);
//! [`KvStore::ping`] and [`KvStoreExt::health`] are the health check.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]
// The shared modules (`table`, `paging`, `sweep`, `json`, ...) serve several
// backends each; a build with only some backends' features leaves parts of
// them unused. The build with every feature (CI's clippy, `-D warnings`)
// still reports code no backend uses; CI also builds each backend alone.
#![cfg_attr(
    not(all(
        feature = "sqlite",
        feature = "postgres",
        feature = "mysql",
        feature = "redis",
        feature = "denokv"
    )),
    allow(dead_code, unused_imports)
)]

#[cfg(feature = "bench-support")]
#[doc(hidden)]
pub mod bench_support;
mod duration;
mod error;
mod ext;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod js;
pub mod json;
#[cfg(any(feature = "sqlite", feature = "mysql"))]
mod jsonkey;
mod key;
mod memory;
mod open;
mod paging;
mod store;
mod store_url;
mod sweep;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
mod table;
pub mod telemetry;

#[cfg(feature = "denokv")]
pub mod denokv;
#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "sqlite")]
pub mod sqlite;

pub use duration::{MAX_TTL, parse_duration};
pub use error::{BoxError, KvError, KvResult};
pub use ext::{Health, KvStoreExt, UPDATE_MAX_ATTEMPTS};
pub use json::{JsonText, json_eq, json_opt_eq};
pub use key::KvKey;
pub use memory::MemoryKvStore;
pub use open::open;
pub use store::{
    Capabilities, KvEntry, KvRecord, KvRecordStream, KvStore, KvStream, PING_KEY, SetOptions,
};
pub use store_url::{Scheme, redact};
pub use sweep::SweepPolicy;

#[cfg(feature = "denokv")]
pub use denokv::DenoKvStore;
#[cfg(feature = "mysql")]
pub use mysql::MysqlKvStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresKvStore;
#[cfg(feature = "redis")]
pub use redis::RedisKvStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteKvStore;
