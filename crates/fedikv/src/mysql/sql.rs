//! The SQL text of every statement, built once per store from the validated
//! table name and the server's dialect.

use super::pieces::{PIECE_BYTES, Pieces, VALUE_VARIABLE};
use crate::error::KvResult;

/// Fedify's default table name.
pub const DEFAULT_TABLE: &str = "fedify_kv";

/// Longest accepted table name: `idx_<table>_expires` must fit MySQL's
/// 64-character identifier limit (Fedify's rule).
pub const MAX_TABLE_NAME_LEN: usize = 50;

/// Checks a table name against Fedify's rule `^[A-Za-z_][A-Za-z0-9_]*$`, at
/// most [`MAX_TABLE_NAME_LEN`] characters, so it can be spliced into SQL.
pub(crate) fn validate_table_name(name: &str) -> KvResult<()> {
    crate::table::validate_identifier(name, MAX_TABLE_NAME_LEN, "table name")
}

/// Which server family the store talks to. Only the CAS value guard differs:
/// MariaDB's `JSON` is `LONGTEXT`, compared as text; MySQL's `JSON` is a
/// binary type that a string only equals after `CAST(? AS JSON)`, which
/// MariaDB lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// MariaDB 10.6+ (tested).
    MariaDb,
    /// MySQL 8.0+ (not available on the test machines: the MySQL branch of
    /// the CAS guard is untested).
    MySql,
}

impl Dialect {
    /// The dialect of a server from its `VERSION()` text, e.g.
    /// `10.11.19-MariaDB-0+deb12u1` or `8.0.40`.
    pub(crate) fn from_version(version: &str) -> Self {
        if version.to_ascii_lowercase().contains("mariadb") {
            Self::MariaDb
        } else {
            Self::MySql
        }
    }

    /// The `db.system.name` of telemetry (OpenTelemetry's names).
    pub(crate) fn system(self) -> &'static str {
        match self {
            Self::MariaDb => "mariadb",
            Self::MySql => "mysql",
        }
    }

    /// The server's name, for messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::MariaDb => "MariaDB",
            Self::MySql => "MySQL",
        }
    }

    /// The deepest nesting the server's JSON column accepts: MariaDB's
    /// `JSON_VALID` check refuses 32 levels and more, MySQL's JSON type more
    /// than 100.
    pub(crate) fn max_json_depth(self) -> usize {
        match self {
            Self::MariaDb => 31,
            Self::MySql => 100,
        }
    }

    /// An expression for the size of column `value` in bytes, without
    /// reading it as text: MariaDB's `JSON` is `LONGTEXT`, whose length is
    /// known; MySQL's binary JSON has a storage size (close to its text's).
    fn value_size(self) -> &'static str {
        match self {
            Self::MariaDb => "LENGTH(`value`)",
            Self::MySql => "JSON_STORAGE_SIZE(`value`)",
        }
    }

    /// An expression true iff column `value` holds the JSON text bound to the
    /// placeholder: the exact text on MariaDB, the same JSON value on MySQL.
    fn value_equals_param(self) -> &'static str {
        match self {
            Self::MariaDb => "`value` = ?",
            Self::MySql => "`value` = CAST(? AS JSON)",
        }
    }
}

/// Liveness of a row, on the server clock.
const LIVE: &str = "(`expires` IS NULL OR `expires` > NOW(6))";
/// Expiry of a physically present row, on the server clock.
const EXPIRED: &str = "(`expires` IS NOT NULL AND `expires` <= NOW(6))";
/// A row's remaining time to live in whole milliseconds, rounded up so that
/// a live row never reports zero; NULL without a TTL.
const REMAINING_MS: &str =
    "CAST(CEIL(TIMESTAMPDIFF(MICROSECOND, NOW(6), `expires`) / 1000) AS SIGNED)";
/// The `expires` of a write with a TTL given in microseconds.
const EXPIRES_IN: &str = "NOW(6) + INTERVAL ? MICROSECOND";

/// A statement in two forms: for a write without TTL (`expires = NULL`) and
/// for one with a TTL (one more placeholder, microseconds, right after the
/// value's).
#[derive(Debug)]
pub(crate) struct WithTtl {
    pub(crate) forever: String,
    pub(crate) ttl: String,
}

impl WithTtl {
    fn new(template: impl Fn(&str) -> String) -> Self {
        Self {
            forever: template("NULL"),
            ttl: template(EXPIRES_IN),
        }
    }

    /// The form for a write with or without a TTL.
    pub(crate) fn pick(&self, has_ttl: bool) -> &str {
        if has_ttl { &self.ttl } else { &self.forever }
    }
}

/// Every statement a store runs, with the table name spliced in.
#[derive(Debug)]
pub(crate) struct Statements {
    pub(crate) create_table: String,
    pub(crate) create_index: String,
    pub(crate) drop_table: String,
    /// `key` → live `value`, `NULL` if longer than
    /// [`PIECE_BYTES`](super::pieces::PIECE_BYTES).
    pub(crate) get: String,
    /// `key` → the live `value` as rows of pieces, in order.
    pub(crate) get_pieces: String,
    /// `key`, `value`[, µs] → upsert.
    pub(crate) set: WithTtl,
    /// `key`[, µs] → upsert of the value in the session variable.
    pub(crate) set_sent: WithTtl,
    /// `piece` → the session variable set to it.
    pub(crate) start_value: String,
    /// `piece` → appended to the session variable.
    pub(crate) append_value: String,
    /// → the session variable set to `NULL`.
    pub(crate) clear_value: String,
    /// `key` → delete.
    pub(crate) delete: String,
    /// `key` → `value`, `live` of the row whatever its expiry.
    pub(crate) read_row: String,
    /// `key`, `value`[, µs] → plain insert (duplicate-key error if present).
    pub(crate) insert: WithTtl,
    /// `value`[, µs], `key`, `guard value` → replace a live row holding the guard.
    pub(crate) replace_live: WithTtl,
    /// `value`[, µs], `key` → replace a row that is expired.
    pub(crate) replace_expired: WithTtl,
    /// `key`, `guard value` → delete a live row holding the guard.
    pub(crate) delete_live: String,
    /// `exact`, `from`, `to`, `after` → one page of a prefix listing (values
    /// longer than [`PIECE_BYTES`](super::pieces::PIECE_BYTES) as `NULL`).
    pub(crate) list_prefix: String,
    /// `after` → one page of a full listing.
    pub(crate) list_all: String,
    /// `exact`, `from`, `to` → how many expired rows are under a prefix.
    pub(crate) count_expired_prefix: String,
    /// → how many expired rows there are.
    pub(crate) count_expired_all: String,
    /// → delete one batch of expired rows.
    pub(crate) sweep: String,
}

impl Statements {
    /// The statements for `table` (already validated) on `dialect`, listing
    /// `page_size` rows per page (asking for one more, to know whether another
    /// page follows), sweeping `sweep_batch` rows per batch and reading long
    /// values in `pieces`.
    pub(crate) fn new(
        table: &str,
        dialect: Dialect,
        page_size: usize,
        sweep_batch: usize,
        pieces: Pieces,
    ) -> Self {
        let t = format!("`{table}`");
        let guard = dialect.value_equals_param();
        let in_prefix = "(`key` = ? OR (`key` >= ? AND `key` < ?))";
        let page_rows = page_size + 1;
        // The value, or NULL (which no stored value is) when it is read in
        // pieces. A NULL in the column (a table of another program's, where
        // the column takes NULL) reads as the empty text: not JSON, so the
        // row is reported instead of passing for a long value.
        let short_value = format!(
            "IF({} > {PIECE_BYTES}, NULL, COALESCE(`value`, ''))",
            dialect.value_size()
        );
        // VALUES() is deprecated (not removed) since MySQL 8.0.20; its
        // replacement (`AS new`) does not exist in MariaDB.
        let upsert = |value: &str| {
            WithTtl::new(|expires| {
                format!(
                    "INSERT INTO {t} (`key`, `value`, `expires`) VALUES (?, {value}, {expires}) \
                     ON DUPLICATE KEY UPDATE `value` = VALUES(`value`), `expires` = VALUES(`expires`)"
                )
            })
        };
        let Pieces { chars, count } = pieces;
        Self {
            create_table: format!(
                "CREATE TABLE IF NOT EXISTS {t} (\
                 `key` VARCHAR(768) NOT NULL, \
                 `value` JSON NOT NULL, \
                 `expires` DATETIME(6) NULL DEFAULT NULL, \
                 PRIMARY KEY (`key`)\
                 ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
            ),
            create_index: format!("CREATE INDEX `idx_{table}_expires` ON {t} (`expires`)"),
            drop_table: format!("DROP TABLE IF EXISTS {t}"),
            get: format!("SELECT {short_value} FROM {t} WHERE `key` = ? AND {LIVE}"),
            // The row is read once (a primary-key lookup is a constant
            // table), then cut at offsets 0, 1, ... < count pieces.
            get_pieces: format!(
                "SELECT SUBSTRING(v.`value`, o.n * {chars} + 1, {chars}) \
                 FROM (SELECT `value` FROM {t} WHERE `key` = ? AND {LIVE}) v \
                 JOIN (WITH RECURSIVE o (n) AS \
                 (SELECT 0 UNION ALL SELECT n + 1 FROM o WHERE n + 1 < {count}) \
                 SELECT n FROM o) o ON o.n * {chars} < CHAR_LENGTH(v.`value`) \
                 ORDER BY o.n"
            ),
            set: upsert("?"),
            set_sent: upsert(VALUE_VARIABLE),
            start_value: format!("SET {VALUE_VARIABLE} = ?"),
            append_value: format!("SET {VALUE_VARIABLE} = CONCAT({VALUE_VARIABLE}, ?)"),
            clear_value: format!("SET {VALUE_VARIABLE} = NULL"),
            delete: format!("DELETE FROM {t} WHERE `key` = ?"),
            read_row: format!("SELECT COALESCE(`value`, ''), {LIVE} FROM {t} WHERE `key` = ?"),
            insert: WithTtl::new(|expires| {
                format!("INSERT INTO {t} (`key`, `value`, `expires`) VALUES (?, ?, {expires})")
            }),
            replace_live: WithTtl::new(|expires| {
                format!(
                    "UPDATE {t} SET `value` = ?, `expires` = {expires} \
                     WHERE `key` = ? AND {guard} AND {LIVE}"
                )
            }),
            replace_expired: WithTtl::new(|expires| {
                format!(
                    "UPDATE {t} SET `value` = ?, `expires` = {expires} WHERE `key` = ? AND {EXPIRED}"
                )
            }),
            delete_live: format!("DELETE FROM {t} WHERE `key` = ? AND {guard} AND {LIVE}"),
            list_prefix: format!(
                "SELECT `key`, {short_value}, {REMAINING_MS} FROM {t} \
                 WHERE {in_prefix} AND `key` > ? AND {LIVE} \
                 ORDER BY `key` LIMIT {page_rows}"
            ),
            list_all: format!(
                "SELECT `key`, {short_value}, {REMAINING_MS} FROM {t} WHERE `key` > ? AND {LIVE} \
                 ORDER BY `key` LIMIT {page_rows}"
            ),
            count_expired_prefix: format!(
                "SELECT COUNT(*) FROM {t} WHERE {in_prefix} AND {EXPIRED}"
            ),
            count_expired_all: format!("SELECT COUNT(*) FROM {t} WHERE {EXPIRED}"),
            sweep: format!(
                "DELETE FROM {t} WHERE `expires` <= NOW(6) ORDER BY `expires` LIMIT {sweep_batch}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::KvError;

    #[test]
    fn table_names_follow_fedify() {
        // The rule itself is tested in `table.rs`; here, this backend's limit.
        assert!(validate_table_name(&"a".repeat(50)).is_ok());
        for bad in [&"a".repeat(51), "x`; DROP TABLE y; --"] {
            assert!(
                matches!(validate_table_name(bad), Err(KvError::InvalidName { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn dialect_from_version_text() {
        assert_eq!(
            Dialect::from_version("10.11.19-MariaDB-0+deb12u1"),
            Dialect::MariaDb
        );
        assert_eq!(
            Dialect::from_version("5.5.5-10.6.4-MariaDB"),
            Dialect::MariaDb
        );
        assert_eq!(Dialect::from_version("8.0.40"), Dialect::MySql);
        assert_eq!(Dialect::from_version("8.4.3-commercial"), Dialect::MySql);
    }

    #[test]
    fn guards_differ_by_dialect_only() {
        let maria = Statements::new("t", Dialect::MariaDb, 500, 1000, Pieces::new(1 << 24));
        let mysql = Statements::new("t", Dialect::MySql, 500, 1000, Pieces::new(1 << 24));
        assert!(maria.delete_live.contains("`value` = ? AND"));
        assert!(mysql.delete_live.contains("`value` = CAST(? AS JSON) AND"));
        // Besides the guard, only how a value's size is taken differs.
        assert_eq!(
            maria.get.replace("LENGTH(", "JSON_STORAGE_SIZE("),
            mysql.get
        );
        assert_eq!(maria.get_pieces, mysql.get_pieces);
        assert!(!maria.set.pick(false).contains("CAST"));
    }
}
