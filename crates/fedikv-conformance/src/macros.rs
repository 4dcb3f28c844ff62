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
            k1_fedify_shaped_keys_round_trip,
            k1_empty_keys_are_rejected,
            k1_nul_is_a_key_character,
            k1_lone_surrogates_in_keys,
            k1_listed_prefix_key_is_the_stored_key,
            k2_distinct_keys_never_collide,
            k2_listed_keys_are_the_written_keys,
            v1_falsy_values_are_values,
            v1_fedify_complex_values,
            v1_javascript_strings_in_values,
            v1_any_depth_round_trips,
            v2_round_trip_is_deep_equal,
            v2_json_text_round_trips,
            v3_typed_helpers_round_trip,
            v3_unrepresentable_value_is_a_typed_error,
            v3_stored_value_of_another_type_is_a_typed_error,
            v3_update_is_a_cas_loop,
            v4_one_mib_values_round_trip,
            o1_get_absent_is_none,
            o1_fedify_set_and_get,
            o1_get_expired_is_none,
            o2_set_is_an_upsert,
            o2_shared_values_are_set_and_get,
            o2_ttl_has_millisecond_precision,
            o2_zero_ttl_is_expired_at_once,
            o2_set_without_ttl_clears_expiry,
            o2_ttl_restarts_on_every_write,
            o2_long_ttls_are_accepted,
            o2_ttls_beyond_the_maximum_are_clamped,
            o3_delete_removes_the_entry,
            o3_delete_missing_key_succeeds,
            o4_fedify_cas_sequence,
            o4_fedify_postgres_cas_sequence,
            o4_fedify_mysql_cas_cases,
            o4_cas_compares_deeply,
            o4_null_is_not_absent,
            o4_expected_absent_fails_on_a_live_key,
            o4_compare_and_delete_removes_the_entry,
            o4_cas_applies_the_ttl,
            o4_cas_without_ttl_clears_expiry,
            o4_expired_entry_is_absent_to_cas,
            o4_concurrent_creates_have_one_winner,
            o4_concurrent_creates_over_an_expired_row,
            o4_concurrent_increments_are_not_lost,
            o4_stale_token_cannot_delete_a_newer_value,
            o4_concurrent_cas_histories_are_linearizable,
            o5_fedify_list_prefix,
            o5_single_element_key,
            o5_no_prefix_lists_everything,
            o5_expired_entries_are_never_listed,
            o5_sibling_prefix_is_not_matched,
            o5_exact_prefix_key_is_listed_once,
            o5_special_characters_are_literal,
            o5_fedify_like_special_characters,
            o5_prefixes_are_case_sensitive,
            o5_lists_across_pages,
            o5_order_is_stable,
            o5_streams_are_independent,
            o5_scan_reports_remaining_ttls,
            s3_sweep_removes_only_expired_entries,
            s3_count_expired_counts_only_expired_entries,
            model_sequences_match_the_reference,
        }
    };
}

/// `&[(name, |store| Box::pin(tests::name(store))), ...]`: every test as a
/// function pointer, for harnesses that pick tests by name (the crate's own
/// mutation tests in `tests/it/mutants.rs`).
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_test_table {
    (() $($name:ident),* $(,)?) => {
        &[$((::std::stringify!($name), |store| ::std::boxed::Box::pin($crate::tests::$name(store)))),*]
    };
}

/// Expands to one `#[test]` per conformance test; see
/// [`conformance_tests!`](crate::conformance_tests).
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_test_fns {
    (($factory:path, $skip:expr) $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                if $crate::__private::skipped($skip, ::std::stringify!($name)) {
                    return;
                }
                $crate::__private::run(async {
                    if let ::std::option::Option::Some(store) = $factory().await {
                        $crate::tests::$name(::std::sync::Arc::clone(&store)).await;
                        $crate::__private::clean_up(store, ::std::stringify!($name)).await;
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
/// which panics on the first broken rule. After a test passes, the keys it
/// wrote are deleted; a failed test leaves them for inspection.
///
/// ```ignore
/// async fn store() -> Option<Arc<dyn fedikv::KvStore>> {
///     Some(Arc::new(fedikv::MemoryKvStore::new()))
/// }
/// fedikv_conformance::conformance_tests!(store);
/// ```
///
/// A store that cannot meet a rule by design (Deno KV's 64 KiB value limit
/// against V4's 1 MiB values) names the tests it skips and why, as a
/// `&[(&str, &str)]` of (test name, reason). Each skipped test prints
/// `skipping <test>: <reason>` and passes; the store's own tests must then
/// check what it does instead.
///
/// ```ignore
/// fedikv_conformance::conformance_tests!(store, skip = &[
///     ("v4_one_mib_values_round_trip", "values are limited to 64 KiB"),
/// ]);
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($factory:path $(,)?) => {
        $crate::__for_each_conformance_test!(__conformance_test_fns!($factory, &[]));
    };
    ($factory:path, skip = $skip:expr $(,)?) => {
        $crate::__for_each_conformance_test!(__conformance_test_fns!($factory, $skip));
    };
}
