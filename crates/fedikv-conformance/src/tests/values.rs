//! V1–V4: values.

use std::sync::Arc;

use fedikv::json::{self, JsonText};
use fedikv::{KvKey, KvStore, SetOptions};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use crate::Namespace;
use crate::support::{Kv, assert_entries, assert_value};

/// `null`, `false`, `0`, `""`, `[]`, `{}`: values that weak stores mistake for
/// absence.
fn falsy_values() -> [(&'static str, Value); 6] {
    [
        ("null", json!(null)),
        ("false", json!(false)),
        ("zero", json!(0)),
        ("empty string", json!("")),
        ("empty array", json!([])),
        ("empty object", json!({})),
    ]
}

/// V1: `null`, `false`, `0`, `""`, `[]` and `{}` are stored values: `get`
/// returns them (not `None`), `list` lists them, `cas` matches them and
/// create-if-absent refuses to overwrite them.
pub async fn v1_falsy_values_are_values(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("v1_falsy_values_are_values");
    let kv = Kv::new(store);
    let mut expected = Vec::new();
    for (name, value) in falsy_values() {
        let key = ns.key([name]);
        kv.set(&key, value.clone()).await;
        assert_value(
            &format!("V1: get of stored {name}"),
            kv.get(&key).await,
            Some(value.clone()),
        );
        assert!(
            !kv.cas(&key, None, Some(json!("created"))).await,
            "V1: cas(expected absent) must fail on a stored {name}"
        );
        assert_value(
            &format!("V1: {name} after a failed create"),
            kv.get(&key).await,
            Some(value.clone()),
        );
        expected.push((key, value));
    }
    assert_entries(
        "V1: list of falsy values",
        &kv.list(Some(ns.prefix())).await,
        &expected,
    );
    for (key, value) in &expected {
        assert!(
            kv.cas(key, Some(value.clone()), Some(json!("swapped")))
                .await,
            "V1: cas(expected {value}) must match the stored {value} under {key}"
        );
        assert_value(
            &format!("V1: get({key}) after cas"),
            kv.get(key).await,
            Some(json!("swapped")),
        );
    }
}

/// V1, O4: Fedify's SQLite "complex values" test: nested objects, `null`,
/// `""`, arrays, objects, `false` and `0` are stored and swapped by `cas`;
/// create-if-absent on a never-written key succeeds.
pub async fn v1_fedify_complex_values(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("v1_fedify_complex_values");
    let kv = Kv::new(store);
    let complex = ns.key(["complex"]);
    kv.set(&complex, json!({"nested": {"value": "test"}})).await;
    assert_value(
        "V1: nested object",
        kv.get(&complex).await,
        Some(json!({"nested": {"value": "test"}})),
    );

    let undefined = ns.key(["undefined"]);
    assert_value("V1: never-written key", kv.get(&undefined).await, None);
    assert!(
        kv.cas(&undefined, None, Some(json!("baz"))).await,
        "O4: create-if-absent"
    );
    assert_value(
        "V1: created value",
        kv.get(&undefined).await,
        Some(json!("baz")),
    );

    let steps = [
        ("null", json!(null), json!("baz")),
        ("empty string", json!(""), json!("baz")),
        ("array", json!([1, 2, 3]), json!([1, 2, 3, 4])),
        (
            "object",
            json!({"a": 1, "b": 2}),
            json!({"a": 1, "b": 2, "c": 3}),
        ),
        ("falsy/false", json!(false), json!(true)),
        ("falsy/0", json!(0), json!(1)),
    ];
    for (name, old, new) in steps {
        let key = ns.key(name.split('/'));
        kv.set(&key, old.clone()).await;
        assert_value(
            &format!("V1: get of {name}"),
            kv.get(&key).await,
            Some(old.clone()),
        );
        assert!(
            kv.cas(&key, Some(old.clone()), Some(new.clone())).await,
            "O4: cas({old} -> {new}) on {name} must swap"
        );
        assert_value(
            &format!("V1: get of {name} after cas"),
            kv.get(&key).await,
            Some(new),
        );
    }
    assert_value(
        "V2: object keys in another order",
        kv.get(&ns.key(["object"])).await,
        Some(json!({"c": 3, "b": 2, "a": 1})),
    );
}

/// Objects nested `depth` levels deep.
fn nested(depth: usize) -> Value {
    (0..depth).fold(
        json!("bottom"),
        |inner, i| json!({ "level": i, "inner": inner, "list": [i, null] }),
    )
}

/// V2: what `get` and `list` return deep-equals what was set, for strings
/// with escapes and astral characters, integers up to `u64::MAX` and down to
/// `i64::MIN`, fractions and exponents, object keys that need escaping, many
/// keys, deep nesting and arrays of mixed types (object key order may change).
pub async fn v2_round_trip_is_deep_equal(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("v2_round_trip_is_deep_equal");
    let kv = Kv::new(store);
    let many_keys: serde_json::Map<String, Value> =
        (0..300).map(|i| (format!("k{i:03}"), json!(i))).collect();
    let values = [
        ("string", json!("foobar")),
        (
            "escapes",
            json!("quote \" backslash \\ slash / nl \n cr \r tab \t ctl \u{1}\u{1f} del \u{7f}"),
        ),
        (
            "unicode",
            json!("é e\u{301} 😀 🏳️‍🌈 \u{2028}\u{2029} \u{fffd} 中文 العربية"),
        ),
        ("true", json!(true)),
        (
            "integers",
            json!([
                0,
                1,
                -1,
                42,
                i64::MAX,
                i64::MIN,
                u64::MAX,
                9_007_199_254_740_993_u64
            ]),
        ),
        (
            "fractions",
            json!([
                0.5,
                -0.25,
                1.5e-7,
                std::f64::consts::PI,
                1e300,
                -2.5e-300,
                1.0
            ]),
        ),
        (
            "mixed array",
            json!([null, true, false, 0, "", [], {}, [[]], {"a": [{}]}]),
        ),
        (
            "object keys",
            json!({"": 1, "a.b": 2, "$ref": 3, "key with \"quotes\"": 4, "😀": 5, "__proto__": 6, "nl\n": 7}),
        ),
        ("many keys", Value::Object(many_keys)),
        ("nested", nested(20)),
        (
            "activity",
            json!({
                "@context": ["https://www.w3.org/ns/activitystreams", {"toot": "http://joinmastodon.org/ns#"}],
                "id": "https://example.com/users/alice",
                "type": "Person",
                "publicKey": {"id": "https://example.com/users/alice#main-key", "publicKeyPem": "-----BEGIN PUBLIC KEY-----\nMIIB...\n-----END PUBLIC KEY-----\n"},
                "followers": null,
                "discoverable": false,
                "published": "2024-01-01T00:00:00Z"
            }),
        ),
    ];
    let mut expected = Vec::new();
    for (name, value) in values {
        let key = ns.key([name]);
        kv.set(&key, value.clone()).await;
        assert_value(
            &format!("V2: round trip of {name}"),
            kv.get(&key).await,
            Some(value.clone()),
        );
        expected.push((key, value));
    }
    assert_entries(
        "V2: list returns the values set",
        &kv.list(Some(ns.prefix())).await,
        &expected,
    );
    // json_eq compares integers beyond 2^53 through f64; the integers
    // themselves must come back exactly.
    let integers = kv.get(&ns.key(["integers"])).await;
    let exact: Vec<String> = integers
        .as_ref()
        .and_then(Value::as_array)
        .expect("V2: integers are an array")
        .iter()
        .map(|n| match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(u)) => u.to_string(),
            (None, None) => format!("{n} (not an integer)"),
        })
        .collect();
    let expected_integers = [0, 1, -1, 42, i64::MAX, i64::MIN]
        .map(|i| i.to_string())
        .into_iter()
        .chain([u64::MAX.to_string(), "9007199254740993".to_owned()])
        .collect::<Vec<_>>();
    assert_eq!(
        exact, expected_integers,
        "V2: integers must round trip exactly, not through f64"
    );
    for (key, value) in &expected {
        assert!(
            kv.cas(key, Some(value.clone()), Some(json!("swapped")))
                .await,
            "V2/O4: cas with the value just read back must match under {key}"
        );
    }
}

/// V4: values of at least 1 MiB (a long string, multi-byte text and an object
/// of many fields) round trip through `set`, `get`, `list` and `cas`.
pub async fn v4_one_mib_values_round_trip(store: Arc<dyn KvStore>) {
    const MIB: usize = 1 << 20;
    let ns = Namespace::new("v4_one_mib_values_round_trip");
    let kv = Kv::new(store);
    let long_string = json!("x".repeat(MIB + 1));
    let multibyte = json!("é😀".repeat(MIB / 6 + 1));
    let fields: serde_json::Map<String, Value> = (0..1100)
        .map(|i| {
            (
                format!("field{i:04}"),
                json!({"text": "y".repeat(1000), "n": i}),
            )
        })
        .collect();
    let object = Value::Object(fields);
    let values = [
        ("string", long_string),
        ("multibyte", multibyte),
        ("object", object),
    ];
    let mut expected = Vec::new();
    for (name, value) in values {
        let size = value.to_string().len();
        assert!(
            size >= MIB,
            "the {name} test value must be at least 1 MiB, is {size} bytes"
        );
        let key = ns.key([name]);
        kv.set(&key, value.clone()).await;
        assert_value(
            &format!("V4: 1 MiB {name}"),
            kv.get(&key).await,
            Some(value.clone()),
        );
        expected.push((key, value));
    }
    assert_entries(
        "V4: list of 1 MiB values",
        &kv.list(Some(ns.prefix())).await,
        &expected,
    );
    let (key, value) = &expected[2];
    assert!(
        kv.cas(key, Some(value.clone()), Some(json!("small"))).await,
        "V4: cas comparing a 1 MiB value must swap"
    );
    assert_value("V4: after cas", kv.get(key).await, Some(json!("small")));
}

/// V2 for values passed as JSON text (`get_json`, `set_json`,
/// `scan_json`): text written with `set_json` reads back as the same value
/// through `get`, `get_json` and `scan_json`, and a value written with `set`
/// reads back through `get_json` as `json::stringify` writes it. Object
/// members here are already in every backend's order (sorted, and of equal
/// length, the order PostgreSQL's `jsonb` keeps), so the text must come back
/// byte for byte on every backend.
pub async fn v2_json_text_round_trips(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("v2_json_text_round_trips");
    let texts = [
        (
            "spaced",
            r#" { "a" : [ 1 , 2.5 , 1E21 ] , "b" : "\u00e9\/\n" } "#,
        ),
        (
            "numbers",
            "[0,-1,18446744073709551615,-9223372036854775808,0.5,1.5e-7]",
        ),
        (
            "escapes",
            r#""quote \" backslash \\ tab \t ctl \u0001 😀 \ud83d\ude00""#,
        ),
        ("falsy", r#"[null,false,0,"",[],{}]"#),
        (
            "nested",
            "[[[[[[[[[[{\"k\":[[[[[[[[[[1]]]]]]]]]]}]]]]]]]]]]",
        ),
    ];
    let mut written = Vec::new();
    for (name, input) in texts {
        let key = ns.key([name]);
        let text = JsonText::from_text(input).expect("the test's JSON text");
        let value = json::parse(input).expect("the test's JSON text");
        store
            .set_json(&key, text.clone(), SetOptions::default())
            .await
            .unwrap_or_else(|e| panic!("V2: set_json of {name}: {e}"));
        let read = store.get(&key).await.expect("V2: get after set_json");
        assert!(
            json::json_opt_eq(read.as_ref(), Some(&value)),
            "V2: get after set_json of {name}: {read:?}"
        );
        let read_text = store.get_json(&key).await.expect("V2: get_json");
        assert_eq!(
            read_text.as_ref(),
            Some(&text),
            "V2: get_json after set_json of {name}"
        );
        written.push((key, text));
    }
    let value = json!({"a": [1, "x"], "b": {"c": null}});
    let key = ns.key(["set with a Value"]);
    store
        .set(&key, &value, SetOptions::default())
        .await
        .expect("V2: set");
    assert_eq!(
        store
            .get_json(&key)
            .await
            .expect("V2: get_json")
            .map(JsonText::into_string),
        Some(json::stringify(&value)),
        "V2: get_json after set"
    );
    written.push((key, JsonText::from_value(&value)));
    let mut scanned: Vec<(KvKey, JsonText)> = store
        .scan_json(Some(ns.prefix()))
        .map(|item| item.map(|record| (record.key, record.value)))
        .try_collect()
        .await
        .expect("V2: scan_json");
    scanned.sort_by_key(|a| a.0.to_json());
    written.sort_by_key(|a| a.0.to_json());
    assert_eq!(scanned, written, "V2: scan_json yields the texts written");
}
