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

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::events::EventKind;
use super::LifecycleEngine;
use crate::clock::{add, Clock};
use crate::config::Config;
use crate::error::{Error, StoreError, WorkspaceError};
use crate::job::{Job, LogLine, Operation};
use crate::store::{
    JobCancel, JobCancelParams, JobClaimParams, JobCompleteParams, JobLogInsertParams,
    JobRenewLeaseParams, JobRetryParams, JobStore, NewJobLog,
};
use crate::telemetry::record;
use crate::workspace::{Readiness, Workspace, Workspaces};

/// What a claimed job should do, judged from the workspace's data at that moment.
///
/// ```
/// use std::time::Duration;
/// use workspace_lifecycle::executor::{verdict, Verdict};
/// # use workspace_lifecycle::*;
/// # let job = |deadline| Job { id: JobId(uuid::Uuid::nil()), created_at: deadline,
/// #     updated_at: deadline, started_at: Some(deadline), cancelled_at: None,
/// #     completed_at: None, error: None, workspace_id: WorkspaceId(uuid::Uuid::nil()),
/// #     operation: Operation::Stop, deadline, run_at: deadline, attempt: 1,
/// #     failed_attempts: 0, lease_expires_at: None, claimed_by: None };
/// let at: chrono::DateTime<chrono::Utc> = "2026-01-05T18:00:00Z".parse().unwrap();
/// let mut ws = Workspace {
///     auto_stop_at: Some(at),
///     ..Workspace::new(WorkspaceId(uuid::Uuid::nil()), WorkspaceState::Stopping)
/// };
/// let config = Config { catch_up_window: Some(Duration::from_secs(3600)), ..Config::default() };
/// // Mid-transition: try again shortly, not at a time of the data's choosing.
/// let deferred = verdict(&job(at), Some(&ws), at, &config);
/// assert!(matches!(deferred, Verdict::Defer { until: None, .. }));
/// // Found two hours late, past the one-hour catch-up window: skipped, not acted on.
/// ws.state = WorkspaceState::Running;
/// let late = at + chrono::TimeDelta::hours(2);
/// assert!(matches!(verdict(&job(at), Some(&ws), late, &config), Verdict::Missed(_)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Call start (stop).
    Act,
    /// The workspace is already where the job would take it: complete, no call.
    AlreadyDone(String),
    /// Not now: release the job, to be claimed again at `until` at the earliest.
    Defer {
        /// Why, for the job's log.
        reason: String,
        /// The earliest time to try again, when the data names one.
        until: Option<DateTime<Utc>>,
    },
    /// Found more than `Config::catch_up_window` past its deadline: complete it
    /// without a call, logging by how much it was missed.
    Missed(String),
    /// The data no longer calls for the job: cancel it.
    Cancel {
        /// Why, for the job's log.
        reason: String,
        /// The workspace's time moved: reconcile it now so its new job is created
        /// without waiting for the next pass.
        rescheduled: bool,
    },
}

/// Executor step 2: what `job` should do, given the workspace as it is now (`None` if it
/// no longer exists). The job acts only if the workspace's own data still calls for
/// exactly this occurrence: its time for the operation is still the job's deadline, is
/// due at `now` (less `config.start_lead` for a start), is not further past than
/// `config.catch_up_window`, and its state is one the operation applies to.
///
/// ```
/// use workspace_lifecycle::executor::{verdict, Verdict};
/// # use workspace_lifecycle::*;
/// # let job = |deadline| Job { id: JobId(uuid::Uuid::nil()), created_at: deadline,
/// #     updated_at: deadline, started_at: Some(deadline), cancelled_at: None,
/// #     completed_at: None, error: None, workspace_id: WorkspaceId(uuid::Uuid::nil()),
/// #     operation: Operation::Stop, deadline, run_at: deadline, attempt: 1,
/// #     failed_attempts: 0, lease_expires_at: None, claimed_by: None };
/// let at = "2026-01-05T18:00:00Z".parse().unwrap();
/// let mut ws = Workspace {
///     auto_stop_at: Some(at),
///     ..Workspace::new(WorkspaceId(uuid::Uuid::nil()), WorkspaceState::Running)
/// };
/// let config = Config::default();
/// assert_eq!(verdict(&job(at), Some(&ws), at, &config), Verdict::Act);
/// ws.state = WorkspaceState::Stopped;
/// assert!(matches!(verdict(&job(at), Some(&ws), at, &config), Verdict::AlreadyDone(_)));
/// ws.auto_stop_at = None;
/// assert!(matches!(verdict(&job(at), Some(&ws), at, &config), Verdict::Cancel { .. }));
/// ```
pub fn verdict(
    job: &Job,
    workspace: Option<&Workspace>,
    now: DateTime<Utc>,
    config: &Config,
) -> Verdict {
    let op = job.operation;
    let Some(ws) = workspace else {
        return Verdict::Cancel {
            reason: "cancelled: the workspace no longer exists".into(),
            rescheduled: false,
        };
    };
    let Some(at) = ws.scheduled_at(op) else {
        return Verdict::Cancel {
            reason: format!("cancelled: the workspace no longer has an auto-{op} time"),
            rescheduled: false,
        };
    };
    if at != job.deadline {
        return Verdict::Cancel {
            reason: format!(
                "cancelled: the workspace's auto-{op} time moved from {} to {}; a new job follows",
                job.deadline.to_rfc3339(),
                at.to_rfc3339()
            ),
            rescheduled: true,
        };
    }
    let claimable = crate::clock::sub(at, config.lead(op));
    if claimable > now {
        // Only reachable if the clock went back after the claim; never act early.
        return Verdict::Defer {
            reason: format!("deferred: not due until {}", claimable.to_rfc3339()),
            until: Some(claimable),
        };
    }
    match ws.readiness(op) {
        Readiness::Act => match config.catch_up_window {
            Some(window) if now - at > TimeDelta::from_std(window).unwrap_or(TimeDelta::MAX) => {
                Verdict::Missed(format!(
                    "skipped: the {op} due at {} was missed by {}s, beyond the catch-up window of {}s",
                    at.to_rfc3339(),
                    (now - at).num_seconds(),
                    window.as_secs()
                ))
            }
            _ => Verdict::Act,
        },
        Readiness::AlreadyDone => Verdict::AlreadyDone(format!(
            "completed without a call: the workspace is already {}",
            ws.state
        )),
        Readiness::InTransition => Verdict::Defer {
            reason: format!(
                "deferred: the workspace is {}; trying again shortly",
                ws.state
            ),
            until: None,
        },
        Readiness::NotApplicable => Verdict::Cancel {
            reason: format!(
                "cancelled: the workspace is {}; auto-{op} does not act on it",
                ws.state
            ),
            rescheduled: false,
        },
    }
}

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

/// Runs an adapter call under `Config::action_timeout` (on the engine's clock), turning
/// a panic into [`WorkspaceError::Panicked`].
pub(super) async fn call_adapter<'a, S, C, W, T>(
    engine: &LifecycleEngine<S, C, W>,
    make_call: impl FnOnce() -> Pin<Box<dyn Future<Output = Result<T, WorkspaceError>> + Send + 'a>>,
    operation: &'static str,
) -> Result<T, WorkspaceError>
where
    S: JobStore,
    C: Clock,
    W: Workspaces,
{
    // An adapter may panic while building its future as well as while running it.
    let call = match std::panic::catch_unwind(AssertUnwindSafe(make_call)) {
        Ok(call) => call,
        Err(payload) => return Err(WorkspaceError::Panicked(panic_message(payload.as_ref()))),
    };
    let clock = &engine.inner.clock;
    let timeout = engine.inner.config.action_timeout;
    let deadline = add(clock.now(), timeout);
    tokio::select! {
        biased;
        result = CatchUnwind(call) => result.unwrap_or_else(|message| Err(WorkspaceError::Panicked(message))),
        _ = clock.sleep_until(deadline) => Err(WorkspaceError::TimedOut {
            operation,
            after: timeout,
        }),
    }
}

/// Polls a boxed future, catching a panic as its message.
struct CatchUnwind<F>(F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(&mut self.0).poll(cx))) {
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(panic_message(payload.as_ref()))),
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

/// What a held job's final write should be, decided before it is made.
enum Decision {
    /// Complete the job (done, already done, or failed for good).
    Complete {
        error: Option<String>,
        line: LogLine,
        tally: Tally,
    },
    /// Back to pending until `run_at` (a failed attempt, or a release).
    Retry {
        run_at: DateTime<Utc>,
        error: Option<String>,
        line: LogLine,
        tally: Tally,
    },
    /// Cancel; reconcile the workspace after if its time moved.
    Cancel { reason: String, reconcile: bool },
    /// The claim is gone: write nothing.
    LeaseLost,
}

/// How a held job ended, once its final write is made: counted in the report, in
/// metrics (`telemetry::JOB_OUTCOMES`' `outcome` label) and told to subscribers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tally {
    Acted,
    AlreadyDone,
    Missed,
    Deferred,
    Retried,
    Failed,
    Cancelled,
}

impl Tally {
    fn label(self) -> &'static str {
        match self {
            Tally::Acted => "acted",
            Tally::AlreadyDone => "already_done",
            Tally::Missed => "missed",
            Tally::Deferred => "deferred",
            Tally::Retried => "retried",
            Tally::Failed => "failed",
            Tally::Cancelled => "cancelled",
        }
    }

    fn report(self, operation: Operation) -> ExecuteReport {
        let mut r = ExecuteReport::default();
        match (self, operation) {
            (Tally::Acted, Operation::Start) => r.started = 1,
            (Tally::Acted, Operation::Stop) => r.stopped = 1,
            (Tally::AlreadyDone, _) => r.already_done = 1,
            (Tally::Missed, _) => r.missed = 1,
            (Tally::Deferred, _) => r.deferred = 1,
            (Tally::Retried, _) => r.retried = 1,
            (Tally::Failed, _) => r.failed = 1,
            (Tally::Cancelled, _) => r.cancelled = 1,
        }
        r
    }
}

/// A claimed job's hold on one of the engine's permits, counted in
/// `telemetry::JOBS_IN_FLIGHT` from the claim until it is released (also when the
/// task is aborted at the end of the shutdown grace).
struct Held {
    _permit: OwnedSemaphorePermit,
}

impl Held {
    fn new(permit: OwnedSemaphorePermit) -> Self {
        record::in_flight(1);
        Held { _permit: permit }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        record::in_flight(-1);
    }
}

/// How one held job ended, from the executor's side.
enum Outcome {
    Done(ExecuteReport),
    LeaseLost,
}

impl<S: JobStore, C: Clock, W: Workspaces> LifecycleEngine<S, C, W> {
    /// One executor pass: takes back expired leases, claims every job due at the
    /// clock's now (as many at once as `Config::max_concurrent_actions` allows),
    /// performs them, and returns when all are done. Jobs that become claimable while
    /// the pass runs (a same-workspace job freed, the clock moved) are claimed too.
    ///
    /// # Errors
    ///
    /// A store error in the rescue or a claim ends the pass after the jobs already
    /// claimed are done. Errors while performing a job never fail the pass: they are
    /// counted in the report and the job is retried or rescued.
    ///
    /// ```
    /// use std::time::Duration;
    /// use workspace_lifecycle::testkit::FakeWorkspaces;
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
    /// # });
    /// ```
    pub async fn execute_due(&self) -> Result<ExecuteReport, Error> {
        let mut report = ExecuteReport::default();
        let mut tasks = JoinSet::new();
        let result = self.execute_loop(&mut tasks, &mut report).await;
        while let Some(done) = tasks.join_next().await {
            merge(&mut report, done);
        }
        result.map(|()| report)
    }

    async fn execute_loop(
        &self,
        tasks: &mut JoinSet<ExecuteReport>,
        report: &mut ExecuteReport,
    ) -> Result<(), Error> {
        self.rescue(report).await?;
        // Whether more jobs may be due than the last claim took.
        let mut more = true;
        loop {
            if more {
                match self.claim_and_spawn(tasks, report).await? {
                    Some(true) => continue,
                    Some(false) => more = false,
                    None => {}
                }
            }
            tokio::select! {
                biased;
                done = tasks.join_next() => match done {
                    Some(done) => {
                        merge(report, done);
                        // Finished jobs may have freed jobs of their workspaces.
                        while let Some(done) = tasks.try_join_next() {
                            merge(report, done);
                        }
                        more = true;
                    }
                    None => return Ok(()),
                },
                // A job's action ended and its permit came free before its final write.
                () = self.inner.freed.notified() => {}
            }
        }
    }

    /// Takes back jobs whose lease expired, logging on each who lost it.
    async fn rescue(&self, report: &mut ExecuteReport) -> Result<(), StoreError> {
        let store = &self.inner.store;
        let now = self.inner.clock.now();
        let rescued = store.job_rescue(now).await?;
        if rescued.is_empty() {
            return Ok(());
        }
        report.rescued += rescued.len();
        record::rescued(rescued.len());
        for job in &rescued {
            tracing::info!(job_id = %job.id, attempt = job.attempt, "lease expired; job rescued");
        }
        if !self.inner.config.job_logs {
            return Ok(());
        }
        let logs = rescued
            .iter()
            .map(|job| {
                NewJobLog {
                    job_id: job.id,
                    attempt: None,
                    line: LogLine::warn(format!(
                        "rescued: attempt {} by executor {} let its lease expire at {}; the job is due again",
                        job.attempt,
                        job.claimed_by.map(|e| e.to_string()).unwrap_or_default(),
                        job.lease_expires_at.map(|t| t.to_rfc3339()).unwrap_or_default()
                    )),
                }
            })
            .collect();
        store
            .job_log_insert(JobLogInsertParams { logs, now })
            .await?;
        Ok(())
    }

    /// Claims as many due jobs as there are free permits and spawns them. Returns
    /// `None` when no permit was free (nothing was asked), `Some(true)` when the claim
    /// filled every free permit (more may be due), `Some(false)` when it took fewer:
    /// everything due then was taken.
    async fn claim_and_spawn(
        &self,
        tasks: &mut JoinSet<ExecuteReport>,
        report: &mut ExecuteReport,
    ) -> Result<Option<bool>, StoreError> {
        let free = self.inner.permits.available_permits();
        if free == 0 {
            return Ok(None);
        }
        let Ok(mut permits) = self
            .inner
            .permits
            .clone()
            .try_acquire_many_owned(free as u32)
        else {
            // Another pass of this engine took the permits meanwhile.
            return Ok(None);
        };
        let claimed = self
            .inner
            .store
            .job_claim(JobClaimParams {
                now: self.inner.clock.now(),
                limit: free,
                lease: self.inner.config.lease,
                executor: self.inner.executor_id,
            })
            .await?;
        report.claimed += claimed.len();
        let count = claimed.len();

        for job in claimed {
            // `permits` holds `free` permits and the store returns at most `free` jobs.
            let Some(permit) = permits.split(1) else {
                break;
            };
            let permit = Held::new(permit);
            if let Some(claimed_at) = job.started_at {
                record::lateness(
                    job.operation,
                    (claimed_at - job.run_at).to_std().unwrap_or_default(),
                );
            }
            let engine = self.clone();
            tasks.spawn(async move { engine.hold(job, permit).await });
        }
        Ok(Some(count == free))
    }

    /// Performs one claimed job: decides what to do (reading the workspace, calling
    /// the adapter) while renewing the lease, then writes the outcome.
    ///
    /// The renewal stops before the final write, so a renewal can never race the
    /// job's own completion and mistake it for a lost lease.
    async fn hold(&self, job: Job, permit: Held) -> ExecuteReport {
        let span = tracing::debug_span!("job", job_id = %job.id, workspace_id = %job.workspace_id,
            operation = %job.operation, attempt = job.attempt);
        let held = async {
            tracing::debug!("job claimed");
            let decided = tokio::select! {
                biased;
                decided = self.decide(&job) => decided,
                () = self.renew_until_lost(&job) => Decision::LeaseLost,
            };
            // The action is over: its permit may go to the next claim while the
            // outcome is written, so claims and final writes overlap.
            drop(permit);
            self.inner.freed.notify_one();
            self.finish(&job, decided).await
        };
        match held.instrument(span).await {
            Outcome::Done(report) => report,
            Outcome::LeaseLost => {
                record::job_outcome(job.operation, "lease_lost", 1);
                tracing::warn!(job_id = %job.id, "lease lost to another executor; job dropped");
                ExecuteReport {
                    lease_lost: 1,
                    ..ExecuteReport::default()
                }
            }
        }
    }

    /// Renews the lease every third of it; returns only once the lease is lost.
    async fn renew_until_lost(&self, job: &Job) {
        let clock = &self.inner.clock;
        loop {
            clock
                .sleep_until(add(clock.now(), self.inner.config.lease_renewal()))
                .await;
            let renewed = self
                .inner
                .store
                .job_renew_lease(JobRenewLeaseParams {
                    id: job.id,
                    attempt: job.attempt,
                    now: clock.now(),
                    lease: self.inner.config.lease,
                })
                .await;
            match renewed {
                Ok(_) => {}
                Err(StoreError::LeaseLost { .. }) => return,
                // Transient: two more renewals fit in the lease before it expires.
                Err(error) => tracing::warn!(%error, "lease renewal failed; retrying"),
            }
        }
    }

    /// Executor steps 2-5 up to the final write: what the job's outcome is.
    async fn decide(&self, job: &Job) -> Decision {
        let read = call_adapter(self, || self.inner.workspaces.get(job.workspace_id), "get").await;
        let ws = match read {
            Ok(ws) => ws.map(Workspace::at_store_precision),
            Err(error) => {
                return self.failed_attempt(job, format!("reading the workspace failed: {error}"))
            }
        };
        let now = self.inner.clock.now();
        match verdict(job, ws.as_ref(), now, &self.inner.config) {
            Verdict::Cancel {
                reason,
                rescheduled,
            } => Decision::Cancel {
                reason,
                reconcile: rescheduled,
            },
            Verdict::AlreadyDone(reason) => Decision::Complete {
                error: None,
                line: LogLine::info(reason),
                tally: Tally::AlreadyDone,
            },
            Verdict::Missed(reason) => Decision::Complete {
                error: None,
                line: LogLine::warn(reason),
                tally: Tally::Missed,
            },
            Verdict::Defer { reason, until } => {
                let soon = add(now, self.inner.config.transition_retry);
                Decision::Retry {
                    run_at: until.map_or(soon, |u| u.max(soon)),
                    error: None,
                    line: LogLine::info(reason),
                    tally: Tally::Deferred,
                }
            }
            Verdict::Act => self.act(job).await,
        }
    }

    /// Step 5: call, and judge the result.
    async fn act(&self, job: &Job) -> Decision {
        let op = job.operation;
        let workspaces = &self.inner.workspaces;
        let call = || match op {
            Operation::Start => workspaces.start(job.workspace_id),
            Operation::Stop => workspaces.stop(job.workspace_id),
        };
        self.emit_job(job, || EventKind::Started {
            attempt: job.attempt,
        });
        let clock = &self.inner.clock;
        let called = clock.now();
        let result = call_adapter(self, call, op.as_str()).await;
        record::action(
            op,
            result.is_ok(),
            (clock.now() - called).to_std().unwrap_or_default(),
        );
        match result {
            // The call's line carries the deadline (a start lead makes them differ)
            // and who acted; it is written with the completion, in the same batch.
            Ok(()) => Decision::Complete {
                error: None,
                line: LogLine::info(format!(
                    "{} the workspace (the {op} due at {}; attempt {}, executor {})",
                    match op {
                        Operation::Start => "started",
                        Operation::Stop => "stopped",
                    },
                    job.deadline.to_rfc3339(),
                    job.attempt,
                    self.inner.executor_id
                )),
                tally: Tally::Acted,
            },
            Err(WorkspaceError::NotFound(_)) => Decision::Cancel {
                reason: format!("cancelled: {op} found the workspace gone"),
                reconcile: false,
            },
            Err(error) => self.failed_attempt(job, format!("{op} failed: {error}")),
        }
    }

    /// A failed attempt: retry with backoff, or complete with the error after the last.
    fn failed_attempt(&self, job: &Job, error: String) -> Decision {
        let failures = job.failed_attempts.saturating_add(1);
        let retry = &self.inner.config.retry;
        if failures >= retry.max_attempts {
            return Decision::Complete {
                line: LogLine::error(format!(
                    "{error}; giving up after {failures} failed attempts"
                )),
                error: Some(error),
                tally: Tally::Failed,
            };
        }
        let run_at = add(self.inner.clock.now(), retry.backoff(job.id, failures));
        Decision::Retry {
            line: LogLine::warn(format!(
                "{error}; attempt {failures} of {} failed, retrying at {}",
                retry.max_attempts,
                run_at.to_rfc3339()
            )),
            run_at,
            error: Some(error),
            tally: Tally::Retried,
        }
    }

    /// Step 6 and the end of the claim: the one fenced write that records the outcome.
    /// Once it is made, the outcome is counted, traced and told to subscribers.
    async fn finish(&self, job: &Job, decision: Decision) -> Outcome {
        let store = &self.inner.store;
        let now = self.inner.clock.now();
        let (result, tally, event) = match decision {
            Decision::Complete { error, line, tally } => {
                let event = match &error {
                    Some(error) => EventKind::Failed {
                        attempt: job.attempt,
                        error: error.clone(),
                        retry_at: None,
                    },
                    None => EventKind::Completed {
                        acted: tally == Tally::Acted,
                        message: line.output().to_owned(),
                    },
                };
                let params = JobCompleteParams {
                    id: job.id,
                    attempt: job.attempt,
                    now,
                    error,
                    logs: self.line(line).into_iter().collect(),
                };
                (self.complete_batched(params).await, tally, Some(event))
            }
            Decision::Retry {
                run_at,
                error,
                line,
                tally,
            } => {
                let event = error.as_ref().map(|error| EventKind::Failed {
                    attempt: job.attempt,
                    error: error.clone(),
                    retry_at: Some(run_at),
                });
                if event.is_none() {
                    tracing::info!(reason = %line.output(), "job skipped");
                }
                let params = JobRetryParams {
                    id: job.id,
                    attempt: job.attempt,
                    now,
                    run_at,
                    error,
                    logs: self.line(line).into_iter().collect(),
                };
                (store.job_retry(params).await.map(drop), tally, event)
            }
            Decision::Cancel { reason, reconcile } => {
                let params = JobCancelParams {
                    jobs: vec![JobCancel {
                        id: job.id,
                        attempt: Some(job.attempt),
                        log: self.line(LogLine::info(reason.clone())),
                    }],
                    now,
                };
                let cancelled = match store.job_cancel(params).await {
                    Ok(ids) if ids.is_empty() => Err(StoreError::LeaseLost {
                        job: job.id,
                        attempt: job.attempt,
                    }),
                    Ok(_) => Ok(()),
                    Err(error) => Err(error),
                };
                if cancelled.is_ok() && reconcile {
                    // The workspace's time moved: schedule the new one now rather than
                    // at the next pass.
                    if let Err(error) = self.reconcile_workspace(job.workspace_id).await {
                        tracing::warn!(%error, "reconciling a moved workspace failed; the next pass will");
                    }
                }
                let event = EventKind::Cancelled { reason };
                (cancelled, Tally::Cancelled, Some(event))
            }
            Decision::LeaseLost => return Outcome::LeaseLost,
        };
        match result {
            Ok(()) => {
                record::job_outcome(job.operation, tally.label(), 1);
                match &event {
                    Some(EventKind::Completed { message, .. }) => {
                        tracing::info!(outcome = tally.label(), %message, "job completed");
                    }
                    Some(EventKind::Failed {
                        error,
                        retry_at: Some(retry_at),
                        ..
                    }) => tracing::warn!(%error, %retry_at, "attempt failed"),
                    Some(EventKind::Failed { error, .. }) => {
                        tracing::warn!(%error, "attempt failed; failed for good");
                    }
                    Some(EventKind::Cancelled { reason }) => {
                        tracing::info!(%reason, "job cancelled");
                    }
                    _ => {}
                }
                if let Some(event) = event {
                    self.emit_job(job, || event);
                }
                Outcome::Done(tally.report(job.operation))
            }
            Err(StoreError::LeaseLost { .. }) => Outcome::LeaseLost,
            Err(error) => {
                record::job_outcome(job.operation, "error", 1);
                tracing::warn!(%error, "store write failed; the job is left to lease expiry");
                Outcome::Done(ExecuteReport {
                    errors: 1,
                    ..ExecuteReport::default()
                })
            }
        }
    }

    /// The executor half of [`run`](LifecycleEngine::run).
    pub(super) async fn executor_loop(&self, shutdown: &CancellationToken) -> ExecuteReport {
        let mut report = ExecuteReport::default();
        let mut tasks = JoinSet::new();
        let mut changes = self.inner.store.job_changes();
        let clock = &self.inner.clock;
        let mut failures: u32 = 0;
        // Rescue when the timer fired (the earliest lease expiry is among the times
        // it waits for) and at least every poll interval, not on every wake-up.
        let mut rescue_due = true;
        let mut last_rescue = clock.now();
        // Whether more jobs may be due than the last claim took: a freed permit is
        // worth a claim only then.
        let mut more = true;
        'passes: while !shutdown.is_cancelled() {
            if let Some(changes) = changes.as_mut() {
                changes.borrow_and_update();
            }
            let now = clock.now();
            let poll = self.inner.config.poll_interval;
            let rescue_now = rescue_due || now >= add(last_rescue, poll);
            let step = async {
                if rescue_now {
                    self.rescue(&mut report).await?;
                }
                loop {
                    match self.claim_and_spawn(&mut tasks, &mut report).await? {
                        Some(true) => continue,
                        Some(false) => more = false,
                        None => {}
                    }
                    break;
                }
                if self.inner.permits.available_permits() == 0 {
                    // Every permit is busy: a freed one wakes the loop, so the next
                    // due time does not matter yet.
                    return Ok(None);
                }
                self.inner.store.job_next_due(now).await
            };
            let wake_at = match step.await {
                Ok(next) => {
                    failures = 0;
                    if rescue_now {
                        last_rescue = now;
                    }
                    // Due jobs we could not claim wait for a permit (a freed one wakes
                    // us) or for their workspace's running job to finish (which this
                    // engine's own task end, or another's poll, picks up).
                    let poll = add(now, poll);
                    next.map_or(poll, |t| t.min(poll))
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let delay = self
                        .inner
                        .config
                        .retry
                        .backoff(crate::JobId(self.inner.executor_id.0), failures);
                    tracing::warn!(%error, ?delay, "executor store error; backing off");
                    add(now, delay.min(self.inner.config.poll_interval))
                }
            };
            rescue_due = false;
            loop {
                tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => break 'passes,
                    // Our scheduler created or moved a job.
                    _ = self.inner.wake.notified() => {}
                    // Another engine (or this one) changed the table.
                    _ = changed(changes.as_mut()) => {}
                    // Jobs finished, and may have freed jobs of their workspaces.
                    Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                        merge(&mut report, done);
                        while let Some(done) = tasks.try_join_next() {
                            merge(&mut report, done);
                        }
                    }
                    // A permit came free: worth a claim only if more may be due.
                    _ = self.inner.freed.notified() => if !more { continue },
                    _ = clock.sleep_until(wake_at) => rescue_due = true,
                }
                more = true;
                break;
            }
        }
        // Shutdown: no new claims; in-flight actions get the grace period.
        let deadline = add(clock.now(), self.inner.config.shutdown_grace);
        loop {
            tokio::select! {
                biased;
                done = tasks.join_next() => match done {
                    Some(done) => merge(&mut report, done),
                    None => break,
                },
                _ = clock.sleep_until(deadline) => {
                    tracing::warn!(in_flight = tasks.len(), "shutdown grace over; leaving jobs to lease expiry");
                    tasks.abort_all();
                    while tasks.join_next().await.is_some() {}
                    break;
                }
            }
        }
        report
    }
}

fn merge(report: &mut ExecuteReport, done: Result<ExecuteReport, tokio::task::JoinError>) {
    match done {
        Ok(done) => report.add(&done),
        Err(error) => {
            // Only an abort or a bug in the engine itself lands here: adapter panics
            // are caught in `call_adapter`. The job is left to lease expiry.
            tracing::error!(%error, "executor task ended abnormally");
            report.errors += 1;
        }
    }
}

async fn changed(changes: Option<&mut tokio::sync::watch::Receiver<u64>>) {
    match changes {
        Some(rx) => {
            if rx.changed().await.is_err() {
                // The store dropped its sender; fall back to the other wake-ups.
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending::<()>().await,
    }
}
