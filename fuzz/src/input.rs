//! Fuzzer bytes as JavaScript strings and keys.
//!
//! Every byte string is a valid input, and a hand-written seed is readable:
//! text is UTF-8, a lone surrogate is its 3-byte generalized UTF-8 form
//! (WTF-8: `\xed\xa0\x80` is 0xD800), byte 0xFF separates the components of
//! a key and byte 0xFE separates keys (or other fields).

use fedikv::{KvKey, KvResult, js};
use serde_json::Value;

/// Separates the components of a key.
pub const COMPONENT: u8 = 0xFF;

/// Separates keys, or a target's fields.
pub const FIELD: u8 = 0xFE;

/// The UTF-16 code units of `bytes` read as WTF-8 (UTF-8 that may encode
/// surrogates); a byte that starts no such sequence is the code unit of the
/// same value (as Latin-1), so every byte counts.
pub fn units(bytes: &[u8]) -> Vec<u16> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let (code, len) = sequence(&bytes[i..]).unwrap_or((u32::from(bytes[i]), 1));
        match u16::try_from(code) {
            Ok(unit) => out.push(unit),
            Err(_) => {
                let c = code - 0x10000;
                out.push(0xD800 + (c >> 10) as u16);
                out.push(0xDC00 + (c & 0x3FF) as u16);
            }
        }
        i += len;
    }
    out
}

/// The code point of the WTF-8 sequence at the start of `bytes` and its
/// length, if one starts there (shortest form only).
fn sequence(bytes: &[u8]) -> Option<(u32, usize)> {
    let lead = *bytes.first()?;
    let (len, bits, min) = match lead {
        0x00..=0x7F => return Some((u32::from(lead), 1)),
        0xC2..=0xDF => (2, u32::from(lead & 0x1F), 0x80),
        0xE0..=0xEF => (3, u32::from(lead & 0x0F), 0x800),
        0xF0..=0xF4 => (4, u32::from(lead & 0x07), 0x10000),
        _ => return None,
    };
    let tail = bytes.get(1..len)?;
    let mut code = bits;
    for &b in tail {
        if b & 0xC0 != 0x80 {
            return None;
        }
        code = (code << 6) | u32::from(b & 0x3F);
    }
    (code >= min && code <= 0x10FFFF).then_some((code, len))
}

/// The Rust string (fedikv's `js` mapping) of the JavaScript string `bytes`
/// stands for.
pub fn js_string(bytes: &[u8]) -> String {
    fedikv::js::from_utf16(&units(bytes))
}

/// The key whose components are the JavaScript strings between the
/// [`COMPONENT`] separators of `bytes` (at least one), or the error of
/// [`KvKey::new`] for components it refuses.
pub fn key(bytes: &[u8]) -> KvResult<KvKey> {
    KvKey::new(bytes.split(|&b| b == COMPONENT).map(js_string))
}

/// The fields of `bytes` between [`FIELD`] separators.
pub fn fields(bytes: &[u8]) -> Vec<&[u8]> {
    bytes.split(|&b| b == FIELD).collect()
}

/// The key a store that holds UTF-8 text keeps for `key` (Redis keys as
/// ioredis sends them, Deno KV keys): each component with lone surrogates
/// as U+FFFD, read back into fedikv's mapping.
pub fn utf8_stored(key: &KvKey) -> KvKey {
    let components = key.components().iter();
    KvKey::new(components.map(|c| js::from_str(&js::to_utf8_lossy(c)).into_owned()))
        .expect("as many components as a key")
}

/// How many levels of arrays and objects `value` nests (`[1]` is one).
/// Iterative, so any depth.
pub fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut pending = vec![(value, 0)];
    while let Some((value, level)) = pending.pop() {
        deepest = deepest.max(level);
        match value {
            Value::Array(items) => pending.extend(items.iter().map(|v| (v, level + 1))),
            Value::Object(members) => pending.extend(members.values().map(|v| (v, level + 1))),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wtf8_and_latin1() {
        assert_eq!(units(b"a\xed\xa0\x80b"), [0x61, 0xD800, 0x62]);
        assert_eq!(units("😀é".as_bytes()), [0xD83D, 0xDE00, 0xE9]);
        assert_eq!(units(b"\xe9\xc0\x80"), [0xE9, 0xC0, 0x80]);
    }
}
