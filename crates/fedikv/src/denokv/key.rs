//! Keys as Deno KV keys: a [`KvKey`] is the Deno KV key of the same strings
//! (`["a", "b"]` is `kv.get(["a", "b"])` in Deno), encoded with Deno KV's own
//! key codec, which orders keys component by component.

use denokv_proto::{Key, KeyPart, decode_key, encode_key};

use crate::error::{KvError, KvResult};
use crate::key::KvKey;

use super::BACKEND;

/// Deno KV's limit on a written key: 2048 bytes of encoded key (each
/// component is its UTF-8 bytes, a tag byte, a terminator and one escape
/// byte per NUL; fedikv keys hold no NUL). Larger keys are a
/// [`KvError::KeyTooLong`] before any round trip (SPEC K3).
pub const MAX_KEY_BYTES: usize = 2048;

/// The encoded Deno KV key, checked against [`MAX_KEY_BYTES`].
pub(crate) fn encode(key: &KvKey) -> KvResult<Vec<u8>> {
    KvError::within_key_limit(
        BACKEND,
        encode_unchecked(key),
        MAX_KEY_BYTES,
        "bytes of encoded Deno KV key",
    )
}

fn encode_unchecked(key: &KvKey) -> Vec<u8> {
    let parts = key
        .components()
        .iter()
        .map(|c| KeyPart::String(c.clone()))
        .collect();
    // Encoding string parts writes to a Vec and cannot fail.
    encode_key(&Key(parts)).unwrap_or_default()
}

/// The key Deno KV bytes encode, or `None` when it is not a list of strings
/// (Deno keys may also hold numbers, bigints, booleans and bytes), which no
/// [`KvKey`] can name.
pub(crate) fn decode(bytes: &[u8]) -> Option<KvKey> {
    let Key(parts) = decode_key(bytes).ok()?;
    let components = parts
        .into_iter()
        .map(|part| match part {
            KeyPart::String(s) => Some(s),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    KvKey::new(components).ok()
}

/// The byte range `[start, end)` holding `prefix` itself and every key under
/// it (no prefix: every key). Deno's own `list({ prefix })` starts after the
/// prefix key; this one starts at it, so the exact key is listed once (O5).
pub(crate) fn prefix_range(prefix: Option<&KvKey>) -> (Vec<u8>, Vec<u8>) {
    let start = prefix.map(encode_unchecked).unwrap_or_default();
    let mut end = start.clone();
    // Every encoded component starts with a tag byte below 0xff.
    end.push(0xff);
    (start, end)
}

/// A printable form of raw key bytes, for errors about entries no
/// [`KvKey`] names.
pub(crate) fn describe(bytes: &[u8]) -> String {
    match decode(bytes) {
        Some(key) => key.to_string(),
        None => match decode_key(bytes) {
            Ok(key) => format!("{:?}", key.0),
            Err(_) => format!("{bytes:02x?}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_sort_component_wise() {
        let a = KvKey::new(["a"]).unwrap();
        let ab = KvKey::new(["a", "b"]).unwrap();
        let a_colon = KvKey::new(["a:"]).unwrap();
        assert_eq!(decode(&encode(&ab).unwrap()), Some(ab.clone()));
        let (start, end) = prefix_range(Some(&a));
        for inside in [&a, &ab] {
            let bytes = encode(inside).unwrap();
            assert!(start <= bytes && bytes < end, "{inside} is under {a}");
        }
        let sibling = encode(&a_colon).unwrap();
        assert!(
            !(start <= sibling && sibling < end),
            "[\"a:\"] is not under [\"a\"]"
        );
    }

    #[test]
    fn keys_of_other_types_are_not_kv_keys() {
        let mixed = encode_key(&Key(vec![KeyPart::String("a".into()), KeyPart::True])).unwrap();
        assert_eq!(decode(&mixed), None);
        assert!(describe(&mixed).contains("True"));
    }

    #[test]
    fn the_key_limit_counts_encoded_bytes() {
        // One component: tag + bytes + terminator.
        let fits = KvKey::new(["x".repeat(MAX_KEY_BYTES - 2)]).unwrap();
        assert_eq!(encode(&fits).unwrap().len(), MAX_KEY_BYTES);
        let too_long = KvKey::new(["x".repeat(MAX_KEY_BYTES - 1)]).unwrap();
        assert!(matches!(encode(&too_long), Err(KvError::KeyTooLong { .. })));
    }
}
