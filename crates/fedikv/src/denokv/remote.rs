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
//! KV Connect does not tell a reader when an entry expires: an entry past
//! its expiry stays visible until the server deletes it (the `denokv`
//! server does so lazily, within about a minute). See the module docs.

use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use deno_error::JsErrorBox;
use denokv_proto::{Consistency, Database, ReadRange, SnapshotReadOptions};
use denokv_remote::{
    MetadataEndpoint, Remote as Client, RemotePermissions, RemoteResponse, RemoteTransport,
};
use futures::Stream;
use tokio::sync::{mpsc, oneshot};
use url::Url;

use crate::error::{KvError, KvResult};

use super::backend::{Backend, Range, Row, Which, Write};
use super::error::BACKEND;

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

    async fn read(&self, range: ReadRange) -> KvResult<Vec<Row>> {
        let (reply, answer) = oneshot::channel();
        let mut outputs = self.call(Request::Read(vec![range], reply), answer).await?;
        let entries = outputs
            .pop()
            .map(|output| output.entries)
            .unwrap_or_default();
        Ok(entries
            .into_iter()
            .map(|entry| Row {
                key: entry.key,
                value: entry.value,
                versionstamp: entry.versionstamp,
                // KV Connect does not say; the server drops expired entries.
                expires_at: None,
            })
            .collect())
    }
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
    fn reports_expiry(&self) -> bool {
        false
    }

    async fn get(&self, key: Vec<u8>) -> KvResult<Option<Row>> {
        let mut end = key.clone();
        end.push(0);
        let range = ReadRange {
            start: key,
            end,
            limit: NonZeroU32::MIN,
            reverse: false,
        };
        Ok(self.read(range).await?.pop())
    }

    async fn range(&self, range: Range, limit: usize) -> KvResult<Vec<Row>> {
        if let Which::Expired(_) = range.which {
            // Unknown over KV Connect: the server deletes expired entries.
            return Ok(Vec::new());
        }
        let limit = u32::try_from(limit)
            .ok()
            .and_then(NonZeroU32::new)
            .unwrap_or(NonZeroU32::MIN);
        self.read(ReadRange {
            start: range.start,
            end: range.end,
            limit,
            reverse: false,
        })
        .await
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
