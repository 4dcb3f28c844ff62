//! `fedikv delete KEY`, `fedikv delete --raw-key TEXT` and
//! `fedikv delete --prefix KEY [--no-ttl-only] [--dry-run]`.

use std::io::Write;

use fedikv::{KvKey, KvStore, SetOptions};
use serde::Serialize;

use super::bulk::{Step, apply};
use super::skips::Skips;
use super::{flush, write_line};
use crate::cli::DeleteArgs;
use crate::error::{CliError, Outcome};
use crate::input::{parse_key, parse_prefix};
use crate::progress::Progress;

/// A parsed `delete`.
#[derive(Debug)]
pub enum Delete {
    /// One key.
    Key(KvKey),
    /// The row stored under a raw key, as a listing reported a row that
    /// cannot be decoded (rule V5).
    Raw(String),
    /// Every entry under a prefix (`None`: every entry).
    Prefix {
        prefix: Option<KvKey>,
        no_ttl_only: bool,
        dry_run: bool,
        concurrency: usize,
    },
}

/// What `delete --prefix` prints.
#[derive(Serialize)]
struct Summary<'a> {
    prefix: Option<&'a KvKey>,
    no_ttl_only: bool,
    dry_run: bool,
    /// Entries that matched (with `--dry-run`: that would be deleted).
    matched: u64,
    /// Entries deleted.
    deleted: u64,
    /// Entries left because they changed between the scan and their delete
    /// (`--no-ttl-only` deletes an entry only if it still holds the value
    /// scanned).
    changed: u64,
    /// Rows that cannot be decoded, each reported on stderr, left alone.
    skipped: u64,
}

impl Delete {
    /// Parses the key, the raw key or the prefix.
    pub fn parse(args: &DeleteArgs) -> Result<Self, CliError> {
        match (&args.key, &args.raw_key, &args.prefix) {
            (_, _, None) if args.no_ttl_only || args.dry_run => Err(CliError::new(
                "--no-ttl-only and --dry-run go with --prefix: use delete --prefix KEY",
            )),
            (Some(key), None, None) => Ok(Self::Key(parse_key(key, "delete")?)),
            (None, Some(raw), None) => Ok(Self::Raw(raw.clone())),
            (None, None, Some(prefix)) => Ok(Self::Prefix {
                prefix: parse_prefix(prefix, "delete --prefix")?,
                no_ttl_only: args.no_ttl_only,
                dry_run: args.dry_run,
                concurrency: args.concurrency,
            }),
            // clap requires exactly one of them.
            _ => Err(CliError::new(
                "name one of a KEY, a --raw-key or a --prefix to delete",
            )),
        }
    }

    /// Removes the entry (succeeding when there is none); or the row under a
    /// raw key, whatever it holds ([`Outcome::Negative`] when there is
    /// none: a raw key is copied from a report, so a miss is likely a
    /// typo); or streams the prefix's live entries and removes each that
    /// matches, several at once, then prints a JSON summary (rows that
    /// cannot be decoded are reported, left alone and end the command with
    /// an error saying how many). `--no-ttl-only` removes an entry only if
    /// it still holds the value that was scanned (a compare-and-delete), so
    /// an entry rewritten with another value meanwhile is kept (one rewritten
    /// with the same value and a TTL is not: `cas` compares values only).
    pub async fn run(self, store: &dyn KvStore, out: &mut impl Write) -> Result<Outcome, CliError> {
        let (prefix, no_ttl_only, dry_run, concurrency) = match self {
            Self::Key(key) => {
                store.delete(&key).await?;
                return Ok(Outcome::Success);
            }
            Self::Raw(raw) => {
                return Ok(if store.delete_raw(&raw).await? {
                    Outcome::Success
                } else {
                    Outcome::Negative
                });
            }
            Self::Prefix {
                prefix,
                no_ttl_only,
                dry_run,
                concurrency,
            } => (prefix, no_ttl_only, dry_run, concurrency),
        };
        let label = if dry_run {
            "entries matched"
        } else {
            "entries deleted"
        };
        let bar = Progress::detect().counter(label);
        let skips = Skips::default();
        let records = store.scan(prefix.as_ref());
        let done = apply(
            records,
            concurrency,
            &bar,
            &skips,
            "re-run the command to delete the rest",
            |record| async move {
                if no_ttl_only && record.expires_in.is_some() {
                    return Ok(Step::Skipped);
                }
                if dry_run {
                    return Ok(Step::Done);
                }
                if no_ttl_only {
                    let deleted = store
                        .cas(
                            &record.key,
                            Some(&record.value),
                            None,
                            SetOptions::default(),
                        )
                        .await?;
                    return Ok(if deleted { Step::Done } else { Step::Changed });
                }
                store.delete(&record.key).await?;
                Ok(Step::Done)
            },
        )
        .await?;
        drop(bar);
        let summary = Summary {
            prefix: prefix.as_ref(),
            no_ttl_only,
            dry_run,
            matched: done.done + done.changed,
            deleted: if dry_run { 0 } else { done.done },
            changed: done.changed,
            skipped: skips.count(),
        };
        let line = serde_json::to_string(&summary)
            .map_err(|e| CliError::new(format!("cannot print the summary: {e}")))?;
        write_line(out, &line)?;
        flush(out)?;
        skips.finish(Outcome::Success)
    }
}
