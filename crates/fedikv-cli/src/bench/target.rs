//! [`Target`]: a store to benchmark, moved to a dedicated table, key prefix or
//! file so the benchmark never touches the user's data, and wiped before and
//! after the run.
//!
//! | URL given | benchmarked |
//! | --- | --- |
//! | `memory:` | a fresh in-process store |
//! | `sqlite:` (no path) | table `fedify_kv_bench` in a temporary file, deleted afterwards |
//! | `sqlite:PATH` | table `fedify_kv_bench` in `PATH` |
//! | `postgres://…`, `mysql://…`, `mariadb://…` | table `fedify_kv_bench` |
//! | `redis://host:port` | database 15 (unless the URL names one), key prefix `fedify-bench-<pid>-<time>::` |
//! | `redis+cluster://host:port,…` | the cluster (database 0), key prefix `fedify-bench-<pid>-<time>::` |
//! | `denokv:` (no path) | a temporary Deno KV file, deleted afterwards |
//! | `denokv:PATH`, `denokv+http://…` | that Deno KV database, only if it holds no entry |
//!
//! A Deno KV database has no table or prefix to keep the benchmark apart,
//! so the benchmark refuses one that holds entries (it empties the database
//! afterwards).
//!
//! The Redis prefix is unique to the run (process id and start time), so a
//! concurrent run or test sharing the database cannot meet its keys.
//!
//! A `table=` or `prefix=` option in the URL overrides these defaults (and is
//! then wiped as well). SQL tables are dropped before and after the run;
//! Redis and memory stores have their entries deleted.
//!
//! A raw-driver floor ([`Target::open_raw`]) runs on the same table, file or
//! prefix: the store creates the table and cleans up, the floor runs the
//! workload.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{SystemTime, UNIX_EPOCH};

use fedikv::{
    KvError, KvKey, KvResult, KvStore, MysqlKvStore, PostgresKvStore, Scheme, SqliteKvStore,
};
use futures::{StreamExt, TryStreamExt};
use url::Url;

use super::raw::mysql::RawMysql;
use super::raw::postgres::RawPostgres;
use super::raw::redis::RawRedis;
use super::raw::sqlite::RawSqliteStore;
use super::raw::{Kind, Raw, unsupported};
use crate::error::CliError;

/// The table of SQL stores under benchmark.
pub const BENCH_TABLE: &str = "fedify_kv_bench";
/// The Redis database benchmarked when the URL names none (as the peer's).
const BENCH_REDIS_DB: &str = "15";
/// The Redis key prefix of this run: `fedify-bench-<pid>-<unix seconds>::`.
static BENCH_REDIS_PREFIX: LazyLock<String> = LazyLock::new(|| {
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    format!("fedify-bench-{}-{started}::", std::process::id())
});
/// Keys deleted per round when wiping through the `KvStore` API.
const WIPE_BATCH: usize = 1000;

/// A store to benchmark.
#[derive(Debug)]
pub struct Target {
    /// The URL opened; may hold a password, so it is never shown.
    url: String,
    /// The backend: "sqlite", "postgres", "mysql", "redis", "redis-cluster",
    /// "denokv" (file), "denokv_remote" (KV Connect) or "memory".
    pub backend: &'static str,
    /// The row label: the backend, or "postgres-unlogged" for a PostgreSQL
    /// store with `unlogged=true`.
    pub label: &'static str,
    /// The driver and its version.
    pub driver: Option<String>,
    /// The server or library and where it is, without credentials.
    pub server: String,
    /// A temporary database file to delete afterwards.
    temp_file: Option<PathBuf>,
}

impl Target {
    /// The benchmark's version of the store `given` names.
    pub fn new(given: &str) -> Result<Self, CliError> {
        let scheme = Scheme::of(given).map_err(|e| {
            CliError::new(format!("cannot benchmark {:?}: {e}", fedikv::redact(given)))
        })?;
        match scheme {
            Scheme::Memory => Ok(Self {
                url: given.to_owned(),
                backend: "memory",
                label: "memory",
                driver: None,
                server: "in-process".into(),
                temp_file: None,
            }),
            Scheme::Sqlite => Ok(Self::sqlite(given)),
            Scheme::Postgres => Self::server(given, "postgres", "PostgreSQL"),
            Scheme::Mysql => Self::server(given, "mysql", "MySQL/MariaDB"),
            Scheme::Redis => Self::server(given, "redis", "Redis"),
            Scheme::RedisCluster => Ok(Self::redis_cluster(given)),
            Scheme::DenoKv => Ok(Self::denokv_file(given)),
            Scheme::DenoKvRemote => Ok(Self::denokv_server(given)),
            other => Err(CliError::new(format!(
                "cannot benchmark {:?}: fedikv bench does not know {} stores yet",
                fedikv::redact(given),
                other.form()
            ))),
        }
    }

    /// `sqlite:PATH` with the bench table; a temporary file when no path is given.
    fn sqlite(given: &str) -> Self {
        let rest = &given["sqlite:".len()..];
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let bare_path = path.strip_prefix("//").unwrap_or(path);
        let (url, file, temp_file) = if bare_path.is_empty() {
            let file = temp_database_path();
            let url = format!("sqlite:{}", file.display());
            (url, file.display().to_string(), Some(file))
        } else {
            (format!("sqlite:{path}"), bare_path.to_owned(), None)
        };
        Self {
            url: with_default_option(&url, query, "table", BENCH_TABLE),
            backend: "sqlite",
            label: "sqlite",
            driver: Some(format!("rusqlite {}", env!("FEDIKV_LOCKED_RUSQLITE"))),
            server: format!("SQLite {} (bundled), file {file}", rusqlite::version()),
            temp_file,
        }
    }

    /// `denokv:PATH`, or a temporary file when no path is given.
    fn denokv_file(given: &str) -> Self {
        let rest = &given["denokv:".len()..];
        let path = rest.strip_prefix("//").unwrap_or(rest);
        let (file, temp_file) = if path.is_empty() {
            let file = temp_database_path();
            (file.clone(), Some(file))
        } else {
            (PathBuf::from(path), None)
        };
        Self {
            url: format!("denokv:{}", file.display()),
            backend: "denokv",
            label: "denokv",
            driver: Some(format!(
                "denokv_sqlite {}",
                env!("FEDIKV_LOCKED_DENOKV_SQLITE")
            )),
            server: format!(
                "Deno KV file {} (SQLite {}, bundled)",
                file.display(),
                rusqlite::version()
            ),
            temp_file,
        }
    }

    /// A KV Connect server, as given.
    fn denokv_server(given: &str) -> Self {
        let server = Url::parse(&given["denokv+".len()..]).map_or_else(
            |_| "KV Connect server".into(),
            |url| {
                format!(
                    "KV Connect server at {}:{}",
                    url.host_str().unwrap_or("localhost"),
                    url.port_or_known_default().unwrap_or(0)
                )
            },
        );
        Self {
            url: given.to_owned(),
            backend: "denokv_remote",
            label: "denokv_remote",
            driver: Some(format!(
                "denokv_remote {}",
                env!("FEDIKV_LOCKED_DENOKV_REMOTE")
            )),
            server,
            temp_file: None,
        }
    }

    /// A Redis Cluster URL with the bench prefix (a cluster has only
    /// database 0).
    fn redis_cluster(given: &str) -> Self {
        let (base, query) = given.split_once('?').unwrap_or((given, ""));
        let authority = base.split_once("://").map_or("", |(_, rest)| rest);
        let nodes = authority
            .rsplit_once('@')
            .map_or(authority, |(_, nodes)| nodes)
            .trim_end_matches('/');
        Self {
            url: with_default_option(base, query, "prefix", &BENCH_REDIS_PREFIX),
            backend: "redis-cluster",
            label: "redis-cluster",
            driver: Some(format!(
                "redis-rs {} ClusterConnection",
                env!("FEDIKV_LOCKED_REDIS")
            )),
            server: format!("Redis Cluster at {nodes}"),
            temp_file: None,
        }
    }

    /// A server URL with the bench table (SQL) or database and prefix (Redis).
    fn server(given: &str, backend: &'static str, product: &str) -> Result<Self, CliError> {
        let mut url = Url::parse(given).map_err(|e| {
            CliError::new(format!(
                "invalid store URL {:?}: {e}; use e.g. postgres://user@127.0.0.1:5432/db",
                fedikv::redact(given)
            ))
        })?;
        let (option, value, driver) = match backend {
            "postgres" => (
                "table",
                BENCH_TABLE,
                format!(
                    "tokio-postgres {} + deadpool-postgres {}",
                    env!("FEDIKV_LOCKED_TOKIO_POSTGRES"),
                    env!("FEDIKV_LOCKED_DEADPOOL_POSTGRES")
                ),
            ),
            "mysql" => (
                "table",
                BENCH_TABLE,
                format!("mysql_async {}", env!("FEDIKV_LOCKED_MYSQL_ASYNC")),
            ),
            _ => {
                if matches!(url.path(), "" | "/") {
                    url.set_path(BENCH_REDIS_DB);
                }
                (
                    "prefix",
                    BENCH_REDIS_PREFIX.as_str(),
                    format!("redis-rs {} ConnectionManager", env!("FEDIKV_LOCKED_REDIS")),
                )
            }
        };
        if !url.query_pairs().any(|(k, _)| k == option) {
            url.query_pairs_mut().append_pair(option, value);
        }
        let server = format!(
            "{product} at {}:{}{}",
            url.host_str().unwrap_or("localhost"),
            url.port()
                .map_or_else(|| "default port".into(), |p| p.to_string()),
            url.path()
        );
        let unlogged = url
            .query_pairs()
            .any(|(k, v)| k == "unlogged" && v == "true");
        Ok(Self {
            url: url.to_string(),
            backend,
            label: if unlogged {
                "postgres-unlogged"
            } else {
                backend
            },
            driver: Some(driver),
            server,
            temp_file: None,
        })
    }

    /// Opens the store, keeping the SQL stores' concrete type so that their
    /// table can be dropped.
    pub async fn open(&self) -> KvResult<Opened> {
        let url = self.url.as_str();
        Ok(match self.backend {
            "sqlite" => Opened::table(Table::Sqlite(SqliteKvStore::open_url(url).await?)),
            "postgres" => Opened::table(Table::Postgres(PostgresKvStore::open_url(url).await?)),
            "mysql" => Opened::table(Table::Mysql(MysqlKvStore::open_url(url).await?)),
            "denokv" | "denokv_remote" => {
                let store = fedikv::open(url).await?;
                if self.temp_file.is_none() && store.list(None).next().await.is_some() {
                    return Err(KvError::InvalidUrl {
                        reason: format!(
                            "{} holds entries, and a Deno KV database has no table or prefix to keep the \
                             benchmark apart (it empties the database): use denokv: for a temporary file, \
                             a new file, or an empty server",
                            fedikv::redact(url)
                        ),
                    });
                }
                Opened::deleting_entries(store)
            }
            _ => Opened::deleting_entries(fedikv::open(url).await?),
        })
    }

    /// The raw-driver floors of this store (see [`super::raw`]): their kind
    /// and driver, none for a backend without floors.
    pub fn raw_floors(&self) -> Vec<(Kind, String)> {
        let pooled = |driver: String| {
            vec![
                (
                    Kind::StoreCount,
                    format!("{driver}, pool of the store's size"),
                ),
                (Kind::One, format!("{driver}, one connection held")),
            ]
        };
        match self.backend {
            "sqlite" => vec![(
                Kind::StoreCount,
                format!(
                    "rusqlite {} alone, one connection",
                    env!("FEDIKV_LOCKED_RUSQLITE")
                ),
            )],
            "postgres" => pooled(format!(
                "tokio-postgres {} + deadpool-postgres {} alone, no TLS",
                env!("FEDIKV_LOCKED_TOKIO_POSTGRES"),
                env!("FEDIKV_LOCKED_DEADPOOL_POSTGRES")
            )),
            "mysql" => pooled(format!(
                "mysql_async {} alone",
                env!("FEDIKV_LOCKED_MYSQL_ASYNC")
            )),
            "redis" => vec![(
                Kind::StoreCount,
                format!(
                    "redis-rs {} MultiplexedConnection alone",
                    env!("FEDIKV_LOCKED_REDIS")
                ),
            )],
            _ => Vec::new(),
        }
    }

    /// Opens the raw-driver floor of kind `kind` of this store (see
    /// [`super::raw`]) on the same table, file or prefix. The store is
    /// opened too: it creates the table (again after each wipe) and does the
    /// cleanup.
    pub async fn open_raw(&self, kind: Kind) -> KvResult<Opened> {
        let owner = self.open().await?;
        let store: Arc<dyn KvStore> = match (&owner.cleanup, self.backend) {
            (Cleanup::DropTable(Table::Sqlite(store)), _) => Arc::new(Raw(RawSqliteStore::create(
                &store.path(),
                &store.options().table,
            )?)),
            (Cleanup::DropTable(Table::Postgres(store)), _) => {
                Arc::new(Raw(RawPostgres::new(&self.url, store.table(), kind).await?))
            }
            (Cleanup::DropTable(Table::Mysql(store)), _) => {
                Arc::new(Raw(RawMysql::new(&self.url, store.table(), kind).await?))
            }
            (_, "redis") => Arc::new(Raw(RawRedis::new(&self.url).await?)),
            _ => return Err(unsupported(self.backend)),
        };
        let cleanup = match owner.cleanup {
            Cleanup::DropTable(table) => Cleanup::Recreate(table),
            other => other,
        };
        Ok(Opened {
            store,
            owner: owner.owner,
            cleanup,
        })
    }

    /// The URL opened, with the benchmark's table or prefix. It may hold a
    /// password: never print it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Deletes the temporary database file, if there is one.
    pub fn remove_files(&self) {
        if let Some(file) = &self.temp_file {
            remove_database_files(file);
        }
    }
}

/// An opened store to benchmark, and how to empty it.
#[derive(Debug)]
pub struct Opened {
    /// The store (or raw-driver floor) measured.
    pub store: Arc<dyn KvStore>,
    /// The store whose entries [`Cleanup::DeleteEntries`] deletes.
    owner: Arc<dyn KvStore>,
    cleanup: Cleanup,
}

/// How a benchmark store is emptied.
#[derive(Debug)]
enum Cleanup {
    /// Drop the benchmark's table (the next operation creates it again).
    DropTable(Table),
    /// Drop the benchmark's table, and create it again before the run (for a
    /// raw-driver floor, which does not create it).
    Recreate(Table),
    /// Delete every entry the owner lists (its prefix or database only).
    DeleteEntries,
}

/// A SQL store, by concrete type.
#[derive(Debug, Clone)]
enum Table {
    Sqlite(SqliteKvStore),
    Postgres(PostgresKvStore),
    Mysql(MysqlKvStore),
}

impl Opened {
    fn table(table: Table) -> Self {
        let store: Arc<dyn KvStore> = match table.clone() {
            Table::Sqlite(store) => Arc::new(store),
            Table::Postgres(store) => Arc::new(store),
            Table::Mysql(store) => Arc::new(store),
        };
        Self {
            owner: Arc::clone(&store),
            store,
            cleanup: Cleanup::DropTable(table),
        }
    }

    /// A store emptied by deleting the entries it lists.
    fn deleting_entries(store: Arc<dyn KvStore>) -> Self {
        Self {
            owner: Arc::clone(&store),
            store,
            cleanup: Cleanup::DeleteEntries,
        }
    }

    /// The table of a PostgreSQL or MySQL store.
    pub fn server_table(&self) -> Option<&str> {
        match &self.cleanup {
            Cleanup::DropTable(Table::Postgres(store))
            | Cleanup::Recreate(Table::Postgres(store)) => Some(store.table()),
            Cleanup::DropTable(Table::Mysql(store)) | Cleanup::Recreate(Table::Mysql(store)) => {
                Some(store.table())
            }
            _ => None,
        }
    }

    /// Empties the benchmark's table or prefix before a run; for a
    /// raw-driver floor, the table is created again afterwards.
    pub async fn prepare(&self) -> KvResult<()> {
        self.wipe().await?;
        match &self.cleanup {
            Cleanup::Recreate(Table::Sqlite(store)) => store.initialize().await,
            Cleanup::Recreate(Table::Postgres(store)) => store.initialize().await,
            Cleanup::Recreate(Table::Mysql(store)) => store.initialize().await,
            _ => Ok(()),
        }
    }

    /// Removes the benchmark's table, or every entry under its prefix.
    pub async fn wipe(&self) -> KvResult<()> {
        match &self.cleanup {
            Cleanup::DropTable(table) | Cleanup::Recreate(table) => match table {
                Table::Sqlite(store) => store.drop_table().await,
                Table::Postgres(store) => store.drop_table().await,
                Table::Mysql(store) => store.drop_table().await,
            },
            Cleanup::DeleteEntries => delete_entries(self.owner.as_ref()).await,
        }
    }
}

/// Deletes every entry `store` lists, a batch at a time.
async fn delete_entries(store: &dyn KvStore) -> KvResult<()> {
    loop {
        let keys: Vec<KvKey> = store
            .list(None)
            .take(WIPE_BATCH)
            .map_ok(|entry| entry.key)
            .try_collect()
            .await?;
        if keys.is_empty() {
            return Ok(());
        }
        for key in &keys {
            store.delete(key).await?;
        }
    }
}

/// A fresh path for a temporary benchmark database.
fn temp_database_path() -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("fedikv-bench-{}-{n}.sqlite3", std::process::id()))
}

/// Deletes an SQLite database file and its `-wal`, `-shm` and `-journal` files.
fn remove_database_files(file: &std::path::Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut path = file.as_os_str().to_owned();
        path.push(suffix);
        // Missing files are fine: not every mode creates every file.
        let _ = std::fs::remove_file(path);
    }
}

/// `url` with `query`, plus `name=value` unless `query` sets `name`.
fn with_default_option(url: &str, query: &str, name: &str, value: &str) -> String {
    let has_option = url::form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k == name);
    let extra = if has_option {
        String::new()
    } else {
        format!("{name}={value}")
    };
    let query: Vec<&str> = [query, extra.as_str()]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect();
    if query.is_empty() {
        url.to_owned()
    } else {
        format!("{url}?{}", query.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_stores_get_the_bench_table() {
        let t = Target::new("postgres://u:secret@127.0.0.1:5432/test").unwrap();
        assert_eq!(
            t.url,
            "postgres://u:secret@127.0.0.1:5432/test?table=fedify_kv_bench"
        );
        assert!(!t.server.contains("secret"));
        let t = Target::new("mysql://root@127.0.0.1:3306/test?table=mine").unwrap();
        assert_eq!(t.url, "mysql://root@127.0.0.1:3306/test?table=mine");
        let t = Target::new("sqlite:data/x.sqlite3?sweep=off").unwrap();
        assert_eq!(
            t.url,
            "sqlite:data/x.sqlite3?sweep=off&table=fedify_kv_bench"
        );
        assert!(t.temp_file.is_none());
    }

    #[test]
    fn sqlite_without_a_path_is_a_temporary_file() {
        let t = Target::new("sqlite:").unwrap();
        let file = t.temp_file.clone().unwrap();
        assert!(t.url.starts_with(&format!("sqlite:{}", file.display())));
        assert!(t.url.ends_with("?table=fedify_kv_bench"));
    }

    #[test]
    fn redis_gets_database_15_and_the_bench_prefix() {
        let t = Target::new("redis://127.0.0.1:6379").unwrap();
        let prefix = format!("fedify-bench-{}-", std::process::id());
        assert!(
            t.url
                .starts_with(&format!("redis://127.0.0.1:6379/15?prefix={prefix}")),
            "{}",
            t.url
        );
        assert!(t.url.ends_with("%3A%3A"), "{}", t.url);
        let t = Target::new("redis://127.0.0.1:6379/3").unwrap();
        assert!(t.url.starts_with("redis://127.0.0.1:6379/3?"));
    }

    #[test]
    fn redis_clusters_get_the_bench_prefix() {
        let t = Target::new("redis+cluster://:pw@127.0.0.1:7000,127.0.0.1:7001/").unwrap();
        assert_eq!(
            t.url,
            format!(
                "redis+cluster://:pw@127.0.0.1:7000,127.0.0.1:7001/?prefix={}",
                *BENCH_REDIS_PREFIX
            )
        );
        assert_eq!(t.server, "Redis Cluster at 127.0.0.1:7000,127.0.0.1:7001");
        assert_eq!(t.backend, "redis-cluster");
        let t = Target::new("redis+cluster://127.0.0.1:7000?prefix=mine::").unwrap();
        assert_eq!(t.url, "redis+cluster://127.0.0.1:7000?prefix=mine::");
    }

    #[test]
    fn unknown_schemes_are_refused() {
        assert!(Target::new("ftp://x").is_err());
        let t = Target::new("denokv:").unwrap();
        assert!(t.temp_file.is_some() && t.backend == "denokv");
        let t = Target::new("denokv+http://127.0.0.1:4512?token=secret-token").unwrap();
        assert_eq!(t.server, "KV Connect server at 127.0.0.1:4512");
        assert!(Target::new("nothing").is_err());
    }
}
