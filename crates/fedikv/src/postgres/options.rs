//! [`PostgresOptions`] and the `postgres://` / `postgresql://` URL form.

use std::str::FromStr;
use std::time::Duration;

use tokio_postgres::config::Host;

use super::schema::DEFAULT_TABLE;
use super::tls::TlsSettings;
use crate::error::{KvError, KvResult};
use crate::store_url::{UrlOptions, invalid_url, parse_url};
use crate::sweep::SweepPolicy;

/// Connections a store opened from a URL keeps at most, unless `pool_size=`
/// says otherwise. On the 2-core test machine 8–16 connections served 64
/// concurrent `get`s best; much larger pools only add server processes
/// competing for the same cores.
pub const DEFAULT_POOL_SIZE: usize = 10;

/// How long connecting may take when the URL sets no `connect_timeout`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Options of a [`PostgresKvStore`](super::PostgresKvStore).
///
/// ```
/// use fedikv::postgres::PostgresOptions;
/// let options = PostgresOptions::default().table("kv.Entries").unlogged(true);
/// assert_eq!(options.table, "kv.Entries");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PostgresOptions {
    /// Table name, `fedify_kv_v2` by default like Fedify; `table` or
    /// `schema.table`, each part an ASCII letter or `_` followed by letters,
    /// digits or `_` (at most 63), quoted and so case-sensitive.
    pub table: String,
    /// Create the table `UNLOGGED` (faster writes, emptied after a crash).
    /// Without it, an existing unlogged table is converted to logged once,
    /// as Fedify 2.4 does.
    pub unlogged: bool,
    /// When expired rows are physically removed.
    pub sweep: SweepPolicy,
    /// Maximum connections of a pool the store creates itself
    /// ([`DEFAULT_POOL_SIZE`] by default); ignored by
    /// [`PostgresKvStore::from_pool`](super::PostgresKvStore::from_pool).
    pub pool_size: usize,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            table: DEFAULT_TABLE.to_owned(),
            unlogged: false,
            sweep: SweepPolicy::default(),
            pool_size: DEFAULT_POOL_SIZE,
        }
    }
}

impl PostgresOptions {
    /// The same options with another table name (validated when the store is
    /// built).
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// The same options with an unlogged (or logged) table.
    pub fn unlogged(mut self, unlogged: bool) -> Self {
        self.unlogged = unlogged;
        self
    }

    /// The same options with another sweep policy.
    pub fn sweep(mut self, sweep: SweepPolicy) -> Self {
        self.sweep = sweep;
        self
    }

    /// The same options with another pool size (at least 1).
    pub fn pool_size(mut self, pool_size: usize) -> Self {
        self.pool_size = pool_size.max(1);
        self
    }
}

/// Everything a `postgres://` URL says.
#[derive(Debug)]
pub(crate) struct ParsedUrl {
    /// Driver settings; its `Debug` hides the password.
    pub(crate) driver: tokio_postgres::Config,
    pub(crate) tls: TlsSettings,
    pub(crate) options: PostgresOptions,
}

/// Options fedikv reads from a URL; the rest goes to tokio-postgres.
const OWN_OPTIONS: &str = "table, unlogged, sweep, sweep_batch, pool_size, sslmode, sslrootcert";

/// Parses a `postgres://` or `postgresql://` URL.
///
/// fedikv's query options are `table=`, `unlogged=`, `sweep=` (a duration
/// or `off`), `sweep_batch=`, `pool_size=`, and libpq's `sslmode=` (with
/// `verify-ca` and `verify-full`) and `sslrootcert=`; any other (e.g.
/// `connect_timeout`, `application_name`, `options`, `host` for a Unix
/// socket directory) is passed to tokio-postgres, which rejects unknown ones.
/// Errors never repeat the password.
pub(crate) fn parse(url: &str) -> KvResult<ParsedUrl> {
    let invalid = |reason: String| invalid_url(url, reason);
    let mut parsed = parse_url(url)?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return Err(invalid(
            "the scheme must be postgres:// or postgresql://".to_owned(),
        ));
    }
    let mut query = UrlOptions::from_query(parsed.query());
    let mut options = PostgresOptions::default();
    if let Some(table) = query.take("table") {
        options.table = table;
    }
    if let Some(unlogged) = query.take_bool("unlogged")? {
        options.unlogged = unlogged;
    }
    query.take_sweep(&mut options.sweep)?;
    if let Some(size) = query.take("pool_size") {
        options.pool_size = match size.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(invalid(format!(
                    "pool_size={size}: expected a positive number of connections"
                )));
            }
        };
    }
    for unsupported in ["sslcert", "sslkey", "sslpassword"] {
        if query.take(unsupported).is_some() {
            return Err(invalid(format!(
                "{unsupported}: client certificates are not supported; authenticate with a password"
            )));
        }
    }
    let sslmode = query.take("sslmode");
    let root_cert = query.take("sslrootcert").map(Into::into);
    let tls = TlsSettings::new(sslmode.as_deref(), root_cert).map_err(|e| match e {
        KvError::InvalidUrl { reason } => invalid(reason),
        other => other,
    })?;
    let driver_query = query.into_pairs();
    if driver_query.is_empty() {
        parsed.set_query(None);
    } else {
        // tokio-postgres percent-decodes but reads `+` literally: spaces
        // (as in `options=-c a=b`) must be `%20`. The form encoder writes a
        // literal `+` as `%2B`, so every `+` it writes is a space.
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(driver_query.iter())
            .finish()
            .replace('+', "%20");
        parsed.set_query(Some(&encoded));
    }
    let mut driver = tokio_postgres::Config::from_str(parsed.as_str()).map_err(|e| {
        // The driver's parse errors name the option, never its value; scrub
        // the password anyway in case a future version quotes it.
        let message = super::error::map(e).to_string();
        let message = match parsed.password() {
            Some(pw) if !pw.is_empty() => message.replace(pw, "***"),
            _ => message,
        };
        invalid(format!(
            "{message} (fedikv's own options: {OWN_OPTIONS}; others go to tokio-postgres)"
        ))
    })?;
    driver.ssl_mode(tls.mode);
    if driver.get_connect_timeout().is_none() {
        driver.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
    }
    if driver.get_application_name().is_none() {
        driver.application_name("fedikv");
    }
    Ok(ParsedUrl {
        driver,
        tls,
        options,
    })
}

/// `user@host:port/dbname` of a driver configuration, for `Debug`: never the
/// password.
pub(crate) fn endpoint(config: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = config
                .get_ports()
                .get(i)
                .or_else(|| config.get_ports().first())
                .copied()
                .unwrap_or(5432);
            match host {
                Host::Tcp(name) => format!("{name}:{port}"),
                Host::Unix(dir) => format!("{}:{port}", dir.display()),
            }
        })
        .collect();
    format!(
        "{}@{}/{}",
        config.get_user().unwrap_or(""),
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postgres::tls::Verify;
    use tokio_postgres::config::SslMode;

    #[test]
    fn reads_own_options_and_passes_the_rest() {
        let p = parse(
            "postgresql://u:pw@127.0.0.1:5433/db?table=s.T&unlogged=true&sweep=5m&sweep_batch=10\
             &pool_size=3&sslmode=verify-full&connect_timeout=3&application_name=my+app\
             &options=-c%20statement_timeout%3D5s",
        )
        .unwrap();
        assert_eq!(p.options.table, "s.T");
        assert!(p.options.unlogged);
        assert_eq!(p.options.pool_size, 3);
        assert_eq!(
            p.options.sweep,
            SweepPolicy::every(Duration::from_secs(300)).with_batch_size(10)
        );
        assert_eq!(p.tls.verify, Verify::Full);
        assert_eq!(p.driver.get_ssl_mode(), SslMode::Require);
        assert_eq!(p.driver.get_user(), Some("u"));
        assert_eq!(p.driver.get_password(), Some(&b"pw"[..]));
        assert_eq!(p.driver.get_dbname(), Some("db"));
        assert_eq!(p.driver.get_ports(), &[5433]);
        assert_eq!(
            p.driver.get_connect_timeout(),
            Some(&Duration::from_secs(3))
        );
        assert_eq!(p.driver.get_application_name(), Some("my app"));
        assert_eq!(p.driver.get_options(), Some("-c statement_timeout=5s"));
        assert_eq!(endpoint(&p.driver), "u@127.0.0.1:5433/db");
        assert!(!format!("{p:?}").contains("pw"));
    }

    #[test]
    fn defaults() {
        let p = parse("postgres://127.0.0.1/test").unwrap();
        assert_eq!(p.options, PostgresOptions::default());
        assert_eq!(p.tls.verify, Verify::None);
        assert_eq!(p.driver.get_ssl_mode(), SslMode::Prefer);
        assert_eq!(
            p.driver.get_connect_timeout(),
            Some(&DEFAULT_CONNECT_TIMEOUT)
        );
        assert_eq!(p.driver.get_application_name(), Some("fedikv"));
    }

    #[test]
    fn bad_urls_are_typed_and_redacted() {
        for url in [
            "postgres://u:hunter2@127.0.0.1/db?pool_size=0",
            "postgres://u:hunter2@127.0.0.1/db?nonsense=1",
            "postgres://u:hunter2@127.0.0.1/db?sweep=never",
            "postgres://u:hunter2@127.0.0.1/db?unlogged=maybe",
            "postgres://u:hunter2@127.0.0.1/db?sslmode=sometimes",
            "postgres://u:hunter2@127.0.0.1/db?sslcert=c.pem",
            "postgres://u:hunter2@127.0.0.1/db?connect_timeout=soon",
            "postgres://u:hunter2@[::1/db",
            "mysql://u:hunter2@127.0.0.1/db",
        ] {
            match parse(url) {
                Err(KvError::InvalidUrl { reason }) => {
                    assert!(!reason.contains("hunter2"), "{reason}")
                }
                other => panic!("{url}: {other:?}"),
            }
        }
    }
}
