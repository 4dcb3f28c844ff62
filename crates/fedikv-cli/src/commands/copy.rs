//! `fedikv copy --from URL --to URL [--prefix KEY]`.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use fedikv::{KvKey, KvStore, SetOptions};
use serde::Serialize;

use super::bulk::{Step, apply};
use super::identity::same_data;
use super::skips::Skips;
use super::{flush, write_line};
use crate::cli::CopyArgs;
use crate::error::{CliError, Outcome};
use crate::input::parse_prefix;
use crate::progress::Progress;

/// A parsed `copy`.
#[derive(Debug)]
pub struct Copy {
    from: String,
    to: String,
    prefix: Option<KvKey>,
    concurrency: usize,
}

/// What `copy` prints when it is done.
#[derive(Serialize)]
struct Summary<'a> {
    from: String,
    to: String,
    prefix: Option<&'a KvKey>,
    copied: u64,
    /// Source rows that cannot be decoded, each reported on stderr, not
    /// copied.
    skipped: u64,
    elapsed_s: f64,
    entries_per_sec: f64,
}

impl Copy {
    /// Checks the arguments without connecting anywhere: a prefix that is
    /// not a JSON array of strings, or a target that is the source, is
    /// refused here.
    pub fn parse(args: &CopyArgs) -> Result<Self, CliError> {
        let prefix = args
            .prefix
            .as_deref()
            .map(|p| {
                parse_prefix(p, "copy --prefix")
                    .map_err(|e| CliError::new(format!("--prefix: {e}")))
            })
            .transpose()?
            .flatten();
        if same_data(&args.from, &args.to) {
            return Err(CliError::new(format!(
                "--from and --to name the same store ({}); copy to another database, file, table or key prefix",
                fedikv::redact(&args.to)
            )));
        }
        if args.concurrency == 0 {
            return Err(CliError::new("--concurrency must be 1 or more"));
        }
        Ok(Self {
            from: args.from.clone(),
            to: args.to.clone(),
            prefix,
            concurrency: args.concurrency,
        })
    }

    /// Opens both stores (so an unreachable one fails before anything is
    /// written), then streams the source's live entries under the prefix
    /// and upserts each into the target with the TTL it had left when it was
    /// read, `concurrency` writes at once. Re-running after an interruption
    /// writes the same entries again: no duplicates, nothing lost. Prints a
    /// JSON summary. Source rows that cannot be decoded are reported and
    /// skipped; then the command ends with an error saying how many.
    pub async fn run(self, out: &mut impl Write) -> Result<Outcome, CliError> {
        let open = |url: String, flag: &'static str| async move {
            fedikv::open(&url).await.map_err(|e| {
                CliError::new(format!(
                    "cannot open the {flag} store {}: {e}",
                    fedikv::redact(&url)
                ))
            })
        };
        let source: Arc<dyn KvStore> = open(self.from.clone(), "--from").await?;
        let target: Arc<dyn KvStore> = open(self.to.clone(), "--to").await?;
        let started = Instant::now();
        let bar = Progress::detect().counter("entries copied");
        let skips = Skips::default();
        let target_ref = target.as_ref();
        let done = apply(
            source.scan_json(self.prefix.as_ref()),
            self.concurrency,
            &bar,
            &skips,
            "re-run the same copy to finish it: entries already copied are overwritten with the same data",
            |record| async move {
                target_ref
                    .set_json(&record.key, record.value, SetOptions::with_ttl(record.expires_in))
                    .await
                    .map(|()| Step::Done)
            },
        )
        .await?;
        drop(bar);
        let elapsed = started.elapsed().as_secs_f64();
        let summary = Summary {
            from: fedikv::redact(&self.from),
            to: fedikv::redact(&self.to),
            prefix: self.prefix.as_ref(),
            copied: done.done,
            skipped: skips.count(),
            elapsed_s: elapsed,
            entries_per_sec: if elapsed > 0.0 {
                done.done as f64 / elapsed
            } else {
                0.0
            },
        };
        let line = serde_json::to_string(&summary)
            .map_err(|e| CliError::new(format!("cannot print the summary: {e}")))?;
        write_line(out, &line)?;
        flush(out)?;
        skips.finish(Outcome::Success)
    }
}
