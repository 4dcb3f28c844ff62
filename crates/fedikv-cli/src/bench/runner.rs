//! Timed phases: run an operation `n` times, one at a time or with several in
//! flight, timing each, and stop early at the phase cap like the peer harness.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fedikv::{KvError, KvResult};

use super::stats::PhaseStats;
use crate::progress::PhaseBar;

/// How often (in operations) the progress bar is moved, outside the timings.
const PROGRESS_EVERY: usize = 256;

/// Runs `op(i)` for `i` in `0..n`, each awaited before the next, until done or
/// `cap` has passed. `op` returns whether the result was right (`false`
/// counts as an error); an `Err` ends the phase.
pub async fn sequential<F, Fut>(
    n: usize,
    cap: Duration,
    bar: &PhaseBar,
    mut op: F,
) -> KvResult<PhaseStats>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = KvResult<bool>>,
{
    let mut latencies = Vec::with_capacity(n);
    let mut errors = 0;
    let start = Instant::now();
    let deadline = start + cap;
    for i in 0..n {
        let began = Instant::now();
        if began > deadline {
            break;
        }
        if !op(i).await? {
            errors += 1;
        }
        latencies.push(began.elapsed().as_secs_f64() * 1e6);
        if i % PROGRESS_EVERY == 0 {
            bar.set(i);
        }
    }
    Ok(PhaseStats::new(latencies, n, errors, start.elapsed()))
}

/// Runs `op(i)` for `i` in `0..n` with `in_flight` tasks each taking the next
/// `i` as soon as its previous operation is done, until done or `cap` has
/// passed. Same contract as [`sequential`] otherwise.
pub async fn concurrent<F, Fut>(
    n: usize,
    in_flight: usize,
    cap: Duration,
    bar: Arc<PhaseBar>,
    op: F,
) -> KvResult<PhaseStats>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = KvResult<bool>> + Send + 'static,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + cap;
    let workers: Vec<_> = (0..in_flight.max(1))
        .map(|_| {
            let (op, next, bar) = (Arc::clone(&op), Arc::clone(&next), Arc::clone(&bar));
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0;
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let began = Instant::now();
                    if !op(i).await? {
                        errors += 1;
                    }
                    latencies.push(began.elapsed().as_secs_f64() * 1e6);
                    if latencies.len() % PROGRESS_EVERY == 0 {
                        bar.add(PROGRESS_EVERY);
                    }
                }
                KvResult::Ok((latencies, errors))
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(n);
    let mut errors = 0;
    let mut failure = None;
    for worker in workers {
        match worker.await {
            Ok(Ok((worker_latencies, worker_errors))) => {
                latencies.extend(worker_latencies);
                errors += worker_errors;
            }
            Ok(Err(error)) => failure = failure.or(Some(error)),
            Err(join_error) => match join_error.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(join_error) => {
                    failure = failure.or(Some(KvError::backend("bench worker", join_error)))
                }
            },
        }
    }
    let elapsed = start.elapsed();
    match failure {
        Some(error) => Err(error),
        None => Ok(PhaseStats::new(latencies, n, errors, elapsed)),
    }
}
