//! `fedikv delete KEY`.

use fedikv::{KvKey, KvStore};

use crate::error::{CliError, Outcome};
use crate::input::parse_key;

/// A parsed `delete`.
#[derive(Debug)]
pub struct Delete {
    key: KvKey,
}

impl Delete {
    /// Parses the key argument.
    pub fn parse(key: &str) -> Result<Self, CliError> {
        Ok(Self {
            key: parse_key(key)?,
        })
    }

    /// Removes the entry; succeeds when there is none.
    pub async fn run(self, store: &dyn KvStore) -> Result<Outcome, CliError> {
        store.delete(&self.key).await?;
        Ok(Outcome::Success)
    }
}
