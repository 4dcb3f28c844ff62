//! [`Remote`]: a Deno KV database behind a KV Connect server (the `denokv`
//! self-hosted server, or Deno Deploy), through `denokv_remote`, Deno's own
//! KV Connect client, over `reqwest`.
//!
//! `denokv_remote`'s futures are not `Send`, so the client lives on a
//! thread of its own (a single-threaded tokio runtime); operations reach it
//! through a channel. It retries a server that cannot be reached forever,
//! so every operation is bounded by the store's timeout
//! ([`KvError::Unavailable`] after it).
//!
//! KV Connect does not tell a reader when an entry expires, so every read
//! also reads the entries' expiry records (see the module docs): entries
//! fedikv wrote are invisible from their expiry on; entries other programs
//! wrote with an expiry stay visible until the server deletes them (the
//! `denokv` server does so lazily, within about a minute).

use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::Utc;
use deno_error::JsErrorBox;
use denokv_proto::{Consistency, Database, ReadRange, SnapshotReadOptions};
use denokv_remote::{
    MetadataEndpoint, Remote as Client, RemotePermissions, RemoteResponse, RemoteTransport,
};
use futures::Stream;
use tokio::sync::{mpsc, oneshot};
use url::Url;

use crate::error::{KvError, KvResult};

use super::backend::{
    Backend, Page, Range, Row, Which, Write, after, recorded_expiry, rest_after,
    with_recorded_expiry,
};
use super::codec::key;
use super::error::BACKEND;

/// KV Connect's limit on the entries one read returns, over all its ranges.
const MAX_READ_ENTRIES: usize = 1000;

/// KV Connect's limit on a key a read names.
const MAX_READ_KEY_BYTES: usize = 2049;

/// How long an operation waits for the server by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// What the client thread is asked to do.
enum Request {
    Read(
        Vec<ReadRange>,
        oneshot::Sender<Result<Vec<denokv_proto::ReadRangeOutput>, JsErrorBox>>,
    ),
    Write(
        denokv_proto::AtomicWrite,
        oneshot::Sender<Result<bool, JsErrorBox>>,
    ),
}

/// A KV Connect database.
pub(crate) struct Remote {
    url: Url,
    timeout: Duration,
    requests: mpsc::UnboundedSender<Request>,
}

impl fmt::Debug for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the token.
        f.debug_struct("Remote")
            .field("url", &self.url.as_str())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Remote {
    /// Connects to the KV Connect server at `url` (its metadata endpoint,
    /// e.g. `http://127.0.0.1:4512`) with `token`, and checks the token
    /// with one metadata exchange.
    ///
    /// Errors: [`KvError::AccessDenied`] for a refused token,
    /// [`KvError::Unavailable`] when the server does not answer within
    /// `timeout`, [`KvError::Backend`] when it answers something else.
    pub(crate) async fn connect(url: Url, token: String, timeout: Duration) -> KvResult<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| KvError::backend(BACKEND, e))?;
        check_token(&http, &url, &token).await?;
        let (requests, receiver) = mpsc::unbounded_channel();
        let endpoint = MetadataEndpoint {
            url: url.clone(),
            access_token: token,
        };
        let transport = Transport(http);
        std::thread::Builder::new()
            .name("fedikv-denokv-remote".into())
            .spawn(move || serve(transport, endpoint, timeout, receiver))
            .map_err(|e| KvError::backend(BACKEND, e))?;
        Ok(Self {
            url,
            timeout,
            requests,
        })
    }

    /// Sends `request` to the client thread and waits for its answer, at
    /// most the timeout.
    async fn call<T>(
        &self,
        request: Request,
        answer: oneshot::Receiver<Result<T, JsErrorBox>>,
    ) -> KvResult<T> {
        let stopped = || {
            KvError::backend(
                BACKEND,
                "the KV Connect client thread stopped; open the store again",
            )
        };
        let no_answer = || {
            KvError::unavailable(
                BACKEND,
                format!(
                    "no answer from the KV Connect server at {} within {:?}",
                    self.url, self.timeout
                ),
            )
        };
        self.requests.send(request).map_err(|_| stopped())?;
        match tokio::time::timeout(self.timeout, answer).await {
            Err(_) => Err(no_answer()),
            // The client thread dropped the request at its own deadline,
            // or the thread is gone.
            Ok(Err(_)) if self.requests.is_closed() => Err(stopped()),
            Ok(Err(_)) => Err(no_answer()),
            Ok(Ok(result)) => result.map_err(|e| KvError::backend(BACKEND, e.to_string())),
        }
    }

    /// The rows of each of `ranges`, all read in one snapshot.
    async fn read(&self, ranges: Vec<ReadRange>) -> KvResult<Vec<Vec<Row>>> {
        let (reply, answer) = oneshot::channel();
        let outputs = self.call(Request::Read(ranges, reply), answer).await?;
        Ok(outputs
            .into_iter()
            .map(|output| {
                output
                    .entries
                    .into_iter()
                    .map(|entry| Row {
                        key: entry.key,
                        value: entry.value,
                        versionstamp: entry.versionstamp,
                        // KV Connect does not say: the expiry record may.
                        expires_at: None,
                    })
                    .collect()
            })
            .collect())
    }
}

/// The read of `start..end`, at most `limit` entries.
fn read_range(start: Vec<u8>, end: Vec<u8>, limit: usize) -> ReadRange {
    let limit = u32::try_from(limit)
        .ok()
        .and_then(NonZeroU32::new)
        .unwrap_or(NonZeroU32::MIN);
    ReadRange {
        start,
        end,
        limit,
        reverse: false,
    }
}

/// The read of the one entry under `key`.
fn read_point(key: Vec<u8>) -> ReadRange {
    let end = after(&key);
    read_range(key, end, 1)
}

/// The expiry key of the range bound `bound`, cut to the longest key a read
/// may name: a range may start after a 2048-byte key Deno wrote (the bound
/// one byte longer, its record two), and the cut bound also takes in the
/// one record of that key, which matches no entry of the range.
fn record_bound(bound: &[u8]) -> Vec<u8> {
    let mut record = key::record_key(bound);
    record.truncate(MAX_READ_KEY_BYTES);
    record
}

/// `rows` (in key order) joined with their expiry records (`records`, in
/// key order too): each row with the expiry its record states.
fn join(rows: Vec<Row>, records: Vec<Row>) -> Vec<Row> {
    let mut records = records.into_iter().peekable();
    rows.into_iter()
        .map(|row| {
            while records
                .peek()
                .is_some_and(|r| key::entry_key(&r.key).is_none_or(|k| k < &row.key[..]))
            {
                records.next();
            }
            let record = records.next_if(|r| key::entry_key(&r.key) == Some(&row.key[..]));
            with_recorded_expiry(row, record.as_ref())
        })
        .collect()
}

/// The metadata exchange of KV Connect, done once at connect time so that a
/// wrong token or a server that is down is a typed error at once
/// (`denokv_remote` itself would retry forever).
async fn check_token(http: &reqwest::Client, url: &Url, token: &str) -> KvResult<()> {
    let response = http
        .post(url.clone())
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(r#"{"supportedVersions":[2,3]}"#)
        .send()
        .await
        .map_err(|e| {
            KvError::unavailable(
                BACKEND,
                format!("cannot reach the KV Connect server at {url}: {e}"),
            )
        })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    let reason = format!(
        "the KV Connect server at {url} answered {status}: {}",
        body.trim()
    );
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        Err(KvError::AccessDenied {
            backend: BACKEND,
            source: format!("{reason}; check the access token (token= or DENO_KV_ACCESS_TOKEN)")
                .into(),
        })
    } else {
        Err(KvError::backend(BACKEND, reason))
    }
}

/// The client thread: runs every request on a single-threaded runtime until
/// the store (the sender) is gone. A request still running after `timeout`
/// (the caller has been told [`KvError::Unavailable`]) is dropped there, so
/// `denokv_remote` stops resending it: a write that timed out is not applied
/// minutes later over newer data (unless the server already had it).
fn serve(
    transport: Transport,
    endpoint: MetadataEndpoint,
    timeout: Duration,
    mut requests: mpsc::UnboundedReceiver<Request>,
) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        // Dropping the receiver makes every call fail with "thread stopped".
        return;
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let client = Client::new(transport, AllowAll, endpoint);
        while let Some(request) = requests.recv().await {
            let client = client.clone();
            tokio::task::spawn_local(tokio::time::timeout(timeout, async move {
                match request {
                    Request::Read(ranges, reply) => {
                        let options = SnapshotReadOptions {
                            consistency: Consistency::Strong,
                        };
                        let _ = reply.send(client.snapshot_read(ranges, options).await);
                    }
                    Request::Write(write, reply) => {
                        let _ = reply.send(client.atomic_write(write).await.map(|c| c.is_some()));
                    }
                }
            }));
        }
    });
}

#[async_trait]
impl Backend for Remote {
    /// Only the expiries of entries fedikv wrote.
    fn reports_expiry(&self) -> bool {
        false
    }

    /// One read of the entry and its expiry record (if its key can have one).
    async fn get(&self, key: Vec<u8>) -> KvResult<Option<Row>> {
        let record = key::expiry_key(&key);
        let reads = std::iter::once(read_point(key))
            .chain(record.map(read_point))
            .collect();
        let mut read = self.read(reads).await?.into_iter();
        let row = read.next().unwrap_or_default();
        let record = read.next().unwrap_or_default();
        Ok(join(row, record).pop())
    }

    /// One read of a page of entries and a page of the expiry records of the
    /// same range (half of KV Connect's entries per read each). A full page
    /// of records may end before the last entries (records of entries that
    /// are gone, or that a program keeping no records wrote again): those
    /// entries are left to the next page, which reads their records with
    /// them.
    async fn range(&self, range: Range, limit: usize) -> KvResult<Page> {
        let limit = limit.clamp(1, MAX_READ_ENTRIES / 2);
        let reads = vec![
            read_range(range.start.clone(), range.end.clone(), limit),
            read_range(record_bound(&range.start), record_bound(&range.end), limit),
        ];
        let mut read = self.read(reads).await?.into_iter();
        let mut rows = read.next().unwrap_or_default();
        let records = read.next().unwrap_or_default();
        // The last entry key the records cover, when they may not cover all.
        let covered = match records.last() {
            Some(last) if records.len() >= limit => key::entry_key(&last.key).map(<[u8]>::to_vec),
            _ => None,
        };
        let rest = match covered {
            Some(covered) if rows.last().is_some_and(|row| row.key > covered) => {
                rows.retain(|row| row.key <= covered);
                Some(after(&covered))
            }
            _ => rest_after(&rows, limit),
        };
        let rows = join(rows, records)
            .into_iter()
            .filter(|row| match range.which {
                Which::Live(at) => row.is_live(at),
                Which::Expired(at) => !row.is_live(at),
            })
            .collect();
        Ok(Page { rows, rest })
    }

    /// Pages over the expiry records of every string key (never the
    /// entries' values): for each record past its expiry, deletes the entry
    /// (and the record) if the entry's versionstamp is still the record's.
    async fn sweep(&self) -> KvResult<u64> {
        let (start, end) = key::prefix_range(None);
        let (start, end) = (key::record_key(&start), key::record_key(&end));
        let now = Utc::now();
        let mut deleted = 0;
        let mut next = Some(start);
        while let Some(start) = next {
            let records = self
                .read(vec![read_range(start, end.clone(), MAX_READ_ENTRIES)])
                .await?
                .pop()
                .unwrap_or_default();
            for record in &records {
                let Some(entry) = key::entry_key(&record.key) else {
                    continue;
                };
                if recorded_expiry(record).is_none_or(|at| at > now) {
                    continue;
                }
                let write = Write {
                    key: entry.to_vec(),
                    check: Some(Some(record.versionstamp)),
                    value: None,
                    expire_at: None,
                };
                if self.write(&write).await? {
                    deleted += 1;
                }
            }
            next = rest_after(&records, MAX_READ_ENTRIES);
        }
        Ok(deleted)
    }

    async fn write(&self, write: &Write) -> KvResult<bool> {
        let (reply, answer) = oneshot::channel();
        self.call(Request::Write(write.to_atomic(), reply), answer)
            .await
    }
}

/// fedikv connects only where its URL says: no further permission checks.
#[derive(Clone)]
struct AllowAll;

impl RemotePermissions for AllowAll {
    fn check_net_url(&self, _url: &Url) -> Result<(), JsErrorBox> {
        Ok(())
    }
}

/// `denokv_remote`'s HTTP transport on `reqwest`. Each request runs as a
/// task of its own (whose handle is `Sync`, as the trait asks) and reads the
/// whole body, since KV Connect's answers are one protobuf message each.
#[derive(Clone)]
struct Transport(reqwest::Client);

/// A whole response body.
struct Body(Bytes);

impl RemoteTransport for Transport {
    type Response = Body;

    fn post(
        &self,
        url: Url,
        headers: http::HeaderMap,
        body: Bytes,
    ) -> impl Future<Output = Result<(Url, http::StatusCode, Body), JsErrorBox>> + Send + Sync {
        let request = self.0.post(url).headers(headers).body(body);
        let task = tokio::spawn(async move {
            let response = request.send().await.map_err(generic)?;
            let url = response.url().clone();
            let status = response.status();
            let bytes = response.bytes().await.map_err(generic)?;
            Ok((url, status, Body(bytes)))
        });
        async move { task.await.map_err(|e| JsErrorBox::generic(e.to_string()))? }
    }
}

impl RemoteResponse for Body {
    fn bytes(self) -> impl Future<Output = Result<Bytes, JsErrorBox>> + Send + Sync {
        std::future::ready(Ok(self.0))
    }

    fn text(self) -> impl Future<Output = Result<String, JsErrorBox>> + Send + Sync {
        std::future::ready(String::from_utf8(self.0.to_vec()).map_err(generic))
    }

    fn stream(self) -> impl Stream<Item = Result<Bytes, JsErrorBox>> + Send + Sync {
        futures::stream::once(std::future::ready(Ok(self.0)))
    }
}

/// Any error as the transport trait's error type.
fn generic(error: impl fmt::Display) -> JsErrorBox {
    JsErrorBox::generic(error.to_string())
}

#[cfg(test)]
mod tests {
    use denokv_proto::KvValue;

    use super::*;

    fn row(key: &[u8], stamp: u8, value: KvValue) -> Row {
        Row {
            key: key.to_vec(),
            value,
            versionstamp: [stamp; 10],
            expires_at: None,
        }
    }

    #[test]
    fn join_takes_only_records_of_the_same_write() {
        let at = 1_700_000_000_000;
        let entry = |key: &[u8], stamp| row(key, stamp, KvValue::V8(vec![]));
        let record = |key: &[u8], stamp| row(&key::record_key(key), stamp, KvValue::U64(at));
        let rows = vec![
            entry(b"\x02a\x00", 1),
            entry(b"\x02c\x00", 2),
            entry(b"\x02d\x00", 3),
        ];
        let records = vec![
            record(b"\x02a\x00", 1),
            // An entry that is gone.
            record(b"\x02b\x00", 4),
            // From an earlier write of "c".
            record(b"\x02c\x00", 1),
            record(b"\x02d\x00", 3),
        ];
        let expiries: Vec<_> = join(rows, records)
            .into_iter()
            .map(|row| row.expires_at.map(|t| t.timestamp_millis()))
            .collect();
        let at = i64::try_from(at).unwrap();
        assert_eq!(expiries, vec![Some(at), None, Some(at)]);
    }

    #[test]
    fn record_bounds_stay_within_what_a_read_may_name() {
        let long = vec![b'x'; MAX_READ_KEY_BYTES];
        assert_eq!(record_bound(&long).len(), MAX_READ_KEY_BYTES);
        assert!(record_bound(&long) <= key::record_key(&long));
        assert_eq!(record_bound(b"\x02a\x00"), key::record_key(b"\x02a\x00"));
    }
}
