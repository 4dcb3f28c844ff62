//! Turning `tokio-postgres` and pool errors into [`KvError`]s.
//!
//! `tokio_postgres::Error`'s own `Display` only names the kind of failure
//! ("db error"), so errors are wrapped in [`PostgresError`], whose message
//! includes the cause and the SQLSTATE. None of these messages holds a
//! password: server messages name at most the user, and connection strings
//! never reach an error (see `options.rs`).

use std::error::Error as StdError;
use std::fmt;

use deadpool_postgres::PoolError;
use tokio_postgres::error::SqlState;

use crate::error::KvError;

pub(crate) const BACKEND: &str = "postgres";

pub(crate) type PgResult<T> = Result<T, tokio_postgres::Error>;

/// A `tokio-postgres` error with a message that says what happened.
///
/// It is the `source` of the [`KvError`] it was mapped to; downcast to it (and
/// call [`PostgresError::code`] or [`std::error::Error::source`] for the
/// driver error) to inspect the SQLSTATE.
#[derive(Debug)]
pub struct PostgresError {
    inner: tokio_postgres::Error,
    hint: Option<&'static str>,
}

impl PostgresError {
    /// The SQLSTATE code the server sent, if the server reported the error.
    pub fn code(&self) -> Option<&SqlState> {
        self.inner.code()
    }
}

impl fmt::Display for PostgresError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inner.as_db_error() {
            Some(db) => write!(f, "{db} (SQLSTATE {})", db.code().code())?,
            None => {
                write!(f, "{}", self.inner)?;
                let mut cause = self.inner.source();
                while let Some(e) = cause {
                    write!(f, ": {e}")?;
                    cause = e.source();
                }
            }
        }
        if let Some(hint) = self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

impl StdError for PostgresError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.inner)
    }
}

/// What kind of failure an error is, by what the caller can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Connection refused, broken or timed out; server shutting down.
    Unavailable,
    /// Authentication or authorization failed.
    AccessDenied,
    /// The TLS handshake failed (no TLS on the server, untrusted certificate).
    Tls,
    /// Anything else.
    Other,
}

fn classify(e: &tokio_postgres::Error) -> Class {
    if let Some(code) = e.code() {
        return match code.code() {
            // invalid_authorization_specification (also: role does not
            // exist), invalid_password, insufficient_privilege.
            "28000" | "28P01" | "42501" => Class::AccessDenied,
            // admin_shutdown, crash_shutdown, cannot_connect_now,
            // too_many_connections, and the connection_exception class.
            "57P01" | "57P02" | "57P03" | "53300" => Class::Unavailable,
            c if c.starts_with("08") => Class::Unavailable,
            _ => Class::Other,
        };
    }
    if e.is_closed() {
        return Class::Unavailable;
    }
    // tokio-postgres does not expose its error kinds; its Display names them.
    let kind = e.to_string();
    match kind.as_str() {
        "error performing TLS handshake" => Class::Tls,
        "authentication error" => Class::AccessDenied,
        "error connecting to server"
        | "error communicating with the server"
        | "timeout waiting for server" => Class::Unavailable,
        _ if has_io_source(e) => Class::Unavailable,
        _ => Class::Other,
    }
}

fn has_io_source(e: &tokio_postgres::Error) -> bool {
    let mut cause = e.source();
    while let Some(c) = cause {
        if c.is::<std::io::Error>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// Maps a driver error to the matching [`KvError`] variant.
pub(crate) fn map(e: tokio_postgres::Error) -> KvError {
    let class = classify(&e);
    let hint = match class {
        Class::Tls => Some("check sslmode and sslrootcert, and that the server has TLS enabled"),
        _ => None,
    };
    let source = Box::new(PostgresError { inner: e, hint });
    match class {
        Class::Unavailable => KvError::Unavailable {
            backend: BACKEND,
            source,
        },
        Class::AccessDenied => KvError::AccessDenied {
            backend: BACKEND,
            source,
        },
        Class::Tls | Class::Other => KvError::Backend {
            backend: BACKEND,
            source,
        },
    }
}

/// Maps an error getting a connection from the pool.
pub(crate) fn map_pool(e: PoolError) -> KvError {
    match e {
        PoolError::Backend(e) => map(e),
        PoolError::Timeout(_) => KvError::unavailable(
            BACKEND,
            format!("{e}: no connection became available in time"),
        ),
        PoolError::Closed => KvError::unavailable(BACKEND, "the connection pool was closed"),
        other => KvError::backend(BACKEND, other.to_string()),
    }
}

/// Whether a mapped error says the table does not exist (dropped behind
/// the store's back), so the store should create it again.
pub(crate) fn is_missing_table(e: &KvError) -> bool {
    match e {
        KvError::Backend { source, .. } => source
            .downcast_ref::<PostgresError>()
            .is_some_and(|e| e.code() == Some(&SqlState::UNDEFINED_TABLE)),
        _ => false,
    }
}

/// Whether `source`, the source of a mapped error, says the server could
/// not read a text parameter as what it was cast to (a malformed array
/// literal, or a NUL in text).
pub(crate) fn is_invalid_text(source: &(dyn StdError + Send + Sync + 'static)) -> bool {
    source
        .downcast_ref::<PostgresError>()
        .and_then(PostgresError::code)
        .is_some_and(|code| {
            *code == SqlState::INVALID_TEXT_REPRESENTATION
                || *code == SqlState::CHARACTER_NOT_IN_REPERTOIRE
        })
}

/// The error for a value of `len` bytes the server refused: too large for
/// `jsonb`, or holding `\u0000`, which `jsonb` cannot store. `None` for any
/// other error.
pub(crate) fn value_error(e: &tokio_postgres::Error, len: usize) -> Option<KvError> {
    let code = e.code()?;
    if *code == SqlState::PROGRAM_LIMIT_EXCEEDED {
        Some(super::codec::too_large(len))
    } else if *code == SqlState::UNTRANSLATABLE_CHARACTER {
        Some(KvError::InvalidValue {
            reason: "PostgreSQL jsonb cannot store the NUL character (\\u0000) in a string or object key; remove or encode it, or use another backend".into(),
        })
    } else {
        None
    }
}
