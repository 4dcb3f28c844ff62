//! [`DenoKvLocation`] and the `denokv:` URLs it is read from.

use std::path::PathBuf;

use crate::error::{KvError, KvResult};

/// Where a [`DenoKvStore`](super::DenoKvStore) keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DenoKvLocation {
    /// A local database file, the one `Deno.openKv(path)` uses.
    File(PathBuf),
}

impl DenoKvLocation {
    /// Reads a store URL:
    ///
    /// - `denokv:PATH` or `denokv://PATH`: the local database file at `PATH`
    ///   (relative unless it starts with `/`; `denokv:///abs/path` is
    ///   absolute). The path is taken literally.
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
    /// Errors: [`KvError::InvalidUrl`] for another scheme, an empty path, or
    /// `:memory:` (Deno's in-memory databases live inside one Deno process;
    /// use `memory:`).
    pub fn parse_url(url: &str) -> KvResult<Self> {
        let invalid = |reason: &str| KvError::InvalidUrl {
            reason: format!("{url:?}: {reason}"),
        };
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
            path => Ok(Self::File(PathBuf::from(path))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        for bad in ["denokv:", "denokv::memory:", "sqlite:kv.db", "kv.db"] {
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
