//! [`KvError`]: the typed errors every store returns.

use std::path::PathBuf;

/// A boxed error from a driver or the operating system.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result type of every fedikv operation.
pub type KvResult<T> = Result<T, KvError>;

/// Everything that can go wrong, by what the caller should do about it (rule S4).
///
/// Messages say what to do next. No variant ever carries a password: URLs are
/// redacted before they reach an error, and driver errors are only wrapped
/// after the stores strip connection strings from them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KvError {
    /// The key is not acceptable (empty, NUL, not a JSON array of strings).
    #[error("invalid key: {reason}")]
    InvalidKey {
        /// What is wrong and how to fix it.
        reason: String,
    },

    /// The key is larger than the backend can index (rule K3). Checked before
    /// any round trip; nothing was changed.
    #[error(
        "key too long for {backend}: {len} {unit}, the limit is {max}; shorten the key or hash its longest component"
    )]
    KeyTooLong {
        /// The backend whose limit applies.
        backend: &'static str,
        /// The key's size.
        len: usize,
        /// The backend's limit.
        max: usize,
        /// What `len` and `max` count ("bytes", "characters of JSON text").
        unit: &'static str,
    },

    /// The value is larger than the backend accepts (rule V4). Nothing was changed.
    #[error(
        "value too large for {backend}: {len} bytes of JSON, the limit is {max} bytes; store less or split it"
    )]
    ValueTooLarge {
        /// The backend whose limit applies.
        backend: &'static str,
        /// The value's serialized size in bytes.
        len: usize,
        /// The backend's limit in bytes.
        max: usize,
    },

    /// The value is valid JSON but the backend cannot store it (for example,
    /// nested deeper than Deno KV's V8 serializer allows). Nothing was changed.
    #[error("invalid value: {reason}")]
    InvalidValue {
        /// What is wrong and how to fix it.
        reason: String,
    },

    /// A table, schema or key-prefix name was refused (rule S2).
    #[error("invalid {what} {name:?}: {reason}")]
    InvalidName {
        /// "table name", "schema name", "key prefix", ...
        what: &'static str,
        /// The name as given.
        name: String,
        /// Which names are allowed.
        reason: String,
    },

    /// A store URL or one of its options could not be understood. The message
    /// never repeats a password.
    #[error("invalid store URL: {reason}")]
    InvalidUrl {
        /// What is wrong, with credentials redacted.
        reason: String,
    },

    /// The URL names a scheme fedikv does not know.
    #[error(
        "unknown store URL scheme {scheme:?}: use one of {}",
        crate::Scheme::forms()
    )]
    UnsupportedScheme {
        /// The scheme as given.
        scheme: String,
    },

    /// The URL names a backend this build of fedikv was compiled without.
    #[error(
        "{scheme}: URLs need fedikv's `{feature}` feature; enable it in Cargo.toml (features = [\"{feature}\"])"
    )]
    FeatureDisabled {
        /// The scheme as given.
        scheme: String,
        /// The Cargo feature that enables it.
        feature: &'static str,
    },

    /// A value could not be turned into JSON, or JSON into the requested type
    /// (rule V3). Nothing was changed.
    #[error("value cannot be converted: {source}")]
    Serde {
        /// The serde_json error.
        #[source]
        source: serde_json::Error,
    },

    /// A stored entry could not be decoded (for example, a row another program
    /// wrote that is not valid JSON). The entry is left as it is. `list` and
    /// `scan` yield one such error per undecodable row and go on (rule V5).
    #[error(
        "stored entry {key} cannot be decoded: {reason}; fix it, or delete it by that raw key (KvStore::delete_raw)"
    )]
    Corrupt {
        /// The raw stored key of the broken entry, in the backend's own
        /// form: what [`KvStore::delete_raw`](crate::KvStore::delete_raw)
        /// takes to delete it.
        key: String,
        /// What could not be decoded.
        reason: String,
    },

    /// The server could not be reached, or the connection broke. The operation
    /// may or may not have been applied if it was a write; retry it.
    #[error(
        "{backend} is unavailable: {source}; check that the server is running and reachable, then retry"
    )]
    Unavailable {
        /// The backend.
        backend: &'static str,
        /// The driver's error.
        #[source]
        source: BoxError,
    },

    /// The server refused the credentials or access.
    #[error("{backend} refused access: {source}; check the user name, password and grants")]
    AccessDenied {
        /// The backend.
        backend: &'static str,
        /// The driver's error.
        #[source]
        source: BoxError,
    },

    /// Any other error reported by the backend or its driver.
    #[error("{backend} error: {source}")]
    Backend {
        /// The backend.
        backend: &'static str,
        /// The driver's error.
        #[source]
        source: BoxError,
    },

    /// A file could not be opened or created.
    #[error("cannot open {}: {source}; check that the path is a writable file location", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },

    /// The store cannot do this operation: a [`crate::KvStore`] written
    /// outside fedikv that keeps a trait method's default, or a protocol that
    /// lacks what it needs (Deno KV's KV Connect reports no expiries for
    /// `scan`).
    #[error("{backend} does not support {operation}: {reason}")]
    Unsupported {
        /// The backend.
        backend: &'static str,
        /// The trait method.
        operation: &'static str,
        /// Why, and what to use instead.
        reason: &'static str,
    },

    /// A compare-and-swap retry loop ([`crate::KvStoreExt::update`]) lost the
    /// race too many times.
    #[error(
        "gave up after {attempts} compare-and-swap attempts under contention; retry later or lower the contention on this key"
    )]
    Contention {
        /// How many attempts were made.
        attempts: u32,
    },
}

impl KvError {
    /// Wraps a driver error as [`KvError::Backend`].
    pub fn backend(backend: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Backend {
            backend,
            source: source.into(),
        }
    }

    /// Wraps a driver error as [`KvError::Unavailable`].
    pub fn unavailable(backend: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Unavailable {
            backend,
            source: source.into(),
        }
    }

    /// `encoded`, a key in the form `backend` stores it, if it is at most
    /// `max` bytes; [`KvError::KeyTooLong`] counting `unit` otherwise (rule
    /// K3).
    pub(crate) fn within_key_limit<T: AsRef<[u8]>>(
        backend: &'static str,
        encoded: T,
        max: usize,
        unit: &'static str,
    ) -> KvResult<T> {
        let len = encoded.as_ref().len();
        if len > max {
            return Err(Self::KeyTooLong {
                backend,
                len,
                max,
                unit,
            });
        }
        Ok(encoded)
    }

    /// `encoded`, a value in the form `backend` stores it, if it is at most
    /// `max` bytes; [`KvError::ValueTooLarge`] otherwise (rule V4).
    pub(crate) fn within_value_limit<T: AsRef<[u8]>>(
        backend: &'static str,
        encoded: T,
        max: usize,
    ) -> KvResult<T> {
        let len = encoded.as_ref().len();
        if len > max {
            return Err(Self::ValueTooLarge { backend, len, max });
        }
        Ok(encoded)
    }

    /// A stable, short name of the error's kind (`"invalid_key"`,
    /// `"unavailable"`, ...): the `error.type` of telemetry spans and the
    /// `outcome` label of metrics. It never changes for a variant, and never
    /// carries anything of the error's details.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidKey { .. } => "invalid_key",
            Self::KeyTooLong { .. } => "key_too_long",
            Self::ValueTooLarge { .. } => "value_too_large",
            Self::InvalidValue { .. } => "invalid_value",
            Self::InvalidName { .. } => "invalid_name",
            Self::InvalidUrl { .. } => "invalid_url",
            Self::UnsupportedScheme { .. } => "unsupported_scheme",
            Self::FeatureDisabled { .. } => "feature_disabled",
            Self::Serde { .. } => "serde",
            Self::Corrupt { .. } => "corrupt",
            Self::Unavailable { .. } => "unavailable",
            Self::AccessDenied { .. } => "access_denied",
            Self::Backend { .. } => "backend",
            Self::Io { .. } => "io",
            Self::Unsupported { .. } => "unsupported",
            Self::Contention { .. } => "contention",
        }
    }

    /// Whether retrying the same operation later may succeed (the server was
    /// unreachable or the CAS loop lost a race).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Contention { .. })
    }
}

impl From<serde_json::Error> for KvError {
    fn from(source: serde_json::Error) -> Self {
        Self::Serde { source }
    }
}
