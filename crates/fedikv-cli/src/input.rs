//! Parsing of the command line's keys, values and durations, with messages
//! that say how to write them.

use std::io::Read;
use std::time::Duration;

use fedikv::{JsonText, KvKey};
use serde_json::Value;

use crate::error::CliError;
use crate::quote::shell_quote;

/// Parses a key given as a JSON array of strings (`["app","item"]`).
/// `command` is the command line before the key as the user typed it
/// (`"get"`, `"delete --prefix"`): the error's example uses it.
pub fn parse_key(text: &str, command: &str) -> Result<KvKey, CliError> {
    KvKey::from_json(text).map_err(|e| {
        CliError::new(format!(
            "{e}; quote it for the shell, e.g. {}",
            key_example(command, &shell_words(text))
        ))
    })
}

/// Parses a list prefix: a key, or `[]` for "everything"; `command` as for
/// [`parse_key`].
pub fn parse_prefix(text: &str, command: &str) -> Result<Option<KvKey>, CliError> {
    match fedikv::json::parse(text) {
        Ok(Value::Array(components)) if components.is_empty() => Ok(None),
        _ => parse_key(text, command).map(Some),
    }
}

/// Whether `word` is a key component written without JSON (no `"`, `[`,
/// `]`, `{` or `}`), as the shell leaves it of a key the user quoted in JSON
/// but not for the shell.
pub fn is_bare_word(word: &str) -> bool {
    !word.is_empty() && !word.contains(['"', '[', ']', '{', '}'])
}

/// `fedikv COMMAND 'KEY'`, the key being `words` as a JSON array, quoted for
/// the shell; `["app","item"]` when `words` is empty or not all bare words
/// ([`is_bare_word`]).
pub fn key_example(command: &str, words: &[&str]) -> String {
    let bare = !words.is_empty() && words.iter().all(|w| is_bare_word(w));
    let key = if bare {
        serde_json::to_string(words).unwrap_or_default()
    } else {
        r#"["app","item"]"#.to_owned()
    };
    format!("fedikv {command} {}", shell_quote(&key))
}

/// The key components a user meant by `text` when the shell took their
/// quotes: `app` for `app`, and `app`, `item` for `[app,item]` (what the
/// shell leaves of an unquoted `["app","item"]`). Empty otherwise.
fn shell_words(text: &str) -> Vec<&str> {
    match text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        Some(inner) if !inner.contains('"') => inner.split(',').map(str::trim).collect(),
        Some(_) => Vec::new(),
        None => vec![text],
    }
}

/// Parses the JSON text of a value, as JavaScript's `JSON.parse` would (any
/// depth; `\ud800` escapes are lone surrogates, see `fedikv::js`); `what`
/// names it in the message ("value", "--expect", "--new").
pub fn parse_value(text: &str, what: &str) -> Result<Value, CliError> {
    fedikv::json::parse(text).map_err(|e| not_json(what, e))
}

/// Checks the JSON text of a value as [`parse_value`] does and keeps it as
/// text, in its compact form (object members in the text's order, as
/// `JSON.stringify(JSON.parse(text))` writes them), without decoding it.
pub fn value_text(text: String, what: &str) -> Result<JsonText, CliError> {
    JsonText::from_string(text).map_err(|e| not_json(what, e))
}

fn not_json(what: &str, error: fedikv::json::JsonError) -> CliError {
    CliError::new(format!(
        "{what} is not valid JSON ({error}); write JSON such as '\"text\"', '42', 'null' or '{{\"a\":1}}' (strings need their double quotes)"
    ))
}

/// A value argument: JSON text, or `-` to read the JSON from `stdin`, read
/// once and kept as text ([`value_text`]): text that is already compact is
/// not copied, and no `Value` is built.
pub fn read_value(arg: &str, stdin: impl Read) -> Result<JsonText, CliError> {
    if arg != "-" {
        return value_text(arg.to_owned(), "value");
    }
    let mut text = String::new();
    let mut stdin = stdin;
    stdin
        .read_to_string(&mut text)
        .map_err(|e| CliError::new(format!("cannot read the value from stdin: {e}")))?;
    value_text(text, "the value read from stdin")
}

/// Standard input, to read a value from whole. On Unix it is read as a
/// `File` (a duplicate of its descriptor), whose `read_to_string` reserves
/// a redirected file's size at once: text grown by doubling instead peaks
/// at up to twice its size, in the copies each reallocation makes.
pub fn stdin() -> Box<dyn Read> {
    #[cfg(unix)]
    if let Ok(fd) = std::os::fd::AsFd::as_fd(&std::io::stdin()).try_clone_to_owned() {
        return Box::new(std::fs::File::from(fd));
    }
    Box::new(std::io::stdin())
}

/// How to write a duration, for messages about one written with a space
/// (`--ttl 5 minutes`).
pub const DURATION_HINT: &str = "write durations without spaces: 5m, 30s, 1h30m";

/// Parses an optional `--ttl` (`500ms`, `30s`, `5m`, `1h30m`, `1d`).
pub fn parse_ttl(text: Option<&str>) -> Result<Option<Duration>, CliError> {
    text.map(|t| {
        fedikv::parse_duration(t).map_err(|e| {
            let hint = if t.trim().contains(char::is_whitespace) {
                format!("; {DURATION_HINT}")
            } else {
                String::new()
            };
            CliError::new(format!("--ttl: {e}{hint}"))
        })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_prefixes() {
        assert_eq!(parse_key(r#"["a","b"]"#, "get").unwrap().len(), 2);
        assert!(parse_key("[]", "get").is_err());
        assert_eq!(
            fedikv::js::to_utf16(
                &parse_key(r#"["a\u0000\ud800"]"#, "get")
                    .unwrap()
                    .components()[0]
            ),
            [0x61, 0, 0xD800]
        );
        assert!(parse_key("a", "get").is_err());
        assert_eq!(parse_prefix("[]", "list").unwrap(), None);
        assert!(parse_prefix(r#"["a"]"#, "list").unwrap().is_some());
        assert!(parse_prefix("{", "list").is_err());
    }

    /// Issue 11: the example names the command typed, with the words the
    /// user meant as the key when the shell took their quotes.
    #[test]
    fn key_errors_show_the_typed_command_with_the_key_quoted() {
        let message = |text, command| parse_key(text, command).unwrap_err().to_string();
        assert!(
            message("app", "set").ends_with(r#"e.g. fedikv set '["app"]'"#),
            "{}",
            message("app", "set")
        );
        assert!(
            message("[app,greeting]", "cas").ends_with(r#"e.g. fedikv cas '["app","greeting"]'"#)
        );
        assert!(
            message(r#"{"a":1}"#, "delete --prefix")
                .ends_with(r#"e.g. fedikv delete --prefix '["app","item"]'"#)
        );
        let prefix = parse_prefix("x", "stats").unwrap_err().to_string();
        assert!(prefix.ends_with(r#"e.g. fedikv stats '["x"]'"#), "{prefix}");
        assert_eq!(
            key_example("get", &["it's", "b"]),
            r#"fedikv get '["it'\''s","b"]'"#
        );
    }

    #[test]
    fn values_from_arguments_and_stdin() {
        assert_eq!(parse_value("null", "value").unwrap(), Value::Null);
        assert!(parse_value("hello", "value").is_err());
        let from_stdin = read_value("-", &b"{\"b\": [1, 2], \"a\": \"\\u00e9\"}\n"[..]).unwrap();
        assert_eq!(from_stdin.as_str(), "{\"b\":[1,2],\"a\":\"\u{e9}\"}");
        assert_eq!(read_value("[ 1 ]", &b""[..]).unwrap().as_str(), "[1]");
        assert!(read_value("-", &b"{"[..]).is_err());
    }

    #[test]
    fn ttls() {
        assert_eq!(parse_ttl(None).unwrap(), None);
        assert_eq!(
            parse_ttl(Some("1h30m")).unwrap(),
            Some(Duration::from_secs(5400))
        );
        assert!(parse_ttl(Some("soon")).is_err());
        let spaced = parse_ttl(Some("5 minutes")).unwrap_err().to_string();
        assert!(spaced.ends_with(DURATION_HINT), "{spaced}");
        assert!(
            !parse_ttl(Some("5x"))
                .unwrap_err()
                .to_string()
                .contains(DURATION_HINT)
        );
    }
}
