//! Writing JSON text as JavaScript's `JSON.stringify` does, for any depth.

use std::io;

use serde::Serialize;
use serde_json::Value;
use serde_json::ser::{CompactFormatter, Formatter, Serializer};

use crate::js::{self, Unit};
use crate::json::is_deeper_than;

/// Values nested at most this deep are written by `serde_json`'s own
/// (recursive, fast) serializer; deeper ones by [`write_iteratively`].
const SERDE_DEPTH: usize = 128;

/// How lone surrogates (see [`js`]) are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Surrogates {
    /// As `\udxxx` escapes, exactly as `JSON.stringify` writes them
    /// (SQLite, MySQL, Redis values, the CLI).
    Escape,
    /// As U+FFFD, as a UTF-8 driver stores them (PostgreSQL `jsonb`, which
    /// refuses `\udxxx` escapes that do not form a pair).
    Replace,
}

/// Compact JSON text of `value`: strings and object keys byte-identical to
/// JavaScript's `JSON.stringify` (it escapes `"`, `\`, `\b` `\f` `\n` `\r`
/// `\t`, other control characters as lowercase `\u00xx`, and lone surrogates
/// as lowercase `\udxxx`; nothing else), numbers as `serde_json` writes them,
/// object members in the map's order. Any nesting depth: no recursion.
///
/// ```
/// use serde_json::json;
/// let name = fedikv::js::from_utf16(&[0x61, 0xD800]);
/// assert_eq!(fedikv::json::stringify(&json!({"n": name, "x": [1, "\n/é"]})),
///            r#"{"n":"a\ud800","x":[1,"\n/é"]}"#);
/// ```
pub fn stringify(value: &Value) -> String {
    let mut out = String::with_capacity(128);
    write_value(&mut out, value, Surrogates::Escape);
    out
}

/// `value` as a store that keeps strings as UTF-8 gives it back: every lone
/// surrogate in its strings and object keys replaced by U+FFFD (see
/// [`Capabilities::lone_surrogates_in_values`](crate::Capabilities)), for
/// any depth. The value analogue of
/// [`KvKey::with_lone_surrogates_replaced`](crate::KvKey::with_lone_surrogates_replaced).
///
/// ```
/// use serde_json::json;
/// let lone = fedikv::js::from_utf16(&[0x61, 0xD800]);
/// assert_eq!(fedikv::json::with_lone_surrogates_replaced(&json!({lone.clone(): [lone]})),
///            json!({"a\u{FFFD}": ["a\u{FFFD}"]}));
/// ```
pub fn with_lone_surrogates_replaced(value: &Value) -> Value {
    let mut text = String::new();
    write_value(&mut text, value, Surrogates::Replace);
    // The text was just written from a value, so it always parses.
    super::parse(&text).unwrap_or_else(|_| super::clone_deep(value))
}

/// A JSON string literal of `text`, as [`stringify()`] writes strings.
pub(crate) fn write_str(out: &mut String, text: &str, surrogates: Surrogates) {
    out.push('"');
    if js::is_plain(text) {
        write_plain(out, text);
    } else {
        write_with_units(out, text, surrogates);
    }
    out.push('"');
}

/// The JSON escape of an ASCII byte, if it needs one (`""` for `\u00xx`).
fn escape_of(b: u8) -> Option<&'static str> {
    Some(match b {
        b'"' => "\\\"",
        b'\\' => "\\\\",
        b'\n' => "\\n",
        b'\r' => "\\r",
        b'\t' => "\\t",
        0x08 => "\\b",
        0x0C => "\\f",
        0x00..=0x1F => "",
        _ => return None,
    })
}

/// The body of a string literal for text without escapes of the mapping.
fn write_plain(out: &mut String, text: &str) {
    let mut run_start = 0;
    for (i, &b) in text.as_bytes().iter().enumerate() {
        let Some(escape) = escape_of(b) else { continue };
        out.push_str(&text[run_start..i]);
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(hex_digit(b >> 4));
            out.push(hex_digit(b & 0xF));
        } else {
            out.push_str(escape);
        }
        run_start = i + 1;
    }
    out.push_str(&text[run_start..]);
}

/// The body of a string literal for text with escapes of the mapping, read
/// unit by unit (rare: only lone surrogates and U+10FFFF get here).
fn write_with_units(out: &mut String, text: &str, surrogates: Surrogates) {
    for unit in js::units(text) {
        write_unit(out, unit, surrogates);
    }
}

/// One UTF-16 unit's (or character's) form inside a string literal, as
/// [`stringify()`] writes it.
pub(crate) fn write_unit(out: &mut String, unit: Unit, surrogates: Surrogates) {
    match unit {
        Unit::Char(c) => write_plain(out, c.encode_utf8(&mut [0u8; 4])),
        Unit::Lone(u) => match surrogates {
            Surrogates::Escape => {
                out.push_str("\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(hex_digit((u >> shift) as u8));
                }
            }
            Surrogates::Replace => out.push(char::REPLACEMENT_CHARACTER),
        },
    }
}

fn hex_digit(n: u8) -> char {
    char::from(b"0123456789abcdef"[usize::from(n & 0xF)])
}

/// Appends the JSON text of `value` to `out`, for any depth.
pub(crate) fn write_value(out: &mut String, value: &Value, surrogates: Surrogates) {
    if is_deeper_than(value, SERDE_DEPTH) {
        write_iteratively(out, value, surrogates);
    } else {
        write_serializable(out, value, surrogates);
    }
}

/// Appends the JSON text of `value` (shallow: `serde_json` recurses) to
/// `out`, strings as [`write_str`] writes them.
///
/// Text longer than [`GROWN_BYTES`] is measured first and written into a
/// buffer of exactly its size: a huge value's text then costs its own size
/// once, where a buffer grown by doubling costs up to twice that, plus the
/// smaller buffers each reallocation leaves to the allocator.
pub(crate) fn write_serializable<T: Serialize + ?Sized>(
    out: &mut String,
    value: &T,
    surrogates: Surrogates,
) {
    let start = out.len();
    let mut bytes = std::mem::take(out).into_bytes();
    let mut capped = Capped {
        bytes: &mut bytes,
        max: start + GROWN_BYTES,
    };
    if serialize(&mut capped, value, surrogates).is_err() {
        bytes.truncate(start);
        // Counting and writing to a Vec cannot fail.
        let mut counted = Counted(0);
        let _ = serialize(&mut counted, value, surrogates);
        let mut exact = Vec::with_capacity(start + counted.0);
        exact.extend_from_slice(&bytes);
        drop(bytes);
        let _ = serialize(&mut exact, value, surrogates);
        bytes = exact;
    }
    // The formatter writes UTF-8 only; the fallback is never taken.
    *out = String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
}

/// Text length up to which [`write_serializable`] writes in one pass into a
/// growing buffer.
const GROWN_BYTES: usize = 1 << 20;

/// Serializes `value` to `out` with the [`JsFormatter`]. Errors only when
/// `out` does: a `Value` or strings always serialize.
fn serialize<W: io::Write, T: Serialize + ?Sized>(
    out: W,
    value: &T,
    surrogates: Surrogates,
) -> Result<(), serde_json::Error> {
    value.serialize(&mut Serializer::with_formatter(
        out,
        JsFormatter { surrogates },
    ))
}

/// A `Vec` that refuses to grow beyond `max` bytes.
struct Capped<'a> {
    bytes: &'a mut Vec<u8>,
    max: usize,
}

impl io::Write for Capped<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.bytes.len() + buf.len() > self.max {
            return Err(io::ErrorKind::FileTooLarge.into());
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A sink that only counts the bytes written to it.
struct Counted(usize);

impl io::Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes the compact JSON text of `value` to `out`, byte for byte what
/// [`stringify()`] returns, without building that text in memory first: a
/// value read from a store costs its own size again at most (its text is
/// never held whole), however large. Values nested deeper than 128 levels
/// are the exception: their text is built first, then written. Wrap `out`
/// in a [`BufWriter`](std::io::BufWriter): the text is written in many
/// small pieces.
///
/// ```
/// use serde_json::json;
/// let mut out = Vec::new();
/// fedikv::json::write_to(&mut out, &json!({"b": [1, "\n"], "a": null}))?;
/// assert_eq!(out, br#"{"a":null,"b":[1,"\n"]}"#);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_to(out: &mut impl io::Write, value: &Value) -> io::Result<()> {
    if is_deeper_than(value, SERDE_DEPTH) {
        return out.write_all(stringify(value).as_bytes());
    }
    serialize(out, value, Surrogates::Escape).map_err(io::Error::from)
}

/// `serde_json`'s compact formatter, writing the [`js`]
/// mapping's escapes as lone surrogates. `serde_json` hands string contents
/// over in fragments that end only at bytes it escapes (ASCII), so an
/// escape sequence of the mapping never spans two fragments.
struct JsFormatter {
    surrogates: Surrogates,
}

impl Formatter for JsFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        if js::is_plain(fragment) {
            return writer.write_all(fragment.as_bytes());
        }
        let mut text = String::with_capacity(fragment.len());
        write_with_units(&mut text, fragment, self.surrogates);
        writer.write_all(text.as_bytes())
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        escape: serde_json::ser::CharEscape,
    ) -> io::Result<()> {
        CompactFormatter.write_char_escape(writer, escape)
    }
}

/// Appends the JSON text of `value` to `out` with a heap stack, for values
/// too deep for `serde_json`'s recursion.
fn write_iteratively(out: &mut String, value: &Value, surrogates: Surrogates) {
    enum Step<'a> {
        Value(&'a Value),
        Member(&'a String, &'a Value),
        Text(&'static str),
    }
    let mut steps = vec![Step::Value(value)];
    while let Some(step) = steps.pop() {
        let value = match step {
            Step::Text(text) => {
                out.push_str(text);
                continue;
            }
            Step::Member(key, value) => {
                write_str(out, key, surrogates);
                out.push(':');
                value
            }
            Step::Value(value) => value,
        };
        match value {
            Value::Null => out.push_str("null"),
            Value::Bool(true) => out.push_str("true"),
            Value::Bool(false) => out.push_str("false"),
            Value::Number(n) => {
                use std::fmt::Write;
                let _ = write!(out, "{n}");
            }
            Value::String(s) => write_str(out, s, surrogates),
            Value::Array(items) => {
                out.push('[');
                steps.push(Step::Text("]"));
                for (i, item) in items.iter().enumerate().rev() {
                    steps.push(Step::Value(item));
                    if i > 0 {
                        steps.push(Step::Text(","));
                    }
                }
            }
            Value::Object(map) => {
                out.push('{');
                steps.push(Step::Text("}"));
                for (i, (key, item)) in map.iter().enumerate().rev() {
                    steps.push(Step::Member(key, item));
                    if i > 0 {
                        steps.push(Step::Text(","));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::js::from_utf16;
    use crate::json::{drop_deep, parse};
    use serde_json::json;

    #[test]
    fn writes_what_serde_json_writes_for_ordinary_values() {
        for value in [
            json!(null),
            json!([true, false, 0, -1, 1.5, 1e300, u64::MAX, i64::MIN]),
            json!({"b": {"c": []}, "a": "x\"\\\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}/é😀\u{2028}\u{feff}\u{0}"}),
            json!(""),
            json!({}),
        ] {
            assert_eq!(stringify(&value), serde_json::to_string(&value).unwrap());
        }
    }

    #[test]
    fn escapes_lone_surrogates_like_json_stringify() {
        let text = from_utf16(&[
            0xD800, 0x22, 0xDFFF, 0xDBFF, 0xDFFF, 0x0A, 0xDBFF, 0xDFFF, 0xD83D,
        ]);
        let mut out = String::new();
        write_str(&mut out, &text, Surrogates::Escape);
        assert_eq!(out, "\"\\ud800\\\"\\udfff\u{10FFFF}\\n\u{10FFFF}\\ud83d\"");
        let mut lossy = String::new();
        write_str(&mut lossy, &text, Surrogates::Replace);
        assert_eq!(
            lossy,
            "\"\u{FFFD}\\\"\u{FFFD}\u{10FFFF}\\n\u{10FFFF}\u{FFFD}\""
        );
        assert_eq!(parse(&out).unwrap(), json!(text));
    }

    #[test]
    fn text_beyond_a_mebibyte_is_written_at_its_exact_size() {
        let lone = from_utf16(&[0xD800]);
        let value = json!({"big": "x\n".repeat(GROWN_BYTES), "lone": lone, "n": [1.5, -0.0]});
        let text = stringify(&value);
        assert_eq!(text.len(), text.capacity());
        assert!(text.ends_with(r#"x\n","lone":"\ud800","n":[1.5,-0.0]}"#));
        let mut prefixed = "[".to_owned();
        write_value(&mut prefixed, &value, Surrogates::Escape);
        assert_eq!(prefixed[1..], text);
        let mut streamed = Vec::new();
        write_to(&mut streamed, &value).unwrap();
        assert_eq!(streamed, text.as_bytes());
    }

    #[test]
    fn writes_any_depth_without_recursion() {
        let depth = 500_000;
        let text = format!("{}1{}", "{\"a\":[".repeat(depth), "]}".repeat(depth));
        let value = parse(&text).unwrap();
        assert_eq!(stringify(&value), text);
        let mut streamed = Vec::new();
        write_to(&mut streamed, &value).unwrap();
        assert_eq!(streamed, text.as_bytes());
        drop_deep(value);
    }
}
