//! [`apply`]: runs one store operation per scanned record, several at once,
//! counting them on a progress bar: the engine of `copy` and
//! `delete --prefix`. Rows that cannot be decoded are reported and skipped
//! ([`Skips`]), never fatal.

use std::future::Future;

use fedikv::{KvError, KvRecord, KvRecordStream};
use futures::{StreamExt, TryStreamExt, future};

use super::skips::Skips;
use crate::error::CliError;
use crate::progress::PhaseBar;

/// What the operation did with one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Acted on it (copied it, deleted it, or would have: `--dry-run`).
    Done,
    /// Left it alone: it does not match.
    Skipped,
    /// Left it alone: it changed between the scan and the operation.
    Changed,
}

/// How a bulk run ended: how many records took each [`Step`].
#[derive(Debug, Default)]
pub struct Applied {
    pub done: u64,
    pub skipped: u64,
    pub changed: u64,
}

/// Applies `op` to every record of `records`, at most `concurrency` at once,
/// advancing `bar` per record done. A row that cannot be decoded is
/// reported and counted in `skips`, and the rest goes on (rule V5).
/// Stops at the first other error, whose message then says how many
/// records were done before it and `after_error` (what to do about it).
pub async fn apply<V, F, Fut>(
    records: KvRecordStream<V>,
    concurrency: usize,
    bar: &PhaseBar,
    skips: &Skips,
    after_error: &str,
    op: F,
) -> Result<Applied, CliError>
where
    F: Fn(KvRecord<V>) -> Fut,
    Fut: Future<Output = Result<Step, KvError>>,
{
    let mut done = Applied::default();
    let mut results = records
        .filter_map(|item| future::ready(skips.pass(item, Some(bar))))
        .map_ok(op)
        .try_buffer_unordered(concurrency.max(1));
    loop {
        match results.next().await {
            None => return Ok(done),
            Some(Ok(step)) => match step {
                Step::Done => {
                    done.done += 1;
                    bar.add(1);
                }
                Step::Skipped => done.skipped += 1,
                Step::Changed => done.changed += 1,
            },
            Some(Err(e)) => {
                return Err(CliError::new(format!(
                    "{e} ({} entries done before this error; {after_error})",
                    done.done
                )));
            }
        }
    }
}
