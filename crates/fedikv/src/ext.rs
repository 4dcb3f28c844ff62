//! [`KvStoreExt`]: typed access and a CAS retry loop on top of any [`KvStore`].

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

    /// Read-modify-write through a CAS retry loop: reads the current value,
    /// calls `f` with it (`None` = absent) and swaps in what `f` returns
    /// (`None` = delete) with `options`. Retries while another writer wins the
    /// race, up to [`UPDATE_MAX_ATTEMPTS`]. Returns the value written.
    async fn update<F>(&self, key: &KvKey, options: SetOptions, mut f: F) -> KvResult<Option<Value>>
    where
        F: FnMut(Option<&Value>) -> Option<Value> + Send,
    {
        for _ in 0..UPDATE_MAX_ATTEMPTS {
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
