//! `fedikv get KEY`.

use std::io::{BufWriter, Write};

use fedikv::{KvKey, KvStore};

use super::{flush, write_line_with};
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
    /// or expired. The text is streamed: it is never held whole, so a huge
    /// value costs its decoded size only.
    pub async fn run(self, store: &dyn KvStore, out: &mut impl Write) -> Result<Outcome, CliError> {
        match store.get(&self.key).await? {
            Some(value) => {
                let mut out = BufWriter::new(out);
                write_line_with(&mut out, |out| fedikv::json::write_to(out, &value))?;
                flush(&mut out)?;
                Ok(Outcome::Success)
            }
            None => Ok(Outcome::Negative),
        }
    }
}
