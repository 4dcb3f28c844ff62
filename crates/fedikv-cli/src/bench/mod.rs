//! `fedikv bench`: the workload of docs/benchmarks.md on one or more stores,
//! one JSON line per (store, operation) in the format of the Node harness
//! that runs Fedify's stores through the same workload, so its summarizer
//! tables fedikv and Fedify's TypeScript stores side by side.
//!
//! Stores run one after the other, each in a dedicated table, prefix or file
//! ([`target`]) that is wiped before and after; with `--raw`, each SQL or
//! Redis store is followed by its raw-driver floors ([`raw`]) on the same
//! table or prefix: `impl` "raw" with the store's connection count, and for
//! PostgreSQL and MySQL also "raw-1conn" on one held connection. A store that fails gets an `_error` line and the next
//! store still runs; the exit code is then 2.
//!
//! The workload runs the way a service calls a store: in a task spawned on
//! the multi-threaded Tokio runtime, not on the thread that blocks on the
//! runtime (whose every wake-up would be a cross-thread hop).

mod fixture;
mod large_table;
mod output;
mod raw;
mod record;
mod report;
mod runner;
mod standard;
mod stats;
mod target;
mod workload;

use std::collections::HashMap;
use std::future::Future;
use std::time::Instant;

use fedikv::KvResult;

use crate::cli::{BenchArgs, Scenario};
use crate::error::{CliError, Outcome};
use crate::progress::Progress;
use output::Sink;
use record::{Base, HARNESS};
use report::{InPhase, Reporter, RunError};
use target::{Opened, Target};
use workload::{VALUE_BYTES, Workload};

/// The store benchmarked when no `--store` (or `FEDIKV_STORE`) is given: a
/// temporary SQLite file.
const DEFAULT_BENCH_STORE: &str = "sqlite:";

/// What the run shares across stores.
struct Context<'a> {
    workload: Workload,
    scenario: Scenario,
    rows: usize,
    sink: &'a mut Sink,
    progress: &'a Progress,
}

/// Runs `fedikv bench` in a task spawned on the runtime (see the module docs).
pub async fn run(args: BenchArgs, stores: Vec<String>) -> Result<Outcome, CliError> {
    match tokio::spawn(run_in_task(args, stores)).await {
        Ok(result) => result,
        Err(error) => match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(error) => Err(CliError::new(format!("the benchmark task ended: {error}"))),
        },
    }
}

/// Runs `fedikv bench` on the current task.
async fn run_in_task(args: BenchArgs, stores: Vec<String>) -> Result<Outcome, CliError> {
    for (name, value) in [
        ("-n", args.n),
        ("--concurrency", args.concurrency),
        ("--rows", args.rows),
    ] {
        if value == 0 {
            return Err(CliError::new(format!("{name} must be at least 1")));
        }
    }
    let phase_max = fedikv::parse_duration(&args.phase_max)
        .map_err(|e| CliError::new(format!("--phase-max: {e}")))?;
    let stores = if stores.is_empty() {
        vec![DEFAULT_BENCH_STORE.to_owned()]
    } else {
        stores
    };
    let targets = stores
        .iter()
        .map(|url| Target::new(url))
        .collect::<Result<Vec<_>, _>>()?;
    let mut sink = Sink::open(args.out.as_deref())?;
    let progress = Progress::detect();
    let workload = Workload::new(args.n, args.concurrency, phase_max);
    progress.log(&format!(
        "rust {}; {HARNESS} ({} workers); scenario {}; N={} concurrency={} list={}x{} warmup={} phase cap={:?}; value {VALUE_BYTES} B; stores: {}{}",
        env!("FEDIKV_RUSTC_VERSION"),
        tokio::runtime::Handle::current().metrics().num_workers(),
        args.scenario.name(),
        workload.n,
        workload.concurrency,
        workload.list_keys,
        workload.list_repeat,
        workload.warmup,
        phase_max,
        stores
            .iter()
            .map(|url| fedikv::redact(url))
            .collect::<Vec<_>>()
            .join(", "),
        if args.raw { ", each with its raw-driver floor" } else { "" },
    ));
    if let Some(action) = args.c_client_fixture {
        return fixture::run(action, &targets, &workload, &mut sink).await;
    }
    let mut context = Context {
        workload,
        scenario: args.scenario,
        rows: args.rows,
        sink: &mut sink,
        progress: &progress,
    };

    let mut labels = Labels::default();
    let mut failed = 0;
    let mut total = 0;
    for target in &targets {
        let label = labels.unique(target.label);
        let base = Base::new(
            label.clone(),
            "fedikv",
            target.driver.clone(),
            target.server.clone(),
            VALUE_BYTES,
        );
        total += 1;
        failed += usize::from(!measure(&mut context, base, target.open()).await?);
        let floors = if args.raw {
            target.raw_floors()
        } else {
            Vec::new()
        };
        for (kind, driver) in floors {
            let base = Base::new(
                label.clone(),
                kind.label(),
                Some(driver),
                target.server.clone(),
                VALUE_BYTES,
            );
            total += 1;
            failed += usize::from(!measure(&mut context, base, target.open_raw(kind)).await?);
        }
        target.remove_files();
    }
    if failed > 0 {
        return Err(CliError::new(format!(
            "{failed} of {total} stores failed; see the \"_error\" lines of the results"
        )));
    }
    Ok(Outcome::Success)
}

/// Opens a store, wipes it, runs the scenario and wipes it again. Returns
/// whether the store completed the run; a store failure is written as an
/// `_error` line.
async fn measure(
    context: &mut Context<'_>,
    base: Base,
    open: impl Future<Output = KvResult<Opened>>,
) -> Result<bool, CliError> {
    let mut reporter = Reporter::new(base, context.sink, context.progress);
    let started = Instant::now();
    let result = async {
        let opened = open.await.in_phase("open")?;
        opened.prepare().await.in_phase("cleanup")?;
        let store = &opened.store;
        let result = match context.scenario {
            Scenario::Standard => standard::run(store, &context.workload, &mut reporter).await,
            Scenario::LargeTable => {
                large_table::run(store, &context.workload, context.rows, &mut reporter).await
            }
        };
        let cleaned = opened.wipe().await.in_phase("cleanup");
        result.and(cleaned)
    }
    .await;
    match result {
        Ok(()) => {
            reporter.log(&format!("done in {:.1}s", started.elapsed().as_secs_f64()));
            Ok(true)
        }
        Err(RunError::Phase { phase, error }) => {
            let message = CliError::from(error).one_line();
            reporter.fail(&phase, &message)?;
            Ok(false)
        }
        Err(RunError::Fatal(error)) => Err(error),
    }
}

/// Row labels, made unique within a run ("sqlite", "sqlite#2", ...) because
/// `summarize.mjs` keys its rows by runtime and backend.
#[derive(Debug, Default)]
struct Labels(HashMap<String, usize>);

impl Labels {
    fn unique(&mut self, backend: &str) -> String {
        let seen = self.0.entry(backend.to_owned()).or_default();
        *seen += 1;
        if *seen == 1 {
            backend.to_owned()
        } else {
            format!("{backend}#{seen}")
        }
    }
}
