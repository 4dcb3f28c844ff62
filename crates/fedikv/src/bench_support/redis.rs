//! The Redis backend's key layout, compare-and-swap script and listing
//! sizes, for the raw-driver floor.

pub use redis;

use crate::error::KvResult;
use crate::key::KvKey;
use crate::redis::codec::KeyCodec;
use crate::redis::options;

/// `KEYS[1]` key, `ARGV[1]` `1`/`0` (a value is expected or not), `ARGV[2]`
/// the expected bytes, `ARGV[3]` `set`, `del` or a TTL in ms, `ARGV[4]` the
/// new bytes → 1 after swapping, else the current bytes or 0.
pub const CAS_SCRIPT: &str = crate::redis::cas::SOURCE;

/// The `COUNT` hint of each `SCAN` of `list`.
pub const SCAN_COUNT: usize = crate::redis::list::SCAN_COUNT;

/// Most values one `MGET` of `list` fetches.
pub const MGET_BATCH: usize = crate::redis::list::MGET_BATCH;

/// Fedify's key layout under one prefix.
#[derive(Debug)]
pub struct Keys(KeyCodec);

impl Keys {
    /// The layout under `prefix` (validated as the store does).
    pub fn new(prefix: &str) -> KvResult<Self> {
        KeyCodec::new(prefix).map(Self)
    }

    /// The Redis key of `key`.
    pub fn encode(&self, key: &KvKey) -> KvResult<Vec<u8>> {
        self.0.encode(key)
    }

    /// The key a Redis key under the prefix stands for, if it is one.
    pub fn decode(&self, raw: &[u8]) -> Option<KvKey> {
        self.0.decode(raw)
    }

    /// The `SCAN MATCH` pattern of `prefix`'s keys.
    pub fn pattern(&self, prefix: &KvKey) -> KvResult<Vec<u8>> {
        self.0.pattern(Some(prefix))
    }
}

/// The driver's connection settings and the key prefix of a store opened
/// from `url`.
pub fn connection(url: &str) -> KvResult<(redis::ConnectionInfo, String)> {
    let (info, options) = options::parse(url)?;
    Ok((info, options.prefix))
}
