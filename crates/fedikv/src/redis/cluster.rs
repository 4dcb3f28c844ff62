//! Redis Cluster: `redis+cluster://` URLs, connecting, and the cluster's
//! primaries as `list` needs them.
//!
//! `list` must visit every primary, since `SCAN` only walks the keys of the
//! node it is sent to, and must yield each entry once even while slots move
//! (a failover, `redis-cli --cluster reshard`). [`Walk`] scans the primaries
//! one after the other, in passes: before a pass it reads the
//! [`Topology`] (each primary's own view of its slots, with any slot being
//! migrated); after the pass it reads it again. A pass that started and ended
//! on the same settled topology (no slot migrating, every scanned node still a
//! primary of the same slots) has seen every key that existed throughout it,
//! as `SCAN` guarantees on each node. Otherwise the walk runs another pass;
//! keys yielded by an earlier pass are not yielded again (`SeenKeys`). If the
//! cluster does not settle within [`MAX_TOPOLOGY_READS`] reads, the listing
//! ends with [`KvError::Unavailable`].

use std::sync::Arc;
use std::time::Duration;

use futures::future::try_join_all;
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{ConnectionAddr, ConnectionInfo, FromRedisValue, Value as Reply};

use crate::error::{KvError, KvResult};
use crate::store_url::invalid_url;

use super::conn::Cluster;
use super::error::{BACKEND, map};
use super::options::{self, RedisOptions};

/// How often a listing reads the topology (once per pass, and again while it
/// is unsettled) before it gives up with [`KvError::Unavailable`].
pub(crate) const MAX_TOPOLOGY_READS: u32 = 50;

/// The shortest and longest wait, in milliseconds, before the cluster
/// connection resends a request (exponential with jitter in between).
const RETRY_WAIT_MS: (u64, u64) = (20, 500);

/// The wait before reading an unsettled topology again.
const SETTLE_WAIT: Duration = Duration::from_millis(200);

/// Splits a cluster URL into the seed nodes' connection info and fedikv's
/// options: `redis+cluster://[user:password@]host:port[,host:port…][/][?options]`,
/// with the options of `redis://` URLs. A cluster has only database 0.
pub(crate) fn parse(url: &str) -> KvResult<(Vec<ConnectionInfo>, RedisOptions)> {
    let invalid = |reason: &str| invalid_url(url, reason);
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| invalid("expected redis+cluster://host:port,host:port"))?;
    let single = match scheme.to_ascii_lowercase().as_str() {
        "redis+cluster" => "redis",
        "rediss+cluster" => "rediss",
        _ => {
            return Err(invalid(
                "the scheme must be redis+cluster:// or rediss+cluster://",
            ));
        }
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let (user, hosts) = match authority.rsplit_once('@') {
        Some((user, hosts)) => (format!("{user}@"), hosts),
        None => (String::new(), authority),
    };
    if hosts.is_empty() {
        return Err(invalid(
            "name at least one node of the cluster, e.g. redis+cluster://127.0.0.1:7000",
        ));
    }
    let mut nodes = Vec::new();
    let mut options = RedisOptions::default();
    for seed in hosts.split(',') {
        if seed.is_empty() {
            return Err(invalid("an empty node in the list of nodes"));
        }
        let (info, seed_options) = options::parse(&format!("{single}://{user}{seed}{tail}"))?;
        if info.redis_settings().db() != 0 {
            return Err(invalid(
                "a Redis Cluster has only database 0: drop the database from the path",
            ));
        }
        nodes.push(info);
        options = seed_options;
    }
    Ok((nodes, options))
}

/// A cluster client on the seed `nodes` with the timeouts of `options`.
pub(crate) fn client(nodes: &[ConnectionInfo], options: &RedisOptions) -> KvResult<ClusterClient> {
    // redis-rs waits at least 1.28 s before retrying a request that met
    // TRYAGAIN, CLUSTERDOWN or a lost node, longer than a reply timeout
    // leaves; slot moves and failovers settle in a few node timeouts, so
    // retry sooner and more often.
    let mut builder = ClusterClientBuilder::new(nodes.to_vec())
        .min_retry_wait(RETRY_WAIT_MS.0)
        .max_retry_wait(RETRY_WAIT_MS.1);
    if let Some(timeout) = options.response_timeout {
        builder = builder.response_timeout(timeout);
    }
    if let Some(timeout) = options.connection_timeout {
        builder = builder.connection_timeout(timeout);
    }
    builder.build().map_err(|e| KvError::InvalidUrl {
        reason: format!("cannot use these cluster nodes: {e}"),
    })
}

/// Connects to the cluster (reading its slot map).
pub(crate) async fn connect(client: &ClusterClient) -> KvResult<Arc<Cluster>> {
    Cluster::connect(client.clone()).await.map_err(map)
}

/// `redis+cluster://user@host:port,host:port` (or `rediss+cluster://`),
/// never the password.
pub(crate) fn endpoint(nodes: &[ConnectionInfo]) -> String {
    let tls = nodes
        .iter()
        .any(|info| matches!(info.addr(), ConnectionAddr::TcpTls { .. }));
    let user = nodes
        .first()
        .and_then(|info| info.redis_settings().username())
        .map(|user| format!("{user}@"))
        .unwrap_or_default();
    let addrs: Vec<String> = nodes.iter().map(|info| info.addr().to_string()).collect();
    let scheme = if tls { "rediss" } else { "redis" };
    format!("{scheme}+cluster://{user}{}", addrs.join(","))
}

/// A primary as the cluster announces it, and what it says of itself.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Primary {
    host: String,
    port: u16,
    /// The node's own `CLUSTER NODES` line, from its id to its slots, without
    /// the ping/pong times: changes when it stops being a primary, serves
    /// other slots, or starts migrating or importing a slot.
    claims: String,
}

impl Primary {
    fn route(&self) -> RoutingInfo {
        RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
            host: self.host.clone(),
            port: self.port,
        })
    }

    /// Answered, still a primary, and no slot of it is moving
    /// (`[slot->-id]`).
    fn settled(&self) -> bool {
        let mut fields = self.claims.split(' ');
        let flags = fields.nth(2).unwrap_or_default();
        flags.split(',').any(|flag| flag == "master")
            && !flags.contains("fail")
            && !self.claims.contains('[')
    }
}

/// The primaries that serve slots, each as it sees itself.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Topology {
    primaries: Vec<Primary>,
}

impl Topology {
    /// Reads the primaries from one node's `CLUSTER NODES`, then asks each of
    /// them for its own view (concurrently).
    pub(crate) async fn read(conn: &Arc<Cluster>) -> KvResult<Self> {
        let any = RoutingInfo::SingleNode(SingleNodeRoutingInfo::RandomPrimary);
        let nodes: String = cluster_nodes(conn, any).await?;
        let mut candidates: Vec<(String, u16)> =
            nodes.lines().filter_map(serving_primary).collect();
        candidates.sort();
        let primaries = try_join_all(candidates.into_iter().map(|(host, port)| async move {
            let mut primary = Primary {
                host,
                port,
                claims: String::new(),
            };
            // A primary that cannot be asked is being failed over: it
            // stays unsettled (no claims) until the cluster drops it.
            if let Ok(own) = cluster_nodes(conn, primary.route()).await {
                primary.claims = own
                    .lines()
                    .find_map(own_claims)
                    .ok_or_else(|| malformed("no line of CLUSTER NODES is marked myself"))?;
            }
            Ok::<_, KvError>(primary)
        }))
        .await?;
        if primaries.is_empty() {
            return Err(KvError::unavailable(
                BACKEND,
                "no primary of the cluster serves slots (is the cluster created?)",
            ));
        }
        Ok(Self { primaries })
    }

    /// Every primary serving slots says it is one and nothing is migrating.
    pub(crate) fn settled(&self) -> bool {
        self.primaries.iter().all(Primary::settled)
    }
}

/// Where a cluster listing is: which pass, which primary, which cursor.
pub(crate) struct Walk {
    conn: Arc<Cluster>,
    /// The topology this pass started on; `None` before a pass.
    pass: Option<Topology>,
    /// The primary being scanned (index into `pass`) and its `SCAN` cursor.
    node: usize,
    cursor: u64,
    /// Topology reads so far.
    reads: u32,
}

impl Walk {
    /// A walk over the primaries of `conn`'s cluster, from the start.
    pub(crate) fn new(conn: Arc<Cluster>) -> Self {
        Self {
            conn,
            pass: None,
            node: 0,
            cursor: 0,
            reads: 0,
        }
    }

    /// One `SCAN` call on the current primary; returns the keys it found and
    /// whether the walk is complete.
    pub(crate) async fn step(
        &mut self,
        pattern: &[u8],
        count: usize,
    ) -> KvResult<(Vec<Vec<u8>>, bool)> {
        let topology = match self.pass.take() {
            Some(topology) => topology,
            None => self.settled_topology().await?,
        };
        let primary = &topology.primaries[self.node];
        let cmd = redis::cmd("SCAN")
            .arg(self.cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(count)
            .clone();
        let reply = self.conn.route(cmd, primary.route()).await.map_err(map)?;
        let (next, keys): (u64, Vec<Vec<u8>>) = decode_reply(reply)?;
        self.cursor = next;
        if next == 0 {
            self.node += 1;
        }
        if self.node < topology.primaries.len() {
            self.pass = Some(topology);
            return Ok((keys, false));
        }
        // End of a pass: complete if nothing moved meanwhile.
        self.node = 0;
        let now = self.read().await?;
        if now == topology && now.settled() {
            return Ok((keys, true));
        }
        tracing::debug!("redis cluster topology changed during list: scanning again");
        self.pass = now.settled().then_some(now);
        Ok((keys, false))
    }

    /// Reads the topology until it is settled (bounded).
    async fn settled_topology(&mut self) -> KvResult<Topology> {
        loop {
            let topology = self.read().await?;
            if topology.settled() {
                return Ok(topology);
            }
            tokio::time::sleep(SETTLE_WAIT).await;
        }
    }

    /// Reads the topology, counting reads against [`MAX_TOPOLOGY_READS`].
    async fn read(&mut self) -> KvResult<Topology> {
        if self.reads >= MAX_TOPOLOGY_READS {
            return Err(KvError::unavailable(
                BACKEND,
                "the cluster's slots kept moving (failover or resharding) during list; \
                 retry once the cluster is stable",
            ));
        }
        self.reads += 1;
        Topology::read(&self.conn).await
    }
}

async fn cluster_nodes(conn: &Arc<Cluster>, route: RoutingInfo) -> KvResult<String> {
    let cmd = redis::cmd("CLUSTER").arg("NODES").clone();
    let reply = conn.route(cmd, route).await.map_err(map)?;
    decode_reply(reply)
}

/// `(host, port)` of a `CLUSTER NODES` line of a primary that serves slots.
/// A line is `id host:port@bus[,hostname] flags master-id ping pong epoch
/// link slot…`.
fn serving_primary(line: &str) -> Option<(String, u16)> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let is_primary = fields.get(2)?.split(',').any(|flag| flag == "master");
    if !is_primary || fields.len() <= 8 {
        return None;
    }
    let addr = fields[1].split(['@', ',']).next()?;
    let (host, port) = addr.rsplit_once(':')?;
    Some((host.to_owned(), port.parse().ok()?))
}

/// The stable part of the `myself` line: id, address, flags, primary,
/// config epoch and slots.
fn own_claims(line: &str) -> Option<String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    if !fields.get(2)?.split(',').any(|flag| flag == "myself") {
        return None;
    }
    let mut claims: Vec<&str> = fields.iter().take(4).copied().collect();
    claims.extend(fields.get(6));
    claims.extend(fields.iter().skip(8));
    Some(claims.join(" "))
}

fn decode_reply<T: FromRedisValue>(reply: Reply) -> KvResult<T> {
    T::from_redis_value(reply).map_err(|e| KvError::backend(BACKEND, e))
}

fn malformed(reason: &str) -> KvError {
    KvError::backend(BACKEND, format!("unexpected CLUSTER NODES reply: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODES: &str = "\
0b0f 127.0.0.1:7002@17002 master - 0 1796155339818 3 connected 10923-16383
ef1d 127.0.0.1:7003@17003 slave e122 0 1796155340019 2 connected
2786 127.0.0.1:7000@17000 myself,master - 0 1796155339000 1 connected 0-5460 [5461->-e122]
aaaa 127.0.0.1:7006@17006 master,fail - 0 1796155339000 4 disconnected
e122 127.0.0.1:7001@17001,node1 master - 0 1796155340019 2 connected 5461-10922";

    #[test]
    fn finds_the_primaries_that_serve_slots() {
        let primaries: Vec<_> = NODES.lines().filter_map(serving_primary).collect();
        assert_eq!(
            primaries,
            [
                ("127.0.0.1".to_owned(), 7002),
                ("127.0.0.1".to_owned(), 7000),
                ("127.0.0.1".to_owned(), 7001)
            ]
        );
    }

    #[test]
    fn own_claims_leave_out_the_ping_times() {
        let claims = NODES.lines().find_map(own_claims).unwrap();
        assert_eq!(
            claims,
            "2786 127.0.0.1:7000@17000 myself,master - 1 0-5460 [5461->-e122]"
        );
        let primary = |claims: &str| Primary {
            host: "127.0.0.1".into(),
            port: 7000,
            claims: claims.into(),
        };
        assert!(!primary(&claims).settled(), "a slot is migrating");
        assert!(primary("2786 127.0.0.1:7000@17000 myself,master - 1 0-5460").settled());
        assert!(!primary("2786 127.0.0.1:7000@17000 myself,slave e122 1").settled());
    }

    #[test]
    fn parses_cluster_urls() {
        let (nodes, options) =
            parse("redis+cluster://u:pw@127.0.0.1:7000,127.0.0.1:7001/?prefix=app::&timeout=1s")
                .unwrap();
        assert_eq!(nodes.len(), 2);
        assert_eq!(options.prefix, "app::");
        assert_eq!(options.response_timeout, Some(Duration::from_secs(1)));
        assert_eq!(nodes[1].redis_settings().password(), Some("pw"));
        assert_eq!(
            endpoint(&nodes),
            "redis+cluster://u@127.0.0.1:7000,127.0.0.1:7001"
        );
        let (nodes, _) = parse("rediss+cluster://127.0.0.1:7000").unwrap();
        assert_eq!(endpoint(&nodes), "rediss+cluster://127.0.0.1:7000");
    }

    #[test]
    fn rejects_bad_cluster_urls_without_the_password() {
        for url in [
            "redis+cluster://:hunter2@/",
            "redis+cluster://:hunter2@127.0.0.1:7000,,127.0.0.1:7001",
            "redis+cluster://:hunter2@127.0.0.1:7000/1",
            "redis+cluster://:hunter2@127.0.0.1:7000/?prefx=a",
            "redis+cluster://:hunter2@127.0.0.1:notaport",
            "redis://:hunter2@127.0.0.1:7000",
        ] {
            match parse(url) {
                Err(KvError::InvalidUrl { reason }) => {
                    assert!(!reason.contains("hunter2"), "{url}: {reason}");
                }
                other => panic!("{url}: expected InvalidUrl, got {other:?}"),
            }
        }
    }
}
