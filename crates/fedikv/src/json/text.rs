//! [`JsonText`]: a JSON value kept as the text fedikv stores, for values
//! too large to decode or that must pass through unchanged.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use super::compact::{Compacted, compact};
use super::{JsonError, parse, stringify};

/// One JSON value as compact text, exactly the form fedikv stores: what
/// [`stringify()`](super::stringify) writes, except that object members keep
/// the order (and any duplicates) they have in the text it was made from.
/// That is what JavaScript's `JSON.stringify(JSON.parse(text))` writes
/// (fedikv writes numbers as `serde_json` does: `1.0`, `-0.0`, `1e+21`), so
/// a value Fedify stored is carried through byte for byte.
///
/// Use it through [`KvStore::get_json`](crate::KvStore::get_json),
/// [`set_json`](crate::KvStore::set_json) and
/// [`scan_json`](crate::KvStore::scan_json) when values are huge (no
/// `serde_json::Value` is built, which for many small objects is ~4× the
/// text) or must be copied unchanged.
///
/// Making one checks and compacts the text in one streaming pass, at any
/// nesting depth (no recursion); text that is already compact is kept
/// without a copy.
///
/// ```
/// use fedikv::json::JsonText;
/// let text = JsonText::from_string(r#"{ "b": [1, "\u00e9\/"], "a": "\uD800" }"#.to_owned())?;
/// assert_eq!(text.as_str(), r#"{"b":[1,"é/"],"a":"\ud800"}"#);
/// assert_eq!(text.to_value()?, fedikv::json::parse(text.as_str())?);
/// # Ok::<(), fedikv::json::JsonError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct JsonText(String);

impl JsonText {
    /// Checks that `text` is one JSON value ([`parse()`]'s
    /// grammar: any depth, lone surrogates in escapes) and keeps its
    /// compact form. When `text` is already compact it becomes the
    /// `JsonText` itself, without a copy; otherwise the compact form is
    /// written into a new string and `text` is dropped.
    pub fn from_string(text: String) -> Result<Self, JsonError> {
        Ok(Self(match compact(&text)? {
            Compacted::Same(len) => {
                let mut text = text;
                text.truncate(len);
                text
            }
            Compacted::Rewritten(compacted) => compacted,
        }))
    }

    /// [`from_string`](Self::from_string) of borrowed text, copied once
    /// (into its compact form).
    pub fn from_text(text: &str) -> Result<Self, JsonError> {
        Ok(Self(match compact(text)? {
            Compacted::Same(len) => text[..len].to_owned(),
            Compacted::Rewritten(compacted) => compacted,
        }))
    }

    /// The text of `value`, as [`stringify()`](super::stringify) writes it
    /// (object members in the map's order).
    pub fn from_value(value: &Value) -> Self {
        Self(stringify(value))
    }

    /// The compact JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The compact JSON text, owned.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The text with every lone surrogate (`\udxxx`) replaced by U+FFFD,
    /// as a store that keeps strings as UTF-8 holds it (see
    /// [`Capabilities::lone_surrogates_in_values`](crate::Capabilities));
    /// the same string, uncopied, when there is none. In the compact form a
    /// `\udxxx` escape is always a lone surrogate: pairs are characters.
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    pub(crate) fn into_string_with_lone_surrogates_replaced(self) -> String {
        let text = self.0;
        let bytes = text.as_bytes();
        let mut replaced: Option<String> = None;
        let (mut run, mut at) = (0, 0);
        while let Some(found) = bytes[at..].iter().position(|&b| b == b'\\') {
            at += found;
            let lone = bytes.get(at + 1..at + 4).is_some_and(|escape| {
                escape[..2] == *b"ud" && matches!(escape[2], b'8'..=b'9' | b'a'..=b'f')
            });
            if !lone {
                // Every other escape is two bytes, or `\u00xx`, whose hex
                // digits hold no backslash.
                at += 2;
                continue;
            }
            let out = replaced.get_or_insert_with(|| String::with_capacity(text.len()));
            out.push_str(&text[run..at]);
            out.push(char::REPLACEMENT_CHARACTER);
            at += 6;
            run = at;
        }
        match replaced {
            None => text,
            Some(mut out) => {
                out.push_str(&text[run..]);
                out
            }
        }
    }

    /// Whether arrays and objects nest more than `max` levels deep (`[1]`
    /// is one level), as [`is_deeper_than`](super::is_deeper_than) tells
    /// of the value, read from the text in one pass.
    #[cfg(feature = "mysql")]
    pub(crate) fn is_deeper_than(&self, max: usize) -> bool {
        let mut depth = 0usize;
        let mut bytes = self.0.bytes();
        while let Some(b) = bytes.next() {
            match b {
                b'[' | b'{' => {
                    depth += 1;
                    if depth > max {
                        return true;
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                b'"' => {
                    // Skip the string: its escapes are two bytes or `\uXXXX`.
                    while let Some(b) = bytes.next() {
                        match b {
                            b'"' => break,
                            b'\\' => drop(bytes.next()),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        false
    }

    /// The text's length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always `false`: the shortest JSON text is one byte (`0`). Present
    /// because `len` is.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value the text means, read by [`parse()`] (which
    /// reads any text a `JsonText` holds; the error is only ever that of a
    /// text changed behind the type's back, which safe code cannot do).
    /// Drop a value that may be nested thousands deep with
    /// [`drop_deep`](super::drop_deep).
    pub fn to_value(&self) -> Result<Value, JsonError> {
        parse(&self.0)
    }
}

impl FromStr for JsonText {
    type Err = JsonError;

    /// [`JsonText::from_text`].
    fn from_str(text: &str) -> Result<Self, JsonError> {
        Self::from_text(text)
    }
}

impl TryFrom<String> for JsonText {
    type Error = JsonError;

    /// [`JsonText::from_string`].
    fn try_from(text: String) -> Result<Self, JsonError> {
        Self::from_string(text)
    }
}

impl From<&Value> for JsonText {
    /// [`JsonText::from_value`].
    fn from(value: &Value) -> Self {
        Self::from_value(value)
    }
}

impl From<JsonText> for String {
    fn from(text: JsonText) -> Self {
        text.0
    }
}

impl AsRef<str> for JsonText {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JsonText {
    /// The compact JSON text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for JsonText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("JsonText").field(&self.0).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::js::from_utf16;
    use crate::json::{drop_deep, json_eq};
    use serde_json::json;

    /// `text` as a `JsonText`, checked against the `Value` path: the same
    /// value, and byte for byte `stringify(parse(text))` when `sorted`
    /// (object keys already in `Value`'s order).
    fn agrees(text: &str, sorted: bool) -> JsonText {
        let ours = JsonText::from_text(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        let theirs = parse(text).unwrap();
        let ours_value = ours.to_value().unwrap();
        assert!(json_eq(&ours_value, &theirs), "{text:?} → {ours}");
        if sorted {
            assert_eq!(ours.as_str(), stringify(&theirs), "{text:?}");
        }
        assert_eq!(JsonText::from_string(text.to_owned()).unwrap(), ours);
        // Compact text is its own compact form.
        assert_eq!(JsonText::from_text(ours.as_str()).unwrap(), ours);
        drop_deep(ours_value);
        drop_deep(theirs);
        ours
    }

    #[test]
    fn compact_text_is_kept_without_a_copy() {
        let text = r#"{"b":[1,-2.5,"x\n\u0001\ud800"],"a":{}}"#.to_owned();
        let address = text.as_ptr();
        let kept = JsonText::from_string(text).unwrap();
        assert_eq!(kept.as_str().as_ptr(), address);
        let padded = " [1] \n".to_owned();
        let trimmed = JsonText::from_string(padded).unwrap();
        assert_eq!(trimmed.as_str(), "[1]");
    }

    #[cfg(any(feature = "postgres", feature = "mysql"))]
    #[test]
    fn lone_surrogates_are_replaced_for_utf8_stores() {
        let text =
            JsonText::from_text(r#"{"\ud800k":["\\ud800","\uDBFF\uDFFF\udc00x","\n"]}"#).unwrap();
        assert_eq!(
            text.into_string_with_lone_surrogates_replaced(),
            "{\"\u{FFFD}k\":[\"\\\\ud800\",\"\u{10FFFF}\u{FFFD}x\",\"\\n\"]}"
        );
        let plain = JsonText::from_text(r#"["\\udc00"]"#).unwrap();
        let address = plain.as_str().as_ptr();
        let kept = plain.into_string_with_lone_surrogates_replaced();
        assert_eq!(kept.as_ptr(), address);
    }

    #[cfg(feature = "mysql")]
    #[test]
    fn depth_is_read_from_the_text() {
        for (text, depth) in [
            ("1", 0),
            ("[]", 1),
            (r#"[{"a":[1]},"[[[[\"]]]"]"#, 3),
            (r#"{"\\":{"[":"\\"}}"#, 2),
        ] {
            let text = JsonText::from_text(text).unwrap();
            let value = text.to_value().unwrap();
            for max in 0..5 {
                assert_eq!(text.is_deeper_than(max), depth > max, "{text} {max}");
                assert_eq!(
                    crate::json::is_deeper_than(&value, max),
                    depth > max,
                    "{text} {max}"
                );
            }
        }
    }

    #[test]
    fn members_keep_the_text_order() {
        let text = agrees(r#"{ "b" : 1 , "a" : [ true , null ] }"#, false);
        assert_eq!(text.as_str(), r#"{"b":1,"a":[true,null]}"#);
        assert_eq!(
            JsonText::from_value(&json!({"b": 1, "a": 2})).as_str(),
            r#"{"a":2,"b":1}"#
        );
    }

    #[test]
    fn strings_are_escaped_as_json_stringify_escapes_them() {
        for (input, compact) in [
            (
                r#""\/\u0041\u00E9\u000A\u000b\u001F\"\\""#,
                r#""/Aé\n\u000b\u001f\"\\""#,
            ),
            (r#""\uD83D\uDE00 \ud83d\ude00""#, "\"😀 😀\""),
            (
                r#""\uD800\udc00\uDFFF\ud83d""#,
                "\"\u{10000}\\udfff\\ud83d\"",
            ),
            (
                r#""\b\f\n\r\t\u0000\u007f\u2028""#,
                "\"\\b\\f\\n\\r\\t\\u0000\u{7f}\u{2028}\"",
            ),
            (r#""\udbff\udfff""#, "\"\u{10FFFF}\""),
            (r#""""#, r#""""#),
        ] {
            assert_eq!(agrees(input, true).as_str(), compact, "{input}");
        }
        let lone = from_utf16(&[0x61, 0xD800, 0x22]);
        assert_eq!(
            JsonText::from_value(&json!([lone])).as_str(),
            r#"["a\ud800\""]"#
        );
    }

    #[test]
    fn numbers_are_written_as_the_value_path_writes_them() {
        for (input, compact) in [
            ("-0", "-0.0"),
            ("1e21", "1e+21"),
            ("1E21", "1e+21"),
            ("1.0", "1.0"),
            ("1.50", "1.5"),
            ("0.1e-2", "0.001"),
            ("-9223372036854775808", "-9223372036854775808"),
            ("18446744073709551615", "18446744073709551615"),
            ("18446744073709551616", "1.8446744073709552e+19"),
            ("123456789012345678901234567890", "1.2345678901234568e+29"),
            ("[0,-1,999999999999999999]", "[0,-1,999999999999999999]"),
        ] {
            assert_eq!(agrees(input, true).as_str(), compact, "{input}");
        }
    }

    #[test]
    fn refuses_what_parse_refuses() {
        for &text in crate::json::NOT_JSON {
            assert!(parse(text).is_err(), "{text:?}");
            let error = JsonText::from_text(text).expect_err(text);
            assert!(error.offset <= text.len(), "{text:?}: {error}");
        }
    }

    #[test]
    fn any_depth_without_recursion() {
        let depth = 100_000;
        let spaced = format!("{}1{}", "[ {\"k\" :".repeat(depth), "} ]".repeat(depth));
        let text = JsonText::from_text(&spaced).unwrap();
        assert_eq!(
            text.as_str(),
            format!("{}1{}", "[{\"k\":".repeat(depth), "}]".repeat(depth))
        );
        let value = text.to_value().unwrap();
        assert_eq!(stringify(&value), text.as_str());
        drop_deep(value);
    }

    /// Seeded random JSON texts, with random whitespace and escapes, agree
    /// with the `Value` path.
    #[test]
    fn random_texts_agree_with_the_value_path() {
        let mut seed: u64 = 0x5eed_1234;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for case in 0..2_000 {
            let mut text = String::new();
            let sorted = random_value(&mut next, &mut text, 0);
            let ours =
                JsonText::from_text(&text).unwrap_or_else(|e| panic!("case {case} {text:?}: {e}"));
            let theirs = parse(&text).unwrap();
            assert!(
                json_eq(&ours.to_value().unwrap(), &theirs),
                "case {case} {text:?}"
            );
            if sorted {
                assert_eq!(ours.as_str(), stringify(&theirs), "case {case} {text:?}");
            }
        }
    }

    /// Appends a random value's text; whether its object keys are in
    /// `Value`'s (sorted, unique) order.
    fn random_value(next: &mut impl FnMut(u64) -> u64, out: &mut String, depth: u32) -> bool {
        let space = |next: &mut dyn FnMut(u64) -> u64, out: &mut String| {
            if next(4) == 0 {
                out.push_str([" ", "\n", "\t ", "\r\n"][next(4) as usize]);
            }
        };
        space(next, out);
        let mut sorted = true;
        match next(if depth > 4 { 4 } else { 6 }) {
            0 => out.push_str(["null", "true", "false"][next(3) as usize]),
            1 => out.push_str(
                [
                    "0",
                    "-0",
                    "1.0",
                    "1e21",
                    "2E-3",
                    "-12.500",
                    "18446744073709551616",
                    "7",
                    "-123456789012345678",
                    "1e-7",
                    "0.1",
                ][next(11) as usize],
            ),
            2 | 3 => random_string(next, out),
            4 => {
                out.push('[');
                for i in 0..next(4) {
                    if i > 0 {
                        out.push(',');
                    }
                    sorted &= random_value(next, out, depth + 1);
                }
                space(next, out);
                out.push(']');
            }
            _ => {
                out.push('{');
                let keys = ["a", "b", "\\u0063", "d\\ud800", "é"];
                let mut last = None;
                for i in 0..next(4) {
                    if i > 0 {
                        out.push(',');
                    }
                    let k = next(keys.len() as u64) as usize;
                    sorted &= last.is_none_or(|l| l < k);
                    last = Some(k);
                    space(next, out);
                    out.push_str(&format!("\"{}\"", keys[k]));
                    space(next, out);
                    out.push(':');
                    sorted &= random_value(next, out, depth + 1);
                }
                space(next, out);
                out.push('}');
            }
        }
        space(next, out);
        sorted
    }

    fn random_string(next: &mut impl FnMut(u64) -> u64, out: &mut String) {
        out.push('"');
        for _ in 0..next(6) {
            out.push_str(
                [
                    "a",
                    "é",
                    "😀",
                    "\\n",
                    "\\u000A",
                    "\\/",
                    "\\\"",
                    "\\\\",
                    "\\u0000",
                    "\\u001f",
                    "\\uD800",
                    "\\udc00",
                    "\\ud83d\\ude00",
                    "\\uDBFF\\uDFFF",
                    "\u{10FFFF}",
                    "\\u2028",
                    "\u{7f}",
                    "\\b",
                    "\\u00e9",
                ][next(19) as usize],
            );
        }
        out.push('"');
    }
}
