//! Keys as Deno KV keys: a [`KvKey`] is the Deno KV key of the same strings
//! (`["a", "b"]` is `kv.get(["a", "b"])` in Deno), encoded with Deno KV's own
//! key codec, which orders keys component by component.

use denokv_proto::{Key, KeyPart, decode_key, encode_key};

use crate::error::{KvError, KvResult};
use crate::js;
use crate::key::KvKey;

use crate::denokv::error::BACKEND;

/// Deno KV's limit on a written key: 2048 bytes of encoded key (each
/// component is its UTF-8 bytes, a tag byte, a terminator and one escape
/// byte per NUL; fedikv keys hold no NUL). Larger keys are a
/// [`KvError::KeyTooLong`] before any round trip (rule K3).
pub const MAX_KEY_BYTES: usize = 2048;

/// The limit on a key written with a TTL: one byte less than
/// [`MAX_KEY_BYTES`], because its expiry record (`expiry_key`) is one byte
/// longer than the key.
pub const MAX_TTL_KEY_BYTES: usize = MAX_KEY_BYTES - 1;

/// The first byte of an expiry record's key: the encoded key part `false`
/// (Deno KV's tag for it), which no [`KvKey`] holds.
const EXPIRY_TAG: u8 = 0x26;

/// The first byte of every encoded string key part.
const STRING_TAG: u8 = 0x02;

/// The encoded Deno KV key, checked against [`MAX_KEY_BYTES`].
pub(crate) fn encode(key: &KvKey) -> KvResult<Vec<u8>> {
    KvError::within_key_limit(
        BACKEND,
        encode_unchecked(key),
        MAX_KEY_BYTES,
        "bytes of encoded Deno KV key",
    )
}

/// The encoded Deno KV key of an entry written with a TTL, checked against
/// [`MAX_TTL_KEY_BYTES`].
pub(crate) fn encode_for_ttl(key: &KvKey) -> KvResult<Vec<u8>> {
    KvError::within_key_limit(
        BACKEND,
        encode_unchecked(key),
        MAX_TTL_KEY_BYTES,
        "bytes of encoded Deno KV key with a TTL (its expiry record takes one more)",
    )
}

fn encode_unchecked(key: &KvKey) -> Vec<u8> {
    let parts = key
        .components()
        .iter()
        // Deno turns a JS string into UTF-8 for its key codec: lone
        // surrogates become U+FFFD.
        .map(|c| KeyPart::String(js::to_utf8_lossy(c).into_owned()))
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
            KeyPart::String(s) => Some(js::from_string(s)),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    KvKey::new(components).ok()
}

/// The byte range `[start, end)` holding `prefix` itself and every key under
/// it (no prefix: every key whose first part is a string, which skips the
/// expiry records). Deno's own `list({ prefix })` starts after the prefix
/// key; this one starts at it, so the exact key is listed once (O5).
pub(crate) fn prefix_range(prefix: Option<&KvKey>) -> (Vec<u8>, Vec<u8>) {
    match prefix {
        Some(prefix) => {
            let start = encode_unchecked(prefix);
            let mut end = start.clone();
            // Every encoded component starts with a tag byte below 0xff.
            end.push(0xff);
            (start, end)
        }
        None => (vec![STRING_TAG], vec![STRING_TAG + 1]),
    }
}

/// The key of the expiry record of the entry under the encoded key `key`:
/// the Deno KV key `[false, ...key]`. fedikv writes it beside every entry it
/// writes with a TTL, in the same atomic write (so with the same
/// versionstamp), because KV Connect does not tell readers when an entry
/// expires. Expiry records of a range sort in the order of their entries.
/// `None` for a key longer than [`MAX_TTL_KEY_BYTES`], which has none.
pub(crate) fn expiry_key(key: &[u8]) -> Option<Vec<u8>> {
    (key.len() <= MAX_TTL_KEY_BYTES).then(|| record_key(key))
}

/// `[false, ...key]`, whatever the length.
pub(crate) fn record_key(key: &[u8]) -> Vec<u8> {
    let mut record = Vec::with_capacity(key.len() + 1);
    record.push(EXPIRY_TAG);
    record.extend_from_slice(key);
    record
}

/// The entry key of the expiry record under `expiry`, `None` for any other
/// key.
pub(crate) fn entry_key(expiry: &[u8]) -> Option<&[u8]> {
    expiry.strip_prefix(&[EXPIRY_TAG])
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
    fn expiry_records_are_the_key_after_false_and_sort_like_their_entries() {
        let a = KvKey::new(["a"]).unwrap();
        let ab = KvKey::new(["a", "b"]).unwrap();
        let b = KvKey::new(["b"]).unwrap();
        let mut parts = vec![KeyPart::False];
        parts.extend(ab.components().iter().cloned().map(KeyPart::String));
        let ab_bytes = encode(&ab).unwrap();
        let record = expiry_key(&ab_bytes).unwrap();
        assert_eq!(record, encode_key(&Key(parts)).unwrap());
        assert_eq!(decode(&record), None, "not a KvKey");
        assert_eq!(entry_key(&record), Some(&ab_bytes[..]));
        assert_eq!(entry_key(&ab_bytes), None);
        let expiries: Vec<_> = [&a, &ab, &b]
            .iter()
            .map(|k| record_key(&encode(k).unwrap()))
            .collect();
        assert!(expiries.is_sorted());
        // A prefix range's expiry records lie between the expiry keys of
        // its bounds.
        let (start, end) = prefix_range(Some(&a));
        assert!(record_key(&start) <= expiries[1] && expiries[1] < record_key(&end));
        assert!(expiries[2] >= record_key(&end));
        // Listing everything covers string keys only.
        let (start, end) = prefix_range(None);
        assert!(start <= ab_bytes && ab_bytes < end);
        assert!(!(start <= expiries[0] && expiries[0] < end));
    }

    #[test]
    fn the_key_limit_counts_encoded_bytes() {
        // One component: tag + bytes + terminator.
        let fits = KvKey::new(["x".repeat(MAX_KEY_BYTES - 2)]).unwrap();
        assert_eq!(encode(&fits).unwrap().len(), MAX_KEY_BYTES);
        let too_long = KvKey::new(["x".repeat(MAX_KEY_BYTES - 1)]).unwrap();
        assert!(matches!(encode(&too_long), Err(KvError::KeyTooLong { .. })));
        // With a TTL, one byte less: the expiry record is one byte longer.
        assert!(matches!(
            encode_for_ttl(&fits),
            Err(KvError::KeyTooLong {
                max: MAX_TTL_KEY_BYTES,
                ..
            })
        ));
        assert_eq!(expiry_key(&encode(&fits).unwrap()), None);
        let fits_ttl = KvKey::new(["x".repeat(MAX_TTL_KEY_BYTES - 2)]).unwrap();
        let record = expiry_key(&encode_for_ttl(&fits_ttl).unwrap()).unwrap();
        assert_eq!(record.len(), MAX_KEY_BYTES);
    }
}
