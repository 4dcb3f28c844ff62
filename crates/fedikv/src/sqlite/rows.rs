//! Rows as the worker threads hand them over: undecoded text, packed in one
//! buffer per page. Decoding into [`KvKey`]s and JSON values happens on the
//! caller's thread, so every allocation of a decoded value is made and freed
//! by the same thread (glibc's allocator is slow at freeing another thread's
//! memory) and the connection threads stay busy with SQLite only.

use rusqlite::types::ValueRef;
use serde_json::Value;

use crate::error::{KvError, KvResult};
use crate::json;
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
    /// Per row: where its key text ends, where its value text ends (each key
    /// starts where the previous value ended) and its `expires`.
    rows: Vec<(usize, usize, Option<i64>)>,
    /// When the rows were read (epoch ms), for their remaining TTLs.
    now: i64,
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
        self.text.push_str(key);
        let key_end = self.text.len();
        self.text.push_str(value);
        self.rows.push((key_end, self.text.len(), expires));
    }

    /// Whether the page holds `limit` rows or [`MAX_PAGE_BYTES`] of text:
    /// then more rows may follow it.
    pub(crate) fn is_full(&self, limit: usize) -> bool {
        self.rows.len() >= limit || self.text.len() >= MAX_PAGE_BYTES
    }

    /// The key text of the last row.
    pub(crate) fn last_key(&self) -> Option<&str> {
        let &(key_end, _, _) = self.rows.last()?;
        let start = self.rows.len().checked_sub(2).map_or(0, |i| self.rows[i].1);
        Some(&self.text[start..key_end])
    }

    /// The rows as records; a row that does not decode is
    /// [`KvError::Corrupt`].
    pub(crate) fn decode(&self) -> KvResult<Vec<KvRecord>> {
        let mut start = 0;
        self.rows
            .iter()
            .map(|&(key_end, value_end, expires)| {
                let key_text = &self.text[start..key_end];
                let value_text = &self.text[key_end..value_end];
                start = value_end;
                let key = KvKey::from_json(key_text).map_err(|e| KvError::Corrupt {
                    key: key_text.to_owned(),
                    reason: e.to_string(),
                })?;
                Ok(KvRecord {
                    key,
                    value: decode_value(key_text, value_text)?,
                    expires_in: expires.map(|at| ms_left(at.saturating_sub(self.now))),
                })
            })
            .collect()
    }
}

/// A stored value's JSON text, or [`KvError::Corrupt`] naming the key.
pub(crate) fn decode_value(key: &str, text: &str) -> KvResult<Value> {
    json::parse(text).map_err(|e| KvError::Corrupt {
        key: key.to_owned(),
        reason: format!("the value is not JSON: {e}"),
    })
}

/// A column that must hold text: the key or the value of a row.
pub(crate) fn text<'a>(key: &str, column: ValueRef<'a>) -> Result<&'a str, KvError> {
    column.as_str().map_err(|_| KvError::Corrupt {
        key: key.to_owned(),
        reason: format!("the column holds {} instead of text", column.data_type()),
    })
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
        assert_eq!(page.last_key(), Some(r#"["a"]"#));
        page.push(r#"["a","é\n"]"#, "null", None);
        assert!(page.is_full(2) && !page.is_full(3));
        assert_eq!(page.last_key(), Some(r#"["a","é\n"]"#));
        let entries = page.decode().unwrap();
        assert_eq!(entries[0].key, KvKey::new(["a"]).unwrap());
        assert_eq!(entries[0].value, json!({"x": 1}));
        assert_eq!(entries[0].expires_in, Some(Duration::from_millis(2_500)));
        assert_eq!(entries[1].key, KvKey::new(["a", "é\n"]).unwrap());
        assert_eq!(entries[1].value, Value::Null);
        assert_eq!(entries[1].expires_in, None);
        page.push("[1]", &"7".repeat(MAX_PAGE_BYTES), None);
        assert!(page.is_full(1000));
        assert!(matches!(page.decode(), Err(KvError::Corrupt { key, .. }) if key == "[1]"));
    }
}
