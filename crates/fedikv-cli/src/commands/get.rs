//! `fedikv get KEY`.

use std::io::Write;

use fedikv::KvStore;

use super::{flush, write_line};
use crate::error::{CliError, Outcome};
use crate::input::parse_key;

/// Prints the value under `key` as compact JSON; [`Outcome::Negative`] when it
/// is absent or expired.
pub async fn run(
    store: &dyn KvStore,
    key: &str,
    out: &mut impl Write,
) -> Result<Outcome, CliError> {
    let key = parse_key(key)?;
    match store.get(&key).await? {
        Some(value) => {
            write_line(out, &value.to_string())?;
            flush(out)?;
            Ok(Outcome::Success)
        }
        None => Ok(Outcome::Negative),
    }
}
