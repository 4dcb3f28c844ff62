//! [`KvStoreExt`]: typed access and a CAS retry loop on top of any [`KvStore`].

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{KvError, KvResult};
use crate::key::KvKey;
use crate::store::{KvStore, SetOptions};

/// How many times [`KvStoreExt::update`] retries before giving up with
/// [`KvError::Contention`].
pub const UPDATE_MAX_ATTEMPTS: u32 = 100;

/// The wait after the first lost races of [`KvStoreExt::update`]; it doubles
/// with each further loss up to [`UPDATE_MAX_BACKOFF`].
const UPDATE_FIRST_BACKOFF: Duration = Duration::from_micros(100);

/// The longest wait between two attempts of [`KvStoreExt::update`].
const UPDATE_MAX_BACKOFF: Duration = Duration::from_millis(20);

/// Lost races of [`KvStoreExt::update`] retried at once, before it waits.
const UPDATE_EAGER_RETRIES: u32 = 2;

/// How long [`KvStoreExt::update`] waits after losing `lost` races: nothing
/// for the first few, then an exponentially growing, randomly jittered
/// (50–150 %) time, so that writers contending for one key spread out
/// instead of colliding again in lockstep.
fn update_backoff(lost: u32) -> Duration {
    let Some(doublings) = lost.checked_sub(UPDATE_EAGER_RETRIES + 1) else {
        return Duration::ZERO;
    };
    let base = UPDATE_FIRST_BACKOFF
        .saturating_mul(1 << doublings.min(16))
        .min(UPDATE_MAX_BACKOFF);
    // Each RandomState has fresh random keys: a cheap jitter source.
    let percent = 50 + RandomState::new().hash_one(lost) % 101;
    base * u32::try_from(percent).unwrap_or(100) / 100
}

/// What [`KvStoreExt::health`] found: the store answered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Health {
    /// [`KvStore::backend`].
    pub backend: &'static str,
    /// [`KvStore::server_version`].
    pub server_version: Option<String>,
    /// How long [`KvStore::ping`] took.
    pub latency: Duration,
}

/// Convenience methods for every [`KvStore`], including `dyn KvStore`.
///
/// Implemented for all stores; implementors of [`KvStore`] get it for free and
/// cannot override it.
#[async_trait]
pub trait KvStoreExt: KvStore {
    /// [`KvStore::get`] deserialized into `T` (V3). A stored value that does not
    /// fit `T` is [`KvError::Serde`].
    async fn get_as<T: DeserializeOwned>(&self, key: &KvKey) -> KvResult<Option<T>> {
        match self.get(key).await? {
            Some(value) => Ok(Some(serde_json::from_value(value)?)),
            None => Ok(None),
        }
    }

    /// [`KvStore::set`] of any serializable value (V3). A value without a JSON
    /// form (e.g. a map with non-string keys) is [`KvError::Serde`] and nothing
    /// is written.
    async fn set_as<T: Serialize + Sync>(
        &self,
        key: &KvKey,
        value: &T,
        options: SetOptions,
    ) -> KvResult<()> {
        let value = serde_json::to_value(value)?;
        self.set(key, &value, options).await
    }

    /// A health check: [`KvStore::ping`], timed, then
    /// [`KvStore::server_version`]. An error of either is returned: the
    /// store is not ready.
    async fn health(&self) -> KvResult<Health> {
        let started = std::time::Instant::now();
        self.ping().await?;
        let latency = started.elapsed();
        Ok(Health {
            backend: self.backend(),
            server_version: self.server_version().await?,
            latency,
        })
    }

    /// Read-modify-write through a CAS retry loop: reads the current value,
    /// calls `f` with it (`None` = absent) and swaps in what `f` returns
    /// (`None` = delete) with `options`. Retries while another writer wins the
    /// race, up to [`UPDATE_MAX_ATTEMPTS`], waiting a little longer after each
    /// lost race once the first few fail (jittered exponential backoff, at
    /// most 20 ms). Returns the value written; conformance tests
    /// `o4_concurrent_increments_are_not_lost`, `v3_update_is_a_cas_loop`.
    async fn update<F>(&self, key: &KvKey, options: SetOptions, mut f: F) -> KvResult<Option<Value>>
    where
        F: FnMut(Option<&Value>) -> Option<Value> + Send,
    {
        for lost in 0..UPDATE_MAX_ATTEMPTS {
            let wait = update_backoff(lost);
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            let current = self.get(key).await?;
            let next = f(current.as_ref());
            if self
                .cas(key, current.as_ref(), next.as_ref(), options)
                .await?
            {
                return Ok(next);
            }
        }
        Err(KvError::Contention {
            attempts: UPDATE_MAX_ATTEMPTS,
        })
    }
}

impl<S: KvStore + ?Sized> KvStoreExt for S {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_waits_only_after_the_first_losses_and_is_bounded() {
        for lost in 0..=UPDATE_EAGER_RETRIES {
            assert_eq!(update_backoff(lost), Duration::ZERO);
        }
        let first = update_backoff(UPDATE_EAGER_RETRIES + 1);
        assert!(first >= UPDATE_FIRST_BACKOFF / 2 && first <= UPDATE_FIRST_BACKOFF * 3 / 2);
        for lost in 0..UPDATE_MAX_ATTEMPTS {
            assert!(update_backoff(lost) <= UPDATE_MAX_BACKOFF * 3 / 2);
        }
        let late = update_backoff(UPDATE_MAX_ATTEMPTS - 1);
        assert!(late >= UPDATE_MAX_BACKOFF / 2, "{late:?}");
    }
}
