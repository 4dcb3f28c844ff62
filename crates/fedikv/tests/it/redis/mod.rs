//! The Redis tests; here, the helpers its modules share.

mod bad_rows;
mod faults;
mod huge;
mod interop;
mod store;

use fedikv::redis::{RedisKvStore, RedisOptions};
use fedikv_conformance::server::unique_name;

pub const URL_VAR: &str = "FEDIKV_TEST_REDIS_URL";

/// The server URL, or `None` (after saying why) when the variable is unset.
/// Panics instead when `FEDIKV_TEST_REQUIRE_SERVERS=1`, so CI never skips.
pub fn server_url() -> Option<String> {
    fedikv_conformance::server_url(URL_VAR)
}

/// A name no other test or run uses: `<what>-<pid>-<nanos>-<seq>`.
pub fn unique(what: &str) -> String {
    unique_name(what, '-')
}

/// A store on a key prefix of its own (`fedikv-test-…::`), and a raw
/// connection to look at what it stores. Every key under the prefix is
/// deleted when this is dropped, also when the test fails.
pub struct TestPrefix {
    pub store: RedisKvStore,
    pub prefix: String,
    pub raw: redis::aio::MultiplexedConnection,
    client: redis::Client,
}

impl TestPrefix {
    /// A fresh prefix on the server in `FEDIKV_TEST_REDIS_URL`, or `None`
    /// (after saying why) to skip.
    pub async fn fresh() -> Option<Self> {
        Some(Self::new(&server_url()?).await)
    }

    pub async fn new(url: &str) -> Self {
        let prefix = format!("{}::", unique("fedikv-test"));
        Self::with_prefix(url, &prefix).await
    }

    /// `prefix` must not contain glob characters (cleanup scans for it).
    pub async fn with_prefix(url: &str, prefix: &str) -> Self {
        let client = redis::Client::open(url).expect("test URL");
        let store = RedisKvStore::from_client(client.clone(), RedisOptions::new().prefix(prefix))
            .await
            .expect("store");
        let raw = client
            .get_multiplexed_async_connection()
            .await
            .expect("raw connection");
        Self {
            store,
            prefix: prefix.to_owned(),
            raw,
            client,
        }
    }

    /// The client of the raw connection.
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// The Redis key for `rest` under the prefix.
    pub fn raw_key(&self, rest: &str) -> Vec<u8> {
        format!("{}{rest}", self.prefix).into_bytes()
    }

    /// A raw command on the test connection.
    pub async fn raw<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> T {
        let mut conn = self.raw.clone();
        cmd.query_async(&mut conn).await.expect("raw command")
    }

    /// Every Redis key under the prefix, sorted.
    pub async fn raw_keys(&self) -> Vec<Vec<u8>> {
        let mut conn = self.raw.clone();
        let mut keys: Vec<Vec<u8>> = Vec::new();
        let mut cursor = 0u64;
        loop {
            let (next, batch): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{}*", self.prefix))
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .expect("SCAN");
            keys.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        keys.sort();
        keys.dedup();
        keys
    }
}

impl Drop for TestPrefix {
    fn drop(&mut self) {
        let Ok(mut conn) = self.client.get_connection() else {
            return;
        };
        let mut cursor = 0u64;
        loop {
            let reply: redis::RedisResult<(u64, Vec<Vec<u8>>)> = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{}*", self.prefix))
                .arg("COUNT")
                .arg(1000)
                .query(&mut conn);
            let Ok((next, keys)) = reply else { return };
            if !keys.is_empty() {
                let _: redis::RedisResult<()> = redis::cmd("DEL").arg(&keys).query(&mut conn);
            }
            if next == 0 {
                return;
            }
            cursor = next;
        }
    }
}
