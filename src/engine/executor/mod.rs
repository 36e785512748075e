//! The executor: claims due jobs and performs them.
//!
//! For each claimed job:
//!
//! 1. The claim (`started_at`, `attempt`, lease) is the store's `job_claim`.
//! 2. Re-read the workspace; [`verdict`] decides from its data at that moment.
//! 3. Already in the desired state: complete with a log line, no call.
//! 4. Mid-transition: release the job to retry after `Config::transition_retry`.
//! 5. Otherwise call start/stop. Success completes the job. An error is retried with
//!    backoff until `RetryPolicy::max_attempts`, then the job completes with `error`.
//! 6. Every step writes a job log line.
//!
//! While a job is held its lease is renewed every third of `Config::lease`; if a
//! renewal finds the lease lost, the executor drops the job at once. Every write names
//! the attempt, so a late write from a stale executor changes nothing.
//!
//! Its parts: `rule` (the pure [`verdict`]), `pass` (rescue, claim, spawn: the one
//! pass [`LifecycleEngine::execute_due`] and the run loop share), `hold` (steps 2 to 5
//! under a renewed lease), `outcome` (step 6, the final write) and `run` (the run
//! loop's waiting between passes).

mod hold;
mod outcome;
mod pass;
mod rule;
mod run;

use super::LifecycleEngine;
use crate::clock::Clock;
use crate::error::Error;
use crate::store::JobStore;
use crate::workspace::Workspaces;
use pass::InFlight;

pub use rule::{verdict, Verdict};

/// What an executor pass did.
///
/// ```
/// use std::time::Duration;
/// use workspace_lifecycle::testkit::FakeWorkspaces;
/// use workspace_lifecycle::{
///     Config, FakeClock, InMemoryStore, LifecycleEngine, Workspace, WorkspaceId,
///     WorkspaceState,
/// };
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
/// let fleet = FakeWorkspaces::new(clock.clone());
/// let id = WorkspaceId(uuid::Uuid::from_u128(1));
/// fleet.insert(Workspace {
///     auto_stop_at: Some("2026-01-05T09:00:00Z".parse().unwrap()),
///     ..Workspace::new(id, WorkspaceState::Running)
/// });
/// let engine = LifecycleEngine::new(InMemoryStore::new(), clock.clone(), fleet.clone(),
///     Config::default()).unwrap();
/// engine.reconcile_all().await.unwrap();
/// clock.advance(Duration::from_secs(3600));
///
/// fleet.fail_next(id, 1);
/// let report = engine.execute_due().await.unwrap();
/// // The failed stop is released for a retry with backoff, not given up on.
/// assert_eq!((report.claimed, report.retried, report.stopped), (1, 1, 0));
/// # });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExecuteReport {
    /// Jobs whose expired lease was taken back.
    pub rescued: usize,
    /// Jobs claimed.
    pub claimed: usize,
    /// Successful start calls.
    pub started: usize,
    /// Successful stop calls.
    pub stopped: usize,
    /// Jobs completed without a call, the workspace being there already.
    pub already_done: usize,
    /// Jobs completed without a call, found past `Config::catch_up_window`.
    pub missed: usize,
    /// Jobs cancelled because the workspace's data no longer called for them.
    pub cancelled: usize,
    /// Jobs released because the workspace was mid-transition.
    pub deferred: usize,
    /// Failed attempts released for a retry.
    pub retried: usize,
    /// Jobs completed with an error after their last attempt.
    pub failed: usize,
    /// Jobs dropped because their lease was lost to another executor.
    pub lease_lost: usize,
    /// Jobs left to lease expiry by a store error (they are rescued later).
    pub errors: usize,
}

impl ExecuteReport {
    /// Adds another report's counts to this one.
    ///
    /// ```
    /// use workspace_lifecycle::ExecuteReport;
    ///
    /// let mut pass = ExecuteReport::default();
    /// pass.stopped = 2;
    /// let mut total = ExecuteReport::default();
    /// total.add(&pass);
    /// total.add(&pass);
    /// assert_eq!(total.stopped, 4);
    /// ```
    pub fn add(&mut self, other: &ExecuteReport) {
        self.rescued += other.rescued;
        self.claimed += other.claimed;
        self.started += other.started;
        self.stopped += other.stopped;
        self.already_done += other.already_done;
        self.missed += other.missed;
        self.cancelled += other.cancelled;
        self.deferred += other.deferred;
        self.retried += other.retried;
        self.failed += other.failed;
        self.lease_lost += other.lease_lost;
        self.errors += other.errors;
    }
}

impl<S: JobStore, C: Clock, W: Workspaces> LifecycleEngine<S, C, W> {
    /// One executor pass: takes back expired leases, claims every job due at the
    /// clock's now (as many at once as `Config::max_concurrent_actions` allows),
    /// performs them, and returns when all are done. Jobs that become claimable while
    /// the pass runs (a same-workspace job freed, the clock moved) are claimed too.
    /// [`run`](Self::run)'s executor makes the same pass, waiting between passes
    /// instead of returning.
    ///
    /// ```
    /// use std::time::Duration;
    /// use workspace_lifecycle::testkit::{Behavior, FakeWorkspaces};
    /// use workspace_lifecycle::{
    ///     Config, ExecuteReport, FakeClock, InMemoryStore, LifecycleEngine, Workspace,
    ///     WorkspaceId, WorkspaceState,
    /// };
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let clock = FakeClock::new("2026-01-05T08:00:00Z".parse().unwrap());
    /// let fleet = FakeWorkspaces::new(clock.clone());
    /// let id = WorkspaceId(uuid::Uuid::from_u128(1));
    /// fleet.insert(Workspace {
    ///     auto_start_at: Some("2026-01-05T09:00:00Z".parse().unwrap()),
    ///     ..Workspace::new(id, WorkspaceState::Stopped)
    /// });
    /// let engine = LifecycleEngine::new(InMemoryStore::new(), clock.clone(), fleet.clone(),
    ///     Config::default()).unwrap();
    /// engine.reconcile_all().await.unwrap();
    /// clock.advance(Duration::from_secs(3600));
    ///
    /// let report = engine.execute_due().await.unwrap();
    /// assert_eq!((report.claimed, report.started), (1, 1));
    /// assert_eq!(fleet.get_snapshot(id).unwrap().state, WorkspaceState::Running);
    /// // Once per occurrence: the next pass finds nothing to do.
    /// assert_eq!(engine.execute_due().await.unwrap(), ExecuteReport::default());
    ///
    /// // A stop that takes 30 s on the fake clock holds the pass until the clock moves:
    /// // the pass runs in its own task, and the clock moves from here.
    /// fleet.set_behavior(id, Behavior::Take(Duration::from_secs(30)));
    /// fleet.update(id, |ws| ws.auto_stop_at = Some("2026-01-05T10:00:00Z".parse().unwrap()));
    /// engine.reconcile_all().await.unwrap();
    /// clock.advance(Duration::from_secs(3600));
    /// let pass = tokio::spawn({
    ///     let engine = engine.clone();
    ///     async move { engine.execute_due().await }
    /// });
    /// clock.wait_for_sleepers(1).await; // the stop is under way
    /// clock.advance(Duration::from_secs(30));
    /// assert_eq!(pass.await.unwrap().unwrap().stopped, 1);
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// A store error in the rescue or a claim ends the pass after the jobs already
    /// claimed are done. Errors while performing a job never fail the pass: they are
    /// counted in the report and the job is retried or rescued.
    ///
    /// # In-flight actions
    ///
    /// It returns only once every job it claimed is finished, its final write made: an
    /// action in progress is part of the pass. So an adapter whose start or stop waits
    /// on the engine's clock holds the pass until that clock moves; with a `FakeClock`
    /// only the test moves it, so run the pass in its own task and advance the clock
    /// from the test, as the example's second half does (the action's timeout is on
    /// the same clock, and cannot end the wait either). Jobs that a concurrent
    /// [`run`](Self::run) of the same engine holds are not this pass's: it neither
    /// waits for nor counts them, and it shares the engine's permits with them.
    pub async fn execute_due(&self) -> Result<ExecuteReport, Error> {
        let mut flight = InFlight::new();
        let result = self.execute_until_idle(&mut flight).await;
        flight.finish_all().await;
        result.map(|()| flight.report)
    }

    /// Passes until no job of `flight` is left in flight: after the first (with a
    /// rescue), one more each time a job finishes or frees its permit while more may be
    /// due.
    async fn execute_until_idle(&self, flight: &mut InFlight) -> Result<(), Error> {
        let mut rescue = true;
        loop {
            self.pass(flight, std::mem::take(&mut rescue)).await?;
            tokio::select! {
                biased;
                done = flight.tasks.join_next() => match done {
                    Some(done) => flight.reap(done),
                    None => return Ok(()),
                },
                // A job's action ended and its permit came free before its final write.
                () = self.inner.freed.notified() => {}
            }
        }
    }
}
