//! Runs the model's random cases on a store: each case from a seed of its
//! own, so that one failing case replays alone; a failing case is shrunk by
//! proptest to a minimal sequence, reported with its seed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use fedikv::KvStore;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};
use tokio::runtime::Handle;

use super::check;
use super::universe::cases;
use crate::Namespace;

/// The environment variable that sets the number of cases (default
/// [`DEFAULT_CASES`]).
pub(crate) const CASES_VAR: &str = "FEDIKV_MODEL_CASES";

/// The environment variable that sets the seed of the first case (default
/// [`DEFAULT_SEED`]); case `i` uses this seed plus `i`.
pub(crate) const SEED_VAR: &str = "FEDIKV_MODEL_SEED";

/// Cases per run: about a thousand operations, a few seconds on a server.
pub(crate) const DEFAULT_CASES: u64 = 48;

/// The seed of the first case, fixed so that every run checks the same cases.
pub(crate) const DEFAULT_SEED: u64 = 20_261_205;

/// The longest sequence of a case.
const MAX_OPS: usize = 40;

/// How many cases to run and from which seed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) seed: u64,
    pub(crate) cases: u64,
}

impl Settings {
    /// The settings [`SEED_VAR`] and [`CASES_VAR`] give, or the defaults.
    pub(crate) fn from_env() -> Result<Self, String> {
        Ok(Self {
            seed: number_var(SEED_VAR)?.unwrap_or(DEFAULT_SEED),
            cases: number_var(CASES_VAR)?.unwrap_or(DEFAULT_CASES),
        })
    }
}

fn number_var(var: &str) -> Result<Option<u64>, String> {
    match std::env::var(var) {
        Ok(text) if !text.trim().is_empty() => text.trim().parse().map(Some).map_err(|_| {
            format!("{var}={text:?} is not a number; set it to e.g. 1000 or unset it")
        }),
        _ => Ok(None),
    }
}

/// Runs the cases of `settings` on `store`, each under a prefix of its own
/// in `ns`, blocking on `handle` for each store call (call it from a
/// blocking thread, e.g. `spawn_blocking`). `Err` is the report of the first
/// failing case, shrunk: its seed, how to replay it, what differed and the
/// minimal sequence.
pub(crate) fn run(
    handle: &Handle,
    store: &Arc<dyn KvStore>,
    ns: &Namespace,
    settings: Settings,
) -> Result<(), String> {
    let runs = AtomicU64::new(0);
    for i in 0..settings.cases {
        let seed = settings.seed.wrapping_add(i);
        let config = Config {
            cases: 1,
            rng_seed: RngSeed::Fixed(seed),
            failure_persistence: None,
            max_shrink_iters: 512,
            max_shrink_time: 120_000,
            ..Config::default()
        };
        let result = TestRunner::new(config).run(&cases(MAX_OPS), |case| {
            // Every run, shrinking included, starts on keys of its own.
            let n = runs.fetch_add(1, Ordering::Relaxed);
            let prefix = ns.key([seed.to_string(), n.to_string()]);
            handle
                .block_on(check::run(store.as_ref(), &prefix, &case))
                .map_err(TestCaseError::fail)
        });
        let replay = format!(
            "replay this case alone with {SEED_VAR}={seed} {CASES_VAR}=1 (this run: {SEED_VAR}={} {CASES_VAR}={})",
            settings.seed, settings.cases
        );
        match result {
            Ok(()) => {}
            Err(TestError::Fail(reason, case)) => {
                return Err(format!(
                    "model: {}: case {} of {} (seed {seed}) differs from the reference model; {replay}\n\
                     {reason}\n\
                     shrunk case (seed {seed}):\n{case}",
                    store.backend(),
                    i + 1,
                    settings.cases,
                ));
            }
            Err(TestError::Abort(reason)) => {
                return Err(format!(
                    "model: {}: case {} of {} (seed {seed}) aborted: {reason}; {replay}",
                    store.backend(),
                    i + 1,
                    settings.cases,
                ));
            }
        }
    }
    Ok(())
}
