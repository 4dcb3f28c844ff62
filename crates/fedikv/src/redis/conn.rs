//! [`Conn`]: the store's connection, to one server or to a Redis Cluster, so
//! that `get`, `set`, `delete` and `cas` share one code path.
//!
//! Both kinds are redis-rs connections that reconnect by themselves: a
//! [`ConnectionManager`] for one server, a [`ClusterConnection`] for a
//! cluster, which routes each command to the primary serving its key's hash
//! slot, follows `MOVED`/`ASK` redirects, refreshes its slot map after a
//! failover or a slot migration, and splits a multi-key `MGET` by slot. Only
//! `list` has to know which kind it has (`SCAN` is per node; see `list.rs`).

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, FromRedisValue, Pipeline, RedisFuture, Value as Reply};

use crate::error::KvResult;

use super::error::{is_dropped, map};

/// A connection to one Redis server or to a Redis Cluster. Cheap to clone;
/// clones share the underlying connections.
#[derive(Clone)]
pub(crate) enum Conn {
    /// One server (or a primary with its replicas behind one address).
    Single(ConnectionManager),
    /// A Redis Cluster.
    Cluster(ClusterConnection),
}

impl Conn {
    /// Runs an idempotent command, once more if the connection was found
    /// dropped (the connection is reconnecting by then).
    pub(crate) async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> KvResult<T> {
        let mut conn = self.clone();
        match cmd.query_async(&mut conn).await {
            Err(e) if is_dropped(&e) => cmd.query_async(&mut conn).await.map_err(map),
            other => other.map_err(map),
        }
    }

    /// Runs a read-only pipeline whose commands all go to one node (on a
    /// cluster: keys of one hash slot), once more if the connection was
    /// found dropped.
    pub(crate) async fn query_pipeline(&self, pipe: &Pipeline) -> KvResult<Vec<Reply>> {
        let mut conn = self.clone();
        match pipe.query_async(&mut conn).await {
            Err(e) if is_dropped(&e) => pipe.query_async(&mut conn).await.map_err(map),
            other => other.map_err(map),
        }
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Reply> {
        match self {
            Self::Single(conn) => conn.req_packed_command(cmd),
            Self::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Reply>> {
        match self {
            Self::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            Self::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(conn) => conn.get_db(),
            Self::Cluster(conn) => conn.get_db(),
        }
    }
}
