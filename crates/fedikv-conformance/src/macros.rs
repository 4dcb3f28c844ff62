//! [`conformance_tests!`](crate::conformance_tests) and the one list of test
//! names it and [`ALL_TESTS`](crate::ALL_TESTS) are generated from.

/// The list of every conformance test, written once. Calls
/// `$crate::$callback! { ($($args)*) name, name, ... }`.
///
/// Adding a test: write `pub async fn <name>(store: Arc<dyn KvStore>)` in a
/// module of [`tests`](crate::tests) and add its name here.
#[doc(hidden)]
#[macro_export]
macro_rules! __for_each_conformance_test {
    ($callback:ident ! ($($args:tt)*)) => {
        $crate::$callback! {
            ($($args)*)
            k1_special_characters_round_trip,
            o1_get_absent_is_none,
        }
    };
}

/// Expands to one `#[test]` per conformance test; see
/// [`conformance_tests!`](crate::conformance_tests).
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_test_fns {
    (($factory:path) $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::__private::run(async {
                    if let ::std::option::Option::Some(store) = $factory().await {
                        $crate::tests::$name(store).await;
                    }
                });
            }
        )*
    };
}

/// Expands to the names as a `&[&str]`.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_test_names {
    (() $($name:ident),* $(,)?) => {
        &[$(::std::stringify!($name)),*]
    };
}

/// Generates the whole conformance suite for one store: one `#[test]` per
/// entry of [`ALL_TESTS`](crate::ALL_TESTS), each named after its test.
///
/// `factory` is a path to an `async fn() -> Option<Arc<dyn fedikv::KvStore>>`.
/// Every test calls it once for a store of its own (or a handle on a shared
/// one: tests write only under their own [`Namespace`](crate::Namespace)); when
/// it returns `None` the test returns at once (the factory says why, e.g.
/// through [`server_url`](crate::server_url)). The test then runs
/// [`tests::<name>`](crate::tests) on a 4-worker multi-thread tokio runtime,
/// which panics on the first broken rule.
///
/// ```ignore
/// async fn store() -> Option<Arc<dyn fedikv::KvStore>> {
///     Some(Arc::new(fedikv::MemoryKvStore::new()))
/// }
/// fedikv_conformance::conformance_tests!(store);
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($factory:path $(,)?) => {
        $crate::__for_each_conformance_test!(__conformance_test_fns!($factory));
    };
}
