//! The standard scenario, the workload of docs/benchmarks.md: warm-up, then
//! (a) set, (b) get_hit, (c) get_miss, (d) get_hit_c64, (e) cas, (f) list,
//! (g) set_ttl, (h) delete.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fedikv::{KvKey, KvResult, KvStore, SetOptions};
use futures::StreamExt;
use serde_json::json;

use super::record::ListExtras;
use super::report::{InPhase, Reporter, RunError};
use super::runner::{concurrent, sequential};
use super::workload::{
    LIST_PREFIX, Workload, counter_key, doc_key, list_key, miss_key, ttl_key, warm_up,
};

/// TTL of phase (g).
const TTL: Duration = Duration::from_secs(3600);

/// Runs every phase on `store`, emitting one line per phase.
pub async fn run(
    store: &Arc<dyn KvStore>,
    workload: &Workload,
    reporter: &mut Reporter<'_>,
) -> Result<(), RunError> {
    let s = store.as_ref();
    let (n, cap) = (workload.n, workload.phase_max);
    let note = warm_up(s, workload).await.in_phase("warmup")?;
    if let Some(note) = &note {
        reporter.log(&format!("WARNING {note}"));
    }

    // (a) sequential set
    let bar = reporter.bar("set", n);
    let stats = sequential(n, cap, &bar, |i| async move {
        s.set_shared(
            &doc_key(i)?,
            Arc::clone(workload.shared(i)),
            SetOptions::default(),
        )
        .await
        .map(|()| true)
    })
    .await
    .in_phase("set")?;
    drop(bar);
    reporter.emit("set", 1, &stats, None, None)?;
    // Keys actually written, for the phases that read them back.
    let n_keys = stats.n;

    // (b) sequential get, hits
    let bar = reporter.bar("get_hit", n_keys);
    let stats = sequential(n_keys, cap, &bar, |i| async move {
        Ok(s.get_shared(&doc_key(i)?).await?.is_some())
    })
    .await
    .in_phase("get_hit")?;
    drop(bar);
    reporter.emit("get_hit", 1, &stats, None, note.as_deref())?;

    // (c) sequential get, misses
    let bar = reporter.bar("get_miss", n);
    let stats = sequential(n, cap, &bar, |i| async move {
        Ok(s.get_shared(&miss_key(i)?).await?.is_none())
    })
    .await
    .in_phase("get_miss")?;
    drop(bar);
    reporter.emit("get_miss", 1, &stats, None, None)?;

    // (d) concurrent get, hits
    let op = format!("get_hit_c{}", workload.concurrency);
    let bar = Arc::new(reporter.bar(&op, n));
    let shared = Arc::clone(store);
    let modulus = n_keys.max(1);
    let stats = concurrent(n, workload.concurrency, cap, Arc::clone(&bar), move |i| {
        let store = Arc::clone(&shared);
        async move { Ok(store.get_shared(&doc_key(i % modulus)?).await?.is_some()) }
    })
    .await
    .in_phase(&op)?;
    drop(bar);
    reporter.emit(&op, workload.concurrency, &stats, None, None)?;

    // (e) cas on a counter: cas(counter, i, i + 1)
    let counter = counter_key().in_phase("cas")?;
    s.set(&counter, &json!(0), SetOptions::default())
        .await
        .in_phase("cas")?;
    let bar = reporter.bar("cas", n);
    let counter = &counter;
    let stats = sequential(n, cap, &bar, |i| async move {
        s.cas(
            counter,
            Some(&json!(i)),
            Some(&json!(i + 1)),
            SetOptions::default(),
        )
        .await
    })
    .await
    .in_phase("cas")?;
    drop(bar);
    reporter.emit("cas", 1, &stats, None, None)?;

    // (f) list of a prefix holding `list_keys` keys, among all the others
    for i in 0..workload.list_keys {
        s.set(
            &list_key(i).in_phase("list")?,
            workload.value(i),
            SetOptions::default(),
        )
        .await
        .in_phase("list")?;
    }
    let total_keys = n_keys + workload.list_keys + workload.warmup + 1;
    list_phase(s, workload, reporter, "list", total_keys).await?;

    // (g) set with a 1 h TTL
    let bar = reporter.bar("set_ttl", n);
    let stats = sequential(n, cap, &bar, |i| async move {
        s.set_shared(
            &ttl_key(i)?,
            Arc::clone(workload.shared(i)),
            SetOptions::ttl(TTL),
        )
        .await
        .map(|()| true)
    })
    .await
    .in_phase("set_ttl")?;
    drop(bar);
    reporter.emit("set_ttl", 1, &stats, None, None)?;

    // (h) delete the keys of (a)
    let bar = reporter.bar("delete", n_keys);
    let stats = sequential(n_keys, cap, &bar, |i| async move {
        s.delete(&doc_key(i)?).await.map(|()| true)
    })
    .await
    .in_phase("delete")?;
    drop(bar);
    reporter.emit("delete", 1, &stats, None, None)?;
    Ok(())
}

/// `list_repeat` × `list(LIST_PREFIX)` read to the end, each expected to
/// yield `list_keys` entries; emitted as `op` with the list extras.
pub async fn list_phase(
    store: &dyn KvStore,
    workload: &Workload,
    reporter: &mut Reporter<'_>,
    op: &str,
    total_keys_in_store: usize,
) -> Result<(), RunError> {
    let prefix = KvKey::new(LIST_PREFIX).in_phase(op)?;
    let prefix = &prefix;
    let counts = Mutex::new(BTreeSet::new());
    let counts_seen = &counts;
    let bar = reporter.bar(op, workload.list_repeat);
    let stats = sequential(
        workload.list_repeat,
        workload.phase_max,
        &bar,
        |_| async move {
            let count = count_entries(store, prefix).await?;
            counts_seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(count);
            Ok(count == workload.list_keys)
        },
    )
    .await
    .in_phase(op)?;
    drop(bar);
    let extras = ListExtras {
        entries_per_call: workload.list_keys,
        entries_per_sec: (stats.ops_per_sec * workload.list_keys as f64).round(),
        total_keys_in_store,
    };
    let note = (stats.errors > 0).then(|| {
        let seen: Vec<String> = counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(ToString::to_string)
            .collect();
        format!("entry counts seen: {}", seen.join(","))
    });
    reporter.emit(op, 1, &stats, Some(&extras), note.as_deref())?;
    Ok(())
}

/// Reads `list(prefix)` to the end and counts its entries.
async fn count_entries(store: &dyn KvStore, prefix: &KvKey) -> KvResult<usize> {
    let mut entries = store.list(Some(prefix));
    let mut count = 0;
    while let Some(entry) = entries.next().await {
        entry?;
        count += 1;
    }
    Ok(count)
}
