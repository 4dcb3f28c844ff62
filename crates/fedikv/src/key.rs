//! [`KvKey`]: the non-empty list of strings every store is addressed by.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::KvError;

/// A key: a non-empty, ordered list of string components (SPEC K1, K2).
///
/// Components may hold any Unicode text, including the empty string, `:`, `%`,
/// `_`, `\`, `"`, `*`, newlines and emoji; only NUL (`\0`) is refused, because
/// PostgreSQL `text` cannot store it. Two keys are equal only when they are equal
/// component by component, so `["a:b"]` and `["a", "b"]` are different keys.
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
    /// Fails with [`KvError::InvalidKey`] when there are no components or a
    /// component contains NUL.
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
        if let Some(i) = components.iter().position(|c| c.contains('\0')) {
            return Err(KvError::InvalidKey {
                reason: format!(
                    "component {i} contains a NUL character (\\0), which no backend can store; remove or encode it"
                ),
            });
        }
        Ok(Self(components))
    }

    /// Parses a key from JSON array text such as `["a","b"]`, the form the CLI
    /// takes and the SQLite and MySQL layouts store.
    pub fn from_json(text: &str) -> Result<Self, KvError> {
        let components: Vec<String> =
            serde_json::from_str(text).map_err(|e| KvError::InvalidKey {
                reason: format!(
                    "a key must be a JSON array of strings such as [\"a\",\"b\"] ({e})"
                ),
            })?;
        Self::new(components)
    }

    /// The key as compact JSON array text, byte-identical to JavaScript's
    /// `JSON.stringify(key)` (the SQLite and MySQL key column).
    pub fn to_json(&self) -> String {
        // serde_json escapes strings exactly like JSON.stringify: `"`, `\`,
        // \b \f \n \r \t, other control characters as lowercase \u00xx, and
        // nothing else. Serializing a Vec<String> cannot fail.
        serde_json::to_string(&self.0).unwrap_or_default()
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
    fn rejects_empty_and_nul() {
        assert!(matches!(
            KvKey::new(Vec::<String>::new()),
            Err(KvError::InvalidKey { .. })
        ));
        assert!(matches!(
            KvKey::new(["a\0b"]),
            Err(KvError::InvalidKey { .. })
        ));
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
