//! Self-check of the suite: a toy store that can be given one defect at a
//! time (most of them real defects of Fedify's stores), and a test that every
//! defect makes the tests meant to catch it fail, while the toy without
//! defect passes the whole suite.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use fedikv::json::{clone_deep, drop_deep};
use fedikv::{
    KvError, KvKey, KvRecord, KvRecordStream, KvResult, KvStore, KvStream, SetOptions, json_opt_eq,
};
use futures::{StreamExt, TryStreamExt};
use serde_json::Value;

use fedikv_conformance::__private::{clean_up, run};

type TestFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
type TestFn = fn(Arc<dyn KvStore>) -> TestFuture;

/// Every test, by name.
const TESTS: &[(&str, TestFn)] =
    fedikv_conformance::__for_each_conformance_test!(__conformance_test_table!());

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Defect {
    None,
    TtlIgnored,
    TtlRoundedUpToSeconds,
    ZeroTtlMeansNoTtl,
    SetKeepsOldExpiry,
    TtlFromFirstWrite,
    NullIsAbsent,
    CasEqIsSerdeEq,
    CasEqIsText,
    NonAtomicCas,
    CasSeesExpired,
    CasCreateOverwrites,
    CasDeleteLeavesNull,
    CasKeepsOldExpiry,
    CasIgnoresTtl,
    LongTtlUnclamped,
    ColonJoinedKeys,
    EmptyComponentsDropped,
    StringPrefixList,
    LikeWildcards,
    CaseInsensitivePrefix,
    ListShowsExpired,
    ListDuplicatesExact,
    ListFirstPageOnly,
    ListUnstableOrder,
    SweepRemovesLive,
    ValueSizeLimit,
    IntegersThroughF64,
    DeleteMissingFails,
    GetMatchesChildren,
    ScanLosesTtl,
    ScanReportsFullTtl,
    CountExpiredCountsLive,
    LoneSurrogatesInKeysLost,
    LoneSurrogatesInValuesLost,
    NulKeysRefused,
    DepthLimited,
}

/// The defects that the model-based test, with its default seed and number
/// of cases, must catch as well: every one that a sequence of operations on
/// a few keys, without waiting, can show.
const CAUGHT_BY_THE_MODEL: &[Defect] = &[
    Defect::TtlIgnored,
    Defect::ZeroTtlMeansNoTtl,
    Defect::SetKeepsOldExpiry,
    Defect::NullIsAbsent,
    Defect::CasEqIsSerdeEq,
    Defect::CasEqIsText,
    Defect::CasSeesExpired,
    Defect::CasCreateOverwrites,
    Defect::CasDeleteLeavesNull,
    Defect::CasKeepsOldExpiry,
    Defect::CasIgnoresTtl,
    Defect::ColonJoinedKeys,
    Defect::EmptyComponentsDropped,
    Defect::StringPrefixList,
    Defect::LikeWildcards,
    Defect::CaseInsensitivePrefix,
    Defect::ListShowsExpired,
    Defect::ListDuplicatesExact,
    Defect::ListUnstableOrder,
    Defect::DeleteMissingFails,
    Defect::GetMatchesChildren,
    Defect::ScanLosesTtl,
    Defect::LoneSurrogatesInKeysLost,
    Defect::LoneSurrogatesInValuesLost,
    Defect::NulKeysRefused,
];

/// Each defect and tests that must catch it.
const EXPECTED: &[(Defect, &[&str])] = &[
    (
        Defect::TtlIgnored,
        &[
            "o1_get_expired_is_none",
            "o2_ttl_has_millisecond_precision",
            "o2_zero_ttl_is_expired_at_once",
            "o4_expired_entry_is_absent_to_cas",
            "o5_expired_entries_are_never_listed",
        ],
    ),
    (
        Defect::TtlRoundedUpToSeconds,
        &["o2_ttl_has_millisecond_precision"],
    ),
    (
        Defect::ZeroTtlMeansNoTtl,
        &["o2_zero_ttl_is_expired_at_once", "o1_fedify_set_and_get"],
    ),
    (
        Defect::SetKeepsOldExpiry,
        &["o2_set_without_ttl_clears_expiry"],
    ),
    (
        Defect::TtlFromFirstWrite,
        &["o2_ttl_restarts_on_every_write"],
    ),
    (
        Defect::NullIsAbsent,
        &["v1_falsy_values_are_values", "o4_null_is_not_absent"],
    ),
    (Defect::CasEqIsSerdeEq, &["o4_cas_compares_deeply"]),
    (Defect::CasEqIsText, &["o4_cas_compares_deeply"]),
    (
        Defect::NonAtomicCas,
        &[
            "o4_concurrent_creates_have_one_winner",
            "o4_concurrent_creates_over_an_expired_row",
            "o4_concurrent_increments_are_not_lost",
            "o4_concurrent_cas_histories_are_linearizable",
        ],
    ),
    (
        Defect::CasSeesExpired,
        &[
            "o4_expired_entry_is_absent_to_cas",
            "o4_concurrent_creates_over_an_expired_row",
            "o4_fedify_mysql_cas_cases",
        ],
    ),
    (
        Defect::CasCreateOverwrites,
        &[
            "o4_expected_absent_fails_on_a_live_key",
            "v1_falsy_values_are_values",
            "o4_concurrent_creates_have_one_winner",
            "o4_concurrent_cas_histories_are_linearizable",
        ],
    ),
    (
        Defect::CasDeleteLeavesNull,
        &[
            "o4_compare_and_delete_removes_the_entry",
            "o4_fedify_cas_sequence",
        ],
    ),
    (
        Defect::CasKeepsOldExpiry,
        &["o4_cas_without_ttl_clears_expiry"],
    ),
    (
        Defect::CasIgnoresTtl,
        &["o4_cas_applies_the_ttl", "o4_fedify_mysql_cas_cases"],
    ),
    (
        Defect::ColonJoinedKeys,
        &[
            "k2_distinct_keys_never_collide",
            "k1_special_characters_round_trip",
        ],
    ),
    (
        Defect::EmptyComponentsDropped,
        &["k2_distinct_keys_never_collide"],
    ),
    (
        Defect::StringPrefixList,
        &[
            "o5_sibling_prefix_is_not_matched",
            "o5_special_characters_are_literal",
        ],
    ),
    (
        Defect::LikeWildcards,
        &["o5_special_characters_are_literal"],
    ),
    (
        Defect::CaseInsensitivePrefix,
        &[
            "o5_prefixes_are_case_sensitive",
            "o5_special_characters_are_literal",
        ],
    ),
    (
        Defect::ListShowsExpired,
        &[
            "o5_expired_entries_are_never_listed",
            "o5_no_prefix_lists_everything",
        ],
    ),
    (
        Defect::ListDuplicatesExact,
        &[
            "o5_exact_prefix_key_is_listed_once",
            "o5_fedify_list_prefix",
        ],
    ),
    (Defect::ListFirstPageOnly, &["o5_lists_across_pages"]),
    (Defect::ListUnstableOrder, &["o5_order_is_stable"]),
    (
        Defect::SweepRemovesLive,
        &["s3_sweep_removes_only_expired_entries"],
    ),
    (Defect::ScanLosesTtl, &["o5_scan_reports_remaining_ttls"]),
    (
        Defect::ScanReportsFullTtl,
        &["o5_scan_reports_remaining_ttls"],
    ),
    (
        Defect::CountExpiredCountsLive,
        &["s3_count_expired_counts_only_expired_entries"],
    ),
    (
        Defect::LongTtlUnclamped,
        &["o2_ttls_beyond_the_maximum_are_clamped"],
    ),
    (Defect::ValueSizeLimit, &["v4_one_mib_values_round_trip"]),
    (Defect::IntegersThroughF64, &["v2_round_trip_is_deep_equal"]),
    (
        Defect::DeleteMissingFails,
        &["o3_delete_missing_key_succeeds"],
    ),
    (
        Defect::GetMatchesChildren,
        &[
            "o1_get_absent_is_none",
            "k2_listed_keys_are_the_written_keys",
        ],
    ),
    (
        Defect::LoneSurrogatesInKeysLost,
        &[
            "k1_lone_surrogates_in_keys",
            "k1_listed_prefix_key_is_the_stored_key",
        ],
    ),
    (
        Defect::LoneSurrogatesInValuesLost,
        &["v1_javascript_strings_in_values"],
    ),
    (Defect::NulKeysRefused, &["k1_nul_is_a_key_character"]),
    (Defect::DepthLimited, &["v1_any_depth_round_trips"]),
];

#[derive(Debug)]
struct Slot {
    value: Value,
    expires: Option<Instant>,
    /// The TTL the entry was written with.
    ttl: Option<Duration>,
    first_written: Instant,
}

/// Values nested thousands deep drop without recursion.
impl Drop for Slot {
    fn drop(&mut self) {
        drop_deep(std::mem::take(&mut self.value));
    }
}

impl Slot {
    fn live(&self, now: Instant) -> bool {
        self.expires.is_none_or(|at| at > now)
    }
}

/// A store with one defect: a plain locked map, listing by a full scan.
#[derive(Debug)]
struct Toy {
    defect: Defect,
    map: Mutex<BTreeMap<KvKey, Slot>>,
    lists: AtomicUsize,
}

impl Toy {
    fn new(defect: Defect) -> Self {
        Self {
            defect,
            map: Mutex::default(),
            lists: AtomicUsize::new(0),
        }
    }

    fn is(&self, defect: Defect) -> bool {
        self.defect == defect
    }

    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<KvKey, Slot>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn encode(&self, key: &KvKey) -> KvKey {
        match self.defect {
            Defect::ColonJoinedKeys => KvKey::new([key.components().join(":")]).expect("valid"),
            Defect::EmptyComponentsDropped => {
                let kept: Vec<&String> =
                    key.components().iter().filter(|c| !c.is_empty()).collect();
                if kept.is_empty() {
                    key.clone()
                } else {
                    KvKey::new(kept.into_iter().cloned()).expect("valid")
                }
            }
            // Stored as a UTF-8 backend stores it, while claiming to keep it.
            Defect::LoneSurrogatesInKeysLost => key.with_lone_surrogates_replaced(),
            _ => key.clone(),
        }
    }

    fn expiry(&self, ttl: Option<Duration>, old: Option<&Slot>, now: Instant) -> Option<Instant> {
        let ttl = match (self.defect, ttl) {
            // Memory and Deno KV before MAX_TTL: an expiry past what an
            // `Instant` or a date holds meant no expiry.
            (Defect::LongTtlUnclamped, ttl) => ttl,
            (_, ttl) => SetOptions::with_ttl(ttl).effective_ttl(),
        };
        let ttl = match (self.defect, ttl) {
            (Defect::TtlIgnored, _) => None,
            (Defect::TtlRoundedUpToSeconds, Some(ttl)) => {
                Some(Duration::from_secs(ttl.as_millis().div_ceil(1000) as u64))
            }
            (Defect::ZeroTtlMeansNoTtl, Some(ttl)) if ttl.is_zero() => None,
            (_, ttl) => ttl,
        };
        match (ttl, old) {
            (None, Some(old)) if self.is(Defect::SetKeepsOldExpiry) => old.expires,
            (Some(ttl), Some(old)) if self.is(Defect::TtlFromFirstWrite) && old.live(now) => {
                old.first_written.checked_add(ttl)
            }
            (ttl, _) => ttl.and_then(|ttl| now.checked_add(ttl)),
        }
    }

    fn write(
        &self,
        map: &mut BTreeMap<KvKey, Slot>,
        key: KvKey,
        value: &Value,
        ttl: Option<Duration>,
    ) {
        let now = Instant::now();
        let old = map.get(&key);
        let value = if self.is(Defect::IntegersThroughF64) {
            through_f64(value)
        } else if self.is(Defect::LoneSurrogatesInValuesLost) {
            fedikv::json::with_lone_surrogates_replaced(value)
        } else {
            clone_deep(value)
        };
        let slot = Slot {
            value,
            expires: self.expiry(ttl, old, now),
            ttl,
            first_written: old.filter(|o| o.live(now)).map_or(now, |o| o.first_written),
        };
        map.insert(key, slot);
    }

    fn current(&self, map: &BTreeMap<KvKey, Slot>, key: &KvKey) -> Option<Value> {
        let now = Instant::now();
        let slot = map.get(key);
        let slot = if self.is(Defect::CasSeesExpired) {
            slot
        } else {
            slot.filter(|s| s.live(now))
        };
        slot.map(|s| clone_deep(&s.value))
            .filter(|v| !(self.is(Defect::NullIsAbsent) && v.is_null()))
    }

    /// Whether the current value matches `expected`, the copy of the
    /// current value dropped without recursion, whatever its depth.
    fn current_matches(
        &self,
        map: &BTreeMap<KvKey, Slot>,
        key: &KvKey,
        expected: Option<&Value>,
    ) -> bool {
        let current = self.current(map, key);
        let matches = self.cas_matches(current.as_ref(), expected);
        if let Some(current) = current {
            drop_deep(current);
        }
        matches
    }

    fn cas_matches(&self, current: Option<&Value>, expected: Option<&Value>) -> bool {
        match self.defect {
            Defect::CasEqIsSerdeEq => current == expected,
            Defect::CasEqIsText => current.map(Value::to_string) == expected.map(Value::to_string),
            Defect::CasCreateOverwrites if expected.is_none() => true,
            _ => json_opt_eq(current, expected),
        }
    }

    fn prefix_matches(&self, prefix: &KvKey, key: &KvKey) -> bool {
        let open = |k: &KvKey| {
            let text = k.to_json();
            text[..text.len() - 1].to_owned()
        };
        match self.defect {
            // Fedify's Redis store: a glob `prefix*` over `::`-joined keys.
            Defect::StringPrefixList => key
                .components()
                .join("::")
                .starts_with(&prefix.components().join("::")),
            Defect::LikeWildcards => {
                let text = key.to_json();
                like(&open(prefix), &text)
                    && (text == prefix.to_json() || like(&format!("{},", open(prefix)), &text))
            }
            Defect::CaseInsensitivePrefix => key
                .to_json()
                .to_lowercase()
                .starts_with(&open(prefix).to_lowercase()),
            _ => key.starts_with(prefix),
        }
    }
}

/// SQL `LIKE pattern%` without escapes: `%` any run, `_` one character.
/// Matched a pattern character at a time over the set of text positions
/// reached, so patterns with many `%` (the model test's keys) stay linear.
fn like(pattern: &str, text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    // reached[j]: the pattern so far matches text[..j].
    let mut reached = vec![false; text.len() + 1];
    reached[0] = true;
    for p in pattern.chars() {
        let mut next = vec![false; text.len() + 1];
        let mut any_before = false;
        for j in 0..=text.len() {
            next[j] = match p {
                '%' => {
                    any_before |= reached[j];
                    any_before
                }
                '_' => j > 0 && reached[j - 1],
                c => j > 0 && reached[j - 1] && text[j - 1] == c,
            };
        }
        reached = next;
    }
    // An implicit trailing %.
    reached.contains(&true)
}

fn through_f64(value: &Value) -> Value {
    match value {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Value::Array(items) => Value::Array(items.iter().map(through_f64).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), through_f64(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[async_trait]
impl KvStore for Toy {
    async fn get(&self, key: &KvKey) -> KvResult<Option<Value>> {
        let now = Instant::now();
        let map = self.map();
        if self.is(Defect::GetMatchesChildren) {
            return Ok(map
                .iter()
                .find(|(k, s)| k.starts_with(key) && s.live(now))
                .map(|(_, s)| clone_deep(&s.value)));
        }
        let found = map
            .get(&self.encode(key))
            .filter(|s| s.live(now))
            .map(|s| clone_deep(&s.value));
        Ok(found.filter(|v| !(self.is(Defect::NullIsAbsent) && v.is_null())))
    }

    async fn set(&self, key: &KvKey, value: &Value, options: SetOptions) -> KvResult<()> {
        if self.is(Defect::NulKeysRefused) && key.components().iter().any(|c| c.contains('\0')) {
            return Err(KvError::InvalidKey {
                reason: "NUL".into(),
            });
        }
        if self.is(Defect::DepthLimited) && fedikv::json::is_deeper_than(value, 128) {
            return Err(KvError::InvalidValue {
                reason: "too deep".into(),
            });
        }
        let len = fedikv::json::stringify(value).len();
        if self.is(Defect::ValueSizeLimit) && len > 512 * 1024 {
            return Err(KvError::ValueTooLarge {
                backend: "toy",
                len,
                max: 512 * 1024,
            });
        }
        self.write(&mut self.map(), self.encode(key), value, options.ttl);
        Ok(())
    }

    async fn delete(&self, key: &KvKey) -> KvResult<()> {
        let removed = self.map().remove(&self.encode(key));
        if removed.is_none() && self.is(Defect::DeleteMissingFails) {
            return Err(KvError::Corrupt {
                key: key.to_json(),
                reason: "no such key".into(),
            });
        }
        Ok(())
    }

    async fn cas(
        &self,
        key: &KvKey,
        expected: Option<&Value>,
        new: Option<&Value>,
        options: SetOptions,
    ) -> KvResult<bool> {
        let key = self.encode(key);
        if self.is(Defect::NonAtomicCas) {
            let matches = self.current_matches(&self.map(), &key, expected);
            tokio::time::sleep(Duration::from_millis(1)).await;
            if !matches {
                return Ok(false);
            }
        }
        let mut map = self.map();
        if !self.is(Defect::NonAtomicCas) && !self.current_matches(&map, &key, expected) {
            return Ok(false);
        }
        let ttl = match self.defect {
            Defect::CasIgnoresTtl => None,
            Defect::CasKeepsOldExpiry if options.ttl.is_none() => map
                .get(&key)
                .and_then(|s| s.expires)
                .map(|at| at.saturating_duration_since(Instant::now())),
            _ => options.ttl,
        };
        match (new, self.defect) {
            (Some(value), _) => self.write(&mut map, key, value, ttl),
            (None, Defect::CasDeleteLeavesNull) => self.write(&mut map, key, &Value::Null, None),
            (None, _) => {
                map.remove(&key);
            }
        }
        Ok(true)
    }

    fn list(&self, prefix: Option<&KvKey>) -> KvStream {
        self.scan(prefix).map_ok(KvRecord::into_entry).boxed()
    }

    fn scan(&self, prefix: Option<&KvKey>) -> KvRecordStream {
        let now = Instant::now();
        let calls = self.lists.fetch_add(1, Ordering::Relaxed);
        let mut entries: Vec<KvRecord> = self
            .map()
            .iter()
            .filter(|(_, s)| self.is(Defect::ListShowsExpired) || s.live(now))
            .filter(|(k, _)| prefix.is_none_or(|p| self.prefix_matches(p, k)))
            .map(|(k, s)| KvRecord {
                key: k.clone(),
                value: clone_deep(&s.value),
                expires_in: match self.defect {
                    Defect::ScanLosesTtl => None,
                    Defect::ScanReportsFullTtl => s.ttl,
                    _ => s.expires.map(|at| at.saturating_duration_since(now)),
                },
            })
            .collect();
        match self.defect {
            Defect::ListDuplicatesExact => {
                if let Some(exact) = entries.iter().find(|e| Some(&e.key) == prefix).cloned() {
                    entries.push(exact);
                }
            }
            Defect::ListFirstPageOnly => entries.truncate(1000),
            Defect::ListUnstableOrder if !entries.is_empty() => {
                let len = entries.len();
                entries.rotate_left(calls % len);
            }
            _ => {}
        }
        futures::stream::iter(entries.into_iter().map(Ok)).boxed()
    }

    async fn sweep(&self) -> KvResult<u64> {
        let now = Instant::now();
        let mut map = self.map();
        let before = map.len();
        if self.is(Defect::SweepRemovesLive) {
            map.clear();
        } else {
            map.retain(|_, s| s.live(now));
        }
        Ok((before - map.len()) as u64)
    }

    async fn count_expired(&self, prefix: Option<&KvKey>) -> KvResult<u64> {
        let now = Instant::now();
        let counted = self
            .map()
            .iter()
            .filter(|(k, _)| prefix.is_none_or(|p| self.prefix_matches(p, k)))
            .filter(|(_, s)| self.is(Defect::CountExpiredCountsLive) || !s.live(now))
            .count();
        Ok(counted as u64)
    }

    fn backend(&self) -> &'static str {
        "toy"
    }
}

fn test_fn(name: &str) -> TestFn {
    TESTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("no test {name}"))
}

/// Runs `test` on a fresh toy with `defect`; returns whether it passed.
fn passes(defect: Defect, test: &'static str) -> impl Future<Output = bool> {
    let run = test_fn(test);
    let task = tokio::spawn(run(Arc::new(Toy::new(defect))));
    async move { task.await.is_ok() }
}

/// Runs `test` and the runner's clean-up on a fresh toy without defect;
/// returns the live entries left behind, or `None` when the test failed.
fn leftovers(test: &'static str) -> impl Future<Output = Option<usize>> {
    let run = test_fn(test);
    let toy = Arc::new(Toy::new(Defect::None));
    let task = tokio::spawn(async move {
        run(toy.clone()).await;
        clean_up(toy.clone(), test).await;
        let now = Instant::now();
        toy.map().values().filter(|s| s.live(now)).count()
    });
    async move { task.await.ok() }
}

#[test]
fn every_defect_is_caught_and_the_toy_without_defect_passes() {
    run(async {
        // Two phases, so that fewer timing tests compete for the CPU at once.
        let clean: Vec<_> = TESTS
            .iter()
            .map(|(name, _)| (*name, leftovers(name)))
            .collect();
        let mut problems = Vec::new();
        for (name, result) in clean {
            match result.await {
                None => problems.push(format!("{name} fails on the toy store without defect")),
                Some(0) => {}
                Some(n) => problems.push(format!(
                    "{name} leaves {n} entries after clean-up: does it name its Namespace after itself?"
                )),
            }
        }
        let model = CAUGHT_BY_THE_MODEL
            .iter()
            .map(|defect| (*defect, "model_sequences_match_the_reference"));
        let mutants: Vec<_> = EXPECTED
            .iter()
            .flat_map(|(defect, tests)| tests.iter().map(move |t| (*defect, *t)))
            .chain(model)
            .map(|(defect, test)| (defect, test, passes(defect, test)))
            .collect();
        for (defect, name, result) in mutants {
            if result.await {
                problems.push(format!(
                    "{name} passes on the toy store with defect {defect:?}"
                ));
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    });
}
