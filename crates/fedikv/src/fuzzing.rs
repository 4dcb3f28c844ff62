//! Crate-private codecs and parsers, opened to the fuzz targets in `fuzz/`
//! (feature `fuzzing`).
//!
//! **Not part of fedikv's API**: hidden from the documentation, without any
//! stability promise, and never to be enabled by an application. Every item
//! only forwards to the crate-private code it names, so the fuzz targets
//! exercise exactly what the stores run.

/// Fedify's Redis key layout (`redis/codec.rs`).
#[cfg(feature = "redis")]
pub mod redis_key {
    use crate::error::KvResult;
    use crate::key::KvKey;
    use crate::redis::codec::KeyCodec;

    /// The Redis backend's key codec under one key prefix.
    #[derive(Debug)]
    pub struct RedisKeyCodec(KeyCodec);

    impl RedisKeyCodec {
        /// `KeyCodec::new`: refuses prefixes the backend refuses.
        pub fn new(prefix: &str) -> KvResult<Self> {
            KeyCodec::new(prefix).map(Self)
        }

        /// `KeyCodec::encode`: the Redis key of `key`.
        pub fn encode(&self, key: &KvKey) -> KvResult<Vec<u8>> {
            self.0.encode(key)
        }

        /// `KeyCodec::decode`: the key stored under the Redis key `raw`.
        pub fn decode(&self, raw: &[u8]) -> Option<KvKey> {
            self.0.decode(raw)
        }

        /// `KeyCodec::pattern`: the `SCAN MATCH` pattern for `prefix`.
        pub fn pattern(&self, prefix: Option<&KvKey>) -> KvResult<Vec<u8>> {
            self.0.pattern(prefix)
        }
    }
}

/// The Deno KV backend's key and value codecs (`denokv/codec/key.rs`,
/// `denokv/codec/value.rs`).
#[cfg(feature = "denokv")]
pub mod denokv {
    use serde_json::Value;

    use crate::denokv::codec::{key, value};
    use crate::error::KvResult;
    use crate::key::KvKey;

    /// `key::encode`: the Deno KV key bytes of `key`.
    pub fn encode_key(key: &KvKey) -> KvResult<Vec<u8>> {
        key::encode(key)
    }

    /// `key::decode`: the key Deno KV key bytes stand for, if any.
    pub fn decode_key(bytes: &[u8]) -> Option<KvKey> {
        key::decode(bytes)
    }

    /// `key::describe`: raw key bytes as errors show them.
    pub fn describe_key(bytes: &[u8]) -> String {
        key::describe(bytes)
    }

    /// `key::prefix_range`: the byte range of `prefix` and the keys under it.
    pub fn prefix_range(prefix: Option<&KvKey>) -> (Vec<u8>, Vec<u8>) {
        key::prefix_range(prefix)
    }

    /// `value::MAX_WRITE_DEPTH`: the deepest value `encode_value` writes.
    pub const MAX_WRITE_DEPTH: usize = value::MAX_WRITE_DEPTH;

    /// `value::encode`: `value` in V8's serialization format.
    pub fn encode_value(json: &Value) -> KvResult<Vec<u8>> {
        value::encode(json)
    }

    /// `value::decode`: the JSON form of V8-serialized bytes (`None` for
    /// `undefined`); errors name the entry `"fuzz"`.
    pub fn decode_value(bytes: &[u8]) -> KvResult<Option<Value>> {
        value::decode(bytes, &|| "fuzz".to_owned())
    }
}

/// Store URL parsing (`open.rs` and each backend's options).
pub mod store_url {
    use crate::Scheme;
    use crate::error::KvResult;

    /// Every check [`open`](crate::open()) makes on `url` before it touches a
    /// file or the network: the scheme, then the backend's URL and option
    /// parsing and the names it validates (table, key prefix, access
    /// token), as each backend's `open_url` runs them.
    pub fn check(url: &str) -> KvResult<()> {
        match Scheme::of(url)? {
            Scheme::Memory => Ok(()),
            #[cfg(feature = "sqlite")]
            Scheme::Sqlite => {
                let (_, options) = crate::sqlite::options::parse_url(url)?;
                crate::sqlite::sql::validate_table_name(&options.table)
            }
            #[cfg(feature = "postgres")]
            Scheme::Postgres => {
                use crate::postgres::{options, schema::TableName};
                let parsed = options::parse(url)?;
                TableName::parse(&parsed.options.table)?;
                options::endpoint(&parsed.driver);
                Ok(())
            }
            #[cfg(feature = "mysql")]
            Scheme::Mysql => {
                let (_, options) = crate::mysql::options::parse(url)?;
                crate::mysql::sql::validate_table_name(&options.table)
            }
            #[cfg(feature = "redis")]
            Scheme::Redis | Scheme::RedisCluster => redis(url),
            #[cfg(feature = "denokv")]
            Scheme::DenoKv | Scheme::DenoKvRemote => denokv(url),
            #[allow(unreachable_patterns)]
            _ => Ok(()),
        }
    }

    #[cfg(feature = "redis")]
    fn redis(url: &str) -> KvResult<()> {
        use crate::redis::{cluster, codec::KeyCodec, options};
        let prefix = if crate::Scheme::of(url)? == crate::Scheme::RedisCluster {
            let (nodes, options) = cluster::parse(url)?;
            cluster::client(&nodes, &options)?;
            cluster::endpoint(&nodes);
            options.prefix
        } else {
            let (info, options) = options::parse(url)?;
            options::endpoint(&info);
            redis::Client::open(info).map_err(|e| crate::store_url::invalid_url(url, e))?;
            options.prefix
        };
        KeyCodec::new(&prefix).map(drop)
    }

    #[cfg(feature = "denokv")]
    fn denokv(url: &str) -> KvResult<()> {
        use crate::denokv::options::{self, DenoKvLocation};
        let parsed = options::parse(url)?;
        match (parsed.location, parsed.token) {
            (DenoKvLocation::Remote { .. }, Some(token)) => options::check_token(&token),
            _ => Ok(()),
        }
    }
}
