//! `fedikv sweep`.

use std::io::Write;

use fedikv::KvStore;

use super::{flush, write_line};
use crate::error::{CliError, Outcome};

/// Removes expired entries now and prints how many were removed.
pub async fn run(store: &dyn KvStore, out: &mut impl Write) -> Result<Outcome, CliError> {
    let removed = store.sweep().await?;
    let noun = if removed == 1 { "entry" } else { "entries" };
    write_line(out, &format!("removed {removed} expired {noun}"))?;
    flush(out)?;
    Ok(Outcome::Success)
}
