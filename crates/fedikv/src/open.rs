//! [`open`]: a store from a URL, and the URL helpers the backends share.

use std::sync::Arc;

use url::Url;

use crate::error::{KvError, KvResult};
use crate::memory::MemoryKvStore;
use crate::store::KvStore;

/// Opens the store a URL names (the forms are listed below and in `docs/cli.md`):
///
/// | URL | store |
/// | --- | --- |
/// | `memory:` | [`MemoryKvStore`] |
/// | `sqlite:PATH`, `sqlite://PATH` | `SqliteKvStore` (feature `sqlite`, default) |
/// | `postgres://…`, `postgresql://…` | `PostgresKvStore` (feature `postgres`) |
/// | `mysql://…`, `mariadb://…` | `MysqlKvStore` (feature `mysql`) |
/// | `redis://…`, `rediss://…` | `RedisKvStore` (feature `redis`) |
/// | `redis+cluster://host:port,…`, `rediss+cluster://…` | `RedisKvStore` on a Redis Cluster (feature `redis`) |
/// | `denokv:PATH`, `denokv+http://…`, `denokv+https://…` | `DenoKvStore` (feature `denokv`) |
///
/// Options go in the query string (`?table=fedify_kv`, `?prefix=fedify::`,
/// `?sweep=off`); each backend documents its own. Errors never repeat the
/// URL's password.
pub async fn open(url: &str) -> KvResult<Arc<dyn KvStore>> {
    match Scheme::of(url)? {
        Scheme::Memory => Ok(Arc::new(MemoryKvStore::new())),
        #[cfg(feature = "sqlite")]
        Scheme::Sqlite => Ok(Arc::new(crate::sqlite::SqliteKvStore::open_url(url).await?)),
        #[cfg(feature = "postgres")]
        Scheme::Postgres => Ok(Arc::new(
            crate::postgres::PostgresKvStore::open_url(url).await?,
        )),
        #[cfg(feature = "mysql")]
        Scheme::Mysql => Ok(Arc::new(crate::mysql::MysqlKvStore::open_url(url).await?)),
        #[cfg(feature = "redis")]
        Scheme::Redis => Ok(Arc::new(crate::redis::RedisKvStore::open_url(url).await?)),
        #[cfg(feature = "denokv")]
        Scheme::DenoKv => Ok(Arc::new(crate::denokv::DenoKvStore::open_url(url).await?)),
    }
}

/// The backend a store URL names, one per enabled feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Memory,
    #[cfg(feature = "sqlite")]
    Sqlite,
    #[cfg(feature = "postgres")]
    Postgres,
    #[cfg(feature = "mysql")]
    Mysql,
    #[cfg(feature = "redis")]
    Redis,
    #[cfg(feature = "denokv")]
    DenoKv,
}

impl Scheme {
    /// The backend of `url`, from its scheme (case-insensitive; the table
    /// of [`open`]). Errors: [`KvError::InvalidUrl`] without a scheme,
    /// [`KvError::FeatureDisabled`] for a backend this build leaves out,
    /// [`KvError::UnsupportedScheme`] for any other scheme.
    pub(crate) fn of(url: &str) -> KvResult<Self> {
        let scheme = url
            .split_once(':')
            .map(|(scheme, _)| scheme.to_ascii_lowercase())
            .ok_or_else(|| KvError::InvalidUrl {
                reason: format!(
                    "{:?} has no scheme; use e.g. sqlite:fedikv.sqlite3 or postgres://host/db",
                    redact(url)
                ),
            })?;
        match scheme.as_str() {
            "memory" => Ok(Self::Memory),
            #[cfg(feature = "sqlite")]
            "sqlite" => Ok(Self::Sqlite),
            #[cfg(feature = "postgres")]
            "postgres" | "postgresql" => Ok(Self::Postgres),
            #[cfg(feature = "mysql")]
            "mysql" | "mariadb" => Ok(Self::Mysql),
            #[cfg(feature = "redis")]
            "redis" | "rediss" | "redis+cluster" | "rediss+cluster" => Ok(Self::Redis),
            #[cfg(feature = "denokv")]
            "denokv" | "denokv+http" | "denokv+https" => Ok(Self::DenoKv),
            other => Err(disabled_or_unknown(other)),
        }
    }
}

fn disabled_or_unknown(scheme: &str) -> KvError {
    let feature = match scheme {
        "sqlite" => "sqlite",
        "postgres" | "postgresql" => "postgres",
        "mysql" | "mariadb" => "mysql",
        "redis" | "rediss" | "redis+cluster" | "rediss+cluster" => "redis",
        "denokv" | "denokv+http" | "denokv+https" => "denokv",
        _ => {
            return KvError::UnsupportedScheme {
                scheme: scheme.to_owned(),
            };
        }
    };
    KvError::FeatureDisabled {
        scheme: scheme.to_owned(),
        feature,
    }
}

/// Query options that hold credentials (`denokv+http://…?token=`).
const SECRET_OPTIONS: &[&str] = &["token", "password"];

/// The URL with any password, `token=` / `password=` option and fragment
/// replaced by `***`, for messages.
pub fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            if parsed.query().is_some() {
                let pairs: Vec<(String, String)> = parsed
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if SECRET_OPTIONS.contains(&k.as_ref()) {
                            "***".into()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), v)
                    })
                    .collect();
                parsed.query_pairs_mut().clear().extend_pairs(pairs);
            }
            // A store URL has no use for a fragment: one there is the rest of
            // a password or token holding an unescaped `#`.
            if parsed.fragment().is_some() {
                parsed.set_fragment(Some("***"));
            }
            parsed.to_string()
        }
        // Unparseable: drop everything between "//" and the last "@", where
        // a password would be (it may hold "?" or "#"), then, if what is left
        // names a secret option, everything from its query or that name on,
        // whichever comes first (the query may have started inside the user
        // info).
        Err(_) => {
            let (head, rest) = match (url.find("://"), url.rfind('@')) {
                (Some(start), Some(at)) if at > start => {
                    (format!("{}://***@", &url[..start]), &url[at + 1..])
                }
                _ => (String::new(), url),
            };
            let secret = SECRET_OPTIONS.iter().filter_map(|o| rest.find(o)).min();
            match secret {
                Some(at) => {
                    let end = rest.find('?').map_or(at, |query| query.min(at));
                    format!("{head}{}?***", &rest[..end])
                }
                None => format!("{head}{rest}"),
            }
        }
    }
}

/// Parses a server URL, mapping errors to [`KvError::InvalidUrl`] without the
/// password.
#[cfg_attr(
    not(any(feature = "postgres", feature = "mysql", feature = "redis")),
    allow(dead_code)
)]
pub(crate) fn parse_url(url: &str) -> KvResult<Url> {
    Url::parse(url).map_err(|e| KvError::InvalidUrl {
        reason: format!("{:?} is not a valid URL: {e}", redact(url)),
    })
}

/// The query options of a store URL, consumed one by one so that unknown
/// options can be reported.
#[derive(Debug, Default)]
pub(crate) struct UrlOptions {
    pairs: Vec<(String, String)>,
}

#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
impl UrlOptions {
    /// The `key=value` pairs of a query string (without the `?`).
    pub(crate) fn from_query(query: Option<&str>) -> Self {
        let pairs = query
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Self { pairs }
    }

    /// Removes and returns option `name`.
    pub(crate) fn take(&mut self, name: &str) -> Option<String> {
        let i = self.pairs.iter().position(|(k, _)| k == name)?;
        Some(self.pairs.remove(i).1)
    }

    /// Removes and parses a boolean option (`true`/`false`/`1`/`0`/`yes`/`no`).
    pub(crate) fn take_bool(&mut self, name: &str) -> KvResult<Option<bool>> {
        match self.take(name) {
            None => Ok(None),
            Some(v) => match v.as_str() {
                "true" | "1" | "yes" | "on" => Ok(Some(true)),
                "false" | "0" | "no" | "off" => Ok(Some(false)),
                _ => Err(KvError::InvalidUrl {
                    reason: format!("option {name}={v}: expected true or false"),
                }),
            },
        }
    }

    /// Applies `sweep=` and `sweep_batch=` to a policy.
    pub(crate) fn take_sweep(&mut self, policy: &mut crate::SweepPolicy) -> KvResult<()> {
        let mut i = 0;
        while i < self.pairs.len() {
            let (k, v) = &self.pairs[i];
            match policy.apply_option(k, v) {
                Some(Ok(())) => {
                    self.pairs.remove(i);
                }
                Some(Err(reason)) => return Err(KvError::InvalidUrl { reason }),
                None => i += 1,
            }
        }
        Ok(())
    }

    /// Fails if any option was not consumed, naming the known ones.
    pub(crate) fn finish(self, known: &str) -> KvResult<()> {
        match self.pairs.first() {
            None => Ok(()),
            Some((k, _)) => Err(KvError::InvalidUrl {
                reason: format!("unknown option {k:?}; known options: {known}"),
            }),
        }
    }

    /// The remaining pairs, for backends that pass them on to their driver.
    #[cfg_attr(
        not(any(feature = "postgres", feature = "mysql", feature = "redis")),
        allow(dead_code)
    )]
    pub(crate) fn into_pairs(self) -> Vec<(String, String)> {
        self.pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `store_url` fuzz target: in an unparseable URL, a
    /// password holding `?` followed by `token` was shown (the query was cut
    /// before the user info).
    #[test]
    fn redacts_a_password_holding_a_question_mark_in_an_unparseable_url() {
        assert_eq!(
            redact("mysql://u:hunter2?token@x@[bad/db?table=t"),
            "mysql://***@[bad/db?table=t"
        );
        assert_eq!(
            redact("denokv+http://u:hunter2?x@[bad?token=t"),
            "denokv+http://***@[bad?***"
        );
    }

    /// Found by the `store_url` fuzz target: in an unparseable URL whose
    /// query starts inside the user info, a `token=` after the last `@` was
    /// shown.
    #[test]
    fn redacts_a_token_after_the_last_at_sign_of_an_unparseable_url() {
        assert_eq!(
            redact("mysql://h:x?y@t&token=hunter2"),
            "mysql://***@t&?***"
        );
        assert_eq!(
            redact("mysql://h:x?y@t&token=hunter2?z"),
            "mysql://***@t&?***"
        );
    }

    /// Found by the `store_url` fuzz target: a token holding an unescaped
    /// `#` ends the query there, and the rest of it, the fragment, was shown.
    #[test]
    fn redacts_the_fragment_where_a_secret_with_a_hash_sign_goes_on() {
        assert_eq!(
            redact("denokv+http://127.0.0.1:4512?token=hunter2#hunter2"),
            "denokv+http://127.0.0.1:4512?token=***#***"
        );
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("postgres://u:secret@127.0.0.1/db"),
            "postgres://u:***@127.0.0.1/db"
        );
        assert!(!redact("redis://:hunter2@[bad/").contains("hunter2"));
        assert_eq!(
            redact("denokv+http://127.0.0.1:4512?token=hunter2hunter2&timeout=1s"),
            "denokv+http://127.0.0.1:4512?token=***&timeout=1s"
        );
        assert_eq!(redact("memory:"), "memory:");
    }

    #[tokio::test]
    async fn unknown_and_malformed_urls_are_typed_errors() {
        assert!(matches!(
            open("ftp://x").await,
            Err(KvError::UnsupportedScheme { .. })
        ));
        assert!(matches!(
            open("no-scheme").await,
            Err(KvError::InvalidUrl { .. })
        ));
        assert_eq!(open("memory:").await.unwrap().backend(), "memory");
    }
}
