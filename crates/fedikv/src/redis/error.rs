//! Turning redis-rs errors into [`KvError`]s.
//!
//! redis-rs messages never hold the password: connection info is not part of
//! its errors, and server errors (`WRONGPASS`, `NOPERM`) name at most the user.

use redis::{ErrorKind, RedisError, ServerErrorKind};

use crate::error::KvError;

pub(crate) const BACKEND: &str = "redis";

/// Maps a driver error to the matching [`KvError`] variant.
pub(crate) fn map(error: RedisError) -> KvError {
    if is_access_denied(&error) {
        KvError::AccessDenied {
            backend: BACKEND,
            source: error.into(),
        }
    } else if is_unavailable(&error) {
        KvError::unavailable(BACKEND, error)
    } else {
        KvError::backend(BACKEND, error)
    }
}

/// Whether the connection was found dead (or could not be made) before a
/// reply arrived. The connection manager reconnects in the background, so
/// an idempotent command may be sent once more.
pub(crate) fn is_dropped(error: &RedisError) -> bool {
    error.is_connection_dropped() || error.is_connection_refusal()
}

fn is_access_denied(error: &RedisError) -> bool {
    error.kind() == ErrorKind::AuthenticationFailed
        || matches!(error.code(), Some("WRONGPASS" | "NOAUTH" | "NOPERM"))
}

/// The server is unreachable, busy, or (on a cluster) its slots are moving:
/// a later retry may succeed.
fn is_unavailable(error: &RedisError) -> bool {
    error.is_io_error()
        || is_dropped(error)
        || error.kind() == ErrorKind::ClusterConnectionNotFound
        || error.is_timeout()
        || matches!(
            error.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::ClusterDown
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::ReadOnly
                    | ServerErrorKind::Moved
                    | ServerErrorKind::Ask
            )
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_errors() {
        let refused = RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(is_dropped(&refused));
        assert!(matches!(map(refused), KvError::Unavailable { .. }));
        let timeout = RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut));
        assert!(!is_dropped(&timeout));
        assert!(matches!(map(timeout), KvError::Unavailable { .. }));
        let auth = RedisError::from((ErrorKind::AuthenticationFailed, "bad"));
        assert!(matches!(map(auth), KvError::AccessDenied { .. }));
        let client = RedisError::from((ErrorKind::Client, "bad"));
        assert!(matches!(map(client), KvError::Backend { .. }));
    }
}
