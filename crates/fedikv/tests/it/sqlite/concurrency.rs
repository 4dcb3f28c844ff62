//! SqliteKvStore under concurrency: many tasks reading and writing at once,
//! group commits with a failing write inside, and two stores (as two
//! processes would) sharing one file.

use std::sync::Arc;

use super::{count, fedify_insert, key, now_ms, open, raw, temp_db};
use fedikv::{KvError, KvStore, KvStoreExt, SetOptions, SqliteKvStore};
use futures::TryStreamExt;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_readers_and_writers_at_once() {
    let (_dir, path) = temp_db();
    let store = Arc::new(open(&path).await);
    const WRITERS: usize = 16;
    const KEYS: usize = 40;
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            for i in 0..KEYS {
                let k = key(["c", &w.to_string(), &i.to_string()]);
                store
                    .set(&k, &json!({"w": w, "i": i}), SetOptions::default())
                    .await?;
                // Read your own write, whichever reader serves it.
                assert_eq!(store.get(&k).await?, Some(json!({"w": w, "i": i})));
            }
            Ok::<_, KvError>(())
        }));
    }
    for r in 0..16 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            for _ in 0..20 {
                let w = r % WRITERS;
                let entries: Vec<_> = store
                    .list(Some(&key(["c", &w.to_string()])))
                    .try_collect()
                    .await?;
                for e in &entries {
                    assert_eq!(e.key.components()[1], w.to_string());
                    assert_eq!(e.value["w"], json!(w));
                }
                store.get(&key(["c", &w.to_string(), "0"])).await?;
            }
            Ok(())
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let all: Vec<_> = store.list(Some(&key(["c"]))).try_collect().await.unwrap();
    assert_eq!(all.len(), WRITERS * KEYS);
    assert_eq!(count(&raw(&path), "fedify_kv"), (WRITERS * KEYS) as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_write_in_a_group_commit_fails_alone() {
    let (_dir, path) = temp_db();
    let store = Arc::new(open(&path).await);
    fedify_insert(
        &raw(&path),
        "fedify_kv",
        r#"["bad"]"#,
        "{not json",
        now_ms(),
        None,
    );
    for round in 0..20 {
        let mut sets = Vec::new();
        for i in 0..20 {
            let store = Arc::clone(&store);
            sets.push(tokio::spawn(async move {
                let k = key(["g", &round.to_string(), &i.to_string()]);
                store.set(&k, &json!(i), SetOptions::default()).await
            }));
        }
        let bad = {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .cas(&key(["bad"]), None, Some(&json!(1)), SetOptions::default())
                    .await
            })
        };
        for set in sets {
            set.await.unwrap().unwrap();
        }
        assert!(matches!(bad.await.unwrap(), Err(KvError::Corrupt { .. })));
    }
    let conn = raw(&path);
    assert_eq!(count(&conn, "fedify_kv"), 20 * 20 + 1);
    let bad: String = conn
        .query_row(
            "SELECT value FROM fedify_kv WHERE key = '[\"bad\"]'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(bad, "{not json");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file_share_atomic_cas() {
    let (_dir, path) = temp_db();
    let stores = [Arc::new(open(&path).await), Arc::new(open(&path).await)];
    let counter = key(["counter"]);

    // 2 stores × 5 tasks × 20 read-modify-write increments.
    let mut tasks = Vec::new();
    for t in 0..10 {
        let store = Arc::clone(&stores[t % 2]);
        let counter = counter.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..20 {
                store
                    .update(&counter, SetOptions::default(), |v| {
                        Some(json!(v.and_then(Value::as_i64).unwrap_or(0) + 1))
                    })
                    .await?;
            }
            Ok::<_, KvError>(())
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(stores[1].get(&counter).await.unwrap(), Some(json!(200)));

    // Create-if-absent from both stores: exactly one winner.
    let lock = key(["lock"]);
    let attempts: Vec<_> = (0..16)
        .map(|i| {
            let store = Arc::clone(&stores[i % 2]);
            let lock = lock.clone();
            tokio::spawn(async move {
                store
                    .cas(&lock, None, Some(&json!(i)), SetOptions::default())
                    .await
            })
        })
        .collect();
    let mut winners = 0;
    for attempt in attempts {
        winners += usize::from(attempt.await.unwrap().unwrap());
    }
    assert_eq!(winners, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_see_every_committed_write_at_once() {
    let (_dir, path) = temp_db();
    let store: Arc<dyn KvStore> = Arc::new(
        SqliteKvStore::open_with(&path, fedikv::sqlite::SqliteOptions::default().readers(3))
            .await
            .unwrap(),
    );
    let k = key(["ryw"]);
    for i in 0..300 {
        store
            .set(&k, &json!(i), SetOptions::default())
            .await
            .unwrap();
        assert_eq!(store.get(&k).await.unwrap(), Some(json!(i)));
        if i % 3 == 0 {
            store.delete(&k).await.unwrap();
            assert_eq!(store.get(&k).await.unwrap(), None);
        }
    }
}
