//! The SQLite backend's statements, for the raw-driver floor.

pub use rusqlite;

use crate::error::KvResult;
use crate::sqlite::sql::{Sql, validate_table_name};

/// The statements `SqliteKvStore` runs on one table (parameters as each says).
#[derive(Debug, Clone)]
pub struct Statements {
    /// Creates the table, as Fedify.
    pub create_table: String,
    /// Creates the `expires` index, as Fedify.
    pub create_index: String,
    /// `?1` key text, `?2` now (ms) → the live value.
    pub get: String,
    /// `?1` key text, `?2` value text, `?3` created (ms), `?4` expires (ms or NULL).
    pub upsert: String,
    /// `?1` key text.
    pub delete: String,
    /// `?1` after, `?2` exact, `?3` children from, `?4` children to, `?5`
    /// now, `?6` limit → `(key, value, expires)` rows in key order.
    pub list_prefix: String,
}

/// The statements of `table`; [`KvError::InvalidName`](crate::KvError::InvalidName)
/// for a name Fedify's rule refuses.
pub fn statements(table: &str) -> KvResult<Statements> {
    validate_table_name(table)?;
    let sql = Sql::new(table);
    Ok(Statements {
        create_table: sql.create_table,
        create_index: sql.create_index,
        get: sql.get,
        upsert: sql.upsert,
        delete: sql.delete,
        list_prefix: sql.list_prefix,
    })
}
