//! From Deno KV errors to [`KvError`].

use std::path::Path;

use crate::error::KvError;

/// The backend name in errors.
pub(crate) const BACKEND: &str = "denokv";

/// A SQLite error of fedikv's own read connection.
pub(crate) fn map_sqlite(error: rusqlite::Error) -> KvError {
    use rusqlite::ErrorCode;
    match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => KvError::unavailable(
            BACKEND,
            format!("{error} (another process held the database longer than the busy timeout)"),
        ),
        Some(ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => KvError::AccessDenied {
            backend: BACKEND,
            source: Box::new(error),
        },
        _ => KvError::backend(BACKEND, error),
    }
}

/// Whether `error` is SQLite's "busy" (another connection writes). In
/// `denokv_sqlite`'s writer it means the write was not applied at all: its
/// transaction only fails that way before taking the write lock.
pub(crate) fn is_busy(error: &denokv_sqlite::SqliteBackendError) -> bool {
    matches!(
        error,
        denokv_sqlite::SqliteBackendError::SqliteError(e)
            if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
    )
}

/// An error of `denokv_sqlite`'s writer.
pub(crate) fn map_backend(error: denokv_sqlite::SqliteBackendError) -> KvError {
    use denokv_sqlite::SqliteBackendError as E;
    match error {
        E::SqliteError(e) => map_sqlite(e),
        E::DatabaseClosed => KvError::backend(
            BACKEND,
            "the Deno KV writer thread stopped (see the log for why); open the store again",
        ),
        other => KvError::backend(BACKEND, other.to_string()),
    }
}

/// The file at `path` is a SQLite database, but of another program.
pub(crate) fn not_deno_kv(path: &Path, tables: &[String]) -> KvError {
    KvError::Io {
        path: path.to_owned(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not a Deno KV database (it holds the tables {tables:?}, not Deno KV's `kv` and \
                 `migration_state`); give the path of the file Deno.openKv(path) uses, or a new file"
            ),
        ),
    }
}
