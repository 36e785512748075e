//! Jobs: the rows of the job table (`workspace_lifecycle_job`) with the columns the
//! original design gave it, plus the columns a reliable queue needs. Their log lines,
//! the rows of the logs table, are in `job/log.rs`.
//!
//! A job is one planned action (start or stop) on one workspace at one deadline. Its
//! life is a small state machine, derived from its timestamps (`started_at`,
//! `completed_at`, `cancelled_at`) as the original design defines them:
//!
//! ```text
//!            claim (started_at, attempt+1, lease)
//!   Pending ───────────────────────────────────────▶ Running
//!      ▲  │                                            │ │ │
//!      │  │ cancel (scheduler)        retry / release  │ │ │ complete (ok or error)
//!      │  ▼                           / rescue         │ │ ▼
//!   Cancelled ◀──── cancel (executor) ─────────────────┘ │ Completed
//!      ▲                                                 │
//!      └─────────────────────────────────────────────────┘
//! ```
//!
//! Every write after the claim is fenced by [`Job::attempt`]: it applies only while the
//! job is still running under that attempt, so a stale executor changes nothing.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::error::textual_enum;
use crate::ids::WorkspaceId;
use crate::ids::{ExecutorId, JobId};

mod log;

pub use log::{JobLog, LogLevel, LogLine};

/// The earliest deadline the crate stores: `0001-01-01T00:00:00Z`.
///
/// Every store must hold every deadline between [`EARLIEST_DEADLINE`] and
/// [`LATEST_DEADLINE`]: chrono spans ±262,143 years but Postgres' `timestamptz` starts at
/// 4713 BC, and years past 9999 print in no standard format. A workspace time outside
/// the range is refused by the scheduler with a warning (no job is created for it and
/// the rest of its page goes on); a store refuses it with [`StoreError::InvalidData`].
///
/// [`StoreError::InvalidData`]: crate::StoreError::InvalidData
///
/// ```
/// use chrono::TimeDelta;
/// use workspace_lifecycle::{deadline_supported, EARLIEST_DEADLINE};
///
/// assert_eq!(EARLIEST_DEADLINE.to_rfc3339(), "0001-01-01T00:00:00+00:00");
/// assert!(deadline_supported(EARLIEST_DEADLINE));
/// assert!(!deadline_supported(EARLIEST_DEADLINE - TimeDelta::seconds(1)));
/// ```
pub const EARLIEST_DEADLINE: DateTime<Utc> = match DateTime::from_timestamp(-62_135_596_800, 0) {
    Some(at) => at,
    // Evaluated at compile time: the literal is 0001-01-01, well inside chrono's range.
    None => panic!("0001-01-01 is a valid chrono instant"),
};

/// The latest deadline the crate stores: `9999-12-31T23:59:59Z`. See
/// [`EARLIEST_DEADLINE`].
///
/// ```
/// use chrono::TimeDelta;
/// use workspace_lifecycle::{deadline_supported, LATEST_DEADLINE};
///
/// assert_eq!(LATEST_DEADLINE.to_rfc3339(), "9999-12-31T23:59:59+00:00");
/// assert!(deadline_supported(LATEST_DEADLINE));
/// assert!(!deadline_supported(LATEST_DEADLINE + TimeDelta::seconds(1)));
/// ```
pub const LATEST_DEADLINE: DateTime<Utc> = match DateTime::from_timestamp(253_402_300_799, 0) {
    Some(at) => at,
    // Evaluated at compile time: the literal is 9999-12-31, well inside chrono's range.
    None => panic!("9999-12-31 is a valid chrono instant"),
};

/// Whether `at` lies between [`EARLIEST_DEADLINE`] and [`LATEST_DEADLINE`].
///
/// ```
/// use workspace_lifecycle::{deadline_supported, LATEST_DEADLINE};
/// assert!(deadline_supported("1900-01-01T00:00:00Z".parse().unwrap()));
/// assert!(deadline_supported(LATEST_DEADLINE));
/// assert!(!deadline_supported(chrono::DateTime::<chrono::Utc>::MAX_UTC));
/// ```
pub fn deadline_supported(at: DateTime<Utc>) -> bool {
    (EARLIEST_DEADLINE..=LATEST_DEADLINE).contains(&at)
}

/// What a job does to its workspace (the job table's `workspace_lifecycle_operation` enum).
///
/// ```
/// use workspace_lifecycle::Operation;
///
/// assert_eq!(format!("auto-{}", Operation::Start), "auto-start");
/// assert_eq!(Operation::Stop.to_string(), Operation::Stop.as_str());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    /// Start a stopped workspace (auto-start).
    Start,
    /// Stop a running workspace (auto-stop).
    Stop,
}

impl Operation {
    /// Both operations, in the order the scheduler considers them.
    ///
    /// ```
    /// use workspace_lifecycle::Operation;
    ///
    /// let names: Vec<&str> = Operation::ALL.iter().map(|op| op.as_str()).collect();
    /// assert_eq!(names, ["start", "stop"]);
    /// ```
    pub const ALL: [Operation; 2] = [Operation::Start, Operation::Stop];

    /// The lowercase name used in the database enum and in log lines. `Display` writes
    /// it and `FromStr` parses exactly it.
    ///
    /// ```
    /// use workspace_lifecycle::Operation;
    ///
    /// assert_eq!(Operation::Start.as_str(), "start");
    /// assert_eq!("stop".parse::<Operation>(), Ok(Operation::Stop));
    /// let error = "restart".parse::<Operation>().unwrap_err();
    /// assert_eq!(error.to_string(), "unknown operation \"restart\"");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Start => "start",
            Operation::Stop => "stop",
        }
    }
}

textual_enum!(Operation, "operation");

/// Where a job is in its life, derived from its timestamps.
///
/// ```
/// use workspace_lifecycle::JobState;
/// # use workspace_lifecycle::*;
/// # let at: chrono::DateTime<chrono::Utc> = "2026-01-05T18:00:00Z".parse().unwrap();
/// # let mut job = Job { id: JobId(uuid::Uuid::from_u128(1)), created_at: at, updated_at: at,
/// #     started_at: None, cancelled_at: None, completed_at: None, error: None,
/// #     workspace_id: WorkspaceId(uuid::Uuid::from_u128(2)), operation: Operation::Stop,
/// #     deadline: at, run_at: at, attempt: 0, failed_attempts: 0, lease_expires_at: None,
/// #     claimed_by: None };
///
/// assert_eq!(job.state(), JobState::Pending);
/// job.cancelled_at = Some(at);
/// assert_eq!(job.state(), JobState::Cancelled);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Waiting for its time (`run_at`); not claimed.
    Pending,
    /// Claimed by an executor whose lease has not been given up.
    Running,
    /// Finished: acted on, found already done, or failed for good (`error` is set).
    Completed,
    /// Cancelled: the workspace's data no longer called for it.
    Cancelled,
}

impl JobState {
    /// Pending or running: the job still counts as "open" for its (workspace, operation).
    ///
    /// ```
    /// use workspace_lifecycle::JobState;
    ///
    /// assert!(JobState::Pending.is_open() && JobState::Running.is_open());
    /// assert!(!JobState::Completed.is_open() && !JobState::Cancelled.is_open());
    /// ```
    pub fn is_open(self) -> bool {
        matches!(self, JobState::Pending | JobState::Running)
    }

    /// Every state, in the order of a job's life.
    ///
    /// ```
    /// use workspace_lifecycle::JobState;
    ///
    /// let open = JobState::ALL.iter().filter(|state| state.is_open()).count();
    /// assert_eq!((JobState::ALL.len(), open), (4, 2));
    /// ```
    pub const ALL: [JobState; 4] = [
        JobState::Pending,
        JobState::Running,
        JobState::Completed,
        JobState::Cancelled,
    ];

    /// The lowercase name the operator CLI's `--state` takes and the stores filter and
    /// count by. `Display` writes it and `FromStr` parses exactly it.
    ///
    /// ```
    /// use workspace_lifecycle::JobState;
    ///
    /// let names = JobState::ALL.map(JobState::as_str);
    /// assert_eq!(names, ["pending", "running", "completed", "cancelled"]);
    /// assert_eq!("running".parse::<JobState>(), Ok(JobState::Running));
    /// let error = "Running".parse::<JobState>().unwrap_err();
    /// assert_eq!(error.to_string(), "unknown job state \"Running\"");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Completed => "completed",
            JobState::Cancelled => "cancelled",
        }
    }
}

textual_enum!(JobState, "job state");

/// One job row.
///
/// The first ten fields are the job table's columns with the meaning the original
/// design gave them; the rest are what retries, leases and fencing need (documented
/// per field).
///
/// ```
/// use workspace_lifecycle::{InMemoryStore, JobInsertParams, JobState, JobStore, NewJob};
/// # use workspace_lifecycle::{Operation, WorkspaceId};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = InMemoryStore::new();
/// let deadline = "2026-01-05T18:00:00Z".parse().unwrap();
/// let stop = NewJob { workspace_id: WorkspaceId(uuid::Uuid::from_u128(1)),
///     operation: Operation::Stop, deadline, run_at: None, log: None };
/// let now = "2026-01-05T08:00:00Z".parse().unwrap();
/// let results = store.job_insert(JobInsertParams { jobs: vec![stop], now }).await.unwrap();
/// let job = results[0].as_ref().unwrap();
/// assert_eq!(job.state(), JobState::Pending);
/// assert_eq!((job.deadline, job.run_at, job.attempt), (deadline, deadline, 0));
/// # });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// Unique job id.
    pub id: JobId,
    /// When the job was created.
    pub created_at: DateTime<Utc>,
    /// When the job was last written.
    pub updated_at: DateTime<Utc>,
    /// When the current attempt was claimed; `None` while pending.
    pub started_at: Option<DateTime<Utc>>,
    /// When the job was cancelled; `None` if it was not.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// When the job finished; `None` while open.
    pub completed_at: Option<DateTime<Utc>>,
    /// The last error: set on a completed job that failed for good, and on a pending job
    /// waiting to retry after a failed attempt.
    pub error: Option<String>,
    /// The target workspace.
    pub workspace_id: WorkspaceId,
    /// Start or stop.
    pub operation: Operation,
    /// The occurrence this job serves: the workspace's auto-start (auto-stop) time.
    /// Together with `workspace_id` and `operation` it names the occurrence, which is
    /// acted on at most once.
    pub deadline: DateTime<Utc>,
    /// When the job may next be claimed: the deadline at first, later the time of the
    /// next retry. Kept apart from `deadline` so a retry never changes the occurrence.
    pub run_at: DateTime<Utc>,
    /// How many times the job has been claimed. It is the fencing token: every write
    /// after a claim names the attempt it belongs to.
    pub attempt: u32,
    /// How many attempts ended in an error from the workspace adapter (or a timeout or
    /// panic). Counts against `RetryPolicy::max_attempts`; releases of a workspace that
    /// was mid-transition and lease rescues do not.
    pub failed_attempts: u32,
    /// Until when the current claim is valid; `None` while not running.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// The executor holding the current claim; `None` while not running.
    pub claimed_by: Option<ExecutorId>,
}

impl Job {
    /// The job's state, derived from its timestamps.
    ///
    /// ```
    /// # use workspace_lifecycle::*;
    /// # let at: chrono::DateTime<chrono::Utc> = "2026-01-05T18:00:00Z".parse().unwrap();
    /// # let mut job = Job { id: JobId(uuid::Uuid::from_u128(1)), created_at: at, updated_at: at,
    /// #     started_at: None, cancelled_at: None, completed_at: None, error: None,
    /// #     workspace_id: WorkspaceId(uuid::Uuid::from_u128(2)), operation: Operation::Stop,
    /// #     deadline: at, run_at: at, attempt: 0, failed_attempts: 0, lease_expires_at: None,
    /// #     claimed_by: None };
    ///
    /// assert_eq!(job.state(), JobState::Pending);
    /// job.started_at = Some(at);
    /// assert_eq!(job.state(), JobState::Running);
    /// job.completed_at = Some(at);
    /// assert_eq!(job.state(), JobState::Completed);
    /// ```
    pub fn state(&self) -> JobState {
        if self.cancelled_at.is_some() {
            JobState::Cancelled
        } else if self.completed_at.is_some() {
            JobState::Completed
        } else if self.started_at.is_some() {
            JobState::Running
        } else {
            JobState::Pending
        }
    }

    /// When the job finished: `completed_at`, else `cancelled_at`; `None` while open.
    /// Retention counts from this time.
    ///
    /// ```
    /// # use workspace_lifecycle::*;
    /// # let at: chrono::DateTime<chrono::Utc> = "2026-01-05T18:00:00Z".parse().unwrap();
    /// # let mut job = Job { id: JobId(uuid::Uuid::from_u128(1)), created_at: at, updated_at: at,
    /// #     started_at: None, cancelled_at: None, completed_at: None, error: None,
    /// #     workspace_id: WorkspaceId(uuid::Uuid::from_u128(2)), operation: Operation::Stop,
    /// #     deadline: at, run_at: at, attempt: 0, failed_attempts: 0, lease_expires_at: None,
    /// #     claimed_by: None };
    ///
    /// assert_eq!(job.finished_at(), None);
    /// job.cancelled_at = Some(at);
    /// assert_eq!(job.finished_at(), Some(at));
    /// ```
    pub fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.completed_at.or(self.cancelled_at)
    }

    /// The occurrence this job serves.
    ///
    /// ```
    /// # use workspace_lifecycle::*;
    /// # let at: chrono::DateTime<chrono::Utc> = "2026-01-05T18:00:00Z".parse().unwrap();
    /// # let job = Job { id: JobId(uuid::Uuid::from_u128(1)), created_at: at, updated_at: at,
    /// #     started_at: None, cancelled_at: None, completed_at: None, error: None,
    /// #     workspace_id: WorkspaceId(uuid::Uuid::from_u128(2)), operation: Operation::Stop,
    /// #     deadline: at, run_at: at, attempt: 0, failed_attempts: 0, lease_expires_at: None,
    /// #     claimed_by: None };
    ///
    /// let occurrence = job.occurrence();
    /// assert_eq!((occurrence.operation, occurrence.deadline), (Operation::Stop, job.deadline));
    /// // A retry moves `run_at`, never the occurrence.
    /// let retry = Job { run_at: at + chrono::TimeDelta::minutes(5), attempt: 1, ..job.clone() };
    /// assert_eq!(retry.occurrence(), occurrence);
    /// ```
    pub fn occurrence(&self) -> Occurrence {
        Occurrence {
            workspace_id: self.workspace_id,
            operation: self.operation,
            deadline: self.deadline,
        }
    }
}
/// One (workspace, operation, deadline): the unit that is acted on at most once.
///
/// ```
/// use workspace_lifecycle::{Occurrence, Operation, WorkspaceId};
///
/// let occurrence = Occurrence {
///     workspace_id: WorkspaceId(uuid::Uuid::from_u128(1)),
///     operation: Operation::Stop,
///     deadline: "2026-01-05T18:00:00Z".parse().unwrap(),
/// };
/// assert_eq!(
///     occurrence.to_string(),
///     "stop of workspace 00000000-0000-0000-0000-000000000001 at 2026-01-05T18:00:00+00:00"
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Occurrence {
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// Start or stop.
    pub operation: Operation,
    /// The scheduled time.
    pub deadline: DateTime<Utc>,
}

impl fmt::Display for Occurrence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of workspace {} at {}",
            self.operation,
            self.workspace_id,
            self.deadline.to_rfc3339()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::assert_spelled;

    /// The names the Postgres store binds and counts by (`JobState::as_str` and the stats
    /// query in store/postgres) and the operator CLI prints: they must not drift.
    #[test]
    fn job_state_names_are_the_stores_names() {
        let names = ["pending", "running", "completed", "cancelled"];
        assert_spelled("job state", &JobState::ALL, &names);
    }

    /// The values of the `workspace_lifecycle_operation` database enum.
    #[test]
    fn operation_names_are_the_database_enum() {
        assert_spelled("operation", &Operation::ALL, &["start", "stop"]);
    }
}
