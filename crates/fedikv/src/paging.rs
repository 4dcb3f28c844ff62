//! [`paged`]: turns "fetch one page after this cursor" into a stream of
//! entries ([`KvStream`] for `list`,
//! [`KvRecordStream`] for `scan`);
//! [`prefetched`], the same with the next page fetched while the current one
//! is decoded; and [`into_entries`], which makes a `list` stream of a `scan`
//! stream.
//!
//! Every backend lists this way, so memory stays bounded by one page (two
//! for [`prefetched`]) however many entries match (rule O5).

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, BoxStream};
use futures::{StreamExt, TryStreamExt};

use tokio::task::JoinHandle;

use crate::error::{KvError, KvResult};
use crate::store::{KvRecord, KvRecordStream, KvStream};

/// Number of entries a backend fetches per page when listing.
pub const PAGE_SIZE: usize = 500;

/// A stream that calls `fetch(cursor)` for each page. `fetch` returns the
/// page's items and the cursor of the next page, or `None` after the last
/// page. An item may be an error of its own (a row that cannot be decoded,
/// [`KvError::Corrupt`]): it is yielded in its
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

/// A stream like [`paged`] whose pages are read in two steps: `fetch(cursor)`
/// reads a page as the server sent it and finds the next page's cursor in
/// that raw form (the last row's key, say), and `decode` turns the raw page
/// into items, in order, a row that cannot be decoded being an error item of
/// its own (rule V5). As soon as a raw page is in, the next one is fetched by
/// a spawned task while this one is decoded and consumed, so the server
/// produces a page while the caller decodes the previous one. At most two
/// pages are held: the one being consumed and the one being fetched (which
/// is cancelled when the stream is dropped). An error of `fetch` ends the
/// stream after it is yielded; `backend` names the store in the error of a
/// fetch task that did not finish. Must be polled inside a Tokio runtime.
pub fn prefetched<C, R, T, F, Fut, D>(
    backend: &'static str,
    first: C,
    fetch: F,
    decode: D,
) -> BoxStream<'static, KvResult<T>>
where
    C: Send + 'static,
    R: Send + 'static,
    T: Send + 'static,
    F: Fn(C) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = KvResult<(R, Option<C>)>> + Send + 'static,
    D: Fn(R) -> Vec<KvResult<T>> + Send + 'static,
{
    /// The next page: its cursor, or its fetch under way.
    enum Next<C, R> {
        At(C),
        Fetching(Fetching<C, R>),
    }
    let fetch = Arc::new(fetch);
    let start = move |cursor: C| {
        let fetch = Arc::clone(&fetch);
        Fetching(tokio::spawn(async move { fetch(cursor).await }))
    };
    struct State<C, R, T, S, D> {
        buffer: VecDeque<KvResult<T>>,
        next: Option<Next<C, R>>,
        start: S,
        decode: D,
    }
    let state = State {
        buffer: VecDeque::new(),
        next: Some(Next::At(first)),
        start,
        decode,
    };
    stream::unfold(state, move |mut state| async move {
        loop {
            if let Some(item) = state.buffer.pop_front() {
                return Some((item, state));
            }
            let fetching = match state.next.take()? {
                Next::At(cursor) => (state.start)(cursor),
                Next::Fetching(fetching) => fetching,
            };
            match fetching.finish(backend).await {
                Ok((raw, next)) => {
                    state.next = next.map(|cursor| Next::Fetching((state.start)(cursor)));
                    if state.next.is_some() {
                        // A task spawned here waits in this worker's
                        // next-to-run slot until this task yields, which it
                        // would not do before its page is decoded and
                        // consumed: yield once, so that the next page's
                        // request is on its way while this one is decoded.
                        tokio::task::yield_now().await;
                    }
                    state.buffer.extend((state.decode)(raw));
                }
                Err(e) => return Some((Err(e), state)),
            }
        }
    })
    .boxed()
}

/// A page being fetched by a task, cancelled if dropped before it is used.
struct Fetching<C, R>(JoinHandle<KvResult<(R, Option<C>)>>);

impl<C, R> Fetching<C, R> {
    /// The fetched page; a panic of the task goes on in the caller.
    async fn finish(mut self, backend: &'static str) -> KvResult<(R, Option<C>)> {
        match (&mut self.0).await {
            Ok(page) => page,
            Err(e) => match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(e) => Err(KvError::backend(backend, e)),
            },
        }
    }
}

impl<C, R> Drop for Fetching<C, R> {
    fn drop(&mut self) {
        self.0.abort();
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages of three numbers after the cursor, up to 7; 4 does not decode,
    /// and fetching after 7 fails.
    fn numbers(fail_at_end: bool) -> BoxStream<'static, KvResult<u32>> {
        prefetched(
            "test",
            0u32,
            move |from: u32| async move {
                if from > 7 {
                    return Err(KvError::backend("test", "page unreadable"));
                }
                let page: Vec<u32> = (from..(from + 3).min(8)).collect();
                let next = (fail_at_end || from + 3 < 8).then_some(from + 3);
                Ok((page, next))
            },
            |page: Vec<u32>| {
                page.into_iter()
                    .map(|n| match n {
                        4 => Err(KvError::Corrupt {
                            key: "4".into(),
                            reason: "bad".into(),
                        }),
                        n => Ok(n),
                    })
                    .collect()
            },
        )
    }

    #[tokio::test]
    async fn prefetched_pages_keep_order_and_go_on_after_a_bad_row() {
        let items: Vec<_> = numbers(false).collect().await;
        let oks: Vec<u32> = items
            .iter()
            .filter_map(|i| i.as_ref().ok().copied())
            .collect();
        assert_eq!(oks, [0, 1, 2, 3, 5, 6, 7]);
        assert!(matches!(&items[4], Err(KvError::Corrupt { key, .. }) if key == "4"));
    }

    /// The next page's fetch starts before the current page is decoded and
    /// handed out, not once the caller has consumed it (on a runtime of one
    /// thread, where only a yield lets the spawned fetch run).
    #[tokio::test(flavor = "current_thread")]
    async fn the_next_fetch_starts_before_the_current_page_is_consumed() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let started = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&started);
        let mut pages = prefetched(
            "test",
            0u32,
            move |page: u32| {
                let counter = Arc::clone(&counter);
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    Ok((page, (page < 2).then_some(page + 1)))
                }
            },
            |page: u32| vec![Ok(page)],
        );
        assert_eq!(pages.next().await.unwrap().unwrap(), 0);
        assert_eq!(
            started.load(Ordering::SeqCst),
            2,
            "page 1's fetch had not started when page 0 was handed out"
        );
    }

    #[tokio::test]
    async fn a_failed_fetch_is_the_last_item() {
        let items: Vec<_> = numbers(true).collect().await;
        assert_eq!(items.len(), 9);
        assert!(matches!(items.last(), Some(Err(KvError::Backend { .. }))));
    }
}
