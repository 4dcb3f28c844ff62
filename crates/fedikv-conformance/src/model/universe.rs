//! What the model-based test draws from: key components and values that
//! naive stores get wrong, and the random cases (a few keys and a sequence
//! of operations on them) built from them with proptest strategies that
//! shrink towards the plainest keys, values and shortest sequences.

use std::fmt;

use fedikv::js::from_utf16;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::{Map, Value, json};

/// Components of plain text that naive encodings (LIKE patterns, globs,
/// `:`-joined strings, JSON text, collations, Unicode normalization) get
/// wrong.
const TEXT_COMPONENTS: &[&str] = &[
    "a",
    "",
    "A",
    ":",
    "::",
    "a:b",
    "%",
    "_",
    "\\",
    "\"",
    "*",
    "?",
    "[",
    "😀",
    "\u{2028}",
    "\u{FEFF}",
    "\u{FFFD}",
    "\u{10FFFF}",
    "é",
    "e\u{301}",
];

/// Components with NUL: stored where the store holds NUL in keys, refused
/// with `InvalidKey` where it does not (`Capabilities::nul_in_keys`).
const NUL_COMPONENTS: &[&str] = &["\0", "a\0"];

/// Components with lone UTF-16 surrogates, as JavaScript code units (made
/// Rust strings with [`fedikv::js::from_utf16`]): kept or stored as U+FFFD as
/// `Capabilities::lone_surrogates_in_keys` says. `a\u{FFFD}` in a store that
/// replaces them is the same key as the third.
const LONE_SURROGATE_COMPONENTS: &[&[u16]] = &[&[0xD83D], &[0xDE00], &[0x61, 0xD800]];

/// Every component a key of the model may have.
fn components() -> Vec<String> {
    let text = TEXT_COMPONENTS.iter().map(|c| (*c).to_owned());
    let nul = NUL_COMPONENTS.iter().map(|c| (*c).to_owned());
    let lone = LONE_SURROGATE_COMPONENTS
        .iter()
        .map(|units| from_utf16(units));
    text.chain(nul).chain(lone).collect()
}

/// Arrays and objects alternating, `depth` levels in all (`[1]` is one).
/// Kept within every store's depth limit (MariaDB's `JSON_VALID` takes 31
/// levels); `v1_any_depth_round_trips` checks the limits themselves.
fn nested(depth: usize) -> Value {
    (0..depth).fold(json!("bottom"), |inner, level| {
        if level % 2 == 0 {
            json!([inner, level])
        } else {
            json!({ "inner": inner, "level": level })
        }
    })
}

/// A value whose only object key is `key`.
fn keyed(key: String) -> Value {
    let mut object = Map::new();
    object.insert(key, json!("x"));
    Value::Object(object)
}

/// Every value the model stores and compares, plainest first: the falsy
/// values (V1), numbers that compare by numeric value (`1` and `1.0`, O4),
/// integers beyond 2^53 (V2), JavaScript strings with NUL and lone
/// surrogates in strings and object keys (K1, V1), nesting, and objects that
/// are deep-equal with their members in another order.
fn values() -> Vec<Value> {
    let lone = from_utf16(&[0x61, 0xD800]);
    vec![
        json!(null),
        json!(false),
        json!(0),
        json!(""),
        json!([]),
        json!({}),
        json!(1),
        json!(1.0),
        json!(true),
        json!("a"),
        json!(-1),
        json!(1.5),
        json!(-0.0),
        json!(9_007_199_254_740_993_u64),
        json!(1e300),
        json!("\u{2028}\u{2029}\u{FEFF}😀"),
        json!("\"\\/%_*?[\n\u{1}"),
        json!("\0"),
        json!(lone.clone()),
        json!([null]),
        json!([1, 1.0, "1"]),
        json!({ "": null }),
        json!({ "a": 1, "b": [true, { "c": "x" }] }),
        json!({ "b": [true, { "c": "x" }], "a": 1.0 }),
        keyed("\0".to_owned()),
        keyed(lone),
        nested(8),
        nested(24),
    ]
}

/// The TTL of a write: none, zero (expired at once) or an hour (live
/// throughout the test), so the model needs no clock (O2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ttl {
    Never,
    Zero,
    Hour,
}

impl Ttl {
    pub(crate) fn duration(self) -> Option<std::time::Duration> {
        match self {
            Self::Never => None,
            Self::Zero => Some(std::time::Duration::ZERO),
            Self::Hour => Some(std::time::Duration::from_secs(3600)),
        }
    }
}

/// What a `cas` expects: absent, the model's current value, a value
/// deep-equal to it but written differently, or any value.
#[derive(Debug, Clone)]
pub(crate) enum Expected {
    Absent,
    Current,
    Equivalent,
    Value(Value),
}

/// Which prefix a `list` lists: the whole case, or the first `len`
/// components (at least one) of one of the case's keys.
#[derive(Debug, Clone)]
pub(crate) enum Prefix {
    Case,
    Of(Index, usize),
}

/// One operation of a case; keys are indices into the case's keys.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    Get(Index),
    Set(Index, Value, Ttl),
    Delete(Index),
    Cas(Index, Expected, Option<Value>, Ttl),
    List(Prefix),
}

/// A random case: a few keys (relative to the run's own prefix) and the
/// operations to apply to them in order.
#[derive(Debug, Clone)]
pub(crate) struct Case {
    pub(crate) keys: Vec<Vec<String>>,
    pub(crate) ops: Vec<Op>,
}

impl Case {
    /// The key `index` picks.
    pub(crate) fn key(&self, index: &Index) -> &[String] {
        &self.keys[index.index(self.keys.len())]
    }
}

/// Keys of 1 to 3 components from an alphabet of the case's own, `a` and
/// 1 to 3 other components, so that the case's keys share prefixes, differ
/// only in a tricky character and collide often.
fn keys() -> impl Strategy<Value = Vec<Vec<String>>> {
    let alphabet = prop::collection::vec(select(components()), 1..=3).prop_map(|mut tricky| {
        tricky.insert(0, "a".to_owned());
        tricky
    });
    let shapes = prop::collection::vec(prop::collection::vec(any::<Index>(), 1..=3), 1..=6);
    (alphabet, shapes).prop_map(|(alphabet, shapes)| {
        shapes
            .iter()
            .map(|shape| shape.iter().map(|i| i.get(&alphabet).clone()).collect())
            .collect()
    })
}

fn ttl() -> impl Strategy<Value = Ttl> {
    prop_oneof![Just(Ttl::Never), Just(Ttl::Zero), Just(Ttl::Hour)]
}

fn value() -> impl Strategy<Value = Value> {
    select(values())
}

fn expected() -> impl Strategy<Value = Expected> {
    prop_oneof![
        2 => Just(Expected::Current),
        1 => Just(Expected::Absent),
        1 => Just(Expected::Equivalent),
        1 => value().prop_map(Expected::Value),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let key = any::<Index>;
    prop_oneof![
        3 => key().prop_map(Op::Get),
        3 => (key(), value(), ttl()).prop_map(|(k, v, t)| Op::Set(k, v, t)),
        1 => key().prop_map(Op::Delete),
        4 => (key(), expected(), prop::option::weighted(0.8, value()), ttl())
            .prop_map(|(k, e, n, t)| Op::Cas(k, e, n, t)),
        2 => prop_oneof![
            Just(Prefix::Case),
            (key(), 1..=3usize).prop_map(|(k, len)| Prefix::Of(k, len)),
        ]
        .prop_map(Op::List),
    ]
}

/// Cases of 1 to 6 keys and 1 to `max_ops` operations.
pub(crate) fn cases(max_ops: usize) -> impl Strategy<Value = Case> {
    (keys(), prop::collection::vec(op(), 1..=max_ops)).prop_map(|(keys, ops)| Case { keys, ops })
}

/// Text as JSON shows it (what the CLI takes), with the characters that do
/// not show escaped too: lone surrogates as `JSON.stringify` writes them
/// (`\ud800`), NUL and other controls, line and paragraph separators, BOM
/// and U+10FFFF as `\uXXXX`.
pub(crate) fn show_json(value: &Value) -> String {
    let mut out = String::new();
    let mut units = [0u16; 2];
    for c in fedikv::json::stringify(value).chars() {
        let hidden = matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{10000}'..);
        if hidden && !is_emoji(c) {
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Pictographs are shown as themselves.
fn is_emoji(c: char) -> bool {
    ('\u{1F000}'..='\u{1FAFF}').contains(&c)
}

/// A key relative to the case, as JSON.
pub(crate) fn show_key(key: &[String]) -> String {
    show_json(&json!(key))
}

impl fmt::Display for Ttl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Never => "none",
            Self::Zero => "0 ms",
            Self::Hour => "1 h",
        })
    }
}

impl fmt::Display for Case {
    /// The keys, then one numbered line per operation with its key spelled
    /// out, e.g. `3. cas(k1 ["a",""], expected: current, new: 1, ttl: 1 h)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "keys (under the run's prefix):")?;
        for (i, key) in self.keys.iter().enumerate() {
            writeln!(f, "  k{i} = {}", show_key(key))?;
        }
        writeln!(f, "operations:")?;
        for (step, op) in self.ops.iter().enumerate() {
            writeln!(f, "  {}. {}", step + 1, self.show_op(op))?;
        }
        Ok(())
    }
}

impl Case {
    fn show_index(&self, index: &Index) -> String {
        let i = index.index(self.keys.len());
        format!("k{i} {}", show_key(&self.keys[i]))
    }

    /// One operation, its key spelled out.
    pub(crate) fn show_op(&self, op: &Op) -> String {
        let new = |v: &Option<Value>| v.as_ref().map_or("delete".to_owned(), show_json);
        match op {
            Op::Get(k) => format!("get({})", self.show_index(k)),
            Op::Set(k, v, ttl) => {
                format!("set({}, {}, ttl: {ttl})", self.show_index(k), show_json(v))
            }
            Op::Delete(k) => format!("delete({})", self.show_index(k)),
            Op::Cas(k, expected, value, ttl) => {
                let expected = match expected {
                    Expected::Absent => "absent".to_owned(),
                    Expected::Current => "current".to_owned(),
                    Expected::Equivalent => "current, written differently".to_owned(),
                    Expected::Value(v) => show_json(v),
                };
                format!(
                    "cas({}, expected: {expected}, new: {}, ttl: {ttl})",
                    self.show_index(k),
                    new(value)
                )
            }
            Op::List(Prefix::Case) => "list(the case's prefix)".to_owned(),
            Op::List(Prefix::Of(k, len)) => {
                let key = self.key(k);
                let prefix = &key[..(*len).min(key.len())];
                format!("list(the case's prefix + {})", show_key(prefix))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters_are_shown_escaped() {
        let lone = from_utf16(&[0x61, 0xD800]);
        assert_eq!(
            show_json(&json!([
                lone,
                "\0",
                "\u{2028}\u{FEFF}",
                "😀é",
                "\u{10FFFF}"
            ])),
            r#"["a\ud800","\u0000","\u2028\ufeff","😀é","\udbff\udfff"]"#
        );
    }

    #[test]
    fn only_the_intended_values_are_deep_equal() {
        // 0 and -0.0, 1 and 1.0, and the two objects (member order, 1 vs
        // 1.0) are deep-equal; every other pair differs, so a store that
        // confuses two values fails.
        let values = values();
        let mut equal = Vec::new();
        for (i, a) in values.iter().enumerate() {
            for (j, b) in values.iter().enumerate().skip(i + 1) {
                if fedikv::json_eq(a, b) {
                    equal.push((i, j));
                }
            }
        }
        assert_eq!(equal, [(2, 12), (6, 7), (22, 23)]);
    }
}
