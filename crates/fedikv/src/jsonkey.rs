//! Prefix ranges over keys stored as JSON array text (the SQLite and MySQL
//! layouts), so listing is an exact binary range scan, never `LIKE`.

use crate::key::KvKey;

/// The keys under a prefix, for a layout whose key column holds
/// [`KvKey::to_json`] text compared bytewise (SQLite `BINARY`, MySQL
/// `utf8mb4_bin`).
///
/// The prefix itself is the key equal to `exact`; its descendants are exactly
/// the keys `k` with `children_from <= k < children_to`: their text starts with
/// the prefix's text minus its closing `]`, followed by `,`. Since `-` is the
/// byte after `,`, no other key falls in that range. JSON escapes keep the range
/// exact for `"`, `\` and control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonKeyRange {
    /// The prefix key's own text, e.g. `["a"]`.
    pub exact: String,
    /// Inclusive lower bound of the descendants, e.g. `["a",`.
    pub children_from: String,
    /// Exclusive upper bound of the descendants, e.g. `["a"-`.
    pub children_to: String,
}

impl JsonKeyRange {
    /// The range of `prefix`.
    pub(crate) fn new(prefix: &KvKey) -> Self {
        let exact = prefix.to_json();
        let open = &exact[..exact.len() - 1];
        Self {
            children_from: format!("{open},"),
            children_to: format!("{open}-"),
            exact,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_holds_exactly_the_descendants() {
        let prefix = KvKey::new(["a:", "50%"]).unwrap();
        let range = JsonKeyRange::new(&prefix);
        assert_eq!(range.exact, r#"["a:","50%"]"#);
        let inside = |k: &KvKey| {
            let t = k.to_json();
            t == range.exact || (range.children_from <= t && t < range.children_to)
        };
        for (components, expected) in [
            (vec!["a:", "50%"], true),
            (vec!["a:", "50%", ""], true),
            (vec!["a:", "50%", "x", "y"], true),
            (vec!["a:", "50%x"], false),
            (vec!["a:", "50"], false),
            (vec!["a:", "50%\""], false),
            (vec!["a:"], false),
            (vec!["a", ":50%"], false),
        ] {
            let key = KvKey::new(components.clone()).unwrap();
            assert_eq!(inside(&key), expected, "{components:?}");
        }
    }
}
