//! [`PhaseStats`]: what a timed phase measured, summarized exactly as the
//! Node harness that runs Fedify's stores through the same workload does.

use std::time::Duration;

use serde::Serialize;

/// The measured part of a result line, in the field order of the peer's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhaseStats {
    /// Wall-clock time of the phase, seconds (millisecond precision).
    pub elapsed_s: f64,
    /// Operations per second over the whole phase.
    pub ops_per_sec: f64,
    /// Median latency, microseconds (`None` when nothing ran).
    pub p50_us: Option<f64>,
    /// 90th percentile latency, microseconds.
    pub p90_us: Option<f64>,
    /// 99th percentile latency, microseconds.
    pub p99_us: Option<f64>,
    /// Mean latency, microseconds.
    pub mean_us: Option<f64>,
    /// Maximum latency, microseconds.
    pub max_us: Option<f64>,
    /// Operations done (fewer than asked when `capped`).
    pub n: usize,
    /// Operations whose result was wrong (a miss where a hit was expected, ...).
    pub errors: usize,
    /// Whether the phase hit its time cap before doing every operation.
    pub capped: bool,
}

impl PhaseStats {
    /// Summarizes per-operation latencies (microseconds, in any order) of a
    /// phase that was asked to do `requested` operations and took `elapsed`.
    /// Percentile `p` is the sorted sample at `floor(p * n)`.
    pub fn new(
        mut latencies_us: Vec<f64>,
        requested: usize,
        errors: usize,
        elapsed: Duration,
    ) -> Self {
        latencies_us.sort_by(f64::total_cmp);
        let n = latencies_us.len();
        let elapsed_ms = elapsed.as_secs_f64() * 1000.0;
        let percentile = |p: f64| {
            let index = ((p * n as f64).floor() as usize).min(n.saturating_sub(1));
            latencies_us.get(index).copied().map(tenths)
        };
        let mean = (n > 0).then(|| tenths(latencies_us.iter().sum::<f64>() / n as f64));
        let ops_per_sec = if n == 0 || elapsed_ms <= 0.0 {
            0.0
        } else {
            tenths(n as f64 / elapsed_ms * 1000.0)
        };
        Self {
            elapsed_s: elapsed_ms.round() / 1000.0,
            ops_per_sec,
            p50_us: percentile(0.5),
            p90_us: percentile(0.9),
            p99_us: percentile(0.99),
            mean_us: mean,
            max_us: latencies_us.last().copied().map(tenths),
            n,
            errors,
            capped: n < requested,
        }
    }
}

/// Rounds to one decimal, like the peer's `Math.round(x * 10) / 10`.
fn tenths(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarizes_like_the_peer() {
        let latencies: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let stats = PhaseStats::new(latencies, 100, 2, Duration::from_millis(50));
        assert_eq!(stats.n, 100);
        assert_eq!(stats.p50_us, Some(51.0));
        assert_eq!(stats.p90_us, Some(91.0));
        assert_eq!(stats.p99_us, Some(100.0));
        assert_eq!(stats.mean_us, Some(50.5));
        assert_eq!(stats.max_us, Some(100.0));
        assert_eq!(stats.ops_per_sec, 2000.0);
        assert_eq!(stats.elapsed_s, 0.05);
        assert_eq!(stats.errors, 2);
        assert!(!stats.capped);
    }

    #[test]
    fn an_empty_capped_phase_has_no_latencies() {
        let stats = PhaseStats::new(Vec::new(), 10, 0, Duration::from_secs(8));
        assert_eq!(stats.p50_us, None);
        assert_eq!(stats.ops_per_sec, 0.0);
        assert!(stats.capped);
    }
}
