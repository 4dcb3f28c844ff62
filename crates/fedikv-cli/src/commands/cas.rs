//! `fedikv cas KEY (--expect JSON | --absent) (--new JSON | --delete) [--ttl D]`.

use std::io::Write;

use fedikv::{KvStore, SetOptions};

use super::{flush, write_line};
use crate::cli::CasArgs;
use crate::error::{CliError, Outcome};
use crate::input::{parse_key, parse_ttl, parse_value};

/// Runs one compare-and-swap and prints `true` (swapped) or `false`
/// ([`Outcome::Negative`]).
pub async fn run(
    store: &dyn KvStore,
    args: &CasArgs,
    out: &mut impl Write,
) -> Result<Outcome, CliError> {
    let key = parse_key(&args.key)?;
    // clap guarantees exactly one of --expect/--absent and of --new/--delete.
    let expected = args
        .expect
        .as_deref()
        .map(|text| parse_value(text, "--expect"))
        .transpose()?;
    let new = args
        .new
        .as_deref()
        .map(|text| parse_value(text, "--new"))
        .transpose()?;
    let ttl = parse_ttl(args.ttl.as_deref())?;
    let swapped = store
        .cas(
            &key,
            expected.as_ref(),
            new.as_ref(),
            SetOptions::with_ttl(ttl),
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
