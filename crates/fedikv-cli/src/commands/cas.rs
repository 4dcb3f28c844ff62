//! `fedikv cas KEY (--expect JSON | --absent) (--new JSON | --delete) [--ttl D]`.

use std::io::Write;
use std::time::Duration;

use fedikv::{KvKey, KvStore, SetOptions};
use serde_json::Value;

use super::{flush, write_line};
use crate::cli::CasArgs;
use crate::error::{CliError, Outcome};
use crate::input::{parse_key, parse_ttl, parse_value};

/// A parsed `cas`.
#[derive(Debug)]
pub struct Cas {
    key: KvKey,
    /// `None`: swap only if absent.
    expected: Option<Value>,
    /// `None`: delete on a swap.
    new: Option<Value>,
    ttl: Option<Duration>,
}

impl Cas {
    /// Parses the arguments (clap guarantees exactly one of `--expect` /
    /// `--absent` and of `--new` / `--delete`).
    pub fn parse(args: &CasArgs) -> Result<Self, CliError> {
        let json = |text: Option<&str>, what| text.map(|t| parse_value(t, what)).transpose();
        Ok(Self {
            key: parse_key(&args.key, "cas")?,
            expected: json(args.expect.as_deref(), "--expect")?,
            new: json(args.new.as_deref(), "--new")?,
            ttl: parse_ttl(args.ttl.as_deref())?,
        })
    }

    /// Runs the compare-and-swap and prints `true` (swapped) or `false`
    /// ([`Outcome::Negative`]).
    pub async fn run(self, store: &dyn KvStore, out: &mut impl Write) -> Result<Outcome, CliError> {
        let swapped = store
            .cas(
                &self.key,
                self.expected.as_ref(),
                self.new.as_ref(),
                SetOptions::with_ttl(self.ttl),
            )
            .await?;
        write_line(out, if swapped { "true" } else { "false" })?;
        flush(out)?;
        Ok(if swapped {
            Outcome::Success
        } else {
            Outcome::Negative
        })
    }
}
