//! Values above `CHUNKED_ABOVE` on a Redis Cluster: written in chunks
//! through a temporary key in the entry key's slot (see
//! `support::huge_writes`).

use super::{clear, cluster_url, redis_cli, serving_primaries, store, unique_prefix};
use crate::support::huge_writes::{self, Raw, temporary_pattern};

/// The cluster through `redis-cli` (`-c` follows redirects).
struct Cluster;

impl Raw for Cluster {
    fn temporary_keys(&self, prefix: &str) -> Vec<Vec<u8>> {
        serving_primaries(7000)
            .iter()
            .flat_map(|primary| {
                redis_cli(
                    primary.port,
                    &["--scan", "--pattern", &temporary_pattern(prefix)],
                )
                .lines()
                .map(|line| line.as_bytes().to_vec())
                .collect::<Vec<_>>()
            })
            .collect()
    }

    fn pttl(&self, key: &[u8]) -> i64 {
        let key = std::str::from_utf8(key).expect("an ASCII key");
        let reply = redis_cli(7000, &["-c", "pttl", key]);
        reply
            .parse()
            .unwrap_or_else(|_| panic!("PTTL {key}: {reply}"))
    }

    fn delete(&self, key: &[u8]) {
        let key = std::str::from_utf8(key).expect("an ASCII key");
        redis_cli(7000, &["-c", "del", key]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn huge_values_round_trip() {
    let Some(url) = cluster_url() else { return };
    let store = store(&url, &unique_prefix("huge")).await;
    huge_writes::round_trips(&store, &Cluster).await;
    clear(&store).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn readers_never_see_part_of_a_huge_value() {
    let Some(url) = cluster_url() else { return };
    let store = store(&url, &unique_prefix("huge-race")).await;
    huge_writes::readers_see_whole_values(&store, &Cluster).await;
    clear(&store).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_abandoned_huge_write_leaves_an_unlisted_expiring_key() {
    let Some(url) = cluster_url() else { return };
    let store = store(&url, &unique_prefix("huge-abandoned")).await;
    huge_writes::abandoned_write_expires(&store, &Cluster).await;
    clear(&store).await;
}
