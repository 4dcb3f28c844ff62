//! Keys as bytes that sort like the keys: the memory store's map and index
//! are keyed by this encoding, one allocation per key instead of one per
//! component, compared and hashed as a single byte string.
//!
//! Each component is written with its NUL bytes escaped as `00 01` and is
//! ended by `00 00`. Byte-wise order of the encodings is the component-wise
//! order of [`KvKey`] (`["a"] < ["a", ""] < ["a", "b"] < ["ab"]`), and a key
//! starts with a prefix component-wise exactly when its encoding starts with
//! the prefix's encoding.

use std::cell::RefCell;

use crate::error::KvResult;
use crate::key::KvKey;

/// Scratch buffers larger than this are not kept for the next key.
const KEEP_BUFFER: usize = 4096;

thread_local! {
    /// The buffer keys are encoded into for a lookup, reused so that a
    /// lookup allocates nothing.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Writes the encoding of `key` to `out`, which is cleared first.
pub(super) fn encode_into(key: &KvKey, out: &mut Vec<u8>) {
    out.clear();
    out.reserve(key.byte_len() + 2 * key.len());
    for component in key.components() {
        let bytes = component.as_bytes();
        // Components rarely hold NUL: then they are copied whole (the check
        // is a memchr).
        if bytes.contains(&0) {
            for (i, part) in bytes.split(|&b| b == 0).enumerate() {
                if i > 0 {
                    out.extend_from_slice(&[0, 1]);
                }
                out.extend_from_slice(part);
            }
        } else {
            out.extend_from_slice(bytes);
        }
        out.extend_from_slice(&[0, 0]);
    }
}

/// The encoding of `key`, in a new buffer.
pub(super) fn encode(key: &KvKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.byte_len() + 2 * key.len());
    encode_into(key, &mut out);
    out
}

/// Calls `f` with the encoding of `key`, written to this thread's scratch
/// buffer (a fresh one if `f` itself encodes a key).
pub(super) fn with_encoded<R>(key: &KvKey, f: impl FnOnce(&[u8]) -> R) -> R {
    let mut buffer = SCRATCH
        .try_with(|scratch| {
            scratch
                .try_borrow_mut()
                .map(|mut b| std::mem::take(&mut *b))
        })
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    encode_into(key, &mut buffer);
    let result = f(&buffer);
    if buffer.capacity() <= KEEP_BUFFER {
        // Best effort: when the thread is exiting there is nothing to keep.
        let _ = SCRATCH.try_with(|scratch| {
            if let Ok(mut kept) = scratch.try_borrow_mut() {
                *kept = buffer;
            }
        });
    }
    result
}

/// The key `bytes` encodes; `bytes` must come from [`encode_into`].
pub(super) fn decode(bytes: &[u8]) -> KvResult<KvKey> {
    let mut components = Vec::new();
    let mut current = Vec::new();
    let mut rest = bytes;
    while let Some(at) = rest.iter().position(|&b| b == 0) {
        current.extend_from_slice(&rest[..at]);
        match rest.get(at + 1) {
            Some(1) => current.push(0),
            _ => components.push(text(std::mem::take(&mut current))),
        }
        rest = rest.get(at + 2..).unwrap_or_default();
    }
    KvKey::new(components)
}

/// The component `bytes` holds: always UTF-8, as it was a `String`'s.
fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(components: &[&str]) -> KvKey {
        KvKey::new(components.iter().copied()).unwrap()
    }

    #[test]
    fn encodings_sort_like_keys() {
        let mut keys = vec![
            key(&["ab"]),
            key(&["a", "b"]),
            key(&["a", ""]),
            key(&["a"]),
            key(&["a\0"]),
            key(&["a\0", "b"]),
            key(&["a", "\0"]),
            key(&[""]),
            key(&["\0"]),
            key(&["", ""]),
            key(&["a\u{1}"]),
            key(&["é", "x"]),
        ];
        let mut encoded: Vec<Vec<u8>> = keys.iter().map(encode).collect();
        keys.sort();
        encoded.sort();
        let decoded: Vec<KvKey> = encoded.iter().map(|e| decode(e).unwrap()).collect();
        assert_eq!(decoded, keys);
    }

    #[test]
    fn prefixes_are_byte_prefixes() {
        let prefix = encode(&key(&["a", "b"]));
        assert!(encode(&key(&["a", "b"])).starts_with(&prefix));
        assert!(encode(&key(&["a", "b", ""])).starts_with(&prefix));
        assert!(!encode(&key(&["a", "bc"])).starts_with(&prefix));
        assert!(!encode(&key(&["a", "b\0"])).starts_with(&prefix));
        assert!(!encode(&key(&["a"])).starts_with(&prefix));
    }

    #[test]
    fn scratch_encoding_is_the_encoding_even_when_nested() {
        let (outer, inner) = (key(&["x", "y\0z"]), key(&["p"]));
        let both = with_encoded(&outer, |o| {
            (o.to_vec(), with_encoded(&inner, <[u8]>::to_vec))
        });
        assert_eq!(both, (encode(&outer), encode(&inner)));
    }
}
