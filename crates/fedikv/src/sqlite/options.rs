//! [`SqliteOptions`] and the `sqlite:` URL form.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::KvResult;
use crate::store_url::{UrlOptions, invalid_url};
use crate::sweep::SweepPolicy;

use super::sql::DEFAULT_TABLE;

/// Reader threads (each with its own connection) a store starts unless told
/// otherwise.
pub const DEFAULT_READERS: usize = 4;

/// How long a statement waits for another process's lock before failing with
/// [`KvError::Unavailable`](crate::KvError::Unavailable), unless told otherwise.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Options of a [`SqliteKvStore`](super::SqliteKvStore).
///
/// ```
/// use std::time::Duration;
/// use fedikv::SweepPolicy;
/// use fedikv::sqlite::SqliteOptions;
/// let options = SqliteOptions::default()
///     .table("my_kv")
///     .readers(2)
///     .sweep(SweepPolicy::every(Duration::from_secs(300)));
/// assert_eq!(options.table, "my_kv");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// Table name, `fedify_kv` by default like Fedify. Must match
    /// `^[A-Za-z_][A-Za-z0-9_]{0,63}$`.
    pub table: String,
    /// When expired rows are physically removed.
    pub sweep: SweepPolicy,
    /// Reader threads, each with its own connection, so that reads run in
    /// parallel with each other and with writes ([`DEFAULT_READERS`]). With
    /// 0 the writer thread serves reads too. An in-memory database always
    /// uses 0 (its connections could not share it).
    pub readers: usize,
    /// How long to wait for a lock another process holds
    /// ([`DEFAULT_BUSY_TIMEOUT`]).
    pub busy_timeout: Duration,
    /// Whether opening the store creates the table if missing (`true`). With
    /// `false` (Fedify's `initialized: true`) the schema is not touched at
    /// open; the table is still created on first use if it is missing.
    pub initialize: bool,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            table: DEFAULT_TABLE.to_owned(),
            sweep: SweepPolicy::default(),
            readers: DEFAULT_READERS,
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            initialize: true,
        }
    }
}

impl SqliteOptions {
    /// The same options with another table name (validated when the store is
    /// opened).
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// The same options with another sweep policy.
    pub fn sweep(mut self, sweep: SweepPolicy) -> Self {
        self.sweep = sweep;
        self
    }

    /// The same options with another number of reader threads.
    pub fn readers(mut self, readers: usize) -> Self {
        self.readers = readers;
        self
    }

    /// The same options with another busy timeout.
    pub fn busy_timeout(mut self, busy_timeout: Duration) -> Self {
        self.busy_timeout = busy_timeout;
        self
    }

    /// The same options, creating the table at open or not.
    pub fn initialize(mut self, initialize: bool) -> Self {
        self.initialize = initialize;
        self
    }
}

/// The options a URL may carry, for messages.
const KNOWN: &str = "table, sweep, sweep_batch, readers, busy_timeout, initialize";

/// Splits a `sqlite:` URL into the database path and the options.
///
/// Forms: `sqlite:PATH`, `sqlite://PATH` (both relative to the working
/// directory unless `PATH` starts with `/`), `sqlite:///abs/path`, and
/// `sqlite::memory:` for a private in-memory database. The path is taken
/// literally up to the first `?` (no percent-decoding); options follow as a
/// query string: `table=`, `sweep=` (an interval such as `60s`, or `off`),
/// `sweep_batch=`, `readers=`, `busy_timeout=` (e.g. `5s`), `initialize=`.
pub(crate) fn parse_url(url: &str) -> KvResult<(PathBuf, SqliteOptions)> {
    let invalid = |reason: String| invalid_url(url, reason);
    let rest = url
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("sqlite:"))
        .map(|_| &url[7..])
        .ok_or_else(|| invalid("the scheme must be sqlite:".into()))?;
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    let path = path.strip_prefix("//").unwrap_or(path);
    if path.is_empty() {
        return Err(invalid(
            "no database path; use e.g. sqlite:fedikv.sqlite3, sqlite:///var/lib/app/kv.db or sqlite::memory:".into(),
        ));
    }
    let mut query = UrlOptions::from_query(query);
    let mut options = SqliteOptions::default();
    if let Some(table) = query.take("table") {
        options.table = table;
    }
    query.take_sweep(&mut options.sweep)?;
    if let Some(readers) = query.take("readers") {
        options.readers = readers.parse().map_err(|_| {
            invalid(format!(
                "readers={readers}: expected a number of reader threads (0 or more)"
            ))
        })?;
    }
    if let Some(timeout) = query.take("busy_timeout") {
        options.busy_timeout = crate::duration::parse_duration(&timeout)
            .map_err(|e| invalid(format!("busy_timeout={timeout}: {e}")))?;
    }
    if let Some(initialize) = query.take_bool("initialize")? {
        options.initialize = initialize;
    }
    query.finish(KNOWN)?;
    Ok((PathBuf::from(path), options))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::KvError;

    #[test]
    fn url_forms() {
        let path = |url: &str| parse_url(url).unwrap().0;
        assert_eq!(path("sqlite:kv.db"), PathBuf::from("kv.db"));
        assert_eq!(path("sqlite:dir/kv.db"), PathBuf::from("dir/kv.db"));
        assert_eq!(path("sqlite://kv.db"), PathBuf::from("kv.db"));
        assert_eq!(path("sqlite:///tmp/kv.db"), PathBuf::from("/tmp/kv.db"));
        assert_eq!(path("sqlite:/tmp/kv.db"), PathBuf::from("/tmp/kv.db"));
        assert_eq!(path("SQLite:kv.db"), PathBuf::from("kv.db"));
        assert_eq!(path("sqlite::memory:"), PathBuf::from(":memory:"));
        assert_eq!(path("sqlite:a%20b.db"), PathBuf::from("a%20b.db"));
    }

    #[test]
    fn url_options() {
        let (path, options) = parse_url(
            "sqlite:kv.db?table=my_kv&sweep=off&sweep_batch=10&readers=0&busy_timeout=250ms&initialize=false",
        )
        .unwrap();
        assert_eq!(path, PathBuf::from("kv.db"));
        assert_eq!(options.table, "my_kv");
        assert_eq!(options.sweep.interval, None);
        assert_eq!(options.sweep.batch_size, 10);
        assert_eq!(options.readers, 0);
        assert_eq!(options.busy_timeout, Duration::from_millis(250));
        assert!(!options.initialize);
        let (_, defaults) = parse_url("sqlite:kv.db").unwrap();
        assert_eq!(defaults, SqliteOptions::default());
    }

    /// Found by the `store_url` fuzz target: errors showed the URL as
    /// given, `password=` and `token=` options included.
    #[test]
    fn errors_never_show_a_password_option() {
        for url in [
            "sqlite:?&password=hunter2",
            "sqlite:kv.db?token=hunter2&readers=x",
        ] {
            let error = parse_url(url).unwrap_err();
            assert!(matches!(error, KvError::InvalidUrl { .. }), "{error:?}");
            assert!(!format!("{error} {error:?}").contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn bad_urls_are_typed_errors() {
        for url in [
            "sqlite:",
            "sqlite://",
            "sqlite:?table=x",
            "postgres://x",
            "sqlit",
            "sqlite:kv.db?colour=blue",
            "sqlite:kv.db?readers=-1",
            "sqlite:kv.db?sweep=soon",
            "sqlite:kv.db?busy_timeout=x",
            "sqlite:kv.db?initialize=maybe",
        ] {
            assert!(
                matches!(parse_url(url), Err(KvError::InvalidUrl { .. })),
                "{url}"
            );
        }
    }
}
