//! Metrics through the [`metrics`](::metrics) facade (feature `metrics`):
//! whatever recorder the application installs (Prometheus, OpenTelemetry,
//! StatsD exporters) receives them; without one they cost a few atomic
//! loads per operation.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | [`OPERATIONS`] | counter | `backend`, `operation`, `outcome` |
//! | [`OPERATION_DURATION`] | histogram (seconds) | `backend`, `operation`, `outcome` |
//! | [`SWEPT_ROWS`] | counter | `backend` |
//! | [`UNDECODABLE_ENTRIES`] | counter | `backend`, `operation` |
//! | [`POOL_CONNECTIONS`] | gauge | `backend`, `state` (`size`, `idle`, `waiting`) |
//!
//! `backend` is the `db.system.name` of the spans, `operation` the trait
//! method (`background_sweep` for the stores' own sweeps), `outcome` `ok` or
//! the error's [`KvError::kind`](crate::KvError::kind). No label carries a
//! key, a value or a credential.

use std::fmt;
use std::time::Duration;

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};

use super::{Op, Telemetry};

/// Operations finished, by `backend`, `operation` and `outcome`.
pub const OPERATIONS: &str = "fedikv_operations_total";
/// Latency of operations in seconds (a `list`/`scan` from its call until
/// its stream ends or is dropped), by `backend`, `operation` and `outcome`.
pub const OPERATION_DURATION: &str = "fedikv_operation_duration_seconds";
/// Expired rows removed by sweeps, explicit and automatic, by `backend`.
pub const SWEPT_ROWS: &str = "fedikv_swept_rows_total";
/// Entries `list` and `scan` skipped as undecodable (rule V5), by
/// `backend` and `operation`.
pub const UNDECODABLE_ENTRIES: &str = "fedikv_undecodable_entries_total";
/// Connections of a pooled store's pool, by `backend` and `state`: `size`
/// (open), `idle` (open and unused) and `waiting` (tasks waiting for one).
/// Sampled after each operation.
pub const POOL_CONNECTIONS: &str = "fedikv_pool_connections";

/// Registers the descriptions and units of fedikv's metrics with the
/// installed recorder (exporters show them as `# HELP` lines). Optional.
pub fn describe() {
    describe_counter!(OPERATIONS, "fedikv store operations finished");
    describe_histogram!(
        OPERATION_DURATION,
        Unit::Seconds,
        "latency of fedikv store operations"
    );
    describe_counter!(SWEPT_ROWS, "expired rows removed by fedikv sweeps");
    describe_counter!(
        UNDECODABLE_ENTRIES,
        "entries fedikv list/scan skipped as undecodable"
    );
    describe_gauge!(POOL_CONNECTIONS, "connections of a fedikv store's pool");
}

/// A pool's state, as [`PoolProbe`] reads it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PoolStats {
    pub(crate) size: usize,
    pub(crate) idle: usize,
    pub(crate) waiting: usize,
}

/// Reads a store's pool state (a clone of the pool inside).
pub(crate) struct PoolProbe(Box<dyn Fn() -> PoolStats + Send + Sync>);

impl PoolProbe {
    pub(crate) fn new(read: impl Fn() -> PoolStats + Send + Sync + 'static) -> Self {
        Self(Box::new(read))
    }
}

impl fmt::Debug for PoolProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PoolProbe")
    }
}

/// Counts one finished operation and its latency; samples the pool.
pub(super) fn operation(
    telemetry: &Telemetry,
    op: Op,
    outcome: &'static str,
    elapsed: Option<Duration>,
) {
    let backend = telemetry.system;
    let operation = op.name();
    counter!(OPERATIONS, "backend" => backend, "operation" => operation, "outcome" => outcome)
        .increment(1);
    if let Some(elapsed) = elapsed {
        histogram!(OPERATION_DURATION, "backend" => backend, "operation" => operation, "outcome" => outcome)
            .record(elapsed.as_secs_f64());
    }
    if let Some(PoolProbe(read)) = &telemetry.pool {
        let stats = read();
        for (state, n) in [
            ("size", stats.size),
            ("idle", stats.idle),
            ("waiting", stats.waiting),
        ] {
            gauge!(POOL_CONNECTIONS, "backend" => backend, "state" => state).set(n as f64);
        }
    }
}

/// Counts `rows` removed by a sweep.
pub(super) fn swept(backend: &'static str, rows: u64) {
    counter!(SWEPT_ROWS, "backend" => backend).increment(rows);
}

/// Counts `entries` a `list` or `scan` skipped as undecodable.
pub(super) fn undecodable(backend: &'static str, op: Op, entries: u64) {
    if entries > 0 {
        counter!(UNDECODABLE_ENTRIES, "backend" => backend, "operation" => op.name())
            .increment(entries);
    }
}
