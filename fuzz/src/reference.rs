//! Reference implementations, written from the specifications, that the
//! fuzz targets compare fedikv's codecs with.

use serde_json::Value;

/// ECMAScript's `QuoteJSONString` (ECMA-262, `JSON.stringify`) of the
/// JavaScript string `units`: `"`, `\`, and U+0008, U+0009, U+000A, U+000C,
/// U+000D as two-character escapes; every other code point below U+0020
/// and every lone surrogate as `\u` and four lowercase hex digits; every
/// other code point as itself.
pub fn quote_json(units: &[u16]) -> String {
    let mut out = String::from("\"");
    for decoded in char::decode_utf16(units.iter().copied()) {
        match decoded {
            Ok('\u{8}') => out.push_str("\\b"),
            Ok('\t') => out.push_str("\\t"),
            Ok('\n') => out.push_str("\\n"),
            Ok('\u{c}') => out.push_str("\\f"),
            Ok('\r') => out.push_str("\\r"),
            Ok('"') => out.push_str("\\\""),
            Ok('\\') => out.push_str("\\\\"),
            Ok(c) if c < ' ' => out.push_str(&format!("\\u{:04x}", c as u32)),
            Ok(c) => out.push(c),
            Err(lone) => out.push_str(&format!("\\u{:04x}", lone.unpaired_surrogate())),
        }
    }
    out.push('"');
    out
}

/// `JSON.stringify(value)` with strings and object keys quoted by
/// [`quote_json`] (the JavaScript string of each is `js::to_utf16` of the
/// Rust one) and numbers as `serde_json` writes them; object members in the
/// map's order. Iterative, so any depth.
pub fn stringify(value: &Value) -> String {
    enum Step<'a> {
        Value(&'a Value),
        Text(&'static str),
        Key(&'a str),
    }
    let mut out = String::new();
    let mut steps = vec![Step::Value(value)];
    while let Some(step) = steps.pop() {
        match step {
            Step::Text(text) => out.push_str(text),
            Step::Key(key) => {
                out.push_str(&quote_json(&fedikv::js::to_utf16(key)));
                out.push(':');
            }
            Step::Value(Value::String(s)) => out.push_str(&quote_json(&fedikv::js::to_utf16(s))),
            Step::Value(Value::Array(items)) => {
                out.push('[');
                steps.push(Step::Text("]"));
                for (i, item) in items.iter().enumerate().rev() {
                    steps.push(Step::Value(item));
                    if i > 0 {
                        steps.push(Step::Text(","));
                    }
                }
            }
            Step::Value(Value::Object(members)) => {
                out.push('{');
                steps.push(Step::Text("}"));
                for (i, (key, item)) in members.iter().enumerate().rev() {
                    steps.push(Step::Value(item));
                    steps.push(Step::Key(key));
                    if i > 0 {
                        steps.push(Step::Text(","));
                    }
                }
            }
            Step::Value(scalar) => out.push_str(&scalar.to_string()),
        }
    }
    out
}

/// Whether the Redis glob `pattern` (`KEYS`, `SCAN MATCH`) matches `text`,
/// byte-wise and case-sensitively, as Redis documents its patterns: `?` is
/// any one byte, `*` any run of bytes, `[abc]` one of a set (`[^abc]` one
/// not in it, `[a-z]` a range, either bound first, `\` escaping inside),
/// `\x` the byte `x` itself, anything else itself. A `[` without its `]`
/// takes the rest of the pattern as its set; a `\` ending the pattern
/// stands for itself.
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    // Backtracking over the last `*` suffices: a later `*` only ever
    // needs the text position after the earlier one's match to grow.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if p < pattern.len() && pattern[p] == b'*' {
            while p < pattern.len() && pattern[p] == b'*' {
                p += 1;
            }
            star = Some((p, t));
            continue;
        }
        if t == text.len() && p == pattern.len() {
            return true;
        }
        let step = (t < text.len())
            .then(|| one_byte(&pattern[p..], text[t]))
            .flatten();
        match step {
            Some(len) => {
                p += len;
                t += 1;
            }
            None => match star {
                Some((star_p, star_t)) if star_t < text.len() => {
                    star = Some((star_p, star_t + 1));
                    (p, t) = (star_p, star_t + 1);
                }
                _ => return false,
            },
        }
    }
}

/// If the pattern element at the start of `pattern` (not `*`) matches the
/// byte `b`, the element's length.
fn one_byte(pattern: &[u8], b: u8) -> Option<usize> {
    match *pattern.first()? {
        b'?' => Some(1),
        b'[' => {
            let (len, matched) = class(&pattern[1..], b);
            matched.then_some(len + 1)
        }
        b'\\' if pattern.len() >= 2 => (pattern[1] == b).then_some(2),
        c => (c == b).then_some(1),
    }
}

/// A set after its `[`: its length (with the `]`, if any) and whether it
/// matches `b`.
fn class(set: &[u8], b: u8) -> (usize, bool) {
    let negated = set.first() == Some(&b'^');
    let mut i = usize::from(negated);
    let mut matched = false;
    while i < set.len() && set[i] != b']' {
        if set[i] == b'\\' && i + 1 < set.len() {
            matched |= set[i + 1] == b;
            i += 2;
        } else if i + 2 < set.len() && set[i + 1] == b'-' {
            let (lo, hi) = (set[i].min(set[i + 2]), set[i].max(set[i + 2]));
            matched |= (lo..=hi).contains(&b);
            i += 3;
        } else {
            matched |= set[i] == b;
            i += 1;
        }
    }
    let len = if i < set.len() { i + 1 } else { i };
    (len, matched != negated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_json_stringify() {
        let units: Vec<u16> = "a\"\\\u{8}\t\n\u{c}\r\u{1}\u{1f} é😀"
            .encode_utf16()
            .chain([0xD800, 0x61, 0xDFFF])
            .collect();
        assert_eq!(
            quote_json(&units),
            "\"a\\\"\\\\\\b\\t\\n\\f\\r\\u0001\\u001f é😀\\ud800a\\udfff\""
        );
    }

    #[test]
    fn globs_as_redis_documents_them() {
        let yes: &[(&[u8], &[u8])] = &[
            (b"h?llo", b"hello"),
            (b"h*llo", b"heeeello"),
            (b"h*llo", b"hllo"),
            (b"h[ae]llo", b"hallo"),
            (b"h[^e]llo", b"hallo"),
            (b"h[a-b]llo", b"hbllo"),
            (b"h[b-a]llo", b"hbllo"),
            (b"a\\*b", b"a*b"),
            (b"a\\[b", b"a[b"),
            (b"*a*b*", b"xxaxxbxx"),
            (b"a[\\]]", b"a]"),
            (b"fedify::*", b"fedify::"),
            (b"a\\", b"a\\"),
        ];
        for (pattern, text) in yes {
            assert!(glob_match(pattern, text), "{pattern:?} {text:?}");
        }
        let no: &[(&[u8], &[u8])] = &[
            (b"h[^e]llo", b"hello"),
            (b"h[a-b]llo", b"hcllo"),
            (b"a\\*b", b"axb"),
            (b"a*", b"b"),
            (b"a?", b"a"),
            (b"fedify::*", b"fedify:"),
        ];
        for (pattern, text) in no {
            assert!(!glob_match(pattern, text), "{pattern:?} {text:?}");
        }
    }
}
