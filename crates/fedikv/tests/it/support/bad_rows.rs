//! Rule V5 checks every backend's bad-row test shares: what `list` and
//! `scan` yield over rows another program wrote that no key or value can be
//! read from, and removing those rows by the raw key each error names.

use std::collections::BTreeSet;

use fedikv::{KvError, KvKey, KvResult, KvStore};
use futures::{Stream, StreamExt};

/// What a listing yielded, in order: decoded keys, and raw keys of the
/// rows reported as [`KvError::Corrupt`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Item {
    Entry(KvKey),
    Corrupt(String),
}

/// Collects a stream, panicking on any error other than `Corrupt` (a
/// listing must never fail for a bad row) and on a `Corrupt` without a
/// reason.
async fn items<T>(
    stream: impl Stream<Item = KvResult<T>>,
    key_of: impl Fn(&T) -> KvKey,
) -> Vec<Item> {
    stream
        .map(|item| match item {
            Ok(entry) => Item::Entry(key_of(&entry)),
            Err(KvError::Corrupt { key, reason }) => {
                assert!(!reason.is_empty(), "no reason for {key}");
                Item::Corrupt(key)
            }
            Err(other) => panic!("a listing failed instead of reporting the row: {other}"),
        })
        .collect()
        .await
}

/// What `list(prefix)` yields, checked to be what `scan(prefix)` yields
/// (the same items; in the same order only on ordered stores, which the
/// callers check on the result).
pub async fn listed(store: &dyn KvStore, prefix: Option<&KvKey>) -> Vec<Item> {
    let listed = items(store.list(prefix), |e| e.key.clone()).await;
    let mut scanned = items(store.scan(prefix), |r| r.key.clone()).await;
    let mut sorted = listed.clone();
    sorted.sort();
    scanned.sort();
    assert_eq!(sorted, scanned, "list and scan differ");
    listed
}

/// The decoded keys of `items`, in order.
pub fn entries(items: &[Item]) -> Vec<KvKey> {
    items
        .iter()
        .filter_map(|item| match item {
            Item::Entry(key) => Some(key.clone()),
            Item::Corrupt(_) => None,
        })
        .collect()
}

/// The raw keys of the rows `items` reported, as a set (each once: a
/// duplicate fails).
pub fn corrupt(items: &[Item]) -> BTreeSet<String> {
    let mut raw = BTreeSet::new();
    for item in items {
        if let Item::Corrupt(key) = item {
            assert!(raw.insert(key.clone()), "{key} reported twice");
        }
    }
    raw
}

/// The key of `components`.
pub fn key(components: &[&str]) -> KvKey {
    KvKey::new(components.iter().copied()).expect("valid key")
}

/// The decoded keys of `items`, sorted (for stores that list in no order).
pub fn sorted_entries(items: &[Item]) -> Vec<KvKey> {
    let mut keys = entries(items);
    keys.sort();
    keys
}

/// Rule V5, the round trip: each raw key the listing of `prefix` reports
/// deletes its row (`delete_raw` says it did, and a second time that there
/// is none), after which the listing reports nothing and yields exactly the
/// keys `good` (in any order), as before.
pub async fn delete_reported_rows(store: &dyn KvStore, prefix: Option<&KvKey>, good: &[KvKey]) {
    let mut good = good.to_vec();
    good.sort();
    let before = listed(store, prefix).await;
    assert_eq!(sorted_entries(&before), good);
    let reported = corrupt(&before);
    assert!(!reported.is_empty(), "nothing reported to delete");
    for raw in &reported {
        assert!(
            store.delete_raw(raw).await.unwrap(),
            "delete_raw({raw:?}) found no row"
        );
        assert!(
            !store.delete_raw(raw).await.unwrap(),
            "delete_raw({raw:?}) deleted a row twice"
        );
    }
    let after = listed(store, prefix).await;
    assert_eq!(corrupt(&after), BTreeSet::new());
    assert_eq!(sorted_entries(&after), good);
}
