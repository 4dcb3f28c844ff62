//! Parsing of the command line's keys, values and durations, with messages
//! that say how to write them.

use std::io::Read;
use std::time::Duration;

use fedikv::KvKey;
use serde_json::Value;

use crate::error::CliError;

/// Parses a key given as a JSON array of strings (`["app","item"]`).
pub fn parse_key(text: &str) -> Result<KvKey, CliError> {
    KvKey::from_json(text).map_err(|e| {
        CliError::new(format!(
            "{e}; quote it for the shell, e.g. fedikv get '[\"app\",\"item\"]'"
        ))
    })
}

/// Parses a list prefix: a key, or `[]` for "everything".
pub fn parse_prefix(text: &str) -> Result<Option<KvKey>, CliError> {
    match fedikv::json::parse(text) {
        Ok(Value::Array(components)) if components.is_empty() => Ok(None),
        _ => parse_key(text).map(Some),
    }
}

/// Parses the JSON text of a value, as JavaScript's `JSON.parse` would (any
/// depth; `\ud800` escapes are lone surrogates, see `fedikv::js`); `what`
/// names it in the message ("value", "--expect", "--new").
pub fn parse_value(text: &str, what: &str) -> Result<Value, CliError> {
    fedikv::json::parse(text).map_err(|e| {
        CliError::new(format!(
            "{what} is not valid JSON ({e}); write JSON such as '\"text\"', '42', 'null' or '{{\"a\":1}}' (strings need their double quotes)"
        ))
    })
}

/// A value argument: JSON text, or `-` to read the JSON from `stdin`. The
/// text read is dropped once parsed, before the value is sent anywhere.
pub fn read_value(arg: &str, stdin: impl Read) -> Result<Value, CliError> {
    if arg != "-" {
        return parse_value(arg, "value");
    }
    let mut text = String::new();
    let mut stdin = stdin;
    stdin
        .read_to_string(&mut text)
        .map_err(|e| CliError::new(format!("cannot read the value from stdin: {e}")))?;
    parse_value(&text, "the value read from stdin")
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

/// Parses an optional `--ttl` (`500ms`, `30s`, `5m`, `1h30m`, `1d`).
pub fn parse_ttl(text: Option<&str>) -> Result<Option<Duration>, CliError> {
    text.map(|t| fedikv::parse_duration(t).map_err(|e| CliError::new(format!("--ttl: {e}"))))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_prefixes() {
        assert_eq!(parse_key(r#"["a","b"]"#).unwrap().len(), 2);
        assert!(parse_key("[]").is_err());
        assert_eq!(
            fedikv::js::to_utf16(&parse_key(r#"["a\u0000\ud800"]"#).unwrap().components()[0]),
            [0x61, 0, 0xD800]
        );
        assert!(parse_key("a").is_err());
        assert_eq!(parse_prefix("[]").unwrap(), None);
        assert!(parse_prefix(r#"["a"]"#).unwrap().is_some());
        assert!(parse_prefix("{").is_err());
    }

    #[test]
    fn values_from_arguments_and_stdin() {
        assert_eq!(parse_value("null", "value").unwrap(), Value::Null);
        assert!(parse_value("hello", "value").is_err());
        let from_stdin = read_value("-", &b"{\"a\": [1, 2]}\n"[..]).unwrap();
        assert_eq!(from_stdin, serde_json::json!({"a": [1, 2]}));
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
    }
}
