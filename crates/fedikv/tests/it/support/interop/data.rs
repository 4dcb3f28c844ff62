//! The keys and values the interop scenarios store: every character class of
//! rule K1 and the JSON values Fedify stores.

use fedikv::KvKey;
use serde_json::{Value, json};

/// `base` with `rest` appended.
pub fn under(base: &KvKey, rest: &[&str]) -> KvKey {
    KvKey::new(
        base.components()
            .iter()
            .map(String::as_str)
            .chain(rest.iter().copied()),
    )
    .expect("valid key")
}

/// A key prefix of its own for one test.
pub fn base(test: &str) -> KvKey {
    KvKey::new(["_fedikv_interop", test]).expect("valid key")
}

/// A remote-document URL about `len` characters long.
fn long_url(len: usize) -> String {
    let mut url = String::from("https://very-long.example/users/");
    while url.len() < len {
        url.push_str("a%2Fb_c%3Fd=");
    }
    url.truncate(len);
    url
}

/// Keys under `base` with every character class of rule K1 (empty
/// component, `:`, `::`, `%`, `_`, `\`, `"`, `*`, `?`, `[`, `]`, newline,
/// emoji, mixed case), near-collisions, a long URL component and Fedify's
/// newline-joined idempotence keys. All distinct, all within every backend's
/// key limit (MySQL: 768 characters of JSON).
pub fn tricky_keys(base: &KvKey) -> Vec<KvKey> {
    let url = long_url(500);
    let idempotence = "https://origin.example\nhttps://origin.example/activities/1\ninbox\nhttps://here.example/users/alice";
    let per_origin = "https://origin.example\nhttps://origin.example/activities/1";
    let rests: Vec<Vec<&str>> = vec![
        vec![],
        vec![""],
        vec!["", ""],
        vec!["a:b"],
        vec!["a", "b"],
        vec!["a:", "b"],
        vec!["a_", ":b"],
        vec!["a::b"],
        vec![":"],
        vec!["::"],
        vec!["_:"],
        vec!["50%"],
        vec!["50x"],
        vec!["snake_case"],
        vec!["snakeXcase"],
        vec!["back\\slash"],
        vec!["q\"uote"],
        vec!["star*", "glob?"],
        vec!["[br]acket", "x]"],
        vec!["line\nbreak"],
        vec!["emoji 🦀✨"],
        vec!["MixedCase"],
        vec!["mixedcase"],
        vec!["remoteDocument", &url],
        vec!["activityIdempotence", idempotence],
        vec!["activityIdempotence", per_origin],
        vec!["publicKey", "https://a.example/users/x#main-key"],
    ];
    rests.iter().map(|rest| under(base, rest)).collect()
}

/// JSON values Fedify stores: nested objects, falsy values, unicode,
/// integers up to 2^53, and a 1 MiB document.
pub fn tricky_values() -> Vec<Value> {
    vec![
        json!({"contextUrl": null, "documentUrl": "https://a.example/u", "document": {
            "@context": ["https://www.w3.org/ns/activitystreams", {"toot": "http://joinmastodon.org/ns#"}],
            "id": "https://a.example/u", "type": "Person", "tag": [], "endpoints": {"sharedInbox": "https://a.example/inbox"}}}),
        Value::Null,
        json!(false),
        json!(true),
        json!(0),
        json!(""),
        json!([]),
        json!({}),
        json!("unicode: é ß 中文 🦀 \u{2028} \"quoted\" back\\slash\nnewline\ttab"),
        json!(9_007_199_254_740_992u64),
        json!(-9_007_199_254_740_992i64),
        json!(9_007_199_254_740_991u64),
        json!(1.5),
        json!(-0.125),
        json!([1, [2, [3, {"deep": [null, false, 0, ""]}]]]),
        json!({"nested": {"a": {"b": {"c": [1, 2, 3]}}}, "Z": 1, "a": 2}),
        one_mib_document(),
    ]
}

/// A JSON object of 1 MiB (1,048,576 bytes of compact JSON).
pub fn one_mib_document() -> Value {
    let overhead = json!({"type": "Note", "content": ""}).to_string().len();
    json!({"type": "Note", "content": "x".repeat((1 << 20) - overhead)})
}

/// An object's JSON text with its keys in an order no JSON storage sorts to
/// (`z` first, nested too), and the same value as a `Value`.
pub fn scrambled_object() -> (&'static str, Value) {
    let text = r#"{"z":{"y":1,"b":[{"q":1,"c":2}]},"a":"first","m":null}"#;
    (text, serde_json::from_str(text).unwrap())
}

/// The tricky keys under `base`, each with a tricky value (cycling through
/// the values, so every key and every value is stored).
pub fn tricky_entries(base: &KvKey) -> Vec<(KvKey, Value)> {
    let keys = tricky_keys(base);
    let values = tricky_values();
    assert!(keys.len() >= values.len(), "every value needs a key");
    keys.into_iter().zip(values.into_iter().cycle()).collect()
}
