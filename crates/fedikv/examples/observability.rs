//! The `fediverse_cache` scenario with fedikv's telemetry wired up the way
//! a service would (see `docs/observability.md`):
//!
//! - `tracing-subscriber` prints every store operation's span when it
//!   closes, with its OpenTelemetry attributes and timing, to stderr
//!   (`RUST_LOG` filters it; the default is `fedikv=debug`);
//! - `metrics-exporter-prometheus` records the `metrics` feature's counters,
//!   histograms and gauges in process (no HTTP listener), and the example
//!   prints them at the end in Prometheus' text format.
//!
//! ```sh
//! cargo run --features metrics --example observability                # sqlite:fedikv-example.sqlite3
//! cargo run --all-features --example observability -- postgres://postgres@127.0.0.1/test
//! ```

use std::error::Error;

use fedikv::KvStoreExt;
use metrics_exporter_prometheus::PrometheusBuilder;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

#[path = "common/fediverse.rs"]
mod fediverse;

/// The store used when no URL is given on the command line.
const DEFAULT_STORE: &str = "sqlite:fedikv-example.sqlite3";

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("fedikv=debug"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::CLOSE)
        .with_writer(std::io::stderr)
        .init();
    let recorder = PrometheusBuilder::new().build_recorder();
    let metrics = recorder.handle();
    metrics::set_global_recorder(recorder)?;
    fedikv::telemetry::metrics::describe();

    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| DEFAULT_STORE.to_owned());
    let store = fedikv::open(&url).await?;
    let health = store.health().await?;
    println!(
        "store: {} backend at {} ({}, ping {:?})\n",
        store.backend(),
        fedikv::redact(&url),
        health.server_version.as_deref().unwrap_or("no server"),
        health.latency,
    );
    fediverse::run(store.as_ref()).await?;

    println!("\n# metrics, Prometheus text format\n{}", metrics.render());
    Ok(())
}
