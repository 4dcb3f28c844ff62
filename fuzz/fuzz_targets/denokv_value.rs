//! Values as Deno KV stores them (`crates/fedikv/src/denokv/codec/value.rs`).
//!
//! Input: bytes, read two ways. Checked:
//!
//! - as V8-serialized bytes: decoding never panics nor overflows the stack
//!   (any error is `KvError::Corrupt`), and a value read is written back
//!   unchanged (encode, decode: deep-equal, rule V1);
//! - as JSON text (when `json::parse` reads it): the value round-trips
//!   through V8's format deep-equal (rules V1, V2), lone surrogates
//!   included, and writing fails only beyond `MAX_WRITE_DEPTH` levels.
#![no_main]

use fedikv::KvError;
use fedikv::fuzzing::denokv::{MAX_WRITE_DEPTH, decode_value, encode_value};
use fedikv::json::{drop_deep, json_eq, parse, stringify};
use fedikv_fuzz::input::depth;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    match decode_value(data) {
        Ok(Some(value)) => {
            round_trip(&value);
            drop_deep(value);
        }
        Ok(None) => {}
        Err(KvError::Corrupt { .. }) => {}
        Err(e) => panic!("decoding failed with {e:?}"),
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(value) = parse(text)
    {
        round_trip(&value);
        drop_deep(value);
    }
});

/// `value` is written unless it nests deeper than V8 writes, and reads
/// back deep-equal.
fn round_trip(value: &Value) {
    let bytes = match encode_value(value) {
        Ok(bytes) => bytes,
        Err(KvError::InvalidValue { .. }) if depth(value) > MAX_WRITE_DEPTH => return,
        Err(e) => panic!("writing a value {} deep failed: {e}", depth(value)),
    };
    match decode_value(&bytes) {
        Ok(Some(read)) => {
            assert!(
                json_eq(&read, value),
                "read back {} for {}",
                stringify(&read),
                stringify(value)
            );
            drop_deep(read);
        }
        Ok(None) => panic!("{} read back as undefined", stringify(value)),
        Err(e) => panic!("{} read back as {e}", stringify(value)),
    }
}
