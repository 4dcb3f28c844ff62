//! The single-statement operations (`get`, `set`, `delete`) and the helpers
//! every operation shares: value checks, write execution, recovery from a
//! table dropped behind the store's back, background sweeps.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params, Row};
use serde_json::Value;

use super::Inner;
use super::codec::{ValueReader, column, json_text, ttl_micros, value_params};
use super::conns::Lease;
use super::error::{BACKEND, DEADLOCK, NO_SUCH_TABLE, map, server_code};
use super::pieces::{self, PIECE_BYTES};
use crate::error::{KvError, KvResult};
use crate::json::{self, JsonText};

/// Room left in `max_allowed_packet` for the statement and the key.
const PACKET_HEADROOM: usize = 64 * 1024;

/// How often a statement chosen as a deadlock victim (and so rolled back) is
/// run again before the error is returned.
const DEADLOCK_RETRIES: u32 = 5;

/// Runs a write and returns the affected (with `CLIENT_FOUND_ROWS`: matched)
/// rows, running it again if it was a deadlock victim (rolled back, so it
/// had no effect).
pub(crate) async fn exec_write(
    conn: &mut Conn,
    stmt: &str,
    params: Vec<mysql_async::Value>,
) -> Result<u64, mysql_async::Error> {
    let mut retries = 0;
    loop {
        match conn
            .exec_drop(stmt, Params::Positional(params.clone()))
            .await
        {
            Ok(()) => return Ok(conn.affected_rows()),
            Err(e) if server_code(&e) == Some(DEADLOCK) && retries < DEADLOCK_RETRIES => {
                retries += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether `error` says the table does not exist.
fn is_missing_table(error: &KvError) -> bool {
    match error {
        KvError::Backend { source, .. } => {
            source
                .downcast_ref::<mysql_async::Error>()
                .and_then(server_code)
                == Some(NO_SUCH_TABLE)
        }
        _ => false,
    }
}

impl Inner {
    /// A connection (kept from an earlier operation or from the pool), with
    /// the table created first if needed. Call [`Lease::done`] when the
    /// operation completed, so the next one can reuse it.
    pub(crate) async fn conn(&self) -> KvResult<Lease<'_>> {
        self.initialize(false).await?;
        self.conns.get().await.map_err(map)
    }

    /// Runs `op`; if it failed because the table is gone (dropped by another
    /// program), creates the table and runs `op` once more (the policy of
    /// [`TableState`](crate::table::TableState)).
    pub(crate) async fn recreating<T, F, Fut>(&self, op: F) -> KvResult<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = KvResult<T>>,
    {
        self.table_state
            .recreating(is_missing_table, async || self.create_table().await, op)
            .await
    }

    /// Longest value, in bytes of JSON text, the server takes.
    pub(crate) fn max_value_len(&self) -> usize {
        self.info.max_allowed_packet.saturating_sub(PACKET_HEADROOM)
    }

    /// The value's JSON text, refused when the server could not take it:
    /// too long, or nested deeper than its JSON column accepts. Lone
    /// surrogates, which neither server's JSON accepts as `\udxxx`, are
    /// written as U+FFFD, as Fedify's mysql2 driver sends them.
    pub(crate) fn value_text(&self, value: &Value) -> KvResult<String> {
        self.within_depth(json::is_deeper_than(
            value,
            self.info.dialect.max_json_depth(),
        ))?;
        KvError::within_value_limit(BACKEND, json_text(value), self.max_value_len())
    }

    /// [`value_text`](Self::value_text) of JSON text: the same checks and
    /// replacement, without decoding it (the text is kept when it holds no
    /// lone surrogate).
    pub(crate) fn text_of(&self, value: JsonText) -> KvResult<String> {
        self.within_depth(value.is_deeper_than(self.info.dialect.max_json_depth()))?;
        let text = value.into_string_with_lone_surrogates_replaced();
        KvError::within_value_limit(BACKEND, text, self.max_value_len())
    }

    /// [`KvError::InvalidValue`] when a value is `too_deep` for the
    /// server's JSON column.
    fn within_depth(&self, too_deep: bool) -> KvResult<()> {
        if too_deep {
            let max_depth = self.info.dialect.max_json_depth();
            return Err(KvError::InvalidValue {
                reason: format!(
                    "the value nests more than {max_depth} levels of arrays and objects, the most {} accepts in a JSON column; store it flatter or as a JSON string",
                    self.info.dialect.name()
                ),
            });
        }
        Ok(())
    }

    /// The live value of the key with JSON text `key`, read by `read`
    /// ([`read_value`](super::codec::read_value) or
    /// [`decode_text`](super::codec::decode_text)).
    /// A value longer than [`PIECE_BYTES`] is read in pieces (a second
    /// statement, see [`pieces`](super::pieces)).
    pub(crate) async fn get<V>(&self, key: &str, read: ValueReader<V>) -> KvResult<Option<V>> {
        let mut conn = self.conn().await?;
        let row: Option<Row> = conn
            .exec_first(self.sql.get.as_str(), (key,))
            .await
            .map_err(map)?;
        let row: Option<Option<Vec<u8>>> =
            row.map(|mut row| column(&mut row, 0, key)).transpose()?;
        let bytes = match row {
            Some(None) => pieces::read(&mut conn, &self.sql, key).await.map_err(map)?,
            row => row.flatten(),
        };
        conn.done();
        bytes.map(|bytes| read(key, bytes)).transpose()
    }

    /// Upserts JSON text `value` under `key`, expiring after `ttl`; a
    /// value longer than [`PIECE_BYTES`] is sent in pieces first (see
    /// [`pieces`](super::pieces)).
    pub(crate) async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> KvResult<()> {
        let mut conn = self.conn().await?;
        let has_ttl = ttl.is_some();
        if value.len() > PIECE_BYTES {
            pieces::send(&mut conn, &self.sql, value)
                .await
                .map_err(map)?;
            let mut params = vec![mysql_async::Value::from(key)];
            params.extend(ttl.map(|ttl| mysql_async::Value::from(ttl_micros(ttl))));
            exec_write(&mut conn, self.sql.set_sent.pick(has_ttl), params)
                .await
                .map_err(map)?;
            pieces::clear(&mut conn, &self.sql).await.map_err(map)?;
        } else {
            let mut params = vec![mysql_async::Value::from(key)];
            params.extend(value_params(value, ttl));
            exec_write(&mut conn, self.sql.set.pick(has_ttl), params)
                .await
                .map_err(map)?;
        }
        conn.done();
        Ok(())
    }

    /// Deletes the row whose key column holds `key` (the JSON text of a
    /// key, or any raw key text), live or expired; whether there was one.
    pub(crate) async fn delete(&self, key: &str) -> KvResult<bool> {
        let mut conn = self.conn().await?;
        let deleted = exec_write(&mut conn, &self.sql.delete, vec![key.into()])
            .await
            .map_err(map)?;
        conn.done();
        Ok(deleted > 0)
    }

    /// Starts a sweep in the background if one is due and none is running.
    pub(crate) fn after_write(self: &Arc<Self>) {
        self.sweeps
            .after_write(&self.telemetry, self.table.clone(), || {
                let inner = Arc::clone(self);
                async move { inner.sweep_expired().await }
            });
    }
}
