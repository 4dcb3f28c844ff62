//! Store URLs: the [`Scheme`] table, option parsing and redaction. A leaf
//! module: the backends import it, it imports no backend.

use url::Url;

use crate::error::{KvError, KvResult};

/// The kind of store a URL names, from its scheme. [`Scheme::ALL`] is the one
/// table of URL forms that [`open`](crate::open()), its errors, the CLI's help
/// and its commands take their lists from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// `memory:`: a new, empty [`MemoryKvStore`](crate::MemoryKvStore).
    Memory,
    /// `sqlite:PATH`, `sqlite://PATH`: `SqliteKvStore`.
    Sqlite,
    /// `postgres://…`, `postgresql://…`: `PostgresKvStore`.
    Postgres,
    /// `mysql://…`, `mariadb://…`: `MysqlKvStore`.
    Mysql,
    /// `redis://…`, `rediss://…`: `RedisKvStore` on one server.
    Redis,
    /// `redis+cluster://host:port,…`, `rediss+cluster://…`: `RedisKvStore`
    /// on a Redis Cluster.
    RedisCluster,
    /// `denokv:PATH`: `DenoKvStore` on a local Deno KV file.
    DenoKv,
    /// `denokv+http://…`, `denokv+https://…`: `DenoKvStore` on a KV Connect
    /// server.
    DenoKvRemote,
}

/// One row of the table: the scheme names (the first is the canonical one),
/// the form shown to users, and the Cargo feature that enables it.
struct Row {
    names: &'static [&'static str],
    form: &'static str,
    feature: Option<&'static str>,
    enabled: bool,
}

impl Scheme {
    /// Every scheme, in the order messages list them.
    pub const ALL: [Scheme; 8] = [
        Scheme::Memory,
        Scheme::Sqlite,
        Scheme::Postgres,
        Scheme::Mysql,
        Scheme::Redis,
        Scheme::RedisCluster,
        Scheme::DenoKv,
        Scheme::DenoKvRemote,
    ];

    const fn row(self) -> Row {
        match self {
            Scheme::Memory => Row {
                names: &["memory"],
                form: "memory:",
                feature: None,
                enabled: true,
            },
            Scheme::Sqlite => Row {
                names: &["sqlite"],
                form: "sqlite:PATH",
                feature: Some("sqlite"),
                enabled: cfg!(feature = "sqlite"),
            },
            Scheme::Postgres => Row {
                names: &["postgres", "postgresql"],
                form: "postgres://USER@HOST/DB",
                feature: Some("postgres"),
                enabled: cfg!(feature = "postgres"),
            },
            Scheme::Mysql => Row {
                names: &["mysql", "mariadb"],
                form: "mysql://USER@HOST/DB",
                feature: Some("mysql"),
                enabled: cfg!(feature = "mysql"),
            },
            Scheme::Redis => Row {
                names: &["redis", "rediss"],
                form: "redis://HOST:PORT",
                feature: Some("redis"),
                enabled: cfg!(feature = "redis"),
            },
            Scheme::RedisCluster => Row {
                names: &["redis+cluster", "rediss+cluster"],
                form: "redis+cluster://HOST:PORT,HOST:PORT",
                feature: Some("redis"),
                enabled: cfg!(feature = "redis"),
            },
            Scheme::DenoKv => Row {
                names: &["denokv"],
                form: "denokv:PATH",
                feature: Some("denokv"),
                enabled: cfg!(feature = "denokv"),
            },
            Scheme::DenoKvRemote => Row {
                names: &["denokv+http", "denokv+https"],
                form: "denokv+http://HOST:PORT?token=TOKEN",
                feature: Some("denokv"),
                enabled: cfg!(feature = "denokv"),
            },
        }
    }

    /// The scheme names that select it, canonical first (`["postgres",
    /// "postgresql"]`).
    pub const fn names(self) -> &'static [&'static str] {
        self.row().names
    }

    /// How a URL of this kind is written, for messages (`"sqlite:PATH"`).
    pub const fn form(self) -> &'static str {
        self.row().form
    }

    /// The Cargo feature of `fedikv` that enables it (`None` for memory).
    pub const fn feature(self) -> Option<&'static str> {
        self.row().feature
    }

    /// Whether this build of fedikv can open it.
    pub const fn is_enabled(self) -> bool {
        self.row().enabled
    }

    /// The scheme named `name` (any case), enabled or not.
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|scheme| scheme.names().contains(&name.as_str()))
    }

    /// The scheme of `url`. Errors: [`KvError::InvalidUrl`] without a
    /// scheme, or for a server URL without the `//` of its form
    /// (`postgresql:/x`, which would otherwise reach the driver, whose message
    /// does not say what is expected); [`KvError::FeatureDisabled`] for a
    /// backend this build leaves out, [`KvError::UnsupportedScheme`] for any
    /// other scheme.
    ///
    /// ```
    /// use fedikv::Scheme;
    /// assert_eq!(Scheme::of("memory:").unwrap(), Scheme::Memory);
    /// assert_eq!(Scheme::of("SQLite:kv.db").unwrap(), Scheme::Sqlite);
    /// assert!(Scheme::of("ftp://x").is_err());
    /// ```
    pub fn of(url: &str) -> KvResult<Self> {
        let (name, rest) = url.split_once(':').ok_or_else(|| KvError::InvalidUrl {
            reason: format!(
                "{:?} has no scheme; use one of {}",
                redact(url),
                Self::forms()
            ),
        })?;
        match Self::from_name(name) {
            Some(scheme) if scheme.form().contains("://") && !rest.starts_with("//") => {
                Err(KvError::InvalidUrl {
                    reason: format!("{:?}: write it as {}", redact(url), scheme.form()),
                })
            }
            Some(scheme) if scheme.is_enabled() => Ok(scheme),
            Some(scheme) => Err(KvError::FeatureDisabled {
                scheme: name.to_owned(),
                feature: scheme.feature().unwrap_or_default(),
            }),
            None => Err(KvError::UnsupportedScheme {
                scheme: name.to_owned(),
            }),
        }
    }

    /// Every form, comma-separated, for messages and help texts
    /// (`"memory:, sqlite:PATH, postgres://USER@HOST/DB, …"`).
    pub fn forms() -> String {
        Self::ALL.map(Self::form).join(", ")
    }
}

/// Query options that hold credentials (`denokv+http://…?token=`).
const SECRET_OPTIONS: &[&str] = &["token", "password"];

/// The URL with any password, `token=` / `password=` option and fragment
/// replaced by `***`, for messages (rule S4).
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

/// [`KvError::InvalidUrl`] for `url` (redacted) and `reason`.
#[cfg(any(
    feature = "sqlite",
    feature = "postgres",
    feature = "mysql",
    feature = "redis",
    feature = "denokv"
))]
pub(crate) fn invalid_url(url: &str, reason: impl std::fmt::Display) -> KvError {
    KvError::InvalidUrl {
        reason: format!("{:?}: {reason}", redact(url)),
    }
}

/// Parses a server URL, mapping errors to [`KvError::InvalidUrl`] without the
/// password.
#[cfg(any(
    feature = "postgres",
    feature = "mysql",
    feature = "redis",
    feature = "denokv"
))]
pub(crate) fn parse_url(url: &str) -> KvResult<Url> {
    Url::parse(url).map_err(|e| KvError::InvalidUrl {
        reason: format!("{:?} is not a valid URL: {e}", redact(url)),
    })
}

/// The query options of a store URL, consumed one by one so that unknown
/// options can be reported.
#[derive(Debug, Default)]
#[cfg(any(
    feature = "sqlite",
    feature = "postgres",
    feature = "mysql",
    feature = "redis",
    feature = "denokv"
))]
pub(crate) struct UrlOptions {
    pairs: Vec<(String, String)>,
}

#[cfg(any(
    feature = "sqlite",
    feature = "postgres",
    feature = "mysql",
    feature = "redis",
    feature = "denokv"
))]
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

    #[cfg(any(feature = "sqlite", feature = "postgres"))]
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
    #[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
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
    #[cfg(any(feature = "sqlite", feature = "denokv"))]
    pub(crate) fn finish(self, known: &str) -> KvResult<()> {
        match self.pairs.first() {
            None => Ok(()),
            Some((k, _)) => Err(KvError::InvalidUrl {
                reason: format!("unknown option {k:?}; known options: {known}"),
            }),
        }
    }

    /// The remaining pairs, for backends that pass them on to their driver.
    #[cfg(any(feature = "postgres", feature = "mysql", feature = "redis"))]
    pub(crate) fn into_pairs(self) -> Vec<(String, String)> {
        self.pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scheme_name_maps_back_to_its_scheme() {
        for scheme in Scheme::ALL {
            for name in scheme.names() {
                assert_eq!(Scheme::from_name(name), Some(scheme));
                assert_eq!(Scheme::from_name(&name.to_uppercase()), Some(scheme));
            }
            assert!(Scheme::forms().contains(scheme.form()));
            assert!(scheme.form().starts_with(scheme.names()[0]));
        }
        assert_eq!(Scheme::from_name("ftp"), None);
    }

    #[test]
    fn unknown_and_schemeless_urls_list_every_form() {
        let unknown = Scheme::of("ftp://x").unwrap_err();
        assert!(matches!(unknown, KvError::UnsupportedScheme { .. }));
        let schemeless = Scheme::of("no-scheme").unwrap_err();
        assert!(matches!(schemeless, KvError::InvalidUrl { .. }));
        for error in [unknown, schemeless] {
            for scheme in Scheme::ALL {
                assert!(error.to_string().contains(scheme.form()), "{error}");
            }
        }
    }

    /// Issue 11: a server URL without `//` says what form is expected.
    #[test]
    fn server_urls_without_slashes_name_their_form() {
        let message = Scheme::of("postgresql:/x").unwrap_err().to_string();
        assert!(message.contains("postgres://USER@HOST/DB"), "{message}");
        assert!(message.contains("\"postgresql:/x\""), "{message}");
        for (url, scheme) in [
            ("mysql:db", Scheme::Mysql),
            ("redis:x", Scheme::Redis),
            ("redis+cluster:x", Scheme::RedisCluster),
            ("denokv+http:x", Scheme::DenoKvRemote),
        ] {
            let message = Scheme::of(url).unwrap_err().to_string();
            assert!(message.contains(scheme.form()), "{message}");
        }
        for url in [
            "memory:",
            "sqlite:kv.db",
            "sqlite://kv.db",
            "denokv:kv",
            "postgres://u@h/d",
        ] {
            assert!(Scheme::of(url).is_ok(), "{url}");
        }
        assert!(Scheme::of("ftp://x").is_err());
    }

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
}
