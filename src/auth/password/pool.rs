//! A bounded pool of OS threads for password hashing, so that a login storm
//! neither blocks the async runtime nor queues without limit.
//!
//! Jobs go through a bounded channel with `try_send`: when every worker is
//! busy and the queue is full the caller gets [`PoolError::Busy`] at once
//! (the login answers 503 with `Retry-After`). Results come back over a tokio
//! oneshot. A job whose caller has gone away is skipped.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::{Password, PasswordError, Verified, dummy_verify, hash_password, verify_password};

/// What a worker spent its time on, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashOp {
    /// Verification against a user's stored hash.
    Verify,
    /// Verification against the dummy hash (unknown user).
    DummyVerify,
    /// Hashing a new password.
    Hash,
}

/// Called on the worker thread after each job with how long it took.
pub type HashObserver = Arc<dyn Fn(HashOp, Duration) + Send + Sync>;

/// Errors of the hashing pool.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// Every worker is busy and the queue is full; try again later.
    #[error("password hashing is busy, try again later")]
    Busy,
    /// The pool has shut down, or the worker running the job died.
    #[error("password hashing pool is shut down")]
    Closed,
    /// A worker thread could not be started.
    #[error("cannot start password hashing worker: {0}")]
    Spawn(#[source] std::io::Error),
    /// The job itself failed (e.g. a malformed stored hash).
    #[error(transparent)]
    Password(#[from] PasswordError),
}

/// One unit of work for a worker.
enum Job {
    Verify {
        password: Password,
        phc: Option<String>,
        reply: oneshot::Sender<Result<Verified, PasswordError>>,
    },
    Hash {
        password: Password,
        reply: oneshot::Sender<Result<String, PasswordError>>,
    },
    /// Keeps a worker busy until released (tests only).
    #[cfg(test)]
    Hold {
        started: std::sync::mpsc::Sender<()>,
        release: std::sync::mpsc::Receiver<()>,
    },
}

/// A fixed set of `portcullis-hash-N` threads fed by a bounded queue.
///
/// Dropping the pool stops the threads: queued jobs are abandoned (their
/// callers get [`PoolError::Closed`]) and the drop waits for jobs already
/// running, at most one hash per worker.
pub struct HashPool {
    sender: Option<SyncSender<Job>>,
    workers: Vec<JoinHandle<()>>,
    stopping: Arc<AtomicBool>,
}

impl HashPool {
    /// Starts `workers` threads (at least one) behind a queue of `queue`
    /// waiting jobs.
    pub fn new(workers: usize, queue: usize) -> Result<Self, PoolError> {
        Self::start(workers, queue, None)
    }

    /// Like [`HashPool::new`], reporting each job's duration to `observer`.
    pub fn with_observer(
        workers: usize,
        queue: usize,
        observer: HashObserver,
    ) -> Result<Self, PoolError> {
        Self::start(workers, queue, Some(observer))
    }

    /// Spawns the workers; the first one also prepares the dummy hash.
    fn start(
        workers: usize,
        queue: usize,
        observer: Option<HashObserver>,
    ) -> Result<Self, PoolError> {
        let (sender, receiver) = sync_channel(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        let mut pool = Self {
            sender: Some(sender),
            workers: Vec::with_capacity(workers.max(1)),
            stopping: Arc::new(AtomicBool::new(false)),
        };
        for n in 0..workers.max(1) {
            let worker = Worker {
                receiver: Arc::clone(&receiver),
                stopping: Arc::clone(&pool.stopping),
                observer: observer.clone(),
            };
            let handle = std::thread::Builder::new()
                .name(format!("portcullis-hash-{n}"))
                .spawn(move || worker.run(n == 0))
                .map_err(PoolError::Spawn)?;
            pool.workers.push(handle);
        }
        Ok(pool)
    }

    /// Verifies `password` against the stored hash `phc`, or, when the user
    /// is unknown (`None`), spends the same time on the dummy hash and
    /// answers `ok: false`.
    pub async fn verify(
        &self,
        password: Password,
        phc: Option<String>,
    ) -> Result<Verified, PoolError> {
        let (reply, result) = oneshot::channel();
        self.submit(Job::Verify {
            password,
            phc,
            reply,
        })?;
        Ok(result.await.map_err(|_| PoolError::Closed)??)
    }

    /// Hashes `password` with our scheme (see [`hash_password`]).
    pub async fn hash(&self, password: Password) -> Result<String, PoolError> {
        let (reply, result) = oneshot::channel();
        self.submit(Job::Hash { password, reply })?;
        Ok(result.await.map_err(|_| PoolError::Closed)??)
    }

    /// Queues a job without waiting: [`PoolError::Busy`] when full.
    fn submit(&self, job: Job) -> Result<(), PoolError> {
        let sender = self.sender.as_ref().ok_or(PoolError::Closed)?;
        sender.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => PoolError::Busy,
            TrySendError::Disconnected(_) => PoolError::Closed,
        })
    }
}

impl fmt::Debug for HashPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashPool")
            .field("workers", &self.workers.len())
            .finish_non_exhaustive()
    }
}

impl Drop for HashPool {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::Release);
        self.sender = None;
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

/// The state one worker thread owns.
struct Worker {
    receiver: Arc<Mutex<Receiver<Job>>>,
    stopping: Arc<AtomicBool>,
    observer: Option<HashObserver>,
}

/// Lowers this thread to the idle scheduling class (`SCHED_IDLE` on
/// Linux): hashing then runs only on CPU time the proxied traffic leaves, so
/// a login flood slows logins (and fills the queue: 503) instead of raising
/// the latency of every proxied request. Lowering one's own priority needs no
/// privilege; where it is refused, hashing runs at normal priority.
fn yield_to_traffic() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::unix::{
            NormalThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy,
            thread_native_id,
        };
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        if let Err(e) = set_thread_priority_and_policy(
            thread_native_id(),
            thread_priority::ThreadPriority::Min,
            idle,
        ) {
            tracing::warn!(error = ?e, "password hashing keeps normal priority");
        }
    }
}

impl Worker {
    /// Takes jobs until the pool stops. A panicking job costs its caller a
    /// [`PoolError::Closed`], not the worker.
    fn run(self, prepare: bool) {
        yield_to_traffic();
        if prepare {
            super::prepare_dummy();
        }
        loop {
            let job = {
                let receiver = self.receiver.lock().unwrap_or_else(PoisonError::into_inner);
                receiver.recv()
            };
            let Ok(job) = job else { return };
            if self.stopping.load(Ordering::Acquire) {
                return;
            }
            let _ = catch_unwind(AssertUnwindSafe(|| self.execute(job)));
        }
    }

    /// Runs one job.
    fn execute(&self, job: Job) {
        match job {
            Job::Verify {
                password,
                phc,
                reply,
            } => self.verify(&password, phc.as_deref(), reply),
            Job::Hash { password, reply } => {
                if reply.is_closed() {
                    return;
                }
                let start = Instant::now();
                let result = hash_password(password.expose());
                self.observe(HashOp::Hash, start);
                let _ = reply.send(result);
            }
            #[cfg(test)]
            Job::Hold { started, release } => {
                let _ = started.send(());
                let _ = release.recv();
            }
        }
    }

    /// Verifies against `phc`, or the dummy hash when there is none.
    fn verify(
        &self,
        password: &Password,
        phc: Option<&str>,
        reply: oneshot::Sender<Result<Verified, PasswordError>>,
    ) {
        if reply.is_closed() {
            return;
        }
        let start = Instant::now();
        let (op, result) = match phc {
            Some(phc) => (HashOp::Verify, verify_password(password.expose(), phc)),
            None => {
                dummy_verify(password.expose());
                let rejected = Verified {
                    ok: false,
                    needs_rehash: false,
                };
                (HashOp::DummyVerify, Ok(rejected))
            }
        };
        self.observe(op, start);
        let _ = reply.send(result);
    }

    /// Reports the time since `start` to the observer, if any.
    fn observe(&self, op: HashOp, start: Instant) {
        if let Some(observer) = &self.observer {
            observer(op, start.elapsed());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    const GOOD: &str = "correct horse battery staple";

    impl HashPool {
        /// Queues a job that holds a worker; returns (started, release).
        fn hold(&self) -> Result<(mpsc::Receiver<()>, mpsc::Sender<()>), PoolError> {
            let (started_tx, started) = mpsc::channel();
            let (release, release_rx) = mpsc::channel();
            self.submit(Job::Hold {
                started: started_tx,
                release: release_rx,
            })?;
            Ok((started, release))
        }
    }

    /// Checks hash then verify through the pool, the dummy path, and that the
    /// observer sees each operation on a `portcullis-hash-N` thread.
    #[tokio::test]
    async fn hash_verify_and_dummy_through_pool() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        let observer: HashObserver = Arc::new(move |op, took| {
            let name = std::thread::current().name().map(str::to_owned);
            record.lock().unwrap().push((op, took, name));
        });
        let pool = HashPool::with_observer(2, 4, observer).unwrap();
        let phc = pool.hash(Password::new(GOOD)).await.unwrap();
        let ok = pool.verify(Password::new(GOOD), Some(phc)).await.unwrap();
        assert!(ok.ok && !ok.needs_rehash);
        let dummy = pool.verify(Password::new(GOOD), None).await.unwrap();
        assert!(!dummy.ok);
        let seen = seen.lock().unwrap();
        let ops: Vec<HashOp> = seen.iter().map(|(op, _, _)| *op).collect();
        assert_eq!(ops, [HashOp::Hash, HashOp::Verify, HashOp::DummyVerify]);
        for (_, took, name) in seen.iter() {
            assert!(*took > Duration::ZERO);
            assert!(name.as_deref().unwrap().starts_with("portcullis-hash-"));
        }
    }

    /// Checks that a malformed stored hash comes back as an error, not a panic.
    #[tokio::test]
    async fn malformed_hash_is_an_error() {
        let pool = HashPool::new(1, 1).unwrap();
        let result = pool.verify(Password::new(GOOD), Some("$nope".into())).await;
        assert!(matches!(result, Err(PoolError::Password(_))));
    }

    /// Checks that with 1 worker held and the 1-slot queue full, the next job
    /// is refused with `Busy` at once, and the pool recovers when released.
    #[tokio::test]
    async fn busy_when_queue_full() {
        let pool = HashPool::new(1, 1).unwrap();
        let (started, release_running) = pool.hold().unwrap();
        started.recv().unwrap();
        let (queued_started, release_queued) = pool.hold().unwrap();
        let refused = pool.verify(Password::new(GOOD), None).await;
        assert!(matches!(refused, Err(PoolError::Busy)));
        assert!(matches!(
            pool.hash(Password::new(GOOD)).await,
            Err(PoolError::Busy)
        ));
        release_running.send(()).unwrap();
        release_queued.send(()).unwrap();
        queued_started.recv().unwrap();
        let verified = pool.verify(Password::new(GOOD), None).await.unwrap();
        assert!(!verified.ok);
    }

    /// Checks that dropping the pool joins its threads and abandons queued
    /// jobs, whose callers see `Closed`.
    #[tokio::test]
    async fn drop_stops_workers_and_closes_queued_jobs() {
        let pool = HashPool::new(1, 2).unwrap();
        let (started, release) = pool.hold().unwrap();
        started.recv().unwrap();
        let (reply, queued) = oneshot::channel();
        pool.submit(Job::Hash {
            password: Password::new(GOOD),
            reply,
        })
        .unwrap();
        // What `drop` does first, done here so the release cannot race it.
        pool.stopping.store(true, Ordering::Release);
        release.send(()).unwrap();
        drop(pool);
        assert!(queued.await.is_err(), "queued job must be abandoned");
    }

    /// A hashing thread asks for the idle scheduling class, so proxied
    /// traffic wins the CPU during a login flood.
    #[cfg(target_os = "linux")]
    #[test]
    fn hashing_threads_yield_to_traffic() {
        use thread_priority::unix::{NormalThreadSchedulePolicy, ThreadSchedulePolicy};
        let policy = std::thread::spawn(|| {
            yield_to_traffic();
            thread_priority::unix::thread_schedule_policy().unwrap()
        })
        .join()
        .unwrap();
        assert_eq!(
            policy,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle)
        );
    }
}
