//! [`Conn`]: the store's connection, to one server or to a Redis Cluster, so
//! that `get`, `set`, `delete` and `cas` share one code path.
//!
//! Both kinds are redis-rs connections that reconnect by themselves: a
//! [`ConnectionManager`] for one server, a [`ClusterConnection`] for a
//! cluster, which routes each command to the primary serving its key's hash
//! slot, follows `MOVED`/`ASK` redirects, refreshes its slot map after a
//! failover or a slot migration, and splits a multi-key `MGET` by slot. Only
//! `list` has to know which kind it has (`SCAN` is per node; see `list.rs`).
//!
//! redis-rs 1.8's cluster connection can stop answering after a failover or
//! a resharding (every request times out, while a new connection works at
//! once; seen in `tests/it/redis_cluster/faults.rs`). So [`Cluster`] connects
//! anew in the background whenever a request times out, and swaps the new
//! connection in: requests in flight fail with [`KvError::Unavailable`],
//! later ones use the new connection.
//!
//! [`KvError::Unavailable`]: crate::KvError::Unavailable

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use futures::FutureExt;
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::RoutingInfo;
use redis::{Cmd, FromRedisValue, Pipeline, RedisFuture, RedisResult, Value as Reply};

use crate::error::KvResult;

use super::error::{is_dropped, map};

/// A connection to one Redis server or to a Redis Cluster. Cheap to clone;
/// clones share the underlying connections.
#[derive(Clone)]
pub(crate) enum Conn {
    /// One server (or a primary with its replicas behind one address).
    Single(ConnectionManager),
    /// A Redis Cluster.
    Cluster(Arc<Cluster>),
}

/// A cluster connection that is replaced by a new one after a reply timeout.
pub(crate) struct Cluster {
    client: ClusterClient,
    conn: RwLock<ClusterConnection>,
    /// A new connection is being made.
    renewing: AtomicBool,
}

impl Cluster {
    /// Connects to the cluster of `client` (reading its slot map).
    pub(crate) async fn connect(client: ClusterClient) -> RedisResult<Arc<Self>> {
        let conn = client.get_async_connection().await?;
        Ok(Arc::new(Self {
            client,
            conn: RwLock::new(conn),
            renewing: AtomicBool::new(false),
        }))
    }

    /// The connection in use (a cheap clone).
    pub(crate) fn current(&self) -> ClusterConnection {
        self.conn
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Sends `cmd` to the node(s) of `routing`.
    pub(crate) async fn route(
        self: &Arc<Self>,
        cmd: Cmd,
        routing: RoutingInfo,
    ) -> RedisResult<Reply> {
        let result = self.current().route_command(cmd, routing).await;
        self.after(result)
    }

    /// Passes `result` on; after a timeout, starts making a new connection
    /// (one at a time) that later requests will use.
    fn after<T>(self: &Arc<Self>, result: RedisResult<T>) -> RedisResult<T> {
        if let Err(e) = &result
            && e.is_timeout()
            && !self.renewing.swap(true, Ordering::AcqRel)
        {
            let this = Arc::clone(self);
            tokio::spawn(async move {
                match this.client.get_async_connection().await {
                    Ok(conn) => {
                        *this.conn.write().unwrap_or_else(PoisonError::into_inner) = conn;
                        tracing::info!("redis cluster: replaced the connection after a timeout");
                    }
                    Err(e) => tracing::warn!("redis cluster: cannot connect anew: {e}"),
                }
                this.renewing.store(false, Ordering::Release);
            });
        }
        result
    }
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
            Self::Cluster(cluster) => {
                let cluster = Arc::clone(cluster);
                async move {
                    let result = cluster.current().req_packed_command(cmd).await;
                    cluster.after(result)
                }
                .boxed()
            }
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
            Self::Cluster(cluster) => {
                let cluster = Arc::clone(cluster);
                async move {
                    let result = cluster
                        .current()
                        .req_packed_commands(pipeline, offset, count)
                        .await;
                    cluster.after(result)
                }
                .boxed()
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(conn) => conn.get_db(),
            Self::Cluster(cluster) => cluster.current().get_db(),
        }
    }
}
