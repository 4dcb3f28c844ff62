//! The data commands (`get`, `set`, `delete`, `cas`, `list`, `sweep`, `check`, and the
//! bulk ones: `count`, `stats`, `delete --prefix`): each opens the store named
//! by `--store` and runs; and `copy`, which opens two.

mod bulk;
mod cas;
mod check;
mod copy;
mod counts;
mod delete;
mod get;
mod identity;
mod list;
mod set;
mod skips;
mod sweep;
mod table;

use std::io::{self, Write};
use std::sync::Arc;

use fedikv::KvStore;

use crate::cli::{Cli, Command, DEFAULT_STORE, DataCommand};
use crate::error::{CliError, Outcome};
use cas::Cas;
use copy::Copy;
use counts::{Counts, Grouping};
use delete::Delete;
use get::Get;
use list::List;
use set::Set;

/// Runs the command line's subcommand.
pub async fn run(cli: Cli) -> Result<Outcome, CliError> {
    match cli.command {
        Command::Bench(args) => crate::bench::run(args, cli.stores).await,
        Command::Copy(args) => Copy::parse(&args)?.run(&mut io::stdout()).await,
        Command::Data(command) => run_data(command, &cli.stores).await,
    }
}

/// Parses the command's arguments, then opens the store and runs it: bad
/// input is reported without connecting anywhere.
async fn run_data(command: DataCommand, stores: &[String]) -> Result<Outcome, CliError> {
    let request = Request::parse(command)?;
    let store = open_store(stores).await?;
    let mut stdout = io::stdout();
    let result = match request {
        Request::Get(get) => get.run(store.as_ref(), &mut stdout).await,
        Request::Set(set) => set.run(store.as_ref()).await,
        Request::Delete(delete) => delete.run(store.as_ref(), &mut stdout).await,
        Request::Cas(cas) => cas.run(store.as_ref(), &mut stdout).await,
        Request::List(list) => list.run(store.as_ref(), stdout).await,
        Request::Counts(counts) => counts.run(store.as_ref(), stdout).await,
        Request::Sweep => sweep::run(store.as_ref(), &mut stdout).await,
        Request::Check => check::run(store.as_ref(), &mut stdout).await,
    };
    // Release connections and files before the runtime shuts down.
    drop(store);
    result
}

/// A data command with its arguments parsed.
#[derive(Debug)]
enum Request {
    Get(Get),
    Set(Set),
    Delete(Delete),
    Cas(Cas),
    List(List),
    Counts(Counts),
    Sweep,
    Check,
}

impl Request {
    fn parse(command: DataCommand) -> Result<Self, CliError> {
        Ok(match command {
            DataCommand::Get { key } => Self::Get(Get::parse(&key)?),
            DataCommand::Set { key, value, ttl } => Self::Set(Set::parse(
                &key,
                &value,
                ttl.as_deref(),
                crate::input::stdin(),
            )?),
            DataCommand::Delete(args) => Self::Delete(Delete::parse(&args)?),
            DataCommand::Cas(args) => Self::Cas(Cas::parse(&args)?),
            DataCommand::List {
                prefix,
                limit,
                format,
            } => Self::List(List::parse(prefix.as_deref(), limit, format)?),
            DataCommand::Count { prefix, format } => {
                Self::Counts(Counts::count(prefix.as_deref(), format)?)
            }
            DataCommand::Stats {
                prefix,
                depth,
                max_groups,
                format,
            } => Self::Counts(Counts::stats(
                prefix.as_deref(),
                Grouping { depth, max_groups },
                format,
            )?),
            DataCommand::Sweep => Self::Sweep,
            DataCommand::Check => Self::Check,
        })
    }
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
    write_line_with(out, |out| out.write_all(line.as_bytes()))
}

/// [`write_line`] of what `write` writes: a line written in pieces, such as
/// a value by [`fedikv::json::write_to`], which never holds a huge value's
/// text whole.
fn write_line_with<W: Write>(
    out: &mut W,
    write: impl FnOnce(&mut W) -> io::Result<()>,
) -> Result<bool, CliError> {
    match write(out).and_then(|()| out.write_all(b"\n")) {
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
