//! Helpers shared by the Fedify interop test binaries (`interop_*.rs`): the
//! Node driver `interop/fedify.mjs` that runs Fedify's published store
//! packages, the operations it takes, the tricky keys and values, and the
//! scenarios every backend runs in both directions.
//!
//! The driver and its packages are installed by `scripts/interop-setup.sh`
//! (which `scripts/test.sh` runs). Without them the tests skip, saying so,
//! except under `FEDIKV_TEST_REQUIRE_SERVERS=1` (CI), where they fail.

#![allow(dead_code)] // each test binary uses a different subset

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fedikv::{KvKey, KvStore, KvStoreExt, SetOptions};
use futures::TryStreamExt;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

const SETUP: &str = "scripts/interop-setup.sh";

/// How long one Node batch may take before the test fails (the process is
/// killed): generous for 1 MiB values on a loaded machine, bounded if a
/// server stops answering.
const DRIVER_TIMEOUT: Duration = Duration::from_secs(120);

/// What a Fedify store package offers, for the scenarios to test what exists.
#[derive(Clone, Copy, Debug)]
pub struct Capabilities {
    /// The package has `cas()`.
    pub cas: bool,
    /// The package has `list()`.
    pub list: bool,
    /// The package can store a top-level JSON `null` (`@fedify/postgres`
    /// 1.8.7 binds it as SQL NULL and violates `value NOT NULL`).
    pub null_values: bool,
}

/// One Fedify store, reached through `interop/fedify.mjs`.
pub struct Fedify {
    node: PathBuf,
    script: PathBuf,
    /// The request fields that name the store (backend, URL or path, table or
    /// prefix), merged into every batch.
    target: serde_json::Map<String, Value>,
    pub caps: Capabilities,
}

impl Fedify {
    /// The driver for the store `target` (a JSON object such as
    /// `{"backend":"sqlite","path":…,"table":…}`), or `None` after saying why
    /// when Node 24 and the packages are not installed. Panics instead under
    /// `FEDIKV_TEST_REQUIRE_SERVERS=1`, naming the script that installs them.
    pub fn new(target: Value, caps: Capabilities) -> Option<Self> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let node = root.join("interop/node_modules/.bin/node");
        let script = root.join("interop/fedify.mjs");
        let installed = node.exists() && root.join("interop/node_modules/@fedify").is_dir();
        if !installed {
            let why =
                format!("Fedify's packages are not installed in interop/node_modules: run {SETUP}");
            if std::env::var("FEDIKV_TEST_REQUIRE_SERVERS").as_deref() == Ok("1") {
                panic!("{why} (FEDIKV_TEST_REQUIRE_SERVERS=1)");
            }
            eprintln!("skipping: {why}");
            return None;
        }
        let Value::Object(target) = target else {
            panic!("a Fedify target is a JSON object");
        };
        Some(Self {
            node,
            script,
            target,
            caps,
        })
    }

    /// Runs `ops` in one Node process and returns one result per operation
    /// (`{"error": …}` for an operation the store rejected).
    pub async fn run(&self, ops: Vec<Value>) -> Vec<Value> {
        let count = ops.len();
        let mut request = self.target.clone();
        request.insert("ops".into(), Value::Array(ops));
        let input = serde_json::to_vec(&request).expect("request as JSON");
        let mut child = tokio::process::Command::new(&self.node)
            .arg(&self.script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e} (run {SETUP})", self.node.display()));
        let mut stdin = child.stdin.take().expect("piped stdin");
        let writer = async move {
            stdin.write_all(&input).await.expect("write the request");
            drop(stdin);
        };
        let run = async { tokio::join!(child.wait_with_output(), writer).0 };
        let output = tokio::time::timeout(DRIVER_TIMEOUT, run)
            .await
            .unwrap_or_else(|_| {
                panic!("interop/fedify.mjs did not finish within {DRIVER_TIMEOUT:?}")
            })
            .expect("wait for the driver");
        assert!(
            output.status.success(),
            "interop/fedify.mjs failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let reply: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "driver output is not JSON ({e}): {}",
                String::from_utf8_lossy(&output.stdout)
            )
        });
        let results = reply["results"].as_array().expect("results").clone();
        assert_eq!(results.len(), count, "one result per operation");
        results
    }

    /// Runs one operation.
    pub async fn one(&self, op: Value) -> Value {
        self.run(vec![op]).await.remove(0)
    }
}

/// Operations for [`Fedify::run`]; TTLs in milliseconds.
pub mod op {
    use super::*;

    fn ttl_field(op: &mut Value, ttl: Option<Duration>) {
        if let Some(ttl) = ttl {
            op["ttl_ms"] = json!(ttl.as_millis() as u64);
        }
    }

    pub fn set(key: &KvKey, value: &Value, ttl: Option<Duration>) -> Value {
        let mut op = json!({"op": "set", "key": key, "value": value});
        ttl_field(&mut op, ttl);
        op
    }

    /// `set` of a value given as JSON text, so Fedify sees its key order.
    pub fn set_json(key: &KvKey, value_json: &str, ttl: Option<Duration>) -> Value {
        let mut op = json!({"op": "set", "key": key, "value_json": value_json});
        ttl_field(&mut op, ttl);
        op
    }

    pub fn get(key: &KvKey) -> Value {
        json!({"op": "get", "key": key})
    }

    pub fn delete(key: &KvKey) -> Value {
        json!({"op": "delete", "key": key})
    }

    /// `cas`; `None` is JavaScript `undefined` (absent / delete).
    pub fn cas(
        key: &KvKey,
        expected: Option<&Value>,
        new: Option<&Value>,
        ttl: Option<Duration>,
    ) -> Value {
        let mut op = json!({"op": "cas", "key": key});
        if let Some(expected) = expected {
            op["expected"] = expected.clone();
        }
        if let Some(new) = new {
            op["new"] = new.clone();
        }
        ttl_field(&mut op, ttl);
        op
    }

    /// `cas` whose expected value is JSON text (Fedify sees its key order).
    pub fn cas_json(key: &KvKey, expected_json: &str, new: Option<&Value>) -> Value {
        let mut op = cas(key, None, new, None);
        op["expected_json"] = json!(expected_json);
        op
    }

    /// `times` increments of the number at `key` through Fedify's `get` +
    /// `cas` retry loop (at most 100 `cas` calls per increment).
    pub fn increment(key: &KvKey, times: u32) -> Value {
        json!({"op": "increment", "key": key, "times": times, "max_attempts": times * 100})
    }

    pub fn list(prefix: Option<&KvKey>) -> Value {
        match prefix {
            Some(prefix) => json!({"op": "list", "prefix": prefix}),
            None => json!({"op": "list"}),
        }
    }
}

/// Panics with the driver's message when `result` is an error.
pub fn check(result: &Value, what: &str) {
    if let Some(error) = result.get("error") {
        panic!("Fedify {what} failed: {error}");
    }
}

/// The value of a `get` result; `None` when Fedify returned `undefined`.
pub fn got(result: &Value) -> Option<Value> {
    check(result, "get");
    result.get("value").cloned()
}

/// The outcome of a `cas` result.
pub fn swapped(result: &Value) -> bool {
    check(result, "cas");
    result["swapped"].as_bool().expect("swapped is a boolean")
}

/// The entries of a `list` result, by key (panics on a key listed twice).
pub fn entries(result: &Value) -> BTreeMap<KvKey, Value> {
    check(result, "list");
    let mut map = BTreeMap::new();
    for entry in result["entries"].as_array().expect("entries") {
        let key: KvKey = serde_json::from_value(entry["key"].clone()).expect("a listed key");
        assert!(
            map.insert(key.clone(), entry["value"].clone()).is_none(),
            "Fedify listed {key} twice"
        );
    }
    map
}

/// fedikv's `list(prefix)`, by key (panics on a key listed twice).
pub async fn fedikv_list(store: &dyn KvStore, prefix: &KvKey) -> BTreeMap<KvKey, Value> {
    let listed: Vec<_> = store.list(Some(prefix)).try_collect().await.expect("list");
    let mut map = BTreeMap::new();
    for entry in listed {
        let key = entry.key.clone();
        assert!(
            map.insert(entry.key, entry.value).is_none(),
            "fedikv listed {key} twice"
        );
    }
    map
}

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

/// Keys under `base` with every character class of SPEC K1 (empty
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

/// An hour: a TTL that does not run out during a test.
pub const HOUR: Duration = Duration::from_secs(3600);

/// Fedify writes every tricky entry (every other one with a TTL, plus an
/// object with scrambled key order); fedikv reads them with `get` and
/// `list`, swaps each one with `cas` against the value Fedify wrote, and
/// Fedify reads what fedikv swapped in. Where the package has `cas`, Fedify
/// also creates an entry with it that fedikv reads.
pub async fn fedify_writes_fedikv_reads(store: &dyn KvStore, fedify: &Fedify, base: &KvKey) {
    let data = tricky_entries(base);
    let (scrambled_text, scrambled) = scrambled_object();
    let scrambled_key = under(base, &["scrambled"]);
    let mut ops: Vec<Value> = data
        .iter()
        .enumerate()
        .map(|(i, (k, v))| op::set(k, v, (i % 2 == 1).then_some(HOUR)))
        .collect();
    ops.push(op::set_json(&scrambled_key, scrambled_text, None));
    let results = fedify.run(ops).await;
    check(&results[data.len()], "set of JSON text");
    let mut expected: BTreeMap<KvKey, Value> = BTreeMap::new();
    for ((k, v), result) in data.iter().zip(results) {
        if v.is_null() && !fedify.caps.null_values {
            assert!(
                result.get("error").is_some(),
                "Fedify was expected to refuse a null value"
            );
            continue;
        }
        check(&result, "set");
        expected.insert(k.clone(), v.clone());
    }

    expected.insert(scrambled_key.clone(), scrambled.clone());
    for (k, v) in &expected {
        assert_eq!(
            store.get(k).await.unwrap().as_ref(),
            Some(v),
            "fedikv get {k}"
        );
    }
    assert_eq!(fedikv_list(store, base).await, expected, "fedikv list");
    assert_eq!(store.get(&under(base, &["absent"])).await.unwrap(), None);

    // fedikv's scan reads Fedify's expiry: the hour it set (minus the time
    // since), or none.
    let with_ttl: BTreeSet<&KvKey> = data.iter().skip(1).step_by(2).map(|(k, _)| k).collect();
    let records: Vec<_> = store.scan(Some(base)).try_collect().await.expect("scan");
    assert_eq!(records.len(), expected.len(), "fedikv scan");
    for record in &records {
        assert_eq!(
            expected.get(&record.key),
            Some(&record.value),
            "fedikv scan {}",
            record.key
        );
        match record.expires_in {
            Some(left) => assert!(
                with_ttl.contains(&record.key)
                    && left <= HOUR
                    && left > HOUR - Duration::from_secs(120),
                "{} expires in {left:?}",
                record.key
            ),
            None => assert!(
                !with_ttl.contains(&record.key),
                "{} lost its TTL",
                record.key
            ),
        }
    }

    // cas against what Fedify wrote: a wrong expectation changes nothing, the
    // right one (key order as fedikv's serde_json holds it) swaps.
    for (i, (k, v)) in expected.iter().enumerate() {
        let wrong = json!({"not": v});
        let no = store
            .cas(k, Some(&wrong), None, SetOptions::default())
            .await
            .unwrap();
        assert!(!no, "fedikv cas with a wrong expectation swapped {k}");
        let yes = store
            .cas(
                k,
                Some(v),
                Some(&json!({"swapped": i})),
                SetOptions::default(),
            )
            .await
            .unwrap();
        assert!(yes, "fedikv cas against Fedify's value of {k} did not swap");
        assert!(
            !store
                .cas(k, None, Some(&json!(0)), SetOptions::default())
                .await
                .unwrap()
        );
    }
    let reads = fedify.run(expected.keys().map(op::get).collect()).await;
    for (i, (k, result)) in expected.keys().zip(&reads).enumerate() {
        assert_eq!(
            got(result),
            Some(json!({"swapped": i})),
            "Fedify get {k} after fedikv cas"
        );
    }

    if fedify.caps.cas {
        let created = under(base, &["created by Fedify cas"]);
        let results = fedify
            .run(vec![
                op::cas(&created, None, Some(&scrambled), None),
                op::cas(&created, None, Some(&json!(1)), None),
            ])
            .await;
        assert!(swapped(&results[0]) && !swapped(&results[1]));
        assert_eq!(store.get(&created).await.unwrap(), Some(scrambled));
    }
}

/// fedikv writes every tricky entry (every other one with a TTL); Fedify
/// reads them with `get` (and `list` where it has it); where it has `cas`,
/// Fedify swaps an object fedikv wrote, giving the expected value with a
/// different key order, and compare-and-deletes another. fedikv sees both.
pub async fn fedikv_writes_fedify_reads(store: &dyn KvStore, fedify: &Fedify, base: &KvKey) {
    let data = tricky_entries(base);
    for (i, (k, v)) in data.iter().enumerate() {
        let options = SetOptions::with_ttl((i % 2 == 1).then_some(HOUR));
        store.set(k, v, options).await.unwrap();
    }
    let mut ops: Vec<Value> = data.iter().map(|(k, _)| op::get(k)).collect();
    ops.push(op::get(&under(base, &["absent"])));
    ops.push(op::list(Some(base)));
    let results = fedify.run(ops).await;
    for ((k, v), result) in data.iter().zip(&results) {
        assert_eq!(got(result).as_ref(), Some(v), "Fedify get {k}");
    }
    assert_eq!(
        got(&results[data.len()]),
        None,
        "Fedify get of an absent key"
    );
    let listed = &results[data.len() + 1];
    if fedify.caps.list {
        let expected: BTreeMap<KvKey, Value> = data.iter().cloned().collect();
        assert_eq!(entries(listed), expected, "Fedify list");
    } else {
        assert!(
            listed.get("error").is_some(),
            "this package was not expected to have list()"
        );
    }

    let (scrambled_text, scrambled) = scrambled_object();
    let swap_key = under(base, &["swapped by Fedify"]);
    let delete_key = under(base, &["deleted by Fedify"]);
    store
        .set(&swap_key, &scrambled, SetOptions::default())
        .await
        .unwrap();
    store
        .set(&delete_key, &scrambled, SetOptions::ttl(HOUR))
        .await
        .unwrap();
    let results = fedify
        .run(vec![
            op::cas_json(
                &swap_key,
                r#"{"a":"first","z":{"y":2}}"#,
                Some(&json!("no")),
            ),
            op::cas_json(&swap_key, scrambled_text, Some(&json!("swapped"))),
            op::cas_json(&delete_key, scrambled_text, None),
        ])
        .await;
    if fedify.caps.cas {
        assert!(
            !swapped(&results[0]),
            "Fedify cas with a wrong expectation swapped"
        );
        assert!(
            swapped(&results[1]),
            "Fedify cas against fedikv's value did not swap"
        );
        assert!(
            swapped(&results[2]),
            "Fedify compare-and-delete did not swap"
        );
        assert_eq!(store.get(&swap_key).await.unwrap(), Some(json!("swapped")));
        assert_eq!(store.get(&delete_key).await.unwrap(), None);
    } else {
        assert!(results.iter().all(|r| r.get("error").is_some()));
        assert_eq!(store.get(&swap_key).await.unwrap(), Some(scrambled));
    }
}

/// Panics when checks that expected entries written at or after `started`
/// with `ttl` to be live ended too late to prove it.
pub fn assert_live_checks_in_time(started: Instant, ttl: Duration) {
    let elapsed = started.elapsed();
    assert!(
        elapsed < ttl,
        "the live checks ended {elapsed:?} after the first write, past the {ttl:?} TTL: they proved nothing"
    );
}

/// Sleeps until entries written up to `finished` with `ttl` have expired,
/// plus 100 ms for the clocks' resolution.
pub async fn sleep_past_expiry(finished: Instant, ttl: Duration) {
    let wake = finished + ttl + Duration::from_millis(100);
    tokio::time::sleep_until(wake.into()).await;
}

/// The TTL used by [`ttl_agreement`]: whole seconds, since Fedify's Redis
/// store accepts nothing else.
pub const TTL: Duration = Duration::from_secs(3);

/// An entry written with a TTL by one side is live for the other before it
/// expires and gone for it afterwards (`get`, `list`, and `cas` treating the
/// expired entry as absent); a rewrite without a TTL by the other side makes
/// the entry permanent for both.
pub async fn ttl_agreement(store: &dyn KvStore, fedify: &Fedify, base: &KvKey) {
    let by_fedify = under(base, &["ttl", "by Fedify"]);
    let by_fedikv = under(base, &["ttl", "by fedikv"]);
    let kept_by_fedikv = under(base, &["ttl", "Fedify's TTL cleared by fedikv"]);
    let kept_by_fedify = under(base, &["ttl", "fedikv's TTL cleared by Fedify"]);
    let v = json!({"expires": "soon"});

    // Live checks must end before `started + TTL` (no write under test began
    // earlier); gone checks start after `finished + TTL` (every write had
    // ended). Two Node runs lie between `started` and the last live check.
    let kept = json!("kept");
    store
        .set(&kept_by_fedify, &v, SetOptions::ttl(TTL))
        .await
        .unwrap();
    let started = Instant::now();
    let writes = vec![
        op::set(&by_fedify, &v, Some(TTL)),
        op::set(&kept_by_fedikv, &v, Some(TTL)),
        op::set(&kept_by_fedify, &kept, None),
    ];
    for result in fedify.run(writes).await {
        check(&result, "set");
    }
    store
        .set(&by_fedikv, &v, SetOptions::ttl(TTL))
        .await
        .unwrap();
    store
        .set(&kept_by_fedikv, &kept, SetOptions::default())
        .await
        .unwrap();
    let finished = Instant::now();

    // Before expiry.
    let fedikv_read = store.get(&by_fedify).await.unwrap();
    let listed = fedikv_list(store, &under(base, &["ttl"])).await;
    let reads = fedify
        .run(vec![op::get(&by_fedikv), op::get(&by_fedify)])
        .await;
    assert_live_checks_in_time(started, TTL);
    assert_eq!(
        fedikv_read,
        Some(v.clone()),
        "fedikv get of a live Fedify entry"
    );
    assert!(
        listed.contains_key(&by_fedify),
        "fedikv list misses a live Fedify entry"
    );
    assert_eq!(
        got(&reads[0]),
        Some(v.clone()),
        "Fedify get of a live fedikv entry"
    );
    assert_eq!(got(&reads[1]), Some(v.clone()));

    sleep_past_expiry(finished, TTL).await;
    assert_eq!(
        store.get(&by_fedify).await.unwrap(),
        None,
        "fedikv sees an expired Fedify entry"
    );
    assert_eq!(store.get(&by_fedikv).await.unwrap(), None);
    let listed = fedikv_list(store, &under(base, &["ttl"])).await;
    let kept_keys = BTreeSet::from([kept_by_fedikv.clone(), kept_by_fedify.clone()]);
    let live: BTreeSet<KvKey> = listed.into_keys().collect();
    assert_eq!(live, kept_keys, "fedikv list after expiry");
    let mut ops = vec![
        op::get(&by_fedikv),
        op::get(&by_fedify),
        op::get(&kept_by_fedikv),
        op::get(&kept_by_fedify),
        op::list(Some(&under(base, &["ttl"]))),
    ];
    if fedify.caps.cas {
        ops.push(op::cas(
            &by_fedikv,
            None,
            Some(&json!("recreated by Fedify")),
            None,
        ));
    }
    let reads = fedify.run(ops).await;
    assert_eq!(got(&reads[0]), None, "Fedify sees an expired fedikv entry");
    assert_eq!(got(&reads[1]), None);
    assert_eq!(
        got(&reads[2]),
        Some(kept.clone()),
        "fedikv's rewrite kept Fedify's TTL"
    );
    assert_eq!(
        got(&reads[3]),
        Some(kept),
        "Fedify's rewrite kept fedikv's TTL"
    );
    if fedify.caps.list {
        let live: BTreeSet<KvKey> = entries(&reads[4]).into_keys().collect();
        assert_eq!(live, kept_keys, "Fedify list after expiry");
    }
    if fedify.caps.cas {
        assert!(
            swapped(&reads[5]),
            "Fedify cas(undefined) on an expired fedikv entry"
        );
        assert_eq!(
            store.get(&by_fedikv).await.unwrap(),
            Some(json!("recreated by Fedify"))
        );
    }
    // fedikv's create-if-absent over Fedify's expired entry.
    let created = store
        .cas(
            &by_fedify,
            None,
            Some(&json!("recreated by fedikv")),
            SetOptions::default(),
        )
        .await
        .unwrap();
    assert!(created, "fedikv cas(None) on an expired Fedify entry");
    assert_eq!(
        got(&fedify.one(op::get(&by_fedify)).await),
        Some(json!("recreated by fedikv"))
    );
}

/// Two Fedify processes (each 25 increments through its `get` + `cas` loop)
/// and two fedikv tasks (`KvStoreExt::update`, incrementing until both
/// processes are done, so the two sides overlap for the whole run) increment
/// one counter: no increment is lost, so each side's `cas` is atomic against
/// the other's.
pub async fn cas_increments_from_both_sides(store: &dyn KvStore, fedify: &Fedify, base: &KvKey) {
    const FEDIFY_TIMES: u32 = 25;
    let counter = under(base, &["counter"]);
    let running = std::sync::atomic::AtomicU32::new(2);
    let node = || async {
        let result = fedify.one(op::increment(&counter, FEDIFY_TIMES)).await;
        running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        check(&result, "increment");
        result["attempts"].as_u64().expect("attempts")
    };
    let fedikv = || async {
        let mut done = 0u64;
        // Bounded: at most 2000 increments per task.
        while done < 2000 && (done < 5 || running.load(std::sync::atomic::Ordering::SeqCst) > 0) {
            store
                .update(&counter, SetOptions::default(), |n| {
                    Some(json!(n.and_then(Value::as_u64).unwrap_or(0) + 1))
                })
                .await
                .expect("fedikv increment");
            done += 1;
        }
        done
    };
    let (a, b, c, d) = tokio::join!(node(), node(), fedikv(), fedikv());
    let total = 2 * u64::from(FEDIFY_TIMES) + c + d;
    eprintln!(
        "Fedify: {} increments in {} cas attempts; fedikv: {} increments",
        2 * FEDIFY_TIMES,
        a + b,
        c + d
    );
    assert_eq!(
        store.get(&counter).await.unwrap(),
        Some(json!(total)),
        "fedikv reads the count"
    );
    assert_eq!(
        got(&fedify.one(op::get(&counter)).await),
        Some(json!(total)),
        "Fedify reads the count"
    );
}
