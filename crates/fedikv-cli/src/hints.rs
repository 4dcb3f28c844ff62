//! Hints for the usage errors clap reports on its own, when the shell split
//! what the user meant as one argument: a key written without quotes
//! (`fedikv get app greeting`) or a duration with a space (`--ttl 5 minutes`).

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Command, CommandFactory, Error};

use crate::cli::Cli;
use crate::input::{DURATION_HINT, is_bare_word, key_example};
use crate::quote::shell_quote;

/// The commands whose positional arguments are a key (or prefix), then, for
/// `set`, a value.
const KEY_COMMANDS: [&str; 7] = ["get", "set", "delete", "cas", "list", "count", "stats"];

/// `error` with a `tip:` line added when its stray argument is what the shell
/// left of a key or a duration; `args` are the command line's arguments
/// without the program name.
pub fn with_hint(mut error: Error, args: &[String]) -> Error {
    if error.kind() != ErrorKind::UnknownArgument {
        return error;
    }
    let Some(hint) = hint(&Cli::command(), args) else {
        return error;
    };
    let mut tips = match error.get(ContextKind::Suggested) {
        Some(ContextValue::StyledStrs(tips)) => tips.clone(),
        _ => Vec::new(),
    };
    tips.push(hint.into());
    error.insert(ContextKind::Suggested, ContextValue::StyledStrs(tips));
    error
}

/// The hint for a command line with a stray argument: about durations when a
/// number after `--ttl` is followed by a word (`--ttl 5 minutes`), about
/// quoting when a key command has more positional words than it takes and
/// they are bare words ([`is_bare_word`]).
fn hint(cli: &Command, args: &[String]) -> Option<String> {
    let (at, name) = args.iter().enumerate().find_map(|(i, arg)| {
        let after_store = i > 0 && args[i - 1] == "--store";
        (!after_store && KEY_COMMANDS.contains(&arg.as_str())).then_some((i, arg.as_str()))
    })?;
    let command = cli.find_subcommand(name)?;
    let rest = &args[at + 1..];
    let mut words = Vec::new();
    let mut i = 0;
    while let Some(arg) = rest.get(i) {
        i += 1;
        let Some(option) = arg.strip_prefix("--") else {
            words.push(arg.as_str());
            continue;
        };
        let (option, inline) = match option.split_once('=') {
            Some((option, value)) => (option, Some(value)),
            None => (option, None),
        };
        let value = match inline {
            Some(value) => Some(value),
            None if takes_value(cli, command, option) => {
                i += 1;
                rest.get(i - 1).map(String::as_str)
            }
            None => None,
        };
        let next_is_word = rest
            .get(i)
            .is_some_and(|next| !next.is_empty() && next.chars().all(char::is_alphabetic));
        if option == "ttl" && value.is_some_and(is_number) && next_is_word {
            return Some(DURATION_HINT.to_owned());
        }
    }
    // `set` takes a value after the key.
    let (key_words, value) = match (name, words.split_last()) {
        ("set", Some((value, key))) => (key, format!(" {}", shell_quote(value))),
        _ => (&words[..], String::new()),
    };
    let split_key = key_words.len() > 1 && key_words.iter().all(|w| is_bare_word(w));
    split_key.then(|| {
        format!(
            "keys are JSON arrays of strings; quote them: {}{value}",
            key_example(name, key_words)
        )
    })
}

/// Whether `--option` of `command` (or the global `--store`) takes a value.
fn takes_value(cli: &Command, command: &Command, option: &str) -> bool {
    command
        .get_arguments()
        .chain(cli.get_arguments())
        .find(|arg| arg.get_long() == Some(option))
        .is_some_and(|arg| arg.get_action().takes_values())
}

fn is_number(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint_for(line: &str) -> Option<String> {
        let args: Vec<String> = line.split(' ').map(str::to_owned).collect();
        hint(&Cli::command(), &args)
    }

    /// Issue 11: an unquoted multi-word key gets the quoted key back.
    #[test]
    fn split_keys_get_the_quoted_key() {
        let quoted =
            r#"keys are JSON arrays of strings; quote them: fedikv get '["app","greeting"]'"#;
        assert_eq!(hint_for("get app greeting").as_deref(), Some(quoted));
        assert_eq!(
            hint_for("--store memory: get app greeting").as_deref(),
            Some(quoted)
        );
        assert!(
            hint_for(r#"set app greeting "hi""#)
                .unwrap()
                .ends_with(r#"fedikv set '["app","greeting"]' '"hi"'"#)
        );
        assert!(
            hint_for("cas --expect 1 app x --new 2")
                .unwrap()
                .contains(r#"fedikv cas '["app","x"]'"#)
        );
        assert!(
            hint_for("list --limit 5 a b")
                .unwrap()
                .contains(r#"'["a","b"]'"#)
        );
        assert_eq!(hint_for("--store get x"), None);
        assert_eq!(hint_for("sweep x"), None);
    }

    /// Issue 11: `--ttl 5 minutes` is told how to write a duration.
    #[test]
    fn spaced_durations_get_the_duration_hint() {
        for line in [
            r#"set ["a"] 1 --ttl 5 minutes"#,
            r#"set ["a"] --ttl 5 minutes 1"#,
            r#"set --ttl=5 minutes ["a"] 1"#,
            r#"cas ["a"] --absent --new 1 --ttl 1.5 hours"#,
        ] {
            assert_eq!(hint_for(line).as_deref(), Some(DURATION_HINT), "{line}");
        }
        assert_eq!(hint_for(r#"set ["a"] 1 --ttl 5m extra"#), None);
    }
}
