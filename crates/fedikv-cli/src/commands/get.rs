//! `fedikv get KEY`.

use std::io::Write;

use fedikv::{KvKey, KvStore};

use super::{flush, write_line};
use crate::error::{CliError, Outcome};
use crate::input::parse_key;

/// A parsed `get`.
#[derive(Debug)]
pub struct Get {
    key: KvKey,
}

impl Get {
    /// Parses the key argument.
    pub fn parse(key: &str) -> Result<Self, CliError> {
        Ok(Self {
            key: parse_key(key, "get")?,
        })
    }

    /// Prints the value as compact JSON, as `JSON.stringify` writes it (lone
    /// surrogates as `\udxxx`); [`Outcome::Negative`] when the key is absent
    /// or expired.
    pub async fn run(self, store: &dyn KvStore, out: &mut impl Write) -> Result<Outcome, CliError> {
        match store.get(&self.key).await? {
            Some(value) => {
                write_line(out, &fedikv::json::stringify(&value))?;
                flush(out)?;
                Ok(Outcome::Success)
            }
            None => Ok(Outcome::Negative),
        }
    }
}
