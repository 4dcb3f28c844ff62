//! [`KvKey`]: the non-empty list of strings every store is addressed by.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::KvError;
use crate::json;
use serde_json::Value;

/// What a JSON value is, for messages.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A key: a non-empty, ordered list of string components (rules K1, K2).
///
/// Components are JavaScript strings, as in Fedify: any text, including the
/// empty string, `:`, `%`, `_`, `\`, `"`, `*`, newlines, NUL and emoji, and
/// lone surrogates written as the [`js`](crate::js) module describes
/// ([`KvKey::from_json`] reads them from `\ud800` escapes). PostgreSQL, whose
/// `text` cannot hold NUL, refuses a key with NUL when it is used. Two keys
/// are equal only when they are equal component by component, so `["a:b"]`
/// and `["a", "b"]` are different keys.
///
/// Keys order component-wise (`["a"] < ["a", ""] < ["a", "b"] < ["ab"]`), so
/// all keys under a prefix are contiguous in that order.
///
/// ```
/// use fedikv::KvKey;
/// let key = KvKey::new(["_fedify", "remoteDocument", "https://example.com/"])?;
/// assert_eq!(key.len(), 3);
/// assert!(KvKey::new(Vec::<String>::new()).is_err());
/// # Ok::<(), fedikv::KvError>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KvKey(Vec<String>);

impl KvKey {
    /// Builds a key from its components.
    ///
    /// Fails with [`KvError::InvalidKey`] when there are no components.
    pub fn new<I, S>(components: I) -> Result<Self, KvError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let components: Vec<String> = components.into_iter().map(Into::into).collect();
        if components.is_empty() {
            return Err(KvError::InvalidKey {
                reason: "a key needs at least one component, e.g. [\"app\", \"item\"]".into(),
            });
        }
        Ok(Self(components))
    }

    /// Parses a key from JSON array text such as `["a","b"]`, the form the CLI
    /// takes and the SQLite and MySQL layouts store. Lone surrogates
    /// (`["\ud800"]`) are read as the [`js`](crate::js) module describes.
    pub fn from_json(text: &str) -> Result<Self, KvError> {
        let invalid = |detail: String| KvError::InvalidKey {
            reason: format!(
                "a key must be a JSON array of strings such as [\"a\",\"b\"] ({detail})"
            ),
        };
        match json::parse(text).map_err(|e| invalid(e.to_string()))? {
            Value::Array(items) => {
                let components = items
                    .into_iter()
                    .map(|item| match item {
                        Value::String(s) => Ok(s),
                        other => Err(invalid(format!("found {}", kind_of(&other)))),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Self::new(components)
            }
            other => Err(invalid(format!("found {}", kind_of(&other)))),
        }
    }

    /// The key as compact JSON array text, byte-identical to JavaScript's
    /// `JSON.stringify(key)` (the SQLite and MySQL key column), lone
    /// surrogates written as `\udxxx`.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(self.byte_len() + 2 + 3 * self.0.len());
        out.push('[');
        for (i, component) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json::write_str(&mut out, component, json::Surrogates::Escape);
        }
        out.push(']');
        out
    }

    /// The components, in order.
    pub fn components(&self) -> &[String] {
        &self.0
    }

    /// Number of components (always at least one).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always `false`: a key has at least one component. Present for API symmetry.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Whether `prefix` is a component-wise prefix of this key (a key is a
    /// prefix of itself). `["ab"]` does not start with `["a"]`.
    pub fn starts_with(&self, prefix: &KvKey) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// This key with one more component appended.
    pub fn child(&self, component: impl Into<String>) -> Result<Self, KvError> {
        let mut components = self.0.clone();
        components.push(component.into());
        Self::new(components)
    }

    /// Total UTF-8 bytes of all components.
    pub fn byte_len(&self) -> usize {
        self.0.iter().map(String::len).sum()
    }

    /// Consumes the key, returning its components.
    pub fn into_components(self) -> Vec<String> {
        self.0
    }
}

impl fmt::Debug for KvKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KvKey({})", self.to_json())
    }
}

impl fmt::Display for KvKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

impl TryFrom<Vec<String>> for KvKey {
    type Error = KvError;
    fn try_from(components: Vec<String>) -> Result<Self, KvError> {
        Self::new(components)
    }
}

impl TryFrom<&[&str]> for KvKey {
    type Error = KvError;
    fn try_from(components: &[&str]) -> Result<Self, KvError> {
        Self::new(components.iter().copied())
    }
}

impl<const N: usize> TryFrom<[&str; N]> for KvKey {
    type Error = KvError;
    fn try_from(components: [&str; N]) -> Result<Self, KvError> {
        Self::new(components)
    }
}

impl std::str::FromStr for KvKey {
    type Err = KvError;
    fn from_str(s: &str) -> Result<Self, KvError> {
        Self::from_json(s)
    }
}

impl AsRef<[String]> for KvKey {
    fn as_ref(&self) -> &[String] {
        &self.0
    }
}

impl Serialize for KvKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for KvKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let components = Vec::<String>::deserialize(deserializer)?;
        Self::new(components).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_empty_and_non_strings() {
        assert!(matches!(
            KvKey::new(Vec::<String>::new()),
            Err(KvError::InvalidKey { .. })
        ));
        assert!(KvKey::from_json("[\"a\",null]").is_err());
        assert!(KvKey::from_json("{}").is_err());
        assert!(KvKey::from_json("[]").is_err());
        assert!(KvKey::from_json("[1]").is_err());
        assert!(KvKey::from_json("not json").is_err());
    }

    #[test]
    fn json_text_matches_javascript() {
        let key = KvKey::new(["q\"uote", "back\\slash", "nl\n", "\u{1}", "é😀", "/"]).unwrap();
        assert_eq!(
            key.to_json(),
            r#"["q\"uote","back\\slash","nl\n","\u0001","é😀","/"]"#
        );
        assert_eq!(KvKey::from_json(&key.to_json()).unwrap(), key);
    }

    #[test]
    fn javascript_strings_round_trip_as_json_stringify_writes_them() {
        let text = r#"["\ud800","a\u0000b","\udc00\ud83d\ude00","\u2028\ufeff"]"#;
        let key = KvKey::from_json(text).unwrap();
        // JSON.stringify writes pairs and U+2028/U+FEFF as they are.
        let expected = text
            .replace("\\ud83d\\ude00", "😀")
            .replace("\\u2028\\ufeff", "\u{2028}\u{feff}");
        assert_eq!(key.to_json(), expected);
        assert_eq!(crate::js::to_utf16(&key.components()[0]), [0xD800]);
        assert_eq!(key.components()[1], "a\0b");
        assert_eq!(KvKey::from_json(&key.to_json()).unwrap(), key);
    }

    #[test]
    fn component_wise_order_keeps_prefixes_contiguous() {
        let a = KvKey::new(["a"]).unwrap();
        let a_empty = KvKey::new(["a", ""]).unwrap();
        let a_b = KvKey::new(["a", "b"]).unwrap();
        let ab = KvKey::new(["ab"]).unwrap();
        assert!(a < a_empty && a_empty < a_b && a_b < ab);
        assert!(a_b.starts_with(&a));
        assert!(!ab.starts_with(&a));
    }
}
