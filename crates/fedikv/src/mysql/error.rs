//! Turning `mysql_async` errors into [`KvError`]s.
//!
//! Driver messages never hold the password: server errors quote at most the
//! user name, and URL errors are built by this module from the redacted URL.

use mysql_async::{DriverError, Error, ServerError};

use crate::error::KvError;

pub(crate) const BACKEND: &str = "mysql";

/// `ER_DUP_KEYNAME`: the index already exists.
pub(crate) const DUPLICATE_KEY_NAME: u16 = 1061;
/// `ER_DUP_ENTRY`: a row with this primary key already exists.
pub(crate) const DUPLICATE_ENTRY: u16 = 1062;
/// `ER_NO_SUCH_TABLE`: the table does not exist.
pub(crate) const NO_SUCH_TABLE: u16 = 1146;
/// `ER_LOCK_DEADLOCK`: the statement was chosen as a deadlock victim and
/// rolled back, so it can be run again.
pub(crate) const DEADLOCK: u16 = 1213;

/// Server error codes that mean "not allowed": wrong user or password, or
/// missing grants.
const ACCESS_DENIED: &[u16] = &[
    1044, // ER_DBACCESS_DENIED_ERROR
    1045, // ER_ACCESS_DENIED_ERROR
    1142, // ER_TABLEACCESS_DENIED_ERROR
    1143, // ER_COLUMNACCESS_DENIED_ERROR
    1227, // ER_SPECIFIC_ACCESS_DENIED_ERROR
    1698, // ER_ACCESS_DENIED_NO_PASSWORD_ERROR
];

/// Server error codes that mean the server is going away or refusing
/// connections for now.
const UNAVAILABLE: &[u16] = &[
    1040, // ER_CON_COUNT_ERROR: too many connections
    1053, // ER_SERVER_SHUTDOWN
    1077, // ER_NORMAL_SHUTDOWN
    1152, // ER_ABORTING_CONNECTION
    1927, // ER_CONNECTION_KILLED (MariaDB)
    4031, // ER_CLIENT_INTERACTION_TIMEOUT (MySQL)
];

/// The server error code, if `error` is one.
pub(crate) fn server_code(error: &Error) -> Option<u16> {
    match error {
        Error::Server(ServerError { code, .. }) => Some(*code),
        _ => None,
    }
}

/// Maps a driver error to the matching [`KvError`] variant.
pub(crate) fn map(error: Error) -> KvError {
    match &error {
        Error::Io(_) => KvError::unavailable(BACKEND, error),
        Error::Driver(DriverError::ConnectionClosed | DriverError::PoolDisconnected) => {
            KvError::unavailable(BACKEND, error)
        }
        Error::Server(ServerError { code, .. }) if ACCESS_DENIED.contains(code) => {
            KvError::AccessDenied {
                backend: BACKEND,
                source: error.into(),
            }
        }
        Error::Server(ServerError { code, .. }) if UNAVAILABLE.contains(code) => {
            KvError::unavailable(BACKEND, error)
        }
        _ => KvError::backend(BACKEND, error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(code: u16) -> Error {
        Error::Server(ServerError {
            code,
            message: "m".into(),
            state: "HY000".into(),
        })
    }

    #[test]
    fn classifies_by_code() {
        assert!(matches!(map(server(1045)), KvError::AccessDenied { .. }));
        assert!(matches!(map(server(1053)), KvError::Unavailable { .. }));
        assert!(matches!(map(server(1064)), KvError::Backend { .. }));
        assert!(matches!(
            map(Error::Driver(DriverError::ConnectionClosed)),
            KvError::Unavailable { .. }
        ));
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(matches!(
            map(Error::Io(io.into())),
            KvError::Unavailable { .. }
        ));
        assert_eq!(server_code(&server(DEADLOCK)), Some(1213));
    }
}
