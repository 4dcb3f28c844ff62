//! The lifecycle every SQL table shares (SQLite, PostgreSQL, MySQL): name
//! validation (rule S2), creating the table once and again when it went
//! missing (rule S1), background sweeps that never overlap (rule S3), and
//! decoding stored value text (rule V5). The backends supply only their
//! statements and type mapping.

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

use crate::error::{KvError, KvResult};
use crate::json::{self, JsonText};
use crate::sweep::{SweepPolicy, SweepSchedule};
use crate::telemetry::{Op, Telemetry};

/// Whether `name` matches `^[A-Za-z_][A-Za-z0-9_]*$` and has at most
/// `max_len` bytes, so it can be spliced into SQL between quotes (rule S2).
pub(crate) fn is_identifier(name: &str, max_len: usize) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= max_len
}

/// [`is_identifier`], or [`KvError::InvalidName`] saying what to use; `what`
/// names it in the error ("table name").
#[cfg(any(feature = "sqlite", feature = "mysql"))]
pub(crate) fn validate_identifier(name: &str, max_len: usize, what: &'static str) -> KvResult<()> {
    if is_identifier(name, max_len) {
        Ok(())
    } else {
        Err(KvError::InvalidName {
            what,
            name: name.to_owned(),
            reason: format!(
                "use 1 to {max_len} ASCII letters, digits and underscores, not starting with a digit"
            ),
        })
    }
}

/// Parses a stored value's JSON text; anything else is one
/// [`KvError::Corrupt`] naming the row's raw key (rule V5). `raw_key` is
/// only called on failure.
pub(crate) fn decode_value_str(raw_key: impl FnOnce() -> String, text: &str) -> KvResult<Value> {
    json::parse(text).map_err(|e| not_json(raw_key, e))
}

/// A stored value's JSON text as [`JsonText`], copied once (its compact
/// form); anything but JSON is one [`KvError::Corrupt`] naming the row's
/// raw key (rule V5), as for [`decode_value_str`].
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn json_text_str(raw_key: impl FnOnce() -> String, text: &str) -> KvResult<JsonText> {
    JsonText::from_text(text).map_err(|e| not_json(raw_key, e))
}

/// [`json_text_str`] of text the caller owns: kept without a copy when it
/// is already compact.
#[cfg(any(feature = "sqlite", feature = "mysql"))]
pub(crate) fn json_text_string(
    raw_key: impl FnOnce() -> String,
    text: String,
) -> KvResult<JsonText> {
    JsonText::from_string(text).map_err(|e| not_json(raw_key, e))
}

fn not_json(raw_key: impl FnOnce() -> String, error: json::JsonError) -> KvError {
    KvError::Corrupt {
        key: raw_key(),
        reason: format!("the value is not JSON: {error}"),
    }
}

/// [`decode_value_str`] of bytes the driver returned, which must be UTF-8.
#[cfg(feature = "mysql")]
pub(crate) fn decode_value_text(raw_key: impl FnOnce() -> String, bytes: &[u8]) -> KvResult<Value> {
    // Validating UTF-8 once, then parsing text, is ~15% faster than
    // serde_json::from_slice, which checks every string on its own.
    match std::str::from_utf8(bytes) {
        Ok(text) => decode_value_str(raw_key, text),
        Err(e) => Err(KvError::Corrupt {
            key: raw_key(),
            reason: format!("the value is not UTF-8: {e}"),
        }),
    }
}

/// Whether a store's table is known to exist, and the lock that orders its
/// creation and dropping (rule S1).
///
/// The missing-table policy of every SQL backend: an operation that finds the
/// table gone (dropped by another program) creates it again and runs once
/// more, so it succeeds ([`recreating`](Self::recreating)). The failed
/// statement changed nothing, so this is safe for writes too.
#[derive(Debug, Default)]
pub(crate) struct TableState {
    created: AtomicBool,
    lock: tokio::sync::Mutex<()>,
}

impl TableState {
    /// Whether the table is known to exist.
    pub(crate) fn is_created(&self) -> bool {
        self.created.load(Ordering::Acquire)
    }

    /// Creates the table with `create` unless it is known to exist; with
    /// `force`, runs `create` anyway (the table may have been dropped
    /// elsewhere). Concurrent callers create it once. `create` runs under
    /// the lock, so it must not call `ensure` itself.
    pub(crate) async fn ensure<F>(&self, force: bool, create: F) -> KvResult<()>
    where
        F: AsyncFnOnce() -> KvResult<()>,
    {
        if !force && self.is_created() {
            return Ok(());
        }
        let _guard = self.lock.lock().await;
        if !force && self.is_created() {
            return Ok(());
        }
        create().await?;
        self.created.store(true, Ordering::Release);
        Ok(())
    }

    /// Drops the table with `drop`; the next use creates it again.
    pub(crate) async fn drop_with<F>(&self, drop: F) -> KvResult<()>
    where
        F: AsyncFnOnce() -> KvResult<()>,
    {
        let _guard = self.lock.lock().await;
        drop().await?;
        self.created.store(false, Ordering::Release);
        Ok(())
    }

    /// Runs `op`; if it failed because the table is missing (`is_missing`),
    /// creates the table with `create` and runs `op` once more. `create`
    /// runs under the lock, so it must not call [`ensure`](Self::ensure).
    pub(crate) async fn recreating<T, Op, Fut, Create>(
        &self,
        is_missing: impl Fn(&KvError) -> bool,
        create: Create,
        op: Op,
    ) -> KvResult<T>
    where
        Op: Fn() -> Fut,
        Fut: Future<Output = KvResult<T>>,
        Create: AsyncFnOnce() -> KvResult<()>,
    {
        match op().await {
            Err(e) if is_missing(&e) => {
                self.created.store(false, Ordering::Release);
                self.ensure(false, create).await?;
                op().await
            }
            result => result,
        }
    }
}

/// Automatic sweeps after writes (rule S3): at most one per
/// [`SweepPolicy`] interval, in a background task, never two at once.
#[derive(Debug)]
pub(crate) struct BackgroundSweep {
    schedule: SweepSchedule,
    running: Arc<AtomicBool>,
}

impl BackgroundSweep {
    pub(crate) fn new(policy: SweepPolicy) -> Self {
        Self {
            schedule: SweepSchedule::new(policy),
            running: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The policy it follows.
    pub(crate) fn policy(&self) -> SweepPolicy {
        self.schedule.policy()
    }

    /// After a write: when a sweep is due and none is running, spawns
    /// `sweep()` on the current Tokio runtime, observed by `telemetry` as a
    /// `background_sweep`; a failure is logged with the backend and `table`,
    /// and the next interval tries again.
    pub(crate) fn after_write<Fut>(
        &self,
        telemetry: &Arc<Telemetry>,
        table: impl Display + Send + 'static,
        sweep: impl FnOnce() -> Fut,
    ) where
        Fut: Future<Output = KvResult<u64>> + Send + 'static,
    {
        if !self.schedule.claim() || self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let running = Arc::clone(&self.running);
        let sweep = sweep();
        let telemetry = Arc::clone(telemetry);
        tokio::spawn(async move {
            if let Err(e) = telemetry.observe(Op::BackgroundSweep, None, sweep).await {
                let backend = telemetry.system();
                tracing::warn!(backend, %table, error = %e, "sweeping expired rows failed");
            }
            running.store(false, Ordering::Release);
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use super::*;

    #[cfg(any(feature = "sqlite", feature = "mysql"))]
    #[test]
    fn identifiers() {
        for good in ["fedify_kv", "_t", "T9", &"a".repeat(64)] {
            validate_identifier(good, 64, "table name").unwrap();
        }
        for bad in [
            "",
            "9t",
            "a-b",
            "a b",
            "t;drop",
            "\"t\"",
            "é",
            &"a".repeat(65),
        ] {
            assert!(matches!(
                validate_identifier(bad, 64, "table name"),
                Err(KvError::InvalidName { .. })
            ));
        }
    }

    #[test]
    fn stored_text_that_is_not_json_is_corrupt_naming_the_raw_key() {
        assert_eq!(
            decode_value_str(|| unreachable!(), "{\"a\":[1]}").unwrap(),
            serde_json::json!({"a": [1]})
        );
        match decode_value_str(|| "[\"k\"]".into(), "{") {
            Err(KvError::Corrupt { key, .. }) => assert_eq!(key, "[\"k\"]"),
            other => panic!("{other:?}"),
        }
    }

    #[cfg(feature = "mysql")]
    #[test]
    fn stored_bytes_that_are_not_utf8_are_corrupt_naming_the_raw_key() {
        for bad in [&b"{"[..], b"\xff"] {
            match decode_value_text(|| "[\"k\"]".into(), bad) {
                Err(KvError::Corrupt { key, .. }) => assert_eq!(key, "[\"k\"]"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_missing_table_is_created_again_and_the_operation_retried() {
        let state = TableState::default();
        let creates = AtomicUsize::new(0);
        let runs = AtomicUsize::new(0);
        let missing = |e: &KvError| matches!(e, KvError::Unavailable { .. });
        let result = state
            .recreating(
                missing,
                async || {
                    creates.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                },
                || async {
                    match runs.fetch_add(1, Ordering::Relaxed) {
                        0 => Err(KvError::Unavailable {
                            backend: "test",
                            source: "no such table".into(),
                        }),
                        _ => Ok(7),
                    }
                },
            )
            .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(creates.load(Ordering::Relaxed), 1);
        assert!(state.is_created());
        state.drop_with(async || Ok(())).await.unwrap();
        assert!(!state.is_created());
    }

    #[tokio::test]
    async fn background_sweeps_never_overlap() {
        let sweeps = BackgroundSweep::new(SweepPolicy::every(Duration::ZERO));
        let telemetry = Arc::new(Telemetry::new("test", None));
        let started = Arc::new(AtomicUsize::new(0));
        let (release, wait) = tokio::sync::oneshot::channel::<()>();
        let first = Arc::clone(&started);
        sweeps.after_write(&telemetry, "t", || async move {
            first.fetch_add(1, Ordering::Relaxed);
            let _ = wait.await;
            Ok(0)
        });
        // Due again (interval zero), but the first one still runs.
        for _ in 0..3 {
            let again = Arc::clone(&started);
            sweeps.after_write(&telemetry, "t", || async move {
                again.fetch_add(1, Ordering::Relaxed);
                Ok(0)
            });
        }
        tokio::task::yield_now().await;
        release.send(()).unwrap();
        for _ in 0..100 {
            if !sweeps.running.load(Ordering::Acquire) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(started.load(Ordering::Relaxed), 1);
        let after = Arc::clone(&started);
        sweeps.after_write(&telemetry, "t", || async move {
            after.fetch_add(1, Ordering::Relaxed);
            Ok(0)
        });
        for _ in 0..100 {
            if started.load(Ordering::Relaxed) == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(started.load(Ordering::Relaxed), 2);
    }
}
