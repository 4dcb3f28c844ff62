//! Helpers of the Deno KV tests: the real Deno runtime (the npm package
//! `deno`, installed by `scripts/interop-setup.sh` into `interop/`) running
//! `interop/deno_kv.ts`, and the two forms of the store under test.

mod store;

use fedikv_conformance::server::unique_name;
use std::path::PathBuf;
use std::process::Command;

use fedikv::DenoKvStore;
use serde_json::{Value, json};
use url::Url;

use fedikv_conformance::server::skip;

pub const URL_VAR: &str = "FEDIKV_TEST_DENOKV_URL";

/// The KV Connect URL (`denokv+http://…?token=…`), or `None` after saying why.
pub fn server_url() -> Option<String> {
    fedikv_conformance::server_url(URL_VAR)
}

/// A name no other test or run uses.
pub fn unique(what: &str) -> String {
    unique_name(what, '-')
}

/// How Deno opens the database under test: a file path, or a KV Connect URL
/// and its token.
#[derive(Debug, Clone)]
pub enum Target {
    File(PathBuf),
    Server { url: String, token: String },
}

impl Target {
    /// The server of `fedikv_url` (`denokv+http://…?token=…`) as Deno names it.
    pub fn server(fedikv_url: &str) -> Self {
        let parsed = Url::parse(&fedikv_url["denokv+".len()..]).expect("a denokv+http:// URL");
        let token = parsed
            .query_pairs()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
            .expect("the test URL carries ?token=");
        let mut url = parsed.clone();
        url.set_query(None);
        Self::Server {
            url: url.as_str().trim_end_matches('/').to_owned(),
            token,
        }
    }

    /// The fedikv store on the same database.
    pub async fn store(&self) -> DenoKvStore {
        match self {
            Self::File(path) => DenoKvStore::open(path)
                .await
                .expect("open the Deno KV file"),
            Self::Server { url, token } => {
                DenoKvStore::connect(url, token, fedikv::denokv::DEFAULT_TIMEOUT)
                    .await
                    .expect("connect to the denokv server")
            }
        }
    }

    /// Whether readers see the expiry of an entry Deno wrote: on a file,
    /// not over KV Connect (which reports none; fedikv's expiry records
    /// cover only the entries fedikv wrote).
    pub fn hides_expired(&self) -> bool {
        matches!(self, Self::File(_))
    }
}

/// The Deno runtime of `interop/`, or `None` after saying why.
pub fn deno() -> Option<PathBuf> {
    let deno =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop/node_modules/.bin/deno");
    if deno.exists() {
        Some(deno)
    } else {
        skip("Deno is not installed in interop/ (run scripts/interop-setup.sh)");
        None
    }
}

/// Runs one command of `interop/deno_kv.ts` against `target` and returns
/// what it printed.
pub fn run_deno(deno: &PathBuf, target: &Target, command: Value) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop/deno_kv.ts");
    let mut cmd = Command::new(deno);
    cmd.args([
        "run",
        "--quiet",
        "--unstable-kv",
        "--allow-all",
        "--no-config",
    ])
    .arg(script)
    .env("DENO_NO_UPDATE_CHECK", "1");
    match target {
        Target::File(path) => {
            cmd.arg(path);
        }
        Target::Server { url, token } => {
            cmd.arg(url).env("DENO_KV_ACCESS_TOKEN", token);
        }
    }
    let output = cmd.arg(command.to_string()).output().expect("run deno");
    assert!(
        output.status.success(),
        "deno failed on {command}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("deno printed JSON")
}

/// Deno's `get` of `keys`: for each, `Some(described value)` or `None`.
pub fn deno_get(deno: &PathBuf, target: &Target, keys: &[Vec<String>]) -> Vec<Option<Value>> {
    let answer = run_deno(deno, target, json!({"op": "get", "keys": keys}));
    answer
        .as_array()
        .expect("an array")
        .iter()
        .map(|entry| {
            entry["found"]
                .as_bool()
                .unwrap()
                .then(|| entry["value"].clone())
        })
        .collect()
}

/// The `denokv` server binary `scripts/denokv.sh` builds, or `None` after
/// saying why.
pub fn denokv_binary() -> Option<PathBuf> {
    let cache = std::env::var_os("FEDIKV_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/fedikv"))
        })?;
    let binary = cache.join("denokv-0.14.0/bin/denokv");
    if binary.exists() {
        Some(binary)
    } else {
        skip(&format!(
            "{} is missing (run scripts/denokv.sh)",
            binary.display()
        ));
        None
    }
}

/// A `denokv` server of the test's own on a free loopback port, stopped
/// (killed, by its process id) when dropped.
pub struct OwnServer {
    pub url: String,
    pub token: String,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl OwnServer {
    /// Starts one and waits until it accepts connections.
    pub fn start(binary: &PathBuf) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let token = "own-server-token-123".to_owned();
        let child = Command::new(binary)
            .arg("--sqlite-path")
            .arg(dir.path().join("server.sqlite3"))
            .args([
                "serve",
                "--access-token",
                &token,
                "--addr",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start denokv");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "denokv did not listen on {port}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Self {
            url: format!("http://127.0.0.1:{port}"),
            token,
            child,
            _dir: dir,
        }
    }

    /// How Deno opens this server.
    pub fn target(&self) -> Target {
        Target::Server {
            url: self.url.clone(),
            token: self.token.clone(),
        }
    }

    /// Stops the server now.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        self.stop();
    }
}
