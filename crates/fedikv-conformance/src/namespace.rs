//! [`Namespace`]: unique keys per test, so tests can share a server and run in
//! parallel.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use fedikv::KvKey;

/// The first component of every key the suite writes.
pub const ROOT: &str = "fedikv-conformance";

/// A key space of its own for one test run: every key starts with
/// `["fedikv-conformance", "<test>-<pid>-<nanos>-<seq>"]`.
///
/// Two namespaces never share keys, even within one process, so every test can
/// run in parallel with every other test (and with other runs of the suite)
/// against one database, table or Redis prefix.
///
/// Each namespace is remembered under its test's name, so that
/// [`conformance_tests!`](crate::conformance_tests) can delete the namespaces
/// of a test that passed (a failed test leaves its keys for inspection).
///
/// ```
/// use fedikv_conformance::Namespace;
/// let ns = Namespace::new("o4_cas_concurrent_create");
/// let key = ns.key(["lock"]);
/// assert_eq!(key.components()[0], "fedikv-conformance");
/// assert!(key.components()[1].starts_with("o4_cas_concurrent_create-"));
/// assert_eq!(key.components()[2], "lock");
/// assert!(ns.owns(&key));
/// ```
#[derive(Debug, Clone)]
pub struct Namespace {
    root: KvKey,
}

impl Namespace {
    /// A fresh namespace for the test called `test`.
    pub fn new(test: &str) -> Self {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let id = format!("{test}-{}-{nanos}-{seq}", std::process::id());
        let root = KvKey::new([ROOT.to_owned(), id]).expect("a namespace is a valid key");
        registry().push((test.to_owned(), root.clone()));
        Self { root }
    }

    /// The namespace's own key (`["fedikv-conformance", "<id>"]`): a prefix of
    /// every key it builds, so `list(Some(ns.prefix()))` lists exactly this
    /// namespace.
    pub fn prefix(&self) -> &KvKey {
        &self.root
    }

    /// The key made of the namespace's components followed by `rest`.
    ///
    /// # Panics
    ///
    /// When a component of `rest` contains NUL (test code builds valid keys).
    pub fn key<I, S>(&self, rest: I) -> KvKey
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut components = self.root.components().to_vec();
        components.extend(rest.into_iter().map(Into::into));
        KvKey::new(components).expect("namespaced keys are valid")
    }

    /// Whether `key` lies in this namespace (is the namespace key or under it).
    pub fn owns(&self, key: &KvKey) -> bool {
        key.starts_with(&self.root)
    }
}

/// The namespaces created so far, with their test's name.
fn registry() -> std::sync::MutexGuard<'static, Vec<(String, KvKey)>> {
    static REGISTRY: Mutex<Vec<(String, KvKey)>> = Mutex::new(Vec::new());
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// The prefixes of the namespaces created for `test` so far. They stay
/// registered: when several stores run the suite in one process (one test
/// binary with a module per backend), the tests of one name run on each of
/// them, and the clean-up on one store must not take the namespaces of a test
/// still running on another.
pub(crate) fn namespaces_of(test: &str) -> Vec<KvKey> {
    registry()
        .iter()
        .filter(|(name, _)| name == test)
        .map(|(_, prefix)| prefix.clone())
        .collect()
}
