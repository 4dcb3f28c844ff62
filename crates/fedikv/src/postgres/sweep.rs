//! Sweeping expired rows in bounded batches, off the request path.
//!
//! Fedify's layout cannot index expiry (`created + ttl` is not immutable),
//! so a sweep walks the table once in physical order: each statement takes
//! the next batch of expired rows after a `ctid` cursor (a TID range scan on
//! PostgreSQL 14+) and deletes them, re-checking expiry so that a row written
//! again meanwhile stays. A sweep costs one pass over the table per
//! [`SweepPolicy`](crate::SweepPolicy) interval, never a scan per write.

use std::time::Instant;

use deadpool_postgres::Client;

use super::Inner;
use super::error::{PgResult, map};
use crate::error::KvResult;

/// The cursor before the first row.
const START: &str = "(0,0)";

/// One batch: rows examined, rows deleted, and the cursor after them.
struct Batch {
    examined: i64,
    deleted: i64,
    last: Option<String>,
}

/// Whether a sweep pauses between batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pace {
    /// As fast as it can ([`KvStore::sweep`](crate::KvStore::sweep)).
    Full,
    /// In the background: after each batch, a pause as long as the batch
    /// took, so a large backlog of expired rows takes at most about half of
    /// one connection's time and foreground writes keep their pace.
    Background,
}

impl Inner {
    /// Deletes every row expired now, a batch at a time; returns how many.
    pub(crate) async fn sweep_expired(&self, pace: Pace) -> KvResult<u64> {
        let batch_size = i64::try_from(self.sweeps.policy().batch_size).unwrap_or(i64::MAX);
        let mut cursor = START.to_owned();
        let mut total = 0;
        loop {
            let started = Instant::now();
            let batch = self
                .recreating(|| async {
                    let mut client = self.client().await?;
                    sweep_batch(&mut client, &self.sql.sweep, &cursor)
                        .await
                        .map_err(map)
                })
                .await?;
            total += u64::try_from(batch.deleted).unwrap_or(0);
            match batch.last {
                Some(last) if batch.examined >= batch_size => cursor = last,
                _ => return Ok(total),
            }
            if pace == Pace::Background {
                tokio::time::sleep(started.elapsed()).await;
            }
        }
    }
}

/// Runs one sweep statement in its own transaction, with synchronized scans
/// off so that a sequential scan (chosen instead of a TID range scan) also
/// starts at the table's first page and the cursor stays meaningful.
async fn sweep_batch(client: &mut Client, sql: &str, cursor: &str) -> PgResult<Batch> {
    let tx = client.transaction().await?;
    tx.batch_execute("SET LOCAL synchronize_seqscans = off")
        .await?;
    let statement = tx.prepare_cached(sql).await?;
    let row = tx.query_one(&statement, &[&cursor]).await?;
    tx.commit().await?;
    Ok(Batch {
        examined: row.try_get(0)?,
        deleted: row.try_get(1)?,
        last: row.try_get(2)?,
    })
}
