//! [`Workers`]: the store's threads, each with its own connection: one
//! writer (see [`Writer`]), reader threads, and a checkpointer that copies
//! the WAL into the database file off the writer's path. Callers send jobs
//! through [`JobQueue`]s and await the answer on a tokio oneshot channel.

use std::sync::{Arc, mpsc};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::error::{KvError, KvResult};
use crate::sweep::SweepPolicy;
use crate::telemetry::Telemetry;

use super::checkpoint::Checkpoints;
use super::conn::{Db, Location, Role};
use super::error::{BACKEND, Failure, map};
use super::jobs::{Answer, Job, Read, Reply, Write, serve};
use super::queue::JobQueue;
use super::sql::Sql;
use super::writer::{Shared, Writer};

/// The queues of a running store. Dropping it closes them: the threads finish
/// the queued jobs, close their connections and exit, the writer last.
#[derive(Debug)]
pub(crate) struct Workers {
    writer: Arc<JobQueue<Job>>,
    readers: Option<Arc<JobQueue<Read>>>,
    checkpoints: Option<Arc<Checkpoints>>,
    shared: Arc<Shared>,
}

impl Drop for Workers {
    fn drop(&mut self) {
        // Before the writer's, which closes last and removes the WAL.
        self.shared.inline.close();
        self.writer.close();
        if let Some(readers) = &self.readers {
            readers.close();
        }
        if let Some(checkpoints) = &self.checkpoints {
            checkpoints.close();
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
    /// The store's spans and metrics, for the writer's automatic sweeps.
    pub telemetry: Arc<Telemetry>,
}

impl Config {
    fn open(&self, role: Role) -> KvResult<Db> {
        Db::open(
            &self.location,
            role,
            self.busy_timeout,
            Arc::clone(&self.sql),
        )
    }
}

/// The error of a job whose thread is gone.
fn stopped() -> KvError {
    KvError::backend(
        BACKEND,
        "the SQLite worker thread stopped (it panicked or failed to start); open the store again",
    )
}

/// Awaits a worker's answer.
pub(crate) async fn answer<T>(answer: Answer<T>) -> Result<T, Failure> {
    answer.await.map_err(|_| Failure::Kv(stopped()))?
}

impl Workers {
    /// Starts the writer, then (once the writer has set up the file) the
    /// readers and, for a file, the checkpointer; waits until every
    /// connection is open.
    pub(crate) async fn start(config: Config) -> KvResult<Self> {
        let file = matches!(config.location, Location::File(_));
        let workers = Self {
            writer: JobQueue::new(),
            readers: (config.readers > 0).then(JobQueue::new),
            checkpoints: file.then(Checkpoints::new),
            shared: Shared::new(config.sweep),
        };
        // Every other thread holds a sender; the writer waits for all of
        // them to be gone before it closes its connection, so that it closes
        // last, checkpointing the WAL into the database file and removing it.
        let (alive, others_gone) = mpsc::channel::<()>();

        let (ready, started) = oneshot::channel();
        let consumer = workers.writer.consumer();
        let writer_config = config.clone();
        let checkpoints = workers.checkpoints.clone();
        let shared = Arc::clone(&workers.shared);
        spawn("fedikv-sqlite-writer", move || {
            let db = match writer_config.open(Role::Writer) {
                Ok(db) => db,
                Err(e) => return drop(ready.send(Err(e))),
            };
            if writer_config.initialize
                && let Err(e) = db.create_schema()
            {
                return drop(ready.send(Err(map(e))));
            }
            if ready.send(Ok(())).is_ok() {
                let mut writer = Writer::new(
                    db,
                    writer_config.sweep,
                    shared,
                    checkpoints,
                    writer_config.telemetry,
                );
                writer.run(&consumer);
                let _ = others_gone.recv();
                drop(writer);
            }
        })?;
        started.await.map_err(|_| stopped())??;
        // Once the writer has created the file and switched it to WAL.
        workers.shared.inline.install(&config.location, &config.sql);

        let mut starting = Vec::new();
        if let Some(queue) = &workers.readers {
            for i in 0..config.readers {
                let consumer = queue.consumer();
                starting.push(spawn_connection(
                    &format!("fedikv-sqlite-reader-{i}"),
                    &config,
                    Role::Reader,
                    alive.clone(),
                    move |db| {
                        while let Some(read) = consumer.queue().pop() {
                            serve(&db, read);
                        }
                    },
                )?);
            }
        }
        if let Some(checkpoints) = &workers.checkpoints {
            let consumer = checkpoints.consumer();
            let checkpoints = Arc::clone(checkpoints);
            let writer = Arc::clone(&workers.writer);
            starting.push(spawn_connection(
                "fedikv-sqlite-checkpointer",
                &config,
                Role::Checkpointer,
                alive,
                move |db| checkpoints.run(&db, &consumer, &writer),
            )?);
        }
        for started in starting {
            started.await.map_err(|_| stopped())??;
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

    /// Runs a write on the caller's thread (see `inline.rs`) when the writer
    /// is idle with nothing queued, no sweep is due and the checkpointer
    /// runs. `None`, with nothing written, when it did not run or failed:
    /// the caller queues it then.
    pub(crate) fn write_inline<T>(
        &self,
        write: impl FnOnce(&Db) -> Result<T, Failure>,
    ) -> Option<T> {
        let checkpointing = self.checkpoints.as_ref().is_some_and(|c| c.running());
        if !checkpointing || !self.writer.idle() || self.shared.sweep_due() {
            return None;
        }
        let done = self.shared.inline.try_write(write)?;
        if let Some(checkpoints) = &self.checkpoints {
            checkpoints.committed();
        }
        Some(done)
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

/// Spawns a thread that opens a connection for `role`, reports whether that
/// worked on the returned channel, then runs `body`. It holds `alive` until
/// it exits.
fn spawn_connection(
    name: &str,
    config: &Config,
    role: Role,
    alive: mpsc::Sender<()>,
    body: impl FnOnce(Db) + Send + 'static,
) -> KvResult<oneshot::Receiver<KvResult<()>>> {
    let (ready, started) = oneshot::channel();
    let config = config.clone();
    spawn(name, move || {
        let _alive = alive;
        match config.open(role) {
            Ok(db) => {
                if ready.send(Ok(())).is_ok() {
                    body(db);
                }
            }
            Err(e) => drop(ready.send(Err(e))),
        }
    })?;
    Ok(started)
}

/// Spawns a named worker thread.
fn spawn(name: &str, body: impl FnOnce() + Send + 'static) -> KvResult<()> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(body)
        .map(drop)
        .map_err(|e| KvError::backend(BACKEND, format!("cannot start thread {name}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(location: &Location, sweep: SweepPolicy) -> Config {
        Config {
            location: location.clone(),
            sql: Arc::new(Sql::new("fedify_kv")),
            busy_timeout: Duration::from_secs(5),
            sweep,
            readers: 1,
            initialize: true,
            telemetry: Arc::new(Telemetry::new(BACKEND, Some("fedify_kv"))),
        }
    }

    fn set(value: &'static str) -> impl FnOnce(&Db) -> Result<(), Failure> {
        move |db| Ok(db.upsert("[\"k\"]", value, 0, None)?)
    }

    /// Waits (boundedly) until the writer's idleness is `idle`.
    async fn until_writer_idle_is(workers: &Workers, idle: bool) {
        for _ in 0..1000 {
            if workers.writer.idle() == idle {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    #[tokio::test]
    async fn writes_inline_when_the_writer_is_idle_and_queues_while_it_works() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::new(&dir.path().join("kv.sqlite3"));
        let workers = Arc::new(
            Workers::start(config(&location, SweepPolicy::disabled()))
                .await
                .unwrap(),
        );
        until_writer_idle_is(&workers, true).await;
        assert_eq!(workers.write_inline(set("1")), Some(()), "idle writer");

        // Another connection holds the write lock, so the writer thread
        // waits in its queued write: inline writes are not tried meanwhile.
        let other = config(&location, SweepPolicy::disabled()).open(Role::Checkpointer);
        let other = other.unwrap();
        other.begin().unwrap();
        let queued = tokio::spawn({
            let workers = Arc::clone(&workers);
            async move {
                workers
                    .write(|reply| Write::Set {
                        key: "[\"k\"]".into(),
                        value: "2".into(),
                        ttl: None,
                        reply,
                    })
                    .await
            }
        });
        until_writer_idle_is(&workers, false).await;
        assert_eq!(workers.write_inline(set("3")), None, "busy writer");
        other.commit().unwrap();
        queued.await.unwrap().unwrap();
        assert_eq!(other.get("[\"k\"]", 0).unwrap().as_deref(), Some("2"));
        until_writer_idle_is(&workers, true).await;
        assert_eq!(workers.write_inline(set("4")), Some(()), "idle again");
        assert_eq!(other.get("[\"k\"]", 0).unwrap().as_deref(), Some("4"));
    }

    #[tokio::test]
    async fn writes_go_to_the_writer_when_a_sweep_is_due() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::new(&dir.path().join("kv.sqlite3"));
        let workers = Workers::start(config(&location, SweepPolicy::every(Duration::ZERO)))
            .await
            .unwrap();
        until_writer_idle_is(&workers, true).await;
        assert_eq!(workers.write_inline(set("1")), None);
    }
}
