//! The store's threads: one writer with its own connection, which applies
//! writes in group-committed transactions, and reader threads with a
//! connection each. Callers send jobs through [`JobQueue`]s and await the
//! answer on a tokio oneshot channel.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;

use crate::error::{KvError, KvResult};
use crate::sweep::{SweepPolicy, SweepSchedule};

use super::conn::{Db, Location, PageQuery, Role, now_ms};
use super::error::{BACKEND, Failure, is_missing_table, map, map_ref};
use super::queue::{Consumer, JobQueue};
use super::rows::RawPage;
use super::schema::Sql;

/// Most jobs the writer takes from its queue for one transaction.
const MAX_GROUP: usize = 64;

/// Where a worker sends its answer.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, Failure>>;

/// A read, served by a reader thread (or by the writer when there are none).
#[derive(Debug)]
pub(crate) enum Read {
    /// The live value text of a key text.
    Get {
        key: String,
        reply: Reply<Option<String>>,
    },
    /// One page of a listing.
    Page {
        query: PageQuery,
        reply: Reply<RawPage>,
    },
}

/// A write, applied by the writer thread.
#[derive(Debug)]
pub(crate) enum Write {
    /// Upsert of a key text with a value's JSON text.
    Set {
        key: String,
        value: String,
        ttl: Option<Duration>,
        reply: Reply<()>,
    },
    /// Delete of a key text.
    Delete { key: String, reply: Reply<()> },
    /// Compare-and-swap; `new` is JSON text, `None` deletes.
    Cas {
        key: String,
        expected: Option<Value>,
        new: Option<String>,
        ttl: Option<Duration>,
        reply: Reply<bool>,
    },
    /// One sweep batch; answers the rows removed.
    Sweep { reply: Reply<u64> },
    /// Create the table and index if missing.
    Initialize { reply: Reply<()> },
    /// Drop the table.
    DropTable { reply: Reply<()> },
}

/// A job of the writer's queue.
#[derive(Debug)]
pub(crate) enum Job {
    Read(Read),
    Write(Write),
}

/// The queues of a running store. Dropping it closes them: the threads finish
/// the queued jobs, close their connections and exit.
#[derive(Debug)]
pub(crate) struct Workers {
    writer: Arc<JobQueue<Job>>,
    readers: Option<Arc<JobQueue<Read>>>,
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.writer.close();
        if let Some(readers) = &self.readers {
            readers.close();
        }
    }
}

/// What the threads of a store need.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub location: Location,
    pub sql: Arc<Sql>,
    pub busy_timeout: Duration,
    pub sweep: SweepPolicy,
    /// Reader threads; 0 serves reads on the writer.
    pub readers: usize,
    /// Create the table when the writer starts.
    pub initialize: bool,
}

/// The error of a job whose thread is gone.
fn stopped() -> KvError {
    KvError::backend(
        BACKEND,
        "the SQLite worker thread stopped (it panicked or failed to start); open the store again",
    )
}

/// Where a caller waits for a worker's answer.
pub(crate) type Answer<T> = oneshot::Receiver<Result<T, Failure>>;

/// Awaits a worker's answer.
pub(crate) async fn answer<T>(answer: Answer<T>) -> Result<T, Failure> {
    answer.await.map_err(|_| Failure::Kv(stopped()))?
}

impl Workers {
    /// Starts the writer, then the readers (once the writer has set up the
    /// file), and waits until every connection is open.
    pub(crate) async fn start(config: Config) -> KvResult<Self> {
        let workers = Self {
            writer: JobQueue::new(),
            readers: (config.readers > 0).then(JobQueue::new),
        };
        let (ready, started) = oneshot::channel();
        let consumer = workers.writer.consumer();
        let writer_config = config.clone();
        // Every reader holds a sender; the writer waits for all to be gone.
        let (reader_alive, readers_gone) = std::sync::mpsc::channel::<()>();
        spawn("fedikv-sqlite-writer", move || {
            let db = match Db::open(
                &writer_config.location,
                Role::Writer,
                writer_config.busy_timeout,
                Arc::clone(&writer_config.sql),
            ) {
                Ok(db) => db,
                Err(e) => return drop(ready.send(Err(e))),
            };
            if writer_config.initialize
                && let Err(e) = db.create_schema()
            {
                return drop(ready.send(Err(map(e))));
            }
            if ready.send(Ok(())).is_ok() {
                let mut writer = Writer::new(db, writer_config.sweep);
                writer.run(&consumer);
                // Close after the readers: the last connection to close
                // checkpoints the WAL into the database file and removes it.
                let _ = readers_gone.recv();
                drop(writer);
            }
        })?;
        started.await.map_err(|_| stopped())??;
        if let Some(queue) = &workers.readers {
            let mut starting = Vec::with_capacity(config.readers);
            for i in 0..config.readers {
                let (ready, started) = oneshot::channel();
                starting.push(started);
                let consumer = queue.consumer();
                let config = config.clone();
                let alive = reader_alive.clone();
                spawn(&format!("fedikv-sqlite-reader-{i}"), move || {
                    let _alive = alive;
                    match Db::open(
                        &config.location,
                        Role::Reader,
                        config.busy_timeout,
                        config.sql,
                    ) {
                        Ok(db) => {
                            if ready.send(Ok(())).is_ok() {
                                read_loop(&db, &consumer);
                            }
                        }
                        Err(e) => drop(ready.send(Err(e))),
                    }
                })?;
            }
            for started in starting {
                started.await.map_err(|_| stopped())??;
            }
        }
        Ok(workers)
    }

    /// Runs a write on the writer thread.
    pub(crate) async fn write<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> Write,
    ) -> Result<T, Failure> {
        let (reply, receiver) = oneshot::channel();
        self.writer
            .push(Job::Write(make(reply)))
            .map_err(|_| Failure::Kv(stopped()))?;
        answer(receiver).await
    }

    /// Runs a read on a reader thread, or on the writer when there are none.
    pub(crate) async fn read<T>(&self, make: impl FnOnce(Reply<T>) -> Read) -> Result<T, Failure> {
        answer(self.send_read(make)?).await
    }

    /// Queues a read without waiting for it; [`answer`] awaits the result.
    pub(crate) fn send_read<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> Read,
    ) -> Result<Answer<T>, Failure> {
        let (reply, receiver) = oneshot::channel();
        let read = make(reply);
        let pushed = match &self.readers {
            Some(readers) => readers.push(read).map_err(drop),
            None => self.writer.push(Job::Read(read)).map_err(drop),
        };
        pushed.map_err(|()| Failure::Kv(stopped()))?;
        Ok(receiver)
    }
}

/// Spawns a named worker thread.
fn spawn(name: &str, body: impl FnOnce() + Send + 'static) -> KvResult<()> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(body)
        .map(drop)
        .map_err(|e| KvError::backend(BACKEND, format!("cannot start thread {name}: {e}")))
}

/// Answers a read.
fn serve(db: &Db, read: Read) {
    // A caller that gave up no longer listens: nothing to do.
    match read {
        Read::Get { key, reply } => drop(reply.send(db.get(&key, now_ms()))),
        Read::Page { query, reply } => drop(reply.send(db.page(&query))),
    }
}

/// A reader thread's loop: one read at a time until the queue closes.
fn read_loop(db: &Db, consumer: &Consumer<Read>) {
    while let Some(read) = consumer.queue().pop() {
        serve(db, read);
    }
}

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

/// The writer thread's state.
struct Writer {
    db: Db,
    schedule: SweepSchedule,
    batch_size: usize,
    /// The last automatic sweep removed a full batch: sweep again after the
    /// next writes rather than waiting a whole interval.
    more_expired: bool,
    /// Writes of the open transaction, answered at commit.
    pending: Vec<Pending>,
}

impl Writer {
    fn new(db: Db, sweep: SweepPolicy) -> Self {
        Self {
            db,
            batch_size: sweep.batch_size.max(1),
            schedule: SweepSchedule::new(sweep),
            more_expired: false,
            pending: Vec::with_capacity(MAX_GROUP),
        }
    }

    /// Takes the queued jobs in groups: consecutive writes share one
    /// transaction (group commit), a read first commits what precedes it.
    /// A group that ends with writes may also sweep one batch, in the same
    /// transaction: when a write is answered, its sweep is done.
    fn run(&mut self, consumer: &Consumer<Job>) {
        let mut jobs = Vec::with_capacity(MAX_GROUP);
        while consumer.queue().pop_batch(MAX_GROUP, &mut jobs) {
            for job in jobs.drain(..) {
                match job {
                    Job::Read(read) => {
                        self.commit();
                        serve(&self.db, read);
                    }
                    Job::Write(write) => self.apply(write),
                }
            }
            if self.db.in_transaction() && (self.more_expired || self.schedule.claim()) {
                self.auto_sweep();
            }
            self.commit();
        }
    }

    /// Applies one write inside the open transaction (opening one if needed).
    fn apply(&mut self, write: Write) {
        if !self.db.in_transaction()
            && let Err(e) = self.db.begin()
        {
            return write.reject(Failure::from(e));
        }
        let db = &self.db;
        let pending = match write {
            Write::Set {
                key,
                value,
                ttl,
                reply,
            } => Pending::Unit(
                reply,
                with_table(db, || Ok(db.upsert(&key, &value, now_ms(), ttl)?)),
            ),
            Write::Delete { key, reply } => {
                Pending::Unit(reply, with_table(db, || Ok(db.delete(&key)?)))
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
            self.db.commit()
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
        match self.db.sweep(self.batch_size) {
            Ok(n) => self.more_expired = n as usize >= self.batch_size,
            Err(e) => {
                self.more_expired = false;
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
            Write::Cas { reply, .. } => drop(reply.send(Err(failure))),
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
