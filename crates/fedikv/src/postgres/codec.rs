//! Statement parameters: keys (checked against the index limit), values as
//! `jsonb` and TTLs as `interval`, encoded in binary.

use std::borrow::Cow;
use std::error::Error;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use bytes::BytesMut;
use serde_json::Value;
use tokio_postgres::types::{IsNull, ToSql, Type, accepts, to_sql_checked};

use super::error::BACKEND;
use crate::error::{KvError, KvResult};
use crate::js;
use crate::json::{self, JsonText};
use crate::key::KvKey;

/// Largest key, in bytes: the UTF-8 bytes of its components plus
/// [`KEY_COMPONENT_OVERHEAD`] per component. A `text[]` of that size stays
/// well inside the primary-key btree's limit of about 2,700 bytes per entry
/// however incompressible the text is (rule K3).
pub const MAX_KEY_BYTES: usize = 2000;

/// Bytes counted per key component on top of its text, for the array
/// element's header and alignment.
pub const KEY_COMPONENT_OVERHEAD: usize = 8;

/// Largest value, in bytes of JSON text: `jsonb`'s limit of 2^28 - 1 bytes.
pub const MAX_VALUE_BYTES: usize = (1 << 28) - 1;

/// The key's components as PostgreSQL `text` holds them (rule K1): lone
/// surrogates as U+FFFD, as postgres.js stores them for Fedify; refused
/// before any round trip when a component holds NUL, which `text` cannot
/// store, or when larger than [`MAX_KEY_BYTES`].
pub(crate) fn key(key: &KvKey) -> KvResult<Cow<'_, [String]>> {
    let components = components(key.components())?;
    let len = components.iter().map(String::len).sum::<usize>()
        + KEY_COMPONENT_OVERHEAD * components.len();
    if len > MAX_KEY_BYTES {
        return Err(KvError::KeyTooLong {
            backend: BACKEND,
            len,
            max: MAX_KEY_BYTES,
            unit: "bytes (UTF-8 text plus 8 per component)",
        });
    }
    Ok(components)
}

/// Components as PostgreSQL `text` holds them (see [`key`]), without the
/// size check: also a prefix's.
pub(crate) fn components(components: &[String]) -> KvResult<Cow<'_, [String]>> {
    if let Some(i) = components.iter().position(|c| c.contains('\0')) {
        return Err(KvError::InvalidKey {
            reason: format!(
                "component {i} holds a NUL character (\\u0000), which PostgreSQL text cannot store; remove or encode it, or use another backend"
            ),
        });
    }
    if components.iter().all(|c| js::is_plain(c)) {
        return Ok(Cow::Borrowed(components));
    }
    Ok(Cow::Owned(
        components
            .iter()
            .map(|c| js::to_utf8_lossy(c).into_owned())
            .collect(),
    ))
}

/// The upper bound of a prefix's keys: the prefix with a NULL element
/// appended. PostgreSQL orders a NULL element after every string, so the
/// keys starting with `prefix` component-wise are exactly those in
/// `[prefix, upper_bound(prefix))`, whatever the column's collation: an index
/// range, with no `LIKE` and no collation-dependent "next string".
pub(crate) fn upper_bound(prefix: &[String]) -> Vec<Option<String>> {
    prefix
        .iter()
        .cloned()
        .map(Some)
        .chain(std::iter::once(None))
        .collect()
}

/// A value's JSON text, bound as `jsonb` in binary form (a version byte, then
/// the text), serialized once so its size can be checked first.
///
/// Text above [`HANDED_OVER_BYTES`] given as [`JsonText`] is handed over:
/// binding it moves it into tokio-postgres' bind buffer and drops it, so a
/// huge value is not held once more while it is sent. Such a parameter
/// binds once; a statement retried after the table was recreated fails
/// with an error saying to write the value again.
#[derive(Debug)]
pub(crate) struct Jsonb {
    text: Mutex<Option<Vec<u8>>>,
    len: usize,
    hand_over: bool,
}

/// JSON text up to this size is kept (and copied) when bound; above it, a
/// [`JsonText`] is handed over (see [`Jsonb`]).
const HANDED_OVER_BYTES: usize = 1 << 20;

impl Jsonb {
    /// Serializes `value`, lone surrogates as U+FFFD (as postgres.js sends
    /// them; `jsonb` refuses `\udxxx` escapes that do not form a pair);
    /// [`KvError::ValueTooLarge`] above [`MAX_VALUE_BYTES`].
    pub(crate) fn new(value: &Value) -> KvResult<Self> {
        let mut text = String::new();
        json::write_value(&mut text, value, json::Surrogates::Replace);
        Self::of(text, false)
    }

    /// [`new`](Self::new) of JSON text, lone surrogates replaced the same
    /// way; handed over to the driver when large.
    pub(crate) fn from_text(text: JsonText) -> KvResult<Self> {
        let text = text.into_string_with_lone_surrogates_replaced();
        let hand_over = text.len() > HANDED_OVER_BYTES;
        Self::of(text, hand_over)
    }

    fn of(text: String, hand_over: bool) -> KvResult<Self> {
        let text = KvError::within_value_limit(BACKEND, text.into_bytes(), MAX_VALUE_BYTES)?;
        Ok(Self {
            len: text.len(),
            text: Mutex::new(Some(text)),
            hand_over,
        })
    }

    /// Bytes of JSON text.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// The error for a value of `len` bytes that PostgreSQL cannot store.
pub(crate) fn too_large(len: usize) -> KvError {
    KvError::ValueTooLarge {
        backend: BACKEND,
        len,
        max: MAX_VALUE_BYTES,
    }
}

impl ToSql for Jsonb {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        let mut text = self.text.lock().unwrap_or_else(PoisonError::into_inner);
        let handed_over = if self.hand_over { text.take() } else { None };
        let Some(bytes) = handed_over.as_deref().or(text.as_deref()) else {
            return Err("the value's text was handed to an earlier attempt of this statement and dropped; write the value again".into());
        };
        out.reserve(1 + bytes.len());
        out.extend_from_slice(&[1]);
        out.extend_from_slice(bytes);
        Ok(IsNull::No)
    }

    accepts!(JSONB);
    to_sql_checked!();
}

/// A TTL bound as an `interval` of whole milliseconds (no day or month part,
/// so it means elapsed time whatever the session time zone).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Interval {
    micros: i64,
}

impl Interval {
    /// The TTL at millisecond precision (rule O2). Callers pass
    /// [`SetOptions::effective_ttl`](crate::SetOptions::effective_ttl), at
    /// most [`MAX_TTL`](crate::MAX_TTL) (3.2e16 microseconds, far inside
    /// `i64`), so that `created + ttl` stays a valid timestamp.
    pub(crate) fn from_ttl(ttl: Duration) -> Self {
        Self {
            micros: i64::try_from(ttl.as_millis().saturating_mul(1000)).unwrap_or(i64::MAX),
        }
    }
}

impl ToSql for Interval {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        // Binary interval: microseconds (i64), days (i32), months (i32).
        out.extend_from_slice(&self.micros.to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes());
        Ok(IsNull::No)
    }

    accepts!(INTERVAL);
    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_limit_counts_bytes_and_components() {
        let at_limit = KvKey::new(["é".repeat(996)]).unwrap(); // 1992 + 8
        assert!(key(&at_limit).is_ok());
        let over = KvKey::new(["a".repeat(1993)]).unwrap();
        assert!(matches!(
            key(&over),
            Err(KvError::KeyTooLong {
                len: 2001,
                max: 2000,
                ..
            })
        ));
        let many = KvKey::new(vec![String::new(); 251]).unwrap();
        assert!(matches!(key(&many), Err(KvError::KeyTooLong { .. })));
    }

    #[test]
    fn keys_are_stored_as_postgres_js_stores_them() {
        let lone = KvKey::new([js::from_utf16(&[0x61, 0xD800]), "b".into()]).unwrap();
        assert_eq!(
            *key(&lone).unwrap(),
            ["a\u{FFFD}".to_owned(), "b".to_owned()]
        );
        let plain = KvKey::new(["a", "b"]).unwrap();
        assert!(matches!(key(&plain).unwrap(), Cow::Borrowed(_)));
        let nul = KvKey::new(["a", "b\0"]).unwrap();
        assert!(matches!(key(&nul), Err(KvError::InvalidKey { .. })));
    }

    #[test]
    fn ttl_is_whole_milliseconds() {
        assert_eq!(Interval::from_ttl(Duration::ZERO).micros, 0);
        assert_eq!(Interval::from_ttl(Duration::from_micros(1999)).micros, 1000);
        assert_eq!(
            Interval::from_ttl(crate::MAX_TTL).micros,
            31_536_000_000_000_000
        );
    }

    #[test]
    fn upper_bound_appends_null() {
        let p = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(
            upper_bound(&p),
            vec![Some("a".to_owned()), Some("b".to_owned()), None]
        );
    }

    #[test]
    fn value_size_is_checked() {
        assert_eq!(Jsonb::new(&serde_json::json!({"a": 1})).unwrap().len(), 7);
        assert!(matches!(
            too_large(MAX_VALUE_BYTES + 1),
            KvError::ValueTooLarge { .. }
        ));
    }
}
