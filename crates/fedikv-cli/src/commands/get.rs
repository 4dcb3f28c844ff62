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

    /// Prints the value's stored text, compact, as `JSON.stringify` writes it
    /// (lone surrogates as `\udxxx`, object members in their stored order:
    /// see [`KvStore::get_json`]); [`Outcome::Negative`] when the key is
    /// absent or expired. The value is never decoded, so a huge value costs
    /// its text's size, plus what the driver holds while reading it.
    pub async fn run(self, store: &dyn KvStore, out: &mut impl Write) -> Result<Outcome, CliError> {
        match store.get_json(&self.key).await? {
            Some(text) => {
                let mut out = BufWriter::new(out);
                write_line_with(&mut out, |out| out.write_all(text.as_str().as_bytes()))?;
                flush(&mut out)?;
                Ok(Outcome::Success)
            }
            None => Ok(Outcome::Negative),
        }
    }
}
