//! The reference model: a sorted map of what a correct store holds, with
//! each entry's TTL and write time, and what a store with given
//! [`Capabilities`] makes of keys and values (lone surrogates as U+FFFD,
//! NUL refused).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use fedikv::js::replace_lone_surrogates;
use fedikv::{Capabilities, json_opt_eq};
use serde_json::{Map, Value};

use super::universe::Ttl;

/// A live entry of the model.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    /// The value as the store holds it.
    pub(crate) value: Value,
    /// The TTL it was written with (`None`: it never expires).
    pub(crate) ttl: Option<Duration>,
    /// When the write that stored it started.
    pub(crate) written: Instant,
}

/// What a correct store holds: live entries by key (relative to the run's
/// prefix, as the store holds it). Entries written with a zero TTL are
/// expired at once and so absent; those with an hour's TTL live through the
/// test, so the model needs no clock.
#[derive(Debug)]
pub(crate) struct Reference {
    caps: Capabilities,
    entries: BTreeMap<Vec<String>, Stored>,
}

impl Reference {
    pub(crate) fn new(caps: Capabilities) -> Self {
        Self {
            caps,
            entries: BTreeMap::new(),
        }
    }

    /// Whether the store must refuse the key (NUL where keys cannot hold
    /// it) with `InvalidKey`.
    pub(crate) fn refuses_key(&self, key: &[String]) -> bool {
        !self.caps.nul_in_keys && key.iter().any(|c| c.contains('\0'))
    }

    /// Whether the store must refuse the value (NUL where values cannot
    /// hold it) with `InvalidValue`.
    pub(crate) fn refuses_value(&self, value: &Value) -> bool {
        !self.caps.nul_in_values && has_nul(value)
    }

    /// The key as the store holds it.
    pub(crate) fn key(&self, key: &[String]) -> Vec<String> {
        if self.caps.lone_surrogates_in_keys {
            return key.to_vec();
        }
        key.iter()
            .map(|c| replace_lone_surrogates(c).into_owned())
            .collect()
    }

    /// The value as the store holds it and gives it back.
    pub(crate) fn value(&self, value: &Value) -> Value {
        if self.caps.lone_surrogates_in_values {
            return value.clone();
        }
        replace_in_value(value)
    }

    /// The live entry under `key` (as given to the store).
    pub(crate) fn get(&self, key: &[String]) -> Option<&Stored> {
        self.entries.get(&self.key(key))
    }

    /// `set` (O2): replaces the entry; a zero TTL leaves the key absent.
    pub(crate) fn set(&mut self, key: &[String], value: &Value, ttl: Ttl, written: Instant) {
        let key = self.key(key);
        if ttl == Ttl::Zero {
            self.entries.remove(&key);
            return;
        }
        let stored = Stored {
            value: self.value(value),
            ttl: ttl.duration(),
            written,
        };
        self.entries.insert(key, stored);
    }

    /// `delete` (O3).
    pub(crate) fn delete(&mut self, key: &[String]) {
        let key = self.key(key);
        self.entries.remove(&key);
    }

    /// `cas` (O4): swaps iff the current value deep-equals `expected`
    /// (`None`: absent); `new = None` deletes. Returns whether it swapped.
    pub(crate) fn cas(
        &mut self,
        key: &[String],
        expected: Option<&Value>,
        new: Option<&Value>,
        ttl: Ttl,
        written: Instant,
    ) -> bool {
        let current = self.get(key).map(|s| &s.value);
        let expected = expected.map(|v| self.value(v));
        if !json_opt_eq(current, expected.as_ref()) {
            return false;
        }
        match new {
            Some(value) => self.set(key, value, ttl, written),
            None => self.delete(key),
        }
        true
    }

    /// The live entries whose key starts with `prefix` (as given to the
    /// store) component-wise (O5).
    pub(crate) fn list(&self, prefix: &[String]) -> impl Iterator<Item = (&Vec<String>, &Stored)> {
        let prefix = self.key(prefix);
        self.entries
            .iter()
            .filter(move |(key, _)| key.starts_with(&prefix))
    }
}

/// Whether a string or object key inside `value` holds NUL.
fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(fields) => fields.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// `value` with lone surrogates in strings and object keys replaced by
/// U+FFFD. The model's values are nested a few dozen levels at most.
fn replace_in_value(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(replace_lone_surrogates(s).into_owned()),
        Value::Array(items) => Value::Array(items.iter().map(replace_in_value).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (replace_lone_surrogates(k).into_owned(), replace_in_value(v)))
                .collect::<Map<String, Value>>(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fedikv::js::from_utf16;
    use serde_json::json;

    fn key(components: &[&str]) -> Vec<String> {
        components.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn follows_the_contract() {
        let now = Instant::now();
        let mut model = Reference::new(Capabilities::default());
        let (a, ab, b) = (key(&["a"]), key(&["a", "b"]), key(&["ab"]));
        model.set(&a, &json!(1), Ttl::Never, now);
        model.set(&ab, &json!(null), Ttl::Hour, now);
        model.set(&b, &json!(2), Ttl::Zero, now);
        assert!(model.get(&b).is_none(), "a zero TTL is expired at once");
        let listed: Vec<_> = model.list(&a).map(|(k, _)| k.clone()).collect();
        assert_eq!(listed, [a.clone(), ab.clone()]);
        assert!(!model.cas(&ab, None, Some(&json!(3)), Ttl::Never, now));
        assert!(model.cas(&ab, Some(&json!(null)), None, Ttl::Never, now));
        assert!(model.get(&ab).is_none(), "compare-and-delete");
        assert!(model.cas(&a, Some(&json!(1.0)), Some(&json!(4)), Ttl::Zero, now));
        assert!(model.get(&a).is_none(), "cas with a zero TTL");
    }

    #[test]
    fn applies_the_capabilities() {
        let now = Instant::now();
        let mut lossy = Capabilities::default();
        lossy.nul_in_keys = false;
        lossy.lone_surrogates_in_keys = false;
        lossy.lone_surrogates_in_values = false;
        let mut model = Reference::new(lossy);
        let lone = from_utf16(&[0x61, 0xD800]);
        assert!(model.refuses_key(&key(&["x", "a\0"])));
        assert!(
            !model.refuses_value(&json!({"\0": "\0"})),
            "NUL in values is held"
        );
        model.set(
            std::slice::from_ref(&lone),
            &json!([lone.clone()]),
            Ttl::Never,
            now,
        );
        let stored = model.get(&key(&["a\u{FFFD}"])).expect("the same key");
        assert_eq!(stored.value, json!(["a\u{FFFD}"]));
        assert!(model.cas(
            &key(&["a\u{FFFD}"]),
            Some(&json!([lone])),
            None,
            Ttl::Never,
            now
        ));
    }
}
