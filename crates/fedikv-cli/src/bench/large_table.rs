//! `--scenario large-table`: does a big table slow writes and lists down?
//!
//! Measures `set`, `get` (of the keys just set), `cas` and `list` on an
//! empty table (ops `set@empty`, `get@empty`, `cas@empty`, `list@empty`), then fills the table to `rows` rows of which
//! half are expired (op `populate@<rows>-half-expired`, `concurrency` writers)
//! and measures the same operations again (`set@1M-half-expired`, ...).
//! Fedify's PostgreSQL store scans the whole table for expired rows on every
//! write, so its writes degrade with table size; fedikv's sweeping is
//! amortized and index-driven (rule S3), so these numbers should barely move.

use std::sync::Arc;
use std::time::Duration;

use fedikv::{KvKey, KvResult, KvStore, SetOptions};
use serde_json::json;

use super::report::{InPhase, Reporter, RunError};
use super::runner::{concurrent, sequential};
use super::standard::list_phase;
use super::workload::{Workload, counter_key, doc_key, list_key, warm_up};

/// TTL of the expired half of the filler rows: expired a moment after the write.
const EXPIRED_TTL: Duration = Duration::from_millis(1);
/// TTL of the live half of the filler rows, like cached documents.
const LIVE_TTL: Duration = Duration::from_secs(3600);
/// No time cap for filling the table.
const NO_CAP: Duration = Duration::from_secs(365 * 86_400);

/// `["_fedify","bench-fill","https://example.com/fill/<i>"]`.
fn fill_key(i: usize) -> KvResult<KvKey> {
    KvKey::new([
        "_fedify",
        "bench-fill",
        &format!("https://example.com/fill/{i}"),
    ])
}

/// "1M" for 1 000 000, "250k" for 250 000, else the number.
pub fn rows_label(rows: usize) -> String {
    if rows >= 1_000_000 && rows.is_multiple_of(1_000_000) {
        format!("{}M", rows / 1_000_000)
    } else if rows >= 1000 && rows.is_multiple_of(1000) {
        format!("{}k", rows / 1000)
    } else {
        rows.to_string()
    }
}

/// Runs the scenario with a table of `rows` rows.
pub async fn run(
    store: &Arc<dyn KvStore>,
    workload: &Workload,
    rows: usize,
    reporter: &mut Reporter<'_>,
) -> Result<(), RunError> {
    let s = store.as_ref();
    warm_up(s, workload).await.in_phase("warmup")?;
    for i in 0..workload.list_keys {
        s.set(
            &list_key(i).in_phase("list")?,
            workload.value(i),
            SetOptions::default(),
        )
        .await
        .in_phase("list")?;
    }
    // Warm-up keys, list keys and the cas counter.
    let fixed = workload.warmup + workload.list_keys + 1;
    let after_empty = writes_and_lists(s, workload, reporter, "empty", 0, fixed).await?;

    let label = format!("{}-half-expired", rows_label(rows));
    let op = format!("populate@{label}");
    let bar = Arc::new(reporter.bar(&op, rows));
    let shared = Arc::clone(store);
    let values = Arc::clone(&workload.values);
    let stats = concurrent(
        rows,
        workload.concurrency,
        NO_CAP,
        Arc::clone(&bar),
        move |i| {
            let (store, values) = (Arc::clone(&shared), Arc::clone(&values));
            async move {
                let ttl = if i % 2 == 0 { EXPIRED_TTL } else { LIVE_TTL };
                let value = &values[i % values.len()];
                store
                    .set(&fill_key(i)?, value, SetOptions::ttl(ttl))
                    .await?;
                Ok(true)
            }
        },
    )
    .await
    .in_phase(&op)?;
    drop(bar);
    reporter.emit(&op, workload.concurrency, &stats, None, None)?;
    // Let the last "expired" rows expire.
    tokio::time::sleep(EXPIRED_TTL * 10).await;
    writes_and_lists(
        s,
        workload,
        reporter,
        &label,
        workload.n,
        after_empty + rows,
    )
    .await?;
    Ok(())
}

/// `set` of `n` new keys (from key `offset`), a `get` of each, `n` × `cas`
/// of a counter, and the list phase, as ops `set@<label>`, `get@<label>`,
/// `cas@<label>`, `list@<label>`, on a
/// store holding `keys_before` keys. Returns the keys held afterwards.
async fn writes_and_lists(
    s: &dyn KvStore,
    workload: &Workload,
    reporter: &mut Reporter<'_>,
    label: &str,
    offset: usize,
    keys_before: usize,
) -> Result<usize, RunError> {
    let (n, cap) = (workload.n, workload.phase_max);
    let op = format!("set@{label}");
    let bar = reporter.bar(&op, n);
    let stats = sequential(n, cap, &bar, |i| async move {
        s.set(
            &doc_key(offset + i)?,
            workload.value(i),
            SetOptions::default(),
        )
        .await
        .map(|()| true)
    })
    .await
    .in_phase(&op)?;
    drop(bar);
    reporter.emit(&op, 1, &stats, None, None)?;
    let keys = keys_before + stats.n;

    let op = format!("get@{label}");
    let written = stats.n;
    let bar = reporter.bar(&op, written);
    let stats = sequential(written, cap, &bar, |i| async move {
        s.get(&doc_key(offset + i)?).await.map(|v| v.is_some())
    })
    .await
    .in_phase(&op)?;
    drop(bar);
    reporter.emit(&op, 1, &stats, None, None)?;

    let op = format!("cas@{label}");
    let counter = counter_key().in_phase(&op)?;
    s.set(&counter, &json!(0), SetOptions::default())
        .await
        .in_phase(&op)?;
    let counter = &counter;
    let bar = reporter.bar(&op, n);
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
    .in_phase(&op)?;
    drop(bar);
    reporter.emit(&op, 1, &stats, None, None)?;

    list_phase(s, workload, reporter, &format!("list@{label}"), keys).await?;
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_labels() {
        assert_eq!(rows_label(1_000_000), "1M");
        assert_eq!(rows_label(250_000), "250k");
        assert_eq!(rows_label(1234), "1234");
    }
}
