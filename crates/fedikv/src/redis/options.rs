//! [`RedisOptions`] and the `redis://` / `rediss://` URLs they are read from.

use std::time::Duration;

use redis::{ConnectionAddr, ConnectionInfo};

use crate::error::{KvError, KvResult};
use crate::store_url::{UrlOptions, invalid_url, parse_url};

/// Fedify's default key prefix (`RedisKvStoreOptions.keyPrefix`).
pub const DEFAULT_PREFIX: &str = "fedify::";

/// How long an operation waits for the server's reply by default before it
/// fails with [`KvError::Unavailable`].
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long one connection attempt may take by default.
pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(1);

/// The query options `RedisKvStore::open_url` understands, for messages.
const KNOWN_OPTIONS: &str = "prefix, timeout, connect_timeout, protocol";

/// Options of a [`RedisKvStore`](super::RedisKvStore).
///
/// ```
/// use std::time::Duration;
/// use fedikv::redis::RedisOptions;
/// let options = RedisOptions::new()
///     .prefix("myapp::")
///     .response_timeout(Some(Duration::from_millis(500)));
/// assert_eq!(options.prefix, "myapp::");
/// assert_eq!(RedisOptions::default().prefix, "fedify::");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisOptions {
    /// Prepended to every key (Fedify's `keyPrefix`, default `fedify::`).
    /// Validated when the store is built: not empty, at most
    /// [`MAX_PREFIX_BYTES`](super::MAX_PREFIX_BYTES) bytes, and without glob
    /// characters (`* ? [ ] \`) or control characters ([`KvError::InvalidName`]).
    pub prefix: String,
    /// How long to wait for a reply before failing with
    /// [`KvError::Unavailable`]; `None` waits forever. Only used when fedikv
    /// builds the connection (`open_url`, `from_client`).
    pub response_timeout: Option<Duration>,
    /// How long one connection attempt may take; `None` waits for the
    /// operating system. Only used when fedikv builds the connection.
    pub connection_timeout: Option<Duration>,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            prefix: DEFAULT_PREFIX.to_owned(),
            response_timeout: Some(DEFAULT_RESPONSE_TIMEOUT),
            connection_timeout: Some(DEFAULT_CONNECTION_TIMEOUT),
        }
    }
}

impl RedisOptions {
    /// The defaults: prefix `fedify::`, reply timeout
    /// [`DEFAULT_RESPONSE_TIMEOUT`], connection timeout
    /// [`DEFAULT_CONNECTION_TIMEOUT`].
    pub fn new() -> Self {
        Self::default()
    }

    /// These options with another key prefix.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// These options with another reply timeout (`None`: wait forever).
    pub fn response_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// These options with another connection timeout.
    pub fn connection_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connection_timeout = timeout;
        self
    }
}

/// Splits a store URL into the driver's connection info and fedikv's options.
///
/// fedikv's own query options (`prefix`, `timeout`, `connect_timeout`) are
/// removed; `protocol` (`resp2`/`resp3`) is left for the driver; anything else
/// is refused. Errors are [`KvError::InvalidUrl`] without the password.
pub(crate) fn parse(url: &str) -> KvResult<(ConnectionInfo, RedisOptions)> {
    let mut parsed = parse_url(url)?;
    if !matches!(parsed.scheme(), "redis" | "rediss") {
        return Err(invalid(url, "the scheme must be redis:// or rediss://"));
    }
    let mut query = UrlOptions::from_query(parsed.query());
    let mut options = RedisOptions::default();
    if let Some(prefix) = query.take("prefix") {
        options.prefix = prefix;
    }
    if let Some(timeout) = query.take("timeout") {
        options.response_timeout = optional_duration("timeout", &timeout)?;
    }
    if let Some(timeout) = query.take("connect_timeout") {
        options.connection_timeout = optional_duration("connect_timeout", &timeout)?;
    }
    // What is left goes to the driver, which would ignore unknown names: a
    // misspelt `prefx=` must not silently mean the default prefix.
    let driver_options = query.into_pairs();
    parsed.set_query(None);
    for (name, value) in driver_options {
        if name != "protocol" {
            return Err(KvError::InvalidUrl {
                reason: format!("unknown option {name:?}; known options: {KNOWN_OPTIONS}"),
            });
        }
        parsed.query_pairs_mut().append_pair(&name, &value);
    }
    let info = redis::IntoConnectionInfo::into_connection_info(parsed)
        .map_err(|e| invalid(url, &e.to_string()))?;
    Ok((info, options))
}

/// `redis://user@host:port/db` (or `rediss://`), never the password.
pub(crate) fn endpoint(info: &ConnectionInfo) -> String {
    let scheme = match info.addr() {
        ConnectionAddr::TcpTls { .. } => "rediss",
        ConnectionAddr::Unix(_) => "unix",
        _ => "redis",
    };
    let settings = info.redis_settings();
    let user = settings
        .username()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    format!("{scheme}://{user}{}/{}", info.addr(), settings.db())
}

fn optional_duration(name: &str, value: &str) -> KvResult<Option<Duration>> {
    if matches!(value, "off" | "none") {
        return Ok(None);
    }
    crate::parse_duration(value)
        .map(Some)
        .map_err(|reason| KvError::InvalidUrl {
            reason: format!("option {name}={value}: {reason}, or off"),
        })
}

fn invalid(url: &str, reason: &str) -> KvError {
    invalid_url(url, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fedikv_options_and_keeps_the_database() {
        let (info, options) =
            parse("redis://u:pw@127.0.0.1:6380/3?prefix=app::&timeout=250ms&connect_timeout=off")
                .unwrap();
        assert_eq!(options.prefix, "app::");
        assert_eq!(options.response_timeout, Some(Duration::from_millis(250)));
        assert_eq!(options.connection_timeout, None);
        assert_eq!(info.redis_settings().db(), 3);
        assert_eq!(info.redis_settings().password(), Some("pw"));
        assert_eq!(endpoint(&info), "redis://u@127.0.0.1:6380/3");
    }

    #[test]
    fn defaults_to_fedify_prefix() {
        let (info, options) = parse("redis://127.0.0.1").unwrap();
        assert_eq!(options, RedisOptions::default());
        assert_eq!(endpoint(&info), "redis://127.0.0.1:6379/0");
    }

    #[test]
    fn rejects_bad_urls_without_the_password() {
        for url in [
            "redis://:hunter2@127.0.0.1/notanumber",
            "redis://:hunter2@127.0.0.1/?unknown=1",
            "redis://:hunter2@127.0.0.1/?timeout=soon",
            "redis://:hunter2@127.0.0.1/?protocol=resp9",
            "redis://:hunter2@[bad/",
            "http://:hunter2@127.0.0.1/",
        ] {
            match parse(url) {
                Err(KvError::InvalidUrl { reason }) => {
                    assert!(!reason.contains("hunter2"), "{url}: {reason}");
                }
                other => panic!("{url}: expected InvalidUrl, got {other:?}"),
            }
        }
    }

    #[test]
    fn tls_urls_are_understood() {
        let (info, _) = parse("rediss://127.0.0.1:6379/0").unwrap();
        assert_eq!(endpoint(&info), "rediss://127.0.0.1:6379/0");
    }
}
