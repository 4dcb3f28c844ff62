//! Telemetry: a `tracing` span for every store operation, named and
//! attributed after OpenTelemetry's database semantic conventions, and, with
//! the `metrics` feature, counters, latency histograms and pool gauges
//! through the `metrics` facade (`docs/observability.md`).
//!
//! Every span is at `DEBUG` level with target `fedikv`, named after the
//! operation (`get`, `set`, `delete`, `cas`, `list`, `scan`,
//! `count_expired`, `sweep`, `background_sweep`, `delete_raw`), with these
//! fields:
//!
//! | field | value |
//! |---|---|
//! | `otel.name` | `"{operation} {collection}"`, the span name OpenTelemetry expects |
//! | `otel.kind` | `"client"` |
//! | `db.system.name` | `memory`, `sqlite`, `postgresql`, `mysql`, `mariadb`, `redis`, `denokv` |
//! | `db.operation.name` | the operation |
//! | `db.collection.name` | the table, or Redis's key prefix (absent for memory and Deno KV) |
//! | `server.address`, `server.port` | the server, for the networked backends |
//! | `fedikv.key` | the key's JSON text, only after [`record_keys(true)`](record_keys) |
//! | `fedikv.cas.swapped` | whether a `cas` swapped |
//! | `db.response.returned_rows` | how many entries a `list`/`scan` yielded, rows a sweep removed, or expired rows counted |
//! | `error.type` | on failure, the [`KvError::kind`](crate::KvError::kind) |
//! | `otel.status_code` | `"ERROR"` on failure |
//!
//! Values, passwords and tokens are never recorded. With no subscriber
//! interested in the spans, an operation pays one relaxed atomic load for
//! them and allocates nothing.

#[cfg(feature = "metrics")]
pub mod metrics;
mod observe;
mod stream;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether spans carry the key (`fedikv.key`); off unless [`record_keys`]
/// switched it on.
static RECORD_KEYS: AtomicBool = AtomicBool::new(false);

/// Switches recording of key text in spans (`fedikv.key`) on or off for the
/// whole process; it is off by default because keys can carry user URLs.
/// Values are never recorded, whatever this says.
pub fn record_keys(on: bool) {
    RECORD_KEYS.store(on, Ordering::Relaxed);
}

/// Whether spans record key text ([`record_keys`]).
pub fn records_keys() -> bool {
    RECORD_KEYS.load(Ordering::Relaxed)
}

/// A store operation, as spans and metrics name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Get,
    Set,
    Delete,
    Cas,
    List,
    Scan,
    CountExpired,
    Sweep,
    BackgroundSweep,
    DeleteRaw,
}

impl Op {
    /// Every operation, in the order of [`Op::index`].
    const ALL: [Op; 10] = [
        Op::Get,
        Op::Set,
        Op::Delete,
        Op::Cas,
        Op::List,
        Op::Scan,
        Op::CountExpired,
        Op::Sweep,
        Op::BackgroundSweep,
        Op::DeleteRaw,
    ];

    /// The `db.operation.name`: the trait method's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Op::Get => "get",
            Op::Set => "set",
            Op::Delete => "delete",
            Op::Cas => "cas",
            Op::List => "list",
            Op::Scan => "scan",
            Op::CountExpired => "count_expired",
            Op::Sweep => "sweep",
            Op::BackgroundSweep => "background_sweep",
            Op::DeleteRaw => "delete_raw",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What a store tells its spans and metrics about itself, built once when
/// the store is constructed.
#[derive(Debug)]
pub(crate) struct Telemetry {
    system: &'static str,
    collection: Option<Box<str>>,
    address: Option<Box<str>>,
    port: Option<u16>,
    /// `otel.name` of each operation, by [`Op::index`].
    span_names: [Box<str>; Op::ALL.len()],
    #[cfg(feature = "metrics")]
    pool: Option<metrics::PoolProbe>,
}

impl Telemetry {
    /// The descriptor of a store of `system` (`db.system.name`) on
    /// `collection` (a table or key prefix), without a server.
    pub(crate) fn new(system: &'static str, collection: Option<&str>) -> Self {
        let span_names = Op::ALL.map(|op| match collection {
            Some(collection) => format!("{} {collection}", op.name()).into_boxed_str(),
            None => op.name().into(),
        });
        Self {
            system,
            collection: collection.map(Into::into),
            address: None,
            port: None,
            span_names,
            #[cfg(feature = "metrics")]
            pool: None,
        }
    }

    /// The same descriptor on the server named by `endpoint`, a redacted
    /// `[scheme://][user@]host[:port][,more hosts][/path]` (the first host
    /// counts). An endpoint in parentheses, such as `(caller's pool)`, names
    /// no server.
    pub(crate) fn on_server(mut self, endpoint: &str) -> Self {
        if let Some((address, port)) = server_of(endpoint) {
            self.address = Some(address.into());
            self.port = port;
        }
        self
    }

    /// The same descriptor reporting pool gauges through `probe` (feature
    /// `metrics`; without it the probe is not even built).
    #[cfg(feature = "metrics")]
    pub(crate) fn with_pool(mut self, probe: metrics::PoolProbe) -> Self {
        self.pool = Some(probe);
        self
    }

    /// The `db.system.name`.
    pub(crate) fn system(&self) -> &'static str {
        self.system
    }
}

/// The host and port of a redacted endpoint (see [`Telemetry::on_server`]).
fn server_of(endpoint: &str) -> Option<(&str, Option<u16>)> {
    if endpoint.starts_with('(') {
        return None;
    }
    let rest = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, rest)| rest);
    let host_port = rest.split(['/', ',', '?']).next()?;
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') => (host, port.parse().ok()),
        _ => (host_port, None),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then_some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_of_endpoints() {
        assert_eq!(
            server_of("u@127.0.0.1:5433/db"),
            Some(("127.0.0.1", Some(5433)))
        );
        assert_eq!(server_of("redis://u@h:6379/0"), Some(("h", Some(6379))));
        assert_eq!(
            server_of("redis+cluster://a:7000,b:7001/"),
            Some(("a", Some(7000)))
        );
        assert_eq!(server_of("[::1]:5432/db"), Some(("::1", Some(5432))));
        assert_eq!(server_of("host/db"), Some(("host", None)));
        assert_eq!(server_of(""), None);
        assert_eq!(server_of("(caller's pool)"), None);
    }

    #[test]
    fn span_names_follow_otel() {
        let t = Telemetry::new("sqlite", Some("fedify_kv"));
        assert_eq!(&*t.span_names[Op::Cas.index()], "cas fedify_kv");
        let t = Telemetry::new("memory", None);
        assert_eq!(&*t.span_names[Op::CountExpired.index()], "count_expired");
        for (i, op) in Op::ALL.iter().enumerate() {
            assert_eq!(op.index(), i);
        }
    }
}
