//! Fedify's Redis key layout and its exact inverse, plus `SCAN MATCH`
//! patterns that match literally.
//!
//! A key is `prefix + components.join("::")`, where every `:` inside a
//! component is written `_:` (Fedify's `RedisKvStore.#serializeKey`). So
//! `["_fedify", "publicKey", "https://a.example/k"]` becomes
//! `fedify::_fedify::publicKey::https_://a.example/k`.
//!
//! # Why decoding needs care
//!
//! Fedify decodes with `split("::")` then `replaceAll("_:", ":")`, which is
//! wrong when a component ends with `:`: `["a:", "b"]` is stored as
//! `a_:::b`, and the first `::` of that is not the separator. The encoding
//! itself is injective, though, because in an encoded component every `:` is
//! directly preceded by `_`, so it never holds `::` and never starts with `:`.
//! Hence every maximal run of `:` in an encoded key is: at most one escaped
//! colon (only first in the run, right after a `_`) followed by `::`
//! separators (several when empty components sit between them). The run's
//! length decides it: odd means "an escaped colon, then (n-1)/2 separators",
//! even means "n/2 separators" (the `_` before it is a literal underscore).
//! [`decode_components`] parses exactly that; any other text (a single `:`
//! without a `_` before it, e.g. a key another program wrote) is not a key of
//! this layout.

use crate::error::{KvError, KvResult};
use crate::js;
use crate::key::KvKey;

use super::error::BACKEND;

/// Longest encoded key (prefix included) fedikv writes, in bytes (rule K3).
/// Redis itself accepts up to 512 MB, but keys that large make every `SCAN`
/// slow; this is far above any URL Fedify uses as a key component.
pub const MAX_KEY_BYTES: usize = 64 * 1024;

/// Longest key prefix, in bytes.
pub const MAX_PREFIX_BYTES: usize = 1024;

/// Characters with a meaning in Redis glob patterns (`SCAN MATCH`).
const GLOB_CHARS: &[u8] = b"*?[]\\";

/// Encodes and decodes keys under one validated prefix.
#[derive(Debug)]
pub(crate) struct KeyCodec {
    prefix: String,
}

impl KeyCodec {
    /// A codec for `prefix`, which must be non-empty, at most
    /// [`MAX_PREFIX_BYTES`] long and free of glob and control characters
    /// ([`KvError::InvalidName`]). An empty prefix would make `list()` cover
    /// every key of the database, and a glob character would make Fedify's
    /// own `list` (which does not escape it) match other keys.
    pub(crate) fn new(prefix: &str) -> KvResult<Self> {
        let reason = if prefix.is_empty() {
            Some("it must not be empty (it keeps these keys apart from the rest of the database); use e.g. \"fedify::\"".to_owned())
        } else if prefix.len() > MAX_PREFIX_BYTES {
            Some(format!("it must be at most {MAX_PREFIX_BYTES} bytes long"))
        } else if prefix
            .chars()
            .any(|c| c.is_control() || (c.is_ascii() && GLOB_CHARS.contains(&(c as u8))))
        {
            Some(
                "it must not contain the glob characters * ? [ ] \\ or control characters; use e.g. \"myapp::\""
                    .to_owned(),
            )
        } else {
            None
        };
        match reason {
            Some(reason) => Err(KvError::InvalidName {
                what: "key prefix",
                name: prefix.to_owned(),
                reason,
            }),
            None => Ok(Self {
                prefix: prefix.to_owned(),
            }),
        }
    }

    /// The key prefix.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The Redis key of `key`: the prefix, then the encoded components.
    /// [`KvError::KeyTooLong`] above [`MAX_KEY_BYTES`].
    pub(crate) fn encode(&self, key: &KvKey) -> KvResult<Vec<u8>> {
        let mut out = Vec::with_capacity(self.prefix.len() + key.byte_len() + 2 * key.len() + 8);
        out.extend_from_slice(self.prefix.as_bytes());
        push_components(&mut out, key);
        KvError::within_key_limit(
            BACKEND,
            out,
            MAX_KEY_BYTES,
            "bytes of Redis key (prefix included)",
        )
    }

    /// The key stored under Redis key `raw`, or `None` when `raw` does not
    /// start with the prefix or is not a key of this layout (not UTF-8, a
    /// stray `:`).
    pub(crate) fn decode(&self, raw: &[u8]) -> Option<KvKey> {
        let rest = raw.strip_prefix(self.prefix.as_bytes())?;
        let text = std::str::from_utf8(rest).ok()?;
        let components = decode_components(text)?;
        KvKey::new(components.into_iter().map(js::from_string)).ok()
    }

    /// The `SCAN MATCH` pattern for `prefix`: every key of this store for
    /// `None`, otherwise the keys strictly under `prefix` (`<key>::*`). The
    /// pattern matches literally (glob characters escaped), but can still
    /// match a few keys that are not under `prefix` (`["a:", "b"]` is
    /// `a_:::b`, which starts with `a_::`, the children of `["a_"]`), so
    /// callers filter decoded keys with [`KvKey::starts_with`].
    pub(crate) fn pattern(&self, prefix: Option<&KvKey>) -> KvResult<Vec<u8>> {
        let mut pattern = Vec::new();
        match prefix {
            None => push_glob_escaped(&mut pattern, self.prefix.as_bytes()),
            Some(prefix) => {
                push_glob_escaped(&mut pattern, &self.encode(prefix)?);
                pattern.extend_from_slice(b"::");
            }
        }
        pattern.push(b'*');
        Ok(pattern)
    }
}

/// Appends the components of `key`, `:` escaped as `_:`, joined by `::`.
fn push_components(out: &mut Vec<u8>, key: &KvKey) {
    for (i, component) in key.components().iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b"::");
        }
        // As ioredis sends a JavaScript string: UTF-8, lone surrogates as U+FFFD.
        for &b in js::to_utf8_lossy(component).as_bytes() {
            if b == b':' {
                out.push(b'_');
            }
            out.push(b);
        }
    }
}

/// The components encoded in `text` (the key without its prefix), or `None`
/// when `text` is not in the image of the encoding (see the module docs).
pub(crate) fn decode_components(text: &str) -> Option<Vec<String>> {
    let mut components = Vec::new();
    let mut current = String::new();
    let mut rest = text;
    while let Some(start) = rest.find(':') {
        current.push_str(&rest[..start]);
        let run = rest[start..].bytes().take_while(|&b| b == b':').count();
        if run % 2 == 1 {
            // The first colon is escaped, so the `_` before it is part of
            // the escape, not of the component.
            if !current.ends_with('_') {
                return None;
            }
            current.pop();
            current.push(':');
        }
        for _ in 0..run / 2 {
            components.push(std::mem::take(&mut current));
        }
        rest = &rest[start + run..];
    }
    current.push_str(rest);
    components.push(current);
    Some(components)
}

/// Appends `text` with every glob character escaped by a backslash, so that
/// it matches only itself in a Redis pattern.
fn push_glob_escaped(out: &mut Vec<u8>, text: &[u8]) {
    for &b in text {
        if GLOB_CHARS.contains(&b) {
            out.push(b'\\');
        }
        out.push(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec() -> KeyCodec {
        KeyCodec::new("fedify::").unwrap()
    }

    fn key(components: &[&str]) -> KvKey {
        KvKey::new(components.iter().copied()).unwrap()
    }

    fn encoded(components: &[&str]) -> String {
        String::from_utf8(codec().encode(&key(components)).unwrap()).unwrap()
    }

    #[test]
    fn encodes_like_fedify() {
        assert_eq!(
            encoded(&["_fedify", "publicKey", "https://a.example/k#main"]),
            "fedify::_fedify::publicKey::https_://a.example/k#main"
        );
        assert_eq!(encoded(&["foo", "bar"]), "fedify::foo::bar");
        assert_eq!(encoded(&["a:", "b"]), "fedify::a_:::b");
        assert_eq!(encoded(&["a_", ":b"]), "fedify::a_::_:b");
        assert_eq!(encoded(&["a_:", "b"]), "fedify::a__:::b");
        assert_eq!(encoded(&[""]), "fedify::");
        assert_eq!(encoded(&["", ""]), "fedify::::");
        assert_eq!(encoded(&["::"]), "fedify::_:_:");
    }

    #[test]
    fn tricky_keys_round_trip() {
        let cases: &[&[&str]] = &[
            &["_"],
            &["_:"],
            &["__:"],
            &[":"],
            &["::"],
            &[":::"],
            &[""],
            &["", ""],
            &["", "", ""],
            &["a_", "b"],
            &["a", "_b"],
            &["a:", "b"],
            &["a_", ":b"],
            &["a_:", "b"],
            &["a", ":", ""],
            &["_", "", "_"],
            &[":", ":"],
            &["a", ""],
            &["", "a"],
            &["a::b"],
            &["a", "b"],
            &["a:b"],
        ];
        let codec = codec();
        let mut seen = std::collections::HashMap::new();
        for components in cases {
            let key = key(components);
            let raw = codec.encode(&key).unwrap();
            assert_eq!(codec.decode(&raw), Some(key.clone()), "{components:?}");
            if let Some(other) = seen.insert(raw.clone(), key.clone()) {
                panic!("{other} and {key} both encode to {raw:?}");
            }
        }
    }

    /// Every string over `{a, _, :}` up to `max_len` characters.
    fn strings(max_len: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..max_len {
            last = last
                .iter()
                .flat_map(|s| ['a', '_', ':'].map(|c| format!("{s}{c}")))
                .collect();
            all.extend(last.iter().cloned());
        }
        all
    }

    /// Exhaustive: every key of one or two components over `{a, _, :}` of up
    /// to 4 characters, and three components up to 2, round-trips, and no two
    /// keys share an encoding (the encoding is injective).
    #[test]
    fn encoding_is_injective_and_decoding_exact() {
        let codec = codec();
        let long = strings(4);
        let short = strings(2);
        let mut keys: Vec<Vec<String>> = long.iter().map(|a| vec![a.clone()]).collect();
        for a in &long {
            for b in &long {
                keys.push(vec![a.clone(), b.clone()]);
            }
        }
        for a in &short {
            for b in &short {
                for c in &short {
                    keys.push(vec![a.clone(), b.clone(), c.clone()]);
                }
            }
        }
        let mut encodings = std::collections::HashSet::new();
        for components in keys {
            let key = KvKey::new(components).unwrap();
            let raw = codec.encode(&key).unwrap();
            assert_eq!(codec.decode(&raw).as_ref(), Some(&key), "{key}");
            assert!(encodings.insert(raw), "{key} shares its encoding");
        }
    }

    /// Every string over `{a, _, :}` either decodes to a key that encodes
    /// back to exactly that string, or is rejected.
    #[test]
    fn decoding_accepts_exactly_the_image() {
        let codec = codec();
        let mut accepted = 0;
        for text in strings(7) {
            let raw = format!("fedify::{text}");
            if let Some(key) = codec.decode(raw.as_bytes()) {
                assert_eq!(codec.encode(&key).unwrap(), raw.as_bytes(), "{text:?}");
                accepted += 1;
            }
        }
        assert!(accepted > 100);
        assert_eq!(codec.decode(b"fedify::a:b"), None);
        assert_eq!(codec.decode(b"fedify:::a"), None);
        assert_eq!(codec.decode(b"other::a"), None);
        assert_eq!(codec.decode(b"fedify::\xff"), None);
        // NUL is an ordinary character of a JavaScript string (K1).
        assert_eq!(codec.decode(b"fedify::a\0"), Some(key(&["a\0"])));
    }

    #[test]
    fn patterns_escape_glob_characters() {
        let codec = codec();
        assert_eq!(codec.pattern(None).unwrap(), b"fedify::*");
        assert_eq!(
            codec.pattern(Some(&key(&["a*?[]\\b", "c:"]))).unwrap(),
            b"fedify::a\\*\\?\\[\\]\\\\b::c_:::*"
        );
    }

    #[test]
    fn validates_prefixes() {
        for bad in ["", "a*", "a?", "a[b]", "a\\b", "a\nb", &"x".repeat(1025)] {
            assert!(
                matches!(KeyCodec::new(bad), Err(KvError::InvalidName { .. })),
                "{bad:?}"
            );
        }
        for good in ["fedify::", "myapp:", "x", "fedikv-test-1::", "é::"] {
            assert_eq!(KeyCodec::new(good).unwrap().prefix(), good);
        }
    }

    #[test]
    fn rejects_long_keys() {
        let long = key(&[&"x".repeat(MAX_KEY_BYTES)]);
        assert!(matches!(
            codec().encode(&long),
            Err(KvError::KeyTooLong { .. })
        ));
    }
}
