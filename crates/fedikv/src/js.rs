//! JavaScript strings in Rust [`String`]s.
//!
//! Fedify's keys and values are JavaScript strings: any sequence of UTF-16
//! code units, including *lone surrogates* (a `"😀".slice(0, 1)`, or half of
//! an emoji cut by a remote server). A Rust `String` holds Unicode scalar
//! values only, so fedikv writes each lone surrogate as two characters:
//!
//! | JavaScript | in a Rust `String` |
//! | --- | --- |
//! | lone surrogate `0xD800 + n` (`n` < 2048) | [`ESCAPE`] (U+10FFFF) followed by U+10F000 + `n` |
//! | U+10FFFF followed by a lone surrogate, U+10FFFF or a character in U+10F000..=U+10F7FF | [`ESCAPE`] [`ESCAPE`] |
//! | any other character (U+10FFFF included) | itself |
//!
//! U+10FFFF is a Unicode *noncharacter*, reserved for exactly this kind of
//! internal use, so ordinary text never changes: a key or value without lone
//! surrogates looks in Rust exactly as it looks in JavaScript. The mapping is
//! lossless for every JavaScript string (`to_utf16(&from_utf16(units)) ==
//! units`), like Python's `surrogateescape` turned around. [`from_utf16`] and
//! [`to_utf16`] convert; [`lone_surrogate`] builds the two characters.
//!
//! Where the backend stores JavaScript text losslessly (SQLite, MySQL and
//! MariaDB key text, Redis values, Deno KV, memory) the lone surrogate is
//! stored as JavaScript stores it (`\ud800` in JSON text, a UTF-16 code unit
//! in Deno KV). Where Fedify's driver encodes strings as UTF-8 (PostgreSQL
//! through postgres.js, Redis keys through ioredis) a lone surrogate is stored
//! as U+FFFD, as Fedify stores it there ([`to_utf8_lossy`]).

use std::borrow::Cow;

/// The escape character of the mapping: U+10FFFF, a noncharacter.
pub const ESCAPE: char = '\u{10FFFF}';

/// The first character of the range that follows [`ESCAPE`] for a lone
/// surrogate: U+10F000 stands for 0xD800, U+10F7FF for 0xDFFF.
const SURROGATE_BASE: u32 = 0x10F000;

/// UTF-8 of [`ESCAPE`]; every escape sequence starts with this byte, so text
/// without it needs no mapping.
const ESCAPE_LEAD_BYTE: u8 = 0xF4;

/// The lone surrogate `unit` (0xD800..=0xDFFF) as the two characters that
/// stand for it in a Rust string, or `None` when `unit` is not a surrogate.
///
/// ```
/// let s: String = fedikv::js::lone_surrogate(0xD83D).unwrap().iter().collect();
/// assert_eq!(fedikv::js::to_utf16(&s), vec![0xD83D]);
/// ```
pub fn lone_surrogate(unit: u16) -> Option<[char; 2]> {
    if !(0xD800..=0xDFFF).contains(&unit) {
        return None;
    }
    let stand_in = char::from_u32(SURROGATE_BASE + u32::from(unit - 0xD800))?;
    Some([ESCAPE, stand_in])
}

/// The surrogate a character after [`ESCAPE`] stands for.
fn surrogate_of(c: char) -> Option<u16> {
    let n = u32::from(c).checked_sub(SURROGATE_BASE)?;
    (n < 0x800).then(|| 0xD800 + n as u16)
}

/// Whether `text` contains no escape sequence, so it means the same in
/// JavaScript and in Rust. Fast: one byte search.
pub(crate) fn is_plain(text: &str) -> bool {
    !text.as_bytes().contains(&ESCAPE_LEAD_BYTE) || !text.contains(ESCAPE)
}

/// One JavaScript code point or lone surrogate, as [`to_utf16`] reads a Rust
/// string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    /// A Unicode scalar value.
    Char(char),
    /// A lone surrogate code unit.
    Lone(u16),
}

/// The JavaScript code points and lone surrogates a Rust string stands for.
pub(crate) fn units(text: &str) -> impl Iterator<Item = Unit> + '_ {
    let mut chars = text.chars().peekable();
    std::iter::from_fn(move || {
        let c = chars.next()?;
        if c != ESCAPE {
            return Some(Unit::Char(c));
        }
        match chars.peek().copied() {
            Some(ESCAPE) => {
                chars.next();
                Some(Unit::Char(ESCAPE))
            }
            Some(next) => match surrogate_of(next) {
                Some(unit) => {
                    chars.next();
                    Some(Unit::Lone(unit))
                }
                None => Some(Unit::Char(ESCAPE)),
            },
            None => Some(Unit::Char(ESCAPE)),
        }
    })
}

/// Builds a Rust string from JavaScript code points and lone surrogates,
/// writing the escapes of the mapping.
#[derive(Debug, Default)]
pub(crate) struct JsStringBuilder {
    text: String,
    /// The last thing pushed was a literal U+10FFFF written as one character,
    /// which must become two if what follows would otherwise join it.
    after_escape_char: bool,
}

impl JsStringBuilder {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            text: String::with_capacity(capacity),
            after_escape_char: false,
        }
    }

    /// Appends text that holds no [`ESCAPE`] (checked by the caller).
    pub(crate) fn push_plain(&mut self, text: &str) {
        if let Some(first) = text.chars().next() {
            self.push_char(first);
            self.text.push_str(&text[first.len_utf8()..]);
            self.after_escape_char = false;
        }
    }

    /// Appends one character.
    pub(crate) fn push_char(&mut self, c: char) {
        if self.after_escape_char && (c == ESCAPE || surrogate_of(c).is_some()) {
            self.text.push(ESCAPE);
        }
        self.text.push(c);
        self.after_escape_char = c == ESCAPE;
    }

    /// Appends a UTF-16 code unit sequence's next element: a lone surrogate.
    pub(crate) fn push_lone(&mut self, unit: u16) {
        if let Some([escape, stand_in]) = lone_surrogate(unit) {
            if self.after_escape_char {
                self.text.push(ESCAPE);
            }
            self.text.push(escape);
            self.text.push(stand_in);
            self.after_escape_char = false;
        }
    }

    pub(crate) fn finish(self) -> String {
        self.text
    }
}

/// The Rust string that stands for the JavaScript string `units` (lossless;
/// see the [module docs](self)).
///
/// ```
/// use fedikv::js::{from_utf16, to_utf16};
/// let units = [0x61, 0xD800, 0x62];
/// let text = from_utf16(&units);
/// assert_eq!(text.chars().count(), 4); // 'a', two stand-ins, 'b'
/// assert_eq!(to_utf16(&text), units);
/// assert_eq!(from_utf16(&[0xD83D, 0xDE00]), "😀");
/// ```
pub fn from_utf16(units: &[u16]) -> String {
    let mut builder = JsStringBuilder::with_capacity(units.len());
    for decoded in char::decode_utf16(units.iter().copied()) {
        match decoded {
            Ok(c) => builder.push_char(c),
            Err(lone) => builder.push_lone(lone.unpaired_surrogate()),
        }
    }
    builder.finish()
}

/// The JavaScript string (UTF-16 code units) that the Rust string `text`
/// stands for; the inverse of [`from_utf16`].
pub fn to_utf16(text: &str) -> Vec<u16> {
    let mut out = Vec::with_capacity(text.len());
    let mut buf = [0u16; 2];
    for unit in units(text) {
        match unit {
            Unit::Char(c) => out.extend_from_slice(c.encode_utf16(&mut buf)),
            Unit::Lone(u) => out.push(u),
        }
    }
    out
}

/// A string read from a store that holds well-formed Unicode (UTF-8 text),
/// as the Rust string of the mapping: unchanged unless it contains U+10FFFF
/// next to a character the mapping gives a meaning.
pub fn from_str(text: &str) -> Cow<'_, str> {
    if is_plain(text) {
        return Cow::Borrowed(text);
    }
    let mut builder = JsStringBuilder::with_capacity(text.len() + 4);
    for c in text.chars() {
        builder.push_char(c);
    }
    Cow::Owned(builder.finish())
}

/// [`from_str`] for an owned string: `text` itself unless it needs escapes.
pub fn from_string(text: String) -> String {
    match from_str(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(mapped) => mapped,
    }
}

/// The UTF-8 text JavaScript's `Buffer.from(string)` (and so postgres.js and
/// ioredis) makes of the string `text` stands for: lone surrogates become
/// U+FFFD. Unchanged (borrowed) for text without escapes.
pub fn to_utf8_lossy(text: &str) -> Cow<'_, str> {
    if is_plain(text) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        units(text)
            .map(|unit| match unit {
                Unit::Char(c) => c,
                Unit::Lone(_) => char::REPLACEMENT_CHARACTER,
            })
            .collect(),
    )
}

/// Whether the string `text` stands for holds a lone surrogate.
pub fn has_lone_surrogate(text: &str) -> bool {
    !is_plain(text) && units(text).any(|u| matches!(u, Unit::Lone(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const E: u16 = 0xDBFF; // high half of U+10FFFF
    const F: u16 = 0xDFFF; // low half of U+10FFFF

    #[test]
    fn round_trips_every_tricky_sequence() {
        let pieces: [&[u16]; 9] = [
            &[0xD800],
            &[0xDFFF],
            &[0xDC00, 0xD800],
            &[E, F],                 // U+10FFFF itself
            &[E, F, E, F],           // two of them
            &[E, F, 0xD800],         // U+10FFFF then a lone surrogate
            &[E, F, 0xDBFC, 0xDC05], // U+10FFFF then U+10F005 (a stand-in)
            &[0xDBFC, 0xDC05],       // a stand-in alone
            &[0x61, 0, 0x2028, 0xFEFF],
        ];
        for a in pieces {
            for b in pieces {
                let units: Vec<u16> = a.iter().chain(b).copied().collect();
                let text = from_utf16(&units);
                assert_eq!(to_utf16(&text), units, "{units:x?}");
                assert_eq!(from_utf16(&to_utf16(&text)), text);
            }
        }
    }

    #[test]
    fn ordinary_text_is_unchanged() {
        for text in ["", "abc", "é😀", "\u{10FFFF}", "a\u{10FFFF}b", "\u{10F005}"] {
            let units: Vec<u16> = text.encode_utf16().collect();
            assert_eq!(from_utf16(&units), text);
            assert_eq!(to_utf16(text), units);
            assert_eq!(from_str(text), text);
            assert_eq!(to_utf8_lossy(text), text);
        }
    }

    #[test]
    fn utf8_backends_store_replacement_characters() {
        let text = from_utf16(&[0x61, 0xD83D, 0x62]);
        assert!(has_lone_surrogate(&text));
        assert_eq!(to_utf8_lossy(&text), "a\u{FFFD}b");
        assert!(!has_lone_surrogate("a\u{10FFFF}"));
    }

    #[test]
    fn well_formed_text_with_stand_ins_gets_escaped() {
        // U+10FFFF followed by U+10F000 is two ordinary characters in UTF-8
        // text; in a Rust string of the mapping it needs the doubled escape.
        let stored = "\u{10FFFF}\u{10F000}";
        let text = from_str(stored);
        assert_eq!(text, "\u{10FFFF}\u{10FFFF}\u{10F000}");
        assert_eq!(String::from_utf16(&to_utf16(&text)).unwrap(), stored);
    }
}
