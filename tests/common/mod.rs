//! Helpers shared by the engine tests and the property tests.
#![allow(dead_code)] // each test crate uses its own subset

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use workspace_lifecycle::{
    Clock, FakeClock, JobStore, LifecycleEngine, RunReport, Workspace, WorkspaceId, WorkspaceState,
    Workspaces,
};

pub fn t0() -> DateTime<Utc> {
    "2026-01-05T08:00:00Z".parse().unwrap()
}

pub fn ws(n: u128) -> WorkspaceId {
    WorkspaceId(Uuid::from_u128(n))
}

/// A running workspace with an auto-stop time.
pub fn running_until(n: u128, stop: DateTime<Utc>) -> Workspace {
    Workspace {
        auto_stop_at: Some(stop),
        ..Workspace::new(ws(n), WorkspaceState::Running)
    }
}

/// A stopped workspace with an auto-start time.
pub fn stopped_until(n: u128, start: DateTime<Utc>) -> Workspace {
    Workspace {
        auto_start_at: Some(start),
        ..Workspace::new(ws(n), WorkspaceState::Stopped)
    }
}

/// The engine's run loop in the background, with the token that stops it.
pub fn spawn_run<S: JobStore, C: Clock, W: Workspaces>(
    engine: &LifecycleEngine<S, C, W>,
) -> (CancellationToken, JoinHandle<RunReport>) {
    let shutdown = CancellationToken::new();
    let run = tokio::spawn({
        let (engine, shutdown) = (engine.clone(), shutdown.clone());
        async move { engine.run(shutdown).await }
    });
    (shutdown, run)
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Lets every task that can run, run, until all are blocked again (on the fake clock
/// or on each other). Everything here runs on one current-thread runtime with an
/// in-memory store, so nothing waits on real I/O or real time: 64 yields
/// cover the longest chain of wake-ups a step can cause.
pub async fn settle() {
    for _ in 0..64 {
        tokio::task::yield_now().await;
    }
}

/// Moves the clock to `target` the way real time passes: stopping at every sleeper's
/// deadline on the way and letting the woken tasks run before going on.
pub async fn advance_to(clock: &FakeClock, target: DateTime<Utc>) {
    settle().await;
    while let Some(next) = clock.next_deadline() {
        if next > target {
            break;
        }
        clock.set(next.max(clock.now()));
        settle().await;
    }
    if clock.now() < target {
        clock.set(target);
    }
    settle().await;
}

pub async fn advance(clock: &FakeClock, by: Duration) {
    let target = clock.now() + chrono::TimeDelta::from_std(by).unwrap();
    advance_to(clock, target).await;
}

/// A store that counts its calls in flight, so a test driving a store with real I/O
/// (Postgres) can tell when the engines have gone quiet.
#[derive(Clone)]
pub struct Counted<S> {
    pub inner: S,
    /// Store calls in flight.
    pub busy: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Store calls made in all (round trips, for a store with I/O).
    pub calls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Calls and total time per method.
    pub timings: std::sync::Arc<
        parking_lot::Mutex<std::collections::BTreeMap<&'static str, (usize, Duration)>>,
    >,
}

impl<S> Counted<S> {
    pub fn new(inner: S) -> Self {
        Counted {
            inner,
            busy: Default::default(),
            calls: Default::default(),
            timings: Default::default(),
        }
    }
}

struct Busy<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> Busy<'a> {
    fn enter(counter: &'a std::sync::atomic::AtomicUsize) -> Self {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Busy(counter)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

// The whole impl comes out of the macro, so `async_trait` sees the expanded methods.
macro_rules! counted {
    ($trait:ident { $($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)* } $($extra:tt)*) => {
        #[async_trait::async_trait]
        impl<S: workspace_lifecycle::$trait> workspace_lifecycle::$trait for Counted<S> {
            $(
                async fn $name(&self, $($arg: $ty),*) -> Result<$ret, workspace_lifecycle::StoreError> {
                    let _busy = Busy::enter(&self.busy);
                    self.calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let started = std::time::Instant::now();
                    let result = self.inner.$name($($arg),*).await;
                    let mut timings = self.timings.lock();
                    let entry = timings.entry(stringify!($name)).or_default();
                    entry.0 += 1;
                    entry.1 += started.elapsed();
                    result
                }
            )*

            $($extra)*
        }
    };
}

counted! { JobStore {
    job_insert(p: workspace_lifecycle::JobInsertParams) -> Vec<workspace_lifecycle::Job>;
    job_log_insert(p: workspace_lifecycle::JobLogInsertParams) -> usize;
    job_claim(p: workspace_lifecycle::JobClaimParams) -> Vec<workspace_lifecycle::Job>;
    job_reschedule(p: workspace_lifecycle::JobRescheduleParams)
        -> Vec<(workspace_lifecycle::JobId, workspace_lifecycle::Rescheduled)>;
    job_cancel(p: workspace_lifecycle::JobCancelParams) -> Vec<workspace_lifecycle::JobId>;
    job_complete(p: workspace_lifecycle::JobCompleteParams) -> workspace_lifecycle::Job;
    job_complete_batch(p: Vec<workspace_lifecycle::JobCompleteParams>)
        -> Vec<Result<workspace_lifecycle::Job, workspace_lifecycle::StoreError>>;
    job_retry(p: workspace_lifecycle::JobRetryParams) -> workspace_lifecycle::Job;
    job_renew_lease(p: workspace_lifecycle::JobRenewLeaseParams) -> DateTime<Utc>;
    job_rescue(now: DateTime<Utc>) -> Vec<workspace_lifecycle::Job>;
    job_list_open(r: workspace_lifecycle::WorkspaceRange) -> Vec<workspace_lifecycle::Job>;
    job_next_due(after: DateTime<Utc>) -> Option<DateTime<Utc>>;
    job_prune(p: workspace_lifecycle::JobPruneParams) -> usize;
}
    fn job_changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        self.inner.job_changes()
    }
}

counted! { JobStoreAdmin {
    job_get(id: workspace_lifecycle::JobId) -> Option<workspace_lifecycle::Job>;
    job_list(p: workspace_lifecycle::JobListParams) -> Vec<workspace_lifecycle::Job>;
    job_log_list(id: workspace_lifecycle::JobId) -> Vec<workspace_lifecycle::JobLog>;
    job_stats(p: workspace_lifecycle::JobStatsParams) -> workspace_lifecycle::JobStats;
} }

/// Like [`settle`], for stores with real I/O: also waits until no store call has been
/// in flight for a few consecutive rounds (a NOTIFY may wake an engine a moment after
/// a commit).
pub async fn settle_io(busy: &std::sync::atomic::AtomicUsize) {
    let mut quiet = 0;
    while quiet < 2 {
        settle().await;
        if busy.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            quiet += 1;
        } else {
            quiet = 0;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}
