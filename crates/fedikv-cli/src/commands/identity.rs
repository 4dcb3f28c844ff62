//! [`same_data`]: whether two store URLs name the same stored data, so that
//! `fedikv copy` refuses to copy a store onto itself.

use std::path::{Path, PathBuf};

use fedikv::Scheme;
use url::Url;

/// Whether `a` and `b` name the same table (or Redis key space) of the same
/// database: the same SQLite file and table, or the same server (host, port),
/// database and table / key prefix, whatever the spelling (`postgres` or
/// `postgresql`, `localhost` or `127.0.0.1`, a relative or absolute path,
/// default options left out or spelt out). Two Redis Cluster URLs name the
/// same cluster when their seed lists share a node. Two `memory:` or
/// `sqlite::memory:` stores are always distinct: each is a new, empty one.
/// URLs that cannot be parsed are compared as text.
pub fn same_data(a: &str, b: &str) -> bool {
    match (identity(a), identity(b)) {
        (Some(Identity::Private), _) | (_, Some(Identity::Private)) => false,
        (
            Some(Identity::Cluster { nodes: a, space: p }),
            Some(Identity::Cluster { nodes: b, space: q }),
        ) => nested(&p, &q) && a.iter().any(|node| b.contains(node)),
        (
            Some(Identity::Server {
                family: "redis",
                host: h1,
                port: p1,
                database: d1,
                space: s1,
            }),
            Some(Identity::Server {
                family: "redis",
                host: h2,
                port: p2,
                database: d2,
                space: s2,
            }),
        ) => (h1, p1, d1) == (h2, p2, d2) && nested(&s1, &s2),
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

/// What the data a URL names is identified by.
#[derive(Debug, PartialEq, Eq)]
enum Identity {
    /// A store of the process's own memory.
    Private,
    Sqlite {
        file: PathBuf,
        table: String,
    },
    /// A Redis Cluster, known by its seed nodes, and a key prefix.
    Cluster {
        nodes: Vec<(String, u16)>,
        space: String,
    },
    Server {
        family: &'static str,
        host: String,
        port: u16,
        database: String,
        space: String,
    },
}

fn identity(url: &str) -> Option<Identity> {
    let (_, rest) = url.split_once(':')?;
    match Scheme::of(url).ok()? {
        Scheme::Memory => Some(Identity::Private),
        Scheme::Sqlite => {
            let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
            let path = path.strip_prefix("//").unwrap_or(path);
            if path == ":memory:" {
                return Some(Identity::Private);
            }
            Some(Identity::Sqlite {
                file: absolute(Path::new(path)),
                // SQLite table names are case-insensitive.
                table: option(query, "table")
                    .unwrap_or_else(|| fedikv::sqlite::DEFAULT_TABLE.into())
                    .to_ascii_lowercase(),
            })
        }
        Scheme::RedisCluster => cluster(rest.strip_prefix("//")?),
        // One Deno KV database per file: no table or prefix inside it.
        Scheme::DenoKv => Some(Identity::Sqlite {
            file: absolute(Path::new(rest.strip_prefix("//").unwrap_or(rest))),
            table: "(Deno KV)".into(),
        }),
        Scheme::DenoKvRemote => {
            let parsed = Url::parse(&url["denokv+".len()..]).ok()?;
            let default_port = if parsed.scheme() == "https" { 443 } else { 80 };
            Some(Identity::Server {
                family: "denokv",
                host: parsed
                    .host_str()
                    .unwrap_or("localhost")
                    .to_ascii_lowercase(),
                port: parsed.port().unwrap_or(default_port),
                database: parsed.path().trim_matches('/').to_owned(),
                space: String::new(),
            })
        }
        Scheme::Postgres => server(
            url,
            "postgres",
            5432,
            "table",
            fedikv::postgres::DEFAULT_TABLE,
        ),
        Scheme::Mysql => server(url, "mysql", 3306, "table", fedikv::mysql::DEFAULT_TABLE),
        Scheme::Redis => server(url, "redis", 6379, "prefix", fedikv::redis::DEFAULT_PREFIX),
        _ => None,
    }
}

/// The identity of a server URL of `family`, whose default port is `port`
/// and whose table or key prefix is option `space_option`
/// (`default_space` when absent).
fn server(
    url: &str,
    family: &'static str,
    port: u16,
    space_option: &str,
    default_space: &str,
) -> Option<Identity> {
    let parsed = Url::parse(url).ok()?;
    let query = parsed.query().unwrap_or("");
    // libpq also takes its connection parameters from the query string.
    let from_query = |name: &str| {
        (family == "postgres")
            .then(|| option(query, name))
            .flatten()
    };
    let host = loopback_as_one(
        &from_query("host").unwrap_or_else(|| parsed.host_str().unwrap_or("localhost").to_owned()),
    );
    let port = match from_query("port") {
        Some(port) => port.parse().ok()?,
        None => parsed.port().unwrap_or(port),
    };
    let mut database =
        from_query("dbname").unwrap_or_else(|| parsed.path().trim_start_matches('/').to_owned());
    if database.is_empty() {
        database = match family {
            "redis" => "0".into(),
            // libpq's default database is the user's name.
            _ => from_query("user").unwrap_or_else(|| parsed.username().to_owned()),
        };
    }
    let mut space = option(query, space_option).unwrap_or_else(|| default_space.into());
    if family == "postgres" && !space.contains('.') {
        space = format!("public.{space}");
    }
    Some(Identity::Server {
        family,
        host,
        port,
        database,
        space,
    })
}

/// Whether two Redis key prefixes overlap: one holds the other's keys
/// (`fedify::` holds every key of `fedify::copy::`), so copying between them
/// would write into the data being read.
fn nested(a: &str, b: &str) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// A cluster URL's seed nodes (`[user:pw@]h:p,h:p[/][?query]`, after `//`)
/// and key prefix.
fn cluster(rest: &str) -> Option<Identity> {
    let query = rest.split_once('?').map_or("", |(_, query)| query);
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let hosts = authority
        .rsplit_once('@')
        .map_or(authority, |(_, hosts)| hosts);
    let nodes = hosts
        .split(',')
        .map(|node| match node.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(':') => {
                Some((loopback_as_one(host), port.parse().ok()?))
            }
            _ => Some((loopback_as_one(node), 6379)),
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Identity::Cluster {
        nodes,
        space: option(query, "prefix").unwrap_or_else(|| fedikv::redis::DEFAULT_PREFIX.into()),
    })
}

/// `localhost` and `::1` as `127.0.0.1`, other hosts in lower case.
fn loopback_as_one(host: &str) -> String {
    let host = host.to_ascii_lowercase();
    match host.as_str() {
        "localhost" | "[::1]" | "::1" => "127.0.0.1".to_owned(),
        _ => host,
    }
}

/// The value of option `name` in a query string.
fn option(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `path` made absolute and resolved as far as it exists (the file itself
/// may not exist yet).
fn absolute(path: &Path) -> PathBuf {
    if let Ok(real) = path.canonicalize() {
        return real;
    }
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    let dir = match parent {
        Some(dir) => dir.canonicalize().unwrap_or_else(|_| dir.to_owned()),
        None => std::env::current_dir().unwrap_or_default(),
    };
    match path.file_name() {
        Some(name) => dir.join(name),
        None => dir,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_data_whatever_the_spelling() {
        assert!(same_data(
            "postgres://postgres@127.0.0.1/test",
            "postgresql://postgres@localhost:5432/test?table=fedify_kv_v2&pool_size=3"
        ));
        assert!(same_data(
            "postgres://u@h/db?table=t",
            "postgres://u@h/db?table=public.t"
        ));
        assert!(same_data(
            "mysql://root@127.0.0.1/test",
            "mariadb://root@localhost:3306/test"
        ));
        assert!(same_data(
            "redis://127.0.0.1",
            "redis://localhost:6379/0?prefix=fedify::"
        ));
        assert!(same_data(
            "sqlite:kv.db",
            "sqlite://./kv.db?table=fedify_kv"
        ));
        assert!(same_data("denokv:kv.db", "denokv://./kv.db"));
        assert!(same_data(
            "denokv+http://127.0.0.1:4512?token=a",
            "denokv+http://127.0.0.1:4512/?token=b"
        ));
        assert!(same_data(
            "redis+cluster://127.0.0.1:7000,127.0.0.1:7001",
            "redis+cluster://u:pw@localhost:7001/?prefix=fedify::"
        ));
        assert!(same_data(
            "redis+cluster://127.0.0.1:7000/0",
            "redis+cluster://127.0.0.1:7000"
        ));
        // A prefix inside another holds part of its keys.
        assert!(same_data(
            "redis://h/?prefix=fedify::",
            "redis://h/?prefix=fedify::copy::"
        ));
        assert!(same_data(
            "redis+cluster://h:7000?prefix=app::",
            "redis+cluster://h:7000?prefix=app::v2::"
        ));
        assert!(same_data(
            "postgres://u@LOCALHOST/db",
            "postgres://u@127.0.0.1/db"
        ));
        assert!(same_data(
            "postgres://u@h/db",
            "postgres://u@h/?dbname=db&port=5432"
        ));
        assert!(same_data("sqlite:kv.db?table=FEDIFY_KV", "sqlite:kv.db"));
    }

    #[test]
    fn different_data() {
        assert!(!same_data("memory:", "memory:"));
        assert!(!same_data("sqlite::memory:", "sqlite::memory:"));
        assert!(!same_data("sqlite:kv.db", "sqlite:kv.db?table=other"));
        assert!(!same_data("sqlite:a.db", "sqlite:b.db"));
        assert!(!same_data("postgres://u@h/db", "postgres://u@h/other"));
        assert!(!same_data("postgres://u@h/db", "postgres://u@h:5433/db"));
        assert!(!same_data("redis://h/0", "redis://h/1"));
        assert!(!same_data("redis://h/0", "redis://h/0?prefix=app::"));
        assert!(!same_data("postgres://u@h/test", "mysql://u@h/test"));
        assert!(!same_data(
            "redis+cluster://127.0.0.1:7000,127.0.0.1:7001",
            "redis+cluster://127.0.0.1:7002"
        ));
        assert!(!same_data(
            "redis+cluster://127.0.0.1:7000",
            "redis+cluster://127.0.0.1:7000?prefix=app::"
        ));
        assert!(!same_data(
            "redis+cluster://127.0.0.1:7000",
            "redis://127.0.0.1:7000"
        ));
        assert!(!same_data(
            "redis+cluster://127.0.0.1:7000/0",
            "redis+cluster://127.0.0.1:7003/0"
        ));
        assert!(!same_data(
            "postgres://u@h/db",
            "postgres://u@h/db?port=5433"
        ));
        assert!(!same_data(
            "postgres://u@h/?dbname=a",
            "postgres://u@h/?dbname=b"
        ));
        assert!(!same_data("denokv:kv.db", "sqlite:kv.db"));
        assert!(!same_data("denokv+http://h:1", "denokv+http://h:2"));
    }
}
