//! Reading JSON text as JavaScript's `JSON.parse` does: any nesting depth and
//! any JavaScript string (lone surrogates in `\uXXXX` escapes), into
//! `serde_json::Value` with the [`js`] mapping.

use std::fmt;

use serde_json::{Map, Number, Value};

use crate::js::{self, JsStringBuilder, Unit};

/// Why JSON text could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// Byte offset in the text where reading stopped.
    pub offset: usize,
    /// What was wrong there.
    pub reason: &'static str,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.offset)
    }
}

impl std::error::Error for JsonError {}

/// Parses JSON text into a value, accepting everything JavaScript's
/// `JSON.parse` accepts from text `JSON.stringify` can write:
///
/// - any nesting depth (no recursion: a value nested a million deep parses
///   with a heap stack; drop such values with [`drop_deep`](super::drop_deep));
/// - lone surrogates in `\uXXXX` escapes (`"\ud800"`), and NUL, in strings
///   and object keys, mapped as the [`js`] module describes;
/// - numbers as `serde_json` reads them (integers as `i64`/`u64`, others as
///   `f64`); a number beyond `f64`'s range is an error, as it has no JSON form.
///
/// Duplicate object keys keep the last value, as in JavaScript. Ordinary text
/// takes `serde_json`'s fast parser; only text it refuses is read again here.
///
/// ```
/// let value = fedikv::json::parse(r#"{"name":"\ud83d","deep":[[[[1]]]]}"#)?;
/// assert_eq!(fedikv::json::stringify(&value), r#"{"deep":[[[[1]]]],"name":"\ud83d"}"#);
/// # Ok::<(), fedikv::json::JsonError>(())
/// ```
pub fn parse(text: &str) -> Result<Value, JsonError> {
    if is_plain_text(text)
        && let Ok(value) = serde_json::from_str(text)
    {
        return Ok(value);
    }
    Parser::new(text).parse()
}

/// Whether JSON `text` means the same read with or without the
/// [`js`] mapping, so `serde_json` may read it: it neither holds
/// U+10FFFF nor may escape it (`\udbff`). Lone surrogates make `serde_json`
/// fail, which sends the text to [`parse`]'s own reader.
pub(crate) fn is_plain_text(text: &str) -> bool {
    js::is_plain(text) && !escapes_escape_char(text)
}

/// Whether `text` may write U+10FFFF as an escaped pair (`\udbff\udfff`),
/// which `serde_json` would read without the [`js`] mapping.
fn escapes_escape_char(text: &str) -> bool {
    // `contains` is a fast substring search; `match_indices` is not.
    text.contains("\\u")
        && text.match_indices("\\u").any(|(i, _)| {
            text.get(i + 2..i + 6)
                .is_some_and(|h| h.eq_ignore_ascii_case("dbff"))
        })
}

/// A container being filled.
enum Open {
    Array(Vec<Value>),
    /// An object and the key whose value is being read.
    Object(Map<String, Value>, String),
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            bytes: text.as_bytes(),
            pos: 0,
        }
    }

    fn error(&self, reason: &'static str) -> JsonError {
        JsonError {
            offset: self.pos,
            reason,
        }
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.bytes.get(self.pos).copied()
    }

    fn expect(&mut self, byte: u8, reason: &'static str) -> Result<(), JsonError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(reason))
        }
    }

    fn parse(mut self) -> Result<Value, JsonError> {
        let mut open: Vec<Open> = Vec::new();
        'value: loop {
            // Read one value, or open a container and read its first member.
            let mut value = match self.peek() {
                Some(b'[') => {
                    self.pos += 1;
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                        Value::Array(Vec::new())
                    } else {
                        open.push(Open::Array(Vec::new()));
                        continue 'value;
                    }
                }
                Some(b'{') => {
                    self.pos += 1;
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                        Value::Object(Map::new())
                    } else {
                        let key = self.member_key()?;
                        open.push(Open::Object(Map::new(), key));
                        continue 'value;
                    }
                }
                Some(b'"') => Value::String(self.string()?),
                Some(b't') => self.literal("true", Value::Bool(true))?,
                Some(b'f') => self.literal("false", Value::Bool(false))?,
                Some(b'n') => self.literal("null", Value::Null)?,
                Some(b'-' | b'0'..=b'9') => Value::Number(self.number()?),
                Some(_) => return Err(self.error("expected a JSON value")),
                None => return Err(self.error("unexpected end of JSON text")),
            };
            // Put the value into its container; close containers that end.
            loop {
                match open.last_mut() {
                    None => {
                        if self.peek().is_some() {
                            return Err(self.error("trailing characters after the JSON value"));
                        }
                        return Ok(value);
                    }
                    Some(Open::Array(items)) => {
                        items.push(value);
                        match self.peek() {
                            Some(b',') => {
                                self.pos += 1;
                                continue 'value;
                            }
                            Some(b']') => self.pos += 1,
                            _ => return Err(self.error("expected `,` or `]` in an array")),
                        }
                    }
                    Some(Open::Object(map, key)) => {
                        map.insert(std::mem::take(key), value);
                        match self.peek() {
                            Some(b',') => {
                                self.pos += 1;
                                *key = self.member_key()?;
                                continue 'value;
                            }
                            Some(b'}') => self.pos += 1,
                            _ => return Err(self.error("expected `,` or `}` in an object")),
                        }
                    }
                }
                value = match open.pop() {
                    Some(Open::Array(items)) => Value::Array(items),
                    Some(Open::Object(map, _)) => Value::Object(map),
                    None => unreachable!("a container was just closed"),
                };
            }
        }
    }

    /// `"key":` of an object member.
    fn member_key(&mut self) -> Result<String, JsonError> {
        if self.peek() != Some(b'"') {
            return Err(self.error("expected a string key in an object"));
        }
        let key = self.string()?;
        self.expect(b':', "expected `:` after an object key")?;
        Ok(key)
    }

    fn literal(&mut self, word: &'static str, value: Value) -> Result<Value, JsonError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.error("expected `true`, `false` or `null`"))
        }
    }

    /// A number token, checked against JSON's grammar, converted as
    /// `serde_json` does.
    fn number(&mut self) -> Result<Number, JsonError> {
        let start = self.pos;
        self.pos = number_end(self.bytes, start)?;
        number_value(&self.text[start..self.pos]).ok_or(JsonError {
            offset: start,
            reason: "number out of range",
        })
    }

    /// A string literal; `pos` is at its opening quote.
    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1;
        let mut out = JsStringBuilder::with_capacity(16);
        loop {
            let run_start = self.pos;
            while let Some(&b) = self.bytes.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 || b == 0xF4 {
                    break;
                }
                self.pos += 1;
            }
            // The run ends on an ASCII byte or a lead byte, so it is whole
            // UTF-8 and holds no U+10FFFF (whose lead byte is 0xF4).
            out.push_plain(&self.text[run_start..self.pos]);
            match self.bytes.get(self.pos) {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out.finish());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape(&mut out)?;
                }
                Some(0xF4) => {
                    let c = self.text[self.pos..].chars().next().unwrap_or('\u{FFFD}');
                    out.push_char(c);
                    self.pos += c.len_utf8();
                }
                Some(_) => {
                    return Err(self.error("control character in a string; it must be escaped"));
                }
            }
        }
    }

    /// The escape after a `\`.
    fn escape(&mut self, out: &mut JsStringBuilder) -> Result<(), JsonError> {
        let (unit, end) = escape_unit(self.bytes, self.pos)?;
        self.pos = end;
        match unit {
            Unit::Char(c) => out.push_char(c),
            Unit::Lone(u) => out.push_lone(u),
        }
        Ok(())
    }
}

/// The character (or lone surrogate) the escape after a `\` at `pos` in
/// `bytes` writes, and where the escape ends. A `\uXXXX` high surrogate
/// followed by a `\uXXXX` low one is one character.
pub(crate) fn escape_unit(bytes: &[u8], pos: usize) -> Result<(Unit, usize), JsonError> {
    let error = |offset, reason| JsonError { offset, reason };
    let Some(&b) = bytes.get(pos) else {
        return Err(error(pos, "unterminated string"));
    };
    let c = match b {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let unit = hex4(bytes, pos + 1)
                .ok_or_else(|| error(pos + 1, "expected four hex digits after \\u"))?;
            let end = pos + 5;
            if (0xD800..0xDC00).contains(&unit)
                && bytes[end..].starts_with(b"\\u")
                && let Some(low) = hex4(bytes, end + 2)
                && (0xDC00..0xE000).contains(&low)
            {
                let c = 0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                return Ok((Unit::Char(char::from_u32(c).unwrap_or('\u{FFFD}')), end + 6));
            }
            return Ok(match char::from_u32(u32::from(unit)) {
                Some(c) => (Unit::Char(c), end),
                None => (Unit::Lone(unit), end),
            });
        }
        _ => return Err(error(pos, "invalid escape in a string")),
    };
    Ok((Unit::Char(c), pos + 1))
}

/// The UTF-16 unit four hex digits at `at` in `bytes` write, if they are.
pub(crate) fn hex4(bytes: &[u8], at: usize) -> Option<u16> {
    let digits = bytes.get(at..at + 4)?;
    digits.iter().try_fold(0u16, |acc, &d| {
        let v = (d as char).to_digit(16)?;
        Some(acc << 4 | v as u16)
    })
}

/// Where the number token starting at `start` in `bytes` ends, checked
/// against JSON's grammar.
pub(crate) fn number_end(bytes: &[u8], start: usize) -> Result<usize, JsonError> {
    let mut pos = start;
    let error = |pos, reason| JsonError {
        offset: pos,
        reason,
    };
    let digits = |pos: &mut usize| {
        let from = *pos;
        while bytes.get(*pos).is_some_and(u8::is_ascii_digit) {
            *pos += 1;
        }
        *pos > from
    };
    if bytes.get(pos) == Some(&b'-') {
        pos += 1;
    }
    let leading_zero = bytes.get(pos) == Some(&b'0');
    if !digits(&mut pos) {
        return Err(error(pos, "expected digits in a number"));
    }
    if leading_zero && pos - start > 1 + usize::from(bytes[start] == b'-') {
        return Err(error(pos, "a number cannot have leading zeros"));
    }
    if bytes.get(pos) == Some(&b'.') {
        pos += 1;
        if !digits(&mut pos) {
            return Err(error(pos, "expected digits after `.` in a number"));
        }
    }
    if let Some(b'e' | b'E') = bytes.get(pos) {
        pos += 1;
        if let Some(b'+' | b'-') = bytes.get(pos) {
            pos += 1;
        }
        if !digits(&mut pos) {
            return Err(error(pos, "expected digits in a number's exponent"));
        }
    }
    Ok(pos)
}

/// The number a token of JSON's grammar (see [`number_end`]) means, as
/// `serde_json` reads it: integers as `u64`/`i64`, others (and `-0`) as
/// `f64`; `None` beyond `f64`'s range.
pub(crate) fn number_value(token: &str) -> Option<Number> {
    if !token.contains(['.', 'e', 'E']) {
        if let Ok(n) = token.parse::<u64>() {
            return Some(n.into());
        }
        // `-0` is the double -0.0, as serde_json reads it.
        if let Ok(n) = token.parse::<i64>()
            && n != 0
        {
            return Some(n.into());
        }
    }
    token.parse::<f64>().ok().and_then(Number::from_f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::js::{from_utf16, to_utf16};
    use crate::json::{drop_deep, json_eq};
    use serde_json::json;

    #[test]
    fn reads_what_serde_json_reads() {
        for text in [
            "null",
            " true ",
            "[1,-2,3.5,1e3,-0,18446744073709551615,-9223372036854775808,1e400e]",
            r#"{"a":{"b":[]},"c":"\u00e9\n\"\\\/","a":2}"#,
            "123456789012345678901234567890",
            "0.1e-2",
            r#""\ud83d\ude00""#,
        ] {
            let ours = Parser::new(text).parse();
            let theirs: Result<Value, _> = serde_json::from_str(text);
            match (ours, theirs) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{text}"),
                (Err(_), Err(_)) => {}
                (a, b) => panic!("{text}: ours {a:?}, serde_json {b:?}"),
            }
        }
    }

    /// Found by the `json_text` fuzz target: `-0` read as the integer 0
    /// nested deeper than serde_json's limit and as -0.0 otherwise, so the
    /// same value was written back differently by depth.
    #[test]
    fn reads_negative_zero_as_serde_json_does_at_any_depth() {
        let shallow = parse("[-0]").unwrap();
        assert_eq!(shallow, serde_json::from_str::<Value>("[-0]").unwrap());
        let depth = 200;
        let deep = parse(&format!("{}-0{}", "[".repeat(depth), "]".repeat(depth))).unwrap();
        assert_eq!(
            crate::json::stringify(&deep),
            format!("{}-0.0{}", "[".repeat(depth), "]".repeat(depth))
        );
        crate::json::drop_deep(deep);
    }

    #[test]
    fn refuses_what_is_not_json() {
        for &text in crate::json::NOT_JSON {
            assert!(parse(text).is_err(), "{text:?} parsed");
        }
    }

    #[test]
    fn reads_lone_surrogates_and_nul() {
        let value = parse(r#"{"\udc00k":["\ud800","a\u0000b","\ud83d\ude00\ud83d"]}"#).unwrap();
        let key = value.as_object().unwrap().keys().next().unwrap();
        assert_eq!(to_utf16(key), [0xDC00, 0x6B]);
        let items = value.as_object().unwrap().values().next().unwrap();
        assert_eq!(items[0], json!(from_utf16(&[0xD800])));
        assert_eq!(items[1], json!("a\u{0}b"));
        assert_eq!(
            to_utf16(items[2].as_str().unwrap()),
            [0xD83D, 0xDE00, 0xD83D]
        );
    }

    #[test]
    fn reads_any_depth_without_recursion() {
        let depth = 1_000_000;
        let text = format!("{}{}{}", "[{\"k\":".repeat(depth), "0", "}]".repeat(depth));
        let value = parse(&text).unwrap();
        let mut level = &value;
        let mut seen = 0;
        while let Some(inner) = level.get(0).and_then(|o| o.get("k")) {
            level = inner;
            seen += 1;
        }
        assert_eq!((seen, level), (depth, &json!(0)));
        drop_deep(value);
    }

    #[test]
    fn literal_escape_character_keeps_its_meaning() {
        // U+10FFFF then U+10F000 are two ordinary characters in the text.
        let value = parse("\"\u{10FFFF}\u{10F000}\"").unwrap();
        let units: Vec<u16> = "\u{10FFFF}\u{10F000}".encode_utf16().collect();
        assert_eq!(to_utf16(value.as_str().unwrap()), units);
        assert!(json_eq(
            &value,
            &parse(r#""\udbff\udfff\udbfc\udc00""#).unwrap()
        ));
    }
}
