//! [`Index`]: the memory store's keys in key order, for `list`, kept up to
//! date lazily so that writes stay a hash-map operation.

use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::Arc;

/// Stale keys tolerated beyond the number of live keys before a write
/// prunes the index.
const SLACK: usize = 1024;

/// A superset of the store's keys (encoded, see [`ordered`](super::ordered)).
///
/// A new key is only noted ([`added`](Self::added)) and sorted in when a
/// listing needs order ([`settle`](Self::settle)); a removed key is only
/// counted ([`removed`](Self::removed)) and stays listed until
/// [`prune`](Self::prune): readers skip keys the map no longer holds. The
/// keys share their allocation with the map's. Stale keys never outnumber
/// the live ones by more than [`SLACK`] once the store calls
/// [`prune`](Self::prune) when [`is_untidy`](Self::is_untidy) says so, and
/// each noted key is live or stale, so the index stays proportional to the
/// live keys.
#[derive(Debug, Default)]
pub(super) struct Index {
    sorted: BTreeSet<Arc<[u8]>>,
    unsorted: Vec<Arc<[u8]>>,
    stale: usize,
}

impl Index {
    /// Notes a key the map did not hold.
    pub(super) fn added(&mut self, key: Arc<[u8]>) {
        self.unsorted.push(key);
    }

    /// Counts `n` keys the map no longer holds.
    pub(super) fn removed(&mut self, n: usize) {
        self.stale += n;
    }

    /// Whether stale keys outnumber the `live` keys by more than [`SLACK`]:
    /// time to [`prune`](Self::prune).
    pub(super) fn is_untidy(&self, live: usize) -> bool {
        self.stale > live + SLACK
    }

    /// Whether every noted key is sorted in, so [`range`](Self::range) sees
    /// every key.
    pub(super) fn is_settled(&self) -> bool {
        self.unsorted.is_empty()
    }

    /// Sorts the noted keys in.
    pub(super) fn settle(&mut self) {
        self.sorted.extend(self.unsorted.drain(..));
    }

    /// Forgets the keys, sorted or noted, that `holds` says are gone.
    pub(super) fn prune(&mut self, holds: impl Fn(&[u8]) -> bool) {
        self.sorted.retain(|key| holds(key));
        self.unsorted.retain(|key| holds(key));
        self.stale = 0;
    }

    /// The sorted keys that start with `prefix`, after the key `after` (from
    /// the first when `None`); stale keys included, noted ones not (see
    /// [`settle`](Self::settle)).
    pub(super) fn range<'a>(
        &'a self,
        prefix: &'a [u8],
        after: Option<&'a [u8]>,
    ) -> impl Iterator<Item = &'a Arc<[u8]>> + 'a {
        let start = after.map_or(Bound::Included(prefix), Bound::Excluded);
        self.sorted
            .range::<[u8], _>((start, Bound::Unbounded))
            .take_while(move |key| key.starts_with(prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arc(bytes: &[u8]) -> Arc<[u8]> {
        Arc::from(bytes)
    }

    #[test]
    fn range_is_sorted_after_settling_and_pruning_forgets_the_gone() {
        let mut index = Index::default();
        for key in [b"b1".as_slice(), b"a1", b"b0", b"c"] {
            index.added(arc(key));
        }
        assert!(!index.is_settled());
        index.settle();
        let listed: Vec<&[u8]> = index.range(b"b", None).map(|k| &k[..]).collect();
        assert_eq!(listed, [b"b0".as_slice(), b"b1"]);
        let after: Vec<&[u8]> = index
            .range(b"", Some(b"b0".as_slice()))
            .map(|k| &k[..])
            .collect();
        assert_eq!(after, [b"b1".as_slice(), b"c"]);
        index.removed(1);
        index.prune(|key| key != b"b1");
        let all: Vec<&[u8]> = index.range(b"", None).map(|k| &k[..]).collect();
        assert_eq!(all, [b"a1".as_slice(), b"b0", b"c"]);
    }

    #[test]
    fn pruning_forgets_gone_keys_not_yet_sorted() {
        let mut index = Index::default();
        for key in [b"b".as_slice(), b"a", b"c"] {
            index.added(arc(key));
        }
        index.removed(1);
        index.prune(|key| key != b"a");
        index.settle();
        let all: Vec<&[u8]> = index.range(b"", None).map(|k| &k[..]).collect();
        assert_eq!(all, [b"b".as_slice(), b"c"]);
    }

    #[test]
    fn untidy_once_stale_keys_pass_the_slack() {
        let mut index = Index::default();
        index.added(arc(b"k"));
        index.removed(SLACK);
        assert!(!index.is_untidy(0));
        index.removed(1);
        assert!(index.is_untidy(0));
        assert!(!index.is_untidy(1));
    }
}
