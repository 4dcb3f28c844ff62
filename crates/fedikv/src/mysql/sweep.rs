//! Batched sweeping of expired rows through the `expires` index (rule S3).

use super::Inner;
use super::error::map;
use super::ops::exec_write;
use crate::error::KvResult;

impl Inner {
    /// Deletes expired rows in batches of the policy's size, through the
    /// `expires` index, until a batch comes back short. Returns the number of
    /// rows removed.
    pub(crate) async fn sweep_expired(&self) -> KvResult<u64> {
        let batch = self.sweeps.policy().batch_size as u64;
        let mut conn = self.conn().await?;
        let mut total = 0;
        loop {
            let removed = exec_write(&mut conn, &self.sql.sweep, vec![])
                .await
                .map_err(map)?;
            total += removed;
            if removed < batch {
                conn.done();
                return Ok(total);
            }
        }
    }
}
