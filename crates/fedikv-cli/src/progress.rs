//! [`Progress`]: progress bars on stderr when it is a terminal, nothing
//! otherwise: one per benchmark phase, and a running count for the bulk
//! commands (`copy`, `count`, `stats`, `delete --prefix`), plus the one-line
//! phase summaries of the benchmark's log.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Reports progress on stderr.
#[derive(Debug, Clone)]
pub struct Progress {
    enabled: bool,
}

impl Progress {
    /// Progress bars only when stderr is a terminal.
    pub fn detect() -> Self {
        Self {
            enabled: std::io::stderr().is_terminal(),
        }
    }

    /// A bar for `len` operations of `label` (hidden without a terminal).
    pub fn bar(&self, label: &str, len: usize) -> PhaseBar {
        if !self.enabled {
            return PhaseBar(ProgressBar::hidden());
        }
        let bar =
            ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr_with_hz(10));
        let style = ProgressStyle::with_template(
            "{msg:32} [{bar:30}] {pos:>8}/{len:8} {per_sec:>12} {elapsed:>4}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(label.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        PhaseBar(bar)
    }

    /// A running count of `label` (entries copied, scanned, deleted), with
    /// its rate (hidden without a terminal).
    pub fn counter(&self, label: &str) -> PhaseBar {
        if !self.enabled {
            return PhaseBar(ProgressBar::hidden());
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(10));
        let style =
            ProgressStyle::with_template("{spinner} {msg} {pos:>10} {per_sec:>14} {elapsed:>4}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
        bar.set_style(style);
        bar.set_message(label.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        PhaseBar(bar)
    }

    /// Prints one line of the log (phase summaries, notes) on stderr.
    pub fn log(&self, line: &str) {
        eprintln!("[bench] {line}");
    }
}

/// The bar of one phase; cleared when dropped.
#[derive(Debug)]
pub struct PhaseBar(ProgressBar);

impl PhaseBar {
    /// Operations done so far.
    pub fn set(&self, done: usize) {
        self.0.set_position(done as u64);
    }

    /// Adds `done` operations.
    pub fn add(&self, done: usize) {
        self.0.inc(done as u64);
    }

    /// Runs `f` (which prints to stderr) with the bar cleared, then draws
    /// it again below what `f` printed.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.0.suspend(f)
    }
}

impl Drop for PhaseBar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
