//! The Redis Cluster tests; here, the helpers its modules share: the
//! cluster URL, a cluster's nodes (through `redis-cli`), and stores on key
//! prefixes of their own.

mod faults;
mod huge;
mod store;

use fedikv_conformance::server::{unique_name, with_options};

use fedikv::KvStore;
use fedikv::redis::RedisKvStore;
use futures::StreamExt;

use crate::support::servers::redis_cli;

pub const URL_VAR: &str = "FEDIKV_TEST_REDIS_CLUSTER_URL";

/// The cluster URL, or `None` (after saying why) when the variable is unset.
/// Panics instead when `FEDIKV_TEST_REQUIRE_SERVERS=1`, so CI never skips.
pub fn cluster_url() -> Option<String> {
    fedikv_conformance::server_url(URL_VAR)
}

/// A prefix no other test or run uses: `fedikv-test-<what>-<pid>-<nanos>-<seq>::`.
pub fn unique_prefix(what: &str) -> String {
    format!("{}::", unique_name(&format!("fedikv-test-{what}"), '-'))
}

/// A store on the cluster under `prefix`.
pub async fn store(url: &str, prefix: &str) -> RedisKvStore {
    let url = with_options(url, &format!("prefix={prefix}"));
    RedisKvStore::open_url(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", fedikv::redact(&url)))
}

/// Deletes every entry of `store` (its whole prefix).
pub async fn clear(store: &RedisKvStore) {
    let keys: Vec<_> = store
        .list(None)
        .map(|entry| entry.expect("list for cleanup").key)
        .collect()
        .await;
    futures::stream::iter(keys)
        .for_each_concurrent(64, |key| async move {
            store.delete(&key).await.expect("delete for cleanup");
        })
        .await;
}

/// A node of a cluster, from `CLUSTER NODES`.
#[derive(Debug, Clone)]
pub struct Node {
    pub id: String,
    pub port: u16,
    pub primary: bool,
    pub failed: bool,
    /// Slot ranges it serves (primaries).
    pub slots: Vec<String>,
}

/// The nodes as `port` sees them.
pub fn nodes(port: u16) -> Vec<Node> {
    redis_cli(port, &["cluster", "nodes"])
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let addr = fields.get(1)?.split('@').next()?;
            let flags = fields.get(2)?;
            Some(Node {
                id: fields[0].to_owned(),
                port: addr.rsplit_once(':')?.1.parse().ok()?,
                primary: flags.contains("master"),
                failed: flags.contains("fail"),
                slots: fields.iter().skip(8).map(|s| s.to_string()).collect(),
            })
        })
        .collect()
}

/// The primaries that serve slots, as `port` sees them.
pub fn serving_primaries(port: u16) -> Vec<Node> {
    nodes(port)
        .into_iter()
        .filter(|n| n.primary && !n.failed && !n.slots.is_empty())
        .collect()
}
