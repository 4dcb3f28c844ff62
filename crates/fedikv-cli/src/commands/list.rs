//! `fedikv list [PREFIX]`.

use std::io::{BufWriter, Write};

use fedikv::{KvKey, KvStore};
use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;

use super::{flush, write_line};
use crate::error::{CliError, Outcome};
use crate::input::parse_prefix;

/// A parsed `list`.
#[derive(Debug)]
pub struct List {
    /// `None`: everything.
    prefix: Option<KvKey>,
}

/// One output line.
#[derive(Serialize)]
struct Line<'a> {
    key: &'a KvKey,
    value: &'a Value,
}

impl List {
    /// Parses the optional prefix (`[]` or none: everything).
    pub fn parse(prefix: Option<&str>) -> Result<Self, CliError> {
        Ok(Self {
            prefix: prefix.map(parse_prefix).transpose()?.flatten(),
        })
    }

    /// Streams every live entry under the prefix as JSON Lines, one entry at a
    /// time: memory use does not grow with the number of entries. Stops
    /// quietly when the reader goes away (`fedikv list | head`).
    pub async fn run(self, store: &dyn KvStore, out: impl Write) -> Result<Outcome, CliError> {
        let mut out = BufWriter::new(out);
        let mut entries = store.list(self.prefix.as_ref());
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
}
