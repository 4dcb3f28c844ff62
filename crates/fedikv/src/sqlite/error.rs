//! From `rusqlite` errors to [`KvError`], and the one failure the store
//! handles itself: a missing table.

use std::path::Path;

use rusqlite::ErrorCode;

use crate::error::KvError;

/// The backend name in errors.
pub(crate) const BACKEND: &str = "sqlite";

/// What a worker thread reports instead of a result.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The table does not exist (never created, or dropped, maybe by another
    /// process): the caller creates it and retries once.
    MissingTable,
    /// Anything else, final.
    Kv(KvError),
}

impl From<KvError> for Failure {
    fn from(error: KvError) -> Self {
        Self::Kv(error)
    }
}

impl From<rusqlite::Error> for Failure {
    fn from(error: rusqlite::Error) -> Self {
        if is_missing_table(&error) {
            Self::MissingTable
        } else {
            Self::Kv(map(error))
        }
    }
}

impl Failure {
    /// The final error; a missing table that could not be recreated is an
    /// ordinary backend error.
    pub(crate) fn into_kv(self) -> KvError {
        match self {
            Self::Kv(error) => error,
            Self::MissingTable => KvError::backend(
                BACKEND,
                "the table disappeared again right after it was created; is another program dropping it?",
            ),
        }
    }
}

/// Whether SQLite said "no such table".
pub(crate) fn is_missing_table(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(_, Some(message)) if message.starts_with("no such table")
    )
}

/// Classifies a SQLite error by what the caller should do.
pub(crate) fn map(error: rusqlite::Error) -> KvError {
    match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => KvError::Unavailable {
            backend: BACKEND,
            source: format!(
                "{error} (another connection or process held the database longer than the busy timeout)"
            )
            .into(),
        },
        Some(ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => KvError::AccessDenied {
            backend: BACKEND,
            source: Box::new(error),
        },
        _ => KvError::backend(BACKEND, error),
    }
}

/// The error `error` maps to, from a reference: one failed commit is reported
/// to every operation of its transaction.
pub(crate) fn map_ref(error: &rusqlite::Error) -> KvError {
    match error {
        rusqlite::Error::SqliteFailure(code, message) => {
            map(rusqlite::Error::SqliteFailure(*code, message.clone()))
        }
        other => KvError::backend(BACKEND, other.to_string()),
    }
}

/// An error while opening `path`: one that means the file cannot be opened or
/// created becomes [`KvError::Io`] naming the path.
pub(crate) fn map_open(path: &Path, error: rusqlite::Error) -> KvError {
    match error.sqlite_error_code() {
        Some(ErrorCode::CannotOpen | ErrorCode::SystemIoFailure | ErrorCode::NotADatabase) => {
            KvError::Io {
                path: path.to_owned(),
                source: std::io::Error::other(error),
            }
        }
        _ => map(error),
    }
}
