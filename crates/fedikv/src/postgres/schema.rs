//! The table: name validation and quoting, creation (with Fedify 2.4's
//! unlogged-to-logged conversion) and dropping.

use std::fmt;

use deadpool_postgres::{Client, GenericClient};

use super::error::{PgResult, map};
use crate::error::{KvError, KvResult};
use crate::table::is_identifier;

/// Fedify's default table name.
pub const DEFAULT_TABLE: &str = "fedify_kv_v2";

/// Longest identifier PostgreSQL keeps (`NAMEDATALEN - 1` bytes); longer ones
/// would be silently truncated.
pub const MAX_IDENTIFIER_LEN: usize = 63;

/// First argument of the advisory lock that serializes table creation across
/// processes ("fkv2" in ASCII); the second is a hash of the table name.
const LOCK_CLASS: i32 = 0x666b_7632;

/// A validated table name, `table` or `schema.table`, always quoted in SQL
/// (so `Schema.Relation` is the case-sensitive `"Schema"."Relation"`, as
/// Fedify's Postgres.js identifiers are).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct TableName {
    given: String,
    quoted: String,
}

impl TableName {
    /// Accepts one or two dot-separated parts, each an ASCII letter or `_`
    /// followed by letters, digits or `_`, at most [`MAX_IDENTIFIER_LEN`]
    /// bytes. Anything else (quotes, spaces, semicolons, a third part...) is
    /// [`KvError::InvalidName`] (rule S2).
    pub(crate) fn parse(name: &str) -> KvResult<Self> {
        let invalid = |reason: &str| KvError::InvalidName {
            what: "table name",
            name: name.to_owned(),
            reason: reason.to_owned(),
        };
        let parts: Vec<&str> = name.split('.').collect();
        if parts.len() > 2 {
            return Err(invalid(
                "use `table` or `schema.table`: at most one dot is allowed",
            ));
        }
        if !parts
            .iter()
            .all(|part| is_identifier(part, MAX_IDENTIFIER_LEN))
        {
            return Err(invalid(
                "each part must start with an ASCII letter or `_`, hold only ASCII letters, digits and `_`, and have at most 63 characters",
            ));
        }
        let quoted = parts
            .iter()
            .map(|p| format!("\"{p}\""))
            .collect::<Vec<_>>()
            .join(".");
        Ok(Self {
            given: name.to_owned(),
            quoted,
        })
    }

    /// The name as given, e.g. `Schema.Relation`.
    pub(crate) fn as_str(&self) -> &str {
        &self.given
    }

    /// The quoted SQL identifier, e.g. `"Schema"."Relation"`.
    pub(crate) fn quoted(&self) -> &str {
        &self.quoted
    }
}

impl fmt::Debug for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.given, f)
    }
}

/// Creates the table unless it exists; unless `unlogged`, converts an existing
/// unlogged table to a logged one (Fedify 2.4's one-time `SET LOGGED`).
///
/// The common case (the table exists with the right persistence) is one
/// catalog query and needs no `CREATE` privilege. Otherwise the work runs in a
/// transaction holding an advisory lock on the table name, so concurrent
/// initializations, in this process or others, do not race on the catalog.
pub(crate) async fn create(client: &mut Client, table: &TableName, unlogged: bool) -> KvResult<()> {
    let current = persistence(&*client, table).await.map_err(map)?;
    if is_ready(current, unlogged) {
        return Ok(());
    }
    create_locked(client, table, unlogged).await.map_err(map)
}

/// Whether a table of persistence `current` (`None`: missing) needs no work.
/// Logged by default; with `unlogged`, an existing logged table is left alone
/// (as Fedify does).
fn is_ready(current: Option<u8>, unlogged: bool) -> bool {
    match current {
        None => false,
        Some(_) if unlogged => true,
        Some(p) => p == b'p',
    }
}

async fn create_locked(client: &mut Client, table: &TableName, unlogged: bool) -> PgResult<()> {
    let tx = client.transaction().await?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        &[&LOCK_CLASS, &table.quoted()],
    )
    .await?;
    let unlogged_kw = if unlogged { "UNLOGGED " } else { "" };
    tx.batch_execute(&format!(
        "CREATE {unlogged_kw}TABLE IF NOT EXISTS {} (\
           key text[] PRIMARY KEY, \
           value jsonb NOT NULL, \
           created timestamp with time zone DEFAULT CURRENT_TIMESTAMP, \
           ttl interval\
         )",
        table.quoted()
    ))
    .await?;
    let current = persistence(&tx, table).await?;
    if !unlogged && current == Some(b'u') {
        tx.batch_execute(&format!("ALTER TABLE {} SET LOGGED", table.quoted()))
            .await?;
    }
    tx.commit().await
}

/// `relpersistence` of the table (`p` logged, `u` unlogged), or `None` when it
/// does not exist.
async fn persistence<C: GenericClient>(client: &C, table: &TableName) -> PgResult<Option<u8>> {
    let row = client
        .query_opt(
            "SELECT relpersistence FROM pg_catalog.pg_class WHERE oid = to_regclass($1)",
            &[&table.quoted()],
        )
        .await?;
    row.map(|r| r.try_get::<_, i8>(0).map(|p| p as u8))
        .transpose()
}

/// Drops the table if it exists.
pub(crate) async fn drop(client: &Client, table: &TableName) -> KvResult<()> {
    client
        .batch_execute(&format!("DROP TABLE IF EXISTS {}", table.quoted()))
        .await
        .map_err(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_plain_and_qualified_names() {
        assert_eq!(
            TableName::parse("fedify_kv_v2").unwrap().quoted(),
            "\"fedify_kv_v2\""
        );
        let t = TableName::parse("Schema.Relation").unwrap();
        assert_eq!(t.quoted(), "\"Schema\".\"Relation\"");
        assert_eq!(t.as_str(), "Schema.Relation");
        assert!(TableName::parse(&"a".repeat(63)).is_ok());
    }

    #[test]
    fn rejects_anything_that_could_inject() {
        for bad in [
            "",
            ".",
            "a.",
            ".a",
            "a.b.c",
            "1abc",
            "kv; DROP TABLE x",
            "kv\"",
            "kv--",
            "a b",
            "kv$",
            "ünicode",
            "a\0",
            &"a".repeat(64),
        ] {
            assert!(
                matches!(TableName::parse(bad), Err(KvError::InvalidName { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn readiness_follows_fedify() {
        assert!(!is_ready(None, false));
        assert!(!is_ready(None, true));
        assert!(is_ready(Some(b'p'), false));
        assert!(!is_ready(Some(b'u'), false));
        assert!(is_ready(Some(b'p'), true));
        assert!(is_ready(Some(b'u'), true));
    }
}
