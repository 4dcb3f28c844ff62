//! JSON text as JavaScript reads and writes it (`fedikv::json`,
//! `fedikv::js`, `KvKey::{to_json, from_json}`): the SQLite and MySQL key and
//! value text, the CLI's input and output.
//!
//! Input: bytes, read two ways. Checked:
//!
//! - as JavaScript strings (keys split by byte 0xFE, components by 0xFF;
//!   see `fedikv_fuzz::input`): `js::to_utf16` inverts `js::from_utf16`;
//!   `KvKey::to_json` and `json::stringify` of strings, arrays and objects
//!   (object keys too) are byte-identical to a reference `JSON.stringify`
//!   written from ECMAScript's QuoteJSONString (rule K4), and `from_json` and
//!   `parse` read them back equal (rules K1, V1);
//! - as JSON text: `parse` never panics nor overflows the stack, also inside
//!   10,000 levels of arrays and of objects (where it reads the same value),
//!   and what it reads is written by `stringify` as the reference does and
//!   read back deep-equal.
#![no_main]

use fedikv::json::{drop_deep, json_eq, parse, stringify};
use fedikv::{KvKey, js};
use fedikv_fuzz::input::{COMPONENT, fields, key, units};
use fedikv_fuzz::reference;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

/// How deep the text is nested for the deep checks.
const DEPTH: usize = 10_000;

/// Inputs up to this long are also read nested [`DEPTH`] levels deep.
const MAX_NESTED_INPUT: usize = 1024;

fuzz_target!(|data: &[u8]| {
    strings(data);
    if let Ok(text) = std::str::from_utf8(data) {
        text_round_trip(text);
    }
});

fn strings(data: &[u8]) {
    let mut strings = Vec::new();
    for field in fields(data) {
        for component in field.split(|&b| b == COMPONENT) {
            let units = units(component);
            let text = js::from_utf16(&units);
            assert_eq!(js::to_utf16(&text), units);
            strings.push(text);
        }
        if let Ok(key) = key(field) {
            let expected: Vec<String> = key
                .components()
                .iter()
                .map(|c| reference::quote_json(&js::to_utf16(c)))
                .collect();
            let text = key.to_json();
            assert_eq!(text, format!("[{}]", expected.join(",")));
            assert_eq!(KvKey::from_json(&text).ok(), Some(key));
        }
    }
    let array = Value::Array(strings.iter().cloned().map(Value::String).collect());
    let object: Map<String, Value> = strings
        .into_iter()
        .map(|s| (s.clone(), Value::String(s)))
        .collect();
    for value in [array, Value::Object(object)] {
        let text = stringify(&value);
        assert_eq!(text, reference::stringify(&value));
        let read = parse(&text).unwrap_or_else(|e| panic!("{e} reading {text}"));
        assert!(json_eq(&read, &value), "{text}");
    }
}

fn text_round_trip(text: &str) {
    let parsed = parse(text);
    if let Ok(value) = &parsed {
        let written = stringify(value);
        assert_eq!(written, reference::stringify(value));
        let read = parse(&written).unwrap_or_else(|e| panic!("{e} reading {written}"));
        assert!(json_eq(&read, value), "{written}");
        assert_eq!(stringify(&read), written);
        drop_deep(read);
    }
    if text.len() <= MAX_NESTED_INPUT {
        for (open, close) in [("[", "]"), ("{\"\":", "}")] {
            let nested = format!("{}{text}{}", open.repeat(DEPTH), close.repeat(DEPTH));
            match (parse(&nested), &parsed) {
                (Ok(deep), Ok(value)) => {
                    let written = stringify(&deep);
                    let (head, tail) = (open.repeat(DEPTH), close.repeat(DEPTH));
                    let middle = written
                        .strip_prefix(&head)
                        .and_then(|w| w.strip_suffix(&tail));
                    assert_eq!(
                        middle,
                        Some(&*stringify(value)),
                        "{text:?} nested in {open}"
                    );
                    let mut inside = &deep;
                    for _ in 0..DEPTH {
                        inside = match inside {
                            Value::Array(items) if items.len() == 1 => &items[0],
                            Value::Object(members) if members.len() == 1 => &members[""],
                            _ => panic!("not {DEPTH} levels of {open}"),
                        };
                    }
                    assert!(json_eq(inside, value));
                    drop_deep(deep);
                }
                (Err(e), Ok(_)) => panic!("{text:?} nested {DEPTH} deep in {open}: {e}"),
                // Text that is no JSON value may still complete the nesting
                // (`1],[2`): reading it must only not fail otherwise.
                (deep, Err(_)) => {
                    deep.map(drop_deep).ok();
                }
            }
        }
    }
    if let Ok(value) = parsed {
        drop_deep(value);
    }
}
