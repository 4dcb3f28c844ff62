//! O4: compare-and-swap under concurrency.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fedikv::{KvKey, KvStore};
use serde_json::{Value, json};
use tokio::sync::Barrier;

use crate::Namespace;
use crate::history::{Call, CallOp, check_register};
use crate::support::{Kv, assert_value, sleep_ms};

/// Runs `cas(key, None, i)` for `i` in `0..n` in `n` tasks released together;
/// returns each task's result.
async fn race_to_create(kv: &Kv, key: &KvKey, n: usize) -> Vec<bool> {
    let barrier = Arc::new(Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (kv, key, barrier) = (kv.clone(), key.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                kv.cas(&key, None, Some(json!(i))).await
            })
        })
        .collect();
    let mut results = Vec::with_capacity(n);
    for task in tasks {
        results.push(task.await.expect("a cas task panicked"));
    }
    results
}

/// Asserts exactly one winner and that the stored value is the winner's.
async fn assert_one_winner(what: &str, kv: &Kv, key: &KvKey, results: &[bool]) {
    let winners: Vec<usize> = (0..results.len()).filter(|&i| results[i]).collect();
    assert_eq!(
        winners.len(),
        1,
        "{what}: {} concurrent cas(absent -> i) gave {} winners {winners:?}, expected exactly one",
        results.len(),
        winners.len()
    );
    assert_value(
        &format!("{what}: the stored value"),
        kv.get(key).await,
        Some(json!(winners[0])),
    );
}

/// O4: 8 concurrent `cas(k, None, i)` on an absent key: exactly one returns
/// `true`, and its value is the one stored (Fedify's "cas() allows only one
/// concurrent create").
pub async fn o4_concurrent_creates_have_one_winner(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o4_concurrent_creates_have_one_winner");
    let kv = Kv::new(store);
    for round in 0..3 {
        let key = ns.key(["cas", "race", &round.to_string()]);
        let results = race_to_create(&kv, &key, 8).await;
        assert_one_winner("O4: create race on an absent key", &kv, &key, &results).await;
    }
}

/// O4: 8 concurrent `cas(k, None, i)` over an expired row that is still
/// physically present (TTL 1 ms, 30 ms ago): exactly one returns `true`
/// (Fedify's MySQL case 20, with 8 tasks).
pub async fn o4_concurrent_creates_over_an_expired_row(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o4_concurrent_creates_over_an_expired_row");
    let kv = Kv::new(store);
    for round in 0..3 {
        let key = ns.key(["key", &round.to_string()]);
        kv.set_ttl(&key, json!("stale"), Duration::from_millis(1))
            .await;
        sleep_ms(30).await;
        let results = race_to_create(&kv, &key, 8).await;
        assert_one_winner("O4: create race over an expired row", &kv, &key, &results).await;
    }
}

/// O4: 5 tasks × 10 read-modify-write increments through a `get` + `cas`
/// retry loop, starting from an absent key, end at exactly 50.
pub async fn o4_concurrent_increments_are_not_lost(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o4_concurrent_increments_are_not_lost");
    let kv = Kv::new(store);
    let key = ns.key(["counter"]);
    let barrier = Arc::new(Barrier::new(5));
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let (kv, key, barrier) = (kv.clone(), key.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                for _ in 0..10 {
                    let mut attempts = 0;
                    loop {
                        attempts += 1;
                        assert!(attempts < 1000, "O4: an increment lost 1000 races in a row");
                        let current = kv.get(&key).await;
                        let n = current
                            .as_ref()
                            .map_or(0, |v| v.as_i64().expect("the counter is an integer"));
                        if kv.cas(&key, current, Some(json!(n + 1))).await {
                            break;
                        }
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("an increment task panicked");
    }
    assert_value(
        "O4: 5 × 10 concurrent increments",
        kv.get(&key).await,
        Some(json!(50)),
    );
}

/// O4: a stale token can never delete a newer value: a lock taken over by
/// another holder (after expiry or by swap) is not released by the old
/// holder's compare-and-delete; and under contention, tasks that take a lock
/// with `cas(None, token)` and release it with `cas(token, None)` never hold
/// it together, and never release it with an earlier token.
pub async fn o4_stale_token_cannot_delete_a_newer_value(store: Arc<dyn KvStore>) {
    let ns = Namespace::new("o4_stale_token_cannot_delete_a_newer_value");
    let kv = Kv::new(store);
    let swapped = ns.key(["swapped"]);
    assert!(
        kv.cas(&swapped, None, Some(json!({"owner": "a"}))).await,
        "O4: a acquires"
    );
    assert!(
        kv.cas(
            &swapped,
            Some(json!({"owner": "a"})),
            Some(json!({"owner": "b"}))
        )
        .await,
        "O4: b takes over"
    );
    assert!(
        !kv.cas(&swapped, Some(json!({"owner": "a"})), None).await,
        "O4: a's stale release"
    );
    assert_value(
        "O4: b's token kept",
        kv.get(&swapped).await,
        Some(json!({"owner": "b"})),
    );

    let lock = ns.key(["lock"]);
    let holders = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(4));
    let tasks: Vec<_> = (0..4)
        .map(|task| {
            let (kv, lock, holders, barrier) =
                (kv.clone(), lock.clone(), holders.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let mut previous: Option<Value> = None;
                for round in 0..5 {
                    let token = json!({"task": task, "round": round});
                    let mut attempts = 0;
                    while !kv.cas(&lock, None, Some(token.clone())).await {
                        attempts += 1;
                        assert!(attempts < 5000, "O4: lock never acquired");
                        tokio::task::yield_now().await;
                    }
                    assert_eq!(
                        holders.fetch_add(1, Ordering::SeqCst),
                        0,
                        "O4: two tasks hold the lock"
                    );
                    if let Some(old) = previous.take() {
                        assert!(
                            !kv.cas(&lock, Some(old), None).await,
                            "O4: a release with an earlier token deleted the current one"
                        );
                    }
                    assert_value(
                        "O4: the lock holds our token",
                        kv.get(&lock).await,
                        Some(token.clone()),
                    );
                    holders.fetch_sub(1, Ordering::SeqCst);
                    assert!(
                        kv.cas(&lock, Some(token.clone()), None).await,
                        "O4: release with our token"
                    );
                    assert!(
                        !kv.cas(&lock, Some(token.clone()), None).await,
                        "O4: a second release must fail"
                    );
                    previous = Some(token);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a lock task panicked");
    }
    assert_value("O4: the lock is free at the end", kv.get(&lock).await, None);
}

/// A call's start and return, by this process's clock, around `call`.
async fn timed<T>(call: impl Future<Output = T>) -> (Instant, T, Instant) {
    let start = Instant::now();
    let result = call.await;
    (start, result, Instant::now())
}

/// A stored value as the string the history knows it by.
fn as_text(value: Option<Value>) -> Option<String> {
    value.map(|v| match v {
        Value::String(s) => s,
        other => panic!("O4: the register holds {other}, which no task wrote"),
    })
}

/// One task of [`o4_concurrent_cas_histories_are_linearizable`]: claims the
/// key, then swaps it `swaps` times through `get` + `cas`, trying one more
/// claim every third attempt, then tries to delete the value it then sees.
/// Returns every call it made.
async fn register_task(
    kv: Kv,
    key: KvKey,
    task: usize,
    swaps: usize,
    barrier: Arc<Barrier>,
) -> Vec<Call> {
    let mut calls = Vec::new();
    let mut record = |start, end, op| {
        calls.push(Call {
            task,
            start,
            end,
            op,
        })
    };
    let cas = |expected: Option<String>, new: Option<String>| {
        let (kv, key) = (kv.clone(), key.clone());
        async move {
            let swapped = kv
                .cas(
                    &key,
                    expected.clone().map(Value::String),
                    new.clone().map(Value::String),
                )
                .await;
            CallOp::Cas {
                expected,
                new,
                swapped,
            }
        }
    };
    barrier.wait().await;
    let (start, op, end) = timed(cas(None, Some(format!("claim-{task}")))).await;
    record(start, end, op);
    let mut attempts = 0;
    for swap in 0..swaps {
        loop {
            attempts += 1;
            assert!(attempts < 5000, "O4: a task lost 5000 races in a row");
            if attempts % 3 == 0 {
                let late = Some(format!("late-claim-{task}-{attempts}"));
                let (start, op, end) = timed(cas(None, late)).await;
                record(start, end, op);
            }
            let (start, got, end) = timed(kv.get(&key)).await;
            let got = as_text(got);
            record(start, end, CallOp::Read { got: got.clone() });
            let new = Some(format!("{task}-{swap}-{attempts}"));
            let (start, op, end) = timed(cas(got, new)).await;
            let swapped = matches!(op, CallOp::Cas { swapped: true, .. });
            record(start, end, op);
            if swapped {
                break;
            }
        }
    }
    barrier.wait().await;
    let (start, got, end) = timed(kv.get(&key)).await;
    let got = as_text(got);
    record(start, end, CallOp::Read { got: got.clone() });
    // Once another task deleted it there is nothing left to delete.
    if got.is_some() {
        let (start, op, end) = timed(cas(got, None)).await;
        record(start, end, op);
    }
    calls
}

/// O4: concurrent histories of `cas` on one key are linearizable. Four
/// tasks race to claim an absent key with `cas(absent -> claim)`, then each
/// swaps it 8 times through `get` + `cas(seen -> new)` (every value unique),
/// trying a late claim every third attempt, and at last all race to delete
/// it with `cas(seen -> absent)`; three rounds, each on a key of its own.
/// Every call is recorded with when it started and returned, and the history
/// must be one of a register: exactly one claim wins and no late claim does,
/// the successful swaps form one chain in which each swaps from the value the
/// previous one wrote (no lost update) and returns no earlier than it began,
/// exactly one delete ends it, every `get` returned a value current while it
/// ran, no `cas` failed while its expected value was current all along, and
/// the key is absent at the end.
pub async fn o4_concurrent_cas_histories_are_linearizable(store: Arc<dyn KvStore>) {
    const TASKS: usize = 4;
    const SWAPS: usize = 8;
    let ns = Namespace::new("o4_concurrent_cas_histories_are_linearizable");
    let kv = Kv::new(store);
    for round in 0..3 {
        let key = ns.key(["register", &round.to_string()]);
        let barrier = Arc::new(Barrier::new(TASKS));
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let work = register_task(kv.clone(), key.clone(), task, SWAPS, barrier.clone());
                tokio::spawn(work)
            })
            .collect();
        let mut history = Vec::new();
        for task in tasks {
            history.extend(task.await.expect("a register task panicked"));
        }
        let last = as_text(kv.get(&key).await);
        let swaps = history
            .iter()
            .filter(|c| matches!(c.op, CallOp::Cas { swapped: true, .. }))
            .count();
        if let Err(problem) = check_register(&history, last.as_deref()) {
            history.sort_by_key(|c| c.start);
            let calls: Vec<String> = history.iter().map(ToString::to_string).collect();
            panic!(
                "{problem}\nround {round}: {} calls, in order of their start:\n  {}",
                calls.len(),
                calls.join("\n  ")
            );
        }
        assert_eq!(
            swaps,
            1 + TASKS * SWAPS + 1,
            "O4: one claim, {TASKS} × {SWAPS} swaps and one delete must succeed"
        );
    }
}
