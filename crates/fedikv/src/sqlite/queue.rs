//! [`JobQueue`]: the blocking multi-consumer queue between async callers and
//! the store's worker threads.
//!
//! A `Mutex<VecDeque>` plus a `Condvar`: a push wakes exactly one idle
//! consumer, and a consumer can take several queued jobs at once (the writer's
//! group commit). Consumers register with a [`Consumer`] guard; when the last
//! one is gone (a thread stopped or panicked), queued jobs are dropped, which
//! fails their callers' reply channels, and later pushes fail: a dead worker
//! is an error, never a hang.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

#[derive(Debug)]
struct State<T> {
    jobs: VecDeque<T>,
    /// Registered consumers still alive.
    consumers: usize,
    /// Consumers waiting for a job (so done with the previous ones).
    waiting: usize,
    /// No more jobs will come: consumers drain the queue and stop.
    closed: bool,
}

/// A queue of jobs for one or more worker threads.
#[derive(Debug)]
pub(crate) struct JobQueue<T> {
    state: Mutex<State<T>>,
    ready: Condvar,
}

impl<T> JobQueue<T> {
    /// An empty, open queue without consumers.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                jobs: VecDeque::new(),
                consumers: 0,
                waiting: 0,
                closed: false,
            }),
            ready: Condvar::new(),
        })
    }

    // Jobs and counters stay consistent whatever a panicking holder did, so a
    // poisoned lock is still usable.
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a push or close, counted in `waiting` meanwhile.
    fn wait<'a>(&self, mut state: MutexGuard<'a, State<T>>) -> MutexGuard<'a, State<T>> {
        state.waiting += 1;
        let mut state = self.ready.wait(state).unwrap_or_else(|e| e.into_inner());
        state.waiting -= 1;
        state
    }

    /// Whether nothing is queued and every consumer waits for a job: they
    /// are done with all the jobs they took (a cheap snapshot, which may be
    /// stale as soon as it is returned).
    pub(crate) fn idle(&self) -> bool {
        let state = self.lock();
        !state.closed
            && state.consumers > 0
            && state.jobs.is_empty()
            && state.waiting == state.consumers
    }

    /// Whether a consumer is registered (its thread is alive).
    pub(crate) fn has_consumers(&self) -> bool {
        self.lock().consumers > 0
    }

    /// Queues `job` for a consumer. Gives it back when no consumer is alive
    /// or the queue is closed.
    pub(crate) fn push(&self, job: T) -> Result<(), T> {
        let mut state = self.lock();
        if state.consumers == 0 || state.closed {
            return Err(job);
        }
        state.jobs.push_back(job);
        drop(state);
        self.ready.notify_one();
        Ok(())
    }

    /// Waits for a job. `None` once the queue is closed and empty.
    pub(crate) fn pop(&self) -> Option<T> {
        let mut state = self.lock();
        loop {
            if let Some(job) = state.jobs.pop_front() {
                return Some(job);
            }
            if state.closed {
                return None;
            }
            state = self.wait(state);
        }
    }

    /// Waits for at least one job, then moves up to `max` queued jobs into
    /// `out`. `false` once the queue is closed and empty.
    pub(crate) fn pop_batch(&self, max: usize, out: &mut Vec<T>) -> bool {
        let mut state = self.lock();
        loop {
            if !state.jobs.is_empty() {
                let n = state.jobs.len().min(max.max(1));
                out.extend(state.jobs.drain(..n));
                return true;
            }
            if state.closed {
                return false;
            }
            state = self.wait(state);
        }
    }

    /// No more jobs: consumers finish what is queued, then stop.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    /// Registers a consumer for as long as the guard lives. Create it before
    /// spawning the consumer thread and move it in, so a thread that fails to
    /// start, returns or panics unregisters.
    pub(crate) fn consumer(self: &Arc<Self>) -> Consumer<T> {
        self.lock().consumers += 1;
        Consumer {
            queue: Arc::clone(self),
        }
    }
}

/// A registered consumer of a [`JobQueue`]; see [`JobQueue::consumer`].
#[derive(Debug)]
pub(crate) struct Consumer<T> {
    queue: Arc<JobQueue<T>>,
}

impl<T> Consumer<T> {
    /// The queue consumed.
    pub(crate) fn queue(&self) -> &JobQueue<T> {
        &self.queue
    }
}

impl<T> Drop for Consumer<T> {
    fn drop(&mut self) {
        let orphaned = {
            let mut state = self.queue.lock();
            state.consumers -= 1;
            if state.consumers == 0 {
                std::mem::take(&mut state.jobs)
            } else {
                VecDeque::new()
            }
        };
        // Dropped outside the lock: dropping a job fails its reply channel,
        // which wakes its caller.
        drop(orphaned);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    #[test]
    fn jobs_reach_a_consumer_in_order() {
        let queue = JobQueue::new();
        let consumer = queue.consumer();
        let worker = thread::spawn(move || {
            let mut seen = Vec::new();
            let mut batch = Vec::new();
            while consumer.queue().pop_batch(2, &mut batch) {
                seen.append(&mut batch);
            }
            seen
        });
        for i in 0..100 {
            queue.push(i).unwrap();
        }
        queue.close();
        assert_eq!(worker.join().unwrap(), (0..100).collect::<Vec<_>>());
        assert_eq!(queue.push(7), Err(7), "closed");
    }

    #[test]
    fn a_dead_consumer_fails_queued_and_later_jobs() {
        let queue = JobQueue::new();
        let consumer = queue.consumer();
        let (reply, answer) = tokio::sync::oneshot::channel::<()>();
        queue.push(reply).unwrap();
        // The consumer thread panics without answering.
        let dead = thread::spawn(move || {
            let _consumer = consumer;
            panic!("worker died");
        });
        assert!(dead.join().is_err());
        assert!(answer.blocking_recv().is_err(), "the caller is told");
        let (reply, _answer) = tokio::sync::oneshot::channel::<()>();
        assert!(queue.push(reply).is_err(), "no consumer left");
    }

    #[test]
    fn idle_once_every_consumer_waits_with_nothing_queued() {
        let queue = JobQueue::new();
        assert!(!queue.idle(), "no consumer");
        assert!(!queue.has_consumers());
        let consumer = queue.consumer();
        assert!(queue.has_consumers());
        assert!(!queue.idle(), "the consumer does not wait yet");
        let (taken, took) = std::sync::mpsc::channel();
        let (resume, resumed) = std::sync::mpsc::channel::<()>();
        let worker = thread::spawn(move || {
            while let Some(job) = consumer.queue().pop() {
                taken.send(job).unwrap();
                resumed.recv().unwrap();
            }
        });
        let wait_until_idle = || {
            for _ in 0..1000 {
                if queue.idle() {
                    return true;
                }
                thread::sleep(std::time::Duration::from_millis(5));
            }
            false
        };
        assert!(wait_until_idle(), "waiting for a job");
        queue.push(1).unwrap();
        assert_eq!(took.recv().unwrap(), 1);
        assert!(!queue.idle(), "busy with a job");
        queue.push(2).unwrap();
        resume.send(()).unwrap();
        assert_eq!(took.recv().unwrap(), 2);
        resume.send(()).unwrap();
        assert!(wait_until_idle(), "done with both");
        queue.close();
        assert!(!queue.idle(), "closed");
        worker.join().unwrap();
        assert!(!queue.has_consumers(), "the consumer is gone");
    }

    #[test]
    fn one_consumer_of_several_takes_each_job() {
        let queue = JobQueue::new();
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let consumer = queue.consumer();
                thread::spawn(move || {
                    let mut n = 0;
                    while consumer.queue().pop().is_some() {
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        for i in 0..1000 {
            queue.push(i).unwrap();
        }
        queue.close();
        let total: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
        assert_eq!(total, 1000);
    }
}
