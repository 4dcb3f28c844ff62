//! Helpers shared by the Fedify interop tests (each backend's `interop`
//! module): the Node driver `interop/fedify.mjs` that runs Fedify's
//! published store packages, the operations it takes and its results; the
//! tricky keys and values in [`data`]; the scenarios every backend runs in
//! [`scenarios`].
//!
//! The driver and its packages are installed by `scripts/interop-setup.sh`
//! (which `scripts/test.sh` runs). Without them the tests skip, saying so,
//! except under `FEDIKV_TEST_REQUIRE_SERVERS=1` (CI), where they fail.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fedikv::{KvKey, KvStore};
use futures::TryStreamExt;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

pub mod data;
pub mod scenarios;

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
        // fedikv's JSON text: lone surrogates as `\udxxx`, which JSON.parse
        // turns back into the JavaScript strings they stand for.
        let input = fedikv::json::stringify(&Value::Object(request)).into_bytes();
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
        let text = String::from_utf8(output.stdout).expect("driver output is UTF-8");
        let reply = fedikv::json::parse(&text)
            .unwrap_or_else(|e| panic!("driver output is not JSON ({e}): {text}"));
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
