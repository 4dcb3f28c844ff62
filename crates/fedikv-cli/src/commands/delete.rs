//! `fedikv delete KEY`.

use fedikv::KvStore;

use crate::error::{CliError, Outcome};
use crate::input::parse_key;

/// Removes the entry under `key`; succeeds when there is none.
pub async fn run(store: &dyn KvStore, key: &str) -> Result<Outcome, CliError> {
    store.delete(&parse_key(key)?).await?;
    Ok(Outcome::Success)
}
