//! The data commands (`get`, `set`, `delete`, `cas`, `list`, `sweep`): each
//! opens the store named by `--store` and runs one operation.

mod cas;
mod delete;
mod get;
mod list;
mod set;
mod sweep;

use std::io::{self, Write};
use std::sync::Arc;

use fedikv::KvStore;

use crate::cli::{Cli, Command, DEFAULT_STORE, DataCommand};
use crate::error::{CliError, Outcome};

/// Runs the command line's subcommand.
pub async fn run(cli: Cli) -> Result<Outcome, CliError> {
    match cli.command {
        Command::Bench(args) => crate::bench::run(args, cli.stores).await,
        Command::Data(command) => run_data(command, &cli.stores).await,
    }
}

/// Opens the store and runs one data command on it.
async fn run_data(command: DataCommand, stores: &[String]) -> Result<Outcome, CliError> {
    let store = open_store(stores).await?;
    let mut stdout = io::stdout();
    let result = match command {
        DataCommand::Get { key } => get::run(store.as_ref(), &key, &mut stdout).await,
        DataCommand::Set { key, value, ttl } => {
            set::run(store.as_ref(), &key, &value, ttl.as_deref(), io::stdin()).await
        }
        DataCommand::Delete { key } => delete::run(store.as_ref(), &key).await,
        DataCommand::Cas(args) => cas::run(store.as_ref(), &args, &mut stdout).await,
        DataCommand::List { prefix } => list::run(store.as_ref(), prefix.as_deref(), stdout).await,
        DataCommand::Sweep => sweep::run(store.as_ref(), &mut stdout).await,
    };
    // Release connections and files before the runtime shuts down.
    drop(store);
    result
}

/// Opens the one store a data command works on.
async fn open_store(stores: &[String]) -> Result<Arc<dyn KvStore>, CliError> {
    let url = match stores {
        [] => DEFAULT_STORE,
        [url] => url.as_str(),
        _ => {
            return Err(CliError::new(format!(
                "--store was given {} times; only `fedikv bench` takes several stores",
                stores.len()
            )));
        }
    };
    Ok(fedikv::open(url).await?)
}

/// Writes `line` and a newline. Returns `Ok(false)` when the reader has gone
/// away (broken pipe, e.g. `fedikv list | head`), which is not an error.
fn write_line(out: &mut impl Write, line: &str) -> Result<bool, CliError> {
    match writeln!(out, "{line}") {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(output_error(e)),
    }
}

/// Flushes the output, ignoring a reader that has gone away.
fn flush(out: &mut impl Write) -> Result<(), CliError> {
    match out.flush() {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(output_error(e)),
        _ => Ok(()),
    }
}

fn output_error(e: io::Error) -> CliError {
    CliError::new(format!("cannot write to standard output: {e}"))
}
