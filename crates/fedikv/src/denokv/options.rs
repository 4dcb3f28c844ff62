//! [`DenoKvLocation`] and the `denokv:` URLs it is read from.

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::error::{KvError, KvResult};
use crate::store_url::{UrlOptions, invalid_url, parse_url, redact};

use super::remote::DEFAULT_TIMEOUT;

/// The environment variable a KV Connect access token is read from when the
/// URL has no `token=` (the one Deno reads too).
pub const TOKEN_VAR: &str = "DENO_KV_ACCESS_TOKEN";

/// The query options of `denokv+http(s)://` URLs, for messages.
const KNOWN_REMOTE: &str = "token, timeout";

/// Where a [`DenoKvStore`](super::DenoKvStore) keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DenoKvLocation {
    /// A local database file, the one `Deno.openKv(path)` uses.
    File(PathBuf),
    /// A KV Connect server: the URL of its metadata endpoint (what
    /// `Deno.openKv(url)` takes), without the token.
    Remote {
        /// `http://host:port` or `https://…`.
        url: Url,
        /// How long each operation waits for the server.
        timeout: Duration,
    },
}

/// A parsed `denokv` URL and the token it carries, if any.
pub(crate) struct Parsed {
    pub location: DenoKvLocation,
    pub token: Option<String>,
}

impl DenoKvLocation {
    /// Reads a store URL:
    ///
    /// - `denokv:PATH` or `denokv://PATH`: the local database file at `PATH`
    ///   (relative unless it starts with `/`; `denokv:///abs/path` is
    ///   absolute). The path is taken literally.
    /// - `denokv+http://HOST:PORT` or `denokv+https://HOST[:PORT][/PATH]`: the
    ///   KV Connect server whose metadata endpoint is `http(s)://…` (what
    ///   `Deno.openKv(url)` takes; for the `denokv` server, its `--addr`).
    ///   Options: `token=` (the access token; otherwise the
    ///   `DENO_KV_ACCESS_TOKEN` environment variable, as in Deno) and
    ///   `timeout=` (per operation, default 5s, e.g. `500ms`).
    ///
    /// ```
    /// use std::path::PathBuf;
    /// use fedikv::denokv::DenoKvLocation;
    /// assert_eq!(
    ///     DenoKvLocation::parse_url("denokv:data/kv.sqlite3").unwrap(),
    ///     DenoKvLocation::File(PathBuf::from("data/kv.sqlite3")),
    /// );
    /// ```
    ///
    /// Errors: [`KvError::InvalidUrl`] for another scheme, an empty path,
    /// `:memory:` (Deno's in-memory databases live inside one Deno process;
    /// use `memory:`), or an unknown option. Never repeats the token.
    pub fn parse_url(url: &str) -> KvResult<Self> {
        parse(url).map(|parsed| parsed.location)
    }
}

/// [`DenoKvLocation::parse_url`], keeping the token.
pub(crate) fn parse(url: &str) -> KvResult<Parsed> {
    let lower = url.get(..13).unwrap_or(url).to_ascii_lowercase();
    if lower.starts_with("denokv+http:") || lower.starts_with("denokv+https:") {
        return parse_remote(url);
    }
    Ok(Parsed {
        location: parse_file(url)?,
        token: None,
    })
}

fn parse_remote(url: &str) -> KvResult<Parsed> {
    let mut parsed = without_credentials(parse_url(&url["denokv+".len()..])?, url)?;
    let mut query = UrlOptions::from_query(parsed.query());
    let token = query
        .take("token")
        .or_else(|| std::env::var(TOKEN_VAR).ok());
    let timeout = match query.take("timeout") {
        None => DEFAULT_TIMEOUT,
        Some(text) => crate::duration::parse_duration(&text).map_err(|e| KvError::InvalidUrl {
            reason: format!("{:?}: timeout={text}: {e}", redact(url)),
        })?,
    };
    query.finish(KNOWN_REMOTE)?;
    parsed.set_query(None);
    Ok(Parsed {
        location: DenoKvLocation::Remote {
            url: parsed,
            timeout,
        },
        token,
    })
}

/// `parsed` (the server URL given as `shown`) if it carries no user name or
/// password: KV Connect authenticates with a bearer token only, and a
/// password kept in the URL would be shown wherever the URL is.
pub(crate) fn without_credentials(parsed: Url, shown: &str) -> KvResult<Url> {
    if parsed.username().is_empty() && parsed.password().is_none() {
        return Ok(parsed);
    }
    Err(KvError::InvalidUrl {
        reason: format!(
            "{:?}: KV Connect servers take no user name or password in the URL; remove it and give the access token as ?token= or in {TOKEN_VAR}",
            redact(shown)
        ),
    })
}

/// Refuses an access token that an HTTP `Authorization` header cannot carry
/// as it is (empty, with spaces around it, holding control characters such
/// as a newline pasted with it, or non-ASCII text), without showing it.
pub(crate) fn check_token(token: &str) -> KvResult<()> {
    let sendable = !token.is_empty()
        && token == token.trim()
        && http::HeaderValue::from_str(&format!("Bearer {token}"))
            .is_ok_and(|header| header.to_str().is_ok());
    if sendable {
        return Ok(());
    }
    Err(KvError::InvalidUrl {
        reason: format!(
            "the KV Connect access token is empty, has spaces around it or holds characters an HTTP \
             header cannot carry (control characters, non-ASCII text); check token= or {TOKEN_VAR}"
        ),
    })
}

/// A `denokv:PATH` URL.
fn parse_file(url: &str) -> KvResult<DenoKvLocation> {
    let invalid = |reason: &str| invalid_url(url, reason);
    let (scheme, rest) = url
        .split_once(':')
        .ok_or_else(|| invalid("the scheme must be denokv:"))?;
    if !scheme.eq_ignore_ascii_case("denokv") {
        return Err(invalid("the scheme must be denokv:"));
    }
    let path = rest.strip_prefix("//").unwrap_or(rest);
    match path {
        "" => Err(invalid(
            "no database path; use e.g. denokv:kv.sqlite3 or denokv:///var/lib/app/kv.sqlite3",
        )),
        ":memory:" => Err(invalid(
            "an in-memory Deno KV database only exists inside one Deno process; use memory: or a file path",
        )),
        path => Ok(DenoKvLocation::File(PathBuf::from(path))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_an_http_header_cannot_carry_are_refused_unshown() {
        check_token("fedikv-test-token").unwrap();
        for token in ["", "secret\n", " secret", "sec\u{7f}ret", "sécret"] {
            let error = check_token(token).unwrap_err();
            assert!(matches!(error, KvError::InvalidUrl { .. }), "{error:?}");
            if !token.is_empty() {
                assert!(!error.to_string().contains(token.trim()), "{error}");
            }
        }
    }

    #[test]
    fn remote_urls_keep_the_token_out_of_the_location() {
        let parsed =
            parse("denokv+http://127.0.0.1:4512?token=secret-token-123&timeout=250ms").unwrap();
        assert_eq!(parsed.token.as_deref(), Some("secret-token-123"));
        let location = parsed.location;
        assert_eq!(
            location,
            DenoKvLocation::Remote {
                url: Url::parse("http://127.0.0.1:4512").unwrap(),
                timeout: Duration::from_millis(250),
            }
        );
        assert!(!format!("{location:?}").contains("secret"));
    }

    #[test]
    fn passwords_in_server_urls_are_refused_without_being_shown() {
        for url in [
            "denokv+https://u:hunter2secret@kv.example/?token=t",
            "denokv+http://user@127.0.0.1:4512",
        ] {
            let Err(error) = parse(url) else {
                panic!("{url} was accepted");
            };
            let message = error.to_string();
            assert!(matches!(error, KvError::InvalidUrl { .. }), "{message}");
            assert!(message.contains("token"), "{message}");
            assert!(!message.contains("hunter2secret"), "{message}");
        }
    }

    /// Found with the `store_url` fuzz target: errors about `denokv:PATH`
    /// URLs (here: of another scheme) showed the URL as given, a `token=`
    /// option included.
    #[test]
    fn file_url_errors_never_show_a_token() {
        let error = parse("sqlite:kv.db?token=hunter2").err().unwrap();
        assert!(matches!(error, KvError::InvalidUrl { .. }), "{error:?}");
        assert!(!format!("{error} {error:?}").contains("hunter2"), "{error}");
    }

    #[test]
    fn file_urls() {
        let file = |p: &str| DenoKvLocation::File(PathBuf::from(p));
        assert_eq!(
            DenoKvLocation::parse_url("denokv:kv.db").unwrap(),
            file("kv.db")
        );
        assert_eq!(
            DenoKvLocation::parse_url("DenoKV:///tmp/kv.db").unwrap(),
            file("/tmp/kv.db")
        );
        for bad in [
            "denokv:",
            "denokv::memory:",
            "sqlite:kv.db",
            "kv.db",
            "denokv+http://h:1?x=1",
        ] {
            assert!(
                matches!(
                    DenoKvLocation::parse_url(bad),
                    Err(KvError::InvalidUrl { .. })
                ),
                "{bad}"
            );
        }
    }
}
