//! `fedikv bench --c-client-fixture fill|wipe` (hidden), for
//! `scripts/bench_c_clients.py`: the data and statements with which the
//! servers' own C clients (`pgbench`, `mariadb-slap`, `redis-benchmark`) run
//! fedikv's reads, so that "fedikv ÷ C client" compares the same query on
//! the same rows, and no statement is copied by hand into the script.
//!
//! `fill` writes, through the store, the documents of the workload's `set`
//! phase and the keys of its `list` phase into the benchmark table or prefix
//! of each PostgreSQL, MySQL or Redis store, and prints one JSON line per
//! store:
//!
//! - PostgreSQL: `get` (`statement` with `$1`, `params` as text) reading
//!   document 0, and `list` (the first-page statement with pages of all the
//!   list keys) of the listed prefix;
//! - MySQL: `get` (`statement` with `?`, `params`) reading document 0;
//! - Redis: `get` (`db`, `key`): the Redis key of document 0.
//!
//! `wipe` drops the table or deletes the prefix's entries.

use std::sync::Arc;

use fedikv::bench_support::mysql::statements as mysql_statements;
use fedikv::bench_support::postgres::{
    key as pg_key, list_prefix_first_page, statements as pg_statements, upper_bound,
};
use fedikv::bench_support::redis::{Keys, connection};
use fedikv::{KvKey, KvResult, KvStore, SetOptions};
use serde_json::{Value, json};

use super::output::Sink;
use super::target::{Opened, Target};
use super::workload::{LIST_PREFIX, Workload, doc_key, list_key};
use crate::cli::FixtureAction;
use crate::error::{CliError, Outcome};

/// Runs `action` on every target, in order.
pub async fn run(
    action: FixtureAction,
    targets: &[Target],
    workload: &Workload,
    sink: &mut Sink,
) -> Result<Outcome, CliError> {
    for target in targets {
        if !matches!(target.backend, "postgres" | "mysql" | "redis") {
            return Err(CliError::new(format!(
                "--c-client-fixture works on PostgreSQL, MySQL and Redis stores, not {}",
                target.backend
            )));
        }
        let opened = target.open().await?;
        match action {
            FixtureAction::Wipe => opened.wipe().await?,
            FixtureAction::Fill => {
                opened.wipe().await?;
                fill(opened.store.as_ref(), workload).await?;
                let mut line = json!({
                    "backend": target.label,
                    "server": target.server,
                    "n": workload.n,
                });
                describe(target, &opened, workload, &mut line).await?;
                sink.write(&line)?;
            }
        }
    }
    Ok(Outcome::Success)
}

/// Writes the documents of the `set` phase and the keys of the `list` phase.
async fn fill(store: &dyn KvStore, workload: &Workload) -> KvResult<()> {
    for i in 0..workload.n {
        store
            .set_shared(
                &doc_key(i)?,
                Arc::clone(workload.shared(i)),
                SetOptions::default(),
            )
            .await?;
    }
    for i in 0..workload.list_keys {
        store
            .set(&list_key(i)?, workload.value(i), SetOptions::default())
            .await?;
    }
    Ok(())
}

/// Adds the statements or key of `target`'s backend to `line`.
async fn describe(
    target: &Target,
    opened: &Opened,
    workload: &Workload,
    line: &mut Value,
) -> KvResult<()> {
    let key = doc_key(0)?;
    match (target.backend, opened.server_table()) {
        ("postgres", Some(table)) => {
            let prefix = KvKey::new(LIST_PREFIX)?;
            let upper: Vec<Option<String>> = upper_bound(&prefix)?;
            line["table"] = json!(table);
            line["get"] = json!({
                "statement": pg_statements(table)?.get,
                "params": [pg_array(pg_key(&key)?.into_iter().map(Some))],
            });
            line["list"] = json!({
                "statement": list_prefix_first_page(table, workload.list_keys)?,
                "params": [pg_array(pg_key(&prefix)?.into_iter().map(Some)), pg_array(upper)],
                "rows": workload.list_keys,
            });
        }
        ("mysql", Some(table)) => {
            let version = opened.store.server_version().await?.unwrap_or_default();
            line["table"] = json!(table);
            line["get"] = json!({
                "statement": mysql_statements(table, &version)?.get,
                "params": [key.to_json()],
            });
        }
        _ => {
            let (info, prefix) = connection(target.url())?;
            let raw = Keys::new(&prefix)?.encode(&key)?;
            line["get"] = json!({
                "db": info.redis_settings().db(),
                "key": String::from_utf8_lossy(&raw),
            });
        }
    }
    Ok(())
}

/// A PostgreSQL array literal of text elements (`NULL` for `None`).
fn pg_array(elements: impl IntoIterator<Item = Option<String>>) -> String {
    let quoted: Vec<String> = elements
        .into_iter()
        .map(|element| match element {
            Some(text) => format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\"")),
            None => "NULL".to_owned(),
        })
        .collect();
    format!("{{{}}}", quoted.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_array_literals_quote_every_element() {
        assert_eq!(
            pg_array([Some("a\"b".to_owned()), Some("c\\d".to_owned()), None]),
            r#"{"a\"b","c\\d",NULL}"#
        );
        assert_eq!(pg_array([]), "{}");
    }
}
