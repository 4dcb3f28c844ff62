//! `list` and `sweep`: pages over a key range.

use std::sync::Arc;

use chrono::Utc;

use crate::error::KvResult;
use crate::key::KvKey;
use crate::paging::{PAGE_SIZE, paged};
use crate::store::{KvEntry, KvStream};

use super::backend::{Backend, Range, Row, Which, Write};
use super::{key, value};

/// The rows of one page of `range` and the range left after it, `None` after
/// the last page.
async fn page(backend: &dyn Backend, range: Range) -> KvResult<(Vec<Row>, Option<Range>)> {
    let rows = backend.range(range.clone(), PAGE_SIZE).await?;
    let rest = match rows.last() {
        Some(last) if rows.len() == PAGE_SIZE => {
            // The smallest key after the last one.
            let mut start = last.key.clone();
            start.push(0);
            Some(Range { start, ..range })
        }
        _ => None,
    };
    Ok((rows, rest))
}

/// Every live entry under `prefix` (all of them without one), in key order.
/// Each page's entries are those live when the page is read.
pub(crate) fn entries(backend: Arc<dyn Backend>, prefix: Option<&KvKey>) -> KvStream {
    let (start, end) = key::prefix_range(prefix);
    let first = Range {
        start,
        end,
        which: Which::Live(Utc::now()),
    };
    paged(first, move |range: Range| {
        let backend = Arc::clone(&backend);
        async move {
            let range = Range {
                which: Which::Live(Utc::now()),
                ..range
            };
            let (rows, rest) = page(backend.as_ref(), range).await?;
            let mut entries = Vec::with_capacity(rows.len());
            for row in rows {
                let Some(key) = key::decode(&row.key) else {
                    continue;
                };
                if let Some(value) = value::decode_entry(&row)? {
                    entries.push(KvEntry { key, value });
                }
            }
            Ok((entries, rest))
        }
    })
}

/// Deletes every expired entry still stored, page by page, each with a
/// check that it was not written again meanwhile. Returns how many it
/// deleted.
pub(crate) async fn sweep(backend: &dyn Backend) -> KvResult<u64> {
    let (start, end) = key::prefix_range(None);
    let mut next = Some(Range {
        start,
        end,
        which: Which::Expired(Utc::now()),
    });
    let mut deleted = 0;
    while let Some(range) = next {
        let (rows, rest) = page(backend, range).await?;
        for row in rows {
            let write = Write {
                check: Some(Some(row.versionstamp)),
                key: row.key,
                value: None,
                expire_at: None,
            };
            if backend.write(&write).await? {
                deleted += 1;
            }
        }
        next = rest;
    }
    Ok(deleted)
}
