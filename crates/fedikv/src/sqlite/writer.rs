//! [`Writer`]: the writer thread's loop. Queued writes are applied in order
//! in one `BEGIN IMMEDIATE` transaction per group (group commit) and answered
//! once it commits; the writer also sweeps expired rows and asks the
//! checkpointer to fold the WAL back into the database file. What it shares
//! with inline writes is in [`Shared`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::sweep::{SweepPolicy, SweepSchedule};
use crate::telemetry::{Op, Telemetry};

use super::checkpoint::Checkpoints;
use super::conn::{Db, now_ms};
use super::error::{Failure, is_missing_table, map, map_ref};
use super::inline::InlineWriter;
use super::jobs::{Job, Reply, Write, serve};
use super::queue::Consumer;

/// Most jobs the writer takes from its queue for one transaction.
const MAX_GROUP: usize = 64;

/// A write whose answer waits for its transaction's commit.
enum Pending {
    Unit(Reply<()>, Result<(), Failure>),
    Flag(Reply<bool>, Result<bool, Failure>),
    Count(Reply<u64>, Result<u64, Failure>),
}

impl Pending {
    /// Sends the outcome: the write's own error, else the commit's.
    fn finish(self, commit: Result<(), &rusqlite::Error>) {
        fn send<T>(
            reply: Reply<T>,
            result: Result<T, Failure>,
            commit: Result<(), &rusqlite::Error>,
        ) {
            let result = match (result, commit) {
                (Ok(_), Err(e)) => Err(Failure::Kv(map_ref(e))),
                (result, _) => result,
            };
            let _ = reply.send(result);
        }
        match self {
            Self::Unit(reply, result) => send(reply, result, commit),
            Self::Flag(reply, result) => send(reply, result, commit),
            Self::Count(reply, result) => send(reply, result, commit),
        }
    }

    fn failed(&self) -> bool {
        match self {
            Self::Unit(_, r) => r.is_err(),
            Self::Flag(_, r) => r.is_err(),
            Self::Count(_, r) => r.is_err(),
        }
    }
}

/// What the writer thread shares with inline writes: their connection and
/// when the writer should sweep.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) inline: InlineWriter,
    schedule: SweepSchedule,
    /// The last automatic sweep removed a full batch: sweep again after the
    /// next writes rather than waiting a whole interval.
    more_expired: AtomicBool,
}

impl Shared {
    /// No inline connection yet (see [`InlineWriter::install`]).
    pub(crate) fn new(sweep: SweepPolicy) -> Arc<Self> {
        Arc::new(Self {
            inline: InlineWriter::default(),
            schedule: SweepSchedule::new(sweep),
            more_expired: AtomicBool::new(false),
        })
    }

    /// Whether the writer's next group would sweep: writes then go to it
    /// rather than inline, so that sweeps keep coming after writes.
    pub(crate) fn sweep_due(&self) -> bool {
        self.more_expired.load(Ordering::Relaxed) || self.schedule.due()
    }
}

/// The writer thread's state.
pub(crate) struct Writer {
    db: Db,
    shared: Arc<Shared>,
    batch_size: usize,
    /// Writes of the open transaction, answered at commit.
    pending: Vec<Pending>,
    /// The checkpointer, if there is one.
    checkpoints: Option<Arc<Checkpoints>>,
    /// The store's spans and metrics, for automatic sweeps.
    telemetry: Arc<Telemetry>,
}

impl Writer {
    pub(crate) fn new(
        db: Db,
        sweep: SweepPolicy,
        shared: Arc<Shared>,
        checkpoints: Option<Arc<Checkpoints>>,
        telemetry: Arc<Telemetry>,
    ) -> Self {
        Self {
            db,
            batch_size: sweep.batch_size.max(1),
            shared,
            pending: Vec::with_capacity(MAX_GROUP),
            checkpoints,
            telemetry,
        }
    }

    /// Takes the queued jobs in groups: consecutive writes share one
    /// transaction (group commit), a read first commits what precedes it.
    /// A group that ends with writes may also sweep one batch, in the same
    /// transaction: when a write is answered, its sweep is done.
    pub(crate) fn run(&mut self, consumer: &Consumer<Job>) {
        let mut jobs = Vec::with_capacity(MAX_GROUP);
        while consumer.queue().pop_batch(MAX_GROUP, &mut jobs) {
            for job in jobs.drain(..) {
                match job {
                    Job::Read(read) => {
                        self.commit();
                        serve(&self.db, read);
                    }
                    Job::Write(write) => self.apply(write),
                    Job::Checkpoint => {
                        self.commit();
                        if let Some(checkpoints) = &self.checkpoints {
                            checkpoints.finish(&self.db);
                        }
                    }
                }
            }
            if self.db.in_transaction()
                && (self.shared.more_expired.load(Ordering::Relaxed)
                    || self.shared.schedule.claim())
            {
                self.auto_sweep();
            }
            self.commit();
        }
    }

    /// Applies one write inside the open transaction (opening one if needed,
    /// after any inline write has finished).
    fn apply(&mut self, write: Write) {
        if !self.db.in_transaction() {
            self.shared.inline.wait_idle();
            if let Err(e) = self.db.begin() {
                return write.reject(Failure::from(e));
            }
        }
        let db = &self.db;
        let pending = match write {
            Write::Set {
                key,
                value,
                ttl,
                reply,
            } => {
                let mut value = Some(value);
                Pending::Unit(
                    reply,
                    with_table(db, || db.upsert_owned(&key, &mut value, now_ms(), ttl)),
                )
            }
            Write::Delete { key, reply } => {
                Pending::Unit(reply, with_table(db, || Ok(db.delete(&key)?)))
            }
            Write::DeleteRaw { key, reply } => {
                Pending::Flag(reply, with_table(db, || Ok(db.delete_raw(&key)?)))
            }
            Write::Cas {
                key,
                expected,
                new,
                ttl,
                reply,
            } => Pending::Flag(
                reply,
                with_table(db, || db.cas(&key, expected.as_ref(), new.as_deref(), ttl)),
            ),
            Write::Sweep { reply } => {
                Pending::Count(reply, with_table(db, || Ok(db.sweep(self.batch_size)?)))
            }
            Write::Initialize { reply } => {
                Pending::Unit(reply, db.create_schema().map_err(|e| Failure::Kv(map(e))))
            }
            Write::DropTable { reply } => {
                Pending::Unit(reply, db.drop_table().map_err(|e| Failure::Kv(map(e))))
            }
        };
        let failed = pending.failed();
        self.pending.push(pending);
        if failed {
            self.check_rollback();
        }
    }

    /// After a failed statement: if SQLite rolled the whole transaction back
    /// (e.g. disk full), the earlier writes of the group were lost with it.
    fn check_rollback(&mut self) {
        if self.db.in_transaction() {
            return;
        }
        let lost = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
            Some("rolled back with a failed statement of the same transaction".into()),
        );
        for pending in self.pending.drain(..) {
            pending.finish(Err(&lost));
        }
    }

    /// Commits the open transaction, then answers its writes.
    fn commit(&mut self) {
        let result = if self.db.in_transaction() {
            let result = self.db.commit();
            if let (Ok(()), Some(checkpoints)) = (&result, &self.checkpoints) {
                checkpoints.committed();
            }
            result
        } else {
            Ok(())
        };
        for pending in self.pending.drain(..) {
            pending.finish(result.as_ref().map(|_| ()));
        }
    }

    /// One automatic sweep batch in the open transaction. A failed sweep is
    /// logged, not reported: it rolls back alone (unless SQLite rolls the
    /// whole transaction back), and reads never depend on it.
    fn auto_sweep(&mut self) {
        let more_expired = &self.shared.more_expired;
        let sweep = || self.db.sweep(self.batch_size);
        let kind = |e: &rusqlite::Error| map_ref(e).kind();
        match (self.telemetry).observe_sync(Op::BackgroundSweep, kind, sweep) {
            Ok(n) => more_expired.store(n as usize >= self.batch_size, Ordering::Relaxed),
            Err(e) => {
                more_expired.store(false, Ordering::Relaxed);
                if !is_missing_table(&e) {
                    tracing::warn!(error = %e, "fedikv sqlite: sweeping expired entries failed");
                }
                self.check_rollback();
            }
        }
    }
}

impl Write {
    /// Answers the write with `failure` without applying it.
    fn reject(self, failure: Failure) {
        match self {
            Write::Set { reply, .. }
            | Write::Delete { reply, .. }
            | Write::Initialize { reply }
            | Write::DropTable { reply } => drop(reply.send(Err(failure))),
            Write::Cas { reply, .. } | Write::DeleteRaw { reply, .. } => {
                drop(reply.send(Err(failure)))
            }
            Write::Sweep { reply } => drop(reply.send(Err(failure))),
        }
    }
}

/// Runs `op`; when the table is missing, creates it (in the open
/// transaction) and runs `op` once more.
fn with_table<T>(db: &Db, mut op: impl FnMut() -> Result<T, Failure>) -> Result<T, Failure> {
    match op() {
        Err(Failure::MissingTable) => {
            db.create_schema()?;
            op().map_err(|f| Failure::Kv(f.into_kv()))
        }
        result => result,
    }
}
