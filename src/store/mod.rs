//! The job table behind one trait: [`JobStore`], with [`InMemoryStore`] here and a
//! Postgres store beside it.
//!
//! Methods are named noun-first (`job_claim`, `job_complete`, ...) so related ones sort
//! together, and each takes one `...Params` struct so it can grow a field without
//! breaking callers. Every time-dependent method takes `now` from the engine's clock:
//! no store decides what is due by its own clock.
//!
//! # The seed's querier methods
//!
//! | seed method                                   | `JobStore` method |
//! |-----------------------------------------------|-------------------|
//! | `AcquireWorkspaceLifecycleJob`                | [`job_claim`](JobStore::job_claim) (a batch, skip-locked) |
//! | `InsertWorkspaceLifecycleJob`                 | [`job_insert`](JobStore::job_insert) (a batch) |
//! | `InsertWorkspaceLifecycleJobLogs`             | [`job_log_insert`](JobStore::job_log_insert) |
//! | `UpdateWorkspaceLifecycleJobByID`             | [`job_reschedule`](JobStore::job_reschedule) (move a pending job's deadline) |
//! | `UpdateWorkspaceLifecycleJobWithCancelByID`   | [`job_cancel`](JobStore::job_cancel) |
//! | `UpdateWorkspaceLifecycleJobWithCompleteByID` | [`job_complete`](JobStore::job_complete) |

mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod row;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::watch;

pub use memory::InMemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::{PgStore, DEFAULT_SCHEMA};
pub use row::JobRow;

use crate::error::StoreError;
use crate::job::{
    deadline_supported, ExecutorId, Job, JobId, JobLog, JobState, LogLine, Operation,
    EARLIEST_DEADLINE, LATEST_DEADLINE,
};
use crate::workspace::WorkspaceId;

/// Refuses a deadline or `run_at` outside the range every store holds
/// ([`EARLIEST_DEADLINE`]..=[`LATEST_DEADLINE`]), so both stores answer out-of-range
/// times alike instead of one storing what the other cannot.
pub(crate) fn check_time(what: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
    if deadline_supported(at) {
        Ok(())
    } else {
        Err(StoreError::InvalidData(format!(
            "{what} {} is outside the supported range {} to {}",
            at.to_rfc3339(),
            EARLIEST_DEADLINE.to_rfc3339(),
            LATEST_DEADLINE.to_rfc3339()
        )))
    }
}

/// Checks the times of jobs to insert or move (see [`check_time`]).
pub(crate) fn check_times<'a>(
    times: impl IntoIterator<Item = (DateTime<Utc>, Option<DateTime<Utc>>)> + 'a,
) -> Result<(), StoreError> {
    for (deadline, run_at) in times {
        check_time("deadline", deadline)?;
        if let Some(run_at) = run_at {
            check_time("run_at", run_at)?;
        }
    }
    Ok(())
}

/// A job to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewJob {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// Start or stop.
    pub operation: Operation,
    /// The occurrence's time.
    pub deadline: DateTime<Utc>,
    /// When the job becomes claimable; `None` means at the deadline (a start lead time
    /// makes it earlier).
    pub run_at: Option<DateTime<Utc>>,
    /// The line logged with the creation (why the job exists); `None` logs nothing
    /// (`Config::job_logs` off).
    pub log: Option<LogLine>,
}

/// Parameters of [`JobStore::job_insert`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobInsertParams {
    /// The jobs to create.
    pub jobs: Vec<NewJob>,
    /// The engine's now: `created_at`, `updated_at` and the log line's time.
    pub now: DateTime<Utc>,
}

/// One log line to add.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewJobLog {
    /// The job.
    pub job_id: JobId,
    /// `Some(attempt)`: write only while the job is running under that attempt (an
    /// executor's line, fenced). `None`: write unconditionally (a scheduler's line).
    pub attempt: Option<u32>,
    /// The line.
    pub line: LogLine,
}

/// Parameters of [`JobStore::job_log_insert`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobLogInsertParams {
    /// The lines to add.
    pub logs: Vec<NewJobLog>,
    /// The lines' time.
    pub now: DateTime<Utc>,
}

/// Parameters of [`JobStore::job_claim`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobClaimParams {
    /// Jobs with `run_at <= now` are due.
    pub now: DateTime<Utc>,
    /// The most jobs to claim.
    pub limit: usize,
    /// The claim is valid until `now + lease`.
    pub lease: Duration,
    /// Who claims.
    pub executor: ExecutorId,
}

/// One pending job to move.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobReschedule {
    /// The job.
    pub id: JobId,
    /// Its new deadline.
    pub deadline: DateTime<Utc>,
    /// Its new `run_at`; `None` means the new deadline.
    pub run_at: Option<DateTime<Utc>>,
    /// The line logged with the move; `None` logs nothing.
    pub log: Option<LogLine>,
}

/// Parameters of [`JobStore::job_reschedule`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRescheduleParams {
    /// The moves.
    pub jobs: Vec<JobReschedule>,
    /// The engine's now.
    pub now: DateTime<Utc>,
}

/// What became of one move in [`JobStore::job_reschedule`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rescheduled {
    /// The deadline moved; any retry state was reset.
    Moved,
    /// Not moved: the new occurrence was already completed by another job, so this job
    /// must not act on it again (the caller cancels it).
    OccurrenceTaken,
    /// Not moved: the job is no longer pending (claimed, completed, cancelled, unknown).
    NotPending,
}

/// One job to cancel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobCancel {
    /// The job.
    pub id: JobId,
    /// `None`: cancel only if pending (the scheduler). `Some(attempt)`: cancel only if
    /// running under that attempt (the executor, fenced).
    pub attempt: Option<u32>,
    /// Why: logged with the cancellation; `None` logs nothing.
    pub log: Option<LogLine>,
}

/// Parameters of [`JobStore::job_cancel`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobCancelParams {
    /// The cancellations.
    pub jobs: Vec<JobCancel>,
    /// `cancelled_at`.
    pub now: DateTime<Utc>,
}

/// Parameters of [`JobStore::job_complete`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobCompleteParams {
    /// The job.
    pub id: JobId,
    /// The attempt that holds it (the fence).
    pub attempt: u32,
    /// `completed_at`.
    pub now: DateTime<Utc>,
    /// `Some` when the job failed for good: its last failed attempt, counted in
    /// `failed_attempts` like the earlier ones.
    pub error: Option<String>,
    /// Lines logged with the completion.
    pub logs: Vec<LogLine>,
}

/// Parameters of [`JobStore::job_retry`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRetryParams {
    /// The job.
    pub id: JobId,
    /// The attempt that holds it (the fence).
    pub attempt: u32,
    /// The engine's now.
    pub now: DateTime<Utc>,
    /// When the job may be claimed again.
    pub run_at: DateTime<Utc>,
    /// `Some`: the attempt failed with this error (counts in `failed_attempts`).
    /// `None`: a release that is not a failure (workspace mid-transition).
    pub error: Option<String>,
    /// Lines logged with the release.
    pub logs: Vec<LogLine>,
}

/// Parameters of [`JobStore::job_renew_lease`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRenewLeaseParams {
    /// The job.
    pub id: JobId,
    /// The attempt that holds it (the fence).
    pub attempt: u32,
    /// The engine's now.
    pub now: DateTime<Utc>,
    /// The claim becomes valid until `now + lease`.
    pub lease: Duration,
}

/// Which workspaces' jobs [`JobStore::job_list_open`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkspaceRange {
    /// One workspace.
    One(WorkspaceId),
    /// Workspaces with `after < id <= through` (an open end where `None`): the id range
    /// one page of [`Workspaces::list`](crate::Workspaces::list) covers.
    Page {
        /// Exclusive lower bound.
        after: Option<WorkspaceId>,
        /// Inclusive upper bound.
        through: Option<WorkspaceId>,
    },
}

impl WorkspaceRange {
    /// Every workspace.
    pub const ALL: WorkspaceRange = WorkspaceRange::Page {
        after: None,
        through: None,
    };

    /// Whether `id` lies in the range.
    pub fn contains(&self, id: WorkspaceId) -> bool {
        match *self {
            WorkspaceRange::One(one) => id == one,
            WorkspaceRange::Page { after, through } => {
                after.is_none_or(|a| id > a) && through.is_none_or(|t| id <= t)
            }
        }
    }
}

/// Parameters of [`JobStore::job_list`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobListParams {
    /// Only this workspace's jobs.
    pub workspace_id: Option<WorkspaceId>,
    /// Only this operation.
    pub operation: Option<Operation>,
    /// Only jobs in this state.
    pub state: Option<JobState>,
    /// At most this many (newest first); `None` for all.
    pub limit: Option<usize>,
}

/// Parameters of [`JobStore::job_prune`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobPruneParams {
    /// Finished jobs (completed or cancelled) whose `completed_at` or `cancelled_at` is
    /// before this are deleted, with their log lines.
    pub finished_before: DateTime<Utc>,
    /// The most jobs one call deletes: a bounded batch, so no lock is held long. Call
    /// again while a call deletes `limit` jobs.
    pub limit: usize,
}

/// Parameters of [`JobStore::job_stats`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobStatsParams {
    /// The engine's (or operator's) now: leases that expired at or before it count as
    /// expired.
    pub now: DateTime<Utc>,
    /// How many of the next pending jobs to return.
    pub next: usize,
}

/// What [`JobStore::job_stats`] reports: the job table at a glance, for operators.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JobStats {
    /// Pending jobs.
    pub pending: u64,
    /// Running jobs.
    pub running: u64,
    /// Completed jobs, failed ones included.
    pub completed: u64,
    /// Completed jobs that failed for good (`error` set): a subset of `completed`.
    pub failed: u64,
    /// Cancelled jobs.
    pub cancelled: u64,
    /// Running jobs whose lease expired at or before `now`: their executor is gone or
    /// stalled, and the next rescue takes them back.
    pub expired_leases: u64,
    /// Up to `next` pending jobs, earliest `run_at` first.
    pub next_due: Vec<Job>,
    /// The running job claimed longest ago (earliest `started_at`), if any.
    pub oldest_running: Option<Job>,
}

/// The job table.
///
/// # Contract
///
/// Both stores pass one contract suite (`tests/contract.rs`); in short:
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
///   the named attempt. Otherwise they change nothing: the single-job methods return
///   [`StoreError::LeaseLost`], the batch methods leave the job out of their result.
/// - **Rescue.** `job_rescue` returns running jobs whose lease expired at or before
///   `now` to pending (due at once), so that another executor can claim them; the old
///   attempt's writes are then fenced out.
/// - **Time.** Every decision uses the `now` passed in.
#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Creates jobs, skipping those the uniqueness rules forbid; returns the created
    /// ones. Each created job gets its `log` line.
    async fn job_insert(&self, params: JobInsertParams) -> Result<Vec<Job>, StoreError>;

    /// Adds log lines; fenced lines whose attempt no longer holds the job, and lines of
    /// unknown jobs, are dropped. Returns how many were written.
    async fn job_log_insert(&self, params: JobLogInsertParams) -> Result<usize, StoreError>;

    /// Claims up to `limit` due jobs (see the contract). Returns them as claimed.
    async fn job_claim(&self, params: JobClaimParams) -> Result<Vec<Job>, StoreError>;

    /// Moves pending jobs to new deadlines (resetting `run_at`, `failed_attempts` and
    /// `error`, since a new occurrence starts fresh). One result per move, in order.
    async fn job_reschedule(
        &self,
        params: JobRescheduleParams,
    ) -> Result<Vec<(JobId, Rescheduled)>, StoreError>;

    /// Cancels jobs (see [`JobCancel::attempt`]); returns the ids actually cancelled.
    async fn job_cancel(&self, params: JobCancelParams) -> Result<Vec<JobId>, StoreError>;

    /// Completes a running job, with an error if it failed for good.
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
    /// # Errors
    ///
    /// A store error that fails the whole batch (nothing of it is written).
    async fn job_complete_batch(
        &self,
        params: Vec<JobCompleteParams>,
    ) -> Result<Vec<Result<Job, StoreError>>, StoreError> {
        let mut out = Vec::with_capacity(params.len());
        for p in params {
            match self.job_complete(p).await {
                Err(error @ StoreError::LeaseLost { .. }) => out.push(Err(error)),
                Err(error) => return Err(error),
                Ok(job) => out.push(Ok(job)),
            }
        }
        Ok(out)
    }

    /// Returns a running job to pending, due at `run_at` (a retry or a release).
    ///
    /// # Errors
    ///
    /// [`StoreError::LeaseLost`] if the attempt no longer holds the job.
    async fn job_retry(&self, params: JobRetryParams) -> Result<Job, StoreError>;

    /// Extends a running job's lease; returns the new expiry.
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
    async fn job_rescue(&self, now: DateTime<Utc>) -> Result<Vec<Job>, StoreError>;

    /// Open (pending or running) jobs of the workspaces in `range`, ordered by
    /// (workspace, operation).
    async fn job_list_open(&self, range: WorkspaceRange) -> Result<Vec<Job>, StoreError>;

    /// When the executor next has something to do after `after`: the earliest
    /// `run_at` of a pending job or `lease_expires_at` of a running one that lies
    /// strictly after `after`. (Jobs due at or before `after` are the claim's business:
    /// the caller has just claimed what it could.)
    async fn job_next_due(&self, after: DateTime<Utc>)
        -> Result<Option<DateTime<Utc>>, StoreError>;

    /// One job.
    async fn job_get(&self, id: JobId) -> Result<Option<Job>, StoreError>;

    /// Jobs matching the filters, newest first.
    async fn job_list(&self, params: JobListParams) -> Result<Vec<Job>, StoreError>;

    /// A job's log lines, oldest first.
    async fn job_log_list(&self, id: JobId) -> Result<Vec<JobLog>, StoreError>;

    /// Deletes up to `params.limit` finished jobs (completed or cancelled) that
    /// finished before `params.finished_before`, oldest first, with their log lines.
    /// Open jobs are never deleted. Rows another caller is deleting are skipped, so
    /// replicas pruning at once do not wait for each other. Returns how many jobs were
    /// deleted.
    ///
    /// A pruned completed job no longer guards its occurrence against a second action
    /// (the "one completion per occurrence" rule); the engine therefore never schedules
    /// an occurrence older than its retention period (`Config::retention`).
    async fn job_prune(&self, params: JobPruneParams) -> Result<usize, StoreError>;

    /// Counts by state, the next due jobs and the oldest running one.
    async fn job_stats(&self, params: JobStatsParams) -> Result<JobStats, StoreError>;

    /// A counter that moves whenever a job may have become claimable sooner (inserted,
    /// moved, released, rescued, or its workspace freed), seen by every engine sharing
    /// the store. `None` if the store cannot tell; engines then rely on their own
    /// wake-ups and `Config::poll_interval`.
    fn job_changes(&self) -> Option<watch::Receiver<u64>> {
        None
    }
}

/// A shared store: engines in one process (or a test's several engines) share one
/// table through an `Arc`.
#[async_trait]
impl<S: JobStore + ?Sized> JobStore for Arc<S> {
    async fn job_insert(&self, params: JobInsertParams) -> Result<Vec<Job>, StoreError> {
        (**self).job_insert(params).await
    }
    async fn job_log_insert(&self, params: JobLogInsertParams) -> Result<usize, StoreError> {
        (**self).job_log_insert(params).await
    }
    async fn job_claim(&self, params: JobClaimParams) -> Result<Vec<Job>, StoreError> {
        (**self).job_claim(params).await
    }
    async fn job_reschedule(
        &self,
        params: JobRescheduleParams,
    ) -> Result<Vec<(JobId, Rescheduled)>, StoreError> {
        (**self).job_reschedule(params).await
    }
    async fn job_cancel(&self, params: JobCancelParams) -> Result<Vec<JobId>, StoreError> {
        (**self).job_cancel(params).await
    }
    async fn job_complete(&self, params: JobCompleteParams) -> Result<Job, StoreError> {
        (**self).job_complete(params).await
    }
    async fn job_complete_batch(
        &self,
        params: Vec<JobCompleteParams>,
    ) -> Result<Vec<Result<Job, StoreError>>, StoreError> {
        (**self).job_complete_batch(params).await
    }
    async fn job_retry(&self, params: JobRetryParams) -> Result<Job, StoreError> {
        (**self).job_retry(params).await
    }
    async fn job_renew_lease(
        &self,
        params: JobRenewLeaseParams,
    ) -> Result<DateTime<Utc>, StoreError> {
        (**self).job_renew_lease(params).await
    }
    async fn job_rescue(&self, now: DateTime<Utc>) -> Result<Vec<Job>, StoreError> {
        (**self).job_rescue(now).await
    }
    async fn job_list_open(&self, range: WorkspaceRange) -> Result<Vec<Job>, StoreError> {
        (**self).job_list_open(range).await
    }
    async fn job_next_due(
        &self,
        after: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        (**self).job_next_due(after).await
    }
    async fn job_get(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        (**self).job_get(id).await
    }
    async fn job_list(&self, params: JobListParams) -> Result<Vec<Job>, StoreError> {
        (**self).job_list(params).await
    }
    async fn job_log_list(&self, id: JobId) -> Result<Vec<JobLog>, StoreError> {
        (**self).job_log_list(id).await
    }
    async fn job_prune(&self, params: JobPruneParams) -> Result<usize, StoreError> {
        (**self).job_prune(params).await
    }
    async fn job_stats(&self, params: JobStatsParams) -> Result<JobStats, StoreError> {
        (**self).job_stats(params).await
    }
    fn job_changes(&self) -> Option<watch::Receiver<u64>> {
        (**self).job_changes()
    }
}
