//! The table layout of Fedify's `SqliteKvStore`, table-name validation, and
//! every SQL statement the store runs, built once per table.

use crate::error::KvResult;

/// The table Fedify's `SqliteKvStore` uses by default.
pub const DEFAULT_TABLE: &str = "fedify_kv";

/// Longest accepted table name, as in Fedify (`{0,63}` after the first
/// character).
pub const MAX_TABLE_NAME_LEN: usize = 64;

/// Checks `name` against Fedify's rule `^[A-Za-z_][A-Za-z0-9_]{0,63}$`, so it
/// can be spliced into SQL inside double quotes (rule S2).
pub(crate) fn validate_table_name(name: &str) -> KvResult<()> {
    crate::table::validate_identifier(name, MAX_TABLE_NAME_LEN, "table name")
}

/// Every statement of one table. The table name is validated before these are
/// built, so quoting it in `"…"` is safe.
#[derive(Debug)]
pub(crate) struct Sql {
    /// `CREATE TABLE IF NOT EXISTS`, the text Fedify executes (whitespace
    /// included, so `sqlite_master.sql` is identical).
    pub create_table: String,
    /// `CREATE INDEX IF NOT EXISTS "idx_<table>_expires"`, as Fedify.
    pub create_index: String,
    /// `DROP TABLE IF EXISTS`.
    pub drop_table: String,
    /// The live value of `?1` at time `?2`.
    pub get: String,
    /// Fedify's upsert: `created` is kept on update, `expires` replaced.
    pub upsert: String,
    /// Deletes key `?1`.
    pub delete: String,
    /// A page of every live entry after key text `?1` (exclusive), at time
    /// `?2`, at most `?3` rows, in key text order.
    pub list_all: String,
    /// A page of the live entries under a prefix, after key text `?1`
    /// (exclusive): the range `?1 < key <= ?2` (`?2` is the prefix's own key
    /// text), keeping only the prefix itself and the children range
    /// `?3 <= key < ?4`, at time `?5`, at most `?6` rows.
    pub list_prefix: String,
    /// Counts the rows expired at time `?1` (`?1 >= expires`).
    pub count_expired_all: String,
    /// Counts the rows under a prefix expired at time `?4`: the prefix's own
    /// key text `?1`, or the children range `?2 <= key < ?3`.
    pub count_expired_prefix: String,
    /// Deletes at most `?2` rows expired at time `?1`, found through the
    /// `expires` index.
    pub sweep: String,
}

impl Sql {
    /// The statements of table `table` (already validated).
    pub(crate) fn new(table: &str) -> Self {
        const LIVE: &str = "(expires IS NULL OR expires > ?";
        Self {
            create_table: format!(
                "\n      CREATE TABLE IF NOT EXISTS \"{table}\" (\n        key TEXT PRIMARY KEY,\n        value TEXT NOT NULL,\n        created INTEGER NOT NULL,\n        expires INTEGER\n      )\n    "
            ),
            create_index: format!(
                "\n      CREATE INDEX IF NOT EXISTS \"idx_{table}_expires\" \n      ON \"{table}\" (expires)\n    "
            ),
            drop_table: format!("DROP TABLE IF EXISTS \"{table}\""),
            get: format!("SELECT value FROM \"{table}\" WHERE key = ?1 AND {LIVE}2)"),
            upsert: format!(
                "INSERT INTO \"{table}\" (key, value, created, expires) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires"
            ),
            delete: format!("DELETE FROM \"{table}\" WHERE key = ?1"),
            list_all: format!(
                "SELECT key, value, expires FROM \"{table}\" WHERE key > ?1 AND {LIVE}2) ORDER BY key LIMIT ?3"
            ),
            list_prefix: format!(
                "SELECT key, value, expires FROM \"{table}\" WHERE key > ?1 AND key <= ?2 \
                 AND (key = ?2 OR (key >= ?3 AND key < ?4)) AND {LIVE}5) ORDER BY key LIMIT ?6"
            ),
            count_expired_all: format!("SELECT count(*) FROM \"{table}\" WHERE expires <= ?1"),
            count_expired_prefix: format!(
                "SELECT count(*) FROM \"{table}\" WHERE (key = ?1 OR (key >= ?2 AND key < ?3)) \
                 AND expires <= ?4"
            ),
            sweep: format!(
                "DELETE FROM \"{table}\" WHERE rowid IN \
                 (SELECT rowid FROM \"{table}\" WHERE expires <= ?1 LIMIT ?2)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::KvError;
    use crate::jsonkey::JsonKeyRange;
    use crate::key::KvKey;
    use rusqlite::{Connection, StatementStatus};

    /// A table of `others` keys outside prefix `["p"]` and 10 inside it.
    fn populated(others: usize) -> (Connection, Sql) {
        let sql = Sql::new("fedify_kv");
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&sql.create_table).unwrap();
        conn.execute_batch(&sql.create_index).unwrap();
        let mut insert = conn.prepare(&sql.upsert).unwrap();
        for i in 0..others {
            let key = KvKey::new(["o", &i.to_string()]).unwrap().to_json();
            insert.execute((key, "1", 0, Some(i as i64))).unwrap();
        }
        for i in 0..10 {
            let key = KvKey::new(["p", &i.to_string()]).unwrap().to_json();
            insert.execute((key, "1", 0, None::<i64>)).unwrap();
        }
        drop(insert);
        (conn, sql)
    }

    fn plan(conn: &Connection, sql: &str) -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let unbound = vec![rusqlite::types::Null; stmt.parameter_count()];
        let rows = stmt
            .query_map(rusqlite::params_from_iter(unbound), |r| {
                r.get::<_, String>(3)
            })
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        rows.join("\n")
    }

    #[test]
    fn statements_search_the_indexes_and_never_scan_or_sort() {
        let (conn, sql) = populated(100);
        let pk = "USING INDEX sqlite_autoindex_fedify_kv_1";
        for (statement, search) in [
            (
                &sql.list_prefix,
                format!("SEARCH fedify_kv {pk} (key>? AND key<?)"),
            ),
            (&sql.list_all, format!("SEARCH fedify_kv {pk} (key>?)")),
            (&sql.get, format!("SEARCH fedify_kv {pk} (key=?)")),
            (&sql.delete, format!("SEARCH fedify_kv {pk} (key=?)")),
            (
                &sql.sweep,
                "SEARCH fedify_kv USING COVERING INDEX idx_fedify_kv_expires (expires<?)"
                    .to_owned(),
            ),
        ] {
            let plan = plan(&conn, statement);
            assert!(plan.contains(&search), "{statement}\n{plan}");
            assert!(!plan.contains("SCAN"), "{statement}\n{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{statement}\n{plan}");
        }
    }

    #[test]
    fn listing_a_prefix_reads_only_its_rows() {
        let (conn, sql) = populated(20_000);
        let range = JsonKeyRange::new(&KvKey::new(["p"]).unwrap());
        let mut after = range.exact.clone();
        after.pop();
        let mut stmt = conn.prepare(&sql.list_prefix).unwrap();
        let n = stmt
            .query_map(
                (
                    &after,
                    &range.exact,
                    &range.children_from,
                    &range.children_to,
                    0,
                    500,
                ),
                |_| Ok(()),
            )
            .unwrap()
            .count();
        assert_eq!(n, 10);
        assert_eq!(stmt.get_status(StatementStatus::FullscanStep), 0);
        let steps = stmt.get_status(StatementStatus::VmStep);
        assert!(steps < 1000, "{steps} VM steps for 10 rows of 20010");
    }

    #[test]
    fn table_names_follow_fedifys_rule() {
        // The rule itself is tested in `table.rs`; here, this backend's limit.
        assert!(validate_table_name(&"a".repeat(64)).is_ok());
        for bad in [&"a".repeat(65), "kv; DROP TABLE x"] {
            assert!(
                matches!(validate_table_name(bad), Err(KvError::InvalidName { .. })),
                "{bad}"
            );
        }
    }
}
