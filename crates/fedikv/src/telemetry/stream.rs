//! [`Telemetry::stream`]: a `list` or `scan` stream observed as one
//! operation, from its creation until it ends or is dropped.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::stream::{BoxStream, Stream, StreamExt};
use tracing::Span;

use super::observe::record_error;
use super::{Op, Telemetry};
use crate::error::{KvError, KvResult};
use crate::key::KvKey;

impl Telemetry {
    /// `stream` (a `list` or `scan`, as `op` says, under `prefix`) polled in
    /// its span; when it ends or is dropped the span records how many
    /// entries it yielded, and the metrics count the operation and the
    /// entries skipped as undecodable ([`KvError::Corrupt`]).
    pub(crate) fn stream<T: Send + 'static>(
        self: &Arc<Self>,
        op: Op,
        prefix: Option<&KvKey>,
        stream: BoxStream<'static, KvResult<T>>,
    ) -> BoxStream<'static, KvResult<T>> {
        let span = self.span(op, prefix);
        let started = Self::timer();
        Observed {
            inner: stream,
            telemetry: Arc::clone(self),
            op,
            span,
            started,
            yielded: 0,
            undecodable: 0,
            error: None,
            done: false,
        }
        .boxed()
    }
}

/// A stream in its span; see [`Telemetry::stream`].
struct Observed<T> {
    inner: BoxStream<'static, KvResult<T>>,
    telemetry: Arc<Telemetry>,
    op: Op,
    span: Span,
    started: Option<Instant>,
    yielded: u64,
    undecodable: u64,
    /// The kind of the first error other than an undecodable entry.
    error: Option<&'static str>,
    done: bool,
}

impl<T> Observed<T> {
    /// Records the whole stream's outcome, once.
    fn finish(&mut self) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        self.span.record("db.response.returned_rows", self.yielded);
        if let Some(kind) = self.error {
            record_error(&self.span, kind);
        }
        self.telemetry
            .operation_done(self.op, self.started, self.error);
        #[cfg(feature = "metrics")]
        super::metrics::undecodable(self.telemetry.system(), self.op, self.undecodable);
    }
}

impl<T> Stream for Observed<T> {
    type Item = KvResult<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // Every field is Unpin (the inner stream is boxed).
        let this = self.get_mut();
        let polled = {
            let _entered = this.span.enter();
            this.inner.poll_next_unpin(cx)
        };
        match &polled {
            Poll::Ready(Some(Ok(_))) => this.yielded += 1,
            Poll::Ready(Some(Err(KvError::Corrupt { .. }))) => this.undecodable += 1,
            Poll::Ready(Some(Err(error))) => {
                this.error = this.error.or(Some(error.kind()));
            }
            Poll::Ready(None) => this.finish(),
            Poll::Pending => {}
        }
        polled
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<T> Drop for Observed<T> {
    fn drop(&mut self) {
        self.finish();
    }
}
