//! `scan` (and `list`, its entries without expiries), `count_expired` and
//! `sweep`: pages over a key range.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use futures::StreamExt;

use crate::error::KvResult;
use crate::key::KvKey;
use crate::paging::{PAGE_SIZE, paged};
use crate::store::{KvRecord, KvRecordStream};

use super::backend::{Backend, Range, Row, Which, Write};
use super::codec::{key, value};

/// The whole key range of `prefix` (every key of strings without one), rows
/// kept by `which`; `None` for a prefix longer than any key, which nothing
/// is under (and which a KV Connect server refuses to read).
fn whole(prefix: Option<&KvKey>, which: Which) -> Option<Range> {
    let (start, end) = key::prefix_range(prefix);
    (start.len() <= key::MAX_KEY_BYTES).then_some(Range { start, end, which })
}

/// The rows of one page of `range` and the range left after it, `None` after
/// the last page.
async fn page(backend: &dyn Backend, range: Range) -> KvResult<(Vec<Row>, Option<Range>)> {
    let page = backend.range(range.clone(), PAGE_SIZE).await?;
    let rest = page.rest.map(|start| Range { start, ..range });
    Ok((page.rows, rest))
}

/// Every live entry under `prefix` (all of them without one), in key order,
/// with its remaining time to live. Each page's entries are those live when
/// the page is read, and their TTLs count from then. A value with no JSON
/// form is one [`KvError::Corrupt`](crate::KvError::Corrupt) in its place, naming the key's JSON
/// text, and the listing goes on (rule V5). Keys with parts other than
/// strings (another Deno program's) are no fedikv keys and are skipped.
pub(crate) fn records(backend: Arc<dyn Backend>, prefix: Option<&KvKey>) -> KvRecordStream {
    let Some(range) = whole(prefix, Which::Live(Utc::now())) else {
        return futures::stream::empty().boxed();
    };
    paged(range, move |range: Range| {
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
                match value::decode_entry(&row) {
                    Ok(Some(value)) => records.push(Ok(KvRecord {
                        key,
                        value,
                        expires_in: row.expires_at.map(|at| remaining(at, now)),
                    })),
                    Ok(None) => {}
                    Err(e) => records.push(Err(e)),
                }
            }
            Ok((records, rest))
        }
    })
}

/// The time from `now` to `at`, rounded up to whole milliseconds as the
/// other backends report it (zero if past).
fn remaining(at: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    let micros = (at - now).num_microseconds().unwrap_or(i64::MAX);
    Duration::from_millis(u64::try_from(micros).unwrap_or(0).div_ceil(1000))
}

/// How many entries under `prefix` are expired but still stored, counted
/// page by page.
pub(crate) async fn count_expired(backend: &dyn Backend, prefix: Option<&KvKey>) -> KvResult<u64> {
    let mut next = whole(prefix, Which::Expired(Utc::now()));
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
/// deleted. (The local file's sweep; KV Connect's reads only the expiry
/// records.)
pub(crate) async fn sweep(backend: &dyn Backend) -> KvResult<u64> {
    let mut next = whole(None, Which::Expired(Utc::now()));
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
