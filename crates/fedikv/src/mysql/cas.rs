//! Compare-and-swap without explicit transactions (rule O4).
//!
//! Fedify's store locks the row with `SELECT … FOR UPDATE` in a transaction,
//! which for an absent key relies on InnoDB gap locks, i.e. on REPEATABLE
//! READ (and deadlocks there when two creators race). Here every step is a
//! single autocommit statement whose `WHERE` clause re-checks exactly what the
//! decision was based on, so each swap takes effect atomically at its write,
//! under any isolation level:
//!
//! 1. Fast path, one round trip: `expected = None` tries a plain `INSERT`
//!    (the primary key makes it fail if any row exists); `expected = Some(v)`
//!    tries the guarded `UPDATE`/`DELETE` below with `v`'s own JSON text,
//!    which matches whenever the stored text is what fedikv wrote for `v`.
//! 2. Otherwise read the row, whatever its expiry: its JSON text and whether
//!    it is live. The current value (none if absent or expired) is compared
//!    with `expected` by [`json_opt_eq`]; a mismatch returns `false` (the
//!    read is the moment it was not equal).
//! 3. On a match, write with a guard on the state that was read:
//!    - absent: plain `INSERT` (fails with a duplicate key if someone
//!      created the row meanwhile);
//!    - present but expired: `UPDATE … WHERE key = ? AND <expired>`;
//!    - live with text `T`: `UPDATE`/`DELETE … WHERE key = ? AND value = T
//!      AND <live>` (on MySQL `value = CAST(T AS JSON)`).
//!
//!    With `CLIENT_FOUND_ROWS` one matched row means the swap happened, even
//!    when the new row equals the old one; zero means the row changed since
//!    step 2, so go back to step 2.
//!
//! Concurrent creators of one key: one `INSERT` (or expired-row `UPDATE`,
//! which takes the row lock and re-evaluates its `WHERE` on the latest
//! version) wins; the others see a live row and return `false`.

use std::time::Duration;

use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use serde_json::Value;

use super::Inner;
use super::codec::{column, decode_value, json_text, value_params};
use super::error::{DUPLICATE_ENTRY, map, server_code};
use super::ops::exec_write;
use crate::error::{KvError, KvResult};
use crate::ext::UPDATE_MAX_ATTEMPTS;
use crate::json::json_opt_eq;

/// The row of a key as step 2 read it.
enum Row {
    Absent,
    Expired,
    Live { text: Vec<u8>, value: Value },
}

/// What a guarded write found.
enum Outcome {
    Swapped,
    /// The row is no longer in the state the write was guarded on.
    Changed,
}

impl Inner {
    /// Compare-and-swap of the key with JSON text `key`: swaps to `new` (JSON
    /// text; `None` deletes) with `ttl` iff the current value deep-equals
    /// `expected`. Returns whether it swapped.
    pub(crate) async fn cas(
        &self,
        key: &str,
        expected: Option<&Value>,
        new: Option<&str>,
        ttl: Option<Duration>,
    ) -> KvResult<bool> {
        let mut conn = self.conn().await?;
        let swapped = self.cas_on(&mut conn, key, expected, new, ttl).await?;
        conn.done();
        Ok(swapped)
    }

    /// [`cas`](Self::cas) on one connection.
    async fn cas_on(
        &self,
        conn: &mut Conn,
        key: &str,
        expected: Option<&Value>,
        new: Option<&str>,
        ttl: Option<Duration>,
    ) -> KvResult<bool> {
        let fast = match expected {
            None if new.is_some() => self.insert(conn, key, new, ttl).await?,
            None => Outcome::Changed,
            Some(value) => {
                let guard = json_text(value).into_bytes();
                // No stored value is longer; skip sending an oversized guard.
                if guard.len() <= self.max_value_len() {
                    self.write_live(conn, key, guard, new, ttl).await?
                } else {
                    Outcome::Changed
                }
            }
        };
        if let Outcome::Swapped = fast {
            return Ok(true);
        }
        for _ in 0..UPDATE_MAX_ATTEMPTS {
            let row = self.read_row(conn, key).await?;
            let current = match &row {
                Row::Live { value, .. } => Some(value),
                Row::Absent | Row::Expired => None,
            };
            if !json_opt_eq(current, expected) {
                return Ok(false);
            }
            let outcome = match (row, new) {
                // Absent before and after: nothing to write.
                (Row::Absent | Row::Expired, None) => Outcome::Swapped,
                (Row::Absent, Some(_)) => self.insert(conn, key, new, ttl).await?,
                (Row::Expired, Some(value)) => {
                    let mut params = value_params(value, ttl);
                    params.push(key.into());
                    self.guarded(conn, self.sql.replace_expired.pick(ttl.is_some()), params)
                        .await?
                }
                (Row::Live { text, .. }, _) => self.write_live(conn, key, text, new, ttl).await?,
            };
            if let Outcome::Swapped = outcome {
                return Ok(true);
            }
        }
        Err(KvError::Contention {
            attempts: UPDATE_MAX_ATTEMPTS,
        })
    }

    /// Step 2: the row whatever its expiry.
    async fn read_row(&self, conn: &mut Conn, key: &str) -> KvResult<Row> {
        let row: Option<mysql_async::Row> = conn
            .exec_first(self.sql.read_row.as_str(), (key,))
            .await
            .map_err(map)?;
        let Some(mut row) = row else {
            return Ok(Row::Absent);
        };
        let live: bool = column(&mut row, 1, key)?;
        if !live {
            return Ok(Row::Expired);
        }
        let text: Vec<u8> = column(&mut row, 0, key)?;
        let value = decode_value(key, &text)?;
        Ok(Row::Live { text, value })
    }

    /// Creates the row if no row (live or expired) exists.
    async fn insert(
        &self,
        conn: &mut Conn,
        key: &str,
        new: Option<&str>,
        ttl: Option<Duration>,
    ) -> KvResult<Outcome> {
        let Some(value) = new else {
            return Ok(Outcome::Changed);
        };
        let mut params = vec![key.into()];
        params.extend(value_params(value, ttl));
        match exec_write(conn, self.sql.insert.pick(ttl.is_some()), params).await {
            Ok(_) => Ok(Outcome::Swapped),
            Err(e) if server_code(&e) == Some(DUPLICATE_ENTRY) => Ok(Outcome::Changed),
            Err(e) => Err(map(e)),
        }
    }

    /// Replaces (or, with `new = None`, deletes) the row if it is live and
    /// holds the JSON text `guard`.
    async fn write_live(
        &self,
        conn: &mut Conn,
        key: &str,
        guard: Vec<u8>,
        new: Option<&str>,
        ttl: Option<Duration>,
    ) -> KvResult<Outcome> {
        match new {
            Some(value) => {
                let mut params = value_params(value, ttl);
                params.extend([key.into(), guard.into()]);
                self.guarded(conn, self.sql.replace_live.pick(ttl.is_some()), params)
                    .await
            }
            None => {
                let params = vec![key.into(), guard.into()];
                self.guarded(conn, &self.sql.delete_live, params).await
            }
        }
    }

    /// Runs a guarded write: one matched row means it took effect.
    async fn guarded(
        &self,
        conn: &mut Conn,
        stmt: &str,
        params: Vec<mysql_async::Value>,
    ) -> KvResult<Outcome> {
        let matched = exec_write(conn, stmt, params).await.map_err(map)?;
        Ok(if matched == 1 {
            Outcome::Swapped
        } else {
            Outcome::Changed
        })
    }
}
