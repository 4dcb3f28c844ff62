//! `fedikv set KEY VALUE [--ttl D]`.

use std::io::Read;
use std::time::Duration;

use fedikv::{KvKey, KvStore, SetOptions};
use serde_json::Value;

use crate::error::{CliError, Outcome};
use crate::input::{parse_key, parse_ttl, read_value};

/// A parsed `set`.
#[derive(Debug)]
pub struct Set {
    key: KvKey,
    value: Value,
    ttl: Option<Duration>,
}

impl Set {
    /// Parses the arguments; a value of `-` is read from `stdin`.
    pub fn parse(
        key: &str,
        value: &str,
        ttl: Option<&str>,
        stdin: impl Read,
    ) -> Result<Self, CliError> {
        Ok(Self {
            key: parse_key(key, "set")?,
            ttl: parse_ttl(ttl)?,
            value: read_value(value, stdin)?,
        })
    }

    /// Stores the value, replacing any entry.
    pub async fn run(self, store: &dyn KvStore) -> Result<Outcome, CliError> {
        store
            .set(&self.key, &self.value, SetOptions::with_ttl(self.ttl))
            .await?;
        Ok(Outcome::Success)
    }
}
