//! Expiry on the server clock: TTL parameters and batched sweeping.

use std::time::Duration;

use super::Inner;
use super::error::map;
use super::ops::exec_write;
use crate::error::KvResult;

/// The microseconds bound to `NOW(6) + INTERVAL ? MICROSECOND`: the TTL at
/// millisecond precision (rule O2). Callers pass
/// [`SetOptions::effective_ttl`](crate::SetOptions::effective_ttl), at most
/// [`MAX_TTL`](crate::MAX_TTL) (3.2e16 microseconds), which keeps
/// `NOW(6) + INTERVAL` inside `DATETIME`'s range (year 9999).
pub(crate) fn ttl_micros(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis().saturating_mul(1000)).unwrap_or(u64::MAX)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_is_whole_milliseconds() {
        assert_eq!(ttl_micros(Duration::ZERO), 0);
        assert_eq!(ttl_micros(Duration::from_micros(1999)), 1000);
        assert_eq!(ttl_micros(Duration::from_secs(3600)), 3_600_000_000);
        assert_eq!(ttl_micros(crate::MAX_TTL), 31_536_000_000_000_000);
    }
}
