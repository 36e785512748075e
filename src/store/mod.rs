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
///
/// ```
/// use workspace_lifecycle::{JobInsertParams, JobStore, LogLine, NewJob, Operation};
/// # use std::time::Duration;
/// # use workspace_lifecycle::*;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let store = InMemoryStore::new();
/// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
/// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
///
/// let deadline = now + chrono::TimeDelta::hours(10);
/// let lead = chrono::TimeDelta::minutes(10); // booting takes a while
/// let start = NewJob {
///     workspace_id: ws,
///     operation: Operation::Start,
///     deadline,
///     run_at: Some(deadline - lead),
///     log: Some(LogLine::info("auto-start scheduled")),
/// };
/// let job = store.job_insert(JobInsertParams { jobs: vec![start], now }).await.unwrap().remove(0);
/// assert_eq!((job.deadline, job.run_at), (deadline, deadline - lead));
/// # });
/// ```
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
///
/// ```
/// use workspace_lifecycle::{JobInsertParams, JobStore, NewJob, Operation, WorkspaceId};
/// # use std::time::Duration;
/// # use workspace_lifecycle::*;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let store = InMemoryStore::new();
/// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
/// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
///
/// let stop = |n| NewJob {
///     workspace_id: WorkspaceId(uuid::Uuid::from_u128(n)),
///     operation: Operation::Stop,
///     deadline: now + chrono::TimeDelta::hours(10),
///     run_at: None,
///     log: None,
/// };
/// let params = JobInsertParams { jobs: vec![stop(1), stop(2)], now };
/// let created = store.job_insert(params).await.unwrap();
/// assert_eq!(created.len(), 2);
/// assert!(created.iter().all(|job| job.created_at == now && job.updated_at == now));
/// # });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobInsertParams {
    /// The jobs to create.
    pub jobs: Vec<NewJob>,
    /// The engine's now: `created_at`, `updated_at` and the log line's time.
    pub now: DateTime<Utc>,
}

/// One log line to add.
///
/// ```
/// use workspace_lifecycle::{JobLogInsertParams, JobStore, LogLine, NewJobLog};
/// # use std::time::Duration;
/// # use workspace_lifecycle::*;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let store = InMemoryStore::new();
/// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
/// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
/// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
/// #     run_at: None, log: Some(LogLine::info("created")) };
/// # let insert = JobInsertParams { jobs: vec![stop], now };
/// # let job = store.job_insert(insert).await.unwrap().remove(0);
/// # let claim = JobClaimParams { now, limit: 10, lease: Duration::from_secs(60),
/// #     executor: ExecutorId::random() };
/// # let job = store.job_claim(claim).await.unwrap().remove(0);
///
/// let line = LogLine::info("stopping");
/// let mine = NewJobLog { job_id: job.id, attempt: Some(job.attempt), line };
/// let stale = NewJobLog { attempt: Some(job.attempt - 1), ..mine.clone() };
/// let logs = vec![mine, stale];
/// assert_eq!(store.job_log_insert(JobLogInsertParams { logs, now }).await.unwrap(), 1);
/// # });
/// ```
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
///
/// ```
/// use workspace_lifecycle::{JobLogInsertParams, JobStore, LogLine, NewJobLog};
/// # use std::time::Duration;
/// # use workspace_lifecycle::*;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let store = InMemoryStore::new();
/// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
/// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
/// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
/// #     run_at: None, log: Some(LogLine::info("created")) };
/// # let insert = JobInsertParams { jobs: vec![stop], now };
/// # let job = store.job_insert(insert).await.unwrap().remove(0);
///
/// let later = now + chrono::TimeDelta::minutes(1);
/// let logs = vec![NewJobLog { job_id: job.id, attempt: None, line: LogLine::info("moved") }];
/// store.job_log_insert(JobLogInsertParams { logs, now: later }).await.unwrap();
/// assert_eq!(store.job_log_list(job.id).await.unwrap()[1].created_at, later);
/// # });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobLogInsertParams {
    /// The lines to add.
    pub logs: Vec<NewJobLog>,
    /// The lines' time.
    pub now: DateTime<Utc>,
}

/// Parameters of [`JobStore::job_claim`].
///
/// ```
/// use std::time::Duration;
/// use workspace_lifecycle::{ExecutorId, JobClaimParams, JobStore};
/// # use workspace_lifecycle::*;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let store = InMemoryStore::new();
/// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
/// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
/// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
/// #     run_at: None, log: Some(LogLine::info("created")) };
/// # let insert = JobInsertParams { jobs: vec![stop], now };
/// # let job = store.job_insert(insert).await.unwrap().remove(0);
///
/// let executor = ExecutorId::random();
/// let claim = JobClaimParams { now, limit: 10, lease: Duration::from_secs(60), executor };
/// let claimed = store.job_claim(claim).await.unwrap();
/// assert_eq!(claimed[0].claimed_by, Some(executor));
/// assert_eq!(claimed[0].lease_expires_at, Some(now + chrono::TimeDelta::seconds(60)));
/// # });
/// ```
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
///
/// ```
/// use workspace_lifecycle::{JobReschedule, JobRescheduleParams, JobStore};
/// # use std::time::Duration;
/// # use workspace_lifecycle::*;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let store = InMemoryStore::new();
/// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
/// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
/// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
/// #     run_at: None, log: Some(LogLine::info("created")) };
/// # let insert = JobInsertParams { jobs: vec![stop], now };
/// # let job = store.job_insert(insert).await.unwrap().remove(0);
///
/// let deadline = now + chrono::TimeDelta::hours(2);
/// let run_at = Some(deadline - chrono::TimeDelta::minutes(5));
/// let change = JobReschedule { id: job.id, deadline, run_at, log: None };
/// store.job_reschedule(JobRescheduleParams { jobs: vec![change], now }).await.unwrap();
/// let moved = store.job_get(job.id).await.unwrap().unwrap();
/// assert_eq!((moved.deadline, Some(moved.run_at)), (deadline, run_at));
/// # });
/// ```
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
///
/// ```
/// use workspace_lifecycle::{JobId, JobReschedule, JobRescheduleParams, JobStore, Rescheduled};
/// # use std::time::Duration;
/// # use workspace_lifecycle::*;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let store = InMemoryStore::new();
/// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
/// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
/// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
/// #     run_at: None, log: Some(LogLine::info("created")) };
/// # let insert = JobInsertParams { jobs: vec![stop], now };
/// # let job = store.job_insert(insert).await.unwrap().remove(0);
///
/// let (later, unknown) = (now + chrono::TimeDelta::hours(2), JobId(uuid::Uuid::from_u128(99)));
/// let jobs = vec![
///     JobReschedule { id: job.id, deadline: later, run_at: None, log: None },
///     JobReschedule { id: unknown, deadline: later, run_at: None, log: None },
/// ];
/// let results = store.job_reschedule(JobRescheduleParams { jobs, now }).await.unwrap();
/// assert_eq!(results, [(job.id, Rescheduled::Moved), (unknown, Rescheduled::NotPending)]);
/// # });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRescheduleParams {
    /// The moves.
    pub jobs: Vec<JobReschedule>,
    /// The engine's now.
    pub now: DateTime<Utc>,
}

/// What became of one move in [`JobStore::job_reschedule`].
///
/// ```
/// use workspace_lifecycle::{JobReschedule, JobRescheduleParams, JobStore, Rescheduled};
/// # use std::time::Duration;
/// # use workspace_lifecycle::*;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let store = InMemoryStore::new();
/// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
/// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
/// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
/// #     run_at: None, log: Some(LogLine::info("created")) };
/// # let insert = JobInsertParams { jobs: vec![stop], now };
/// # let job = store.job_insert(insert).await.unwrap().remove(0);
/// # let claim = JobClaimParams { now, limit: 10, lease: Duration::from_secs(60),
/// #     executor: ExecutorId::random() };
/// # let job = store.job_claim(claim).await.unwrap().remove(0);
/// # let done = JobCompleteParams { id: job.id, attempt: job.attempt, now, error: None,
/// #     logs: vec![] };
/// # store.job_complete(done).await.unwrap();
/// # let next = NewJob { workspace_id: ws, operation: Operation::Stop,
/// #     deadline: now + chrono::TimeDelta::days(1), run_at: None, log: None };
/// # let next = JobInsertParams { jobs: vec![next], now };
/// # let next = store.job_insert(next).await.unwrap().remove(0);
///
/// // The stop at `now` is completed: a job moved back onto it must not act again.
/// let back = JobReschedule { id: next.id, deadline: now, run_at: None, log: None };
/// let params = JobRescheduleParams { jobs: vec![back], now };
/// let results = store.job_reschedule(params).await.unwrap();
/// assert_eq!(results, [(next.id, Rescheduled::OccurrenceTaken)]);
/// # });
/// ```
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
///
/// ```
/// use workspace_lifecycle::{JobCancel, JobCancelParams, JobStore};
/// # use std::time::Duration;
/// # use workspace_lifecycle::*;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let store = InMemoryStore::new();
/// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
/// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
/// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
/// #     run_at: None, log: Some(LogLine::info("created")) };
/// # let insert = JobInsertParams { jobs: vec![stop], now };
/// # let job = store.job_insert(insert).await.unwrap().remove(0);
/// # let claim = JobClaimParams { now, limit: 10, lease: Duration::from_secs(60),
/// #     executor: ExecutorId::random() };
/// # let job = store.job_claim(claim).await.unwrap().remove(0);
///
/// let cancel = |attempt| JobCancelParams {
///     jobs: vec![JobCancel { id: job.id, attempt, log: None }],
///     now,
/// };
/// assert!(store.job_cancel(cancel(None)).await.unwrap().is_empty()); // running, not pending
/// assert_eq!(store.job_cancel(cancel(Some(job.attempt))).await.unwrap(), [job.id]);
/// # });
/// ```
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
///
/// ```
/// use workspace_lifecycle::{JobCancel, JobCancelParams, JobState, JobStore, LogLine};
/// # use std::time::Duration;
/// # use workspace_lifecycle::*;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let store = InMemoryStore::new();
/// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
/// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
/// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
/// #     run_at: None, log: Some(LogLine::info("created")) };
/// # let insert = JobInsertParams { jobs: vec![stop], now };
/// # let job = store.job_insert(insert).await.unwrap().remove(0);
///
/// let why = LogLine::info("cancelled: the auto-stop was removed");
/// let jobs = vec![JobCancel { id: job.id, attempt: None, log: Some(why) }];
/// store.job_cancel(JobCancelParams { jobs, now }).await.unwrap();
/// let job = store.job_get(job.id).await.unwrap().unwrap();
/// assert_eq!((job.state(), job.cancelled_at), (JobState::Cancelled, Some(now)));
/// # });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobCancelParams {
    /// The cancellations.
    pub jobs: Vec<JobCancel>,
    /// `cancelled_at`.
    pub now: DateTime<Utc>,
}

/// Parameters of [`JobStore::job_complete`].
///
/// ```
/// use workspace_lifecycle::{JobCompleteParams, JobState, JobStore, LogLine};
/// # use std::time::Duration;
/// # use workspace_lifecycle::*;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let store = InMemoryStore::new();
/// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
/// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
/// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
/// #     run_at: None, log: Some(LogLine::info("created")) };
/// # let insert = JobInsertParams { jobs: vec![stop], now };
/// # let job = store.job_insert(insert).await.unwrap().remove(0);
/// # let claim = JobClaimParams { now, limit: 10, lease: Duration::from_secs(60),
/// #     executor: ExecutorId::random() };
/// # let job = store.job_claim(claim).await.unwrap().remove(0);
///
/// let failed = JobCompleteParams {
///     id: job.id,
///     attempt: job.attempt,
///     now,
///     error: Some("quota exceeded".into()),
///     logs: vec![LogLine::error("failed for good: quota exceeded")],
/// };
/// let job = store.job_complete(failed).await.unwrap();
/// assert_eq!((job.state(), job.failed_attempts), (JobState::Completed, 1));
/// assert_eq!(job.error.as_deref(), Some("quota exceeded"));
/// # });
/// ```
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
///
/// ```
/// use workspace_lifecycle::{JobRetryParams, JobState, JobStore, LogLine};
/// # use std::time::Duration;
/// # use workspace_lifecycle::*;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let store = InMemoryStore::new();
/// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
/// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
/// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
/// #     run_at: None, log: Some(LogLine::info("created")) };
/// # let insert = JobInsertParams { jobs: vec![stop], now };
/// # let job = store.job_insert(insert).await.unwrap().remove(0);
/// # let claim = JobClaimParams { now, limit: 10, lease: Duration::from_secs(60),
/// #     executor: ExecutorId::random() };
/// # let job = store.job_claim(claim).await.unwrap().remove(0);
///
/// let run_at = now + chrono::TimeDelta::seconds(15);
/// let release = JobRetryParams {
///     id: job.id,
///     attempt: job.attempt,
///     now,
///     run_at,
///     error: None, // the workspace was mid-transition: not a failure
///     logs: vec![LogLine::info("workspace is stopping; trying again in 15s")],
/// };
/// let job = store.job_retry(release).await.unwrap();
/// assert_eq!((job.state(), job.run_at, job.failed_attempts), (JobState::Pending, run_at, 0));
/// # });
/// ```
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
///
/// ```
/// use std::time::Duration;
/// use workspace_lifecycle::{JobRenewLeaseParams, JobStore};
/// # use workspace_lifecycle::*;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let store = InMemoryStore::new();
/// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
/// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
/// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
/// #     run_at: None, log: Some(LogLine::info("created")) };
/// # let insert = JobInsertParams { jobs: vec![stop], now };
/// # let job = store.job_insert(insert).await.unwrap().remove(0);
/// # let claim = JobClaimParams { now, limit: 10, lease: Duration::from_secs(60),
/// #     executor: ExecutorId::random() };
/// # let job = store.job_claim(claim).await.unwrap().remove(0);
///
/// let later = now + chrono::TimeDelta::seconds(20);
/// let lease = Duration::from_secs(60);
/// let renew = JobRenewLeaseParams { id: job.id, attempt: job.attempt, now: later, lease };
/// let expires = store.job_renew_lease(renew).await.unwrap();
/// assert_eq!(expires, later + chrono::TimeDelta::seconds(60));
/// # });
/// ```
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

/// Parameters of [`JobStore::job_list`].
///
/// ```
/// use workspace_lifecycle::{JobListParams, JobState, JobStore, Operation};
/// # use std::time::Duration;
/// # use workspace_lifecycle::*;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let store = InMemoryStore::new();
/// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
/// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
/// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
/// #     run_at: None, log: Some(LogLine::info("created")) };
/// # let insert = JobInsertParams { jobs: vec![stop], now };
/// # let job = store.job_insert(insert).await.unwrap().remove(0);
///
/// assert_eq!(store.job_list(JobListParams::default()).await.unwrap().len(), 1);
/// let starts = JobListParams { operation: Some(Operation::Start), ..JobListParams::default() };
/// assert!(store.job_list(starts).await.unwrap().is_empty());
/// let pending = JobListParams { state: Some(JobState::Pending), ..JobListParams::default() };
/// assert_eq!(store.job_list(pending).await.unwrap()[0].id, job.id);
/// # });
/// ```
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
///
/// ```
/// use workspace_lifecycle::{JobPruneParams, JobStore};
/// # use std::time::Duration;
/// # use workspace_lifecycle::*;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let store = InMemoryStore::new();
/// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
/// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
/// # let stop = |n| NewJob { workspace_id: WorkspaceId(uuid::Uuid::from_u128(n)),
/// #     operation: Operation::Stop, deadline: now, run_at: None, log: None };
/// # let insert = JobInsertParams { jobs: vec![stop(1), stop(2)], now };
/// # let jobs = store.job_insert(insert).await.unwrap();
/// # let jobs = jobs.iter().map(|j| JobCancel { id: j.id, attempt: None, log: None }).collect();
/// # store.job_cancel(JobCancelParams { jobs, now }).await.unwrap();
///
/// // Two jobs finished at `now`; a batch of one leaves the other to the next call.
/// let prune = JobPruneParams { finished_before: now + chrono::TimeDelta::seconds(1), limit: 1 };
/// assert_eq!(store.job_prune(prune.clone()).await.unwrap(), 1);
/// assert_eq!(store.job_prune(prune.clone()).await.unwrap(), 1);
/// assert_eq!(store.job_prune(prune).await.unwrap(), 0);
/// # });
/// ```
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
///
/// ```
/// use workspace_lifecycle::{JobStatsParams, JobStore};
/// # use std::time::Duration;
/// # use workspace_lifecycle::*;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let store = InMemoryStore::new();
/// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
/// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
/// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
/// #     run_at: None, log: Some(LogLine::info("created")) };
/// # let insert = JobInsertParams { jobs: vec![stop], now };
/// # let job = store.job_insert(insert).await.unwrap().remove(0);
/// # let claim = JobClaimParams { now, limit: 10, lease: Duration::from_secs(60),
/// #     executor: ExecutorId::random() };
/// # let job = store.job_claim(claim).await.unwrap().remove(0);
///
/// // The job was claimed at `now` with a 60 s lease.
/// let stats = store.job_stats(JobStatsParams { now, next: 5 }).await.unwrap();
/// assert_eq!((stats.running, stats.expired_leases), (1, 0));
/// let later = JobStatsParams { now: now + chrono::TimeDelta::seconds(60), next: 5 };
/// assert_eq!(store.job_stats(later).await.unwrap().expired_leases, 1);
/// # });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobStatsParams {
    /// The engine's (or operator's) now: leases that expired at or before it count as
    /// expired.
    pub now: DateTime<Utc>,
    /// How many of the next pending jobs to return.
    pub next: usize,
}

/// What [`JobStore::job_stats`] reports: the job table at a glance, for operators.
///
/// ```
/// use workspace_lifecycle::{JobStatsParams, JobStore};
/// # use std::time::Duration;
/// # use workspace_lifecycle::*;
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let store = InMemoryStore::new();
/// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
/// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
/// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
/// #     run_at: None, log: Some(LogLine::info("created")) };
/// # let insert = JobInsertParams { jobs: vec![stop], now };
/// # let job = store.job_insert(insert).await.unwrap().remove(0);
///
/// let stats = store.job_stats(JobStatsParams { now, next: 5 }).await.unwrap();
/// assert_eq!((stats.pending, stats.running, stats.completed, stats.cancelled), (1, 0, 0, 0));
/// assert_eq!(stats.next_due[0].id, job.id);
/// assert!(stats.oldest_running.is_none());
/// # });
/// ```
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
///
/// ```
/// use std::sync::Arc;
/// use workspace_lifecycle::{InMemoryStore, JobStore, WorkspaceRange};
///
/// async fn open_jobs(store: &impl JobStore) -> usize {
///     store.job_list_open(WorkspaceRange::ALL).await.unwrap().len()
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # use workspace_lifecycle::*;
/// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
/// let store = Arc::new(InMemoryStore::new());
/// let shared = store.clone(); // engines in one process share a table through an `Arc`
/// # let stop = NewJob { workspace_id: WorkspaceId(uuid::Uuid::from_u128(1)),
/// #     operation: Operation::Stop, deadline: now, run_at: None, log: None };
/// # store.job_insert(JobInsertParams { jobs: vec![stop], now }).await.unwrap();
/// assert_eq!(open_jobs(&shared).await, 1);
/// # });
/// ```
#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Creates jobs, skipping those the uniqueness rules forbid; returns the created
    /// ones. Each created job gets its `log` line.
    ///
    /// ```
    /// use workspace_lifecycle::{JobInsertParams, JobStore, NewJob, Operation};
    /// # use std::time::Duration;
    /// # use workspace_lifecycle::*;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let store = InMemoryStore::new();
    /// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
    /// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
    ///
    /// let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
    ///     run_at: None, log: None };
    /// let params = JobInsertParams { jobs: vec![stop.clone()], now };
    /// assert_eq!(store.job_insert(params).await.unwrap().len(), 1);
    /// // The workspace already has an open stop job: a second one is skipped, not an error.
    /// let later = NewJob { deadline: now + chrono::TimeDelta::hours(1), ..stop };
    /// let params = JobInsertParams { jobs: vec![later], now };
    /// assert!(store.job_insert(params).await.unwrap().is_empty());
    /// # });
    /// ```
    async fn job_insert(&self, params: JobInsertParams) -> Result<Vec<Job>, StoreError>;

    /// Adds log lines; fenced lines whose attempt no longer holds the job, and lines of
    /// unknown jobs, are dropped. Returns how many were written.
    ///
    /// ```
    /// use workspace_lifecycle::{JobLogInsertParams, JobStore, LogLine, NewJobLog};
    /// # use std::time::Duration;
    /// # use workspace_lifecycle::*;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let store = InMemoryStore::new();
    /// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
    /// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
    /// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
    /// #     run_at: None, log: Some(LogLine::info("created")) };
    /// # let insert = JobInsertParams { jobs: vec![stop], now };
    /// # let job = store.job_insert(insert).await.unwrap().remove(0);
    ///
    /// // The job is pending, so no attempt holds it: the fenced line is dropped.
    /// let logs = vec![
    ///     NewJobLog { job_id: job.id, attempt: None, line: LogLine::info("auto-stop moved") },
    ///     NewJobLog { job_id: job.id, attempt: Some(1), line: LogLine::info("stopping") },
    /// ];
    /// assert_eq!(store.job_log_insert(JobLogInsertParams { logs, now }).await.unwrap(), 1);
    /// # });
    /// ```
    async fn job_log_insert(&self, params: JobLogInsertParams) -> Result<usize, StoreError>;

    /// Claims up to `limit` due jobs (see the contract). Returns them as claimed.
    ///
    /// ```
    /// use std::time::Duration;
    /// use workspace_lifecycle::{ExecutorId, JobClaimParams, JobState, JobStore};
    /// # use workspace_lifecycle::*;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let store = InMemoryStore::new();
    /// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
    /// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
    /// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
    /// #     run_at: None, log: Some(LogLine::info("created")) };
    /// # let insert = JobInsertParams { jobs: vec![stop], now };
    /// # let job = store.job_insert(insert).await.unwrap().remove(0);
    ///
    /// let claim = JobClaimParams { now, limit: 10, lease: Duration::from_secs(60),
    ///     executor: ExecutorId::random() };
    /// let early = JobClaimParams { now: now - chrono::TimeDelta::seconds(1), ..claim.clone() };
    /// assert!(store.job_claim(early).await.unwrap().is_empty()); // not due yet
    /// let claimed = store.job_claim(claim.clone()).await.unwrap();
    /// assert_eq!((claimed[0].state(), claimed[0].attempt), (JobState::Running, 1));
    /// assert!(store.job_claim(claim).await.unwrap().is_empty()); // claimed once only
    /// # });
    /// ```
    async fn job_claim(&self, params: JobClaimParams) -> Result<Vec<Job>, StoreError>;

    /// Moves pending jobs to new deadlines (resetting `run_at`, `failed_attempts` and
    /// `error`, since a new occurrence starts fresh). One result per move, in order.
    ///
    /// ```
    /// use workspace_lifecycle::{JobReschedule, JobRescheduleParams, JobStore, Rescheduled};
    /// # use std::time::Duration;
    /// # use workspace_lifecycle::*;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let store = InMemoryStore::new();
    /// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
    /// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
    /// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
    /// #     run_at: None, log: Some(LogLine::info("created")) };
    /// # let insert = JobInsertParams { jobs: vec![stop], now };
    /// # let job = store.job_insert(insert).await.unwrap().remove(0);
    /// # let claim = JobClaimParams { now, limit: 10, lease: Duration::from_secs(60),
    /// #     executor: ExecutorId::random() };
    /// # let job = store.job_claim(claim).await.unwrap().remove(0);
    /// # let retry = JobRetryParams { id: job.id, attempt: job.attempt, now,
    /// #     run_at: now + chrono::TimeDelta::minutes(1), error: Some("timeout".into()),
    /// #     logs: vec![] };
    /// # let job = store.job_retry(retry).await.unwrap();
    ///
    /// assert_eq!((job.failed_attempts, job.error.as_deref()), (1, Some("timeout")));
    /// let later = now + chrono::TimeDelta::hours(1);
    /// let change = JobReschedule { id: job.id, deadline: later, run_at: None, log: None };
    /// let params = JobRescheduleParams { jobs: vec![change], now };
    /// let results = store.job_reschedule(params).await.unwrap();
    /// assert_eq!(results, [(job.id, Rescheduled::Moved)]);
    /// let moved = store.job_get(job.id).await.unwrap().unwrap();
    /// assert_eq!((moved.run_at, moved.failed_attempts, moved.error), (later, 0, None));
    /// # });
    /// ```
    async fn job_reschedule(
        &self,
        params: JobRescheduleParams,
    ) -> Result<Vec<(JobId, Rescheduled)>, StoreError>;

    /// Cancels jobs (see [`JobCancel::attempt`]); returns the ids actually cancelled.
    ///
    /// ```
    /// use workspace_lifecycle::{JobCancel, JobCancelParams, JobStore};
    /// # use std::time::Duration;
    /// # use workspace_lifecycle::*;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let store = InMemoryStore::new();
    /// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
    /// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
    /// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
    /// #     run_at: None, log: Some(LogLine::info("created")) };
    /// # let insert = JobInsertParams { jobs: vec![stop], now };
    /// # let job = store.job_insert(insert).await.unwrap().remove(0);
    ///
    /// let jobs = vec![JobCancel { id: job.id, attempt: None, log: None }];
    /// let cancel = JobCancelParams { jobs, now };
    /// assert_eq!(store.job_cancel(cancel.clone()).await.unwrap(), [job.id]);
    /// assert!(store.job_cancel(cancel).await.unwrap().is_empty()); // no longer pending
    /// # });
    /// ```
    async fn job_cancel(&self, params: JobCancelParams) -> Result<Vec<JobId>, StoreError>;

    /// Completes a running job, with an error if it failed for good.
    ///
    /// ```
    /// use workspace_lifecycle::{JobCompleteParams, JobState, JobStore, StoreError};
    /// # use std::time::Duration;
    /// # use workspace_lifecycle::*;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let store = InMemoryStore::new();
    /// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
    /// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
    /// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
    /// #     run_at: None, log: Some(LogLine::info("created")) };
    /// # let insert = JobInsertParams { jobs: vec![stop], now };
    /// # let job = store.job_insert(insert).await.unwrap().remove(0);
    /// # let claim = JobClaimParams { now, limit: 10, lease: Duration::from_secs(60),
    /// #     executor: ExecutorId::random() };
    /// # let job = store.job_claim(claim).await.unwrap().remove(0);
    ///
    /// let complete = JobCompleteParams { id: job.id, attempt: job.attempt, now, error: None,
    ///     logs: vec![] };
    /// let job = store.job_complete(complete.clone()).await.unwrap();
    /// assert_eq!(job.state(), JobState::Completed);
    /// // The attempt no longer holds the job: a repeated write changes nothing.
    /// assert!(matches!(store.job_complete(complete).await, Err(StoreError::LeaseLost { .. })));
    /// # });
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
    /// use workspace_lifecycle::{JobCompleteParams, JobStore, StoreError};
    /// # use std::time::Duration;
    /// # use workspace_lifecycle::*;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let store = InMemoryStore::new();
    /// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
    /// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
    /// # let stop = |n| NewJob { workspace_id: WorkspaceId(uuid::Uuid::from_u128(n)),
    /// #     operation: Operation::Stop, deadline: now, run_at: None, log: None };
    /// # store.job_insert(JobInsertParams { jobs: vec![stop(1), stop(2)], now }).await.unwrap();
    /// # let claim = JobClaimParams { now, limit: 10, lease: Duration::from_secs(60),
    /// #     executor: ExecutorId::random() };
    /// # let [a, b]: [Job; 2] = store.job_claim(claim).await.unwrap().try_into().unwrap();
    ///
    /// let batch = vec![
    ///     JobCompleteParams { id: a.id, attempt: a.attempt, now, error: None, logs: vec![] },
    ///     JobCompleteParams { id: b.id, attempt: b.attempt + 1, now, error: None, logs: vec![] },
    /// ];
    /// let results = store.job_complete_batch(batch).await.unwrap();
    /// assert!(results[0].is_ok());
    /// assert!(matches!(results[1], Err(StoreError::LeaseLost { .. })));
    /// # });
    /// ```
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
    /// ```
    /// use workspace_lifecycle::{JobRetryParams, JobState, JobStore};
    /// # use std::time::Duration;
    /// # use workspace_lifecycle::*;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let store = InMemoryStore::new();
    /// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
    /// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
    /// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
    /// #     run_at: None, log: Some(LogLine::info("created")) };
    /// # let insert = JobInsertParams { jobs: vec![stop], now };
    /// # let job = store.job_insert(insert).await.unwrap().remove(0);
    /// # let claim = JobClaimParams { now, limit: 10, lease: Duration::from_secs(60),
    /// #     executor: ExecutorId::random() };
    /// # let job = store.job_claim(claim).await.unwrap().remove(0);
    ///
    /// let retry_at = now + chrono::TimeDelta::seconds(10);
    /// let retry = JobRetryParams { id: job.id, attempt: job.attempt, now, run_at: retry_at,
    ///     error: Some("connection reset".into()), logs: vec![] };
    /// let job = store.job_retry(retry).await.unwrap();
    /// assert_eq!((job.state(), job.run_at), (JobState::Pending, retry_at));
    /// assert_eq!((job.failed_attempts, job.error.as_deref()), (1, Some("connection reset")));
    /// # });
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
    /// # use workspace_lifecycle::*;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let store = InMemoryStore::new();
    /// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
    /// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
    /// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
    /// #     run_at: None, log: Some(LogLine::info("created")) };
    /// # let insert = JobInsertParams { jobs: vec![stop], now };
    /// # let job = store.job_insert(insert).await.unwrap().remove(0);
    /// # let claim = JobClaimParams { now, limit: 10, lease: Duration::from_secs(60),
    /// #     executor: ExecutorId::random() };
    /// # let job = store.job_claim(claim).await.unwrap().remove(0);
    ///
    /// let renew = JobRenewLeaseParams { id: job.id, attempt: job.attempt, now,
    ///     lease: Duration::from_secs(90) };
    /// let expires = store.job_renew_lease(renew.clone()).await.unwrap();
    /// assert_eq!(expires, now + chrono::TimeDelta::seconds(90));
    /// let stale = JobRenewLeaseParams { attempt: job.attempt + 1, ..renew };
    /// assert!(matches!(store.job_renew_lease(stale).await, Err(StoreError::LeaseLost { .. })));
    /// # });
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
    /// use workspace_lifecycle::{JobState, JobStore};
    /// # use std::time::Duration;
    /// # use workspace_lifecycle::*;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let store = InMemoryStore::new();
    /// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
    /// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
    /// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
    /// #     run_at: None, log: Some(LogLine::info("created")) };
    /// # let insert = JobInsertParams { jobs: vec![stop], now };
    /// # let job = store.job_insert(insert).await.unwrap().remove(0);
    /// # let claim = JobClaimParams { now, limit: 10, lease: Duration::from_secs(60),
    /// #     executor: ExecutorId::random() };
    /// # let job = store.job_claim(claim).await.unwrap().remove(0);
    ///
    /// // The job was claimed at `now` with a 60 s lease.
    /// assert!(store.job_rescue(now).await.unwrap().is_empty());
    /// let expired = now + chrono::TimeDelta::seconds(60);
    /// let rescued = store.job_rescue(expired).await.unwrap();
    /// assert_eq!(rescued[0].claimed_by, job.claimed_by); // as it was: who lost it
    /// let job = store.job_get(job.id).await.unwrap().unwrap();
    /// assert_eq!((job.state(), job.run_at), (JobState::Pending, expired));
    /// # });
    /// ```
    async fn job_rescue(&self, now: DateTime<Utc>) -> Result<Vec<Job>, StoreError>;

    /// Open (pending or running) jobs of the workspaces in `range`, ordered by
    /// (workspace, operation).
    ///
    /// ```
    /// use workspace_lifecycle::{JobStore, WorkspaceRange};
    /// # use std::time::Duration;
    /// # use workspace_lifecycle::*;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let store = InMemoryStore::new();
    /// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
    /// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
    /// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
    /// #     run_at: None, log: Some(LogLine::info("created")) };
    /// # let insert = JobInsertParams { jobs: vec![stop], now };
    /// # let job = store.job_insert(insert).await.unwrap().remove(0);
    ///
    /// assert_eq!(store.job_list_open(WorkspaceRange::One(ws)).await.unwrap()[0].id, job.id);
    /// let after = WorkspaceRange::Page { after: Some(ws), through: None };
    /// assert!(store.job_list_open(after).await.unwrap().is_empty());
    /// # });
    /// ```
    async fn job_list_open(&self, range: WorkspaceRange) -> Result<Vec<Job>, StoreError>;

    /// When the executor next has something to do after `after`: the earliest
    /// `run_at` of a pending job or `lease_expires_at` of a running one that lies
    /// strictly after `after`. (Jobs due at or before `after` are the claim's business:
    /// the caller has just claimed what it could.)
    ///
    /// ```
    /// use workspace_lifecycle::JobStore;
    /// # use std::time::Duration;
    /// # use workspace_lifecycle::*;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let store = InMemoryStore::new();
    /// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
    /// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
    ///
    /// let due = now + chrono::TimeDelta::hours(1);
    /// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: due,
    /// #     run_at: None, log: None };
    /// # store.job_insert(JobInsertParams { jobs: vec![stop], now }).await.unwrap();
    /// assert_eq!(store.job_next_due(now).await.unwrap(), Some(due));
    /// assert_eq!(store.job_next_due(due).await.unwrap(), None); // strictly after
    /// # });
    /// ```
    async fn job_next_due(&self, after: DateTime<Utc>)
        -> Result<Option<DateTime<Utc>>, StoreError>;

    /// One job.
    ///
    /// ```
    /// use workspace_lifecycle::{JobId, JobStore};
    /// # use std::time::Duration;
    /// # use workspace_lifecycle::*;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let store = InMemoryStore::new();
    /// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
    /// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
    /// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
    /// #     run_at: None, log: Some(LogLine::info("created")) };
    /// # let insert = JobInsertParams { jobs: vec![stop], now };
    /// # let job = store.job_insert(insert).await.unwrap().remove(0);
    ///
    /// assert_eq!(store.job_get(job.id).await.unwrap(), Some(job));
    /// assert_eq!(store.job_get(JobId(uuid::Uuid::from_u128(99))).await.unwrap(), None);
    /// # });
    /// ```
    async fn job_get(&self, id: JobId) -> Result<Option<Job>, StoreError>;

    /// Jobs matching the filters, newest first.
    ///
    /// ```
    /// use workspace_lifecycle::{JobListParams, JobStore};
    /// # use std::time::Duration;
    /// # use workspace_lifecycle::*;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let store = InMemoryStore::new();
    /// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
    /// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
    /// # let stop = |n| NewJob { workspace_id: WorkspaceId(uuid::Uuid::from_u128(n)),
    /// #     operation: Operation::Stop, deadline: now, run_at: None, log: None };
    /// # let first = store.job_insert(JobInsertParams { jobs: vec![stop(1)], now }).await;
    /// # let now = now + chrono::TimeDelta::seconds(1);
    /// # let second = store.job_insert(JobInsertParams { jobs: vec![stop(2)], now }).await;
    /// # let (first, second) = (first.unwrap().remove(0), second.unwrap().remove(0));
    ///
    /// let jobs = store.job_list(JobListParams::default()).await.unwrap();
    /// assert_eq!(jobs.iter().map(|job| job.id).collect::<Vec<_>>(), [second.id, first.id]);
    /// let newest = JobListParams { limit: Some(1), ..JobListParams::default() };
    /// assert_eq!(store.job_list(newest).await.unwrap()[0].id, second.id);
    /// # });
    /// ```
    async fn job_list(&self, params: JobListParams) -> Result<Vec<Job>, StoreError>;

    /// A job's log lines, oldest first.
    ///
    /// ```
    /// use workspace_lifecycle::{JobLogInsertParams, JobStore, LogLine, NewJobLog};
    /// # use std::time::Duration;
    /// # use workspace_lifecycle::*;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let store = InMemoryStore::new();
    /// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
    /// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
    /// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
    /// #     run_at: None, log: Some(LogLine::info("created")) };
    /// # let insert = JobInsertParams { jobs: vec![stop], now };
    /// # let job = store.job_insert(insert).await.unwrap().remove(0);
    ///
    /// let logs = vec![NewJobLog { job_id: job.id, attempt: None, line: LogLine::info("moved") }];
    /// let later = now + chrono::TimeDelta::minutes(1);
    /// store.job_log_insert(JobLogInsertParams { logs, now: later }).await.unwrap();
    /// let lines = store.job_log_list(job.id).await.unwrap();
    /// let outputs: Vec<&str> = lines.iter().map(|line| line.output.as_str()).collect();
    /// assert_eq!(outputs, ["created", "moved"]);
    /// # });
    /// ```
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
    ///
    /// ```
    /// use workspace_lifecycle::{JobCancel, JobCancelParams, JobPruneParams, JobStore};
    /// # use std::time::Duration;
    /// # use workspace_lifecycle::*;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let store = InMemoryStore::new();
    /// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
    /// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
    /// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
    /// #     run_at: None, log: Some(LogLine::info("created")) };
    /// # let insert = JobInsertParams { jobs: vec![stop], now };
    /// # let job = store.job_insert(insert).await.unwrap().remove(0);
    ///
    /// let finished_before = now + chrono::TimeDelta::days(30);
    /// let prune = JobPruneParams { finished_before, limit: 100 };
    /// assert_eq!(store.job_prune(prune.clone()).await.unwrap(), 0); // open jobs stay
    /// let jobs = vec![JobCancel { id: job.id, attempt: None, log: None }];
    /// store.job_cancel(JobCancelParams { jobs, now }).await.unwrap();
    /// assert_eq!(store.job_prune(prune).await.unwrap(), 1);
    /// assert!(store.job_get(job.id).await.unwrap().is_none());
    /// assert!(store.job_log_list(job.id).await.unwrap().is_empty());
    /// # });
    /// ```
    async fn job_prune(&self, params: JobPruneParams) -> Result<usize, StoreError>;

    /// Counts by state, the next due jobs and the oldest running one.
    ///
    /// ```
    /// use workspace_lifecycle::{JobStatsParams, JobStore};
    /// # use std::time::Duration;
    /// # use workspace_lifecycle::*;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let store = InMemoryStore::new();
    /// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
    /// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
    /// # let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
    /// #     run_at: None, log: Some(LogLine::info("created")) };
    /// # let insert = JobInsertParams { jobs: vec![stop], now };
    /// # let job = store.job_insert(insert).await.unwrap().remove(0);
    /// # let claim = JobClaimParams { now, limit: 10, lease: Duration::from_secs(60),
    /// #     executor: ExecutorId::random() };
    /// # let job = store.job_claim(claim).await.unwrap().remove(0);
    ///
    /// let stats = store.job_stats(JobStatsParams { now, next: 10 }).await.unwrap();
    /// assert_eq!((stats.pending, stats.running, stats.expired_leases), (0, 1, 0));
    /// assert_eq!(stats.oldest_running.map(|job| job.id), Some(job.id));
    /// # });
    /// ```
    async fn job_stats(&self, params: JobStatsParams) -> Result<JobStats, StoreError>;

    /// A counter that moves whenever a job may have become claimable sooner (inserted,
    /// moved, released, rescued, or its workspace freed), seen by every engine sharing
    /// the store. `None` if the store cannot tell; engines then rely on their own
    /// wake-ups and `Config::poll_interval`.
    ///
    /// ```
    /// use workspace_lifecycle::{JobInsertParams, JobStore, NewJob, Operation};
    /// # use std::time::Duration;
    /// # use workspace_lifecycle::*;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let store = InMemoryStore::new();
    /// # let now: chrono::DateTime<chrono::Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
    /// # let ws = WorkspaceId(uuid::Uuid::from_u128(1));
    ///
    /// let changes = store.job_changes().expect("the in-memory store reports its changes");
    /// let stop = NewJob { workspace_id: ws, operation: Operation::Stop, deadline: now,
    ///     run_at: None, log: None };
    /// store.job_insert(JobInsertParams { jobs: vec![stop], now }).await.unwrap();
    /// assert!(changes.has_changed().unwrap());
    /// # });
    /// ```
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
