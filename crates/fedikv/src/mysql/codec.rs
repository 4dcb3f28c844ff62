//! Keys and values as the table holds them: key JSON text (at most
//! [`MAX_KEY_CHARS`] characters), value JSON text (lone surrogates as
//! U+FFFD), TTLs as microseconds on the server clock.

use std::time::Duration;

use mysql_async::Row;
use mysql_async::prelude::FromValue;
use serde_json::Value;

use super::MAX_KEY_CHARS;
use super::error::BACKEND;
use crate::error::{KvError, KvResult};
use crate::json::{self, JsonText};
use crate::key::KvKey;

/// The key's JSON text, refused before any round trip when the key column
/// cannot hold it.
pub(crate) fn key_text(key: &KvKey) -> KvResult<String> {
    let text = key.to_json();
    // At most one character per byte: only count when the bytes exceed it.
    if text.len() > MAX_KEY_CHARS {
        let len = text.chars().count();
        if len > MAX_KEY_CHARS {
            return Err(KvError::KeyTooLong {
                backend: BACKEND,
                len,
                max: MAX_KEY_CHARS,
                unit: "characters of JSON text",
            });
        }
    }
    Ok(text)
}

/// Column `index` of a row as `T`, or [`KvError::Corrupt`] naming `key`
/// when it does not have the type Fedify's table gives it (in a table
/// another program created or altered: an `INT` value column, say). Never
/// panics, unlike `mysql_async`'s own conversion of rows into tuples.
pub(crate) fn column<T: FromValue>(row: &mut Row, index: usize, key: &str) -> KvResult<T> {
    match row.take_opt(index) {
        Some(Ok(value)) => Ok(value),
        _ => Err(KvError::Corrupt {
            key: key.to_owned(),
            reason: format!(
                "column {} of the row does not have the type of Fedify's table (key text, JSON text, DATETIME(6)): the table was created or altered by another program",
                index + 1
            ),
        }),
    }
}

/// The key column's text: the key's JSON text in a table of Fedify's
/// shape. Otherwise (not UTF-8, not text at all) [`KvError::Corrupt`]
/// naming what the column holds as well as text can show it.
pub(crate) fn key_column(value: mysql_async::Value) -> KvResult<String> {
    let shown = match value {
        mysql_async::Value::Bytes(bytes) => match String::from_utf8(bytes) {
            Ok(text) => return Ok(text),
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        },
        other => other.as_sql(true),
    };
    Err(KvError::Corrupt {
        key: shown,
        reason: "the key column does not hold UTF-8 text: the table was created or altered by another program".to_owned(),
    })
}

/// How a stored value is read from its key text and bytes.
pub(crate) type ValueReader<V> = fn(&str, Vec<u8>) -> KvResult<V>;

/// Parses a stored value; [`KvError::Corrupt`] naming `key` otherwise.
pub(crate) fn decode_value(key: &str, bytes: &[u8]) -> KvResult<Value> {
    crate::table::decode_value_text(|| key.to_owned(), bytes)
}

/// [`decode_value`] as a [`ValueReader`].
pub(crate) fn read_value(key: &str, bytes: Vec<u8>) -> KvResult<Value> {
    decode_value(key, &bytes)
}

/// A stored value as [`JsonText`]: its bytes kept without a copy when they
/// are compact JSON (as Fedify and fedikv write them); [`KvError::Corrupt`]
/// naming `key` otherwise.
pub(crate) fn decode_text(key: &str, bytes: Vec<u8>) -> KvResult<JsonText> {
    let text = String::from_utf8(bytes).map_err(|e| KvError::Corrupt {
        key: key.to_owned(),
        reason: format!("the value is not UTF-8: {}", e.utf8_error()),
    })?;
    crate::table::json_text_string(|| key.to_owned(), text)
}

/// A value's JSON text as this backend stores it: lone surrogates as U+FFFD.
pub(crate) fn json_text(value: &Value) -> String {
    let mut text = String::new();
    json::write_value(&mut text, value, json::Surrogates::Replace);
    text
}

/// The value and, with a TTL, its microseconds: the parameters every write
/// statement takes in that order.
pub(crate) fn value_params(value: &str, ttl: Option<Duration>) -> Vec<mysql_async::Value> {
    let mut params = vec![mysql_async::Value::from(value)];
    if let Some(ttl) = ttl {
        params.push(mysql_async::Value::from(ttl_micros(ttl)));
    }
    params
}

/// The microseconds bound to `NOW(6) + INTERVAL ? MICROSECOND`: the TTL at
/// millisecond precision (rule O2). Callers pass
/// [`SetOptions::effective_ttl`](crate::SetOptions::effective_ttl), at most
/// [`MAX_TTL`](crate::MAX_TTL) (3.2e16 microseconds), which keeps
/// `NOW(6) + INTERVAL` inside `DATETIME`'s range (year 9999).
pub(crate) fn ttl_micros(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis().saturating_mul(1000)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_is_whole_milliseconds() {
        assert_eq!(ttl_micros(Duration::ZERO), 0);
        assert_eq!(ttl_micros(Duration::from_micros(1999)), 1000);
        assert_eq!(ttl_micros(Duration::from_secs(3600)), 3_600_000_000);
        assert_eq!(ttl_micros(crate::MAX_TTL), 31_536_000_000_000_000);
    }
}
