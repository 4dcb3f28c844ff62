//! [`Checkpoints`]: copying the WAL back into the database file off the
//! writer's path.
//!
//! With SQLite's default (the committing connection checkpoints every 1000
//! WAL pages), every few hundred writes one of them waits for a checkpoint
//! and its two `fsync`s; that made sequential inserts about 2.5× slower here.
//! Instead, the writer asks a checkpointer thread (with its own connection)
//! to checkpoint every [`REQUEST_EVERY`] commits, and goes on writing. A WAL
//! only starts over once a checkpoint has caught up with its last frame,
//! which a checkpoint running beside a busy writer never does; so once the
//! WAL holds [`RESTART_FRAMES`] the checkpointer hands the (by then short)
//! rest over to the writer, which runs it between two transactions and
//! starts the WAL over. The writer keeps a fallback of its own
//! (`wal_autocheckpoint`, see `conn.rs`) should the checkpointer fall behind.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use super::conn::Db;
use super::jobs::Job;
use super::queue::{Consumer, JobQueue};

/// Committed write transactions between two checkpoint requests.
const REQUEST_EVERY: u32 = 100;

/// WAL frames (pages) from which the writer finishes the checkpoint itself.
const RESTART_FRAMES: i64 = 4000;

/// Shared by the writer and the checkpointer thread.
#[derive(Debug)]
pub(crate) struct Checkpoints {
    requests: Arc<JobQueue<()>>,
    /// Commits since the last request.
    commits: AtomicU32,
    /// The writer was asked to finish a checkpoint and has not yet.
    handed_over: AtomicBool,
}

impl Checkpoints {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            requests: JobQueue::new(),
            commits: AtomicU32::new(0),
            handed_over: AtomicBool::new(false),
        })
    }

    /// Registers the checkpointer thread.
    pub(crate) fn consumer(&self) -> Consumer<()> {
        self.requests.consumer()
    }

    /// Whether the checkpointer thread is alive. Inline writes, which never
    /// checkpoint, rely on it to keep the WAL bounded.
    pub(crate) fn running(&self) -> bool {
        self.requests.has_consumers()
    }

    /// Stops the checkpointer once it is idle.
    pub(crate) fn close(&self) {
        self.requests.close();
    }

    /// The writer committed a transaction: every [`REQUEST_EVERY`] commits,
    /// asks for a checkpoint.
    pub(crate) fn committed(&self) {
        if self.commits.fetch_add(1, Ordering::Relaxed) + 1 >= REQUEST_EVERY {
            self.commits.store(0, Ordering::Relaxed);
            if !self.handed_over.load(Ordering::Acquire) {
                // Refused only when the checkpointer is gone; the writer's
                // fallback checkpoints then keep the WAL bounded.
                let _ = self.requests.push(());
            }
        }
    }

    /// Run by the writer on [`Job::Checkpoint`]: the rest of the checkpoint,
    /// after which the next transaction starts the WAL over.
    pub(crate) fn finish(&self, db: &Db) {
        if let Err(e) = db.checkpoint() {
            tracing::warn!(error = %e, "fedikv sqlite: WAL checkpoint failed");
        }
        self.handed_over.store(false, Ordering::Release);
    }

    /// The checkpointer thread's loop, until [`close`](Self::close).
    /// Requests that arrive during a checkpoint are served by one more.
    pub(crate) fn run(&self, db: &Db, consumer: &Consumer<()>, writer: &JobQueue<Job>) {
        let mut requests = Vec::new();
        while consumer.queue().pop_batch(usize::MAX, &mut requests) {
            requests.clear();
            if self.handed_over.load(Ordering::Acquire) {
                continue;
            }
            match db.checkpoint() {
                Ok(frames) if frames >= RESTART_FRAMES => {
                    self.handed_over.store(true, Ordering::Release);
                    if writer.push(Job::Checkpoint).is_err() {
                        // The writer is gone; nothing more to hand over.
                        self.handed_over.store(false, Ordering::Release);
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "fedikv sqlite: WAL checkpoint failed"),
            }
        }
    }
}
