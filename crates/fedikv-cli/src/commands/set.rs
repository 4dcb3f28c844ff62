//! `fedikv set KEY VALUE [--ttl D]`.

use std::io::Read;

use fedikv::{KvStore, SetOptions};

use crate::error::{CliError, Outcome};
use crate::input::{parse_key, parse_ttl, read_value};

/// Stores the value (JSON text, or `-` for `stdin`) under `key`, with an
/// optional time to live.
pub async fn run(
    store: &dyn KvStore,
    key: &str,
    value: &str,
    ttl: Option<&str>,
    stdin: impl Read,
) -> Result<Outcome, CliError> {
    let key = parse_key(key)?;
    let ttl = parse_ttl(ttl)?;
    let value = read_value(value, stdin)?;
    store.set(&key, &value, SetOptions::with_ttl(ttl)).await?;
    Ok(Outcome::Success)
}
