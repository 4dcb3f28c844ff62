//! `fedikv check`.

use std::io::Write;

use fedikv::{KvStore, KvStoreExt};

use super::{flush, write_line};
use crate::error::{CliError, Outcome};

/// Proves the store reachable and its table usable ([`KvStoreExt::health`])
/// and prints the backend, the server's version and the ping's latency, one
/// `name: value` line each. A failure is an error (exit code 2).
pub async fn run(store: &dyn KvStore, out: &mut impl Write) -> Result<Outcome, CliError> {
    let health = store.health().await?;
    let version = health.server_version.as_deref().unwrap_or("-");
    let latency_ms = health.latency.as_secs_f64() * 1e3;
    for line in [
        format!("backend: {}", health.backend),
        format!("server: {version}"),
        format!("latency: {latency_ms:.3} ms"),
    ] {
        if !write_line(out, &line)? {
            break;
        }
    }
    flush(out)?;
    Ok(Outcome::Success)
}
