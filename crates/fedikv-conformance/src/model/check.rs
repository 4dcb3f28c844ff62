//! Runs one case against a store, step by step beside the reference model,
//! and says what differs: the first step whose result is not the model's,
//! or, after the last step, an entry `list`, `get` or `scan` disagrees on.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{Debug, Write as _};
use std::time::Instant;

use fedikv::{KvError, KvKey, KvRecord, KvResult, KvStore, SetOptions, json_eq, json_opt_eq};
use futures::TryStreamExt;
use serde_json::{Number, Value};

use super::reference::{Reference, Stored};
use super::universe::{Case, Expected, Op, Prefix, Ttl, show_json, show_key};
use crate::support::CLOCK_SLACK;

/// Runs `case` on `store` under `prefix`, which must hold nothing yet, then
/// deletes what the case wrote (also when it failed: shrinking runs a
/// failing case hundreds of times; replay its seed to inspect it). `Err`
/// says which step (or the final check) differs from the model, and how.
pub(crate) async fn run(store: &dyn KvStore, prefix: &KvKey, case: &Case) -> Result<(), String> {
    let outcome = check(store, prefix, case).await;
    let cleaned = clean_up(store, prefix).await;
    match (outcome, cleaned) {
        (Ok(()), Err(e)) => Err(format!("clean-up after the last step: {e}")),
        (outcome, _) => outcome,
    }
}

/// Deletes every live entry under `prefix`.
async fn clean_up(store: &dyn KvStore, prefix: &KvKey) -> KvResult<()> {
    let keys: Vec<KvKey> = store
        .list(Some(prefix))
        .map_ok(|entry| entry.key)
        .try_collect()
        .await?;
    for key in &keys {
        store.delete(key).await?;
    }
    Ok(())
}

async fn check(store: &dyn KvStore, prefix: &KvKey, case: &Case) -> Result<(), String> {
    let caps = store.capabilities();
    let mut run = Run {
        store,
        prefix,
        model: Reference::new(caps),
        order: caps.ordered_list.then(Order::default),
    };
    for (step, op) in case.ops.iter().enumerate() {
        run.step(case, op)
            .await
            .map_err(|problem| format!("step {}, {}: {problem}", step + 1, case.show_op(op)))?;
    }
    run.finish(case)
        .await
        .map_err(|problem| format!("after the last step: {problem}"))
}

/// A case being run.
struct Run<'a> {
    store: &'a dyn KvStore,
    prefix: &'a KvKey,
    model: Reference,
    /// The order listings showed so far, on stores that list in order.
    order: Option<Order>,
}

impl Run<'_> {
    /// The store's key for `rel`, a key relative to the run's prefix.
    fn full(&self, rel: &[String]) -> Result<KvKey, String> {
        let components = self.prefix.components().iter().chain(rel).cloned();
        KvKey::new(components)
            .map_err(|e| format!("K1: KvKey::new refused the key {}: {e}", show_key(rel)))
    }

    async fn step(&mut self, case: &Case, op: &Op) -> Result<(), String> {
        match op {
            Op::Get(k) => {
                let rel = case.key(k);
                let got = self.store.get(&self.full(rel)?).await;
                if self.model.refuses_key(rel) {
                    return refused(got, true, false);
                }
                let got = got.map_err(|e| format!("get failed: {e}"))?;
                let held = self.model.get(rel).map(|s| &s.value);
                compare_value("O1: get", got.as_ref(), held)
            }
            Op::Set(k, value, ttl) => {
                let rel = case.key(k);
                let key = self.full(rel)?;
                let written = Instant::now();
                let options = SetOptions::with_ttl(ttl.duration());
                let result = self.store.set(&key, value, options).await;
                let (key_refused, value_refused) =
                    (self.model.refuses_key(rel), self.model.refuses_value(value));
                if key_refused || value_refused {
                    return refused(result, key_refused, value_refused);
                }
                result.map_err(|e| format!("set failed: {e}"))?;
                self.model.set(rel, value, *ttl, written);
                Ok(())
            }
            Op::Delete(k) => {
                let rel = case.key(k);
                let result = self.store.delete(&self.full(rel)?).await;
                if self.model.refuses_key(rel) {
                    return refused(result, true, false);
                }
                result.map_err(|e| format!("delete failed: {e}"))?;
                self.model.delete(rel);
                Ok(())
            }
            Op::Cas(k, expected, new, ttl) => {
                self.cas(case.key(k), expected, new.as_ref(), *ttl).await
            }
            Op::List(prefix) => {
                let rel = match prefix {
                    Prefix::Case => Vec::new(),
                    Prefix::Of(k, len) => {
                        let key = case.key(k);
                        key[..(*len).min(key.len())].to_vec()
                    }
                };
                let listed: KvResult<Vec<(KvKey, Value)>> = self
                    .store
                    .list(Some(&self.full(&rel)?))
                    .map_ok(|entry| (entry.key, entry.value))
                    .try_collect()
                    .await;
                if self.model.refuses_key(&rel) {
                    return refused(listed, true, false);
                }
                let listed = listed.map_err(|e| format!("list failed: {e}"))?;
                self.compare_listing("O5: list", &rel, &listed)
            }
        }
    }

    /// `cas` with `expected` resolved against the model. A value the store
    /// would hold otherwise (lone surrogates as U+FFFD) is expected as it
    /// holds it, so the case means the same on every store.
    async fn cas(
        &mut self,
        rel: &[String],
        expected: &Expected,
        new: Option<&Value>,
        ttl: Ttl,
    ) -> Result<(), String> {
        let current = self.model.get(rel).map(|s| s.value.clone());
        let expected = match expected {
            Expected::Absent => None,
            Expected::Current => current.clone(),
            Expected::Equivalent => current.as_ref().map(written_differently),
            Expected::Value(value) => Some(self.model.value(value)),
        };
        let key = self.full(rel)?;
        let written = Instant::now();
        let options = SetOptions::with_ttl(ttl.duration());
        let result = self.store.cas(&key, expected.as_ref(), new, options).await;
        let key_refused = self.model.refuses_key(rel);
        let new_refused = new.is_some_and(|v| self.model.refuses_value(v));
        let expected_unstorable = expected
            .as_ref()
            .is_some_and(|v| self.model.refuses_value(v));
        if key_refused || new_refused {
            return refused(result, key_refused, new_refused || expected_unstorable);
        }
        if expected_unstorable {
            // No entry can hold what is expected: refusing the value and
            // not swapping are both true to the contract; nothing changes.
            return match result {
                Ok(false) | Err(KvError::InvalidValue { .. }) => Ok(()),
                other => Err(format!(
                    "O4: the store cannot hold NUL in values, so a cas expecting one must \
                     return false or fail with InvalidValue; got {other:?}"
                )),
            };
        }
        let swapped = result.map_err(|e| format!("cas failed: {e}"))?;
        let should = self.model.cas(rel, expected.as_ref(), new, ttl, written);
        if swapped == should {
            return Ok(());
        }
        Err(format!(
            "O4: cas returned {swapped}, the model {should} (the model held {}, cas expected {})",
            show(current.as_ref()),
            show(expected.as_ref())
        ))
    }

    /// Compares a listing under `rel` (relative to the run's prefix) with
    /// the model: the same keys, each once, with deep-equal values, and on
    /// ordered stores in the order earlier listings showed.
    fn compare_listing(
        &mut self,
        what: &str,
        rel: &[String],
        listed: &[(KvKey, Value)],
    ) -> Result<(), String> {
        let mut problems = String::new();
        let mut seen: BTreeMap<Vec<String>, &Value> = BTreeMap::new();
        for (key, value) in listed {
            let Some(rest) = key.components().strip_prefix(self.prefix.components()) else {
                let _ = write!(problems, "\n  outside the prefix: {key}");
                continue;
            };
            if seen.insert(rest.to_vec(), value).is_some() {
                let _ = write!(problems, "\n  listed twice: {}", show_key(rest));
            }
        }
        let held: BTreeMap<&Vec<String>, &Stored> = self.model.list(rel).collect();
        for (key, stored) in &held {
            match seen.get(*key) {
                None => {
                    let _ = write!(
                        problems,
                        "\n  missing: {} = {}",
                        show_key(key),
                        show_json(&stored.value)
                    );
                }
                Some(value) if !json_eq(value, &stored.value) => {
                    let _ = write!(
                        problems,
                        "\n  {}: listed {}, the model holds {}",
                        show_key(key),
                        show_json(value),
                        show_json(&stored.value)
                    );
                }
                Some(_) => {}
            }
        }
        for (key, value) in &seen {
            if !held.contains_key(key) {
                let _ = write!(
                    problems,
                    "\n  unexpected: {} = {}",
                    show_key(key),
                    show_json(value)
                );
            }
        }
        if !problems.is_empty() {
            return Err(format!(
                "{what}: {} entries listed, the model holds {}:{problems}",
                listed.len(),
                held.len()
            ));
        }
        match &mut self.order {
            Some(order) => order.observe(listed.iter().map(|(key, _)| key)),
            None => Ok(()),
        }
    }

    /// After the last step: every key reads as the model holds it, the
    /// whole case lists as the model holds it, and `scan` (where the store
    /// supports it) reports each entry's TTL as the model wrote it.
    async fn finish(&mut self, case: &Case) -> Result<(), String> {
        for rel in &case.keys {
            if self.model.refuses_key(rel) {
                continue;
            }
            let got = self
                .store
                .get(&self.full(rel)?)
                .await
                .map_err(|e| format!("get({}) failed: {e}", show_key(rel)))?;
            let held = self.model.get(rel).map(|s| &s.value);
            compare_value(&format!("O1: get({})", show_key(rel)), got.as_ref(), held)?;
        }
        let listed: Vec<_> = match self.store.scan(Some(self.prefix)).try_collect().await {
            Err(KvError::Unsupported { .. }) => return Ok(()),
            scanned => scanned.map_err(|e| format!("scan failed: {e}"))?,
        };
        let scanned_at = Instant::now();
        let entries: Vec<(KvKey, Value)> = listed
            .iter()
            .map(|r: &KvRecord| (r.key.clone(), r.value.clone()))
            .collect();
        self.compare_listing("O5: scan", &[], &entries)?;
        for record in &listed {
            let rel = &record.key.components()[self.prefix.len()..];
            let stored = self.model.get(rel).ok_or_else(|| {
                format!("O5: scan yielded {}, which the model lacks", show_key(rel))
            })?;
            let left = record.expires_in;
            let fits = match (stored.ttl, left) {
                (None, None) => true,
                (Some(ttl), Some(left)) => {
                    left <= ttl && left + (scanned_at - stored.written) + CLOCK_SLACK > ttl
                }
                _ => false,
            };
            if !fits {
                return Err(format!(
                    "O2: scan reports {left:?} left for {}, written {:?} ago with a TTL of {:?}",
                    show_key(rel),
                    scanned_at - stored.written,
                    stored.ttl
                ));
            }
        }
        Ok(())
    }
}

/// Checks that `result` is the refusal a store that cannot hold NUL owes:
/// `InvalidKey` for a key with NUL, `InvalidValue` for a value with NUL
/// (either, when both have one).
fn refused<T: Debug>(result: KvResult<T>, key: bool, value: bool) -> Result<(), String> {
    match result {
        Err(KvError::InvalidKey { .. }) if key => Ok(()),
        Err(KvError::InvalidValue { .. }) if value => Ok(()),
        other => {
            let owed = match (key, value) {
                (true, true) => "InvalidKey or InvalidValue",
                (true, false) => "InvalidKey",
                _ => "InvalidValue",
            };
            Err(format!(
                "K1/V1: the store cannot hold NUL there, so this must fail with {owed} \
                 before any change; got {other:?}"
            ))
        }
    }
}

fn compare_value(what: &str, got: Option<&Value>, held: Option<&Value>) -> Result<(), String> {
    if json_opt_eq(got, held) {
        return Ok(());
    }
    Err(format!(
        "{what}: got {}, the model holds {}",
        show(got),
        show(held)
    ))
}

fn show(value: Option<&Value>) -> String {
    value.map_or_else(|| "nothing (absent)".to_owned(), show_json)
}

/// `value` deep-equal but written differently (O4): integers as floats and
/// integral floats as integers, where the number stays exact.
fn written_differently(value: &Value) -> Value {
    match value {
        Value::Number(n) => Value::Number(renumber(n)),
        Value::Array(items) => Value::Array(items.iter().map(written_differently).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .rev()
                .map(|(k, v)| (k.clone(), written_differently(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn renumber(n: &Number) -> Number {
    if let Some(i) = n.as_i64() {
        let f = i as f64;
        if f as i64 == i && f.abs() < 9_007_199_254_740_992.0 {
            return Number::from_f64(f).unwrap_or_else(|| n.clone());
        }
    } else if let Some(f) = n.as_f64()
        && f.fract() == 0.0
        && f.abs() < 9_007_199_254_740_992.0
    {
        return Number::from(f as i64);
    }
    n.clone()
}

/// The order listings showed keys in: a store that lists in order (O5) must
/// never list two keys in the order opposite to an earlier listing's.
#[derive(Debug, Default)]
struct Order {
    before: BTreeSet<(KvKey, KvKey)>,
}

impl Order {
    fn observe<'k>(&mut self, keys: impl Iterator<Item = &'k KvKey>) -> Result<(), String> {
        let keys: Vec<&KvKey> = keys.collect();
        for (i, first) in keys.iter().enumerate() {
            for second in &keys[i + 1..] {
                if self.before.contains(&((*second).clone(), (*first).clone())) {
                    return Err(format!(
                        "O5: the store lists in order, but listed {first} before {second} after \
                         an earlier listing showed them the other way round"
                    ));
                }
                self.before.insert(((*first).clone(), (*second).clone()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn written_differently_is_deep_equal_and_different() {
        for value in [json!(1), json!(-0.0), json!([1, {"a": 2.0}]), json!(1.5)] {
            let other = written_differently(&value);
            assert!(json_eq(&value, &other), "{value} vs {other}");
        }
        assert_ne!(written_differently(&json!(1)), json!(1));
        assert_ne!(written_differently(&json!(2.0)), json!(2.0));
    }

    #[test]
    fn an_order_reversed_is_caught() {
        let key = |c: &str| KvKey::new([c]).unwrap();
        let (a, b, c) = (key("a"), key("b"), key("c"));
        let mut order = Order::default();
        assert!(order.observe([&a, &b].into_iter()).is_ok());
        assert!(order.observe([&a, &c, &b].into_iter()).is_ok());
        assert!(order.observe([&c, &a].into_iter()).is_err());
    }
}
