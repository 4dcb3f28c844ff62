//! [`CliError`] and [`Outcome`]: how a command ends, and its exit code.

use std::fmt;
use std::process::ExitCode;

use fedikv::KvError;

use crate::quote::shell_quote;

/// How a command that ran without error ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit code 0: done (found, swapped, written).
    Success,
    /// Exit code 1: the key was absent (`get`) or the value not swapped (`cas`).
    Negative,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Success => ExitCode::SUCCESS,
            Outcome::Negative => ExitCode::from(1),
        }
    }
}

/// An error that ends the command with exit code 2. Its message says what to
/// do and never holds a password (store URLs are only shown redacted).
#[derive(Debug)]
pub struct CliError {
    message: String,
}

/// Exit code of every error.
pub const ERROR_EXIT_CODE: u8 = 2;

impl CliError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The message on a single line: line breaks (from driver messages) become `; `.
    pub fn one_line(&self) -> String {
        self.message
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<KvError> for CliError {
    /// The error's message; for a row that cannot be decoded, with the
    /// command that deletes it.
    fn from(error: KvError) -> Self {
        match &error {
            KvError::Corrupt { key, .. } => Self::new(format!(
                "{error}; with this command: fedikv delete --raw-key {}",
                shell_quote(key)
            )),
            _ => Self::new(error.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_become_one_line() {
        let error = CliError::new("first\n  second\r\n\nthird ");
        assert_eq!(error.one_line(), "first; second; third");
    }
}
