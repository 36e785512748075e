//! The job table behind two traits: [`JobStore`], what the engine needs, and
//! [`JobStoreAdmin`], the reads only operators and the CLI use; [`InMemoryStore`] here
//! and a Postgres store beside it.
//!
//! Methods are named noun-first (`job_claim`, `job_complete`, ...) so related ones sort
//! together, and each takes one `...Params` struct (in `params.rs`) so it can grow a
//! field without breaking callers. Every time-dependent method takes `now` from the
//! engine's clock: no store decides what is due by its own clock.
//!
//! # The original design's querier methods
//!
//! | original method                               | `JobStore` method |
//! |-----------------------------------------------|-------------------|
//! | `AcquireWorkspaceLifecycleJob`                | [`job_claim`](JobStore::job_claim) (a batch, skip-locked) |
//! | `InsertWorkspaceLifecycleJob`                 | [`job_insert`](JobStore::job_insert) (a batch) |
//! | `InsertWorkspaceLifecycleJobLogs`             | [`job_log_insert`](JobStore::job_log_insert) |
//! | `UpdateWorkspaceLifecycleJobByID`             | [`job_reschedule`](JobStore::job_reschedule) (move a pending job's deadline) |
//! | `UpdateWorkspaceLifecycleJobWithCancelByID`   | [`job_cancel`](JobStore::job_cancel) |
//! | `UpdateWorkspaceLifecycleJobWithCompleteByID` | [`job_complete`](JobStore::job_complete) |
//!
//! Every example below starts from the same two jobs (a hidden fixture): `pending`,
//! workspace 1's stop, due at `now`; and `running`, workspace 2's stop, claimed at `now`
//! under attempt 1 with a 60 s lease.

#[doc(hidden)]
pub mod doc_support;
mod memory;
mod params;
#[cfg(feature = "postgres")]
mod postgres;
#[doc(hidden)]
pub mod row;
mod shared;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::watch;

pub use memory::InMemoryStore;
pub(crate) use params::check_times;
pub use params::{
    JobCancel, JobCancelParams, JobClaimParams, JobComplete, JobCompleteBatchParams,
    JobCompleteParams, JobInsertParams, JobListParams, JobLogInsertParams, JobNextDueParams,
    JobPruneParams, JobRenewLeaseParams, JobReschedule, JobRescheduleParams, JobRescueParams,
    JobRetryParams, JobStats, JobStatsParams, NewJob, NewJobLog, WorkspaceRange,
};
#[cfg(feature = "postgres")]
pub use postgres::{PgStore, DEFAULT_SCHEMA};

use crate::error::StoreError;
use crate::ids::JobId;
use crate::job::{Job, JobLog};

/// The job table, as the engine uses it.
///
/// # Contract
///
/// Both stores pass one contract suite (`tests/contract/`); in short:
///
/// - **One open job per (workspace, operation).** `job_insert` skips a job whose
///   (workspace, operation) already has a pending or running job.
/// - **One completion per occurrence.** `job_insert` also skips a job whose
///   occurrence (workspace, operation, deadline) has a completed job, and
///   `job_reschedule` refuses to move a job onto such an occurrence. Cancelled jobs
///   do not count: a schedule removed and restored gets a new job.
/// - **Claims.** `job_claim` takes pending jobs with `run_at <= now`, earliest
///   `run_at` first, sets `started_at = now`, increments `attempt`, and sets the lease
///   and `claimed_by`. A job is claimed by one caller only, however many claim at once,
///   and never while another job of its workspace is running; one claim takes at most
///   one job per workspace.
/// - **Fencing.** `job_complete`, `job_retry`, `job_renew_lease`, fenced
///   `job_cancel` and fenced `job_log_insert` apply only while the job is running under
///   the named attempt. Otherwise they change nothing: the job's answer is
///   [`StoreError::LeaseLost`] (a fenced log line is dropped and not counted).
/// - **Batches.** The batch writes (`job_insert`, `job_reschedule`, `job_cancel`,
///   `job_complete_batch`) return one result per item, in input order: the job as
///   written, or a refusal naming the job and why ([`StoreError::Duplicate`],
///   [`StoreError::OccurrenceTaken`], [`StoreError::NotPending`],
///   [`StoreError::LeaseLost`]). The call's own `Err` is for the batch as a whole
///   (the store unreachable, a time out of range): then nothing of it is written.
/// - **Rescue.** `job_rescue` returns running jobs whose lease expired at or before
///   `now` to pending (due at once), so that another executor can claim them; the old
///   attempt's writes are then fenced out.
/// - **Time.** Every decision uses the `now` passed in.
///
/// ```
/// use std::sync::Arc;
/// use workspace_lifecycle::{JobStore, WorkspaceRange};
///
/// async fn open_jobs(store: &impl JobStore) -> usize {
///     store.job_list_open(WorkspaceRange::ALL).await.unwrap().len()
/// }
/// # use workspace_lifecycle::doc_support::*;
/// # example(|Doc { store, .. }| async move {
/// let store = Arc::new(store);
/// let shared = store.clone(); // engines in one process share a table through an `Arc`
/// assert_eq!(open_jobs(&shared).await, 2);
/// # }).unwrap();
/// ```
#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Creates jobs, skipping those the uniqueness rules forbid. One result per job, in
    /// order: the created job (with its `log` line written), or
    /// [`StoreError::Duplicate`] for a skipped one.
    ///
    /// ```
    /// use workspace_lifecycle::{JobInsertParams, JobStore, LogLine, NewJob, Operation, StoreError};
    /// # use workspace_lifecycle::doc_support::*;
    /// # example(|Doc { store, now, pending, .. }| async move {
    /// let deadline = now + chrono::TimeDelta::hours(10);
    /// let lead = chrono::TimeDelta::minutes(10); // booting takes a while
    /// let start = NewJob {
    ///     workspace_id: pending.workspace_id,
    ///     operation: Operation::Start,
    ///     deadline,
    ///     run_at: Some(deadline - lead),
    ///     log: Some(LogLine::info("auto-start scheduled")),
    /// };
    /// // The workspace already has an open stop job: a second one is skipped.
    /// let stop = NewJob { operation: Operation::Stop, ..start.clone() };
    /// let params = JobInsertParams { jobs: vec![start, stop], now };
    /// let results = store.job_insert(params).await.unwrap();
    /// let created = results[0].as_ref().unwrap();
    /// assert_eq!((created.run_at, created.created_at), (deadline - lead, now));
    /// assert!(matches!(results[1], Err(StoreError::Duplicate { .. })));
    /// # }).unwrap();
    /// ```
    async fn job_insert(
        &self,
        params: JobInsertParams,
    ) -> Result<Vec<Result<Job, StoreError>>, StoreError>;

    /// Adds log lines; fenced lines whose attempt no longer holds the job, and lines of
    /// unknown jobs, are dropped. Returns how many were written.
    ///
    /// ```
    /// use workspace_lifecycle::{JobLogInsertParams, JobStore, LogLine, NewJobLog};
    /// # use workspace_lifecycle::doc_support::*;
    /// # example(|Doc { store, now, pending, running }| async move {
    /// let line = |job_id, attempt| NewJobLog { job_id, attempt, line: LogLine::info("stopping") };
    /// let logs = vec![
    ///     line(running.id, Some(running.attempt)), // the attempt holds the job: written
    ///     line(running.id, Some(running.attempt - 1)), // a stale attempt: dropped
    ///     line(pending.id, Some(1)), // pending, so no attempt holds it: dropped
    ///     line(pending.id, None), // unfenced (a scheduler's line): written
    /// ];
    /// assert_eq!(store.job_log_insert(JobLogInsertParams { logs, now }).await.unwrap(), 2);
    /// # }).unwrap();
    /// ```
    async fn job_log_insert(&self, params: JobLogInsertParams) -> Result<usize, StoreError>;

    /// Claims up to `limit` due jobs (see the contract). Returns them as claimed.
    ///
    /// ```
    /// use std::time::Duration;
    /// use workspace_lifecycle::{ExecutorId, JobClaimParams, JobState, JobStore};
    /// # use workspace_lifecycle::doc_support::*;
    /// # example(|Doc { store, now, pending, .. }| async move {
    /// let executor = ExecutorId::random();
    /// let claim = JobClaimParams { now, limit: 10, lease: Duration::from_secs(60), executor };
    /// let early = JobClaimParams { now: now - chrono::TimeDelta::seconds(1), ..claim.clone() };
    /// assert!(store.job_claim(early).await.unwrap().is_empty()); // not due yet
    /// let claimed = store.job_claim(claim.clone()).await.unwrap();
    /// assert_eq!(claimed.len(), 1); // the running job stays with its claimer
    /// assert_eq!((claimed[0].id, claimed[0].state()), (pending.id, JobState::Running));
    /// assert_eq!((claimed[0].attempt, claimed[0].claimed_by), (1, Some(executor)));
    /// assert_eq!(claimed[0].lease_expires_at, Some(now + chrono::TimeDelta::seconds(60)));
    /// assert!(store.job_claim(claim).await.unwrap().is_empty()); // claimed once only
    /// # }).unwrap();
    /// ```
    async fn job_claim(&self, params: JobClaimParams) -> Result<Vec<Job>, StoreError>;

    /// Moves pending jobs to new deadlines (resetting `run_at`, `failed_attempts` and
    /// `error`, since a new occurrence starts fresh). One result per move, in order:
    /// the moved job, [`StoreError::OccurrenceTaken`] for a move onto an occurrence
    /// another job completed (the caller cancels the job), or
    /// [`StoreError::NotPending`].
    ///
    /// ```
    /// use workspace_lifecycle::{
    ///     JobCompleteParams, JobInsertParams, JobReschedule, JobRescheduleParams, JobStore,
    ///     NewJob, StoreError,
    /// };
    /// # use workspace_lifecycle::doc_support::*;
    /// # example(|Doc { store, now, pending, running }| async move {
    /// let later = now + chrono::TimeDelta::hours(2);
    /// let to = |id, deadline| JobReschedule { id, deadline, run_at: None, log: None };
    /// let jobs = vec![to(pending.id, later), to(running.id, later)];
    /// let results = store.job_reschedule(JobRescheduleParams { jobs, now }).await.unwrap();
    /// assert_eq!(results[0].as_ref().unwrap().deadline, later);
    /// assert!(matches!(results[1], Err(StoreError::NotPending { job }) if job == running.id));
    ///
    /// // Workspace 2's stop at `now` completes: its next stop must not move back onto it.
    /// let done = JobCompleteParams { id: running.id, attempt: running.attempt, now,
    ///     error: None, logs: vec![] };
    /// store.job_complete(done).await.unwrap();
    /// let next = NewJob { workspace_id: running.workspace_id, operation: running.operation,
    ///     deadline: later, run_at: None, log: None };
    /// let next = store.job_insert(JobInsertParams { jobs: vec![next], now }).await.unwrap();
    /// let next = next[0].as_ref().unwrap();
    /// let jobs = vec![to(next.id, now)];
    /// let results = store.job_reschedule(JobRescheduleParams { jobs, now }).await.unwrap();
    /// assert!(matches!(results[0], Err(StoreError::OccurrenceTaken { job, .. }) if job == next.id));
    /// # }).unwrap();
    /// ```
    async fn job_reschedule(
        &self,
        params: JobRescheduleParams,
    ) -> Result<Vec<Result<Job, StoreError>>, StoreError>;

    /// Cancels jobs (see [`JobCancel::attempt`]). One result per job, in order: the
    /// cancelled job, or [`StoreError::NotPending`] (no attempt named) or
    /// [`StoreError::LeaseLost`] (an attempt named) for one left alone.
    ///
    /// ```
    /// use workspace_lifecycle::{JobCancel, JobCancelParams, JobStore, LogLine, StoreError};
    /// # use workspace_lifecycle::doc_support::*;
    /// # example(|Doc { store, now, pending, running }| async move {
    /// let why = Some(LogLine::info("cancelled: the auto-stop was removed"));
    /// let jobs = vec![
    ///     JobCancel { id: pending.id, attempt: None, log: why }, // the scheduler's: pending only
    ///     JobCancel { id: running.id, attempt: None, log: None }, // running: left alone
    /// ];
    /// let results = store.job_cancel(JobCancelParams { jobs, now }).await.unwrap();
    /// assert_eq!(results[0].as_ref().unwrap().cancelled_at, Some(now));
    /// assert!(matches!(results[1], Err(StoreError::NotPending { .. })));
    /// // The executor cancels its own running job, fenced by its attempt.
    /// let jobs = vec![JobCancel { id: running.id, attempt: Some(running.attempt), log: None }];
    /// let results = store.job_cancel(JobCancelParams { jobs, now }).await.unwrap();
    /// assert_eq!(results[0].as_ref().unwrap().id, running.id);
    /// # }).unwrap();
    /// ```
    async fn job_cancel(
        &self,
        params: JobCancelParams,
    ) -> Result<Vec<Result<Job, StoreError>>, StoreError>;

    /// Completes a running job, with an error if it failed for good.
    ///
    /// ```
    /// use workspace_lifecycle::{JobCompleteParams, JobState, JobStore, LogLine, StoreError};
    /// # use workspace_lifecycle::doc_support::*;
    /// # example(|Doc { store, now, running, .. }| async move {
    /// let failed = JobCompleteParams {
    ///     id: running.id,
    ///     attempt: running.attempt,
    ///     now,
    ///     error: Some("quota exceeded".into()),
    ///     logs: vec![LogLine::error("failed for good: quota exceeded")],
    /// };
    /// let job = store.job_complete(failed.clone()).await.unwrap();
    /// assert_eq!((job.state(), job.failed_attempts), (JobState::Completed, 1));
    /// // The attempt no longer holds the job: a repeated write changes nothing.
    /// assert!(matches!(store.job_complete(failed).await, Err(StoreError::LeaseLost { .. })));
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::LeaseLost`] if the attempt no longer holds the job.
    async fn job_complete(&self, params: JobCompleteParams) -> Result<Job, StoreError>;

    /// Completes several running jobs, each fenced by its own attempt, in one write
    /// where the store can (the executor batches the completions that are ready at
    /// once). Returns one result per job, in order: the completed job, or
    /// [`StoreError::LeaseLost`] for a job its attempt no longer holds.
    ///
    /// The default calls [`job_complete`](JobStore::job_complete) for each.
    ///
    /// ```
    /// use workspace_lifecycle::{JobComplete, JobCompleteBatchParams, JobStore, StoreError};
    /// # use workspace_lifecycle::doc_support::*;
    /// # example(|Doc { store, now, pending, running }| async move {
    /// let done = |id, attempt| JobComplete { id, attempt, error: None, logs: vec![] };
    /// // The pending job is held by no attempt.
    /// let jobs = vec![done(running.id, running.attempt), done(pending.id, 1)];
    /// let results = store.job_complete_batch(JobCompleteBatchParams { jobs, now }).await.unwrap();
    /// assert!(results[0].is_ok());
    /// assert!(matches!(results[1], Err(StoreError::LeaseLost { .. })));
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// A store error that fails the whole batch (nothing of it is written).
    async fn job_complete_batch(
        &self,
        params: JobCompleteBatchParams,
    ) -> Result<Vec<Result<Job, StoreError>>, StoreError> {
        let now = params.now;
        let mut out = Vec::with_capacity(params.jobs.len());
        for job in params.jobs {
            let single = JobCompleteParams {
                id: job.id,
                attempt: job.attempt,
                now,
                error: job.error,
                logs: job.logs,
            };
            match self.job_complete(single).await {
                Err(error @ StoreError::LeaseLost { .. }) => out.push(Err(error)),
                Err(error) => return Err(error),
                Ok(job) => out.push(Ok(job)),
            }
        }
        Ok(out)
    }

    /// Returns a running job to pending, due at `run_at` (a retry or a release).
    ///
    /// ```
    /// use workspace_lifecycle::{JobRetryParams, JobState, JobStore, LogLine};
    /// # use workspace_lifecycle::doc_support::*;
    /// # example(|Doc { store, now, running, .. }| async move {
    /// let run_at = now + chrono::TimeDelta::seconds(15);
    /// let release = JobRetryParams {
    ///     id: running.id,
    ///     attempt: running.attempt,
    ///     now,
    ///     run_at,
    ///     error: None, // the workspace was mid-transition: not a failure
    ///     logs: vec![LogLine::info("workspace is stopping; trying again in 15s")],
    /// };
    /// let job = store.job_retry(release).await.unwrap();
    /// assert_eq!((job.state(), job.run_at, job.failed_attempts), (JobState::Pending, run_at, 0));
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::LeaseLost`] if the attempt no longer holds the job.
    async fn job_retry(&self, params: JobRetryParams) -> Result<Job, StoreError>;

    /// Extends a running job's lease; returns the new expiry.
    ///
    /// ```
    /// use std::time::Duration;
    /// use workspace_lifecycle::{JobRenewLeaseParams, JobStore, StoreError};
    /// # use workspace_lifecycle::doc_support::*;
    /// # example(|Doc { store, now, running, .. }| async move {
    /// let later = now + chrono::TimeDelta::seconds(20);
    /// let renew = JobRenewLeaseParams { id: running.id, attempt: running.attempt, now: later,
    ///     lease: Duration::from_secs(60) };
    /// let expires = store.job_renew_lease(renew.clone()).await.unwrap();
    /// assert_eq!(expires, later + chrono::TimeDelta::seconds(60));
    /// let stale = JobRenewLeaseParams { attempt: running.attempt + 1, ..renew };
    /// assert!(matches!(store.job_renew_lease(stale).await, Err(StoreError::LeaseLost { .. })));
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::LeaseLost`] if the attempt no longer holds the job.
    async fn job_renew_lease(
        &self,
        params: JobRenewLeaseParams,
    ) -> Result<DateTime<Utc>, StoreError>;

    /// Returns running jobs whose lease expired at or before `now` to pending; returns
    /// them as they were before the rescue (so the caller can log who lost them).
    ///
    /// ```
    /// use workspace_lifecycle::{JobRescueParams, JobState, JobStore, WorkspaceRange};
    /// # use workspace_lifecycle::doc_support::*;
    /// # example(|Doc { store, now, running, .. }| async move {
    /// let early = JobRescueParams { now };
    /// assert!(store.job_rescue(early).await.unwrap().is_empty()); // the lease runs 60 s
    /// let expired = now + chrono::TimeDelta::seconds(60);
    /// let rescued = store.job_rescue(JobRescueParams { now: expired }).await.unwrap();
    /// assert_eq!(rescued[0].claimed_by, running.claimed_by); // as it was: who lost it
    /// let open = store.job_list_open(WorkspaceRange::One(running.workspace_id)).await.unwrap();
    /// assert_eq!((open[0].state(), open[0].run_at), (JobState::Pending, expired));
    /// # }).unwrap();
    /// ```
    async fn job_rescue(&self, params: JobRescueParams) -> Result<Vec<Job>, StoreError>;

    /// Open (pending or running) jobs of the workspaces in `range`, ordered by
    /// (workspace, operation).
    ///
    /// ```
    /// use workspace_lifecycle::{JobStore, WorkspaceRange};
    /// # use workspace_lifecycle::doc_support::*;
    /// # example(|Doc { store, pending, running, .. }| async move {
    /// let all = store.job_list_open(WorkspaceRange::ALL).await.unwrap();
    /// assert_eq!(all.iter().map(|job| job.id).collect::<Vec<_>>(), [pending.id, running.id]);
    /// let one = store.job_list_open(WorkspaceRange::One(pending.workspace_id)).await.unwrap();
    /// assert_eq!(one.len(), 1);
    /// let after = WorkspaceRange::Page { after: Some(pending.workspace_id), through: None };
    /// assert_eq!(store.job_list_open(after).await.unwrap()[0].id, running.id);
    /// # }).unwrap();
    /// ```
    async fn job_list_open(&self, range: WorkspaceRange) -> Result<Vec<Job>, StoreError>;

    /// When the executor next has something to do after `now`: the earliest
    /// `run_at` of a pending job or `lease_expires_at` of a running one that lies
    /// strictly after `now`. (Jobs due at or before `now` are the claim's business:
    /// the caller has just claimed what it could.)
    ///
    /// ```
    /// use workspace_lifecycle::{JobNextDueParams, JobStore};
    /// # use workspace_lifecycle::doc_support::*;
    /// # example(|Doc { store, now, .. }| async move {
    /// let next = |now| store.job_next_due(JobNextDueParams { now });
    /// let before = now - chrono::TimeDelta::seconds(1);
    /// assert_eq!(next(before).await.unwrap(), Some(now)); // the pending job
    /// let expiry = now + chrono::TimeDelta::seconds(60); // the running job's lease
    /// assert_eq!(next(now).await.unwrap(), Some(expiry));
    /// assert_eq!(next(expiry).await.unwrap(), None); // strictly after
    /// # }).unwrap();
    /// ```
    async fn job_next_due(
        &self,
        params: JobNextDueParams,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Deletes up to `params.limit` finished jobs (completed or cancelled) that
    /// finished before `params.finished_before`, oldest first, with their log lines.
    /// Open jobs are never deleted. Rows another caller is deleting are skipped, so
    /// replicas pruning at once do not wait for each other. Returns how many jobs were
    /// deleted.
    ///
    /// A pruned completed job no longer guards its occurrence against a second action
    /// (the "one completion per occurrence" rule); the engine therefore never schedules
    /// an occurrence older than its retention period (`Config::retention`).
    ///
    /// ```
    /// use workspace_lifecycle::{JobCancel, JobCancelParams, JobPruneParams, JobStore};
    /// use workspace_lifecycle::JobStoreAdmin;
    /// # use workspace_lifecycle::doc_support::*;
    /// # example(|Doc { store, now, pending, .. }| async move {
    /// let prune = JobPruneParams { finished_before: now + chrono::TimeDelta::days(30), limit: 1 };
    /// assert_eq!(store.job_prune(prune.clone()).await.unwrap(), 0); // open jobs stay
    /// let jobs = vec![JobCancel { id: pending.id, attempt: None, log: None }];
    /// store.job_cancel(JobCancelParams { jobs, now }).await.unwrap();
    /// assert_eq!(store.job_prune(prune).await.unwrap(), 1); // a full batch: call again
    /// assert!(store.job_log_list(pending.id).await.unwrap().is_empty()); // its lines too
    /// # }).unwrap();
    /// ```
    async fn job_prune(&self, params: JobPruneParams) -> Result<usize, StoreError>;

    /// A counter that moves whenever a job may have become claimable sooner (inserted,
    /// moved, released, rescued, or its workspace freed), seen by every engine sharing
    /// the store. `None` if the store cannot tell; engines then rely on their own
    /// wake-ups and `Config::poll_interval`.
    ///
    /// ```
    /// use workspace_lifecycle::{JobInsertParams, JobStore, NewJob, Operation};
    /// # use workspace_lifecycle::doc_support::*;
    /// # example(|Doc { store, now, pending, .. }| async move {
    /// let changes = store.job_changes().expect("the in-memory store reports its changes");
    /// let start = NewJob { workspace_id: pending.workspace_id, operation: Operation::Start,
    ///     deadline: now, run_at: None, log: None };
    /// store.job_insert(JobInsertParams { jobs: vec![start], now }).await.unwrap();
    /// assert!(changes.has_changed().unwrap());
    /// # }).unwrap();
    /// ```
    fn job_changes(&self) -> Option<watch::Receiver<u64>> {
        None
    }
}

/// The reads only operators use (the `workspace-lifecycle` CLI, dashboards, tests):
/// one job, a filtered list, a job's log, counts. The engine never calls them, so a
/// store that backs only an engine can leave them out of its hot paths; both stores
/// here implement them under the same contract suite as [`JobStore`].
#[async_trait]
pub trait JobStoreAdmin: JobStore {
    /// One job.
    ///
    /// ```
    /// use workspace_lifecycle::{JobId, JobStoreAdmin};
    /// # use workspace_lifecycle::doc_support::*;
    /// # example(|Doc { store, pending, .. }| async move {
    /// assert_eq!(store.job_get(pending.id).await.unwrap(), Some(pending));
    /// assert_eq!(store.job_get(JobId(uuid::Uuid::from_u128(99))).await.unwrap(), None);
    /// # }).unwrap();
    /// ```
    async fn job_get(&self, id: JobId) -> Result<Option<Job>, StoreError>;

    /// Jobs matching the filters, newest first.
    ///
    /// ```
    /// use workspace_lifecycle::{JobListParams, JobState, JobStoreAdmin, Operation};
    /// # use workspace_lifecycle::doc_support::*;
    /// # example(|Doc { store, pending, running, .. }| async move {
    /// assert_eq!(store.job_list(JobListParams::default()).await.unwrap().len(), 2);
    /// let runs = JobListParams { state: Some(JobState::Running), ..JobListParams::default() };
    /// assert_eq!(store.job_list(runs).await.unwrap()[0].id, running.id);
    /// let ws = JobListParams { workspace_id: Some(pending.workspace_id), limit: Some(1),
    ///     ..JobListParams::default() };
    /// assert_eq!(store.job_list(ws).await.unwrap()[0].id, pending.id);
    /// let starts = JobListParams { operation: Some(Operation::Start), ..Default::default() };
    /// assert!(store.job_list(starts).await.unwrap().is_empty());
    /// # }).unwrap();
    /// ```
    async fn job_list(&self, params: JobListParams) -> Result<Vec<Job>, StoreError>;

    /// A job's log lines, oldest first.
    ///
    /// ```
    /// use workspace_lifecycle::{JobLogInsertParams, JobStore, JobStoreAdmin, LogLine, NewJobLog};
    /// # use workspace_lifecycle::doc_support::*;
    /// # example(|Doc { store, now, pending, .. }| async move {
    /// let later = now + chrono::TimeDelta::minutes(1);
    /// let line = LogLine::info("moved");
    /// let logs = vec![NewJobLog { job_id: pending.id, attempt: None, line }];
    /// store.job_log_insert(JobLogInsertParams { logs, now: later }).await.unwrap();
    /// let lines = store.job_log_list(pending.id).await.unwrap();
    /// let seen: Vec<_> = lines.iter().map(|l| (l.created_at, l.output.as_str())).collect();
    /// assert_eq!(seen, [(now, "auto-stop scheduled"), (later, "moved")]);
    /// # }).unwrap();
    /// ```
    async fn job_log_list(&self, id: JobId) -> Result<Vec<JobLog>, StoreError>;

    /// Counts by state, the next due jobs and the oldest running one.
    ///
    /// ```
    /// use workspace_lifecycle::{JobStatsParams, JobStoreAdmin};
    /// # use workspace_lifecycle::doc_support::*;
    /// # example(|Doc { store, now, pending, running }| async move {
    /// let stats = store.job_stats(JobStatsParams { now, next: 5 }).await.unwrap();
    /// assert_eq!((stats.pending, stats.running, stats.completed, stats.cancelled), (1, 1, 0, 0));
    /// assert_eq!(stats.next_due[0].id, pending.id);
    /// assert_eq!(stats.oldest_running.map(|job| job.id), Some(running.id));
    /// let later = JobStatsParams { now: now + chrono::TimeDelta::seconds(60), next: 5 };
    /// assert_eq!(store.job_stats(later).await.unwrap().expired_leases, 1); // a 60 s lease
    /// # }).unwrap();
    /// ```
    async fn job_stats(&self, params: JobStatsParams) -> Result<JobStats, StoreError>;
}
