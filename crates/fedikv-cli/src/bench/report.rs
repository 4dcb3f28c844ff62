//! [`Reporter`]: writes one store's result lines and the stderr log, and
//! [`RunError`]: how a store's run can end early.

use fedikv::KvError;

use super::output::Sink;
use super::record::{Base, Failure, ListExtras, Measurement};
use super::stats::PhaseStats;
use crate::error::CliError;
use crate::progress::{PhaseBar, Progress};

/// Why a store's run stopped.
#[derive(Debug)]
pub enum RunError {
    /// The store failed in a phase: reported as an `_error` line, and the
    /// next store still runs.
    Phase {
        /// The phase ("warmup", "set", ...).
        phase: String,
        /// What the store said.
        error: KvError,
    },
    /// The results cannot be written: the whole bench stops.
    Fatal(CliError),
}

impl From<CliError> for RunError {
    fn from(error: CliError) -> Self {
        Self::Fatal(error)
    }
}

/// Names the phase of a store error.
pub trait InPhase<T> {
    /// Maps a store error to [`RunError::Phase`] of `phase`.
    fn in_phase(self, phase: &str) -> Result<T, RunError>;
}

impl<T> InPhase<T> for Result<T, KvError> {
    fn in_phase(self, phase: &str) -> Result<T, RunError> {
        self.map_err(|error| RunError::Phase {
            phase: phase.to_owned(),
            error,
        })
    }
}

/// Emits the results of one store's run.
#[derive(Debug)]
pub struct Reporter<'a> {
    base: Base,
    sink: &'a mut Sink,
    progress: &'a Progress,
}

impl<'a> Reporter<'a> {
    /// A reporter writing lines with `base` to `sink`.
    pub fn new(base: Base, sink: &'a mut Sink, progress: &'a Progress) -> Self {
        Self {
            base,
            sink,
            progress,
        }
    }

    /// A progress bar for a phase of `len` operations.
    pub fn bar(&self, op: &str, len: usize) -> PhaseBar {
        self.progress
            .bar(&format!("{} {op}", self.base.backend), len)
    }

    /// Logs a line on stderr, prefixed with the store's label.
    pub fn log(&self, message: &str) {
        self.progress
            .log(&format!("{:<18} {message}", self.base.backend));
    }

    /// Writes the line of a measured operation and logs its summary.
    pub fn emit(
        &mut self,
        op: &str,
        concurrency: usize,
        stats: &PhaseStats,
        list: Option<&ListExtras>,
        note: Option<&str>,
    ) -> Result<(), CliError> {
        let mut line = Measurement::new(&self.base, op, concurrency, stats).with_note(note);
        if let Some(list) = list {
            line = line.with_list(list);
        }
        self.sink.write(&line)?;
        let show = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| v.to_string());
        self.log(&format!(
            "{op:<24} n={:>7} {:>12} ops/s  p50={}us p99={}us{}{}{}",
            stats.n,
            stats.ops_per_sec,
            show(stats.p50_us),
            show(stats.p99_us),
            if stats.errors > 0 {
                format!("  errors={}", stats.errors)
            } else {
                String::new()
            },
            if stats.capped { "  (capped)" } else { "" },
            note.map(|n| format!("  note: {n}")).unwrap_or_default(),
        ));
        Ok(())
    }

    /// Writes the `_error` line of a failed phase and logs it.
    pub fn fail(&mut self, phase: &str, error: &str) -> Result<(), CliError> {
        self.sink.write(&Failure {
            base: &self.base,
            op: "_error",
            phase,
            error,
        })?;
        self.log(&format!("ERROR in phase {phase}: {error}"));
        Ok(())
    }
}
