//! O5, K1: prefixes are literal: no wildcards, no escapes, no case folding.

use std::sync::Arc;

use fedikv::{KvKey, KvStore};
use serde_json::{Value, json};

use crate::Namespace;
use crate::cases::PREFIX_CASES;
use crate::support::{Kv, assert_entries, value_for};

/// O5: for every special-character prefix (`%`, `_`, `\`, `"`, `:`, `::`, a
/// trailing `:`, `*`, `?`, `[…]`, `]`, newline, empty components, emoji,
/// case, combining accents, characters next to the JSON separator, SQL
/// quotes), `list(prefix)` returns exactly the written keys under it, byte-exact,
/// and none of the decoys, which are written side by side with every case.
pub async fn o5_special_characters_are_literal(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o5_special_characters_are_literal");
    let kv = Kv::new(store);
    let mut written: Vec<KvKey> = Vec::new();
    for case in PREFIX_CASES {
        let prefix = ns.key(case.prefix.iter().copied());
        for member in case.members {
            let key = ns.key(member.iter().copied());
            assert!(
                key.starts_with(&prefix),
                "bad test data: {key} is not under {prefix}"
            );
            written.push(key);
        }
        for decoy in case.decoys {
            let key = ns.key(decoy.iter().copied());
            assert!(
                !key.starts_with(&prefix),
                "bad test data: decoy {key} is under {prefix}"
            );
            written.push(key);
        }
    }
    written.sort();
    written.dedup();
    for key in &written {
        kv.set(key, value_for(key)).await;
    }
    for case in PREFIX_CASES {
        let prefix = ns.key(case.prefix.iter().copied());
        let expected: Vec<(KvKey, Value)> = written
            .iter()
            .filter(|k| k.starts_with(&prefix))
            .map(|k| (k.clone(), value_for(k)))
            .collect();
        assert!(expected.len() >= case.members.len());
        assert_entries(
            &format!("O5: {} — list({prefix})", case.what),
            &kv.list(Some(&prefix)).await,
            &expected,
        );
    }
    let everything: Vec<(KvKey, Value)> =
        written.iter().map(|k| (k.clone(), value_for(k))).collect();
    assert_entries(
        "O5: list(namespace) of all cases",
        &kv.list(Some(ns.prefix())).await,
        &everything,
    );
}

/// O5: Fedify's MySQL "keys with LIKE special characters" test: `["50%"]`
/// lists 2, `["snake_case"]` 1 and `["back\\slash"]` 1 (one literal
/// backslash), next to `["unrelated"]`.
pub async fn o5_fedify_like_special_characters(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o5_fedify_like_special_characters");
    let kv = Kv::new(store);
    for key in [
        ns.key(["50%", "off"]),
        ns.key(["50%", "extra"]),
        ns.key(["snake_case", "key"]),
        ns.key(["back\\slash", "key"]),
        ns.key(["unrelated"]),
    ] {
        kv.set(&key, value_for(&key)).await;
    }
    for (prefix, count) in [("50%", 2), ("snake_case", 1), ("back\\slash", 1)] {
        let listed = kv.list(Some(&ns.key([prefix]))).await;
        assert_eq!(
            listed.len(),
            count,
            "O5: list([{prefix:?}]) returned {listed:?}"
        );
        for entry in &listed {
            assert_eq!(
                entry.key.components()[ns.prefix().len()],
                prefix,
                "O5: wrong key listed"
            );
        }
    }
}

/// O5: prefixes are case-sensitive: `["Prefix"]`, `["prefix"]` and
/// `["PREFIX"]` each list only their own entries, in a prefix and as the
/// first key component after the namespace.
pub async fn o5_prefixes_are_case_sensitive(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o5_prefixes_are_case_sensitive");
    let kv = Kv::new(store);
    let spellings = ["Prefix", "prefix", "PREFIX", "préfix", "PRÉFIX"];
    for spelling in spellings {
        kv.set(&ns.key([spelling, "a"]), json!(spelling)).await;
        kv.set(&ns.key([spelling]), json!(spelling)).await;
    }
    for spelling in spellings {
        assert_entries(
            &format!("O5: list([{spelling}])"),
            &kv.list(Some(&ns.key([spelling]))).await,
            &[
                (ns.key([spelling]), json!(spelling)),
                (ns.key([spelling, "a"]), json!(spelling)),
            ],
        );
    }
}
