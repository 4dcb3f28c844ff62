//! [`SweepPolicy`]: when stores physically remove expired entries (rule S3).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How a store removes expired entries behind the scenes.
///
/// Reads never return expired entries whatever this says; sweeping only bounds
/// how long expired rows take up space. A sweep removes at most `batch_size`
/// rows per statement, through an index where the layout has one, and runs at
/// most once per `interval`, triggered by writes. `interval: None` switches
/// automatic sweeping off (call [`KvStore::sweep`](crate::KvStore::sweep) or
/// `fedikv sweep` yourself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SweepPolicy {
    /// Minimum time between automatic sweeps; `None` disables them.
    pub interval: Option<Duration>,
    /// Maximum rows removed by one sweep statement.
    pub batch_size: usize,
}

impl Default for SweepPolicy {
    /// A sweep of up to 1000 rows at most every 60 seconds.
    fn default() -> Self {
        Self {
            interval: Some(Duration::from_secs(60)),
            batch_size: 1000,
        }
    }
}

impl SweepPolicy {
    /// No automatic sweeping.
    pub fn disabled() -> Self {
        Self {
            interval: None,
            ..Self::default()
        }
    }

    /// Sweeps at most once per `interval`.
    pub fn every(interval: Duration) -> Self {
        Self {
            interval: Some(interval),
            ..Self::default()
        }
    }

    /// The same policy with another batch size (at least 1).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Reads `sweep=<seconds|off>` and `sweep_batch=<rows>` style options.
    pub(crate) fn apply_option(&mut self, name: &str, value: &str) -> Option<Result<(), String>> {
        match name {
            "sweep" | "sweep_interval" => Some(if value == "off" || value == "0" {
                self.interval = None;
                Ok(())
            } else {
                crate::duration::parse_duration(value)
                    .map(|d| self.interval = Some(d))
                    .map_err(|e| format!("sweep={value}: {e}"))
            }),
            "sweep_batch" => Some(match value.parse::<usize>() {
                Ok(n) if n > 0 => {
                    self.batch_size = n;
                    Ok(())
                }
                _ => Err(format!(
                    "sweep_batch={value}: expected a positive number of rows"
                )),
            }),
            _ => None,
        }
    }
}

/// Decides, lock-free, which write triggers the next automatic sweep.
#[derive(Debug)]
pub(crate) struct SweepSchedule {
    policy: SweepPolicy,
    origin: Instant,
    /// Milliseconds since `origin` at which the next sweep is due.
    next_due_ms: AtomicU64,
}

impl SweepSchedule {
    pub(crate) fn new(policy: SweepPolicy) -> Self {
        let first = policy.interval.map_or(u64::MAX, |i| i.as_millis() as u64);
        Self {
            policy,
            origin: Instant::now(),
            next_due_ms: AtomicU64::new(first),
        }
    }

    #[allow(dead_code)] // used by the SQL backends
    pub(crate) fn policy(&self) -> SweepPolicy {
        self.policy
    }

    /// Whether the interval has passed, without claiming the sweep.
    pub(crate) fn due(&self) -> bool {
        self.policy.interval.is_some()
            && self.origin.elapsed().as_millis() as u64 >= self.next_due_ms.load(Ordering::Relaxed)
    }

    /// Returns `true` for exactly one caller once the interval has passed, and
    /// schedules the next sweep.
    pub(crate) fn claim(&self) -> bool {
        self.claim_at(Instant::now())
    }

    /// [`claim`](Self::claim) with the clock already read: `now` is the
    /// current time (a caller that has just read it saves a second read).
    pub(crate) fn claim_at(&self, now: Instant) -> bool {
        let Some(interval) = self.policy.interval else {
            return false;
        };
        let now = now.saturating_duration_since(self.origin).as_millis() as u64;
        let due = self.next_due_ms.load(Ordering::Relaxed);
        now >= due
            && self
                .next_due_ms
                .compare_exchange(
                    due,
                    now + interval.as_millis() as u64,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_once_per_interval() {
        let schedule = SweepSchedule::new(SweepPolicy::every(Duration::ZERO));
        assert!(schedule.due());
        assert!(schedule.claim());
        let off = SweepSchedule::new(SweepPolicy::disabled());
        assert!(!off.due());
        assert!(!off.claim());
        let hourly = SweepSchedule::new(SweepPolicy::every(Duration::from_secs(3600)));
        assert!(!hourly.due());
        assert!(!hourly.claim());
    }
}
