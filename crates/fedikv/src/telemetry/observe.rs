//! [`Telemetry::observe`] and [`Telemetry::observe_sync`]: one operation in
//! its span, with its outcome recorded on the span and in the metrics.

use std::future::Future;
use std::time::Instant;

use serde_json::Value;
use tracing::Span;
use tracing::field::Empty;
use tracing::instrument::Instrument;

use super::{Op, Telemetry, records_keys};
use crate::error::{KvError, KvResult};
use crate::key::KvKey;

/// A successful result an operation records on its span: `cas` whether it
/// swapped, sweeps and `count_expired` the rows.
pub(crate) trait Outcome {
    /// Records what the span and metrics say about this result of `op`.
    fn record(&self, telemetry: &Telemetry, op: Op, span: &Span) {
        let _ = (telemetry, op, span);
    }
}

impl Outcome for () {}
impl Outcome for Option<Value> {}
impl Outcome for Option<std::sync::Arc<Value>> {}
impl Outcome for Option<crate::json::JsonText> {}

impl Outcome for bool {
    fn record(&self, _: &Telemetry, op: Op, span: &Span) {
        if op == Op::Cas {
            span.record("fedikv.cas.swapped", *self);
        }
    }
}

impl Outcome for u64 {
    fn record(&self, telemetry: &Telemetry, op: Op, span: &Span) {
        span.record("db.response.returned_rows", *self);
        if matches!(op, Op::Sweep | Op::BackgroundSweep) {
            telemetry.swept(*self);
        }
    }
}

/// One span per operation: the literal names `tracing` needs, one per
/// [`Op`], all with the same fields.
macro_rules! op_span {
    ($telemetry:expr, $op:expr, $($variant:ident => $name:literal),* $(,)?) => {
        match $op {
            $(Op::$variant => tracing::debug_span!(
                target: "fedikv",
                $name,
                otel.name = &*$telemetry.span_names[$op.index()],
                otel.kind = "client",
                otel.status_code = Empty,
                db.system.name = $telemetry.system,
                db.operation.name = $name,
                db.collection.name = $telemetry.collection.as_deref(),
                server.address = $telemetry.address.as_deref(),
                server.port = $telemetry.port,
                fedikv.key = Empty,
                fedikv.cas.swapped = Empty,
                db.response.returned_rows = Empty,
                error.type = Empty,
            ),)*
        }
    };
}

impl Telemetry {
    /// The span of `op` on `key` (recorded only when keys are opted in). A
    /// disabled span costs no allocation and no formatting.
    pub(crate) fn span(&self, op: Op, key: Option<&KvKey>) -> Span {
        let span = op_span!(self, op,
            Get => "get",
            Set => "set",
            Delete => "delete",
            Cas => "cas",
            List => "list",
            Scan => "scan",
            CountExpired => "count_expired",
            Sweep => "sweep",
            BackgroundSweep => "background_sweep",
            DeleteRaw => "delete_raw",
        );
        if let Some(key) = key
            && !span.is_disabled()
            && records_keys()
        {
            span.record("fedikv.key", key.to_json());
        }
        span
    }

    /// When an operation started, for the latency histogram: only with the
    /// `metrics` feature (subscribers time spans themselves).
    pub(crate) fn timer() -> Option<Instant> {
        cfg!(feature = "metrics").then(Instant::now)
    }

    /// Runs `operation` (`op` on `key`) in its span and records its outcome.
    pub(crate) async fn observe<T: Outcome>(
        &self,
        op: Op,
        key: Option<&KvKey>,
        operation: impl Future<Output = KvResult<T>>,
    ) -> KvResult<T> {
        let span = self.span(op, key);
        let started = Self::timer();
        let result = operation.instrument(span.clone()).await;
        self.finish(op, &span, started, result.as_ref().map_err(KvError::kind));
        result
    }

    /// [`observe`](Self::observe) for an operation that runs on this thread
    /// and fails with an error of its own, whose [`KvError::kind`] `kind`
    /// tells (the stores' automatic sweeps).
    pub(crate) fn observe_sync<T: Outcome, E>(
        &self,
        op: Op,
        kind: impl FnOnce(&E) -> &'static str,
        operation: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        let span = self.span(op, None);
        let started = Self::timer();
        let result = span.in_scope(operation);
        self.finish(op, &span, started, result.as_ref().map_err(kind));
        result
    }

    /// Records `outcome` (a result, or an error's kind) on `span` and in the
    /// metrics.
    fn finish<T: Outcome>(
        &self,
        op: Op,
        span: &Span,
        started: Option<Instant>,
        outcome: Result<&T, &'static str>,
    ) {
        match outcome {
            Ok(value) => value.record(self, op, span),
            Err(kind) => record_error(span, kind),
        }
        self.operation_done(op, started, outcome.err());
    }

    /// Counts a finished operation and its latency (feature `metrics`).
    /// `error` is the failure's [`KvError::kind`].
    pub(crate) fn operation_done(
        &self,
        op: Op,
        started: Option<Instant>,
        error: Option<&'static str>,
    ) {
        #[cfg(feature = "metrics")]
        super::metrics::operation(
            self,
            op,
            error.unwrap_or("ok"),
            started.map(|at| at.elapsed()),
        );
        #[cfg(not(feature = "metrics"))]
        let _ = (op, started, error);
    }

    /// Counts rows removed by a sweep (feature `metrics`).
    pub(crate) fn swept(&self, rows: u64) {
        #[cfg(feature = "metrics")]
        super::metrics::swept(self.system, rows);
        #[cfg(not(feature = "metrics"))]
        let _ = rows;
    }
}

/// Marks `span` failed with an error of `kind` ([`KvError::kind`]); the
/// message is not recorded, as it may quote a key.
pub(crate) fn record_error(span: &Span, kind: &'static str) {
    span.record("error.type", kind);
    span.record("otel.status_code", "ERROR");
}
