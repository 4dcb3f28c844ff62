//! Values as Deno stores them: JSON to V8's serialization format (what
//! `Deno.Kv.set` writes for a JS value) and back.
//!
//! Writing: `null`, booleans, strings, arrays and objects become the JS values
//! `JSON.parse` would make; integers in the `i32` range are written as V8
//! small integers and every other number as a double, as V8 itself does,
//! except integers beyond `Number.MAX_SAFE_INTEGER` (2^53 - 1), which a
//! double cannot hold exactly: they are written as a JS `bigint`, so they
//! round-trip exactly (rule V2) and Deno sees their exact value.
//!
//! Reading follows `JSON.stringify`: `undefined` and holes inside arrays read
//! as `null`, object properties holding `undefined` are left out, as are an
//! array's non-index properties, whole
//! doubles up to 2^53 read as integers, and a `bigint` reads as the JSON
//! integer of the same value when it fits in 64 bits. A top-level `undefined` (what
//! Fedify's `cas(key, x, undefined)` stores) reads as absent. Values with no
//! JSON form (`Date`, `Map`, `Set`, a `bigint` beyond 64 bits, `Uint8Array` and other binary
//! data, `RegExp`, `Error`, boxed primitives, `NaN`/`Infinity`, and Deno's
//! `KvU64` and raw bytes encodings) are a [`KvError::Corrupt`] naming the type:
//! fedikv never guesses a JSON shape for them.

use denokv_proto::KvValue;
use num_bigint::BigInt;
use serde_json::{Map, Number, Value};
use std::cell::Cell;
use v8_valueserializer::{
    DenseArray, Heap, HeapValue, Object, PropertyKey, StringValue, TwoByteString, Value as V8,
    ValueDeserializer, ValueSerializer,
};

use crate::error::{KvError, KvResult};
use crate::{js, json};

use crate::denokv::backend::Row;

/// The largest integer a double holds exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// The deepest nesting of arrays and objects the V8 serializer writes.
pub(crate) const MAX_WRITE_DEPTH: usize = 256;

/// `value` in V8's serialization format. Fails only for JSON nested deeper
/// than V8's serializer allows ([`MAX_WRITE_DEPTH`] levels).
pub(crate) fn encode(value: &Value) -> KvResult<Vec<u8>> {
    if json::is_deeper_than(value, MAX_WRITE_DEPTH) {
        return Err(KvError::InvalidValue {
            reason: format!(
                "Deno KV (V8's serializer) stores at most {MAX_WRITE_DEPTH} levels of nested arrays and objects; store the value flatter or as a JSON string"
            ),
        });
    }
    // The depth check passed: at most MAX_WRITE_DEPTH levels.
    let levels = if json::is_deeper_than(value, 32) {
        MAX_WRITE_DEPTH
    } else {
        32
    };
    with_stack(levels, || {
        let mut heap = Heap::default();
        let root = to_v8(&mut heap, value);
        ValueSerializer::default().finish(&heap, &root)
    })
    .map_err(|e| KvError::InvalidValue {
        reason: format!("Deno KV cannot store this value: {e}"),
    })
}

/// Runs `f`, which recurses once per nesting level up to `levels` deep (V8's
/// serializer and deserializer do, up to [`MAX_DEPTH`] levels), on a larger
/// stack when the thread's is too small for that: a tokio worker's 2 MiB
/// hold fewer than 256 levels in a debug build.
fn with_stack<R>(levels: usize, f: impl FnOnce() -> R) -> R {
    const BASE: usize = 64 * 1024;
    const PER_LEVEL: usize = 16 * 1024;
    let need = BASE + levels.min(MAX_DEPTH + 1) * PER_LEVEL;
    stacker::maybe_grow(need, 2 * need, f)
}

/// An upper bound of the nesting of V8-serialized `bytes`: the bytes that
/// could be the tag of an object or array (`o`, `A`, `a`; string contents
/// only raise the bound). Cheap, and small for ordinary values.
fn max_levels(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .filter(|&&b| matches!(b, b'o' | b'A' | b'a'))
        .count()
}

/// The JSON form of a stored entry's value; `None` for a top-level
/// `undefined`. Deno's other encodings (`Deno.KvU64`, raw bytes) have no
/// JSON form.
pub(crate) fn decode_entry(row: &Row) -> KvResult<Option<Value>> {
    let key = || super::key::describe(&row.key);
    match &row.value {
        KvValue::V8(bytes) => decode(bytes, &key),
        KvValue::U64(_) => Err(KvError::Corrupt {
            key: key(),
            reason: no_json_form("a Deno.KvU64"),
        }),
        KvValue::Bytes(_) => Err(KvError::Corrupt {
            key: key(),
            reason: no_json_form("raw bytes (a Uint8Array stored as bytes)"),
        }),
    }
}

/// The JSON form of V8-serialized bytes; `None` for a top-level `undefined`.
/// `key` names the entry in errors.
pub(crate) fn decode(bytes: &[u8], key: &dyn Fn() -> String) -> KvResult<Option<Value>> {
    let corrupt = |reason: String| KvError::Corrupt { key: key(), reason };
    with_stack(max_levels(bytes), || {
        let (root, heap) = ValueDeserializer::default()
            .read(bytes)
            .map_err(|e| format!("not a V8-serialized value ({e})"))?;
        if matches!(root, V8::Undefined) {
            return Ok(None);
        }
        from_v8(&heap, &root, 0, &Cell::new(MAX_ITEMS)).map(Some)
    })
    .map_err(corrupt)
}

fn to_v8(heap: &mut Heap, value: &Value) -> V8 {
    match value {
        Value::Null => V8::Null,
        Value::Bool(b) => V8::Bool(*b),
        Value::Number(n) => {
            if let Some(small) = n.as_i64().and_then(|i| i32::try_from(i).ok()) {
                V8::I32(small)
            } else if let Some(big) = n
                .as_i64()
                .map(BigInt::from)
                .or(n.as_u64().map(BigInt::from))
                && big.magnitude().bits() > 53
            {
                V8::BigInt(big)
            } else {
                // Every JSON number is finite, so as_f64 always answers.
                V8::Double(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => V8::String(string(s)),
        Value::Array(items) => {
            let elements = items.iter().map(|item| Some(to_v8(heap, item))).collect();
            let array = DenseArray {
                elements,
                properties: Vec::new(),
            };
            V8::HeapReference(heap.insert(HeapValue::DenseArray(array)))
        }
        Value::Object(fields) => {
            let properties = fields
                .iter()
                .map(|(name, item)| (PropertyKey::String(string(name)), to_v8(heap, item)))
                .collect();
            V8::HeapReference(heap.insert(HeapValue::Object(Object { properties })))
        }
    }
}

/// A JS string as V8 writes it: one byte per character for ASCII, UTF-16
/// otherwise, lone surrogates included (see [`js`]).
fn string(s: &str) -> StringValue {
    if s.is_ascii() {
        StringValue::new(s.to_owned())
    } else {
        StringValue::TwoByte(TwoByteString::new(js::to_utf16(s)))
    }
}

/// A JS string V8 wrote, lone surrogates kept (see [`js`]).
fn js_string(s: &StringValue) -> String {
    match s {
        StringValue::TwoByte(units) => js::from_utf16(units.as_bytes()),
        // Latin-1, or the UTF-8 form V8 no longer writes (read with lone
        // surrogates as U+FFFD).
        StringValue::OneByte(_) | StringValue::Wtf8(_) => {
            js::from_string(s.to_string().into_owned())
        }
    }
}

/// The longest sparse array (`[1, , 3]`, a few bytes for any length) read
/// as a JSON array of that many items.
const MAX_SPARSE_LENGTH: u32 = 1 << 20;

/// Deeper than V8's own serializer writes: a value this deep is malformed.
const MAX_DEPTH: usize = 512;

/// The most JSON items (values, array slots) one stored value may expand
/// to. Objects shared by reference are expanded at every use, so a value of
/// a few hundred bytes could otherwise stand for 2^40 items; a legitimate
/// value of at most 64 KiB stays far below this, sparse arrays included.
const MAX_ITEMS: usize = 1 << 22;

/// Takes `n` items from `budget`, or says that the value expands too far.
fn spend(budget: &Cell<usize>, n: usize) -> Result<(), String> {
    let left = budget
        .get()
        .checked_sub(n)
        .ok_or_else(|| format!("it expands to more than {MAX_ITEMS} JSON items"))?;
    budget.set(left);
    Ok(())
}

fn from_v8(heap: &Heap, value: &V8, depth: usize, budget: &Cell<usize>) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!("nested deeper than {MAX_DEPTH} levels"));
    }
    spend(budget, 1)?;
    Ok(match value {
        V8::Undefined | V8::Null => Value::Null,
        V8::Bool(b) => Value::Bool(*b),
        V8::I32(i) => Value::from(*i),
        V8::U32(u) => Value::from(*u),
        V8::Double(d) => number(*d)?,
        V8::BigInt(big) => i64::try_from(big)
            .map(Value::from)
            .or_else(|_| u64::try_from(big).map(Value::from))
            .map_err(|_| no_json_form("a bigint beyond 64 bits"))?,
        V8::String(s) => Value::String(js_string(s)),
        V8::HeapReference(reference) => {
            let target = reference
                .try_open(heap)
                .ok_or_else(|| "a dangling object reference".to_owned())?;
            from_heap(heap, target, depth + 1, budget)?
        }
    })
}

fn from_heap(
    heap: &Heap,
    value: &HeapValue,
    depth: usize,
    budget: &Cell<usize>,
) -> Result<Value, String> {
    match value {
        HeapValue::Object(object) => object_fields(heap, &object.properties, depth, budget),
        // Like JSON.stringify, arrays ignore their non-index properties.
        HeapValue::DenseArray(array) => array
            .elements
            .iter()
            .map(|item| {
                item.as_ref()
                    .map_or(Ok(Value::Null), |v| from_v8(heap, v, depth, budget))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        HeapValue::SparseArray(array) if array.length > MAX_SPARSE_LENGTH => Err(format!(
            "a sparse array of length {}, longer than fedikv expands ({MAX_SPARSE_LENGTH})",
            array.length
        )),
        HeapValue::SparseArray(array) => {
            spend(budget, array.length as usize)?;
            let mut items = vec![Value::Null; array.length as usize];
            for (name, item) in &array.properties {
                let index = match name {
                    PropertyKey::I32(i) => usize::try_from(*i).ok(),
                    PropertyKey::U32(u) => usize::try_from(*u).ok(),
                    _ => None,
                };
                if let Some(slot) = index.and_then(|i| items.get_mut(i)) {
                    *slot = from_v8(heap, item, depth, budget)?;
                }
            }
            Ok(Value::Array(items))
        }
        HeapValue::Date(_) => Err(no_json_form("a Date")),
        HeapValue::Map(_) => Err(no_json_form("a Map")),
        HeapValue::Set(_) => Err(no_json_form("a Set")),
        HeapValue::RegExp(_) => Err(no_json_form("a RegExp")),
        HeapValue::Error(_) => Err(no_json_form("an Error")),
        HeapValue::ArrayBuffer(_) | HeapValue::ArrayBufferView(_) => {
            Err(no_json_form("binary data (an ArrayBuffer or typed array)"))
        }
        HeapValue::BooleanObject(_)
        | HeapValue::NumberObject(_)
        | HeapValue::BigIntObject(_)
        | HeapValue::StringObject(_) => Err(no_json_form("a boxed primitive")),
    }
}

fn object_fields(
    heap: &Heap,
    properties: &[(PropertyKey, V8)],
    depth: usize,
    budget: &Cell<usize>,
) -> Result<Value, String> {
    let mut fields = Map::new();
    for (name, item) in properties {
        if matches!(item, V8::Undefined) {
            continue;
        }
        let name = match name {
            PropertyKey::I32(i) => i.to_string(),
            PropertyKey::U32(u) => u.to_string(),
            PropertyKey::Double(d) => number(*d)?.to_string(),
            PropertyKey::String(s) => js_string(s),
        };
        fields.insert(name, from_v8(heap, item, depth, budget)?);
    }
    Ok(Value::Object(fields))
}

/// A JS number as JSON: whole numbers in the safe range as integers.
fn number(d: f64) -> Result<Value, String> {
    if d.fract() == 0.0 && d.abs() <= MAX_SAFE_INTEGER {
        return Ok(Value::from(d as i64));
    }
    Number::from_f64(d)
        .map(Value::Number)
        .ok_or_else(|| no_json_form(&format!("the number {d}")))
}

fn no_json_form(what: &str) -> String {
    format!("it holds {what}, which has no JSON form; read or rewrite it from Deno")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn round_trip(value: Value) {
        let bytes = encode(&value).unwrap();
        assert_eq!(decode(&bytes, &|| "k".into()).unwrap(), Some(value));
    }

    #[test]
    fn depth_limit_is_the_serializers() {
        let nested = |n| crate::json::nested(n, json!({"leaf": [1]}));
        assert!(encode(&nested(MAX_WRITE_DEPTH - 2)).is_ok());
        assert!(matches!(
            encode(&nested(MAX_WRITE_DEPTH - 1)),
            Err(KvError::InvalidValue { .. })
        ));
    }

    #[test]
    fn json_values_round_trip() {
        round_trip(json!(null));
        round_trip(json!({"a": [1, -2, 2147483648i64, 1.5, "é😀", null, true, {}], "": []}));
        round_trip(json!("x".repeat(10_000)));
        round_trip(json!(-9007199254740991i64));
        round_trip(json!([9007199254740992i64, i64::MIN, u64::MAX, 1e300]));
    }

    #[test]
    fn bytes_match_v8() {
        // What V8 (Deno 2) writes for {"a":1} and "é": version 15 header,
        // begin object, one-byte "a", smi 1, end object with one property.
        assert_eq!(
            encode(&json!({"a": 1})).unwrap(),
            b"\xff\x0fo\"\x01aI\x02{\x01"
        );
        assert_eq!(encode(&json!("é")).unwrap()[..3], *b"\xff\x0fc");
    }

    #[test]
    fn reads_what_deno_2_writes() {
        // Deno 2.9 (V8 15, wire format version 16) for {x: [1, null, "é"]}:
        // "é" is a one-byte (Latin-1) string.
        let bytes = b"\xff\x10o\"\x01xA\x03I\x020\"\x01\xe9$\x00\x03{\x01";
        assert_eq!(
            decode(bytes, &|| "k".into()).unwrap(),
            Some(json!({"x": [1, null, "é"]}))
        );
    }

    #[test]
    fn values_without_json_form_are_corrupt_entries() {
        // V8 bytes of `new Date(0)` and of `2n ** 64n`.
        for bytes in [
            &b"\xff\x0fD\x00\x00\x00\x00\x00\x00\x00\x00"[..],
            b"\xff\x0fZ\x20\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00",
        ] {
            let error = decode(bytes, &|| "[\"k\"]".into()).unwrap_err();
            assert!(matches!(error, KvError::Corrupt { .. }), "{error}");
        }
        assert!(matches!(
            decode(b"not v8", &|| "k".into()),
            Err(KvError::Corrupt { .. })
        ));
    }

    #[test]
    fn top_level_undefined_is_absent() {
        assert_eq!(decode(b"\xff\x0f_", &|| "k".into()).unwrap(), None);
    }
}
