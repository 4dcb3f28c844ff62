//! [`RawKey`]: a `text[]` key as PostgreSQL stores it, whatever its shape,
//! so that a row another program wrote with a key no [`KvKey`] can be (a
//! NULL element, no element, several dimensions, another lower bound) is
//! still read, reported by its array literal, listed past and deleted
//! (rule V5).

use std::error::Error;

use bytes::{BufMut, BytesMut};
use tokio_postgres::types::{FromSql, IsNull, Kind, ToSql, Type, to_sql_checked};

use crate::js;
use crate::key::KvKey;

/// PostgreSQL's limit on array dimensions (`MAXDIM`).
const MAX_DIMENSIONS: usize = 6;

/// A `text[]` value in any shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawKey {
    /// Length and lower bound of each dimension; none for the empty array.
    dims: Vec<(i32, i32)>,
    /// The elements in storage order (the last dimension varies fastest),
    /// `None` for NULL.
    elements: Vec<Option<String>>,
}

impl RawKey {
    /// The one-dimensional array of `components` as `text` holds them (see
    /// `codec::components`), the form of every key fedikv and Fedify write.
    pub(crate) fn from_components(components: &[String]) -> Self {
        Self {
            dims: vec![(i32::try_from(components.len()).unwrap_or(i32::MAX), 1)],
            elements: components.iter().cloned().map(Some).collect(),
        }
    }

    /// The key this array is, or itself back with the reason it is none:
    /// a key is a one-dimensional array of strings starting at index 1, with
    /// at least one element and no NULL.
    pub(crate) fn into_key(self) -> Result<KvKey, (Self, String)> {
        let reason = match self.dims.as_slice() {
            [] => Some("the key is an empty array".to_owned()),
            [(_, 1)] => self
                .elements
                .iter()
                .position(Option::is_none)
                .map(|i| format!("key element {} is NULL, not a string", i + 1)),
            [(_, lower)] => Some(format!(
                "the key array starts at index {lower}, not 1 as Fedify's keys do"
            )),
            dims => Some(format!(
                "the key is a {}-dimensional array, not a list of strings",
                dims.len()
            )),
        };
        if let Some(reason) = reason {
            return Err((self, reason));
        }
        let components = self.elements.into_iter().flatten().map(js::from_string);
        // Fails only for no elements, which is then what `self` was.
        KvKey::new(components).map_err(|e| (Self::from_components(&[]), e.to_string()))
    }

    /// Whether the elements, in storage order, start with `prefix`.
    pub(crate) fn starts_with(&self, prefix: &[String]) -> bool {
        self.elements.len() >= prefix.len()
            && self
                .elements
                .iter()
                .zip(prefix)
                .all(|(element, p)| element.as_deref() == Some(p.as_str()))
    }

    /// The array as PostgreSQL writes it (`array_out`, what `key::text`
    /// and psql show): `{p,NULL}`, `{"a b","",{}}`-style quoting, `{}`
    /// for the empty array, `[0:1]={a,b}` for other lower bounds. The raw
    /// key of [`KvStore::delete_raw`](crate::KvStore::delete_raw).
    pub(crate) fn literal(&self) -> String {
        let mut out = String::new();
        if self.dims.iter().any(|&(_, lower)| lower != 1) {
            for &(len, lower) in &self.dims {
                let upper = i64::from(lower) + i64::from(len) - 1;
                out.push_str(&format!("[{lower}:{upper}]"));
            }
            out.push('=');
        }
        if self.dims.is_empty() {
            out.push_str("{}");
            return out;
        }
        let mut elements = self.elements.iter();
        write_dimension(&mut out, &self.dims, &mut elements);
        out
    }
}

/// Writes dimension `dims[0]` (and those inside it) of the elements left.
fn write_dimension<'a>(
    out: &mut String,
    dims: &[(i32, i32)],
    elements: &mut impl Iterator<Item = &'a Option<String>>,
) {
    out.push('{');
    let (len, _) = dims[0];
    for i in 0..len {
        if i > 0 {
            out.push(',');
        }
        if dims.len() > 1 {
            write_dimension(out, &dims[1..], elements);
        } else {
            match elements.next() {
                Some(Some(text)) => write_element(out, text),
                Some(None) | None => out.push_str("NULL"),
            }
        }
    }
    out.push('}');
}

/// One element as `array_out` writes it: in double quotes (with `"` and
/// `\` escaped) when empty, `NULL` in any case, or holding a brace, a comma,
/// a quote, a backslash or white space.
fn write_element(out: &mut String, text: &str) {
    let quote = text.is_empty()
        || text.eq_ignore_ascii_case("NULL")
        || text.chars().any(|c| {
            matches!(
                c,
                '{' | '}' | ',' | '"' | '\\' | ' ' | '\t' | '\n' | '\r' | '\x0B' | '\x0C'
            )
        });
    if !quote {
        out.push_str(text);
        return;
    }
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Whether `ty` is an array of a text type.
fn is_text_array(ty: &Type) -> bool {
    matches!(ty.kind(), Kind::Array(member) if <String as FromSql>::accepts(member))
}

/// Reads a big-endian `i32` off the front of `raw`.
fn read_i32(raw: &mut &[u8]) -> Result<i32, Box<dyn Error + Sync + Send>> {
    let (head, rest) = raw
        .split_first_chunk::<4>()
        .ok_or("truncated binary array")?;
    *raw = rest;
    Ok(i32::from_be_bytes(*head))
}

/// The binary array format (`array_send`): dimensions, a NULL flag, the
/// element type, each dimension's length and lower bound, then each
/// element's length (-1 for NULL) and bytes.
impl<'a> FromSql<'a> for RawKey {
    fn from_sql(_: &Type, mut raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        let ndim = usize::try_from(read_i32(&mut raw)?).map_err(|_| "negative dimensions")?;
        if ndim > MAX_DIMENSIONS {
            return Err("too many array dimensions".into());
        }
        let _has_nulls = read_i32(&mut raw)?;
        let _element_type = read_i32(&mut raw)?;
        let mut dims = Vec::with_capacity(ndim);
        let mut count: usize = if ndim == 0 { 0 } else { 1 };
        for _ in 0..ndim {
            let len = read_i32(&mut raw)?;
            let lower = read_i32(&mut raw)?;
            count = count
                .checked_mul(usize::try_from(len).map_err(|_| "negative array length")?)
                .ok_or("array too large")?;
            dims.push((len, lower));
        }
        // Each element takes at least its 4-byte length.
        if count > raw.len() / 4 {
            return Err("truncated binary array".into());
        }
        let mut elements = Vec::with_capacity(count);
        for _ in 0..count {
            let len = read_i32(&mut raw)?;
            if len < 0 {
                elements.push(None);
                continue;
            }
            let len = usize::try_from(len).map_err(|_| "bad element length")?;
            let (text, rest) = raw.split_at_checked(len).ok_or("truncated binary array")?;
            raw = rest;
            elements.push(Some(std::str::from_utf8(text)?.to_owned()));
        }
        Ok(Self { dims, elements })
    }

    fn accepts(ty: &Type) -> bool {
        is_text_array(ty)
    }
}

impl ToSql for RawKey {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        let Kind::Array(member) = ty.kind() else {
            return Err("not an array type".into());
        };
        let int = |n: usize| i32::try_from(n).map_err(|_| "array too large");
        out.put_i32(int(self.dims.len())?);
        out.put_i32(i32::from(self.elements.iter().any(Option::is_none)));
        out.put_u32(member.oid());
        for &(len, lower) in &self.dims {
            out.put_i32(len);
            out.put_i32(lower);
        }
        for element in &self.elements {
            match element {
                Some(text) => {
                    out.put_i32(int(text.len())?);
                    out.put_slice(text.as_bytes());
                }
                None => out.put_i32(-1),
            }
        }
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        is_text_array(ty)
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(dims: &[(i32, i32)], elements: &[Option<&str>]) -> RawKey {
        RawKey {
            dims: dims.to_vec(),
            elements: elements.iter().map(|e| e.map(str::to_owned)).collect(),
        }
    }

    #[test]
    fn literals_are_what_postgres_writes() {
        assert_eq!(raw(&[(2, 1)], &[Some("p"), None]).literal(), "{p,NULL}");
        assert_eq!(raw(&[], &[]).literal(), "{}");
        assert_eq!(
            raw(&[(2, 1), (2, 1)], &[Some("a"), Some("b"), Some("c"), None]).literal(),
            "{{a,b},{c,NULL}}"
        );
        assert_eq!(
            raw(&[(2, 0)], &[Some("a"), Some("b")]).literal(),
            "[0:1]={a,b}"
        );
        assert_eq!(
            raw(
                &[(6, 1)],
                &[
                    Some(""),
                    Some("null"),
                    Some("a b"),
                    Some(r#"q"u\o"#),
                    Some("{,}"),
                    Some("é:%_")
                ]
            )
            .literal(),
            r#"{"","null","a b","q\"u\\o","{,}",é:%_}"#
        );
    }

    #[test]
    fn only_one_dimensional_arrays_of_strings_from_1_are_keys() {
        let key = raw(&[(2, 1)], &[Some("a"), Some("b")]).into_key().unwrap();
        assert_eq!(key, KvKey::new(["a", "b"]).unwrap());
        for (bad, why) in [
            (raw(&[(2, 1)], &[Some("p"), None]), "element 2 is NULL"),
            (raw(&[], &[]), "empty"),
            (raw(&[(1, 1), (1, 1)], &[Some("a")]), "2-dimensional"),
            (raw(&[(1, 0)], &[Some("a")]), "index 0"),
        ] {
            let (back, reason) = bad.clone().into_key().unwrap_err();
            assert_eq!(back, bad);
            assert!(reason.contains(why), "{reason}");
        }
    }

    #[test]
    fn binary_form_round_trips_every_shape() {
        for value in [
            raw(&[(2, 1)], &[Some("p"), None]),
            raw(&[], &[]),
            raw(&[(2, 3), (1, 1)], &[Some("é"), Some("")]),
        ] {
            let mut buf = BytesMut::new();
            value.to_sql(&Type::TEXT_ARRAY, &mut buf).unwrap();
            assert_eq!(RawKey::from_sql(&Type::TEXT_ARRAY, &buf).unwrap(), value);
        }
        assert!(RawKey::from_sql(&Type::TEXT_ARRAY, &[0, 0, 0, 1]).is_err());
    }

    #[test]
    fn prefixes_match_element_by_element() {
        let prefix = ["p".to_owned()];
        assert!(raw(&[(2, 1)], &[Some("p"), None]).starts_with(&prefix));
        assert!(!raw(&[(1, 1)], &[None]).starts_with(&prefix));
        assert!(!raw(&[], &[]).starts_with(&prefix));
        assert!(RawKey::from_components(&prefix).starts_with(&prefix));
    }
}
