//! [`paged`]: turns "fetch one page after this cursor" into a stream of
//! entries ([`KvStream`](crate::KvStream) for `list`,
//! [`KvRecordStream`](crate::KvRecordStream) for `scan`), and
//! [`into_entries`], which makes a `list` stream of a `scan` stream.
//!
//! Every backend lists this way, so memory stays bounded by one page however
//! many entries match (rule O5).

use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;

use futures::stream::{self, BoxStream};
use futures::{StreamExt, TryStreamExt};

use crate::error::KvResult;
use crate::store::{KvRecord, KvRecordStream, KvStream};

/// Number of entries a backend fetches per page when listing.
pub const PAGE_SIZE: usize = 500;

/// A stream that calls `fetch(cursor)` for each page. `fetch` returns the
/// page's items and the cursor of the next page, or `None` after the last
/// page. An item may be an error of its own (a row that cannot be decoded,
/// [`KvError::Corrupt`](crate::KvError::Corrupt)): it is yielded in its
/// place and the stream goes on (rule V5). An error of `fetch` itself (the
/// page could not be read) ends the stream after it is yielded.
pub fn paged<C, T, F, Fut>(first: C, fetch: F) -> BoxStream<'static, KvResult<T>>
where
    C: Send + 'static,
    T: Send + 'static,
    F: FnMut(C) -> Fut + Send + 'static,
    Fut: Future<Output = KvResult<(Vec<KvResult<T>>, Option<C>)>> + Send + 'static,
{
    struct State<C, T, F> {
        buffer: VecDeque<KvResult<T>>,
        next: Option<C>,
        fetch: F,
    }
    let state = State {
        buffer: VecDeque::new(),
        next: Some(first),
        fetch,
    };
    stream::unfold(state, |mut state| async move {
        loop {
            if let Some(item) = state.buffer.pop_front() {
                return Some((item, state));
            }
            let cursor = state.next.take()?;
            match (state.fetch)(cursor).await {
                Ok((entries, next)) => {
                    state.buffer.extend(entries);
                    state.next = next;
                }
                Err(e) => return Some((Err(e), state)),
            }
        }
    })
    .boxed()
}

/// A record's [`expires_in`](KvRecord::expires_in) from the whole
/// milliseconds a store computed (the SQL backends round up, so a live row
/// reports at least 1); a negative count, a row past its expiry, is zero.
pub fn ms_left(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// The `list` stream of a store whose pages carry expiries: the records of
/// `scan` without them.
pub fn into_entries(records: KvRecordStream) -> KvStream {
    records.map_ok(KvRecord::into_entry).boxed()
}
