//! Support for `fedikv bench` (feature `bench-support`, hidden from the
//! docs): the benchmark's document generator, and each backend's statement
//! text, key codec and driver settings, so that the benchmark's raw-driver
//! floors run exactly what the stores run instead of a copy that could drift.
//! Not an API for applications: it may change in any release.

#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use serde_json::{Value, json};

/// Size of each benchmark document's compact JSON, bytes.
pub const DOCUMENT_BYTES: usize = 1024;

/// Entries fetched per page by the SQL backends' `list`.
pub const PAGE_SIZE: usize = crate::paging::PAGE_SIZE;

/// The key texts bounding `prefix` in the SQLite and MySQL layouts:
/// `(exact, children_from, children_to)`: the prefix's own key text, and the
/// half-open range of its descendants' texts.
#[cfg(any(feature = "sqlite", feature = "mysql"))]
pub fn key_range(prefix: &crate::KvKey) -> (String, String, String) {
    let range = crate::jsonkey::JsonKeyRange::new(prefix);
    (range.exact, range.children_from, range.children_to)
}

/// Text the documents' `summary` is cut from to reach [`DOCUMENT_BYTES`].
const PAD_SENTENCE: &str = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ";

/// Document `i` of the benchmark: a cached remote document as Fedify's
/// document loader stores it (`{contextUrl, documentUrl, document}`), padded
/// so that its compact JSON is exactly [`DOCUMENT_BYTES`] long (for any `i`
/// below 10^100). `interop/bench.mjs` generates the same bytes for Fedify's
/// stores.
pub fn document(i: usize) -> Value {
    let id = format!("https://example.com/users/{i}");
    let mut value = json!({
        "contextUrl": null,
        "documentUrl": id,
        "document": {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": id,
            "type": "Person",
            "preferredUsername": format!("user{i}"),
            "name": format!("User {i}"),
            "inbox": format!("{id}/inbox"),
            "outbox": format!("{id}/outbox"),
            "followers": format!("{id}/followers"),
            "following": format!("{id}/following"),
            "publicKey": {
                "id": format!("{id}#main-key"),
                "owner": id,
                "publicKeyPem": format!(
                    "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA{}\n-----END PUBLIC KEY-----\n",
                    "x".repeat(180)
                ),
            },
            "summary": "",
        },
    });
    let base = value.to_string().len();
    let pad = PAD_SENTENCE.repeat(8);
    let summary = &pad[..DOCUMENT_BYTES.saturating_sub(base).min(pad.len())];
    value["document"]["summary"] = Value::String(summary.to_owned());
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_document_is_exactly_1024_bytes_of_compact_json() {
        for i in (0..20_000).chain([99_999, 999_999, 1_999_999]) {
            assert_eq!(
                document(i).to_string().len(),
                DOCUMENT_BYTES,
                "document {i}"
            );
        }
    }
}
