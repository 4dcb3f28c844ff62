//! [`Sink`]: where result lines go (stdout, or appended to `--out FILE`),
//! flushed line by line so a run cut short keeps what it measured.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use crate::error::CliError;

/// The destination of the JSON Lines results.
#[derive(Debug)]
pub enum Sink {
    /// Standard output.
    Stdout(io::Stdout),
    /// A file opened for appending.
    File(File),
}

impl Sink {
    /// Results to `path` (appended, created if missing), or to stdout.
    pub fn open(path: Option<&Path>) -> Result<Self, CliError> {
        match path {
            None => Ok(Self::Stdout(io::stdout())),
            Some(path) => OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map(Self::File)
                .map_err(|e| {
                    CliError::new(format!(
                        "cannot open --out {}: {e}; give a writable file path",
                        path.display()
                    ))
                }),
        }
    }

    /// Writes `line` as one line of compact JSON and flushes it.
    pub fn write(&mut self, line: &impl Serialize) -> Result<(), CliError> {
        let mut text = serde_json::to_string(line)
            .map_err(|e| CliError::new(format!("cannot encode a result line: {e}")))?;
        text.push('\n');
        let written = match self {
            Self::Stdout(out) => out.write_all(text.as_bytes()).and_then(|()| out.flush()),
            Self::File(file) => file.write_all(text.as_bytes()).and_then(|()| file.flush()),
        };
        written.map_err(|e| CliError::new(format!("cannot write results: {e}")))
    }
}
