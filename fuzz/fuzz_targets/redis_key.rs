//! Fedify's Redis key layout (`crates/fedikv/src/redis/codec.rs`).
//!
//! Input: fields split by byte 0xFE (see `fedikv_fuzz::input`): the key
//! prefix, then keys (components split by 0xFF). Checked:
//!
//! - round trip (rules K1, K2): every key decodes from its encoding to
//!   itself, except that a lone surrogate reads back as U+FFFD, as ioredis
//!   stores it (`js::to_utf8_lossy`); distinct keys never share a Redis key;
//! - decoding accepts exactly the image: a Redis key that decodes to `k` is
//!   byte for byte `encode(k)` (every field is also tried as raw Redis key
//!   text, after the prefix and alone);
//! - `SCAN MATCH` patterns match literally (a reference Redis glob matcher
//!   decides): the pattern of the whole store matches exactly the Redis keys
//!   that start with the prefix, and the pattern of a key prefix `p` exactly
//!   those that start with `encode(p)` and `::`, so it matches every key
//!   under `p` and nothing outside the store's prefix.
#![no_main]

use fedikv::fuzzing::redis_key::RedisKeyCodec;
use fedikv::{KvError, KvKey};
use fedikv_fuzz::input::{fields, js_string, key, utf8_stored};
use fedikv_fuzz::reference::glob_match;
use libfuzzer_sys::fuzz_target;

/// At most this many keys per input (pairs of keys are checked).
const MAX_KEYS: usize = 16;

fuzz_target!(|data: &[u8]| {
    let fields = fields(data);
    let Ok(codec) = RedisKeyCodec::new(&js_string(fields[0])) else {
        return;
    };
    let prefix = js_string(fields[0]).into_bytes();
    let mut keys: Vec<KvKey> = fields[1..]
        .iter()
        .take(MAX_KEYS)
        .filter_map(|f| key(f).ok())
        .collect();
    // Children, so that some keys are under others.
    for i in 0..keys.len().min(4) {
        let child: Vec<&String> = keys[i]
            .components()
            .iter()
            .chain(keys.last().into_iter().flat_map(|k| k.components()))
            .collect();
        keys.push(KvKey::new(child.into_iter().cloned()).expect("non-empty"));
    }
    let mut raws: Vec<Vec<u8>> = Vec::new();
    for key in &keys {
        match codec.encode(key) {
            Ok(raw) => {
                let decoded = codec.decode(&raw);
                assert_eq!(decoded.as_ref(), Some(&utf8_stored(key)), "raw {raw:?}");
                raws.push(raw);
            }
            Err(KvError::KeyTooLong { .. }) => {}
            Err(e) => panic!("encoding {key} failed: {e}"),
        }
    }
    for (i, a) in keys.iter().enumerate() {
        for (j, b) in keys.iter().enumerate() {
            if let (Some(x), Some(y)) = (raws.get(i), raws.get(j)) {
                assert!(
                    x != y || utf8_stored(a) == utf8_stored(b),
                    "{a} and {b} share {x:?}"
                );
            }
        }
    }
    // Raw Redis keys: the encodings, and every field after the prefix and alone.
    for field in &fields[1..] {
        raws.push([&prefix[..], field].concat());
        raws.push(field.to_vec());
    }
    for raw in &raws {
        if let Some(key) = codec.decode(raw) {
            assert_eq!(
                codec.encode(&key).ok().as_ref(),
                Some(raw),
                "{key} decoded from {raw:?}"
            );
        }
        let all = codec.pattern(None).expect("the store's pattern");
        assert_eq!(
            glob_match(&all, raw),
            raw.starts_with(&prefix),
            "pattern {all:?} on {raw:?}"
        );
        for under in &keys {
            let Ok(pattern) = codec.pattern(Some(under)) else {
                continue;
            };
            let mut literal = codec.encode(under).expect("encoded above");
            literal.extend_from_slice(b"::");
            assert_eq!(
                glob_match(&pattern, raw),
                raw.starts_with(&literal),
                "pattern {pattern:?} on {raw:?}"
            );
        }
    }
});
