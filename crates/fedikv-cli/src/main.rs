//! `fedikv`: read and write Fedify-compatible key-value stores from the shell,
//! and benchmark them (`fedikv bench`).
//!
//! Exit codes: 0 done, 1 absent (`get`, `delete --raw-key`) or not swapped
//! (`cas`), 2 error, also when a bulk command went past rows it cannot
//! decode (each reported on stderr). An error is one line on stderr,
//! `fedikv: <message>`, that never shows a password. `RUST_LOG` (e.g.
//! `fedikv=debug`) prints the store operations' spans to stderr.

mod allocator;
mod bench;
mod cli;
mod commands;
mod error;
mod hints;
mod input;
mod logging;
mod progress;
mod quote;

#[global_allocator]
static GLOBAL: allocator::Allocator = allocator::Allocator;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::cli::Cli;
use crate::error::{CliError, ERROR_EXIT_CODE};

/// Stack of the thread that runs the command: room for values nested about
/// a million levels deep.
const COMMAND_STACK_BYTES: usize = 1 << 30;

fn main() -> ExitCode {
    report_panics_as_errors();
    logging::init();
    // Usage errors print clap's usage text, with a hint when the shell split
    // a key or a duration, and exit with code 2.
    let cli = Cli::try_parse().unwrap_or_else(|error| {
        let args: Vec<String> = std::env::args_os()
            .skip(1)
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect();
        hints::with_hint(error, &args).exit()
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            return fail(&CliError::new(format!(
                "cannot start the async runtime: {e}"
            )));
        }
    };
    // The command runs on a thread with a large stack: serde_json's `Value`
    // drops, clones and compares recursively, and a stored value may nest
    // tens of thousands of levels (rule V1). The stack is reserved, not
    // committed, so this costs no memory until a deep value needs it.
    let result = std::thread::Builder::new()
        .name("fedikv".into())
        .stack_size(COMMAND_STACK_BYTES)
        .spawn(move || {
            let result = runtime.block_on(commands::run(cli));
            // Stores are closed by now; give driver background tasks a moment to end.
            runtime.shutdown_timeout(Duration::from_secs(5));
            result
        })
        .map_err(|e| CliError::new(format!("cannot start the command thread: {e}")))
        .and_then(|thread| {
            thread
                .join()
                .map_err(|_| CliError::new("the command thread panicked".to_owned()))?
        });
    match result {
        Ok(outcome) => outcome.into(),
        Err(error) => fail(&error),
    }
}

fn fail(error: &CliError) -> ExitCode {
    eprintln!("fedikv: {}", error.one_line());
    ExitCode::from(ERROR_EXIT_CODE)
}

/// A panic is a bug, but the user still gets one `fedikv:` line and exit code
/// 2, not a backtrace.
fn report_panics_as_errors() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str))
            .unwrap_or("unknown cause");
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let error = CliError::new(format!(
            "internal error (a bug in fedikv, please report it): {payload}{place}"
        ));
        eprintln!("fedikv: {}", error.one_line());
        std::process::exit(i32::from(ERROR_EXIT_CODE));
    }));
}
