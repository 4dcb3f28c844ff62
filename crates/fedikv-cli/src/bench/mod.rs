//! `fedikv bench`: the workload of docs/benchmarks.md on one or more stores,
//! one JSON line per (store, operation) in the format of the Node harness
//! that runs Fedify's stores through the same workload, so its summarizer
//! tables fedikv and Fedify's TypeScript stores side by side.
//!
//! Stores run one after the other, each in a dedicated table, prefix or file
//! ([`target`]) that is wiped before and after. A store that fails gets an
//! `_error` line and the next store still runs; the exit code is then 2.

mod large_table;
mod output;
mod raw_sqlite;
mod record;
mod report;
mod runner;
mod standard;
mod stats;
mod target;
mod workload;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use fedikv::KvResult;

use crate::cli::{BenchArgs, Scenario};
use crate::error::{CliError, Outcome};
use crate::progress::Progress;
use output::Sink;
use raw_sqlite::RawSqliteStore;
use record::Base;
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

/// Runs `fedikv bench`.
pub async fn run(args: BenchArgs, stores: Vec<String>) -> Result<Outcome, CliError> {
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
    let stores = if stores.is_empty() && !args.raw_sqlite {
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
        "rust {}; scenario {}; N={} concurrency={} list={}x{} warmup={} phase cap={:?}; value {VALUE_BYTES} B; stores: {}{}",
        env!("FEDIKV_RUSTC_VERSION"),
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
        if args.raw_sqlite { " + rusqlite-raw" } else { "" },
    ));
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
        let base = Base::new(
            labels.unique(target.backend),
            "fedikv",
            target.driver.clone(),
            target.server.clone(),
            VALUE_BYTES,
        );
        total += 1;
        let ok = measure(&mut context, base, target.open()).await?;
        target.remove_files();
        failed += usize::from(!ok);
    }
    if args.raw_sqlite {
        let file = target::temp_database_path();
        let base = Base::new(
            labels.unique("sqlite-raw"),
            "rusqlite-raw",
            Some(format!("rusqlite {}", env!("FEDIKV_LOCKED_RUSQLITE"))),
            format!(
                "SQLite {} (bundled), file {}, one connection, cached prepared statements",
                rusqlite::version(),
                file.display()
            ),
            VALUE_BYTES,
        );
        let open = async {
            RawSqliteStore::create(&file, target::BENCH_TABLE)
                .map(|store| Opened::temporary(Arc::new(store)))
        };
        total += 1;
        let ok = measure(&mut context, base, open).await?;
        target::remove_database_files(&file);
        failed += usize::from(!ok);
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
        opened.wipe().await.in_phase("cleanup")?;
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
