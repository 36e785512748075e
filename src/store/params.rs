//! The values [`JobStore`](super::JobStore) methods take and return: one `...Params`
//! struct per method, so a method can grow a field without breaking callers, and the
//! items of the batch methods. Each method's documentation shows them in use.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::StoreError;
use crate::ids::{ExecutorId, JobId, WorkspaceId};
use crate::job::{
    deadline_supported, Job, JobState, LogLine, Operation, EARLIEST_DEADLINE, LATEST_DEADLINE,
};

/// Refuses a deadline or `run_at` outside the range every store holds
/// ([`EARLIEST_DEADLINE`]..=[`LATEST_DEADLINE`]), so both stores answer out-of-range
/// times alike instead of one storing what the other cannot.
fn check_time(what: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
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

/// Parameters of [`JobStore::job_insert`](super::JobStore::job_insert).
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

/// Parameters of [`JobStore::job_log_insert`](super::JobStore::job_log_insert).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobLogInsertParams {
    /// The lines to add.
    pub logs: Vec<NewJobLog>,
    /// The lines' time.
    pub now: DateTime<Utc>,
}

/// Parameters of [`JobStore::job_claim`](super::JobStore::job_claim).
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

/// Parameters of [`JobStore::job_reschedule`](super::JobStore::job_reschedule).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRescheduleParams {
    /// The moves.
    pub jobs: Vec<JobReschedule>,
    /// The engine's now.
    pub now: DateTime<Utc>,
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

/// Parameters of [`JobStore::job_cancel`](super::JobStore::job_cancel).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobCancelParams {
    /// The cancellations.
    pub jobs: Vec<JobCancel>,
    /// `cancelled_at`.
    pub now: DateTime<Utc>,
}

/// Parameters of [`JobStore::job_complete`](super::JobStore::job_complete).
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

/// One running job to complete in [`JobStore::job_complete_batch`](super::JobStore::job_complete_batch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobComplete {
    /// The job.
    pub id: JobId,
    /// The attempt that holds it (the fence).
    pub attempt: u32,
    /// `Some` when the job failed for good: its last failed attempt, counted in
    /// `failed_attempts` like the earlier ones.
    pub error: Option<String>,
    /// Lines logged with the completion.
    pub logs: Vec<LogLine>,
}

/// Parameters of [`JobStore::job_complete_batch`](super::JobStore::job_complete_batch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobCompleteBatchParams {
    /// The completions.
    pub jobs: Vec<JobComplete>,
    /// `completed_at` of every job in the batch.
    pub now: DateTime<Utc>,
}

/// Parameters of [`JobStore::job_retry`](super::JobStore::job_retry).
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

/// Parameters of [`JobStore::job_renew_lease`](super::JobStore::job_renew_lease).
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

/// Parameters of [`JobStore::job_rescue`](super::JobStore::job_rescue).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRescueParams {
    /// The engine's now: leases that expired at or before it are rescued, and the
    /// rescued jobs are due at it.
    pub now: DateTime<Utc>,
}

/// Parameters of [`JobStore::job_next_due`](super::JobStore::job_next_due).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobNextDueParams {
    /// The engine's now: only times strictly after it count (what is due at or before
    /// it is the claim's business).
    pub now: DateTime<Utc>,
}

/// Which workspaces' jobs [`JobStore::job_list_open`](super::JobStore::job_list_open)
/// returns.
///
/// ```
/// use workspace_lifecycle::{WorkspaceId, WorkspaceRange};
///
/// let id = |n| WorkspaceId(uuid::Uuid::from_u128(n));
/// // The page `Workspaces::list(Some(id(1)), 2)` returned: ids 2 and 3.
/// let page = WorkspaceRange::Page { after: Some(id(1)), through: Some(id(3)) };
/// assert!(page.contains(id(2)) && page.contains(id(3)));
/// assert!(!page.contains(id(1)) && !page.contains(id(4)));
/// ```
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
    ///
    /// ```
    /// use workspace_lifecycle::{WorkspaceId, WorkspaceRange};
    ///
    /// assert!(WorkspaceRange::ALL.contains(WorkspaceId(uuid::Uuid::nil())));
    /// assert!(WorkspaceRange::ALL.contains(WorkspaceId(uuid::Uuid::max())));
    /// ```
    pub const ALL: WorkspaceRange = WorkspaceRange::Page {
        after: None,
        through: None,
    };

    /// Whether `id` lies in the range.
    ///
    /// ```
    /// use workspace_lifecycle::{WorkspaceId, WorkspaceRange};
    ///
    /// let (a, b) = (WorkspaceId(uuid::Uuid::from_u128(1)), WorkspaceId(uuid::Uuid::from_u128(2)));
    /// assert!(WorkspaceRange::One(a).contains(a) && !WorkspaceRange::One(a).contains(b));
    /// let last_page = WorkspaceRange::Page { after: Some(a), through: None };
    /// assert!(last_page.contains(b) && !last_page.contains(a));
    /// ```
    pub fn contains(&self, id: WorkspaceId) -> bool {
        match *self {
            WorkspaceRange::One(one) => id == one,
            WorkspaceRange::Page { after, through } => {
                after.is_none_or(|a| id > a) && through.is_none_or(|t| id <= t)
            }
        }
    }
}

/// Parameters of [`JobStore::job_prune`](super::JobStore::job_prune).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobPruneParams {
    /// Finished jobs (completed or cancelled) whose `completed_at` or `cancelled_at` is
    /// before this are deleted, with their log lines.
    pub finished_before: DateTime<Utc>,
    /// The most jobs one call deletes: a bounded batch, so no lock is held long. Call
    /// again while a call deletes `limit` jobs.
    pub limit: usize,
}

/// Parameters of [`JobStoreAdmin::job_list`](super::JobStoreAdmin::job_list).
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

/// Parameters of [`JobStoreAdmin::job_stats`](super::JobStoreAdmin::job_stats).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobStatsParams {
    /// The engine's (or operator's) now: leases that expired at or before it count as
    /// expired.
    pub now: DateTime<Utc>,
    /// How many of the next pending jobs to return.
    pub next: usize,
}

/// What [`JobStoreAdmin::job_stats`](super::JobStoreAdmin::job_stats) reports: the job
/// table at a glance, for operators.
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
