//! Rows as the worker threads hand them over: undecoded text, packed in one
//! buffer per page. Decoding into [`KvKey`]s and JSON values happens on the
//! caller's thread, so every allocation of a decoded value is made and freed
//! by the same thread (glibc's allocator is slow at freeing another thread's
//! memory) and the connection threads stay busy with SQLite only.

use rusqlite::types::{Value as SqlValue, ValueRef};
use serde_json::Value;

use crate::error::{KvError, KvResult};
use crate::json::JsonText;
use crate::key::KvKey;
use crate::paging::ms_left;
use crate::store::KvRecord;

/// Text a page holds at most (plus its last row), so that listing large
/// values stays within bounded memory: with the next page read ahead, about
/// twice this.
const MAX_PAGE_BYTES: usize = 8 << 20;

/// One page of `(key text, value text, expires)` rows, the texts in one
/// string.
#[derive(Debug, Default)]
pub(crate) struct RawPage {
    text: String,
    rows: Vec<RawRow>,
    /// The key of the last row when it is not text (a row another program
    /// wrote), for the next page to start after it.
    last_odd_key: Option<SqlValue>,
    /// When the rows were read (epoch ms), for their remaining TTLs.
    now: i64,
}

/// Where a row's texts are in [`RawPage::text`]: its key starts where the
/// previous row's value ended.
#[derive(Debug)]
struct RawRow {
    key_end: usize,
    value_end: usize,
    expires: Option<i64>,
    /// Why the row cannot be read, if it cannot (a column of the wrong
    /// type); its key text is then the raw key to report.
    unreadable: Option<String>,
}

impl RawPage {
    /// An empty page read at `now` (epoch ms).
    pub(crate) fn at(now: i64) -> Self {
        Self {
            now,
            ..Self::default()
        }
    }

    /// Appends a row.
    pub(crate) fn push(&mut self, key: &str, value: &str, expires: Option<i64>) {
        self.push_row(key, value, expires, None);
        self.last_odd_key = None;
    }

    /// Appends a row whose columns cannot be read as text and numbers:
    /// `key` is its raw key (see [`raw_key`]), `odd_key` the key column
    /// itself when it is not text.
    pub(crate) fn push_unreadable(&mut self, key: &str, reason: String, odd_key: Option<SqlValue>) {
        self.push_row(key, "", None, Some(reason));
        self.last_odd_key = odd_key;
    }

    fn push_row(
        &mut self,
        key: &str,
        value: &str,
        expires: Option<i64>,
        unreadable: Option<String>,
    ) {
        self.text.push_str(key);
        let key_end = self.text.len();
        self.text.push_str(value);
        self.rows.push(RawRow {
            key_end,
            value_end: self.text.len(),
            expires,
            unreadable,
        });
    }

    /// Whether the page holds `limit` rows or [`MAX_PAGE_BYTES`] of text:
    /// then more rows may follow it.
    pub(crate) fn is_full(&self, limit: usize) -> bool {
        self.rows.len() >= limit || self.text.len() >= MAX_PAGE_BYTES
    }

    /// The key column of the last row.
    pub(crate) fn last_key(&self) -> Option<SqlValue> {
        let last = self.rows.last()?;
        if let Some(odd) = &self.last_odd_key {
            return Some(odd.clone());
        }
        let start = self
            .rows
            .len()
            .checked_sub(2)
            .map_or(0, |i| self.rows[i].value_end);
        Some(SqlValue::Text(self.text[start..last.key_end].to_owned()))
    }

    /// The rows as records, each value read by `value` from its raw key
    /// and text ([`decode_value`] or [`decode_json_text`]); a row that
    /// does not decode is one [`KvError::Corrupt`] in its place, naming its
    /// raw key (rule V5).
    pub(crate) fn decode<V>(&self, value: ValueDecoder<V>) -> Vec<KvResult<KvRecord<V>>> {
        let mut start = 0;
        self.rows
            .iter()
            .map(|row| {
                let key_text = &self.text[start..row.key_end];
                let value_text = &self.text[row.key_end..row.value_end];
                start = row.value_end;
                if let Some(reason) = &row.unreadable {
                    return Err(corrupt(key_text, reason.clone()));
                }
                let key =
                    KvKey::from_json(key_text).map_err(|e| corrupt(key_text, e.to_string()))?;
                Ok(KvRecord {
                    key,
                    value: value(key_text, value_text)?,
                    expires_in: row.expires.map(|at| ms_left(at.saturating_sub(self.now))),
                })
            })
            .collect()
    }
}

fn corrupt(key: &str, reason: String) -> KvError {
    KvError::Corrupt {
        key: key.to_owned(),
        reason,
    }
}

/// How a listing reads a row's value from its raw key and text.
pub(crate) type ValueDecoder<V> = fn(&str, &str) -> KvResult<V>;

/// A stored value's JSON text, or [`KvError::Corrupt`] naming the key.
pub(crate) fn decode_value(key: &str, text: &str) -> KvResult<Value> {
    crate::table::decode_value_str(|| key.to_owned(), text)
}

/// A stored value's JSON text as [`JsonText`] (one copy), or
/// [`KvError::Corrupt`] naming the key.
pub(crate) fn decode_json_text(key: &str, text: &str) -> KvResult<JsonText> {
    crate::table::json_text_str(|| key.to_owned(), text)
}

/// A column that must hold text: the key or the value of a row.
pub(crate) fn text<'a>(key: &str, column: ValueRef<'a>) -> Result<&'a str, KvError> {
    column.as_str().map_err(|_| KvError::Corrupt {
        key: key.to_owned(),
        reason: format!("the column holds {} instead of text", column.data_type()),
    })
}

/// The raw key of a row whose key column is not text, as SQLite's
/// `quote()` writes it: a blob as `X'4142'`, a number as its digits.
/// [`KvStore::delete_raw`](crate::KvStore::delete_raw) takes the blob form.
pub(crate) fn raw_key(column: ValueRef<'_>) -> String {
    match column {
        ValueRef::Blob(bytes) => {
            let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
            format!("X'{hex}'")
        }
        ValueRef::Integer(n) => n.to_string(),
        ValueRef::Real(x) => x.to_string(),
        ValueRef::Null => "NULL".to_owned(),
        // Text keys are their own raw form.
        ValueRef::Text(bytes) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// The blob a raw key in `X'4142'` form names, if it is one.
pub(crate) fn blob_of_raw_key(raw: &str) -> Option<Vec<u8>> {
    let hex = raw.strip_prefix("X'")?.strip_suffix('\'')?;
    if hex.len() % 2 != 0 {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use serde_json::json;

    #[test]
    fn rows_decode_from_one_buffer() {
        let mut page = RawPage::at(1_000);
        assert_eq!(page.last_key(), None);
        page.push(r#"["a"]"#, r#"{"x":1}"#, Some(3_500));
        assert_eq!(page.last_key(), Some(SqlValue::Text(r#"["a"]"#.into())));
        page.push(r#"["a","é\n"]"#, "null", None);
        assert!(page.is_full(2) && !page.is_full(3));
        assert_eq!(
            page.last_key(),
            Some(SqlValue::Text(r#"["a","é\n"]"#.into()))
        );
        let entries: Vec<_> = page
            .decode(decode_value)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(entries[0].key, KvKey::new(["a"]).unwrap());
        assert_eq!(entries[0].value, json!({"x": 1}));
        assert_eq!(entries[0].expires_in, Some(Duration::from_millis(2_500)));
        assert_eq!(entries[1].key, KvKey::new(["a", "é\n"]).unwrap());
        assert_eq!(entries[1].value, Value::Null);
        assert_eq!(entries[1].expires_in, None);
        page.push("[1]", &"7".repeat(MAX_PAGE_BYTES), None);
        assert!(page.is_full(1000));
        assert!(
            matches!(&page.decode(decode_value)[2], Err(KvError::Corrupt { key, .. }) if key == "[1]")
        );
    }

    #[test]
    fn a_bad_row_is_one_error_among_the_good_ones() {
        let mut page = RawPage::at(0);
        page.push(r#"["p","a"]"#, "1", None);
        page.push(r#"["p",1]"#, "2", None);
        page.push(r#"["p","b"]"#, "{not json", None);
        page.push_unreadable("X'01'", "a blob key".into(), Some(SqlValue::Blob(vec![1])));
        assert_eq!(page.last_key(), Some(SqlValue::Blob(vec![1])));
        page.push(r#"["p","c"]"#, "3", None);
        assert_eq!(page.last_key(), Some(SqlValue::Text(r#"["p","c"]"#.into())));
        let decoded = page.decode(decode_value);
        let keys: Vec<_> = decoded
            .iter()
            .map(|r| match r {
                Ok(record) => record.key.to_json(),
                Err(KvError::Corrupt { key, .. }) => format!("corrupt {key}"),
                Err(e) => panic!("{e}"),
            })
            .collect();
        assert_eq!(
            keys,
            [
                r#"["p","a"]"#,
                r#"corrupt ["p",1]"#,
                r#"corrupt ["p","b"]"#,
                "corrupt X'01'",
                r#"["p","c"]"#
            ]
        );
    }

    #[test]
    fn blob_keys_have_a_raw_form_that_names_them() {
        let raw = raw_key(ValueRef::Blob(&[0x41, 0xff]));
        assert_eq!(raw, "X'41FF'");
        assert_eq!(blob_of_raw_key(&raw), Some(vec![0x41, 0xff]));
        assert_eq!(blob_of_raw_key("X''"), Some(vec![]));
        assert_eq!(blob_of_raw_key(r#"["a"]"#), None);
        assert_eq!(blob_of_raw_key("X'4'"), None);
        assert_eq!(blob_of_raw_key("X'4G'"), None);
    }
}
