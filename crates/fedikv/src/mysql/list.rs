//! Prefix listing as keyset pages over a binary range of the primary key
//! (SPEC O5): no `LIKE`, so `%`, `_` and `\` are ordinary characters.

use std::sync::Arc;

use mysql_async::prelude::Queryable;

use super::Inner;
use super::decode_value;
use super::error::map;
use crate::error::{KvError, KvResult};
use crate::jsonkey::JsonKeyRange;
use crate::key::KvKey;
use crate::paging::{PAGE_SIZE, paged};
use crate::store::{KvEntry, KvStream};

/// Streams the live entries under `prefix` (all with `None`) in key-text
/// byte order, one page of [`PAGE_SIZE`] rows per round trip. Each page
/// starts after the last key of the previous one, so rows written or
/// deleted meanwhile never make an entry appear twice.
pub(crate) fn stream(inner: Arc<Inner>, prefix: Option<&KvKey>) -> KvStream {
    let range = prefix.map(JsonKeyRange::new).map(Arc::new);
    // Every key's text starts with `[`, so every key sorts after "".
    paged(String::new(), move |after: String| {
        let inner = Arc::clone(&inner);
        let range = range.clone();
        async move { inner.list_page(range.as_deref(), after).await }
    })
}

impl Inner {
    /// One page: the entries after key text `after`, and the cursor of the
    /// next page if this one was full.
    async fn list_page(
        &self,
        range: Option<&JsonKeyRange>,
        after: String,
    ) -> KvResult<(Vec<KvEntry>, Option<String>)> {
        let mut conn = self.conn().await?;
        let rows: Vec<(String, Vec<u8>)> = match range {
            Some(r) => {
                conn.exec(
                    self.sql.list_prefix.as_str(),
                    (
                        r.exact.as_str(),
                        r.children_from.as_str(),
                        r.children_to.as_str(),
                        after,
                    ),
                )
                .await
            }
            None => conn.exec(self.sql.list_all.as_str(), (after,)).await,
        }
        .map_err(map)?;
        drop(conn);
        let next = (rows.len() == PAGE_SIZE)
            .then(|| rows.last().map(|(key, _)| key.clone()))
            .flatten();
        let entries = rows
            .into_iter()
            .map(|(key_text, value)| {
                let key = KvKey::from_json(&key_text).map_err(|e| KvError::Corrupt {
                    key: key_text.clone(),
                    reason: format!("the key is not a JSON array of strings: {e}"),
                })?;
                let value = decode_value(&key_text, &value)?;
                Ok(KvEntry { key, value })
            })
            .collect::<KvResult<Vec<_>>>()?;
        Ok((entries, next))
    }
}
