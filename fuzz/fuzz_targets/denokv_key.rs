//! Keys as Deno KV keys (`crates/fedikv/src/denokv/codec/key.rs`).
//!
//! Input: keys split by byte 0xFE, components by 0xFF (see
//! `fedikv_fuzz::input`). Checked:
//!
//! - round trip (rules K1, K2): every key decodes from its encoding to
//!   itself, except that a lone surrogate reads back as U+FFFD (Deno's key
//!   codec takes UTF-8, `js::to_utf8_lossy`); only a too-long key fails;
//! - encodings sort as their keys' JavaScript strings do, component by
//!   component and by code point (not as `KvKey`'s `Ord`, which compares
//!   fedikv's mapping of them), and a prefix's byte range holds exactly the
//!   keys under it (rule O5's prefix lists);
//! - arbitrary bytes (every field and the whole input) decode without
//!   panicking, and bytes that decode to a key are exactly its encoding.
#![no_main]

use fedikv::fuzzing::denokv::{decode_key, describe_key, encode_key, prefix_range};
use fedikv::{KvError, KvKey, js};
use fedikv_fuzz::input::{fields, key, utf8_stored};
use libfuzzer_sys::fuzz_target;

/// At most this many keys per input (pairs of keys are checked).
const MAX_KEYS: usize = 16;

fuzz_target!(|data: &[u8]| {
    let fields = fields(data);
    let keys: Vec<KvKey> = fields
        .iter()
        .take(MAX_KEYS)
        .filter_map(|f| key(f).ok())
        .collect();
    let mut encoded = Vec::new();
    for key in &keys {
        match encode_key(key) {
            Ok(bytes) => {
                assert_eq!(
                    decode_key(&bytes),
                    Some(utf8_stored(key)),
                    "bytes {bytes:?}"
                );
                encoded.push((utf8_stored(key), bytes));
            }
            Err(KvError::KeyTooLong { .. }) => {}
            Err(e) => panic!("encoding {key} failed: {e}"),
        }
    }
    for (a, a_bytes) in &encoded {
        let (start, end) = prefix_range(Some(a));
        for (b, b_bytes) in &encoded {
            assert_eq!(
                code_points(a).cmp(&code_points(b)),
                a_bytes.cmp(b_bytes),
                "{a} vs {b}"
            );
            let in_range = start <= *b_bytes && *b_bytes < end;
            assert_eq!(in_range, b.starts_with(a), "{b} in the range of {a}");
        }
        let (start, end) = prefix_range(None);
        assert!(
            start <= *a_bytes && *a_bytes < end,
            "{a} in the range of everything"
        );
    }
    for raw in fields.iter().copied().chain([data]) {
        describe_key(raw);
        if let Some(key) = decode_key(raw) {
            assert_eq!(
                encode_key(&key).ok().as_deref(),
                Some(raw),
                "{key} decoded from {raw:?}"
            );
        }
    }
});

/// The code points of each component's JavaScript string (lone
/// surrogates, which a stored key no longer holds, as U+FFFD).
fn code_points(key: &KvKey) -> Vec<Vec<char>> {
    let units = key.components().iter().map(|c| js::to_utf16(c));
    units
        .map(|u| {
            char::decode_utf16(u)
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect()
        })
        .collect()
}
