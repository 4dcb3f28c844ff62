//! [`Skips`]: the rows a bulk command (`list`, `count`, `stats`, `copy`,
//! `delete --prefix`) could not decode and went past (rule V5). Each is
//! reported on stderr as it comes, one line with its raw key quoted for the
//! shell (what `fedikv delete --raw-key` takes) and the reason; at the end
//! the command says how many it skipped and exits with code 2.

use std::cell::Cell;

use fedikv::{KvError, KvResult};

use crate::error::{CliError, Outcome};
use crate::progress::PhaseBar;
use crate::quote::shell_quote;

/// Counts and reports skipped rows.
#[derive(Debug, Default)]
pub struct Skips {
    count: Cell<u64>,
}

impl Skips {
    /// `item` as it is, or `None` for a row that cannot be decoded
    /// ([`KvError::Corrupt`]), after reporting it on stderr (above `bar`,
    /// if one is drawn there). Any other error is kept: it ends the command.
    pub fn pass<T>(&self, item: KvResult<T>, bar: Option<&PhaseBar>) -> Option<KvResult<T>> {
        match item {
            Err(KvError::Corrupt { key, reason }) => {
                self.count.set(self.count.get() + 1);
                let line = CliError::new(format!(
                    "skipped a row that cannot be decoded, raw key {}: {reason}",
                    shell_quote(&key)
                ))
                .one_line();
                let print = || eprintln!("fedikv: {line}");
                match bar {
                    Some(bar) => bar.suspend(print),
                    None => print(),
                }
                None
            }
            other => Some(other),
        }
    }

    /// How many rows were skipped so far.
    pub fn count(&self) -> u64 {
        self.count.get()
    }

    /// `outcome` when nothing was skipped; otherwise the error that sums
    /// the skipped rows up (exit code 2).
    pub fn finish(&self, outcome: Outcome) -> Result<Outcome, CliError> {
        match self.count() {
            0 => Ok(outcome),
            n => Err(CliError::new(format!(
                "skipped {n} {} that cannot be decoded (each reported above), everything else was done; \
                 inspect each with the backend's own tools, then remove it with fedikv delete --raw-key KEY",
                if n == 1 { "row" } else { "rows" }
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_rows_are_counted_and_other_errors_kept() {
        let skips = Skips::default();
        assert!(matches!(skips.pass(Ok(1), None), Some(Ok(1))));
        let corrupt: KvResult<i32> = Err(KvError::Corrupt {
            key: "k".into(),
            reason: "r".into(),
        });
        assert!(skips.pass(corrupt, None).is_none());
        let other: KvResult<i32> = Err(KvError::Contention { attempts: 1 });
        assert!(matches!(skips.pass(other, None), Some(Err(_))));
        assert_eq!(skips.count(), 1);
        let error = skips.finish(Outcome::Success).unwrap_err();
        assert!(error.to_string().contains("skipped 1 row "), "{error}");
        assert_eq!(
            Skips::default().finish(Outcome::Success).unwrap(),
            Outcome::Success
        );
    }
}
