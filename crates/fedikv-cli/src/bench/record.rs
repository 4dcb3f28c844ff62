//! The result lines: one JSON object per (store, operation), with the fields
//! and field order of the Node harness that runs Fedify's stores through the
//! same workload, so its summarizer tables fedikv and Fedify side by side.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::stats::PhaseStats;

/// The fields every line of one store's run shares.
#[derive(Debug, Clone, Serialize)]
pub struct Base {
    /// Always "fedify-kv-bench".
    pub suite: &'static str,
    /// When the store's run started (UTC, ISO 8601 with milliseconds).
    pub ts: String,
    /// The machine's host name.
    pub host: String,
    /// `"rust <rustc version>"`.
    pub runtime: String,
    /// The row label in `summarize.mjs` ("sqlite", "postgres", ...).
    pub backend: String,
    /// What was measured: "fedikv", or "raw" for a raw-driver floor.
    #[serde(rename = "impl")]
    pub implementation: String,
    /// The driver and its version, if any.
    pub driver: Option<String>,
    /// The server or library and where it was (credentials never included).
    pub server: String,
    /// Size of each value's compact JSON, bytes.
    pub value_bytes: usize,
    /// How the workload calls the store ([`HARNESS`]).
    pub harness: &'static str,
}

/// How `fedikv bench` calls the stores.
pub const HARNESS: &str = "tokio multi-thread runtime, workload in a spawned task";

impl Base {
    /// A base for a run starting now.
    pub fn new(
        backend: String,
        implementation: &str,
        driver: Option<String>,
        server: String,
        value_bytes: usize,
    ) -> Self {
        Self {
            suite: "fedify-kv-bench",
            ts: utc_timestamp(SystemTime::now()),
            host: host_name(),
            runtime: format!("rust {}", env!("FEDIKV_RUSTC_VERSION")),
            backend,
            implementation: implementation.to_owned(),
            driver,
            server,
            value_bytes,
            harness: HARNESS,
        }
    }
}

/// Extra fields of a `list` line.
#[derive(Debug, Clone, Serialize)]
pub struct ListExtras {
    /// Entries each list call is expected to yield.
    pub entries_per_call: usize,
    /// `ops_per_sec × entries_per_call`, rounded.
    pub entries_per_sec: f64,
    /// Keys in the store during the phase (listed or not).
    pub total_keys_in_store: usize,
}

/// A measured operation.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement<'a> {
    #[serde(flatten)]
    base: &'a Base,
    op: &'a str,
    concurrency: usize,
    #[serde(flatten)]
    stats: &'a PhaseStats,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    list: Option<&'a ListExtras>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
}

impl<'a> Measurement<'a> {
    /// The line of operation `op` run with `concurrency` in flight.
    pub fn new(base: &'a Base, op: &'a str, concurrency: usize, stats: &'a PhaseStats) -> Self {
        Self {
            base,
            op,
            concurrency,
            stats,
            list: None,
            note: None,
        }
    }

    /// With the extra fields of a `list` line.
    pub fn with_list(mut self, list: &'a ListExtras) -> Self {
        self.list = Some(list);
        self
    }

    /// With a note (what went wrong in a phase with errors).
    pub fn with_note(mut self, note: Option<&'a str>) -> Self {
        self.note = note;
        self
    }
}

/// The line written when a store's run fails: `op` "_error", the phase it
/// failed in and the error message.
#[derive(Debug, Clone, Serialize)]
pub struct Failure<'a> {
    #[serde(flatten)]
    pub base: &'a Base,
    pub op: &'static str,
    pub phase: &'a str,
    pub error: &'a str,
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, like JavaScript's `Date.toISOString()`.
fn utc_timestamp(time: SystemTime) -> String {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since_epoch.as_secs();
    let (days, secs_of_day) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        secs_of_day / 3600,
        secs_of_day / 60 % 60,
        secs_of_day % 60,
        since_epoch.subsec_millis()
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// The kernel's host name, else `$HOSTNAME`, else "unknown".
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn timestamps_match_javascript() {
        let at = |ms: u64| utc_timestamp(UNIX_EPOCH + Duration::from_millis(ms));
        assert_eq!(at(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(at(1_795_336_634_567), "2026-11-22T08:37:14.567Z");
    }

    #[test]
    fn lines_have_the_peer_fields_in_order() {
        let base = Base::new("sqlite".into(), "fedikv", None, "SQLite".into(), 1024);
        let stats = PhaseStats::new(vec![1.0, 2.0], 2, 0, Duration::from_millis(1));
        let extras = ListExtras {
            entries_per_call: 1000,
            entries_per_sec: 2_000_000.0,
            total_keys_in_store: 21_501,
        };
        let line =
            serde_json::to_string(&Measurement::new(&base, "list", 1, &stats).with_list(&extras))
                .unwrap();
        let keys: Vec<String> =
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&line)
                .unwrap()
                .keys()
                .cloned()
                .collect();
        let mut expected = vec![
            "suite",
            "ts",
            "host",
            "runtime",
            "backend",
            "impl",
            "driver",
            "server",
            "value_bytes",
            "harness",
            "op",
            "concurrency",
            "elapsed_s",
            "ops_per_sec",
            "p50_us",
            "p90_us",
            "p99_us",
            "mean_us",
            "max_us",
            "n",
            "errors",
            "capped",
            "entries_per_call",
            "entries_per_sec",
            "total_keys_in_store",
        ];
        // serde_json's Map sorts keys; compare the text order instead.
        let positions: Vec<usize> = expected
            .iter()
            .map(|k| line.find(&format!("\"{k}\":")).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{line}");
        expected.sort_unstable();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(keys, expected);
    }
}
