//! Checking JSON text and bringing it to the compact form fedikv stores, in
//! one streaming pass: no tree is built, nothing recurses, and text that is
//! already in that form is not copied.

use super::parse::{JsonError, escape_unit, number_end, number_value};
use super::write::{Surrogates, write_unit};

/// What [`compact`] made of a text.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Compacted {
    /// The text's first `len` bytes are already the compact form (only
    /// whitespace follows them).
    Same(usize),
    /// The compact form differs; here it is.
    Rewritten(String),
}

/// Checks that `text` is one JSON value (as [`parse`](super::parse()) reads
/// it: any depth, lone surrogates) and returns its compact form: what
/// [`stringify()`](super::stringify) writes for the parsed value, except
/// that object members keep their order (and duplicates) of the text. That
/// is JavaScript's `JSON.stringify(JSON.parse(text))` with `serde_json`'s
/// numbers: no whitespace, strings escaped as `JSON.stringify` escapes them
/// (lone surrogates as lowercase `\udxxx`), numbers as `serde_json` writes
/// the number they read as (`1.0`, `-0.0`, `1e+21`).
///
/// Memory: a stack of one byte per open array or object, and the rewritten
/// text only when it differs, from its first difference on.
pub(crate) fn compact(text: &str) -> Result<Compacted, JsonError> {
    let bytes = text.as_bytes();
    let mut out = Out::new(text);
    let mut pos = 0;
    // Whether each open container is an object.
    let mut open: Vec<bool> = Vec::new();
    'value: loop {
        pos = skip_whitespace(bytes, pos);
        match bytes.get(pos) {
            Some(b'[') => {
                out.keep(pos, pos + 1);
                pos = skip_whitespace(bytes, pos + 1);
                if bytes.get(pos) == Some(&b']') {
                    out.keep(pos, pos + 1);
                    pos += 1;
                } else {
                    open.push(false);
                    continue 'value;
                }
            }
            Some(b'{') => {
                out.keep(pos, pos + 1);
                pos = skip_whitespace(bytes, pos + 1);
                if bytes.get(pos) == Some(&b'}') {
                    out.keep(pos, pos + 1);
                    pos += 1;
                } else {
                    pos = member_key(text, pos, &mut out)?;
                    open.push(true);
                    continue 'value;
                }
            }
            Some(b'"') => pos = string(text, pos, &mut out)?,
            Some(b't') => pos = literal(bytes, pos, "true", &mut out)?,
            Some(b'f') => pos = literal(bytes, pos, "false", &mut out)?,
            Some(b'n') => pos = literal(bytes, pos, "null", &mut out)?,
            Some(b'-' | b'0'..=b'9') => pos = number(text, pos, &mut out)?,
            Some(_) => return Err(error(pos, "expected a JSON value")),
            None => return Err(error(pos, "unexpected end of JSON text")),
        }
        // Close the containers that end after this value.
        loop {
            pos = skip_whitespace(bytes, pos);
            let close = match open.last() {
                None if pos < bytes.len() => {
                    return Err(error(pos, "trailing characters after the JSON value"));
                }
                None => return Ok(out.finish()),
                Some(false) => b']',
                Some(true) => b'}',
            };
            match bytes.get(pos) {
                Some(b',') => {
                    out.keep(pos, pos + 1);
                    pos += 1;
                    if close == b'}' {
                        pos = member_key(text, pos, &mut out)?;
                    }
                    continue 'value;
                }
                Some(&b) if b == close => {
                    out.keep(pos, pos + 1);
                    pos += 1;
                    open.pop();
                }
                _ if close == b']' => return Err(error(pos, "expected `,` or `]` in an array")),
                _ => return Err(error(pos, "expected `,` or `}` in an object")),
            }
        }
    }
}

/// The compact text being made: while it matches the input, only how far
/// it does; from the first difference on, a copy.
struct Out<'a> {
    text: &'a str,
    /// In the borrowed state: `text[..kept]` is the output so far.
    kept: usize,
    owned: Option<String>,
}

impl<'a> Out<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            kept: 0,
            owned: None,
        }
    }

    /// Appends `text[start..end]`, unchanged from the input.
    fn keep(&mut self, start: usize, end: usize) {
        match &mut self.owned {
            None if start == self.kept => self.kept = end,
            _ => {
                let text = self.text;
                self.owned().push_str(&text[start..end]);
            }
        }
    }

    /// Appends text the input writes differently.
    fn push(&mut self, rewritten: &str) {
        self.owned().push_str(rewritten);
    }

    fn owned(&mut self) -> &mut String {
        let (text, kept) = (self.text, self.kept);
        self.owned.get_or_insert_with(|| {
            let mut owned = String::with_capacity(text.len());
            owned.push_str(&text[..kept]);
            owned
        })
    }

    fn finish(self) -> Compacted {
        match self.owned {
            Some(owned) => Compacted::Rewritten(owned),
            None => Compacted::Same(self.kept),
        }
    }
}

fn error(offset: usize, reason: &'static str) -> JsonError {
    JsonError { offset, reason }
}

fn skip_whitespace(bytes: &[u8], mut pos: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(pos) {
        pos += 1;
    }
    pos
}

/// `"key":` of an object member at `pos` (after whitespace); where it ends.
fn member_key(text: &str, pos: usize, out: &mut Out<'_>) -> Result<usize, JsonError> {
    let bytes = text.as_bytes();
    let pos = skip_whitespace(bytes, pos);
    if bytes.get(pos) != Some(&b'"') {
        return Err(error(pos, "expected a string key in an object"));
    }
    let pos = skip_whitespace(bytes, string(text, pos, out)?);
    if bytes.get(pos) != Some(&b':') {
        return Err(error(pos, "expected `:` after an object key"));
    }
    out.keep(pos, pos + 1);
    Ok(pos + 1)
}

fn literal(
    bytes: &[u8],
    pos: usize,
    word: &'static str,
    out: &mut Out<'_>,
) -> Result<usize, JsonError> {
    if !bytes[pos..].starts_with(word.as_bytes()) {
        return Err(error(pos, "expected `true`, `false` or `null`"));
    }
    out.keep(pos, pos + word.len());
    Ok(pos + word.len())
}

/// A number token at `pos`; where it ends. An integer of up to 18 digits
/// is its own compact form; any other token is read as `serde_json` reads
/// it and written back as `serde_json` writes that number.
fn number(text: &str, pos: usize, out: &mut Out<'_>) -> Result<usize, JsonError> {
    let end = number_end(text.as_bytes(), pos)?;
    let token = &text[pos..end];
    let digits = token.strip_prefix('-').unwrap_or(token);
    let plain_integer =
        digits.len() <= 18 && digits.bytes().all(|b| b.is_ascii_digit()) && token != "-0";
    if plain_integer {
        out.keep(pos, end);
        return Ok(end);
    }
    let written = number_value(token)
        .ok_or_else(|| error(pos, "number out of range"))?
        .to_string();
    if written == token {
        out.keep(pos, end);
    } else {
        out.push(&written);
    }
    Ok(end)
}

/// A string literal at `pos` (its opening quote); where it ends. Escapes
/// `JSON.stringify` would not write are rewritten: `\/`, `\u0041`, escaped
/// surrogate pairs and non-ASCII characters become the characters, control
/// characters the short or lowercase escapes, lone surrogates lowercase.
fn string(text: &str, pos: usize, out: &mut Out<'_>) -> Result<usize, JsonError> {
    let bytes = text.as_bytes();
    // The input not yet handed to `out` starts here.
    let mut run = pos;
    let mut pos = pos + 1;
    let mut scratch = String::new();
    loop {
        while let Some(&b) = bytes.get(pos) {
            if b == b'"' || b == b'\\' || b < 0x20 {
                break;
            }
            pos += 1;
        }
        match bytes.get(pos) {
            None => return Err(error(pos, "unterminated string")),
            Some(b'"') => {
                out.keep(run, pos + 1);
                return Ok(pos + 1);
            }
            Some(b'\\') => {
                let (unit, end) = escape_unit(bytes, pos + 1)?;
                scratch.clear();
                write_unit(&mut scratch, unit, Surrogates::Escape);
                if scratch.as_bytes() != &bytes[pos..end] {
                    out.keep(run, pos);
                    out.push(&scratch);
                    run = end;
                }
                pos = end;
            }
            Some(_) => {
                return Err(error(
                    pos,
                    "control character in a string; it must be escaped",
                ));
            }
        }
    }
}
