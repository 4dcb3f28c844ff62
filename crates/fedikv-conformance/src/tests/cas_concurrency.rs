//! O4: compare-and-swap under concurrency.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use fedikv::{KvKey, KvStore};
use serde_json::{Value, json};
use tokio::sync::Barrier;

use crate::Namespace;
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
