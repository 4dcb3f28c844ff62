//! The statements, built once per store for its table. Each is prepared once
//! per pooled connection and cached there.
//!
//! Parameters: `$1` key (`text[]`), then values (`jsonb`) and TTLs
//! (`interval`, NULL for none) as each statement says.

use super::schema::TableName;

/// A row is live iff this holds (Fedify's predicate, on the server clock).
const LIVE: &str = "(ttl IS NULL OR created + ttl > CURRENT_TIMESTAMP)";

/// A row is expired iff this holds.
const EXPIRED: &str = "ttl IS NOT NULL AND created + ttl <= CURRENT_TIMESTAMP";

/// A row's remaining time to live in whole milliseconds, rounded up so that
/// a live row never reports zero; NULL without a TTL.
const REMAINING_MS: &str =
    "ceil(extract(epoch FROM created + ttl - CURRENT_TIMESTAMP) * 1000)::int8";

/// The SQL text of every statement a store runs on its table.
#[derive(Debug, Clone)]
pub(crate) struct Statements {
    /// `$1` key → the live row's value.
    pub(crate) get: String,
    /// `$1` key, `$2` value, `$3` ttl: upsert, resetting `created`.
    pub(crate) set: String,
    /// `$1` key.
    pub(crate) delete: String,
    /// `$1` key, `$2` value, `$3` ttl: insert unless a live row exists (an
    /// expired row is replaced); 1 row affected iff it swapped.
    pub(crate) cas_create: String,
    /// `$1` key, `$2` expected: delete the live row iff its value equals
    /// `expected` (`jsonb` equality: key order ignored, `1 = 1.0`).
    pub(crate) cas_delete: String,
    /// `$1` key, `$2` expected, `$3` new value, `$4` ttl: replace the live
    /// row's value iff it equals `expected`.
    pub(crate) cas_update: String,
    /// `$1` a key as its array literal text: deletes that row, whatever
    /// its shape; 1 row affected iff there was one.
    pub(crate) delete_raw: String,
    /// First page of all keys. Every page statement returns `(key, value,
    /// remaining ms, false)` rows (see `list.rs`).
    pub(crate) list_all_first: String,
    /// `$1` last key of the previous page.
    pub(crate) list_all_after: String,
    /// `$1` prefix, `$2` its upper bound (see `codec::upper_bound`); then
    /// the first key at or after `$2`, as a `(key, NULL, NULL, true)` row.
    pub(crate) list_prefix_first: String,
    /// `$1` last key of the previous page, `$2` the prefix's upper bound.
    pub(crate) list_prefix_after: String,
    /// `$1` a key past a prefix's range: its live row, then the first key
    /// after it as a `(key, NULL, NULL, true)` row.
    pub(crate) list_tail: String,
    /// Counts the expired rows.
    pub(crate) count_expired_all: String,
    /// `$1` prefix, `$2` its upper bound: counts the expired rows under it.
    pub(crate) count_expired_prefix: String,
    /// `$1` a `ctid` as text: deletes up to a batch of expired rows found
    /// after it in physical order; returns (rows examined, rows deleted,
    /// last `ctid` examined as text).
    pub(crate) sweep: String,
}

impl Statements {
    pub(crate) fn new(table: &TableName, page_size: usize, sweep_batch: usize) -> Self {
        let t = table.quoted();
        let list = |condition: &str| {
            format!(
                "SELECT key, value, {REMAINING_MS}, false FROM {t} WHERE {condition}{LIVE} \
                 ORDER BY key LIMIT {page_size}"
            )
        };
        let next_key = |condition: &str| {
            format!(
                "(SELECT key, NULL, NULL, true FROM {t} WHERE {condition} ORDER BY key LIMIT 1)"
            )
        };
        Self {
            get: format!("SELECT value FROM {t} WHERE key = $1 AND {LIVE}"),
            set: format!(
                "INSERT INTO {t} (key, value, created, ttl) VALUES ($1, $2, CURRENT_TIMESTAMP, $3) \
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, \
                 created = EXCLUDED.created, ttl = EXCLUDED.ttl"
            ),
            delete: format!("DELETE FROM {t} WHERE key = $1"),
            delete_raw: format!("DELETE FROM {t} WHERE key = $1::text::text[]"),
            cas_create: format!(
                "INSERT INTO {t} AS existing (key, value, created, ttl) \
                 VALUES ($1, $2, CURRENT_TIMESTAMP, $3) \
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, \
                 created = EXCLUDED.created, ttl = EXCLUDED.ttl \
                 WHERE existing.ttl IS NOT NULL \
                 AND existing.created + existing.ttl <= CURRENT_TIMESTAMP"
            ),
            cas_delete: format!("DELETE FROM {t} WHERE key = $1 AND {LIVE} AND value = $2"),
            cas_update: format!(
                "UPDATE {t} SET value = $3, created = CURRENT_TIMESTAMP, ttl = $4 \
                 WHERE key = $1 AND {LIVE} AND value = $2"
            ),
            list_all_first: list(""),
            list_all_after: list("key > $1 AND "),
            list_prefix_first: format!(
                "({}) UNION ALL {}",
                list("key >= $1 AND key < $2 AND "),
                next_key("key >= $2")
            ),
            list_prefix_after: list("key > $1 AND key < $2 AND "),
            list_tail: format!(
                "(SELECT key, value, {REMAINING_MS}, false FROM {t} WHERE key = $1 AND {LIVE}) \
                 UNION ALL {}",
                next_key("key > $1")
            ),
            count_expired_all: format!("SELECT count(*) FROM {t} WHERE {EXPIRED}"),
            count_expired_prefix: format!(
                "SELECT count(*) FROM {t} WHERE key >= $1 AND key < $2 AND {EXPIRED}"
            ),
            // The candidates come from a TID range scan (PostgreSQL 14+)
            // starting at the cursor, so a sweep reads the table once
            // however many batches it takes. Rows are re-checked when
            // deleted: one written again meanwhile is live and stays.
            sweep: format!(
                "WITH batch AS MATERIALIZED (\
                   SELECT ctid FROM {t} WHERE ctid > $1::text::tid AND {EXPIRED} LIMIT {sweep_batch}\
                 ), gone AS (\
                   DELETE FROM {t} WHERE ctid = ANY(ARRAY(SELECT ctid FROM batch)) AND {EXPIRED} \
                   RETURNING 1\
                 ) \
                 SELECT (SELECT count(*) FROM batch), (SELECT count(*) FROM gone), \
                 (SELECT max(ctid)::text FROM batch)"
            ),
        }
    }
}
