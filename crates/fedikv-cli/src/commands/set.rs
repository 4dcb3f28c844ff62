//! `fedikv set KEY VALUE [--ttl D]`.

use std::io::Read;
use std::time::Duration;

use fedikv::{JsonText, KvKey, KvStore, SetOptions};

use crate::error::{CliError, Outcome};
use crate::input::{parse_key, parse_ttl, read_value};

/// A parsed `set`.
#[derive(Debug)]
pub struct Set {
    key: KvKey,
    value: JsonText,
    ttl: Option<Duration>,
}

impl Set {
    /// Parses the arguments; a value of `-` is read from `stdin`. The value
    /// is kept as JSON text (see [`read_value`]).
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

    /// Stores the value's text, replacing any entry; the store drops it as
    /// soon as its driver holds a copy ([`KvStore::set_json`]).
    pub async fn run(self, store: &dyn KvStore) -> Result<Outcome, CliError> {
        store
            .set_json(&self.key, self.value, SetOptions::with_ttl(self.ttl))
            .await?;
        Ok(Outcome::Success)
    }
}
