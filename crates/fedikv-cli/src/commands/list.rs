//! `fedikv list [PREFIX]`.

use std::io::{BufWriter, Write};

use fedikv::{KvKey, KvStore};
use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;

use super::{flush, write_line};
use crate::error::{CliError, Outcome};
use crate::input::parse_prefix;

/// One output line.
#[derive(Serialize)]
struct Line<'a> {
    key: &'a KvKey,
    value: &'a Value,
}

/// Streams every live entry under the prefix (everything when it is omitted
/// or `[]`) as JSON Lines, one entry at a time: memory use does not grow with
/// the number of entries.
pub async fn run(
    store: &dyn KvStore,
    prefix: Option<&str>,
    out: impl Write,
) -> Result<Outcome, CliError> {
    let prefix = prefix.map(parse_prefix).transpose()?.flatten();
    let mut out = BufWriter::new(out);
    let mut entries = store.list(prefix.as_ref());
    while let Some(entry) = entries.next().await {
        let entry = entry?;
        let line = serde_json::to_string(&Line {
            key: &entry.key,
            value: &entry.value,
        })
        .map_err(|e| CliError::new(format!("cannot print entry {}: {e}", entry.key)))?;
        if !write_line(&mut out, &line)? {
            return Ok(Outcome::Success);
        }
    }
    flush(&mut out)?;
    Ok(Outcome::Success)
}
