//! `scan` (and `list`, its entries without expiries), `count_expired` and
//! `sweep`: pages over a key range.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::KvResult;
use crate::key::KvKey;
use crate::paging::{PAGE_SIZE, paged};
use crate::store::{KvRecord, KvRecordStream};

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

/// Every live entry under `prefix` (all of them without one), in key order,
/// with its remaining time to live. Each page's entries are those live when
/// the page is read, and their TTLs count from then.
pub(crate) fn records(backend: Arc<dyn Backend>, prefix: Option<&KvKey>) -> KvRecordStream {
    let (start, end) = key::prefix_range(prefix);
    let first = Range {
        start,
        end,
        which: Which::Live(Utc::now()),
    };
    paged(first, move |range: Range| {
        let backend = Arc::clone(&backend);
        async move {
            let now = Utc::now();
            let range = Range {
                which: Which::Live(now),
                ..range
            };
            let (rows, rest) = page(backend.as_ref(), range).await?;
            let mut records = Vec::with_capacity(rows.len());
            for row in rows {
                let Some(key) = key::decode(&row.key) else {
                    continue;
                };
                if let Some(value) = value::decode_entry(&row)? {
                    let expires_in = row.expires_at.map(|at| remaining(at, now));
                    records.push(KvRecord {
                        key,
                        value,
                        expires_in,
                    });
                }
            }
            Ok((records, rest))
        }
    })
}

/// The time from `now` to `at`, in whole milliseconds (zero if past).
fn remaining(at: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    let ms = (at - now).num_milliseconds();
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// How many entries under `prefix` are expired but still stored, counted
/// page by page.
pub(crate) async fn count_expired(backend: &dyn Backend, prefix: Option<&KvKey>) -> KvResult<u64> {
    let (start, end) = key::prefix_range(prefix);
    let mut next = Some(Range {
        start,
        end,
        which: Which::Expired(Utc::now()),
    });
    let mut count = 0;
    while let Some(range) = next {
        let (rows, rest) = page(backend, range).await?;
        count += rows
            .iter()
            .filter(|row| key::decode(&row.key).is_some())
            .count() as u64;
        next = rest;
    }
    Ok(count)
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
