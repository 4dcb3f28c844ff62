//! Creating and dropping the table (rule S1), and learning about the server.

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use super::Inner;
use super::error::{DUPLICATE_KEY_NAME, map, server_code};
use super::sql::Dialect;
use crate::error::{KvError, KvResult};

/// What the store needs to know about the server it talks to.
#[derive(Debug, Clone)]
pub(crate) struct ServerInfo {
    pub(crate) dialect: Dialect,
    /// `VERSION()`, e.g. `10.11.6-MariaDB-0+deb12u1`.
    pub(crate) version: Box<str>,
    /// The session's `max_allowed_packet`, which bounds a value's size.
    pub(crate) max_allowed_packet: usize,
}

impl ServerInfo {
    /// Asks the server for its version and packet limit.
    pub(crate) async fn query(conn: &mut Conn) -> KvResult<Self> {
        let row: Option<(String, u64)> = conn
            .query_first("SELECT VERSION(), @@max_allowed_packet")
            .await
            .map_err(map)?;
        let (version, packet) = row.ok_or_else(|| {
            KvError::backend(super::error::BACKEND, "SELECT VERSION() returned no row")
        })?;
        Ok(Self {
            dialect: Dialect::from_version(&version),
            version: version.into(),
            max_allowed_packet: usize::try_from(packet).unwrap_or(usize::MAX),
        })
    }
}

impl Inner {
    /// Creates the table and its `expires` index unless they exist. Safe to
    /// run concurrently from several stores or processes: `CREATE TABLE IF
    /// NOT EXISTS` is atomic and a concurrent duplicate index is ignored
    /// (MySQL has no `CREATE INDEX IF NOT EXISTS`).
    pub(crate) async fn create_schema(&self, conn: &mut Conn) -> KvResult<()> {
        conn.query_drop(self.sql.create_table.as_str())
            .await
            .map_err(map)?;
        match conn.query_drop(self.sql.create_index.as_str()).await {
            Err(e) if server_code(&e) != Some(DUPLICATE_KEY_NAME) => Err(map(e)),
            _ => Ok(()),
        }
    }

    /// Creates the table unless this store knows it exists; with `force`,
    /// asks the server anyway (the table may have been dropped elsewhere).
    pub(crate) async fn initialize(&self, force: bool) -> KvResult<()> {
        self.table_state
            .ensure(force, async || self.create_table().await)
            .await
    }

    /// [`create_schema`](Self::create_schema) on a connection of its own.
    pub(crate) async fn create_table(&self) -> KvResult<()> {
        let mut conn = self.conns.pool().get_conn().await.map_err(map)?;
        self.create_schema(&mut conn).await
    }

    /// Drops the table; the next use creates it again.
    pub(crate) async fn drop_schema(&self) -> KvResult<()> {
        self.table_state
            .drop_with(async || {
                let mut conn = self.conns.pool().get_conn().await.map_err(map)?;
                conn.query_drop(self.sql.drop_table.as_str())
                    .await
                    .map_err(map)
            })
            .await
    }
}
