//! `list` as a stream of keyset pages, each fetched while the previous one
//! is decoded.

use std::sync::Arc;

use crate::error::KvResult;
use crate::key::KvKey;
use crate::paging::{PAGE_SIZE, paged};
use crate::store::{KvRecord, KvRecordStream};

use super::codec::RawPage;
use super::conn::PageQuery;
use super::error::Failure;
use super::jobs::{Answer, Read};
use super::worker::answer;
use super::{Inner, read};

/// Where the next page comes from.
enum Cursor {
    /// Not requested yet.
    Query(PageQuery),
    /// Already requested from a connection thread.
    Requested(PageQuery, Answer<RawPage>),
}

/// The live entries under `prefix` (or all) with their expiries, in key text order, in pages of
/// [`PAGE_SIZE`] entries or about 8 MiB. The first page is read on the
/// caller's thread when an inline connection is free (as `get` reads), else
/// by a connection thread. As soon as a full page arrives the next one is
/// requested, so a connection thread reads it while this one decodes; at
/// most two pages are held at a time.
pub(super) fn stream(inner: Arc<Inner>, prefix: Option<&KvKey>) -> KvRecordStream {
    paged(
        Cursor::Query(PageQuery::first(prefix, PAGE_SIZE)),
        move |cursor| fetch(Arc::clone(&inner), cursor),
    )
}

async fn fetch(
    inner: Arc<Inner>,
    cursor: Cursor,
) -> KvResult<(Vec<KvResult<KvRecord>>, Option<Cursor>)> {
    let request = |query: &PageQuery| {
        let query = query.clone();
        move |reply| Read::Page { query, reply }
    };
    let (query, page) = match cursor {
        Cursor::Query(query) => {
            // On this thread if an inline connection is free (see
            // `inline.rs`): the listing's first page then costs no hand-off
            // to a connection thread and back; any failure (busy, missing
            // table) goes to the connection threads, which wait and recreate.
            let page = match inner.inline.with(|db| db.page(&query)) {
                Some(Ok(page)) => page,
                _ => read(&inner, |reply| request(&query)(reply)).await?,
            };
            (query, page)
        }
        Cursor::Requested(query, pending) => match answer(pending).await {
            // The table was dropped meanwhile: recreate it and read again.
            Err(Failure::MissingTable) => {
                let page = read(&inner, |reply| request(&query)(reply)).await?;
                (query, page)
            }
            result => (query, result.map_err(Failure::into_kv)?),
        },
    };
    let next = match page.last_key() {
        Some(last) if page.is_full(query.limit) => {
            let query = PageQuery {
                after: last,
                ..query
            };
            Some(match inner.workers.send_read(request(&query)) {
                Ok(pending) => Cursor::Requested(query, pending),
                // Reported when that page is fetched.
                Err(_) => Cursor::Query(query),
            })
        }
        _ => None,
    };
    Ok((page.decode(), next))
}
